//! Name, email and phone: changes that need a confirmation code go through `confirm`.

use super::*;

/// `POST /account/phone`: sends a code by SMS; the number is set once the code is back.
/// A number another account has gets no SMS (the page looks the same).
pub(super) async fn add_phone(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session,
        user,
        form,
    }: Action<PhoneForm>,
) -> Result<HttpResponse, PageError> {
    if !fresh(&state, &session) {
        // A phone signs in by SMS: a stolen session alone must not plant one.
        return needs_fresh_sign_in(&state, &req, &user, &crate::i18n::t("account-doing-phone"))
            .await;
    }
    let region = state.settings.accounts.default_phone_region.as_deref();
    let phone = match accounts::normalize_phone(&form.phone, region) {
        Ok(p) => p,
        Err(e) => {
            return account_page(&state, &req, &user, Some(format!("{}.", e.message()))).await
        }
    };
    let p = phone.clone();
    let holder = db::run(&state.pool, move |conn| {
        Ok(accounts::store::find_by_phone(conn, &p)?)
    })
    .await?;
    // A number another account has gets no SMS; the next page looks the same.
    let deliver = match holder {
        Some(other) if other.id != user.id => None,
        _ => Some(crate::otp::Channel::Sms(phone.clone())),
    };
    let identifier = phone;
    send_confirmation(
        &state,
        &req,
        &user,
        &PHONE,
        &identifier,
        deliver,
        &form.csrf,
    )
    .await
}

pub(super) async fn show_phone_code(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    show_confirmation(&state, &req, &PHONE).await
}

/// `POST /account/phone/verify`: the code confirms the number for this account.
pub(super) async fn verify_phone(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session: _,
        user,
        form,
    }: Action<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let phone = match check_confirmation(&state, &user, &form, &PHONE).await? {
        Ok(phone) => phone,
        Err(retry) => return Ok(retry),
    };
    let id = user.id.clone();
    let p = phone.clone();
    let set = db::run_write(&state.pool, move |conn| {
        Ok(accounts::store::set_phone(conn, &id, &p)?)
    })
    .await?;
    let message = if set == 1 {
        audit::record(
            &state.pool,
            &state.origin(&req),
            kind::PHONE_CHANGED,
            Some(user.id.to_string()),
            None,
            String::new(),
        )
        .await;
        let ending: String = phone
            .chars()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        tell_owner(
            &state,
            &user,
            None,
            // The digits stay out of the message: as an argument, "05" would become "5".
            &format!(
                "{} {ending} {}",
                crate::i18n::t("account-change-phone-start"),
                crate::i18n::t("account-change-phone-end")
            ),
        )
        .await;
        crate::i18n::t("account-phone-done")
    } else {
        crate::i18n::t("account-phone-taken")
    };
    let id = user.id.clone();
    let user = db::run(&state.pool, move |conn| {
        Ok(accounts::store::find(conn, &id)?)
    })
    .await?
    .unwrap_or(user);
    account_page(&state, &req, &user, Some(message)).await
}

/// `POST /account/name`.
pub(super) async fn change_name(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session: _,
        user,
        form,
    }: Action<NameForm>,
) -> Result<HttpResponse, PageError> {
    let name: String = form.name.trim().chars().take(200).collect();
    let (id, n) = (user.id.clone(), name.clone());
    db::run_write(&state.pool, move |conn| {
        Ok(accounts::store::set_name(
            conn,
            &id,
            Some(n.as_str()).filter(|n| !n.is_empty()),
        )?)
    })
    .await?;
    let user = accounts::User {
        name: Some(name).filter(|n| !n.is_empty()),
        ..user
    };
    account_page(
        &state,
        &req,
        &user,
        Some(crate::i18n::t("account-name-saved")),
    )
    .await
}

