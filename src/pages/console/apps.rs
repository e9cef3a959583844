//! The console's apps: list, register (the secret shown once), one app with its settings,
//! secret rotation, disable and enable, delete.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{admin, confirm, done_message, page_error, Form};
use crate::admin::apps::{self as ops, Apps};
use crate::admin::people::AdminError;
use crate::clients::{ClientChanges, ClientView, Lifetimes, NewClient};
use crate::i18n::{t, t1};
use crate::state::AppState;
use crate::web::{self as page, csrf, PageError};

/// Lines of a text area, trimmed, blank ones dropped.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A lifetime field: blank is the setting's default.
fn seconds(form: &Form, name: &str) -> Result<Option<i64>, AdminError> {
    match form.get(name) {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| AdminError::Invalid(t1("console-app-seconds", "name", name))),
    }
}

#[derive(Template)]
#[template(path = "console/apps.html")]
struct AppsPage {
    csrf: String,
    apps: Vec<ClientView>,
    message: Option<String>,
    error: Option<String>,
}

async fn apps_page(
    state: &AppState,
    req: &HttpRequest,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let apps = ops::list(Apps::of(state)).await.map_err(page_error)?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(csrf::page(req, state.secure_cookies(), status, |csrf| {
        AppsPage {
            csrf,
            apps,
            message: done_message(req),
            error,
        }
    }))
}

/// `GET /admin/apps`.
pub(super) async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    if let Err(resp) = admin(&state, &req).await? {
        return Ok(resp);
    }
    apps_page(&state, &req, None).await
}

#[derive(Template)]
#[template(path = "console/secret.html")]
struct SecretPage {
    client_id: String,
    secret: Option<String>,
    what: String,
}

/// `POST /admin/apps`: registers an app and shows its secret, once.
pub(super) async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let admin = match admin(&state, &req).await? {
        Ok(a) => a,
        Err(resp) => return Ok(resp),
    };
    let form = Form::checked(&state, &req, form)?;
    let grant_types = ["authorization_code", "refresh_token", "client_credentials"]
        .into_iter()
        .filter(|g| form.get(&format!("grant_{g}")) == "on")
        .map(str::to_string)
        .collect();
    let new = NewClient {
        name: form.get("name").to_string(),
        redirect_uris: lines(form.get("redirect_uris")),
        post_logout_redirect_uris: lines(form.get("post_logout_redirect_uris")),
        public: form.get("public") == "on",
        grant_types,
        scopes: Some(form.get("scope").to_string())
            .filter(|s| !s.is_empty())
            .into_iter()
            .collect(),
        skip_consent: form.get("skip_consent") == "on",
        lifetimes: Lifetimes::default(),
        ..NewClient::default()
    };
    match ops::create(Apps::of(&state), &admin.acting, new).await {
        Ok(created) => Ok(page::render(
            StatusCode::OK,
            &SecretPage {
                client_id: created["client_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                secret: created["client_secret"].as_str().map(str::to_string),
                what: t("console-app-registered"),
            },
        )),
        Err(AdminError::Invalid(why)) => apps_page(&state, &req, Some(why)).await,
        Err(e) => Err(page_error(e)),
    }
}

#[derive(Template)]
#[template(path = "console/app.html")]
struct AppPage {
    csrf: String,
    app: ClientView,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    web_origins: String,
    access_ttl: String,
    id_ttl: String,
    refresh_ttl: String,
    grace: i64,
    message: Option<String>,
    error: Option<String>,
}

async fn app_page(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let app = ops::show(Apps::of(state), id).await.map_err(page_error)?;
    let ttl = |v: Option<i64>| v.map(|s| s.to_string()).unwrap_or_default();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(csrf::page(req, state.secure_cookies(), status, |csrf| {
        AppPage {
            csrf,
            redirect_uris: app.redirect_uris.join("\n"),
            post_logout_redirect_uris: app.post_logout_redirect_uris.join("\n"),
            web_origins: app.web_origins.join("\n"),
            access_ttl: ttl(app.access_token_ttl),
            id_ttl: ttl(app.id_token_ttl),
            refresh_ttl: ttl(app.refresh_token_ttl),
            grace: state.settings.tokens.client_secret_grace,
            app,
            message: done_message(req),
            error,
        }
    }))
}

