//! The content API (`/api/content`), black-box: the catalogue and its management, search,
//! private progress and bookmarks, and signed media links with Range requests.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

/// An answer of the API.
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

pub(crate) async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut req = http().request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body, got {text:?}"))
    };
    Resp {
        status,
        headers,
        body,
    }
}

pub(crate) async fn get(app: &TestApp, path: &str, token: &str) -> Resp {
    call(app, Method::GET, path, Some(token), None).await
}

pub(crate) async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Resp {
    call(app, Method::POST, path, Some(token), Some(body)).await
}

pub(crate) async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Resp {
    call(app, Method::PUT, path, Some(token), Some(body)).await
}

/// The API with an admin and a person without roles.
pub(crate) struct Library {
    pub(crate) app: TestApp,
    pub(crate) client: porta::clients::CreatedClient,
    pub(crate) admin: String,
    pub(crate) user: String,
}

impl Library {
    pub(crate) async fn open() -> Library {
        Library::open_with(|_| {}).await
    }

    pub(crate) async fn open_with(adjust: impl FnOnce(&mut porta::config::Settings)) -> Library {
        let app = TestApp::spawn_with(adjust).await;
        std::fs::create_dir_all(app.dir.path().join("media")).expect("media folder");
        let client = app.api_client().await;
        let admin = app
            .person_token(&client, "admin@example.com", &["admin"])
            .await;
        let user = app.person_token(&client, "user@example.com", &[]).await;
        Library {
            app,
            client,
            admin,
            user,
        }
    }

    pub(crate) fn media_file(&self, name: &str, bytes: &[u8]) {
        let path = self.app.dir.path().join("media").join(name);
        std::fs::create_dir_all(path.parent().expect("folder")).expect("media folder");
        std::fs::write(path, bytes).expect("media file");
    }

