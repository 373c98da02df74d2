//! Fire times with a fixed clock in Europe/Berlin, which springs forward on 2026-03-29 at 02:00
//! (to 03:00, 01:00 UTC) and falls back on 2026-10-25 at 03:00 (to 02:00, 01:00 UTC).

use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn berlin() -> Tz {
    timezone("Europe/Berlin").unwrap()
}

fn upcoming(timing: &Timing, after: &str, n: usize) -> Vec<String> {
    timing
        .upcoming(berlin(), utc(after), n)
        .into_iter()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .collect()
}

#[test]
fn a_daily_cron_time_in_the_skipped_hour_fires_once_at_the_end_of_the_gap() {
    for expression in ["30 2 * * *", "0 30 2 * * *"] {
        let timing = Timing::cron(expression).unwrap();
        assert_eq!(
            upcoming(&timing, "2026-03-28T12:00:00Z", 3),
            [
                // 02:30 does not exist on the 29th: 03:00 CEST, the first instant after the gap.
                "2026-03-29T01:00:00Z",
                "2026-03-30T00:30:00Z",
                "2026-03-31T00:30:00Z",
            ],
            "{expression}"
        );
    }
}

#[test]
fn every_match_inside_the_skipped_hour_is_one_fire() {
    let timing = Timing::cron("*/15 * * * *").unwrap();
    // 01:45 CET, then 02:00/02:15/02:30/02:45 (skipped) and 03:00 CEST are all 01:00 UTC: once.
    assert_eq!(
        upcoming(&timing, "2026-03-29T00:40:00Z", 3),
        [
            "2026-03-29T00:45:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T01:15:00Z"
        ]
    );
    // Per second, straight through the gap: one fire at the transition, none lost after it.
    let seconds = Timing::cron("* * * * * *").unwrap();
    assert_eq!(
        upcoming(&seconds, "2026-03-29T00:59:58Z", 4),
        [
            "2026-03-29T00:59:59Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T01:00:01Z",
            "2026-03-29T01:00:02Z"
        ]
    );
}

#[test]
fn a_daily_cron_time_in_the_repeated_hour_fires_once_at_its_first_occurrence() {
    let timing = Timing::cron("30 2 * * *").unwrap();
    assert_eq!(
        upcoming(&timing, "2026-10-24T12:00:00Z", 3),
        [
            // 02:30 CEST; 02:30 CET (01:30 UTC) does not fire again.
            "2026-10-25T00:30:00Z",
            "2026-10-26T01:30:00Z",
            "2026-10-27T01:30:00Z",
        ]
    );
}

#[test]
fn an_hourly_cron_fires_the_repeated_hour_once() {
    let timing = Timing::cron("0 * * * *").unwrap();
    assert_eq!(
        upcoming(&timing, "2026-10-24T22:30:00Z", 4),
        [
            "2026-10-24T23:00:00Z", // 01:00 CEST
            "2026-10-25T00:00:00Z", // 02:00 CEST
            // 02:00 CET (01:00 UTC) is the same wall time again: not fired.
            "2026-10-25T02:00:00Z", // 03:00 CET
            "2026-10-25T03:00:00Z",
        ]
    );
}

#[test]
fn a_search_from_inside_the_second_pass_of_the_repeated_hour_fires_nothing_twice() {
    let timing = Timing::cron("*/15 * * * *").unwrap();
    // 02:30 CET, the second pass: 02:45 fired at 00:45 UTC already, next is 03:00 CET.
    assert_eq!(
        upcoming(&timing, "2026-10-25T01:30:00Z", 2),
        ["2026-10-25T02:00:00Z", "2026-10-25T02:15:00Z"]
    );
    // And from the last instant of the first pass the next fire is 03:00 CET as well.
    assert_eq!(
        upcoming(&timing, "2026-10-25T00:45:00Z", 1),
        ["2026-10-25T02:00:00Z"]
    );
}

