//! Messages RabbitMQ dead-letters on its own (the delivery limit of a quorum queue) end their
//! job as `failed` in the dead letters; copies for jobs that are final or owned change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use serde_json::json;
use shared_protocol::job::JobMessage;
use shared_protocol::topology::{DELIVERY_LIMIT, MESSAGE_TYPE_JOB};
use shared_protocol::{JobStatus, Priority};
use tintype_testkit::{TestEnv, eventually, images};

#[tokio::test]
async fn a_message_past_the_delivery_limit_fails_its_job_as_a_dead_letter() {
    let env = TestEnv::new().await;
    let recipe = json!({"outputs": [{"name": "a", "format": "png"}]});
    let poison = env.submit(images::jpeg(32, 32), &recipe).await;
    let finished = env.submit(images::jpeg(32, 32), &recipe).await;
    let owned = env.submit(images::jpeg(32, 32), &recipe).await;
    // Dead letters are recorded one at a time in order: once a sentinel published after others
    // has failed, those others were recorded too.
    let sentinels = [
        env.submit(images::jpeg(32, 32), &recipe).await,
        env.submit(images::jpeg(32, 32), &recipe).await,
    ];

    // A crash-looping consumer: take the poison job's message and hand it back, again and again,
    // until the queue's delivery limit sends it to the dead letters. The other two messages are
    // dropped here; their jobs get dead letters of their own below.
    let connection = tintype_broker::connect(&env.amqp_url, "poison test")
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .basic_qos(1, BasicQosOptions::default())
        .await
        .unwrap();
    let mut consumer = channel
        .basic_consume(
            env.topology.jobs_queue(Priority::Default).into(),
            "crash-loop".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut poison_deliveries = 0;
    while let Ok(Some(delivery)) =
        tokio::time::timeout(Duration::from_secs(2), consumer.next()).await
    {
        let delivery = delivery.unwrap();
        let message: JobMessage = serde_json::from_slice(&delivery.data).unwrap();
        if message.job_id == poison {
            poison_deliveries += 1;
            delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await
                .unwrap();
        } else {
            delivery.acker.ack(Default::default()).await.unwrap();
        }
    }
    connection.close(200, "done".into()).await.unwrap();
    assert!(
        poison_deliveries > DELIVERY_LIMIT as usize,
        "delivered {poison_deliveries} times"
    );
    assert_eq!(env.job(poison).await.status(), JobStatus::Queued);

    // One job finished already and one runs on a live lease: their dead letters change nothing.
    sqlx::query("UPDATE jobs SET status = 'succeeded', finished_at = now() WHERE id = $1")
        .bind(finished)
        .execute(&env.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE jobs SET status = 'running', worker_id = 'w-live', \
           lease_expires_at = now() + interval '1 hour' WHERE id = $1",
    )
    .bind(owned)
    .execute(&env.pool)
    .await
    .unwrap();
    let publisher =
        tintype_broker::Publisher::new(&env.amqp_url, "poison test", env.topology.clone());
    let dead_letter = |id| {
        let publisher = publisher.clone();
        let exchange = env.topology.dead_letter_exchange();
        async move {
            publisher
                .publish(
                    &exchange,
                    "default",
                    &serde_json::to_vec(&JobMessage::new(id)).unwrap(),
                    MESSAGE_TYPE_JOB,
                    &Default::default(),
                )
                .await
                .unwrap();
        }
    };
    for id in [finished, owned, sentinels[0]] {
        dead_letter(id).await;
    }
    let failed = |id| {
        let env = &env;
        move || async move {
            let job = env.job(id).await;
            (job.status() == JobStatus::Failed).then_some(job)
        }
    };

    let scheduler = common::start(common::settings(&env, &[])).await;
    let job = eventually(
        Duration::from_secs(15),
        "the poison job to fail",
        failed(poison),
    )
    .await;
    assert_eq!(job.error_code.as_deref(), Some("retries_exhausted"));
    let message = job.error_message.clone().unwrap();
    assert!(message.contains("dead-lettered"), "{message}");
    assert!(
        message.contains(&env.topology.jobs_queue(Priority::Default)),
        "{message}"
    );
    assert!(job.dead_lettered_at.is_some());
    assert!(job.finished_at.is_some());
    let history = env.history(poison).await;
    assert_eq!(history.last().unwrap().0, "failed", "{history:?}");

    eventually(
        Duration::from_secs(10),
        "the first sentinel",
        failed(sentinels[0]),
    )
    .await;
    let unchanged = env.job(finished).await;
    assert_eq!(unchanged.status(), JobStatus::Succeeded);
    assert!(unchanged.dead_lettered_at.is_none());
    assert_eq!(env.job(owned).await.status(), JobStatus::Running);
    let listed = tintype_db::operator::dead_letters(&env.pool, 10, None)
        .await
        .unwrap();
    let mut ids: Vec<_> = listed.iter().map(|j| j.id).collect();
    ids.sort();
    let mut expected = vec![poison, sentinels[0]];
    expected.sort();
    assert_eq!(ids, expected);

    // A dead letter recorded twice (a redelivery after a crash) changes nothing the second time.
    dead_letter(poison).await;
    dead_letter(sentinels[1]).await;
    eventually(
        Duration::from_secs(10),
        "the second sentinel",
        failed(sentinels[1]),
    )
    .await;
    assert_eq!(env.job(poison).await.updated_at, job.updated_at);
    scheduler.stop().await;
}
