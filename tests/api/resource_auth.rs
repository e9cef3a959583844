//! How the APIs trust tokens: JWKS and introspection modes against a real Porta, and the
//! validator's refusals against a stand-in issuer whose keys the test controls.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use actix_web::{web, App, HttpResponse, HttpServer};
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, HS256, RS256};
use josekit::jwt::{self, JwtPayload};
use porta::config::Settings;
use porta::resource::{ApiError, Mode, Validator, ValidatorConfig};
use serde_json::{json, Value};

const PROBE: &str = "/api/bookings/consultants";

async fn get(url: &str, token: Option<&str>) -> (u16, Option<String>, Value) {
    let mut req = http().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (status, challenge, resp.json().await.unwrap_or(Value::Null))
}

/// The APIs alone, in this process, as `porta serve --only bookings,content` runs them.
struct ApiServer {
    url: String,
    // Dropped in this order: the server, its database, its folder.
    _server: RunningServer,
    _database: TestDb,
    _dir: tempfile::TempDir,
}

impl ApiServer {
    async fn start(adjust: impl FnOnce(&mut Settings)) -> ApiServer {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let database = fresh_database(dir.path());
        let mut settings = test_settings(
            port,
            &database.url,
            &porta::crypto::MasterKey::generate(),
            dir.path(),
        );
        settings.server.parts = "bookings,content".into();
        adjust(&mut settings);
        let settings = settings.validate().expect("valid API settings");
        let s = settings.clone();
        let pool = tokio::task::spawn_blocking(move || porta::app::open_database(&s))
            .await
            .unwrap()
            .unwrap();
        let apis = porta::app::prepare_apis(&settings, pool).unwrap();
        let server = porta::app::api_server(apis, 1, listener).unwrap();
        ApiServer {
            url: format!("http://127.0.0.1:{port}"),
            _server: RunningServer::start(server),
            _database: database,
            _dir: dir,
        }
    }
}

#[tokio::test]
async fn real_tokens_pass_and_refusals_follow_rfc_6750() {
    let app = TestApp::spawn().await;
    let client = app.api_client().await;
    let probe = app.url(PROBE);

    let (status, challenge, body) = get(&probe, None).await;
    assert_eq!(status, 401);
    assert_eq!(challenge.as_deref(), Some("Bearer"));
    assert_eq!(body["error"], "invalid_request");

    let (status, challenge, body) = get(&probe, Some("not-a-token")).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
    assert_eq!(body["error"], "invalid_token");

    // Client credentials and a person's token from the real token endpoint both work.
    let cc = app.client_token(&client, "bookings:read").await;
    assert_eq!(get(&probe, Some(&cc)).await.0, 200);
    let person = app.person_token(&client, EMAIL, &[]).await;
    assert_eq!(get(&probe, Some(&person)).await.0, 200);
    assert_eq!(claims(&person)["roles"], json!(["user"]));

    // The right token without the scope: 403 insufficient_scope naming the scope.
    let other_scope = app.client_token(&client, "content:read").await;
    let (status, challenge, body) = get(&probe, Some(&other_scope)).await;
    assert_eq!(status, 403);
    let challenge = challenge.unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"bookings:read\""), "{challenge}");
    assert_eq!(body["error"], "insufficient_scope");

    // An id token is not an access token (typ), even though Porta signed it.
    let tokens = app.sign_in_tokens(&client).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let (status, _, body) = get(&probe, Some(id_token)).await;
    assert_eq!(status, 401, "{body}");

    // A tampered payload breaks the signature.
    let mut parts: Vec<String> = person.split('.').map(str::to_string).collect();
    let mut payload = claims(&person);
    payload["roles"] = json!(["admin"]);
    parts[1] = base64_url(&payload.to_string());
    let (status, _, body) = get(&probe, Some(&parts.join("."))).await;
    assert_eq!(status, 401);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("signature"));

    // The wrong method answers JSON too.
    let resp = http().delete(&probe).bearer_auth(&cc).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    // Query-string tokens are not accepted (RFC 6750 2.3 is optional and leaks tokens).
    let (status, _, _) = get(&format!("{probe}?access_token={cc}"), None).await;
    assert_eq!(status, 401);
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn roles_come_with_the_roles_scope_and_follow_changes_on_refresh() {
    let app = TestApp::spawn().await;
    let client = app.api_client().await;
    let without = app
        .person_token_with_scope(&client, EMAIL, &["consultant"], "openid bookings:read")
        .await;
    assert!(claims(&without).get("roles").is_none());
    let with = app.person_token(&client, EMAIL, &[]).await;
    assert_eq!(claims(&with)["roles"], json!(["consultant", "user"]));
    // Introspection carries the roles too.
    let seen = app.introspect(&client, &with).await;
    assert_eq!(seen["roles"], json!(["consultant", "user"]));
}

