//! Any bytes as one client connection to the hardened HTTP server (its
//! limits, a trivial handler on its worker pool): answers or a closed
//! connection, never a panic or a hang.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use summary_http_server::{with_server, Config, Handler, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, oneshot};

/// Answers with the sizes of what it got, so every field is touched.
struct Sizes;

impl Handler for Sizes {
    fn is_quick(&self, method: &str, path: &str) -> bool {
        method == "GET" && path == "/healthz"
    }

    fn answer(&self, request: Request) -> Response {
        let header_bytes: usize = request.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        Response::text(
            200,
            format!(
                "{} {} {} {}\n",
                request.method.len(),
                request.path.len(),
                header_bytes,
                request.body.len()
            ),
        )
    }
}

fn config() -> Config {
    Config {
        workers: 1,
        queue: 2,
        max_connections: 1,
        max_body_bytes: 4096,
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        write_timeout: Duration::from_secs(1),
        ..Config::default()
    }
}

/// The server, on its own long-lived thread (with its worker pool): fed one
/// in-memory connection per input. No thread starts or ends per input.
/// One input's connection, and who hears when the server let go of it.
type Connection = (DuplexStream, oneshot::Sender<()>);

fn server() -> &'static mpsc::UnboundedSender<Connection> {
    static SERVER: OnceLock<mpsc::UnboundedSender<Connection>> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (connections, mut accepted) = mpsc::unbounded_channel::<Connection>();
        std::thread::spawn(move || {
            let runtime = summary_http_server::runtime().expect("a tokio runtime");
            let config = config();
            with_server(&config, &Sizes, |server, _pool| {
                runtime.block_on(async {
                    while let Some((connection, done)) = accepted.recv().await {
                        server.serve_connection(connection).await;
                        let _ = done.send(());
                    }
                })
            });
        });
        connections
    })
}

thread_local! {
    static CLIENT: tokio::runtime::Runtime =
        summary_http_server::runtime().expect("a tokio runtime");
}

fuzz_target!(|data: &[u8]| {
    let (mut client, connection) = tokio::io::duplex(16 * 1024);
    let (done, served) = oneshot::channel();
    server()
        .send((connection, done))
        .expect("the server thread runs");
    CLIENT.with(|runtime| {
        runtime.block_on(async {
            // The server may stop reading at any point (431, 413, close).
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            // Ends when the server drops its end of the connection.
            let mut answers = Vec::new();
            let _ = client.read_to_end(&mut answers).await;
            // Everything the server allocated for this input is freed
            // before the next one (libFuzzer counts leaks per input).
            let _ = served.await;
        })
    });
});
