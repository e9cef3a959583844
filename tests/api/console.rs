//! The admin console (`/admin`): who gets in (the admin role, a recent sign-in, the second
//! factor), CSRF and confirmation on every change, and that its actions are the admin
//! API's (the person's grants die, the audit log names the admin).

use crate::common::*;

/// An admin (the standard person, holding `admin`) signed in through `browser`.
async fn admin_browser(app: &TestApp) -> Browser {
    app.user(EMAIL, PASSWORD).await;
    porta::accounts::change_role(&app.state.pool, EMAIL, "admin", true)
        .await
        .unwrap();
    let browser = Browser::new();
    let resp = browser
        .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    assert_eq!(resp.status(), 303);
    browser
}

/// A person with a live grant (refresh token) to a first-party app.
async fn person_with_grant(app: &TestApp, email: &str) -> (CreatedClientTokens, String) {
    app.user(email, PASSWORD).await;
    let client = app
        .client(false, &["authorization_code", "refresh_token"], true)
        .await;
    let (verifier, challenge) = pkce();
    let back = Browser::new()
        .authorize(
            app,
            &openid_query(&client.client_id, &challenge),
            email,
            PASSWORD,
        )
        .await;
    let (status, tokens) = app
        .redeem(&client, &param(&back, "code").unwrap(), &verifier)
        .await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    (CreatedClientTokens { client }, refresh)
}

pub(crate) struct CreatedClientTokens {
    pub client: porta::clients::CreatedClient,
}

async fn refresh_status(app: &TestApp, c: &CreatedClientTokens, refresh: &str) -> u16 {
    app.token(
        &c.client,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await
    .0
}

#[tokio::test]
async fn only_recent_admins_get_in_and_the_second_factor_counts() {
    let app = TestApp::spawn_with(|s| s.accounts.admin_fresh_sign_in = 3).await;
    // Nobody signed in: to the sign-in page.
    let resp = Browser::new().get(&app.url("/admin")).await;
    assert_eq!(
        (resp.status().as_u16(), location(&resp)),
        (303, "/login".to_string())
    );
    // A person without the role: refused.
    app.user("plain@example.com", PASSWORD).await;
    let plain = Browser::new();
    plain
        .submit_login(&app, &app.url("/login"), "plain@example.com", PASSWORD)
        .await;
    let resp = plain.get(&app.url("/admin/people")).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("admin role"));

    // An admin gets in, and the account page links to the console.
    let admin = admin_browser(&app).await;
    let page = admin.get(&app.url("/account")).await.text().await.unwrap();
    assert!(page.contains(r#"<a href="/admin">Administration</a>"#));
    let resp = admin.get(&app.url("/admin")).await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("people (0 disabled)") && page.contains("sign-ins in the last 24 hours"),
        "{page}"
    );
    // Not for long: after admin_fresh_sign_in, sign in again.
    let_time_pass(std::time::Duration::from_secs(4), "the sign-in grows old").await;
    let resp = admin.get(&app.url("/admin/people")).await;
    assert_eq!(resp.status(), 403);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("your last sign-in was too long ago"));

    // With an authenticator app set up, a sign-in without it does not open the console.
    let app = TestApp::spawn().await;
    let admin = admin_browser(&app).await;
    crate::totp::enrol(&app, &admin).await;
    let resp = admin.get(&app.url("/admin")).await;
    assert_eq!(resp.status(), 403);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("sign in again with your authenticator app"));

    // admin_require_mfa: every admin needs one.
    let app = TestApp::spawn_with(|s| s.accounts.admin_require_mfa = true).await;
    let admin = admin_browser(&app).await;
    let resp = admin.get(&app.url("/admin")).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("needs a second factor"));
}

