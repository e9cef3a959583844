//! The console's people: search, one person, and every action on them.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde_json::Value;

use super::{admin, confirm, done_message, page_error, Form};
use crate::accounts::store::{Changes, Search};
use crate::admin::people::{self as ops, AdminError, Update};
use crate::i18n::t;
use crate::pages::account::when;
use crate::state::AppState;
use crate::web::{self as page, csrf, PageError, Params};

/// People per page.
const PER_PAGE: i64 = 20;

struct Row {
    id: String,
    email: String,
    name: String,
    state: String,
    roles: String,
}

#[derive(Template)]
#[template(path = "console/people.html")]
struct SearchPage {
    csrf: String,
    q: String,
    role: String,
    state: String,
    attribute: String,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    prev: Option<String>,
    next: Option<String>,
    message: Option<String>,
    error: Option<String>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// `GET /admin/people?q=&role=&state=&attribute=&page=`.
pub(super) async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let admin = match admin(&state, &req).await? {
        Ok(a) => a,
        Err(resp) => return Ok(resp),
    };
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest(t("console-invalid-request")))?;
    let field = |name: &str| -> String {
        params
            .get(name)
            .unwrap_or("")
            .trim()
            .chars()
            .take(254)
            .collect()
    };
    let (q, role, st, attribute) = (
        field("q"),
        field("role"),
        field("state"),
        field("attribute"),
    );
    let page_no = params
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let mut error = None;
    let search = Search {
        text: Some(q.clone()).filter(|s| !s.is_empty()),
        role: Some(role.clone()).filter(|s| !s.is_empty()),
        // A state other than these is "any"; a malformed attribute filter is said.
        disabled: Search::parse_state(&st).unwrap_or(None),
        attribute: Search::parse_attribute(&attribute).unwrap_or_else(|_| {
            error = Some(t("console-people-attribute-format"));
            None
        }),
        ..Search::default()
    };
    let (found, total) = ops::search(
        admin.people(&state),
        search,
        (page_no - 1) * PER_PAGE,
        PER_PAGE,
    )
    .await
    .map_err(page_error)?;
    let rows = found
        .into_iter()
        .map(|s| Row {
            id: s.id,
            email: s.email.or(s.phone_number).unwrap_or_default(),
            name: s.name.unwrap_or_default(),
            state: s.state.to_string(),
            roles: s.roles.join(", "),
        })
        .collect();
    let link = |p: i64| {
        url::form_urlencoded::Serializer::new(String::from("/admin/people?"))
            .append_pair("q", &q)
            .append_pair("role", &role)
            .append_pair("state", &st)
            .append_pair("attribute", &attribute)
            .append_pair("page", &p.to_string())
            .finish()
    };
    Ok(csrf::page(
        &req,
        state.secure_cookies(),
        StatusCode::OK,
        |csrf| SearchPage {
            csrf,
            prev: (page_no > 1).then(|| link(page_no - 1)),
            next: (page_no * PER_PAGE < total).then(|| link(page_no + 1)),
            q: q.clone(),
            role: role.clone(),
            state: st.clone(),
            attribute: attribute.clone(),
            rows,
            total,
            page: page_no,
            message: done_message(&req),
            error,
        },
    ))
}

struct Line {
    a: String,
    b: String,
    c: String,
}

struct AttributeField {
    name: String,
    label: String,
    value: String,
    input: &'static str,
    options: Vec<String>,
    checked: bool,
}

#[derive(Template)]
#[template(path = "console/person.html")]
struct PersonPage {
    csrf: String,
    id: String,
    email: String,
    email_verified: bool,
    name: String,
    phone: String,
    state: String,
    locale: String,
    zoneinfo: String,
    created: String,
    roles: Vec<String>,
    other_roles: Vec<String>,
    permissions: String,
    attributes: Vec<AttributeField>,
    password: bool,
    totp: bool,
    recovery_left: i64,
    sessions: Vec<Line>,
    apps: Vec<Line>,
    events: Vec<Line>,
    message: Option<String>,
    error: Option<String>,
}

