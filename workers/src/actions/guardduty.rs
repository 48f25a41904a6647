//! GuardDuty actions: enable the detector of an account and region.
//!
//! GuardDuty has no `DryRun` flag: dry-run is the planned calls (the trait's default).

use async_trait::async_trait;
use redress_playbooks::actions::Params;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Action, ActionError, Call, Ctx, State};
use crate::aws::{AwsError, Clients};

const ENABLED: &str = "ENABLED";

/// `guardduty.enable_detector`: a suspended detector is enabled (UpdateDetector
/// Enable=true); with no detector, one is created enabled (CreateDetector Enable=true, its
/// id in the call's result).
///
/// State: `{"detectors": [{"id", "status"}]}` from ListDetectors and GetDetector (a region
/// has at most one). Compliant when there is a detector and every one is `ENABLED`.
/// Revert suspends what was suspended, and deletes the detectors that exist when there was
/// none before (the one apply created: a region has at most one).
pub struct EnableDetector;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Detector {
    id: String,
    status: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DetectorState {
    detectors: Vec<Detector>,
}

fn detector_state(state: &State) -> Option<DetectorState> {
    serde_json::from_value(state.clone()).ok()
}

fn bad_state(action: &str) -> ActionError {
    ActionError::Precondition(format!(
        "the captured state is not one that {action} recorded"
    ))
}

async fn detectors(clients: &Clients) -> Result<Vec<Detector>, ActionError> {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = clients
            .guardduty
            .list_detectors()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListDetectors", e))?;
        ids.extend(page.detector_ids().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let got = clients
            .guardduty
            .get_detector()
            .detector_id(&id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:GetDetector", e))?;
        out.push(Detector {
            status: got.status().map(|s| s.as_str().to_owned()),
            id,
        });
    }
    Ok(out)
}

fn enabled(d: &Detector) -> bool {
    d.status.as_deref() == Some(ENABLED)
}

fn update_call(id: &str, enable: bool) -> Call {
    Call::new(
        "guardduty:UpdateDetector",
        json!({"DetectorId": id, "Enable": enable}),
    )
}

async fn update_detector(clients: &Clients, id: &str, enable: bool) -> Result<Call, ActionError> {
    clients
        .guardduty
        .update_detector()
        .detector_id(id)
        .enable(enable)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("guardduty:UpdateDetector", e))?;
    Ok(update_call(id, enable))
}

#[async_trait]
impl Action for EnableDetector {
    fn id(&self) -> &'static str {
        "guardduty.enable_detector"
    }

    async fn capture(&self, cx: &Ctx<'_>, _params: &Params) -> Result<State, ActionError> {
        let detectors = detectors(cx.aws).await?;
        serde_json::to_value(DetectorState { detectors })
            .map_err(|e| ActionError::Precondition(e.to_string()))
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        detector_state(state)
            .is_some_and(|s| !s.detectors.is_empty() && s.detectors.iter().all(enabled))
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        match detector_state(before) {
            Some(b) if b.detectors.is_empty() => vec![Call::new(
                "guardduty:CreateDetector",
                json!({"Enable": true}),
            )],
            Some(b) => b
                .detectors
                .iter()
                .filter(|d| !enabled(d))
                .map(|d| update_call(&d.id, true))
                .collect(),
            None => Vec::new(),
        }
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = detector_state(before).ok_or_else(|| bad_state(self.id()))?;
        if b.detectors.is_empty() {
            let out = cx
                .aws
                .guardduty
                .create_detector()
                .enable(true)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("guardduty:CreateDetector", e))?;
            return Ok(vec![
                Call::new("guardduty:CreateDetector", json!({"Enable": true}))
                    .with_result(json!({"DetectorId": out.detector_id()})),
            ]);
        }
        let mut calls = Vec::new();
        for d in b.detectors.iter().filter(|d| !enabled(d)) {
            calls.push(update_detector(cx.aws, &d.id, true).await?);
        }
        Ok(calls)
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = detector_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        if b.detectors.is_empty() {
            for d in detectors(cx.aws).await? {
                cx.aws
                    .guardduty
                    .delete_detector()
                    .detector_id(&d.id)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("guardduty:DeleteDetector", e))?;
                calls.push(Call::new(
                    "guardduty:DeleteDetector",
                    json!({"DetectorId": d.id}),
                ));
            }
            return Ok(calls);
        }
        for d in b.detectors.iter().filter(|d| !enabled(d)) {
            calls.push(update_detector(cx.aws, &d.id, false).await?);
        }
        Ok(calls)
    }
}

/// The guardduty actions.
pub(super) static ACTIONS: &[&dyn Action] = &[&EnableDetector];
