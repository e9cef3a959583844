//! Checked inputs of the content API: texts, language tags, tiers, positions and media
//! paths. Each check answers 400 with a description a person can act on.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::resource::ApiError;

/// Longest title of a retreat, session or track, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 10_000;
/// Longest bookmark note, in characters.
pub const MAX_NOTE: usize = 2000;
/// Longest search query, in characters.
pub const MAX_QUERY: usize = 200;
/// Most words a search may combine (each one adds two LIKE conditions per table).
pub const MAX_QUERY_WORDS: usize = 10;
/// Longest track: a day of audio.
pub const MAX_DURATION: i64 = 24 * 3600;
/// Highest ordering position of a session or track.
pub const MAX_POSITION: i64 = 1_000_000;
/// Longest media path, in bytes.
pub const MAX_MEDIA_PATH: usize = 255;

fn bad(why: impl Into<String>) -> ApiError {
    ApiError::InvalidRequest(why.into())
}

/// A required one-line text: trimmed, not empty, at most `max` characters, no control
/// characters.
pub fn title(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(bad(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(bad(format!("{field} must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(bad(format!("{field} must not contain control characters")));
    }
    Ok(value.to_string())
}

/// An optional free text (line breaks allowed): at most `max` characters, no other control
/// characters. Missing means empty.
pub fn text(field: &str, value: Option<&str>, max: usize) -> Result<String, ApiError> {
    let value = value.unwrap_or("").trim();
    if value.chars().count() > max {
        return Err(bad(format!("{field} must be at most {max} characters")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(bad(format!("{field} must not contain control characters")));
    }
    Ok(value.to_string())
}

/// A language tag such as `en` or `pt-br` (BCP 47 shape: a 2–3 letter primary subtag and
/// alphanumeric subtags of up to 8), kept in lower case so filters compare equal.
pub fn language(value: &str) -> Result<String, ApiError> {
    // Measured as sent, so the document's maxLength holds exactly.
    let sent = value.chars().count();
    let value = value.trim().to_ascii_lowercase();
    let mut parts = value.split('-');
    let primary = parts.next().unwrap_or("");
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !primary_ok || !rest_ok || sent > 35 {
        return Err(bad(
            "language must be a language tag such as en, de or pt-BR",
        ));
    }
    Ok(value)
}

/// An ordering position (0 first).
pub fn position(value: i64) -> Result<i64, ApiError> {
    if !(0..=MAX_POSITION).contains(&value) {
        return Err(bad(format!(
            "position must be between 0 and {MAX_POSITION}"
        )));
    }
    Ok(value)
}

/// A track length in seconds.
pub fn duration(value: i64) -> Result<i64, ApiError> {
    if !(1..=MAX_DURATION).contains(&value) {
        return Err(bad(format!(
            "duration_seconds must be between 1 and {MAX_DURATION}"
        )));
    }
    Ok(value)
}

/// A playback position within a track of `duration` seconds.
pub fn playback_position(value: i64, duration: i64) -> Result<i64, ApiError> {
    if !(0..=duration).contains(&value) {
        return Err(bad(format!(
            "position_seconds must be between 0 and the track's duration ({duration})"
        )));
    }
    Ok(value)
}

/// Who may hear a track.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Everyone with `content:read`.
    #[default]
    Free,
    /// People with the `premium` or `admin` role.
    Premium,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Premium => "premium",
        }
    }

    /// The tier stored in a row; anything unknown counts as premium, so a bad row never
    /// gives content away.
    pub fn from_stored(value: &str) -> Tier {
        match value {
            "free" => Tier::Free,
            _ => Tier::Premium,
        }
    }
}

/// A file path relative to the media folder that cannot leave it: `/`-separated segments,
/// none empty, `.` or `..`; no leading `/`, backslash, drive colon or control character.
/// Only a `MediaPath` is ever joined onto the media folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPath(String);

impl MediaPath {
    pub fn parse(field: &str, value: &str) -> Result<MediaPath, ApiError> {
        let refuse = |why: &str| bad(format!("{field} {why}"));
        if value.is_empty() {
            return Err(refuse("must not be empty"));
        }
        if value.chars().count() > MAX_MEDIA_PATH {
            return Err(refuse(&format!(
                "must be at most {MAX_MEDIA_PATH} characters"
            )));
        }
        if value.chars().any(char::is_control) {
            return Err(refuse("must not contain control characters"));
        }
        // Backslashes and colons are separators or drive letters on other systems.
        if value.contains(['\\', ':']) {
            return Err(refuse("must not contain a backslash or a colon"));
        }
        if value.starts_with('/') {
            return Err(refuse("must be relative to the media folder"));
        }
        // No `..` (escapes the folder) and no empty or `.` segment (one file, one name).
        if value
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(refuse(
                "must be a plain path inside the media folder (no empty, . or .. segments)",
            ));
        }
        Ok(MediaPath(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file inside `root`.
    pub fn within(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        path.extend(self.0.split('/'));
        path
    }

    /// The path for a URL: each segment percent-encoded, `/` kept.
    pub fn url_path(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

/// The words of a search query, lower-cased: at least one, at most [`MAX_QUERY_WORDS`].
pub fn search_words(q: Option<&str>) -> Result<Vec<String>, ApiError> {
    let q = q.unwrap_or("").trim();
    if q.is_empty() {
        return Err(bad("q is required: the words to search for"));
    }
    if q.chars().count() > MAX_QUERY {
        return Err(bad(format!("q must be at most {MAX_QUERY} characters")));
    }
    let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
    if words.len() > MAX_QUERY_WORDS {
        return Err(bad(format!("q may have at most {MAX_QUERY_WORDS} words")));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_paths_stay_inside_the_folder() {
        for ok in [
            "a.mp3",
            "day 1/morning talk.mp3",
            "x/y/z.pdf",
            ".hidden.mp3",
        ] {
            assert!(MediaPath::parse("f", ok).is_ok(), "{ok}");
        }
        for refused in [
            "",
            "../secret",
            "a/../../b",
            "/etc/passwd",
            "a\\b",
            "c:x",
            "a//b",
            "a/./b",
            "a/",
            "..",
            "a\0b",
            "a\nb",
        ] {
            assert!(MediaPath::parse("f", refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn url_paths_are_encoded_per_segment() {
        let p = MediaPath::parse("f", "day 1/ä?.mp3").unwrap();
        assert_eq!(p.url_path(), "day%201/%C3%A4%3F.mp3");
    }

    #[test]
    fn language_tags() {
        assert_eq!(language("pt-BR").unwrap(), "pt-br");
        assert_eq!(language("en").unwrap(), "en");
        for refused in [
            "",
            "e",
            "english",
            "en_US",
            "english-language-tag-much-too-long-x",
            "1a",
            "en-",
        ] {
            assert!(language(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn search_words_are_bounded() {
        assert_eq!(
            search_words(Some(" Metta  Bhavana ")).unwrap(),
            ["metta", "bhavana"]
        );
        assert!(search_words(None).is_err());
        assert!(search_words(Some("   ")).is_err());
        assert!(search_words(Some(&"x".repeat(201))).is_err());
    }
}
