//! `GET /v1/stats`: throughput, outcomes and latency percentiles over a recent window, computed
//! from the jobs table (so the numbers cover every gateway and worker, and survive restarts).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tintype_db::stats::{Percentiles, ThroughputBucket};

use crate::error::ApiError;
use crate::state::AppState;

/// Shortest window.
const MIN_WINDOW_SECS: i64 = 60;
/// Longest window (30 days).
const MAX_WINDOW_SECS: i64 = 30 * 24 * 3600;
/// Bucket widths to choose from; the narrowest that keeps a chart readable wins.
const BUCKET_SECS: [i64; 6] = [60, 300, 900, 3600, 21_600, 86_400];
/// Most buckets in one answer.
const MAX_BUCKETS: i64 = 180;

/// Query of the stats.
#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    /// `15m`, `1h`, `24h`, `7d`, … (default `1h`).
    window: Option<String>,
}

/// Statistics over a window.
#[derive(Debug, Serialize)]
pub struct Stats {
    window_secs: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bucket_secs: i64,
    throughput: Vec<ThroughputBucket>,
    finished: BTreeMap<&'static str, i64>,
    success_rate: Option<f64>,
    queue_wait_ms: Percentiles,
    processing_ms: Percentiles,
    submitted: i64,
    by_status: BTreeMap<String, i64>,
}

/// Parses `90s`, `15m`, `1h`, `7d` into seconds, within the allowed range.
pub fn parse_window(raw: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "`window` must be a number with a unit s, m, h or d (e.g. `15m`, `24h`) from 1 minute \
             to 30 days, not `{raw}`"
        ))
    };
    let raw = raw.trim();
    let split = raw.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = (raw.get(..split).ok_or_else(bad)?, &raw[split..]);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    number
        .checked_mul(scale)
        .filter(|secs| (MIN_WINDOW_SECS..=MAX_WINDOW_SECS).contains(secs))
        .ok_or_else(bad)
}

/// The narrowest bucket that keeps the window within [`MAX_BUCKETS`].
pub fn bucket_for(window_secs: i64) -> i64 {
    BUCKET_SECS
        .into_iter()
        .find(|b| (window_secs + b - 1) / b <= MAX_BUCKETS)
        .unwrap_or(BUCKET_SECS[BUCKET_SECS.len() - 1])
}

/// Throughput, success rate, latency percentiles and counts by status.
#[utoipa::path(
    get,
    path = "/v1/stats",
    tag = "operations",
    summary = "Throughput, outcomes and latency",
    description = "Over the last `window`: jobs finished per bucket (one minute for windows up to \
        3 h, wider beyond), the success rate (succeeded / (succeeded + failed)), p50/p90/p99 of \
        queue wait (accepted → first start) and processing time (first start → final state), \
        and the jobs accepted in the window by their current status.",
    params(
        ("window" = Option<String>, Query, description = "`15m`, `1h` (default), `24h`, `7d`, …; 1 minute to 30 days", example = "1h"),
    ),
    responses(
        (status = 200, description = "The statistics", body = crate::openapi::StatsView),
        (status = 400, description = "A bad `window`", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CommonProblems,
    ),
)]
pub async fn stats(
    query: web::Query<StatsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let window_secs = query
        .window
        .as_deref()
        .map(parse_window)
        .transpose()?
        .unwrap_or(3600);
    let bucket_secs = bucket_for(window_secs);
    let to = Utc::now();
    let from = to - chrono::Duration::seconds(window_secs);
    let pool = &state.pool;
    let (throughput, queue_wait_ms, processing_ms, counts) = tokio::try_join!(
        tintype_db::stats::throughput(pool, from, to, bucket_secs),
        tintype_db::stats::queue_wait(pool, from),
        tintype_db::stats::processing(pool, from),
        tintype_db::stats::status_counts(pool, from),
    )?;
    let total = |pick: fn(&ThroughputBucket) -> i64| throughput.iter().map(pick).sum::<i64>();
    let finished = BTreeMap::from([
        ("succeeded", total(|b| b.succeeded)),
        ("failed", total(|b| b.failed)),
        ("cancelled", total(|b| b.cancelled)),
    ]);
    let decided = finished["succeeded"] + finished["failed"];
    let success_rate = (decided > 0).then(|| finished["succeeded"] as f64 / decided as f64);
    let by_status: BTreeMap<String, i64> = counts.into_iter().collect();
    Ok(HttpResponse::Ok().json(Stats {
        window_secs,
        from,
        to,
        bucket_secs,
        throughput,
        finished,
        success_rate,
        queue_wait_ms,
        processing_ms,
        submitted: by_status.values().sum(),
        by_status,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_with_units_and_bounds() {
        assert_eq!(parse_window("15m").unwrap(), 900);
        assert_eq!(parse_window("1h").unwrap(), 3600);
        assert_eq!(parse_window("7d").unwrap(), 604_800);
        assert_eq!(parse_window("60s").unwrap(), 60);
        for bad in [
            "",
            "h",
            "59s",
            "31d",
            "1y",
            "-1h",
            "1.5h",
            "99999999999999999d",
            "é",
        ] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn buckets_are_minutes_for_short_windows_and_wider_for_long_ones() {
        assert_eq!(bucket_for(3600), 60);
        assert_eq!(bucket_for(3 * 3600), 60);
        assert_eq!(bucket_for(24 * 3600), 900);
        assert_eq!(bucket_for(7 * 86_400), 3600);
        assert_eq!(bucket_for(30 * 86_400), 21_600);
    }
}
