//! One module per command, plus the loading they share.

pub mod approvals;
pub mod catalog;
pub mod check;
pub mod evidence;
pub mod iam_policy;
pub mod pause;
pub mod plan;
pub mod rollback;
pub mod worker;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use redress_playbooks::config::Config;
use redress_playbooks::exceptions::{self, Exception};
use redress_playbooks::playbook::{self, Catalog};

/// Loads the config's playbook catalog; refuses one with errors (warnings go to stderr).
pub fn load_catalog(config: &Config) -> Result<Catalog> {
    let (catalog, diags) = playbook::load_catalog(&config.playbooks).with_context(|| {
        format!(
            "cannot read the playbook folder {}",
            config.playbooks.display()
        )
    })?;
    for d in &diags {
        eprintln!("{d}");
    }
    if playbook::has_errors(&diags) {
        bail!(
            "the playbooks in {} have errors; `redress check` lists them",
            config.playbooks.display()
        );
    }
    Ok(catalog)
}

/// Loads the config's exceptions file, if it names one.
pub fn load_exceptions(config: &Config, now: DateTime<Utc>) -> Result<Vec<Exception>> {
    let Some(path) = &config.exceptions else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the exceptions file {}", path.display()))?;
    match exceptions::parse(path, &text, now) {
        Ok((list, warnings)) => {
            for w in &warnings {
                eprintln!("{w}");
            }
            Ok(list)
        }
        Err(diags) => {
            let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
            bail!("invalid exceptions file:\n{}", lines.join("\n"))
        }
    }
}

/// A tokio runtime for the commands that talk to AWS.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The SDK config from the standard chain (environment, profile, container role), which
/// honours `AWS_ENDPOINT_URL`. Retries are the SDK's adaptive mode (it slows down when AWS
/// throttles) unless `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS` say otherwise, and every call is
/// bounded in time, so a remediation ends well inside its claim lease.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .operation_attempt_timeout(std::time::Duration::from_secs(15))
            .operation_timeout(std::time::Duration::from_secs(45))
            .build(),
    );
    if std::env::var_os("AWS_RETRY_MODE").is_none()
        && std::env::var_os("AWS_MAX_ATTEMPTS").is_none()
    {
        loader =
            loader.retry_config(aws_config::retry::RetryConfig::adaptive().with_max_attempts(5));
    }
    loader.load().await
}

/// The store named by the config.
pub fn open_store(
    config: &Config,
    sdk: &aws_config::SdkConfig,
) -> Result<std::sync::Arc<dyn crate::store::Store>> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some())
            .build(),
    );
    let store = crate::store::open(&config.store.url, Some(s3))
        .with_context(|| format!("cannot open the store {}", config.store.url))?;
    Ok(std::sync::Arc::from(store))
}

/// Loads everything the executor needs.
pub async fn build_engine(
    config: Config,
    force_dry_run: bool,
) -> Result<(crate::executor::Engine, aws_config::SdkConfig)> {
    let now = Utc::now();
    let config_for_slack = config.clone();
    let catalog = load_catalog(&config)?;
    let exceptions = load_exceptions(&config, now)?;
    let sdk = sdk_config().await;
    let store = open_store(&config, &sdk)?;
    let factory = crate::aws::ClientFactory::new(
        sdk.clone(),
        config.aws.assume_role.clone(),
        config.aws.external_id.clone(),
    );
    let lease = config
        .queue
        .as_ref()
        .map_or(std::time::Duration::from_secs(300), |q| q.claim_lease());
    Ok((
        crate::executor::Engine {
            catalog,
            config,
            exceptions,
            store,
            factory,
            force_dry_run,
            claim_lease: lease,
            clock: Utc::now,
            slack: crate::approvals::slack_client(&config_for_slack)
                .context("cannot set up the Slack client for `[slack]`")?,
            pause: std::sync::RwLock::new(None),
            pause_read_at: std::sync::Mutex::new(None),
            nudged: std::sync::Mutex::new(std::collections::HashMap::new()),
            breaker_cache: crate::breaker::Cache::default(),
        },
        sdk,
    ))
}
