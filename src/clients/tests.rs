//! The registered apps' checks: redirect URIs, token formats, ids.

use super::*;

/// A client with these redirect URIs and nothing else, for the tests below.
fn test_client(redirect_uris: Vec<String>) -> Client {
    Client {
        id: "c".into(),
        name: "n".into(),
        secret_hash: None,
        redirect_uris,
        post_logout_redirect_uris: vec![],
        grant_types: vec![],
        scopes: vec![],
        skip_consent: false,
        audiences: vec![],
        web_origins: vec![],
        lifetimes: Default::default(),
        previous_secret: None,
        disabled_at: None,
        created_at: 0,
    }
}

#[test]
fn loopback_redirects_match_on_any_port_and_nothing_else_loosens() {
    let client = test_client(vec![
        "http://127.0.0.1/cb".into(),
        "https://app.example.com/cb".into(),
    ]);
    assert!(client.has_redirect_uri("http://127.0.0.1:51234/cb"));
    assert!(client.has_redirect_uri("http://127.0.0.1/cb"));
    assert!(!client.has_redirect_uri("http://127.0.0.1:51234/other"));
    assert!(!client.has_redirect_uri("http://127.0.0.1.evil.com/cb"));
    assert!(!client.has_redirect_uri("http://localhost:51234/cb"));
    assert!(!client.has_redirect_uri("https://app.example.com:443/cb"));
    assert!(!client.has_redirect_uri("https://app.example.com/cb/"));
}

#[test]
fn redirect_uris_must_be_safe() {
    assert!(validate_redirect_uri("https://app.example.com/cb").is_ok());
    assert!(validate_redirect_uri("http://127.0.0.1:3000/cb").is_ok());
    assert!(validate_redirect_uri("com.example.app:/cb").is_ok());
    assert!(validate_redirect_uri("http://app.example.com/cb").is_err());
    assert!(validate_redirect_uri("https://app.example.com/cb#x").is_err());
    assert!(validate_redirect_uri("javascript:alert(1)").is_err());
    assert!(validate_redirect_uri("/relative").is_err());
}

#[test]
fn web_origins_come_from_redirect_uris_unless_registered() {
    let mut client = test_client(vec![
        "https://app.example.com/cb?x=1".into(),
        "http://127.0.0.1:8080/cb".into(),
        "com.example.app:/cb".into(),
    ]);
    client.audiences = vec!["https://api.example.com".into()];
    assert!(client.allows_origin("https://app.example.com"));
    assert!(client.allows_origin("http://127.0.0.1:8080"));
    assert!(!client.allows_origin("https://app.example.com:8443"));
    assert!(!client.allows_origin("https://evil.example.com"));
    assert!(!client.allows_origin("null"));
    client.web_origins = vec!["https://spa.example.com".into()];
    assert!(client.allows_origin("https://spa.example.com"));
    assert!(!client.allows_origin("https://app.example.com"));
    assert!(client.serves_audience(&["x", "https://api.example.com"]));
    assert!(!client.serves_audience(&["https://other.example.com"]));
}

/// The stored format reads back as written; one this build does not know (a newer
/// build's) reads as JWT, never as something looser.
#[test]
fn access_token_formats_read_back_and_unknown_ones_read_as_jwt() {
    let row = |format: &str| store::ClientRow {
        id: "c".into(),
        name: "n".into(),
        secret_hash: None,
        redirect_uris: "[]".into(),
        post_logout_redirect_uris: "[]".into(),
        grant_types: String::new(),
        scopes: String::new(),
        skip_consent: false,
        created_at: 0,
        audiences: String::new(),
        web_origins: String::new(),
        access_token_ttl: None,
        id_token_ttl: None,
        refresh_token_ttl: None,
        refresh_id_token: true,
        access_token_format: format.into(),
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        disabled_at: None,
    };
    let format = |f: &str| Client::from(row(f)).lifetimes.access_token_format;
    assert_eq!(format("opaque"), AccessTokenFormat::Opaque);
    assert_eq!(format("jwt"), AccessTokenFormat::Jwt);
    assert_eq!(format("paseto"), AccessTokenFormat::Jwt);
    assert_eq!(format(""), AccessTokenFormat::Jwt);
    for f in [AccessTokenFormat::Jwt, AccessTokenFormat::Opaque] {
        assert_eq!(AccessTokenFormat::parse(f.as_str()), Some(f));
    }
}

#[test]
fn client_ids_never_begin_with_a_hyphen() {
    // One base64url id in 64 would begin with `-`: in 2,000 some would.
    for _ in 0..2_000 {
        let id = new_client_id();
        assert_eq!(id.len(), 22, "{id}");
        assert!(!id.starts_with('-'), "{id}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{id}"
        );
    }
}

mod properties {
    use proptest::prelude::*;

    use super::Client;

    fn client(uris: Vec<String>) -> Client {
        super::test_client(uris)
    }

    proptest! {
        #[test]
        fn a_redirect_uri_matches_only_itself_or_its_loopback_twin(
            registered in "(https://[a-z]{1,8}\\.example\\.com|http://127\\.0\\.0\\.1(:[0-9]{1,5})?)/[a-z/?=&]{0,12}",
            asked in ".{0,60}",
        ) {
            let c = client(vec![registered.clone()]);
            prop_assert!(c.has_redirect_uri(&registered));
            if c.has_redirect_uri(&asked) && asked != registered {
                // Only a loopback URI may differ, and only in its port.
                prop_assert!(registered.starts_with("http://127.0.0.1"));
                prop_assert!(asked.starts_with("http://127.0.0.1"));
                let strip = |u: &str| {
                    let rest = &u["http://127.0.0.1".len()..];
                    let rest = rest.strip_prefix(':').map(|r| r.trim_start_matches(|ch: char| ch.is_ascii_digit())).unwrap_or(rest);
                    rest.to_string()
                };
                prop_assert_eq!(strip(&asked), strip(&registered));
            }
        }
    }
}

/// Registering an app while another write holds SQLite's lock waits its turn at the write
/// gate: outside it (busy timeout off) the registration would fail.
#[actix_web::test]
async fn a_registration_waits_its_turn_behind_a_writer_that_holds_the_lock() {
    let (_dir, pool) = crate::db::impatient_pool();
    let new = NewClient {
        name: "Waits its turn".into(),
        redirect_uris: vec!["https://app.example.com/cb".into()],
        post_logout_redirect_uris: vec![],
        public: false,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into()],
        skip_consent: false,
        audiences: vec![],
        web_origins: vec![],
        lifetimes: Default::default(),
    };
    let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
    let created = create(&pool, new).await;
    holder.released();
    let created = created.expect("registered in its turn");
    let found = find(&pool, created.client_id.clone()).await.expect("read");
    assert_eq!(found.map(|c| c.name).as_deref(), Some("Waits its turn"));
}
