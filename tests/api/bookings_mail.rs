//! Appointment emails, black-box: each event reaches the right party in their language
//! and time zone (read from Porta through the module's service account), confirmations
//! carry a calendar file that a cancellation withdraws, reminders come before the start
//! and are dropped for cancelled appointments, and the module's outbox waits out a mail
//! server outage and sends each letter once with two nodes on one database. Every letter
//! is read from a real SMTP sink and parsed as MIME.

use std::collections::HashSet;
use std::time::Duration;

use diesel::prelude::*;
use mail_parser::MimeHeaders;
use serde_json::json;

use crate::bookings::{day, World};
use crate::common::smtp::SmtpSink;
use crate::common::*;

/// The bookings module's service account at Porta.
#[derive(Clone)]
struct Service {
    id: String,
    secret: String,
}

/// Points the bookings module at its service account and its own SMTP server on `port`.
fn mail_settings(s: &mut porta::config::Settings, service: &Service, port: u16) {
    s.bookings.bookings_client_id = Some(service.id.clone());
    s.bookings.bookings_client_secret = Some(service.secret.clone().into());
    s.bookings.booking_smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
    s.bookings.booking_mail_from = "Bookings <bookings@example.com>".into();
    // No status attribute declared in these tests: approval gives the role only.
    s.bookings.bookings_status_attribute = String::new();
    s.mail.outbox_retry_pause = 1;
}

/// A Porta whose bookings module mails through `port`, and its service account. (The
/// account is made on a first start, then Porta starts again with it in its settings.)
async fn mail_world(port: u16) -> (World, Service) {
    let first = TestApp::spawn().await;
    let created = first.bookings_service_account().await;
    let service = Service {
        id: created.client_id,
        secret: created.client_secret.unwrap(),
    };
    let (dir, database, key) = first.stop();
    let s = service.clone();
    let app = TestApp::start(dir, database, key, move |settings| {
        mail_settings(settings, &s, port)
    })
    .await;
    (World::on(app).await, service)
}

/// One letter as the sink received it, parsed.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    text: String,
    html: String,
    message_id: String,
    auto_submitted: bool,
    /// The calendar attachment, if any.
    ics: Option<String>,
}

fn parse(raw: &str) -> Mail {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a MIME message");
    let ics = m
        .attachments()
        .find(|a| a.attachment_name() == Some("appointment.ics"))
        .map(|a| String::from_utf8(a.contents().to_vec()).unwrap());
    Mail {
        to: m
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string(),
        subject: m.subject().unwrap_or_default().to_string(),
        text: m.body_text(0).unwrap_or_default().to_string(),
        html: m.body_html(0).unwrap_or_default().to_string(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        auto_submitted: raw.contains("Auto-Submitted: auto-generated"),
        ics,
    }
}

async fn mail(sink: &SmtpSink, n: usize) -> Mail {
    parse(&sink.message(n).await)
}

/// Gives a person of Porta a language and a time zone.
async fn set_locale(app: &TestApp, email: &str, locale: &str, zone: &str) {
    use porta::db::schema::users::dsl as u;
    let (email, locale, zone) = (email.to_string(), locale.to_string(), zone.to_string());
    porta::db::run(&app.state.pool, move |conn| {
        diesel::update(u::users.filter(u::email.eq(email)))
            .set((u::locale.eq(Some(locale)), u::zoneinfo.eq(Some(zone))))
            .execute(conn)?;
        Ok(())
    })
    .await
    .unwrap();
}

/// The outbox rows of an appointment: (event, party, due_at, outcome, attempts).
async fn notices(app: &TestApp, id: &str) -> Vec<(String, String, i64, Option<String>, i64)> {
    use porta::db::schema::booking_notifications::dsl as n;
    let id = id.to_string();
    porta::db::run(&app.state.pool, move |conn| {
        Ok(n::booking_notifications
            .filter(n::appointment_id.eq(id))
            .order((n::event, n::party))
            .select((n::event, n::party, n::due_at, n::outcome, n::attempts))
            .load(conn)?)
    })
    .await
    .unwrap()
}

/// Lets the reminders of an appointment come due now.
async fn remind_now(app: &TestApp, id: &str) {
    use porta::db::schema::booking_notifications::dsl as n;
    let id = id.to_string();
    porta::db::run(&app.state.pool, move |conn| {
        diesel::update(
            n::booking_notifications
                .filter(n::appointment_id.eq(id))
                .filter(n::event.eq("reminder")),
        )
        .set(n::due_at.eq(chrono::Utc::now().timestamp()))
        .execute(conn)?;
        Ok(())
    })
    .await
    .unwrap();
}

/// Waits a little for any letter sent twice, then checks that the sink holds `n`
/// letters with `n` different Message-IDs; returns them.
async fn each_once(sink: &SmtpSink, n: usize) -> Vec<Mail> {
    let_time_pass(Duration::from_secs(3), "any letter sent twice to arrive").await;
    let all: Vec<Mail> = sink
        .messages
        .lock()
        .unwrap()
        .iter()
        .map(|raw| parse(raw))
        .collect();
    assert_eq!(all.len(), n);
    let ids: HashSet<&str> = all.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), n, "a letter arrived twice");
    all
}

