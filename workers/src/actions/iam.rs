//! IAM actions: deactivate an access key, deactivate a user's stale access keys, and revoke
//! the sessions of a role.
//!
//! Users may be named by user name or by unique user id (`AIDA…`, which is how Config reports
//! IAM users): an id is resolved to the name with ListUsers before any other call, and the
//! resolved name is recorded in the state. IAM has no `DryRun` flag, so dry-run is the
//! planned calls (the trait's default).

use async_trait::async_trait;
use aws_sdk_iam::types::{AccessKeyMetadata, StatusType};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use redress_playbooks::actions::Params;
use redress_playbooks::ids::IdKind;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::{Action, ActionError, Call, Ctx, State, int_param, str_param};
use crate::aws::{AwsError, Clients};

/// The inline policy that [`RevokeRoleSessions`] puts on a role.
pub const REVOKE_POLICY_NAME: &str = "RedressRevokeOlderSessions";

const ACTIVE: &str = "Active";
const INACTIVE: &str = "Inactive";

// ---------------------------------------------------------------------------------------
// Users and their keys
// ---------------------------------------------------------------------------------------

/// The name of the user whose unique id is `id`, if any (ListUsers, every page).
async fn user_name_by_id(clients: &Clients, id: &str) -> Result<Option<String>, AwsError> {
    let mut marker: Option<String> = None;
    loop {
        let page = clients
            .iam
            .list_users()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:ListUsers", e))?;
        if let Some(user) = page.users().iter().find(|u| u.user_id() == id) {
            return Ok(Some(user.user_name().to_owned()));
        }
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(None),
        }
    }
}

/// Every access key of the user `name` (ListAccessKeys, every page).
async fn list_access_keys(
    clients: &Clients,
    name: &str,
) -> Result<Vec<AccessKeyMetadata>, AwsError> {
    let mut keys = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = clients
            .iam
            .list_access_keys()
            .user_name(name)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:ListAccessKeys", e))?;
        keys.extend(page.access_key_metadata().iter().cloned());
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(keys),
        }
    }
}

/// The user an action works on, as recorded in its state.
#[derive(Debug, Clone, PartialEq)]
struct User {
    /// The user name every IAM call takes.
    name: String,
    /// The user id the step named the user by, when it was not the name.
    resolved_from: Option<String>,
}

/// Resolves the `user` parameter (name or `AIDA…` id) and lists the user's access keys.
///
/// A value with the syntax of a user id is resolved with ListUsers before any other call.
/// Any other value is taken as a name; if no user has that name, it is looked up once more
/// as a user id (ids of another shape than `AIDA…`, as emulators make), and otherwise the
/// user does not exist.
async fn user_and_keys(
    clients: &Clients,
    user: &str,
) -> Result<(User, Vec<AccessKeyMetadata>), ActionError> {
    let no_such_user = |name: &str| ActionError::Precondition(format!("no IAM user named {name}"));
    if IdKind::IamUserId.check(user).is_ok() {
        let name = user_name_by_id(clients, user)
            .await?
            .ok_or_else(|| ActionError::Precondition(format!("no IAM user has id {user}")))?;
        let keys = match list_access_keys(clients, &name).await {
            Ok(keys) => keys,
            Err(e) if e.is_not_found() => return Err(no_such_user(&name)),
            Err(e) => return Err(e.into()),
        };
        let user = User {
            name,
            resolved_from: Some(user.to_owned()),
        };
        return Ok((user, keys));
    }
    match list_access_keys(clients, user).await {
        Ok(keys) => Ok((
            User {
                name: user.to_owned(),
                resolved_from: None,
            },
            keys,
        )),
        Err(e) if e.is_not_found() => match user_name_by_id(clients, user).await? {
            Some(name) => {
                let keys = match list_access_keys(clients, &name).await {
                    Ok(keys) => keys,
                    Err(e) if e.is_not_found() => return Err(no_such_user(&name)),
                    Err(e) => return Err(e.into()),
                };
                let user = User {
                    name,
                    resolved_from: Some(user.to_owned()),
                };
                Ok((user, keys))
            }
            None => Err(no_such_user(user)),
        },
        Err(e) => Err(e.into()),
    }
}

fn key_status(key: &AccessKeyMetadata) -> Option<&str> {
    key.status().map(StatusType::as_str)
}

fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn update_access_key(
    clients: &Clients,
    user: &str,
    access_key_id: &str,
    status: &str,
) -> Result<Call, ActionError> {
    clients
        .iam
        .update_access_key()
        .user_name(user)
        .access_key_id(access_key_id)
        .status(StatusType::from(status))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:UpdateAccessKey", e))?;
    Ok(update_call(user, access_key_id, status))
}

