//! Time math: weekly hours and dated exceptions, written in the consultant's local time,
//! become UTC windows; windows become bookable slots on the grid of the consultant's clock
//! (09:00 local is a slot start in Berlin, Kolkata (+05:30) and Kathmandu (+05:45) alike).
//!
//! Daylight saving is handled where local times meet the calendar: a local time that does
//! not exist (the hour skipped in spring) maps to the instant the clocks jump, so a window
//! loses the skipped hour; an ambiguous one (the hour repeated in autumn) opens a window at
//! its first occurrence and closes one at its second, so the window gains the hour.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, Offset, SecondsFormat, TimeZone, Utc,
};
use chrono_tz::Tz;

/// Minutes in a day; a window may end at 24:00.
pub const DAY_MINUTES: u32 = 24 * 60;

/// Weekly hours: `weekday` 0 = Monday … 6 = Sunday, minutes after local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekly {
    pub weekday: u32,
    pub start: u32,
    pub end: u32,
}

/// A change to one local date: `available = false` without times is a day off, with times
/// hours off; `available = true` adds hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exception {
    pub day: NaiveDate,
    pub range: Option<(u32, u32)>,
    pub available: bool,
}

/// A half-open UTC interval in unix seconds.
pub type Window = (i64, i64);

/// Which end of a window a local time stands for (decides ambiguous local times).
#[derive(Debug, Clone, Copy)]
enum Edge {
    Start,
    End,
}

/// The local (start, end) minute ranges a consultant works on `day`, sorted and merged.
/// Hours off and days off win over weekly and extra hours.
pub fn day_ranges(weekly: &[Weekly], exceptions: &[Exception], day: NaiveDate) -> Vec<(u32, u32)> {
    let todays: Vec<&Exception> = exceptions.iter().filter(|e| e.day == day).collect();
    if todays.iter().any(|e| !e.available && e.range.is_none()) {
        return Vec::new();
    }
    let weekday = day.weekday().num_days_from_monday();
    let open = weekly
        .iter()
        .filter(|w| w.weekday == weekday)
        .map(|w| (w.start, w.end))
        .chain(
            todays
                .iter()
                .filter(|e| e.available)
                .filter_map(|e| e.range),
        );
    let mut ranges = merge(open.collect());
    for (off_start, off_end) in todays
        .iter()
        .filter(|e| !e.available)
        .filter_map(|e| e.range)
    {
        ranges = ranges
            .into_iter()
            .flat_map(|(s, e)| {
                let before = (s, e.min(off_start));
                let after = (s.max(off_end), e);
                [before, after]
            })
            .filter(|(s, e)| s < e)
            .collect();
    }
    ranges
}

