//! Languages: the message catalogues (Fluent files under `locales/<language>/`, embedded at
//! build time), the language of the request being answered, and translation.
//!
//! Every page, email and SMS takes its words from the catalogues through [`t`] and its
//! siblings; templates call them as `crate::i18n::t("key")`. The language is chosen once per
//! request by [`scope`] and refined by the handler as it learns more, highest rank winning:
//! 1. the language switch on the pages (the `porta_lang` cookie): the person's explicit
//!    choice in this browser;
//! 2. `ui_locales` of the authorization request the page belongs to;
//! 3. the language saved on the account (the `locale` claim);
//! 4. the browser's `Accept-Language`;
//! 5. the default language, `en`.
//!
//! Work outside a request (the outbox, the command line) renders in the default language
//! unless it asks for another with [`within`].

use std::cell::Cell;
use std::fmt::Display;
use std::sync::LazyLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

mod generated {
    include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));
}

/// The cookie the language switch sets.
pub const COOKIE: &str = "porta_lang";

/// The language used when nothing else decides.
pub const DEFAULT: &str = "en";

/// One language's messages.
struct Catalogue {
    tag: &'static str,
    bundle: FluentBundle<FluentResource>,
}

/// Every catalogue, the default first. A catalogue file that does not parse stops the
/// build's tests (`tests::every_catalogue_parses`), never a request.
static CATALOGUES: LazyLock<Vec<Catalogue>> = LazyLock::new(|| {
    let mut tags: Vec<&'static str> = generated::SOURCES.iter().map(|s| s.0).collect();
    tags.dedup();
    tags.sort_by_key(|t| (*t != DEFAULT, *t));
    tags.iter()
        .map(|tag| {
            let id = tag
                .parse::<unic_langid::LanguageIdentifier>()
                .unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Pages escape what they print; isolation marks would only get in the way.
            bundle.set_use_isolating(false);
            for (_, _, text) in generated::SOURCES.iter().filter(|s| s.0 == *tag) {
                let resource = match FluentResource::try_new(text.to_string()) {
                    Ok(r) => r,
                    Err((r, _)) => r,
                };
                let _ = bundle.add_resource(resource);
            }
            Catalogue { tag, bundle }
        })
        .collect()
});

/// The languages Porta speaks (`ui_locales_supported`), the default first.
pub fn supported() -> Vec<&'static str> {
    CATALOGUES.iter().map(|c| c.tag).collect()
}

/// How sure we are of a choice: a higher rank replaces a lower one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Rank {
    Default = 0,
    Browser = 1,
    Saved = 2,
    Requested = 3,
    Chosen = 4,
}

/// What the pages of one request need to know about it.
struct Here {
    /// The language: (catalogue index, rank).
    lang: Cell<(usize, Rank)>,
    /// The page's own address (path and query of a GET), where the switch comes back to.
    path: String,
    /// The person's time zone, when known (dates and times are shown in it).
    zone: Cell<Option<chrono_tz::Tz>>,
}

impl Here {
    fn new(lang: (usize, Rank)) -> Here {
        Here {
            lang: Cell::new(lang),
            path: "/".into(),
            zone: Cell::new(None),
        }
    }
}

tokio::task_local! {
    static CURRENT: Here;
}

/// The catalogue for a language tag: an exact match (ignoring case), else the first
/// catalogue of the same primary language (`pt` and `pt-BR` find `pt-PT`).
fn find(tag: &str) -> Option<usize> {
    let tag = tag.trim();
    if tag.is_empty() || tag.len() > 35 {
        return None;
    }
    if let Some(i) = CATALOGUES
        .iter()
        .position(|c| c.tag.eq_ignore_ascii_case(tag))
    {
        return Some(i);
    }
    let primary = tag.split(['-', '_']).next().unwrap_or(tag);
    CATALOGUES.iter().position(|c| {
        c.tag
            .split('-')
            .next()
            .is_some_and(|p| p.eq_ignore_ascii_case(primary))
    })
}

/// The first of `candidates` (in order of preference) that Porta speaks.
pub fn negotiate<'a>(candidates: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    candidates
        .into_iter()
        .find_map(find)
        .map(|i| CATALOGUES[i].tag)
}

