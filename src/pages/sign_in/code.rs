//! Sign-in with a one-time code by email or SMS: ask for a code, show the code page, check it.

use super::*;

#[derive(Template)]
#[template(path = "sessions/code.html")]
pub(super) struct CodePage {
    pub(super) csrf: String,
    pub(super) request: String,
    pub(super) challenge: String,
    pub(super) identifier: String,
    pub(super) error: Option<String>,
}

/// "Email me a code".
#[derive(Deserialize)]
pub struct SendCodeForm {
    #[serde(default)]
    pub(super) email: String,
    #[serde(default)]
    pub(super) phone: String,
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) request: String,
}

/// `POST /login/code`: sends a code (if the address has an account) and shows where to
/// enter it; the same answer either way.
pub async fn send_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SendCodeForm>,
) -> Result<HttpResponse, PageError> {
    let secure = state.secure_cookies();
    csrf::require(&req, secure, &form.csrf)?;
    if !form.request.is_empty() {
        handoff::pending_view(&state, &req, &form.request).await?;
    }
    let origin = state.origin(&req);
    let browser = crate::crypto::hash_secret(&form.csrf);
    let region = state.settings.accounts.default_phone_region.as_deref();
    // The identifier as the pages show it: normalised when it parses.
    let identifier = if form.phone.trim().is_empty() {
        accounts::normalize_email(&form.email)
            .map(accounts::Identifier::Email)
            .unwrap_or_else(|_| accounts::Identifier::Email(form.email.trim().to_lowercase()))
    } else {
        accounts::normalize_phone(&form.phone, region)
            .map(accounts::Identifier::Phone)
            .unwrap_or_else(|_| accounts::Identifier::Phone(form.phone.trim().to_string()))
    };
    let codes = state.codes().from_ip(&origin.ip);
    let (channel, sent) = match &identifier {
        accounts::Identifier::Email(email) => (
            "email",
            crate::otp::send_sign_in_code(&codes, email, browser).await,
        ),
        accounts::Identifier::Phone(phone) => (
            "sms",
            crate::otp::send_sign_in_sms(&codes, phone, browser).await,
        ),
    };
    let to = identifier.as_str();
    match sent {
        Ok(challenge) => {
            audit::record(
                &state.pool,
                &origin,
                kind::CODE_SENT,
                None,
                None,
                format!("channel={channel} to={to}"),
            )
            .await;
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("challenge", &challenge)
                .append_pair("request", &form.request)
                .finish();
            Ok(page::see_other(&format!("/login/code?{query}")))
        }
        Err(crate::otp::SendError::Db(e)) => Err(e.into()),
        Err(e) => {
            // Too many codes, or the message could not even be queued (a malformed address,
            // the database out of reach): say so, never pretend it was sent.
            tracing::warn!(error = %e, "sign-in code not sent");
            let status = match e {
                crate::otp::SendError::TooMany => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            let view = handoff::optional_pending_view(&state, &req, &form.request).await?;
            Ok(methods(
                status,
                &form.csrf,
                &form.request,
                view,
                &identifier,
                Some(crate::i18n::t1("code-send-failed", "why", e.message())),
            ))
        }
    }
}

/// `GET /login/code?challenge=ID[&request=ID]`.
pub async fn show_code(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest(crate::i18n::t("error-invalid-request")))?;
    let challenge = params.get("challenge").unwrap_or("").to_string();
    let request = params.get("request").unwrap_or("").to_string();
    let identifier = crate::otp::challenge_identifier(&state.pool, &challenge)
        .await?
        .ok_or_else(|| PageError::BadRequest(crate::i18n::t("code-expired")))?;
    Ok(csrf::page(
        &req,
        state.secure_cookies(),
        StatusCode::OK,
        |token| CodePage {
            csrf: token,
            request,
            challenge,
            identifier,
            error: None,
        },
    ))
}

/// The code entry form.
#[derive(Deserialize)]
pub struct VerifyCodeForm {
    pub(super) challenge: String,
    pub(super) code: String,
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) request: String,
}

/// `POST /login/code/verify`: a right code starts a session (`amr` = `otp`).
pub async fn verify_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<VerifyCodeForm>,
) -> Result<HttpResponse, PageError> {
    let secure = state.secure_cookies();
    csrf::require(&req, secure, &form.csrf)?;
    let form = form.into_inner();
    let view = handoff::optional_pending_view(&state, &req, &form.request).await?;
    let origin = state.origin(&req);
    let client_id = view.as_ref().map(|v| v.client_id.clone());
    let browser = crate::crypto::hash_secret(&form.csrf);
    let identifier = crate::otp::challenge_identifier(&state.pool, &form.challenge)
        .await?
        .unwrap_or_default();
    let policies = vec![
        (
            format!("otp:acct:{}", crate::crypto::hash_secret(&identifier)),
            crate::throttle::Policy::account(&state.settings.throttle),
        ),
        (
            format!("pwd:ip:{}", origin.ip),
            crate::throttle::Policy::ip(&state.settings.throttle),
        ),
    ];
    let attempt = match throttle::begin(&state.pool, policies).await? {
        throttle::Begin::Go(attempt) => attempt,
        throttle::Begin::Refused(seconds) => return Err(PageError::TooMany(seconds)),
    };
    let (user_id, code_generation) =
        match crate::otp::check_sign_in_code(&state.codes(), &form.challenge, &browser, &form.code)
            .await
        {
            Ok(checked) => checked,
            Err(e) => {
                attempt.failed().await?;
                record_failure(&state.pool, &origin, None, client_id, "factor=otp".into()).await;
                let message = match e {
                    crate::otp::CheckError::Wrong => crate::i18n::t("code-wrong"),
                    crate::otp::CheckError::Dead => crate::i18n::t("code-dead"),
                };
                let identifier = crate::otp::challenge_identifier(&state.pool, &form.challenge)
                    .await?
                    .unwrap_or_default();
                let page = CodePage {
                    csrf: form.csrf,
                    request: form.request,
                    challenge: form.challenge,
                    identifier,
                    error: Some(message),
                };
                return Ok(page::render(StatusCode::UNAUTHORIZED, &page));
            }
        };
    // Parked as otp-sms or otp-email, so a second step offers the other channel.
    let factor = if identifier.starts_with('+') {
        "otp-sms"
    } else {
        "otp-email"
    };
    let first = FirstFactor {
        user_id,
        factor,
        attempt,
        password_hash: None,
        code_generation,
    };
    after_first_factor(
        &state,
        &req,
        &origin,
        first,
        &form.csrf,
        &form.request,
        view.as_ref(),
    )
    .await?
    .page()
}
