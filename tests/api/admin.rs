//! The admin API (`/admin/api/…`): who may call it, what each operation does to people,
//! roles and permissions, that tokens and sessions follow at once, that every change is
//! audited with its actor, and that the OpenAPI document says exactly what it answers.

use crate::common::*;
use porta::clients::{CreatedClient, NewClient};
use reqwest::Method;
use serde_json::{json, Value};

const ALL_ADMIN: &str =
    "admin:users:read admin:users:write admin:roles admin:audit admin:keys admin:clients";

/// A running Porta with a service account allowed every admin scope, and a first-party
/// app that may ask for admin scopes on a person's behalf.
struct Console {
    app: TestApp,
    service: CreatedClient,
    /// A service token with every admin scope.
    token: String,
    /// A first-party app (no consent page) allowed roles, permissions and admin scopes.
    web: CreatedClient,
}

impl Console {
    async fn open() -> Console {
        Console::open_with(|_| {}).await
    }

    async fn open_with(adjust: impl FnOnce(&mut porta::config::Settings)) -> Console {
        let app = TestApp::spawn_with(adjust).await;
        let service = porta::clients::create(
            &app.state.pool,
            NewClient {
                name: "Back office".into(),
                grant_types: vec!["client_credentials".into()],
                scopes: vec![ALL_ADMIN.into()],
                ..Default::default()
            },
        )
        .await
        .expect("service account");
        let token = app.client_token(&service, ALL_ADMIN).await;
        let web = porta::clients::create(
            &app.state.pool,
            NewClient {
                name: "Admin app".into(),
                redirect_uris: vec![REDIRECT.into()],
                grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                scopes: vec![format!(
                    "openid profile email phone offline_access roles permissions bookings {ALL_ADMIN}"
                )],
                skip_consent: true,
                ..Default::default()
            },
        )
        .await
        .expect("admin web app");
        Console {
            app,
            service,
            token,
            web,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        call_as(&self.app, &self.token, method, path, body).await
    }

    /// Signs `email` in through the admin app asking for `scope`; the token response.
    async fn sign_in(&self, email: &str, scope: &str) -> Value {
        let (verifier, challenge) = pkce();
        let back = Browser::new()
            .authorize(
                &self.app,
                &[
                    ("response_type", "code"),
                    ("client_id", &self.web.client_id),
                    ("redirect_uri", REDIRECT),
                    ("scope", scope),
                    ("state", "s"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
                email,
                PASSWORD,
            )
            .await;
        let code = param(&back, "code").expect("code");
        let (status, body) = self.app.redeem(&self.web, &code, &verifier).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        self.app
            .token(
                &self.web,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
            )
            .await
    }
}

async fn call_as(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http().request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("admin call");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The admin API's OpenAPI document, as served.
async fn document(app: &TestApp) -> Value {
    http()
        .get(app.url("/admin/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Checks `value` against `schema` (the parts of JSON Schema the document uses: `$ref`,
/// `type` with null, `required`, `properties`, `additionalProperties: false`, `items`,
/// `enum`). Panics with the path of the first mismatch.
pub(crate) fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return conforms(doc, &doc["components"]["schemas"][name], value, at);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        assert!(
            types.contains(&actual) || (actual == "integer" && types.contains(&"number")),
            "{at}: {actual} is not {types:?}: {value}"
        );
    }
    if let Some(allowed) = schema["enum"].as_array() {
        assert!(allowed.contains(value), "{at}: {value} not in {allowed:?}");
    }
    if let Value::Object(map) = value {
        for key in schema["required"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap();
            assert!(map.contains_key(key), "{at}: {key} is required: {value}");
        }
        let props = schema["properties"].as_object();
        for (key, v) in map {
            match props.and_then(|p| p.get(key)) {
                Some(s) => conforms(doc, s, v, &format!("{at}.{key}")),
                None => assert!(
                    schema["additionalProperties"] != json!(false),
                    "{at}: {key} is not documented"
                ),
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            conforms(doc, s, v, &format!("{at}[{i}]"));
        }
    }
}

/// The documented answer of `method path` for `status`.
pub(crate) fn answer<'a>(doc: &'a Value, path: &str, method: &str, status: u16) -> &'a Value {
    let schema = &doc["paths"][path][method]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "{method} {path} does not document {status}"
    );
    schema
}

#[tokio::test]
async fn a_service_account_finds_shows_and_changes_people_and_each_change_is_audited() {
    let c = Console::open().await;
    let doc = document(&c.app).await;
    c.app.user("ann@example.com", PASSWORD).await;
    c.app.user("bob@example.com", PASSWORD).await;

    let (status, page) = c.call(Method::GET, "/admin/api/users?q=ANN", None).await;
    assert_eq!(status, 200, "{page}");
    conforms(
        &doc,
        answer(&doc, "/admin/api/users", "get", 200),
        &page,
        "list",
    );
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["email"], "ann@example.com");
    assert_eq!(page["items"][0]["state"], "active");
    assert_eq!(page["items"][0]["roles"], json!(["user"]));
    let (_, all) = c
        .call(Method::GET, "/admin/api/users?per_page=1&page=2", None)
        .await;
    assert_eq!(
        (all["total"].as_i64(), all["items"][0]["email"].as_str()),
        (Some(2), Some("bob@example.com"))
    );

    let (status, ann) = c
        .call(Method::GET, "/admin/api/users/Ann@Example.com", None)
        .await;
    assert_eq!(status, 200, "{ann}");
    conforms(
        &doc,
        answer(&doc, "/admin/api/users/{user}", "get", 200),
        &ann,
        "show",
    );
    assert_eq!(
        ann["factors"],
        json!({"password": true, "totp": false, "recovery_codes_left": 0, "phone": false})
    );
    let id = ann["id"].as_str().unwrap().to_string();

    let (status, changed) = c
        .call(
            Method::PATCH,
            &format!("/admin/api/users/{id}"),
            Some(json!({
                "name": "Ann Admin",
                "phone_number": "+351 912 345 678",
                "locale": "pt-PT",
                "zoneinfo": "Europe/Lisbon",
                "roles": ["consultant"],
            })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    conforms(
        &doc,
        answer(&doc, "/admin/api/users/{user}", "patch", 200),
        &changed,
        "patch",
    );
    assert_eq!(changed["name"], "Ann Admin");
    assert_eq!(changed["phone_number"], "+351912345678");
    assert_eq!(changed["roles"], json!(["consultant", "user"]));
    // Found by the number as well, in E.164 or as typed.
    let (status, _) = c
        .call(
            Method::GET,
            "/admin/api/users?phone=%2B351%20912%20345%20678",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, by_role) = c
        .call(Method::GET, "/admin/api/users?role=consultant", None)
        .await;
    assert_eq!(by_role["total"], 1);

    // Refusals: a taken address, an unknown role, bad values, unknown fields, no JSON.
    for (body, code) in [
        (json!({"email": "bob@example.com"}), 409),
        (json!({"roles": ["wizard"]}), 400),
        (json!({"locale": "pt_PT!"}), 400),
        (json!({"phone_number": "12"}), 400),
        (json!({"name": "x".repeat(201)}), 400),
        (json!({"shoe_size": 42}), 400),
        (json!({"email_verified": "yes"}), 400),
    ] {
        let (status, err) = c
            .call(
                Method::PATCH,
                &format!("/admin/api/users/{id}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, code, "{body} → {err}");
        conforms(
            &doc,
            &json!({"$ref": "#/components/schemas/Error"}),
            &err,
            "error",
        );
    }
    let resp = http()
        .patch(c.app.url(&format!("/admin/api/users/{id}")))
        .bearer_auth(&c.token)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (status, _) = c
        .call(Method::GET, "/admin/api/users/nobody@example.com", None)
        .await;
    assert_eq!(status, 404);

    // The audit log names the service account, the account and each change.
    let (status, audit) = c
        .call(
            Method::GET,
            "/admin/api/audit?kind=admin.user_updated&user=ann@example.com",
            None,
        )
        .await;
    assert_eq!(status, 200, "{audit}");
    conforms(
        &doc,
        answer(&doc, "/admin/api/audit", "get", 200),
        &audit,
        "audit",
    );
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    let detail = events[0]["detail"].as_str().unwrap();
    assert_eq!(events[0]["user_id"], id.as_str());
    assert_eq!(events[0]["client_id"], c.service.client_id.as_str());
    assert!(
        detail.starts_with(&format!("actor=service:{}", c.service.client_id)),
        "{detail}"
    );
    for part in [
        "name:Test Person→Ann Admin",
        "phone:-→+351912345678",
        "roles:user→consultant,user",
    ] {
        assert!(detail.contains(part), "{part} in {detail}");
    }

    // Create with a password and roles; the new person signs in.
    let (status, new) = c
        .call(
            Method::POST,
            "/admin/api/users",
            Some(json!({"email": "cid@example.com", "name": "Cid", "password": PASSWORD, "roles": ["admin"]})),
        )
        .await;
    assert_eq!(status, 201, "{new}");
    conforms(
        &doc,
        answer(&doc, "/admin/api/users", "post", 201),
        &new,
        "create",
    );
    assert_eq!(new["roles"], json!(["admin", "user"]));
    let tokens = c.sign_in("cid@example.com", "openid").await;
    assert!(tokens["access_token"].is_string());
    let (status, _) = c
        .call(
            Method::POST,
            "/admin/api/users",
            Some(json!({"email": "cid@example.com"})),
        )
        .await;
    assert_eq!(status, 409);
    let (status, weak) = c
        .call(
            Method::POST,
            "/admin/api/users",
            Some(json!({"email": "dee@example.com", "password": "password1"})),
        )
        .await;
    assert_eq!(status, 400, "{weak}");
}

#[tokio::test]
async fn only_admin_scopes_and_people_holding_the_admin_role_get_in() {
    let c = Console::open().await;
    let app = &c.app;
    // No token, a bad one, a token without the scope.
    let resp = http()
        .get(app.url("/admin/api/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let (status, _) = call_as(app, "not-a-token", Method::GET, "/admin/api/users", None).await;
    assert_eq!(status, 401);
    let reader = app.client_token(&c.service, "admin:users:read").await;
    let (status, _) = call_as(app, &reader, Method::GET, "/admin/api/users", None).await;
    assert_eq!(status, 200);
    let (status, err) = call_as(
        app,
        &reader,
        Method::POST,
        "/admin/api/users/x@example.com/disable",
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
    let (status, _) = call_as(app, &reader, Method::GET, "/admin/api/roles", None).await;
    assert_eq!(status, 403);

    // A person whose app asked for admin scopes, but who is not an admin.
    app.user(EMAIL, PASSWORD).await;
    let person = c.sign_in(EMAIL, "openid admin:users:read").await;
    let token = person["access_token"].as_str().unwrap();
    let (status, err) = call_as(app, token, Method::GET, "/admin/api/users", None).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (403, Some("forbidden")),
        "{err}"
    );
    // Made an admin, the same token works; the role is checked at every call.
    let (status, _) = c
        .call(
            Method::PATCH,
            &format!("/admin/api/users/{EMAIL}"),
            Some(json!({"roles": ["admin"]})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = call_as(app, token, Method::GET, "/admin/api/users", None).await;
    assert_eq!(status, 200);
    // An admin's token without an admin scope does not open the API.
    let plain = c.sign_in(EMAIL, "openid roles").await;
    let (status, _) = call_as(
        app,
        plain["access_token"].as_str().unwrap(),
        Method::GET,
        "/admin/api/users",
        None,
    )
    .await;
    assert_eq!(status, 403);
    // A person acting shows in the audit log as the person.
    let writer = c.sign_in(EMAIL, "openid admin:users:write").await;
    let writer = writer["access_token"].as_str().unwrap();
    app.user("eve@example.com", PASSWORD).await;
    let (status, _) = call_as(
        app,
        writer,
        Method::POST,
        "/admin/api/users/eve@example.com/unlock",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, audit) = c
        .call(
            Method::GET,
            "/admin/api/audit?kind=admin.throttle_unlocked",
            None,
        )
        .await;
    let me = c
        .call(Method::GET, &format!("/admin/api/users/{EMAIL}"), None)
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        audit["events"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("actor=person:{me}")),
        "{audit}"
    );
    // Taken away again: refused at once, whatever the token says.
    let (status, _) = c
        .call(
            Method::PATCH,
            &format!("/admin/api/users/{EMAIL}"),
            Some(json!({"roles": []})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = call_as(app, token, Method::GET, "/admin/api/users", None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn disabling_ends_sessions_refresh_and_introspection_and_blocks_sign_in() {
    let c = Console::open().await;
    let app = &c.app;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    assert_eq!(
        browser
            .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(browser.get(&app.url("/account")).await.status(), 200);
    let tokens = c.sign_in(EMAIL, "openid offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(app.introspect(&c.web, access).await["active"], true);

    let (status, user) = c
        .call(
            Method::POST,
            &format!("/admin/api/users/{EMAIL}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["state"], "disabled");
    assert!(user["disabled_at"].is_i64());
    assert_eq!(user["sessions"], json!([]));

    assert_eq!(app.introspect(&c.web, access).await["active"], false);
    let (status, err) = c.refresh(refresh).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(app.userinfo(access).await.status(), 401);
    // The browser's session is gone; the right password does not sign in again.
    assert_eq!(browser.get(&app.url("/account")).await.status(), 303);
    let again = browser
        .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    assert_eq!(again.status(), 403);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("This account is disabled"));
    let (_, list) = c
        .call(Method::GET, "/admin/api/users?state=disabled", None)
        .await;
    assert_eq!(list["total"], 1);

    // Enabled again: sign-in works; the old grants stay revoked.
    let (status, user) = c
        .call(
            Method::POST,
            &format!("/admin/api/users/{EMAIL}/enable"),
            None,
        )
        .await;
    assert_eq!((status, user["state"].as_str()), (200, Some("active")));
    assert_eq!(
        browser
            .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(c.refresh(refresh).await.0, 400);
    let (_, audit) = c
        .call(Method::GET, &format!("/admin/api/audit?user={EMAIL}"), None)
        .await;
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"admin.user_disabled") && kinds.contains(&"admin.user_enabled"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn roles_and_permissions_reach_tokens_introspection_and_userinfo_at_the_next_refresh() {
    let c = Console::open().await;
    let doc = document(&c.app).await;
    let app = &c.app;
    app.user(EMAIL, PASSWORD).await;

    let (status, perm) = c
        .call(
            Method::POST,
            "/admin/api/permissions",
            Some(json!({"name": "appointments:manage", "description": "Book for others"})),
        )
        .await;
    assert_eq!(status, 201, "{perm}");
    c.call(
        Method::POST,
        "/admin/api/permissions",
        Some(json!({"name": "appointments:read"})),
    )
    .await;
    let (status, role) = c
        .call(
            Method::POST,
            "/admin/api/roles",
            Some(json!({"name": "receptionist", "description": "Front desk"})),
        )
        .await;
    assert_eq!(status, 201, "{role}");
    conforms(
        &doc,
        answer(&doc, "/admin/api/roles", "post", 201),
        &role,
        "role",
    );
    for p in ["appointments:manage", "appointments:read"] {
        let (status, role) = c
            .call(
                Method::PUT,
                &format!("/admin/api/roles/receptionist/permissions/{p}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{role}");
    }
    c.call(
        Method::PUT,
        "/admin/api/roles/consultant/permissions/appointments:read",
        None,
    )
    .await;
    c.call(Method::PATCH, &format!("/admin/api/users/{EMAIL}"), Some(json!({"roles": ["receptionist", "consultant"], "phone_number": "+447700900123", "locale": "pt-PT"}))).await;

    let tokens = c
        .sign_in(
            EMAIL,
            "openid profile phone roles permissions offline_access",
        )
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let at = claims(access);
    assert_eq!(at["roles"], json!(["consultant", "receptionist", "user"]));
    assert_eq!(
        at["permissions"],
        json!(["appointments:manage", "appointments:read"])
    );
    let seen = app.introspect(&c.web, access).await;
    assert_eq!(seen["permissions"], at["permissions"]);
    let info: Value = app.userinfo(access).await.json().await.unwrap();
    assert_eq!(info["permissions"], at["permissions"]);
    assert_eq!(info["roles"], at["roles"]);
    assert_eq!(info["phone_number"], "+447700900123");
    assert_eq!(info["phone_number_verified"], true);
    assert_eq!(info["locale"], "pt-PT");
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["phone_number"], "+447700900123");

    // Without the scopes, none of it.
    let narrow = c.sign_in(EMAIL, "openid").await;
    let narrow_at = claims(narrow["access_token"].as_str().unwrap());
    assert!(narrow_at.get("permissions").is_none() && narrow_at.get("roles").is_none());
    let info: Value = app
        .userinfo(narrow["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert!(
        info.get("phone_number").is_none() && info.get("permissions").is_none(),
        "{info}"
    );

    // A permission taken from the role is gone at the next refresh; so is a deleted role.
    let (status, role) = c
        .call(
            Method::DELETE,
            "/admin/api/roles/receptionist/permissions/appointments:manage",
            None,
        )
        .await;
    assert_eq!(
        (status, role["permissions"].clone()),
        (200, json!(["appointments:read"]))
    );
    let (status, refreshed) = c.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["permissions"],
        json!(["appointments:read"])
    );
    let (status, gone) = c
        .call(Method::DELETE, "/admin/api/roles/receptionist", None)
        .await;
    assert_eq!(
        (status, gone["accounts_that_held_it"].as_i64()),
        (200, Some(1)),
        "{gone}"
    );
    let (_, refreshed) = c
        .refresh(refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["roles"],
        json!(["consultant", "user"])
    );

    // System roles stay; names are checked; duplicates refused; lists show the links.
    let (status, err) = c.call(Method::DELETE, "/admin/api/roles/admin", None).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("conflict")));
    let (status, _) = c
        .call(
            Method::POST,
            "/admin/api/roles",
            Some(json!({"name": "Front Desk"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = c
        .call(
            Method::POST,
            "/admin/api/roles",
            Some(json!({"name": "consultant"})),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = c
        .call(
            Method::PUT,
            "/admin/api/roles/consultant/permissions/nope",
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, roles) = c.call(Method::GET, "/admin/api/roles", None).await;
    conforms(
        &doc,
        answer(&doc, "/admin/api/roles", "get", 200),
        &roles,
        "roles",
    );
    let consultant = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "consultant")
        .unwrap();
    assert_eq!(
        (
            consultant["system"].as_bool(),
            consultant["members"].as_i64()
        ),
        (Some(true), Some(1))
    );
    let (_, perms) = c.call(Method::GET, "/admin/api/permissions", None).await;
    conforms(
        &doc,
        answer(&doc, "/admin/api/permissions", "get", 200),
        &perms,
        "permissions",
    );
    let (status, _) = c
        .call(
            Method::DELETE,
            "/admin/api/permissions/appointments:read",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, refreshed) = c
        .refresh(refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["permissions"],
        json!([])
    );
}

#[tokio::test]
async fn ending_sessions_resetting_factors_unlocking_and_deleting() {
    // Locks long enough to outlast the test's own steps.
    let c = Console::open_with(|s| s.throttle.lock_base = 300).await;
    let app = &c.app;
    app.user(EMAIL, PASSWORD).await;

    // End every session and grant.
    let tokens = c.sign_in(EMAIL, "openid offline_access").await;
    let (status, ended) = c
        .call(
            Method::POST,
            &format!("/admin/api/users/{EMAIL}/end-sessions"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["sessions_ended"], 1);
    assert_eq!(
        c.refresh(tokens["refresh_token"].as_str().unwrap()).await.0,
        400
    );

    // Second factors removed: the next sign-in asks for no code.
    let browser = Browser::new();
    crate::totp::enrol(app, &browser).await;
    let (_, before) = c
        .call(Method::GET, &format!("/admin/api/users/{EMAIL}"), None)
        .await;
    assert_eq!(
        (
            before["factors"]["totp"].as_bool(),
            before["factors"]["recovery_codes_left"].as_i64()
        ),
        (Some(true), Some(10))
    );
    let (status, reset) = c
        .call(
            Method::POST,
            &format!("/admin/api/users/{EMAIL}/reset-mfa"),
            None,
        )
        .await;
    assert_eq!((status, reset["totp_removed"].as_bool()), (200, Some(true)));
    let (_, after) = c
        .call(Method::GET, &format!("/admin/api/users/{EMAIL}"), None)
        .await;
    assert_eq!(after["factors"]["recovery_codes_left"], 0);
    let signed = Browser::new()
        .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    assert_eq!(location(&signed), "/account");

    // Locked out by failures, unlocked by an administrator.
    let locker = Browser::new();
    let mut status = 0;
    for _ in 0..12 {
        status = locker
            .submit_login(app, &app.url("/login"), EMAIL, "wrong password here")
            .await
            .status()
            .as_u16();
        if status == 429 {
            break;
        }
    }
    assert_eq!(status, 429, "the account locks");
    assert_eq!(
        locker
            .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        429
    );
    let (status, unlocked) = c
        .call(
            Method::POST,
            &format!("/admin/api/users/{EMAIL}/unlock"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{unlocked}");
    assert!(unlocked["counters_cleared"].as_i64().unwrap() >= 1);
    assert_eq!(
        Browser::new()
            .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        303
    );

    // A forced password reset: the password no longer signs in.
    let (status, _) = c
        .call(
            Method::POST,
            &format!("/admin/api/users/{EMAIL}/reset-password"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        Browser::new()
            .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        401
    );

    // Deleted: gone from every list, its grants dead, its audit events kept under its id.
    let tokens = {
        let (status, _) = c
            .call(
                Method::POST,
                "/admin/api/users",
                Some(json!({"email": "fay@example.com", "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 201);
        c.sign_in("fay@example.com", "openid offline_access").await
    };
    // A failed sign-in puts the address in an event's detail.
    Browser::new()
        .submit_login(
            app,
            &app.url("/login"),
            "fay@example.com",
            "not her password at all",
        )
        .await;
    let (_, fay) = c
        .call(Method::GET, "/admin/api/users/fay@example.com", None)
        .await;
    let (status, deleted) = c
        .call(Method::DELETE, "/admin/api/users/fay@example.com", None)
        .await;
    assert_eq!((status, deleted["deleted"].as_bool()), (200, Some(true)));
    let (status, _) = c
        .call(Method::GET, "/admin/api/users/fay@example.com", None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        c.refresh(tokens["refresh_token"].as_str().unwrap()).await.0,
        400
    );
    assert_eq!(
        app.introspect(&c.web, tokens["access_token"].as_str().unwrap())
            .await["active"],
        false
    );
    let (_, audit) = c
        .call(
            Method::GET,
            &format!("/admin/api/audit?user={}", fay["id"].as_str().unwrap()),
            None,
        )
        .await;
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"admin.user_deleted") && kinds.contains(&"sign_in.success"),
        "{kinds:?}"
    );
    // Kept under the id only: no IP or browser of hers, her address erased everywhere.
    let signed_in = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "sign_in.success")
        .unwrap();
    assert_eq!(
        (signed_in["ip"].as_str(), signed_in["user_agent"].as_str()),
        (Some(""), Some(""))
    );
    let (_, all) = c
        .call(Method::GET, "/admin/api/audit?limit=1000", None)
        .await;
    assert!(!all.to_string().contains("fay@example.com"), "{all}");
    assert!(all.to_string().contains("email=[erased]"), "{all}");
    let (status, _) = c
        .call(
            Method::POST,
            "/admin/api/users/fay@example.com/disable",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn every_documented_admin_route_is_routed_and_keys_rotate_audited() {
    let c = Console::open().await;
    let doc = document(&c.app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{user}", "nobody@example.com")
            .replace("{role}", "no-role")
            .replace("{permission}", "no-permission")
            .replace("{client}", "no-client");
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // With a token, every route answers as documented: never 405, never a bare
            // 404 without the API's error body.
            let resp = http()
                .request(method.clone(), c.app.url(&concrete))
                .bearer_auth(&c.token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            assert_ne!(status, 405, "{method} {path}");
            let operation = &doc["paths"][path][method.as_str().to_lowercase()];
            assert!(
                !operation["responses"][status.to_string()].is_null(),
                "{method} {path} answered {status}, which is not documented"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 34, "every admin operation is documented");

    let (status, keys) = c
        .call(Method::POST, "/admin/api/keys/rotate", Some(json!({})))
        .await;
    assert_eq!(status, 200, "{keys}");
    conforms(
        &doc,
        answer(&doc, "/admin/api/keys/rotate", "post", 200),
        &keys,
        "keys",
    );
    assert!(
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["state"] == "next"),
        "{keys}"
    );
    // Two rotations: the walk over the routes above, and this one.
    let (_, audit) = c
        .call(
            Method::GET,
            "/admin/api/audit?kind=admin.keys_rotated",
            None,
        )
        .await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 2, "{audit}");
    // The older key routes still answer the porta:admin scope.
    let old = porta::clients::create(
        &c.app.state.pool,
        NewClient {
            name: "Old tool".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["porta:admin".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let token = c.app.client_token(&old, "porta:admin").await;
    let (status, _) = call_as(&c.app, &token, Method::GET, "/admin/keys", None).await;
    assert_eq!(status, 200);
    let (status, _) = call_as(&c.app, &token, Method::GET, "/admin/api/users", None).await;
    assert_eq!(status, 200);
}

/// Client credentials with `id` and `secret`: the status of a token request.
async fn credentials_status(app: &TestApp, id: &str, secret: &str) -> u16 {
    http()
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn apps_are_registered_changed_rotated_disabled_and_deleted() {
    let c = Console::open().await;
    let doc = document(&c.app).await;
    let app = &c.app;
    let (status, created) = c
        .call(
            Method::POST,
            "/admin/api/clients",
            Some(json!({
                "name": "Bookings back office",
                "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "scope": "openid profile email offline_access",
                "skip_consent": true,
                "access_token_ttl": 600,
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    conforms(
        &doc,
        answer(&doc, "/admin/api/clients", "post", 201),
        &created,
        "created",
    );
    let id = created["client_id"].as_str().unwrap().to_string();
    let first = created["client_secret"].as_str().unwrap().to_string();
    assert_eq!(credentials_status(app, &id, &first).await, 200);

    // Shown and listed without secrets.
    let (status, shown) = c
        .call(Method::GET, &format!("/admin/api/clients/{id}"), None)
        .await;
    assert_eq!(status, 200);
    conforms(
        &doc,
        answer(&doc, "/admin/api/clients/{client}", "get", 200),
        &shown,
        "show",
    );
    assert_eq!(
        (shown["access_token_ttl"].as_i64(), shown["state"].as_str()),
        (Some(600), Some("active"))
    );
    let (_, list) = c.call(Method::GET, "/admin/api/clients", None).await;
    conforms(
        &doc,
        answer(&doc, "/admin/api/clients", "get", 200),
        &list,
        "list",
    );
    assert!(!list.to_string().contains(&first) && !list.to_string().contains("secret_hash"));

    // Changed under the registration rules; the audit event says what changed.
    let (status, changed) = c
        .call(
            Method::PATCH,
            &format!("/admin/api/clients/{id}"),
            Some(json!({"redirect_uris": ["https://bo.example.com/cb"], "access_token_ttl": null, "name": "Back office", "access_token_format": "opaque"})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (
            shown["access_token_format"].as_str(),
            changed["access_token_format"].as_str()
        ),
        (Some("jwt"), Some("opaque"))
    );
    assert_eq!(
        changed["redirect_uris"],
        json!(["https://bo.example.com/cb"])
    );
    assert!(changed["access_token_ttl"].is_null());
    for bad in [
        json!({"redirect_uris": ["http://evil.example.com/cb"]}),
        json!({"grant_types": ["password"]}),
        json!({"access_token_ttl": 5}),
        json!({"public": true}),
        json!({"name": ""}),
        json!({"access_token_format": "paseto"}),
    ] {
        let (status, err) = c
            .call(
                Method::PATCH,
                &format!("/admin/api/clients/{id}"),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, 400, "{bad} → {err}");
    }
    let (_, audit) = c
        .call(
            Method::GET,
            "/admin/api/audit?kind=admin.client_updated",
            None,
        )
        .await;
    let detail = audit["events"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(r#"name:"Bookings back office"→"Back office""#),
        "{detail}"
    );
    assert_eq!(audit["events"][0]["client_id"], id.as_str());

    // Rotation: both secrets work during the grace period; grace 0 ends the old at once.
    let (status, rotated) = c
        .call(
            Method::POST,
            &format!("/admin/api/clients/{id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    conforms(
        &doc,
        answer(
            &doc,
            "/admin/api/clients/{client}/rotate-secret",
            "post",
            200,
        ),
        &rotated,
        "rotated",
    );
    let second = rotated["client_secret"].as_str().unwrap().to_string();
    assert_eq!(
        credentials_status(app, &id, &first).await,
        200,
        "the old secret, in its grace period"
    );
    assert_eq!(credentials_status(app, &id, &second).await, 200);
    let (status, rotated) = c
        .call(
            Method::POST,
            &format!("/admin/api/clients/{id}/rotate-secret"),
            Some(json!({"grace_seconds": 0})),
        )
        .await;
    assert_eq!(status, 200);
    let third = rotated["client_secret"].as_str().unwrap().to_string();
    assert_eq!(credentials_status(app, &id, &second).await, 401);
    assert_eq!(credentials_status(app, &id, &first).await, 401);
    assert_eq!(credentials_status(app, &id, &third).await, 200);
    let (status, _) = c
        .call(
            Method::POST,
            &format!("/admin/api/clients/{id}/rotate-secret"),
            Some(json!({"grace_seconds": 99999999})),
        )
        .await;
    assert_eq!(status, 400);
    let (_, audit) = c
        .call(
            Method::GET,
            "/admin/api/audit?kind=admin.client_secret_rotated",
            None,
        )
        .await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 2);
    assert!(
        !audit.to_string().contains(&third),
        "no secret in the audit log"
    );

    // Disabled: no client authentication, its people's grants revoked, no new sign-in.
    app.user(EMAIL, PASSWORD).await;
    let (status, _) = c
        .call(
            Method::PATCH,
            &format!("/admin/api/clients/{id}"),
            Some(json!({"redirect_uris": [REDIRECT]})),
        )
        .await;
    assert_eq!(status, 200);
    let the_app = CreatedClient {
        client_id: id.clone(),
        client_secret: Some(third.clone()),
        name: String::new(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![],
        scope: String::new(),
        token_endpoint_auth_method: "client_secret_basic",
        skip_consent: true,
        audiences: vec![],
        web_origins: vec![],
        lifetimes: Default::default(),
    };
    let (verifier, challenge) = pkce();
    let back = Browser::new()
        .authorize(app, &openid_query(&id, &challenge), EMAIL, PASSWORD)
        .await;
    let (status, tokens) = app
        .redeem(&the_app, &param(&back, "code").unwrap(), &verifier)
        .await;
    assert_eq!(status, 200, "{tokens}");
    let (status, disabled) = c
        .call(
            Method::POST,
            &format!("/admin/api/clients/{id}/disable"),
            None,
        )
        .await;
    assert_eq!(
        (status, disabled["state"].as_str()),
        (200, Some("disabled"))
    );
    assert_eq!(credentials_status(app, &id, &third).await, 401);
    let refresh = app
        .token(
            &the_app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(refresh.0, 401, "{}", refresh.1);
    let resp = Browser::new()
        .get(&authorize_url(app, &openid_query(&id, &challenge)))
        .await;
    assert_eq!(resp.status(), 400, "a disabled app starts no sign-in");
    let resource = app.resource_server().await;
    assert_eq!(
        app.introspect(&resource, tokens["access_token"].as_str().unwrap())
            .await["active"],
        false
    );
    let (status, enabled) = c
        .call(
            Method::POST,
            &format!("/admin/api/clients/{id}/enable"),
            None,
        )
        .await;
    assert_eq!((status, enabled["state"].as_str()), (200, Some("active")));
    assert_eq!(credentials_status(app, &id, &third).await, 200);

    // Deleted.
    let (status, _) = c
        .call(Method::DELETE, &format!("/admin/api/clients/{id}"), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = c
        .call(Method::GET, &format!("/admin/api/clients/{id}"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(credentials_status(app, &id, &third).await, 401);
}

/// The booking app's attributes, as `config/production.example.toml` declares them.
pub(crate) fn booking_attributes() -> Vec<porta::config::AttributeSpec> {
    serde_json::from_value(json!([
        {"name": "user_type", "type": "enum", "values": ["user", "consultant"], "editable_by": "person", "scope": "profile"},
        {"name": "profile_status", "type": "enum", "values": ["pending", "approved", "rejected"], "scope": "profile", "label": "Profile status"},
        {"name": "city", "type": "string", "max_length": 100, "editable_by": "person", "scope": "profile"},
        {"name": "specializations", "type": "list", "max_length": 64, "editable_by": "person", "scope": "bookings", "claim": "specialities"},
    ]))
    .unwrap()
}

#[tokio::test]
async fn custom_attributes_are_checked_released_by_scope_and_edited_by_whom_they_may() {
    let c = Console::open_with(|s| s.attributes.attributes = booking_attributes()).await;
    let app = &c.app;
    let doc = document(app).await;
    app.user(EMAIL, PASSWORD).await;
    let (status, schema) = c.call(Method::GET, "/admin/api/attributes", None).await;
    assert_eq!(status, 200);
    conforms(
        &doc,
        answer(&doc, "/admin/api/attributes", "get", 200),
        &schema,
        "schema",
    );
    assert_eq!(schema["attributes"].as_array().unwrap().len(), 4);

    let path = format!("/admin/api/users/{EMAIL}");
    for bad in [
        json!({"user_type": "wizard"}),
        json!({"city": 5}),
        json!({"city": "x".repeat(101)}),
        json!({"shoe_size": 42}),
        json!({"specializations": "tax"}),
        json!({"specializations": ["x".repeat(65)]}),
    ] {
        let (status, err) = c
            .call(
                Method::PATCH,
                &path,
                Some(json!({"attributes": bad.clone()})),
            )
            .await;
        assert_eq!(status, 400, "{bad} → {err}");
    }
    let (status, user) = c
        .call(
            Method::PATCH,
            &path,
            Some(json!({"attributes": {"user_type": "consultant", "profile_status": "pending", "city": " Lisboa ", "specializations": ["tax", "family law"]}})),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    conforms(
        &doc,
        answer(&doc, "/admin/api/users/{user}", "patch", 200),
        &user,
        "user",
    );
    assert_eq!(
        user["attributes"],
        json!({"user_type": "consultant", "profile_status": "pending", "city": "Lisboa", "specializations": ["tax", "family law"]})
    );
    for (query, total) in [
        ("city:Lisboa", 1),
        ("specializations:tax", 1),
        ("city:Porto", 0),
        ("user_type:consultant", 1),
    ] {
        let (_, found) = c
            .call(
                Method::GET,
                &format!("/admin/api/users?attribute={query}"),
                None,
            )
            .await;
        assert_eq!(found["total"], total, "{query}");
    }
    let (_, audit) = c
        .call(
            Method::GET,
            "/admin/api/audit?kind=admin.user_updated",
            None,
        )
        .await;
    assert!(
        audit["events"][0]["detail"]
            .as_str()
            .unwrap()
            .contains(r#"city:-→"Lisboa""#),
        "{audit}"
    );

    // Released by scope, under its claim, in every token and userinfo.
    let tokens = c.sign_in(EMAIL, "openid profile bookings").await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    let access = claims(tokens["access_token"].as_str().unwrap());
    for claims in [&id, &access] {
        assert_eq!(claims["user_type"], "consultant");
        assert_eq!(claims["profile_status"], "pending");
        assert_eq!(claims["specialities"], json!(["tax", "family law"]));
        assert!(claims.get("specializations").is_none());
    }
    let info: Value = app
        .userinfo(tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["city"], "Lisboa");
    let seen = app
        .introspect(&c.web, tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(seen["specialities"], json!(["tax", "family law"]));
    let narrow = c.sign_in(EMAIL, "openid profile").await;
    let narrow = claims(narrow["access_token"].as_str().unwrap());
    assert_eq!(narrow["city"], "Lisboa");
    assert!(
        narrow.get("specialities").is_none(),
        "bookings scope not asked"
    );

    // The person edits their own attributes on the account page, not the admin-only one.
    let browser = Browser::new();
    browser
        .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let page = browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("About you") && page.contains("Profile status:</span> pending"),
        "{page}"
    );
    let resp = browser
        .fill(
            app,
            "/account",
            "/account/attributes",
            &[
                ("attr_user_type", "consultant"),
                ("attr_city", "Porto"),
                ("attr_specializations", "yoga, tax"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("Saved."));
    let (_, user) = c.call(Method::GET, &path, None).await;
    assert_eq!(user["attributes"]["city"], "Porto");
    assert_eq!(
        user["attributes"]["specializations"],
        json!(["yoga", "tax"])
    );
    let resp = browser
        .fill(
            app,
            "/account",
            "/account/attributes",
            &[
                ("attr_user_type", "consultant"),
                ("attr_city", "Porto"),
                ("attr_profile_status", "approved"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("profile_status is changed by administrators only"));
    let resp = browser
        .fill(
            app,
            "/account",
            "/account/attributes",
            &[("attr_user_type", "wizard")],
        )
        .await;
    assert_eq!(resp.status(), 400);
    let (_, user) = c.call(Method::GET, &path, None).await;
    assert_eq!(
        (
            user["attributes"]["profile_status"].as_str(),
            user["attributes"]["user_type"].as_str()
        ),
        (Some("pending"), Some("consultant"))
    );
    let (_, audit) = c
        .call(
            Method::GET,
            "/admin/api/audit?kind=account.attributes_changed",
            None,
        )
        .await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 1, "{audit}");
}

/// The invitation link in a delivered email (its quoted-printable soft breaks undone, as a
/// mail reader does).
fn invitation_link(message: &str) -> String {
    let message = message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = message.find("http://").expect("a link in the invitation");
    message[start..]
        .split(|c: char| c.is_whitespace() || c == '<' || c == '"')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_invitation_sets_a_first_password_once_and_expires() {
    use crate::common::smtp::{send_mail_to, SmtpSink};
    let sink = SmtpSink::start().await;
    let c = Console::open_with(|s| send_mail_to(s, sink.port)).await;
    let app = &c.app;
    let (status, err) = c
        .call(
            Method::POST,
            "/admin/api/users",
            Some(json!({"email": "ivy@example.com", "invite": true, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let (status, ivy) = c
        .call(Method::POST, "/admin/api/users", Some(json!({"email": "Ivy@Example.com", "name": "Ivy", "invite": true, "roles": ["consultant"]})))
        .await;
    assert_eq!(status, 201, "{ivy}");
    assert_eq!(
        (
            ivy["email_verified"].as_bool(),
            ivy["factors"]["password"].as_bool()
        ),
        (Some(false), Some(false))
    );
    assert!(ivy["invitation_expires_at"].as_i64().unwrap() > porta::time::now() + 6 * 86_400);
    let link = invitation_link(&sink.message(0).await);
    assert!(link.starts_with(&app.url("/invitation/")), "{link}");
    // Not yet a way in.
    assert_eq!(
        Browser::new()
            .submit_login(app, &app.url("/login"), "ivy@example.com", PASSWORD)
            .await
            .status(),
        401
    );

    let browser = Browser::new();
    let page = browser.get(&link).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("An account was made for <strong>ivy@example.com</strong>"));
    let csrf = hidden(&page, "csrf");
    let weak = browser
        .post(&link, &[("csrf", &csrf), ("new_password", "password1")])
        .await;
    assert_eq!(
        weak.status(),
        400,
        "a weak password does not spend the link"
    );
    let set = browser
        .post(&link, &[("csrf", &csrf), ("new_password", PASSWORD)])
        .await;
    assert_eq!(set.status(), 200);
    assert!(set.text().await.unwrap().contains("Your password is set"));
    assert_eq!(
        Browser::new()
            .submit_login(app, &app.url("/login"), "ivy@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    // Once only.
    assert_eq!(browser.get(&link).await.status(), 404);
    assert_eq!(
        browser
            .post(
                &link,
                &[
                    ("csrf", &csrf),
                    ("new_password", "another good passphrase here")
                ]
            )
            .await
            .status(),
        404
    );
    // An account in use cannot be invited again; the audit log has both sides.
    let (status, _) = c
        .call(
            Method::POST,
            "/admin/api/users",
            Some(json!({"email": "ivy@example.com", "invite": true})),
        )
        .await;
    assert_eq!(status, 409);
    let (_, audit) = c
        .call(Method::GET, "/admin/api/audit?user=ivy@example.com", None)
        .await;
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"admin.user_invited") && kinds.contains(&"account.invitation_accepted"),
        "{kinds:?}"
    );

    // A link past invitation_ttl is dead; a new invitation replaces an unused one.
    let sink = SmtpSink::start().await;
    let c = Console::open_with(|s| {
        send_mail_to(s, sink.port);
        s.accounts.invitation_ttl = 1;
    })
    .await;
    c.call(
        Method::POST,
        "/admin/api/users",
        Some(json!({"email": "old@example.com", "invite": true})),
    )
    .await;
    let first = invitation_link(&sink.message(0).await);
    let_time_pass(std::time::Duration::from_secs(2), "the invitation expires").await;
    let resp = Browser::new().get(&first).await;
    assert_eq!(resp.status(), 404);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("used already or has expired"));
    let (status, _) = c
        .call(
            Method::POST,
            "/admin/api/users",
            Some(json!({"email": "old@example.com", "invite": true})),
        )
        .await;
    assert_eq!(status, 201, "inviting again an address nobody took up");
    let second = invitation_link(&sink.message(1).await);
    assert_ne!(first, second);
}