/// The languages of an `Accept-Language` header, most wanted first (`q=0` dropped).
pub fn accept_language(header: &str) -> Vec<&str> {
    let mut langs: Vec<(&str, f32)> = header
        .split(',')
        .take(20)
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!tag.is_empty() && tag != "*" && q > 0.0).then_some((tag, q))
        })
        .collect();
    langs.sort_by(|a, b| b.1.total_cmp(&a.1));
    langs.into_iter().map(|(t, _)| t).collect()
}

/// Middleware: answers the request in the language of the switch's cookie or the
/// browser's `Accept-Language`; handlers refine it with [`offer`].
pub async fn scope(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let chosen = req
        .cookie(COOKIE)
        .and_then(|c| find(c.value()))
        .map(|i| (i, Rank::Chosen));
    let browser = || {
        req.headers()
            .get(actix_web::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| accept_language(h).into_iter().find_map(find))
            .map(|i| (i, Rank::Browser))
    };
    let start = chosen.or_else(browser).unwrap_or((0, Rank::Default));
    let mut here = Here::new(start);
    if req.method() == actix_web::http::Method::GET {
        let uri = req.uri();
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        if path.len() <= 2048 {
            here.path = path.to_string();
        }
    }
    CURRENT.scope(here, next.call(req)).await
}

/// The cookie that remembers a language chosen in this browser for a year, or (`None`)
/// forgets it.
pub fn choice_cookie(tag: Option<&str>, secure: bool) -> actix_web::cookie::Cookie<'static> {
    let mut cookie = actix_web::cookie::Cookie::build(COOKIE, tag.unwrap_or("").to_string())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    if tag.is_none() {
        cookie.make_removal();
    }
    cookie
}

/// Offers languages (most wanted first) at `rank`: the first one Porta speaks becomes the
/// request's language unless a higher-ranked choice was already made.
pub fn offer<'a>(rank: Rank, candidates: impl IntoIterator<Item = &'a str>) {
    let _ = CURRENT.try_with(|here| {
        let cell = &here.lang;
        let (_, current) = cell.get();
        if rank > current {
            if let Some(i) = candidates.into_iter().find_map(find) {
                cell.set((i, rank));
            }
        }
    });
}

/// Runs `f` in `tag`'s language (or the default one): for messages built outside a
/// request, or for someone other than the person at the browser.
pub fn within<R>(tag: Option<&str>, f: impl FnOnce() -> R) -> R {
    let i = tag.and_then(find).unwrap_or(0);
    CURRENT.sync_scope(Here::new((i, Rank::Chosen)), f)
}

/// Runs `f` in the saved language of a person (`locale`), else in the current one: the
/// language of a message to that person.
pub fn for_person<R>(locale: Option<&str>, f: impl FnOnce() -> R) -> R {
    let i = locale.and_then(find).unwrap_or_else(current_index);
    CURRENT.sync_scope(Here::new((i, Rank::Chosen)), f)
}

fn current_index() -> usize {
    CURRENT.try_with(|h| h.lang.get().0).unwrap_or(0)
}

/// The person's saved time zone (an IANA name): dates and times of this request are shown
/// in it. An unknown name is ignored (UTC stays).
pub fn set_zone(zone: Option<&str>) {
    let Some(tz) = zone.and_then(|z| z.parse::<chrono_tz::Tz>().ok()) else {
        return;
    };
    let _ = CURRENT.try_with(|h| h.zone.set(Some(tz)));
}

