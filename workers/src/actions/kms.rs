//! KMS actions: turn on automatic key rotation.
//!
//! KMS has no `DryRun` flag: dry-run is the planned calls (the trait's default).

use async_trait::async_trait;
use redress_playbooks::actions::Params;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Action, ActionError, Call, Ctx, State, str_param};
use crate::aws::AwsError;

/// Whether `s` has the syntax of a key a step may name: a key id (UUID), a multi-Region
/// key id (`mrk-` and 32 hex digits) or a key ARN. Aliases are refused: rotation is a
/// property of the key, and an alias can be re-pointed between capture and apply.
pub fn is_key_ref(s: &str) -> bool {
    let uuid = |v: &str| {
        v.len() == 36
            && v.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mrk = |v: &str| {
        v.strip_prefix("mrk-")
            .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    if let Some(rest) = s.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        return matches!(parts.as_slice(), [_, "kms", _, _, r]
            if r.strip_prefix("key/").is_some_and(|k| uuid(k) || mrk(k)));
    }
    uuid(s) || mrk(s)
}

/// `kms.enable_key_rotation`: EnableKeyRotation on a customer managed symmetric key.
///
/// State: `{"key_id", "arn", "key_manager", "key_spec", "key_state", "rotation_enabled"}`
/// from DescribeKey and GetKeyRotationStatus. AWS managed keys (rotated by AWS, and
/// EnableKeyRotation is refused on them) and asymmetric or HMAC keys (KMS cannot rotate
/// them) are a precondition error, so a finding about them is reported, not "fixed".
pub struct EnableKeyRotation;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyRotationState {
    key_id: String,
    arn: Option<String>,
    key_manager: Option<String>,
    key_spec: Option<String>,
    key_state: Option<String>,
    rotation_enabled: bool,
}

fn rotation_state(state: &State) -> Option<KeyRotationState> {
    serde_json::from_value(state.clone()).ok()
}

fn bad_state(action: &str) -> ActionError {
    ActionError::Precondition(format!(
        "the captured state is not one that {action} recorded"
    ))
}

fn call(op: &str, key_id: &str) -> Call {
    Call::new(op, json!({"KeyId": key_id}))
}

#[async_trait]
impl Action for EnableKeyRotation {
    fn id(&self) -> &'static str {
        "kms.enable_key_rotation"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let key = str_param(params, "key_id")?;
        if !is_key_ref(key) {
            return Err(ActionError::Precondition(format!(
                "{key:?} is not a KMS key id, multi-Region key id or key ARN"
            )));
        }
        let described = match cx.aws.kms.describe_key().key_id(key).send().await {
            Ok(d) => d,
            Err(e) => {
                let e = AwsError::from_sdk("kms:DescribeKey", e);
                if e.is_not_found() {
                    return Err(ActionError::Precondition(format!("no KMS key {key}")));
                }
                return Err(e.into());
            }
        };
        let meta = described
            .key_metadata()
            .ok_or_else(|| ActionError::Precondition(format!("KMS did not describe key {key}")))?;
        let key_manager = meta.key_manager().map(|m| m.as_str().to_owned());
        let key_spec = meta.key_spec().map(|s| s.as_str().to_owned());
        if key_manager.as_deref() == Some("AWS") {
            return Err(ActionError::Precondition(format!(
                "KMS key {key} is AWS managed: AWS rotates it every year and its rotation cannot be changed"
            )));
        }
        if key_spec
            .as_deref()
            .is_some_and(|s| s != "SYMMETRIC_DEFAULT")
        {
            return Err(ActionError::Precondition(format!(
                "KMS key {key} is a {} key: only symmetric encryption keys can be rotated automatically",
                key_spec.as_deref().unwrap_or("?")
            )));
        }
        if meta.origin().is_some_and(|o| o.as_str() != "AWS_KMS") {
            return Err(ActionError::Precondition(format!(
                "KMS key {key} has imported or external key material: KMS cannot rotate it automatically"
            )));
        }
        let key_id = meta.key_id().to_owned();
        let status = cx
            .aws
            .kms
            .get_key_rotation_status()
            .key_id(&key_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("kms:GetKeyRotationStatus", e))?;
        let state = KeyRotationState {
            key_id,
            arn: meta.arn().map(str::to_owned),
            key_manager,
            key_spec,
            key_state: meta.key_state().map(|s| s.as_str().to_owned()),
            rotation_enabled: status.key_rotation_enabled(),
        };
        serde_json::to_value(state).map_err(|e| ActionError::Precondition(e.to_string()))
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        rotation_state(state).is_some_and(|s| s.rotation_enabled)
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        match rotation_state(before) {
            Some(b) if !b.rotation_enabled => vec![call("kms:EnableKeyRotation", &b.key_id)],
            _ => Vec::new(),
        }
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = rotation_state(before).ok_or_else(|| bad_state(self.id()))?;
        if b.rotation_enabled {
            return Ok(Vec::new());
        }
        cx.aws
            .kms
            .enable_key_rotation()
            .key_id(&b.key_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("kms:EnableKeyRotation", e))?;
        Ok(vec![call("kms:EnableKeyRotation", &b.key_id)])
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = rotation_state(before).ok_or_else(|| bad_state(self.id()))?;
        if b.rotation_enabled {
            return Ok(Vec::new());
        }
        cx.aws
            .kms
            .disable_key_rotation()
            .key_id(&b.key_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("kms:DisableKeyRotation", e))?;
        Ok(vec![call("kms:DisableKeyRotation", &b.key_id)])
    }
}

/// The kms actions.
pub(super) static ACTIONS: &[&dyn Action] = &[&EnableKeyRotation];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_references_are_ids_mrk_ids_or_key_arns() {
        assert!(is_key_ref("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(is_key_ref("mrk-1234abcd12ab34cd56ef1234567890ab"));
        assert!(is_key_ref(
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ));
        assert!(!is_key_ref("alias/aws/s3"));
        assert!(!is_key_ref("arn:aws:kms:us-east-1:111122223333:alias/x"));
        assert!(!is_key_ref("1234abcd-12ab-34cd-56ef-1234567890a"));
        assert!(!is_key_ref("../../etc"));
    }
}