/// Sorts intervals and joins the ones that overlap or touch.
fn merge<T: Ord + Copy>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    ranges.sort();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The instant local `minute` of `day` in `tz` stands for (see the module doc for DST).
/// `None` only for dates chrono cannot represent.
fn instant(tz: Tz, day: NaiveDate, minute: u32, edge: Edge) -> Option<i64> {
    let mut local = day.and_hms_opt(0, 0, 0)? + Duration::minutes(i64::from(minute));
    // A gap is at most a few hours (a day when a zone changed sides of the date line).
    for _ in 0..=DAY_MINUTES {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return Some(t.timestamp()),
            LocalResult::Ambiguous(first, second) => {
                return Some(match edge {
                    Edge::Start => first.timestamp(),
                    Edge::End => second.timestamp(),
                })
            }
            // Skipped by the clocks: the first local time after the gap is the same instant.
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    None
}

/// The UTC windows the consultant works between local dates `from` and `to` (inclusive),
/// sorted and merged (so hours running over midnight form one window).
pub fn windows(
    tz: Tz,
    weekly: &[Weekly],
    exceptions: &[Exception],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Window> {
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        for (s, e) in day_ranges(weekly, exceptions, day) {
            if let (Some(s), Some(e)) = (
                instant(tz, day, s, Edge::Start),
                instant(tz, day, e, Edge::End),
            ) {
                if s < e {
                    out.push((s, e));
                }
            }
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    merge(out)
}

/// Start times (unix seconds) of free slots of `duration` seconds inside `windows`: on the
/// local grid of `grid` seconds in `tz` (see [`on_grid`]), starting after `not_before`, and
/// not touching a `taken` block (blocks are `block` seconds long, and slots start on one).
pub fn free_slots(
    windows: &[Window],
    duration: i64,
    tz: Tz,
    grid: i64,
    block: i64,
    taken: &BTreeSet<i64>,
    not_before: i64,
) -> Vec<i64> {
    let mut out = Vec::new();
    for &(start, end) in windows {
        // Step by blocks, not by the grid: where the offset changes inside a window
        // (daylight saving), the local grid moves against UTC.
        let mut t = align_up(start.max(not_before + 1), block);
        while t + duration <= end {
            if on_grid(t, tz, grid) && blocks(t, duration, block).all(|b| !taken.contains(&b)) {
                out.push(t);
            }
            t += block;
        }
    }
    out
}

/// True when instant `t` shows on the clock in `tz` as a multiple of `grid` seconds after
/// local midnight. Every allowed grid divides an hour, and so a day. Aligning to UTC instead
/// would move the slots of zones with half- or quarter-hour offsets off the hours the
/// consultant wrote (09:00 in Kolkata would not be bookable on a 60-minute grid).
pub fn on_grid(t: i64, tz: Tz, grid: i64) -> bool {
    let Some(utc) = DateTime::<Utc>::from_timestamp(t, 0) else {
        return false;
    };
    let offset = tz
        .offset_from_utc_datetime(&utc.naive_utc())
        .fix()
        .local_minus_utc();
    (t + i64::from(offset)).rem_euclid(grid) == 0
}

/// True when `[start, start + duration)` lies inside one window.
pub fn fits(windows: &[Window], start: i64, duration: i64) -> bool {
    windows
        .iter()
        .any(|&(s, e)| s <= start && start + duration <= e)
}

/// The block starts `[start, start + duration)` covers.
pub fn blocks(start: i64, duration: i64, block: i64) -> impl Iterator<Item = i64> {
    (0..duration / block).map(move |i| start + i * block)
}

/// The smallest multiple of `grid` not below `t`.
pub fn align_up(t: i64, grid: i64) -> i64 {
    t.div_euclid(grid) * grid + if t.rem_euclid(grid) == 0 { 0 } else { grid }
}

/// RFC 3339 in UTC (`2026-12-01T08:00:00Z`).
pub fn utc(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 3339 in the zone, with its offset (`2026-12-01T09:00:00+01:00`).
pub fn local(t: i64, tz: Tz) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The local date of instant `t` in `tz`.
pub fn local_date(t: i64, tz: Tz) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(t, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    fn every_day(start: u32, end: u32) -> Vec<Weekly> {
        (0..7)
            .map(|weekday| Weekly {
                weekday,
                start,
                end,
            })
            .collect()
    }

    #[test]
    fn winter_and_summer_offsets() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let hours = every_day(9 * 60, 10 * 60);
        let d = date("2026-12-01");
        assert_eq!(
            windows(tz, &hours, &[], d, d),
            vec![(at("2026-12-01T08:00:00Z"), at("2026-12-01T09:00:00Z"))]
        );
        let d = date("2026-07-01");
        assert_eq!(
            windows(tz, &hours, &[], d, d),
            vec![(at("2026-07-01T07:00:00Z"), at("2026-07-01T08:00:00Z"))]
        );
    }

    #[test]
    fn spring_gap_is_skipped() {
        // 2026-03-29: Berlin jumps from 02:00 to 03:00.
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let d = date("2026-03-29");
        let w = windows(tz, &every_day(60, 4 * 60), &[], d, d);
        // 01:00+01:00 .. 04:00+02:00 is two real hours.
        assert_eq!(
            w,
            vec![(at("2026-03-29T00:00:00Z"), at("2026-03-29T02:00:00Z"))]
        );
        // A window inside the gap vanishes.
        let w = windows(tz, &every_day(2 * 60 + 15, 2 * 60 + 45), &[], d, d);
        assert!(w.is_empty());
    }

    #[test]
    fn autumn_hour_counts_twice() {
        // 2026-10-25: Berlin goes back from 03:00 to 02:00.
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let d = date("2026-10-25");
        let w = windows(tz, &every_day(60, 4 * 60), &[], d, d);
        assert_eq!(
            w,
            vec![(at("2026-10-24T23:00:00Z"), at("2026-10-25T03:00:00Z"))]
        );
    }

    #[test]
    fn exceptions_add_and_remove_hours() {
        let hours = every_day(9 * 60, 17 * 60);
        let d = date("2026-12-24");
        let off = Exception {
            day: d,
            range: None,
            available: false,
        };
        assert!(day_ranges(&hours, &[off], d).is_empty());
        let lunch = Exception {
            day: d,
            range: Some((12 * 60, 13 * 60)),
            available: false,
        };
        let evening = Exception {
            day: d,
            range: Some((18 * 60, 20 * 60)),
            available: true,
        };
        assert_eq!(
            day_ranges(&hours, &[lunch, evening], d),
            vec![(540, 720), (780, 1020), (1080, 1200)]
        );
        // Other days are untouched.
        assert_eq!(
            day_ranges(&hours, &[off], date("2026-12-23")),
            vec![(540, 1020)]
        );
    }

    #[test]
    fn midnight_windows_join() {
        let tz: Tz = "UTC".parse().unwrap();
        let hours = every_day(22 * 60, DAY_MINUTES)
            .into_iter()
            .chain(every_day(0, 60))
            .collect::<Vec<_>>();
        let w = windows(tz, &hours, &[], date("2026-12-01"), date("2026-12-02"));
        assert_eq!(
            w,
            vec![
                (at("2026-12-01T00:00:00Z"), at("2026-12-01T01:00:00Z")),
                (at("2026-12-01T22:00:00Z"), at("2026-12-02T01:00:00Z")),
                (at("2026-12-02T22:00:00Z"), at("2026-12-03T00:00:00Z")),
            ]
        );
        assert!(fits(&w, at("2026-12-01T23:30:00Z"), 3600));
    }

    #[test]
    fn slots_respect_grid_taken_blocks_and_the_past() {
        let w = vec![(at("2026-12-01T08:00:00Z"), at("2026-12-01T10:00:00Z"))];
        let taken: BTreeSet<i64> = [at("2026-12-01T08:45:00Z")].into();
        let slots = free_slots(
            &w,
            1800,
            chrono_tz::UTC,
            900,
            300,
            &taken,
            at("2026-12-01T08:10:00Z"),
        );
        let expected: Vec<i64> = ["08:15", "09:00", "09:15", "09:30"]
            .iter()
            .map(|t| at(&format!("2026-12-01T{t}:00Z")))
            .collect();
        // 08:30 and 08:45 would cover the taken 08:45 block; 08:00 is past.
        assert_eq!(slots, expected);
    }

    #[test]
    fn the_grid_follows_the_local_clock() {
        // 09:00-11:00 local, one-hour slots on an hour grid.
        for (zone, expected) in [
            (
                "Asia/Kolkata",
                ["2026-12-01T03:30:00Z", "2026-12-01T04:30:00Z"],
            ),
            (
                "Asia/Kathmandu",
                ["2026-12-01T03:15:00Z", "2026-12-01T04:15:00Z"],
            ),
            (
                "Europe/Berlin",
                ["2026-12-01T08:00:00Z", "2026-12-01T09:00:00Z"],
            ),
        ] {
            let tz: Tz = zone.parse().unwrap();
            let d = date("2026-12-01");
            let w = windows(tz, &every_day(9 * 60, 11 * 60), &[], d, d);
            let slots = free_slots(&w, 3600, tz, 3600, 300, &BTreeSet::new(), 0);
            let expected: Vec<i64> = expected.iter().map(|t| at(t)).collect();
            assert_eq!(slots, expected, "{zone}");
        }
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert!(on_grid(at("2026-12-01T09:00:00+05:30"), kolkata, 1800));
        assert!(on_grid(at("2026-12-01T09:30:00+05:30"), kolkata, 1800));
        assert!(!on_grid(at("2026-12-01T09:00:00Z"), kolkata, 3600));
        // Across a daylight-saving change the grid stays on the local hour.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert!(on_grid(at("2026-03-29T01:00:00Z"), berlin, 3600));
        assert!(on_grid(at("2026-03-28T23:00:00Z"), berlin, 3600));
    }

    #[test]
    fn align() {
        assert_eq!(align_up(0, 900), 0);
        assert_eq!(align_up(1, 900), 900);
        assert_eq!(align_up(-1, 900), 0);
    }
}