fn update_call(user: &str, access_key_id: &str, status: &str) -> Call {
    Call::new(
        "iam:UpdateAccessKey",
        json!({"UserName": user, "AccessKeyId": access_key_id, "Status": status}),
    )
}

// ---------------------------------------------------------------------------------------
// iam.deactivate_access_key
// ---------------------------------------------------------------------------------------

/// `iam.deactivate_access_key`: sets one access key of a user to `Inactive`.
///
/// State: `{"user", "resolved_from", "access_key_id", "status"}` where `user` is the
/// resolved user name, `resolved_from` the user id the step gave (or null) and `status` the
/// key's status from ListAccessKeys.
pub struct DeactivateAccessKey;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyState {
    user: String,
    resolved_from: Option<String>,
    access_key_id: String,
    status: String,
}

fn key_state(state: &State) -> Option<KeyState> {
    serde_json::from_value(state.clone()).ok()
}

impl DeactivateAccessKey {
    fn plan(before: &KeyState) -> Vec<Call> {
        if before.status == INACTIVE {
            Vec::new()
        } else {
            vec![update_call(&before.user, &before.access_key_id, INACTIVE)]
        }
    }
}

#[async_trait]
impl Action for DeactivateAccessKey {
    fn id(&self) -> &'static str {
        "iam.deactivate_access_key"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let user = str_param(params, "user")?;
        let access_key_id = str_param(params, "access_key_id")?;
        let (user, keys) = user_and_keys(cx.aws, user).await?;
        let key = keys
            .iter()
            .find(|k| k.access_key_id() == Some(access_key_id))
            .ok_or_else(|| {
                ActionError::Precondition(format!(
                    "access key {access_key_id} is not a key of IAM user {}",
                    user.name
                ))
            })?;
        let status = key_status(key).ok_or_else(|| {
            ActionError::Precondition(format!(
                "IAM did not report the status of access key {access_key_id}"
            ))
        })?;
        let state = KeyState {
            user: user.name,
            resolved_from: user.resolved_from,
            access_key_id: access_key_id.to_owned(),
            status: status.to_owned(),
        };
        serde_json::to_value(state).map_err(|e| ActionError::Precondition(e.to_string()))
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        key_state(state).is_some_and(|s| s.status == INACTIVE)
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        key_state(before)
            .map(|b| Self::plan(&b))
            .unwrap_or_default()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let before = key_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        if before.status != INACTIVE {
            calls.push(
                update_access_key(cx.aws, &before.user, &before.access_key_id, INACTIVE).await?,
            );
        }
        Ok(calls)
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let before = key_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        if before.status == ACTIVE {
            calls.push(
                update_access_key(cx.aws, &before.user, &before.access_key_id, ACTIVE).await?,
            );
        }
        Ok(calls)
    }
}

fn bad_state(action: &str) -> ActionError {
    ActionError::Precondition(format!(
        "the captured state is not one that {action} recorded"
    ))
}

// ---------------------------------------------------------------------------------------
// iam.deactivate_stale_access_keys
// ---------------------------------------------------------------------------------------

