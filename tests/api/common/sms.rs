//! A tiny Twilio-style SMS API for tests: records each POSTed form and answers 201 (or
//! the status it was told to fail with).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One received message: the Authorization header and the form fields.
#[derive(Debug, Clone)]
pub struct Sent {
    pub authorization: String,
    pub form: Vec<(String, String)>,
}

impl Sent {
    pub fn field(&self, name: &str) -> String {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct SmsSink {
    pub url: String,
    pub sent: Arc<Mutex<Vec<Sent>>>,
}

impl SmsSink {
    pub async fn start(status: u16) -> SmsSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/2010-04-01/Accounts/AC1/Messages.json",
            listener.local_addr().unwrap().port()
        );
        let sent = Arc::new(Mutex::new(Vec::new()));
        let store = sent.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let (head_end, length) = loop {
                        let Ok(n) = stream.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                            let length = head
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            break (pos + 4, length);
                        }
                    };
                    while buf.len() < head_end + length {
                        let Ok(n) = stream.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let authorization = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("authorization: ")
                                .or_else(|| l.strip_prefix("Authorization: "))
                        })
                        .unwrap_or("")
                        .to_string();
                    let form: Vec<(String, String)> = url::form_urlencoded::parse(&buf[head_end..])
                        .into_owned()
                        .collect();
                    store.lock().unwrap().push(Sent {
                        authorization,
                        form,
                    });
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        SmsSink { url, sent }
    }

    /// Waits (bounded) for the `n`th message and returns it.
    pub async fn message(&self, n: usize) -> Sent {
        super::eventually(
            std::time::Duration::from_secs(5),
            &format!("SMS {n} at the SMS sink"),
            async || self.sent.lock().unwrap().get(n).cloned(),
        )
        .await
    }
}
