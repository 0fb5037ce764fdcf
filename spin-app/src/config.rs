//! The app's configuration, from Spin variables (`spin.toml` declares them
//! and maps them from application variables; credentials are secrets).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use std::sync::Arc;
use summary_aws::credentials::Source;
use summary_lake::source::{default_routes, RouteRule};
use summary_lake::Layout;
use summary_pipeline::aws_client::{AwsClient, AwsConfig};
use summary_pipeline::descriptor::{DescribedStore, LakeLayout};
use summary_pipeline::endpoint::{
    Authenticator, SnsOptions, SnsTopics, DEFAULT_SNS_MAX_AGE, LONGEST_SNS_MAX_AGE,
};
use summary_pipeline::events::Pipeline;
use summary_pipeline::glue_catalog::GlueCatalog;
use summary_pipeline::s3_store::S3Store;
use summary_pipeline::store::ObjectStore;

use crate::converter::ImportedConverter;
use crate::transport::WasiHttp;

/// A Spin variable; unset and empty are the same.
fn variable(name: &str) -> Option<String> {
    spin_sdk::variables::get(name)
        .ok()
        .filter(|value| !value.is_empty())
}

/// A yes/no Spin variable's value (`1`/`0`, `true`/`false`, `yes`/`no`,
/// `on`/`off`); unset or empty is `false`.
fn flag(name: &str, value: Option<String>) -> Result<bool> {
    summary_aws::boolean::setting(&format!("the Spin variable {name}"), value.as_deref())
        .map_err(anyhow::Error::msg)
}

/// How a Spin operator accepts SNS topics (quoted when none is).
const HOW_TO_ACCEPT_TOPICS: &str =
    "set the Spin variable sns_topic_arns (comma-separated), or sns_any_topic=true to accept any topic";

pub struct App {
    aws: AwsConfig,
    bucket: String,
    prefix: String,
    /// `None`: leave the Glue catalog alone.
    glue_database: Option<String>,
    routes: Vec<RouteRule>,
    max_summary_bytes: u64,
    api_key_header: String,
    api_key: Option<String>,
    sns_topics: SnsTopics,
    sns_max_age: Duration,
    /// A PEM certificate SNS messages must verify against, instead of the
    /// one their SigningCertURL names.
    sns_cert: Option<Vec<u8>>,
    /// A store without conditional writes (501): plain writes, one writer
    /// per kind.
    unconditional_writes: bool,
    /// `lake_layout`: the layout of a new lake.
    layout: Option<Layout>,
}

impl App {
    pub fn from_variables() -> Result<Self> {
        // The AWS names of the native host's environment, lower-cased as
        // Spin variable names must be.
        let aws = AwsConfig::from_vars(|name| variable(&name.to_ascii_lowercase()))?;
        if !matches!(aws.credentials, Ok(Source::Environment(_))) {
            bail!("set the Spin variables aws_access_key_id and aws_secret_access_key (secrets)");
        }
        let bucket = variable("lake_bucket").context("the Spin variable lake_bucket is not set")?;
        let routes = match variable("routes") {
            None => default_routes(),
            Some(list) => list
                .split(',')
                .map(|rule| rule.trim().parse::<RouteRule>())
                .collect::<Result<_, _>>()
                .map_err(anyhow::Error::msg)
                .context("the Spin variable routes")?,
        };
        let sns_topics = SnsTopics::from_options(
            variable("sns_topic_arns")
                .map(|list| list.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            flag("sns_any_topic", variable("sns_any_topic"))?,
        )
        .map_err(anyhow::Error::msg)
        .context("the Spin variables sns_topic_arns and sns_any_topic")?;
        let sns_max_age = match variable("sns_max_age_seconds") {
            None => DEFAULT_SNS_MAX_AGE,
            Some(text) => text
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
                .filter(|age| !age.is_zero() && *age <= LONGEST_SNS_MAX_AGE)
                .with_context(|| {
                    format!(
                        "the Spin variable sns_max_age_seconds: {text:?} is not a number of seconds from 1 to {}",
                        LONGEST_SNS_MAX_AGE.as_secs()
                    )
                })?,
        };
        let max_summary_bytes = match variable("max_summary_bytes") {
            None => 256 << 20,
            Some(text) => text
                .parse()
                .with_context(|| format!("the Spin variable max_summary_bytes: {text:?}"))?,
        };
        Ok(App {
            aws,
            bucket,
            prefix: variable("lake_prefix")
                .unwrap_or_default()
                .trim_matches('/')
                .to_string(),
            glue_database: variable("glue_database"),
            routes,
            max_summary_bytes,
            api_key_header: variable("api_key_header").unwrap_or_else(|| "x-api-key".into()),
            api_key: variable("api_key"),
            sns_topics,
            sns_max_age,
            sns_cert: variable("sns_signing_cert").map(String::into_bytes),
            unconditional_writes: flag("unconditional_writes", variable("unconditional_writes"))?,
            layout: variable("lake_layout")
                .map(|text| text.parse::<Layout>())
                .transpose()
                .map_err(anyhow::Error::msg)
                .context("the Spin variable lake_layout")?,
        })
    }

    /// Wires the shared pipeline to this component's I/O for one request.
    pub fn with_pipeline<R>(self, work: impl FnOnce(&Pipeline, &Authenticator) -> R) -> R {
        let client = AwsClient::new(self.aws, Box::new(WasiHttp));
        let mut store = S3Store::new(&client, self.bucket, self.prefix);
        if self.unconditional_writes {
            store = store.without_conditional_writes();
        }
        let lake_url = store.lake_url().unwrap_or_default();
        // The lake's descriptor says its layout (a new lake gets
        // `lake_layout`, else run-bucket), read when an event needs it; a
        // lake of another layout than asked gets no write.
        let layout = Arc::new(LakeLayout::new(self.layout, true));
        let store = DescribedStore {
            inner: Box::new(store),
            layout: layout.clone(),
        };
        let catalog = self
            .glue_database
            .map(|database| GlueCatalog::new(&client, database, lake_url));
        let sns = SnsOptions {
            topics: self.sns_topics,
            how_to_accept_topics: HOW_TO_ACCEPT_TOPICS,
            max_age: self.sns_max_age,
            cert: self.sns_cert,
        };
        let auth = Authenticator::new(&self.api_key_header, self.api_key, sns, Box::new(WasiHttp));
        let pipeline = Pipeline {
            converter: &ImportedConverter,
            lake: &store,
            layout: &layout,
            source: &client,
            catalog: catalog
                .as_ref()
                .map(|c| c as &dyn summary_pipeline::apply::Catalog),
            routes: self.routes,
            max_source_bytes: self.max_summary_bytes,
            // wasm has no threads: one request at a time.
            io_concurrency: 1,
        };
        work(&pipeline, &auth)
    }
}
