//! An invitation link (`/invitation/{token}`): choose a first password; the link works
//! once, until `invitation_ttl` runs out, and confirms the address.

use super::*;

#[derive(Template)]
#[template(path = "accounts/invitation.html")]
pub(super) struct InvitationPage {
    csrf: String,
    email: String,
    done: bool,
    error: Option<String>,
}

/// The email the live invitation `token` was sent to, or the page saying it is not live.
async fn invited(state: &AppState, token: &str) -> Result<Result<String, PageError>, PageError> {
    let token = token.to_string();
    let email = db::run(&state.pool, move |conn| {
        let Some(id) = crate::accounts::invitations::find_live(conn, &token, crate::time::now())?
        else {
            return Ok(None);
        };
        Ok(store::find(conn, &id)?.and_then(|u| u.email))
    })
    .await?;
    Ok(email.ok_or_else(|| PageError::NotFound(crate::i18n::t("invitation-dead"))))
}

/// `GET /invitation/{token}`.
pub(super) async fn show_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let email = invited(&state, &token).await??;
    Ok(with_csrf(&state, &req, StatusCode::OK, |csrf| {
        InvitationPage {
            csrf,
            email,
            done: false,
            error: None,
        }
    }))
}

/// The password form of an invitation.
#[derive(Deserialize)]
pub struct InvitationForm {
    pub(super) csrf: String,
    pub(super) new_password: String,
}

/// `POST /invitation/{token}`: the password is checked, hashed, set, the address confirmed
/// and the link spent, in that order (a weak choice does not spend the link).
pub(super) async fn accept_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<InvitationForm>,
) -> Result<HttpResponse, PageError> {
    require_csrf(&state, &req, &form.csrf)?;
    let email = invited(&state, &token).await??;
    let page = |status: StatusCode, done: bool, error: Option<String>| {
        page::render(
            status,
            &InvitationPage {
                csrf: form.csrf.clone(),
                email: email.clone(),
                done,
                error,
            },
        )
    };
    if let Err(message) = check_password_policy(
        &form.new_password,
        &email,
        state.settings.accounts.password_min_length,
    ) {
        return Ok(page(StatusCode::BAD_REQUEST, false, Some(message)));
    }
    let hash = hash_off_thread(state.hasher.slot().await?, form.new_password.clone())
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let token = token.into_inner();
    let accepted = db::run(&state.pool, move |conn| {
        Ok(crate::accounts::invitations::accept(
            conn,
            &token,
            &hash,
            crate::time::now(),
        )?)
    })
    .await?;
    let Some(user_id) = accepted else {
        // Spent by a parallel request a moment ago.
        return Err(PageError::NotFound(crate::i18n::t("invitation-dead")));
    };
    audit::record(
        &state.pool,
        &state.origin(&req),
        kind::INVITATION_ACCEPTED,
        Some(user_id),
        None,
        String::new(),
    )
    .await;
    Ok(page(StatusCode::OK, true, None))
}
