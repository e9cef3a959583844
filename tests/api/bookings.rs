//! The bookings API, black-box: profiles and their review, services, hours and time zones,
//! free slots, appointments and their states, refusals of every kind.

use crate::common::*;
use chrono::{Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use porta::clients::CreatedClient;
use reqwest::Method;
use serde_json::{json, Value};

/// A started Porta with an API client and an admin.
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) client: CreatedClient,
    pub(crate) admin: String,
}

impl World {
    /// A world on `app` (with an API client and an admin).
    pub(crate) async fn on(app: TestApp) -> World {
        let client = app.api_client().await;
        let admin = app
            .person_token(&client, "admin@example.com", &["admin"])
            .await;
        World { app, client, admin }
    }

    pub(crate) async fn new() -> World {
        Self::with(|_| {}).await
    }

    pub(crate) async fn with(adjust: impl FnOnce(&mut porta::config::Settings)) -> World {
        Self::on(TestApp::spawn_with(adjust).await).await
    }

    pub(crate) async fn person(&self, email: &str, roles: &[&str]) -> String {
        self.app.person_token(&self.client, email, roles).await
    }

    /// Sends a request; returns the status, the JSON body (Null if none) and the
    /// WWW-Authenticate header.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value, Option<String>) {
        let mut req = http().request(method, self.app.url(&format!("/api/bookings{path}")));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, body, challenge)
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let (s, b, _) = self.send(Method::GET, path, Some(token), None).await;
        (s, b)
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let (s, b, _) = self.send(Method::POST, path, Some(token), Some(body)).await;
        (s, b)
    }

    async fn put(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let (s, b, _) = self.send(Method::PUT, path, Some(token), Some(body)).await;
        (s, b)
    }

    async fn delete(&self, path: &str, token: &str) -> u16 {
        self.send(Method::DELETE, path, Some(token), None).await.0
    }

    /// A consultant with a profile in `tz`, hours 09:00-17:00 local every day and a
    /// 60-minute service; approved unless `approve` is false.
    pub(crate) async fn consultant(&self, email: &str, tz: &str, approve: bool) -> Consultant {
        self.consultant_with_roles(email, tz, approve, &["consultant"])
            .await
    }

    /// As `consultant`, for a person with these roles.
    async fn consultant_with_roles(
        &self,
        email: &str,
        tz: &str,
        approve: bool,
        roles: &[&str],
    ) -> Consultant {
        let token = self.person(email, roles).await;
        let (s, profile) = self
            .put("/consultants/me", &token, profile(email, tz))
            .await;
        assert_eq!(s, 200, "{profile}");
        assert_eq!(profile["status"], "pending");
        let id = profile["id"].as_str().unwrap().to_string();
        let (s, service) = self
            .post(
                "/consultants/me/services",
                &token,
                json!({"name": "Consultation", "duration_minutes": 60, "price": 5000, "currency": "EUR"}),
            )
            .await;
        assert_eq!(s, 201, "{service}");
        let week: Vec<Value> = (0..7)
            .map(|d| json!({"weekday": d, "start": "09:00", "end": "17:00"}))
            .collect();
        let (s, body) = self
            .put("/consultants/me/availability", &token, json!(week))
            .await;
        assert_eq!(s, 200, "{body}");
        if approve {
            let (s, body) = self
                .post(
                    &format!("/admin/consultants/{id}/approve"),
                    &self.admin,
                    json!({}),
                )
                .await;
            assert_eq!(s, 200, "{body}");
            assert_eq!(body["status"], "approved");
        }
        Consultant {
            token,
            id,
            service: service["id"].as_str().unwrap().to_string(),
        }
    }

    pub(crate) async fn book(&self, token: &str, c: &Consultant, starts_at: &str) -> (u16, Value) {
        self.post(
            "/appointments",
            token,
            json!({"consultant_id": c.id, "service_id": c.service, "starts_at": starts_at}),
        )
        .await
    }
}

pub(crate) struct Consultant {
    pub(crate) token: String,
    pub(crate) id: String,
    pub(crate) service: String,
}

fn profile(name: &str, tz: &str) -> Value {
    json!({
        "name": name,
        "bio": "Twenty years of practice.\nAsk me anything.",
        "specialities": ["Tax law", "Contracts"],
        "languages": ["en", "de"],
        "price": 9000,
        "currency": "EUR",
        "photo": "https://img.example.com/me.jpg",
        "time_zone": tz,
    })
}

/// A UTC date `days` from today.
pub(crate) fn day(days: i64) -> NaiveDate {
    Utc::now().date_naive() + Duration::days(days)
}

/// The first date from tomorrow on whose noon `tz` has the UTC offset `hours`.
fn first_day_with_offset(tz: Tz, hours: i32) -> NaiveDate {
    (1..400)
        .map(day)
        .find(|d| {
            let noon = tz
                .from_local_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
                .unwrap();
            noon.offset().fix().local_minus_utc() == hours * 3600
        })
        .expect("a day with that offset within a year")
}

