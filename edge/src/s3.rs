//! S3 REST requests (path-style or virtual-host addressing) and the parts
//! of S3's XML answers the edge function needs.

use base64::Engine as _;
use sha2::{Digest, Sha256};

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

    fn request(&self, method: &'static str, bucket: &str, key: &str, query: &str) -> HttpRequest {
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
        HttpRequest {
            method,
            url: format!("{}://{authority}{path}{query}", self.endpoint.scheme),
            headers: vec![("host".into(), authority)],
            body: Vec::new(),
        }
    }

    pub fn get_object(&self, bucket: &str, key: &str) -> HttpRequest {
        self.request("GET", bucket, key, "")
    }

    /// A PUT carrying its SHA-256 checksum, which S3 verifies.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> HttpRequest {
        let mut request = self.request("PUT", bucket, key, "");
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
        request
    }

    pub fn delete_object(&self, bucket: &str, key: &str) -> HttpRequest {
        self.request("DELETE", bucket, key, "")
    }

    /// ListObjectsV2 of one page under `prefix`.
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> HttpRequest {
        let mut query = format!("list-type=2&prefix={}", encode_query(prefix));
        if let Some(token) = continuation {
            query = format!("continuation-token={}&{query}", encode_query(token));
        }
        self.request("GET", bucket, "", &query)
    }
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

/// `<Code>` and `<Message>` of an S3 error document.
pub fn parse_error(xml: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(xml);
    (
        xml_values(&text, "Code").into_iter().next(),
        xml_values(&text, "Message").into_iter().next(),
    )
}

/// Keys and the continuation token of a ListObjectsV2 page.
pub fn parse_list(xml: &[u8]) -> (Vec<String>, Option<String>) {
    let text = String::from_utf8_lossy(xml);
    let truncated = xml_values(&text, "IsTruncated")
        .first()
        .is_some_and(|v| v == "true");
    let token = if truncated {
        xml_values(&text, "NextContinuationToken")
            .into_iter()
            .next()
    } else {
        None
    };
    (xml_values(&text, "Key"), token)
}

/// Text of every `<tag>…</tag>`, entities decoded (S3's answers are flat
/// enough that this is all the XML the host needs).
fn xml_values(text: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut values = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        values.push(
            after[..end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &after[end + close.len()..];
    }
    values
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
        let get = local().get_object("lake", "summary2/SRR1 copy+1.summary");
        assert_eq!(
            get.url,
            "http://127.0.0.1:9000/lake/summary2/SRR1%20copy%2B1.summary"
        );
        assert_eq!(get.header("host"), Some("127.0.0.1:9000"));
        let aws = S3Endpoint::aws("us-east-1").get_object("lake", "a/b=1/c.parquet");
        assert_eq!(
            aws.url,
            "https://lake.s3.us-east-1.amazonaws.com/a/b%3D1/c.parquet"
        );
        assert_eq!(aws.header("host"), Some("lake.s3.us-east-1.amazonaws.com"));
    }

    #[test]
    fn put_carries_checksum_and_type() {
        let put = local().put_object("lake", "k.parquet", b"hello".to_vec(), PARQUET_CONTENT_TYPE);
        assert_eq!(
            put.header("x-amz-checksum-sha256"),
            Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        );
        assert_eq!(put.header("content-type"), Some(PARQUET_CONTENT_TYPE));
        assert_eq!(put.header("content-length"), Some("5"));
        let list = local().list_objects("lake", "nucleotide/", Some("t/1"));
        assert_eq!(
            list.url,
            "http://127.0.0.1:9000/lake/?continuation-token=t%2F1&list-type=2&prefix=nucleotide%2F"
        );
    }

    #[test]
    fn xml_answers() {
        let error = b"<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please &amp; reduce</Message></Error>";
        assert_eq!(
            parse_error(error),
            (Some("SlowDown".into()), Some("Please & reduce".into()))
        );
        let page = b"<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a/1</Key></Contents>\
                     <Contents><Key>a/&lt;2</Key></Contents><NextContinuationToken>tok</NextContinuationToken></ListBucketResult>";
        assert_eq!(
            parse_list(page),
            (vec!["a/1".into(), "a/<2".into()], Some("tok".into()))
        );
        let last = b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
        assert_eq!(parse_list(last), (vec![], None));
    }
}
