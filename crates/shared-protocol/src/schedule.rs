//! When a schedule fires: its timing (a cron expression or an interval) read in an IANA time zone,
//! and what happens to ticks missed while no scheduler ran. Everything here is a pure function of
//! an explicit "now", so daylight-saving behaviour is specified by unit tests with a fixed clock.
//!
//! The rules:
//! - **cron** (5 fields, or 6 with seconds first) matches *wall-clock* times in the zone. A wall
//!   time the zone skips (spring forward) fires once, at the first instant after the gap; several
//!   skipped matches (every minute of the gap) are that same one instant, so they fire once. A wall
//!   time the zone repeats (fall back) fires once, at its first occurrence.
//! - **every** is elapsed time: ticks are whole multiples of the interval since the Unix epoch
//!   (so `5m` fires at :00, :05, … UTC). The zone does not move them: across a transition the gap
//!   between two ticks stays exactly the interval, none is skipped and none doubled. Use cron for
//!   "at this local time".
//! - **misfire**: a tick more than the grace period late was missed (the schedulers were down).
//!   `fire_once` fires one job for all missed ticks, `skip` fires none; ticks within the grace
//!   fire one by one either way.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, SubsecRound, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};

/// Shortest `every` interval.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
/// Longest `every` interval.
pub const MAX_EVERY: Duration = Duration::from_secs(366 * 24 * 3600);
/// Candidate wall times examined per search before giving up (a per-second cron crossing a
/// one-hour transition needs 3,600).
const MAX_CANDIDATES: usize = 20_000;

/// Why a timing was refused; `field` names the request field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TimingError {
    /// `cron`, `every`, `timezone` or `misfire`.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn error(field: &'static str, message: impl Into<String>) -> TimingError {
    TimingError {
        field,
        message: message.into(),
    }
}

/// What to do with ticks missed while no scheduler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Misfire {
    /// One job for all missed ticks, then the schedule goes on.
    #[default]
    FireOnce,
    /// No job for missed ticks.
    Skip,
}

impl Misfire {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FireOnce => "fire_once",
            Self::Skip => "skip",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::FireOnce, Self::Skip]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// How often a schedule fires.
#[derive(Debug, Clone)]
pub enum Timing {
    /// Wall-clock times matching a cron expression.
    Cron(Box<Cron>),
    /// Every so much elapsed time, aligned to the Unix epoch.
    Every(Duration),
}

impl Timing {
    /// Parses a cron expression of 5 fields, or 6 with a leading seconds field.
    pub fn cron(expression: &str) -> Result<Self, TimingError> {
        let fields = expression.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(error(
                "cron",
                format!(
                    "`{expression}` has {fields} fields; give 5 (minute hour day month weekday) \
                     or 6 (second first)"
                ),
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .map_err(|e| {
                error(
                    "cron",
                    format!("`{expression}` is not a cron expression: {e}"),
                )
            })?;
        Ok(Self::Cron(Box::new(cron)))
    }

    /// Parses an interval such as `10s`, `5m`, `1h 30m` (1 s to 366 days, whole seconds).
    pub fn every(text: &str) -> Result<Self, TimingError> {
        let interval = humantime::parse_duration(text.trim()).map_err(|e| {
            error(
                "every",
                format!("`{text}` is not an interval like `10s`, `5m` or `1h`: {e}"),
            )
        })?;
        if interval.subsec_nanos() != 0 || !(MIN_EVERY..=MAX_EVERY).contains(&interval) {
            return Err(error("every", "must be whole seconds between 1s and 366d"));
        }
        Ok(Self::Every(interval))
    }

    /// The first fire instant strictly after `after` in zone `tz`; `None` if there is none
    /// (a cron expression matching no date, like the 30th of February).
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Every(interval) => every_next(*interval, after),
            Self::Cron(cron) => cron_next(cron, tz, after),
        }
    }

    /// The next `n` fire instants after `after`.
    pub fn upcoming(&self, tz: Tz, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut times = Vec::with_capacity(n);
        let mut cursor = after;
        while times.len() < n {
            let Some(next) = self.next_after(tz, cursor) else {
                break;
            };
            times.push(next);
            cursor = next;
        }
        times
    }
}

/// Parses an IANA zone name (`Europe/Berlin`, `UTC`).
pub fn timezone(name: &str) -> Result<Tz, TimingError> {
    Tz::from_str(name).map_err(|_| {
        error(
            "timezone",
            format!("`{name}` is not an IANA time zone (like `Europe/Berlin` or `UTC`)"),
        )
    })
}

fn every_next(interval: Duration, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let step = i64::try_from(interval.as_millis()).ok()?.max(1);
    let at = after.timestamp_millis();
    let next = at.div_euclid(step).checked_add(1)?.checked_mul(step)?;
    DateTime::from_timestamp_millis(next)
}

/// A wall time dressed as UTC, so croner matches its fields with no zone rules in the way.
fn as_wall(naive: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&naive)
}

