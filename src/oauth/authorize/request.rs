//! The authorization request: its parameters parsed and validated (RFC 6749 4.1.1, OIDC Core 3.1.2.1, PKCE); errors before the client and redirect URI are proven are pages, after it redirects.

use super::*;

/// A validated authorization request, kept while the person signs in and consents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The PKCE challenge as oxide-auth encodes it.
    pub pkce: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub id_token_hint_sub: Option<String>,
    pub login_hint: Option<String>,
    /// Hash of the browser's CSRF cookie: the request only goes on in that browser.
    pub browser: String,
    /// Whether the request carried `redirect_uri` (then the token request must repeat it).
    #[serde(default)]
    pub redirect_uri_sent: bool,
    /// Set when the person signed in for this request (satisfies `prompt=login`).
    pub signed_in_at: Option<i64>,
    /// `acr_values` asked for two factors only: a one-factor session must sign in again.
    #[serde(default)]
    pub require_mfa: bool,
}

impl AuthRequest {
    pub(super) fn has_prompt(&self, p: &str) -> bool {
        self.prompt.iter().any(|x| x == p)
    }
}

/// The bits of a request needed to answer the client.
pub(super) struct AuthRequestRef<'a> {
    pub(super) redirect_uri: &'a str,
    pub(super) state: Option<&'a str>,
}

pub(super) fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        })
}

pub(super) const KNOWN_PROMPTS: &[&str] = &["none", "login", "consent", "select_account"];

