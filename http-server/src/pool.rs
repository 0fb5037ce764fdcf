//! The bounded pool of worker threads that run the (blocking) handler, so a
//! slow request holds a worker, never the connections' event loop.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread::Scope;

use tokio::sync::{oneshot, OwnedSemaphorePermit};

use crate::handler::{Handler, Request, Response};

/// What a request holds of the server's limits (its in-flight slot, its
/// body's share of the byte budget) until it is answered or dropped, so
/// a job left in the queue by a client that hung up still counts.
#[derive(Default)]
pub struct Reservation {
    pub slot: Option<OwnedSemaphorePermit>,
    pub body: Option<OwnedSemaphorePermit>,
}

struct Job {
    request: Request,
    reply: oneshot::Sender<Response>,
    reservation: Reservation,
}

/// Worker threads fed through a bounded queue. Created before the scope its
/// threads run in, so they can borrow it.
pub struct WorkerPool {
    jobs: Mutex<Option<SyncSender<Job>>>,
    queued: Mutex<Receiver<Job>>,
    running: AtomicUsize,
}

/// Why a request was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejected {
    /// Every worker is busy and the queue is full.
    Full,
    /// The pool is shutting down.
    Closed,
}

impl WorkerPool {
    /// A pool holding at most `capacity` requests not yet taken by a worker.
    pub fn new(capacity: usize) -> Self {
        let (sender, receiver) = sync_channel(capacity);
        WorkerPool {
            jobs: Mutex::new(Some(sender)),
            queued: Mutex::new(receiver),
            running: AtomicUsize::new(0),
        }
    }

    /// Starts `workers` threads in `scope`; they exit after [`Self::close`].
    pub fn start<'scope, 'env: 'scope, H: Handler>(
        &'env self,
        scope: &'scope Scope<'scope, 'env>,
        handler: &'env H,
        workers: usize,
    ) {
        for index in 0..workers.max(1) {
            let spawned = std::thread::Builder::new()
                .name(format!("worker-{index}"))
                .spawn_scoped(scope, move || self.work(handler));
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a worker thread");
            }
        }
    }

    fn work<H: Handler>(&self, handler: &H) {
        loop {
            let job = match self.queued.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                Ok(job) => job,
                Err(_) => return, // closed and empty
            };
            let Job {
                request,
                reply,
                reservation,
            } = job;
            // The client left (or the drain deadline passed) while it
            // waited: dropping the job releases its reservation.
            if reply.is_closed() {
                continue;
            }
            self.running.fetch_add(1, Ordering::SeqCst);
            let response = catch_unwind(AssertUnwindSafe(|| handler.answer(request)))
                .unwrap_or_else(|_| {
                    tracing::error!("the handler panicked; answering 500");
                    Response::text(500, "internal error\n")
                });
            self.running.fetch_sub(1, Ordering::SeqCst);
            // The body is gone with the handler's request: release its share.
            drop(reservation);
            let _ = reply.send(response);
        }
    }

    /// Queues `request` for a worker, holding `reservation` until it is
    /// answered or skipped; the answer arrives on the receiver.
    pub fn submit(
        &self,
        request: Request,
        reservation: Reservation,
    ) -> Result<oneshot::Receiver<Response>, Rejected> {
        let (reply, answer) = oneshot::channel();
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(jobs) = jobs.as_ref() else {
            return Err(Rejected::Closed);
        };
        match jobs.try_send(Job {
            request,
            reply,
            reservation,
        }) {
            Ok(()) => Ok(answer),
            Err(TrySendError::Full(_)) => Err(Rejected::Full),
            Err(TrySendError::Disconnected(_)) => Err(Rejected::Closed),
        }
    }

    /// Requests being answered right now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// No more requests: workers finish what is queued (skipping requests
    /// nobody waits for any more) and exit.
    pub fn close(&self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}
