//! AWS Config: the re-evaluation nudge after a verified fix, and the action that starts a
//! stopped configuration recorder.
//!
//! Re-evaluation is best effort: the fix was already verified by re-reading the resource,
//! so a failure here is logged by the caller and changes no outcome. (moto does not
//! implement StartConfigRulesEvaluation; against it this returns a classified error.)

use async_trait::async_trait;
use redress_playbooks::actions::Params;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Action, ActionError, Call, Ctx, State};
use crate::aws::{AwsError, Clients};

/// Asks Config to evaluate `rule_name` again now (StartConfigRulesEvaluation), so that the
/// rule's compliance reflects the fix without waiting for the next periodic run.
pub async fn reevaluate(clients: &Clients, rule_name: &str) -> Result<(), AwsError> {
    clients
        .config
        .start_config_rules_evaluation()
        .config_rule_names(rule_name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("config:StartConfigRulesEvaluation", e))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// config.start_configuration_recorder
// ---------------------------------------------------------------------------------------

/// `config.start_configuration_recorder`: StartConfigurationRecorder on every customer
/// managed recorder of the region that is not recording.
///
/// State: `{"recorders": [{"name", "role_arn", "recording"}]}` from
/// DescribeConfigurationRecorders and DescribeConfigurationRecorderStatus. Service-linked
/// recorders (owned by another AWS service) are left out: only their service starts them.
/// Compliant when there is at least one recorder and every one is recording. A region with
/// no recorder is a precondition error: setting one up (role, recording scope, delivery
/// channel) is a decision for a person.
pub struct StartConfigurationRecorder;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Recorder {
    name: String,
    role_arn: Option<String>,
    recording: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RecorderState {
    recorders: Vec<Recorder>,
}

fn recorder_state(state: &State) -> Option<RecorderState> {
    serde_json::from_value(state.clone()).ok()
}

fn bad_state(action: &str) -> ActionError {
    ActionError::Precondition(format!(
        "the captured state is not one that {action} recorded"
    ))
}

fn recorder_call(op: &str, name: &str) -> Call {
    Call::new(op, json!({"ConfigurationRecorderName": name}))
}

#[async_trait]
impl Action for StartConfigurationRecorder {
    fn id(&self) -> &'static str {
        "config.start_configuration_recorder"
    }

    async fn capture(&self, cx: &Ctx<'_>, _params: &Params) -> Result<State, ActionError> {
        let recorders = cx
            .aws
            .config
            .describe_configuration_recorders()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("config:DescribeConfigurationRecorders", e))?;
        let statuses = cx
            .aws
            .config
            .describe_configuration_recorder_status()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("config:DescribeConfigurationRecorderStatus", e))?;
        let recorders: Vec<Recorder> = recorders
            .configuration_recorders()
            .iter()
            .filter(|r| r.service_principal().is_none())
            .filter_map(|r| {
                let name = r.name()?.to_owned();
                let recording = statuses
                    .configuration_recorders_status()
                    .iter()
                    .any(|s| s.name() == Some(name.as_str()) && s.recording());
                Some(Recorder {
                    name,
                    role_arn: r.role_arn().map(str::to_owned),
                    recording,
                })
            })
            .collect();
        if recorders.is_empty() {
            return Err(ActionError::Precondition(format!(
                "account {} has no AWS Config configuration recorder in {}: there is nothing to start, and setting one up (role, recording scope, delivery channel) is left to a person",
                cx.aws.account, cx.aws.region
            )));
        }
        serde_json::to_value(RecorderState { recorders })
            .map_err(|e| ActionError::Precondition(e.to_string()))
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        recorder_state(state)
            .is_some_and(|s| !s.recorders.is_empty() && s.recorders.iter().all(|r| r.recording))
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        recorder_state(before)
            .map(|b| {
                b.recorders
                    .iter()
                    .filter(|r| !r.recording)
                    .map(|r| recorder_call("config:StartConfigurationRecorder", &r.name))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = recorder_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        for r in b.recorders.iter().filter(|r| !r.recording) {
            cx.aws
                .config
                .start_configuration_recorder()
                .configuration_recorder_name(&r.name)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("config:StartConfigurationRecorder", e))?;
            calls.push(recorder_call("config:StartConfigurationRecorder", &r.name));
        }
        Ok(calls)
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = recorder_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        for r in b.recorders.iter().filter(|r| !r.recording) {
            cx.aws
                .config
                .stop_configuration_recorder()
                .configuration_recorder_name(&r.name)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("config:StopConfigurationRecorder", e))?;
            calls.push(recorder_call("config:StopConfigurationRecorder", &r.name));
        }
        Ok(calls)
    }
}

/// The Config actions.
pub(super) static ACTIONS: &[&dyn super::Action] = &[&StartConfigurationRecorder];