/// A moment (unix seconds) for people: date and time in the person's time zone when known,
/// else in UTC, with the zone named.
pub fn when(ts: i64) -> String {
    use chrono::TimeZone;
    let Some(utc) = chrono::DateTime::from_timestamp(ts, 0) else {
        return String::new();
    };
    match CURRENT.try_with(|h| h.zone.get()).ok().flatten() {
        Some(tz) => tz
            .from_utc_datetime(&utc.naive_utc())
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
        None => utc.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// The address of the page being answered (for the language switch to come back to);
/// `/` for anything but a GET.
pub fn here() -> String {
    CURRENT
        .try_with(|h| h.path.clone())
        .unwrap_or_else(|_| "/".into())
}

/// The language being used, as a BCP 47 tag (for `<html lang>` and the switch).
pub fn lang() -> &'static str {
    CATALOGUES[current_index()].tag
}

/// The message `key` in the current language (falling back to the default language, then
/// to the key itself, which `tests::every_key_used_exists` keeps from happening).
pub fn t(key: &str) -> String {
    format(key, None)
}

/// `t` with one argument (`{ $name }` in the message).
pub fn t1(key: &str, name: &str, value: impl Display) -> String {
    let mut args = FluentArgs::new();
    args.set(name, value_of(value));
    format(key, Some(&args))
}

/// `t` with two arguments.
pub fn t2(key: &str, name: &str, value: impl Display, name2: &str, value2: impl Display) -> String {
    let mut args = FluentArgs::new();
    args.set(name, value_of(value));
    args.set(name2, value_of(value2));
    format(key, Some(&args))
}

/// Numbers stay numbers, so plural rules apply to them.
fn value_of(value: impl Display) -> FluentValue<'static> {
    let s = value.to_string();
    // Only what reads back the same is a number: "0123" and "+351…" stay text.
    match s.parse::<i64>() {
        Ok(n) if n.to_string() == s => FluentValue::from(n),
        _ => FluentValue::from(s),
    }
}

fn format(key: &str, args: Option<&FluentArgs>) -> String {
    let here = current_index();
    for i in [here, 0] {
        let bundle = &CATALOGUES[i].bundle;
        if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            return bundle
                .format_pattern(pattern, args, &mut errors)
                .into_owned();
        }
    }
    key.to_string()
}

