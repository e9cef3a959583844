//! The content API in depth (black-box): search inside transcript PDFs on each backend's own
//! full-text engine, a listener's preferences, and listening statistics.

use crate::common::*;
use crate::content::{assert_error, get, post, put, Library};
use reqwest::Method;
use serde_json::{json, Value};

/// A PDF of `pages`, each a list of lines, in Helvetica with WinAnsiEncoding (so Portuguese
/// letters are one byte each, as Windows-1252), with a correct cross-reference table.
pub(crate) fn pdf(pages: &[&[&str]]) -> Vec<u8> {
    let n = pages.len();
    // Objects: 1 catalog, 2 pages, 3 font, then a page and its content stream per page.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes());
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    for (i, lines) in pages.iter().enumerate() {
        let mut stream = b"BT /F1 12 Tf 72 720 Td 16 TL\n".to_vec();
        for line in *lines {
            stream.push(b'(');
            for c in line.chars() {
                match c {
                    '(' | ')' | '\\' => {
                        stream.push(b'\\');
                        stream.push(c as u8);
                    }
                    c if (c as u32) < 0x80 => stream.push(c as u8),
                    // Latin-1 letters have the same code in Windows-1252.
                    c if (c as u32) <= 0xFF => stream.push(c as u32 as u8),
                    _ => stream.push(b'?'),
                }
            }
            stream.extend_from_slice(b") Tj T*\n");
        }
        stream.extend_from_slice(b"ET");
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        let mut content = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
        content.extend_from_slice(&stream);
        content.extend_from_slice(b"\nendstream");
        objects.push(content);
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn on_postgres(app: &TestApp) -> bool {
    app.database.url.starts_with("postgres")
}

/// A retreat in `language` with one session; returns (retreat, session).
async fn retreat(lib: &Library, title: &str, language: &str) -> (String, String) {
    let r = post(
        &lib.app,
        "/api/content/admin/retreats",
        &lib.admin,
        json!({"title": title, "description": "", "language": language}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let retreat = r.body["id"].as_str().unwrap().to_string();
    let r = post(
        &lib.app,
        &format!("/api/content/admin/retreats/{retreat}/sessions"),
        &lib.admin,
        json!({"title": "Day one", "description": "Arriving"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (retreat, r.body["id"].as_str().unwrap().to_string())
}

/// Adds a track with the transcript `file`; returns the admin answer.
async fn track_with(lib: &Library, session: &str, title: &str, file: &str) -> Value {
    let r = post(
        &lib.app,
        &format!("/api/content/admin/sessions/{session}/tracks"),
        &lib.admin,
        json!({"title": title, "duration_seconds": 600, "audio_file": "a.mp3",
               "transcript_file": file}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn search(lib: &Library, query: &str) -> Value {
    let r = get(
        &lib.app,
        &format!("/api/content/search/transcripts?{query}"),
        &lib.user,
    )
    .await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    r.body
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|h| h["track_id"].as_str().unwrap().to_string())
        .collect()
}

/// The snippet's matched words, lower-cased.
fn matched(hit: &Value) -> Vec<String> {
    hit["snippet"]
        .as_array()
        .expect("snippet")
        .iter()
        .filter(|p| p["match"] == true)
        .map(|p| p["text"].as_str().unwrap().to_lowercase())
        .collect()
}

#[tokio::test]
async fn transcripts_are_extracted_indexed_and_found_with_snippets() {
    let lib = Library::open().await;
    let (en_retreat, en_session) = retreat(&lib, "Silent spring", "en").await;
    lib.media_file(
        "t/breath.pdf",
        &pdf(&[
            &[
                "Welcome to the first evening of the retreat.",
                "Tonight we breathe slowly and notice the body.",
            ],
            &[
                "Breathing in, we know we are breathing in.",
                "The breath is an anchor; come back to the breath.",
            ],
        ]),
    );
    lib.media_file(
        "t/walk.pdf",
        &pdf(&[&["Walking meditation: one step, one breath, in the garden."]]),
    );
    let breath = track_with(&lib, &en_session, "Evening talk", "t/breath.pdf").await;
    let index = &breath["transcript_index"];
    assert_eq!(index["status"], "indexed", "{breath}");
    assert_eq!(index["pages"], 2);
    assert_eq!(index["detail"], "");
    assert!(index["characters"].as_i64().unwrap() > 100, "{index}");
    let breath = breath["id"].as_str().unwrap().to_string();
    let walk = track_with(&lib, &en_session, "Walking", "t/walk.pdf").await;
    let walk = walk["id"].as_str().unwrap().to_string();

    // Every word must be found; the transcript that says it more ranks first; the words are
    // stemmed ("breathing" finds "breathe" and "breath") on both backends.
    let page = search(&lib, "q=BREATHING").await;
    assert_eq!(ids(&page), vec![breath.clone(), walk.clone()], "{page}");
    assert_eq!(page["total"], 2);
    let hit = &page["items"][0];
    assert_eq!(hit["title"], "Evening talk");
    assert_eq!(hit["retreat_id"], en_retreat.as_str());
    assert_eq!(hit["retreat_title"], "Silent spring");
    assert_eq!(hit["language"], "en");
    let words = matched(hit);
    assert!(
        !words.is_empty() && words.iter().all(|w| w.starts_with("breath")),
        "{hit}"
    );
    // The snippet is plain pieces that read as the transcript does.
    let text: String = hit["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert!(text.to_lowercase().contains("breath"), "{text}");
    assert!(!text.contains('\u{E000}') && !text.contains('<'), "{text}");

    let page = search(&lib, "q=garden%20step").await;
    assert_eq!(ids(&page), vec![walk.clone()]);
    let page = search(&lib, "q=garden%20anchor").await;
    assert_eq!(page["total"], 0, "every word must be found");
    assert_eq!(ids(&page), Vec::<String>::new());

    // Pagination.
    let page = search(&lib, "q=breath&per_page=1&page=2").await;
    assert_eq!(ids(&page), vec![walk.clone()]);
    assert_eq!(page["total"], 2);
    assert_eq!(page["page"], 2);

    // Filters: retreat and language.
    let (pt_retreat, pt_session) = retreat(&lib, "Retiro de silêncio", "pt").await;
    lib.media_file(
        "t/respiracao.pdf",
        &pdf(&[&["A respiração é uma âncora: breath, em inglês."]]),
    );
    let pt = track_with(&lib, &pt_session, "Palestra", "t/respiracao.pdf").await;
    let pt = pt["id"].as_str().unwrap().to_string();
    let page = search(&lib, "q=breath").await;
    assert_eq!(page["total"], 3, "{page}");
    let page = search(&lib, &format!("q=breath&retreat_id={pt_retreat}")).await;
    assert_eq!(ids(&page), vec![pt.clone()]);
    let page = search(&lib, "q=breath&language=PT").await;
    assert_eq!(ids(&page), vec![pt.clone()]);
    let page = search(&lib, "q=breath&language=en&per_page=100").await;
    assert_eq!(page["total"], 2);

    // Words without a letter find nothing, and never an error.
    let page = search(&lib, "q=--%20%2A").await;
    assert_eq!(page["total"], 0);
    // FTS syntax in the words is taken literally.
    let page = search(&lib, "q=breath%20OR%20NEAR(%22x").await;
    assert_eq!(page["total"], 0, "{page}");
}

#[tokio::test]
async fn portuguese_transcripts_are_stemmed_on_postgres_and_accent_blind_on_sqlite() {
    let lib = Library::open().await;
    let (_, session) = retreat(&lib, "Retiro", "pt").await;
    lib.media_file(
        "manha.pdf",
        &pdf(&[&["A meditação da manhã começa às seis horas, em silêncio."]]),
    );
    let t = track_with(&lib, &session, "Manhã", "manha.pdf").await;
    assert_eq!(t["transcript_index"]["status"], "indexed", "{t}");
    let id = t["id"].as_str().unwrap().to_string();

    let page = search(&lib, "q=medita%C3%A7%C3%A3o").await; // meditação
    assert_eq!(ids(&page), vec![id.clone()], "{page}");
    assert_eq!(matched(&page["items"][0]), vec!["meditação"]);
    let plural = search(&lib, "q=medita%C3%A7%C3%B5es").await; // meditações
    let unaccented = search(&lib, "q=meditacao").await;
    if on_postgres(&lib.app) {
        // The Portuguese stemmer: the plural finds the singular.
        assert_eq!(ids(&plural), vec![id.clone()], "{plural}");
        assert_eq!(matched(&plural["items"][0]), vec!["meditação"]);
    } else {
        // SQLite: no Portuguese stemmer, but accents and case do not matter.
        assert_eq!(plural["total"], 0, "{plural}");
        assert_eq!(ids(&unaccented), vec![id.clone()], "{unaccented}");
        let upper = search(&lib, "q=SIL%C3%8ANCIO").await; // SILÊNCIO
        assert_eq!(ids(&upper), vec![id], "{upper}");
    }
}

#[tokio::test]
async fn unreadable_missing_and_oversized_transcripts_are_reported_not_fatal() {
    let lib = Library::open_with(|s| s.content.transcript_max_bytes = 2048).await;
    let (_, session) = retreat(&lib, "Retreat", "en").await;

    lib.media_file("notes.pdf", b"these are plain notes, not a PDF");
    let t = track_with(&lib, &session, "Not a PDF", "notes.pdf").await;
    assert_eq!(t["transcript_index"]["status"], "unreadable", "{t}");
    assert_eq!(t["transcript_index"]["detail"], "the file is not a PDF");

    let whole = pdf(&[&["A talk about kindness and patience."]]);
    lib.media_file("cut.pdf", &whole[..whole.len() / 3]);
    let t = track_with(&lib, &session, "Cut short", "cut.pdf").await;
    assert_eq!(t["transcript_index"]["status"], "unreadable", "{t}");
    assert!(
        t["transcript_index"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("the PDF"),
        "{t}"
    );

    lib.media_file("empty.pdf", &pdf(&[&[]]));
    let t = track_with(&lib, &session, "Scanned", "empty.pdf").await;
    assert_eq!(t["transcript_index"]["status"], "unreadable", "{t}");
    assert_eq!(t["transcript_index"]["pages"], 1);
    assert!(t["transcript_index"]["detail"]
        .as_str()
        .unwrap()
        .contains("no text"));

    let t = track_with(&lib, &session, "Not there", "nowhere.pdf").await;
    assert_eq!(t["transcript_index"]["status"], "missing", "{t}");

    let long: Vec<String> = (0..200)
        .map(|i| format!("Line {i} of a long talk about patience."))
        .collect();
    let lines: Vec<&str> = long.iter().map(String::as_str).collect();
    let big = pdf(&[&lines]);
    assert!(big.len() > 2048);
    lib.media_file("big.pdf", &big);
    let t = track_with(&lib, &session, "Too long", "big.pdf").await;
    assert_eq!(t["transcript_index"]["status"], "too_large", "{t}");

    // The tracks exist, and none of them is found.
    let r = get(&lib.app, "/api/content/retreats", &lib.user).await;
    assert_eq!(r.status, 200);
    let page = search(&lib, "q=patience").await;
    assert_eq!(page["total"], 0, "{page}");
    let page = search(&lib, "q=kindness").await;
    assert_eq!(page["total"], 0, "{page}");
}

#[tokio::test]
async fn a_replaced_removed_or_deleted_transcript_takes_its_words_along() {
    let lib = Library::open().await;
    let (_, session) = retreat(&lib, "Retreat", "en").await;
    lib.media_file("one.pdf", &pdf(&[&["The mountain is still."]]));
    lib.media_file("two.pdf", &pdf(&[&["The river keeps flowing."]]));
    let t = track_with(&lib, &session, "Talk", "one.pdf").await;
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(ids(&search(&lib, "q=mountain").await), vec![id.clone()]);

    let path = format!("/api/content/admin/tracks/{id}");
    let body = |file: Option<&str>| {
        let mut b = json!({"title": "Talk", "duration_seconds": 600, "audio_file": "a.mp3"});
        if let Some(f) = file {
            b["transcript_file"] = json!(f);
        }
        b
    };
    let r = put(&lib.app, &path, &lib.admin, body(Some("two.pdf"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["transcript_index"]["file"], "two.pdf");
    assert_eq!(search(&lib, "q=mountain").await["total"], 0);
    assert_eq!(ids(&search(&lib, "q=river").await), vec![id.clone()]);

    let r = put(&lib.app, &path, &lib.admin, body(None)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["transcript_index"], Value::Null);
    assert_eq!(search(&lib, "q=river").await["total"], 0);

    let r = put(&lib.app, &path, &lib.admin, body(Some("two.pdf"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(search(&lib, "q=river").await["total"], 1);
    let r = crate::content::call(&lib.app, Method::DELETE, &path, Some(&lib.admin), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(search(&lib, "q=river").await["total"], 0);
}

#[tokio::test]
async fn transcript_search_refuses_bad_input_and_needs_a_token() {
    let lib = Library::open().await;
    let app = &lib.app;
    for (query, why) in [
        ("", "q is required"),
        ("q=%20%20", "q is required"),
        (&format!("q={}", "a".repeat(201)) as &str, "at most"),
        ("q=a&language=english!", "language"),
        (&format!("q=a&retreat_id={}", "x".repeat(101)), "retreat_id"),
        ("q=a&per_page=0", "per_page"),
    ] {
        let r = get(
            app,
            &format!("/api/content/search/transcripts?{query}"),
            &lib.user,
        )
        .await;
        assert_error(&r, 400, "invalid_request");
        assert!(
            r.body["error_description"].as_str().unwrap().contains(why),
            "{query}: {}",
            r.body
        );
    }
    let r = crate::content::call(
        app,
        Method::GET,
        "/api/content/search/transcripts?q=a",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    let r = crate::content::call(
        app,
        Method::POST,
        "/api/content/search/transcripts?q=a",
        Some(&lib.user),
        None,
    )
    .await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn listener_preferences_are_kept_per_person() {
    let lib = Library::open().await;
    let app = &lib.app;
    let r = get(app, "/api/content/preferences", &lib.user).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"app_language": "en", "content_language": "en", "notifications": false,
               "time_zone": "UTC", "updated_at": null})
    );
    let r = put(
        app,
        "/api/content/preferences",
        &lib.user,
        json!({"app_language": "pt-PT", "content_language": "en-pt", "notifications": true,
               "time_zone": "Europe/Lisbon"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["app_language"], "pt-pt");
    let r = get(app, "/api/content/preferences", &lib.user).await;
    assert_eq!(r.body["content_language"], "en-pt");
    assert_eq!(r.body["notifications"], true);
    assert_eq!(r.body["time_zone"], "Europe/Lisbon");
    assert!(r.body["updated_at"].as_i64().is_some());
    // Another person still has the defaults.
    let r = get(app, "/api/content/preferences", &lib.admin).await;
    assert_eq!(r.body["updated_at"], Value::Null);

    for (body, why) in [
        (
            json!({"app_language": "en", "content_language": "fr", "notifications": true}),
            "content_language",
        ),
        (
            json!({"app_language": "english!", "content_language": "en", "notifications": true}),
            "language",
        ),
        (
            json!({"app_language": "en", "content_language": "en", "notifications": true, "time_zone": "Mars/Base"}),
            "time_zone",
        ),
        (
            json!({"app_language": "en", "content_language": "en"}),
            "notifications",
        ),
        (
            json!({"app_language": "en", "content_language": "en", "notifications": true, "x": 1}),
            "unknown field",
        ),
    ] {
        let r = put(app, "/api/content/preferences", &lib.user, body.clone()).await;
        assert_error(&r, 400, "invalid_request");
        assert!(
            r.body["error_description"].as_str().unwrap().contains(why),
            "{body}: {}",
            r.body
        );
    }
    // A service token (no person) has no preferences.
    let service = app.client_token(&lib.client, "content:read").await;
    let r = get(app, "/api/content/preferences", &service).await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test]
async fn listening_statistics_come_from_the_database() {
    let lib = Library::open().await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    // The listener is the admin (premium tracks are open to the role); the person is another.
    let r = get(app, "/api/content/progress/stats", &lib.admin).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["minutes_listened"], 0);
    assert_eq!(r.body["tracks_started"], 0);
    assert_eq!(r.body["streak"]["current_days"], 0);
    assert_eq!(r.body["last_played"], Value::Null);
    assert_eq!(r.body["retreats"], json!([]));

    // The free track (600 s) completed, the premium one (1200 s) stopped at 90 s.
    let progress = |track: &str, at: i64, done: bool| {
        let path = format!("/api/content/tracks/{track}/progress");
        let user = lib.admin.clone();
        async move {
            put(
                app,
                &path,
                &user,
                json!({"position_seconds": at, "completed": done}),
            )
            .await
        }
    };
    assert_eq!(progress(&s.free, 600, true).await.status, 200);
    let_time_pass(
        std::time::Duration::from_millis(1100),
        "times are in seconds: the next save is later",
    )
    .await;
    assert_eq!(progress(&s.premium, 90, false).await.status, 200);
    let r = get(app, "/api/content/progress/stats", &lib.admin).await;
    let b = &r.body;
    assert_eq!(b["seconds_listened"], 690, "{b}");
    assert_eq!(b["minutes_listened"], 11);
    assert_eq!(b["tracks_started"], 2);
    assert_eq!(b["tracks_completed"], 1);
    assert_eq!(b["last_played"]["track_id"], s.premium.as_str());
    assert_eq!(b["last_played"]["position_seconds"], 90);
    assert_eq!(b["streak"]["current_days"], 1);
    assert_eq!(b["streak"]["longest_days"], 1);
    assert_eq!(b["streak"]["listening_days"], 1);
    let retreat = &b["retreats"][0];
    assert_eq!(retreat["retreat_id"], s.retreat.as_str());
    assert_eq!(retreat["tracks"], 2);
    assert_eq!(retreat["tracks_completed"], 1);
    assert_eq!(retreat["percent_complete"], 50);
    // Another person's statistics are their own.
    let r = get(app, "/api/content/progress/stats", &lib.user).await;
    assert_eq!(r.body["tracks_started"], 0);

    // Streaks: days before today, written as the module writes them (days since 1970 in the
    // listener's zone): a run of 3 ending yesterday joins today's (4 in a row), an older
    // run of 5 is the longest.
    let sub = claims(&lib.admin)["sub"].as_str().unwrap().to_string();
    let today = chrono::Utc::now().timestamp().div_euclid(86_400);
    let mut days: Vec<i64> = (1..=3).map(|d| today - d).collect();
    days.extend((20..25).map(|d| today - d));
    let pool = porta::db::connect(&app.database.url, 1, std::time::Duration::from_secs(5))
        .expect("database");
    let mut conn = pool.get().expect("connection");
    for day in days {
        diesel::RunQueryDsl::execute(
            diesel::sql_query(format!(
                "INSERT INTO content_listening_days (subject, day) VALUES ('{sub}', {day})"
            )),
            &mut *conn,
        )
        .expect("insert a day");
    }
    let r = get(app, "/api/content/progress/stats", &lib.admin).await;
    assert_eq!(
        r.body["streak"],
        json!({"current_days": 4, "longest_days": 5, "listening_days": 9}),
        "{}",
        r.body
    );
}

/// A person whose `subscription_plan` and `subscription_expires` attributes (released by
/// `content:read`) are `plan` and `expires`, and their access token.
async fn subscriber(lib: &Library, email: &str, plan: &str, expires: Value) -> String {
    let app = &lib.app;
    let user = porta::accounts::create_user(&app.state.pool, email, None, Some(PASSWORD.into()))
        .await
        .expect("person");
    let values = vec![
        ("subscription_plan".to_string(), Some(json!(plan))),
        ("subscription_expires".to_string(), Some(expires)),
    ];
    porta::db::run(&app.state.pool, move |conn| {
        Ok(porta::accounts::attributes::write(conn, &user.id, &values)?)
    })
    .await
    .expect("attributes");
    app.person_token(&lib.client, email, &[]).await
}

#[tokio::test]
async fn premium_follows_an_active_subscription_in_the_token() {
    let lib = Library::open_with(|s| {
        for (name, kind) in [
            ("subscription_plan", "string"),
            ("subscription_expires", "date"),
        ] {
            s.attributes.attributes.push(
                serde_json::from_value(
                    json!({"name": name, "type": kind, "scope": "content:read"}),
                )
                .expect("attribute"),
            );
        }
    })
    .await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    let active = subscriber(&lib, "active@example.com", "yearly", json!("2999-12-31")).await;
    assert_eq!(claims(&active)["subscription_plan"], "yearly");
    let lapsed = subscriber(&lib, "lapsed@example.com", "monthly", json!("2020-01-31")).await;

    let link = |token: String| {
        let path = format!("/api/content/tracks/{}/media?kind=audio", s.premium);
        async move { get(app, &path, &token).await }
    };
    let r = link(active.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = put(
        app,
        &format!("/api/content/tracks/{}/progress", s.premium),
        &active,
        json!({"position_seconds": 30}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(
        app,
        "/api/content/bookmarks",
        &active,
        json!({"track_id": s.premium, "position_seconds": 30}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Expired: the free tier, and the answer says which plan ended when.
    let r = link(lapsed.clone()).await;
    assert_error(&r, 403, "premium_required");
    assert_eq!(
        r.body["subscription"],
        json!({"plan": "monthly", "expires_at": 1_580_515_200, "active": false})
    );
    assert!(
        r.body["error_description"]
            .as_str()
            .unwrap()
            .contains("monthly subscription ended at 2020-02-01T00:00:00Z"),
        "{}",
        r.body
    );
    let r = put(
        app,
        &format!("/api/content/tracks/{}/progress", s.premium),
        &lapsed,
        json!({"position_seconds": 30}),
    )
    .await;
    assert_error(&r, 403, "premium_required");
    let r = post(
        app,
        "/api/content/bookmarks",
        &lapsed,
        json!({"track_id": s.premium, "position_seconds": 30}),
    )
    .await;
    assert_error(&r, 403, "premium_required");
    // Free tracks stay open to them.
    let r = put(
        app,
        &format!("/api/content/tracks/{}/progress", s.free),
        &lapsed,
        json!({"position_seconds": 30}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The answers of the new operations are exactly what `/api/openapi.json` documents (every
/// required field, no undocumented one, types and enums), and the document lists the
/// operations with the parameters and bodies the code reads.
#[tokio::test]
async fn new_content_answers_match_the_openapi_document() {
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
    let check = |path: &str, method: &str, status: u16, body: &Value| {
        crate::admin::conforms(
            &doc,
            crate::admin::answer(&doc, path, method, status),
            body,
            &format!("{method} {path}"),
        );
    };
    let (_, session) = retreat(&lib, "Retreat", "en").await;
    lib.media_file("talk.pdf", &pdf(&[&["Kindness is a practice."]]));
    let t = track_with(&lib, &session, "Talk", "talk.pdf").await;
    let index_schema = json!({"$ref": "#/components/schemas/ContentTranscriptIndex"});
    crate::admin::conforms(
        &doc,
        &index_schema,
        &t["transcript_index"],
        "transcript_index",
    );
    let page = search(&lib, "q=kindness").await;
    assert_eq!(page["total"], 1);
    check("/api/content/search/transcripts", "get", 200, &page);

    let r = get(app, "/api/content/preferences", &lib.user).await;
    check("/api/content/preferences", "get", 200, &r.body);
    let r = put(
        app,
        "/api/content/preferences",
        &lib.user,
        json!({"app_language": "pt-PT", "content_language": "en-pt", "notifications": true}),
    )
    .await;
    check("/api/content/preferences", "put", 200, &r.body);
    let input = &doc["components"]["schemas"]["ContentPreferencesInput"];
    assert_eq!(input["additionalProperties"], false);
    assert_eq!(
        input["required"],
        json!(["app_language", "content_language", "notifications"])
    );
    let zones = input["properties"]["time_zone"]["enum"].as_array().unwrap();
    assert!(zones.contains(&json!("Europe/Lisbon")) && zones.len() > 400);

    let t = t["id"].as_str().unwrap();
    let r = put(
        app,
        &format!("/api/content/tracks/{t}/progress"),
        &lib.user,
        json!({"position_seconds": 10}),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = get(app, "/api/content/progress/stats", &lib.user).await;
    assert_eq!(r.body["retreats"].as_array().unwrap().len(), 1);
    check("/api/content/progress/stats", "get", 200, &r.body);

    let params: Vec<&str> = doc["paths"]["/api/content/search/transcripts"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["q", "language", "retreat_id", "page", "per_page"]);
}

#[tokio::test]
async fn offline_downloads_are_signed_attachments_capped_per_day() {
    let lib = Library::open_with(|s| s.content.media_downloads_per_day = 2).await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    lib.media_file("talks/day1.mp3", &[7u8; 1000]);
    let path = format!("/api/content/tracks/{}/download", s.free);

    let r = get(app, &path, &lib.user).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.body["downloads_today"], 1);
    assert_eq!(r.body["downloads_left_today"], 1);
    // The download setting's life (a day by default), not the streaming link's 5 minutes.
    let left = r.body["expires_at"].as_i64().unwrap() - chrono::Utc::now().timestamp();
    assert!((86_390..=86_400).contains(&left), "{left}");
    let url = r.body["url"].as_str().unwrap().to_string();
    assert!(url.ends_with("&download=1"), "{url}");
    let resp = http().get(app.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"day1.mp3\""
    );
    assert_eq!(resp.bytes().await.unwrap().len(), 1000);

    // The flag is signed: a download link without it, or a streaming link with it, fails.
    let bare = url.trim_end_matches("&download=1");
    let resp = http().get(app.url(bare)).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let r = get(
        app,
        &format!("/api/content/tracks/{}/media", s.free),
        &lib.user,
    )
    .await;
    let stream = r.body["url"].as_str().unwrap().to_string();
    let resp = http()
        .get(app.url(&format!("{stream}&download=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = http()
        .get(app.url(&format!("{stream}&download=yes")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = http().get(app.url(&stream)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(!resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));

    // Premium: refused, and not counted.
    let r = get(
        app,
        &format!("/api/content/tracks/{}/download", s.premium),
        &lib.user,
    )
    .await;
    assert_error(&r, 403, "premium_required");
    let r = get(app, &path, &lib.user).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["downloads_left_today"], 0);
    // The cap: 429 until midnight UTC.
    let r = get(app, &path, &lib.user).await;
    assert_error(&r, 429, "too_many_requests");
    let retry: i64 = r.header("retry-after").parse().unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    // Each person has their own allowance; a client alone has none.
    let r = get(app, &path, &lib.admin).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let service = app.client_token(&lib.client, "content:read").await;
    let r = get(app, &path, &service).await;
    assert_error(&r, 403, "forbidden");

    // Many at once never pass the cap.
    let racer = app
        .person_token(&lib.client, "racer@example.com", &[])
        .await;
    let answers = parallel_gets(app, &path, &racer, 8).await;
    assert_eq!(
        answers.iter().filter(|s| **s == 200).count(),
        2,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|s| **s == 429).count(),
        6,
        "{answers:?}"
    );
}

/// `n` parallel GETs of `path`; their statuses.
async fn parallel_gets(app: &TestApp, path: &str, token: &str, n: usize) -> Vec<u16> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (url, token) = (app.url(path), token.to_string());
        tasks.push(tokio::spawn(async move {
            http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn downloads_can_be_turned_off() {
    let lib = Library::open_with(|s| s.content.media_downloads_per_day = 0).await;
    let s = lib.seed("Retreat", "en").await;
    let r = get(
        &lib.app,
        &format!("/api/content/tracks/{}/download", s.free),
        &lib.user,
    )
    .await;
    assert_error(&r, 403, "forbidden");
    assert!(r.body["error_description"]
        .as_str()
        .unwrap()
        .contains("turned off"));
}

#[tokio::test]
async fn writes_are_limited_per_caller_reads_are_not() {
    let lib = Library::open_with(|s| {
        s.resource.api_write_limit = 6;
        s.resource.api_write_window = 900;
    })
    .await;
    let app = &lib.app;
    let prefs = json!({"app_language": "en", "content_language": "en", "notifications": true});
    for _ in 0..6 {
        let r = put(app, "/api/content/preferences", &lib.user, prefs.clone()).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = put(app, "/api/content/preferences", &lib.user, prefs.clone()).await;
    assert_error(&r, 429, "too_many_requests");
    // One write comes back every 900 / 6 = 150 s.
    let retry: u64 = r.header("retry-after").parse().unwrap();
    assert!((140..=150).contains(&retry), "{retry}");
    // Reads go on; another caller has their own allowance; the bookings API shares it.
    for _ in 0..5 {
        let r = get(app, "/api/content/preferences", &lib.user).await;
        assert_eq!(r.status, 200);
    }
    let r = put(app, "/api/content/preferences", &lib.admin, prefs.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = put(app, "/api/bookings/consultants/me", &lib.user, json!({})).await;
    assert_error(&r, 429, "too_many_requests");
    // A player's periodic progress saves are not counted.
    let s = lib.seed("Retreat", "en").await;
    for at in 0..5 {
        let r = put(
            app,
            &format!("/api/content/tracks/{}/progress", s.free),
            &lib.user,
            json!({"position_seconds": at * 10}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // A bad token is refused before it could count against anyone.
    let r = crate::content::call(
        app,
        Method::PUT,
        "/api/content/preferences",
        Some("not-a-token"),
        Some(prefs),
    )
    .await;
    assert_eq!(r.status, 401);
}

/// A multipart body with one part `name` holding `bytes` as `filename`.
pub(crate) fn multipart(name: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "porta-test-boundary-7f3a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `seconds` of silence as a WAV file (8 kHz, mono, 16-bit).
fn wav(seconds: u32) -> Vec<u8> {
    let data = seconds * 8000 * 2;
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    out.resize(out.len() + data as usize, 0);
    out
}

/// `frames` MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz: 417 bytes and 1152 samples each).
fn mp3(frames: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..frames {
        out.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
        out.resize(out.len() + 413, 0);
    }
    out
}

async fn upload(lib: &Library, token: &str, path: &str, bytes: &[u8]) -> crate::content::Resp {
    let (content_type, body) = multipart("file", "whatever.bin", bytes);
    let resp = http()
        .put(lib.app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    crate::content::Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON, got {text:?}")),
    }
}

#[tokio::test]
async fn admins_upload_audio_and_transcripts_checked_from_their_bytes() {
    let lib = Library::open_with(|s| s.content.media_upload_max_bytes = 200_000).await;
    let app = &lib.app;
    let s = lib.seed("Retreat", "en").await;
    let audio = format!("/api/content/admin/tracks/{}/audio", s.free);

    // WAV: stored by its SHA-256, its length read from the audio.
    let bytes = wav(3);
    let r = upload(&lib, &lib.admin, &audio, &bytes).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    assert_eq!(r.body["file"]["sha256"], sha.as_str());
    assert_eq!(r.body["file"]["bytes"], bytes.len());
    assert_eq!(r.body["file"]["duration_seconds"], 3);
    assert_eq!(r.body["duration_seconds"], 3);
    let first = format!("uploads/audio/{sha}.wav");
    assert_eq!(r.body["audio_file"], first.as_str());
    let old_link = get(
        app,
        &format!("/api/content/tracks/{}/media", s.free),
        &lib.user,
    )
    .await;
    let old_url = old_link.body["url"].as_str().unwrap().to_string();
    let served = http().get(app.url(&old_url)).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap().len(), bytes.len());

    // MP3 replaces it: a new path; the link handed out before still plays.
    let r = upload(&lib, &lib.admin, &audio, &mp3(115)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["file"]["media_type"], "audio/mpeg");
    assert_eq!(r.body["duration_seconds"], 3, "115 x 1152 / 44100 = 3.0 s");
    assert!(r.body["audio_file"].as_str().unwrap().ends_with(".mp3"));
    let served = http().get(app.url(&old_url)).send().await.unwrap();
    assert_eq!(served.status(), 200, "the old link lives until it expires");

    // Refused: wrong types (told from the bytes), too large, no file part, not multipart,
    // not an admin, no such track. Nothing is left behind.
    let pdf_bytes = pdf(&[&["Not audio."]]);
    let r = upload(&lib, &lib.admin, &audio, &pdf_bytes).await;
    assert_error(&r, 415, "unsupported_media_type");
    assert!(r.body["error_description"]
        .as_str()
        .unwrap()
        .contains("application/pdf"));
    let r = upload(
        &lib,
        &lib.admin,
        &audio,
        b"ID4 this is text that says it is an mp3",
    )
    .await;
    assert_error(&r, 415, "unsupported_media_type");
    let r = upload(&lib, &lib.admin, &audio, &wav(13)).await;
    assert_error(&r, 413, "request_rejected");
    let (content_type, body) = multipart("other", "a.wav", &wav(1));
    let resp = http()
        .put(app.url(&audio))
        .bearer_auth(&lib.admin)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let r = crate::content::call(app, Method::PUT, &audio, Some(&lib.admin), Some(json!({}))).await;
    assert_error(&r, 400, "invalid_request");
    let r = upload(&lib, &lib.user, &audio, &wav(1)).await;
    assert_error(&r, 403, "forbidden");
    let r = upload(
        &lib,
        &lib.admin,
        "/api/content/admin/tracks/nope/audio",
        &wav(1),
    )
    .await;
    assert_error(&r, 404, "not_found");
    let leftovers: Vec<_> = std::fs::read_dir(app.dir.path().join("media/uploads/audio"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".incoming"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A transcript upload is indexed for search.
    let transcript = format!("/api/content/admin/tracks/{}/transcript", s.free);
    let r = upload(
        &lib,
        &lib.admin,
        &transcript,
        &pdf(&[&["Equanimity, gently."]]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["transcript_index"]["status"], "indexed");
    assert_eq!(search(&lib, "q=equanimity").await["total"], 1);
    let r = upload(&lib, &lib.admin, &transcript, &wav(1)).await;
    assert_error(&r, 415, "unsupported_media_type");

    // Once the links have expired, files no track holds are removed (here: made due at
    // once), and deleting a track takes its uploaded files along.
    let wav_path = app.dir.path().join("media").join(&first);
    assert!(wav_path.exists());
    let pool = porta::db::connect(&app.database.url, 1, std::time::Duration::from_secs(5))
        .expect("database");
    let due = |pool: &porta::db::DbPool| {
        let mut conn = pool.get().expect("connection");
        diesel::RunQueryDsl::execute(
            diesel::sql_query("UPDATE content_removals SET remove_after = 0"),
            &mut *conn,
        )
        .expect("make due");
    };
    due(&pool);
    let r = upload(&lib, &lib.admin, &transcript, &pdf(&[&["Again."]])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!wav_path.exists(), "the replaced WAV is gone");
    let mp3_path = app.dir.path().join("media").join(
        get(
            app,
            &format!("/api/content/tracks/{}/media", s.free),
            &lib.admin,
        )
        .await
        .body["url"]
            .as_str()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .trim_start_matches("/api/content/media/"),
    );
    assert!(mp3_path.exists(), "{}", mp3_path.display());
    let r = crate::content::call(
        app,
        Method::DELETE,
        &format!("/api/content/admin/tracks/{}", s.free),
        Some(&lib.admin),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(mp3_path.exists(), "kept while links may name it");
    due(&pool);
    let premium_audio = format!("/api/content/admin/tracks/{}/audio", s.premium);
    let r = upload(&lib, &lib.admin, &premium_audio, &wav(1)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!mp3_path.exists(), "the deleted track's audio is gone");
    // A track pointed elsewhere by PUT lets its uploaded file go too.
    let wav1 = app
        .dir
        .path()
        .join("media")
        .join(r.body["audio_file"].as_str().unwrap());
    let r = put(
        app,
        &format!("/api/content/admin/tracks/{}", s.premium),
        &lib.admin,
        json!({"title": "Guided sitting", "duration_seconds": 1200, "tier": "premium",
               "audio_file": "talks/sitting.mp3"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(wav1.exists(), "kept while links may name it");
    due(&pool);
    let r = upload(&lib, &lib.admin, &premium_audio, &wav(2)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!wav1.exists(), "the file the track no longer names is gone");
    // An audio file whose length cannot be read is refused and leaves nothing behind.
    let r = upload(
        &lib,
        &lib.admin,
        &premium_audio,
        &[0xFF, 0xFB, 0x90, 0x00, 1, 2, 3],
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    let files: Vec<_> = std::fs::read_dir(app.dir.path().join("media/uploads/audio"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
}
