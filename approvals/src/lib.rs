//! redress-approvals: approvals of high-blast-radius fixes in Slack.
//!
//! Layout:
//! - this file: the records both sides share. [`ApprovalRequest`] (stored by the worker when
//!   the gate says `approval`: finding, rendered plan, before-state, plan hash),
//!   [`DecisionRecord`] (written create-once when someone decides, or the sweep expires it),
//!   [`Job`] (what goes on the queue after a decision), the button [`Token`], [`plan_hash`],
//!   and the two seams: [`Backend`] (store and queue, implemented by the worker crate) and
//!   [`SlackApi`] (the Web API, implemented by [`slack::Client`]).
//! - [`signature`]: Slack request signing (v0 HMAC-SHA256, 5-minute window).
//! - [`interaction`]: decoding the form-encoded `block_actions` payload.
//! - [`blocks`]: Block Kit messages (request, change review, decided, outcome), with every
//!   text from a finding escaped.
//! - [`routing`]: which channel a request goes to.
//! - [`slack`]: the Web API client (chat.postMessage, chat.update, response_url).
//! - [`server`]: the interaction endpoint, `app(state) -> Router`.

pub mod blocks;
pub mod interaction;
pub mod routing;
#[cfg(feature = "net")]
pub mod server;
pub mod signature;
#[cfg(feature = "net")]
pub mod slack;

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
    before: &'a serde_json::Value,
}

/// `sha256:<hex>` of the canonical plan: playbook (id and file hash), where, every step with
/// its rendered parameters, and the before-state the approver was shown. An approval is for
/// exactly this: if the resource changed since, the worker's re-captured plan hashes
/// differently and the approval does not apply.
pub fn plan_hash(
    playbook: &str,
    playbook_sha256: &str,
    finding: &PlanFinding,
    steps: &[(String, serde_json::Value)],
    before: &serde_json::Value,
) -> String {
    let hashed = HashedPlan {
        playbook,
        playbook_sha256,
        account: &finding.account,
        region: &finding.region,
        resource_type: &finding.resource_type,
        resource_id: &finding.resource_id,
        steps: steps.iter().map(|(a, p)| (a.as_str(), p)).collect(),
        before,
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
    /// The mutating calls applying the plan would make (`{"action", "params", "result"}`),
    /// for the approver to read.
    #[serde(default)]
    pub planned_calls: Vec<serde_json::Value>,
    /// Slack user ids allowed to decide, as configured when the request was made.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// The channel the request was routed to, and why (for the message).
    #[serde(default)]
    pub channel: Option<String>,
    pub plan_hash: String,
    /// Why it needs approval (the gate's reason).
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The store key of a request.
pub fn request_key(id: &str) -> String {
    format!("approvals/requests/{id}.json")
}

/// The store key of the decision on a request (create-once: the first decision wins).
pub fn decision_key(id: &str) -> String {
    format!("approvals/decisions/{id}.json")
}

/// The store key of the Slack message that shows a request.
pub fn message_key(id: &str) -> String {
    format!("approvals/messages/{id}.json")
}

/// What was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approve,
    Reject,
    /// The sweep found the request past its expiry.
    Expire,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
            Verdict::Expire => "expire",
        }
    }
}

/// The decision on a request, written create-once under [`decision_key`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub request: String,
    pub verdict: Verdict,
    /// Slack user id of the approver (`redress` for the expiry sweep).
    pub by: String,
    pub at: DateTime<Utc>,
    /// The plan hash the decider saw (from the button); equal to the request's.
    pub plan_hash: String,
    /// Where to tell the decider how it went, if Slack gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_url: Option<String>,
}

/// Where a request's Slack message is, for updates and thread replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRef {
    pub channel: String,
    pub ts: String,
}

/// A job on the redress queue, besides findings: "the request was decided, act on it". The
/// queue is not an authority: the worker acts only on the decision record in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Always `"decision"`; tells a job from an AWS event.
    pub redress: String,
    pub request: String,
}

impl Job {
    pub fn decision(request: &str) -> Self {
        Job {
            redress: "decision".to_owned(),
            request: request.to_owned(),
        }
    }

    /// A job, if `body` is one (AWS events never carry a top-level `redress` key).
    pub fn parse(body: &[u8]) -> Option<Job> {
        let job: Job = serde_json::from_slice(body).ok()?;
        (job.redress == "decision").then_some(job)
    }
}

