//! Credentials and region found the way the AWS CLI and SDKs find them,
//! by the official `aws-config` crate: environment, `~/.aws/config` and
//! `~/.aws/credentials` profiles (static keys, `credential_process`, SSO,
//! assumed roles, `web_identity_token_file`), web identity (IRSA, GitHub
//! Actions OIDC), ECS/EKS container endpoints and IMDSv2; the region from
//! the environment, the profile or IMDS. The credentials feed the
//! project's own SigV4 signing (`summary_aws::request`).

use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use aws_config::environment::EnvironmentVariableRegionProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use summary_aws::request::Credentials;
use summary_pipeline::aws_client::CredentialsProvider;

/// The region when neither the environment, the profile nor IMDS names one.
pub const FALLBACK_REGION: &str = "us-east-1";

/// What `aws-config` found.
pub struct Resolved {
    /// `None`: nowhere named one.
    pub region: Option<String>,
    pub credentials: SdkCredentials,
}

/// Resolves region and credentials' chain as the AWS CLI would, with
/// `profile` (`--profile`, else `AWS_PROFILE`, else `default`) and `region`
/// (`--region`, else the chain) given by flags. Credentials are not
/// fetched here: a command that never signs never needs any.
pub fn resolve(profile: Option<&str>, region: Option<&str>) -> Result<Resolved> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http.clone())
        // For aws-config's own calls (STS, SSO, IMDS). Given here so that it
        // does not read AWS_RETRY_MODE / AWS_MAX_ATTEMPTS itself: it panics
        // on a value it does not know (`legacy`, a typo), where
        // `RetryPolicy::from_vars` answers with an error.
        .retry_config(aws_config::retry::RetryConfig::standard());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    loader = match region {
        Some(region) => loader.region(Region::new(region.to_string())),
        None => loader.region(region_chain(profile, http)),
    };
    let config = on_own_runtime(loader.load()).context("loading the AWS configuration")?;
    // Only absent with `no_credentials()`, which is never asked for.
    let provider = config
        .credentials_provider()
        .context("aws-config gave no credentials chain")?;
    Ok(Resolved {
        region: config.region().map(|r| r.as_ref().to_string()),
        credentials: SdkCredentials { provider },
    })
}

/// The SDKs' region chain (environment, profile, IMDS), with one quick
/// try at IMDS instead of four of a second each: a command run off EC2
/// with no region set (a local `replay`) must not wait for it.
fn region_chain(profile: Option<&str>, http: SharedHttpClient) -> RegionProviderChain {
    let config = ProviderConfig::without_region().with_http_client(http);
    let mut from_profile = ProfileFileRegionProvider::builder().configure(&config);
    if let Some(profile) = profile {
        from_profile = from_profile.profile_name(profile);
    }
    let imds = aws_config::imds::Client::builder()
        .configure(&config)
        .max_attempts(1)
        .connect_timeout(Duration::from_millis(300))
        .read_timeout(Duration::from_millis(500))
        .build();
    RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(from_profile.build())
        .or_else(
            ImdsRegionProvider::builder()
                .configure(&config)
                .imds_client(imds)
                .build(),
        )
}

/// The default chain's credentials, fetched when a call needs them (and
/// again when they near expiry or AWS says they expired).
#[derive(Clone)]
pub struct SdkCredentials {
    provider: SharedCredentialsProvider,
}

impl CredentialsProvider for SdkCredentials {
    fn provide(&self) -> Result<(Credentials, Option<SystemTime>), String> {
        let provider = self.provider.clone();
        let found = on_own_runtime(async move { provider.provide_credentials().await })
            .map_err(|e| format!("{e:#}"))?
            .map_err(|e| {
                format!(
                    "no AWS credentials (looked in the environment, the profile in ~/.aws, \
                     web identity, the container endpoint and the instance metadata service): {}",
                    error_chain(&e)
                )
            })?;
        Ok((
            Credentials {
                access_key_id: found.access_key_id().to_string(),
                secret_access_key: found.secret_access_key().to_string(),
                // Some endpoints answer `"Token": ""` for keys without one.
                session_token: found
                    .session_token()
                    .filter(|token| !token.is_empty())
                    .map(str::to_string),
            },
            found.expiry(),
        ))
    }
}

/// An error and its sources, each once (aws-config's chain error names
/// every provider it tried and why each gave nothing).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// Runs `work` to completion on a runtime of its own, on a thread of its
/// own: callers may be inside another runtime (the Lambda loop's), where
/// blocking on a second one is not allowed.
fn on_own_runtime<T: Send>(work: impl std::future::Future<Output = T> + Send) -> Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("starting a runtime for aws-config")?;
                Ok(runtime.block_on(work))
            })
            .join()
            .map_err(|_| anyhow::anyhow!("aws-config panicked"))?
    })
}
