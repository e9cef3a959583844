//! Bearer tokens (RFC 6750): the one parser of the `Authorization` header and the one
//! renderer of `WWW-Authenticate` challenges, used by userinfo, the admin API and the
//! APIs' token check alike. Each caller maps what it found to its own error answer.

use actix_web::http::header;
use actix_web::HttpRequest;

/// The longest token accepted; anything longer is malformed, not looked up.
pub const MAX_TOKEN_LEN: usize = 8192;

/// What the `Authorization` header holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Bearer<'a> {
    /// No `Authorization` header.
    Missing,
    /// A header that is not visible ASCII text.
    NotText,
    /// A header with another scheme (`Basic …`) or no scheme at all.
    OtherScheme,
    /// `Bearer` with nothing after it.
    Empty,
    /// A token longer than `MAX_TOKEN_LEN` (each caller decides how to refuse it).
    TooLong(&'a str),
    /// `Bearer <token>`, trimmed.
    Token(&'a str),
}

/// Reads the bearer token of `req`'s `Authorization` header (RFC 6750 2.1); the scheme is
/// matched without regard to case.
pub fn bearer(req: &HttpRequest) -> Bearer<'_> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Bearer::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Bearer::NotText;
    };
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                Bearer::Empty
            } else if token.len() > MAX_TOKEN_LEN {
                Bearer::TooLong(token)
            } else {
                Bearer::Token(token)
            }
        }
        _ => Bearer::OtherScheme,
    }
}

/// A `WWW-Authenticate: Bearer …` challenge (RFC 6750 3): the optional realm, then the
/// given parameters in order. Values are quoted; `"` and `\`, which RFC 6750 3 does not
/// allow in them, become `'`.
pub fn challenge(realm: Option<&str>, params: &[(&str, &str)]) -> String {
    let mut out = String::from("Bearer");
    let all = realm
        .map(|r| ("realm", r))
        .into_iter()
        .chain(params.iter().copied());
    for (i, (name, value)) in all.enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        out.push_str(name);
        out.push_str("=\"");
        out.push_str(&value.replace(['"', '\\'], "'"));
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn reads_the_header_in_every_shape() {
        let with = |v: &str| {
            TestRequest::default()
                .insert_header((header::AUTHORIZATION, v.to_string()))
                .to_http_request()
        };
        assert_eq!(
            bearer(&TestRequest::default().to_http_request()),
            Bearer::Missing
        );
        assert_eq!(bearer(&with("Bearer abc")), Bearer::Token("abc"));
        assert_eq!(bearer(&with("bearer  abc ")), Bearer::Token("abc"));
        assert_eq!(bearer(&with("Basic abc")), Bearer::OtherScheme);
        assert_eq!(bearer(&with("abc")), Bearer::OtherScheme);
        assert_eq!(bearer(&with("Bearer  ")), Bearer::Empty);
        assert_eq!(
            bearer(&with(&format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1)))),
            Bearer::TooLong(&"a".repeat(MAX_TOKEN_LEN + 1))
        );
        let raw = TestRequest::default()
            .insert_header((
                header::AUTHORIZATION,
                header::HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
            ))
            .to_http_request();
        assert_eq!(bearer(&raw), Bearer::NotText);
    }

    #[test]
    fn challenges_quote_their_values() {
        assert_eq!(challenge(None, &[]), "Bearer");
        assert_eq!(challenge(Some("porta"), &[]), "Bearer realm=\"porta\"");
        assert_eq!(
            challenge(
                Some("porta"),
                &[("error", "invalid_token"), ("error_description", "a \"b\\")]
            ),
            "Bearer realm=\"porta\", error=\"invalid_token\", error_description=\"a 'b'\""
        );
    }
}
