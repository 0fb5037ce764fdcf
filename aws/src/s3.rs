//! S3 REST requests (path-style or virtual-host addressing) and the parts
//! of S3's XML answers the edge function needs.
//!
//! Bucket names and keys come from events, that is from whoever can post
//! one, and they become the request's host or path. Every request builder
//! validates them first and refuses to build a request otherwise: a bucket
//! named `127.0.0.1:7777/x` would send the signed request (credentials
//! included) to another host, and `?`, `#` or `..` would read another object.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use summary_lake::text::quoted;

use crate::request::{Endpoint, HttpRequest};

pub const PARQUET_CONTENT_TYPE: &str = "application/vnd.apache.parquet";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Endpoint {
    pub endpoint: Endpoint,
    /// `endpoint/bucket/key` instead of `bucket.endpoint/key`.
    pub path_style: bool,
}

impl S3Endpoint {
    /// AWS's regional endpoint, virtual-host style.
    pub fn aws(region: &str) -> Self {
        S3Endpoint {
            endpoint: Endpoint {
                scheme: "https".into(),
                host: format!("s3.{region}.amazonaws.com"),
                port: None,
            },
            path_style: false,
        }
    }

    /// The request for `key` (already validated, or empty for the bucket
    /// itself) in `bucket`, which is validated here.
    fn request(
        &self,
        method: &'static str,
        bucket: &str,
        key: &str,
        query: &str,
    ) -> Result<HttpRequest, InvalidName> {
        validate_bucket_name(bucket)?;
        let path = encode_key(key);
        let (host, path) = if self.path_style {
            (self.endpoint.host.clone(), format!("/{bucket}/{path}"))
        } else {
            (
                format!("{bucket}.{}", self.endpoint.host),
                format!("/{path}"),
            )
        };
        let authority = self.endpoint.authority(&host);
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        Ok(HttpRequest {
            method,
            url: format!("{}://{authority}{path}{query}", self.endpoint.scheme),
            headers: vec![("host".into(), authority)],
            body: Vec::new(),
        })
    }

    pub fn get_object(&self, bucket: &str, key: &str) -> Result<HttpRequest, InvalidName> {
        validate_object_key(key)?;
        self.request("GET", bucket, key, "")
    }

    /// A PUT carrying its SHA-256 checksum, which S3 verifies.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<HttpRequest, InvalidName> {
        validate_object_key(key)?;
        let mut request = self.request("PUT", bucket, key, "")?;
        let checksum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body));
        request
            .headers
            .push(("content-type".into(), content_type.into()));
        request
            .headers
            .push(("content-length".into(), body.len().to_string()));
        request
            .headers
            .push(("x-amz-checksum-sha256".into(), checksum));
        request.body = body;
        Ok(request)
    }

    /// A PUT that S3 carries out only if `condition` holds, else answers
    /// 412 Precondition Failed (or 409 while another conditional write to
    /// the key is in flight).
    pub fn put_object_if(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: PutCondition<'_>,
    ) -> Result<HttpRequest, InvalidName> {
        let mut request = self.put_object(bucket, key, body, content_type)?;
        request.headers.push(match condition {
            PutCondition::Absent => ("if-none-match".into(), "*".into()),
            PutCondition::Matches(etag) => ("if-match".into(), etag.into()),
        });
        Ok(request)
    }

    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<HttpRequest, InvalidName> {
        validate_object_key(key)?;
        self.request("DELETE", bucket, key, "")
    }

    /// ListObjectsV2 of one page under `prefix`.
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<HttpRequest, InvalidName> {
        validate_key_prefix(prefix)?;
        let mut query = format!("list-type=2&prefix={}", encode_query(prefix));
        if let Some(token) = continuation {
            query = format!("continuation-token={}&{query}", encode_query(token));
        }
        self.request("GET", bucket, "", &query)
    }

    /// ListObjectsV2 of at most one key under `prefix`: whether there is any.
    pub fn list_first_object(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<HttpRequest, InvalidName> {
        validate_key_prefix(prefix)?;
        let query = format!("list-type=2&max-keys=1&prefix={}", encode_query(prefix));
        self.request("GET", bucket, "", &query)
    }
}

