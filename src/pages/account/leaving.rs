//! The right to leave and to know: download my data (a JSON file of everything Porta keeps
//! about me), and delete my account (everything revoked at once; the account erased after
//! `account_deletion_grace`, during which signing in again keeps it). Both need a fresh
//! sign-in.

use super::*;

/// Most of the person's own audit events a download carries (newest first).
const EXPORT_EVENTS: i64 = 10_000;

/// `POST /account/export`: a JSON file: profile, roles, attributes, factors (never a
/// secret), sessions, apps and consents, and the person's own audit events.
pub(super) async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session,
        user,
        form: _,
    }: Action<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    if !fresh(&state, &session) {
        return needs_fresh_sign_in(&state, &req, &user, &crate::i18n::t("account-doing-export"))
            .await;
    }
    let id = user.id.to_string();
    let specs = state.settings.attributes.attributes.clone();
    let r = db::run(&state.pool, move |conn| {
        Ok(crate::admin::people::record(
            conn,
            &id,
            &specs,
            EXPORT_EVENTS,
        )?)
    })
    .await?;
    let body = serde_json::json!({
        "exported_at": crate::time::now(),
        "issuer": state.settings.server.issuer,
        "account": {
            "id": user.id.to_string(),
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.name,
            "phone_number": user.phone,
            "locale": user.locale,
            "zoneinfo": user.zoneinfo,
            "has_password": user.password_hash.is_some(),
            "created_at": user.created_at,
            "updated_at": user.updated_at,
        },
        "roles": r.roles,
        "attributes": r.attributes,
        "factors": {
            "totp": r.totp,
            "recovery_codes_left": r.recovery_codes_left,
        },
        "sessions": r.sessions,
        "apps": r.apps,
        "events": r.events,
    });
    audit::record(
        &state.pool,
        &state.origin(&req),
        kind::DATA_EXPORTED,
        Some(user.id.to_string()),
        None,
        String::new(),
    )
    .await;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"porta-account.json\"",
        ))
        .json(body))
}

#[derive(Template)]
#[template(path = "accounts/leave.html")]
struct LeavePage {
    csrf: String,
    email: String,
    days: i64,
    done: bool,
    deletes_on: String,
}

/// `POST /account/delete`: asks first (`confirm=yes` deletes). Every session ends and every
/// grant is revoked at once; the account is erased after the grace period (at once when it
/// is 0), and signing in before then keeps it.
pub(super) async fn delete_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session,
        user,
        form,
    }: Action<DeleteForm>,
) -> Result<HttpResponse, PageError> {
    if !fresh(&state, &session) {
        return needs_fresh_sign_in(&state, &req, &user, &crate::i18n::t("account-doing-delete"))
            .await;
    }
    let grace = state.settings.accounts.account_deletion_grace;
    let days = (grace + 86_399) / 86_400;
    if form.confirm != "yes" {
        return Ok(csrf::page(
            &req,
            state.secure_cookies(),
            StatusCode::OK,
            |csrf| LeavePage {
                csrf,
                email: user.label(),
                days,
                done: false,
                deletes_on: String::new(),
            },
        ));
    }
    let now = crate::time::now();
    let id = user.id.to_string();
    let at_once = grace == 0;
    let erased = user.clone();
    db::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            if at_once {
                accounts::remove(conn, &erased)?;
            } else {
                accounts::store::set_deletion_requested(conn, &id, Some(now))?;
                accounts::end_sign_ins(conn, &id, None)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        Ok(())
    })
    .await?;
    audit::record(
        &state.pool,
        &state.origin(&req),
        if at_once {
            kind::ACCOUNT_DELETED
        } else {
            kind::DELETION_REQUESTED
        },
        Some(user.id.to_string()),
        None,
        format!("grace={grace}"),
    )
    .await;
    let deletes_on = when(now + grace);
    if !at_once {
        tell_owner(
            &state,
            &user,
            None,
            &crate::i18n::t1("account-change-deletion", "date", &deletes_on),
        )
        .await;
    }
    let mut resp = page::render(
        StatusCode::OK,
        &LeavePage {
            csrf: String::new(),
            email: user.label(),
            days,
            done: true,
            deletes_on: if at_once { String::new() } else { deletes_on },
        },
    );
    let _ = resp.add_cookie(&sessions::clear_session_cookie(state.secure_cookies()));
    Ok(resp)
}
