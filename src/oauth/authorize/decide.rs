//! What happens next with a valid request: sign-in, consent, or a code for the client.

use super::*;

/// Stores a request that waits for sign-in or consent. Anyone can make Porta store one,
/// so each IP may have at most `authorize_max_pending_per_ip` stored per request
/// lifetime; past that the browser gets a "slow down" page (429), nothing is stored.
pub(super) async fn save_pending(
    state: &AppState,
    req: &HttpRequest,
    auth: &AuthRequest,
    id: Option<String>,
) -> Result<String, PageError> {
    if let Some(id) = id {
        return Ok(id);
    }
    let origin = state.origin(req);
    let window = state.settings.tokens.authorization_request_ttl;
    let cap = state.settings.tokens.authorize_max_pending_per_ip;
    let allowance = [(format!("authz:ip:{}", origin.ip), window, cap)];
    let now = crate::time::now();
    let row = store::PendingRequest {
        id: crypto::random_token(24),
        client_id: auth.client_id.clone(),
        params: serde_json::to_string(auth).unwrap_or_default(),
        created_at: now,
        expires_at: now + state.settings.tokens.authorization_request_ttl,
    };
    let id = row.id.clone();
    // The allowance and the row in one trip: stored only when the IP may store one more.
    let refused = db::run_write(&state.pool, move |conn| {
        if let Some(wait) = crate::throttle::take_in(conn, &allowance)? {
            return Ok(Some(wait));
        }
        store::insert_request(conn, &row)?;
        Ok(None)
    })
    .await?;
    match refused {
        Some(wait) => Err(PageError::TooMany(wait)),
        None => Ok(id),
    }
}

/// Decides the next step: sign-in, consent, or a code for the client.
/// Whether the person must (re-)authenticate for this request: no session, `prompt=login`
/// not yet satisfied by a sign-in for this very request, `max_age` exceeded (OIDC Core
/// 3.1.2.1: elapsed time greater than or equal to `max_age` in whole seconds counts as
/// exceeded), or an `id_token_hint` naming someone else.
pub fn needs_login(auth: &AuthRequest, session: Option<&Session>) -> bool {
    let Some(s) = session else {
        return true;
    };
    let now = crate::time::now();
    let login_done = auth.signed_in_at.is_some_and(|t| s.auth_time >= t);
    let fresh_enough = login_done || auth.max_age.is_none_or(|m| now - s.auth_time < m);
    let hint_ok = auth
        .id_token_hint_sub
        .as_ref()
        .is_none_or(|sub| *sub == s.user_id);
    let level_ok = !auth.require_mfa || login_done || s.amr.split(' ').any(|a| a == "mfa");
    !fresh_enough || (auth.has_prompt("login") && !login_done) || !hint_ok || !level_ok
}

/// `session` is the browser's current one, read by the caller (with the pending request,
/// when there is one, in one trip).
pub async fn proceed(
    state: &AppState,
    req: &HttpRequest,
    auth: AuthRequest,
    pending: Option<String>,
    session: Option<Session>,
) -> Result<Outcome, PageError> {
    let r = AuthRequestRef {
        redirect_uri: &auth.redirect_uri,
        state: auth.state.as_deref(),
    };
    if needs_login(&auth, session.as_ref()) {
        if auth.has_prompt("none") {
            return Ok(Outcome::ToClient(error_redirect(
                state,
                &r,
                "login_required",
                "the person is not signed in",
            )));
        }
        let id = save_pending(state, req, &auth, pending).await?;
        return Ok(Outcome::ToPage(format!("/login?request={id}")));
    }
    let Some(session) = session else {
        return Err(PageError::Internal("session vanished".into()));
    };
    let client = state
        .client(auth.client_id.clone())
        .await?
        .ok_or_else(|| PageError::BadRequest(crate::i18n::t("error-app-gone")))?;
    // prompt=consent asks even first-party (skip_consent) clients' users (OIDC Core 3.1.2.1).
    let needs_consent = auth.has_prompt("consent")
        || (!client.skip_consent
            && !has_consent(state, &session.user_id, &client.id, &auth.scopes).await?);
    if needs_consent {
        if auth.has_prompt("none") {
            return Ok(Outcome::ToClient(error_redirect(
                state,
                &r,
                "consent_required",
                "the person has not allowed this application yet",
            )));
        }
        let id = save_pending(state, req, &auth, pending).await?;
        return Ok(Outcome::ToPage(format!("/consent?request={id}")));
    }
    Ok(Outcome::ToClient(
        issue_code(state, &auth, &session, pending).await?,
    ))
}