/// The person page for `id`, with an error when an action failed.
async fn person_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &super::Admin,
    id: &str,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let v = ops::show(admin.people(state), id)
        .await
        .map_err(page_error)?;
    let all_roles = ops::list_roles(admin.people(state))
        .await
        .map_err(page_error)?;
    let roles: Vec<String> = v["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    let specs = &state.settings.attributes.attributes;
    let stored: std::collections::BTreeMap<String, Value> = v["attributes"]
        .as_object()
        .map(|m| m.clone().into_iter().collect())
        .unwrap_or_default();
    let attributes = specs
        .iter()
        .map(|spec| {
            let value = stored.get(&spec.name);
            AttributeField {
                name: spec.name.clone(),
                label: spec.label().to_string(),
                value: value.map(text).unwrap_or_default(),
                input: crate::pages::account::attribute_input(spec),
                options: spec.values.clone(),
                checked: value == Some(&Value::Bool(true)),
            }
        })
        .collect();
    let lines = |key: &str, f: &dyn Fn(&Value) -> Line| -> Vec<Line> {
        v[key].as_array().into_iter().flatten().map(f).collect()
    };
    let stamp = |x: &Value| x.as_i64().map(when).unwrap_or_default();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(csrf::page(req, state.secure_cookies(), status, |csrf| {
        PersonPage {
            csrf,
            id: text(&v["id"]),
            email: text(&v["email"]),
            email_verified: v["email_verified"].as_bool().unwrap_or(false),
            name: text(&v["name"]),
            phone: text(&v["phone_number"]),
            state: text(&v["state"]),
            locale: text(&v["locale"]),
            zoneinfo: text(&v["zoneinfo"]),
            created: stamp(&v["created_at"]),
            other_roles: all_roles
                .iter()
                .map(|r| r.name.clone())
                .filter(|r| !roles.contains(r))
                .collect(),
            roles,
            permissions: text(&v["permissions"]),
            attributes,
            password: v["factors"]["password"].as_bool().unwrap_or(false),
            totp: v["factors"]["totp"].as_bool().unwrap_or(false),
            recovery_left: v["factors"]["recovery_codes_left"].as_i64().unwrap_or(0),
            sessions: lines("sessions", &|s| Line {
                a: text(&s["user_agent"]).chars().take(80).collect(),
                b: text(&s["ip"]),
                c: stamp(&s["last_seen_at"]),
            }),
            apps: lines("apps", &|a| Line {
                a: text(&a["name"]),
                b: text(&a["scopes"]),
                c: stamp(&a["granted_at"]),
            }),
            events: lines("recent_events", &|e| Line {
                a: stamp(&e["at"]),
                b: text(&e["kind"]),
                c: text(&e["detail"]).chars().take(160).collect(),
            }),
            message: done_message(req),
            error,
        }
    }))
}

/// `GET /admin/people/{id}`.
pub(super) async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let admin = match admin(&state, &req).await? {
        Ok(a) => a,
        Err(resp) => return Ok(resp),
    };
    person_page(&state, &req, &admin, &id, None).await
}

