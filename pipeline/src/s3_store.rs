//! The lake in S3: the object store over signed S3 requests.

use crate::error::{Error, Result};
use summary_aws::s3::{parse_list, PARQUET_CONTENT_TYPE};

use crate::aws_client::{describe_failure, object_url, AwsClient};
use crate::store::{check_key, ObjectStore, PutOutcome};

/// Answers of S3 other than a fetched object are small.
const MAX_ANSWER: u64 = 16 << 20;

pub struct S3Store<'a> {
    client: &'a AwsClient,
    bucket: String,
    /// Without slashes at the ends; may be empty.
    prefix: String,
}

impl<'a> S3Store<'a> {
    pub fn new(client: &'a AwsClient, bucket: String, prefix: String) -> Self {
        S3Store {
            client,
            bucket,
            prefix,
        }
    }

    fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
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
        check_key(key)?;
        let full = self.full_key(key);
        let response = self.client.call_s3(
            self.client.config.s3.get_object(&self.bucket, &full),
            MAX_ANSWER,
        )?;
        match response.status {
            200 => Ok(Some(response.body)),
            404 => Ok(None),
            _ => {
                return Err(Error::Permanent(describe_failure(
                    &format!("GET {}", object_url(&self.bucket, &full)),
                    &response,
                )))
            }
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

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        check_key(prefix.trim_end_matches('/'))?;
        let full = self.full_key(prefix);
        let s3 = &self.client.config.s3;
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let response = self.client.call_s3(
                s3.list_objects(&self.bucket, &full, token.as_deref()),
                MAX_ANSWER,
            )?;
            if !response.is_success() {
                return Err(Error::Permanent(describe_failure(
                    &format!("LIST {}", object_url(&self.bucket, &full)),
                    &response,
                )));
            }
            let page = parse_list(&response.body).map_err(Error::Permanent)?;
            let strip = full.len() - prefix.len();
            keys.extend(
                page.keys
                    .into_iter()
                    .filter_map(|key| key.get(strip..).map(str::to_string)),
            );
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        keys.sort();
        Ok(keys)
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
