//! SNS signing certificates fetched from their SigningCertURL (SNS's own
//! hosts only), kept in a bounded cache: SNS signs with a handful of
//! certificates, so a small cache saves a fetch per message.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use summary_aws::request::HttpRequest;
use summary_aws::sns;
use summary_lake::text::{excerpt, quoted};

use crate::aws_client::Transport;

/// SNS signing certificates are a few KB.
const MAX_CERT_BYTES: u64 = 64 * 1024;

/// How many certificates are kept (SNS uses one or two per region).
pub const MAX_CACHED_CERTS: usize = 32;

/// A URL whose fetch failed is not fetched again for this long: an
/// unauthenticated sender naming a certificate that does not exist costs
/// one fetch, not one per request.
pub const FAILED_FETCH_MEMORY: Duration = Duration::from_secs(300);

/// How many failed URLs are remembered (oldest forgotten first).
const MAX_FAILED_URLS: usize = 256;

pub struct SnsCerts {
    transport: Box<dyn Transport>,
    capacity: usize,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    by_url: HashMap<String, Vec<u8>>,
    /// URLs, first fetched first.
    order: VecDeque<String>,
    /// URLs whose fetch failed, when, and why; oldest first.
    failed: VecDeque<(String, Instant, String)>,
}

impl SnsCerts {
    pub fn new(transport: Box<dyn Transport>, capacity: usize) -> Self {
        SnsCerts {
            transport,
            capacity: capacity.max(1),
            cache: Mutex::default(),
        }
    }

    /// The PEM certificate at `url`, from the cache or fetched; `url` must
    /// be one of SNS's (checked by the caller with
    /// [`sns::is_trusted_cert_url`], and again here).
    pub fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        if !sns::is_trusted_cert_url(url) {
            return Err(format!(
                "SigningCertURL {} is not an SNS certificate URL",
                quoted(url)
            ));
        }
        {
            let mut cache = self.lock();
            if let Some(cert) = cache.by_url.get(url) {
                return Ok(cert.clone());
            }
            cache
                .failed
                .retain(|(_, when, _)| when.elapsed() < FAILED_FETCH_MEMORY);
            if let Some((_, _, reason)) = cache.failed.iter().find(|(u, _, _)| u == url) {
                return Err(format!("{reason} (not fetched again for a while)"));
            }
        }
        let fetched = self.fetch(url);
        let mut cache = self.lock();
        match fetched {
            Ok(cert) => {
                if !cache.by_url.contains_key(url) {
                    while cache.order.len() >= self.capacity {
                        if let Some(oldest) = cache.order.pop_front() {
                            cache.by_url.remove(&oldest);
                        }
                    }
                    cache.order.push_back(url.to_string());
                    cache.by_url.insert(url.to_string(), cert.clone());
                }
                Ok(cert)
            }
            Err(reason) => {
                if cache.failed.len() >= MAX_FAILED_URLS {
                    cache.failed.pop_front();
                }
                cache
                    .failed
                    .push_back((url.to_string(), Instant::now(), reason.clone()));
                Err(reason)
            }
        }
    }

    fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let request = HttpRequest {
            method: "GET",
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let response = self
            .transport
            .send(&request, MAX_CERT_BYTES)
            .map_err(|e| format!("fetching {}: {}", quoted(url), excerpt(&e.message)))?;
        if !response.is_success() {
            return Err(format!(
                "fetching {}: HTTP {}",
                quoted(url),
                response.status
            ));
        }
        Ok(response.body)
    }

    /// How many certificates are cached.
    #[cfg(test)]
    fn cached(&self) -> usize {
        self.lock().by_url.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws_client::CallError;
    use crate::aws_client::HttpResponse;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct CountingTransport(Arc<AtomicUsize>);

    impl Transport for CountingTransport {
        fn send(&self, request: &HttpRequest, _max_body: u64) -> Result<HttpResponse, CallError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: request.url.clone().into_bytes(),
            })
        }
    }

    /// Answers every fetch 404.
    struct MissingTransport(Arc<AtomicUsize>);

    impl Transport for MissingTransport {
        fn send(&self, _request: &HttpRequest, _max_body: u64) -> Result<HttpResponse, CallError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(HttpResponse {
                status: 404,
                headers: Vec::new(),
                body: Vec::new(),
            })
        }
    }

    #[test]
    fn a_failed_fetch_is_not_repeated_for_a_while() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let certs = SnsCerts::new(Box::new(MissingTransport(fetches.clone())), 2);
        let url = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0bad.pem";
        let first = certs.get(url).unwrap_err();
        assert_eq!(first, format!("fetching \"{url}\": HTTP 404"));
        for _ in 0..100 {
            assert_eq!(
                certs.get(url).unwrap_err(),
                format!("{first} (not fetched again for a while)")
            );
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // the memory of failures is bounded: past it, the oldest is fetched again
        for n in 0..MAX_FAILED_URLS {
            let other =
                format!("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n}.pem");
            certs.get(&other).unwrap_err();
        }
        certs.get(url).unwrap_err();
        assert_eq!(fetches.load(Ordering::SeqCst), 2 + MAX_FAILED_URLS);
    }

    #[test]
    fn fetched_certificates_are_cached_up_to_the_bound() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let certs = SnsCerts::new(Box::new(CountingTransport(fetches.clone())), 2);
        let url = |n: u32| {
            format!("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n}.pem")
        };
        assert_eq!(certs.get(&url(1)).unwrap(), url(1).into_bytes());
        assert_eq!(certs.get(&url(1)).unwrap(), url(1).into_bytes());
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "the second from the cache"
        );
        certs.get(&url(2)).unwrap();
        certs.get(&url(3)).unwrap();
        assert_eq!(certs.cached(), 2);
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
        certs.get(&url(3)).unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 3, "the newest is kept");
        certs.get(&url(1)).unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 4, "the oldest was dropped");
        assert_eq!(certs.cached(), 2);
    }

    #[test]
    fn untrusted_urls_are_never_fetched() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let certs = SnsCerts::new(Box::new(CountingTransport(fetches.clone())), 2);
        assert_eq!(
            certs.get("https://sns.s3.amazonaws.com/x.pem"),
            Err(
                "SigningCertURL \"https://sns.s3.amazonaws.com/x.pem\" is not an SNS certificate URL"
                    .into()
            )
        );
        let long = format!("https://evil.example/\u{1b}[2J{}.pem", "a".repeat(200));
        let error = certs.get(&long).unwrap_err();
        assert!(
            error.contains("\\u{1b}") && error.contains(" bytes)"),
            "{error}"
        );
        assert!(error.len() < 200, "{error}");
        assert_eq!(fetches.load(Ordering::SeqCst), 0);
    }
}
