//! The open connections in accept order, and which of them are between
//! requests. At the connection cap the server closes the oldest idle one to
//! make room, so sockets that send nothing cannot keep newcomers (health
//! checks, events) waiting in the kernel's backlog.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Every open connection of one server.
#[derive(Default)]
pub struct Connections {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// Connections with no request in progress, keyed by accept order (so
    /// the first is the oldest): O(log n) to find, remove or add.
    idle: BTreeMap<u64, Arc<CloseSignal>>,
}

/// How a connection hears that it was chosen to make room.
#[derive(Default)]
pub struct CloseSignal {
    notify: Notify,
    closed: AtomicBool,
}

impl CloseSignal {
    /// Completes once the connection was asked to close (at once if it
    /// already was).
    pub async fn closed(&self) {
        if !self.closed.load(Ordering::SeqCst) {
            self.notify.notified().await;
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // notify_one keeps a permit when nobody waits yet.
        self.notify.notify_one();
    }
}

impl Connections {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a connection just accepted; it starts idle.
    pub fn register(self: &Arc<Self>) -> Arc<Registration> {
        let signal = Arc::new(CloseSignal::default());
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.idle.insert(id, signal.clone());
        Arc::new(Registration {
            connections: self.clone(),
            id,
            signal,
            requests: Mutex::new(0),
        })
    }

    /// Asks the oldest connection with no request in progress to close;
    /// false if every connection has one.
    pub fn close_oldest_idle(&self) -> bool {
        let oldest = self.lock().idle.pop_first();
        match oldest {
            Some((_, signal)) => {
                signal.close();
                true
            }
            None => false,
        }
    }

    /// Connections with no request in progress.
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.lock().idle.len()
    }
}

/// One connection's entry; it leaves the registry when dropped.
pub struct Registration {
    connections: Arc<Connections>,
    id: u64,
    signal: Arc<CloseSignal>,
    /// Requests in progress (one at a time over HTTP/1.1, but an answer's
    /// guard may outlive the next request's start by a moment).
    requests: Mutex<usize>,
}

impl Registration {
    pub fn signal(&self) -> &CloseSignal {
        &self.signal
    }

    /// Marks a request in progress until the guard is dropped: from its
    /// head being parsed until its answer was handed to the socket.
    pub fn begin_request(self: &Arc<Self>) -> RequestInProgress {
        let mut inner = self.connections.lock();
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if *requests == 0 {
            inner.idle.remove(&self.id);
        }
        *requests += 1;
        RequestInProgress(self.clone())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.connections.lock().idle.remove(&self.id);
    }
}

/// Keeps its connection from being closed to make room.
pub struct RequestInProgress(Arc<Registration>);

impl Drop for RequestInProgress {
    fn drop(&mut self) {
        let registration = &self.0;
        let mut inner = registration.connections.lock();
        let mut requests = registration
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *requests = requests.saturating_sub(1);
        if *requests == 0 && !registration.signal.closed.load(Ordering::SeqCst) {
            inner
                .idle
                .insert(registration.id, registration.signal.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_idle_connection_is_closed_first_and_busy_ones_never() {
        let connections = Arc::new(Connections::default());
        let first = connections.register();
        let second = connections.register();
        let third = connections.register();
        let busy = first.begin_request();
        assert_eq!(connections.idle(), 2);

        assert!(connections.close_oldest_idle());
        assert!(second.signal.closed.load(Ordering::SeqCst));
        assert!(!first.signal.closed.load(Ordering::SeqCst));

        let busy_too = third.begin_request();
        assert!(!connections.close_oldest_idle(), "every one is busy");
        drop(busy);
        assert!(connections.close_oldest_idle());
        assert!(first.signal.closed.load(Ordering::SeqCst));
        // A closed connection finishing a request is not idle again.
        drop(busy_too);
        assert_eq!(connections.idle(), 1);
        drop(third);
        assert_eq!(connections.idle(), 0);
        assert!(!connections.close_oldest_idle());
    }
}