#[tokio::test]
async fn expired_tokens_and_other_audiences_are_refused() {
    // Whole-second times: a 3 s token lives between 2 and 3 s.
    let app = TestApp::spawn_with(|s| {
        s.tokens.access_token_ttl = 3;
        s.resource.resource_leeway = 0;
    })
    .await;
    let client = app.api_client().await;
    let token = app.client_token(&client, "bookings:read").await;
    assert_eq!(get(&app.url(PROBE), Some(&token)).await.0, 200);
    let_time_pass(Duration::from_millis(3100), "the 3 s access token expires").await;
    let (status, challenge, body) = get(&app.url(PROBE), Some(&token)).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("invalid_token"));
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));

    // APIs that want another audience refuse this issuer's default one.
    let picky = TestApp::spawn_with(|s| {
        s.resource.resource_audience = Some("https://api.other.example".into())
    })
    .await;
    let client = picky.api_client().await;
    let token = picky.client_token(&client, "bookings:read").await;
    let (status, _, body) = get(&picky.url(PROBE), Some(&token)).await;
    assert_eq!(status, 401);
    assert!(
        body["error_description"].as_str().unwrap().contains("aud"),
        "{body}"
    );
}

#[tokio::test]
async fn tokens_of_another_porta_are_refused() {
    let app = TestApp::spawn().await;
    let other = TestApp::spawn().await;
    let foreign_client = other.api_client().await;
    let foreign = other.client_token(&foreign_client, "bookings:read").await;
    let (status, challenge, _) = get(&app.url(PROBE), Some(&foreign)).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn a_key_rotated_in_is_accepted_without_a_restart() {
    let app = TestApp::spawn_with(|s| s.resource.resource_jwks_refetch_interval = 1).await;
    let client = app.api_client().await;
    let first = app.client_token(&client, "bookings:read").await;
    assert_eq!(get(&app.url(PROBE), Some(&first)).await.0, 200);

    // Emergency rotation: the new key was never in the JWKS the API cached (max-age 900 s).
    porta::keys::rotation::rotate_now(&app.state.pool, &app.state.master)
        .await
        .unwrap();
    app.state
        .keys
        .reload(&app.state.pool, &app.state.master)
        .await
        .unwrap();
    let second = app.client_token(&client, "bookings:read").await;
    assert_ne!(header(&first)["kid"], header(&second)["kid"]);
    // The unknown kid makes the API refetch (once the 1 s rate limit allows).
    let_time_pass(
        Duration::from_millis(1100),
        "the 1 s JWKS refetch limit passes",
    )
    .await;
    let (status, _, body) = get(&app.url(PROBE), Some(&second)).await;
    assert_eq!(status, 200, "{body}");
    // The retired key's tokens keep working until they expire.
    assert_eq!(get(&app.url(PROBE), Some(&first)).await.0, 200);
}

/// An app with opaque access tokens: an API that introspects takes them; an API that
/// checks signatures with the JWKS cannot read them and says the token is invalid.
#[tokio::test]
async fn opaque_tokens_pass_an_api_that_introspects_and_not_one_that_checks_the_jwks() {
    let app = TestApp::spawn().await;
    let apps_client = app.api_client().await;
    porta::clients::update(
        &app.state.pool,
        &apps_client.client_id,
        porta::clients::ClientChanges {
            access_token_format: Some(porta::clients::AccessTokenFormat::Opaque),
            ..Default::default()
        },
    )
    .await
    .expect("update")
    .expect("the app");
    let api_client = app.resource_server().await;
    let introspecting = ApiServer::start(|s| {
        s.resource.resource_issuer = Some(app.issuer.clone());
        s.resource.resource_validation = "introspection".into();
        s.resource.resource_client_id = Some(api_client.client_id.clone());
        s.resource.resource_client_secret = api_client.client_secret.clone().map(Into::into);
    })
    .await;
    let by_jwks = ApiServer::start(|s| s.resource.resource_issuer = Some(app.issuer.clone())).await;
    for token in [
        app.person_token(&apps_client, EMAIL, &[]).await,
        app.client_token(&apps_client, "bookings:read").await,
    ] {
        assert!(token.starts_with("porta_at_"), "{token}");
        let (status, _, body) = get(&format!("{}{PROBE}", introspecting.url), Some(&token)).await;
        assert_eq!(status, 200, "{body}");
        let (status, challenge, body) = get(&format!("{}{PROBE}", by_jwks.url), Some(&token)).await;
        assert_eq!(status, 401, "{body}");
        assert!(challenge.unwrap().contains("invalid_token"));
    }
}

#[tokio::test]
async fn introspection_mode_refuses_a_revoked_token_at_once() {
    let app = TestApp::spawn().await;
    let apps_client = app.api_client().await;
    let api_client = app.resource_server().await;
    let apis = ApiServer::start(|s| {
        s.resource.resource_issuer = Some(app.issuer.clone());
        s.resource.resource_validation = "introspection".into();
        s.resource.resource_client_id = Some(api_client.client_id.clone());
        s.resource.resource_client_secret = api_client.client_secret.clone().map(Into::into);
    })
    .await;
    let probe = format!("{}{PROBE}", apis.url);
    let tokens = {
        let token = app.person_token(&apps_client, EMAIL, &[]).await;
        token
    };
    let (status, _, body) = get(&probe, Some(&tokens)).await;
    assert_eq!(status, 200, "{body}");

    let revoked = http()
        .post(app.url("/revoke"))
        .basic_auth(&apps_client.client_id, apps_client.client_secret.as_deref())
        .form(&[("token", tokens.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let (status, challenge, body) = get(&probe, Some(&tokens)).await;
    assert_eq!(status, 401, "{body}");
    assert!(challenge.unwrap().contains("invalid_token"));

    // Wrong API credentials: the API cannot check tokens and says so (503), it does not
    // call the token invalid.
    let broken = ApiServer::start(|s| {
        s.resource.resource_issuer = Some(app.issuer.clone());
        s.resource.resource_validation = "introspection".into();
        s.resource.resource_client_id = Some(api_client.client_id.clone());
        s.resource.resource_client_secret = Some("wrong".into());
    })
    .await;
    let fresh = app.client_token(&apps_client, "bookings:read").await;
    let (status, _, body) = get(&format!("{}{PROBE}", broken.url), Some(&fresh)).await;
    assert_eq!(status, 503, "{body}");
}

#[tokio::test]
async fn a_short_introspection_cache_trades_revocation_delay_for_fewer_calls() {
    let app = TestApp::spawn().await;
    let apps_client = app.api_client().await;
    let api_client = app.resource_server().await;
    let apis = ApiServer::start(|s| {
        s.resource.resource_issuer = Some(app.issuer.clone());
        s.resource.resource_validation = "introspection".into();
        s.resource.resource_client_id = Some(api_client.client_id.clone());
        s.resource.resource_client_secret = api_client.client_secret.clone().map(Into::into);
        s.resource.resource_introspection_cache = 2;
    })
    .await;
    let probe = format!("{}{PROBE}", apis.url);
    let token = app.person_token(&apps_client, EMAIL, &[]).await;
    assert_eq!(get(&probe, Some(&token)).await.0, 200);
    http()
        .post(app.url("/revoke"))
        .basic_auth(&apps_client.client_id, apps_client.client_secret.as_deref())
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    // Within the cache time the answer is reused; after it the revocation shows.
    assert_eq!(get(&probe, Some(&token)).await.0, 200);
    let_time_pass(
        Duration::from_millis(2100),
        "the 2 s introspection cache runs out",
    )
    .await;
    assert_eq!(get(&probe, Some(&token)).await.0, 401);
}

// ---- the validator against a stand-in issuer ----

struct FakeIssuer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_fetches: Arc<AtomicUsize>,
    introspections: Arc<AtomicUsize>,
}

fn rsa_key(kid: &str) -> Jwk {
    let mut jwk = Jwk::generate_rsa_key(2048).unwrap();
    jwk.set_key_id(kid);
    jwk.set_algorithm("RS256");
    jwk
}

fn public(jwk: &Jwk) -> Value {
    let mut public = jwk.to_public_key().unwrap();
    public.set_key_id(jwk.key_id().unwrap());
    public.set_algorithm("RS256");
    public.set_key_use("sig");
    serde_json::to_value(public.as_ref()).unwrap()
}

impl FakeIssuer {
    async fn start(first: &Jwk) -> FakeIssuer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let keys = Arc::new(Mutex::new(vec![public(first)]));
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let introspections = Arc::new(AtomicUsize::new(0));
        let (k, f, u, i) = (
            keys.clone(),
            jwks_fetches.clone(),
            url.clone(),
            introspections.clone(),
        );
        let server = HttpServer::new(move || {
            let (k, f, u, i) = (k.clone(), f.clone(), u.clone(), i.clone());
            let issuer = u.clone();
            App::new()
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(move || {
                        let u = u.clone();
                        async move {
                            HttpResponse::Ok().json(json!({
                                "issuer": u,
                                "jwks_uri": format!("{u}/jwks"),
                                "introspection_endpoint": format!("{u}/introspect"),
                            }))
                        }
                    }),
                )
                .route(
                    "/introspect",
                    web::post().to(move |form: web::Form<Vec<(String, String)>>| {
                        let (i, issuer) = (i.clone(), issuer.clone());
                        async move {
                            i.fetch_add(1, Ordering::SeqCst);
                            let good = form.0.iter().any(|(k, v)| k == "token" && v == "good");
                            let now = porta::time::now();
                            HttpResponse::Ok().json(if good {
                                json!({"active": true, "iss": issuer, "aud": "https://api.example",
                                       "sub": "p", "client_id": "c", "scope": "s", "exp": now + 60})
                            } else {
                                json!({"active": false})
                            })
                        }
                    }),
                )
                .route(
                    "/jwks",
                    web::get().to(move || {
                        let (k, f) = (k.clone(), f.clone());
                        async move {
                            f.fetch_add(1, Ordering::SeqCst);
                            let keys = k.lock().unwrap().clone();
                            HttpResponse::Ok()
                                .insert_header(("Cache-Control", "public, max-age=600"))
                                .json(json!({ "keys": keys }))
                        }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        FakeIssuer {
            url,
            keys,
            jwks_fetches,
            introspections,
        }
    }

    fn validator(&self) -> Validator {
        Validator::new(ValidatorConfig {
            issuer: self.url.clone(),
            audience: "https://api.example".into(),
            mode: Mode::Jwks,
            leeway: 5,
            refetch_interval: 1,
            introspection_cache: 0,
        })
    }

    fn claims(&self) -> Value {
        let now = porta::time::now();
        json!({
            "iss": self.url, "aud": "https://api.example", "sub": "person-1",
            "client_id": "app", "scope": "bookings:read", "roles": ["user"],
            "iat": now, "nbf": now, "exp": now + 60, "jti": "j1"
        })
    }
}

fn sign(key: &Jwk, typ: &str, claims: &Value) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(key.key_id().unwrap());
    let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
    jwt::encode_with_signer(&payload, &header, &RS256.signer_from_jwk(key).unwrap()).unwrap()
}

fn refused(result: Result<porta::resource::Caller, ApiError>, mention: &str) {
    match result {
        Err(ApiError::InvalidToken(why)) => assert!(why.contains(mention), "{why} ≠ {mention}"),
        other => panic!("expected invalid_token ({mention}), got {other:?}"),
    }
}

#[tokio::test]
async fn the_validator_checks_every_claim_the_standards_name() {
    let key = rsa_key("k1");
    let issuer = FakeIssuer::start(&key).await;
    let v = issuer.validator();
    let good = issuer.claims();

    let caller = v.validate(&sign(&key, "at+jwt", &good)).await.unwrap();
    assert_eq!(caller.subject, "person-1");
    assert_eq!(caller.client_id, "app");
    assert_eq!(caller.scopes, vec!["bookings:read"]);
    assert_eq!(caller.roles, vec!["user"]);
    // RFC 9068 allows the long media type too; aud may be a list.
    let mut listed = good.clone();
    listed["aud"] = json!(["https://elsewhere", "https://api.example"]);
    assert!(v
        .validate(&sign(&key, "application/at+jwt", &listed))
        .await
        .is_ok());

    let with = |name: &str, value: Value| {
        let mut c = good.clone();
        c[name] = value;
        c
    };
    let now = porta::time::now();
    refused(
        v.validate(&sign(&key, "at+jwt", &with("iss", json!("https://evil"))))
            .await,
        "issuer",
    );
    refused(
        v.validate(&sign(&key, "at+jwt", &with("aud", json!("https://other"))))
            .await,
        "aud",
    );
    refused(
        v.validate(&sign(&key, "at+jwt", &with("exp", json!(now - 10))))
            .await,
        "expired",
    );
    refused(
        v.validate(&sign(&key, "at+jwt", &with("nbf", json!(now + 60))))
            .await,
        "not valid yet",
    );
    refused(v.validate(&sign(&key, "JWT", &good)).await, "typ");
    let mut no_sub = good.clone();
    no_sub.as_object_mut().unwrap().remove("sub");
    refused(v.validate(&sign(&key, "at+jwt", &no_sub)).await, "sub");
    // Within the leeway an expiry a moment ago still passes.
    assert!(v
        .validate(&sign(&key, "at+jwt", &with("exp", json!(now - 2))))
        .await
        .is_ok());

    // HS256 with the public key as the secret (the classic confusion) and alg none.
    let mut header = JwsHeader::new();
    header.set_token_type("at+jwt");
    header.set_key_id("k1");
    let payload = JwtPayload::from_map(good.as_object().unwrap().clone()).unwrap();
    let hs = jwt::encode_with_signer(
        &payload,
        &header,
        &HS256
            .signer_from_bytes(public(&key).to_string().as_bytes())
            .unwrap(),
    )
    .unwrap();
    refused(v.validate(&hs).await, "RS256");
    let none = jwt::encode_unsecured(&payload, &header).unwrap();
    refused(v.validate(&none).await, "RS256");

    // Same kid, another key: a forged signature.
    let forger = rsa_key("k1");
    refused(
        v.validate(&sign(&forger, "at+jwt", &good)).await,
        "signature",
    );
}

#[tokio::test]
async fn unknown_kids_refetch_the_jwks_at_most_once_per_interval() {
    let key = rsa_key("k1");
    let issuer = FakeIssuer::start(&key).await;
    let v = issuer.validator();
    let good = issuer.claims();
    assert!(v.validate(&sign(&key, "at+jwt", &good)).await.is_ok());
    assert_eq!(issuer.jwks_fetches.load(Ordering::SeqCst), 1);

    // A new key appears at the issuer: the first token naming it causes one refetch (once
    // the 1 s limit since the last fetch has passed).
    let rotated = rsa_key("k2");
    issuer.keys.lock().unwrap().push(public(&rotated));
    let_time_pass(
        Duration::from_millis(1100),
        "the 1 s JWKS refetch limit passes",
    )
    .await;
    assert!(v.validate(&sign(&rotated, "at+jwt", &good)).await.is_ok());
    assert_eq!(issuer.jwks_fetches.load(Ordering::SeqCst), 2);

    // A flood of forged kids costs the issuer nothing more within the interval.
    let forger = rsa_key("forged");
    for i in 0..50 {
        let mut header = JwsHeader::new();
        header.set_token_type("at+jwt");
        header.set_key_id(format!("forged-{i}"));
        let payload = JwtPayload::from_map(good.as_object().unwrap().clone()).unwrap();
        let forged =
            jwt::encode_with_signer(&payload, &header, &RS256.signer_from_jwk(&forger).unwrap())
                .unwrap();
        refused(v.validate(&forged).await, "key");
    }
    assert_eq!(issuer.jwks_fetches.load(Ordering::SeqCst), 2);
    // Known keys keep working from the cache.
    assert!(v.validate(&sign(&key, "at+jwt", &good)).await.is_ok());
    assert_eq!(issuer.jwks_fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unreachable_issuer_is_unavailable_not_an_invalid_token() {
    let key = rsa_key("k1");
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let v = Validator::new(ValidatorConfig {
        issuer: dead.clone(),
        audience: dead.clone(),
        mode: Mode::Jwks,
        leeway: 5,
        refetch_interval: 10,
        introspection_cache: 0,
    });
    let now = porta::time::now();
    let claims = json!({"iss": dead, "aud": dead, "sub": "s", "client_id": "c", "exp": now + 60});
    match v.validate(&sign(&key, "at+jwt", &claims)).await {
        Err(ApiError::Unavailable(_)) => {}
        other => panic!("expected unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn introspection_asks_every_time_for_good_tokens_but_remembers_bad_ones() {
    let key = rsa_key("k1");
    let issuer = FakeIssuer::start(&key).await;
    let v = Validator::new(ValidatorConfig {
        issuer: issuer.url.clone(),
        audience: "https://api.example".into(),
        mode: Mode::Introspection {
            client_id: "api".into(),
            client_secret: "secret".into(),
        },
        leeway: 5,
        refetch_interval: 10,
        introspection_cache: 0,
    });
    for _ in 0..3 {
        assert_eq!(v.validate("good").await.unwrap().subject, "p");
    }
    assert_eq!(issuer.introspections.load(Ordering::SeqCst), 3);
    for _ in 0..5 {
        refused(v.validate("junk").await, "not active");
    }
    assert_eq!(issuer.introspections.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn endpoints_on_another_origin_are_not_trusted() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let u = url.clone();
    let server = HttpServer::new(move || {
        let u = u.clone();
        App::new().route(
            "/.well-known/openid-configuration",
            web::get().to(move || {
                let u = u.clone();
                async move {
                    HttpResponse::Ok()
                        .json(json!({ "issuer": u, "jwks_uri": "http://127.0.0.2:9/jwks" }))
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    let v = Validator::new(ValidatorConfig {
        issuer: url.clone(),
        audience: url.clone(),
        mode: Mode::Jwks,
        leeway: 5,
        refetch_interval: 10,
        introspection_cache: 0,
    });
    let key = rsa_key("k1");
    let now = porta::time::now();
    let claims = json!({"iss": url, "aud": url, "sub": "s", "client_id": "c", "exp": now + 60});
    match v.validate(&sign(&key, "at+jwt", &claims)).await {
        Err(ApiError::Unavailable(_)) => {}
        other => panic!("expected unavailable, got {other:?}"),
    }
}

/// A stand-in issuer that misbehaves: its discovery fails with 500 (counting the calls),
/// or its JWKS is far too large.
async fn misbehaving_issuer(kind: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let hits = Arc::new(AtomicUsize::new(0));
    let (u, h) = (url.clone(), hits.clone());
    let server = HttpServer::new(move || {
        let (u, h) = (u.clone(), h.clone());
        App::new()
            .route(
                "/.well-known/openid-configuration",
                web::get().to(move || {
                    let (u, h) = (u.clone(), h.clone());
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        if kind == "failing" {
                            return HttpResponse::InternalServerError().finish();
                        }
                        HttpResponse::Ok()
                            .json(json!({ "issuer": u, "jwks_uri": format!("{u}/jwks") }))
                    }
                }),
            )
            .route(
                "/jwks",
                web::get().to(|| async {
                    // 1 MB of padding inside valid JSON.
                    let pad = "x".repeat(1024 * 1024);
                    HttpResponse::Ok().json(json!({ "keys": [], "pad": pad }))
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (url, hits)
}

fn jwks_validator(issuer: &str) -> Validator {
    Validator::new(ValidatorConfig {
        issuer: issuer.to_string(),
        audience: issuer.to_string(),
        mode: Mode::Jwks,
        leeway: 5,
        refetch_interval: 1,
        introspection_cache: 0,
    })
}

#[tokio::test]
async fn a_failing_issuer_is_not_hammered_and_huge_answers_are_not_read() {
    let key = rsa_key("k1");
    let (url, hits) = misbehaving_issuer("failing").await;
    let v = jwks_validator(&url);
    let now = porta::time::now();
    let token = sign(
        &key,
        "at+jwt",
        &json!({"iss": url, "aud": url, "sub": "s", "client_id": "c", "exp": now + 60}),
    );
    for i in 0..10 {
        let answer = v.validate(&token).await;
        assert!(
            matches!(answer, Err(ApiError::Unavailable(_))),
            "{i}: {answer:?}"
        );
    }
    // One discovery attempt, then 503s without asking again during the backoff.
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let (url, _) = misbehaving_issuer("huge").await;
    let v = jwks_validator(&url);
    let token = sign(
        &key,
        "at+jwt",
        &json!({"iss": url, "aud": url, "sub": "s", "client_id": "c", "exp": now + 60}),
    );
    assert!(matches!(
        v.validate(&token).await,
        Err(ApiError::Unavailable(_))
    ));
}
