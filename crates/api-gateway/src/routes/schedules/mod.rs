//! `/v1/schedules`: recipes fired as jobs on a cron expression or an interval, in an IANA zone.
//! The gateway validates and stores them and shows their next fire times; the scheduler fires
//! them (see crates/scheduler/src/schedules.rs and shared-protocol's `schedule` for the rules).
//!
//! - [`input`]: request bodies and their validation into a stored schedule.
//! - [`view`]: the schedule and run resources as clients see them.
//! - [`crud`]: create, list, get, update, delete.
//! - [`actions`]: pause, resume, and the run history.

pub mod actions;
pub mod crud;
pub mod input;
pub mod view;

use tintype_db::schedules::ScheduleRow;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The schedule at `raw`, or 404 (an id that is no UUID names no schedule either).
pub(crate) async fn require(state: &AppState, raw: &str) -> Result<ScheduleRow, ApiError> {
    let id = parse_id(raw)?;
    tintype_db::schedules::get(&state.pool, id)
        .await?
        .ok_or_else(|| not_found(raw))
}

pub(crate) fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| not_found(raw))
}

pub(crate) fn not_found(raw: &str) -> ApiError {
    ApiError::NotFound(format!("no schedule `{raw}`"))
}