/// The precondition of a conditional PUT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutCondition<'a> {
    /// `If-None-Match: *`: create only.
    Absent,
    /// `If-Match: <etag>`: replace only this version.
    Matches(&'a str),
}

/// What an [`InvalidName`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Bucket,
    Key,
    Prefix,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Bucket => "bucket name",
            NameKind::Key => "object key",
            NameKind::Prefix => "key prefix",
        })
    }
}

/// A bucket name or key no request may be built with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {name} is not a valid S3 {kind}: {reason}")]
pub struct InvalidName {
    pub kind: NameKind,
    /// The name, quoted and cut to a short excerpt.
    pub name: String,
    pub reason: String,
}

impl InvalidName {
    fn new(kind: NameKind, name: &str, reason: impl Into<String>) -> Self {
        InvalidName {
            kind,
            name: quoted(name),
            reason: reason.into(),
        }
    }
}

/// Names S3 reserves (access point, Object Lambda, Multi-Region Access
/// Point, directory and table bucket aliases; documentation examples).
const RESERVED_BUCKET_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_BUCKET_SUFFIXES: [&str; 5] =
    ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// S3's rules for general purpose bucket names: 3 to 63 characters of
/// lowercase letters, digits, `.` and `-`, beginning and ending with a
/// letter or digit, no `..`, not an IPv4 address, none of the reserved
/// prefixes and suffixes. Anything else could not be a bucket, and could
/// move a request to another host or path.
pub fn validate_bucket_name(name: &str) -> Result<(), InvalidName> {
    let invalid = |reason: &str| Err(InvalidName::new(NameKind::Bucket, name, reason));
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
    if !name.bytes().all(allowed) {
        return invalid("only lowercase letters, digits, '.' and '-' are allowed");
    }
    if !(3..=63).contains(&name.len()) {
        return invalid(&format!(
            "it is {} characters long; bucket names have 3 to 63",
            name.len()
        ));
    }
    let letter_or_digit = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !letter_or_digit(name.bytes().next()) || !letter_or_digit(name.bytes().last()) {
        return invalid("it must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return invalid("it must not contain two adjacent periods");
    }
    if is_ipv4_form(name) {
        return invalid("it must not be formatted as an IP address");
    }
    if let Some(prefix) = RESERVED_BUCKET_PREFIXES
        .iter()
        .find(|p| name.starts_with(*p))
    {
        return invalid(&format!("the prefix {prefix:?} is reserved by S3"));
    }
    if let Some(suffix) = RESERVED_BUCKET_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
        return invalid(&format!("the suffix {suffix:?} is reserved by S3"));
    }
    Ok(())
}

/// Four dot-separated groups of digits, as S3 refuses them.
fn is_ipv4_form(name: &str) -> bool {
    let groups: Vec<&str> = name.split('.').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()))
}

/// S3 object keys are at most 1024 bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// A key a request may name: 1 to 1024 bytes, no control characters, and
/// no `.` or `..` path segment (HTTP clients and proxies resolve those, so
/// `a/../../lake/x` would reach another key, or with path-style addressing
/// another bucket).
pub fn validate_object_key(key: &str) -> Result<(), InvalidName> {
    if key.is_empty() {
        return Err(InvalidName::new(NameKind::Key, key, "it is empty"));
    }
    check_key_text(NameKind::Key, key)
}

/// A prefix to list under: empty (the whole bucket) or as a key.
pub fn validate_key_prefix(prefix: &str) -> Result<(), InvalidName> {
    check_key_text(NameKind::Prefix, prefix)
}