pub(crate) fn assert_error(status: u16, body: &Value, want: u16, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn no_token_is_401_with_a_bearer_challenge() {
    let w = World::new().await;
    for (method, path) in [
        (Method::GET, "/consultants"),
        (Method::PUT, "/consultants/me"),
        (Method::POST, "/appointments"),
        (Method::GET, "/admin/appointments"),
    ] {
        let (s, body, challenge) = w.send(method, path, None, Some(json!({}))).await;
        assert_eq!(s, 401, "{path}: {body}");
        assert_eq!(challenge.as_deref(), Some("Bearer"));
    }
    let (s, body, challenge) = w
        .send(Method::GET, "/consultants", Some("not.a.token"), None)
        .await;
    assert_error(s, &body, 401, "invalid_token");
    assert!(challenge.unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn scopes_roles_and_client_tokens_are_checked() {
    let w = World::new().await;
    let reader = w
        .app
        .person_token_with_scope(
            &w.client,
            "reader@example.com",
            &["consultant"],
            "openid roles bookings:read",
        )
        .await;
    let (s, body, challenge) = w
        .send(
            Method::PUT,
            "/consultants/me",
            Some(&reader),
            Some(profile("R", "UTC")),
        )
        .await;
    assert_error(s, &body, 403, "insufficient_scope");
    assert!(challenge.unwrap().contains("bookings:write"));

    // A person without the consultant role may apply (a pending profile), but the
    // consultant's tools wait for the role, which comes with approval.
    let person = w.person("plain@example.com", &[]).await;
    let (s, body) = w.put("/consultants/me", &person, profile("P", "UTC")).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("pending")),
        "{body}"
    );
    let (s, body) = w.get("/consultants/me/services", &person).await;
    assert_error(s, &body, 403, "forbidden");

    // Only admins review and list everything.
    let c = w.consultant("c@example.com", "UTC", false).await;
    let (s, body) = w
        .post(
            &format!("/admin/consultants/{}/approve", c.id),
            &c.token,
            json!({}),
        )
        .await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = w.get("/admin/consultants", &person).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = w.get("/admin/appointments", &person).await;
    assert_error(s, &body, 403, "forbidden");

    // A client acting for itself may read the catalogue but not book.
    let cc = w
        .app
        .client_token(&w.client, "bookings:read bookings:write")
        .await;
    let (s, body) = w.get("/consultants", &cc).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = w
        .post(
            "/appointments",
            &cc,
            json!({"consultant_id": c.id, "service_id": c.service, "starts_at": format!("{}T10:00:00Z", day(2))}),
        )
        .await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = w.get("/appointments", &cc).await;
    assert_error(s, &body, 403, "forbidden");
}

#[tokio::test]
async fn profiles_are_reviewed_before_they_are_listed() {
    let w = World::new().await;
    let c = w.consultant("c@example.com", "Europe/Berlin", false).await;
    let other = w.person("other@example.com", &[]).await;

    let (s, me) = w.get("/consultants/me", &c.token).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["languages"], json!(["en", "de"]));
    assert_eq!(me["specialities"], json!(["Tax law", "Contracts"]));
    assert_eq!(me["time_zone"], "Europe/Berlin");

    // Pending: invisible to others, visible to its owner and admins.
    let (s, list) = w.get("/consultants", &other).await;
    assert_eq!(s, 200);
    assert_eq!(list["total"], 0);
    let path = format!("/consultants/{}", c.id);
    assert_eq!(w.get(&path, &other).await.0, 404);
    assert_eq!(w.get(&format!("{path}/services"), &other).await.0, 404);
    assert_eq!(w.get(&path, &c.token).await.0, 200);
    assert_eq!(w.get(&path, &w.admin).await.0, 200);
    let (s, pending) = w.get("/admin/consultants?status=pending", &w.admin).await;
    assert_eq!(s, 200);
    assert_eq!(pending["total"], 1);
    assert!(pending["items"][0]["subject"].is_string());

    // Rejected with a reason, which the consultant sees; changing the profile asks again.
    let reject = format!("/admin/consultants/{}/reject", c.id);
    let (s, body) = w.post(&reject, &w.admin, json!({})).await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = w
        .post(&reject, &w.admin, json!({"reason": "Add a photo of you"}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "rejected");
    let (_, me) = w.get("/consultants/me", &c.token).await;
    assert_eq!(me["rejection_reason"], "Add a photo of you");
    let (s, me) = w
        .put(
            "/consultants/me",
            &c.token,
            profile("Better", "Europe/Berlin"),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(me["status"], "pending");
    assert!(me.get("rejection_reason").is_none());

    let approve = format!("/admin/consultants/{}/approve", c.id);
    let (s, body) = w.post(&approve, &w.admin, json!({})).await;
    assert_eq!((s, body["status"].as_str()), (200, Some("approved")));
    let (s, body) = w.post(&approve, &w.admin, json!({})).await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = w
        .post("/admin/consultants/nope/approve", &w.admin, json!({}))
        .await;
    assert_error(s, &body, 404, "not_found");

    // Approved: public, without review details or the account id.
    let (s, public) = w.get(&path, &other).await;
    assert_eq!(s, 200);
    assert_eq!(public["name"], "Better");
    assert!(public.get("subject").is_none());
    let (_, list) = w.get("/consultants", &other).await;
    assert_eq!(list["total"], 1);
    // An approved consultant stays approved when editing.
    let (_, me) = w
        .put(
            "/consultants/me",
            &c.token,
            profile("Best", "Europe/Berlin"),
        )
        .await;
    assert_eq!(me["status"], "approved");
}

#[tokio::test]
async fn consultants_list_pages_and_filters() {
    let w = World::new().await;
    let reader = w.person("reader@example.com", &[]).await;
    for (i, langs) in [vec!["en"], vec!["de", "EN"], vec!["fr"]]
        .into_iter()
        .enumerate()
    {
        let t = w
            .person(&format!("c{i}@example.com"), &["consultant"])
            .await;
        let mut p = profile(&format!("C{i}"), "UTC");
        p["languages"] = json!(langs);
        if i == 2 {
            p["specialities"] = json!(["Gardening"]);
        }
        let (s, body) = w.put("/consultants/me", &t, p).await;
        assert_eq!(s, 200, "{body}");
        let id = body["id"].as_str().unwrap();
        w.post(
            &format!("/admin/consultants/{id}/approve"),
            &w.admin,
            json!({}),
        )
        .await;
    }
    let (s, page1) = w.get("/consultants?per_page=2", &reader).await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            page1["total"].as_i64(),
            page1["items"].as_array().unwrap().len()
        ),
        (Some(3), 2)
    );
    assert_eq!(page1["page"], 1);
    let (_, page2) = w.get("/consultants?per_page=2&page=2", &reader).await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_ne!(page1["items"][0]["id"], page2["items"][0]["id"]);

    let (_, en) = w.get("/consultants?language=en", &reader).await;
    assert_eq!(en["total"], 2);
    let (_, garden) = w
        .get("/consultants?speciality=gardening&language=FR", &reader)
        .await;
    assert_eq!(garden["total"], 1);
    assert_eq!(garden["items"][0]["name"], "C2");

    for bad in ["per_page=0", "per_page=1000", "page=0", "page=x"] {
        let (s, body) = w.get(&format!("/consultants?{bad}"), &reader).await;
        assert_error(s, &body, 400, "invalid_request");
    }
    let (s, body) = w.get("/admin/consultants?status=weird", &w.admin).await;
    assert_error(s, &body, 400, "invalid_request");
}