/// `iam.deactivate_stale_access_keys`: deactivates a user's active keys that are unused or
/// unrotated.
///
/// A key is stale when it is active and: it was created more than `max_age_days` ago, or
/// last used more than `unused_days` ago, or never used and created more than `unused_days`
/// ago (all measured from `cx.now`). State: `{"user", "resolved_from", "as_of",
/// "unused_days", "max_age_days", "keys": [{"access_key_id", "status", "create_date",
/// "last_used_date", "stale"}]}`.
pub struct DeactivateStaleAccessKeys;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StaleState {
    user: String,
    resolved_from: Option<String>,
    /// The time staleness was measured at.
    as_of: String,
    unused_days: i64,
    max_age_days: i64,
    keys: Vec<StaleKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StaleKey {
    access_key_id: String,
    status: String,
    create_date: Option<String>,
    last_used_date: Option<String>,
    stale: bool,
}

fn stale_state(state: &State) -> Option<StaleState> {
    serde_json::from_value(state.clone()).ok()
}

fn days_param(params: &Params, name: &'static str) -> Result<(i64, TimeDelta), ActionError> {
    let days = int_param(params, name)?;
    let delta = TimeDelta::try_days(days)
        .filter(|_| days > 0)
        .ok_or(ActionError::Param(name))?;
    Ok((days, delta))
}

/// Whether a key is stale at `now` (see [`DeactivateStaleAccessKeys`]).
fn is_stale(
    active: bool,
    created: Option<DateTime<Utc>>,
    last_used: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    unused: TimeDelta,
    max_age: TimeDelta,
) -> bool {
    let older_than = |t: DateTime<Utc>, limit: TimeDelta| now.signed_duration_since(t) > limit;
    active
        && (created.is_some_and(|c| older_than(c, max_age))
            || match last_used {
                Some(u) => older_than(u, unused),
                None => created.is_some_and(|c| older_than(c, unused)),
            })
}

impl DeactivateStaleAccessKeys {
    fn plan(before: &StaleState) -> Vec<Call> {
        before
            .keys
            .iter()
            .filter(|k| k.stale && k.status == ACTIVE)
            .map(|k| update_call(&before.user, &k.access_key_id, INACTIVE))
            .collect()
    }
}

#[async_trait]
impl Action for DeactivateStaleAccessKeys {
    fn id(&self) -> &'static str {
        "iam.deactivate_stale_access_keys"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let user = str_param(params, "user")?;
        let (unused_days, unused) = days_param(params, "unused_days")?;
        let (max_age_days, max_age) = days_param(params, "max_age_days")?;
        let (user, keys) = user_and_keys(cx.aws, user).await?;
        let mut out = Vec::with_capacity(keys.len());
        for key in &keys {
            let Some(access_key_id) = key.access_key_id() else {
                continue;
            };
            let used = cx
                .aws
                .iam
                .get_access_key_last_used()
                .access_key_id(access_key_id)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:GetAccessKeyLastUsed", e))?;
            let last_used = used
                .access_key_last_used()
                .and_then(|u| u.last_used_date())
                .and_then(to_chrono);
            let created = key.create_date().and_then(to_chrono);
            let status = key_status(key).unwrap_or("unknown").to_owned();
            let stale = is_stale(
                status == ACTIVE,
                created,
                last_used,
                cx.now,
                unused,
                max_age,
            );
            out.push(StaleKey {
                access_key_id: access_key_id.to_owned(),
                status,
                create_date: created.map(rfc3339),
                last_used_date: last_used.map(rfc3339),
                stale,
            });
        }
        let state = StaleState {
            user: user.name,
            resolved_from: user.resolved_from,
            as_of: rfc3339(cx.now),
            unused_days,
            max_age_days,
            keys: out,
        };
        serde_json::to_value(state).map_err(|e| ActionError::Precondition(e.to_string()))
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        stale_state(state).is_some_and(|s| !s.keys.iter().any(|k| k.stale && k.status == ACTIVE))
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        stale_state(before)
            .map(|b| Self::plan(&b))
            .unwrap_or_default()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let before = stale_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        for key in before.keys.iter().filter(|k| k.stale && k.status == ACTIVE) {
            calls
                .push(update_access_key(cx.aws, &before.user, &key.access_key_id, INACTIVE).await?);
        }
        Ok(calls)
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let before = stale_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        for key in before.keys.iter().filter(|k| k.stale && k.status == ACTIVE) {
            calls.push(update_access_key(cx.aws, &before.user, &key.access_key_id, ACTIVE).await?);
        }
        Ok(calls)
    }
}

// ---------------------------------------------------------------------------------------
// iam.revoke_role_sessions
// ---------------------------------------------------------------------------------------

/// `iam.revoke_role_sessions`: puts the inline policy [`REVOKE_POLICY_NAME`] on a role,
/// denying everything to sessions issued before a cut-off (the documented AWS "revoke active
/// sessions" policy).
///
/// State: `{"role", "role_arn", "policy", "cutoff"}`: `policy` is the decoded document of the
/// inline policy of that name, or null when the role has none; `cutoff` is its
/// `aws:TokenIssueTime` bound, or null. Compliant when the cut-off is not before the
/// finding's time, so every session that existed when the finding was made is denied.
pub struct RevokeRoleSessions;

/// The policy that denies every action to sessions issued before `cutoff`.
pub fn revoke_policy(cutoff: &str) -> Json {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}}
        }]
    })
}

