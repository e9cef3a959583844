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
#[derive(Debug, Clone)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// (file name, media type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// Without angle brackets; the same on every retry, so a mail system that sees a
    /// message twice can tell.
    pub message_id: String,
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
            .subject(letter.subject.clone())
            .message_id(Some(format!("<{}>", letter.message_id)))
            .multipart(body)
            .map_err(|e| e.to_string())?;
        message.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
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
                let name = format!("{}.eml", letter.message_id.replace(['/', '@'], "_"));
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    std::fs::write(dir.join(name), bytes)
                })
                .await
                .map_err(|e| SendError::Transient(e.to_string()))?
                .map_err(|e| SendError::Transient(format!("development mail folder: {e}")))?;
                tracing::warn!(target: "porta::outbox", %to, subject = %letter.subject, body = %letter.text, "development mail folder (no SMTP host set)");
                Ok(())
            }
        }
    }
}
