//! Real S3 (s3s-fs) and Glue (moto) servers on loopback for the tests,
//! started per test on free ports and stopped by PID when dropped.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tool(env: &str, default: PathBuf, hint: &str) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or(default);
    assert!(
        path.exists(),
        "{} not found at {}: {hint}",
        env,
        path.display()
    );
    path
}

fn s3s_fs() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    tool(
        "S3S_FS",
        home.join(".cache/serratus-tools/bin/s3s-fs"),
        "run scripts/setup (it installs s3s-fs)",
    )
}

pub fn venv_python() -> PathBuf {
    tool(
        "SUMMARY_VENV_PYTHON",
        repo().join(".venv/bin/python"),
        "run scripts/setup (it creates .venv)",
    )
}

/// One of the tests' Python programs (`tests/it/python/PROGRAM`), to be run
/// by the venv's Python: add its arguments, then run it.
pub fn python(program: &str) -> Command {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/python")
        .join(program);
    assert!(path.exists(), "no Python program {}", path.display());
    let mut command = Command::new(venv_python());
    command.arg(path);
    command
}

fn moto_server() -> PathBuf {
    tool(
        "MOTO_SERVER",
        repo().join(".venv/bin/moto_server"),
        "run scripts/setup (it installs moto[server])",
    )
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether something listens on `port`. A connect to a free port in the
/// ephemeral range can be answered by the kernel itself: when it picks that
/// same port as the connection's own (a TCP self-connect, likelier while
/// other tests hold thousands of sockets), the connect succeeds with nobody
/// listening. Such a connection is not a listener.
pub fn listening(port: u16) -> bool {
    match TcpStream::connect(("127.0.0.1", port)) {
        Ok(stream) => stream.local_addr().ok() != stream.peer_addr().ok(),
        Err(_) => false,
    }
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if listening(port) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status} before listening on {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port} within 30 s");
}

/// A child process killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// moto with no authentication at all: an S3 whose buckets anyone may read
/// (what `--no-sign-request` is for), and an STS.
pub fn moto_without_auth() -> Server {
    let port = free_port();
    let mut child = Command::new(moto_server())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting moto_server");
    wait_for_port(port, "moto_server", &mut child);
    Server { child, port }
}

