//! A listener's own preferences and statistics (`/preferences`, `/progress/stats`).

use actix_web::{web, HttpResponse};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::store::{self, LastPlayed, Preferences, RetreatProgress, Stats, Totals};
use super::{input, now};
use crate::db::{self, DbPool};
use crate::resource::{ApiError, Caller};

/// What `content_language` may be: English, or English with Portuguese (bilingual).
pub const CONTENT_LANGUAGES: &[&str] = &["en", "en-pt"];

/// Preferences before a listener saved any.
fn defaults(subject: &str) -> Preferences {
    Preferences {
        subject: subject.to_string(),
        app_language: "en".into(),
        content_language: "en".into(),
        // Off until the person turns them on.
        notifications: false,
        time_zone: "UTC".into(),
        updated_at: 0,
    }
}

/// The preferences as the API answers them; `updated_at` is null before any save.
#[derive(Debug, Serialize)]
struct PreferencesView {
    #[serde(flatten)]
    preferences: Preferences,
    updated_at: Option<i64>,
}

impl PreferencesView {
    fn new(p: Preferences, saved: bool) -> PreferencesView {
        let updated_at = saved.then_some(p.updated_at);
        PreferencesView {
            preferences: p,
            updated_at,
        }
    }
}

/// GET /preferences
#[tracing::instrument(skip_all)]
pub async fn get_preferences(
    caller: Caller,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, ApiError> {
    caller.require_person_scope("content:read")?;
    let subject = caller.subject.clone();
    let saved = db::run(&pool, move |conn| {
        Ok(store::find_preferences(conn, &subject)?)
    })
    .await?;
    let view = match saved {
        Some(p) => PreferencesView::new(p, true),
        None => PreferencesView::new(defaults(&caller.subject), false),
    };
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencesForm {
    app_language: String,
    content_language: String,
    notifications: bool,
    time_zone: Option<String>,
}

/// An IANA time-zone name, or 400.
fn zone(name: &str) -> Result<chrono_tz::Tz, ApiError> {
    name.parse::<chrono_tz::Tz>().map_err(|_| {
        ApiError::InvalidRequest(
            "time_zone must be a name of the time-zone database, such as Europe/Lisbon".into(),
        )
    })
}

/// PUT /preferences: replaces the caller's preferences (`time_zone` defaults to UTC).
#[tracing::instrument(skip_all)]
pub async fn save_preferences(
    caller: Caller,
    pool: web::Data<DbPool>,
    form: web::Json<PreferencesForm>,
) -> Result<HttpResponse, ApiError> {
    caller.require_person_scope("content:write")?;
    let form = form.into_inner();
    if !CONTENT_LANGUAGES.contains(&form.content_language.as_str()) {
        return Err(ApiError::InvalidRequest(
            "content_language must be en or en-pt".into(),
        ));
    }
    let time_zone = form.time_zone.as_deref().unwrap_or("UTC");
    let prefs = Preferences {
        subject: caller.subject.clone(),
        app_language: input::language(&form.app_language)?,
        content_language: form.content_language,
        notifications: form.notifications,
        time_zone: zone(time_zone)?.name().to_string(),
        updated_at: now(),
    };
    let row = prefs.clone();
    db::run_write(&pool, move |conn| Ok(store::save_preferences(conn, &row)?)).await?;
    Ok(HttpResponse::Ok().json(PreferencesView::new(prefs, true)))
}

/// Days since 1970-01-01 of the instant `at` in the zone `tz` (UTC for a name no longer
/// known).
pub fn day_number(at: i64, tz: &str) -> i64 {
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
    let local = Utc
        .timestamp_opt(at, 0)
        .single()
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive();
    (local - epoch).num_days()
}

/// Notes the day of a saved progress in the listener's zone (for the streak).
pub fn note_listening(
    conn: &mut crate::db::DbConn,
    subject: &str,
    at: i64,
) -> diesel::QueryResult<()> {
    let tz = store::time_zone(conn, subject)?;
    store::note_listening_day(conn, subject, day_number(at, &tz))
}

#[derive(Debug, Serialize)]
struct Streak {
    /// Consecutive days up to today or yesterday (0 when the last listening day is older).
    current_days: i64,
    longest_days: i64,
    /// Days with any listening, in all.
    listening_days: i64,
}

#[derive(Debug, Serialize)]
struct RetreatView {
    #[serde(flatten)]
    progress: RetreatProgress,
    /// Completed tracks out of the retreat's tracks, 0–100.
    percent_complete: i64,
}

#[derive(Debug, Serialize)]
struct StatsView {
    minutes_listened: i64,
    #[serde(flatten)]
    totals: Totals,
    streak: Streak,
    last_played: Option<LastPlayed>,
    retreats: Vec<RetreatView>,
}

impl StatsView {
    fn new(s: Stats, today: i64) -> StatsView {
        let current = if s.runs.latest_day >= today - 1 {
            s.runs.latest_length
        } else {
            0
        };
        StatsView {
            minutes_listened: s.totals.seconds_listened / 60,
            totals: s.totals,
            streak: Streak {
                current_days: current,
                longest_days: s.runs.longest,
                listening_days: s.runs.days,
            },
            last_played: s.last_played,
            retreats: s
                .retreats
                .into_iter()
                .map(|r| RetreatView {
                    percent_complete: (r.tracks_completed * 100)
                        .checked_div(r.tracks)
                        .unwrap_or(0)
                        .min(100),
                    progress: r,
                })
                .collect(),
        }
    }
}

/// GET /progress/stats: minutes listened, tracks started and completed, the streak of days,
/// the last track played and progress per retreat (the 100 most recently played).
#[tracing::instrument(skip_all)]
pub async fn stats(caller: Caller, pool: web::Data<DbPool>) -> Result<HttpResponse, ApiError> {
    caller.require_person_scope("content:read")?;
    let subject = caller.subject.clone();
    let (stats, tz) = db::run(&pool, move |conn| {
        Ok((
            store::stats(conn, &subject)?,
            store::time_zone(conn, &subject)?,
        ))
    })
    .await?;
    let today = day_number(now(), &tz);
    Ok(HttpResponse::Ok().json(StatsView::new(stats, today)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_in_the_listeners_zone() {
        // 2026-12-01T23:30:00Z: still the 1st in Lisbon (UTC+0 in winter), already the 2nd
        // in Tokyo.
        let at = 1_796_167_800;
        assert_eq!(day_number(at, "UTC"), 20_788);
        assert_eq!(day_number(at, "Europe/Lisbon"), 20_788);
        assert_eq!(day_number(at, "Asia/Tokyo"), 20_789);
        assert_eq!(day_number(at, "Not/AZone"), 20_788);
    }
}
