//! API keys: stored as a hash with their scopes; revoking is a timestamp, checked on every request
//! so a revoked key stops working at once.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::DbError;

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ApiKeyRow {
    /// Key id.
    pub id: Uuid,
    /// What the key is for.
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    /// Granted scopes (`jobs:read`, `jobs:write`, `admin`).
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, prefix, scopes, created_at, revoked_at, last_used_at";

/// Stores a new key by its hash.
pub async fn insert(
    pool: &PgPool,
    name: &str,
    prefix: &str,
    secret_hash: &[u8],
    scopes: &[String],
) -> Result<ApiKeyRow, DbError> {
    let sql = format!(
        "INSERT INTO api_keys (id, name, prefix, secret_hash, scopes) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(Uuid::now_v7())
        .bind(name)
        .bind(prefix)
        .bind(secret_hash)
        .bind(scopes)
        .fetch_one(pool)
        .await?)
}

/// Every key, newest first.
pub async fn list(pool: &PgPool) -> Result<Vec<ApiKeyRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?)
}

/// The live (unrevoked) key with this hash, marking it used.
pub async fn find_live(pool: &PgPool, secret_hash: &[u8]) -> Result<Option<ApiKeyRow>, DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL");
    let row: Option<ApiKeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(secret_hash)
        .fetch_optional(pool)
        .await?;
    if let Some(key) = &row
        && key
            .last_used_at
            .is_none_or(|at| Utc::now() - at > chrono::Duration::minutes(1))
    {
        // At most one write a minute per key, so a busy client does not turn reads into writes.
        sqlx::query("UPDATE api_keys SET last_used_at = now() WHERE id = $1")
            .bind(key.id)
            .execute(pool)
            .await?;
    }
    Ok(row)
}

/// Revokes the key whose id or prefix is `which`; returns the revoked key, if one matched.
pub async fn revoke(pool: &PgPool, which: &str) -> Result<Vec<ApiKeyRow>, DbError> {
    let id = Uuid::parse_str(which).ok();
    let sql = format!(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) \
         WHERE id = $1 OR prefix = $2 RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(which)
        .fetch_all(pool)
        .await?)
}

/// Whether any live key exists (the dashboard and the start-up log say so).
pub async fn any_live(pool: &PgPool) -> Result<bool, DbError> {
    let (exists,): (bool,) =
        sqlx::query_as("SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL)")
            .fetch_one(pool)
            .await?;
    Ok(exists)
}
