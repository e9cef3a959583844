//! A bundled module's way to send email: SMTP through lettre with a transport the
//! composition root hands over (the module's own `booking_smtp_url`, or Porta's shared
//! SMTP settings), or, with no SMTP host at all, `.eml` files in a development folder and
//! the log, as Porta's own outbox does. Durability and retries are the caller's (each
//! module keeps its own outbox table); this only sends one message.

use std::path::PathBuf;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// One email: subject, plain and HTML bodies, attachments, and a stable Message-ID.
#[derive(Debug, Clone, Default)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// (file name, media type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// Without angle brackets; the same on every retry, so a mail system that sees a
    /// message twice can tell. `None`: lettre makes one up.
    pub message_id: Option<String>,
    /// Marked `Auto-Submitted: auto-generated` (RFC 3834), so auto-responders keep quiet.
    pub auto_submitted: bool,
}

/// The pause before the next try after `attempts` failed deliveries: `first` seconds,
/// doubling after each further failure, at most an hour. (Porta's outbox and the modules'
/// retry alike.)
pub fn retry_pause(first: i64, attempts: i64) -> i64 {
    let doublings = (attempts - 1).clamp(0, 20);
    first.saturating_mul(1i64 << doublings).min(3600)
}

/// Why a letter was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Trying again will not help: an invalid address, a permanent SMTP refusal (5xx).
    Permanent(String),
    /// Worth another try: the server could not be reached, a temporary refusal (4xx).
    Transient(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Permanent(e) | SendError::Transient(e) => f.write_str(e),
        }
    }
}

/// Where letters go.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    dev_dir: PathBuf,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.transport.is_some())
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Whether letters go out over SMTP (else to the development folder).
    pub fn smtp(&self) -> bool {
        self.transport.is_some()
    }

    /// The development folder.
    pub fn dev_dir(&self) -> &std::path::Path {
        &self.dev_dir
    }

    /// `transport: None` writes each letter to `dev_dir` (and the log) instead.
    pub fn new(
        transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
        dev_dir: PathBuf,
    ) -> Mailer {
        Mailer {
            transport,
            from,
            dev_dir,
        }
    }

    /// The letter as a MIME message to `to`.
    pub fn message(&self, to: &str, letter: &Letter) -> Result<Message, String> {
        let to: Mailbox = to.parse().map_err(|_| format!("invalid address {to:?}"))?;
        let bodies = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(letter.text.clone()),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(letter.html.clone()),
            );
        let body = if letter.attachments.is_empty() {
            bodies
        } else {
            let mut mixed = MultiPart::mixed().multipart(bodies);
            for (name, media_type, bytes) in &letter.attachments {
                let kind = ContentType::parse(media_type).map_err(|e| e.to_string())?;
                mixed = mixed.singlepart(Attachment::new(name.clone()).body(bytes.clone(), kind));
            }
            mixed
        };
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject.clone());
        if let Some(id) = &letter.message_id {
            message = message.message_id(Some(format!("<{id}>")));
        }
        let mut message = message.multipart(body).map_err(|e| e.to_string())?;
        if letter.auto_submitted {
            message.headers_mut().insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ));
        }
        Ok(message)
    }

    /// Sends `letter` to `to`.
    pub async fn send(&self, to: &str, letter: &Letter) -> Result<(), SendError> {
        let message = self.message(to, letter).map_err(SendError::Permanent)?;
        match &self.transport {
            Some(transport) => transport.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                }
            }),
            None => {
                let dir = self.dev_dir.clone();
                let name = match &letter.message_id {
                    Some(id) => format!("{}.eml", id.replace(['/', '@'], "_")),
                    None => format!(
                        "{}-{}.eml",
                        chrono::Utc::now().timestamp(),
                        &uuid::Uuid::new_v4().simple().to_string()[..8]
                    ),
                };
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    std::fs::write(dir.join(name), bytes)
                })
                .await
                .map_err(|e| SendError::Transient(e.to_string()))?
                .map_err(|e| SendError::Transient(format!("development mail folder: {e}")))?;
                tracing::warn!(target: "porta::outbox", %to, subject = %letter.subject, body = %letter.text, "development outbox (no SMTP host set)");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        let pauses: Vec<i64> = (1..=6).map(|n| retry_pause(10, n)).collect();
        assert_eq!(pauses, vec![10, 20, 40, 80, 160, 320]);
        assert_eq!(retry_pause(10, 40), 3600);
        assert_eq!(retry_pause(10, 0), 10);
    }

    #[test]
    fn only_automatic_letters_say_so_and_a_message_id_is_kept() {
        let mailer = Mailer::new(None, "Porta <p@example.com>".parse().unwrap(), "x".into());
        let plain = Letter {
            subject: "Code".into(),
            text: "123456".into(),
            ..Letter::default()
        };
        let raw = String::from_utf8(mailer.message("a@example.com", &plain).unwrap().formatted())
            .unwrap();
        assert!(!raw.contains("Auto-Submitted"));
        let auto = Letter {
            message_id: Some("n1@id.example.com".into()),
            auto_submitted: true,
            ..plain
        };
        let raw =
            String::from_utf8(mailer.message("a@example.com", &auto).unwrap().formatted()).unwrap();
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        assert!(raw.contains("Message-ID: <n1@id.example.com>"), "{raw}");
        assert!(mailer.message("not an address", &auto).is_err());
    }
}