#[tokio::test]
async fn bad_input_is_a_clear_400() {
    let w = World::new().await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let big = "x".repeat(5000);
    let mut profiles = Vec::new();
    for (field, value) in [
        ("time_zone", json!("Mars/Olympus")),
        ("time_zone", json!("")),
        ("price", json!(-1)),
        ("price", json!(1e30)),
        ("price", json!(99999999999999999999u128.to_string())),
        ("currency", json!("euro")),
        ("name", json!("   ")),
        ("bio", json!(big)),
        ("photo", json!("javascript:alert(1)")),
        ("languages", json!(["en us"])),
        ("specialities", json!(vec!["x"; 21])),
        ("unknown", json!(1)),
    ] {
        let mut p = profile("C", "UTC");
        p[field] = value;
        profiles.push(p);
    }
    for p in profiles {
        let (s, body) = w.put("/consultants/me", &c.token, p.clone()).await;
        assert_error(s, &body, 400, "invalid_request");
    }
    let resp = http()
        .put(w.app.url("/api/bookings/consultants/me"))
        .bearer_auth(&c.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    for d in [0, 7, -15, 481, 600] {
        let (s, body) = w
            .post(
                "/consultants/me/services",
                &c.token,
                json!({"name": "S", "duration_minutes": d, "price": 1, "currency": "EUR"}),
            )
            .await;
        assert_error(s, &body, 400, "invalid_request");
    }
    for week in [
        json!([{"weekday": 7, "start": "09:00", "end": "10:00"}]),
        json!([{"weekday": "someday", "start": "09:00", "end": "10:00"}]),
        json!([{"weekday": "mon", "start": "25:00", "end": "26:00"}]),
        json!([{"weekday": "mon", "start": "10:00", "end": "09:00"}]),
        json!([{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": "mon", "start": "11:00", "end": "13:00"}]),
        json!({"weekday": 0}),
    ] {
        let (s, body) = w.put("/consultants/me/availability", &c.token, week).await;
        assert_error(s, &body, 400, "invalid_request");
    }
    for ex in [
        json!({"date": "2026-02-30", "available": false}),
        json!({"date": "tomorrow", "available": false}),
        json!({"date": "2027-01-05", "available": true}),
        json!({"date": "2027-01-05", "start": "10:00", "available": false}),
        json!({"date": "2027-01-05"}),
    ] {
        let (s, body) = w.post("/consultants/me/exceptions", &c.token, ex).await;
        assert_error(s, &body, 400, "invalid_request");
    }
    let slots = format!("/consultants/{}/slots?service_id={}", c.id, c.service);
    for q in [
        "&from=2027-01-10&to=2027-01-01",
        "&from=2027-01-01&to=2027-03-01",
        "&from=01/01/2027",
    ] {
        let (s, body) = w.get(&format!("{slots}{q}"), &c.token).await;
        assert_error(s, &body, 400, "invalid_request");
    }
    let person = w.person("p@example.com", &[]).await;
    let d = day(3);
    for start in [
        "tomorrow".to_string(),
        format!("{d}T10:00:00"),
        format!("{d}T10:07:00Z"),
        "2001-01-01T10:00:00Z".to_string(),
        "9999-01-01T10:00:00Z".to_string(),
    ] {
        let (s, body) = w.book(&person, &c, &start).await;
        assert_error(s, &body, 400, "invalid_request");
    }
    let (s, body) = w.get("/appointments?as=boss", &person).await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = w.get("/appointments?status=lost", &person).await;
    assert_error(s, &body, 400, "invalid_request");
}

#[tokio::test]
async fn services_are_created_listed_and_retired() {
    let w = World::new().await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let other = w.consultant("d@example.com", "UTC", true).await;
    let (s, svc) = w
        .post(
            "/consultants/me/services",
            &c.token,
            json!({"name": "Quick call", "duration_minutes": 30, "price": 2500, "currency": "USD"}),
        )
        .await;
    assert_eq!(s, 201, "{svc}");
    assert_eq!(svc["consultant_id"], c.id.as_str());
    let (s, mine) = w.get("/consultants/me/services?per_page=1", &c.token).await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            mine["total"].as_i64(),
            mine["items"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    let (_, public) = w
        .get(&format!("/consultants/{}/services", c.id), &other.token)
        .await;
    assert_eq!(public["total"], 2);

    let path = format!("/consultants/me/services/{}", svc["id"].as_str().unwrap());
    assert_eq!(w.delete(&path, &other.token).await, 404, "not theirs");
    assert_eq!(w.delete(&path, &c.token).await, 204);
    assert_eq!(w.delete(&path, &c.token).await, 404);
    let (_, public) = w
        .get(&format!("/consultants/{}/services", c.id), &other.token)
        .await;
    assert_eq!(public["total"], 1);
    // A retired service cannot be booked.
    let person = w.person("p@example.com", &[]).await;
    let (s, body) = w
        .post(
            "/appointments",
            &person,
            json!({"consultant_id": c.id, "service_id": svc["id"], "starts_at": format!("{}T10:00:00Z", day(3))}),
        )
        .await;
    assert_error(s, &body, 404, "not_found");
    // Nor somebody else's service.
    let (s, body) = w
        .post(
            "/appointments",
            &person,
            json!({"consultant_id": c.id, "service_id": other.service, "starts_at": format!("{}T10:00:00Z", day(3))}),
        )
        .await;
    assert_error(s, &body, 404, "not_found");
}

#[tokio::test]
async fn categories_order_services_and_filter_consultants() {
    let w = World::new().await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let d = w.consultant("d@example.com", "UTC", true).await;
    let person = w.person("p@example.com", &[]).await;

    // Admins keep the categories; everyone reads them in order.
    let (s, body) = w
        .post("/admin/categories", &person, json!({"name": "Therapy"}))
        .await;
    assert_error(s, &body, 403, "forbidden");
    let (s, therapy) = w
        .post(
            "/admin/categories",
            &w.admin,
            json!({"name": "Therapy", "description": "Talking things through", "position": 2}),
        )
        .await;
    assert_eq!(s, 201, "{therapy}");
    let (s, nutrition) = w
        .post(
            "/admin/categories",
            &w.admin,
            json!({"name": "Nutrition", "position": 1}),
        )
        .await;
    assert_eq!(s, 201, "{nutrition}");
    assert_eq!(nutrition["description"], "");
    let (s, body) = w
        .post("/admin/categories", &w.admin, json!({"name": "THERAPY"}))
        .await;
    assert_error(s, &body, 409, "conflict");
    for bad in [
        json!({"name": "  "}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "A", "position": -1}),
        json!({"name": "A", "colour": "red"}),
        json!({"description": "no name"}),
    ] {
        let (s, body) = w.post("/admin/categories", &w.admin, bad.clone()).await;
        assert_error(s, &body, 400, "invalid_request");
    }
    let (s, list) = w.get("/categories", &person).await;
    assert_eq!(s, 200, "{list}");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Nutrition", "Therapy"]);
    let therapy_id = therapy["id"].as_str().unwrap().to_string();
    let (s, renamed) = w
        .put(
            &format!("/admin/categories/{therapy_id}"),
            &w.admin,
            json!({"name": "Talk therapy", "position": 0}),
        )
        .await;
    assert_eq!(s, 200, "{renamed}");
    assert_eq!(renamed["name"], "Talk therapy");
    let (_, list) = w.get("/categories", &person).await;
    assert_eq!(list["items"][0]["id"], therapy_id.as_str());
    let (s, body) = w
        .put("/admin/categories/nope", &w.admin, json!({"name": "X"}))
        .await;
    assert_error(s, &body, 404, "not_found");

    // Services belong to one; consultants and services filter by it.
    let (s, svc) = w
        .post(
            "/consultants/me/services",
            &c.token,
            json!({"name": "Session", "duration_minutes": 60, "price": 6000, "currency": "EUR",
                   "category_id": therapy_id}),
        )
        .await;
    assert_eq!(s, 201, "{svc}");
    assert_eq!(svc["category_id"], therapy_id.as_str());
    let (s, body) = w
        .post(
            "/consultants/me/services",
            &d.token,
            json!({"name": "Session", "duration_minutes": 60, "price": 6000, "currency": "EUR",
                   "category_id": "nope"}),
        )
        .await;
    assert_error(s, &body, 400, "invalid_request");
    let (_, found) = w
        .get(&format!("/consultants?category={therapy_id}"), &person)
        .await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["id"], c.id.as_str());
    let (_, all) = w.get("/consultants", &person).await;
    assert_eq!(all["total"], 2);
    let (_, services) = w
        .get(
            &format!("/consultants/{}/services?category={therapy_id}", c.id),
            &person,
        )
        .await;
    assert_eq!(services["total"], 1);
    assert_eq!(services["items"][0]["id"], svc["id"]);
    let (_, services) = w
        .get(&format!("/consultants/{}/services", c.id), &person)
        .await;
    assert_eq!(services["total"], 2);
    assert_eq!(services["items"][0]["category_id"], Value::Null);

    // A retired service no longer puts its consultant in the category.
    let path = format!("/consultants/me/services/{}", svc["id"].as_str().unwrap());
    assert_eq!(w.delete(&path, &c.token).await, 204);
    let (_, found) = w
        .get(&format!("/consultants?category={therapy_id}"), &person)
        .await;
    assert_eq!(found["total"], 0);

    // Deleting a category leaves its services, uncategorised.
    let (s, svc) = w
        .post(
            "/consultants/me/services",
            &d.token,
            json!({"name": "Meal plan", "duration_minutes": 60, "price": 3000, "currency": "EUR",
                   "category_id": nutrition["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{svc}");
    let path = format!("/admin/categories/{}", nutrition["id"].as_str().unwrap());
    assert_eq!(w.delete(&path, &person).await, 403);
    assert_eq!(w.delete(&path, &w.admin).await, 204);
    assert_eq!(w.delete(&path, &w.admin).await, 404);
    let (_, services) = w
        .get(&format!("/consultants/{}/services", d.id), &person)
        .await;
    assert_eq!(services["total"], 2);
    assert!(services["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["category_id"].is_null()));

    // The answers are what the OpenAPI document says, field for field.
    let doc: Value = http()
        .get(w.app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, list) = w.get("/categories", &person).await;
    for (path, method, status, body) in [
        ("/api/bookings/categories", "get", 200, &list),
        ("/api/bookings/admin/categories", "post", 201, &therapy),
        ("/api/bookings/admin/categories/{id}", "put", 200, &renamed),
        (
            "/api/bookings/consultants/{id}/services",
            "get",
            200,
            &services,
        ),
    ] {
        let schema = crate::admin::answer(&doc, path, method, status);
        crate::admin::conforms(&doc, schema, body, &format!("{method} {path}"));
    }
}

/// Uploads `bytes` as the part `file` named `filename` to `path`; status and JSON body.
async fn upload_to(
    w: &World,
    path: &str,
    token: &str,
    filename: &str,
    bytes: &[u8],
) -> (u16, Value) {
    let (content_type, body) = crate::content_depth::multipart("file", filename, bytes);
    let resp = http()
        .post(w.app.url(&format!("/api/bookings{path}")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn consultants_hand_in_documents_that_admins_review_over_signed_links() {
    let w = World::with(|s| {
        s.bookings.booking_document_max_bytes = 4096;
        s.bookings.booking_document_url_ttl = 2;
    })
    .await;
    let applicant = w.person("doc@example.com", &[]).await;
    let stranger = w.person("nobody@example.com", &[]).await;
    let id_card = crate::content_depth::pdf(&[&["Identity card"]]);

    // A profile first.
    let (s, body) = upload_to(
        &w,
        "/consultants/me/documents",
        &applicant,
        "id.pdf",
        &id_card,
    )
    .await;
    assert_error(s, &body, 404, "not_found");
    let (s, profile) = w
        .put("/consultants/me", &applicant, profile("Dee", "UTC"))
        .await;
    assert_eq!(s, 200, "{profile}");
    let consultant = profile["id"].as_str().unwrap().to_string();

    let (s, doc) = upload_to(
        &w,
        "/consultants/me/documents?kind=id",
        &applicant,
        "../../my id card.pdf",
        &id_card,
    )
    .await;
    assert_eq!(s, 201, "{doc}");
    assert_eq!(doc["kind"], "id");
    assert_eq!(doc["name"], "my id card.pdf");
    assert_eq!(doc["media_type"], "application/pdf");
    assert_eq!(doc["bytes"], id_card.len());
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    png.resize(200, 0);
    let (s, cert) = upload_to(
        &w,
        "/consultants/me/documents?kind=certificate",
        &applicant,
        "cert.png",
        &png,
    )
    .await;
    assert_eq!(s, 201, "{cert}");
    assert_eq!(cert["media_type"], "image/png");

    // Refused: a type told from the bytes, a kind, the size.
    let (s, body) = upload_to(
        &w,
        "/consultants/me/documents",
        &applicant,
        "x.pdf",
        b"just text",
    )
    .await;
    assert_error(s, &body, 415, "unsupported_media_type");
    let (s, body) = upload_to(
        &w,
        "/consultants/me/documents?kind=passport",
        &applicant,
        "x.pdf",
        &id_card,
    )
    .await;
    assert_error(s, &body, 400, "invalid_request");
    let mut big = id_card.clone();
    big.resize(5000, b' ');
    let (s, body) = upload_to(&w, "/consultants/me/documents", &applicant, "x.pdf", &big).await;
    assert_error(s, &body, 413, "request_rejected");

    let (s, mine) = w.get("/consultants/me/documents", &applicant).await;
    assert_eq!(s, 200, "{mine}");
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    assert!(
        mine["items"][0].get("url").is_none(),
        "no links for the owner"
    );
    let doc_api: Value = http()
        .get(w.app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, method, status, body) in [
        ("/api/bookings/consultants/me/documents", "post", 201, &doc),
        ("/api/bookings/consultants/me/documents", "get", 200, &mine),
    ] {
        let schema = crate::admin::answer(&doc_api, path, method, status);
        crate::admin::conforms(&doc_api, schema, body, &format!("{method} {path}"));
    }

    // Admins list them with signed links; nobody else does.
    let path = format!("/admin/consultants/{consultant}/documents");
    let (s, body) = w.get(&path, &stranger).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, listed) = w.get(&path, &w.admin).await;
    assert_eq!(s, 200, "{listed}");
    let item = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == doc["id"])
        .unwrap()
        .clone();
    let url = item["url"].as_str().unwrap().to_string();
    let resp = http().get(w.app.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"my id card.pdf\""
    );
    assert_eq!(resp.headers()["cache-control"], "private, no-store");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), id_card.as_slice());
    let tampered = url.replace("signature=", "signature=A");
    let resp = http().get(w.app.url(&tampered)).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let other = url.replace(doc["id"].as_str().unwrap(), cert["id"].as_str().unwrap());
    let resp = http().get(w.app.url(&other)).send().await.unwrap();
    assert_eq!(resp.status(), 403, "a link is for one document");
    // Kept outside every served folder.
    assert!(w
        .app
        .dir
        .path()
        .join("bookings-documents")
        .join(&consultant)
        .join(doc["id"].as_str().unwrap())
        .exists());
    let_time_pass(
        std::time::Duration::from_millis(2100),
        "the 2 s link expires",
    )
    .await;
    let resp = http().get(w.app.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), 403);

    // The review records who and why.
    let admin_sub = claims(&w.admin)["sub"].as_str().unwrap().to_string();
    let (s, body) = w
        .post(
            &format!("/admin/consultants/{consultant}/reject"),
            &w.admin,
            json!({"reason": "The certificate is unreadable"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["reviewed_by"], admin_sub.as_str());
    assert_eq!(body["rejection_reason"], "The certificate is unreadable");
    assert!(body["reviewed_at"].as_i64().is_some());
    let (_, own) = w.get("/consultants/me", &applicant).await;
    assert_eq!(own["reviewed_by"], admin_sub.as_str());

    // The owner deletes a document: gone, file and all.
    let doc_path = format!("/consultants/me/documents/{}", doc["id"].as_str().unwrap());
    assert_eq!(w.delete(&doc_path, &stranger).await, 404);
    assert_eq!(w.delete(&doc_path, &applicant).await, 204);
    assert_eq!(w.delete(&doc_path, &applicant).await, 404);
    assert!(!w
        .app
        .dir
        .path()
        .join("bookings-documents")
        .join(&consultant)
        .join(doc["id"].as_str().unwrap())
        .exists());
}

#[tokio::test]
async fn slots_follow_the_consultants_time_zone_and_dst() {
    let w = World::new().await;
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let c = w.consultant("c@example.com", "Europe/Berlin", true).await;
    let (s, body) = w
        .put(
            "/consultants/me/availability",
            &c.token,
            json!([{"weekday": "mon", "start": "09:00", "end": "10:00"},
                   {"weekday": "Tuesday", "start": "09:00", "end": "10:00"},
                   {"weekday": 2, "start": "09:00", "end": "10:00"},
                   {"weekday": 3, "start": "09:00", "end": "10:00"},
                   {"weekday": 4, "start": "09:00", "end": "10:00"},
                   {"weekday": 5, "start": "09:00", "end": "10:00"},
                   {"weekday": "sun", "start": "09:00", "end": "10:00"}]),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (_, week) = w.get("/consultants/me/availability", &c.token).await;
    assert_eq!(week["time_zone"], "Europe/Berlin");
    assert_eq!(
        week["hours"][0],
        json!({"weekday": "mon", "start": "09:00", "end": "10:00"})
    );
    assert_eq!(week["hours"].as_array().unwrap().len(), 7);

    let (_, svc) = w
        .post(
            "/consultants/me/services",
            &c.token,
            json!({"name": "Half hour", "duration_minutes": 30, "price": 100, "currency": "EUR"}),
        )
        .await;
    let service = svc["id"].as_str().unwrap();
    let reader = w.person("reader@example.com", &[]).await;
    let slots = |d: NaiveDate| {
        format!(
            "/consultants/{}/slots?service_id={service}&from={d}&to={d}",
            c.id
        )
    };

    let winter = first_day_with_offset(tz, 1);
    let (s, body) = w.get(&slots(winter), &reader).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["time_zone"], "Europe/Berlin");
    let starts: Vec<&str> = body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            format!("{winter}T08:00:00Z"),
            format!("{winter}T08:15:00Z"),
            format!("{winter}T08:30:00Z")
        ]
    );
    assert_eq!(body["slots"][0]["ends_at"], format!("{winter}T08:30:00Z"));
    assert_eq!(
        (body["total"].as_i64(), body["per_page"].as_i64()),
        (Some(3), Some(100))
    );
    // Slots are a list like any other: paged on request.
    let (s, page) = w
        .get(&format!("{}&per_page=2&page=2", slots(winter)), &reader)
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["total"], 3);
    assert_eq!(page["slots"].as_array().unwrap().len(), 1);
    assert_eq!(page["slots"][0]["starts_at"], format!("{winter}T08:30:00Z"));
    let (s, refused) = w
        .get(&format!("{}&per_page=500", slots(winter)), &reader)
        .await;
    assert_error(s, &refused, 400, "invalid_request");
    assert_eq!(
        body["slots"][0]["local_start"],
        format!("{winter}T09:00:00+01:00")
    );

    let summer = first_day_with_offset(tz, 2);
    let (_, body) = w.get(&slots(summer), &reader).await;
    assert_eq!(body["slots"][0]["starts_at"], format!("{summer}T07:00:00Z"));
    assert_eq!(
        body["slots"][0]["local_start"],
        format!("{summer}T09:00:00+02:00")
    );

    // A booking in any offset lands on the same instant; its JSON carries both views.
    let person = w.person("p@example.com", &[]).await;
    let c30 = Consultant {
        token: c.token.clone(),
        id: c.id.clone(),
        service: service.to_string(),
    };
    let (s, booked) = w
        .book(&person, &c30, &format!("{winter}T03:15:00-05:00"))
        .await;
    assert_eq!(s, 201, "{booked}");
    assert_eq!(booked["starts_at"], format!("{winter}T08:15:00Z"));
    assert_eq!(booked["ends_at"], format!("{winter}T08:45:00Z"));
    assert_eq!(booked["time_zone"], "Europe/Berlin");
    assert_eq!(booked["local_start"], format!("{winter}T09:15:00+01:00"));
    // Taken time leaves the list: 08:00 and 08:30 would overlap; nothing else fits.
    let (_, body) = w.get(&slots(winter), &reader).await;
    assert_eq!(body["slots"], json!([]));
    // 09:30 local + 30 min would end after 10:00.
    let (s, body) = w.book(&person, &c30, &format!("{winter}T08:45:00Z")).await;
    assert_error(s, &body, 409, "conflict");
}

#[tokio::test]
async fn exceptions_take_days_off_and_add_hours() {
    let w = World::new().await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let d = day(2);
    let slots = format!(
        "/consultants/{}/slots?service_id={}&from={d}&to={d}",
        c.id, c.service
    );
    let count = |v: &Value| v["slots"].as_array().unwrap().len();
    let (s, body) = w.get(&slots, &c.token).await;
    assert_eq!(s, 200, "{body}");
    // 09:00..16:00 starts every 15 minutes for a 60-minute service.
    assert_eq!(count(&body), 29);

    let (s, off) = w
        .post(
            "/consultants/me/exceptions",
            &c.token,
            json!({"date": d.to_string(), "available": false}),
        )
        .await;
    assert_eq!(s, 201, "{off}");
    let (_, body) = w.get(&slots, &c.token).await;
    assert_eq!(count(&body), 0);
    let person = w.person("p@example.com", &[]).await;
    let (s, body) = w.book(&person, &c, &format!("{d}T10:00:00Z")).await;
    assert_error(s, &body, 409, "conflict");

    let (s, extra) = w
        .post(
            "/consultants/me/exceptions",
            &c.token,
            json!({"date": day(3).to_string(), "start": "18:00", "end": "20:00", "available": true}),
        )
        .await;
    assert_eq!(s, 201, "{extra}");
    let (s, list) = w.get("/consultants/me/exceptions", &c.token).await;
    assert_eq!(s, 200);
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["date"], d.to_string());
    assert_eq!(list["items"][1]["start"], "18:00");

    let off_path = format!("/consultants/me/exceptions/{}", off["id"].as_str().unwrap());
    let other = w.consultant("other@example.com", "UTC", true).await;
    assert_eq!(w.delete(&off_path, &other.token).await, 404);
    assert_eq!(w.delete(&off_path, &c.token).await, 204);
    assert_eq!(w.delete(&off_path, &c.token).await, 404);
    let (_, body) = w.get(&slots, &c.token).await;
    assert_eq!(count(&body), 29);
    // The extra evening hours are bookable.
    let (s, body) = w.book(&person, &c, &format!("{}T19:00:00Z", day(3))).await;
    assert_eq!(s, 201, "{body}");
}

#[tokio::test]
async fn an_appointment_goes_through_its_states() {
    let w = World::new().await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let person = w.person("p@example.com", &[]).await;
    let stranger = w.person("s@example.com", &[]).await;
    let start = format!("{}T10:00:00Z", day(3));

    let (s, a) = w
        .book(&person, &c, &format!("{}T11:00:00+01:00", day(3)))
        .await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(
        (a["status"].as_str(), a["starts_at"].as_str()),
        (Some("requested"), Some(start.as_str()))
    );
    assert_eq!(
        (a["price"].as_i64(), a["currency"].as_str()),
        (Some(5000), Some("EUR"))
    );
    let id = a["id"].as_str().unwrap();
    let path = format!("/appointments/{id}");

    // Only the parties and admins see it.
    assert_eq!(w.get(&path, &person).await.0, 200);
    assert_eq!(w.get(&path, &c.token).await.0, 200);
    assert_eq!(w.get(&path, &w.admin).await.0, 200);
    let (s, body) = w.get(&path, &stranger).await;
    assert_error(s, &body, 404, "not_found");
    let (s, body) = w
        .post(&format!("{path}/cancel"), &stranger, json!({}))
        .await;
    assert_error(s, &body, 404, "not_found");

    let (_, mine) = w.get("/appointments", &person).await;
    assert_eq!(mine["total"], 1);
    let (_, theirs) = w
        .get("/appointments?as=consultant&status=requested", &c.token)
        .await;
    assert_eq!(theirs["total"], 1);
    let (_, none) = w.get("/appointments?as=consultant", &person).await;
    assert_eq!(none["total"], 0);
    let (_, all) = w.get("/admin/appointments", &w.admin).await;
    assert_eq!(all["total"], 1);

    // The person cannot confirm; the consultant can, once.
    let (s, body) = w.post(&format!("{path}/confirm"), &person, json!({})).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = w
        .post(&format!("{path}/confirm"), &c.token, json!({}))
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("confirmed")),
        "{body}"
    );
    let (s, body) = w
        .post(&format!("{path}/confirm"), &c.token, json!({}))
        .await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = w
        .post(&format!("{path}/decline"), &c.token, json!({}))
        .await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = w
        .post(&format!("{path}/complete"), &c.token, json!({}))
        .await;
    assert_error(s, &body, 409, "conflict");

    // Three days ahead is outside the default 24-hour notice: the person may cancel.
    let (s, body) = w
        .post(&format!("{path}/cancel"), &person, json!({"reason": "ill"}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["cancelled_by"].as_str()),
        (Some("cancelled"), Some("client"))
    );
    assert_eq!(body["reason"], "ill");
    let (s, body) = w.post(&format!("{path}/cancel"), &person, json!({})).await;
    assert_error(s, &body, 409, "conflict");

    // The time is free again; a decline (empty body) frees it too.
    let (s, again) = w.book(&stranger, &c, &start).await;
    assert_eq!(s, 201, "{again}");
    let decline = format!("/appointments/{}/decline", again["id"].as_str().unwrap());
    let resp = http()
        .post(w.app.url(&format!("/api/bookings{decline}")))
        .bearer_auth(&c.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (s, third) = w.book(&person, &c, &start).await;
    assert_eq!(s, 201, "{third}");

    // Completing waits for the end; move this one into the past to finish it.
    let third_path = format!("/appointments/{}", third["id"].as_str().unwrap());
    w.post(&format!("{third_path}/confirm"), &c.token, json!({}))
        .await;
    let (s, body) = w
        .post(&format!("{third_path}/complete"), &c.token, json!({}))
        .await;
    assert_error(s, &body, 409, "conflict");
    let ended = Utc::now().timestamp() - 3600;
    let id = third["id"].as_str().unwrap().to_string();
    let pool = w.app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let mut conn = pool.get().unwrap();
        diesel::sql_query(format!(
            "UPDATE booking_appointments SET starts_at = {}, ends_at = {ended} WHERE id = '{id}'",
            ended - 3600
        ))
        .execute(&mut *conn)
        .unwrap();
    })
    .await
    .unwrap();
    let (s, body) = w
        .post(&format!("{third_path}/complete"), &person, json!({}))
        .await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = w
        .post(&format!("{third_path}/complete"), &c.token, json!({}))
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("completed")),
        "{body}"
    );
    let (s, body) = w
        .post(&format!("{third_path}/cancel"), &w.admin, json!({}))
        .await;
    assert_error(s, &body, 409, "conflict");

    let (_, by_start) = w.get("/appointments?order=start&per_page=1", &person).await;
    assert_eq!(
        (
            by_start["total"].as_i64(),
            by_start["items"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
}

#[tokio::test]
async fn bookings_that_cannot_be() {
    let w = World::new().await;
    let pending = w.consultant("pending@example.com", "UTC", false).await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let person = w.person("p@example.com", &[]).await;
    let at = |h: u32| format!("{}T{h:02}:00:00Z", day(3));

    let (s, body) = w.book(&person, &pending, &at(10)).await;
    assert_error(s, &body, 404, "not_found");
    let (s, body) = w
        .get(
            &format!(
                "/consultants/{}/slots?service_id={}",
                pending.id, pending.service
            ),
            &person,
        )
        .await;
    assert_error(s, &body, 404, "not_found");
    let (s, body) = w.book(&c.token, &c, &at(10)).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = w.book(&person, &c, &at(7)).await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = w.book(&person, &c, &at(16)).await;
    assert_eq!(s, 201, "{body}");
    // 16:30 would run past 17:00; an overlapping start is taken.
    let (s, body) = w.book(&person, &c, &format!("{}T16:30:00Z", day(3))).await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = w.book(&person, &c, &format!("{}T15:15:00Z", day(3))).await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = w.book(&person, &c, &at(15)).await;
    assert_eq!(s, 201, "back to back is fine: {body}");
}

#[tokio::test]
async fn twenty_racing_bookings_of_one_slot_make_one_appointment() {
    // Five tries per person: a cap on open requests must not be what refuses them.
    let w = World::with(|s| s.bookings.booking_max_open_requests = 20).await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let mut people = Vec::new();
    for i in 0..4 {
        people.push(w.person(&format!("p{i}@example.com"), &[]).await);
    }
    let url = w.app.url("/api/bookings/appointments");
    let body = json!({"consultant_id": c.id, "service_id": c.service, "starts_at": format!("{}T10:00:00Z", day(2))});
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (url, body, token) = (url.clone(), body.clone(), people[i % 4].clone());
            tokio::spawn(async move {
                http()
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    let mut expected = vec![201];
    expected.extend([409; 19]);
    assert_eq!(statuses, expected);
    let (_, all) = w.get("/admin/appointments", &w.admin).await;
    assert_eq!(all["total"], 1);
}

#[tokio::test]
async fn late_cancellation_is_for_the_consultant_only() {
    // Thirty days' notice: every booking below is too close for the person to cancel.
    let w = World::with(|s| s.bookings.booking_cancel_notice = 30 * 24 * 3600).await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let person = w.person("p@example.com", &[]).await;
    let (s, a) = w.book(&person, &c, &format!("{}T10:00:00Z", day(2))).await;
    assert_eq!(s, 201, "{a}");
    let cancel = format!("/appointments/{}/cancel", a["id"].as_str().unwrap());
    let (s, body) = w.post(&cancel, &person, json!({})).await;
    assert_error(s, &body, 403, "forbidden");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("720 hours"),
        "{body}"
    );
    let (s, body) = w
        .post(&cancel, &c.token, json!({"reason": "travelling"}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["cancelled_by"], "consultant");

    let (_, b) = w.book(&person, &c, &format!("{}T10:00:00Z", day(2))).await;
    let cancel = format!("/appointments/{}/cancel", b["id"].as_str().unwrap());
    let (s, body) = w.post(&cancel, &w.admin, json!({})).await;
    assert_eq!(
        (s, body["cancelled_by"].as_str()),
        (200, Some("admin")),
        "{body}"
    );
    let (s, body) = w
        .post(&cancel, &w.admin, json!({"reason": "x".repeat(501)}))
        .await;
    assert_error(s, &body, 400, "invalid_request");
}

#[tokio::test]
async fn racing_profile_and_hours_writes_never_fail_with_500() {
    let w = World::new().await;
    let token = w.person("c@example.com", &["consultant"]).await;
    let send = |path: &'static str, body: Value| {
        let (url, token) = (w.app.url(&format!("/api/bookings{path}")), token.clone());
        tokio::spawn(async move {
            let resp = http()
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        })
    };
    let tasks: Vec<_> = (0..6)
        .map(|i| send("/consultants/me", profile(&format!("C{i}"), "UTC")))
        .collect();
    for t in tasks {
        let s = t.await.unwrap();
        assert!(s == 200 || s == 409, "{s}");
    }
    let (_, all) = w.get("/admin/consultants", &w.admin).await;
    assert_eq!(all["total"], 1);
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let week = json!([{"weekday": i, "start": "09:00", "end": "10:00"}]);
            send("/consultants/me/availability", week)
        })
        .collect();
    for t in tasks {
        let s = t.await.unwrap();
        assert!(s == 200 || s == 409, "{s}");
    }
    let (_, week) = w.get("/consultants/me/availability", &token).await;
    assert_eq!(
        week["hours"].as_array().unwrap().len(),
        1,
        "one PUT won whole: {week}"
    );
}

#[tokio::test]
async fn open_requests_are_capped_per_person() {
    let w = World::with(|s| s.bookings.booking_max_open_requests = 2).await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let person = w.person("p@example.com", &[]).await;
    let at = |h: u32| format!("{}T{h:02}:00:00Z", day(3));
    let (s, first) = w.book(&person, &c, &at(9)).await;
    assert_eq!(s, 201, "{first}");
    let (s, body) = w.book(&person, &c, &at(10)).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = w.book(&person, &c, &at(11)).await;
    assert_error(s, &body, 409, "conflict");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains("2 appointment requests"), "{body}");
    // The refused request held nothing: somebody else may have that hour.
    let other = w.person("o@example.com", &[]).await;
    let (s, body) = w.book(&other, &c, &at(11)).await;
    assert_eq!(s, 201, "{body}");

    // An answered request no longer counts.
    let confirm = format!("/appointments/{}/confirm", first["id"].as_str().unwrap());
    let (s, body) = w.post(&confirm, &c.token, json!({})).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = w.book(&person, &c, &at(12)).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = w.book(&person, &c, &at(13)).await;
    assert_error(s, &body, 409, "conflict");
    let (_, mine) = w.get("/appointments?status=requested", &person).await;
    assert_eq!(mine["total"], 2);
}

