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

use super::{Action, ActionError, Call, Ctx, State, bool_param, int_param, str_param};
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

// ---------------------------------------------------------------------------------------
// Users by name or id, for the user-level actions below
// ---------------------------------------------------------------------------------------

/// GetUser on `name`; `None` when there is no such user.
async fn get_user(
    clients: &Clients,
    name: &str,
) -> Result<Option<aws_sdk_iam::types::User>, AwsError> {
    match clients.iam.get_user().user_name(name).send().await {
        Ok(out) => Ok(out.user().cloned()),
        Err(e) => {
            let e = AwsError::from_sdk("iam:GetUser", e);
            if e.is_not_found() { Ok(None) } else { Err(e) }
        }
    }
}

/// Resolves the `user` parameter (name or `AIDA…` id, as [`user_and_keys`] does) with
/// GetUser, which also gives the user's ARN and when its password was last used.
async fn resolve_user(
    clients: &Clients,
    user: &str,
) -> Result<(User, aws_sdk_iam::types::User), ActionError> {
    if IdKind::IamUserId.check(user).is_err()
        && let Some(found) = get_user(clients, user).await?
    {
        let u = User {
            name: user.to_owned(),
            resolved_from: None,
        };
        return Ok((u, found));
    }
    let name = user_name_by_id(clients, user)
        .await?
        .ok_or_else(|| ActionError::Precondition(format!("no IAM user named or with id {user}")))?;
    let found = get_user(clients, &name)
        .await?
        .ok_or_else(|| ActionError::Precondition(format!("no IAM user named {name}")))?;
    let u = User {
        name,
        resolved_from: Some(user.to_owned()),
    };
    Ok((u, found))
}

fn to_state<T: Serialize>(state: &T) -> Result<State, ActionError> {
    serde_json::to_value(state).map_err(|e| ActionError::Precondition(e.to_string()))
}