/// The cut-off a revoke policy sets: the latest `aws:TokenIssueTime` bound of a statement
/// that denies every action on every resource.
fn cutoff_of(doc: &Json) -> Option<String> {
    let statements: Vec<&Json> = match doc.get("Statement")? {
        Json::Array(a) => a.iter().collect(),
        s @ Json::Object(_) => vec![s],
        _ => return None,
    };
    let is_star = |v: Option<&Json>| match v {
        Some(Json::String(s)) => s == "*",
        Some(Json::Array(a)) => a.iter().any(|x| x.as_str() == Some("*")),
        _ => false,
    };
    let cutoffs: Vec<&str> = statements
        .into_iter()
        .filter(|s| {
            s.get("Effect").and_then(Json::as_str) == Some("Deny")
                && is_star(s.get("Action"))
                && is_star(s.get("Resource"))
        })
        .filter_map(|s| {
            s.pointer("/Condition/DateLessThan/aws:TokenIssueTime")?
                .as_str()
        })
        .collect();
    cutoffs
        .iter()
        .filter_map(|c| Some((parse_time(c)?, *c)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, c)| c)
        .or_else(|| cutoffs.first().copied())
        .map(str::to_owned)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Decodes `%XX` escapes (RFC 3986); `None` when an escape is malformed or the bytes are not
/// UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16))?;
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16))?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A policy document as IAM returns it (URL-encoded JSON), as JSON. A document that is not
/// JSON is kept as its text so that revert can put it back unchanged.
fn decode_policy(raw: &str) -> Json {
    let text = if raw.trim_start().starts_with('{') {
        raw.to_owned()
    } else {
        percent_decode(raw).unwrap_or_else(|| raw.to_owned())
    };
    serde_json::from_str(&text).unwrap_or(Json::String(text))
}

