//! A TCP proxy a test can cut: between Porta and PostgreSQL it plays a database that goes
//! away (every open connection dropped, new ones refused) and comes back, without touching
//! the PostgreSQL server that other tests share.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct CutProxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    /// Bumped on every cut: live connections watch it and close.
    cuts: watch::Sender<u64>,
}

impl CutProxy {
    /// Forwards 127.0.0.1:`port` → `target` (host:port).
    pub async fn start(target: String) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let (flag, cut_rx) = (up.clone(), cuts.subscribe());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound); // refused while down
                    continue;
                }
                let target = target.clone();
                let mut cut = cut_rx.clone();
                // Only cuts from now on end this connection.
                cut.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        CutProxy { port, up, cuts }
    }

    /// The database goes away: open connections drop, new ones are refused.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// The database is back.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
