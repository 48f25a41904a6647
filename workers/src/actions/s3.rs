//! S3 actions: Block Public Access (bucket and account), default encryption, a TLS-only
//! bucket policy statement, Object Ownership (ACLs off), access logging, versioning and
//! public ACL grants.
//!
//! Each reads one configuration, puts a new one, and reverts by putting the captured
//! configuration back (or deleting it when there was none).

use async_trait::async_trait;
use aws_sdk_s3::types::{
    AccessControlPolicy, BlockedEncryptionTypes, BucketLoggingStatus, BucketLogsPermission,
    BucketVersioningStatus, EncryptionType, Grant, Grantee, LoggingEnabled, ObjectOwnership, Owner,
    OwnershipControls, OwnershipControlsRule, PartitionDateSource, PartitionedPrefix, Permission,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, SimplePrefix, TargetGrant,
    TargetObjectKeyFormat, Type, VersioningConfiguration,
};
use redress_playbooks::actions::Params;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Action, ActionError, Call, Ctx, State, bool_param, opt_str_param, str_param};
use crate::aws::AwsError;

/// Parses a state this module produced (from `capture`, or from an evidence record).
fn parse_state<T: for<'de> Deserialize<'de>>(state: &State, what: &str) -> Result<T, ActionError> {
    serde_json::from_value(state.clone()).map_err(|e| {
        ActionError::Precondition(format!("the captured state is not a {what} state: {e}"))
    })
}

fn to_state<T: Serialize>(value: &T) -> Result<State, ActionError> {
    serde_json::to_value(value)
        .map_err(|e| ActionError::Precondition(format!("cannot record the captured state: {e}")))
}

/// Whether a failed read means "this bucket has no such configuration" (as opposed to "no
/// such bucket", or any other failure, which is an error).
fn is_missing_configuration(err: &AwsError, code: &str) -> bool {
    err.code() == Some(code) || (err.is_not_found() && err.code() != Some("NoSuchBucket"))
}

// ---------------------------------------------------------------------------------------
// s3.put_public_access_block
// ---------------------------------------------------------------------------------------

/// `s3.put_public_access_block`: turns on the bucket-level Block Public Access settings the
/// step asks for, keeping any setting that is already on.
pub struct PutPublicAccessBlock;

/// The four settings; a setting AWS leaves out is off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PabFlags {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PabFlags {
    fn from_params(p: &Params) -> Result<Self, ActionError> {
        Ok(PabFlags {
            block_public_acls: bool_param(p, "block_public_acls")?,
            ignore_public_acls: bool_param(p, "ignore_public_acls")?,
            block_public_policy: bool_param(p, "block_public_policy")?,
            restrict_public_buckets: bool_param(p, "restrict_public_buckets")?,
        })
    }

    fn from_sdk(c: &PublicAccessBlockConfiguration) -> Self {
        PabFlags {
            block_public_acls: c.block_public_acls().unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
            block_public_policy: c.block_public_policy().unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
        }
    }

    fn to_sdk(self) -> PublicAccessBlockConfiguration {
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(self.block_public_acls)
            .ignore_public_acls(self.ignore_public_acls)
            .block_public_policy(self.block_public_policy)
            .restrict_public_buckets(self.restrict_public_buckets)
            .build()
    }

    /// Every setting that is on in `self` is on in `other`.
    fn covered_by(self, other: PabFlags) -> bool {
        (!self.block_public_acls || other.block_public_acls)
            && (!self.ignore_public_acls || other.ignore_public_acls)
            && (!self.block_public_policy || other.block_public_policy)
            && (!self.restrict_public_buckets || other.restrict_public_buckets)
    }

    fn union(self, other: PabFlags) -> PabFlags {
        PabFlags {
            block_public_acls: self.block_public_acls || other.block_public_acls,
            ignore_public_acls: self.ignore_public_acls || other.ignore_public_acls,
            block_public_policy: self.block_public_policy || other.block_public_policy,
            restrict_public_buckets: self.restrict_public_buckets || other.restrict_public_buckets,
        }
    }
}

/// The captured state: the bucket's Block Public Access configuration, `null` when it has
/// none (every setting off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PabState {
    pub bucket: String,
    pub public_access_block: Option<PabFlags>,
}

impl PutPublicAccessBlock {
    /// The configuration apply puts: the step's settings plus the ones already on.
    fn target(params: &Params, before: &PabState) -> Result<PabFlags, ActionError> {
        let wanted = PabFlags::from_params(params)?;
        Ok(wanted.union(before.public_access_block.unwrap_or_default()))
    }

    fn put_call(bucket: &str, flags: PabFlags) -> Call {
        Call::new(
            "s3:PutPublicAccessBlock",
            json!({ "bucket": bucket, "public_access_block": flags }),
        )
    }

    fn plan(params: &Params, before: &State) -> Result<Vec<Call>, ActionError> {
        let before: PabState = parse_state(before, "public access block")?;
        let wanted = PabFlags::from_params(params)?;
        if wanted.covered_by(before.public_access_block.unwrap_or_default()) {
            return Ok(vec![]);
        }
        let target = Self::target(params, &before)?;
        Ok(vec![Self::put_call(&before.bucket, target)])
    }
}

#[async_trait]
impl Action for PutPublicAccessBlock {
    fn id(&self) -> &'static str {
        "s3.put_public_access_block"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let bucket = str_param(params, "bucket")?;
        let public_access_block = match cx
            .aws
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Some(
                out.public_access_block_configuration()
                    .map(PabFlags::from_sdk)
                    .unwrap_or_default(),
            ),
            Err(e) => {
                let err = AwsError::from_sdk("s3:GetBucketPublicAccessBlock", e);
                if is_missing_configuration(&err, "NoSuchPublicAccessBlockConfiguration") {
                    None
                } else {
                    return Err(err.into());
                }
            }
        };
        to_state(&PabState {
            bucket: bucket.to_owned(),
            public_access_block,
        })
    }

    fn compliant(&self, params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        let (Ok(state), Ok(wanted)) = (
            parse_state::<PabState>(state, "public access block"),
            PabFlags::from_params(params),
        ) else {
            return false;
        };
        wanted.covered_by(state.public_access_block.unwrap_or_default())
    }

    fn planned_calls(&self, params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(params, before).unwrap_or_default()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: PabState = parse_state(before, "public access block")?;
        let planned = Self::plan(params, before)?;
        if planned.is_empty() {
            return Ok(planned);
        }
        let target = Self::target(params, &state)?;
        cx.aws
            .s3
            .put_public_access_block()
            .bucket(&state.bucket)
            .public_access_block_configuration(target.to_sdk())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:PutBucketPublicAccessBlock", e))?;
        Ok(planned)
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: PabState = parse_state(before, "public access block")?;
        match state.public_access_block {
            Some(flags) => {
                cx.aws
                    .s3
                    .put_public_access_block()
                    .bucket(&state.bucket)
                    .public_access_block_configuration(flags.to_sdk())
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("s3:PutBucketPublicAccessBlock", e))?;
                Ok(vec![Self::put_call(&state.bucket, flags)])
            }
            None => {
                cx.aws
                    .s3
                    .delete_public_access_block()
                    .bucket(&state.bucket)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("s3:PutBucketPublicAccessBlock", e))?;
                Ok(vec![Call::new(
                    "s3:DeletePublicAccessBlock",
                    json!({ "bucket": state.bucket }),
                )])
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// s3.put_default_encryption
// ---------------------------------------------------------------------------------------

/// `s3.put_default_encryption`: sets the bucket's default server-side encryption.
///
/// A bucket already encrypting with the requested algorithm is compliant; when AES256
/// (SSE-S3) is requested, SSE-KMS and DSSE-KMS count too (they are stronger). With a
/// `kms_key_id`, the bucket's key must be that key. `bucket_key_enabled` is sent with the
/// KMS algorithms only (S3 Bucket Keys are a KMS feature) and is not part of compliance.
pub struct PutDefaultEncryption;

/// One rule of a bucket's default encryption configuration, as S3 returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncryptionRule {
    /// `AES256`, `aws:kms`, `aws:kms:dsse`; `null` for a rule without a default.
    pub sse_algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_key_enabled: Option<bool>,
    /// Encryption types blocked for uploads (e.g. `SSE-C`), kept so revert restores them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_encryption_types: Option<Vec<String>>,
}