#[tokio::test]
async fn an_admin_who_consults_answers_their_own_requests() {
    let w = World::new().await;
    let c = w
        .consultant_with_roles("boss@example.com", "UTC", true, &["admin", "consultant"])
        .await;
    let person = w.person("p@example.com", &[]).await;
    let (_, a) = w.book(&person, &c, &format!("{}T10:00:00Z", day(3))).await;
    let (_, b) = w.book(&person, &c, &format!("{}T12:00:00Z", day(3))).await;
    let path =
        |v: &Value, action: &str| format!("/appointments/{}/{action}", v["id"].as_str().unwrap());
    // Admin rights alone do not make somebody the consultant.
    let (s, body) = w.post(&path(&a, "confirm"), &w.admin, json!({})).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = w.post(&path(&a, "confirm"), &c.token, json!({})).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("confirmed")),
        "{body}"
    );
    let (s, body) = w.post(&path(&b, "decline"), &c.token, json!({})).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("declined")),
        "{body}"
    );
}

#[tokio::test]
async fn a_rejected_consultant_cannot_confirm() {
    let w = World::new().await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let person = w.person("p@example.com", &[]).await;
    let (s, a) = w.book(&person, &c, &format!("{}T10:00:00Z", day(3))).await;
    assert_eq!(s, 201, "{a}");
    let (s, body) = w
        .post(
            &format!("/admin/consultants/{}/reject", c.id),
            &w.admin,
            json!({"reason": "Complaints"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let path = format!("/appointments/{}", a["id"].as_str().unwrap());
    let (s, body) = w
        .post(&format!("{path}/confirm"), &c.token, json!({}))
        .await;
    assert_error(s, &body, 409, "conflict");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("rejected"),
        "{body}"
    );
    let (_, still) = w.get(&path, &person).await;
    assert_eq!(still["status"], "requested");
    // Declining stays open, so the person hears back.
    let (s, body) = w
        .post(&format!("{path}/decline"), &c.token, json!({}))
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("declined")),
        "{body}"
    );
}

