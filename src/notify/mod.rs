//! Delivery of messages to people: email over SMTP (lettre) with text and HTML bodies from
//! templates, and SMS through an HTTP provider, always through the durable outbox
//! (`outbox`): requests queue, a background worker delivers. Without an SMTP host (the embedded
//! default) both go to a development outbox: files under `data_dir/outbox` and the log,
//! so a newcomer can sign in with a code without any mail server.

use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;

use askama::Template;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use crate::config::Settings;
use crate::resource::mail::{Letter, Mailer};

pub mod outbox;
pub use outbox::Outbox;

/// Why a message could not be delivered. The person sees "we could not send the code".
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("message: {0}")]
    Build(String),
    #[error("delivery failed: {0}")]
    Delivery(String),
    #[error("could not queue the message: {0}")]
    Queue(crate::db::DbError),
}

/// Where SMS goes.
enum SmsRoute {
    /// A Twilio-style API: POST form `To`, `From`, `Body` with Basic authentication.
    Http {
        url: String,
        username: Option<String>,
        password: Option<SecretString>,
        from: String,
        client: reqwest::Client,
    },
    Outbox,
}

/// Sends email and SMS the way the settings say.
pub struct Notifier {
    /// SMTP, or the development outbox folder (shared with the bundled modules' mail).
    mail: Mailer,
    sms: SmsRoute,
    /// The development outbox (SMS).
    outbox: PathBuf,
}

/// An email: subject, text body, HTML body.
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Notifier {
    /// Builds the notifier; a bad setting stops the start.
    pub fn from_settings(s: &Settings) -> Result<Notifier, String> {
        let from: Mailbox = s
            .mail
            .mail_from
            .parse()
            .map_err(|e| format!("invalid setting mail_from (PORTA_MAIL_FROM): {e}"))?;
        let outbox = s.server.data_dir.join("outbox");
        let mail = Mailer::new(smtp_transport(&s.mail)?, from, outbox.clone());
        let sms = match (s.sms.sms_provider.as_str(), &s.sms.sms_http_url) {
            ("http", Some(url)) => SmsRoute::Http {
                url: url.clone(),
                username: s.sms.sms_http_username.clone(),
                password: s.sms.sms_http_password.clone(),
                from: s.sms.sms_from.clone(),
                client: reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(15))
                    .build()
                    .map_err(|e| format!("SMS client: {e}"))?,
            },
            _ => SmsRoute::Outbox,
        };
        Ok(Notifier { mail, sms, outbox })
    }

    /// One line for the start-up log: where messages with codes go.
    pub fn describe(&self) -> String {
        let mail = match self.mail.smtp() {
            true => "email goes out over SMTP".to_string(),
            false => format!(
                "no SMTP host set: email with codes goes to the development outbox {} and the log",
                self.mail.dev_dir().display()
            ),
        };
        let sms = match &self.sms {
            SmsRoute::Http { .. } => "SMS goes to the HTTP provider".to_string(),
            SmsRoute::Outbox => "SMS goes to the development outbox and the log".to_string(),
        };
        format!("{mail}; {sms}")
    }

    /// Sends a text message; a provider that does not answer 2xx is a delivery failure.
    pub async fn send_sms(&self, to: &str, body: &str) -> Result<(), NotifyError> {
        match &self.sms {
            SmsRoute::Http {
                url,
                username,
                password,
                from,
                client,
            } => {
                let mut request =
                    client
                        .post(url)
                        .form(&[("To", to), ("From", from.as_str()), ("Body", body)]);
                if let Some(user) = username {
                    request =
                        request.basic_auth(user, password.as_ref().map(|p| p.expose_secret()));
                }
                let resp = request
                    .send()
                    .await
                    .map_err(|e| NotifyError::Delivery(e.to_string()))?;
                if !resp.status().is_success() {
                    return Err(NotifyError::Delivery(format!(
                        "SMS provider answered {}",
                        resp.status()
                    )));
                }
                Ok(())
            }
            SmsRoute::Outbox => {
                let dir = self.outbox.clone();
                let name = format!(
                    "{}-{}.sms.txt",
                    crate::time::now(),
                    crate::crypto::random_token(6)
                );
                let text = format!("To: {to}\n\n{body}\n");
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    std::fs::write(dir.join(name), text)
                })
                .await
                .map_err(|e| NotifyError::Delivery(e.to_string()))?
                .map_err(|e| NotifyError::Delivery(format!("outbox: {e}")))?;
                tracing::warn!(target: "porta::outbox", %to, %body, "development SMS outbox (sms_provider = outbox)");
                Ok(())
            }
        }
    }

    /// Sends `email` to `to`.
    pub async fn send_email(&self, to: &str, email: Email) -> Result<(), NotifyError> {
        let letter = Letter {
            subject: email.subject,
            text: email.text,
            html: email.html,
            ..Letter::default()
        };
        self.mail
            .send(to, &letter)
            .await
            .map_err(|e| NotifyError::Delivery(e.to_string()))
    }
}

