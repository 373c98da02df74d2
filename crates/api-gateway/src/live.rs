//! Live job events for the dashboard: one exclusive, auto-delete queue per gateway process bound
//! to `job.#` on the events topic exchange, fanned out to every connected server-sent-events
//! client through a tokio broadcast channel.
//!
//! One queue per process (not per client) keeps the broker's load independent of how many
//! dashboards are open; the queue is exclusive and auto-deleted, so it vanishes with the process
//! and never collects events nobody reads. Events are a live view, not a ledger: the history is
//! `job_events` in Postgres, so a client that lags behind simply skips ahead.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use shared_protocol::events::JobEvent;
use shared_protocol::topology::Topology;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Events buffered per client before a slow one starts skipping.
const CHANNEL_CAPACITY: usize = 1024;
/// How long [`LiveEvents::start`] waits for the queue to be bound before serving anyway.
const READY_WAIT: Duration = Duration::from_secs(3);

/// One event as it goes out to clients.
#[derive(Debug)]
pub struct LiveEvent {
    /// The job it is about.
    pub job_id: Uuid,
    /// SSE event name: the routing key, e.g. `job.succeeded`.
    pub name: &'static str,
    /// The event as JSON (the wire `JobEvent`).
    pub json: String,
}

/// The hub: subscribe to get every event from now on.
#[derive(Debug, Clone)]
pub struct LiveEvents {
    sender: broadcast::Sender<Arc<LiveEvent>>,
    stop: CancellationToken,
}

impl LiveEvents {
    /// Starts consuming the events exchange of `topology`; waits (briefly) until the queue is
    /// bound, so events of jobs submitted right after start-up are not missed. Consumption runs
    /// until [`LiveEvents::stop`], reconnecting with backoff when RabbitMQ goes away.
    pub async fn start(amqp_url: String, topology: Topology) -> Self {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        let stop = CancellationToken::new();
        let (ready_tx, mut ready_rx) = watch::channel(false);
        tokio::spawn(run(
            amqp_url,
            topology,
            sender.clone(),
            ready_tx,
            stop.clone(),
        ));
        if tokio::time::timeout(READY_WAIT, ready_rx.wait_for(|ready| *ready))
            .await
            .is_err()
        {
            tracing::warn!("live events not bound yet (RabbitMQ unreachable?); still trying");
        }
        Self { sender, stop }
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.sender.subscribe()
    }

    /// Resolves when the gateway stops; open streams end then, so shutdown does not wait for
    /// dashboards to disconnect.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Stops consuming and ends every open stream.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

/// Why consuming stopped.
#[derive(Debug, thiserror::Error)]
enum LiveError {
    #[error(transparent)]
    Broker(#[from] tintype_broker::BrokerError),
    #[error("the broker ended the event stream")]
    StreamEnded,
}

impl From<lapin::Error> for LiveError {
    fn from(err: lapin::Error) -> Self {
        Self::Broker(err.into())
    }
}

async fn run(
    amqp_url: String,
    topology: Topology,
    sender: broadcast::Sender<Arc<LiveEvent>>,
    ready: watch::Sender<bool>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    while !stop.is_cancelled() {
        match consume(&amqp_url, &topology, &sender, &ready, &stop).await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64,
                    "live events lost RabbitMQ; reconnecting");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn consume(
    amqp_url: &str,
    topology: &Topology,
    sender: &broadcast::Sender<Arc<LiveEvent>>,
    ready: &watch::Sender<bool>,
    stop: &CancellationToken,
) -> Result<(), LiveError> {
    let connection = tintype_broker::connect(amqp_url, "api-gateway live events").await?;
    let channel = connection.create_channel().await?;
    tintype_broker::topology::declare(&channel, topology).await?;
    // A server-named queue: unique per process and connection, gone with either.
    let queue = channel
        .queue_declare(
            ShortString::from(""),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.name().clone(),
            ShortString::from(topology.events_exchange()),
            ShortString::from("job.#"),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    // No acks: a live view loses nothing worth redelivering (the history is in Postgres).
    let mut consumer = channel
        .basic_consume(
            queue.name().clone(),
            ShortString::from("api-gateway-live"),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    ready.send_replace(true);
    tracing::info!(queue = %queue.name(), "streaming job events to dashboards");
    loop {
        let delivery = tokio::select! {
            () = stop.cancelled() => {
                let _ = connection.close(200, "api-gateway stopping".into()).await;
                return Ok(());
            }
            next = consumer.next() => next,
        };
        let delivery = match delivery {
            Some(Ok(delivery)) => delivery,
            Some(Err(err)) => return Err(tintype_broker::BrokerError::from(err).into()),
            None => return Err(LiveError::StreamEnded),
        };
        let Ok(event) = serde_json::from_slice::<JobEvent>(&delivery.data) else {
            tracing::debug!(
                bytes = delivery.data.len(),
                "skipping an event that is not a JobEvent"
            );
            continue;
        };
        let live = LiveEvent {
            job_id: event.job_id,
            name: event.kind.routing_key(),
            // Re-serialised: compact JSON has no newline that could break an SSE `data:` line.
            json: serde_json::to_string(&event).unwrap_or_default(),
        };
        // No receivers is the normal idle state, not an error.
        let _ = sender.send(Arc::new(live));
    }
}
