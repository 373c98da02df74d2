//! Idempotency keys on submit: the same key and body answer with the original job, the same key
//! with another body is a conflict, and a key is free again once it expired.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::DbError;

/// The job holding a live key, and the hash of the request that created it.
pub async fn lookup(
    conn: &mut PgConnection,
    key: &str,
) -> Result<Option<(Uuid, Option<String>)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, request_hash FROM jobs WHERE idempotency_key = $1 \
           AND (idempotency_expires_at IS NULL OR idempotency_expires_at > now())",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Gives `key` to the job `id` for `ttl_secs`; false if a live job holds it already (a racing
/// submit won). Call inside the transaction that inserts the job.
pub async fn bind(
    conn: &mut PgConnection,
    id: Uuid,
    key: &str,
    request_hash: &str,
    ttl_secs: f64,
) -> Result<bool, DbError> {
    // An expired key is released first; the unique index then arbitrates racing submits.
    sqlx::query(
        "UPDATE jobs SET idempotency_key = NULL \
         WHERE idempotency_key = $1 AND idempotency_expires_at <= now()",
    )
    .bind(key)
    .execute(&mut *conn)
    .await?;
    let bound = sqlx::query(
        "UPDATE jobs SET idempotency_key = $2, request_hash = $3, \
           idempotency_expires_at = now() + make_interval(secs => $4) \
         WHERE id = $1",
    )
    .bind(id)
    .bind(key)
    .bind(request_hash)
    .bind(ttl_secs)
    .execute(&mut *conn)
    .await;
    match bound {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
        Err(err) => Err(err.into()),
    }
}
