//! The job listing behind `GET /v1/jobs`: filters and keyset pagination on `(created_at, id)`.
//!
//! Keyset (not offset) paging is what keeps a walk stable while jobs are inserted: a page starts
//! strictly after the last row of the previous one, so rows that appear meanwhile can never shift
//! an already seen job onto the next page or push an unseen one off it.

use chrono::{DateTime, Utc};
use serde_json::Value;
// Dynamic SQL here is only ever built from constants (the column list and the sort direction).
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use crate::DbError;
use crate::jobs::{JOB_COLUMNS, JobRow};

/// Sort order of the listing, by creation time (then id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Newest first.
    #[default]
    Desc,
    /// Oldest first.
    Asc,
}

/// What to list. Every field narrows the result; empty vectors and `None` do not filter.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Status names (`queued`, `running`, …), already validated.
    pub statuses: Vec<String>,
    /// Priority names (`high`, `default`, `low`), already validated.
    pub priorities: Vec<String>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// A JSON object the job's metadata must contain (`@>`).
    pub metadata: Option<Value>,
    /// Matches an id prefix or any text in the metadata (case-insensitive).
    pub text: Option<String>,
}

/// Escapes `LIKE` wildcards so user text matches literally.
fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One page of jobs matching `filter`, in `order`, starting after `after` (the `(created_at, id)`
/// of the previous page's last row). Returns up to `limit` rows.
pub async fn list(
    pool: &PgPool,
    filter: &JobFilter,
    order: SortOrder,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<JobRow>, DbError> {
    let (compare, direction) = match order {
        SortOrder::Desc => ("<", "DESC"),
        SortOrder::Asc => (">", "ASC"),
    };
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs \
         WHERE ($1::text[] IS NULL OR status = ANY($1::text[]::job_status[])) \
           AND ($2::text[] IS NULL OR priority = ANY($2::text[]::job_priority[])) \
           AND ($3::timestamptz IS NULL OR created_at >= $3) \
           AND ($4::timestamptz IS NULL OR created_at < $4) \
           AND ($5::jsonb IS NULL OR metadata @> $5) \
           AND ($6::text IS NULL OR id::text ILIKE $6 || '%' OR metadata::text ILIKE '%' || $6 || '%') \
           AND ($7::timestamptz IS NULL OR (created_at, id) {compare} ($7, $8)) \
         ORDER BY created_at {direction}, id {direction} LIMIT $9"
    );
    let (after_at, after_id) = after.unzip();
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    Ok(sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql))
        .bind(non_empty(&filter.statuses))
        .bind(non_empty(&filter.priorities))
        .bind(filter.created_from)
        .bind(filter.created_to)
        .bind(&filter.metadata)
        .bind(filter.text.as_deref().map(like_literal))
        .bind(after_at)
        .bind(after_id)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_match_literally() {
        assert_eq!(like_literal("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(like_literal("A-1"), "A-1");
    }
}
