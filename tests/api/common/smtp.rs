//! A tiny SMTP server for tests: accepts every message over plain TCP on 127.0.0.1 and
//! keeps it, so a test reads the code out of a really delivered email.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The sink: its port and what it received (raw DATA of each message).
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    /// A sink on `port` (0 = any free port): a test that first points Porta at a port
    /// with nothing behind it can bring the mail server "back" there.
    pub async fn start_on(port: u16) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(body) = data.as_mut() {
                            if line == "." {
                                store.lock().unwrap().push(std::mem::take(body));
                                data = None;
                                let _ = write.write_all(b"250 OK queued\r\n").await;
                            } else {
                                body.push_str(line.strip_prefix('.').unwrap_or(&line));
                                body.push('\n');
                            }
                            continue;
                        }
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("DATA") {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 OK\r\n"
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        SmtpSink { port, messages }
    }

    /// Waits (bounded) for the `n`th message and returns it.
    pub async fn message(&self, n: usize) -> String {
        super::eventually(
            std::time::Duration::from_secs(5),
            &format!("message {n} at the SMTP sink"),
            async || self.messages.lock().unwrap().get(n).cloned(),
        )
        .await
    }

    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }
}

/// Points `s` at an SMTP server on 127.0.0.1:`port` without TLS (a sink, or nothing).
pub fn send_mail_to(s: &mut porta::config::Settings, port: u16) {
    s.mail.smtp_host = Some("127.0.0.1".into());
    s.mail.smtp_port = port;
    s.mail.smtp_tls = "none".into();
}

/// The 6-digit code in a code email.
pub fn code_in(message: &str) -> String {
    let marker = "Your code is: ";
    let start = message.find(marker).expect("a sign-in code email") + marker.len();
    message[start..start + 6].to_string()
}
