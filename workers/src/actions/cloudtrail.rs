//! CloudTrail actions: start logging on stopped trails, turn on log file validation.
//!
//! Both change a trail in its home region only (StartLogging and UpdateTrail must be called
//! there): a trail homed elsewhere is a precondition error naming the region. CloudTrail
//! has no `DryRun` flag: dry-run is the planned calls (the trait's default).

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::Trail;
use redress_playbooks::actions::Params;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Action, ActionError, Call, Ctx, State, opt_str_param, str_param};
use crate::aws::{AwsError, Clients};

/// Whether `s` names a trail: a trail name (3–128 of letters, digits, `.`, `_`, `-`,
/// starting and ending with a letter or digit) or a trail ARN.
pub fn is_trail_ref(s: &str) -> bool {
    let name = |n: &str| {
        (3..=128).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && n.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && n.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
    };
    if let Some(rest) = s.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        return matches!(parts.as_slice(), [_, "cloudtrail", _, _, r]
            if r.strip_prefix("trail/").is_some_and(name));
    }
    name(s)
}

fn check_trail_ref(trail: &str) -> Result<(), ActionError> {
    if is_trail_ref(trail) {
        Ok(())
    } else {
        Err(ActionError::Precondition(format!(
            "{trail:?} is not a CloudTrail trail name or trail ARN"
        )))
    }
}

fn bad_state(action: &str) -> ActionError {
    ActionError::Precondition(format!(
        "the captured state is not one that {action} recorded"
    ))
}

/// The trails DescribeTrails returns for `names` (all of the region's own trails when
/// empty; shadow copies of other regions' multi-Region trails are left out then).
async fn describe_trails(clients: &Clients, names: &[&str]) -> Result<Vec<Trail>, ActionError> {
    let mut req = clients.cloudtrail.describe_trails();
    if names.is_empty() {
        req = req.include_shadow_trails(false);
    } else {
        for n in names {
            req = req.trail_name_list(*n);
        }
    }
    let out = req
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("cloudtrail:DescribeTrails", e))?;
    Ok(out.trail_list().to_vec())
}

/// The one trail `trail` names, checked to be homed in the clients' region.
async fn one_trail(clients: &Clients, trail: &str) -> Result<Trail, ActionError> {
    check_trail_ref(trail)?;
    let found = match describe_trails(clients, &[trail]).await {
        Ok(found) => found,
        Err(ActionError::Aws(e)) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e),
    };
    let t = found
        .into_iter()
        .find(|t| t.name() == Some(trail) || t.trail_arn() == Some(trail))
        .ok_or_else(|| {
            ActionError::Precondition(format!(
                "no CloudTrail trail {trail} in region {}",
                clients.region
            ))
        })?;
    if let Some(owner) = t.trail_arn().and_then(|a| a.split(':').nth(4))
        && owner != clients.account
    {
        return Err(ActionError::Precondition(format!(
            "CloudTrail trail {trail} belongs to account {owner} (an organization trail): only that account can change it"
        )));
    }
    if let Some(home) = t.home_region()
        && home != clients.region
    {
        return Err(ActionError::Precondition(format!(
            "CloudTrail trail {trail} is homed in {home}: it can only be changed there, not from {}",
            clients.region
        )));
    }
    Ok(t)
}

// ---------------------------------------------------------------------------------------
// cloudtrail.start_logging
// ---------------------------------------------------------------------------------------

