//! Working hours: weekly hours and dated exceptions (forms and JSON), and the free slots
//! they leave once appointments are taken out.

mod free;

use super::slots::{self, Exception, Weekly, Window, DAY_MINUTES};
use super::store::hours::{Availability, ExceptionRow};
use super::store::{self, Consultant, Service};
use super::{Config, BLOCK_SECONDS};
use crate::db::DbConn;
use crate::resource::{ApiError, Pagination};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use chrono_tz::Tz;
pub use free::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// Most weekly windows a consultant may have.
const MAX_WINDOWS: usize = 50;

/// Most exceptions a consultant may keep.
pub const MAX_EXCEPTIONS: i64 = 1000;

/// Longest date range one slot query may cover, in days.
pub const MAX_RANGE_DAYS: i64 = 31;

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `0`..`6` (Monday first) or a name (`mon`, `Monday`).
fn weekday(value: &Value) -> Result<u32, ApiError> {
    let bad = || {
        ApiError::InvalidRequest(
            "weekday must be 0 (Monday) to 6 (Sunday) or a name like \"mon\"".into(),
        )
    };
    match value {
        // `3.0` is the integer 3 for JSON Schema too.
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && (0.0..7.0).contains(f))
                    .map(|f| f as u64)
            })
            .filter(|n| *n < 7)
            .map(|n| n as u32)
            .ok_or_else(bad),
        Value::String(s) if s.len() <= 10 => s
            .parse::<Weekday>()
            .map(|d| d.num_days_from_monday())
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// `HH:MM` as minutes after midnight; `24:00` only where `end_of_day` is allowed.
pub fn clock(field: &str, value: &str, end_of_day: bool) -> Result<u32, ApiError> {
    let bad = || ApiError::InvalidRequest(format!("{field} must be a time like 09:30"));
    let (h, m) = value.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    let minute = h * 60 + m;
    if m >= 60 || minute > DAY_MINUTES || (minute == DAY_MINUTES && !end_of_day) {
        return Err(bad());
    }
    Ok(minute)
}

fn clock_text(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// A range of local times; the end must follow the start.
fn range(start: &str, end: &str) -> Result<(u32, u32), ApiError> {
    let s = clock("start", start, false)?;
    let e = clock("end", end, true)?;
    if s >= e {
        return Err(ApiError::InvalidRequest(format!(
            "end ({end}) must be after start ({start}); split hours that run past midnight"
        )));
    }
    Ok((s, e))
}

/// A calendar date `YYYY-MM-DD` in a sane range.
pub fn date(field: &str, value: &str) -> Result<NaiveDate, ApiError> {
    let bad = || ApiError::InvalidRequest(format!("{field} must be a date like 2026-12-24"));
    if value.len() != 10 {
        return Err(bad());
    }
    let d = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad())?;
    if !(2000..=2199).contains(&d.year()) {
        return Err(ApiError::InvalidRequest(format!(
            "{field} must be between the years 2000 and 2199"
        )));
    }
    Ok(d)
}

/// One weekly window of `PUT /consultants/me/availability`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowForm {
    pub weekday: Value,
    pub start: String,
    pub end: String,
}

/// Checks a week of hours: windows of one day must not overlap.
pub fn parse_week(
    consultant_id: &str,
    forms: Vec<WindowForm>,
) -> Result<Vec<Availability>, ApiError> {
    if forms.len() > MAX_WINDOWS {
        return Err(ApiError::InvalidRequest(format!(
            "at most {MAX_WINDOWS} windows"
        )));
    }
    let mut week = Vec::with_capacity(forms.len());
    for f in forms {
        let day = weekday(&f.weekday)?;
        let (start, end) = range(&f.start, &f.end)?;
        week.push(Weekly {
            weekday: day,
            start,
            end,
        });
    }
    week.sort_by_key(|w| (w.weekday, w.start));
    if let Some(pair) = week
        .windows(2)
        .find(|p| p[0].weekday == p[1].weekday && p[1].start < p[0].end)
    {
        return Err(ApiError::InvalidRequest(format!(
            "the windows on {} overlap",
            WEEKDAYS[pair[0].weekday as usize]
        )));
    }
    Ok(week
        .into_iter()
        .map(|w| Availability {
            consultant_id: consultant_id.to_string(),
            weekday: i64::from(w.weekday),
            start_minute: i64::from(w.start),
            end_minute: i64::from(w.end),
        })
        .collect())
}

#[derive(Debug, Serialize)]
pub struct WindowView {
    pub weekday: &'static str,
    pub start: String,
    pub end: String,
}

/// `GET /consultants/me/availability`: hours in the consultant's zone.
#[derive(Debug, Serialize)]
pub struct WeekView {
    pub time_zone: String,
    pub hours: Vec<WindowView>,
}

