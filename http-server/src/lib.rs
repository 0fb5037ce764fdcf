//! An HTTP/1.1 server (hyper) for an internet-facing endpoint, with every
//! resource a client can claim bounded: head size and header count, body
//! size (whatever Content-Length says), the time to send a head, a body,
//! or to read an answer, open connections (at the cap the oldest idle one
//! makes room, so idle sockets cannot lock newcomers out), requests in
//! flight (taken once a body is whole) and the bytes of bodies held (charged
//! as they arrive, so a body that never comes costs nothing). The
//! connections' I/O runs on one async thread; the (blocking) handler runs on
//! a fixed pool of worker threads, so a slow request holds a worker and
//! never the event loop, and quick requests (health checks) answer while
//! every worker is busy. SIGTERM/SIGINT stop accepting and let in-flight
//! requests finish within a deadline.

mod body;
mod config;
mod connection;
mod handler;
mod listener;
mod pool;
mod registry;
mod write_deadline;

use std::future::Future;
use std::io;

pub use config::{Config, ConfigError, MIN_HEADER_BYTES};
pub use connection::Server;
pub use handler::{Handler, Refusal, Request, Response};
pub use listener::{termination_signal, Drain};
pub use pool::WorkerPool;

/// Serves `listener` with `handler` until `shutdown` completes, then drains.
/// The handler's `drain_timed_out` hears about requests still running at
/// the drain deadline; this returns once they finished.
pub fn serve<H: Handler>(
    listener: std::net::TcpListener,
    config: &Config,
    handler: &H,
    shutdown: impl Future<Output = ()>,
) -> io::Result<Drain> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    listener.set_nonblocking(true)?;
    let runtime = runtime()?;
    with_server(config, handler, |server, pool| {
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let drain = runtime.block_on(listener::run(
            listener,
            server,
            config.max_connections,
            config.drain_timeout,
            shutdown,
        ));
        if let Drain::TimedOut { connections } = drain {
            tracing::warn!(
                connections,
                running = pool.running(),
                "drain deadline passed"
            );
            handler.drain_timed_out(pool.running());
        }
        Ok(drain)
    })
}

/// Runs `work` with a server for `handler` and its worker pool; the workers
/// are stopped and joined when it returns. [`serve`] uses it; so can code
/// that brings its own connections (tests, fuzzing):
/// `server.serve_connection(stream)` inside a tokio runtime with time and,
/// for sockets, I/O enabled.
pub fn with_server<H: Handler, R>(
    config: &Config,
    handler: &H,
    work: impl FnOnce(&Server<'_, H>, &WorkerPool) -> R,
) -> R {
    // Room for every request in flight: the server's in-flight cap decides
    // who waits, not a race between the queue and idle workers.
    let pool = WorkerPool::new(config.requests_in_flight());
    std::thread::scope(|scope| {
        pool.start(scope, handler, config.workers);
        let server = Server::new(config, handler, &pool);
        let result = work(&server, &pool);
        pool.close();
        result
    })
}

/// One thread for every connection's I/O; the work is on the pool.
pub fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
}
