//! The schedule and its runs as clients see them.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tintype_db::schedules::{RunRow, ScheduleRow};
use uuid::Uuid;

/// How many upcoming fire times a schedule shows.
const UPCOMING: usize = 5;

/// The schedule resource.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    /// Schedule id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The recipe each job runs (preset expanded, defaults filled in).
    pub recipe: Value,
    /// `{"url": …}` or `{"object": …}`.
    pub source: Value,
    /// Cron expression, when the timing is one.
    pub cron: Option<String>,
    /// Interval, when the timing is one (e.g. `1h 30m`).
    pub every: Option<String>,
    /// IANA zone.
    pub timezone: String,
    /// `fire_once` or `skip`.
    #[schema(value_type = shared_protocol::schedule::Misfire)]
    pub misfire: String,
    /// Priority of the jobs.
    #[schema(value_type = shared_protocol::Priority)]
    pub priority: String,
    /// Merged into each job's metadata.
    pub metadata: Value,
    /// Whether it is paused.
    pub paused: bool,
    /// Paused since.
    pub paused_at: Option<DateTime<Utc>>,
    /// The next tick (null while paused, or when the timing never fires again).
    pub next_fire_at: Option<DateTime<Utc>>,
    /// The next five fire times (after a resume, for a paused schedule), to check the timing.
    pub next_fire_times: Vec<DateTime<Utc>>,
    /// The last tick handled.
    pub last_fire_at: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// `self` and `runs`.
    pub links: Value,
}

impl ScheduleView {
    /// Builds the view of a stored schedule as of `now`.
    pub fn new(row: ScheduleRow, now: DateTime<Utc>) -> Self {
        let paused = row.paused_at.is_some();
        let next_fire_at = if paused { None } else { row.next_fire_at };
        let next_fire_times = match row.timing() {
            Ok((timing, tz, _)) => {
                // Shown from the stored next tick, so the list starts with `next_fire_at`.
                let from = next_fire_at.map_or(now, |at| at - TimeDelta::microseconds(1));
                timing.upcoming(tz, from, UPCOMING)
            }
            Err(_) => Vec::new(),
        };
        let source = match (&row.source_url, &row.source_key) {
            (Some(url), _) => json!({"url": url}),
            (None, key) => json!({"object": key}),
        };
        let every = row
            .every_secs
            .and_then(|s| u64::try_from(s).ok())
            .map(|s| humantime::format_duration(Duration::from_secs(s)).to_string());
        let path = format!("/v1/schedules/{}", row.id);
        Self {
            id: row.id,
            name: row.name,
            recipe: row.recipe,
            source,
            cron: row.cron,
            every,
            timezone: row.timezone,
            misfire: row.misfire,
            priority: row.priority,
            metadata: row.metadata,
            paused,
            paused_at: row.paused_at,
            next_fire_at,
            next_fire_times,
            last_fire_at: row.last_fire_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            links: json!({"self": path, "runs": format!("{path}/runs")}),
        }
    }
}

/// One run of a schedule.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunView {
    /// The tick.
    pub fire_at: DateTime<Utc>,
    /// `fired`, `misfire_fired` (one job for missed ticks) or `misfire_skipped` (none).
    pub outcome: String,
    /// The job made for it.
    pub job_id: Option<Uuid>,
    /// That job's status now.
    #[schema(value_type = Option<shared_protocol::JobStatus>)]
    pub job_status: Option<String>,
    /// For misfires: the last missed tick the run stands for.
    pub missed_until: Option<DateTime<Utc>>,
    /// When the tick was handled.
    pub created_at: DateTime<Utc>,
}

impl From<RunRow> for RunView {
    fn from(row: RunRow) -> Self {
        Self {
            fire_at: row.fire_at,
            outcome: row.outcome,
            job_id: row.job_id,
            job_status: row.job_status,
            missed_until: row.missed_until,
            created_at: row.created_at,
        }
    }
}

/// A page of schedules.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SchedulePage {
    /// Newest first.
    pub items: Vec<ScheduleView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A page of a schedule's runs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunPage {
    /// The schedule.
    pub schedule_id: Uuid,
    /// Most recent tick first.
    pub items: Vec<RunView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}
