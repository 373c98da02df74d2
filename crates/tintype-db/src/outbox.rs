//! The transactional outbox: a message is stored in the same transaction as the state change it
//! announces, then published with confirms and deleted. If the publisher dies or the broker is down,
//! the row stays and the scheduler's relay publishes it later — nothing is lost, and consumers
//! tolerate the rare duplicate because every transition is conditional.

use serde_json::Value;
use sqlx::{PgConnection, Postgres, Transaction};

use crate::DbError;

/// One pending message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxMessage {
    /// Row id.
    pub id: i64,
    /// Exchange to publish to.
    pub exchange: String,
    /// Routing key.
    pub routing_key: String,
    /// Message body.
    pub payload: Vec<u8>,
    /// AMQP `type` property.
    pub message_type: String,
    /// String headers (trace context, …).
    pub headers: Value,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewOutboxMessage {
    /// Exchange to publish to.
    pub exchange: String,
    /// Routing key.
    pub routing_key: String,
    /// Message body.
    pub payload: Vec<u8>,
    /// AMQP `type` property.
    pub message_type: String,
    /// String headers.
    pub headers: Value,
}

/// Stores a message in the caller's transaction; returns its id.
pub async fn insert(conn: &mut PgConnection, msg: &NewOutboxMessage) -> Result<i64, DbError> {
    insert_many(conn, std::slice::from_ref(msg))
        .await?
        .pop()
        .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))
}

/// Stores messages in one statement in the caller's transaction; returns their ids in order.
pub async fn insert_many(
    conn: &mut PgConnection,
    msgs: &[NewOutboxMessage],
) -> Result<Vec<i64>, DbError> {
    // Rows are inserted in ordinality order, so the sequence hands out ascending ids in the
    // caller's order; sorting what RETURNING yields (in no promised order) restores it.
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO outbox (exchange, routing_key, payload, message_type, headers) \
         SELECT exchange, routing_key, payload, message_type, headers \
         FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::text[], $5::jsonb[]) \
           WITH ORDINALITY AS t(exchange, routing_key, payload, message_type, headers, n) \
         ORDER BY n RETURNING id",
    )
    .bind(msgs.iter().map(|m| m.exchange.as_str()).collect::<Vec<_>>())
    .bind(
        msgs.iter()
            .map(|m| m.routing_key.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        msgs.iter()
            .map(|m| m.payload.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(
        msgs.iter()
            .map(|m| m.message_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(msgs.iter().map(|m| m.headers.clone()).collect::<Vec<_>>())
    .fetch_all(conn)
    .await?;
    ids.sort_unstable();
    Ok(ids)
}

/// Locks pending messages for publishing: the given ids (if any), otherwise the oldest ones older
/// than `min_age_secs`. Rows locked by another publisher are skipped, so two publishers never send
/// the same row at once.
pub async fn lock_pending(
    tx: &mut Transaction<'_, Postgres>,
    ids: Option<&[i64]>,
    min_age_secs: f64,
    limit: i64,
) -> Result<Vec<OutboxMessage>, DbError> {
    let rows = match ids {
        Some(ids) => {
            sqlx::query_as::<_, OutboxMessage>(
                "SELECT id, exchange, routing_key, payload, message_type, headers FROM outbox \
                 WHERE id = ANY($1) AND published_at IS NULL ORDER BY id FOR UPDATE SKIP LOCKED",
            )
            .bind(ids)
            .fetch_all(&mut **tx)
            .await?
        }
        None => {
            sqlx::query_as::<_, OutboxMessage>(
                "SELECT id, exchange, routing_key, payload, message_type, headers FROM outbox \
                 WHERE published_at IS NULL \
                   AND created_at <= now() - make_interval(secs => $1) \
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
            )
            .bind(min_age_secs)
            .bind(limit)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    Ok(rows)
}

/// Removes published messages.
pub async fn delete(tx: &mut Transaction<'_, Postgres>, ids: &[i64]) -> Result<(), DbError> {
    sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
        .bind(ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records a failed publish attempt (outside the lock transaction, best effort).
pub async fn note_failure(
    conn: &mut PgConnection,
    ids: &[i64],
    error: &str,
) -> Result<(), DbError> {
    sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1)")
        .bind(ids)
        .bind(error)
        .execute(conn)
        .await?;
    Ok(())
}

/// Number of messages waiting (a health signal: a growing outbox means the broker is unreachable).
pub async fn pending_count(conn: &mut PgConnection) -> Result<i64, DbError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(conn)
            .await?,
    )
}
