//! Validation: every setting checked once at start, with a message that names it.

use super::*;

impl Settings {
    /// Checks every setting and normalises the issuer.
    pub fn validate(mut self) -> Result<Settings, ConfigError> {
        let issuer = url::Url::parse(&self.server.issuer)
            .map_err(|e| invalid("issuer", format!("not a URL: {e}")))?;
        if !matches!(issuer.scheme(), "http" | "https") {
            return Err(invalid("issuer", "must be an http or https URL"));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(invalid("issuer", "must not have a query or fragment"));
        }
        if issuer.host_str().is_none() {
            return Err(invalid("issuer", "must name a host"));
        }
        self.server.issuer = self.server.issuer.trim_end_matches('/').to_string();
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid("bind", "must be an address like 127.0.0.1:8080"));
        }
        if self.database.database_url.trim().is_empty() {
            return Err(invalid("database_url", "must not be empty"));
        }
        if self.tokens.refresh_token_absolute_ttl < 0 {
            return Err(invalid(
                "refresh_token_absolute_ttl",
                "must be 0 (no limit) or a number of seconds",
            ));
        }
        if let Some(region) = &self.accounts.default_phone_region {
            let known = region.len() == 2
                && region.bytes().all(|b| b.is_ascii_uppercase())
                && region.parse::<phonenumber::country::Id>().is_ok();
            if !known {
                return Err(invalid(
                    "default_phone_region",
                    "must be a country code of two capital letters that has phone numbers, like PT or GB",
                ));
            }
        }
        if !(0..=365).contains(&self.accounts.remember_browser_days) {
            return Err(invalid(
                "remember_browser_days",
                "must be 0 (never offered) to 365 days",
            ));
        }
        if !(0..=366 * 24 * 3600).contains(&self.accounts.account_deletion_grace) {
            return Err(invalid(
                "account_deletion_grace",
                "must be 0 (at once) to 31622400 seconds (a year)",
            ));
        }
        if !(0..=30 * 24 * 3600).contains(&self.tokens.client_secret_grace) {
            return Err(invalid(
                "client_secret_grace",
                "must be 0 to 2592000 seconds (30 days)",
            ));
        }
        if self.server.hsts_max_age < 0 {
            return Err(invalid(
                "hsts_max_age",
                "must be 0 (off) or a number of seconds",
            ));
        }
        for part in self
            .server
            .trusted_proxies
            .split([',', ' '])
            .filter(|s| !s.trim().is_empty())
        {
            let part = part.trim();
            if part.parse::<ipnet::IpNet>().is_err() && part.parse::<std::net::IpAddr>().is_err() {
                return Err(invalid(
                    "trusted_proxies",
                    format!("{part:?} is not an IP address or CIDR network"),
                ));
            }
        }
        for origin in self
            .resource
            .api_cors_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            let bare = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.path() == "/"
                    && u.query().is_none()
                    && u.origin().ascii_serialization() == origin
            });
            if !bare {
                return Err(invalid(
                    "api_cors_origins",
                    format!("{origin:?} is not an origin like https://app.example.com"),
                ));
            }
        }
        if !matches!(self.server.log_format.as_str(), "text" | "json") {
            return Err(invalid("log_format", "must be text or json"));
        }
        if self.database.db_pool_size == 0 {
            return Err(invalid("db_pool_size", "must be at least 1"));
        }
        if !(1..=300).contains(&self.server.request_read_timeout) {
            return Err(invalid("request_read_timeout", "must be 1 to 300 seconds"));
        }
        if !(1..=86_400).contains(&self.accounts.hash_memory_keep) {
            return Err(invalid("hash_memory_keep", "must be 1 second to 1 day"));
        }
        if !(1..=300).contains(&self.accounts.hash_queue_timeout) {
            return Err(invalid("hash_queue_timeout", "must be 1 to 300 seconds"));
        }
        if !(1..=300).contains(&self.database.db_wait_timeout) {
            return Err(invalid("db_wait_timeout", "must be 1 to 300 seconds"));
        }
        for (name, value) in [
            ("access_token_ttl", self.tokens.access_token_ttl),
            ("id_token_ttl", self.tokens.id_token_ttl),
            ("refresh_token_ttl", self.tokens.refresh_token_ttl),
            ("code_ttl", self.tokens.code_ttl),
            ("session_ttl", self.accounts.session_ttl),
            (
                "authorization_request_ttl",
                self.tokens.authorization_request_ttl,
            ),
            ("key_rotation_period", self.keys.key_rotation_period),
            ("key_prepublish", self.keys.key_prepublish),
            ("jwks_max_age", self.keys.jwks_max_age),
            ("key_check_interval", self.keys.key_check_interval),
            ("login_max_failures", self.throttle.login_max_failures),
            ("ip_max_failures", self.throttle.ip_max_failures),
            (
                "client_auth_max_failures",
                self.throttle.client_auth_max_failures,
            ),
            ("failure_window", self.throttle.failure_window),
            ("lock_base", self.throttle.lock_base),
            ("lock_max", self.throttle.lock_max),
            ("audit_retention", self.accounts.audit_retention),
            ("otp_ttl", self.otp.otp_ttl),
            ("otp_max_tries", self.otp.otp_max_tries),
            ("otp_max_sends", self.otp.otp_max_sends),
            ("otp_window", self.otp.otp_window),
            ("otp_max_sends_per_ip", self.otp.otp_max_sends_per_ip),
            (
                "otp_max_sends_per_minute",
                self.otp.otp_max_sends_per_minute,
            ),
            ("outbox_max_attempts", self.mail.outbox_max_attempts),
            ("outbox_retry_pause", self.mail.outbox_retry_pause),
            ("fresh_sign_in_window", self.accounts.fresh_sign_in_window),
            ("admin_fresh_sign_in", self.accounts.admin_fresh_sign_in),
            ("invitation_ttl", self.accounts.invitation_ttl),
            (
                "authorize_max_pending_per_ip",
                self.tokens.authorize_max_pending_per_ip,
            ),
        ] {
            if value <= 0 {
                return Err(invalid(name, "must be a positive number of seconds"));
            }
        }
        if self.tokens.refresh_reuse_grace < 0 || self.tokens.refresh_reuse_grace > 60 {
            return Err(invalid(
                "refresh_reuse_grace",
                "must be between 0 and 60 seconds",
            ));
        }
        if self.keys.key_prepublish < self.keys.jwks_max_age {
            // An API holding a cached JWKS must see a key before any token it signs.
            return Err(invalid(
                "key_prepublish",
                format!(
                    "must be at least jwks_max_age ({} s), or APIs with a cached JWKS would meet unknown keys",
                    self.keys.jwks_max_age
                ),
            ));
        }
        if self.keys.key_rotation_period <= self.keys.key_prepublish {
            return Err(invalid(
                "key_rotation_period",
                "must be longer than key_prepublish",
            ));
        }
        let no_smtp = self.mail.smtp_host.as_deref().is_none_or(str::is_empty);
        if self.runs("idp")
            && self.secure_cookies()
            && no_smtp
            && !self.mail.allow_development_outbox
        {
            // The development outbox writes every code and link to the log: fine on a
            // laptop, a leak on a real site.
            return Err(invalid(
                "smtp_host",
                "an https issuer needs an SMTP server (or allow_development_outbox = true): the development outbox writes sign-in codes to the log",
            ));
        }
        if !matches!(self.mail.smtp_tls.as_str(), "starttls" | "tls" | "none") {
            return Err(invalid("smtp_tls", "must be starttls, tls or none"));
        }
        if self
            .mail
            .mail_from
            .parse::<lettre::message::Mailbox>()
            .is_err()
        {
            return Err(invalid(
                "mail_from",
                "must be an address like Porta <no-reply@example.com>",
            ));
        }
        match self.sms.sms_provider.as_str() {
            "outbox" => {}
            "http" => {
                let ok = self
                    .sms
                    .sms_http_url
                    .as_deref()
                    .and_then(|u| url::Url::parse(u).ok())
                    .is_some_and(|u| matches!(u.scheme(), "http" | "https"));
                if !ok {
                    return Err(invalid(
                        "sms_http_url",
                        "must be an http(s) URL when sms_provider is http",
                    ));
                }
            }
            _ => return Err(invalid("sms_provider", "must be outbox or http")),
        }
        if !(8..=128).contains(&self.accounts.password_min_length) {
            return Err(invalid("password_min_length", "must be between 8 and 128"));
        }
        if self.tokens.code_ttl > 600 {
            // RFC 6749 4.1.2: a code's lifetime should be short; ten minutes at most.
            return Err(invalid("code_ttl", "must be at most 600 seconds"));
        }
        if let Some(key) = &self.keys.master_key {
            crate::crypto::MasterKey::parse(key.expose_secret())
                .map_err(|r| invalid("master_key", r))?;
        }
        self.validate_apis()
    }

    /// Checks the settings of the resource-server parts.
    pub(super) fn validate_apis(mut self) -> Result<Settings, ConfigError> {
        let parts: Vec<&str> = self.server.parts.split(',').map(str::trim).collect();
        if parts.iter().any(|p| !PARTS.contains(p)) || parts.iter().all(|p| p.is_empty()) {
            return Err(invalid(
                "parts",
                "must list some of idp, bookings, content (comma-separated)",
            ));
        }
        self.server.parts = parts.join(",");
        match &self.resource.resource_issuer {
            Some(url) => {
                let parsed = url::Url::parse(url)
                    .map_err(|e| invalid("resource_issuer", format!("not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(invalid("resource_issuer", "must be an http(s) URL"));
                }
                self.resource.resource_issuer = Some(url.trim_end_matches('/').to_string());
            }
            None if !self.runs("idp") && (self.runs("bookings") || self.runs("content")) => {
                return Err(invalid(
                    "resource_issuer",
                    "required when the APIs run without the identity provider (--issuer-url)",
                ));
            }
            None => {}
        }
        match self.resource.resource_validation.as_str() {
            "jwks" => {}
            "introspection" => {
                if self.resource.resource_client_id.is_none()
                    || self.resource.resource_client_secret.is_none()
                {
                    return Err(invalid(
                        "resource_client_id",
                        "introspection needs resource_client_id and resource_client_secret",
                    ));
                }
            }
            _ => {
                return Err(invalid(
                    "resource_validation",
                    "must be jwks or introspection",
                ))
            }
        }
        for (name, value, max) in [
            ("resource_leeway", self.resource.resource_leeway, 300),
            (
                "resource_introspection_cache",
                self.resource.resource_introspection_cache,
                300,
            ),
            (
                "booking_cancel_notice",
                self.bookings.booking_cancel_notice,
                30 * 24 * 3600,
            ),
        ] {
            if !(0..=max).contains(&value) {
                return Err(invalid(
                    name,
                    format!("must be between 0 and {max} seconds"),
                ));
            }
        }
        if !(1..=1000).contains(&self.bookings.booking_max_open_requests) {
            return Err(invalid(
                "booking_max_open_requests",
                "must be between 1 and 1000",
            ));
        }
        if ![5, 10, 15, 20, 30, 60].contains(&self.bookings.booking_slot_minutes) {
            return Err(invalid(
                "booking_slot_minutes",
                "must be 5, 10, 15, 20, 30 or 60",
            ));
        }
        if !(1..=3600).contains(&self.resource.resource_jwks_refetch_interval) {
            // 0 would let tokens with made-up kids make the API fetch on every request.
            return Err(invalid(
                "resource_jwks_refetch_interval",
                "must be between 1 and 3600 seconds",
            ));
        }
        if !(1..=24 * 3600).contains(&self.content.media_url_ttl) {
            return Err(invalid(
                "media_url_ttl",
                "must be between 1 and 86400 seconds",
            ));
        }
        if !(1024..=1024 * 1024 * 1024).contains(&self.bookings.booking_document_max_bytes) {
            return Err(invalid(
                "booking_document_max_bytes",
                "must be between 1024 bytes and 1 GiB",
            ));
        }
        if !(1..=3600).contains(&self.bookings.booking_document_url_ttl) {
            return Err(invalid(
                "booking_document_url_ttl",
                "must be between 1 second and 1 hour",
            ));
        }
        if !(0..=30 * 24 * 3600).contains(&self.bookings.booking_reminder_before) {
            return Err(invalid(
                "booking_reminder_before",
                "must be between 0 (no reminders) and 30 days",
            ));
        }
        if !self.bookings.booking_mail_from.is_empty()
            && self
                .bookings
                .booking_mail_from
                .parse::<lettre::message::Mailbox>()
                .is_err()
        {
            return Err(invalid(
                "booking_mail_from",
                "must be an address like Bookings <bookings@example.com>",
            ));
        }
        if let Some(url) = &self.bookings.booking_smtp_url {
            let url = url.expose_secret();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://"))
                || lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url).is_err()
            {
                return Err(invalid(
                    "booking_smtp_url",
                    "must be an smtp:// or smtps:// URL, like smtp://user:pass@host:587?tls=required",
                ));
            }
        }
        if !(1..=24 * 3600).contains(&self.resource.api_write_window) {
            return Err(invalid(
                "api_write_window",
                "must be between 1 second and 1 day",
            ));
        }
        if self.resource.api_write_limit > 1_000_000 {
            return Err(invalid("api_write_limit", "must be at most 1000000"));
        }
        if !(60..=7 * 24 * 3600).contains(&self.content.media_download_ttl) {
            return Err(invalid(
                "media_download_ttl",
                "must be between 60 seconds and 7 days",
            ));
        }
        if !(1024..=16 * 1024 * 1024 * 1024).contains(&self.content.media_upload_max_bytes) {
            return Err(invalid(
                "media_upload_max_bytes",
                "must be between 1024 bytes and 16 GiB",
            ));
        }
        if !(0..=10_000).contains(&self.content.media_downloads_per_day) {
            return Err(invalid(
                "media_downloads_per_day",
                "must be between 0 and 10000",
            ));
        }
        if !(1024..=1024 * 1024 * 1024).contains(&self.content.transcript_max_bytes) {
            return Err(invalid(
                "transcript_max_bytes",
                "must be between 1024 bytes and 1 GiB",
            ));
        }
        if let Some(key) = &self.content.media_key {
            parse_key_bytes(key.expose_secret()).map_err(|r| invalid("media_key", r))?;
        }
        check_attributes(&self.attributes.attributes).map_err(|r| invalid("attributes", r))?;
        if self.bookings.bookings_client_id.is_some()
            != self.bookings.bookings_client_secret.is_some()
        {
            return Err(invalid(
                "bookings_client_id",
                "set bookings_client_id and bookings_client_secret together",
            ));
        }
        Ok(self)
    }
}

