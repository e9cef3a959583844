//! Typed settings: `config/default.toml` values, an optional TOML file, then `PORTA_*`
//! environment overrides, validated once at start.

mod areas;

pub use areas::*;
mod validate;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Every setting Porta reads, grouped by area. The TOML keys and `PORTA_<KEY>` variables are
/// the field names, flat (each area is `#[serde(flatten)]`): `otp_ttl`, not `otp.otp_ttl`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Settings {
    /// Where Porta listens and what it runs.
    #[serde(flatten)]
    pub server: ServerSettings,
    /// The database.
    #[serde(flatten)]
    pub database: DatabaseSettings,
    /// Token, code and authorization-request lifetimes.
    #[serde(flatten)]
    pub tokens: TokenSettings,
    /// The master key and the signing-key schedule.
    #[serde(flatten)]
    pub keys: KeySettings,
    /// Accounts, browser sessions and the audit log.
    #[serde(flatten)]
    pub accounts: AccountSettings,
    /// One-time codes by email and SMS.
    #[serde(flatten)]
    pub otp: OtpSettings,
    /// Failed-attempt counters and temporary locks.
    #[serde(flatten)]
    pub throttle: ThrottleSettings,
    /// Email delivery.
    #[serde(flatten)]
    pub mail: MailSettings,
    /// SMS delivery.
    #[serde(flatten)]
    pub sms: SmsSettings,
    /// How the bundled APIs check tokens.
    #[serde(flatten)]
    pub resource: ResourceSettings,
    /// The bookings API.
    #[serde(flatten)]
    pub bookings: BookingSettings,
    /// The content API.
    #[serde(flatten)]
    pub content: ContentSettings,
    /// Custom attributes of accounts.
    #[serde(flatten)]
    pub attributes: AttributeSettings,
}

/// The settings that hold secrets: wrapped in `SecretString` (never printed by `Debug`) and
/// never serialized.
pub const SECRET_KEYS: &[&str] = &[
    "master_key",
    "smtp_password",
    "sms_http_password",
    "resource_client_secret",
    "bookings_client_secret",
    "booking_smtp_url",
    "media_key",
    "metrics_token",
];

/// The parts `porta serve` can run.
pub const PARTS: &[&str] = &["idp", "bookings", "content"];

/// Decodes a secret key given as base64 (standard or URL-safe) or hex; at least 32 bytes.
pub fn parse_key_bytes(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let text = text.trim();
    let bytes = hex::decode(text)
        .ok()
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
        .or_else(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .ok()
        })
        .ok_or("must be base64 or hex")?;
    if bytes.len() < 32 {
        return Err("must be at least 32 bytes".into());
    }
    Ok(bytes)
}

/// A setting that cannot be used, named so the operator knows what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("invalid setting {setting} (PORTA_{env}): {reason}")]
    Invalid {
        setting: &'static str,
        env: String,
        reason: String,
    },
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        env: setting.to_uppercase(),
        reason: reason.into(),
    }
}

