//! Presets: named recipes stored server-side, so clients submit `"preset": "thumbs"` instead of
//! repeating a recipe.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use crate::DbError;

/// A stored preset.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct PresetRow {
    /// Unique name.
    pub name: String,
    /// Free text for people.
    pub description: String,
    /// The validated recipe.
    pub recipe: Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "name, description, recipe, created_at, updated_at";

/// Creates or replaces a preset; true when it was created.
pub async fn upsert(
    pool: &PgPool,
    name: &str,
    description: &str,
    recipe: &Value,
) -> Result<(PresetRow, bool), DbError> {
    let sql = format!(
        "INSERT INTO presets (name, description, recipe) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, \
           recipe = EXCLUDED.recipe, updated_at = now() \
         RETURNING {COLUMNS}, (xmax = 0) AS created"
    );
    let row: (String, String, Value, DateTime<Utc>, DateTime<Utc>, bool) =
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .bind(description)
            .bind(recipe)
            .fetch_one(pool)
            .await?;
    Ok((
        PresetRow {
            name: row.0,
            description: row.1,
            recipe: row.2,
            created_at: row.3,
            updated_at: row.4,
        },
        row.5,
    ))
}

/// One preset.
pub async fn get(pool: &PgPool, name: &str) -> Result<Option<PresetRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM presets WHERE name = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(pool)
        .await?)
}

/// Every preset by name.
pub async fn list(pool: &PgPool) -> Result<Vec<PresetRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM presets ORDER BY name");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?)
}

/// Deletes a preset; false if there was none.
pub async fn delete(pool: &PgPool, name: &str) -> Result<bool, DbError> {
    Ok(sqlx::query("DELETE FROM presets WHERE name = $1")
        .bind(name)
        .execute(pool)
        .await?
        .rows_affected()
        > 0)
}
