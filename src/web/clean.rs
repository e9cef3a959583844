//! Clean input at the boundary: a request whose path, query or body carries a NUL byte (raw,
//! `%00` in a URL or form, `\u0000` in JSON) is refused with 400 before any handler runs,
//! so no such text reaches the database (PostgreSQL refuses NUL in text, SQLite would
//! store it). Bodies are read here under a deadline, so a client that announces a body
//! and never sends it is answered 408 instead of holding a connection.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};

use super::error::PageError;

/// How the boundary reads requests (app data; the size limit is `PayloadConfig`'s).
#[derive(Debug, Clone, Copy)]
pub struct Boundary {
    /// How long the whole body may take to arrive.
    pub body_timeout: Duration,
}

/// The bodies read and checked here: forms and JSON. Others (none today; uploads later)
/// go to their handlers untouched, where a NUL byte may be ordinary data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Form,
    Json,
    Other,
}

fn body_kind(req: &ServiceRequest) -> BodyKind {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/x-www-form-urlencoded" => BodyKind::Form,
        "application/json" => BodyKind::Json,
        ct if ct.ends_with("+json") => BodyKind::Json,
        _ => BodyKind::Other,
    }
}

/// Paths whose callers are programs: refusals there are protocol JSON, elsewhere a page.
fn wants_json(path: &str) -> bool {
    path.starts_with("/api/")
        // The admin API and the older key routes; the console (`/admin`, `/admin/people`…)
        // is pages.
        || path.starts_with("/admin/api/")
        || path.starts_with("/admin/keys")
        || matches!(
            path,
            "/token" | "/introspect" | "/revoke" | "/userinfo" | "/jwks" | "/media"
        )
        || path.starts_with("/.well-known/")
        || path.starts_with("/media/")
}

fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// True when `text` (a path or query, still percent-encoded) carries a NUL.
fn url_has_nul(text: &str) -> bool {
    url_has_nul_bytes(text.as_bytes())
}

/// A form body: a raw NUL or `%00`.
fn form_has_nul(body: &[u8]) -> bool {
    url_has_nul_bytes(body)
}

fn url_has_nul_bytes(text: &[u8]) -> bool {
    text.contains(&0) || contains_ci(text, b"%00")
}

/// A JSON body: a raw NUL or the escape `\u0000` (an escaped backslash followed by the
/// text `u0000` is not one: the backslashes before `u` must be odd in number).
fn json_has_nul(body: &[u8]) -> bool {
    if body.contains(&0) {
        return true;
    }
    body.windows(6).enumerate().any(|(i, w)| {
        w[0] == b'\\'
            && w[1..].eq_ignore_ascii_case(b"u0000")
            && body[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0
    })
}

/// A refusal before any handler: protocol JSON for programs' paths (its description in
/// English, as RFC 6749 wants it ASCII), a page in the person's language elsewhere.
pub(super) fn refuse(
    req: ServiceRequest,
    status: StatusCode,
    why: impl Fn() -> String,
) -> ServiceResponse<BoxBody> {
    let resp = if wants_json(req.path()) {
        let code = match status {
            StatusCode::BAD_REQUEST => "invalid_request",
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            _ => "request_rejected",
        };
        HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "error": code, "error_description": crate::i18n::within(None, &why) }))
    } else {
        let mut resp = PageError::BadRequest(why()).error_response();
        *resp.status_mut() = status;
        resp
    };
    req.into_response(resp)
}

/// The middleware (`actix_web::middleware::from_fn` with the `Boundary` as app data).
pub async fn refuse_bad_input(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if url_has_nul(req.path()) || req.uri().query().is_some_and(url_has_nul) {
        return Ok(refuse(req, StatusCode::BAD_REQUEST, || {
            crate::i18n::t("error-nul-address")
        }));
    }
    let body_timeout = req
        .app_data::<web::Data<Boundary>>()
        .map_or(Duration::from_secs(10), |b| b.body_timeout);
    let kind = body_kind(&req);
    let has_body = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH)
        && kind != BodyKind::Other
        && (req.headers().contains_key(header::CONTENT_LENGTH)
            || req.headers().contains_key(header::TRANSFER_ENCODING));
    if has_body {
        // Read under the deadline; the size limit is the app's `PayloadConfig`.
        let read = tokio::time::timeout(body_timeout, req.extract::<web::Bytes>()).await;
        let body = match read {
            Ok(Ok(body)) => body,
            Ok(Err(e)) => {
                let status = e.as_response_error().status_code();
                let why = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "error-body-too-large"
                } else {
                    "error-body-unreadable"
                };
                return Ok(refuse(req, status, || crate::i18n::t(why)));
            }
            Err(_) => {
                return Ok(refuse(req, StatusCode::REQUEST_TIMEOUT, || {
                    crate::i18n::t("error-body-late")
                }))
            }
        };
        let nul = match kind {
            BodyKind::Form => form_has_nul(&body),
            BodyKind::Json => json_has_nul(&body),
            BodyKind::Other => false,
        };
        if nul {
            return Ok(refuse(req, StatusCode::BAD_REQUEST, || {
                crate::i18n::t("error-nul-body")
            }));
        }
        req.set_payload(Payload::from(body));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_in_every_encoding() {
        assert!(url_has_nul("/a%00b"));
        assert!(url_has_nul("q=%00"));
        assert!(!url_has_nul("q=%2500"));
        assert!(!url_has_nul("q=100"));
        assert!(form_has_nul(b"a=1&b=%00"));
        assert!(form_has_nul(b"a\0b"));
        assert!(!form_has_nul(b"a=1&b=2"));
        assert!(json_has_nul(br#"{"a":"x\u0000"}"#));
        assert!(json_has_nul(br#"{"a":"x\U0000"}"#));
        assert!(json_has_nul(br#"{"a":"\\\u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"\\u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"%00"}"#));
        assert!(json_has_nul(b"{\"a\":\"\0\"}"));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::{form_has_nul, json_has_nul};

    proptest! {
        #[test]
        fn json_nul_is_found_exactly_when_the_decoded_text_has_one(text in "\\PC{0,40}|.{0,40}|[\\\\u0\u{0}]{0,20}") {
            let json = serde_json::to_vec(&serde_json::json!({ "v": text })).unwrap();
            prop_assert_eq!(json_has_nul(&json), text.contains('\0'));
        }

        #[test]
        fn form_nul_is_found_exactly_when_a_decoded_value_has_one(
            pairs in prop::collection::vec((".{0,10}", ".{0,20}"), 0..5)
        ) {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter())
                .finish();
            let has = pairs.iter().any(|(k, v)| k.contains('\0') || v.contains('\0'));
            prop_assert_eq!(form_has_nul(body.as_bytes()), has);
        }
    }
}