/// The SMTP transport the `smtp_*` settings describe; `None` without an SMTP host (the
/// development outbox). Shared with the bundled modules that send mail of their own.
pub fn smtp_transport(
    mail: &crate::config::MailSettings,
) -> Result<Option<AsyncSmtpTransport<Tokio1Executor>>, String> {
    let Some(host) = mail.smtp_host.as_deref().filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    let tls = match mail.smtp_tls.as_str() {
        "none" => Tls::None,
        mode => {
            let params = TlsParameters::new(host.to_string())
                .map_err(|e| format!("invalid setting smtp_host (PORTA_SMTP_HOST): {e}"))?;
            match mode {
                "starttls" => Tls::Required(params),
                "tls" => Tls::Wrapper(params),
                _ => {
                    return Err(
                        "invalid setting smtp_tls (PORTA_SMTP_TLS): use starttls, tls or none"
                            .into(),
                    )
                }
            }
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(mail.smtp_port)
        .tls(tls)
        .timeout(Some(std::time::Duration::from_secs(15)));
    if let (Some(user), Some(pass)) = (&mail.smtp_username, &mail.smtp_password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            pass.expose_secret().to_string(),
        ));
    }
    Ok(Some(builder.build()))
}

#[derive(Template)]
#[template(path = "emails/code/subject.txt")]
struct CodeSubject<'a> {
    code: &'a str,
    action: &'a str,
}

#[derive(Template)]
#[template(path = "emails/code/body.txt")]
struct CodeText<'a> {
    code: &'a str,
    action: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "emails/code/body.html")]
struct CodeHtml<'a> {
    code: &'a str,
    action: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "emails/account_exists/subject.txt")]
struct ExistsSubject;

#[derive(Template)]
#[template(path = "emails/account_exists/body.txt")]
struct ExistsText;

#[derive(Template)]
#[template(path = "emails/account_exists/body.html")]
struct ExistsHtml;

fn build(e: askama::Error) -> NotifyError {
    NotifyError::Build(e.to_string())
}

/// An email with a one-time code; `action` finishes "Use it to …".
pub fn code_email(code: &str, action: &str, minutes: i64) -> Result<Email, NotifyError> {
    Ok(Email {
        subject: CodeSubject { code, action }
            .render()
            .map_err(build)?
            .trim()
            .to_string(),
        text: CodeText {
            code,
            action,
            minutes,
        }
        .render()
        .map_err(build)?,
        html: CodeHtml {
            code,
            action,
            minutes,
        }
        .render()
        .map_err(build)?,
    })
}

/// The text of an SMS with a code.
pub fn code_sms(code: &str, action: &str, minutes: i64) -> String {
    // The code stays out of the message: as an argument, a leading 0 would be lost.
    format!(
        "{code} {}",
        crate::i18n::t2("sms-code", "action", action, "minutes", minutes)
    )
}

/// "Someone tried to register with your address": what the owner of a taken address
/// gets, so registration answers the same whether the address is new or taken.
pub fn account_exists_email() -> Result<Email, NotifyError> {
    Ok(Email {
        subject: ExistsSubject.render().map_err(build)?.trim().to_string(),
        text: ExistsText.render().map_err(build)?,
        html: ExistsHtml.render().map_err(build)?,
    })
}

#[derive(Template)]
#[template(path = "emails/method_changed/subject.txt")]
struct ChangedSubject<'a> {
    change: &'a str,
}

#[derive(Template)]
#[template(path = "emails/method_changed/body.txt")]
struct ChangedText<'a> {
    change: &'a str,
}

#[derive(Template)]
#[template(path = "emails/method_changed/body.html")]
struct ChangedHtml<'a> {
    change: &'a str,
}

/// "A way to sign in to your account changed": sent to the account's address (the old
/// one, when it is the address that changed) after every such change.
pub fn method_changed_email(change: &str) -> Result<Email, NotifyError> {
    Ok(Email {
        subject: ChangedSubject { change }
            .render()
            .map_err(build)?
            .trim()
            .to_string(),
        text: ChangedText { change }.render().map_err(build)?,
        html: ChangedHtml { change }.render().map_err(build)?,
    })
}

#[derive(Template)]
#[template(path = "emails/invitation/subject.txt")]
struct InvitationSubject;

#[derive(Template)]
#[template(path = "emails/invitation/body.txt")]
struct InvitationText<'a> {
    link: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "emails/invitation/body.html")]
struct InvitationHtml<'a> {
    link: &'a str,
    days: i64,
}

/// The invitation: a one-time link to choose a password, good for `days`.
pub fn invitation_email(link: &str, days: i64) -> Result<Email, NotifyError> {
    Ok(Email {
        subject: InvitationSubject
            .render()
            .map_err(build)?
            .trim()
            .to_string(),
        text: InvitationText { link, days }.render().map_err(build)?,
        html: InvitationHtml { link, days }.render().map_err(build)?,
    })
}
