//! Transcript text and its full-text index. Each backend's own engine, so the SQL is its
//! own: SQLite keeps the words in the FTS5 table `content_transcripts_fts` (rowid = the
//! transcript row's `doc`; a trigger drops them with the row), PostgreSQL keeps `body` and
//! a generated `tsvector` stemmed in the track's language, under a GIN index.

use diesel::sql_types::{BigInt, Nullable, Text};

use super::*;
use crate::db::schema::content_transcripts as tr;

/// How a track's transcript was read.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, PartialEq, Eq)]
#[diesel(table_name = tr)]
pub struct TranscriptInfo {
    #[serde(skip)]
    pub track_id: String,
    pub file: String,
    /// `indexed`, `unreadable`, `missing` or `too_large`.
    pub status: String,
    /// Why it is not indexed (empty when it is).
    pub detail: String,
    pub pages: i64,
    pub characters: i64,
    pub extracted_at: i64,
}

/// A search of the transcripts: every word must be found (stemmed where the backend can).
#[derive(Debug, Clone)]
pub struct TranscriptSearch {
    /// The words as typed (lower-cased).
    pub words: Vec<String>,
    pub language: Option<String>,
    pub retreat_id: Option<String>,
    /// The marked snippet's match delimiters.
    pub marks: (char, char),
    pub offset: i64,
    pub limit: i64,
}

/// One result, best first; `snippet` carries the match markers.
#[derive(Debug, Clone, QueryableByName)]
pub struct TranscriptHit {
    #[diesel(sql_type = Text)]
    pub track_id: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub session_id: String,
    #[diesel(sql_type = Text)]
    pub retreat_id: String,
    #[diesel(sql_type = Text)]
    pub retreat_title: String,
    #[diesel(sql_type = Text)]
    pub language: String,
    #[diesel(sql_type = Text)]
    pub tier: String,
    #[diesel(sql_type = Text)]
    pub snippet: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Forgets a track's transcript text.
pub fn remove_transcript(conn: &mut DbConn, track_id: &str) -> QueryResult<()> {
    diesel::delete(tr::table.find(track_id)).execute(conn)?;
    Ok(())
}

/// Replaces a track's transcript text and index entry; nothing when the track is gone.
pub fn save_transcript(
    conn: &mut DbConn,
    info: &TranscriptInfo,
    language: &str,
    text: &str,
) -> QueryResult<()> {
    crate::db::transaction(conn, |conn| {
        let exists: i64 = ct::table
            .filter(ct::id.eq(&info.track_id))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Ok(());
        }
        match conn {
            DbConn::Sqlite(c) => {
                // SQLite writes one at a time: delete (the trigger drops the words) and insert.
                diesel::delete(tr::table.find(&info.track_id)).execute(c)?;
                #[derive(QueryableByName)]
                struct Doc {
                    #[diesel(sql_type = BigInt)]
                    doc: i64,
                }
                let doc: Doc = diesel::sql_query(
                    "INSERT INTO content_transcripts \
                     (track_id, file, status, detail, pages, characters, extracted_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING doc",
                )
                .bind::<Text, _>(&info.track_id)
                .bind::<Text, _>(&info.file)
                .bind::<Text, _>(&info.status)
                .bind::<Text, _>(&info.detail)
                .bind::<BigInt, _>(info.pages)
                .bind::<BigInt, _>(info.characters)
                .bind::<BigInt, _>(info.extracted_at)
                .get_result(c)?;
                if !text.is_empty() {
                    diesel::sql_query(
                        "INSERT INTO content_transcripts_fts (rowid, body) VALUES (?, ?)",
                    )
                    .bind::<BigInt, _>(doc.doc)
                    .bind::<Text, _>(text)
                    .execute(c)?;
                }
            }
            DbConn::Pg(c) => {
                diesel::sql_query(
                    "INSERT INTO content_transcripts \
                     (track_id, file, status, detail, pages, characters, extracted_at, language, body) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (track_id) DO UPDATE SET file = $2, status = $3, detail = $4, \
                     pages = $5, characters = $6, extracted_at = $7, language = $8, body = $9",
                )
                .bind::<Text, _>(&info.track_id)
                .bind::<Text, _>(&info.file)
                .bind::<Text, _>(&info.status)
                .bind::<Text, _>(&info.detail)
                .bind::<BigInt, _>(info.pages)
                .bind::<BigInt, _>(info.characters)
                .bind::<BigInt, _>(info.extracted_at)
                .bind::<Text, _>(language)
                .bind::<Text, _>(text)
                .execute(c)?;
            }
        }
        Ok(())
    })
}

