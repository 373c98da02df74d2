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
