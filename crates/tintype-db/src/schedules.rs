//! Schedules and their run history. The gateway writes schedules; the scheduler claims due ticks
//! with [`lock_due`] (`FOR UPDATE SKIP LOCKED`, one schedule at a time), so replicas never fire a
//! tick twice, and [`record_run`]'s unique (schedule, tick) is the backstop.

use chrono::{DateTime, Utc};
use serde_json::Value;
// Dynamic SQL here is only ever built from the constant column list, never from input.
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};
use uuid::Uuid;

use shared_protocol::schedule::{Misfire, Timing};

use crate::DbError;

const COLUMNS: &str = "id, name, recipe, source_url, source_key, cron, every_secs, timezone, \
    misfire, priority::text AS priority, metadata, paused_at, next_fire_at, last_fire_at, \
    created_at, updated_at";

/// A schedule as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleRow {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Name for people.
    pub name: String,
    /// The validated recipe, without a source.
    pub recipe: Value,
    /// Remote source each job fetches.
    pub source_url: Option<String>,
    /// Object in the bucket each job reads.
    pub source_key: Option<String>,
    /// Cron expression, if the timing is one.
    pub cron: Option<String>,
    /// Interval in seconds, if the timing is one.
    pub every_secs: Option<i64>,
    /// IANA zone the cron expression is read in.
    pub timezone: String,
    /// `fire_once` or `skip`.
    pub misfire: String,
    /// Priority of the jobs (stored enum as text).
    pub priority: String,
    /// Metadata merged into each job's.
    pub metadata: Value,
    /// Paused since.
    pub paused_at: Option<DateTime<Utc>>,
    /// Next tick to fire.
    pub next_fire_at: Option<DateTime<Utc>>,
    /// Last tick fired.
    pub last_fire_at: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl ScheduleRow {
    /// The timing, zone and misfire policy, as validated when the schedule was saved.
    pub fn timing(
        &self,
    ) -> Result<(Timing, chrono_tz::Tz, Misfire), shared_protocol::schedule::TimingError> {
        let timing = match (&self.cron, self.every_secs) {
            (Some(cron), _) => Timing::cron(cron)?,
            (None, Some(secs)) => Timing::every(&format!("{}s", secs.max(0)))?,
            (None, None) => Timing::every("")?,
        };
        let tz = shared_protocol::schedule::timezone(&self.timezone)?;
        Ok((
            timing,
            tz,
            Misfire::parse(&self.misfire).unwrap_or_default(),
        ))
    }

    /// The job priority.
    pub fn priority(&self) -> shared_protocol::Priority {
        shared_protocol::Priority::parse(&self.priority).unwrap_or_default()
    }
}

/// A schedule to insert, or the new state of one to replace.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Validated recipe without a source.
    pub recipe: Value,
    /// Remote source.
    pub source_url: Option<String>,
    /// Object source.
    pub source_key: Option<String>,
    /// Cron expression.
    pub cron: Option<String>,
    /// Interval in seconds.
    pub every_secs: Option<i64>,
    /// IANA zone.
    pub timezone: String,
    /// Misfire policy.
    pub misfire: String,
    /// Job priority.
    pub priority: shared_protocol::Priority,
    /// Metadata for the jobs.
    pub metadata: Value,
    /// First tick to fire.
    pub next_fire_at: Option<DateTime<Utc>>,
}

/// Inserts a schedule.
pub async fn insert(pool: &PgPool, s: &NewSchedule) -> Result<ScheduleRow, DbError> {
    let sql = format!(
        "INSERT INTO schedules (id, name, recipe, source_url, source_key, cron, every_secs, \
           timezone, misfire, priority, metadata, next_fire_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::job_priority, $11, $12) \
         RETURNING {COLUMNS}"
    );
    Ok(
        bind_all(sqlx::query_as::<_, ScheduleRow>(AssertSqlSafe(sql)), s)
            .fetch_one(pool)
            .await?,
    )
}

/// Replaces every field of a schedule (pause state kept); `None` if there is none.
pub async fn replace(pool: &PgPool, s: &NewSchedule) -> Result<Option<ScheduleRow>, DbError> {
    let sql = format!(
        "UPDATE schedules SET name = $2, recipe = $3, source_url = $4, source_key = $5, \
           cron = $6, every_secs = $7, timezone = $8, misfire = $9, priority = $10::job_priority, \
           metadata = $11, next_fire_at = $12, updated_at = now() \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    Ok(
        bind_all(sqlx::query_as::<_, ScheduleRow>(AssertSqlSafe(sql)), s)
            .fetch_optional(pool)
            .await?,
    )
}

type RowQuery<'q> = sqlx::query::QueryAs<'q, Postgres, ScheduleRow, sqlx::postgres::PgArguments>;

fn bind_all<'q>(query: RowQuery<'q>, s: &'q NewSchedule) -> RowQuery<'q> {
    query
        .bind(s.id)
        .bind(&s.name)
        .bind(&s.recipe)
        .bind(&s.source_url)
        .bind(&s.source_key)
        .bind(&s.cron)
        .bind(s.every_secs)
        .bind(&s.timezone)
        .bind(&s.misfire)
        .bind(s.priority.as_str())
        .bind(&s.metadata)
        .bind(s.next_fire_at)
}