/// Claims Porta sets itself: no custom attribute may travel under one of these names.
const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "azp",
    "nonce",
    "auth_time",
    "acr",
    "amr",
    "at_hash",
    "c_hash",
    "sid",
    "scope",
    "client_id",
    "cnf",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
    "roles",
    "permissions",
    "groups",
    "active",
    "token_type",
];

/// Checks the declared custom attributes: plain unique names, claims that clash with
/// nothing Porta sets, values where the type needs them.
fn check_attributes(specs: &[AttributeSpec]) -> Result<(), String> {
    let plain = |s: &str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let mut names = std::collections::BTreeSet::new();
    let mut claims = std::collections::BTreeSet::new();
    for a in specs {
        if !plain(&a.name) {
            return Err(format!("{:?}: a name is 1 to 64 of a-z, 0-9 and _", a.name));
        }
        if !names.insert(a.name.as_str()) {
            return Err(format!("{} is declared twice", a.name));
        }
        let claim = a.claim_name();
        if !plain(claim) || RESERVED_CLAIMS.contains(&claim) {
            return Err(format!(
                "{}: the claim {claim:?} must be 1 to 64 of a-z, 0-9 and _, and not one Porta sets",
                a.name
            ));
        }
        if !claims.insert(claim) {
            return Err(format!("two attributes travel under the claim {claim}"));
        }
        if !(1..=4096).contains(&a.max_length) {
            return Err(format!("{}: max_length is 1 to 4096", a.name));
        }
        if a.kind == AttributeKind::Enum && a.values.is_empty() {
            return Err(format!("{}: an enum needs values", a.name));
        }
        let listed = matches!(
            a.kind,
            AttributeKind::Enum | AttributeKind::String | AttributeKind::List
        );
        if !a.values.is_empty() && !listed {
            return Err(format!(
                "{}: only enum, string and list attributes take values",
                a.name
            ));
        }
        if a.values
            .iter()
            .any(|v| v.is_empty() || v.chars().count() > a.max_length)
        {
            return Err(format!(
                "{}: each value is 1 to max_length characters",
                a.name
            ));
        }
        let scope_ok = !a.scope.is_empty()
            && a.scope
                .chars()
                .all(|c| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c));
        if !scope_ok {
            return Err(format!("{}: invalid scope {:?}", a.name, a.scope));
        }
    }
    Ok(())
}