#[tokio::test]
async fn client_tokens_get_403_for_an_appointment() {
    let w = World::new().await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let person = w.person("p@example.com", &[]).await;
    let (s, a) = w.book(&person, &c, &format!("{}T10:00:00Z", day(3))).await;
    assert_eq!(s, 201, "{a}");
    let cc = w.app.client_token(&w.client, "bookings:read").await;
    let path = format!("/appointments/{}", a["id"].as_str().unwrap());
    let (s, body) = w.get(&path, &cc).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = w.get("/appointments/nope", &cc).await;
    assert_error(s, &body, 403, "forbidden");
}

#[tokio::test]
async fn exceptions_list_in_the_same_order_on_every_database() {
    let w = World::new().await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let d = day(5).to_string();
    for ex in [
        json!({"date": day(6).to_string(), "available": false}),
        json!({"date": d, "start": "10:00", "end": "11:00", "available": false}),
        json!({"date": d, "available": false}),
        json!({"date": d, "start": "08:00", "end": "09:00", "available": true}),
        json!({"date": day(4).to_string(), "start": "12:00", "end": "13:00", "available": false}),
    ] {
        let (s, body) = w.post("/consultants/me/exceptions", &c.token, ex).await;
        assert_eq!(s, 201, "{body}");
    }
    let (s, list) = w.get("/consultants/me/exceptions", &c.token).await;
    assert_eq!(s, 200, "{list}");
    let order: Vec<(String, Option<String>)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["date"].as_str().unwrap().to_string(),
                e["start"].as_str().map(str::to_string),
            )
        })
        .collect();
    // By date; within a date the whole day first, then by start.
    let at = |d: NaiveDate, t: Option<&str>| (d.to_string(), t.map(str::to_string));
    assert_eq!(
        order,
        [
            at(day(4), Some("12:00")),
            at(day(5), None),
            at(day(5), Some("08:00")),
            at(day(5), Some("10:00")),
            at(day(6), None),
        ]
    );
}