impl EncryptionRule {
    fn from_sdk(r: &ServerSideEncryptionRule) -> Self {
        let default = r.apply_server_side_encryption_by_default();
        EncryptionRule {
            sse_algorithm: default.map(|d| d.sse_algorithm().as_str().to_owned()),
            kms_master_key_id: default
                .and_then(ServerSideEncryptionByDefault::kms_master_key_id)
                .map(str::to_owned),
            bucket_key_enabled: r.bucket_key_enabled(),
            blocked_encryption_types: r.blocked_encryption_types().map(|b| {
                b.encryption_type()
                    .iter()
                    .map(|t| t.as_str().to_owned())
                    .collect()
            }),
        }
    }

    fn to_sdk(&self) -> Result<ServerSideEncryptionRule, ActionError> {
        let mut rule =
            ServerSideEncryptionRule::builder().set_bucket_key_enabled(self.bucket_key_enabled);
        if let Some(alg) = &self.sse_algorithm {
            let default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(alg.as_str()))
                .set_kms_master_key_id(self.kms_master_key_id.clone())
                .build()
                .map_err(|e| ActionError::Precondition(format!("invalid encryption rule: {e}")))?;
            rule = rule.apply_server_side_encryption_by_default(default);
        }
        if let Some(types) = &self.blocked_encryption_types {
            let mut blocked = BlockedEncryptionTypes::builder();
            for t in types {
                blocked = blocked.encryption_type(EncryptionType::from(t.as_str()));
            }
            rule = rule.blocked_encryption_types(blocked.build());
        }
        Ok(rule.build())
    }
}

/// The captured state: the bucket's default encryption rules, `null` when it has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncryptionState {
    pub bucket: String,
    pub server_side_encryption: Option<Vec<EncryptionRule>>,
}

const KMS_ALGORITHMS: &[&str] = &["aws:kms", "aws:kms:dsse"];

/// Whether two KMS key references name the same key: equal, or a bare key id and a key ARN
/// that ends with it.
fn same_kms_key(a: &str, b: &str) -> bool {
    fn key_id(k: &str) -> &str {
        match k.strip_prefix("arn:") {
            Some(_) => k.rsplit_once(":key/").map_or(k, |(_, id)| id),
            None => k,
        }
    }
    a == b || key_id(a) == key_id(b)
}

impl PutDefaultEncryption {
    fn wanted(params: &Params) -> Result<(String, Option<String>, bool), ActionError> {
        let algorithm = str_param(params, "algorithm")?.to_owned();
        let key = opt_str_param(params, "kms_key_id").map(str::to_owned);
        let bucket_key = bool_param(params, "bucket_key_enabled")?;
        Ok((algorithm, key, bucket_key))
    }

    fn is_compliant(params: &Params, state: &EncryptionState) -> Result<bool, ActionError> {
        let (algorithm, key, _) = Self::wanted(params)?;
        let Some(rule) = state
            .server_side_encryption
            .iter()
            .flatten()
            .find(|r| r.sse_algorithm.is_some())
        else {
            return Ok(false);
        };
        let have = rule.sse_algorithm.as_deref().unwrap_or_default();
        let algorithm_ok = if algorithm == "AES256" {
            have == "AES256" || KMS_ALGORITHMS.contains(&have)
        } else {
            have == algorithm
        };
        let key_ok = match (&key, KMS_ALGORITHMS.contains(&algorithm.as_str())) {
            (Some(k), true) => rule
                .kms_master_key_id
                .as_deref()
                .is_some_and(|have| same_kms_key(have, k)),
            _ => true,
        };
        Ok(algorithm_ok && key_ok)
    }

    /// The rule apply puts; keeps the encryption types the current rule blocks.
    fn target_rule(
        params: &Params,
        before: &EncryptionState,
    ) -> Result<EncryptionRule, ActionError> {
        let (algorithm, key, bucket_key) = Self::wanted(params)?;
        let kms = KMS_ALGORITHMS.contains(&algorithm.as_str());
        let blocked = before
            .server_side_encryption
            .iter()
            .flatten()
            .find_map(|r| r.blocked_encryption_types.clone());
        Ok(EncryptionRule {
            sse_algorithm: Some(algorithm),
            kms_master_key_id: if kms { key } else { None },
            bucket_key_enabled: if kms { Some(bucket_key) } else { None },
            blocked_encryption_types: blocked,
        })
    }

    fn put_call(bucket: &str, rules: &[EncryptionRule]) -> Call {
        Call::new(
            "s3:PutBucketEncryption",
            json!({ "bucket": bucket, "server_side_encryption": rules }),
        )
    }

    fn plan(
        params: &Params,
        before: &State,
    ) -> Result<(Vec<Call>, Option<EncryptionRule>), ActionError> {
        let state: EncryptionState = parse_state(before, "bucket encryption")?;
        if Self::is_compliant(params, &state)? {
            return Ok((vec![], None));
        }
        let rule = Self::target_rule(params, &state)?;
        Ok((
            vec![Self::put_call(&state.bucket, std::slice::from_ref(&rule))],
            Some(rule),
        ))
    }

    async fn put(cx: &Ctx<'_>, bucket: &str, rules: &[EncryptionRule]) -> Result<(), ActionError> {
        let mut conf = ServerSideEncryptionConfiguration::builder();
        for r in rules {
            conf = conf.rules(r.to_sdk()?);
        }
        let conf = conf.build().map_err(|e| {
            ActionError::Precondition(format!("invalid encryption configuration: {e}"))
        })?;
        cx.aws
            .s3
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(conf)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:PutEncryptionConfiguration", e))?;
        Ok(())
    }
}

