//! The consume loop: connect, declare the topology, consume the configured queues with manual
//! acks, run each delivery under a semaphore sized to the concurrency, and reconnect with backoff
//! when the broker goes away (lapin does not reconnect by itself). On shutdown it stops consuming,
//! lets in-flight jobs finish within the grace period, then closes.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use lapin::Consumer;
use lapin::message::Delivery;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{FieldTable, ShortString};
use shared_protocol::Priority;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::context::Ctx;
use crate::job;

/// Why consuming stopped.
#[derive(Debug, thiserror::Error)]
enum ConsumeError {
    #[error(transparent)]
    Broker(#[from] tintype_broker::BrokerError),
    #[error("the broker ended the delivery stream")]
    StreamEnded,
}

impl From<lapin::Error> for ConsumeError {
    fn from(err: lapin::Error) -> Self {
        Self::Broker(err.into())
    }
}

/// Consumption settings.
#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    /// Broker URL.
    pub amqp_url: String,
    /// Queues to consume, by priority.
    pub queues: Vec<shared_protocol::Priority>,
    /// Jobs at once.
    pub concurrency: usize,
    /// Time in-flight jobs get to finish on shutdown.
    pub shutdown_grace: Duration,
}

/// Consumes until `shutdown` is cancelled, reconnecting as needed.
pub async fn run(ctx: Ctx, options: ConsumeOptions, shutdown: CancellationToken) {
    let semaphore = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut in_flight = JoinSet::new();
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        match consume(&ctx, &options, &semaphore, &mut in_flight, &shutdown).await {
            Ok(()) => break,
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "broker connection lost; reconnecting");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
        // Reaped here too, so finished tasks do not pile up across reconnects.
        while in_flight.try_join_next().is_some() {}
    }
    drain(&ctx, &mut in_flight, options.shutdown_grace).await;
}

/// How long handed-back jobs get to reach a step boundary and record the hand-back.
const HAND_BACK_WAIT: Duration = Duration::from_secs(5);

async fn drain(ctx: &Ctx, in_flight: &mut JoinSet<()>, grace: Duration) {
    if in_flight.is_empty() {
        return;
    }
    tracing::info!(jobs = in_flight.len(), "waiting for in-flight jobs");
    let all_done = async { while in_flight.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, all_done).await.is_err() {
        // Each job stops at once, puts itself back to `queued` and requeues its message, so
        // another worker takes it without waiting for a lease to expire.
        tracing::warn!(
            jobs = in_flight.len(),
            "grace period over; handing unfinished jobs back"
        );
        ctx.hand_back.cancel();
        let all_done = async { while in_flight.join_next().await.is_some() {} };
        if tokio::time::timeout(HAND_BACK_WAIT, all_done)
            .await
            .is_err()
        {
            // Stuck: their unacked deliveries return when the connection closes, and the leases
            // expire so another worker takes over.
            in_flight.abort_all();
        }
    }
}

async fn consume(
    ctx: &Ctx,
    options: &ConsumeOptions,
    semaphore: &Arc<Semaphore>,
    in_flight: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) -> Result<(), ConsumeError> {
    let connection = tintype_broker::connect(
        &options.amqp_url,
        &format!("image-worker {}", ctx.worker_id),
    )
    .await?;
    let channel = connection.create_channel().await?;
    tintype_broker::topology::declare(&channel, &ctx.topology).await?;
    // Prefetch bounds what the broker pushes; the semaphore bounds what runs.
    let prefetch = u16::try_from(options.concurrency.max(1)).unwrap_or(u16::MAX);
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    let mut consumers = Vec::new();
    let mut tags = Vec::new();
    // Highest priority first: `next_delivery` prefers the earlier consumers.
    let mut queues = options.queues.clone();
    queues.sort_by_key(|q| Priority::ALL.iter().position(|p| p == q));
    for priority in &queues {
        let tag = format!("{}-{}", ctx.worker_id, priority.as_str());
        let consumer = channel
            .basic_consume(
                ShortString::from(ctx.topology.jobs_queue(*priority)),
                ShortString::from(tag.clone()),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        consumers.push(consumer);
        tags.push(tag);
    }
    tracing::info!(queues = ?options.queues, concurrency = options.concurrency, "consuming");
    loop {
        // A free slot first, then the message: choosing only when a slot is free is what lets a
        // high job that arrived meanwhile overtake low ones already pushed to this worker.
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = Arc::clone(semaphore).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let next = tokio::select! {
            () = shutdown.cancelled() => break,
            next = next_delivery(&mut consumers) => next,
        };
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(err)) => return Err(tintype_broker::BrokerError::from(err).into()),
            None => return Err(ConsumeError::StreamEnded),
        };
        let ctx = ctx.clone();
        in_flight.spawn(async move {
            job::handle(ctx, delivery).await;
            drop(permit);
        });
        while in_flight.try_join_next().is_some() {}
    }
    for tag in tags {
        let _ = channel
            .basic_cancel(ShortString::from(tag), BasicCancelOptions::default())
            .await;
    }
    // Finish in-flight work while the channel is still open, so their acks can go through.
    let grace = options.shutdown_grace;
    drain(ctx, in_flight, grace).await;
    let _ = channel
        .close(200, ShortString::from("shutdown".to_owned()))
        .await;
    let _ = connection
        .close(200, ShortString::from("shutdown".to_owned()))
        .await;
    Ok(())
}

/// The next delivery, from the highest-priority consumer that has one ready, else whichever
/// consumer delivers first.
async fn next_delivery(consumers: &mut [Consumer]) -> Option<Result<Delivery, lapin::Error>> {
    for consumer in consumers.iter_mut() {
        if let Some(item) = consumer.next().now_or_never() {
            return item;
        }
    }
    if consumers.is_empty() {
        return None;
    }
    let (item, _, _) =
        futures_util::future::select_all(consumers.iter_mut().map(|c| c.next())).await;
    item
}