/// `GET /admin/apps/{id}`.
pub(super) async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    if let Err(resp) = admin(&state, &req).await? {
        return Ok(resp);
    }
    app_page(&state, &req, &id, None).await
}

/// `POST /admin/apps/{id}/{action}`: update, rotate-secret, disable, enable, delete.
pub(super) async fn act(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let admin = match admin(&state, &req).await? {
        Ok(a) => a,
        Err(resp) => return Ok(resp),
    };
    let form = Form::checked(&state, &req, form)?;
    let (id, action) = path.into_inner();
    let apps = Apps::of(&state);
    let acting = &admin.acting;
    let back = format!("/admin/apps/{id}");
    let ask = |question: &str, yes: &str| {
        Ok(confirm(
            &state,
            &req,
            &form,
            question.to_string(),
            yes,
            &back,
        ))
    };
    let outcome: Result<String, AdminError> = match action.as_str() {
        "rotate-secret" if !form.confirmed() => {
            return ask(&t("console-app-rotate-ask"), &t("console-app-rotate-yes"))
        }
        "disable" if !form.confirmed() => {
            return ask(&t("console-app-disable-ask"), &t("console-disable"))
        }
        "delete" if !form.confirmed() => {
            return ask(&t("console-app-delete-ask"), &t("console-delete"))
        }
        "update" => {
            let changes = (|| -> Result<ClientChanges, AdminError> {
                Ok(ClientChanges {
                    name: Some(form.get("name").to_string()),
                    redirect_uris: Some(lines(form.get("redirect_uris"))),
                    post_logout_redirect_uris: Some(lines(form.get("post_logout_redirect_uris"))),
                    scopes: Some(vec![form.get("scope").to_string()]),
                    skip_consent: Some(form.get("skip_consent") == "on"),
                    web_origins: Some(lines(form.get("web_origins"))),
                    access_token_ttl: Some(seconds(&form, "access_token_ttl")?),
                    id_token_ttl: Some(seconds(&form, "id_token_ttl")?),
                    refresh_token_ttl: Some(seconds(&form, "refresh_token_ttl")?),
                    ..ClientChanges::default()
                })
            })();
            match changes {
                Ok(c) => ops::update(apps, acting, &id, c)
                    .await
                    .map(|_| format!("{back}?done=saved")),
                Err(e) => Err(e),
            }
        }
        "rotate-secret" => {
            let most = state.settings.tokens.client_secret_grace;
            let grace = match form.get("grace") {
                "" => Ok(most),
                g => g
                    .parse::<i64>()
                    .ok()
                    .filter(|g| (0..=most).contains(g))
                    .ok_or_else(|| {
                        AdminError::Invalid(t1("console-app-grace-range", "most", most))
                    }),
            };
            match grace {
                Ok(grace) => {
                    let rotated = ops::rotate_secret(apps, acting, &id, grace).await;
                    return match rotated {
                        Ok(v) => Ok(page::render(
                            StatusCode::OK,
                            &SecretPage {
                                client_id: id.clone(),
                                secret: v["client_secret"].as_str().map(str::to_string),
                                what: t("console-app-new-secret"),
                            },
                        )),
                        Err(AdminError::Invalid(why)) => {
                            app_page(&state, &req, &id, Some(why)).await
                        }
                        Err(e) => Err(page_error(e)),
                    };
                }
                Err(e) => Err(e),
            }
        }
        "disable" => ops::set_disabled(apps, acting, &id, true)
            .await
            .map(|_| format!("{back}?done=app-disabled")),
        "enable" => ops::set_disabled(apps, acting, &id, false)
            .await
            .map(|_| format!("{back}?done=app-enabled")),
        "delete" => ops::delete(apps, acting, &id)
            .await
            .map(|_| "/admin/apps?done=app-deleted".to_string()),
        _ => return Err(PageError::NotFound(t("console-no-such-action"))),
    };
    match outcome {
        Ok(location) => Ok(page::see_other(&location)),
        Err(AdminError::Invalid(why) | AdminError::Conflict(why)) => {
            app_page(&state, &req, &id, Some(why)).await
        }
        Err(e) => Err(page_error(e)),
    }
}
