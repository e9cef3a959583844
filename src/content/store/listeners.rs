//! A listener's preferences, the days they listened on, and their statistics, computed by
//! the database (aggregates and window functions) rather than by loading their rows.

use diesel::sql_types::{BigInt, Text};

use super::*;
use crate::db::schema::{
    content_downloads as cdl, content_listening_days as cd, content_preferences as cpf,
};

/// A listener's settings in the apps.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize)]
#[diesel(table_name = cpf)]
pub struct Preferences {
    #[serde(skip)]
    pub subject: String,
    pub app_language: String,
    /// `en` or `en-pt` (bilingual).
    pub content_language: String,
    pub notifications: bool,
    pub time_zone: String,
    /// Answered by the view (null before any save), not here.
    #[serde(skip)]
    pub updated_at: i64,
}

pub fn find_preferences(conn: &mut DbConn, subject: &str) -> QueryResult<Option<Preferences>> {
    cpf::table
        .find(subject)
        .select(Preferences::as_select())
        .first(conn)
        .optional()
}

/// Saves a listener's preferences (insert or replace).
pub fn save_preferences(conn: &mut DbConn, p: &Preferences) -> QueryResult<()> {
    let update = |conn: &mut DbConn| {
        diesel::update(cpf::table.find(&p.subject))
            .set(p)
            .execute(conn)
    };
    if update(conn)? > 0 {
        return Ok(());
    }
    match diesel::insert_into(cpf::table).values(p).execute(conn) {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => update(conn).map(drop),
        Err(e) => Err(e),
    }
}

/// The listener's time zone name (`UTC` before they chose one).
pub fn time_zone(conn: &mut DbConn, subject: &str) -> QueryResult<String> {
    Ok(cpf::table
        .find(subject)
        .select(cpf::time_zone)
        .first(conn)
        .optional()?
        .unwrap_or_else(|| "UTC".to_string()))
}

/// Notes that the listener listened on `day` (days since 1970-01-01 in their zone).
pub fn note_listening_day(conn: &mut DbConn, subject: &str, day: i64) -> QueryResult<()> {
    let seen: i64 = cd::table
        .filter(cd::subject.eq(subject).and(cd::day.eq(day)))
        .count()
        .get_result(conn)?;
    if seen > 0 {
        return Ok(());
    }
    match diesel::insert_into(cd::table)
        .values((cd::subject.eq(subject), cd::day.eq(day)))
        .execute(conn)
    {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Totals over a listener's progress rows.
#[derive(Debug, Clone, QueryableByName, Serialize)]
pub struct Totals {
    /// Seconds listened: a completed track counts whole, another up to where they stopped.
    #[diesel(sql_type = BigInt)]
    pub seconds_listened: i64,
    #[diesel(sql_type = BigInt)]
    pub tracks_started: i64,
    #[diesel(sql_type = BigInt)]
    pub tracks_completed: i64,
}

/// Progress in one retreat.
#[derive(Debug, Clone, QueryableByName, Serialize)]
pub struct RetreatProgress {
    #[diesel(sql_type = Text)]
    pub retreat_id: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = BigInt)]
    pub tracks: i64,
    #[diesel(sql_type = BigInt)]
    pub tracks_started: i64,
    #[diesel(sql_type = BigInt)]
    pub tracks_completed: i64,
    #[diesel(sql_type = BigInt)]
    pub last_played_at: i64,
}

/// The last track played.
#[derive(Debug, Clone, QueryableByName, Serialize)]
pub struct LastPlayed {
    #[diesel(sql_type = Text)]
    pub track_id: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub retreat_id: String,
    #[diesel(sql_type = BigInt)]
    pub position_seconds: i64,
    #[diesel(sql_type = BigInt)]
    pub duration_seconds: i64,
    #[diesel(sql_type = BigInt)]
    pub updated_at: i64,
}

/// Runs of consecutive listening days.
#[derive(Debug, Clone, QueryableByName)]
pub struct Runs {
    #[diesel(sql_type = BigInt)]
    pub days: i64,
    #[diesel(sql_type = BigInt)]
    pub longest: i64,
    /// The most recent run: its length and last day (-1 without any day).
    #[diesel(sql_type = BigInt)]
    pub latest_length: i64,
    #[diesel(sql_type = BigInt)]
    pub latest_day: i64,
}

/// Everything of the statistics page.
#[derive(Debug, Clone)]
pub struct Stats {
    pub totals: Totals,
    pub retreats: Vec<RetreatProgress>,
    pub last_played: Option<LastPlayed>,
    pub runs: Runs,
}

/// Most retreats listed in the statistics (the most recently played).
pub const MAX_STATS_RETREATS: i64 = 100;

const TOTALS: &str = "SELECT \
    CAST(COALESCE(SUM(CASE WHEN p.completed THEN t.duration_seconds \
      ELSE p.position_seconds END), 0) AS BIGINT) AS seconds_listened, \
    CAST(COUNT(*) AS BIGINT) AS tracks_started, \
    CAST(COALESCE(SUM(CASE WHEN p.completed THEN 1 ELSE 0 END), 0) AS BIGINT) AS tracks_completed \
    FROM content_progress p JOIN content_tracks t ON t.id = p.track_id \
    WHERE p.subject = $1";