/// One schedule.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<ScheduleRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM schedules WHERE id = $1");
    Ok(sqlx::query_as::<_, ScheduleRow>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// Schedules, newest first, `limit` at a time, older than the schedule `before` if given.
pub async fn list(
    pool: &PgPool,
    limit: i64,
    before: Option<Uuid>,
) -> Result<Vec<ScheduleRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM schedules WHERE ($2::uuid IS NULL OR id < $2) \
         ORDER BY id DESC LIMIT $1"
    );
    Ok(sqlx::query_as::<_, ScheduleRow>(AssertSqlSafe(sql))
        .bind(limit)
        .bind(before)
        .fetch_all(pool)
        .await?)
}

/// Pauses a schedule (again harmless); `None` if there is none.
pub async fn pause(pool: &PgPool, id: Uuid) -> Result<Option<ScheduleRow>, DbError> {
    let sql = format!(
        "UPDATE schedules SET paused_at = COALESCE(paused_at, now()), updated_at = now() \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as::<_, ScheduleRow>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// Resumes a paused schedule at `next_fire_at` (ticks that passed while paused are not fired);
/// a running schedule is left as it is. `None` if there is none.
pub async fn resume(
    pool: &PgPool,
    id: Uuid,
    next_fire_at: Option<DateTime<Utc>>,
) -> Result<Option<ScheduleRow>, DbError> {
    let sql = format!(
        "UPDATE schedules SET \
           next_fire_at = CASE WHEN paused_at IS NULL THEN next_fire_at ELSE $2 END, \
           updated_at = CASE WHEN paused_at IS NULL THEN updated_at ELSE now() END, \
           paused_at = NULL \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as::<_, ScheduleRow>(AssertSqlSafe(sql))
        .bind(id)
        .bind(next_fire_at)
        .fetch_optional(pool)
        .await?)
}

/// Deletes a schedule and its run history (its jobs stay); false if there was none.
pub async fn delete(pool: &PgPool, id: Uuid) -> Result<bool, DbError> {
    Ok(sqlx::query("DELETE FROM schedules WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
        > 0)
}

/// Locks the most overdue active schedule whose tick is due at `now`; schedules another
/// scheduler holds are skipped, so each replica takes a different one.
pub async fn lock_due(
    tx: &mut Transaction<'_, Postgres>,
    now: DateTime<Utc>,
) -> Result<Option<ScheduleRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM schedules \
         WHERE paused_at IS NULL AND next_fire_at <= $1 \
         ORDER BY next_fire_at LIMIT 1 FOR UPDATE SKIP LOCKED"
    );
    Ok(sqlx::query_as::<_, ScheduleRow>(AssertSqlSafe(sql))
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
}

/// A tick as recorded.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    /// The schedule.
    pub schedule_id: Uuid,
    /// The tick.
    pub fire_at: DateTime<Utc>,
    /// The job made for it.
    pub job_id: Option<Uuid>,
    /// `fired`, `misfire_fired` or `misfire_skipped`.
    pub outcome: &'a str,
    /// For misfires, the last missed tick.
    pub missed_until: Option<DateTime<Utc>>,
}

/// Records a tick; false when it was recorded before (the tick is done, make nothing).
pub async fn record_run(
    tx: &mut Transaction<'_, Postgres>,
    run: &NewRun<'_>,
) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO schedule_runs (schedule_id, fire_at, job_id, outcome, missed_until) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (schedule_id, fire_at) DO NOTHING",
    )
    .bind(run.schedule_id)
    .bind(run.fire_at)
    .bind(run.job_id)
    .bind(run.outcome)
    .bind(run.missed_until)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Links the job made for a recorded tick.
pub async fn attach_job(
    tx: &mut Transaction<'_, Postgres>,
    schedule_id: Uuid,
    fire_at: DateTime<Utc>,
    job_id: Uuid,
) -> Result<(), DbError> {
    sqlx::query("UPDATE schedule_runs SET job_id = $3 WHERE schedule_id = $1 AND fire_at = $2")
        .bind(schedule_id)
        .bind(fire_at)
        .bind(job_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves a locked schedule on to its next tick, noting the tick just handled.
pub async fn advance(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    handled: DateTime<Utc>,
    next_fire_at: Option<DateTime<Utc>>,
) -> Result<(), DbError> {
    sqlx::query("UPDATE schedules SET next_fire_at = $3, last_fire_at = $2 WHERE id = $1")
        .bind(id)
        .bind(handled)
        .bind(next_fire_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One entry of a schedule's run history.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct RunRow {
    /// The tick.
    pub fire_at: DateTime<Utc>,
    /// `fired`, `misfire_fired` or `misfire_skipped`.
    pub outcome: String,
    /// The job made for it (none for a skipped misfire, or once the job was purged).
    pub job_id: Option<Uuid>,
    /// The job's current status.
    pub job_status: Option<String>,
    /// For misfires, the last missed tick the run stands for.
    pub missed_until: Option<DateTime<Utc>>,
    /// When the tick was handled.
    pub created_at: DateTime<Utc>,
}

/// A schedule's runs, most recent tick first, `limit` at a time, before the tick `before`.
pub async fn runs(
    pool: &PgPool,
    schedule_id: Uuid,
    limit: i64,
    before: Option<DateTime<Utc>>,
) -> Result<Vec<RunRow>, DbError> {
    Ok(sqlx::query_as::<_, RunRow>(
        "SELECT r.fire_at, r.outcome, r.job_id, j.status::text AS job_status, r.missed_until, \
           r.created_at \
         FROM schedule_runs r LEFT JOIN jobs j ON j.id = r.job_id \
         WHERE r.schedule_id = $1 AND ($3::timestamptz IS NULL OR r.fire_at < $3) \
         ORDER BY r.fire_at DESC LIMIT $2",
    )
    .bind(schedule_id)
    .bind(limit)
    .bind(before)
    .fetch_all(pool)
    .await?)
}
