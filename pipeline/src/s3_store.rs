//! The lake in S3: the object store over signed S3 requests.

use crate::error::{Error, Result};
use summary_aws::s3::{parse_list, ListPage, PutCondition, PARQUET_CONTENT_TYPE};

use crate::aws_client::{describe_failure, object_url, AwsClient};
use crate::store::{check_key, conflict, Expected, ObjectStore, PutOutcome, Versioned};

/// Answers of S3 other than a fetched object are small.
const MAX_ANSWER: u64 = 16 << 20;

pub struct S3Store<'a> {
    client: &'a AwsClient,
    bucket: String,
    /// Without slashes at the ends; may be empty.
    prefix: String,
    /// Send conditional writes with their `If-Match` / `If-None-Match`.
    conditional: bool,
}

impl<'a> S3Store<'a> {
    pub fn new(client: &'a AwsClient, bucket: String, prefix: String) -> Self {
        S3Store {
            client,
            bucket,
            prefix,
            conditional: true,
        }
    }

    /// For a store that refuses conditional writes (501): they become plain
    /// writes, safe only with a single writer per kind.
    pub fn without_conditional_writes(mut self) -> Self {
        self.conditional = false;
        self
    }

    fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    /// One ListObjectsV2 page under `full` (a full key prefix), as
    /// `request` asks for it.
    fn list_page(
        &self,
        full: &str,
        request: impl Fn(
            &summary_aws::s3::S3Endpoint,
        ) -> std::result::Result<
            summary_aws::request::HttpRequest,
            summary_aws::s3::InvalidName,
        >,
    ) -> Result<ListPage> {
        let response = self
            .client
            .call_s3(request(&self.client.config.s3), MAX_ANSWER)?;
        if !response.is_success() {
            return Err(Error::Permanent(describe_failure(
                &format!("LIST {}", object_url(&self.bucket, full)),
                &response,
            )));
        }
        parse_list(&response.body).map_err(Error::Permanent)
    }

    fn content_type(key: &str) -> &'static str {
        if key.ends_with(".parquet") {
            PARQUET_CONTENT_TYPE
        } else {
            "application/json"
        }
    }
}

impl ObjectStore for S3Store<'_> {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        check_key(key)?;
        let full = self.full_key(key);
        let response = self.client.call_s3(
            self.client.config.s3.put_object(
                &self.bucket,
                &full,
                bytes.to_vec(),
                Self::content_type(key),
            ),
            MAX_ANSWER,
        )?;
        if !response.is_success() {
            return Err(Error::Permanent(describe_failure(
                &format!("PUT {}", object_url(&self.bucket, &full)),
                &response,
            )));
        }
        Ok(PutOutcome::Written)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_versioned(key)?.map(|object| object.bytes))
    }

    fn get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        check_key(key)?;
        let full = self.full_key(key);
        let response = self.client.call_s3(
            self.client.config.s3.get_object(&self.bucket, &full),
            MAX_ANSWER,
        )?;
        match response.status {
            200 => match response.header("etag") {
                Some(etag) if !etag.is_empty() => Ok(Some(Versioned {
                    etag: etag.to_string(),
                    bytes: response.body,
                })),
                _ => Err(Error::Permanent(format!(
                    "GET {}: the store answered without an ETag, which conditional writes need",
                    object_url(&self.bucket, &full)
                ))),
            },
            404 => Ok(None),
            _ => Err(Error::Permanent(describe_failure(
                &format!("GET {}", object_url(&self.bucket, &full)),
                &response,
            ))),
        }
    }

    fn put_if(&self, key: &str, bytes: &[u8], expected: &Expected) -> Result<String> {
        check_key(key)?;
        let full = self.full_key(key);
        let condition = match expected {
            Expected::Absent => PutCondition::Absent,
            Expected::Version(etag) => PutCondition::Matches(etag),
        };
        let s3 = &self.client.config.s3;
        let (body, content_type) = (bytes.to_vec(), Self::content_type(key));
        let request = if self.conditional {
            s3.put_object_if(&self.bucket, &full, body, content_type, condition)
        } else {
            s3.put_object(&self.bucket, &full, body, content_type)
        };
        let response = self.client.call_s3(request, MAX_ANSWER)?;
        let doing = || format!("conditional PUT {}", object_url(&self.bucket, &full));
        match response.status {
            200..=299 => match response.header("etag") {
                Some(etag) if !etag.is_empty() => Ok(etag.to_string()),
                _ => Err(Error::Permanent(format!(
                    "{}: the store answered without an ETag, which conditional writes need",
                    doing()
                ))),
            },
            // 409: another conditional write to the key is in flight.
            412 | 409 => Err(conflict(key, expected)),
            // Not Permanent: the summary is fine, the store is not; the
            // event stays with its sender until the operator decides.
            501 => Err(Error::Transient(format!(
                "{}: this store does not support conditional writes (If-Match, \
                 If-None-Match), which keep concurrent writers from undoing each \
                 other's work. Use a store that does (AWS S3 since 2024, MinIO, \
                 s3s-fs), or run a single writer per kind and set \
                 SUMMARY_UNCONDITIONAL_WRITES=1 to write without them",
                describe_failure(&doing(), &response)
            ))),
            _ => Err(Error::Permanent(describe_failure(&doing(), &response))),
        }
    }

    fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        let full = self.full_key(key);
        let response = self.client.call_s3(
            self.client.config.s3.delete_object(&self.bucket, &full),
            MAX_ANSWER,
        )?;
        if !(response.is_success() || response.status == 404) {
            return Err(Error::Permanent(describe_failure(
                &format!("DELETE {}", object_url(&self.bucket, &full)),
                &response,
            )));
        }
        Ok(())
    }

    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let keys = self.list(prefix)?;
        for key in &keys {
            self.delete(key)?;
        }
        Ok(keys.len() as u64)
    }

    fn has_objects(&self, prefix: &str) -> Result<bool> {
        check_key(prefix.trim_end_matches('/'))?;
        let full = self.full_key(prefix);
        let page = self.list_page(&full, |s3| s3.list_first_object(&self.bucket, &full))?;
        Ok(!page.keys.is_empty())
    }

    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        check_key(prefix.trim_end_matches('/'))?;
        let full = self.full_key(prefix);
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.list_page(&full, |s3| {
                s3.list_objects(&self.bucket, &full, token.as_deref())
            })?;
            let strip = full.len() - prefix.len();
            objects.extend(
                page.keys
                    .into_iter()
                    .zip(page.sizes)
                    .filter_map(|(key, size)| Some((key.get(strip..)?.to_string(), size))),
            );
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        objects.sort();
        Ok(objects)
    }

    fn describe(&self) -> String {
        self.lake_url().unwrap_or_default()
    }

    fn lake_url(&self) -> Option<String> {
        Some(if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        })
    }
}
