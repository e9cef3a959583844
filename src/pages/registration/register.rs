//! Registration: the form, and the account it creates unconfirmed (the same page for a taken address).

use super::*;

pub(super) async fn show_register(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    registration_open(&state)?;
    Ok(with_csrf(&state, &req, StatusCode::OK, |csrf| {
        RegisterPage {
            csrf,
            email: String::new(),
            name: String::new(),
            error: None,
        }
    }))
}

/// The registration form; an empty password makes a passwordless account (codes only).
#[derive(Deserialize)]
pub struct RegisterForm {
    pub(super) csrf: String,
    pub(super) email: String,
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) password: String,
}

/// `POST /register`: the same answer for a new or a taken address; the owner of a taken
/// one gets an email instead of a code.
pub(super) async fn submit_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, PageError> {
    registration_open(&state)?;
    require_csrf(&state, &req, &form.csrf)?;
    let form = form.into_inner();
    let again = |error: String, status: StatusCode| {
        let (email, name) = (
            form.email.chars().take(254).collect(),
            form.name.chars().take(200).collect(),
        );
        page::render(
            status,
            &RegisterPage {
                csrf: form.csrf.clone(),
                email,
                name,
                error: Some(error),
            },
        )
    };
    let Ok(email) = normalize_email(&form.email) else {
        return Ok(again(
            "Enter a valid email address.".into(),
            StatusCode::BAD_REQUEST,
        ));
    };
    let password = (!form.password.is_empty()).then(|| form.password.clone());
    if let Some(p) = &password {
        if let Err(message) =
            check_password_policy(p, &email, state.settings.accounts.password_min_length)
        {
            return Ok(again(message, StatusCode::BAD_REQUEST));
        }
    }
    let name =
        Some(form.name.trim().chars().take(200).collect::<String>()).filter(|n| !n.is_empty());
    // The send caps first: a refused registration costs no hash and stores nothing.
    let origin = state.origin(&req);
    match otp::allow_send(&state.codes().from_ip(&origin.ip), &email).await {
        Ok(()) => {}
        Err(SendError::Db(e)) => return Err(e.into()),
        Err(e) => return Ok(again(format!("{e}."), StatusCode::TOO_MANY_REQUESTS)),
    }
    let hash = match password {
        Some(p) => Some(
            hash_off_thread(state.hasher.slot().await?, p)
                .await
                .map_err(|e| PageError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    // The choices travel with the code and are applied only when that code comes back, so
    // registering someone else's unconfirmed address again changes nothing of theirs.
    let payload = serde_json::json!({ "password_hash": hash, "name": name }).to_string();
    let e = email.clone();
    // New address: an unconfirmed account with nothing set yet. Taken: nothing changes.
    let (user_id, taken) = db::run(&state.pool, move |conn| {
        let existing = match store::find_by_email(conn, &e)? {
            Some(u) => Some(u),
            None => match store::insert(conn, &e, store::Email::Unconfirmed, None, None) {
                Ok(u) => return Ok((Some(u.id), false)),
                // A parallel registration of the same address won: use its row.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => store::find_by_email(conn, &e)?,
                Err(err) => return Err(err.into()),
            },
        };
        Ok(match existing {
            Some(u) if !u.email_verified => (Some(u.id), false),
            _ => (None, true),
        })
    })
    .await?;
    let browser = crypto::hash_secret(&form.csrf);
    let codes = state.codes().from_ip(&origin.ip).prepaid();
    let sent = if taken {
        let result = otp::issue(&codes, Purpose::VerifyEmail, &email, None, None, browser).await;
        if result.is_ok() {
            if let Ok(notice) = crate::notify::account_exists_email() {
                if let Err(e) = state.outbox.email(&email, notice).await {
                    tracing::warn!(error = %e, "could not tell an address owner about a registration attempt");
                }
            }
        }
        result
    } else {
        otp::issue_with(
            &codes,
            Purpose::VerifyEmail,
            &email,
            user_id.clone().map(Into::into),
            Some(Channel::Email(email.clone())),
            browser,
            Some(payload),
        )
        .await
    };
    match sent {
        Ok(challenge) => {
            audit::record(
                &state.pool,
                &origin,
                kind::REGISTERED,
                user_id.map(Into::into),
                None,
                format!("email={email} taken={taken}"),
            )
            .await;
            Ok(page::see_other(&format!(
                "/register/verify?challenge={challenge}"
            )))
        }
        Err(SendError::Db(e)) => Err(e.into()),
        Err(e @ SendError::TooMany) => Ok(again(format!("{e}."), StatusCode::TOO_MANY_REQUESTS)),
        Err(e) => Ok(again(format!("{e}."), StatusCode::SERVICE_UNAVAILABLE)),
    }
}