impl Settings {
    /// Loads defaults, then `file` (if any), then `PORTA_*` variables, and validates.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Load(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        let figment = figment.merge(Env::prefixed("PORTA_").ignore(&["test_postgres_url"]));
        // The areas are flattened, and serde cannot deny unknown fields through `flatten`:
        // compare the keys given with the keys Porta knows instead.
        let given: std::collections::BTreeMap<String, figment::value::Value> = figment
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        let known = Settings::known_keys();
        if let Some(unknown) = given.keys().find(|k| !known.contains(k.as_str())) {
            let source = figment
                .find_metadata(unknown)
                .map(|m| format!(" in {}", m.name))
                .unwrap_or_default();
            return Err(ConfigError::Load(format!(
                "unknown setting `{unknown}`{source} (see docs/configuration.md for the settings Porta reads)"
            )));
        }
        // Area by area, so that a bad value is reported with its key (through `flatten`,
        // serde's error would not name it).
        fn area<T: serde::de::DeserializeOwned>(figment: &Figment) -> Result<T, ConfigError> {
            figment
                .extract()
                .map_err(|e| ConfigError::Load(e.to_string()))
        }
        let settings = Settings {
            server: area(&figment)?,
            database: area(&figment)?,
            tokens: area(&figment)?,
            keys: area(&figment)?,
            accounts: area(&figment)?,
            otp: area(&figment)?,
            throttle: area(&figment)?,
            mail: area(&figment)?,
            sms: area(&figment)?,
            resource: area(&figment)?,
            bookings: area(&figment)?,
            content: area(&figment)?,
            attributes: area(&figment)?,
        };
        settings.validate()
    }

    /// Every TOML key (and, upper-cased behind `PORTA_`, environment variable) Porta reads.
    pub fn known_keys() -> std::collections::BTreeSet<String> {
        let mut keys: std::collections::BTreeSet<String> =
            match serde_json::to_value(Settings::default()) {
                Ok(serde_json::Value::Object(map)) => map.into_iter().map(|(k, _)| k).collect(),
                _ => Default::default(),
            };
        // Secrets are never serialized, so name them here.
        keys.extend(SECRET_KEYS.iter().map(|k| k.to_string()));
        keys
    }

    /// Applies `porta serve --only … --issuer-url …` and checks the result.
    pub fn for_serve(
        mut self,
        only: &[String],
        issuer_url: Option<String>,
    ) -> Result<Settings, ConfigError> {
        if !only.is_empty() {
            self.server.parts = only.join(",");
        }
        if issuer_url.is_some() {
            self.resource.resource_issuer = issuer_url;
        }
        self.validate_apis()
    }

    /// True when `porta serve` runs `part` (`idp`, `bookings` or `content`).
    pub fn runs(&self, part: &str) -> bool {
        self.server.parts.split(',').any(|p| p.trim() == part)
    }

    /// The issuer whose tokens the APIs accept.
    pub fn resource_issuer(&self) -> String {
        self.resource
            .resource_issuer
            .clone()
            .unwrap_or_else(|| self.server.issuer.clone())
    }

    /// The audience the APIs require: what this Porta writes into tokens when it is the
    /// issuer, else the remote issuer's default (its issuer URL).
    pub fn resource_audience(&self) -> String {
        if let Some(aud) = &self.resource.resource_audience {
            return aud.clone();
        }
        match &self.resource.resource_issuer {
            Some(remote) if *remote != self.server.issuer => remote.clone(),
            _ => self.audience().to_string(),
        }
    }

    /// True when the issuer is https, which switches on Secure and `__Host-` cookies.
    pub fn secure_cookies(&self) -> bool {
        self.server.issuer.starts_with("https://")
    }

    /// True when the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database.database_url.starts_with("postgres://")
            || self.database.database_url.starts_with("postgresql://")
    }

    /// How long a retired key stays published: until every token it signed has expired.
    /// Nodes may go on signing with it for up to one `key_check_interval` after it retires
    /// (until they reload), hence the margin.
    pub fn key_retention(&self) -> i64 {
        self.tokens.access_token_ttl.max(self.tokens.id_token_ttl)
            + 2 * self.keys.key_check_interval
    }

    /// The audience written into access tokens.
    pub fn audience(&self) -> &str {
        self.tokens
            .access_token_audience
            .as_deref()
            .unwrap_or(&self.server.issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_toml(text: &str) -> Result<Settings, ConfigError> {
        let dir = std::env::temp_dir().join(format!("porta-config-{}", crate::crypto::random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("porta.toml");
        std::fs::write(&file, text).unwrap();
        let result = Settings::load(Some(&file));
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    #[test]
    fn the_example_declares_the_booking_apps_attributes_and_bad_declarations_are_refused() {
        let s = load_toml(include_str!("../../config/production.example.toml")).unwrap();
        let names: Vec<&str> = s
            .attributes
            .attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["user_type", "profile_status", "city", "specializations"]
        );
        let status = &s.attributes.attributes[1];
        assert_eq!(status.kind, AttributeKind::Enum);
        assert_eq!(status.editable_by, AttributeEditor::Admin);
        for (bad, says) in [
            ("[[attributes]]\nname = \"Bad Name\"\ntype = \"string\"\n", "a name is"),
            ("[[attributes]]\nname = \"a\"\ntype = \"enum\"\n", "an enum needs values"),
            ("[[attributes]]\nname = \"a\"\ntype = \"string\"\nclaim = \"email\"\n", "not one Porta sets"),
            ("[[attributes]]\nname = \"a\"\ntype = \"string\"\n[[attributes]]\nname = \"a\"\ntype = \"date\"\n", "declared twice"),
            ("[[attributes]]\nname = \"a\"\ntype = \"colour\"\n", "unknown variant"),
            ("[[attributes]]\nname = \"a\"\ntype = \"number\"\nvalues = [\"1\"]\n", "only enum, string and list"),
            ("[[attributes]]\nname = \"a\"\ntype = \"string\"\nshoe = 1\n", "unknown field"),
        ] {
            let err = load_toml(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn administration_settings_are_checked() {
        for (bad, says) in [
            ("client_secret_grace = 2592001\n", "client_secret_grace"),
            ("client_secret_grace = -1\n", "client_secret_grace"),
            ("account_deletion_grace = -5\n", "account_deletion_grace"),
            ("admin_fresh_sign_in = 0\n", "admin_fresh_sign_in"),
            ("invitation_ttl = 0\n", "invitation_ttl"),
            (
                "bookings_client_id = \"bookings\"\n",
                "set bookings_client_id and bookings_client_secret together",
            ),
        ] {
            let err = load_toml(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let s = load_toml("client_secret_grace = 0\naccount_deletion_grace = 0\n").unwrap();
        assert_eq!(
            (
                s.tokens.client_secret_grace,
                s.accounts.account_deletion_grace
            ),
            (0, 0)
        );
    }

    #[test]
    fn appointment_mail_and_hashing_memory_settings_are_checked() {
        for (bad, says) in [
            ("booking_reminder_before = -1\n", "booking_reminder_before"),
            (
                "booking_reminder_before = 2592001\n",
                "booking_reminder_before",
            ),
            (
                "booking_mail_from = \"not an address\"\n",
                "booking_mail_from",
            ),
            (
                "booking_smtp_url = \"http://user:hunter2@mail\"\n",
                "booking_smtp_url",
            ),
            ("hash_memory_keep = 0\n", "hash_memory_keep"),
            ("hash_engine = \"fastest\"\n", "hash_engine"),
        ] {
            let err = load_toml(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(
                !err.contains("hunter2"),
                "the URL's password is not repeated: {err}"
            );
        }
        let s = load_toml(
            "booking_reminder_before = 0\nbooking_mail_from = \"Bookings <b@example.com>\"\n\
             booking_smtp_url = \"smtp://u:p@127.0.0.1:2525\"\nhash_memory_keep = 5\n\
             hash_engine = \"rustcrypto\"\n",
        )
        .unwrap();
        assert_eq!(
            (
                s.bookings.booking_reminder_before,
                s.accounts.hash_memory_keep,
                s.accounts.hash_engine
            ),
            (0, 5, crate::crypto::HashEngine::Rustcrypto)
        );
        assert_eq!(
            load_toml("").unwrap().accounts.hash_engine,
            crate::crypto::HashEngine::Auto
        );
    }

    #[test]
    fn flat_keys_fill_the_areas() {
        let s = load_toml("otp_ttl = 120\nbooking_slot_minutes = 30\nsmtp_port = 2525\n").unwrap();
        assert_eq!(s.otp.otp_ttl, 120);
        assert_eq!(s.bookings.booking_slot_minutes, 30);
        assert_eq!(s.mail.smtp_port, 2525);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = load_toml("code_ttl = \"soon\"\n").unwrap_err();
        assert!(err.to_string().contains("code_ttl"), "{err}");
    }

    #[test]
    fn an_https_issuer_needs_smtp_unless_the_outbox_is_allowed() {
        let err = load_toml("issuer = \"https://id.example.com\"\n").unwrap_err();
        assert!(err.to_string().contains("PORTA_SMTP_HOST"), "{err}");
        load_toml("issuer = \"https://id.example.com\"\nallow_development_outbox = true\n")
            .unwrap();
        load_toml("issuer = \"https://id.example.com\"\nsmtp_host = \"mail.example.com\"\n")
            .unwrap();
        load_toml("issuer = \"http://127.0.0.1:8080\"\n").unwrap();
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = load_toml("otp_tll = 120\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown setting `otp_tll` in TOML file"),
            "{err}"
        );
    }

    #[test]
    fn every_setting_is_a_known_key_and_secrets_are_among_them() {
        let known = Settings::known_keys();
        for key in [
            "issuer",
            "otp_ttl",
            "media_dir",
            "lock_max",
            "unmap_start_up_code",
        ]
        .iter()
        .chain(SECRET_KEYS)
        {
            assert!(known.contains(*key), "{key}");
        }
        assert_eq!(known.len(), 107);
    }

    #[test]
    fn debug_never_prints_a_secret() {
        let mut s = Settings::default();
        s.keys.master_key = Some("master-secret-value".into());
        s.mail.smtp_password = Some("smtp-secret-value".into());
        s.sms.sms_http_password = Some("sms-secret-value".into());
        s.resource.resource_client_secret = Some("client-secret-value".into());
        s.content.media_key = Some("media-secret-value".into());
        let printed = format!("{s:?}");
        assert!(!printed.contains("secret-value"), "{printed}");
    }
}