impl WeekView {
    pub fn new(time_zone: &str, rows: Vec<Availability>) -> WeekView {
        WeekView {
            time_zone: time_zone.to_string(),
            hours: rows
                .into_iter()
                .map(|r| WindowView {
                    weekday: WEEKDAYS[r.weekday.clamp(0, 6) as usize],
                    start: clock_text(r.start_minute),
                    end: clock_text(r.end_minute),
                })
                .collect(),
        }
    }
}

/// `POST /consultants/me/exceptions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionForm {
    pub date: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub available: bool,
}

impl ExceptionForm {
    pub fn parse(self, consultant_id: &str, now: i64) -> Result<ExceptionRow, ApiError> {
        let day = date("date", &self.date)?;
        let times = match (self.start.as_deref(), self.end.as_deref()) {
            (None, None) => None,
            (Some(s), Some(e)) => Some(range(s, e)?),
            _ => {
                return Err(ApiError::InvalidRequest(
                    "give both start and end, or neither (the whole day)".into(),
                ))
            }
        };
        if self.available && times.is_none() {
            return Err(ApiError::InvalidRequest(
                "extra hours (available: true) need start and end".into(),
            ));
        }
        Ok(ExceptionRow {
            id: crate::bookings::new_id(),
            consultant_id: consultant_id.to_string(),
            day: day.format("%Y-%m-%d").to_string(),
            start_minute: times.map(|t| i64::from(t.0)),
            end_minute: times.map(|t| i64::from(t.1)),
            available: self.available,
            created_at: now,
        })
    }
}

#[derive(Debug, Serialize)]
pub struct ExceptionView {
    pub id: String,
    pub date: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub available: bool,
}

impl From<ExceptionRow> for ExceptionView {
    fn from(r: ExceptionRow) -> ExceptionView {
        ExceptionView {
            id: r.id,
            date: r.day,
            start: r.start_minute.map(clock_text),
            end: r.end_minute.map(clock_text),
            available: r.available,
        }
    }
}

/// The consultant's zone (stored names were checked when saved).
pub fn zone(c: &Consultant) -> Result<Tz, ApiError> {
    c.time_zone
        .parse::<Tz>()
        .map_err(|_| ApiError::Internal(format!("stored time zone {} is unknown", c.time_zone)))
}

/// The UTC windows `c` works on local dates `from..=to`.
pub fn windows(
    conn: &mut DbConn,
    c: &Consultant,
    tz: Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Window>, ApiError> {
    let weekly: Vec<Weekly> = store::hours::weekly(conn, &c.id)?
        .into_iter()
        .map(|r| Weekly {
            weekday: r.weekday as u32,
            start: r.start_minute as u32,
            end: r.end_minute as u32,
        })
        .collect();
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let exceptions: Vec<Exception> =
        store::hours::exceptions_between(conn, &c.id, &day(from), &day(to))?
            .into_iter()
            .filter_map(|r| {
                Some(Exception {
                    day: NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").ok()?,
                    range: r
                        .start_minute
                        .zip(r.end_minute)
                        .map(|(s, e)| (s as u32, e as u32)),
                    available: r.available,
                })
            })
            .collect();
    Ok(slots::windows(tz, &weekly, &exceptions, from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks() {
        assert_eq!(clock("t", "09:30", false).unwrap(), 570);
        assert_eq!(clock("t", "24:00", true).unwrap(), 1440);
        for bad in [
            "24:00", "9:30", "09:60", "-1:00", "0930", "", "aa:bb", "24:01",
        ] {
            assert!(clock("t", bad, false).is_err(), "{bad}");
        }
        assert!(clock("t", "24:01", true).is_err());
    }

    #[test]
    fn weekdays() {
        assert_eq!(weekday(&Value::from(0)).unwrap(), 0);
        assert_eq!(weekday(&Value::from("sun")).unwrap(), 6);
        assert_eq!(weekday(&Value::from("Tuesday")).unwrap(), 1);
        assert!(weekday(&Value::from(7)).is_err());
        assert!(weekday(&Value::from(-1)).is_err());
        assert!(weekday(&Value::from("funday")).is_err());
        assert!(weekday(&Value::Null).is_err());
    }

    #[test]
    fn overlapping_windows_are_refused() {
        let w = |d: i64, s: &str, e: &str| WindowForm {
            weekday: Value::from(d),
            start: s.into(),
            end: e.into(),
        };
        assert!(parse_week("c", vec![w(0, "09:00", "12:00"), w(0, "11:00", "13:00")]).is_err());
        assert!(parse_week("c", vec![w(0, "09:00", "12:00"), w(0, "12:00", "13:00")]).is_ok());
        assert!(parse_week("c", vec![w(0, "12:00", "09:00")]).is_err());
    }

    #[test]
    fn dates() {
        assert!(date("d", "2026-12-24").is_ok());
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "26-12-24",
            "+2026-12-24",
            "1999-12-31",
            "x",
        ] {
            assert!(date("d", bad).is_err(), "{bad}");
        }
    }
}