/// `POST /admin/people/{id}/{action}`: disable, enable, end-sessions, reset-mfa, unlock,
/// reset-password, delete, add-role, remove-role, profile, attributes. The destructive
/// ones ask first.
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
    let people = admin.people(&state);
    let acting = &admin.acting;
    let back = format!("/admin/people/{id}");
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
    let done = |what: &str| Ok(page::see_other(&format!("{back}?done={what}")));
    let outcome: Result<&str, AdminError> = match action.as_str() {
        "disable" if !form.confirmed() => {
            return ask(&t("console-person-disable-ask"), &t("console-disable"))
        }
        "end-sessions" if !form.confirmed() => {
            return ask(
                &t("console-person-end-sessions-ask"),
                &t("console-person-end-sessions-yes"),
            )
        }
        "reset-mfa" if !form.confirmed() => {
            return ask(
                &t("console-person-reset-mfa-ask"),
                &t("console-person-reset-mfa-yes"),
            )
        }
        "reset-password" if !form.confirmed() => {
            return ask(
                &t("console-person-reset-password-ask"),
                &t("console-person-reset-password-yes"),
            )
        }
        "delete" if !form.confirmed() => {
            return ask(&t("console-person-delete-ask"), &t("console-delete"))
        }
        "disable" => ops::set_disabled(people, acting, &id, true)
            .await
            .map(|_| "disabled"),
        "enable" => ops::set_disabled(people, acting, &id, false)
            .await
            .map(|_| "enabled"),
        "end-sessions" => ops::end_sessions(people, acting, &id)
            .await
            .map(|_| "ended"),
        "reset-mfa" => ops::reset_mfa(people, acting, &id).await.map(|_| "mfa"),
        "unlock" => ops::unlock(people, acting, &id).await.map(|_| "unlocked"),
        "reset-password" => ops::reset_password(people, acting, &id)
            .await
            .map(|_| "password"),
        "delete" => {
            ops::delete(people, acting, &id).await.map_err(page_error)?;
            return Ok(page::see_other("/admin/people?done=deleted"));
        }
        "add-role" | "remove-role" => {
            ops::change_role(people, acting, &id, form.get("role"), action == "add-role")
                .await
                .map(|_| "roles")
        }
        "profile" => {
            let opt = |name: &str| Some(Some(form.get(name).to_string()).filter(|v| !v.is_empty()));
            let update = Update {
                changes: Changes {
                    name: opt("name"),
                    email: Some(form.get("email").to_string()),
                    email_verified: Some(form.get("email_verified") == "on"),
                    phone: opt("phone"),
                    locale: opt("locale"),
                    zoneinfo: opt("zoneinfo"),
                },
                ..Update::default()
            };
            ops::update(people, acting, &id, update)
                .await
                .map(|_| "saved")
        }
        "attributes" => {
            let mut map = serde_json::Map::new();
            let mut bad = None;
            for spec in &state.settings.attributes.attributes {
                let field = form
                    .0
                    .get(&format!("attr_{}", spec.name))
                    .map(String::as_str);
                match crate::pages::account::profile::field_value(spec, field) {
                    Ok(v) => {
                        map.insert(spec.name.clone(), v);
                    }
                    Err(why) => bad = Some(why),
                }
            }
            match bad {
                Some(why) => Err(AdminError::Invalid(why)),
                None => {
                    let update = Update {
                        attributes: Some(map),
                        ..Update::default()
                    };
                    ops::update(people, acting, &id, update)
                        .await
                        .map(|_| "saved")
                }
            }
        }
        _ => return Err(PageError::NotFound(t("console-no-such-action"))),
    };
    match outcome {
        Ok(what) => done(what),
        Err(AdminError::Invalid(why) | AdminError::Conflict(why)) => {
            person_page(&state, &req, &admin, &id, Some(why)).await
        }
        Err(e) => Err(page_error(e)),
    }
}

/// `POST /admin/people`: invites someone (an account, and an email with a link to choose a
/// password).
pub(super) async fn invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let admin = match admin(&state, &req).await? {
        Ok(a) => a,
        Err(resp) => return Ok(resp),
    };
    let form = Form::checked(&state, &req, form)?;
    let inviting = ops::Inviting::of(&state);
    let name = Some(form.get("name").to_string()).filter(|n| !n.is_empty());
    match ops::invite(
        admin.people(&state),
        &admin.acting,
        inviting,
        form.get("email"),
        name,
        Vec::new(),
    )
    .await
    {
        Ok(v) => Ok(page::see_other(&format!(
            "/admin/people/{}?done=invited",
            v["id"].as_str().unwrap_or_default()
        ))),
        Err(AdminError::Invalid(why) | AdminError::Conflict(why)) => Ok(csrf::page(
            &req,
            state.secure_cookies(),
            StatusCode::BAD_REQUEST,
            |csrf| SearchPage {
                csrf,
                q: String::new(),
                role: String::new(),
                state: String::new(),
                attribute: String::new(),
                rows: Vec::new(),
                total: 0,
                page: 1,
                prev: None,
                next: None,
                message: None,
                error: Some(why),
            },
        )),
        Err(e) => Err(page_error(e)),
    }
}
