//! The action catalog's implementations: one type per action id of
//! `redress_playbooks::actions::catalog()`, each with capture / apply / revert and a
//! compliance test that verification uses.
//!
//! Verification is the same for every action: re-capture the state and ask the action
//! whether it is what the step expects ([`Action::compliant`]). So a fix that "succeeded"
//! but did not take is never reported as fixed.

pub mod cloudtrail;
pub mod config;
pub mod ec2;
pub mod guardduty;
pub mod iam;
pub mod kms;
pub mod s3;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redress_playbooks::actions::{Params, Value};
use serde::Serialize;

use crate::aws::{AwsError, Clients};

/// A captured state: whatever the read calls returned, as JSON, for evidence and revert.
pub type State = serde_json::Value;

/// One mutating call, as evidence records it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Call {
    /// `service:Operation`, e.g. `s3:PutPublicAccessBlock`.
    pub action: String,
    /// The request's meaningful parameters.
    pub params: serde_json::Value,
    /// What AWS answered (ids created, `DryRunOperation`, …); `null` when nothing useful.
    pub result: serde_json::Value,
}

impl Call {
    pub fn new(action: &str, params: serde_json::Value) -> Self {
        Call {
            action: action.to_owned(),
            params,
            result: serde_json::Value::Null,
        }
    }

    pub fn with_result(mut self, result: serde_json::Value) -> Self {
        self.result = result;
        self
    }
}

/// What an action knows about the remediation it is part of: used to tag what it creates
/// and to name things.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    /// Clients for the finding's account and region.
    pub aws: &'a Clients,
    /// The evidence record id of this remediation.
    pub remediation_id: &'a str,
    pub playbook_id: &'a str,
    /// The finding's event id.
    pub event_id: &'a str,
    /// When the finding was made (e.g. the cut-off for revoking sessions is never before it).
    pub finding_time: DateTime<Utc>,
    /// Now, injected so tests can pin it.
    pub now: DateTime<Utc>,
}

/// Why an action failed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A parameter the catalog declares is missing or of the wrong type (a bug in
    /// validation if it ever happens, reported rather than panicking).
    #[error("parameter `{0}` is missing or has the wrong type")]
    Param(&'static str),
    /// The resource is not there or not in a state the action can work with.
    #[error("{0}")]
    Precondition(String),
}

/// One action of the catalog.
#[async_trait]
pub trait Action: Send + Sync {
    /// The catalog id this implements.
    fn id(&self) -> &'static str;

    /// Reads the current state of what the action changes.
    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError>;

    /// Whether `state` is what the step wants (so: no call needed; or: the fix verified).
    fn compliant(&self, params: &Params, state: &State, cx: &Ctx<'_>) -> bool;

    /// The mutating calls `apply` would make from `before`, for dry-run and approvals.
    fn planned_calls(&self, params: &Params, before: &State, cx: &Ctx<'_>) -> Vec<Call>;

    /// In dry-run, proves the permissions where the API has a `DryRun` flag (EC2) and
    /// returns the calls with their `DryRunOperation` result; others return `planned_calls`.
    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let _ = cx;
        Ok(self.planned_calls(params, before, cx))
    }

    /// Makes the change. Returns every mutating call made, in order.
    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError>;

    /// Restores `before` (the state `capture` returned before `apply`).
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError>;
}

/// The implementation of an action id.
pub fn implementation(id: &str) -> Option<&'static dyn Action> {
    registry().find(|a| a.id() == id)
}

/// Every implementation, service by service (each module lists its own in `ACTIONS`).
pub fn registry() -> impl Iterator<Item = &'static dyn Action> {
    [
        s3::ACTIONS,
        ec2::ACTIONS,
        iam::ACTIONS,
        config::ACTIONS,
        cloudtrail::ACTIONS,
        guardduty::ACTIONS,
        kms::ACTIONS,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// Typed access to rendered parameters.
pub fn str_param<'p>(p: &'p Params, name: &'static str) -> Result<&'p str, ActionError> {
    match p.get(name) {
        Some(Value::Str(s)) => Ok(s),
        _ => Err(ActionError::Param(name)),
    }
}

pub fn opt_str_param<'p>(p: &'p Params, name: &'static str) -> Option<&'p str> {
    match p.get(name) {
        Some(Value::Str(s)) => Some(s),
        _ => None,
    }
}

pub fn bool_param(p: &Params, name: &'static str) -> Result<bool, ActionError> {
    match p.get(name) {
        Some(Value::Bool(b)) => Ok(*b),
        _ => Err(ActionError::Param(name)),
    }
}

pub fn int_param(p: &Params, name: &'static str) -> Result<i64, ActionError> {
    match p.get(name) {
        Some(Value::Int(i)) => Ok(*i),
        _ => Err(ActionError::Param(name)),
    }
}

pub fn int_list_param<'p>(p: &'p Params, name: &'static str) -> Result<&'p [i64], ActionError> {
    match p.get(name) {
        Some(Value::IntList(v)) => Ok(v),
        _ => Err(ActionError::Param(name)),
    }
}

pub fn str_list_param<'p>(p: &'p Params, name: &'static str) -> Result<&'p [String], ActionError> {
    match p.get(name) {
        Some(Value::StrList(v)) => Ok(v),
        _ => Err(ActionError::Param(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_action_has_an_implementation() {
        for spec in redress_playbooks::actions::catalog() {
            assert!(
                implementation(spec.id).is_some(),
                "{} has no implementation",
                spec.id
            );
        }
        assert_eq!(
            registry().count(),
            redress_playbooks::actions::catalog().count()
        );
    }
}
