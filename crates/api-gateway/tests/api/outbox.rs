use serde_json::Value;
use tintype_testkit::images;

use crate::helpers::{Options, spawn_app_with};

#[tokio::test]
async fn with_rabbitmq_unreachable_at_submit_the_job_is_accepted_and_processed_later() {
    // The gateway's broker address is dead: publishing fails, the outbox keeps the message.
    let app = spawn_app_with(Options {
        gateway_amqp_url: Some("amqp://guest:guest@127.0.0.1:1/%2f".into()),
        worker: true,
        scheduler: false,
        ..Default::default()
    })
    .await;
    let r = app
        .submit(
            images::jpeg(80, 60),
            "image/jpeg",
            r#"{"outputs":[{"name":"a","format":"png"}]}"#,
        )
        .await;
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.env.pool)
        .await
        .unwrap();
    assert_eq!(
        pending, 2,
        "the job message and its queued event wait in the outbox"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        app.get_job(&id).await.json::<Value>().await.unwrap()["status"],
        "queued"
    );

    // The scheduler's relay reaches RabbitMQ and publishes; the worker runs the job.
    let relay = scheduler::Application::build(scheduler::Settings {
        relay_min_age_ms: 0,
        ..crate::helpers::scheduler_settings(&app.env)
    })
    .await
    .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(relay.run_until_stopped(async move {
        let _ = rx.await;
    }));

    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1);
    // The worker's own events leave the outbox right after its commits.
    tintype_testkit::eventually(
        std::time::Duration::from_secs(10),
        "an empty outbox",
        || async {
            let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
                .fetch_one(&app.env.pool)
                .await
                .ok()?;
            (pending == 0).then_some(())
        },
    )
    .await;
    tx.send(()).unwrap();
    relay.await.unwrap().unwrap();
    app.stop().await;
}
