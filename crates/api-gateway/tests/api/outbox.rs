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

#[tokio::test]
async fn concurrent_submits_are_committed_together_and_each_published_once() {
    // No worker: the queue keeps what the gateway published, so it can be counted.
    let app = spawn_app_with(Options::submit_only()).await;
    let client = crate::helpers::test_client();
    let submits = (0..60).map(|i| {
        let client = client.clone();
        let url = format!("{}/v1/jobs", app.address);
        async move {
            client
                .post(url)
                .json(&serde_json::json!({
                    "source": {"url": format!("http://127.0.0.1:9/{i}.jpg")},
                    "outputs": [{"name": "t", "format": "png"}],
                    "metadata": {"i": i},
                }))
                .send()
                .await
                .unwrap()
        }
    });
    let responses = futures_util::future::join_all(submits).await;
    let mut ids = std::collections::HashSet::new();
    for (i, r) in responses.into_iter().enumerate() {
        assert_eq!(r.status(), 202);
        let job: Value = r.json().await.unwrap();
        // Each client gets its own job back, not a neighbour's from the same batch.
        assert_eq!(job["metadata"]["i"], i, "{job}");
        assert_eq!(job["status"], "queued");
        ids.insert(job["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 60);

    let (rows, history, pending): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM jobs), \
                (SELECT count(*) FROM job_events WHERE kind = 'queued'), \
                (SELECT count(*) FROM outbox)",
    )
    .fetch_one(&app.env.pool)
    .await
    .unwrap();
    assert_eq!((rows, history, pending), (60, 60, 0));
    // A 202 comes after the confirm: the messages are in the queue by now, each exactly once.
    let connection =
        lapin::Connection::connect(&app.env.amqp_url, lapin::ConnectionProperties::default())
            .await
            .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let queue = channel
        .queue_declare(
            app.env
                .topology
                .jobs_queue(shared_protocol::Priority::Default)
                .into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(queue.message_count(), 60);
    app.stop().await;
}