#[async_trait]
impl Action for PutDefaultEncryption {
    fn id(&self) -> &'static str {
        "s3.put_default_encryption"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let bucket = str_param(params, "bucket")?;
        let server_side_encryption = match cx
            .aws
            .s3
            .get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Some(
                out.server_side_encryption_configuration()
                    .map(|c| c.rules().iter().map(EncryptionRule::from_sdk).collect())
                    .unwrap_or_default(),
            ),
            Err(e) => {
                let err = AwsError::from_sdk("s3:GetEncryptionConfiguration", e);
                if is_missing_configuration(&err, "ServerSideEncryptionConfigurationNotFoundError")
                {
                    None
                } else {
                    return Err(err.into());
                }
            }
        };
        to_state(&EncryptionState {
            bucket: bucket.to_owned(),
            server_side_encryption,
        })
    }

    fn compliant(&self, params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<EncryptionState>(state, "bucket encryption")
            .and_then(|s| Self::is_compliant(params, &s))
            .unwrap_or(false)
    }

    fn planned_calls(&self, params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(params, before)
            .map(|(calls, _)| calls)
            .unwrap_or_default()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let (calls, rule) = Self::plan(params, before)?;
        let Some(rule) = rule else {
            return Ok(calls);
        };
        let state: EncryptionState = parse_state(before, "bucket encryption")?;
        Self::put(cx, &state.bucket, std::slice::from_ref(&rule)).await?;
        Ok(calls)
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: EncryptionState = parse_state(before, "bucket encryption")?;
        match &state.server_side_encryption {
            Some(rules) if !rules.is_empty() => {
                Self::put(cx, &state.bucket, rules).await?;
                Ok(vec![Self::put_call(&state.bucket, rules)])
            }
            _ => {
                cx.aws
                    .s3
                    .delete_bucket_encryption()
                    .bucket(&state.bucket)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("s3:PutEncryptionConfiguration", e))?;
                Ok(vec![Call::new(
                    "s3:DeleteBucketEncryption",
                    json!({ "bucket": state.bucket }),
                )])
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// s3.put_account_public_access_block (S3 Control)
// ---------------------------------------------------------------------------------------

/// `s3.put_account_public_access_block`: the account-level Block Public Access settings
/// (S3 Control `PutPublicAccessBlock` with the finding's account id). Its IAM actions are in
/// the `s3` namespace (`s3:PutAccountPublicAccessBlock`), hence the `s3.` id.
pub struct PutAccountPublicAccessBlock;

/// The captured state: the account's Block Public Access configuration, `null` when it has
/// none (every setting off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPabState {
    pub account_id: String,
    pub public_access_block: Option<PabFlags>,
}

fn account_pab_to_sdk(f: PabFlags) -> aws_sdk_s3control::types::PublicAccessBlockConfiguration {
    aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
        .block_public_acls(f.block_public_acls)
        .ignore_public_acls(f.ignore_public_acls)
        .block_public_policy(f.block_public_policy)
        .restrict_public_buckets(f.restrict_public_buckets)
        .build()
}

impl PutAccountPublicAccessBlock {
    /// The account named by the step, which must be the account the clients act in.
    fn account<'p>(params: &'p Params, cx: &Ctx<'_>) -> Result<&'p str, ActionError> {
        let account = str_param(params, "account_id")?;
        if account != cx.aws.account {
            return Err(ActionError::Precondition(format!(
                "the step names account {account} but the finding is for account {}",
                cx.aws.account
            )));
        }
        Ok(account)
    }

    fn put_call(account: &str, flags: PabFlags) -> Call {
        Call::new(
            "s3control:PutPublicAccessBlock",
            json!({ "account_id": account, "public_access_block": flags }),
        )
    }

    /// The call apply makes (none when compliant) and the configuration it puts.
    fn plan(params: &Params, before: &State) -> Result<Option<(Call, PabFlags)>, ActionError> {
        let before: AccountPabState = parse_state(before, "account public access block")?;
        let wanted = PabFlags::from_params(params)?;
        let have = before.public_access_block.unwrap_or_default();
        if wanted.covered_by(have) {
            return Ok(None);
        }
        let target = wanted.union(have);
        Ok(Some((Self::put_call(&before.account_id, target), target)))
    }

    async fn put(cx: &Ctx<'_>, account: &str, flags: PabFlags) -> Result<(), ActionError> {
        cx.aws
            .s3control
            .put_public_access_block()
            .account_id(account)
            .public_access_block_configuration(account_pab_to_sdk(flags))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:PutAccountPublicAccessBlock", e))?;
        Ok(())
    }
}

#[async_trait]
impl Action for PutAccountPublicAccessBlock {
    fn id(&self) -> &'static str {
        "s3.put_account_public_access_block"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let account = Self::account(params, cx)?;
        let public_access_block = match cx
            .aws
            .s3control
            .get_public_access_block()
            .account_id(account)
            .send()
            .await
        {
            Ok(out) => Some(
                out.public_access_block_configuration()
                    .map(|c| PabFlags {
                        block_public_acls: c.block_public_acls().unwrap_or(false),
                        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                        block_public_policy: c.block_public_policy().unwrap_or(false),
                        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                    })
                    .unwrap_or_default(),
            ),
            Err(e) => {
                let err = AwsError::from_sdk("s3:GetAccountPublicAccessBlock", e);
                if err.code() == Some("NoSuchPublicAccessBlockConfiguration") || err.is_not_found()
                {
                    None
                } else {
                    return Err(err.into());
                }
            }
        };
        to_state(&AccountPabState {
            account_id: account.to_owned(),
            public_access_block,
        })
    }

    fn compliant(&self, params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        let (Ok(state), Ok(wanted)) = (
            parse_state::<AccountPabState>(state, "account public access block"),
            PabFlags::from_params(params),
        ) else {
            return false;
        };
        wanted.covered_by(state.public_access_block.unwrap_or_default())
    }

    fn planned_calls(&self, params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(params, before)
            .ok()
            .flatten()
            .map(|(c, _)| c)
            .into_iter()
            .collect()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let account = Self::account(params, cx)?;
        let Some((call, target)) = Self::plan(params, before)? else {
            return Ok(vec![]);
        };
        Self::put(cx, account, target).await?;
        Ok(vec![call])
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: AccountPabState = parse_state(before, "account public access block")?;
        if state.account_id != cx.aws.account {
            return Err(ActionError::Precondition(format!(
                "the captured state is for account {} but the clients act in account {}",
                state.account_id, cx.aws.account
            )));
        }
        match state.public_access_block {
            Some(flags) => {
                Self::put(cx, &state.account_id, flags).await?;
                Ok(vec![Self::put_call(&state.account_id, flags)])
            }
            None => {
                cx.aws
                    .s3control
                    .delete_public_access_block()
                    .account_id(&state.account_id)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("s3:PutAccountPublicAccessBlock", e))?;
                Ok(vec![Call::new(
                    "s3control:DeletePublicAccessBlock",
                    json!({ "account_id": state.account_id }),
                )])
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// s3.put_tls_only_policy
// ---------------------------------------------------------------------------------------

/// `s3.put_tls_only_policy`: adds a statement denying every request made without TLS to the
/// bucket policy, keeping every statement already there.
pub struct PutTlsOnlyPolicy;

/// The Sid of the statement redress adds.
pub const TLS_SID: &str = "RedressDenyInsecureTransport";

/// The captured state: the bucket policy exactly as S3 returned it, `null` when none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyState {
    pub bucket: String,
    pub policy: Option<String>,
}

fn bucket_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

/// A policy element that is a string or a list of strings, as a list.
fn strings(v: Option<&serde_json::Value>) -> Vec<&str> {
    match v {
        Some(serde_json::Value::String(s)) => vec![s.as_str()],
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str()).collect(),
        _ => vec![],
    }
}

/// Whether a statement denies every S3 action to everyone on the bucket and its objects
/// when the request is not made over TLS.
pub fn is_tls_deny(stmt: &serde_json::Value, bucket_arn: &str) -> bool {
    let Some(obj) = stmt.as_object() else {
        return false;
    };
    if obj.get("Effect").and_then(|e| e.as_str()) != Some("Deny")
        || ["NotAction", "NotPrincipal", "NotResource"]
            .iter()
            .any(|k| obj.contains_key(*k))
    {
        return false;
    }
    let everyone = match obj.get("Principal") {
        Some(serde_json::Value::String(s)) => s == "*",
        Some(serde_json::Value::Object(p)) => strings(p.get("AWS")).contains(&"*"),
        _ => false,
    };
    let all_actions = strings(obj.get("Action"))
        .iter()
        .any(|a| *a == "s3:*" || *a == "*");
    let resources = strings(obj.get("Resource"));
    let objects = format!("{bucket_arn}/*");
    let covers = |r: &str| resources.iter().any(|x| *x == "*" || *x == r);
    let insecure = obj
        .get("Condition")
        .and_then(|c| c.get("Bool"))
        .and_then(|b| b.get("aws:SecureTransport"))
        .is_some_and(|v| match v {
            serde_json::Value::Bool(b) => !b,
            serde_json::Value::String(s) => s.eq_ignore_ascii_case("false"),
            serde_json::Value::Array(a) => {
                a.len() == 1
                    && (a[0] == serde_json::Value::Bool(false)
                        || a[0]
                            .as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case("false")))
            }
            _ => false,
        });
    everyone && all_actions && covers(bucket_arn) && covers(&objects) && insecure
}

