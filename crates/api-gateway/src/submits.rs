//! Group commit for submits: concurrent `POST /v1/jobs` hand their job to a few lanes, and each
//! lane writes whatever has gathered in one transaction (three statements however many jobs)
//! and publishes all their messages with one round of confirms. Under load a commit and a
//! confirm round then cost a batch, not a job; alone, a submit goes through at once, since a
//! lane takes what is waiting and never waits for more.
//!
//! Nothing changes for the client: its 202 still comes after its job's row is committed and its
//! messages are confirmed (or left in the outbox for the relay if RabbitMQ is down). A batch
//! commits or fails whole: if its transaction fails, every submit in it gets the error (503 while
//! the database is unavailable) and none is half-written.

use std::sync::Arc;

use serde_json::Value;
use tintype_broker::Publisher;
use tintype_db::{DbError, JobRow, NewJob};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::ApiError;

/// Most jobs one transaction takes.
const MAX_BATCH: usize = 128;

/// Jobs waiting for a lane before submits wait to hand theirs over.
const QUEUE_DEPTH: usize = 4 * MAX_BATCH;

/// One submit waiting for its batch.
struct Pending {
    job: NewJob,
    headers: Value,
    reply: oneshot::Sender<Result<JobRow, Arc<DbError>>>,
}

/// Where submits hand over their jobs; cheap to clone.
#[derive(Clone)]
pub struct SubmitLanes {
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for SubmitLanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmitLanes").finish_non_exhaustive()
    }
}

impl SubmitLanes {
    /// Starts `lanes` lanes on the current runtime; they stop when the last handle is dropped.
    pub fn start(pool: sqlx::PgPool, publisher: Publisher, lanes: usize) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..lanes.max(1) {
            let lane = Lane {
                pool: pool.clone(),
                publisher: publisher.clone(),
                receiver: receiver.clone(),
            };
            tokio::spawn(lane.run());
        }
        Self { queue }
    }

    /// Queues `job` (with the trace headers its messages carry) and answers its committed row
    /// once its messages are published or left to the relay.
    pub async fn submit(&self, job: NewJob, headers: Value) -> Result<JobRow, ApiError> {
        let (reply, answer) = oneshot::channel();
        let lost = || ApiError::Internal(anyhow::anyhow!("the submit lanes stopped"));
        self.queue
            .send(Pending {
                job,
                headers,
                reply,
            })
            .await
            .map_err(|_| lost())?;
        match answer.await.map_err(|_| lost())? {
            Ok(row) => Ok(row),
            Err(err) if err.is_transient() => Err(ApiError::Unavailable {
                what: "the database",
                source: anyhow::anyhow!("{err}"),
            }),
            Err(err) => Err(ApiError::Internal(anyhow::anyhow!("{err}"))),
        }
    }
}

/// One writer: takes what is waiting, commits it, publishes it, answers, and goes again.
struct Lane {
    pool: sqlx::PgPool,
    publisher: Publisher,
    receiver: Arc<Mutex<mpsc::Receiver<Pending>>>,
}

impl Lane {
    async fn run(self) {
        while let Some(batch) = self.take().await {
            self.write(batch).await;
        }
    }

    /// Waits for one job, then takes every other one already waiting (up to [`MAX_BATCH`]).
    async fn take(&self) -> Option<Vec<Pending>> {
        let mut receiver = self.receiver.lock().await;
        let first = receiver.recv().await?;
        let mut batch = Vec::with_capacity(MAX_BATCH.min(receiver.len() + 1));
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        Some(batch)
    }

    async fn write(&self, batch: Vec<Pending>) {
        let mut jobs = Vec::with_capacity(batch.len());
        let mut headers = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for pending in batch {
            jobs.push(pending.job);
            headers.push(pending.headers);
            replies.push(pending.reply);
        }
        match self.commit(&jobs, &headers).await {
            Ok((rows, outbox_ids)) => {
                // On failure the relay publishes later; the clients' 202s stand.
                if let Err(err) =
                    tintype_broker::outbox::publish_ids(&self.pool, &self.publisher, &outbox_ids)
                        .await
                {
                    tracing::warn!(jobs = rows.len(), error = %err, "publish deferred to the outbox relay");
                }
                for (reply, row) in replies.into_iter().zip(rows) {
                    // A client that went away has nothing to receive; its job stands.
                    let _ = reply.send(Ok(row));
                }
            }
            Err(err) => {
                let err = Arc::new(err);
                for reply in replies {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }

    async fn commit(
        &self,
        jobs: &[NewJob],
        headers: &[Value],
    ) -> Result<(Vec<JobRow>, Vec<i64>), DbError> {
        let mut tx = self.pool.begin().await?;
        let written =
            tintype_db::submit::queue_jobs(&mut tx, self.publisher.topology(), jobs, None, headers)
                .await?;
        tx.commit().await?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_protocol::Priority;
    use shared_protocol::topology::Topology;

    fn job() -> NewJob {
        NewJob {
            id: uuid::Uuid::now_v7(),
            priority: Priority::Default,
            recipe: serde_json::json!({"outputs": []}),
            source_key: Some("originals/x".into()),
            source_url: None,
            source_info: None,
            metadata: serde_json::json!({}),
            max_attempts: 1,
            timeout_secs: 30,
            trace_id: None,
        }
    }

    #[tokio::test]
    async fn every_submit_of_a_batch_that_cannot_commit_gets_a_retryable_error() {
        // Nothing listens on port 1: the lane cannot even begin its transaction.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(std::time::Duration::from_millis(300))
            .connect_lazy("postgres://postgres@127.0.0.1:1/none")
            .expect("a lazy pool");
        let publisher = Publisher::new("amqp://127.0.0.1:1", "test", Topology::new("tt-lanes"));
        let lanes = SubmitLanes::start(pool, publisher, 1);
        let answers = futures_util::future::join_all(
            (0..5).map(|_| lanes.submit(job(), serde_json::json!({}))),
        )
        .await;
        for answer in answers {
            assert!(
                matches!(
                    answer,
                    Err(ApiError::Unavailable {
                        what: "the database",
                        ..
                    })
                ),
                "{answer:?}"
            );
        }
    }
}
