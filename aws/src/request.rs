//! HTTP requests as values, and SigV4 signing of them. Hosts send them
//! with whatever client they have (ureq natively, Spin's outbound HTTP).

use std::fmt;
use std::time::SystemTime;

use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use sha2::{Digest, Sha256};

#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// The value of a header, names compared case-insensitively.
pub fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Never prints the signature or a session token.
impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({} bytes)",
            self.method,
            self.url,
            self.body.len()
        )
    }
}

/// AWS credentials; `Debug` shows only the access key id.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, secret redacted)", self.access_key_id)
    }
}

/// `scheme://host[:port]` of a service endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("endpoint {url:?} has no scheme"))?;
        if scheme != "http" && scheme != "https" {
            return Err(format!("endpoint {url:?}: scheme must be http or https"));
        }
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!("endpoint {url:?} must be scheme://host[:port]"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => (
                host,
                Some(
                    port.parse::<u16>()
                        .map_err(|_| format!("endpoint {url:?}: bad port"))?,
                ),
            ),
            _ => (authority, None),
        };
        Ok(Endpoint {
            scheme: scheme.into(),
            host: host.into(),
            port,
        })
    }

    /// The Host header as a client sends it: the port only when one is given.
    pub fn authority(&self, host: &str) -> String {
        match self.port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }
}

/// A POST to an AWS JSON-protocol service (Glue, SQS): the action is
/// named by `x-amz-target`, the body is the JSON document.
pub fn json_api_request(
    endpoint: &Endpoint,
    content_type: &str,
    target: &str,
    body: &serde_json::Value,
) -> HttpRequest {
    let authority = endpoint.authority(&endpoint.host);
    let body = serde_json::to_vec(body).expect("JSON serializes");
    HttpRequest {
        method: "POST",
        url: format!("{}://{authority}/", endpoint.scheme),
        headers: vec![
            ("host".into(), authority),
            ("content-type".into(), content_type.into()),
            ("x-amz-target".into(), target.into()),
            ("content-length".into(), body.len().to_string()),
        ],
        body,
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    summary_lake::text::hex(&Sha256::digest(bytes))
}

/// How a service wants its requests signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningProfile {
    /// S3: the path is encoded once and never normalised, and the payload
    /// hash travels in `x-amz-content-sha256`.
    S3,
    /// JSON services (Glue, SQS).
    Json,
}

#[derive(Debug, thiserror::Error)]
#[error("signing {request}: {message}")]
pub struct SignError {
    request: String,
    message: String,
}

/// Adds the SigV4 headers (`authorization`, `x-amz-date`, and for S3
/// `x-amz-content-sha256`; `x-amz-security-token` with a session token).
/// The request must already carry every header that will be sent,
/// including `host`.
pub fn sign_request(
    request: &mut HttpRequest,
    profile: SigningProfile,
    service: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<(), SignError> {
    let error = |message: String| SignError {
        request: format!("{request:?}"),
        message,
    };
    let mut settings = SigningSettings::default();
    if profile == SigningProfile::S3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let identity = aws_credential_types::Credentials::new(
        &credentials.access_key_id,
        &credentials.secret_access_key,
        credentials.session_token.clone(),
        None,
        "summary-uploader",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| error(e.to_string()))?
        .into();
    let payload_hash = sha256_hex(&request.body);
    let signable = SignableRequest::new(
        request.method,
        request.url.as_str(),
        request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Precomputed(payload_hash),
    )
    .map_err(|e| error(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| error(e.to_string()))?
        .into_parts();
    let (headers, _params) = instructions.into_parts();
    for header in headers {
        request
            .headers
            .push((header.name().to_string(), header.value().to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:9000").unwrap();
        assert_eq!(
            (e.scheme.as_str(), e.host.as_str(), e.port),
            ("http", "127.0.0.1", Some(9000))
        );
        assert_eq!(e.authority("bucket.127.0.0.1"), "bucket.127.0.0.1:9000");
        let e = Endpoint::parse("https://s3.us-east-1.amazonaws.com/").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port),
            ("s3.us-east-1.amazonaws.com", None)
        );
        assert!(Endpoint::parse("s3.amazonaws.com").is_err());
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("http://x:notaport").is_err());
        assert!(Endpoint::parse("http://x/path").is_err());
    }

    #[test]
    fn signing_adds_headers_and_hides_secrets() {
        let creds = Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "SECRET".into(),
            session_token: Some("TOKEN".into()),
        };
        let mut request = HttpRequest {
            method: "PUT",
            url: "http://127.0.0.1:9000/bucket/a%20b.parquet".into(),
            headers: vec![("host".into(), "127.0.0.1:9000".into())],
            body: b"hello".to_vec(),
        };
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        sign_request(
            &mut request,
            SigningProfile::S3,
            "s3",
            "us-east-1",
            &creds,
            time,
        )
        .unwrap();
        assert_eq!(
            request.header("x-amz-content-sha256"),
            Some(sha256_hex(b"hello").as_str())
        );
        assert_eq!(request.header("x-amz-date"), Some("20231114T221320Z"));
        assert_eq!(request.header("x-amz-security-token"), Some("TOKEN"));
        let auth = request.header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/20231114/us-east-1/s3/aws4_request"),
            "{auth}"
        );
        assert!(
            auth.contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
            ),
            "{auth}"
        );
        assert!(!format!("{request:?}{creds:?}").contains("SECRET"));
        assert!(!format!("{request:?}").contains("TOKEN"));
    }
}