fn policy_statements(doc: &serde_json::Value) -> Vec<&serde_json::Value> {
    match doc.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(s @ serde_json::Value::Object(_)) => vec![s],
        _ => vec![],
    }
}

/// Whether the policy already denies requests without TLS (redress's statement or an
/// equivalent one).
pub fn has_tls_deny(policy: &str, bucket_arn: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(policy).is_ok_and(|doc| {
        policy_statements(&doc)
            .iter()
            .any(|s| is_tls_deny(s, bucket_arn))
    })
}

/// The statement redress adds.
pub fn tls_deny_statement(bucket_arn: &str) -> serde_json::Value {
    json!({
        "Sid": TLS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, format!("{bucket_arn}/*")],
        "Condition": { "Bool": { "aws:SecureTransport": "false" } }
    })
}

/// `policy` with the TLS deny statement added (replacing a statement with redress's Sid);
/// every other statement and key is kept. A new policy when there was none.
pub fn merge_tls_deny(policy: Option<&str>, bucket_arn: &str) -> Result<String, ActionError> {
    let ours = tls_deny_statement(bucket_arn);
    let mut doc = match policy {
        None => json!({ "Version": "2012-10-17", "Statement": [] }),
        Some(text) => serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
            ActionError::Precondition(format!("the bucket policy is not valid JSON: {e}"))
        })?,
    };
    let Some(obj) = doc.as_object_mut() else {
        return Err(ActionError::Precondition(
            "the bucket policy is not a JSON object".to_owned(),
        ));
    };
    obj.entry("Version").or_insert_with(|| json!("2012-10-17"));
    let mut statements = match obj.remove("Statement") {
        Some(serde_json::Value::Array(a)) => a,
        Some(s @ serde_json::Value::Object(_)) => vec![s],
        None => vec![],
        Some(_) => {
            return Err(ActionError::Precondition(
                "the bucket policy's Statement is neither a list nor an object".to_owned(),
            ));
        }
    };
    statements.retain(|s| s.get("Sid").and_then(|v| v.as_str()) != Some(TLS_SID));
    statements.push(ours);
    obj.insert("Statement".to_owned(), serde_json::Value::Array(statements));
    serde_json::to_string(&doc)
        .map_err(|e| ActionError::Precondition(format!("cannot write the bucket policy: {e}")))
}

impl PutTlsOnlyPolicy {
    fn plan(before: &State, cx: &Ctx<'_>) -> Result<Option<(Call, String)>, ActionError> {
        let state: PolicyState = parse_state(before, "bucket policy")?;
        let arn = bucket_arn(&cx.aws.partition, &state.bucket);
        if state
            .policy
            .as_deref()
            .is_some_and(|p| has_tls_deny(p, &arn))
        {
            return Ok(None);
        }
        let merged = merge_tls_deny(state.policy.as_deref(), &arn)?;
        let call = Call::new(
            "s3:PutBucketPolicy",
            json!({ "bucket": state.bucket, "added_statement": tls_deny_statement(&arn) }),
        );
        Ok(Some((call, merged)))
    }

    async fn put(cx: &Ctx<'_>, bucket: &str, policy: &str) -> Result<(), ActionError> {
        cx.aws
            .s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:PutBucketPolicy", e))?;
        Ok(())
    }
}

