//! Webhooks end to end: a job with a webhook is delivered by the scheduler once it is final; the
//! delivery log is readable and a redelivery can be asked for.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

async fn receiver() -> (u16, Arc<AtomicUsize>, actix_web::dev::ServerHandle) {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().route(
            "/hook",
            web::post().to(move |req: actix_web::HttpRequest| {
                let counter = counter.clone();
                async move {
                    assert!(req.headers().contains_key("webhook-signature"));
                    counter.fetch_add(1, Ordering::SeqCst);
                    HttpResponse::NoContent().finish()
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (port, received, handle)
}

#[tokio::test]
async fn a_finished_job_calls_its_webhook_and_the_delivery_log_shows_it() {
    let app = spawn_app().await;
    let (port, received, server) = receiver().await;
    let recipe = json!({
        "outputs": [{"name": "thumb", "format": "png"}],
        "webhook": {"url": format!("http://127.0.0.1:{port}/hook")}
    })
    .to_string();
    let response = app
        .submit(tintype_testkit::images::jpeg(64, 48), "image/jpeg", &recipe)
        .await;
    let id = crate::helpers::accepted_id(response).await;
    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");

    let url = format!("{}/v1/jobs/{id}/webhooks", app.address);
    let log: Value = tintype_testkit::eventually(Duration::from_secs(30), "a delivery", || async {
        let log: Value = app.client.get(&url).send().await.ok()?.json().await.ok()?;
        (log["deliveries"][0]["status"] == "delivered").then_some(log)
    })
    .await;
    let delivery = &log["deliveries"][0];
    assert_eq!(delivery["event"], "job.succeeded");
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(delivery["attempts"][0]["status_code"], 204);
    assert_eq!(received.load(Ordering::SeqCst), 1);

    let response = app
        .client
        .post(format!("{url}/redeliver"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    tintype_testkit::eventually(Duration::from_secs(30), "the redelivery", || async {
        (received.load(Ordering::SeqCst) == 2).then_some(())
    })
    .await;
    let log: Value = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 2);

    let missing = format!("{}/v1/jobs/{}/webhooks", app.address, uuid::Uuid::nil());
    assert_problem(
        app.client.get(&missing).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    server.stop(false).await;
    app.stop().await;
}

#[tokio::test]
async fn redelivering_a_job_without_a_webhook_is_a_conflict() {
    let app = spawn_app().await;
    let recipe = json!({"outputs": [{"name": "thumb", "format": "png"}]}).to_string();
    let response = app
        .submit(tintype_testkit::images::jpeg(64, 48), "image/jpeg", &recipe)
        .await;
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_final(&id).await;
    let response = app
        .client
        .post(format!("{}/v1/jobs/{id}/webhooks/redeliver", app.address))
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "conflict").await;
    app.stop().await;
}