fn statements(doc: &Json) -> Vec<&Json> {
    match doc.get("Statement") {
        Some(Json::Array(a)) => a.iter().collect(),
        Some(s @ Json::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

fn has_star(v: Option<&Json>) -> bool {
    match v {
        Some(Json::String(s)) => s == "*" || s == "*:*",
        Some(Json::Array(a)) => a.iter().any(|x| matches!(x.as_str(), Some("*" | "*:*"))),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// iam.update_account_password_policy
// ---------------------------------------------------------------------------------------

/// `iam.update_account_password_policy`: sets the account password policy to at least the
/// step's strength. Settings already stricter are kept (longer minimum, more reuse
/// prevention, shorter maximum age, more required classes), and so are the settings the step
/// says nothing about (users may change their own password, hard expiry).
///
/// State: `{"policy": null | PasswordPolicy}` from GetAccountPasswordPolicy (null: the
/// account has none, NoSuchEntity). Revert puts the previous policy back whole, or deletes
/// the policy when there was none.
pub struct UpdateAccountPasswordPolicy;

/// An account password policy as redress records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub minimum_password_length: i32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub allow_users_to_change_password: bool,
    /// Days; `None`: passwords never expire.
    pub max_password_age: Option<i32>,
    /// `None`: reuse is not prevented.
    pub password_reuse_prevention: Option<i32>,
    pub hard_expiry: bool,
}

/// What a step asks of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRequirement {
    pub minimum_password_length: i32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub password_reuse_prevention: i32,
    pub max_password_age: i32,
}

impl PasswordRequirement {
    fn from_params(p: &Params) -> Result<Self, ActionError> {
        let int = |name: &'static str| {
            int_param(p, name).and_then(|v| i32::try_from(v).map_err(|_| ActionError::Param(name)))
        };
        Ok(PasswordRequirement {
            minimum_password_length: int("minimum_password_length")?,
            require_symbols: bool_param(p, "require_symbols")?,
            require_numbers: bool_param(p, "require_numbers")?,
            require_uppercase: bool_param(p, "require_uppercase")?,
            require_lowercase: bool_param(p, "require_lowercase")?,
            password_reuse_prevention: int("password_reuse_prevention")?,
            max_password_age: int("max_password_age")?,
        })
    }

    /// Whether `policy` is at least this strict.
    pub fn met_by(&self, policy: &PasswordPolicy) -> bool {
        policy.minimum_password_length >= self.minimum_password_length
            && (policy.require_symbols || !self.require_symbols)
            && (policy.require_numbers || !self.require_numbers)
            && (policy.require_uppercase || !self.require_uppercase)
            && (policy.require_lowercase || !self.require_lowercase)
            && policy
                .password_reuse_prevention
                .is_some_and(|n| n >= self.password_reuse_prevention)
            && policy
                .max_password_age
                .is_some_and(|d| d <= self.max_password_age)
    }

    /// The policy to set: `current` made at least this strict, nothing in it weakened.
    /// With no current policy, users may change their own password (as they may under
    /// IAM's default when an account has no policy) and there is no hard expiry.
    pub fn merge(&self, current: Option<&PasswordPolicy>) -> PasswordPolicy {
        let Some(c) = current else {
            return PasswordPolicy {
                minimum_password_length: self.minimum_password_length,
                require_symbols: self.require_symbols,
                require_numbers: self.require_numbers,
                require_uppercase: self.require_uppercase,
                require_lowercase: self.require_lowercase,
                allow_users_to_change_password: true,
                max_password_age: Some(self.max_password_age),
                password_reuse_prevention: Some(self.password_reuse_prevention),
                hard_expiry: false,
            };
        };
        PasswordPolicy {
            minimum_password_length: c.minimum_password_length.max(self.minimum_password_length),
            require_symbols: c.require_symbols || self.require_symbols,
            require_numbers: c.require_numbers || self.require_numbers,
            require_uppercase: c.require_uppercase || self.require_uppercase,
            require_lowercase: c.require_lowercase || self.require_lowercase,
            allow_users_to_change_password: c.allow_users_to_change_password,
            max_password_age: Some(
                c.max_password_age
                    .map_or(self.max_password_age, |d| d.min(self.max_password_age)),
            ),
            password_reuse_prevention: Some(
                c.password_reuse_prevention
                    .map_or(self.password_reuse_prevention, |n| {
                        n.max(self.password_reuse_prevention)
                    }),
            ),
            hard_expiry: c.hard_expiry,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PasswordPolicyState {
    policy: Option<PasswordPolicy>,
}

fn password_state(state: &State) -> Option<PasswordPolicyState> {
    serde_json::from_value(state.clone()).ok()
}

fn password_policy_call(p: &PasswordPolicy) -> Call {
    Call::new(
        "iam:UpdateAccountPasswordPolicy",
        json!({
            "MinimumPasswordLength": p.minimum_password_length,
            "RequireSymbols": p.require_symbols,
            "RequireNumbers": p.require_numbers,
            "RequireUppercaseCharacters": p.require_uppercase,
            "RequireLowercaseCharacters": p.require_lowercase,
            "AllowUsersToChangePassword": p.allow_users_to_change_password,
            "MaxPasswordAge": p.max_password_age,
            "PasswordReusePrevention": p.password_reuse_prevention,
            "HardExpiry": p.hard_expiry,
        }),
    )
}

async fn put_password_policy(clients: &Clients, p: &PasswordPolicy) -> Result<Call, ActionError> {
    clients
        .iam
        .update_account_password_policy()
        .minimum_password_length(p.minimum_password_length)
        .require_symbols(p.require_symbols)
        .require_numbers(p.require_numbers)
        .require_uppercase_characters(p.require_uppercase)
        .require_lowercase_characters(p.require_lowercase)
        .allow_users_to_change_password(p.allow_users_to_change_password)
        .set_max_password_age(p.max_password_age)
        .set_password_reuse_prevention(p.password_reuse_prevention)
        .hard_expiry(p.hard_expiry)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:UpdateAccountPasswordPolicy", e))?;
    Ok(password_policy_call(p))
}

#[async_trait]
impl Action for UpdateAccountPasswordPolicy {
    fn id(&self) -> &'static str {
        "iam.update_account_password_policy"
    }

    async fn capture(&self, cx: &Ctx<'_>, _params: &Params) -> Result<State, ActionError> {
        let policy = match cx.aws.iam.get_account_password_policy().send().await {
            Ok(out) => out.password_policy().map(|p| PasswordPolicy {
                minimum_password_length: p.minimum_password_length().unwrap_or(0),
                require_symbols: p.require_symbols(),
                require_numbers: p.require_numbers(),
                require_uppercase: p.require_uppercase_characters(),
                require_lowercase: p.require_lowercase_characters(),
                allow_users_to_change_password: p.allow_users_to_change_password(),
                max_password_age: p.max_password_age().filter(|d| *d > 0),
                password_reuse_prevention: p.password_reuse_prevention().filter(|n| *n > 0),
                hard_expiry: p.hard_expiry().unwrap_or(false),
            }),
            Err(e) => {
                let e = AwsError::from_sdk("iam:GetAccountPasswordPolicy", e);
                if !e.is_not_found() {
                    return Err(e.into());
                }
                None
            }
        };
        to_state(&PasswordPolicyState { policy })
    }

    fn compliant(&self, params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        let Ok(req) = PasswordRequirement::from_params(params) else {
            return false;
        };
        password_state(state)
            .and_then(|s| s.policy)
            .is_some_and(|p| req.met_by(&p))
    }

    fn planned_calls(&self, params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        match (
            PasswordRequirement::from_params(params),
            password_state(before),
        ) {
            (Ok(req), Some(b)) => vec![password_policy_call(&req.merge(b.policy.as_ref()))],
            _ => Vec::new(),
        }
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let req = PasswordRequirement::from_params(params)?;
        let b = password_state(before).ok_or_else(|| bad_state(self.id()))?;
        let merged = req.merge(b.policy.as_ref());
        Ok(vec![put_password_policy(cx.aws, &merged).await?])
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = password_state(before).ok_or_else(|| bad_state(self.id()))?;
        if let Some(p) = &b.policy {
            return Ok(vec![put_password_policy(cx.aws, p).await?]);
        }
        let call = Call::new("iam:DeleteAccountPasswordPolicy", json!({}));
        match cx.aws.iam.delete_account_password_policy().send().await {
            Ok(_) => Ok(vec![call]),
            Err(e) => {
                let e = AwsError::from_sdk("iam:DeleteAccountPasswordPolicy", e);
                if e.is_not_found() {
                    Ok(vec![call.with_result(json!({"already_absent": true}))])
                } else {
                    Err(e.into())
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// iam.attach_user_deny_all
// ---------------------------------------------------------------------------------------

/// The inline policy that [`AttachUserDenyAll`] puts on a user.
pub const QUARANTINE_POLICY_NAME: &str = "RedressQuarantine";

/// The policy that denies every action on every resource.
pub fn deny_all_policy() -> Json {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "RedressQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}]
    })
}

/// Whether `doc` denies every action on every resource without a condition.
pub fn denies_everything(doc: &Json) -> bool {
    statements(doc).into_iter().any(|s| {
        s.get("Effect").and_then(Json::as_str) == Some("Deny")
            && has_star(s.get("Action"))
            && has_star(s.get("Resource"))
            && s.get("Condition").is_none()
    })
}

/// `iam.attach_user_deny_all`: puts the inline policy [`QUARANTINE_POLICY_NAME`] on a user,
/// denying every action.
///
/// State: `{"user", "resolved_from", "user_arn", "policy"}`: `policy` is the decoded
/// document of the user's inline policy of that name, or null. Revert puts that document
/// back, or deletes the policy when there was none.
pub struct AttachUserDenyAll;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct QuarantineState {
    user: String,
    resolved_from: Option<String>,
    user_arn: String,
    policy: Option<Json>,
}

fn quarantine_state(state: &State) -> Option<QuarantineState> {
    serde_json::from_value(state.clone()).ok()
}

fn put_user_policy_call(user: &str, doc: &Json) -> Call {
    Call::new(
        "iam:PutUserPolicy",
        json!({"UserName": user, "PolicyName": QUARANTINE_POLICY_NAME, "PolicyDocument": doc}),
    )
}

async fn put_user_policy(clients: &Clients, user: &str, doc: &Json) -> Result<Call, ActionError> {
    clients
        .iam
        .put_user_policy()
        .user_name(user)
        .policy_name(QUARANTINE_POLICY_NAME)
        .policy_document(policy_text(doc))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:PutUserPolicy", e))?;
    Ok(put_user_policy_call(user, doc))
}

#[async_trait]
impl Action for AttachUserDenyAll {
    fn id(&self) -> &'static str {
        "iam.attach_user_deny_all"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let (user, found) = resolve_user(cx.aws, str_param(params, "user")?).await?;
        let policy = match cx
            .aws
            .iam
            .get_user_policy()
            .user_name(&user.name)
            .policy_name(QUARANTINE_POLICY_NAME)
            .send()
            .await
        {
            Ok(p) => Some(decode_policy(p.policy_document())),
            Err(e) => {
                let e = AwsError::from_sdk("iam:GetUserPolicy", e);
                if !e.is_not_found() {
                    return Err(e.into());
                }
                None
            }
        };
        to_state(&QuarantineState {
            user: user.name,
            resolved_from: user.resolved_from,
            user_arn: found.arn().to_owned(),
            policy,
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        quarantine_state(state)
            .and_then(|s| s.policy)
            .is_some_and(|p| denies_everything(&p))
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        quarantine_state(before)
            .map(|b| vec![put_user_policy_call(&b.user, &deny_all_policy())])
            .unwrap_or_default()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = quarantine_state(before).ok_or_else(|| bad_state(self.id()))?;
        Ok(vec![
            put_user_policy(cx.aws, &b.user, &deny_all_policy()).await?,
        ])
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = quarantine_state(before).ok_or_else(|| bad_state(self.id()))?;
        if let Some(doc) = &b.policy {
            return Ok(vec![put_user_policy(cx.aws, &b.user, doc).await?]);
        }
        let call = Call::new(
            "iam:DeleteUserPolicy",
            json!({"UserName": b.user, "PolicyName": QUARANTINE_POLICY_NAME}),
        );
        match cx
            .aws
            .iam
            .delete_user_policy()
            .user_name(&b.user)
            .policy_name(QUARANTINE_POLICY_NAME)
            .send()
            .await
        {
            Ok(_) => Ok(vec![call]),
            Err(e) => {
                let e = AwsError::from_sdk("iam:DeleteUserPolicy", e);
                if e.is_not_found() {
                    Ok(vec![call.with_result(json!({"already_absent": true}))])
                } else {
                    Err(e.into())
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// iam.detach_admin_policies_from_user
// ---------------------------------------------------------------------------------------

/// Whether `doc` allows every action on every resource (`"*"` or `"*:*"`), as
/// AdministratorAccess does. Conditions are not weighed: a conditional full-admin grant is
/// still one.
pub fn grants_full_admin(doc: &Json) -> bool {
    statements(doc).into_iter().any(|s| {
        s.get("Effect").and_then(Json::as_str) == Some("Allow")
            && has_star(s.get("Action"))
            && has_star(s.get("Resource"))
    })
}

/// `iam.detach_admin_policies_from_user`: detaches from a user every attached managed
/// policy whose default version grants full administrator access.
///
/// State: `{"user", "resolved_from", "attached": [{"arn", "name", "admin"}]}` from
/// ListAttachedUserPolicies, GetPolicy and GetPolicyVersion. Compliant when no attached
/// policy is an admin one. Revert attaches the admin policies again.
pub struct DetachAdminPolicies;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AttachedState {
    arn: String,
    name: Option<String>,
    admin: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AdminState {
    user: String,
    resolved_from: Option<String>,
    attached: Vec<AttachedState>,
}

fn admin_state(state: &State) -> Option<AdminState> {
    serde_json::from_value(state.clone()).ok()
}

fn user_policy_call(op: &str, user: &str, arn: &str) -> Call {
    Call::new(op, json!({"UserName": user, "PolicyArn": arn}))
}

async fn is_admin_policy(clients: &Clients, arn: &str) -> Result<bool, ActionError> {
    let policy = clients
        .iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:GetPolicy", e))?;
    let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else {
        return Ok(false);
    };
    let got = clients
        .iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:GetPolicyVersion", e))?;
    Ok(got
        .policy_version()
        .and_then(|v| v.document())
        .is_some_and(|d| grants_full_admin(&decode_policy(d))))
}

#[async_trait]
impl Action for DetachAdminPolicies {
    fn id(&self) -> &'static str {
        "iam.detach_admin_policies_from_user"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let (user, _) = resolve_user(cx.aws, str_param(params, "user")?).await?;
        let mut attached = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = cx
                .aws
                .iam
                .list_attached_user_policies()
                .user_name(&user.name)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:ListAttachedUserPolicies", e))?;
            for p in page.attached_policies() {
                let Some(arn) = p.policy_arn() else { continue };
                attached.push(AttachedState {
                    arn: arn.to_owned(),
                    name: p.policy_name().map(str::to_owned),
                    admin: is_admin_policy(cx.aws, arn).await?,
                });
            }
            match page.marker() {
                Some(m) if page.is_truncated() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        to_state(&AdminState {
            user: user.name,
            resolved_from: user.resolved_from,
            attached,
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        admin_state(state).is_some_and(|s| !s.attached.iter().any(|a| a.admin))
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        admin_state(before)
            .map(|b| {
                b.attached
                    .iter()
                    .filter(|a| a.admin)
                    .map(|a| user_policy_call("iam:DetachUserPolicy", &b.user, &a.arn))
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
        let b = admin_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        for a in b.attached.iter().filter(|a| a.admin) {
            cx.aws
                .iam
                .detach_user_policy()
                .user_name(&b.user)
                .policy_arn(&a.arn)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:DetachUserPolicy", e))?;
            calls.push(user_policy_call("iam:DetachUserPolicy", &b.user, &a.arn));
        }
        Ok(calls)
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = admin_state(before).ok_or_else(|| bad_state(self.id()))?;
        let mut calls = Vec::new();
        for a in b.attached.iter().filter(|a| a.admin) {
            cx.aws
                .iam
                .attach_user_policy()
                .user_name(&b.user)
                .policy_arn(&a.arn)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:AttachUserPolicy", e))?;
            calls.push(user_policy_call("iam:AttachUserPolicy", &b.user, &a.arn));
        }
        Ok(calls)
    }
}

// ---------------------------------------------------------------------------------------
// iam.delete_login_profile
// ---------------------------------------------------------------------------------------

/// `iam.delete_login_profile`: deletes a user's console password when it was not used in
/// `unused_days` (or never used, and set longer ago than that). Irreversible: the password
/// cannot be read, so it cannot be put back; revert says so.
///
/// State: `{"user", "resolved_from", "login_profile_created": time or null (null: no
/// console password), "password_last_used": time or null}` from GetUser and
/// GetLoginProfile. Compliant when there is no console password, or it was used within
/// `unused_days` (a password in use is its owner's to manage).
pub struct DeleteLoginProfile;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LoginState {
    user: String,
    resolved_from: Option<String>,
    login_profile_created: Option<String>,
    password_last_used: Option<String>,
}

fn login_state(state: &State) -> Option<LoginState> {
    serde_json::from_value(state.clone()).ok()
}

/// Whether a console password set at `created` and last used at `last_used` is unused for
/// `unused` as of `now`.
pub fn password_unused(
    created: DateTime<Utc>,
    last_used: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    unused: TimeDelta,
) -> bool {
    // A password set again after its last use counts from when it was set.
    now - last_used.map_or(created, |l| l.max(created)) > unused
}

fn login_to_delete(params: &Params, s: &LoginState, now: DateTime<Utc>) -> bool {
    let Some(created) = s.login_profile_created.as_deref().and_then(parse_time) else {
        return false;
    };
    let Ok(days) = int_param(params, "unused_days") else {
        return false;
    };
    let last = s.password_last_used.as_deref().and_then(parse_time);
    password_unused(created, last, now, TimeDelta::days(days))
}

#[async_trait]
impl Action for DeleteLoginProfile {
    fn id(&self) -> &'static str {
        "iam.delete_login_profile"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let (user, found) = resolve_user(cx.aws, str_param(params, "user")?).await?;
        let created = match cx
            .aws
            .iam
            .get_login_profile()
            .user_name(&user.name)
            .send()
            .await
        {
            Ok(out) => out
                .login_profile()
                .and_then(|p| to_chrono(p.create_date()))
                .map(rfc3339),
            Err(e) => {
                let e = AwsError::from_sdk("iam:GetLoginProfile", e);
                if !e.is_not_found() {
                    return Err(e.into());
                }
                None
            }
        };
        to_state(&LoginState {
            user: user.name,
            resolved_from: user.resolved_from,
            login_profile_created: created,
            password_last_used: found.password_last_used().and_then(to_chrono).map(rfc3339),
        })
    }

    fn compliant(&self, params: &Params, state: &State, cx: &Ctx<'_>) -> bool {
        login_state(state).is_some_and(|s| !login_to_delete(params, &s, cx.now))
    }

    fn planned_calls(&self, params: &Params, before: &State, cx: &Ctx<'_>) -> Vec<Call> {
        match login_state(before) {
            Some(b) if login_to_delete(params, &b, cx.now) => vec![Call::new(
                "iam:DeleteLoginProfile",
                json!({"UserName": b.user}),
            )],
            _ => Vec::new(),
        }
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let b = login_state(before).ok_or_else(|| bad_state(self.id()))?;
        if !login_to_delete(params, &b, cx.now) {
            return Ok(Vec::new());
        }
        cx.aws
            .iam
            .delete_login_profile()
            .user_name(&b.user)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:DeleteLoginProfile", e))?;
        Ok(vec![Call::new(
            "iam:DeleteLoginProfile",
            json!({"UserName": b.user}),
        )])
    }

    async fn revert(
        &self,
        _cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let user = login_state(before).map_or_else(|| "?".to_owned(), |b| b.user);
        Err(ActionError::Precondition(format!(
            "iam.delete_login_profile cannot be undone: IAM never reveals a password, so the deleted console password of {user} cannot be restored; give the user a new one (CreateLoginProfile) if console access is still needed"
        )))
    }
}

/// The iam actions.
pub(super) static ACTIONS: &[&dyn Action] = &[
    &DeactivateAccessKey,
    &DeactivateStaleAccessKeys,
    &RevokeRoleSessions,
    &UpdateAccountPasswordPolicy,
    &AttachUserDenyAll,
    &DetachAdminPolicies,
    &DeleteLoginProfile,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    fn req() -> PasswordRequirement {
        PasswordRequirement {
            minimum_password_length: 14,
            require_symbols: true,
            require_numbers: true,
            require_uppercase: true,
            require_lowercase: true,
            password_reuse_prevention: 24,
            max_password_age: 90,
        }
    }

    #[test]
    fn a_password_policy_is_compliant_only_when_at_least_as_strict() {
        let merged = req().merge(None);
        assert!(req().met_by(&merged));
        assert!(merged.allow_users_to_change_password);
        let stricter = PasswordPolicy {
            minimum_password_length: 20,
            max_password_age: Some(30),
            ..merged.clone()
        };
        assert!(req().met_by(&stricter));
        for weaker in [
            PasswordPolicy {
                minimum_password_length: 8,
                ..merged.clone()
            },
            PasswordPolicy {
                require_symbols: false,
                ..merged.clone()
            },
            PasswordPolicy {
                max_password_age: None,
                ..merged.clone()
            },
            PasswordPolicy {
                max_password_age: Some(365),
                ..merged.clone()
            },
            PasswordPolicy {
                password_reuse_prevention: Some(5),
                ..merged.clone()
            },
            PasswordPolicy {
                password_reuse_prevention: None,
                ..merged.clone()
            },
        ] {
            assert!(!req().met_by(&weaker), "{weaker:?}");
        }
    }

    #[test]
    fn merging_a_password_policy_never_weakens_a_setting() {
        let current = PasswordPolicy {
            minimum_password_length: 20,
            require_symbols: false,
            require_numbers: true,
            require_uppercase: false,
            require_lowercase: false,
            allow_users_to_change_password: false,
            max_password_age: Some(30),
            password_reuse_prevention: Some(5),
            hard_expiry: true,
        };
        let m = req().merge(Some(&current));
        assert_eq!(m.minimum_password_length, 20);
        assert!(m.require_symbols && m.require_numbers && m.require_uppercase);
        assert_eq!(m.max_password_age, Some(30));
        assert_eq!(m.password_reuse_prevention, Some(24));
        assert!(!m.allow_users_to_change_password && m.hard_expiry);
        assert!(req().met_by(&m));
    }

    #[test]
    fn admin_and_deny_all_documents_are_recognised() {
        assert!(grants_full_admin(
            &json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
        ));
        assert!(grants_full_admin(
            &json!({"Statement": [{"Effect": "Allow", "Action": ["*:*"], "Resource": ["*"]}]})
        ));
        assert!(!grants_full_admin(
            &json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        ));
        assert!(!grants_full_admin(
            &json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
        ));
        assert!(denies_everything(&deny_all_policy()));
        assert!(!denies_everything(&revoke_policy("2025-01-01T00:00:00Z")));
    }

    #[test]
    fn a_console_password_is_unused_by_its_last_use_or_when_it_was_set() {
        let now = t("2025-06-01T00:00:00Z");
        let d90 = TimeDelta::days(90);
        assert!(password_unused(t("2024-01-01T00:00:00Z"), None, now, d90));
        assert!(!password_unused(t("2025-05-01T00:00:00Z"), None, now, d90));
        assert!(!password_unused(
            t("2024-01-01T00:00:00Z"),
            Some(t("2025-05-01T00:00:00Z")),
            now,
            d90
        ));
        assert!(password_unused(
            t("2024-01-01T00:00:00Z"),
            Some(t("2024-02-01T00:00:00Z")),
            now,
            d90
        ));
        // Set again after its last use: counts from when it was set.
        assert!(!password_unused(
            t("2025-05-20T00:00:00Z"),
            Some(t("2024-02-01T00:00:00Z")),
            now,
            d90
        ));
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