/// One plain HTTP exchange (no signing), for harness set-up calls.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest
        .split_once('/')
        .map(|(a, p)| (a, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut stream = TcpStream::connect(authority)
        .unwrap_or_else(|e| panic!("{method} {url}: cannot connect: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 2 + size + 2..];
    }
}

fn xml_value(xml: &str, tag: &str) -> String {
    let start = xml
        .find(&format!("<{tag}>"))
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + tag.len()
        + 2;
    let end = xml[start..].find(&format!("</{tag}>")).unwrap() + start;
    xml[start..end].to_string()
}

/// Both servers, with one IAM user's credentials that both accept.
pub struct Aws {
    /// s3s-fs itself; clients go through `s3_proxy` (see [`Aws::s3_url`]).
    pub s3: Server,
    s3_proxy: FaultProxy,
    pub glue: Server,
    pub s3_root: TempDir,
    pub access_key: String,
    pub secret_key: String,
}

impl Aws {
    /// moto first (its IAM issues the credentials), then s3s-fs with the
    /// same credentials; buckets `src` and `lake` exist.
    pub fn start() -> Aws {
        let port = free_port();
        let mut child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // The first three calls (user, policy, key) need no signature; every later one does.
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        wait_for_port(port, "moto_server", &mut child);
        let glue = Server { child, port };
        let iam = |body: &str| {
            let auth = "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request";
            let (status, body) = http(
                "POST",
                &glue.url(),
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Authorization", auth),
                ],
                format!("{body}&Version=2010-05-08").as_bytes(),
            );
            let text = String::from_utf8_lossy(&body).to_string();
            assert_eq!(status, 200, "IAM set-up call failed: {text}");
            text
        };
        iam("Action=CreateUser&UserName=uploader");
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let encoded: String = policy.bytes().map(|b| format!("%{b:02X}")).collect();
        iam(&format!(
            "Action=PutUserPolicy&UserName=uploader&PolicyName=all&PolicyDocument={encoded}"
        ));
        let key = iam("Action=CreateAccessKey&UserName=uploader");
        let (access_key, secret_key) = (
            xml_value(&key, "AccessKeyId"),
            xml_value(&key, "SecretAccessKey"),
        );

        let s3_root = tempfile::tempdir().unwrap();
        for bucket in ["src", "lake"] {
            std::fs::create_dir_all(s3_root.path().join(bucket)).unwrap();
        }
        let port = free_port();
        let mut child = Command::new(s3s_fs())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--access-key",
                &access_key,
                "--secret-key",
                &secret_key,
            ])
            .arg(s3_root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting s3s-fs");
        wait_for_port(port, "s3s-fs", &mut child);
        Aws {
            s3_proxy: FaultProxy::atomic_conditional_writes(port),
            s3: Server { child, port },
            glue,
            s3_root,
            access_key,
            secret_key,
        }
    }

    /// Where clients reach S3: s3s-fs behind a proxy that makes its
    /// conditional writes atomic, as S3's are (see
    /// [`FaultProxy::atomic_conditional_writes`]).
    pub fn s3_url(&self) -> String {
        self.s3_proxy.url()
    }

    /// The port of that proxy, for another proxy in front of it.
    pub fn s3_proxy_port(&self) -> u16 {
        self.s3_proxy.port
    }

    /// Environment for `summary-uploader` to use these servers.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.secret_key.clone()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ENDPOINT_URL_S3".into(), self.s3_url()),
            ("AWS_ENDPOINT_URL_GLUE".into(), self.glue.url()),
            ("AWS_ENDPOINT_URL_SQS".into(), self.glue.url()),
        ]
    }

    /// Puts a source object straight into s3s-fs's data directory.
    pub fn put_source(&self, key: &str, bytes: &[u8]) {
        let path = self.s3_root.path().join("src").join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Puts every fixture in the source bucket under Serratus' key layout
    /// (`summary2/RUN.summary`, `psummary/RUN.psummary`,
    /// `rsummary/RUN.psummary`) and returns the keys, nucleotide first.
    pub fn put_fixture_sources(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for (kind, folder, extension) in [
            ("nucleotide", "summary2", "summary"),
            ("protein", "psummary", "psummary"),
            ("rdrp", "rsummary", "psummary"),
        ] {
            for path in super::common::fixture_files(kind) {
                let name = path.file_name().unwrap().to_str().unwrap();
                let run = name.split('.').next().unwrap();
                let key = format!("{folder}/{run}.{extension}");
                self.put_source(&key, &std::fs::read(&path).unwrap());
                keys.push(key);
            }
        }
        keys
    }

    pub fn lake_dir(&self) -> PathBuf {
        self.s3_root.path().join("lake")
    }

    /// Every file of the lake bucket, relative path to bytes (s3s-fs keeps
    /// its own metadata beside objects in hidden files, left out).
    pub fn lake_files(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if name.starts_with('.') {
                    continue;
                }
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.insert(
                        path.strip_prefix(root)
                            .unwrap()
                            .to_string_lossy()
                            .to_string(),
                        std::fs::read(&path).unwrap(),
                    );
                }
            }
        }
        let mut out = std::collections::BTreeMap::new();
        walk(&self.lake_dir(), &self.lake_dir(), &mut out);
        out
    }

    /// A signed Glue call with these credentials, through the project's
    /// own request code, for checking what the catalog holds.
    pub fn glue_call(&self, action: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.glue_call_as(&self.secret_key, action, body)
    }

    /// The same, signed with another secret key.
    pub fn glue_call_as(
        &self,
        secret: &str,
        action: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let endpoint = summary_aws::request::Endpoint::parse(&self.glue.url()).unwrap();
        self.signed_json_call(
            "glue",
            secret,
            summary_aws::glue::request(&endpoint, action, &body),
        )
    }

    /// A signed SQS call to moto (the same server as Glue).
    pub fn sqs_call(&self, action: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let endpoint = summary_aws::request::Endpoint::parse(&self.glue.url()).unwrap();
        self.signed_json_call(
            "sqs",
            &self.secret_key,
            summary_aws::sqs::request(&endpoint, action, &body),
        )
    }

    fn signed_json_call(
        &self,
        service: &str,
        secret: &str,
        mut request: summary_aws::request::HttpRequest,
    ) -> (u16, serde_json::Value) {
        let credentials = summary_aws::request::Credentials {
            access_key_id: self.access_key.clone(),
            secret_access_key: secret.to_string(),
            session_token: None,
        };
        summary_aws::request::sign_request(
            &mut request,
            summary_aws::request::SigningProfile::Json,
            service,
            "us-east-1",
            &credentials,
            std::time::SystemTime::now(),
        )
        .unwrap();
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .filter(|(n, _)| *n != "host" && *n != "content-length")
            .collect();
        let (status, body) = http("POST", &request.url, &headers, &request.body);
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// Rows under a lake folder, counted by DuckDB (hive partitioning).
pub fn duckdb_count(dir: &Path, table: &str) -> u64 {
    // `**` also matches no folder: the run tables of the score-pctid layout.
    let glob = format!("{}/{table}/**/*.parquet", dir.display());
    let out: Output = python("count_rows.py").arg(&glob).output().unwrap();
    assert!(
        out.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// A loopback HTTP proxy that answers some requests with a fault instead
/// of forwarding them: `fault(method, path, nth)` sees each request (`nth`
/// counts requests with that method, from 1) and returns a status to
/// answer with, or `None` to forward. Connections are closed after each
/// answer so every request is seen. Conditional writes are forwarded one at
/// a time (see [`FaultProxy::atomic_conditional_writes`]).
pub struct FaultProxy {
    pub port: u16,
    pub faults_served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Answers of 412 Precondition Failed or 409 Conflict forwarded back.
    pub conflicts_answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// What the proxy does instead of forwarding a request.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Answer with this status and an S3-style error document.
    Status(u16),
    /// Answer with this status and an S3-style error document of this code
    /// (e.g. 403 `AccessDenied`).
    Error(u16, &'static str),
    /// Answer `503 SlowDown`, S3's throttling.
    SlowDown,
    /// Close the connection without answering.
    Reset,
    /// Hold the connection this long, then close it without answering (the
    /// request never reaches the server).
    Hang(Duration),
    /// Hold the request until the flag is set, then forward it: forces one
    /// interleaving of two writers.
    HoldUntil(&'static std::sync::atomic::AtomicBool),
}

/// Which requests a proxy forwards one at a time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Serialize {
    Everything,
    ConditionalWrites,
    /// Not even forwarded: answered 501.
    RefuseConditionalWrites,
}

impl FaultProxy {
    pub fn start(
        upstream: u16,
        fault: impl Fn(&str, &str, usize) -> Option<Fault> + Send + Sync + 'static,
    ) -> FaultProxy {
        // s3s-fs behind it still needs its conditional writes made atomic.
        Self::start_with(upstream, fault, Serialize::ConditionalWrites)
    }

    /// Answers every conditional PUT with 501 NotImplemented, as S3-compatible
    /// stores without conditional writes do; forwards the rest.
    pub fn refusing_conditional_writes(upstream: u16) -> FaultProxy {
        Self::start_with(upstream, |_, _, _| None, Serialize::RefuseConditionalWrites)
    }

    /// Gives s3s-fs S3's atomicity for compare-and-swap: conditional PUTs
    /// (`If-Match`, `If-None-Match`) are forwarded one at a time and never
    /// beside a GET. s3s-fs checks a condition, then writes the object, then
    /// its ETag, without a lock: two conditional PUTs at once could both
    /// pass, and a GET beside a PUT could answer the old bytes with the new
    /// ETag. S3 does neither.
    pub fn atomic_conditional_writes(upstream: u16) -> FaultProxy {
        Self::start_with(upstream, |_, _, _| None, Serialize::ConditionalWrites)
    }

    /// Forwards requests one at a time, long polls in a queue of their own.
    /// moto's SQS keeps its messages without a lock: two DeleteMessage calls
    /// at once can bring a deleted message back, and two receives at once can
    /// hand out the same message (real SQS does neither); consumers with
    /// several loops reach moto through this. Long polls wait apart so that a
    /// poll on an empty queue does not stall deletes for its whole wait.
    pub fn serializing(upstream: u16) -> FaultProxy {
        Self::start_with(upstream, |_, _, _| None, Serialize::Everything)
    }

    fn start_with(
        upstream: u16,
        fault: impl Fn(&str, &str, usize) -> Option<Fault> + Send + Sync + 'static,
        serialize: Serialize,
    ) -> FaultProxy {
        use std::collections::HashMap;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let faults_served = Arc::new(AtomicUsize::new(0));
        let served = faults_served.clone();
        let conflicts_answered = Arc::new(AtomicUsize::new(0));
        let conflicts = conflicts_answered.clone();
        let fault = Arc::new(fault);
        let one_at_a_time = Arc::new(Mutex::new(()));
        let one_receive_at_a_time = Arc::new(Mutex::new(()));
        // Conditional PUTs exclusive, GETs shared.
        let swaps = Arc::new(std::sync::RwLock::new(()));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                let (counts, served, fault) = (counts.clone(), served.clone(), fault.clone());
                let conflicts = conflicts.clone();
                let one_at_a_time = one_at_a_time.clone();
                let one_receive_at_a_time = one_receive_at_a_time.clone();
                let swaps = swaps.clone();
                std::thread::spawn(move || {
                    let Some((head, body)) = read_request(&mut client) else {
                        return;
                    };
                    let mut parts = head.split(' ');
                    let (method, path) = (
                        parts.next().unwrap_or("").to_string(),
                        parts.next().unwrap_or("").to_string(),
                    );
                    let nth = {
                        let mut counts = counts.lock().unwrap();
                        let n = counts.entry(method.clone()).or_default();
                        *n += 1;
                        *n
                    };
                    let conditional = {
                        let lower = head.to_ascii_lowercase();
                        lower.contains("\r\nif-match:") || lower.contains("\r\nif-none-match:")
                    };
                    let refused = (serialize == Serialize::RefuseConditionalWrites && conditional)
                        .then_some(Fault::Error(501, "NotImplemented"));
                    let fault = match refused.or_else(|| fault(&method, &path, nth)) {
                        Some(Fault::HoldUntil(gate)) => {
                            served.fetch_add(1, Ordering::SeqCst);
                            while !gate.load(Ordering::SeqCst) {
                                std::thread::sleep(Duration::from_millis(10));
                            }
                            None
                        }
                        other => other,
                    };
                    if let Some(fault) = fault {
                        served.fetch_add(1, Ordering::SeqCst);
                        let (status, code) = match fault {
                            Fault::Status(status) => (status, "InternalError"),
                            Fault::Error(status, code) => (status, code),
                            Fault::SlowDown => (503, "SlowDown"),
                            Fault::Reset => return,
                            Fault::Hang(time) => {
                                std::thread::sleep(time);
                                return;
                            }
                            Fault::HoldUntil(_) => unreachable!("forwarded above"),
                        };
                        let body = format!(
                            "<Error><Code>{code}</Code><Message>injected fault</Message></Error>"
                        );
                        let answer = format!(
                            "HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = client.write_all(answer.as_bytes());
                        return;
                    }
                    let long_poll = head.contains("AmazonSQS.ReceiveMessage");
                    let turns = if long_poll {
                        &one_receive_at_a_time
                    } else {
                        &one_at_a_time
                    };
                    let one_at_a_time = match serialize {
                        Serialize::Everything => true,
                        Serialize::ConditionalWrites | Serialize::RefuseConditionalWrites => {
                            conditional
                        }
                    };
                    let _turn = one_at_a_time.then(|| turns.lock().unwrap());
                    let atomic = serialize != Serialize::Everything;
                    let _swap = (atomic && conditional).then(|| swaps.write().unwrap());
                    let _read = (atomic && method == "GET").then(|| swaps.read().unwrap());
                    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", upstream)) else {
                        return;
                    };
                    let head = close_connection(&head);
                    let _ = upstream.write_all(head.as_bytes());
                    let _ = upstream.write_all(&body);
                    let mut answer = Vec::new();
                    let _ = upstream.read_to_end(&mut answer);
                    if answer.starts_with(b"HTTP/1.1 412") || answer.starts_with(b"HTTP/1.1 409") {
                        conflicts.fetch_add(1, Ordering::SeqCst);
                    }
                    let _ = client.write_all(&answer);
                });
            }
        });
        FaultProxy {
            port,
            faults_served,
            conflicts_answered,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The request head (through the blank line) and its Content-Length body.
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = data[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((head, body))
}

fn close_connection(head: &str) -> String {
    let mut lines: Vec<&str> = head
        .trim_end()
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}

/// `summary-uploader --component <built component>` with `aws`'s environment.
pub fn uploader(aws: &Aws) -> Command {
    let mut command = super::common::uploader_command();
    command
        .arg("--component")
        .arg(super::common::component_path())
        .envs(aws.env());
    command
}

/// `summary-uploader serve` on a free port with `args`, the API key and
/// `env` over `aws`'s environment, waited for until it listens; killed
/// when dropped.
pub fn serve(aws: &Aws, args: &[&str], api_key: &str, env: &[(&str, &str)]) -> Server {
    let port = free_port();
    let mut child = uploader(aws)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .env("SUMMARY_UPLOADER_API_KEY", api_key)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting serve");
    wait_for_port(port, "summary-uploader serve", &mut child);
    Server { child, port }
}
