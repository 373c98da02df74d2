//! Publishing against the real RabbitMQ.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use lapin::options::BasicGetOptions;
use tintype_broker::{BrokerError, Publisher};
use tintype_testkit::TestEnv;

#[tokio::test]
async fn a_confirmed_publish_lands_in_the_priority_queue() {
    let env = TestEnv::new().await;
    let publisher = Publisher::new(&env.amqp_url, "test", env.topology.clone());
    // Declaring twice is harmless (every service declares at start and after reconnects).
    publisher.check().await.unwrap();
    let conn = tintype_broker::connect(&env.amqp_url, "test-2")
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    tintype_broker::topology::declare(&channel, &env.topology)
        .await
        .unwrap();

    let mut headers = BTreeMap::new();
    headers.insert(
        "traceparent".to_owned(),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
    );
    publisher
        .publish(
            &env.topology.jobs_exchange(),
            "high",
            b"{}",
            "tintype.job.v1",
            &headers,
        )
        .await
        .unwrap();
    let got = channel
        .basic_get(
            env.topology
                .jobs_queue(shared_protocol::Priority::High)
                .into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
        .expect("the message is in the high queue");
    assert_eq!(got.delivery.data, b"{}");
    assert_eq!(got.delivery.properties.delivery_mode(), &Some(2));
    let table = got.delivery.properties.headers().clone().unwrap();
    assert!(table.contains_key("traceparent"));
}

#[tokio::test]
async fn an_unroutable_publish_is_an_error_even_though_the_broker_acks_it() {
    let env = TestEnv::new().await;
    let publisher = Publisher::new(&env.amqp_url, "test", env.topology.clone());
    let err = publisher
        .publish(
            &env.topology.jobs_exchange(),
            "no-such-priority",
            b"{}",
            "t",
            &BTreeMap::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, BrokerError::Unroutable { .. }), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_broker_is_reported_without_hanging() {
    let env = TestEnv::new().await;
    let publisher = Publisher::new(
        "amqp://guest:guest@127.0.0.1:1/%2f",
        "test",
        env.topology.clone(),
    );
    let started = std::time::Instant::now();
    assert!(publisher.check().await.is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn connections_offer_small_frames_unless_the_url_asks_for_others() {
    let env = TestEnv::new().await;
    let conn = tintype_broker::connect(&env.amqp_url, "test-frames")
        .await
        .unwrap();
    assert_eq!(
        conn.configuration().frame_max(),
        tintype_broker::DEFAULT_FRAME_MAX
    );
    let separator = if env.amqp_url.contains('?') { '&' } else { '?' };
    let conn = tintype_broker::connect(
        &format!("{}{separator}frame_max=65536", env.amqp_url),
        "test-frames-2",
    )
    .await
    .unwrap();
    assert_eq!(conn.configuration().frame_max(), 65536);
    // A message larger than a frame still arrives whole (it travels as several body frames).
    let publisher = Publisher::new(&env.amqp_url, "test-big", env.topology.clone());
    let payload = vec![b'x'; 3 * tintype_broker::DEFAULT_FRAME_MAX as usize];
    publisher
        .publish(
            &env.topology.jobs_exchange(),
            "default",
            &payload,
            "job",
            &BTreeMap::new(),
        )
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let got = channel
        .basic_get(
            env.topology
                .jobs_queue(shared_protocol::Priority::Default)
                .into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
        .expect("the message");
    assert_eq!(got.delivery.data.len(), payload.len());
    assert!(
        matches!(
            tintype_broker::connect("not a url", "x").await,
            Err(BrokerError::InvalidUrl(_))
        ),
        "a bad URL is a clear error"
    );
}