#[tokio::test]
async fn slots_follow_the_local_clock_in_half_hour_zones() {
    let w = World::with(|s| s.bookings.booking_slot_minutes = 60).await;
    let c = w.consultant("c@example.com", "Asia/Kolkata", true).await;
    let week: Vec<Value> = (0..7)
        .map(|d| json!({"weekday": d, "start": "09:00", "end": "11:00"}))
        .collect();
    let (s, body) = w
        .put("/consultants/me/availability", &c.token, json!(week))
        .await;
    assert_eq!(s, 200, "{body}");
    let d = day(3);
    let person = w.person("p@example.com", &[]).await;
    let (s, body) = w
        .get(
            &format!(
                "/consultants/{}/slots?service_id={}&from={d}&to={d}",
                c.id, c.service
            ),
            &person,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let starts: Vec<(&str, &str)> = body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["starts_at"].as_str().unwrap(),
                s["local_start"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        starts,
        [
            (
                format!("{d}T03:30:00Z").as_str(),
                format!("{d}T09:00:00+05:30").as_str()
            ),
            (
                format!("{d}T04:30:00Z").as_str(),
                format!("{d}T10:00:00+05:30").as_str()
            ),
        ]
    );
    let (s, booked) = w.book(&person, &c, &format!("{d}T09:00:00+05:30")).await;
    assert_eq!(s, 201, "{booked}");
    assert_eq!(booked["starts_at"], format!("{d}T03:30:00Z"));
    // The UTC hour is off the consultant's grid.
    let (s, body) = w.book(&person, &c, &format!("{d}T05:00:00Z")).await;
    assert_error(s, &body, 400, "invalid_request");
}

#[tokio::test]
async fn a_locked_sqlite_database_answers_503_not_500() {
    if on_postgres() {
        // PostgreSQL waits for row locks instead of giving up with "database is locked".
        return;
    }
    // Enough connections that every request below waits on the lock at the same time.
    let w = World::with(|s| s.database.db_pool_size = 16).await;
    let c = w.consultant("c@example.com", "UTC", true).await;
    let person = w.person("p@example.com", &[]).await;
    let (s, a) = w.book(&person, &c, &format!("{}T10:00:00Z", day(3))).await;
    assert_eq!(s, 201, "{a}");
    let (s, ex) = w
        .post(
            "/consultants/me/exceptions",
            &c.token,
            json!({"date": day(9).to_string(), "available": false}),
        )
        .await;
    assert_eq!(s, 201, "{ex}");
    let (s, svc) = w
        .post(
            "/consultants/me/services",
            &c.token,
            json!({"name": "Short", "duration_minutes": 30, "price": 1, "currency": "EUR"}),
        )
        .await;
    assert_eq!(s, 201, "{svc}");

    // Another connection holds the write lock until every request has answered.
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let pool = w.app.state.pool.clone();
    let holder = tokio::task::spawn_blocking(move || {
        use diesel::connection::SimpleConnection;
        let mut conn = pool.get().unwrap();
        conn.batch_execute("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        let _ = done_rx.recv_timeout(std::time::Duration::from_secs(60));
        conn.batch_execute("ROLLBACK").unwrap();
    });
    locked_rx.await.unwrap();

    let id = |v: &Value| v["id"].as_str().unwrap().to_string();
    let requests = [
        (
            Method::POST,
            format!("/appointments/{}/confirm", id(&a)),
            c.token.clone(),
            json!({}),
        ),
        (
            Method::PUT,
            "/consultants/me".to_string(),
            c.token.clone(),
            profile("C", "UTC"),
        ),
        (
            Method::POST,
            "/consultants/me/services".to_string(),
            c.token.clone(),
            json!({"name": "S", "duration_minutes": 30, "price": 1, "currency": "EUR"}),
        ),
        (
            Method::DELETE,
            format!("/consultants/me/services/{}", id(&svc)),
            c.token.clone(),
            json!({}),
        ),
        (
            Method::PUT,
            "/consultants/me/availability".to_string(),
            c.token.clone(),
            json!([{"weekday": 0, "start": "09:00", "end": "10:00"}]),
        ),
        (
            Method::POST,
            "/consultants/me/exceptions".to_string(),
            c.token.clone(),
            json!({"date": day(10).to_string(), "available": false}),
        ),
        (
            Method::DELETE,
            format!("/consultants/me/exceptions/{}", id(&ex)),
            c.token.clone(),
            json!({}),
        ),
        (
            Method::POST,
            format!("/admin/consultants/{}/reject", c.id),
            w.admin.clone(),
            json!({"reason": "r"}),
        ),
        (
            Method::POST,
            "/appointments".to_string(),
            person.clone(),
            json!({"consultant_id": c.id, "service_id": c.service, "starts_at": format!("{}T12:00:00Z", day(3))}),
        ),
    ];
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(method, path, token, body)| {
            let url = w.app.url(&format!("/api/bookings{path}"));
            tokio::spawn(async move {
                let resp = http()
                    .request(method.clone(), url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                (format!("{method} {path}"), status, body)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    done_tx.send(()).unwrap();
    holder.await.unwrap();
    for (request, status, body) in answers {
        assert_eq!(status, 503, "{request}: {body}");
        assert_eq!(body["error"], "temporarily_unavailable", "{request}");
    }
}

fn on_postgres() -> bool {
    std::env::var("PORTA_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty())
}

/// The OpenAPI document says which writes a caller's write limit refuses with 429, and
/// the code agrees: past the limit, every documented write of both APIs answers 429
/// exactly when its document lists 429 (progress saves are exempt).
#[tokio::test]
async fn the_document_lists_429_exactly_where_the_write_limit_applies() {
    let w = World::with(|s| s.resource.api_write_limit = 1).await;
    let doc: Value = http()
        .get(w.app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // One write uses up the caller's allowance.
    let (s, body) = w
        .put("/consultants/me", &w.admin, profile("Ada", "UTC"))
        .await;
    assert_eq!(s, 200, "{body}");
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let documented = op["responses"].get("429").is_some();
            let resp = http()
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    w.app.url(&path.replace("{id}", "nope")),
                )
                .bearer_auth(&w.admin)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let limited = resp.status().as_u16() == 429;
            assert_eq!(limited, documented, "{method} {path}: {}", resp.status());
            if limited {
                assert!(
                    resp.headers().contains_key("retry-after"),
                    "{method} {path}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 34, "every documented write is checked");
}
