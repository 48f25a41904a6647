//! AWS clients for the finding's account and region.
//!
//! Every call goes to the finding's account and region. With `[aws] assume_role` the
//! factory assumes that role (with `{account}` substituted) under a session name that
//! names the playbook; credentials are cached by the SDK's identity cache until shortly
//! before they expire. Without it, the worker's own credentials are used and findings for
//! another account are refused.

mod error;

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_s3::config::Region;
use tokio::sync::Mutex;

pub use error::{AwsError, ErrorClass};

/// Clients bound to one account and region.
#[derive(Debug, Clone)]
pub struct Clients {
    pub account: String,
    pub region: String,
    pub partition: String,
    pub s3: aws_sdk_s3::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub iam: aws_sdk_iam::Client,
    pub config: aws_sdk_config::Client,
    pub s3control: aws_sdk_s3control::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub guardduty: aws_sdk_guardduty::Client,
    pub kms: aws_sdk_kms::Client,
}

impl Clients {
    pub fn new(sdk: &SdkConfig, account: &str, region: &str, partition: &str) -> Self {
        let s3_conf = aws_sdk_s3::config::Builder::from(sdk)
            // moto on `localhost` needs path-style; 127.0.0.1 and real S3 accept it too for
            // the bucket-level calls redress makes.
            .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some())
            .build();
        Clients {
            account: account.to_owned(),
            region: region.to_owned(),
            partition: partition.to_owned(),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            s3control: aws_sdk_s3control::Client::new(sdk),
            cloudtrail: aws_sdk_cloudtrail::Client::new(sdk),
            guardduty: aws_sdk_guardduty::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            ec2: aws_sdk_ec2::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
            // Re-evaluation is a best-effort nudge after a verified fix: one try, no
            // retries to hold the remediation up.
            config: aws_sdk_config::Client::from_conf(
                aws_sdk_config::config::Builder::from(sdk)
                    .retry_config(aws_sdk_config::config::retry::RetryConfig::disabled())
                    .build(),
            ),
        }
    }
}

/// Why clients for a finding could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ReachError {
    #[error(
        "the finding is for account {finding} but the worker's credentials are for account {own}, and `[aws] assume_role` is not set"
    )]
    OtherAccount { finding: String, own: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Makes (and caches) clients per account, region and playbook.
pub struct ClientFactory {
    base: SdkConfig,
    assume_role: Option<String>,
    external_id: Option<String>,
    own_account: Mutex<Option<String>>,
    cache: Mutex<HashMap<(String, String, String), Arc<Clients>>>,
}

impl ClientFactory {
    /// `base` comes from the standard chain (`aws_config::load_defaults`), which honours
    /// `AWS_ENDPOINT_URL`, profiles, the container role and the SDK's retry settings.
    pub fn new(base: SdkConfig, assume_role: Option<String>, external_id: Option<String>) -> Self {
        ClientFactory {
            base,
            assume_role,
            external_id,
            own_account: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn base(&self) -> &SdkConfig {
        &self.base
    }

    /// The account of the worker's own credentials (STS GetCallerIdentity, asked once).
    pub async fn own_account(&self) -> Result<String, AwsError> {
        let mut own = self.own_account.lock().await;
        if let Some(a) = own.as_ref() {
            return Ok(a.clone());
        }
        let sts = aws_sdk_sts::Client::new(&self.base);
        let who = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sts:GetCallerIdentity", e))?;
        let account = who.account().unwrap_or_default().to_owned();
        *own = Some(account.clone());
        Ok(account)
    }

    /// Clients for `account` and `region`, acting for `playbook`.
    pub async fn clients(
        &self,
        account: &str,
        region: &str,
        partition: &str,
        playbook: &str,
    ) -> Result<Arc<Clients>, ReachError> {
        let key = (account.to_owned(), region.to_owned(), playbook.to_owned());
        if let Some(c) = self.cache.lock().await.get(&key) {
            return Ok(c.clone());
        }
        let sdk = match &self.assume_role {
            Some(template) => {
                let role_arn = template.replace("{account}", account);
                let mut builder =
                    AssumeRoleProvider::builder(role_arn).session_name(session_name(playbook));
                if let Some(id) = &self.external_id {
                    builder = builder.external_id(id);
                }
                let provider = builder
                    .region(Region::new(region.to_owned()))
                    .configure(&self.base)
                    .build()
                    .await;
                self.base
                    .to_builder()
                    .region(Region::new(region.to_owned()))
                    .credentials_provider(
                        aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                    )
                    // One cache per assumed session, shared by the clients below: the role is
                    // assumed again only shortly before its credentials expire.
                    .identity_cache(IdentityCache::lazy().build())
                    .build()
            }
            None => {
                let own = self.own_account().await?;
                if own != account {
                    return Err(ReachError::OtherAccount {
                        finding: account.to_owned(),
                        own,
                    });
                }
                self.base
                    .to_builder()
                    .region(Region::new(region.to_owned()))
                    .build()
            }
        };
        let clients = Arc::new(Clients::new(&sdk, account, region, partition));
        self.cache.lock().await.insert(key, clients.clone());
        Ok(clients)
    }
}

/// `redress-<playbook>`, cut to the 64 characters STS allows.
fn session_name(playbook: &str) -> String {
    let mut name = format!("redress-{playbook}");
    name.truncate(64);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_fit_sts_limits() {
        assert_eq!(
            session_name("s3-block-public-access"),
            "redress-s3-block-public-access"
        );
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
    }
}
