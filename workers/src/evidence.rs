//! Evidence records (DESIGN §4): one JSON object per remediation attempt, stored
//! create-once under `evidence/YYYY/MM/DD/<id>.json`, sealed with a digest over its
//! canonical JSON so that `redress evidence verify` detects any later edit.

use chrono::{DateTime, Utc};
use redress_playbooks::gate::Decision;
use redress_playbooks::plan::PlanFinding;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::actions::Call;

pub const SCHEMA: u32 = 1;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Fixed,
    VerifyFailed,
    WouldFix,
    AlreadyCompliant,
    Held,
    Rejected,
    Expired,
    Failed,
    /// Not acted on by decision: ignore, exempt or no-match.
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fixed => "fixed",
            Outcome::VerifyFailed => "verify-failed",
            Outcome::WouldFix => "would-fix",
            Outcome::AlreadyCompliant => "already-compliant",
            Outcome::Held => "held",
            Outcome::Rejected => "rejected",
            Outcome::Expired => "expired",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }
}

/// The finding as evidence keeps it: as in plan JSON, plus the raw event's digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceFinding {
    #[serde(flatten)]
    pub finding: serde_json::Value,
    pub event_id: String,
    /// `sha256:<hex>` of the message body as received.
    pub raw_digest: String,
}

impl EvidenceFinding {
    pub fn new(plan: &PlanFinding, raw: &[u8]) -> Self {
        EvidenceFinding {
            finding: serde_json::to_value(plan).unwrap_or(serde_json::Value::Null),
            event_id: plan.event_id.clone(),
            raw_digest: sha256_tagged(raw),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookRef {
    pub id: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRef {
    pub request: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// One step as planned and as it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub action: String,
    pub params: serde_json::Value,
    pub category: String,
    pub description: String,
}

/// An earlier delivery that stored its intent and then stopped (a crash, a kill, a lost
/// connection) before recording its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resumed {
    /// The intent record's key in the store.
    pub intent: String,
    pub intent_at: DateTime<Utc>,
    /// The worker that wrote it.
    pub worker: String,
    /// What the re-read state showed, and what this delivery did about it.
    pub found: String,
}

/// One remediation attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub schema: u32,
    pub id: String,
    pub finding: Option<EvidenceFinding>,
    pub playbook: Option<PlaybookRef>,
    pub decision: Decision,
    pub mode: String,
    pub outcome: Outcome,
    pub reason: String,
    /// True when `[gate] auto` lifted an approval requirement.
    #[serde(default)]
    pub operator_opt_in: bool,
    pub approval: Option<ApprovalRef>,
    /// The planned steps with rendered parameters.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// Captured state per step, in step order (`null` where nothing was captured).
    pub before: serde_json::Value,
    /// Every mutating call made, in order (for `would-fix`: the calls that would be made).
    pub calls: Vec<Call>,
    /// State re-read after the calls, per step; absent when nothing was applied.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub after: Option<serde_json::Value>,
    pub verified: bool,
    /// What went wrong, for `failed` and `verify-failed`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// For a rollback: the record whose before-state it restored.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rollback_of: Option<String>,
    /// An interrupted earlier delivery of this finding, completed or reported by this one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resumed: Option<Resumed>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub worker: String,
    pub trace_id: Option<String>,
    /// `sha256:<hex>` over the record without this key, in canonical JSON.
    #[serde(default)]
    pub digest: String,
}

/// `sha256:<hex>` of bytes.
pub fn sha256_tagged(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Canonical JSON: object keys sorted (serde_json's map is ordered), no insignificant
/// whitespace.
pub fn canonical(value: &serde_json::Value) -> String {
    value.to_string()
}

/// Why a record is not what it claims to be.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("not an evidence record: {0}")]
    NotJson(String),
    #[error("digest mismatch: recorded {recorded}, computed {computed}")]
    Mismatch { recorded: String, computed: String },
}

impl Evidence {
    /// The digest over every key but `digest`.
    pub fn compute_digest(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("digest");
        }
        sha256_tagged(canonical(&v).as_bytes())
    }

    /// Sets the digest; call last, after every other field is final.
    pub fn seal(mut self) -> Self {
        self.digest = self.compute_digest();
        self
    }

    /// The store key of this record.
    pub fn key(&self) -> String {
        record_key(&self.id, self.started_at)
    }

    /// Checks the digest of stored bytes: the digest is recomputed over the stored JSON as
    /// it is (not as this version of the type would write it), so unknown keys count too.
    pub fn verify_bytes(bytes: &[u8]) -> Result<Evidence, SealError> {
        let mut v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| SealError::NotJson(e.to_string()))?;
        let recorded = v
            .as_object_mut()
            .and_then(|o| o.remove("digest"))
            .and_then(|d| d.as_str().map(str::to_owned))
            .unwrap_or_default();
        let computed = sha256_tagged(canonical(&v).as_bytes());
        if recorded != computed {
            return Err(SealError::Mismatch { recorded, computed });
        }
        let mut record: Evidence =
            serde_json::from_value(v).map_err(|e| SealError::NotJson(e.to_string()))?;
        record.digest = recorded;
        Ok(record)
    }
}

/// A new record id: time-ordered (UUID v7), so listings sort by time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The id of the record one claim of a finding ends in: a UUIDv7 at the claim's time whose
/// other bits come from the claim's key and generation. A delivery that takes over an
/// expired claim can so find a record its holder stored just before it died (and must not
/// store a second one).
pub fn claim_record_id(claim: &str, generation: u32, at: DateTime<Utc>) -> String {
    let digest = Sha256::digest(format!("{claim}\n{generation}\n{}", at.to_rfc3339()));
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bits)
        .into_uuid()
        .to_string()
}

/// Where the record with `id`, started at `at`, is stored.
pub fn record_key(id: &str, at: DateTime<Utc>) -> String {
    format!("evidence/{}/{id}.json", at.format("%Y/%m/%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Evidence {
        Evidence {
            schema: SCHEMA,
            id: "0192".into(),
            finding: None,
            playbook: None,
            decision: Decision::Auto,
            mode: "enforce".into(),
            outcome: Outcome::Fixed,
            reason: "r".into(),
            operator_opt_in: false,
            approval: None,
            steps: vec![],
            before: serde_json::json!([{"b": 1, "a": 2}]),
            calls: vec![],
            after: Some(serde_json::json!([])),
            verified: true,
            error: None,
            rollback_of: None,
            resumed: None,
            started_at: DateTime::parse_from_rfc3339("2026-03-14T08:12:40Z")
                .unwrap()
                .with_timezone(&Utc),
            finished_at: DateTime::parse_from_rfc3339("2026-03-14T08:12:41Z")
                .unwrap()
                .with_timezone(&Utc),
            worker: "redress 0.1.0".into(),
            trace_id: None,
            digest: String::new(),
        }
    }

    #[test]
    fn sealed_records_verify_and_edits_are_detected() {
        let r = record().seal();
        assert!(r.digest.starts_with("sha256:"));
        let bytes = serde_json::to_vec_pretty(&r).unwrap();
        assert_eq!(Evidence::verify_bytes(&bytes).unwrap(), r);
        let tampered = String::from_utf8(bytes)
            .unwrap()
            .replace("\"fixed\"", "\"failed\"");
        assert!(matches!(
            Evidence::verify_bytes(tampered.as_bytes()),
            Err(SealError::Mismatch { .. })
        ));
    }

    #[test]
    fn key_is_dated_by_start() {
        assert_eq!(record().key(), "evidence/2026/03/14/0192.json");
    }
}
