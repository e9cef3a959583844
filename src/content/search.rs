//! Diesel queries of the catalogue search: every word must appear, case-insensitively, in
//! the title or description of a retreat, session or track. Each row keeps its title and
//! description lower-cased in Rust (`search_text`, see [`super::store::search_text`]) and
//! the query words are lower-cased the same way, so a plain `LIKE` with escaped wildcards
//! and no SQL `lower()` (which folds ASCII only on SQLite) matches the same on SQLite and
//! PostgreSQL, for every script.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{content_retreats as cr, content_sessions as cs, content_tracks as ct};
use crate::db::DbConn;

type Backend = <DbConn as Connection>::Backend;

/// One search result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// `retreat`, `session` or `track`.
    pub kind: &'static str,
    pub id: String,
    pub title: String,
    pub description: String,
    /// The track's language, or the retreat's for retreats and sessions.
    pub language: String,
    pub retreat_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// `free` or `premium`, for tracks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

/// `%word%` with the word's own `%`, `_` and `\` taken literally (escape character `\`).
fn pattern(word: &str) -> String {
    let mut p = String::with_capacity(word.len() + 2);
    p.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// One page of hits (retreats first, then sessions, then tracks; each by title) and the
/// total. `words` are lower-cased already (`str::to_lowercase`, like `search_text`).
pub fn search(
    conn: &mut DbConn,
    words: &[String],
    language: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Hit>, i64)> {
    let patterns: Vec<String> = words.iter().map(|w| pattern(w)).collect();
    // Closures, not functions: the boxed join types cannot be named.
    let retreats = || {
        let mut q = cr::table.into_boxed::<Backend>();
        for p in &patterns {
            q = q.filter(cr::search_text.like(p).escape('\\'));
        }
        if let Some(l) = language {
            q = q.filter(cr::language.eq(l));
        }
        q
    };
    let sessions = || {
        let mut q = cs::table.inner_join(cr::table).into_boxed::<Backend>();
        for p in &patterns {
            q = q.filter(cs::search_text.like(p).escape('\\'));
        }
        if let Some(l) = language {
            // A session speaks its retreat's language.
            q = q.filter(cr::language.eq(l));
        }
        q
    };
    let tracks = || {
        let mut q = ct::table.inner_join(cs::table).into_boxed::<Backend>();
        for p in &patterns {
            q = q.filter(ct::search_text.like(p).escape('\\'));
        }
        if let Some(l) = language {
            q = q.filter(ct::language.eq(l));
        }
        q
    };
    let counts = [
        retreats().count().get_result::<i64>(conn)?,
        sessions().count().get_result::<i64>(conn)?,
        tracks().count().get_result::<i64>(conn)?,
    ];
    let mut hits = Vec::new();
    // The page's window over the three lists laid end to end.
    let mut skip = offset;
    for (kind, count) in counts.iter().enumerate() {
        let room = limit - hits.len() as i64;
        if room <= 0 {
            break;
        }
        if skip >= *count {
            skip -= count;
            continue;
        }
        match kind {
            0 => hits.extend(
                retreats()
                    .order((cr::title.asc(), cr::id.asc()))
                    .offset(skip)
                    .limit(room)
                    .select((cr::id, cr::title, cr::description, cr::language))
                    .load::<(String, String, String, String)>(conn)?
                    .into_iter()
                    .map(|(id, title, description, language)| Hit {
                        kind: "retreat",
                        retreat_id: id.clone(),
                        id,
                        title,
                        description,
                        language,
                        session_id: None,
                        tier: None,
                    }),
            ),
            1 => hits.extend(
                sessions()
                    .order((cs::title.asc(), cs::id.asc()))
                    .offset(skip)
                    .limit(room)
                    .select((
                        cs::id,
                        cs::title,
                        cs::description,
                        cr::language,
                        cs::retreat_id,
                    ))
                    .load::<(String, String, String, String, String)>(conn)?
                    .into_iter()
                    .map(|(id, title, description, language, retreat_id)| Hit {
                        kind: "session",
                        session_id: Some(id.clone()),
                        id,
                        title,
                        description,
                        language,
                        retreat_id,
                        tier: None,
                    }),
            ),
            _ => hits.extend(
                tracks()
                    .order((ct::title.asc(), ct::id.asc()))
                    .offset(skip)
                    .limit(room)
                    .select((
                        ct::id,
                        ct::title,
                        ct::description,
                        ct::language,
                        cs::retreat_id,
                        ct::session_id,
                        ct::tier,
                    ))
                    .load::<(String, String, String, String, String, String, String)>(conn)?
                    .into_iter()
                    .map(
                        |(id, title, description, language, retreat_id, session_id, tier)| Hit {
                            kind: "track",
                            id,
                            title,
                            description,
                            language,
                            retreat_id,
                            session_id: Some(session_id),
                            tier: Some(tier),
                        },
                    ),
            ),
        }
        skip = 0;
    }
    Ok((hits, counts.iter().sum()))
}

#[cfg(test)]
mod tests {
    use super::pattern;

    #[test]
    fn wildcards_are_literal() {
        assert_eq!(pattern("50%"), "%50\\%%");
        assert_eq!(pattern("a_b\\c"), "%a\\_b\\\\c%");
    }
}