/// FTS5 query text: each word a quoted string (its own `"` doubled), all required. Words
/// without a letter or digit are dropped (FTS5 would find no token in them).
fn fts5_query(words: &[String]) -> String {
    words
        .iter()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One page of transcripts holding every word, best ranked first, with the total.
pub fn search_transcripts(
    conn: &mut DbConn,
    q: &TranscriptSearch,
) -> QueryResult<(Vec<TranscriptHit>, i64)> {
    let (start, end) = (q.marks.0.to_string(), q.marks.1.to_string());
    match conn {
        DbConn::Sqlite(c) => {
            let query = fts5_query(&q.words);
            if query.is_empty() {
                return Ok((Vec::new(), 0));
            }
            let from = "FROM content_transcripts_fts \
                 JOIN content_transcripts x ON x.doc = content_transcripts_fts.rowid \
                 JOIN content_tracks t ON t.id = x.track_id \
                 JOIN content_sessions s ON s.id = t.session_id \
                 JOIN content_retreats r ON r.id = s.retreat_id \
                 WHERE content_transcripts_fts MATCH ?1 \
                 AND (?2 IS NULL OR t.language = ?2) \
                 AND (?3 IS NULL OR s.retreat_id = ?3)";
            let total: Count = diesel::sql_query(format!("SELECT count(*) AS n {from}"))
                .bind::<Text, _>(&query)
                .bind::<Nullable<Text>, _>(q.language.as_deref())
                .bind::<Nullable<Text>, _>(q.retreat_id.as_deref())
                .get_result(c)?;
            if total.n == 0 {
                return Ok((Vec::new(), 0));
            }
            // Rank in the index alone, cut the page, and only then make snippets (each
            // re-reads its transcript): never one snippet per match.
            let hits = diesel::sql_query(format!(
                "SELECT t.id AS track_id, t.title, t.session_id, s.retreat_id, \
                 r.title AS retreat_title, t.language, t.tier, \
                 snippet(content_transcripts_fts, 0, ?4, ?5, '…', 24) AS snippet \
                 {from} AND content_transcripts_fts.rowid IN \
                 (SELECT content_transcripts_fts.rowid {from} \
                  ORDER BY bm25(content_transcripts_fts), t.id LIMIT ?6 OFFSET ?7) \
                 ORDER BY bm25(content_transcripts_fts), t.id"
            ))
            .bind::<Text, _>(&query)
            .bind::<Nullable<Text>, _>(q.language.as_deref())
            .bind::<Nullable<Text>, _>(q.retreat_id.as_deref())
            .bind::<Text, _>(&start)
            .bind::<Text, _>(&end)
            .bind::<BigInt, _>(q.limit)
            .bind::<BigInt, _>(q.offset)
            .load(c)?;
            Ok((hits, total.n))
        }
        DbConn::Pg(c) => {
            let text = q.words.join(" ");
            // One arm per stemming language, each a plain `document @@ constant` that the GIN
            // index answers; a transcript is matched in its own language only.
            let arm = |config: &str, language: &str| {
                format!(
                    "FROM content_transcripts x \
                     JOIN content_tracks t ON t.id = x.track_id \
                     JOIN content_sessions s ON s.id = t.session_id \
                     WHERE x.status = 'indexed' AND x.language {language} \
                     AND x.document @@ plainto_tsquery('{config}', $1) \
                     AND ($2::text IS NULL OR t.language = $2) \
                     AND ($3::text IS NULL OR s.retreat_id = $3)"
                )
            };
            let (en, pt) = (
                arm("english", "NOT LIKE 'pt%'"),
                arm("portuguese", "LIKE 'pt%'"),
            );
            let total: Count = diesel::sql_query(format!(
                "SELECT CAST((SELECT count(*) {en}) + (SELECT count(*) {pt}) AS BIGINT) AS n"
            ))
            .bind::<Text, _>(&text)
            .bind::<Nullable<Text>, _>(q.language.as_deref())
            .bind::<Nullable<Text>, _>(q.retreat_id.as_deref())
            .get_result(c)?;
            if total.n == 0 {
                return Ok((Vec::new(), 0));
            }
            // Rank and cut the page first. The headline (which parses the text it is given)
            // is made from the first paragraph holding any of the words, not from the whole
            // transcript: 20 pages cost about 5 ms each, a paragraph a fraction of one.
            let options =
                format!("StartSel={start}, StopSel={end}, MaxWords=24, MinWords=8, MaxFragments=1");
            let ranked = |config: &str, from: &str| {
                format!(
                    "SELECT t.id AS track_id, '{config}'::regconfig AS config, \
                     ts_rank_cd(x.document, plainto_tsquery('{config}', $1)) AS rank {from}"
                )
            };
            let hits = diesel::sql_query(format!(
                "SELECT t.id AS track_id, t.title, t.session_id, s.retreat_id, \
                 r.title AS retreat_title, t.language, t.tier, \
                 ts_headline(p.config, COALESCE(best.part, left(x.body, 2000)), \
                   plainto_tsquery(p.config, $1), $4) AS snippet \
                 FROM (SELECT * FROM ({} UNION ALL {}) u \
                   ORDER BY rank DESC, track_id LIMIT $5 OFFSET $6) p \
                 JOIN content_transcripts x ON x.track_id = p.track_id \
                 JOIN content_tracks t ON t.id = p.track_id \
                 JOIN content_sessions s ON s.id = t.session_id \
                 JOIN content_retreats r ON r.id = s.retreat_id \
                 LEFT JOIN LATERAL (SELECT part \
                   FROM regexp_split_to_table(x.body, '\\n\\s*\\n') AS part \
                   WHERE to_tsvector(p.config, part) @@ \
                     replace(plainto_tsquery(p.config, $1)::text, '&', '|')::tsquery \
                   LIMIT 1) best ON true \
                 ORDER BY p.rank DESC, p.track_id",
                ranked("english", &en),
                ranked("portuguese", &pt),
            ))
            .bind::<Text, _>(&text)
            .bind::<Nullable<Text>, _>(q.language.as_deref())
            .bind::<Nullable<Text>, _>(q.retreat_id.as_deref())
            .bind::<Text, _>(&options)
            .bind::<BigInt, _>(q.limit)
            .bind::<BigInt, _>(q.offset)
            .load(c)?;
            Ok((hits, total.n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_queries_quote_every_word() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(fts5_query(&words(&["quiet", "mind"])), r#""quiet" "mind""#);
        assert_eq!(fts5_query(&words(&["a\"b", "NEAR("])), r#""a""b" "NEAR(""#);
        assert_eq!(fts5_query(&words(&["--", "*"])), "");
    }
}
