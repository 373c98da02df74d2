//! Publishing outbox rows: lock pending rows (skipping rows another publisher holds), publish each
//! with confirms, delete the published ones, commit. A failure leaves the rest for the next pass.

use sqlx::PgPool;
use tintype_db::outbox;

use crate::{BrokerError, Publisher, headers_from_json};

/// Publishes the given outbox rows now (the writer's fast path after its commit).
pub async fn publish_ids(
    pool: &PgPool,
    publisher: &Publisher,
    ids: &[i64],
) -> Result<usize, BrokerError> {
    publish(pool, publisher, Some(ids), 0.0, ids.len() as i64).await
}

/// Publishes up to `limit` rows older than `min_age_secs` (the relay's pass).
pub async fn publish_pending(
    pool: &PgPool,
    publisher: &Publisher,
    min_age_secs: f64,
    limit: i64,
) -> Result<usize, BrokerError> {
    publish(pool, publisher, None, min_age_secs, limit).await
}

async fn publish(
    pool: &PgPool,
    publisher: &Publisher,
    ids: Option<&[i64]>,
    min_age_secs: f64,
    limit: i64,
) -> Result<usize, BrokerError> {
    let mut tx = pool.begin().await.map_err(tintype_db::DbError::from)?;
    let rows = outbox::lock_pending(&mut tx, ids, min_age_secs, limit).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    // All of them are sent before any confirm is awaited: one round trip to the broker for the
    // lot, not one per message.
    let results = futures_util::future::join_all(rows.iter().map(|row| {
        let headers = headers_from_json(&row.headers);
        async move {
            publisher
                .publish(
                    &row.exchange,
                    &row.routing_key,
                    &row.payload,
                    &row.message_type,
                    &headers,
                )
                .await
        }
    }))
    .await;
    let mut published = Vec::with_capacity(rows.len());
    let mut failure = None;
    for (row, result) in rows.iter().zip(results) {
        match result {
            Ok(()) => published.push(row.id),
            Err(err) => {
                failure.get_or_insert(err);
            }
        }
    }
    outbox::delete(&mut tx, &published).await?;
    tx.commit().await.map_err(tintype_db::DbError::from)?;
    if let Some(err) = failure {
        let failed: Vec<i64> = rows
            .iter()
            .map(|r| r.id)
            .filter(|id| !published.contains(id))
            .collect();
        if let Ok(mut conn) = pool.acquire().await {
            // Best effort: the bookkeeping must not hide the publish error.
            let _ = outbox::note_failure(&mut conn, &failed, &err.to_string()).await;
        }
        return Err(err);
    }
    Ok(published.len())
}