#[tokio::test]
async fn console_actions_ask_first_carry_csrf_and_act_like_the_api() {
    let app = TestApp::spawn().await;
    let admin = admin_browser(&app).await;
    let (grant, refresh) = person_with_grant(&app, "tim@example.com").await;

    // Find the person.
    let page = admin
        .get(&app.url("/admin/people?q=tim"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("1 found"), "{page}");
    let link = page
        .split("href=\"/admin/people/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let person_path = format!("/admin/people/{link}");
    let page = admin
        .get(&app.url(&person_path))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("tim@example.com") && page.contains("active"));

    // A form without its CSRF token is refused.
    let resp = admin
        .post(
            &app.url(&format!("{person_path}/disable")),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(refresh_status(&app, &grant, &refresh).await, 200);

    // Disable asks first; confirmed, the grant dies.
    let asked = admin
        .submit(&app, &page, &format!("{person_path}/disable"), &[])
        .await;
    assert_eq!(asked.status(), 200);
    let asked = asked.text().await.unwrap();
    assert!(asked.contains("Are you sure?") && asked.contains("Disable this account?"));
    let done = admin
        .submit(&app, &asked, &format!("{person_path}/disable"), &[])
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), format!("{person_path}?done=disabled"));
    let page = admin
        .get(&app.url(&location(&done)))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("The account is disabled"), "{page}");
    let (status, _) = app
        .token(
            &grant.client,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 400);

    // Roles: create one, give it a permission, give it to the person.
    let roles = admin
        .get(&app.url("/admin/roles"))
        .await
        .text()
        .await
        .unwrap();
    let resp = admin
        .submit(
            &app,
            &roles,
            "/admin/roles/create-role",
            &[("name", "front-desk"), ("description", "Reception")],
        )
        .await;
    assert_eq!(location(&resp), "/admin/roles?done=saved");
    let roles = admin
        .get(&app.url("/admin/roles"))
        .await
        .text()
        .await
        .unwrap();
    let resp = admin
        .submit(
            &app,
            &roles,
            "/admin/roles/create-permission",
            &[("name", "appointments:manage")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let roles = admin
        .get(&app.url("/admin/roles"))
        .await
        .text()
        .await
        .unwrap();
    let resp = admin
        .submit(
            &app,
            &roles,
            "/admin/roles/grant",
            &[
                ("role", "front-desk"),
                ("permission", "appointments:manage"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let bad = admin
        .submit(
            &app,
            &roles,
            "/admin/roles/create-role",
            &[("name", "Front Desk")],
        )
        .await;
    assert_eq!(bad.status(), 400);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("a name is 1 to 64 characters"));
    let page = admin
        .get(&app.url(&person_path))
        .await
        .text()
        .await
        .unwrap();
    let resp = admin
        .submit(
            &app,
            &page,
            &format!("{person_path}/add-role"),
            &[("role", "front-desk")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let page = admin
        .get(&app.url(&person_path))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Permissions: appointments:manage"), "{page}");

    // Apps: registered with the secret shown once, rotated, disabled.
    let apps = admin
        .get(&app.url("/admin/apps"))
        .await
        .text()
        .await
        .unwrap();
    let created = admin
        .submit(
            &app,
            &apps,
            "/admin/apps",
            &[
                ("name", "Back office"),
                ("redirect_uris", "https://bo.example.com/cb"),
                ("grant_client_credentials", "on"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(created.contains("shown this once"), "{created}");
    let secret = created
        .split("<pre id=\"client_secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let id = created
        .split("<code id=\"client_id\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let status = http()
        .post(app.url("/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let listed = admin
        .get(&app.url("/admin/apps"))
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains("Back office") && !listed.contains(&secret));

    // The audit page shows what the admin did, as the admin.
    let audit = admin
        .get(&app.url("/admin/audit?kind=admin.user_disabled"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("admin.user_disabled") && audit.contains("actor=person:"),
        "{audit}"
    );

    // Keys: a next key is published from the console.
    let keys = admin
        .get(&app.url("/admin/signing-keys"))
        .await
        .text()
        .await
        .unwrap();
    let resp = admin
        .submit(&app, &keys, "/admin/signing-keys/publish-next", &[])
        .await;
    assert_eq!(resp.status(), 303);
    let keys = admin
        .get(&app.url("/admin/signing-keys"))
        .await
        .text()
        .await
        .unwrap();
    assert!(keys.contains("<strong>next</strong>"), "{keys}");

    // Delete asks first, then the person is gone.
    let page = admin
        .get(&app.url(&person_path))
        .await
        .text()
        .await
        .unwrap();
    let asked = admin
        .submit(&app, &page, &format!("{person_path}/delete"), &[])
        .await
        .text()
        .await
        .unwrap();
    let done = admin
        .submit(&app, &asked, &format!("{person_path}/delete"), &[])
        .await;
    assert_eq!(location(&done), "/admin/people?done=deleted");
    assert_eq!(admin.get(&app.url(&person_path)).await.status(), 404);
}