#[async_trait]
impl Action for PutTlsOnlyPolicy {
    fn id(&self) -> &'static str {
        "s3.put_tls_only_policy"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let bucket = str_param(params, "bucket")?;
        let policy = match cx.aws.s3.get_bucket_policy().bucket(bucket).send().await {
            Ok(out) => out.policy().map(str::to_owned),
            Err(e) => {
                let err = AwsError::from_sdk("s3:GetBucketPolicy", e);
                if is_missing_configuration(&err, "NoSuchBucketPolicy") {
                    None
                } else {
                    return Err(err.into());
                }
            }
        };
        to_state(&PolicyState {
            bucket: bucket.to_owned(),
            policy,
        })
    }

    fn compliant(&self, _params: &Params, state: &State, cx: &Ctx<'_>) -> bool {
        parse_state::<PolicyState>(state, "bucket policy").is_ok_and(|s| {
            s.policy
                .as_deref()
                .is_some_and(|p| has_tls_deny(p, &bucket_arn(&cx.aws.partition, &s.bucket)))
        })
    }

    fn planned_calls(&self, _params: &Params, before: &State, cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(before, cx)
            .ok()
            .flatten()
            .map(|(c, _)| c)
            .into_iter()
            .collect()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((call, merged)) = Self::plan(before, cx)? else {
            return Ok(vec![]);
        };
        let state: PolicyState = parse_state(before, "bucket policy")?;
        Self::put(cx, &state.bucket, &merged).await?;
        Ok(vec![call])
    }

    /// Puts the captured policy back byte for byte, or deletes the policy when there was none.
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: PolicyState = parse_state(before, "bucket policy")?;
        match &state.policy {
            Some(policy) => {
                Self::put(cx, &state.bucket, policy).await?;
                Ok(vec![Call::new(
                    "s3:PutBucketPolicy",
                    json!({ "bucket": state.bucket, "policy": policy }),
                )])
            }
            None => {
                cx.aws
                    .s3
                    .delete_bucket_policy()
                    .bucket(&state.bucket)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("s3:DeleteBucketPolicy", e))?;
                Ok(vec![Call::new(
                    "s3:DeleteBucketPolicy",
                    json!({ "bucket": state.bucket }),
                )])
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// s3.put_ownership_controls
// ---------------------------------------------------------------------------------------

/// `s3.put_ownership_controls`: sets Object Ownership (BucketOwnerEnforced disables ACLs).
pub struct PutOwnershipControls;

/// The captured state: the bucket's Object Ownership, `null` when it has no ownership
/// controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnershipState {
    pub bucket: String,
    pub object_ownership: Option<String>,
}

impl PutOwnershipControls {
    fn put_call(bucket: &str, ownership: &str) -> Call {
        Call::new(
            "s3:PutBucketOwnershipControls",
            json!({ "bucket": bucket, "object_ownership": ownership }),
        )
    }

    fn plan(params: &Params, before: &State) -> Result<Vec<Call>, ActionError> {
        let state: OwnershipState = parse_state(before, "ownership controls")?;
        let wanted = str_param(params, "object_ownership")?;
        if state.object_ownership.as_deref() == Some(wanted) {
            return Ok(vec![]);
        }
        Ok(vec![Self::put_call(&state.bucket, wanted)])
    }

    async fn put(cx: &Ctx<'_>, bucket: &str, ownership: &str) -> Result<(), ActionError> {
        let rule = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::from(ownership))
            .build()
            .map_err(|e| ActionError::Precondition(format!("invalid ownership rule: {e}")))?;
        let controls = OwnershipControls::builder()
            .rules(rule)
            .build()
            .map_err(|e| ActionError::Precondition(format!("invalid ownership controls: {e}")))?;
        cx.aws
            .s3
            .put_bucket_ownership_controls()
            .bucket(bucket)
            .ownership_controls(controls)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:PutBucketOwnershipControls", e))?;
        Ok(())
    }
}

#[async_trait]
impl Action for PutOwnershipControls {
    fn id(&self) -> &'static str {
        "s3.put_ownership_controls"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let bucket = str_param(params, "bucket")?;
        let object_ownership = match cx
            .aws
            .s3
            .get_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => out
                .ownership_controls()
                .and_then(|c| c.rules().first())
                .map(|r| r.object_ownership().as_str().to_owned()),
            Err(e) => {
                let err = AwsError::from_sdk("s3:GetBucketOwnershipControls", e);
                if is_missing_configuration(&err, "OwnershipControlsNotFoundError") {
                    None
                } else {
                    return Err(err.into());
                }
            }
        };
        to_state(&OwnershipState {
            bucket: bucket.to_owned(),
            object_ownership,
        })
    }

    fn compliant(&self, params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        Self::plan(params, state).is_ok_and(|c| c.is_empty())
    }

    fn planned_calls(&self, params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(params, before).unwrap_or_default()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let calls = Self::plan(params, before)?;
        if calls.is_empty() {
            return Ok(calls);
        }
        let state: OwnershipState = parse_state(before, "ownership controls")?;
        Self::put(cx, &state.bucket, str_param(params, "object_ownership")?).await?;
        Ok(calls)
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: OwnershipState = parse_state(before, "ownership controls")?;
        match &state.object_ownership {
            Some(o) => {
                Self::put(cx, &state.bucket, o).await?;
                Ok(vec![Self::put_call(&state.bucket, o)])
            }
            None => {
                cx.aws
                    .s3
                    .delete_bucket_ownership_controls()
                    .bucket(&state.bucket)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("s3:PutBucketOwnershipControls", e))?;
                Ok(vec![Call::new(
                    "s3:DeleteBucketOwnershipControls",
                    json!({ "bucket": state.bucket }),
                )])
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Grants (bucket ACLs and log target grants)
// ---------------------------------------------------------------------------------------

/// One ACL grant, as S3 returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantState {
    /// `CanonicalUser`, `Group` or `AmazonCustomerByEmail`.
    pub grantee_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub permission: Option<String>,
}

impl GrantState {
    fn from_grantee(g: Option<&Grantee>, permission: Option<String>) -> Option<Self> {
        let g = g?;
        Some(GrantState {
            grantee_type: g.r#type().as_str().to_owned(),
            id: g.id().map(str::to_owned),
            uri: g.uri().map(str::to_owned),
            email_address: g.email_address().map(str::to_owned),
            display_name: g.display_name().map(str::to_owned),
            permission,
        })
    }

    fn grantee(&self) -> Result<Grantee, ActionError> {
        Grantee::builder()
            .r#type(Type::from(self.grantee_type.as_str()))
            .set_id(self.id.clone())
            .set_uri(self.uri.clone())
            .set_email_address(self.email_address.clone())
            .set_display_name(self.display_name.clone())
            .build()
            .map_err(|e| ActionError::Precondition(format!("invalid grantee: {e}")))
    }

    /// A grant to everyone (AllUsers) or to any AWS account (AuthenticatedUsers).
    pub fn is_public(&self) -> bool {
        self.grantee_type == "Group"
            && self.uri.as_deref().is_some_and(|u| {
                u.ends_with("/groups/global/AllUsers")
                    || u.ends_with("/groups/global/AuthenticatedUsers")
            })
    }
}

// ---------------------------------------------------------------------------------------
// s3.put_bucket_logging
// ---------------------------------------------------------------------------------------

/// `s3.put_bucket_logging`: turns on server access logging into another bucket. A bucket
/// that already logs (anywhere) is compliant: its logging is left alone.
pub struct PutBucketLogging;

/// A bucket's logging configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggingConfig {
    pub target_bucket: String,
    pub target_prefix: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_grants: Vec<GrantState>,
    /// `SimplePrefix`, or `PartitionedPrefix` with its date source
    /// (`PartitionedPrefix:EventTime`); `null` when S3 returned none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_object_key_format: Option<String>,
}