const RETREATS: &str = "SELECT r.id AS retreat_id, r.title, \
    (SELECT CAST(COUNT(*) AS BIGINT) FROM content_tracks t2 \
      JOIN content_sessions s2 ON s2.id = t2.session_id WHERE s2.retreat_id = r.id) AS tracks, \
    CAST(COUNT(*) AS BIGINT) AS tracks_started, \
    CAST(SUM(CASE WHEN p.completed THEN 1 ELSE 0 END) AS BIGINT) AS tracks_completed, \
    CAST(MAX(p.updated_at) AS BIGINT) AS last_played_at \
    FROM content_progress p JOIN content_tracks t ON t.id = p.track_id \
    JOIN content_sessions s ON s.id = t.session_id \
    JOIN content_retreats r ON r.id = s.retreat_id \
    WHERE p.subject = $1 GROUP BY r.id, r.title \
    ORDER BY last_played_at DESC, r.id LIMIT $2";

const LAST_PLAYED: &str = "SELECT t.id AS track_id, t.title, s.retreat_id, p.position_seconds, \
    t.duration_seconds, p.updated_at \
    FROM content_progress p JOIN content_tracks t ON t.id = p.track_id \
    JOIN content_sessions s ON s.id = t.session_id \
    WHERE p.subject = $1 ORDER BY p.updated_at DESC, t.id LIMIT 1";

// Gaps and islands: consecutive days share `day - row_number()`.
const RUNS: &str = "WITH g AS (SELECT day, day - ROW_NUMBER() OVER (ORDER BY day) AS run \
      FROM content_listening_days WHERE subject = $1), \
    i AS (SELECT CAST(COUNT(*) AS BIGINT) AS n, MAX(day) AS last_day FROM g GROUP BY run) \
    SELECT (SELECT CAST(COUNT(*) AS BIGINT) FROM g) AS days, \
      CAST(COALESCE((SELECT MAX(n) FROM i), 0) AS BIGINT) AS longest, \
      CAST(COALESCE((SELECT n FROM i ORDER BY last_day DESC LIMIT 1), 0) AS BIGINT) AS latest_length, \
      CAST(COALESCE((SELECT MAX(last_day) FROM i), -1) AS BIGINT) AS latest_day";

/// Runs the same SQL on either backend. SQLite numbers `$1`, `$2` by first appearance,
/// which is their order in every query here.
macro_rules! on_either {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            DbConn::Sqlite($c) => $body,
            DbConn::Pg($c) => $body,
        }
    };
}

/// A listener's statistics.
pub fn stats(conn: &mut DbConn, subject: &str) -> QueryResult<Stats> {
    let subject = subject.to_string();
    on_either!(conn, |c| {
        let totals: Totals = diesel::sql_query(TOTALS)
            .bind::<Text, _>(&subject)
            .get_result(c)?;
        let retreats: Vec<RetreatProgress> = diesel::sql_query(RETREATS)
            .bind::<Text, _>(&subject)
            .bind::<BigInt, _>(MAX_STATS_RETREATS)
            .load(c)?;
        let last_played: Option<LastPlayed> = diesel::sql_query(LAST_PLAYED)
            .bind::<Text, _>(&subject)
            .get_result(c)
            .optional()?;
        let runs: Runs = diesel::sql_query(RUNS)
            .bind::<Text, _>(&subject)
            .get_result(c)?;
        Ok(Stats {
            totals,
            retreats,
            last_played,
            runs,
        })
    })
}

/// Counts one download for `subject` on `day` unless they already have `cap`: the new count,
/// or `None` when the cap is reached. One conditional UPDATE, so parallel requests cannot
/// pass the cap.
pub fn count_download(
    conn: &mut DbConn,
    subject: &str,
    day: i64,
    cap: i64,
) -> QueryResult<Option<i64>> {
    let key = cdl::table.find((subject, day));
    let bump = |conn: &mut DbConn| {
        diesel::update(key.filter(cdl::count.lt(cap)))
            .set(cdl::count.eq(cdl::count + 1))
            .returning(cdl::count)
            .get_result::<i64>(conn)
            .optional()
    };
    if cap <= 0 {
        return Ok(None);
    }
    if let Some(n) = bump(conn)? {
        return Ok(Some(n));
    }
    let exists: i64 = key.count().get_result(conn)?;
    if exists > 0 {
        return Ok(None);
    }
    match diesel::insert_into(cdl::table)
        .values((cdl::subject.eq(subject), cdl::day.eq(day), cdl::count.eq(1)))
        .execute(conn)
    {
        Ok(_) => Ok(Some(1)),
        // Someone else's first download of the day won the insert: count on theirs.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => bump(conn),
        Err(e) => Err(e),
    }
}