/// A POSTed authorization request (OIDC Core 3.1.2.1) becomes the same request as a GET:
/// a cross-site POST arrives without the SameSite=Lax session cookie, the GET brings it.
pub(super) fn post_to_get(req: &HttpRequest, body: &[u8]) -> Result<HttpResponse, PageError> {
    if !is_form(req) {
        return Err(PageError::BadRequest(
            "The authorization request must be application/x-www-form-urlencoded.".into(),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| PageError::BadRequest("Invalid authorization request.".into()))?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Ok(page::see_other(&format!("/authorize?{query}")))
}

pub(super) async fn validate(
    state: &AppState,
    mut p: Params,
    repeated: &[String],
    browser: String,
) -> Result<AuthRequest, Refusal> {
    let page = |m: &str| Refusal::Page(PageError::BadRequest(m.to_string()));
    let client_id = p
        .take("client_id")
        .ok_or_else(|| page("The request names no client (client_id is missing)."))?;
    let client = state
        .client(client_id)
        .await?
        .ok_or_else(|| page("The application that sent you here is not registered with Porta."))?;
    let requested_redirect = p.take("redirect_uri");
    let scope_text = p.take("scope").unwrap_or_default();
    let openid = scope_text.split(' ').any(|s| s == "openid");
    if requested_redirect.is_none() && openid {
        return Err(page("The request has no redirect_uri."));
    }
    let redirect_uri = registrar::bind_redirect(&client, requested_redirect.as_deref())
        .ok_or_else(|| page("The redirect_uri in this request is not registered for this application, so Porta will not send you there."))?;
    let st = p.take("state");
    let r = AuthRequestRef {
        redirect_uri: &redirect_uri,
        state: st.as_deref(),
    };
    let fail = |error: &str, description: &str| {
        Refusal::Client(error_redirect(state, &r, error, description))
    };

    if !repeated.is_empty() {
        return Err(fail("invalid_request", "a parameter is repeated"));
    }
    match p.get("response_type") {
        None => return Err(fail("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return Err(fail(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    if p.get("request").is_some() {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if p.get("request_uri").is_some() {
        return Err(fail(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    if p.get("registration").is_some() {
        return Err(fail(
            "registration_not_supported",
            "registration is not supported",
        ));
    }
    if !client.allows_grant("authorization_code") {
        return Err(fail(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        ));
    }
    let scopes = grant_scopes(&client, &redirect_uri, &scope_text).ok_or_else(|| {
        fail(
            "invalid_scope",
            "the requested scope is missing, malformed or not allowed for this client",
        )
    })?;
    let pkce = pkce_challenge(
        &client,
        p.get("code_challenge"),
        p.get("code_challenge_method"),
    )
    .map_err(|d| fail("invalid_request", d))?;
    let nonce = p.take("nonce");
    if nonce.as_ref().is_some_and(|n| n.len() > 512) {
        return Err(fail("invalid_request", "nonce is too long"));
    }
    let prompt: Vec<String> = p
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if prompt.iter().any(|x| !KNOWN_PROMPTS.contains(&x.as_str())) {
        return Err(fail("invalid_request", "unknown prompt value"));
    }
    if prompt.iter().any(|x| x == "none") && prompt.len() > 1 {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age =
        match p.get("max_age") {
            None => None,
            Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                fail("invalid_request", "max_age must be a non-negative integer")
            })?),
        };
    // acr_values lists acceptable levels, best first; asking for nothing below two factors
    // makes a one-factor session sign in again (OIDC Core 3.1.2.1).
    let require_mfa = p.get("acr_values").is_some_and(|v| {
        let values: Vec<&str> = v.split(' ').filter(|x| !x.is_empty()).collect();
        values.contains(&crate::tokens::ACR_MFA) && !values.contains(&crate::tokens::ACR_1FA)
    });
    let id_token_hint_sub = match p.get("id_token_hint") {
        None => None,
        Some(hint) => Some(hint_subject(state, hint).ok_or_else(|| {
            fail(
                "invalid_request",
                "id_token_hint is not an id token issued by Porta",
            )
        })?),
    };
    Ok(AuthRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.clone(),
        scopes,
        state: st.clone(),
        nonce,
        pkce,
        prompt,
        max_age,
        id_token_hint_sub,
        login_hint: p.take("login_hint").filter(|h| h.len() <= 254),
        browser,
        redirect_uri_sent: requested_redirect.is_some(),
        signed_in_at: None,
        require_mfa,
    })
}

/// Scopes the client asked for that it is registered for; unknown values are dropped
/// (OIDC Core 3.1.2.1), but nothing left at all is `invalid_scope`.
pub(super) fn grant_scopes(
    client: &Client,
    redirect_uri: &str,
    scope: &str,
) -> Option<Vec<String>> {
    let mut wanted: Vec<&str> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if client.allows_scope(s) && !wanted.contains(&s) {
            wanted.push(s);
        }
    }
    if wanted.is_empty() {
        return None;
    }
    registrar::negotiate_scope(client, redirect_uri, &wanted.join(" "))?;
    Some(wanted.into_iter().map(str::to_string).collect())
}

/// RFC 7636: S256 only; required for public clients; checked for everyone who sends one.
pub(super) fn pkce_challenge(
    client: &Client,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<String>, &'static str> {
    let Some(challenge) = challenge else {
        if method.is_some() {
            return Err("code_challenge_method without code_challenge");
        }
        if client.is_public() {
            return Err("PKCE is required: send code_challenge with code_challenge_method=S256");
        }
        return Ok(None);
    };
    if method != Some("S256") {
        return Err("code_challenge_method must be S256 (plain is not accepted)");
    }
    // A S256 challenge is the base64url of 32 bytes: exactly 43 characters.
    let valid = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err("code_challenge is not a valid S256 challenge");
    }
    let value = Pkce::required()
        .challenge(Some(Cow::Borrowed("S256")), Some(Cow::Borrowed(challenge)))
        .map_err(|_| "code_challenge is not valid")?
        .ok_or("code_challenge is not valid")?;
    value
        .into_private_value()
        .ok()
        .flatten()
        .map(Some)
        .ok_or("code_challenge is not valid")
}

/// The subject of an id token Porta signed (expired ones are fine as hints).
pub(super) fn hint_subject(state: &AppState, hint: &str) -> Option<String> {
    let (_, claims) = state.keys.current().verify(hint)?;
    if claims.get("iss")?.as_str()? != state.settings.server.issuer {
        return None;
    }
    claims.get("sub")?.as_str().map(str::to_string)
}