impl LoggingConfig {
    fn from_sdk(l: &LoggingEnabled) -> Self {
        let format = l.target_object_key_format().and_then(|f| {
            if f.simple_prefix().is_some() {
                Some("SimplePrefix".to_owned())
            } else {
                f.partitioned_prefix()
                    .map(|p| match p.partition_date_source() {
                        Some(src) => format!("PartitionedPrefix:{}", src.as_str()),
                        None => "PartitionedPrefix".to_owned(),
                    })
            }
        });
        LoggingConfig {
            target_bucket: l.target_bucket().to_owned(),
            target_prefix: l.target_prefix().to_owned(),
            target_grants: l
                .target_grants()
                .iter()
                .filter_map(|g| {
                    GrantState::from_grantee(
                        g.grantee(),
                        g.permission().map(|p| p.as_str().to_owned()),
                    )
                })
                .collect(),
            target_object_key_format: format,
        }
    }

    fn to_sdk(&self) -> Result<LoggingEnabled, ActionError> {
        let mut b = LoggingEnabled::builder()
            .target_bucket(&self.target_bucket)
            .target_prefix(&self.target_prefix);
        for g in &self.target_grants {
            b = b.target_grants(
                TargetGrant::builder()
                    .grantee(g.grantee()?)
                    .set_permission(g.permission.as_deref().map(BucketLogsPermission::from))
                    .build(),
            );
        }
        match self.target_object_key_format.as_deref() {
            None => {}
            Some("SimplePrefix") => {
                b = b.target_object_key_format(
                    TargetObjectKeyFormat::builder()
                        .simple_prefix(SimplePrefix::builder().build())
                        .build(),
                );
            }
            Some(other) => {
                let source = other
                    .strip_prefix("PartitionedPrefix")
                    .and_then(|s| s.strip_prefix(':'))
                    .map(PartitionDateSource::from);
                b = b.target_object_key_format(
                    TargetObjectKeyFormat::builder()
                        .partitioned_prefix(
                            PartitionedPrefix::builder()
                                .set_partition_date_source(source)
                                .build(),
                        )
                        .build(),
                );
            }
        }
        b.build()
            .map_err(|e| ActionError::Precondition(format!("invalid logging configuration: {e}")))
    }
}

/// The captured state: the bucket's logging configuration, `null` when logging is off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggingState {
    pub bucket: String,
    pub logging: Option<LoggingConfig>,
}

impl PutBucketLogging {
    fn target(params: &Params) -> Result<LoggingConfig, ActionError> {
        let bucket = str_param(params, "bucket")?;
        let target_bucket = str_param(params, "target_bucket")?;
        if target_bucket == bucket {
            return Err(ActionError::Precondition(format!(
                "bucket {bucket} cannot log into itself (every log delivery would create more logs): set `logging_bucket` to another bucket"
            )));
        }
        Ok(LoggingConfig {
            target_bucket: target_bucket.to_owned(),
            target_prefix: opt_str_param(params, "target_prefix")
                .unwrap_or_default()
                .to_owned(),
            target_grants: vec![],
            target_object_key_format: None,
        })
    }

    fn put_call(bucket: &str, logging: Option<&LoggingConfig>) -> Call {
        Call::new(
            "s3:PutBucketLogging",
            json!({ "bucket": bucket, "logging": logging }),
        )
    }

    fn plan(params: &Params, before: &State) -> Result<Option<(Call, LoggingConfig)>, ActionError> {
        let state: LoggingState = parse_state(before, "bucket logging")?;
        let target = Self::target(params)?;
        if state.logging.is_some() {
            return Ok(None);
        }
        Ok(Some((Self::put_call(&state.bucket, Some(&target)), target)))
    }

    async fn put(
        cx: &Ctx<'_>,
        bucket: &str,
        logging: Option<&LoggingConfig>,
    ) -> Result<(), ActionError> {
        let status = BucketLoggingStatus::builder()
            .set_logging_enabled(logging.map(LoggingConfig::to_sdk).transpose()?)
            .build();
        cx.aws
            .s3
            .put_bucket_logging()
            .bucket(bucket)
            .bucket_logging_status(status)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:PutBucketLogging", e))?;
        Ok(())
    }
}

#[async_trait]
impl Action for PutBucketLogging {
    fn id(&self) -> &'static str {
        "s3.put_bucket_logging"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let bucket = str_param(params, "bucket")?;
        Self::target(params)?;
        let out = cx
            .aws
            .s3
            .get_bucket_logging()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:GetBucketLogging", e))?;
        to_state(&LoggingState {
            bucket: bucket.to_owned(),
            logging: out.logging_enabled().map(LoggingConfig::from_sdk),
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<LoggingState>(state, "bucket logging").is_ok_and(|s| s.logging.is_some())
    }

    fn planned_calls(&self, params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(params, before)
            .ok()
            .flatten()
            .map(|(c, _)| c)
            .into_iter()
            .collect()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((call, target)) = Self::plan(params, before)? else {
            return Ok(vec![]);
        };
        let state: LoggingState = parse_state(before, "bucket logging")?;
        Self::put(cx, &state.bucket, Some(&target)).await?;
        Ok(vec![call])
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: LoggingState = parse_state(before, "bucket logging")?;
        Self::put(cx, &state.bucket, state.logging.as_ref()).await?;
        Ok(vec![Self::put_call(&state.bucket, state.logging.as_ref())])
    }
}

// ---------------------------------------------------------------------------------------
// s3.put_bucket_versioning
// ---------------------------------------------------------------------------------------

/// `s3.put_bucket_versioning`: enables versioning. Revert suspends it when it was not
/// enabled before: S3 has no way back to "never enabled", and kept versions remain.
pub struct PutBucketVersioning;

/// The captured state: `Enabled`, `Suspended`, or `null` (never enabled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersioningState {
    pub bucket: String,
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_delete: Option<String>,
}

impl PutBucketVersioning {
    fn put_call(bucket: &str, status: &str) -> Call {
        Call::new(
            "s3:PutBucketVersioning",
            json!({ "bucket": bucket, "status": status }),
        )
    }

    fn plan(before: &State) -> Result<Vec<Call>, ActionError> {
        let state: VersioningState = parse_state(before, "bucket versioning")?;
        if state.status.as_deref() == Some("Enabled") {
            return Ok(vec![]);
        }
        Ok(vec![Self::put_call(&state.bucket, "Enabled")])
    }

    async fn put(
        cx: &Ctx<'_>,
        bucket: &str,
        status: BucketVersioningStatus,
    ) -> Result<(), ActionError> {
        cx.aws
            .s3
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:PutBucketVersioning", e))?;
        Ok(())
    }
}