fn ics_has(ics: &str, lines: &[&str]) {
    for line in lines {
        assert!(ics.contains(&format!("{line}\r\n")), "{line} in\n{ics}");
    }
}

#[tokio::test]
async fn every_appointment_event_mails_the_right_party_in_their_language() {
    let sink = SmtpSink::start().await;
    let (w, _) = mail_world(sink.port).await;
    let c = w
        .consultant("cora@example.com", "Europe/Lisbon", true)
        .await;
    let person = w.person("pia@example.com", &[]).await;
    set_locale(&w.app, "pia@example.com", "pt-PT", "America/Sao_Paulo").await;
    let start = day(3).and_hms_opt(10, 0, 0).unwrap().and_utc();
    let compact = start.format("%Y%m%dT%H%M%SZ").to_string();

    // Requested → the consultant, in English (no language of their own), Lisbon time.
    let (s, a) = w.book(&person, &c, &start.to_rfc3339()).await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let m = mail(&sink, 0).await;
    assert_eq!(m.to, "cora@example.com");
    assert!(
        m.subject.starts_with("New request: Consultation, "),
        "{}",
        m.subject
    );
    assert!(
        m.text
            .contains("API Person asked to book Consultation (60 min)"),
        "{}",
        m.text
    );
    assert!(m.html.contains("<p>API Person asked to book"), "{}", m.html);
    assert!(m.auto_submitted);
    assert!(m.ics.is_none());
    assert!(m.message_id.ends_with("@127.0.0.1"), "{}", m.message_id);

    // Confirmed → the person, in Portuguese, São Paulo time, with a calendar entry.
    let (s, body) = w
        .post(&format!("/appointments/{id}/confirm"), &c.token, json!({}))
        .await;
    assert_eq!(s, 200, "{body}");
    let m = mail(&sink, 1).await;
    assert_eq!(m.to, "pia@example.com");
    assert!(
        m.subject.starts_with("Confirmada: Consultation, "),
        "{}",
        m.subject
    );
    assert!(
        m.text.contains("com cora@example.com em ")
            && m.text.contains(", 07:00 (America/Sao_Paulo)"),
        "{}",
        m.text
    );
    let ics = m.ics.expect("a calendar file");
    let uid = format!("UID:{id}@127.0.0.1");
    ics_has(
        &ics,
        &[
            "BEGIN:VCALENDAR",
            "METHOD:PUBLISH",
            &uid,
            &format!("DTSTART:{compact}"),
            "STATUS:CONFIRMED",
            "SEQUENCE:0",
            "END:VCALENDAR",
        ],
    );

    // Reminders wait for a day before the start, one per party.
    let rows = notices(&w.app, &id).await;
    let reminders: Vec<_> = rows.iter().filter(|r| r.0 == "reminder").collect();
    assert_eq!(reminders.len(), 2, "{rows:?}");
    for r in &reminders {
        assert_eq!(r.2, start.timestamp() - 24 * 3600, "{r:?}");
        assert_eq!(r.3, None);
    }
    remind_now(&w.app, &id).await;
    let mut pair = [mail(&sink, 2).await, mail(&sink, 3).await];
    pair.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(pair[0].to, "cora@example.com");
    assert!(pair[0].subject.starts_with("Reminder: Consultation, "));
    assert!(
        pair[0].text.contains("with API Person on "),
        "{}",
        pair[0].text
    );
    assert_eq!(pair[1].to, "pia@example.com");
    assert!(pair[1].subject.starts_with("Lembrete: Consultation, "));

    // The consultant cancels → the person, whose calendar entry is withdrawn.
    let (s, body) = w
        .post(
            &format!("/appointments/{id}/cancel"),
            &c.token,
            json!({"reason": "Doente"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let m = mail(&sink, 4).await;
    assert_eq!(m.to, "pia@example.com");
    assert!(m.subject.starts_with("Cancelada: Consultation, "));
    assert!(
        m.text.contains("foi cancelada pelo consultor"),
        "{}",
        m.text
    );
    assert!(m.text.contains("Motivo: Doente"));
    ics_has(
        &m.ics.expect("a withdrawing calendar file"),
        &["METHOD:PUBLISH", &uid, "STATUS:CANCELLED", "SEQUENCE:1"],
    );

    // Declined → the person, with the reason.
    let (s, b) = w.book(&person, &c, &format!("{}T10:00:00Z", day(4))).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(mail(&sink, 5).await.to, "cora@example.com");
    let (s, body) = w
        .post(
            &format!("/appointments/{}/decline", b["id"].as_str().unwrap()),
            &c.token,
            json!({"reason": "Agenda cheia"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let m = mail(&sink, 6).await;
    assert_eq!(m.to, "pia@example.com");
    assert!(m.subject.starts_with("Recusada: Consultation, "));
    assert!(m.text.contains("Motivo: Agenda cheia"));
    assert!(m.ics.is_none());

    // The person cancels a confirmed one → the consultant, and the person's calendar
    // entry is withdrawn; its reminders are dropped.
    let (s, third) = w.book(&person, &c, &format!("{}T10:00:00Z", day(5))).await;
    assert_eq!(s, 201, "{third}");
    let third = third["id"].as_str().unwrap().to_string();
    assert_eq!(mail(&sink, 7).await.to, "cora@example.com");
    w.post(
        &format!("/appointments/{third}/confirm"),
        &c.token,
        json!({}),
    )
    .await;
    assert_eq!(mail(&sink, 8).await.to, "pia@example.com");
    let (s, body) = w
        .post(&format!("/appointments/{third}/cancel"), &person, json!({}))
        .await;
    assert_eq!(s, 200, "{body}");
    let mut pair = [mail(&sink, 9).await, mail(&sink, 10).await];
    pair.sort_by(|a, b| a.to.cmp(&b.to));
    let [m, own] = pair;
    assert_eq!(m.to, "cora@example.com");
    assert!(m.subject.starts_with("Cancelled: Consultation, "));
    assert!(
        m.text.contains("was cancelled by the person who booked it"),
        "{}",
        m.text
    );
    assert!(m.ics.is_none());
    assert_eq!(own.to, "pia@example.com");
    assert!(own.text.contains("foi cancelada por si"), "{}", own.text);
    ics_has(
        &own.ics.expect("the person's calendar entry withdrawn"),
        &[&format!("UID:{third}@127.0.0.1"), "STATUS:CANCELLED"],
    );
    remind_now(&w.app, &third).await;
    eventually(
        Duration::from_secs(10),
        "the cancelled appointment's reminders to be dropped",
        async || {
            let rows = notices(&w.app, &third).await;
            rows.iter()
                .filter(|r| r.0 == "reminder")
                .all(|r| r.3.as_deref() == Some("skipped"))
                .then_some(())
        },
    )
    .await;

    each_once(&sink, 11).await;
    for r in notices(&w.app, &id).await {
        assert_eq!(r.3.as_deref(), Some("sent"), "{r:?}");
    }
}

#[tokio::test]
async fn a_person_without_a_verified_address_is_skipped_not_retried() {
    let sink = SmtpSink::start().await;
    let (w, _) = mail_world(sink.port).await;
    let c = w.consultant("cora@example.com", "UTC", true).await;
    let person = w.person("pia@example.com", &[]).await;
    {
        use porta::db::schema::users::dsl as u;
        porta::db::run(&w.app.state.pool, |conn| {
            diesel::update(u::users.filter(u::email.eq("cora@example.com")))
                .set(u::email_verified.eq(false))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    }
    let (s, a) = w.book(&person, &c, &format!("{}T10:00:00Z", day(2))).await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let rows = eventually(Duration::from_secs(10), "the row to finish", async || {
        let rows = notices(&w.app, &id).await;
        rows.iter().all(|r| r.3.is_some()).then_some(rows)
    })
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].3.as_deref()),
        ("requested", Some("skipped"))
    );
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn mail_waits_out_an_outage_and_two_nodes_send_each_letter_once() {
    // Nothing listens on the mail port yet.
    let port = free_port();
    let (w, service) = mail_world(port).await;
    // A second node on the same database, with the same settings.
    let node_b = TestApp::start(
        tempfile::tempdir().unwrap(),
        w.app.database.share(),
        w.app.master_key.clone(),
        move |s| mail_settings(s, &service, port),
    )
    .await;
    let c = w.consultant("cora@example.com", "UTC", true).await;
    let mut ids = Vec::new();
    // (Booked at the first node: each test node is its own issuer. Both nodes' workers
    // claim from the one table.)
    for (i, hour) in (9..15).enumerate() {
        let token = w.person(&format!("p{i}@example.com"), &[]).await;
        let (s, body) = w
            .book(&token, &c, &format!("{}T{hour:02}:00:00Z", day(2)))
            .await;
        assert_eq!(s, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    // Every letter fails at least once while the server is down, and waits.
    eventually(
        Duration::from_secs(15),
        "every letter to fail once",
        async || {
            for id in &ids {
                let rows = notices(&w.app, id).await;
                if rows.len() != 1 || rows[0].4 < 1 || rows[0].3.is_some() {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
    // The server comes back: each letter arrives, once.
    let sink = SmtpSink::start_on(port).await;
    eventually(Duration::from_secs(20), "six letters", async || {
        (sink.count() >= 6).then_some(())
    })
    .await;
    let all = each_once(&sink, 6).await;
    assert!(all.iter().all(|m| m.to == "cora@example.com"));
    for id in &ids {
        let rows = notices(&w.app, id).await;
        assert_eq!(rows[0].3.as_deref(), Some("sent"), "{rows:?}");
        assert!(rows[0].4 >= 2, "{rows:?}");
    }
    drop(node_b);
}

/// Letters waiting for a retry are checked against the appointment when they go: after a
/// mail server outage during which a request was confirmed and then cancelled, only the
/// cancellation is sent (no request to answer, no calendar entry for what is cancelled).
#[tokio::test]
async fn letters_overtaken_by_events_are_skipped() {
    let port = free_port();
    let (w, _) = mail_world(port).await;
    let c = w.consultant("cora@example.com", "UTC", true).await;
    let person = w.person("pia@example.com", &[]).await;
    let (s, a) = w.book(&person, &c, &format!("{}T10:00:00Z", day(2))).await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    // Each letter has been tried (and failed) before the state it reports changes.
    let tried = async |event: &str| {
        eventually(Duration::from_secs(10), "a failed try", async || {
            let rows = notices(&w.app, &id).await;
            rows.iter()
                .any(|r| r.0 == event && (r.4 >= 1 || r.3.is_some()))
                .then_some(())
        })
        .await
    };
    tried("requested").await;
    for action in ["confirm", "cancel"] {
        let (s, body) = w
            .post(&format!("/appointments/{id}/{action}"), &c.token, json!({}))
            .await;
        assert_eq!(s, 200, "{body}");
    }
    tried("confirmed").await;
    let sink = SmtpSink::start_on(port).await;
    // (The reminder waits for its time, a day before the start; it is checked then.)
    let rows = eventually(
        Duration::from_secs(30),
        "every due row to finish",
        async || {
            let rows = notices(&w.app, &id).await;
            rows.iter()
                .filter(|r| r.0 != "reminder")
                .all(|r| r.3.is_some())
                .then_some(rows)
        },
    )
    .await;
    let outcome = |event: &str| {
        rows.iter()
            .find(|r| r.0 == event)
            .and_then(|r| r.3.clone())
            .unwrap_or_default()
    };
    assert_eq!(outcome("requested"), "skipped", "{rows:?}");
    assert_eq!(outcome("confirmed"), "skipped", "{rows:?}");
    remind_now(&w.app, &id).await;
    eventually(
        Duration::from_secs(10),
        "the reminders to be dropped",
        async || {
            let rows = notices(&w.app, &id).await;
            rows.iter()
                .filter(|r| r.0 == "reminder")
                .all(|r| r.3.as_deref() == Some("skipped"))
                .then_some(())
        },
    )
    .await;
    assert_eq!(outcome("cancelled"), "sent", "{rows:?}");
    let all = each_once(&sink, 1).await;
    assert_eq!(all[0].to, "pia@example.com");
    assert!(
        all[0].subject.starts_with("Cancelled: "),
        "{}",
        all[0].subject
    );
    assert!(all[0].ics.is_none(), "no calendar entry was ever sent");
}
