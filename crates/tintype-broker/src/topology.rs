//! Declares every exchange and queue of a [`Topology`]. Declarations are idempotent, so every
//! service declares what it uses at start-up and after each reconnect.

use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};
use shared_protocol::Priority;
use shared_protocol::topology::{DELIVERY_LIMIT, RETRY_DELAY_TIERS_SECS, Topology};

use crate::BrokerError;

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

fn key(name: &str) -> ShortString {
    ShortString::from(name.to_owned())
}

/// Arguments shared by every quorum queue we declare. Set explicitly so RabbitMQ 3.x and 4.x
/// behave alike: 4.x defaults the delivery limit to 20, 3.x has none.
fn quorum_args(dead_letter_exchange: &str) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(key("x-queue-type"), text("quorum"));
    args.insert(
        key("x-delivery-limit"),
        AMQPValue::LongInt(DELIVERY_LIMIT as i32),
    );
    args.insert(key("x-dead-letter-exchange"), text(dead_letter_exchange));
    // at-least-once dead-lettering only takes effect with reject-publish overflow; without it
    // RabbitMQ silently falls back to at-most-once and a dead letter can be lost.
    args.insert(key("x-dead-letter-strategy"), text("at-least-once"));
    args.insert(key("x-overflow"), text("reject-publish"));
    args
}

async fn exchange(channel: &Channel, name: &str, kind: ExchangeKind) -> Result<(), BrokerError> {
    channel
        .exchange_declare(
            key(name),
            kind,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

async fn queue(channel: &Channel, name: &str, args: FieldTable) -> Result<(), BrokerError> {
    channel
        .queue_declare(
            key(name),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            args,
        )
        .await?;
    Ok(())
}

async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    routing_key: &str,
) -> Result<(), BrokerError> {
    channel
        .queue_bind(
            key(queue),
            key(exchange),
            key(routing_key),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Declares the whole topology: exchanges, priority queues, retry delay queues and dead letters.
pub async fn declare(channel: &Channel, topology: &Topology) -> Result<(), BrokerError> {
    let jobs = topology.jobs_exchange();
    let dlx = topology.dead_letter_exchange();
    let retry = topology.retry_exchange();
    exchange(channel, &jobs, ExchangeKind::Direct).await?;
    exchange(channel, &dlx, ExchangeKind::Fanout).await?;
    exchange(channel, &retry, ExchangeKind::Direct).await?;
    exchange(channel, &topology.events_exchange(), ExchangeKind::Topic).await?;
    exchange(channel, &topology.control_exchange(), ExchangeKind::Fanout).await?;

    // The dead-letter queue has no dead-letter exchange of its own: it is the end of the line.
    let mut dead_args = FieldTable::default();
    dead_args.insert(key("x-queue-type"), text("quorum"));
    let dead = topology.dead_letter_queue();
    queue(channel, &dead, dead_args).await?;
    bind(channel, &dead, &dlx, "").await?;

    for priority in Priority::ALL {
        let name = topology.jobs_queue(priority);
        queue(channel, &name, quorum_args(&dlx)).await?;
        bind(channel, &name, &jobs, priority.as_str()).await?;
        for tier in RETRY_DELAY_TIERS_SECS {
            let mut args = quorum_args(&jobs);
            // When the TTL runs out the message returns to its priority queue.
            args.insert(key("x-dead-letter-routing-key"), text(priority.as_str()));
            args.insert(
                key("x-message-ttl"),
                AMQPValue::LongInt((tier * 1000) as i32),
            );
            let name = topology.retry_queue(tier, priority);
            queue(channel, &name, args).await?;
            bind(
                channel,
                &name,
                &retry,
                &Topology::retry_routing_key(tier, priority),
            )
            .await?;
        }
    }
    Ok(())
}

/// Deletes every queue and exchange of a topology (test clean-up and namespace teardown).
pub async fn delete(channel: &Channel, topology: &Topology) -> Result<(), BrokerError> {
    for name in topology.all_queues() {
        channel
            .queue_delete(key(&name), QueueDeleteOptions::default())
            .await?;
    }
    for name in topology.all_exchanges() {
        channel
            .exchange_delete(key(&name), ExchangeDeleteOptions::default())
            .await?;
    }
    Ok(())
}