fn check_key_text(kind: NameKind, key: &str) -> Result<(), InvalidName> {
    let invalid = |reason: String| Err(InvalidName::new(kind, key, reason));
    if key.len() > MAX_KEY_BYTES {
        return invalid(format!(
            "it is {} bytes long; keys have at most {MAX_KEY_BYTES}",
            key.len()
        ));
    }
    if key.chars().any(char::is_control) {
        return invalid("it contains a control character".into());
    }
    if key
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return invalid(
            "it has a '.' or '..' path segment, which HTTP clients resolve to another path".into(),
        );
    }
    Ok(())
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// URI-encodes a key for the path: every byte but unreserved ones and `/`.
pub fn encode_key(key: &str) -> String {
    key.bytes()
        .map(|b| {
            if is_unreserved(b) || b == b'/' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if is_unreserved(b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `<Code>` and `<Message>` of an S3 error document (neither when the
/// answer is no XML error document).
pub fn parse_error(xml: &[u8]) -> (Option<String>, Option<String>) {
    let found = crate::xml::texts_at(xml, &[&["Code"], &["Message"]]).unwrap_or_default();
    let first = |wanted: usize| {
        found
            .iter()
            .find(|(index, _)| *index == wanted)
            .map(|(_, text)| text.clone())
    };
    (first(0), first(1))
}

/// One ListObjectsV2 page: its keys, and the token of the next page if
/// the listing goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPage {
    pub keys: Vec<String>,
    /// The size in bytes of each object of `keys`, in the same order.
    pub sizes: Vec<u64>,
    pub next: Option<String>,
}

/// Reads a ListObjectsV2 page (keys decoded from XML, character
/// references included).
pub fn parse_list(xml: &[u8]) -> Result<ListPage, String> {
    const KEY: usize = 0;
    const TRUNCATED: usize = 1;
    const TOKEN: usize = 2;
    const SIZE: usize = 3;
    let found = crate::xml::texts_at(
        xml,
        &[
            &["Contents", "Key"],
            &["IsTruncated"],
            &["NextContinuationToken"],
            &["Contents", "Size"],
        ],
    )
    .map_err(|e| format!("ListObjectsV2 answer: {e}"))?;
    let mut page = ListPage {
        keys: Vec::new(),
        sizes: Vec::new(),
        next: None,
    };
    let mut truncated = false;
    for (index, text) in found {
        match index {
            KEY => page.keys.push(text),
            TRUNCATED => truncated = text.trim() == "true",
            TOKEN => page.next = Some(text),
            SIZE => page.sizes.push(
                text.trim()
                    .parse()
                    .map_err(|_| format!("ListObjectsV2 answer: object size {text:?}"))?,
            ),
            _ => unreachable!("four paths asked for"),
        }
    }
    if page.sizes.len() != page.keys.len() {
        return Err(format!(
            "ListObjectsV2 answer: {} keys but {} sizes",
            page.keys.len(),
            page.sizes.len()
        ));
    }
    if !truncated {
        page.next = None;
    } else if page.next.is_none() {
        return Err("ListObjectsV2 answer is truncated but names no NextContinuationToken".into());
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> S3Endpoint {
        S3Endpoint {
            endpoint: Endpoint::parse("http://127.0.0.1:9000").unwrap(),
            path_style: true,
        }
    }

    #[test]
    fn addressing_styles() {
        let get = local()
            .get_object("lake", "summary2/SRR1 copy+1.summary")
            .unwrap();
        assert_eq!(
            get.url,
            "http://127.0.0.1:9000/lake/summary2/SRR1%20copy%2B1.summary"
        );
        assert_eq!(get.header("host"), Some("127.0.0.1:9000"));
        let aws = S3Endpoint::aws("us-east-1")
            .get_object("lake", "a/b=1/c.parquet")
            .unwrap();
        assert_eq!(
            aws.url,
            "https://lake.s3.us-east-1.amazonaws.com/a/b%3D1/c.parquet"
        );
        assert_eq!(aws.header("host"), Some("lake.s3.us-east-1.amazonaws.com"));
    }

    #[test]
    fn put_carries_checksum_and_type() {
        let put = local()
            .put_object("lake", "k.parquet", b"hello".to_vec(), PARQUET_CONTENT_TYPE)
            .unwrap();
        assert_eq!(
            put.header("x-amz-checksum-sha256"),
            Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        );
        assert_eq!(put.header("content-type"), Some(PARQUET_CONTENT_TYPE));
        assert_eq!(put.header("content-length"), Some("5"));
        let list = local()
            .list_objects("lake", "nucleotide/", Some("t/1"))
            .unwrap();
        assert_eq!(
            list.url,
            "http://127.0.0.1:9000/lake/?continuation-token=t%2F1&list-type=2&prefix=nucleotide%2F"
        );
    }

    #[test]
    fn good_bucket_names() {
        for name in [
            "src",
            "lovelywater",
            "lake-2026.serratus",
            "a.b-c.d",
            "123",
            "1.2.3",
            "1.2.3.4.5",
            "x1n--a",
            "s3alias",
            "a".repeat(63).as_str(),
        ] {
            assert_eq!(validate_bucket_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn bad_bucket_names() {
        let charset = "only lowercase letters, digits, '.' and '-' are allowed";
        for (name, reason) in [
            ("127.0.0.1:7777/x", charset),
            ("127.0.0.1:7777", charset),
            ("evil.example/", charset),
            ("a?b", charset),
            ("a#b", charset),
            ("user@127.0.0.1:7777", charset),
            ("UPPERCASE", charset),
            ("my_bucket", charset),
            ("caf\u{e9}", charset),
            ("a b", charset),
            ("a\nb", charset),
            ("", "it is 0 characters long; bucket names have 3 to 63"),
            ("ab", "it is 2 characters long; bucket names have 3 to 63"),
            (
                "a".repeat(64).as_str(),
                "it is 64 characters long; bucket names have 3 to 63",
            ),
            ("-abc", "it must begin and end with a letter or digit"),
            ("abc.", "it must begin and end with a letter or digit"),
            ("a..b", "it must not contain two adjacent periods"),
            ("127.0.0.1", "it must not be formatted as an IP address"),
            ("192.168.5.4", "it must not be formatted as an IP address"),
            ("xn--abc", "the prefix \"xn--\" is reserved by S3"),
            ("sthree-abc", "the prefix \"sthree-\" is reserved by S3"),
            (
                "amzn-s3-demo-bucket",
                "the prefix \"amzn-s3-demo-\" is reserved by S3",
            ),
            ("abc-s3alias", "the suffix \"-s3alias\" is reserved by S3"),
            ("abc--ol-s3", "the suffix \"--ol-s3\" is reserved by S3"),
            ("abc.mrap", "the suffix \".mrap\" is reserved by S3"),
            ("abc--x-s3", "the suffix \"--x-s3\" is reserved by S3"),
            (
                "abc--table-s3",
                "the suffix \"--table-s3\" is reserved by S3",
            ),
        ] {
            let error = validate_bucket_name(name).unwrap_err();
            assert_eq!(error.kind, NameKind::Bucket, "{name}");
            assert_eq!(error.reason, reason, "{name}");
        }
        assert_eq!(
            validate_bucket_name("127.0.0.1:7777/x")
                .unwrap_err()
                .to_string(),
            "bucket name \"127.0.0.1:7777/x\" is not a valid S3 bucket name: only lowercase letters, digits, '.' and '-' are allowed"
        );
        // the name is quoted escaped and cut, whatever it holds
        let long = format!("\u{1b}[31m{}", "A".repeat(10_000));
        let message = validate_bucket_name(&long).unwrap_err().to_string();
        assert!(
            message.starts_with("bucket name \"\\u{1b}[31mAAA"),
            "{message}"
        );
        assert!(message.contains("… (10005 bytes)\""), "{message}");
        assert!(message.len() < 250, "{message}");
    }

    #[test]
    fn good_and_bad_keys() {
        for key in [
            "summary2/SRR1.summary",
            "a/b=1/c.parquet",
            "SRR1 copy+1.summary",
            "caf\u{e9}/x",
            ".hidden/x",
            "a/.../b",
            "a..b/c",
            "/leading/slash",
            "k".repeat(1024).as_str(),
        ] {
            assert_eq!(validate_object_key(key), Ok(()), "{key}");
        }
        let dots = "it has a '.' or '..' path segment, which HTTP clients resolve to another path";
        for (key, reason) in [
            ("", "it is empty"),
            (
                "k".repeat(1025).as_str(),
                "it is 1025 bytes long; keys have at most 1024",
            ),
            (
                "\u{e9}".repeat(513).as_str(),
                "it is 1026 bytes long; keys have at most 1024",
            ),
            ("a\nb", "it contains a control character"),
            ("a\u{1b}[2Jb", "it contains a control character"),
            ("a\u{7f}", "it contains a control character"),
            ("a\u{85}", "it contains a control character"),
            ("..", dots),
            (".", dots),
            ("../lake/_manifests/x", dots),
            ("a/../../lake/x", dots),
            ("a/./b", dots),
            ("a/..", dots),
        ] {
            let error = validate_object_key(key).unwrap_err();
            assert_eq!(
                (error.kind, error.reason.as_str()),
                (NameKind::Key, reason),
                "{key:?}"
            );
        }
        assert_eq!(validate_key_prefix(""), Ok(()));
        assert_eq!(validate_key_prefix("nucleotide/"), Ok(()));
        assert_eq!(
            validate_key_prefix("a/../").unwrap_err().to_string(),
            format!("key prefix \"a/../\" is not a valid S3 key prefix: {dots}")
        );
        assert_eq!(
            validate_object_key("a\nb").unwrap_err().to_string(),
            "object key \"a\\nb\" is not a valid S3 object key: it contains a control character"
        );
    }

    #[test]
    fn no_request_is_built_from_an_invalid_name() {
        let bad_bucket = "127.0.0.1:7777/x";
        for endpoint in [local(), S3Endpoint::aws("us-east-1")] {
            assert!(endpoint.get_object(bad_bucket, "k").is_err());
            assert!(endpoint.delete_object(bad_bucket, "k").is_err());
            assert!(endpoint
                .put_object(bad_bucket, "k", Vec::new(), PARQUET_CONTENT_TYPE)
                .is_err());
            assert!(endpoint.list_objects(bad_bucket, "", None).is_err());
            assert!(endpoint.get_object("lake", "a/../x").is_err());
            assert!(endpoint.get_object("lake", "").is_err());
            assert!(endpoint
                .put_object("lake", "a\rb", Vec::new(), PARQUET_CONTENT_TYPE)
                .is_err());
            assert!(endpoint.delete_object("lake", "./x").is_err());
            assert!(endpoint.list_objects("lake", "x/../", None).is_err());
            assert!(endpoint.list_objects("lake", "", None).is_ok());
        }
    }

    #[test]
    fn xml_answers() {
        let error = b"<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please &amp; reduce</Message></Error>";
        assert_eq!(
            parse_error(error),
            (Some("SlowDown".into()), Some("Please & reduce".into()))
        );
        let page = b"<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a/1</Key><Size>10</Size></Contents>\
                     <Contents><Key>a/&lt;2&#38;&#x20;\xc3\xa9</Key><Size>0</Size></Contents><NextContinuationToken>tok</NextContinuationToken></ListBucketResult>";
        assert_eq!(
            parse_list(page).unwrap(),
            ListPage {
                keys: vec!["a/1".into(), "a/<2& \u{e9}".into()],
                sizes: vec![10, 0],
                next: Some("tok".into())
            }
        );
        let last = b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
        assert_eq!(
            parse_list(last).unwrap(),
            ListPage {
                keys: vec![],
                sizes: vec![],
                next: None
            }
        );
        let cut = b"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
        assert!(parse_list(cut)
            .unwrap_err()
            .contains("NextContinuationToken"));
        assert!(parse_list(b"<ListBucketResult><Contents>").is_err());
        let sizeless = b"<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>";
        assert!(parse_list(sizeless)
            .unwrap_err()
            .contains("1 keys but 0 sizes"));
        assert_eq!(parse_error(b"not xml at all"), (None, None));
    }
}
