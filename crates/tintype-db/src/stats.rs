//! Operator statistics from the jobs table: throughput, outcomes, latency percentiles and what
//! waits per priority. Postgres keeps the full history, so these survive restarts (unlike an
//! in-memory monitor) and agree with what `GET /v1/jobs` lists.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::DbError;

/// Jobs that reached a final state within one bucket.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ThroughputBucket {
    /// Bucket start.
    pub at: DateTime<Utc>,
    /// Succeeded in the bucket.
    pub succeeded: i64,
    /// Failed in the bucket.
    pub failed: i64,
    /// Cancelled in the bucket.
    pub cancelled: i64,
}

/// p50, p90 and p99 of a duration, in milliseconds; `None` without samples.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Samples the percentiles were computed from.
    pub samples: i64,
}

/// Per-minute (or coarser) finished jobs since `from`, oldest first, empty buckets included.
pub async fn throughput(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bucket_secs: i64,
) -> Result<Vec<ThroughputBucket>, DbError> {
    // generate_series supplies the empty buckets, so charts need no gap filling; floor, not a
    // cast (which rounds), puts a job in the bucket it finished in.
    Ok(sqlx::query_as::<_, ThroughputBucket>(
        "WITH buckets AS ( \
           SELECT generate_series(0, ceil(EXTRACT(EPOCH FROM $2 - $1) / $3)::bigint - 1) AS n), \
         finished AS ( \
           SELECT floor(EXTRACT(EPOCH FROM finished_at - $1) / $3)::bigint AS n, status::text AS status \
           FROM jobs WHERE finished_at >= $1 AND finished_at < $2 \
             AND status IN ('succeeded', 'failed', 'cancelled')) \
         SELECT $1 + make_interval(secs => (b.n * $3)::float8) AS at, \
           count(*) FILTER (WHERE f.status = 'succeeded') AS succeeded, \
           count(*) FILTER (WHERE f.status = 'failed') AS failed, \
           count(*) FILTER (WHERE f.status = 'cancelled') AS cancelled \
         FROM buckets b LEFT JOIN finished f ON f.n = b.n \
         GROUP BY b.n ORDER BY b.n",
    )
    .bind(from)
    .bind(to)
    .bind(bucket_secs)
    .fetch_all(pool)
    .await?)
}

async fn percentiles(
    pool: &PgPool,
    sql: &'static str,
    from: DateTime<Utc>,
) -> Result<Percentiles, DbError> {
    let (values, samples): (Option<Vec<f64>>, i64) =
        sqlx::query_as(sql).bind(from).fetch_one(pool).await?;
    let values = values.unwrap_or_default();
    Ok(Percentiles {
        p50: values.first().copied(),
        p90: values.get(1).copied(),
        p99: values.get(2).copied(),
        samples,
    })
}

/// Queue wait (accepted → first attempt started) of the jobs that started since `from`.
pub async fn queue_wait(pool: &PgPool, from: DateTime<Utc>) -> Result<Percentiles, DbError> {
    percentiles(
        pool,
        "SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP \
           (ORDER BY EXTRACT(EPOCH FROM started_at - created_at)::float8 * 1000), count(*) \
         FROM jobs WHERE started_at >= $1",
        from,
    )
    .await
}

/// Processing time (first attempt started → final state) of the jobs that succeeded or failed
/// since `from`.
pub async fn processing(pool: &PgPool, from: DateTime<Utc>) -> Result<Percentiles, DbError> {
    percentiles(
        pool,
        "SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP \
           (ORDER BY EXTRACT(EPOCH FROM finished_at - started_at)::float8 * 1000), count(*) \
         FROM jobs WHERE finished_at >= $1 AND started_at IS NOT NULL \
           AND status IN ('succeeded', 'failed')",
        from,
    )
    .await
}

/// How many jobs accepted since `from` are in each status now.
pub async fn status_counts(
    pool: &PgPool,
    from: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT status::text, count(*) FROM jobs WHERE created_at >= $1 GROUP BY status ORDER BY 1",
    )
    .bind(from)
    .fetch_all(pool)
    .await?)
}

/// What waits in Postgres for one priority.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Waiting {
    /// `high`, `default` or `low`.
    pub priority: String,
    /// Jobs `queued`.
    pub queued: i64,
    /// Jobs `retrying` (waiting out a delay).
    pub retrying: i64,
    /// Jobs `running`.
    pub running: i64,
    /// Age of the oldest queued job, in seconds (`None` when none waits).
    pub oldest_age_secs: Option<f64>,
}

/// Per priority: waiting, retrying and running jobs and the oldest queued job's age.
pub async fn waiting(pool: &PgPool) -> Result<Vec<Waiting>, DbError> {
    Ok(sqlx::query_as::<_, Waiting>(
        "SELECT p.priority::text AS priority, \
           count(j.id) FILTER (WHERE j.status = 'queued') AS queued, \
           count(j.id) FILTER (WHERE j.status = 'retrying') AS retrying, \
           count(j.id) FILTER (WHERE j.status = 'running') AS running, \
           EXTRACT(EPOCH FROM now() - min(j.created_at) FILTER (WHERE j.status = 'queued'))::float8 \
             AS oldest_age_secs \
         FROM unnest(enum_range(NULL::job_priority)) AS p(priority) \
         LEFT JOIN jobs j ON j.priority = p.priority AND j.status IN ('queued', 'retrying', 'running') \
         GROUP BY p.priority ORDER BY p.priority",
    )
    .fetch_all(pool)
    .await?)
}
