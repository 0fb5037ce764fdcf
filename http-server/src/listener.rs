//! The accept loop: connections up to the cap (at it, the oldest idle one
//! makes room for each newcomer), accept errors (EMFILE and the like)
//! survived with a backoff, and the drain on shutdown. Every connection
//! runs on this one task: no thread per connection.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::net::TcpListener;

use crate::connection::Server;
use crate::handler::Handler;

/// How the server stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Drain {
    /// Every connection finished within the drain deadline.
    Complete,
    /// The deadline passed with this many connections still open.
    TimedOut { connections: usize },
}

const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const LONGEST_BACKOFF: Duration = Duration::from_secs(1);

/// Accepts and serves connections until `shutdown` completes, then stops
/// accepting and gives open connections `drain_timeout` to finish.
pub async fn run<H: Handler>(
    listener: TcpListener,
    server: &Server<'_, H>,
    max_connections: usize,
    drain_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> Drain {
    let mut connections = FuturesUnordered::new();
    let mut shutdown = pin!(shutdown);
    let mut backoff = FIRST_BACKOFF;
    let mut paused = pin!(tokio::time::sleep(Duration::ZERO));
    let mut accept_paused = false;
    let mut cap_logged = false;
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            // First, so connections closed to make room leave before the
            // next accept (they are counted until then).
            Some(()) = connections.next(), if !connections.is_empty() => {}
            () = &mut paused, if accept_paused => accept_paused = false,
            accepted = listener.accept(), if !accept_paused => match accepted {
                Ok((stream, _peer)) => {
                    backoff = FIRST_BACKOFF;
                    if connections.len() >= max_connections {
                        if !cap_logged {
                            tracing::warn!(
                                max_connections,
                                "connection cap reached; closing the oldest idle connection for each new one"
                            );
                            cap_logged = true;
                        }
                        // Idle sockets must not keep newcomers out; if
                        // every connection has a request in progress, the
                        // newcomer is the one that goes.
                        if !server.close_oldest_idle() {
                            tracing::debug!(max_connections, "every connection is busy; closing a new one");
                            continue;
                        }
                    } else {
                        cap_logged = false;
                    }
                    let _ = stream.set_nodelay(true);
                    connections.push(server.serve_connection(stream));
                }
                Err(error) => {
                    // Out of descriptors or memory, or a connection reset
                    // before it was taken: wait, keep serving the open ones.
                    tracing::warn!(%error, backoff_ms = backoff.as_millis() as u64, "accept failed; backing off");
                    paused.as_mut().reset(tokio::time::Instant::now() + backoff);
                    accept_paused = true;
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                }
            },
        }
    }
    drop(listener);
    tracing::info!(
        open = connections.len(),
        "shutting down: draining connections"
    );
    server.begin_shutdown();
    let drained = tokio::time::timeout(drain_timeout, async {
        while connections.next().await.is_some() {}
    })
    .await;
    match drained {
        Ok(()) => Drain::Complete,
        Err(_) => Drain::TimedOut {
            connections: connections.len(),
        },
    }
}

/// Completes on the first SIGTERM or SIGINT (or never, if they cannot be
/// watched, which is logged).
pub async fn termination_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot watch SIGTERM/SIGINT; the server will not drain on them");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM"),
        _ = interrupt.recv() => tracing::info!("SIGINT"),
    }
}