/// `cloudtrail.start_logging`: StartLogging on a stopped trail, or on every stopped trail of
/// the region (the region's own trails of this account: an organization trail of the
/// management account cannot be started from a member account and is left out).
///
/// State: `{"trail": name-or-arn or null, "trails": [{"name", "arn", "home_region",
/// "is_logging"}]}`. Compliant when every captured trail is logging (and there is at least
/// one). With no trail at all there is nothing to restart: that is a precondition error
/// (creating a trail needs a bucket and its policy, left to a person).
pub struct StartLogging;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrailLogging {
    name: String,
    arn: Option<String>,
    home_region: Option<String>,
    is_logging: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LoggingState {
    trail: Option<String>,
    trails: Vec<TrailLogging>,
}

fn logging_state(state: &State) -> Option<LoggingState> {
    serde_json::from_value(state.clone()).ok()
}

/// How a call names a trail: by name, which is unambiguous for the trails acted on (this
/// account's, homed in this region). (moto_server also answers StartLogging by ARN with
/// a 500.)
fn trail_id(t: &TrailLogging) -> &str {
    &t.name
}

fn logging_call(op: &str, t: &TrailLogging) -> Call {
    Call::new(op, json!({"Name": trail_id(t)}))
}

#[async_trait]
impl Action for StartLogging {
    fn id(&self) -> &'static str {
        "cloudtrail.start_logging"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let named = opt_str_param(params, "trail");
        let trails = match named {
            Some(t) => vec![one_trail(cx.aws, t).await?],
            None => describe_trails(cx.aws, &[])
                .await?
                .into_iter()
                .filter(|t| t.home_region().is_none_or(|h| h == cx.aws.region))
                .filter(|t| {
                    t.trail_arn()
                        .and_then(|a| a.split(':').nth(4))
                        .is_none_or(|acct| acct == cx.aws.account)
                })
                .collect(),
        };
        if trails.is_empty() {
            return Err(ActionError::Precondition(format!(
                "no CloudTrail trail of account {} is homed in {}: there is nothing to restart, and creating a trail (bucket, bucket policy, scope) is left to a person",
                cx.aws.account, cx.aws.region
            )));
        }
        let mut out = Vec::new();
        for t in trails {
            let name = t.name().unwrap_or_default().to_owned();
            let arn = t.trail_arn().map(str::to_owned);
            let status = cx
                .aws
                .cloudtrail
                .get_trail_status()
                .name(&name)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("cloudtrail:GetTrailStatus", e))?;
            out.push(TrailLogging {
                name,
                arn,
                home_region: t.home_region().map(str::to_owned),
                is_logging: status.is_logging().unwrap_or(false),
            });
        }
        let state = LoggingState {
            trail: named.map(str::to_owned),
            trails: out,
        };
        serde_json::to_value(state).map_err(|e| ActionError::Precondition(e.to_string()))
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        logging_state(state)
            .is_some_and(|s| !s.trails.is_empty() && s.trails.iter().all(|t| t.is_logging))
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        logging_state(before)
            .map(|b| {
                b.trails
                    .iter()
                    .filter(|t| !t.is_logging)
                    .map(|t| logging_call("cloudtrail:StartLogging", t))
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
        let b = logging_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        for t in b.trails.iter().filter(|t| !t.is_logging) {
            cx.aws
                .cloudtrail
                .start_logging()
                .name(trail_id(t))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("cloudtrail:StartLogging", e))?;
            calls.push(logging_call("cloudtrail:StartLogging", t));
        }
        Ok(calls)
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = logging_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        // Only the trails that were stopped before are stopped again.
        for t in b.trails.iter().filter(|t| !t.is_logging) {
            cx.aws
                .cloudtrail
                .stop_logging()
                .name(trail_id(t))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("cloudtrail:StopLogging", e))?;
            calls.push(logging_call("cloudtrail:StopLogging", t));
        }
        Ok(calls)
    }
}

// ---------------------------------------------------------------------------------------
// cloudtrail.enable_log_file_validation
// ---------------------------------------------------------------------------------------

/// `cloudtrail.enable_log_file_validation`: UpdateTrail with EnableLogFileValidation.
///
/// State: `{"name", "arn", "home_region", "log_file_validation"}` from DescribeTrails.
pub struct EnableLogFileValidation;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ValidationState {
    name: String,
    arn: Option<String>,
    home_region: Option<String>,
    log_file_validation: bool,
}

fn validation_state(state: &State) -> Option<ValidationState> {
    serde_json::from_value(state.clone()).ok()
}

fn update_call(b: &ValidationState, on: bool) -> Call {
    Call::new(
        "cloudtrail:UpdateTrail",
        json!({"Name": b.arn.as_deref().unwrap_or(&b.name), "EnableLogFileValidation": on}),
    )
}

async fn update_validation(
    clients: &Clients,
    b: &ValidationState,
    on: bool,
) -> Result<Call, ActionError> {
    clients
        .cloudtrail
        .update_trail()
        .name(b.arn.as_deref().unwrap_or(&b.name))
        .enable_log_file_validation(on)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("cloudtrail:UpdateTrail", e))?;
    Ok(update_call(b, on))
}

#[async_trait]
impl Action for EnableLogFileValidation {
    fn id(&self) -> &'static str {
        "cloudtrail.enable_log_file_validation"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let trail = str_param(params, "trail")?;
        let t = one_trail(cx.aws, trail).await?;
        let state = ValidationState {
            name: t.name().unwrap_or(trail).to_owned(),
            arn: t.trail_arn().map(str::to_owned),
            home_region: t.home_region().map(str::to_owned),
            log_file_validation: t.log_file_validation_enabled().unwrap_or(false),
        };
        serde_json::to_value(state).map_err(|e| ActionError::Precondition(e.to_string()))
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        validation_state(state).is_some_and(|s| s.log_file_validation)
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        match validation_state(before) {
            Some(b) if !b.log_file_validation => vec![update_call(&b, true)],
            _ => Vec::new(),
        }
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = validation_state(before).ok_or_else(|| bad_state(self.id()))?;
        if b.log_file_validation {
            return Ok(Vec::new());
        }
        Ok(vec![update_validation(cx.aws, &b, true).await?])
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = validation_state(before).ok_or_else(|| bad_state(self.id()))?;
        if b.log_file_validation {
            return Ok(Vec::new());
        }
        Ok(vec![update_validation(cx.aws, &b, false).await?])
    }
}

/// The cloudtrail actions.
pub(super) static ACTIONS: &[&dyn Action] = &[&StartLogging, &EnableLogFileValidation];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_references_are_names_or_trail_arns() {
        assert!(is_trail_ref("org-trail"));
        assert!(is_trail_ref("management.events_1"));
        assert!(is_trail_ref(
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"
        ));
        assert!(!is_trail_ref("ab"));
        assert!(!is_trail_ref("-trail"));
        assert!(!is_trail_ref("trail/../x"));
        assert!(!is_trail_ref("arn:aws:s3:::bucket"));
        assert!(!is_trail_ref(
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/"
        ));
    }
}