fn offset_secs(tz: Tz, at: DateTime<Utc>) -> i64 {
    i64::from(
        tz.offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

fn cron_next(cron: &Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // A wall time `w` fires at or before `w - o` for the offset o in force then, so no wall time
    // up to `after + smallest nearby offset` can fire after `after`: start the search there. In a
    // repeated hour this starts before the wall clock's current reading, which is what skips the
    // wall times that already fired in the hour's first pass.
    let day = TimeDelta::days(1);
    let smallest = [after - day, after, after + day]
        .into_iter()
        .map(|at| offset_secs(tz, at))
        .min()
        .unwrap_or(0);
    // Whole seconds: croner keeps a cursor's fraction in what it finds.
    let mut cursor = (as_wall(after.naive_utc()) + TimeDelta::seconds(smallest)).trunc_subsecs(0);
    for _ in 0..MAX_CANDIDATES {
        let wall = cron.find_next_occurrence(&cursor, false).ok()?;
        let fire = fire_instant(tz, wall.naive_utc())?;
        if fire > after {
            return Some(fire);
        }
        cursor = wall;
    }
    None
}

/// When wall time `wall` in `tz` fires: its instant; the first of two in a repeated hour; the end
/// of the gap for a skipped one.
pub fn fire_instant(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => gap_end(tz, wall),
    }
}

/// The first instant whose wall time is past `wall`, a time inside a gap: the transition itself.
/// Offsets lie within -12 h..+14 h, so the instant is in that window; bisect it to the second.
fn gap_end(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    let wall_secs = wall.and_utc().timestamp();
    let reached = |secs: i64| {
        DateTime::from_timestamp(secs, 0).is_some_and(|at| secs + offset_secs(tz, at) >= wall_secs)
    };
    let (mut lo, mut hi) = (wall_secs - 15 * 3600, wall_secs + 13 * 3600);
    if reached(lo) || !reached(hi) {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

/// The last tick before `limit`, at or after `due` (itself a tick): found by widening a window
/// back from `limit` until it holds a tick, then walking forward through it.
fn last_tick_before(
    timing: &Timing,
    tz: Tz,
    due: DateTime<Utc>,
    limit: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut span = TimeDelta::seconds(1);
    let mut last = due;
    loop {
        let start = limit - span;
        if start <= due {
            break;
        }
        if let Some(tick) = timing.next_after(tz, start).filter(|t| *t < limit) {
            last = tick;
            break;
        }
        span = span * 2;
    }
    for _ in 0..MAX_CANDIDATES {
        match timing.next_after(tz, last) {
            Some(t) if t < limit => last = t,
            _ => break,
        }
    }
    last
}

/// What one due tick of a schedule comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The tick this step is about (the schedule's `next_fire_at`).
    pub fire_at: DateTime<Utc>,
    /// What to do with it.
    pub outcome: StepOutcome,
    /// The schedule's next `next_fire_at`; `None` when it never fires again.
    pub next_fire_at: Option<DateTime<Utc>>,
}

/// What happens at a due tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// On time: one job.
    Fired,
    /// Late, `fire_once`: one job standing for every tick missed up to `missed_until`.
    MisfireFired {
        /// The last missed tick the job stands for.
        missed_until: DateTime<Utc>,
    },
    /// Late, `skip`: no job for the ticks missed up to `missed_until`.
    MisfireSkipped {
        /// The last missed tick.
        missed_until: DateTime<Utc>,
    },
}

impl StepOutcome {
    /// The stored form in `schedule_runs.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::MisfireFired { .. } => "misfire_fired",
            Self::MisfireSkipped { .. } => "misfire_skipped",
        }
    }

    /// Whether a job is made.
    pub fn creates_job(self) -> bool {
        !matches!(self, Self::MisfireSkipped { .. })
    }

    /// The last missed tick, for misfires.
    pub fn missed_until(self) -> Option<DateTime<Utc>> {
        match self {
            Self::Fired => None,
            Self::MisfireFired { missed_until } | Self::MisfireSkipped { missed_until } => {
                Some(missed_until)
            }
        }
    }
}

/// Decides the due tick `due` at `now`: on time (within `grace`) it fires and the schedule moves
/// to the following tick; late, the misfire policy covers every tick older than the grace at once
/// and the schedule moves to the first tick still within it (which then fires on its own).
pub fn step(
    timing: &Timing,
    tz: Tz,
    misfire: Misfire,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    grace: Duration,
) -> Step {
    let grace = TimeDelta::from_std(grace).unwrap_or(TimeDelta::MAX);
    let late_before = now
        .checked_sub_signed(grace)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    if due >= late_before {
        return Step {
            fire_at: due,
            outcome: StepOutcome::Fired,
            next_fire_at: timing.next_after(tz, due),
        };
    }
    let next_fire_at = timing.next_after(tz, late_before - TimeDelta::microseconds(1));
    let missed_until = last_tick_before(timing, tz, due, late_before);
    let outcome = match misfire {
        Misfire::FireOnce => StepOutcome::MisfireFired { missed_until },
        Misfire::Skip => StepOutcome::MisfireSkipped { missed_until },
    };
    Step {
        fire_at: due,
        outcome,
        next_fire_at,
    }
}

#[cfg(test)]
mod tests;
