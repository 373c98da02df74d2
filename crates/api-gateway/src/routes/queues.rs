//! `GET /v1/queues`: per priority queue, what RabbitMQ holds (depth and consumers, from a passive
//! declare: no management plugin needed) beside what Postgres says waits (queued, retrying and
//! running jobs, and the oldest queued job's age, which RabbitMQ cannot tell).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use lapin::options::QueueDeclareOptions;
use lapin::types::{FieldTable, ShortString};
use serde::Serialize;
use shared_protocol::Priority;

use crate::error::ApiError;
use crate::state::AppState;

/// How long the broker gets to answer before the queues are listed without its numbers.
const BROKER_TIMEOUT: Duration = Duration::from_secs(3);

/// What the broker says about one queue.
#[derive(Debug, Clone, Copy)]
struct Counts {
    depth: u32,
    consumers: u32,
}

/// One priority queue.
#[derive(Debug, Serialize)]
struct QueueView {
    name: String,
    priority: String,
    depth: Option<u32>,
    consumers: Option<u32>,
    queued: i64,
    retrying: i64,
    running: i64,
    oldest_age_secs: Option<f64>,
}

/// The dead-letter queue.
#[derive(Debug, Serialize)]
struct DeadLetterQueueView {
    name: String,
    depth: Option<u32>,
    consumers: Option<u32>,
}

async fn broker_counts(state: &AppState, names: &[String]) -> Option<Vec<Counts>> {
    let ask = async {
        let channel = state.publisher.channel().await?;
        let mut counts = Vec::with_capacity(names.len());
        for name in names {
            let queue = channel
                .queue_declare(
                    ShortString::from(name.clone()),
                    QueueDeclareOptions {
                        passive: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(tintype_broker::BrokerError::from)?;
            counts.push(Counts {
                depth: queue.message_count(),
                consumers: queue.consumer_count(),
            });
        }
        Ok::<_, tintype_broker::BrokerError>(counts)
    };
    match tokio::time::timeout(BROKER_TIMEOUT, ask).await {
        Ok(Ok(counts)) => Some(counts),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "reading queue depths from RabbitMQ failed");
            None
        }
        Err(_) => {
            tracing::warn!("RabbitMQ did not answer the queue depth query in time");
            None
        }
    }
}

/// The job queues with their depth, consumers and waiting work.
#[utoipa::path(
    get,
    path = "/v1/queues",
    tag = "operations",
    summary = "Queues",
    description = "Per priority queue: `depth` (messages ready) and `consumers` from RabbitMQ \
        (null, with `broker: unavailable`, while it cannot be reached), and from Postgres the \
        jobs `queued`, `retrying` and `running` at that priority and the age of the oldest \
        queued one. Also the dead-letter queue's depth.",
    responses(
        (status = 200, description = "The queues", body = crate::openapi::QueueList),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn queues(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let topology = state.publisher.topology();
    let mut names: Vec<String> = Priority::ALL
        .iter()
        .map(|p| topology.jobs_queue(*p))
        .collect();
    names.push(topology.dead_letter_queue());
    let (counts, waiting) = tokio::join!(
        broker_counts(&state, &names),
        tintype_db::stats::waiting(&state.pool)
    );
    let waiting = waiting?;
    let count = |i: usize| counts.as_ref().and_then(|c| c.get(i).copied());
    let queues: Vec<QueueView> = Priority::ALL
        .iter()
        .enumerate()
        .map(|(i, priority)| {
            let db = waiting.iter().find(|w| w.priority == priority.as_str());
            QueueView {
                name: names[i].clone(),
                priority: priority.as_str().to_owned(),
                depth: count(i).map(|c| c.depth),
                consumers: count(i).map(|c| c.consumers),
                queued: db.map_or(0, |w| w.queued),
                retrying: db.map_or(0, |w| w.retrying),
                running: db.map_or(0, |w| w.running),
                oldest_age_secs: db.and_then(|w| w.oldest_age_secs),
            }
        })
        .collect();
    let dead = Priority::ALL.len();
    let dead_letters = DeadLetterQueueView {
        name: names[dead].clone(),
        depth: count(dead).map(|c| c.depth),
        consumers: count(dead).map(|c| c.consumers),
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "broker": if counts.is_some() { "ok" } else { "unavailable" },
        "queues": queues,
        "dead_letters": dead_letters,
    })))
}
