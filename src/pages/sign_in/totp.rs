//! The second step: a TOTP code, a recovery code, or a code sent by SMS or email (on
//! another channel than the first step's) finishes a parked sign-in.

use super::*;

#[derive(Template)]
#[template(path = "sessions/totp.html")]
pub(super) struct TotpPage {
    pub(super) csrf: String,
    pub(super) request: String,
    pub(super) pending: String,
    pub(super) error: Option<String>,
    /// The phone (masked) a code may go to instead, if any.
    pub(super) sms_to: Option<String>,
    /// The email address (masked) a code may go to instead, if any.
    pub(super) email_to: Option<String>,
    /// The challenge of a code just sent, and where it went (`sms` or `email`).
    pub(super) challenge: String,
    pub(super) channel: String,
    /// "Remember this browser for N days" is offered (N > 0).
    pub(super) remember_days: i64,
}

/// The last digits of a number; the first letter and the domain of an address.
fn masked(channel: &str, to: &str) -> String {
    if channel == "sms" {
        let tail: String = to
            .chars()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        // The digits stay outside the message: Fluent would read "078" as the number 78.
        format!("{} {tail}", crate::i18n::t("second-number-ending-in"))
    } else {
        match to.split_once('@') {
            Some((local, domain)) => {
                format!("{}…@{domain}", local.chars().next().unwrap_or('?'))
            }
            None => crate::i18n::t("second-your-email"),
        }
    }
}

/// Where a second code may go for `parked`: the phone unless the first step was a code by
/// SMS, the email address unless it was a code by email.
fn other_channels(
    parked: &crate::mfa::PendingSignIn,
    user: &accounts::User,
) -> (Option<String>, Option<String>) {
    let sms = user
        .phone
        .as_ref()
        .filter(|_| parked.first_factor != "otp-sms")
        .cloned();
    let email = user
        .email
        .clone()
        .filter(|e| !e.is_empty() && user.email_verified && parked.first_factor != "otp-email");
    (sms, email)
}

/// The parked sign-in of this browser and its person.
async fn parked_of(
    state: &AppState,
    pending: &str,
    csrf_token: &str,
) -> Result<Option<(crate::mfa::PendingSignIn, accounts::User)>, PageError> {
    let browser = crate::crypto::hash_secret(csrf_token);
    Ok(crate::mfa::parked(&state.factors(), pending, &browser).await?)
}

/// `GET /login/totp?pending=ID[&request=ID][&challenge=ID&channel=sms|email]`: the
/// second-factor page, with the other ways to finish (a code by SMS or email).
pub async fn show_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest(crate::i18n::t("error-invalid-request")))?;
    let pending = params.get("pending").unwrap_or("").to_string();
    let (token, _) = csrf::token(&req, state.secure_cookies());
    let (sms_to, email_to) = match parked_of(&state, &pending, &token).await? {
        Some((parked, user)) => {
            let (sms, email) = other_channels(&parked, &user);
            (
                sms.map(|p| masked("sms", &p)),
                email.map(|e| masked("email", &e)),
            )
        }
        None => (None, None),
    };
    let channel = match params.get("channel") {
        Some(c @ ("sms" | "email")) => c.to_string(),
        _ => String::new(),
    };
    Ok(csrf::page(
        &req,
        state.secure_cookies(),
        StatusCode::OK,
        |token| TotpPage {
            csrf: token,
            request: params.get("request").unwrap_or("").to_string(),
            pending,
            error: None,
            sms_to,
            email_to,
            challenge: params.get("challenge").unwrap_or("").to_string(),
            channel,
            remember_days: state.settings.accounts.remember_browser_days,
        },
    ))
}

/// The "send me a code instead" form.
#[derive(Deserialize)]
pub struct SendSecondForm {
    pub(super) pending: String,
    pub(super) csrf: String,
    pub(super) channel: String,
    #[serde(default)]
    pub(super) request: String,
}

/// `POST /login/second/send`: a code by SMS or email for the second step (only to a
/// channel the first step did not use), then back to the second-factor page.
pub async fn send_second_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SendSecondForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&req, state.secure_cookies(), &form.csrf)?;
    let form = form.into_inner();
    let restart = || PageError::BadRequest(crate::i18n::t("second-expired"));
    let (parked, user) = parked_of(&state, &form.pending, &form.csrf)
        .await?
        .ok_or_else(restart)?;
    let (sms, email) = other_channels(&parked, &user);
    let (to, channel) = match (form.channel.as_str(), sms, email) {
        ("sms", Some(phone), _) => (phone.clone(), crate::otp::Channel::Sms(phone)),
        ("email", _, Some(address)) => (address.clone(), crate::otp::Channel::Email(address)),
        _ => return Err(PageError::BadRequest(crate::i18n::t("second-way-closed"))),
    };
    let origin = state.origin(&req);
    let browser = crate::crypto::hash_secret(&form.csrf);
    let challenge = match crate::otp::issue(
        &state.codes().from_ip(&origin.ip),
        crate::otp::Purpose::SecondFactor,
        &to,
        Some(user.id.to_string()),
        Some(channel),
        browser,
    )
    .await
    {
        Ok(challenge) => challenge,
        Err(crate::otp::SendError::Db(e)) => return Err(e.into()),
        Err(crate::otp::SendError::TooMany) => return Err(PageError::TooMany(60)),
        Err(e) => return Err(PageError::Unavailable(e.to_string())),
    };
    audit::record(
        &state.pool,
        &origin,
        kind::CODE_SENT,
        Some(user.id.to_string()),
        None,
        format!("purpose=second_factor channel={}", form.channel),
    )
    .await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("pending", &form.pending)
        .append_pair("request", &form.request)
        .append_pair("challenge", &challenge)
        .append_pair("channel", &form.channel)
        .finish();
    Ok(page::see_other(&format!("/login/totp?{query}")))
}