#[async_trait]
impl Action for PutBucketVersioning {
    fn id(&self) -> &'static str {
        "s3.put_bucket_versioning"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let bucket = str_param(params, "bucket")?;
        let out = cx
            .aws
            .s3
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:GetBucketVersioning", e))?;
        to_state(&VersioningState {
            bucket: bucket.to_owned(),
            status: out.status().map(|s| s.as_str().to_owned()),
            mfa_delete: out.mfa_delete().map(|s| s.as_str().to_owned()),
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<VersioningState>(state, "bucket versioning")
            .is_ok_and(|s| s.status.as_deref() == Some("Enabled"))
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(before).unwrap_or_default()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let calls = Self::plan(before)?;
        if calls.is_empty() {
            return Ok(calls);
        }
        let state: VersioningState = parse_state(before, "bucket versioning")?;
        Self::put(cx, &state.bucket, BucketVersioningStatus::Enabled).await?;
        Ok(calls)
    }

    /// Suspends versioning when it was not enabled before (the closest S3 allows to "never
    /// enabled"); nothing when it was enabled.
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: VersioningState = parse_state(before, "bucket versioning")?;
        if state.status.as_deref() == Some("Enabled") {
            return Ok(vec![]);
        }
        Self::put(cx, &state.bucket, BucketVersioningStatus::Suspended).await?;
        Ok(vec![Self::put_call(&state.bucket, "Suspended")])
    }
}

// ---------------------------------------------------------------------------------------
// s3.remove_public_acl_grants
// ---------------------------------------------------------------------------------------

/// `s3.remove_public_acl_grants`: drops the AllUsers and AuthenticatedUsers grants from the
/// bucket ACL and keeps every other grant and the owner.
pub struct RemovePublicAclGrants;

/// The captured state: the bucket ACL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AclState {
    pub bucket: String,
    pub owner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_display_name: Option<String>,
    pub grants: Vec<GrantState>,
}

impl RemovePublicAclGrants {
    fn plan(before: &State) -> Result<Option<(Call, AclState)>, ActionError> {
        let state: AclState = parse_state(before, "bucket ACL")?;
        let removed: Vec<&GrantState> = state.grants.iter().filter(|g| g.is_public()).collect();
        if removed.is_empty() {
            return Ok(None);
        }
        let call = Call::new(
            "s3:PutBucketAcl",
            json!({ "bucket": state.bucket, "removed_grants": removed }),
        );
        let kept = AclState {
            grants: state
                .grants
                .iter()
                .filter(|g| !g.is_public())
                .cloned()
                .collect(),
            ..state.clone()
        };
        Ok(Some((call, kept)))
    }

    async fn put(cx: &Ctx<'_>, acl: &AclState) -> Result<(), ActionError> {
        let mut policy = AccessControlPolicy::builder().owner(
            Owner::builder()
                .set_id(acl.owner_id.clone())
                .set_display_name(acl.owner_display_name.clone())
                .build(),
        );
        for g in &acl.grants {
            policy = policy.grants(
                Grant::builder()
                    .grantee(g.grantee()?)
                    .set_permission(g.permission.as_deref().map(Permission::from))
                    .build(),
            );
        }
        cx.aws
            .s3
            .put_bucket_acl()
            .bucket(&acl.bucket)
            .access_control_policy(policy.build())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:PutBucketAcl", e))?;
        Ok(())
    }
}

#[async_trait]
impl Action for RemovePublicAclGrants {
    fn id(&self) -> &'static str {
        "s3.remove_public_acl_grants"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let bucket = str_param(params, "bucket")?;
        let out = cx
            .aws
            .s3
            .get_bucket_acl()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:GetBucketAcl", e))?;
        to_state(&AclState {
            bucket: bucket.to_owned(),
            owner_id: out.owner().and_then(|o| o.id()).map(str::to_owned),
            owner_display_name: out
                .owner()
                .and_then(|o| o.display_name())
                .map(str::to_owned),
            grants: out
                .grants()
                .iter()
                .filter_map(|g| {
                    GrantState::from_grantee(
                        g.grantee(),
                        g.permission().map(|p| p.as_str().to_owned()),
                    )
                })
                .collect(),
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<AclState>(state, "bucket ACL")
            .is_ok_and(|s| !s.grants.iter().any(GrantState::is_public))
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(before)
            .ok()
            .flatten()
            .map(|(c, _)| c)
            .into_iter()
            .collect()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((call, kept)) = Self::plan(before)? else {
            return Ok(vec![]);
        };
        Self::put(cx, &kept).await?;
        Ok(vec![call])
    }

    /// Puts the captured ACL back exactly (owner and every grant).
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: AclState = parse_state(before, "bucket ACL")?;
        Self::put(cx, &state).await?;
        Ok(vec![Call::new(
            "s3:PutBucketAcl",
            json!({ "bucket": state.bucket, "grants": state.grants }),
        )])
    }
}

/// The s3 actions.
pub(super) static ACTIONS: &[&dyn Action] = &[
    &PutPublicAccessBlock,
    &PutDefaultEncryption,
    &PutAccountPublicAccessBlock,
    &PutTlsOnlyPolicy,
    &PutOwnershipControls,
    &PutBucketLogging,
    &PutBucketVersioning,
    &RemovePublicAclGrants,
];

#[cfg(test)]
mod tests {
    use super::*;
    use redress_playbooks::actions::Value;

    fn pab_params(flags: [bool; 4]) -> Params {
        let mut p = Params::new();
        p.insert("bucket".into(), Value::Str("acme-logs".into()));
        for (name, on) in [
            "block_public_acls",
            "ignore_public_acls",
            "block_public_policy",
            "restrict_public_buckets",
        ]
        .iter()
        .zip(flags)
        {
            p.insert((*name).into(), Value::Bool(on));
        }
        p
    }

    #[test]
    fn public_access_block_plan_keeps_settings_already_on() {
        let before = json!({"bucket": "acme-logs", "public_access_block": {
            "block_public_acls": false, "ignore_public_acls": false,
            "block_public_policy": true, "restrict_public_buckets": false}});
        let calls =
            PutPublicAccessBlock::plan(&pab_params([true, true, false, false]), &before).unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(
            calls[0].params["public_access_block"],
            json!({"block_public_acls": true, "ignore_public_acls": true,
                   "block_public_policy": true, "restrict_public_buckets": false})
        );
        let none = json!({"bucket": "acme-logs", "public_access_block": null});
        assert_eq!(
            PutPublicAccessBlock::plan(&pab_params([false; 4]), &none).unwrap(),
            vec![]
        );
    }

    fn enc_params(alg: &str, key: Option<&str>) -> Params {
        let mut p = Params::new();
        p.insert("bucket".into(), Value::Str("acme-logs".into()));
        p.insert("algorithm".into(), Value::Str(alg.into()));
        p.insert("bucket_key_enabled".into(), Value::Bool(true));
        if let Some(k) = key {
            p.insert("kms_key_id".into(), Value::Str(k.into()));
        }
        p
    }

    fn enc_state(alg: Option<&str>, key: Option<&str>) -> EncryptionState {
        EncryptionState {
            bucket: "acme-logs".into(),
            server_side_encryption: alg.map(|a| {
                vec![EncryptionRule {
                    sse_algorithm: Some(a.into()),
                    kms_master_key_id: key.map(Into::into),
                    bucket_key_enabled: None,
                    blocked_encryption_types: None,
                }]
            }),
        }
    }

