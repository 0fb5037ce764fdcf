//! The server's own behaviour with a controllable handler on loopback:
//! quick answers while every worker is busy, 503 with Retry-After past the
//! queue, and the drain on shutdown letting a running request finish.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use summary_http_server::{serve, Config, Drain, Handler, Request, Response};

/// Holds every POST until released; answers the rest at once.
#[derive(Default)]
struct Gate {
    state: Mutex<(usize, bool)>, // (requests held, released)
    changed: Condvar,
}

impl Gate {
    fn wait_held(&self, count: usize) {
        let mut state = self.state.lock().unwrap();
        while state.0 < count {
            state = self.changed.wait(state).unwrap();
        }
    }

    fn release(&self) {
        self.state.lock().unwrap().1 = true;
        self.changed.notify_all();
    }
}

impl Handler for Gate {
    fn is_quick(&self, method: &str, _path: &str) -> bool {
        method != "POST"
    }

    fn answer(&self, request: Request) -> Response {
        if request.method == "POST" {
            let mut state = self.state.lock().unwrap();
            state.0 += 1;
            self.changed.notify_all();
            while !state.1 {
                state = self.changed.wait(state).unwrap();
            }
        }
        Response::text(200, format!("{} bytes\n", request.body.len()))
    }
}

fn exchange(port: u16, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let result = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    result.unwrap_or_else(|e| panic!("{e} after {answer:?}"));
    answer
}

/// A server of `workers` and `queue` whose handler holds every POST at
/// its gate: its port, the gate, the sender that stops it, and its thread.
fn start_gated(
    workers: usize,
    queue: usize,
) -> (
    u16,
    Arc<Gate>,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<std::io::Result<Drain>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let gate = Arc::new(Gate::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        workers,
        queue,
        ..Config::default()
    };
    let server = {
        let gate = gate.clone();
        std::thread::spawn(move || {
            serve(listener, &config, &*gate, async {
                let _ = stopped.await;
            })
        })
    };
    (port, gate, stop, server)
}

const POST: &[u8] =
    b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc";
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[test]
fn busy_workers_leave_quick_answers_and_refuse_past_the_queue_and_the_drain_waits() {
    let (port, gate, stop, server) = start_gated(2, 1);
    // Two running, one queued: the in-flight cap (workers + queue) is full.
    let held: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(move || exchange(port, POST)))
        .collect();
    gate.wait_held(2);
    std::thread::sleep(Duration::from_millis(200)); // the third one queued
    let refused = exchange(port, POST);
    assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
    assert!(refused.contains("retry-after: 1\r\n"), "{refused}");
    assert!(refused
        .ends_with("\r\n\r\nbusy: every worker is taken and the queue is full; retry later\n"));
    let health = exchange(port, HEALTHZ);
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");

    // Shut down while they run: they finish, and only then does serve return.
    stop.send(()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !server.is_finished(),
        "returned before the running requests finished"
    );
    gate.release();
    for request in held {
        let answer = request.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\n3 bytes\n"), "{answer}");
    }
    assert_eq!(server.join().unwrap().unwrap(), Drain::Complete);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still accepting"
    );
}

#[test]
fn a_chunked_body_past_the_limit_is_413_and_a_panicking_handler_is_500() {
    struct Panics;
    impl Handler for Panics {
        fn is_quick(&self, _: &str, _: &str) -> bool {
            false
        }
        fn answer(&self, request: Request) -> Response {
            panic!("handler bug on {} bytes", request.body.len());
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        max_body_bytes: 10,
        ..Config::default()
    };
    let server = std::thread::spawn(move || {
        serve(listener, &config, &Panics, async {
            let _ = stopped.await;
        })
    });
    let chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n";
    let answer = exchange(port, chunked);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\nrequest body too large\n"),
        "{answer}"
    );
    let answer = exchange(port, POST);
    assert!(answer.starts_with("HTTP/1.1 500 "), "{answer}");
    // The worker survived its panic.
    let answer = exchange(port, POST);
    assert!(answer.ends_with("\r\n\r\ninternal error\n"), "{answer}");
    stop.send(()).unwrap();
    assert_eq!(server.join().unwrap().unwrap(), Drain::Complete);
}

#[test]
fn a_queued_request_whose_client_hung_up_keeps_its_slot_until_a_worker_drops_it() {
    let (port, gate, stop, server) = start_gated(1, 1);
    let running = std::thread::spawn(move || exchange(port, POST));
    gate.wait_held(1);
    // Queued behind it, then abandoned: its body stays in the queue until
    // a worker skips it, and so does its share of the limits.
    let mut abandoned = TcpStream::connect(("127.0.0.1", port)).unwrap();
    abandoned.write_all(POST).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(abandoned);
    std::thread::sleep(Duration::from_millis(300));
    let refused = exchange(port, POST);
    assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
    assert!(refused.contains("retry-after: 1\r\n"), "{refused}");

    gate.release();
    let answer = running.join().unwrap();
    assert!(answer.ends_with("\r\n\r\n3 bytes\n"), "{answer}");
    // Skipped by the worker, the abandoned request gave its slot back.
    let answer = exchange(port, POST);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n3 bytes\n"), "{answer}");
    stop.send(()).unwrap();
    assert_eq!(server.join().unwrap().unwrap(), Drain::Complete);
}