/// The name of each language in itself, for the switch.
pub fn choices() -> Vec<(&'static str, String)> {
    CATALOGUES
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = CURRENT.sync_scope(Here::new((i, Rank::Chosen)), || t("language-name"));
            (c.tag, name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(tag: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (_, file, text) in generated::SOURCES.iter().filter(|s| s.0 == tag) {
            let resource = FluentResource::try_new(text.to_string())
                .unwrap_or_else(|(_, e)| panic!("{tag}/{file} does not parse: {e:?}"));
            for entry in resource.entries() {
                if let fluent_syntax::ast::Entry::Message(m) = entry {
                    out.insert(m.id.name.to_string());
                }
            }
        }
        out
    }

    fn templates() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
    }

    /// Every file below `dirs`.
    fn files_under(dirs: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
        let mut stack = dirs.to_vec();
        let mut files = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files
    }

    #[test]
    fn every_catalogue_parses_and_has_every_key() {
        let languages = supported();
        assert!(languages.len() >= 2, "English and Portuguese at least");
        assert_eq!(languages[0], DEFAULT);
        let reference = keys(DEFAULT);
        assert!(reference.len() > 50, "{} keys", reference.len());
        for tag in &languages[1..] {
            let theirs = keys(tag);
            let missing: Vec<_> = reference.difference(&theirs).collect();
            let extra: Vec<_> = theirs.difference(&reference).collect();
            assert!(missing.is_empty(), "{tag} lacks {missing:?}");
            assert!(extra.is_empty(), "{tag} has keys English lacks: {extra:?}");
        }
    }

    /// Every `t("key")`, `t1("key", …)` and `t2("key", …)` in the templates and the code
    /// names a message that exists.
    #[test]
    fn every_key_used_exists() {
        let known = keys(DEFAULT);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut used = BTreeSet::new();
        for path in files_under(&[root.join("src"), root.join("templates")]) {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for marker in ["t(\"", "t1(\"", "t2(\""] {
                for (at, _) in text.match_indices(marker) {
                    let rest = &text[at + marker.len()..];
                    let key: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect();
                    if rest[key.len()..].starts_with('"') && key.contains('-') {
                        used.insert((key, path.display().to_string()));
                    }
                }
            }
        }
        assert!(used.len() > 50, "found {} uses", used.len());
        let missing: Vec<_> = used.iter().filter(|(k, _)| !known.contains(k)).collect();
        assert!(
            missing.is_empty(),
            "keys used but not in the catalogue: {missing:?}"
        );
    }

    /// The templates carry no words of their own: text outside tags and `{{ }}` is
    /// punctuation, names of the product, or nothing.
    #[test]
    fn templates_have_no_loose_words() {
        let mut loose = Vec::new();
        for path in files_under(&[templates()]) {
            let text = std::fs::read_to_string(&path).unwrap();
            for word in loose_words(&text) {
                loose.push(format!("{}: {word}", path.display()));
            }
        }
        assert!(
            loose.is_empty(),
            "words outside the catalogue:\n{}",
            loose.join("\n")
        );
    }

    /// A page's title is text: no markup slipped into a `title` block.
    #[test]
    fn titles_hold_no_markup() {
        for path in files_under(&[templates()]) {
            let text = std::fs::read_to_string(&path).unwrap();
            if let Some(start) = text.find("{% block title %}") {
                let rest = &text[start..];
                let end = rest.find("{% endblock %}").unwrap();
                assert!(
                    !rest[..end].contains('<'),
                    "{}: {}",
                    path.display(),
                    &rest[..end]
                );
            }
        }
    }

    /// Words in `text` outside markup, expressions, tags and comments.
    fn loose_words(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = text;
        let mut plain = String::new();
        while !rest.is_empty() {
            let next = ["<", "{{", "{%", "{#"]
                .iter()
                .filter_map(|m| rest.find(m).map(|i| (i, *m)))
                .min();
            let Some((i, marker)) = next else {
                plain.push_str(rest);
                break;
            };
            plain.push_str(&rest[..i]);
            plain.push(' ');
            let close = match marker {
                "<" if rest[i..].starts_with("<style") => "</style>",
                "<" => ">",
                "{{" => "}}",
                "{%" => "%}",
                _ => "#}",
            };
            rest = match rest[i + marker.len()..].find(close) {
                Some(j) => &rest[i + marker.len() + j + close.len()..],
                None => "",
            };
        }
        for word in plain.split(|c: char| !c.is_alphabetic()) {
            if word.chars().count() > 1 && word != "Porta" {
                out.push(word.to_string());
            }
        }
        out
    }

    #[test]
    fn accept_language_orders_by_quality() {
        assert_eq!(
            accept_language("en;q=0.5, pt-PT, fr;q=0, de;q=0.7"),
            vec!["pt-PT", "de", "en"]
        );
        assert_eq!(negotiate(["de", "pt-BR"]), Some("pt-PT"));
        assert_eq!(negotiate(["PT"]), Some("pt-PT"));
        assert_eq!(negotiate(["en-GB"]), Some("en"));
        assert_eq!(negotiate(["de"]), None);
    }

    #[test]
    fn higher_ranks_win_and_outside_a_request_is_english() {
        assert_eq!(lang(), DEFAULT);
        assert_eq!(t("language-name"), "English");
        CURRENT.sync_scope(Here::new((0, Rank::Browser)), || {
            offer(Rank::Saved, ["pt-PT"]);
            assert_eq!(lang(), "pt-PT");
            assert_eq!(t("language-name"), "Português");
            offer(Rank::Browser, ["en"]);
            assert_eq!(lang(), "pt-PT", "a lower rank does not replace");
            offer(Rank::Requested, ["xx", "en"]);
            assert_eq!(lang(), "en");
        });
        within(Some("pt"), || assert_eq!(lang(), "pt-PT"));
    }

    #[test]
    fn times_in_the_persons_zone() {
        // 2026-07-01 12:00 UTC: summer time in Lisbon (UTC+1).
        let ts = 1_782_907_200;
        within(None, || {
            assert_eq!(when(ts), "2026-07-01 12:00 UTC");
            set_zone(Some("Europe/Lisbon"));
            assert_eq!(when(ts), "2026-07-01 13:00 WEST");
            set_zone(Some("Not/AZone"));
            assert_eq!(
                when(ts),
                "2026-07-01 13:00 WEST",
                "an unknown zone changes nothing"
            );
        });
    }
}
