//! Job transitions against the real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use shared_protocol::{JobStatus, Priority};
use tintype_db::{ClaimOutcome, NewJob, jobs};
use tintype_testkit::TestEnv;
use uuid::Uuid;

async fn insert(env: &TestEnv) -> Uuid {
    let id = Uuid::now_v7();
    let mut tx = env.pool.begin().await.unwrap();
    jobs::insert(
        &mut tx,
        &NewJob {
            id,
            priority: Priority::Default,
            recipe: json!({"outputs": []}),
            source_key: Some(format!("originals/{id}")),
            source_url: None,
            source_info: None,
            metadata: json!({}),
            max_attempts: 3,
            timeout_secs: 60,
            trace_id: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn only_one_worker_can_claim_a_queued_job() {
    let env = TestEnv::new().await;
    let id = insert(&env).await;
    let mut conn = env.pool.acquire().await.unwrap();
    let first = jobs::claim(&mut conn, id, "w1", 30.0).await.unwrap();
    assert!(
        matches!(first, ClaimOutcome::Claimed(ref row) if row.attempts == 1 && row.status() == JobStatus::Running)
    );
    let second = jobs::claim(&mut conn, id, "w2", 30.0).await.unwrap();
    assert!(
        matches!(second, ClaimOutcome::NotClaimable { status: JobStatus::Running, worker_id: Some(ref w) } if w == "w1")
    );
    // Only the owner can finish it.
    assert!(
        jobs::succeed(&mut conn, id, "w2", &json!([]))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        jobs::succeed(&mut conn, id, "w1", &json!([]))
            .await
            .unwrap()
            .is_some()
    );
    // A finished job is never claimed again.
    let again = jobs::claim(&mut conn, id, "w1", 30.0).await.unwrap();
    assert!(matches!(
        again,
        ClaimOutcome::NotClaimable {
            status: JobStatus::Succeeded,
            ..
        }
    ));
    assert!(matches!(
        jobs::claim(&mut conn, Uuid::now_v7(), "w1", 30.0)
            .await
            .unwrap(),
        ClaimOutcome::NotFound
    ));
}

#[tokio::test]
async fn an_expired_lease_can_be_taken_over_and_the_old_owner_loses_the_job() {
    let env = TestEnv::new().await;
    let id = insert(&env).await;
    let mut conn = env.pool.acquire().await.unwrap();
    assert!(matches!(
        jobs::claim(&mut conn, id, "w1", 0.05).await.unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let taken = jobs::claim(&mut conn, id, "w2", 30.0).await.unwrap();
    assert!(matches!(taken, ClaimOutcome::Claimed(ref row) if row.attempts == 2));
    assert!(!jobs::heartbeat(&env.pool, id, "w1", 30.0).await.unwrap());
    assert!(jobs::heartbeat(&env.pool, id, "w2", 30.0).await.unwrap());
    assert!(
        jobs::fail(&mut conn, id, "w1", "x", "y")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_database_without_the_schema_is_refused_with_a_hint() {
    let env = TestEnv::new().await;
    tintype_db::check_schema(&env.pool)
        .await
        .expect("a migrated database passes");
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(&env.pool)
        .await
        .unwrap();
    let err = tintype_db::check_schema(&env.pool).await.unwrap_err();
    assert!(err.to_string().contains("api-gateway migrate"), "{err}");
}

fn new_job(priority: Priority, trace_id: Option<&str>) -> NewJob {
    let id = Uuid::now_v7();
    NewJob {
        id,
        priority,
        recipe: json!({"outputs": [{"name": "t", "format": "png"}]}),
        source_key: None,
        source_url: Some(format!("http://127.0.0.1/{id}.png")),
        source_info: None,
        metadata: json!({"n": id.to_string()}),
        max_attempts: 2,
        timeout_secs: 30,
        trace_id: trace_id.map(str::to_owned),
    }
}

#[tokio::test]
async fn a_batch_of_submits_is_written_whole_and_in_order() {
    let env = TestEnv::new().await;
    let batch = vec![
        new_job(Priority::High, Some("trace-a")),
        new_job(Priority::Low, None),
        new_job(Priority::Default, Some("trace-c")),
    ];
    let headers: Vec<_> = (0..batch.len())
        .map(|i| json!({"traceparent": format!("tp-{i}")}))
        .collect();
    let mut tx = env.pool.begin().await.unwrap();
    let (rows, outbox_ids) =
        tintype_db::submit::queue_jobs(&mut tx, &env.topology, &batch, None, &headers)
            .await
            .unwrap();
    tx.commit().await.unwrap();

    // Rows come back in the caller's order, as submitted.
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, batch.iter().map(|j| j.id).collect::<Vec<_>>());
    for (row, job) in rows.iter().zip(&batch) {
        assert_eq!(row.status(), JobStatus::Queued);
        assert_eq!(row.priority(), job.priority);
        assert_eq!(row.metadata, job.metadata);
        assert_eq!(row.source_url, job.source_url);
        assert_eq!(row.trace_id, job.trace_id);
        let history = tintype_db::events::list(&env.pool, row.id).await.unwrap();
        assert_eq!(
            history.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["queued"]
        );
    }

    // Each job's message then its event, jobs in order, each with its own trace headers.
    assert_eq!(outbox_ids.len(), 2 * batch.len());
    let mut tx = env.pool.begin().await.unwrap();
    let stored = tintype_db::outbox::lock_pending(&mut tx, Some(&outbox_ids), 0.0, 100)
        .await
        .unwrap();
    assert_eq!(stored.iter().map(|m| m.id).collect::<Vec<_>>(), outbox_ids);
    for (i, (job, pair)) in batch.iter().zip(stored.chunks(2)).enumerate() {
        let (message, event) = (&pair[0], &pair[1]);
        assert_eq!(message.exchange, env.topology.jobs_exchange());
        assert_eq!(message.routing_key, job.priority.as_str());
        assert!(String::from_utf8_lossy(&message.payload).contains(&job.id.to_string()));
        assert_eq!(event.exchange, env.topology.events_exchange());
        assert!(String::from_utf8_lossy(&event.payload).contains(&job.id.to_string()));
        for m in pair {
            assert_eq!(m.headers, json!({"traceparent": format!("tp-{i}")}));
        }
    }
}
