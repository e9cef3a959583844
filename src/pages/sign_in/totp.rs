//! The second step: a TOTP or recovery code finishes a parked sign-in.

use super::*;

#[derive(Template)]
#[template(path = "sessions/totp.html")]
pub(super) struct TotpPage {
    pub(super) csrf: String,
    pub(super) request: String,
    pub(super) pending: String,
    pub(super) error: Option<String>,
}

/// `GET /login/totp?pending=ID[&request=ID]`: the second-factor page.
pub async fn show_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest("Invalid request.".into()))?;
    Ok(csrf::page(
        &req,
        state.secure_cookies(),
        StatusCode::OK,
        |token| TotpPage {
            csrf: token,
            request: params.get("request").unwrap_or("").to_string(),
            pending: params.get("pending").unwrap_or("").to_string(),
            error: None,
        },
    ))
}

/// The second-factor form.
#[derive(Deserialize)]
pub struct TotpForm {
    pub(super) pending: String,
    pub(super) code: String,
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) request: String,
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
    let restart = || {
        PageError::BadRequest(
            "This sign-in has expired or used up its tries. Sign in again.".into(),
        )
    };
    let parked = crate::mfa::take_try(&state.factors(), &form.pending, &browser)
        .await?
        .ok_or_else(restart)?;
    let user_id = parked.user_id.clone();
    let user = crate::db::run(&state.pool, move |conn| {
        Ok(accounts::store::find(conn, &user_id)?)
    })
    .await?
    .ok_or_else(restart)?;
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
    match crate::mfa::verify(&state.factors(), &user, &form.code).await {
        Ok(second) => {
            attempt.succeeded().await?;
            if !crate::mfa::finish(&state.factors(), &form.pending).await? {
                return Err(restart());
            }
            let mut amr = vec![parked.first_factor.clone()];
            if second == "totp" && !amr.iter().any(|a| a == "otp") {
                amr.push("otp".into());
            }
            amr.push("mfa".into());
            complete_sign_in(
                &state,
                &req,
                &origin,
                user.id.into(),
                amr,
                &form.request,
                view,
            )
            .await
        }
        Err(crate::mfa::MfaError::Db(e)) => Err(e.into()),
        Err(_) => {
            attempt.failed().await?;
            crate::ops::METRICS
                .sign_ins
                .with_label_values(&["failure"])
                .inc();
            audit::record(
                &state.pool,
                &origin,
                kind::SIGN_IN_FAILURE,
                Some(user.id.into()),
                client_id,
                "factor=totp".into(),
            )
            .await;
            let page = TotpPage {
                csrf: form.csrf,
                request: form.request,
                pending: form.pending,
                error: Some(
                    "That code is not right, or it was already used. Try the next one.".into(),
                ),
            };
            Ok(page::render(StatusCode::UNAUTHORIZED, &page))
        }
    }
}