pub(super) async fn has_consent(
    state: &AppState,
    user_id: &str,
    client_id: &str,
    scopes: &[String],
) -> Result<bool, DbError> {
    let (u, c) = (user_id.to_string(), client_id.to_string());
    let granted = db::run(&state.pool, move |conn| {
        Ok(store::consented_scopes(conn, &u, &c)?)
    })
    .await?;
    let granted: Vec<&str> = granted
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    Ok(scopes.iter().all(|s| granted.contains(&s.as_str())))
}

/// The answer to a consent form: allow or deny.
pub async fn decide(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    allow: bool,
) -> Result<String, PageError> {
    let (auth, session) =
        crate::oauth::handoff::load_pending_and_session(state, req, id, true).await?;
    let r = AuthRequestRef {
        redirect_uri: &auth.redirect_uri,
        state: auth.state.as_deref(),
    };
    let session = match session {
        // Consent never stands in for the sign-in this request asked for.
        Some(s) if !needs_login(&auth, Some(&s)) => s,
        _ => return Ok(format!("/login?request={id}")),
    };
    let origin = state.origin(req);
    let audit_kind = if allow {
        crate::audit::kind::CONSENT_GIVEN
    } else {
        crate::audit::kind::CONSENT_DENIED
    };
    crate::audit::record(
        &state.pool,
        &origin,
        audit_kind,
        Some(session.user_id.clone()),
        Some(auth.client_id.clone()),
        format!("scope={}", auth.scopes.join(" ")),
    )
    .await;
    if !allow {
        let id = id.to_string();
        db::run_write(&state.pool, move |conn| {
            Ok(store::delete_request(conn, &id)?)
        })
        .await?;
        return Ok(error_redirect(
            state,
            &r,
            "access_denied",
            "the person denied the request",
        ));
    }
    let (u, c, s) = (
        session.user_id.clone(),
        auth.client_id.clone(),
        auth.scopes.join(" "),
    );
    db::run_write(&state.pool, move |conn| {
        Ok(store::save_consent(conn, &u, &c, &s)?)
    })
    .await?;
    issue_code(state, &auth, &session, Some(id.to_string())).await
}

/// Issues a single-use code (stored hashed) in a new token family and builds the redirect.
pub(super) async fn issue_code(
    state: &AppState,
    auth: &AuthRequest,
    session: &Session,
    pending: Option<String>,
) -> Result<String, PageError> {
    let code = crypto::random_token(32);
    let now = crate::time::now();
    let row = store::CodeRow {
        code_hash: crypto::hash_secret(&code),
        family_id: crypto::random_token(16),
        client_id: auth.client_id.clone(),
        user_id: session.user_id.clone(),
        // Empty when the request omitted it: the token request then need not repeat it.
        redirect_uri: if auth.redirect_uri_sent {
            auth.redirect_uri.clone()
        } else {
            String::new()
        },
        scope: auth.scopes.join(" "),
        nonce: auth.nonce.clone(),
        pkce: auth.pkce.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        expires_at: now + state.settings.tokens.code_ttl,
        used_at: None,
    };
    let issued = db::run(&state.pool, move |conn| {
        let issued = crate::db::transaction(conn, |conn| {
            // A pending request yields one code: a double-submitted form finds it gone.
            if let Some(id) = pending {
                if store::delete_request(conn, &id)? == 0 {
                    return Ok(false);
                }
            }
            store::insert_family(conn, &row.family_id, &row.client_id, Some(&row.user_id))?;
            store::insert_code(conn, &row)?;
            Ok::<_, diesel::result::Error>(true)
        })?;
        Ok(issued)
    })
    .await?;
    if !issued {
        return Err(PageError::BadRequest(crate::i18n::t("error-request-done")));
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &auth.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.settings.server.issuer.as_str()));
    Ok(client_redirect(&auth.redirect_uri, &pairs))
}
