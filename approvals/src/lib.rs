//! redress-approvals: approval requests and decisions.
//!
//! Layout:
//! - [`ApprovalRequest`]: what the worker stores when the gate says `approval`: the finding,
//!   the rendered plan, the before-state, and the plan hash that an approval must match.
//! - [`plan_hash`]: sha256 over the canonical JSON of the plan, so an approval given for one
//!   plan can never apply a different one.
//!
//! The Slack message, the interaction endpoint and decisions come with the approvals issue.

use chrono::{DateTime, Utc};
use redress_playbooks::plan::{PlanFinding, PlanStep};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The part of a plan an approval covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct HashedPlan<'a> {
    playbook: &'a str,
    playbook_sha256: &'a str,
    account: &'a str,
    region: &'a str,
    resource_type: &'a str,
    resource_id: &'a str,
    steps: Vec<(&'a str, &'a serde_json::Value)>,
}

/// `sha256:<hex>` of the canonical plan: playbook (id and file hash), where, and every step
/// with its rendered parameters.
pub fn plan_hash(
    playbook: &str,
    playbook_sha256: &str,
    finding: &PlanFinding,
    steps: &[(String, serde_json::Value)],
) -> String {
    let hashed = HashedPlan {
        playbook,
        playbook_sha256,
        account: &finding.account,
        region: &finding.region,
        resource_type: &finding.resource_type,
        resource_id: &finding.resource_id,
        steps: steps.iter().map(|(a, p)| (a.as_str(), p)).collect(),
    };
    // serde_json::Value keeps object keys sorted, so this text is canonical.
    let canonical = serde_json::to_value(&hashed)
        .map(|v| v.to_string())
        .unwrap_or_default();
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
}

/// A fix held for a human decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub id: String,
    /// The evidence record (`held`) that created it.
    pub evidence: String,
    pub finding: serde_json::Value,
    pub playbook: String,
    pub playbook_sha256: String,
    pub steps: Vec<PlanStep>,
    /// Captured state per step at request time.
    pub before: serde_json::Value,
    pub plan_hash: String,
    /// Why it needs approval (the gate's reason).
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The store key of a pending request.
pub fn request_key(id: &str) -> String {
    format!("approvals/requests/{id}.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use redress_playbooks::finding::Source;

    fn finding(id: &str) -> PlanFinding {
        PlanFinding {
            source: Source::Config,
            kind: "restricted-ssh".into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            resource_type: "AWS::EC2::SecurityGroup".into(),
            resource_id: id.into(),
            resource_arn: None,
            severity: None,
            event_id: "e".into(),
        }
    }

    #[test]
    fn plan_hash_changes_with_anything_that_changes_the_fix() {
        let steps = vec![(
            "ec2.revoke_open_ingress".to_owned(),
            serde_json::json!({"group_id": "sg-1", "ports": [22]}),
        )];
        let h = plan_hash("sg", "abc", &finding("sg-1"), &steps);
        assert!(h.starts_with("sha256:"));
        assert_eq!(h, plan_hash("sg", "abc", &finding("sg-1"), &steps));
        assert_ne!(h, plan_hash("sg", "abd", &finding("sg-1"), &steps));
        assert_ne!(h, plan_hash("sg", "abc", &finding("sg-2"), &steps));
        let other = vec![(
            "ec2.revoke_open_ingress".to_owned(),
            serde_json::json!({"group_id": "sg-1", "ports": [22, 3389]}),
        )];
        assert_ne!(h, plan_hash("sg", "abc", &finding("sg-1"), &other));
    }
}