fn policy_text(doc: &Json) -> String {
    match doc {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RoleState {
    role: String,
    role_arn: Option<String>,
    policy: Option<Json>,
    cutoff: Option<String>,
}

fn role_state(state: &State) -> Option<RoleState> {
    serde_json::from_value(state.clone()).ok()
}

/// The cut-off apply sets: now, rounded up to the second (policy times have seconds), and
/// never before the finding.
fn new_cutoff(cx: &Ctx<'_>) -> String {
    cutoff_at(cx.now, cx.finding_time)
}

fn cutoff_at(now: DateTime<Utc>, finding_time: DateTime<Utc>) -> String {
    let t = now.max(finding_time);
    let whole = DateTime::<Utc>::from_timestamp(t.timestamp(), 0).unwrap_or(t);
    let up = if whole < t {
        whole + TimeDelta::seconds(1)
    } else {
        whole
    };
    rfc3339(up)
}

fn put_call(role: &str, doc: &Json) -> Call {
    Call::new(
        "iam:PutRolePolicy",
        json!({"RoleName": role, "PolicyName": REVOKE_POLICY_NAME, "PolicyDocument": doc}),
    )
}

async fn put_role_policy(clients: &Clients, role: &str, doc: &Json) -> Result<Call, ActionError> {
    clients
        .iam
        .put_role_policy()
        .role_name(role)
        .policy_name(REVOKE_POLICY_NAME)
        .policy_document(policy_text(doc))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:PutRolePolicy", e))?;
    Ok(put_call(role, doc))
}

#[async_trait]
impl Action for RevokeRoleSessions {
    fn id(&self) -> &'static str {
        "iam.revoke_role_sessions"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let role = str_param(params, "role")?;
        let got = match cx.aws.iam.get_role().role_name(role).send().await {
            Ok(got) => got,
            Err(e) => {
                let e = AwsError::from_sdk("iam:GetRole", e);
                if e.is_not_found() {
                    return Err(ActionError::Precondition(format!(
                        "no IAM role named {role}"
                    )));
                }
                return Err(e.into());
            }
        };
        let role_arn = got.role().map(|r| r.arn().to_owned());
        let policy = match cx
            .aws
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(REVOKE_POLICY_NAME)
            .send()
            .await
        {
            Ok(p) => Some(decode_policy(p.policy_document())),
            Err(e) => {
                let e = AwsError::from_sdk("iam:GetRolePolicy", e);
                if !e.is_not_found() {
                    return Err(e.into());
                }
                None
            }
        };
        let state = RoleState {
            role: role.to_owned(),
            role_arn,
            cutoff: policy.as_ref().and_then(cutoff_of),
            policy,
        };
        serde_json::to_value(state).map_err(|e| ActionError::Precondition(e.to_string()))
    }

    fn compliant(&self, _params: &Params, state: &State, cx: &Ctx<'_>) -> bool {
        // Policy times have whole seconds: a cut-off in the finding's second covers it.
        let finding = DateTime::<Utc>::from_timestamp(cx.finding_time.timestamp(), 0)
            .unwrap_or(cx.finding_time);
        role_state(state)
            .and_then(|s| parse_time(s.cutoff.as_deref()?))
            .is_some_and(|cutoff| cutoff >= finding)
    }

    fn planned_calls(&self, _params: &Params, before: &State, cx: &Ctx<'_>) -> Vec<Call> {
        role_state(before)
            .map(|b| vec![put_call(&b.role, &revoke_policy(&new_cutoff(cx)))])
            .unwrap_or_default()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let before = role_state(before).ok_or_else(|| bad_state(self.id()))?;
        let doc = revoke_policy(&new_cutoff(cx));
        Ok(vec![put_role_policy(cx.aws, &before.role, &doc).await?])
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let before = role_state(before).ok_or_else(|| bad_state(self.id()))?;
        if let Some(doc) = &before.policy {
            return Ok(vec![put_role_policy(cx.aws, &before.role, doc).await?]);
        }
        let call = Call::new(
            "iam:DeleteRolePolicy",
            json!({"RoleName": before.role, "PolicyName": REVOKE_POLICY_NAME}),
        );
        match cx
            .aws
            .iam
            .delete_role_policy()
            .role_name(&before.role)
            .policy_name(REVOKE_POLICY_NAME)
            .send()
            .await
        {
            Ok(_) => Ok(vec![call]),
            Err(e) => {
                let e = AwsError::from_sdk("iam:DeleteRolePolicy", e);
                if e.is_not_found() {
                    // Already as before: nothing to delete.
                    Ok(vec![call.with_result(json!({"already_absent": true}))])
                } else {
                    Err(e.into())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn percent_decoding_reverses_iam_url_encoding() {
        assert_eq!(
            percent_decode("%7B%22a%22%3A%20%22b%2Fc%22%7D").as_deref(),
            Some("{\"a\": \"b/c\"}")
        );
        assert_eq!(percent_decode("plain+text").as_deref(), Some("plain+text"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%+1"), None);
        assert_eq!(percent_decode("%E2%9C%93").as_deref(), Some("\u{2713}"));
    }

    #[test]
    fn policy_documents_decode_whether_encoded_or_not() {
        let doc = revoke_policy("2024-05-01T10:00:00Z");
        let encoded: String = doc
            .to_string()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert_eq!(decode_policy(&encoded), doc);
        assert_eq!(decode_policy(&doc.to_string()), doc);
        assert_eq!(decode_policy("not json"), Json::String("not json".into()));
    }

    #[test]
    fn the_cutoff_comes_only_from_a_deny_everything_statement() {
        assert_eq!(
            cutoff_of(&revoke_policy("2024-05-01T10:00:00Z")).as_deref(),
            Some("2024-05-01T10:00:00Z")
        );
        let allow = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2024-05-01T10:00:00Z"}}}});
        assert_eq!(cutoff_of(&allow), None);
        let narrow = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2024-05-01T10:00:00Z"}}}]});
        assert_eq!(cutoff_of(&narrow), None);
        let two = json!({"Statement": [
            {"Effect": "Deny", "Action": ["*"], "Resource": "*",
             "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2024-05-01T10:00:00Z"}}},
            {"Effect": "Deny", "Action": "*", "Resource": ["*"],
             "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2024-06-01T10:00:00Z"}}}]});
        assert_eq!(cutoff_of(&two).as_deref(), Some("2024-06-01T10:00:00Z"));
    }

    #[test]
    fn staleness_follows_age_and_use() {
        let now = t("2025-01-01T00:00:00Z");
        let d90 = TimeDelta::days(90);
        let old = Some(t("2024-06-01T00:00:00Z"));
        let recent = Some(t("2024-12-01T00:00:00Z"));
        // Unrotated, even if used yesterday.
        assert!(is_stale(
            true,
            old,
            Some(t("2024-12-31T00:00:00Z")),
            now,
            d90,
            d90
        ));
        // Recent, never used.
        assert!(!is_stale(true, recent, None, now, d90, d90));
        // Recent and used recently.
        assert!(!is_stale(true, recent, recent, now, d90, d90));
        // Within max age but not used for longer than unused_days.
        assert!(is_stale(true, old, old, now, d90, TimeDelta::days(365)));
        // Never used and older than unused_days.
        assert!(is_stale(true, old, None, now, d90, TimeDelta::days(365)));
        // Inactive keys are never stale.
        assert!(!is_stale(false, old, None, now, d90, d90));
    }

    #[test]
    fn new_cutoffs_round_up_to_the_second_and_cover_the_finding() {
        assert_eq!(
            cutoff_at(t("2025-01-01T00:00:00.300Z"), t("2025-01-01T00:00:00Z")),
            "2025-01-01T00:00:01Z"
        );
        assert_eq!(
            cutoff_at(t("2025-01-01T00:00:05Z"), t("2025-01-01T00:00:07Z")),
            "2025-01-01T00:00:07Z"
        );
        assert_eq!(
            cutoff_at(t("2025-01-01T00:00:05Z"), t("2025-01-01T00:00:01Z")),
            "2025-01-01T00:00:05Z"
        );
    }
}
