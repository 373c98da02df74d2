//! Webhook delivery against a real HTTP receiver that verifies signatures as the README shows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tintype_testkit::{TestEnv, eventually};

const NEW_SECRET: &str = "whsec_bmV3LXNlY3JldC1mb3ItdGludHlwZS0wMTIzNDU2Nzg5";
const OLD_SECRET: &str = "whsec_b2xkLXNlY3JldC1mb3ItdGludHlwZS0wMTIzNDU2Nzg5";

/// The receiver's check, exactly as documented in the README.
fn verify(secret: &str, req: &HttpRequest, body: &[u8]) -> bool {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let Ok(ts) = timestamp.parse::<i64>() else {
        return false;
    };
    if (chrono::Utc::now().timestamp() - ts).abs() > 300 {
        return false;
    }
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    header("webhook-signature").split(' ').any(|sig| {
        let Some(Ok(sig)) = sig.strip_prefix("v1,").map(|s| STANDARD.decode(s)) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&sig).is_ok()
    })
}

#[derive(Default)]
struct Receiver {
    calls: AtomicUsize,
    accepted: Mutex<Vec<(String, Value)>>,
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<Receiver>) -> HttpResponse {
    match state.calls.fetch_add(1, Ordering::SeqCst) {
        0 => HttpResponse::InternalServerError().finish(),
        1 => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            HttpResponse::Ok().finish()
        }
        _ => {
            // The receiver only knows the previous secret: rotation must still verify.
            if !verify(OLD_SECRET, &req, &body) {
                return HttpResponse::Unauthorized().finish();
            }
            let id = req
                .headers()
                .get("webhook-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            state
                .accepted
                .lock()
                .unwrap()
                .push((id, serde_json::from_slice(&body).unwrap()));
            HttpResponse::NoContent().finish()
        }
    }
}

#[tokio::test]
async fn a_webhook_is_retried_after_a_500_and_a_timeout_and_every_attempt_is_logged() {
    tintype_testkit::init_logs();
    let env = TestEnv::new().await;
    let receiver = web::Data::new(Receiver::default());
    let data = receiver.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/hook", web::post().to(receive))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let server_handle = server.handle();
    tokio::spawn(server);

    let job = common::insert_job(
        &env,
        common::recipe_with_webhook(&format!("http://127.0.0.1:{port}/hook")),
    )
    .await;
    let scheduler = common::start(common::settings(
        &env,
        &[
            "--outbound-allow",
            "127.0.0.1/32",
            "--webhook-secrets",
            &format!("{NEW_SECRET},{OLD_SECRET}"),
            "--webhook-backoff-ms",
            "100",
            "--webhook-timeout-ms",
            "1000",
            "--webhook-interval-ms",
            "50",
            "--public-url",
            "https://img.example.com",
        ],
    ))
    .await;
    sqlx::query(
        "UPDATE jobs SET status = 'succeeded', finished_at = now(), outputs = $2 WHERE id = $1",
    )
    .bind(job)
    .bind(
        serde_json::json!([{"name": "thumb", "format": "webp", "width": 20, "height": 10,
            "bytes": 123, "key": "k", "content_type": "image/webp"}]),
    )
    .execute(&env.pool)
    .await
    .unwrap();

    let deliveries = eventually(Duration::from_secs(30), "the webhook delivered", || async {
        let rows = tintype_db::webhooks::list(&env.pool, job).await.unwrap();
        (rows.len() == 1 && rows[0].status == "delivered").then_some(rows)
    })
    .await;
    let attempts = tintype_db::webhooks::attempts(&env.pool, job)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert_eq!(attempts[0].status_code, Some(500));
    assert_eq!(attempts[1].status_code, None);
    assert!(
        attempts[1]
            .error
            .as_deref()
            .unwrap()
            .contains("no answer within"),
        "{attempts:?}"
    );
    assert_eq!(attempts[2].status_code, Some(204));
    assert_eq!(attempts[2].error, None);
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );

    let accepted = receiver.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), 1);
    let (id, payload) = &accepted[0];
    assert_eq!(*id, deliveries[0].id.to_string());
    assert_eq!(payload["type"], "job.succeeded");
    assert_eq!(payload["data"]["id"], job.to_string());
    assert_eq!(payload["data"]["status"], "succeeded");
    assert_eq!(payload["data"]["metadata"]["order"], "A-1");
    assert_eq!(payload["data"]["outputs"][0]["size"], 123);
    assert_eq!(
        payload["data"]["outputs"][0]["url"],
        format!("https://img.example.com/v1/jobs/{job}/outputs/thumb")
    );
    scheduler.stop().await;
    server_handle.stop(false).await;
}

#[tokio::test]
async fn a_webhook_to_a_private_address_is_refused_and_not_retried() {
    let env = TestEnv::new().await;
    let job = common::insert_job(&env, common::recipe_with_webhook("http://10.0.0.1/hook")).await;
    let scheduler = common::start(common::settings(
        &env,
        &["--webhook-backoff-ms", "50", "--webhook-interval-ms", "50"],
    ))
    .await;
    sqlx::query("UPDATE jobs SET status = 'failed', error_code = 'invalid_image', error_message = 'broken', finished_at = now() WHERE id = $1")
        .bind(job)
        .execute(&env.pool)
        .await
        .unwrap();
    eventually(Duration::from_secs(20), "the delivery given up", || async {
        let rows = tintype_db::webhooks::list(&env.pool, job).await.unwrap();
        (rows.len() == 1 && rows[0].status == "failed").then_some(())
    })
    .await;
    let attempts = tintype_db::webhooks::attempts(&env.pool, job)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    let error = attempts[0].error.as_deref().unwrap();
    assert!(
        error.contains("10.0.0.1") && error.contains("private"),
        "{error}"
    );
    scheduler.stop().await;
}
