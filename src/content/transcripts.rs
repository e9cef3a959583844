//! Transcript text for search: extracted from a track's PDF when the track is saved, kept
//! with how the extraction went (a PDF that cannot be read is reported on the track, never
//! fatal), and searched with the database's own full-text engine (`store::transcripts`).

use std::path::Path;

use serde::Serialize;

use super::store::{self, TranscriptHit, TranscriptInfo, TranscriptSearch};
use super::{now, Config};
use crate::db::{self, DbPool};
use crate::resource::ApiError;

/// Marks the start and end of a matched word in a snippet as the database returns it:
/// Unicode private-use characters, removed from every extracted text so no transcript can
/// forge a match.
pub const MATCH_START: char = '\u{E000}';
pub const MATCH_END: char = '\u{E001}';

/// Most characters of one transcript that are indexed (about 130 pages of prose, 8 hours of
/// talk). PostgreSQL's tsvector holds at most 1 MB, which text of distinct words (tables,
/// numbers) reaches at about 1 M characters; this keeps well below on both backends.
pub const MAX_CHARACTERS: usize = 400_000;

/// How long one PDF may take to read before it is reported unreadable.
const EXTRACT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What came of reading one transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// `indexed`, `unreadable`, `missing` or `too_large`.
    pub status: &'static str,
    /// Why it is not indexed (empty when it is).
    pub detail: String,
    pub pages: i64,
    /// The text: pages joined by a blank line, markers and control characters removed.
    pub text: String,
}

impl Extracted {
    fn failed(status: &'static str, detail: impl Into<String>) -> Extracted {
        Extracted {
            status,
            detail: detail.into(),
            pages: 0,
            text: String::new(),
        }
    }
}

/// Reads the PDF at `path` (at most `max_bytes`) and extracts its text. Blocking: run it on
/// a blocking thread. Never panics: a PDF the parser chokes on is `unreadable`.
pub fn extract(path: &Path, max_bytes: u64) -> Extracted {
    let size = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m.len(),
        _ => return Extracted::failed("missing", "there is no such file in the media folder"),
    };
    if size > max_bytes {
        return Extracted::failed(
            "too_large",
            format!("the file is {size} bytes; transcript_max_bytes is {max_bytes}"),
        );
    }
    match std::fs::read(path) {
        Ok(bytes) => extract_from(&bytes),
        Err(e) => Extracted::failed("missing", format!("the file cannot be read: {e}")),
    }
}

/// [`extract`] on bytes in memory.
pub fn extract_from(bytes: &[u8]) -> Extracted {
    if !bytes.starts_with(b"%PDF-") {
        return Extracted::failed("unreadable", "the file is not a PDF");
    }
    let parsed = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes));
    let pages = match parsed {
        Ok(Ok(pages)) => pages,
        Ok(Err(e)) => {
            return Extracted::failed("unreadable", format!("the PDF cannot be read: {e}"))
        }
        Err(_) => return Extracted::failed("unreadable", "the PDF cannot be read"),
    };
    let text = clean(&pages.join("\n\n"));
    if text.trim().is_empty() {
        return Extracted {
            pages: pages.len() as i64,
            ..Extracted::failed(
                "unreadable",
                "the PDF holds no text (scanned pages would need OCR)",
            )
        };
    }
    Extracted {
        status: "indexed",
        detail: String::new(),
        pages: pages.len() as i64,
        text,
    }
}

/// The text without the match markers, NUL and other control characters (newlines and tabs
/// stay), cut at [`MAX_CHARACTERS`].
fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| c != MATCH_START && c != MATCH_END)
        .map(|c| match c {
            '\n' | '\t' => c,
            c if c.is_control() => ' ',
            c => c,
        })
        .take(MAX_CHARACTERS)
        .collect()
}