#[test]
fn every_is_elapsed_time_and_neither_skips_nor_doubles_at_a_transition() {
    let timing = Timing::every("1h").unwrap();
    // Spring forward: 01:00 CET, 03:00 CEST, 04:00 CEST: one hour apart each, none lost.
    assert_eq!(
        upcoming(&timing, "2026-03-28T23:30:00Z", 3),
        [
            "2026-03-29T00:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T02:00:00Z"
        ]
    );
    // Fall back: 02:00 CEST and 02:00 CET are an hour apart, so both fire (once each).
    assert_eq!(
        upcoming(&timing, "2026-10-24T23:30:00Z", 3),
        [
            "2026-10-25T00:00:00Z",
            "2026-10-25T01:00:00Z",
            "2026-10-25T02:00:00Z"
        ]
    );
    // The zone does not move elapsed-time ticks at all.
    let after = utc("2026-10-24T23:30:00Z");
    assert_eq!(
        timing.upcoming(berlin(), after, 5),
        timing.upcoming(Tz::UTC, after, 5)
    );
    let seconds = Timing::every("10s").unwrap();
    assert_eq!(
        upcoming(&seconds, "2026-03-29T00:59:55Z", 2),
        ["2026-03-29T01:00:00Z", "2026-03-29T01:00:10Z"]
    );
}

#[test]
fn timings_and_zones_are_validated_with_the_field_named() {
    for bad in [
        "* * * *",
        "* * * * * * *",
        "61 * * * *",
        "* 25 * * *",
        "nonsense x y z w",
    ] {
        let err = Timing::cron(bad).unwrap_err();
        assert_eq!(err.field, "cron", "{bad}");
    }
    for bad in ["0s", "1500ms", "abc", "400d", ""] {
        let err = Timing::every(bad).unwrap_err();
        assert_eq!(err.field, "every", "{bad}");
    }
    assert!(matches!(Timing::every("1h 30m"), Ok(Timing::Every(d)) if d.as_secs() == 5400));
    assert_eq!(timezone("Mars/Olympus").unwrap_err().field, "timezone");
    assert_eq!(timezone("UTC").unwrap(), Tz::UTC);
    // The 30th of February never comes.
    let never = Timing::cron("0 0 30 2 *").unwrap();
    assert_eq!(never.next_after(Tz::UTC, utc("2026-01-01T00:00:00Z")), None);
}

#[test]
fn a_tick_within_the_grace_fires_and_moves_to_the_next_tick() {
    let timing = Timing::every("1h").unwrap();
    let due = utc("2026-06-01T10:00:00Z");
    let step = step(
        &timing,
        berlin(),
        Misfire::Skip,
        due,
        utc("2026-06-01T10:00:30Z"),
        Duration::from_secs(60),
    );
    assert_eq!(step.outcome, StepOutcome::Fired);
    assert_eq!(step.next_fire_at, Some(utc("2026-06-01T11:00:00Z")));
}

#[test]
fn missed_ticks_fire_once_or_not_at_all_after_downtime() {
    let timing = Timing::cron("0 * * * *").unwrap();
    let due = utc("2026-06-01T07:00:00Z");
    let now = utc("2026-06-01T10:20:00Z");
    let once = step(
        &timing,
        berlin(),
        Misfire::FireOnce,
        due,
        now,
        Duration::from_secs(60),
    );
    assert_eq!(
        once.outcome,
        StepOutcome::MisfireFired {
            missed_until: utc("2026-06-01T10:00:00Z")
        }
    );
    assert!(once.outcome.creates_job());
    assert_eq!(once.next_fire_at, Some(utc("2026-06-01T11:00:00Z")));
    let skip = step(
        &timing,
        berlin(),
        Misfire::Skip,
        due,
        now,
        Duration::from_secs(60),
    );
    assert_eq!(
        skip.outcome,
        StepOutcome::MisfireSkipped {
            missed_until: utc("2026-06-01T10:00:00Z")
        }
    );
    assert!(!skip.outcome.creates_job());
    assert_eq!(skip.next_fire_at, once.next_fire_at);

    // A tick still within the grace is not part of the misfire: it fires on its own next.
    let seconds = Timing::every("1s").unwrap();
    let now = utc("2026-06-01T10:00:30Z");
    let late = step(
        &seconds,
        Tz::UTC,
        Misfire::Skip,
        utc("2026-06-01T09:00:00Z"),
        now,
        Duration::from_secs(5),
    );
    assert_eq!(
        late.outcome.missed_until(),
        Some(utc("2026-06-01T10:00:24Z"))
    );
    assert_eq!(late.next_fire_at, Some(utc("2026-06-01T10:00:25Z")));
    let next = step(
        &seconds,
        Tz::UTC,
        Misfire::Skip,
        utc("2026-06-01T10:00:25Z"),
        now,
        Duration::from_secs(5),
    );
    assert_eq!(next.outcome, StepOutcome::Fired);
}
