//! S3 actions: Block Public Access and default encryption of one bucket.
//!
//! Both read one bucket-level configuration, put a new one, and revert by putting the
//! captured configuration back (or deleting it when there was none).

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BlockedEncryptionTypes, EncryptionType, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
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
}