/// The value of an Approve / Reject button: names the request and the plan hash shown.
/// `v1.<request id>.<plan hash hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub request: String,
    /// `sha256:<hex>`.
    pub plan_hash: String,
}

impl Token {
    pub fn encode(&self) -> String {
        let hex = self
            .plan_hash
            .strip_prefix("sha256:")
            .unwrap_or(&self.plan_hash);
        format!("v1.{}.{hex}", self.request)
    }

    pub fn decode(value: &str) -> Option<Token> {
        let mut parts = value.split('.');
        let (Some("v1"), Some(request), Some(hex), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let ok_id = !request.is_empty()
            && request.len() <= 64
            && request
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-');
        let ok_hex = hex.len() == 64 && hex.bytes().all(|c| c.is_ascii_hexdigit());
        (ok_id && ok_hex).then(|| Token {
            request: request.to_owned(),
            plan_hash: format!("sha256:{hex}"),
        })
    }
}

/// Why the backend failed (the store or the queue).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// What the interaction endpoint needs from the worker's side: the store and the queue.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// The request with this id, if any.
    async fn request(&self, id: &str) -> Result<Option<ApprovalRequest>, BackendError>;
    /// The decision already made on it, if any.
    async fn decision(&self, id: &str) -> Result<Option<DecisionRecord>, BackendError>;
    /// Writes the decision create-once: `Ok(false)` when another decision got there first.
    async fn decide(&self, decision: &DecisionRecord) -> Result<bool, BackendError>;
    /// Puts a job on the queue.
    async fn enqueue(&self, job: &Job) -> Result<(), BackendError>;
    /// The Slack message of a request, if one was posted.
    async fn message(&self, id: &str) -> Result<Option<MessageRef>, BackendError>;
}

/// Why a Slack call failed.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("Slack API {method}: {error}")]
    Api { method: &'static str, error: String },
    #[error("Slack API {method}: {source}")]
    Http {
        method: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The Slack Web API calls redress makes.
#[async_trait::async_trait]
pub trait SlackApi: Send + Sync {
    /// chat.postMessage; returns where the message is. `thread_ts` posts a reply.
    async fn post(
        &self,
        channel: &str,
        text: &str,
        blocks: &serde_json::Value,
        thread_ts: Option<&str>,
    ) -> Result<MessageRef, SlackError>;
    /// chat.update of a message.
    async fn update(
        &self,
        message: &MessageRef,
        text: &str,
        blocks: &serde_json::Value,
    ) -> Result<(), SlackError>;
    /// POST to an interaction's response_url (ephemeral replies and in-place updates).
    async fn respond(&self, response_url: &str, body: &serde_json::Value)
    -> Result<(), SlackError>;
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
        let before = serde_json::json!([{"offending": [1]}]);
        let h = plan_hash("sg", "abc", &finding("sg-1"), &steps, &before);
        assert!(h.starts_with("sha256:"));
        assert_eq!(h, plan_hash("sg", "abc", &finding("sg-1"), &steps, &before));
        assert_ne!(h, plan_hash("sg", "abd", &finding("sg-1"), &steps, &before));
        assert_ne!(h, plan_hash("sg", "abc", &finding("sg-2"), &steps, &before));
        let other = vec![(
            "ec2.revoke_open_ingress".to_owned(),
            serde_json::json!({"group_id": "sg-1", "ports": [22, 3389]}),
        )];
        assert_ne!(h, plan_hash("sg", "abc", &finding("sg-1"), &other, &before));
        let changed = serde_json::json!([{"offending": [1, 2]}]);
        assert_ne!(
            h,
            plan_hash("sg", "abc", &finding("sg-1"), &steps, &changed)
        );
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let t = Token {
            request: "01a21492-74b3-74e1-9210-06294c983a7a".into(),
            plan_hash: format!("sha256:{}", "ab".repeat(32)),
        };
        assert_eq!(Token::decode(&t.encode()), Some(t));
        for bad in ["", "v1", "v2.x.ab", "v1.a.b", "v1.../x.abab", "v1.a b.00"] {
            assert_eq!(Token::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn jobs_are_told_from_events() {
        let j = Job::decision("r1");
        assert_eq!(Job::parse(&serde_json::to_vec(&j).unwrap()), Some(j));
        assert_eq!(
            Job::parse(br#"{"version":"0","source":"aws.config"}"#),
            None
        );
        assert_eq!(Job::parse(b"not json"), None);
    }
}