    /// A retreat in `language` with one session holding a free and a premium track.
    pub(crate) async fn seed(&self, title: &str, language: &str) -> Seed {
        let app = &self.app;
        let r = post(
            app,
            "/api/content/admin/retreats",
            &self.admin,
            json!({"title": title, "description": "Ten days of practice", "language": language}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let retreat = r.body["id"].as_str().expect("retreat id").to_string();
        let r = post(
            app,
            &format!("/api/content/admin/retreats/{retreat}/sessions"),
            &self.admin,
            json!({"title": "Day one", "description": "Arriving"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let session = r.body["id"].as_str().expect("session id").to_string();
        let free = self
            .track(&session, json!({"title": "Opening talk", "duration_seconds": 600, "audio_file": "talks/day1.mp3"}))
            .await;
        let premium = self
            .track(
                &session,
                json!({"title": "Guided sitting", "duration_seconds": 1200, "tier": "premium",
                       "audio_file": "talks/sitting.mp3", "transcript_file": "pdf/sitting.pdf"}),
            )
            .await;
        Seed {
            retreat,
            session,
            free,
            premium,
        }
    }

    pub(crate) async fn track(&self, session: &str, body: Value) -> String {
        let r = post(
            &self.app,
            &format!("/api/content/admin/sessions/{session}/tracks"),
            &self.admin,
            body,
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().expect("track id").to_string()
    }

    /// A signed link's path for a track.
    async fn link(&self, token: &str, track: &str, kind: &str) -> Resp {
        get(
            &self.app,
            &format!("/api/content/tracks/{track}/media?kind={kind}"),
            token,
        )
        .await
    }
}

pub(crate) struct Seed {
    pub(crate) retreat: String,
    pub(crate) session: String,
    pub(crate) free: String,
    pub(crate) premium: String,
}

pub(crate) fn assert_error(r: &Resp, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"], error, "{}", r.body);
    assert!(
        r.body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn admins_build_the_catalogue_and_people_read_it() {
    let lib = Library::open().await;
    let app = &lib.app;
    let s = lib.seed("Silent Retreat", "en").await;
    // A second session placed first, a second track placed before the others.
    let r = post(
        app,
        &format!("/api/content/admin/retreats/{}/sessions", s.retreat),
        &lib.admin,
        json!({"title": "Evening", "position": 5}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["position"], 5);
    let evening = r.body["id"].as_str().unwrap().to_string();

    let r = get(app, "/api/content/retreats", &lib.user).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["page"], 1);
    assert_eq!(r.body["items"][0]["title"], "Silent Retreat");
    assert_eq!(r.body["items"][0]["language"], "en");

    let r = get(
        app,
        &format!("/api/content/retreats/{}", s.retreat),
        &lib.user,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sessions = r.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["id"], s.session.as_str());
    assert_eq!(sessions[1]["id"], evening.as_str());
    let tracks = sessions[0]["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 2);
    assert_eq!(tracks[0]["id"], s.free.as_str());
    assert_eq!(tracks[0]["position"], 0);
    assert_eq!(tracks[0]["tier"], "free");
    assert_eq!(
        tracks[0]["language"], "en",
        "tracks default to the retreat's language"
    );
    assert_eq!(tracks[1]["id"], s.premium.as_str());
    assert_eq!(tracks[1]["position"], 1);
    assert_eq!(tracks[1]["tier"], "premium", "premium tracks are listed");
    assert_eq!(tracks[1]["has_transcript"], true);
    assert!(
        tracks[1].get("audio_file").is_none(),
        "file paths stay private"
    );

    let r = get(
        app,
        &format!("/api/content/tracks/{}", s.premium),
        &lib.user,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["retreat_id"], s.retreat.as_str());
    assert_eq!(r.body["session_id"], s.session.as_str());
    assert_eq!(r.body["duration_seconds"], 1200);

    // Updates.
    let r = put(
        app,
        &format!("/api/content/admin/retreats/{}", s.retreat),
        &lib.admin,
        json!({"title": "Silent Retreat 2026", "language": "pt-BR"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["language"], "pt-br");
    let r = put(
        app,
        &format!("/api/content/admin/sessions/{evening}"),
        &lib.admin,
        json!({"title": "Late evening", "description": "Chanting"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["position"], 5, "a missing position is kept");
    let r = put(
        app,
        &format!("/api/content/admin/tracks/{}", s.premium),
        &lib.admin,
        json!({"title": "Guided sitting", "duration_seconds": 1300, "audio_file": "talks/sitting2.mp3"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["tier"], "free");
    assert_eq!(r.body["audio_file"], "talks/sitting2.mp3");
    assert_eq!(r.body["transcript_file"], Value::Null);
    assert_eq!(r.body["has_transcript"], false);

    // Deletes cascade; deleted things are gone.
    let del = |path: String| {
        let token = lib.admin.clone();
        async move { call(app, Method::DELETE, &path, Some(&token), None).await }
    };
    assert_eq!(
        del(format!("/api/content/admin/tracks/{}", s.free))
            .await
            .status,
        204
    );
    let r = get(app, &format!("/api/content/tracks/{}", s.free), &lib.user).await;
    assert_error(&r, 404, "not_found");
    assert_eq!(
        del(format!("/api/content/admin/sessions/{evening}"))
            .await
            .status,
        204
    );
    assert_eq!(
        del(format!("/api/content/admin/retreats/{}", s.retreat))
            .await
            .status,
        204
    );
    let r = get(
        app,
        &format!("/api/content/tracks/{}", s.premium),
        &lib.user,
    )
    .await;
    assert_error(&r, 404, "not_found");
    let r = del(format!("/api/content/admin/retreats/{}", s.retreat)).await;
    assert_error(&r, 404, "not_found");
    let r = get(app, "/api/content/retreats", &lib.user).await;
    assert_eq!(r.body["total"], 0);
}

#[tokio::test]
async fn catalogue_lists_filter_by_language_and_paginate() {
    let lib = Library::open().await;
    let app = &lib.app;
    lib.seed("B retreat", "en").await;
    lib.seed("A retreat", "en").await;
    lib.seed("Stille Tage", "de").await;
    let r = get(
        app,
        "/api/content/retreats?language=EN&per_page=1",
        &lib.user,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 2);
    assert_eq!(r.body["per_page"], 1);
    assert_eq!(r.body["items"][0]["title"], "A retreat");
    let r = get(
        app,
        "/api/content/retreats?language=en&per_page=1&page=2",
        &lib.user,
    )
    .await;
    assert_eq!(r.body["items"][0]["title"], "B retreat");
    let r = get(app, "/api/content/retreats?language=de", &lib.user).await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["title"], "Stille Tage");
    for bad in ["?language=e", "?page=0", "?per_page=1000", "?page=x"] {
        let r = get(app, &format!("/api/content/retreats{bad}"), &lib.user).await;
        assert_error(&r, 400, "invalid_request");
    }
}

#[tokio::test]
async fn search_matches_every_word_and_filters_by_language() {
    let lib = Library::open().await;
    let app = &lib.app;
    let en = lib.seed("Metta Retreat", "en").await;
    let de = lib.seed("Metta Tage", "de").await;
    lib.track(
        &en.session,
        json!({"title": "Loving kindness", "description": "Metta bhavana, 100% gentle", "duration_seconds": 60, "audio_file": "a.mp3"}),
    )
    .await;

    let r = get(app, "/api/content/search?q=METTA", &lib.user).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 3, "{}", r.body);
    let r = get(app, "/api/content/search?q=metta&language=de", &lib.user).await;
    assert_eq!(r.body["total"], 1, "{}", r.body);
    assert_eq!(r.body["items"][0]["kind"], "retreat");
    assert_eq!(r.body["items"][0]["id"], de.retreat.as_str());

    // Every word must match; words may hit the title or the description.
    let r = get(app, "/api/content/search?q=kindness%20bhavana", &lib.user).await;
    assert_eq!(r.body["total"], 1, "{}", r.body);
    let hit = &r.body["items"][0];
    assert_eq!(hit["kind"], "track");
    assert_eq!(hit["retreat_id"], en.retreat.as_str());
    assert_eq!(hit["session_id"], en.session.as_str());
    assert_eq!(hit["tier"], "free");
    let r = get(app, "/api/content/search?q=kindness%20nothing", &lib.user).await;
    assert_eq!(r.body["total"], 0);

    // Sessions and tracks match too; `%` and `_` are literal.
    let r = get(app, "/api/content/search?q=arriving&language=en", &lib.user).await;
    assert_eq!(r.body["total"], 1, "{}", r.body);
    assert_eq!(r.body["items"][0]["kind"], "session");
    let r = get(app, "/api/content/search?q=100%25", &lib.user).await;
    assert_eq!(r.body["total"], 1, "{}", r.body);
    let r = get(app, "/api/content/search?q=%25", &lib.user).await;
    assert_eq!(r.body["total"], 1, "{}", r.body);
    let r = get(app, "/api/content/search?q=_", &lib.user).await;
    assert_eq!(r.body["total"], 0, "{}", r.body);

    // Pages run across kinds: retreats, then sessions, then tracks.
    let r = get(app, "/api/content/search?q=e&per_page=2&page=2", &lib.user).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all = get(app, "/api/content/search?q=e&per_page=100", &lib.user).await;
    let total = all.body["total"].as_i64().unwrap();
    assert_eq!(all.body["items"].as_array().unwrap().len() as i64, total);
    assert_eq!(r.body["items"][0], all.body["items"][2]);

    for bad in [
        "".to_string(),
        "?q=".to_string(),
        "?q=%20%20".to_string(),
        format!("?q={}", "x".repeat(201)),
        "?q=metta&language=english!".to_string(),
    ] {
        let r = get(app, &format!("/api/content/search{bad}"), &lib.user).await;
        assert_error(&r, 400, "invalid_request");
    }
}

/// How many hits `q` finds.
async fn hits(lib: &Library, q: &str) -> i64 {
    let r = get(&lib.app, &format!("/api/content/search?q={q}"), &lib.user).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["total"].as_i64().expect("total")
}

#[tokio::test]
async fn search_folds_non_ascii_capitals_on_every_backend() {
    let lib = Library::open().await;
    let app = &lib.app;
    // Capitals outside ASCII in titles and descriptions of all three kinds.
    let s = lib.seed("Über die Stille", "de").await;
    let r = put(
        app,
        &format!("/api/content/admin/sessions/{}", s.session),
        &lib.admin,
        json!({"title": "Tag eins", "description": "ÉTÉ au monastère"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    lib.track(
        &s.session,
        json!({"title": "ΣΙΩΠΗ", "description": "Öffnung", "duration_seconds": 60, "audio_file": "a.mp3"}),
    )
    .await;

    for q in ["über", "Über", "ÜBER", "üBeR%20stille"] {
        assert_eq!(hits(&lib, q).await, 1, "retreat title, q={q}");
    }
    for q in ["été", "ÉTÉ", "Été", "monastÈre"] {
        assert_eq!(hits(&lib, q).await, 1, "session description, q={q}");
    }
    for q in ["σιωπη", "ΣΙΩΠΗ", "öffnung", "ÖFFNUNG"] {
        assert_eq!(hits(&lib, q).await, 1, "track title or description, q={q}");
    }

    // Changes are searchable at once; the old words are gone.
    let r = put(
        app,
        &format!("/api/content/admin/retreats/{}", s.retreat),
        &lib.admin,
        json!({"title": "Ärger und Gleichmut", "language": "de"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(hits(&lib, "ärger").await, 1);
    assert_eq!(hits(&lib, "über").await, 0);
    let r = put(
        app,
        &format!("/api/content/admin/tracks/{}", s.free),
        &lib.admin,
        json!({"title": "ÉCOUTE", "duration_seconds": 60, "audio_file": "a.mp3"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(hits(&lib, "écoute").await, 1);
    assert_eq!(hits(&lib, "opening").await, 0);
    // A word does not match across the end of a title and the start of its description.
    assert_eq!(hits(&lib, "eins%C3%A9t%C3%A9").await, 0);
}

#[tokio::test]
async fn outlines_put_every_track_under_its_own_session() {
    let lib = Library::open().await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    let new_session = |title: &'static str| {
        let (retreat, admin) = (&s.retreat, &lib.admin);
        async move {
            let r = post(
                app,
                &format!("/api/content/admin/retreats/{retreat}/sessions"),
                admin,
                json!({"title": title}),
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.body);
            r.body["id"].as_str().expect("session id").to_string()
        }
    };
    let second = new_session("Day two").await;
    let empty = new_session("Day three").await;
    // Tracks of two sessions added in turns, positions out of order.
    let mut second_tracks = Vec::new();
    for (i, position) in [3, 1, 2].into_iter().enumerate() {
        second_tracks.push((
            position,
            lib.track(
                &second,
                json!({"title": format!("Talk {i}"), "position": position,
                       "duration_seconds": 60, "audio_file": "a.mp3"}),
            )
            .await,
        ));
        lib.track(
            &s.session,
            json!({"title": format!("Sitting {i}"), "duration_seconds": 60, "audio_file": "a.mp3"}),
        )
        .await;
    }
    second_tracks.sort();

    let r = get(
        app,
        &format!("/api/content/retreats/{}", s.retreat),
        &lib.user,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sessions = r.body["sessions"].as_array().expect("sessions");
    let ids: Vec<&str> = sessions.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [s.session.as_str(), second.as_str(), empty.as_str()]);
    let first_tracks = sessions[0]["tracks"].as_array().unwrap();
    assert_eq!(first_tracks.len(), 5, "{}", r.body);
    assert!(first_tracks
        .iter()
        .all(|t| t["session_id"] == s.session.as_str()));
    let got: Vec<&str> = sessions[1]["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = second_tracks.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(got, want, "in play order");
    assert_eq!(sessions[2]["tracks"], json!([]));
}

#[tokio::test]
async fn tokens_scopes_and_roles_are_enforced() {
    let lib = Library::open().await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;

    // No token: 401 with a bare challenge; a bad token: invalid_token.
    let r = call(app, Method::GET, "/api/content/retreats", None, None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.header("www-authenticate").starts_with("Bearer"));
    let r = call(
        app,
        Method::GET,
        "/api/content/retreats",
        Some("nonsense"),
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").contains("invalid_token"));
    let r = call(
        app,
        Method::GET,
        &format!("/api/content/tracks/{}/media", s.free),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 401);

    // Scopes.
    let reader = app
        .person_token_with_scope(
            &lib.client,
            "reader@example.com",
            &["admin"],
            "openid roles content:read",
        )
        .await;
    let writer = app
        .person_token_with_scope(
            &lib.client,
            "writer@example.com",
            &[],
            "openid content:write",
        )
        .await;
    let r = get(app, "/api/content/retreats", &writer).await;
    assert_error(&r, 403, "insufficient_scope");
    assert!(r.header("www-authenticate").contains("content:read"));
    let r = post(
        app,
        "/api/content/admin/retreats",
        &reader,
        json!({"title": "X", "language": "en"}),
    )
    .await;
    assert_error(&r, 403, "insufficient_scope");
    let r = put(
        app,
        &format!("/api/content/tracks/{}/progress", s.free),
        &reader,
        json!({"position_seconds": 1}),
    )
    .await;
    assert_error(&r, 403, "insufficient_scope");
    let r = post(
        app,
        "/api/content/bookmarks",
        &reader,
        json!({"track_id": s.free, "position_seconds": 1}),
    )
    .await;
    assert_error(&r, 403, "insufficient_scope");

    // Roles: only admins manage the catalogue.
    let admin_calls = [
        (Method::POST, "/api/content/admin/retreats".to_string()),
        (
            Method::PUT,
            format!("/api/content/admin/retreats/{}", s.retreat),
        ),
        (
            Method::DELETE,
            format!("/api/content/admin/retreats/{}", s.retreat),
        ),
        (
            Method::POST,
            format!("/api/content/admin/retreats/{}/sessions", s.retreat),
        ),
        (
            Method::PUT,
            format!("/api/content/admin/sessions/{}", s.session),
        ),
        (
            Method::DELETE,
            format!("/api/content/admin/sessions/{}", s.session),
        ),
        (
            Method::POST,
            format!("/api/content/admin/sessions/{}/tracks", s.session),
        ),
        (Method::PUT, format!("/api/content/admin/tracks/{}", s.free)),
        (
            Method::DELETE,
            format!("/api/content/admin/tracks/{}", s.free),
        ),
    ];
    let track = json!({"title": "X", "duration_seconds": 10, "audio_file": "x.mp3"});
    for (method, path) in admin_calls {
        let body = if method == Method::DELETE {
            None
        } else if path.contains("track") {
            Some(track.clone())
        } else if path.contains("session") {
            Some(json!({"title": "X"}))
        } else {
            Some(json!({"title": "X", "language": "en"}))
        };
        let r = call(app, method.clone(), &path, Some(&lib.user), body).await;
        assert_error(&r, 403, "forbidden");
        assert!(
            r.body["error_description"]
                .as_str()
                .unwrap()
                .contains("admin"),
            "{method} {path}: {}",
            r.body
        );
    }
    let r = get(app, &format!("/api/content/tracks/{}", s.free), &lib.user).await;
    assert_eq!(r.status, 200, "nothing was changed or deleted");

    // A client acting for itself reads the catalogue but has no progress or bookmarks.
    let machine = app
        .client_token(&lib.client, "content:read content:write")
        .await;
    let r = get(app, "/api/content/retreats", &machine).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(app, "/api/content/progress", &machine).await;
    assert_error(&r, 403, "forbidden");
    let r = get(app, "/api/content/bookmarks", &machine).await;
    assert_error(&r, 403, "forbidden");
    let r = post(
        app,
        "/api/content/admin/retreats",
        &machine,
        json!({"title": "X", "language": "en"}),
    )
    .await;
    assert_error(&r, 403, "forbidden");

    // Unknown endpoints answer JSON too.
    let r = get(app, "/api/content/nothing/here", &lib.user).await;
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn catalogue_input_is_checked() {
    let lib = Library::open().await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    let retreats = "/api/content/admin/retreats";
    for body in [
        json!({"title": "", "language": "en"}),
        json!({"title": "   ", "language": "en"}),
        json!({"title": "x".repeat(201), "language": "en"}),
        json!({"title": "Tab\tin title", "language": "en"}),
        json!({"title": "Ok", "language": "english"}),
        json!({"title": "Ok", "language": "e"}),
        json!({"title": "Ok"}),
        json!({"title": "Ok", "language": "en", "colour": "red"}),
        json!({"title": 5, "language": "en"}),
        json!(["not", "an", "object"]),
    ] {
        let r = post(app, retreats, &lib.admin, body.clone()).await;
        assert_error(&r, 400, "invalid_request");
    }
    let r = http()
        .post(app.url(retreats))
        .bearer_auth(&lib.admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    let tracks = format!("/api/content/admin/sessions/{}/tracks", s.session);
    for file in [
        "../secret.mp3",
        "talks/../../secret.mp3",
        "/etc/passwd",
        "talks\\day1.mp3",
        "talks/\u{0}.mp3",
        "c:/talk.mp3",
        "talks//day1.mp3",
        "./day1.mp3",
        "",
    ] {
        let r = post(
            app,
            &tracks,
            &lib.admin,
            json!({"title": "T", "duration_seconds": 10, "audio_file": file}),
        )
        .await;
        assert_error(&r, 400, "invalid_request");
        let r = post(
            app,
            &tracks,
            &lib.admin,
            json!({"title": "T", "duration_seconds": 10, "audio_file": "ok.mp3", "transcript_file": file}),
        )
        .await;
        assert_error(&r, 400, "invalid_request");
    }
    for body in [
        json!({"title": "T", "duration_seconds": 0, "audio_file": "a.mp3"}),
        json!({"title": "T", "duration_seconds": -5, "audio_file": "a.mp3"}),
        json!({"title": "T", "duration_seconds": 10, "audio_file": "a.mp3", "tier": "gold"}),
        json!({"title": "T", "duration_seconds": 10, "audio_file": "a.mp3", "position": -1}),
        json!({"title": "T", "duration_seconds": 10.5, "audio_file": "a.mp3"}),
        json!({"title": "T", "duration_seconds": 10}),
    ] {
        let r = post(app, &tracks, &lib.admin, body).await;
        assert_error(&r, 400, "invalid_request");
    }
    let r = post(
        app,
        "/api/content/admin/sessions/nope/tracks",
        &lib.admin,
        json!({"title": "T", "duration_seconds": 10, "audio_file": "a.mp3"}),
    )
    .await;
    assert_error(&r, 404, "not_found");
    let r = post(
        app,
        "/api/content/admin/retreats/nope/sessions",
        &lib.admin,
        json!({"title": "T"}),
    )
    .await;
    assert_error(&r, 404, "not_found");
    let r = put(
        app,
        "/api/content/admin/sessions/nope",
        &lib.admin,
        json!({"title": "T"}),
    )
    .await;
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn progress_is_saved_and_private() {
    let lib = Library::open().await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    let other = app
        .person_token(&lib.client, "other@example.com", &[])
        .await;
    let path = format!("/api/content/tracks/{}/progress", s.free);

    let r = get(app, &path, &lib.user).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["position_seconds"], 0);
    assert_eq!(r.body["updated_at"], Value::Null);

    let r = put(
        app,
        &path,
        &lib.user,
        json!({"position_seconds": 120, "completed": false}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = put(
        app,
        &path,
        &lib.user,
        json!({"position_seconds": 600, "completed": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(app, &path, &lib.user).await;
    assert_eq!(r.body["position_seconds"], 600);
    assert_eq!(r.body["completed"], true);
    assert!(r.body["updated_at"].is_i64());
    // A premium track's progress needs premium (an active subscription or the role).
    let premium_path = format!("/api/content/tracks/{}/progress", s.premium);
    let r = put(
        app,
        &premium_path,
        &lib.user,
        json!({"position_seconds": 5}),
    )
    .await;
    assert_error(&r, 403, "premium_required");
    let r = get(app, &premium_path, &lib.user).await;
    assert_error(&r, 403, "premium_required");
    let premium = app
        .person_token(&lib.client, "premium@example.com", &["premium"])
        .await;
    let r = put(app, &premium_path, &premium, json!({"position_seconds": 5})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = put(
        app,
        &premium_path,
        &lib.admin,
        json!({"position_seconds": 5}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = get(app, "/api/content/progress", &lib.user).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 1);
    let free = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["track_id"] == s.free.as_str())
        .expect("the free track's progress")
        .clone();
    assert_eq!(free["track_title"], "Opening talk");
    assert_eq!(free["duration_seconds"], 600);
    assert!(free.get("subject").is_none());

    // Someone else sees none of it.
    let r = get(app, &path, &other).await;
    assert_eq!(r.body["position_seconds"], 0);
    assert_eq!(r.body["updated_at"], Value::Null);
    let r = get(app, "/api/content/progress", &other).await;
    assert_eq!(r.body["total"], 0);
    assert_eq!(r.body["items"], json!([]));

    for body in [
        json!({"position_seconds": 601}),
        json!({"position_seconds": -1}),
        json!({"completed": true}),
        json!({"position_seconds": "ten"}),
    ] {
        let r = put(app, &path, &lib.user, body).await;
        assert_error(&r, 400, "invalid_request");
    }
    let r = put(
        app,
        "/api/content/tracks/nope/progress",
        &lib.user,
        json!({"position_seconds": 1}),
    )
    .await;
    assert_error(&r, 404, "not_found");
    let r = get(app, "/api/content/tracks/nope/progress", &lib.user).await;
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn bookmarks_belong_to_their_person() {
    let lib = Library::open().await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    let other = app
        .person_token(&lib.client, "other@example.com", &[])
        .await;

    let r = post(
        app,
        "/api/content/bookmarks",
        &lib.user,
        json!({"track_id": s.free, "position_seconds": 42, "note": "the bell"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["note"], "the bell");
    assert!(r.body.get("subject").is_none());
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = post(
        app,
        "/api/content/bookmarks",
        &lib.user,
        json!({"track_id": s.premium, "position_seconds": 0}),
    )
    .await;
    assert_error(&r, 403, "premium_required");
    let r = post(
        app,
        "/api/content/bookmarks",
        &lib.user,
        json!({"track_id": s.free, "position_seconds": 0}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["note"], "");

    let r = get(app, "/api/content/bookmarks", &lib.user).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 2);
    let r = get(
        app,
        &format!("/api/content/bookmarks?track_id={}", s.free),
        &lib.user,
    )
    .await;
    assert_eq!(r.body["total"], 2);
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == id.as_str()),
        "{}",
        r.body
    );
    let r = get(
        app,
        &format!("/api/content/bookmarks?track_id={}", s.premium),
        &lib.user,
    )
    .await;
    assert_eq!(r.body["total"], 0);

    let path = format!("/api/content/bookmarks/{id}");
    let r = call(
        app,
        Method::PATCH,
        &path,
        Some(&lib.user),
        Some(json!({"note": "the gong"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["note"], "the gong");
    assert_eq!(r.body["position_seconds"], 42);
    let r = call(
        app,
        Method::PATCH,
        &path,
        Some(&lib.user),
        Some(json!({"position_seconds": 50})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["note"], "the gong");
    assert_eq!(r.body["position_seconds"], 50);

    // Someone else: the bookmark does not exist for them.
    let r = get(app, "/api/content/bookmarks", &other).await;
    assert_eq!(r.body["total"], 0);
    let r = call(
        app,
        Method::PATCH,
        &path,
        Some(&other),
        Some(json!({"note": "mine"})),
    )
    .await;
    assert_error(&r, 404, "not_found");
    let r = call(app, Method::DELETE, &path, Some(&other), None).await;
    assert_error(&r, 404, "not_found");

    // Bad input.
    for body in [
        json!({"track_id": s.free, "position_seconds": 601}),
        json!({"track_id": s.free, "position_seconds": -1}),
        json!({"track_id": s.free, "position_seconds": 1, "note": "x".repeat(2001)}),
        json!({"track_id": s.free}),
    ] {
        let r = post(app, "/api/content/bookmarks", &lib.user, body).await;
        assert_error(&r, 400, "invalid_request");
    }
    let r = post(
        app,
        "/api/content/bookmarks",
        &lib.user,
        json!({"track_id": s.free, "position_seconds": 1, "note": "é".repeat(2000)}),
    )
    .await;
    assert_eq!(r.status, 201, "2000 characters fit: {}", r.body);
    let r = post(
        app,
        "/api/content/bookmarks",
        &lib.user,
        json!({"track_id": "nope", "position_seconds": 1}),
    )
    .await;
    assert_error(&r, 404, "not_found");
    for body in [
        json!({}),
        json!({"position_seconds": 601}),
        json!({"note": "x".repeat(2001)}),
    ] {
        let r = call(app, Method::PATCH, &path, Some(&lib.user), Some(body)).await;
        assert_error(&r, 400, "invalid_request");
    }

    let r = call(app, Method::DELETE, &path, Some(&lib.user), None).await;
    assert_eq!(r.status, 204);
    let r = call(app, Method::DELETE, &path, Some(&lib.user), None).await;
    assert_error(&r, 404, "not_found");
    let r = get(app, "/api/content/bookmarks", &lib.user).await;
    assert_eq!(r.body["total"], 2);
}

/// `n` distinct bytes.
fn audio(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn signed_links_serve_files_with_ranges() {
    let lib = Library::open().await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    let bytes = audio(1000);
    lib.media_file("talks/day1.mp3", &bytes);
    lib.media_file("pdf/sitting.pdf", b"%PDF-1.4 transcript");
    let premium = app
        .person_token(&lib.client, "premium@example.com", &["premium"])
        .await;

    let r = lib.link(&lib.user, &s.free, "audio").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    let url = r.body["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with("/api/content/media/talks/day1.mp3?expires="),
        "{url}"
    );
    let expires_at = r.body["expires_at"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now + 295..=now + 305).contains(&expires_at),
        "{expires_at}"
    );

    // No bearer token needed: the signature is the credential.
    let resp = http().get(app.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "audio/mpeg");
    assert_eq!(resp.headers()["accept-ranges"], "bytes");
    let cache = resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cache.starts_with("private, max-age="), "{cache}");
    let max_age: i64 = cache["private, max-age=".len()..].parse().unwrap();
    assert!((290..=300).contains(&max_age), "{cache}");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &bytes[..]);

    let resp = http()
        .get(app.url(&url))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-range"], "bytes 10-19/1000");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &bytes[10..20]);
    let resp = http().head(app.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "1000");

    // Premium: a person without the role is refused, with a reason.
    let r = lib.link(&lib.user, &s.premium, "audio").await;
    assert_error(&r, 403, "premium_required");
    assert_eq!(r.body["subscription"], Value::Null);
    assert!(r.body["error_description"]
        .as_str()
        .unwrap()
        .contains("premium"));
    let r = lib.link(&lib.user, &s.premium, "transcript").await;
    assert_error(&r, 403, "premium_required");
    let r = lib.link(&premium, &s.premium, "transcript").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let resp = http()
        .get(app.url(r.body["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"%PDF-1.4 transcript");
    let r = lib.link(&lib.admin, &s.premium, "audio").await;
    assert_eq!(r.status, 200, "admins hear everything: {}", r.body);
    // ... but that file was never uploaded.
    let r = call(
        app,
        Method::GET,
        r.body["url"].as_str().unwrap(),
        None,
        None,
    )
    .await;
    assert_error(&r, 404, "not_found");

    // Names with spaces, `%` and non-ASCII letters survive the trip through the URL.
    let odd = lib
        .track(
            &s.session,
            json!({"title": "Odd", "duration_seconds": 60, "audio_file": "day 1/100% ä+b.mp3"}),
        )
        .await;
    lib.media_file("day 1/100% ä+b.mp3", b"odd");
    let r = lib.link(&lib.user, &odd, "audio").await;
    let url = r.body["url"].as_str().unwrap();
    assert!(
        url.starts_with("/api/content/media/day%201/100%25%20%C3%A4%2Bb.mp3?"),
        "{url}"
    );
    let resp = http().get(app.url(url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"odd");

    // The link endpoint's own refusals.
    let r = lib.link(&lib.user, &s.free, "transcript").await;
    assert_error(&r, 404, "not_found");
    let r = lib.link(&lib.user, &s.free, "video").await;
    assert_error(&r, 400, "invalid_request");
    let r = lib.link(&lib.user, "nope", "audio").await;
    assert_error(&r, 404, "not_found");
}

/// A key the test knows, to sign links the API would never hand out.
const MEDIA_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn sign(file: &str, expires: i64) -> String {
    let key: Vec<u8> = (0u8..32).collect();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{file}\n{expires}").as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn tampered_or_unsafe_links_are_refused() {
    let lib = Library::open_with(|s| s.content.media_key = Some(MEDIA_KEY.into())).await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    lib.media_file("talks/day1.mp3", &audio(100));
    lib.media_file("talks/day2.mp3", &audio(100));
    std::fs::write(app.dir.path().join("secret.txt"), b"secret").unwrap();

    let r = lib.link(&lib.user, &s.free, "audio").await;
    let url = r.body["url"].as_str().unwrap().to_string();
    let expires = r.body["expires_at"].as_i64().unwrap();
    // The test's key is the server's key.
    assert!(url.ends_with(&sign("talks/day1.mp3", expires)), "{url}");
    let fetch = |path: String| async move { call(app, Method::GET, &path, None, None).await };
    assert_eq!(
        http().get(app.url(&url)).send().await.unwrap().status(),
        200
    );

    let signature = sign("talks/day1.mp3", expires);
    let (base, _) = url.split_once('?').unwrap();
    let mut flipped = signature.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [
        format!("{base}?expires={expires}&signature={flipped}"),
        format!("/api/content/media/talks/day2.mp3?expires={expires}&signature={signature}"),
        format!("{base}?expires={}&signature={signature}", expires + 1000),
        format!("{base}?expires={expires}"),
        format!("{base}?signature={signature}"),
        format!("{base}?expires=soon&signature={signature}"),
        format!("{base}?expires={expires}&signature=%%%"),
        base.to_string(),
    ] {
        let r = fetch(bad.clone()).await;
        assert_eq!(r.status, 403, "{bad}: {}", r.body);
        assert_eq!(r.body["error"], "forbidden", "{bad}");
    }

    // Even a correctly signed path must stay inside the media folder.
    let later = chrono::Utc::now().timestamp() + 300;
    for file in ["../secret.txt", "talks/../../secret.txt", "/etc/passwd"] {
        let signature = sign(file, later);
        for path in [
            file.to_string(),
            file.replace('.', "%2e").replace('/', "%2F"),
        ] {
            let url = format!("/api/content/media/{path}?expires={later}&signature={signature}");
            let resp = http().get(app.url(&url)).send().await.unwrap();
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap();
            assert!(
                [400, 403, 404].contains(&status) && !body.contains("secret"),
                "{url}: {status} {body}"
            );
            if path.contains("%2F") {
                // The signature holds, so this is the path check refusing.
                assert_eq!(status, 400, "{url}: {body}");
            }
        }
    }

    // A symlink inside the folder that leads out of it is not followed.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            app.dir.path().join("secret.txt"),
            app.dir.path().join("media").join("leak.mp3"),
        )
        .unwrap();
        let url = format!(
            "/api/content/media/leak.mp3?expires={later}&signature={}",
            sign("leak.mp3", later)
        );
        let resp = http().get(app.url(&url)).send().await.unwrap();
        assert_eq!(resp.status(), 404);
        assert!(!resp.text().await.unwrap().contains("secret"));
    }
}

#[tokio::test]
async fn signed_links_expire() {
    let lib = Library::open_with(|s| s.content.media_url_ttl = 1).await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    lib.media_file("talks/day1.mp3", &audio(100));
    let r = lib.link(&lib.user, &s.free, "audio").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let url = r.body["url"].as_str().unwrap().to_string();
    let_time_pass(std::time::Duration::from_secs(2), "the 1 s link expires").await;
    let r = call(app, Method::GET, &url, None, None).await;
    assert_error(&r, 403, "forbidden");
    assert_eq!(r.body["error_description"], "the link has expired");
}

#[tokio::test]
async fn every_documented_content_route_exists() {
    let lib = Library::open().await;
    let app = &lib.app;
    let doc: Value = http()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    let mut seen = 0;
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/api/content/")) {
        let concrete = path.replace("{id}", "nope").replace("{file}", "x.mp3");
        let methods = ["get", "head", "put", "post", "delete", "patch"];
        for method in item.as_object().unwrap().keys() {
            if !methods.contains(&method.as_str()) {
                continue;
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = http()
                .request(method.clone(), app.url(&concrete))
                .bearer_auth(&lib.admin)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap();
            assert_ne!(status, 405, "{method} {path}");
            assert!(
                !body.contains("no such content API endpoint"),
                "{method} {path} is documented but not routed"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 30, "every content operation is documented");
}

/// What the OpenAPI document allows is accepted (schemathesis found these): a whole number
/// written `120.0` is an `integer` in JSON Schema; a 405 names the methods (`Allow`).
#[tokio::test]
async fn whole_numbers_as_floats_and_405s_with_allow() {
    let lib = Library::open().await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    let path = format!("/api/content/tracks/{}/progress", s.free);
    let r = put(
        app,
        &path,
        &lib.user,
        json!({"position_seconds": 120.0, "completed": false}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["position_seconds"], 120);
    let r = put(
        app,
        &path,
        &lib.user,
        json!({"position_seconds": 120.5, "completed": false}),
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    let resp = http()
        .request(reqwest::Method::DELETE, app.url(&path))
        .bearer_auth(&lib.user)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, PUT");
}