/// `POST /account/preferences`: the language of pages and messages (also the `locale`
/// claim) and the time zone dates are shown in (the `zoneinfo` claim). Saving a language
/// also sets this browser's switch to it; "automatic" clears both.
pub(super) async fn change_preferences(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session: _,
        user,
        form,
    }: Action<PreferencesForm>,
) -> Result<HttpResponse, PageError> {
    let locale = match form.locale.trim() {
        "" => None,
        tag => match crate::i18n::negotiate([tag]) {
            Some(known) => Some(known.to_string()),
            None => {
                let mut resp = account_page(
                    &state,
                    &req,
                    &user,
                    Some(crate::i18n::t("account-language-unknown")),
                )
                .await?;
                *resp.status_mut() = StatusCode::BAD_REQUEST;
                return Ok(resp);
            }
        },
    };
    let zoneinfo = match form.zoneinfo.trim() {
        "" => None,
        zone if zone.len() <= 64 && zone.parse::<chrono_tz::Tz>().is_ok() => Some(zone.to_string()),
        _ => {
            let mut resp = account_page(
                &state,
                &req,
                &user,
                Some(crate::i18n::t("account-zone-unknown")),
            )
            .await?;
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(resp);
        }
    };
    let changes = accounts::store::Changes {
        locale: Some(locale.clone()),
        zoneinfo: Some(zoneinfo.clone()),
        ..Default::default()
    };
    let id = user.id.clone();
    db::run_write(&state.pool, move |conn| {
        Ok(accounts::store::update(conn, &id, &changes)?)
    })
    .await?;
    crate::i18n::offer(crate::i18n::Rank::Chosen, locale.as_deref());
    crate::i18n::set_zone(zoneinfo.as_deref());
    let user = accounts::User {
        locale: locale.clone(),
        zoneinfo,
        ..user
    };
    let mut resp = account_page(
        &state,
        &req,
        &user,
        Some(crate::i18n::t("account-preferences-saved")),
    )
    .await?;
    let _ = resp.add_cookie(&crate::i18n::choice_cookie(
        locale.as_deref(),
        state.secure_cookies(),
    ));
    Ok(resp)
}

/// The attributes form: its CSRF token and a field `attr_NAME` per self-editable
/// attribute (a checkbox is absent when unticked).
#[derive(serde::Deserialize)]
pub(super) struct AttributesForm {
    csrf: String,
    #[serde(flatten)]
    fields: std::collections::HashMap<String, String>,
}

impl crate::pages::signed_in::CsrfForm for AttributesForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The value a form field gives an attribute (`null`: cleared), or why it is wrong.
pub(crate) fn field_value(
    spec: &crate::config::AttributeSpec,
    field: Option<&str>,
) -> Result<serde_json::Value, String> {
    use crate::config::AttributeKind;
    use serde_json::Value;
    let text = field.unwrap_or("").trim();
    Ok(match spec.kind {
        AttributeKind::Boolean => Value::Bool(field.is_some()),
        _ if text.is_empty() => Value::Null,
        AttributeKind::Number => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| crate::i18n::t1("account-attribute-number", "label", spec.label()))?,
        AttributeKind::List => Value::from(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>(),
        ),
        _ => Value::String(text.to_string()),
    })
}

/// `POST /account/attributes`: the person's own attributes (only those they may edit),
/// each checked against its declaration.
pub(super) async fn change_attributes(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session: _,
        user,
        form,
    }: Action<AttributesForm>,
) -> Result<HttpResponse, PageError> {
    use crate::accounts::attributes::{self, Writer};
    use crate::config::AttributeEditor;
    let specs = &state.settings.attributes.attributes;
    let mut changes = serde_json::Map::new();
    for spec in specs
        .iter()
        .filter(|s| s.editable_by == AttributeEditor::Person)
    {
        let field = form.fields.get(&format!("attr_{}", spec.name));
        match field_value(spec, field.map(String::as_str)) {
            Ok(v) => {
                changes.insert(spec.name.clone(), v);
            }
            Err(why) => {
                let mut resp = account_page(&state, &req, &user, Some(why)).await?;
                *resp.status_mut() = StatusCode::BAD_REQUEST;
                return Ok(resp);
            }
        }
    }
    // A field for an attribute the person may not edit is refused, not ignored.
    for key in form.fields.keys() {
        if let Some(name) = key.strip_prefix("attr_") {
            changes
                .entry(name.to_string())
                .or_insert(serde_json::Value::Null);
        }
    }
    let values = match attributes::check_changes(specs, &changes, Writer::Person) {
        Ok(v) => v,
        Err(e) => {
            let mut resp =
                account_page(&state, &req, &user, Some(format!("{}.", e.message()))).await?;
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(resp);
        }
    };
    let id = user.id.to_string();
    let changed = db::run(&state.pool, move |conn| {
        Ok(attributes::write(conn, &id, &values)?)
    })
    .await?;
    if !changed.is_empty() {
        let shown = |v: &Option<serde_json::Value>| {
            v.as_ref()
                .map_or("-".to_string(), serde_json::Value::to_string)
        };
        let detail = changed
            .iter()
            .map(|(n, was, now)| format!("{n}:{}→{}", shown(was), shown(now)))
            .collect::<Vec<_>>()
            .join(" ");
        crate::audit::record(
            &state.pool,
            &state.origin(&req),
            crate::audit::kind::ATTRIBUTES_CHANGED,
            Some(user.id.to_string()),
            None,
            detail,
        )
        .await;
    }
    account_page(
        &state,
        &req,
        &user,
        Some(crate::i18n::t("account-attributes-saved")),
    )
    .await
}