/// The second-factor form.
#[derive(Deserialize)]
pub struct TotpForm {
    pub(super) pending: String,
    pub(super) code: String,
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) request: String,
    /// Set when the code was sent by SMS or email (else: TOTP or recovery code).
    #[serde(default)]
    pub(super) challenge: String,
    #[serde(default)]
    pub(super) channel: String,
    /// `yes`: remember this browser (`remember_browser_days`).
    #[serde(default)]
    pub(super) remember: String,
}

/// `POST /login/totp`: a TOTP or recovery code finishes a parked sign-in.
pub async fn verify_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<TotpForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&req, state.secure_cookies(), &form.csrf)?;
    let form = form.into_inner();
    let view = handoff::optional_pending_view(&state, &req, &form.request).await?;
    let origin = state.origin(&req);
    let client_id = view.as_ref().map(|v| v.client_id.clone());
    let browser = crate::crypto::hash_secret(&form.csrf);
    let restart = || PageError::BadRequest(crate::i18n::t("second-expired"));
    let (parked, user) =
        match crate::mfa::take_try(&state.factors(), &form.pending, &browser).await? {
            crate::mfa::Parked::Live(found) => *found,
            crate::mfa::Parked::Ended(parked) => {
                // Someone holds this person's first factor after their sign-ins were ended.
                record_failure(
                    &state.pool,
                    &origin,
                    Some(parked.user_id),
                    client_id,
                    ENDED_WHILE_PARKED.into(),
                )
                .await;
                return Err(restart());
            }
            crate::mfa::Parked::Gone => return Err(restart()),
        };
    let policies = vec![
        (
            format!("totp:acct:{}", user.id),
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
    let checked = if form.challenge.is_empty() {
        crate::mfa::verify(&state.factors(), &user, &form.code).await
    } else {
        // A code sent for this person's second step, to this browser.
        match crate::otp::check(
            &state.codes(),
            crate::otp::Purpose::SecondFactor,
            &form.challenge,
            &browser,
            &form.code,
        )
        .await
        {
            Ok(id) if id == user.id.as_str() => Ok(if form.channel == "sms" {
                "sms"
            } else {
                "email"
            }),
            Ok(_) | Err(_) => Err(crate::mfa::MfaError::WrongCode),
        }
    };
    match checked {
        Ok(second) => {
            let mut amr = vec![crate::mfa::first_factor_amr(&parked.first_factor).to_string()];
            // RFC 8176: `sms` for a code by text message, `otp` for any other one-time code.
            let method = if second == "sms" { "sms" } else { "otp" };
            if second != "recovery_code" && !amr.iter().any(|a| a == method) {
                amr.push(method.into());
            }
            amr.push("mfa".into());
            let days = state.settings.accounts.remember_browser_days;
            let remember = (form.remember == "yes" && days > 0).then(|| {
                let agent = req
                    .headers()
                    .get(actix_web::http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                crate::sessions::Remember::new(
                    user.id.to_string(),
                    days,
                    agent,
                    state.secure_cookies(),
                )
            });
            let second = SecondFactor {
                parked,
                amr,
                attempt,
                remember,
            };
            after_second_factor(&state, &req, &origin, second, &form.request, view.as_ref()).await
        }
        Err(crate::mfa::MfaError::Db(e)) => Err(e.into()),
        Err(_) => {
            attempt.failed().await?;
            record_failure(
                &state.pool,
                &origin,
                Some(user.id.to_string()),
                client_id,
                format!(
                    "factor={}",
                    if form.challenge.is_empty() {
                        "totp"
                    } else {
                        "second_code"
                    }
                ),
            )
            .await;
            let (sms, email) = other_channels(&parked, &user);
            let page = TotpPage {
                csrf: form.csrf,
                request: form.request,
                pending: form.pending,
                error: Some(crate::i18n::t("second-wrong-code")),
                sms_to: sms.map(|p| masked("sms", &p)),
                email_to: email.map(|e| masked("email", &e)),
                challenge: form.challenge,
                channel: form.channel,
                remember_days: state.settings.accounts.remember_browser_days,
            };
            Ok(page::render(StatusCode::UNAUTHORIZED, &page))
        }
    }
}