/// Extracts the transcript of a track just saved and stores its text (or removes it when the
/// track has no transcript any more). Returns what a caller sees of it.
pub async fn index(
    pool: &DbPool,
    config: &Config,
    track_id: &str,
    language: &str,
    file: Option<&str>,
) -> Result<Option<TranscriptInfo>, ApiError> {
    let Some(file) = file else {
        let id = track_id.to_string();
        db::run_write(pool, move |conn| Ok(store::remove_transcript(conn, &id)?)).await?;
        return Ok(None);
    };
    let path = config.media_dir.join(file);
    let max = config.transcript_max_bytes;
    let job = tokio::task::spawn_blocking(move || extract(&path, max));
    let extracted = match tokio::time::timeout(EXTRACT_TIMEOUT, job).await {
        Ok(Ok(e)) => e,
        Ok(Err(_)) => Extracted::failed("unreadable", "the PDF cannot be read"),
        Err(_) => Extracted::failed("unreadable", "reading the PDF took too long"),
    };
    let info = TranscriptInfo {
        track_id: track_id.to_string(),
        file: file.to_string(),
        status: extracted.status.to_string(),
        detail: extracted.detail,
        pages: extracted.pages,
        characters: extracted.text.chars().count() as i64,
        extracted_at: now(),
    };
    let (row, language) = (info.clone(), language.to_string());
    db::run(pool, move |conn| {
        Ok(store::save_transcript(
            conn,
            &row,
            &language,
            &extracted.text,
        )?)
    })
    .await?;
    Ok(Some(info))
}

/// One piece of a snippet: matched words are `match: true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fragment {
    pub text: String,
    #[serde(rename = "match")]
    pub matched: bool,
}

/// Splits a snippet marked with [`MATCH_START`] / [`MATCH_END`] into plain pieces, so apps
/// render the highlight without ever treating transcript text as markup.
pub fn fragments(snippet: &str) -> Vec<Fragment> {
    let mut out: Vec<Fragment> = Vec::new();
    let mut current = String::new();
    let mut matched = false;
    let mut push = |text: &mut String, matched: bool| {
        if !text.is_empty() {
            out.push(Fragment {
                text: std::mem::take(text),
                matched,
            });
        }
    };
    for c in snippet.chars() {
        match c {
            MATCH_START => {
                push(&mut current, matched);
                matched = true;
            }
            MATCH_END => {
                push(&mut current, matched);
                matched = false;
            }
            c => current.push(if c.is_whitespace() { ' ' } else { c }),
        }
    }
    push(&mut current, matched);
    out
}

/// One search result as the API answers it.
#[derive(Debug, Clone, Serialize)]
pub struct HitView {
    pub track_id: String,
    pub title: String,
    pub retreat_id: String,
    pub retreat_title: String,
    pub session_id: String,
    pub language: String,
    pub tier: String,
    /// Where the words were found, matched words marked.
    pub snippet: Vec<Fragment>,
}

impl From<TranscriptHit> for HitView {
    fn from(h: TranscriptHit) -> Self {
        HitView {
            snippet: fragments(&h.snippet),
            track_id: h.track_id,
            title: h.title,
            retreat_id: h.retreat_id,
            retreat_title: h.retreat_title,
            session_id: h.session_id,
            language: h.language,
            tier: h.tier,
        }
    }
}

/// Runs a search on the pool.
pub async fn search(
    pool: &DbPool,
    query: TranscriptSearch,
) -> Result<(Vec<HitView>, i64), ApiError> {
    let (hits, total) = db::run(pool, move |conn| {
        Ok(store::search_transcripts(conn, &query)?)
    })
    .await?;
    Ok((hits.into_iter().map(HitView::from).collect(), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_split_into_marked_pieces() {
        let s = format!("a quiet {MATCH_START}meditação{MATCH_END} at\ndawn");
        assert_eq!(
            fragments(&s),
            vec![
                Fragment {
                    text: "a quiet ".into(),
                    matched: false
                },
                Fragment {
                    text: "meditação".into(),
                    matched: true
                },
                Fragment {
                    text: " at dawn".into(),
                    matched: false
                },
            ]
        );
        assert!(fragments("").is_empty());
    }

    #[test]
    fn extracted_text_cannot_carry_markers_or_control_characters() {
        let dirty = format!("x{MATCH_START}y{MATCH_END}\u{0}z\u{7}\nw");
        assert_eq!(clean(&dirty), "xy z \nw");
    }

    #[test]
    fn what_is_not_a_readable_pdf_is_reported() {
        assert_eq!(extract_from(b"hello").status, "unreadable");
        assert_eq!(extract_from(b"hello").detail, "the file is not a PDF");
        let broken = extract_from(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n%%EOF");
        assert_eq!(broken.status, "unreadable", "{broken:?}");
        let missing = extract(Path::new("/nonexistent/porta/x.pdf"), 1 << 20);
        assert_eq!(missing.status, "missing");
    }
}