/// `POST /account/email`: a code goes to the new address; it becomes the account's email
/// once the code comes back. An address another account has gets no code.
pub(super) async fn change_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session,
        user,
        form,
    }: Action<EmailForm>,
) -> Result<HttpResponse, PageError> {
    if !fresh(&state, &session) {
        // A stolen session alone must not be able to move the account to another address.
        return needs_fresh_sign_in(&state, &req, &user, &crate::i18n::t("account-doing-email"))
            .await;
    }
    let Ok(email) = accounts::normalize_email(&form.email) else {
        return account_page(
            &state,
            &req,
            &user,
            Some(crate::i18n::t("account-email-invalid")),
        )
        .await;
    };
    let e = email.clone();
    let holder = db::run(&state.pool, move |conn| {
        Ok(accounts::store::find_by_email(conn, &e)?)
    })
    .await?;
    // An address another account has gets no code; the next page looks the same.
    let deliver = match holder {
        Some(_) => None,
        None => Some(crate::otp::Channel::Email(email.clone())),
    };
    let identifier = email;
    send_confirmation(
        &state,
        &req,
        &user,
        &EMAIL,
        &identifier,
        deliver,
        &form.csrf,
    )
    .await
}

pub(super) async fn show_email_code(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    show_confirmation(&state, &req, &EMAIL).await
}

/// `POST /account/email/verify`.
pub(super) async fn verify_email_change(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session,
        user,
        form,
    }: Action<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let email = match check_confirmation(&state, &user, &form, &EMAIL).await? {
        Ok(email) => email,
        Err(retry) => return Ok(retry),
    };
    let (id, e) = (user.id.clone(), email.clone());
    let keep = session.id_hash.clone();
    let set = db::run(&state.pool, move |conn| {
        Ok(db::transaction(conn, |conn| {
            let set = accounts::store::set_email(conn, &id, &e)?;
            if set == 1 {
                // Everything signed in under the old address ends, this browser aside.
                accounts::end_sign_ins(conn, &id, Some(&keep))?;
            }
            Ok::<_, diesel::result::Error>(set)
        })?)
    })
    .await?;
    let origin = state.origin(&req);
    audit::record(
        &state.pool,
        &origin,
        kind::EMAIL_CHANGED,
        Some(user.id.to_string()),
        None,
        format!("from={} to={email}", user.email.as_deref().unwrap_or("")),
    )
    .await;
    if set == 1 {
        // Told at the old address: that is where the owner still reads.
        tell_owner(
            &state,
            &user,
            user.email.as_deref(),
            &crate::i18n::t("account-change-email"),
        )
        .await;
    }
    let id = user.id.clone();
    let user = db::run(&state.pool, move |conn| {
        Ok(accounts::store::find(conn, &id)?)
    })
    .await?
    .unwrap_or(user);
    let message = if set == 1 {
        crate::i18n::t("account-email-changed")
    } else {
        crate::i18n::t("account-email-taken")
    };
    account_page(&state, &req, &user, Some(message)).await
}