    #[test]
    fn stronger_encryption_satisfies_aes256_and_kms_keys_must_match() {
        let c = |p: &Params, s: &EncryptionState| PutDefaultEncryption::is_compliant(p, s).unwrap();
        assert!(!c(&enc_params("AES256", None), &enc_state(None, None)));
        assert!(c(
            &enc_params("AES256", None),
            &enc_state(Some("AES256"), None)
        ));
        assert!(c(
            &enc_params("AES256", None),
            &enc_state(Some("aws:kms"), None)
        ));
        assert!(c(
            &enc_params("AES256", None),
            &enc_state(Some("aws:kms:dsse"), None)
        ));
        assert!(!c(
            &enc_params("aws:kms", None),
            &enc_state(Some("AES256"), None)
        ));
        assert!(c(
            &enc_params("aws:kms", None),
            &enc_state(Some("aws:kms"), Some("abc"))
        ));
        let arn = "arn:aws:kms:us-east-1:123456789012:key/abc";
        assert!(c(
            &enc_params("aws:kms", Some(arn)),
            &enc_state(Some("aws:kms"), Some("abc"))
        ));
        assert!(c(
            &enc_params("aws:kms", Some(arn)),
            &enc_state(Some("aws:kms"), Some(arn))
        ));
        assert!(!c(
            &enc_params("aws:kms", Some(arn)),
            &enc_state(Some("aws:kms"), Some("def"))
        ));
        assert!(!c(
            &enc_params("aws:kms", Some(arn)),
            &enc_state(Some("aws:kms"), None)
        ));
    }

    const ARN: &str = "arn:aws:s3:::acme-data";

    #[test]
    fn tls_deny_is_merged_into_the_existing_policy_keeping_every_statement() {
        let existing = r#"{"Version":"2012-10-17","Id":"keep-me","Statement":[{"Sid":"ReadForPartner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-data/*"}]}"#;
        let merged: serde_json::Value =
            serde_json::from_str(&merge_tls_deny(Some(existing), ARN).unwrap()).unwrap();
        assert_eq!(merged["Id"], "keep-me");
        assert_eq!(merged["Version"], "2012-10-17");
        let stmts = merged["Statement"].as_array().unwrap();
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[0]["Sid"], "ReadForPartner");
        assert_eq!(stmts[1], tls_deny_statement(ARN));
        assert!(is_tls_deny(&stmts[1], ARN));
        assert!(has_tls_deny(&serde_json::to_string(&merged).unwrap(), ARN));
        assert!(!has_tls_deny(existing, ARN));
    }

    #[test]
    fn tls_deny_merge_handles_no_policy_a_single_statement_and_its_own_stale_statement() {
        let fresh: serde_json::Value =
            serde_json::from_str(&merge_tls_deny(None, ARN).unwrap()).unwrap();
        assert_eq!(
            fresh,
            json!({"Version": "2012-10-17", "Statement": [tls_deny_statement(ARN)]})
        );
        // A policy whose Statement is one object (not a list) keeps it.
        let single = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-data/*"}}"#;
        let merged: serde_json::Value =
            serde_json::from_str(&merge_tls_deny(Some(single), ARN).unwrap()).unwrap();
        assert_eq!(merged["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(merged["Statement"][0]["Action"], "s3:GetObject");
        // A tampered statement with redress's Sid is replaced, not duplicated.
        let stale = r#"{"Version":"2012-10-17","Statement":[{"Sid":"RedressDenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-data/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        assert!(
            !has_tls_deny(stale, ARN),
            "GetObject only is not equivalent"
        );
        let merged: serde_json::Value =
            serde_json::from_str(&merge_tls_deny(Some(stale), ARN).unwrap()).unwrap();
        assert_eq!(merged["Statement"], json!([tls_deny_statement(ARN)]));
        // Garbage is refused, never overwritten.
        assert!(merge_tls_deny(Some("not json"), ARN).is_err());
        assert!(merge_tls_deny(Some("[1]"), ARN).is_err());
    }

    #[test]
    fn an_equivalent_deny_written_by_someone_else_counts_as_compliant() {
        let theirs = json!({
            "Sid": "AllowSSLRequestsOnly", "Effect": "Deny", "Principal": {"AWS": ["*"]},
            "Action": ["s3:*"], "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}
        });
        assert!(is_tls_deny(&theirs, ARN));
        let bool_false = json!({
            "Effect": "Deny", "Principal": "*", "Action": "*",
            "Resource": [ARN, format!("{ARN}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": false}}
        });
        assert!(is_tls_deny(&bool_false, ARN));
        // Objects only, another bucket, an Allow, or a NotPrincipal are not equivalent.
        let mut objects_only = bool_false.clone();
        objects_only["Resource"] = json!(format!("{ARN}/*"));
        assert!(!is_tls_deny(&objects_only, ARN));
        assert!(!is_tls_deny(&bool_false, "arn:aws:s3:::other"));
        let mut allow = bool_false.clone();
        allow["Effect"] = json!("Allow");
        assert!(!is_tls_deny(&allow, ARN));
        let mut not_principal = bool_false.clone();
        not_principal["NotPrincipal"] = json!({"AWS": "arn:aws:iam::123456789012:root"});
        assert!(!is_tls_deny(&not_principal, ARN));
        let mut secure_true = bool_false;
        secure_true["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}});
        assert!(!is_tls_deny(&secure_true, ARN));
    }

    #[test]
    fn only_all_users_and_authenticated_users_grants_are_public() {
        let g = |t: &str, uri: Option<&str>| GrantState {
            grantee_type: t.into(),
            id: None,
            uri: uri.map(Into::into),
            email_address: None,
            display_name: None,
            permission: Some("READ".into()),
        };
        assert!(
            g(
                "Group",
                Some("http://acs.amazonaws.com/groups/global/AllUsers")
            )
            .is_public()
        );
        assert!(
            g(
                "Group",
                Some("http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
            )
            .is_public()
        );
        assert!(
            !g(
                "Group",
                Some("http://acs.amazonaws.com/groups/s3/LogDelivery")
            )
            .is_public()
        );
        assert!(!g("CanonicalUser", None).is_public());
    }

    #[test]
    fn logging_refuses_a_bucket_that_logs_into_itself() {
        let mut p = Params::new();
        p.insert("bucket".into(), Value::Str("acme-data".into()));
        p.insert("target_bucket".into(), Value::Str("acme-data".into()));
        let before = json!({"bucket": "acme-data", "logging": null});
        assert!(matches!(
            PutBucketLogging::plan(&p, &before),
            Err(ActionError::Precondition(m)) if m.contains("cannot log into itself")
        ));
        p.insert("target_bucket".into(), Value::Str("acme-logs".into()));
        p.insert("target_prefix".into(), Value::Str("acme-data/".into()));
        let (call, target) = PutBucketLogging::plan(&p, &before).unwrap().unwrap();
        assert_eq!(target.target_bucket, "acme-logs");
        assert_eq!(call.params["logging"]["target_prefix"], "acme-data/");
    }
}
