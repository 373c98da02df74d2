//! Submitting and reading jobs straight through the database and broker, for tests of the worker
//! that run without a gateway.

use serde_json::Value;
use shared_protocol::Recipe;
use shared_protocol::job::original_key;
use shared_protocol::recipe::RecipeLimits;
use tintype_db::{JobRow, NewJob};
use uuid::Uuid;

use crate::TestEnv;

impl TestEnv {
    /// Submits a job as the gateway does: the original in the bucket, the job, its history and
    /// its outbox message in one transaction, then published.
    pub async fn submit(&self, image: Vec<u8>, recipe: &Value) -> Uuid {
        let recipe = Recipe::parse(recipe.to_string().as_bytes(), &RecipeLimits::default())
            .expect("a valid recipe");
        let id = Uuid::now_v7();
        let key = original_key(id);
        self.storage
            .put(&key, image.into(), "application/octet-stream")
            .await
            .expect("store the original");
        let job = NewJob {
            id,
            priority: recipe.priority,
            recipe: serde_json::to_value(&recipe).expect("recipe as json"),
            source_key: Some(key),
            source_url: None,
            source_info: None,
            metadata: Value::Object(recipe.metadata.clone()),
            max_attempts: recipe.max_attempts.unwrap_or(3) as i32,
            timeout_secs: recipe.timeout_secs.unwrap_or(120) as i32,
            trace_id: None,
        };
        let mut tx = self.pool.begin().await.expect("begin");
        let row = tintype_db::jobs::insert(&mut tx, &job)
            .await
            .expect("insert");
        let ids = tintype_db::announce::queued(
            &mut tx,
            &self.topology,
            &row,
            None,
            &serde_json::json!({}),
        )
        .await
        .expect("enqueue");
        tx.commit().await.expect("commit");
        let publisher =
            tintype_broker::Publisher::new(&self.amqp_url, "testkit", self.topology.clone());
        tintype_broker::outbox::publish_ids(&self.pool, &publisher, &ids)
            .await
            .expect("publish");
        id
    }

    /// The job as stored.
    pub async fn job(&self, id: Uuid) -> JobRow {
        tintype_db::jobs::get(&self.pool, id)
            .await
            .expect("read job")
            .expect("job exists")
    }

    /// The job's history as (kind, worker id) pairs, oldest first.
    pub async fn history(&self, id: Uuid) -> Vec<(String, Option<String>)> {
        sqlx::query_as("SELECT kind, worker_id FROM job_events WHERE job_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .expect("read history")
    }
}
