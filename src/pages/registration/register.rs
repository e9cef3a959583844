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
/// `identifier` is an email address or a mobile number (`email`, the older field, still
/// works).
#[derive(Deserialize)]
pub struct RegisterForm {
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) identifier: String,
    #[serde(default)]
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
    let mut form = form.into_inner();
    if !form.identifier.trim().is_empty() {
        form.email = std::mem::take(&mut form.identifier);
    }
    let region = state.settings.accounts.default_phone_region.as_deref();
    if let Some(Identifier::Phone(phone)) = Identifier::parse(&form.email, region) {
        return register_phone(&state, &req, form, phone).await;
    }
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
            crate::i18n::t("register-email-invalid"),
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
        Err(e) => {
            return Ok(again(
                format!("{}.", e.message()),
                StatusCode::TOO_MANY_REQUESTS,
            ))
        }
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
    let payload = serde_json::json!({
        "password_hash": hash,
        "name": name,
        "locale": crate::i18n::lang(),
    })
    .to_string();
    let e = email.clone();
    // New address: an unconfirmed account with nothing set yet. Taken: nothing changes.
    let (user_id, taken, owner_locale) = db::run(&state.pool, move |conn| {
        let existing = match store::find_by_email(conn, &e)? {
            Some(u) => Some(u),
            None => match store::insert(conn, &e, store::Email::Unconfirmed, None, None) {
                Ok(u) => return Ok((Some(u.id), false, None)),
                // A parallel registration of the same address won: use its row.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => store::find_by_email(conn, &e)?,
                Err(err) => return Err(err.into()),
            },
        };
        Ok(match existing {
            Some(u) if !u.email_verified => (Some(u.id), false, None),
            Some(u) => (None, true, u.locale),
            None => (None, true, None),
        })
    })
    .await?;
    let browser = crypto::hash_secret(&form.csrf);
    let codes = state.codes().from_ip(&origin.ip).prepaid();
    let sent = if taken {
        let result = otp::issue(&codes, Purpose::VerifyEmail, &email, None, None, browser).await;
        if result.is_ok() {
            // In the owner's language, not the visitor's.
            let notice = crate::i18n::for_person(owner_locale.as_deref(), || {
                crate::notify::account_exists_email()
            });
            if let Ok(notice) = notice {
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
    let detail = format!("email={email} taken={taken}");
    after_send(
        &state,
        &origin,
        sent,
        user_id.map(Into::into),
        detail,
        again,
    )
    .await
}

/// Where a registration goes once its code was (or was not) sent: the code page, or the
/// form again saying why not. Recorded in the audit log either way it was sent.
async fn after_send(
    state: &AppState,
    origin: &crate::audit::Origin,
    sent: Result<String, SendError>,
    user_id: Option<String>,
    detail: String,
    again: impl Fn(String, StatusCode) -> HttpResponse,
) -> Result<HttpResponse, PageError> {
    match sent {
        Ok(challenge) => {
            audit::record(&state.pool, origin, kind::REGISTERED, user_id, None, detail).await;
            Ok(page::see_other(&format!(
                "/register/verify?challenge={challenge}"
            )))
        }
        Err(SendError::Db(e)) => Err(e.into()),
        Err(e @ SendError::TooMany) => Ok(again(
            format!("{}.", e.message()),
            StatusCode::TOO_MANY_REQUESTS,
        )),
        Err(e) => Ok(again(
            format!("{}.", e.message()),
            StatusCode::SERVICE_UNAVAILABLE,
        )),
    }
}

/// Registration by mobile number: nothing is stored but the code, which carries what the
/// registration chose; the account is made when the code comes back by SMS (so a number
/// nobody confirmed is never held). A number that already has an account gets a text
/// saying so instead, and the page is the same.
async fn register_phone(
    state: &AppState,
    req: &HttpRequest,
    form: RegisterForm,
    phone: String,
) -> Result<HttpResponse, PageError> {
    let again = |error: String, status: StatusCode| {
        page::render(
            status,
            &RegisterPage {
                csrf: form.csrf.clone(),
                email: form.email.chars().take(254).collect(),
                name: form.name.chars().take(200).collect(),
                error: Some(error),
            },
        )
    };
    let password = (!form.password.is_empty()).then(|| form.password.clone());
    if let Some(p) = &password {
        if let Err(message) =
            check_password_policy(p, &phone, state.settings.accounts.password_min_length)
        {
            return Ok(again(message, StatusCode::BAD_REQUEST));
        }
    }
    let origin = state.origin(req);
    match otp::allow_send(&state.codes().from_ip(&origin.ip), &phone).await {
        Ok(()) => {}
        Err(SendError::Db(e)) => return Err(e.into()),
        Err(e) => {
            return Ok(again(
                format!("{}.", e.message()),
                StatusCode::TOO_MANY_REQUESTS,
            ))
        }
    }
    let name =
        Some(form.name.trim().chars().take(200).collect::<String>()).filter(|n| !n.is_empty());
    let p = phone.clone();
    let taken = db::run(&state.pool, move |conn| Ok(store::find_by_phone(conn, &p)?))
        .await?
        .is_some();
    let browser = crypto::hash_secret(&form.csrf);
    let codes = state.codes().from_ip(&origin.ip).prepaid();
    let sent = if taken {
        let result = otp::issue(&codes, Purpose::RegisterPhone, &phone, None, None, browser).await;
        if result.is_ok() {
            if let Err(e) = state
                .outbox
                .sms(&phone, &crate::i18n::t("sms-number-taken"))
                .await
            {
                tracing::warn!(error = %e, "could not tell a number's owner about a registration attempt");
            }
        }
        result
    } else {
        // Hashed only for a number that can become an account.
        let hash = match password {
            Some(p) => Some(
                hash_off_thread(state.hasher.slot().await?, p)
                    .await
                    .map_err(|e| PageError::Internal(e.to_string()))?,
            ),
            None => None,
        };
        let payload = serde_json::json!({
            "phone": phone,
            "password_hash": hash,
            "name": name,
            "locale": crate::i18n::lang(),
        })
        .to_string();
        otp::issue_with(
            &codes,
            Purpose::RegisterPhone,
            &phone,
            None,
            Some(Channel::Sms(phone.clone())),
            browser,
            Some(payload),
        )
        .await
    };
    let detail = format!("phone={phone} taken={taken}");
    after_send(state, &origin, sent, None, detail, again).await
}
