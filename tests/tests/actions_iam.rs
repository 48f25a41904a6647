//! The IAM actions and the Config re-evaluation nudge against a real `moto_server`.
//!
//! Each test starts its own emulator, builds state with the SDK, and drives the action the
//! way the executor does: capture → compliant? → apply → re-capture → compliant? (verified)
//! → revert → re-capture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_iam::types::StatusType;
use chrono::{DateTime, TimeDelta, Utc};
use redress_playbooks::actions::{Params, Value};
use redress_tests::moto::{ACCOUNT, Moto, REGION};
use redress_workers::actions::{Action, ActionError, Ctx, config, implementation};
use redress_workers::aws::{Clients, ErrorClass};
use serde_json::json;

fn clients(moto: &Moto) -> Clients {
    Clients::new(&moto.sdk_config(), ACCOUNT, REGION, "aws")
}

fn ctx(clients: &Clients, finding_time: DateTime<Utc>, now: DateTime<Utc>) -> Ctx<'_> {
    Ctx {
        aws: clients,
        remediation_id: "rem-test",
        playbook_id: "iam-test",
        event_id: "evt-test",
        finding_time,
        now,
    }
}

fn params(pairs: &[(&str, Value)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

fn action(id: &str) -> &'static dyn Action {
    implementation(id).unwrap_or_else(|| panic!("{id} has no implementation"))
}

/// Creates a user; returns its user id.
async fn create_user(c: &Clients, name: &str) -> String {
    let out = c.iam.create_user().user_name(name).send().await.unwrap();
    out.user().unwrap().user_id().to_owned()
}

async fn create_key(c: &Clients, user: &str) -> String {
    let out = c
        .iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .unwrap();
    out.access_key().unwrap().access_key_id().to_owned()
}

async fn set_status(c: &Clients, user: &str, key: &str, status: StatusType) {
    c.iam
        .update_access_key()
        .user_name(user)
        .access_key_id(key)
        .status(status)
        .send()
        .await
        .unwrap();
}

/// The status of `key` as IAM reports it, read independently of the actions.
async fn status_of(c: &Clients, user: &str, key: &str) -> String {
    let out = c
        .iam
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .unwrap();
    out.access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(key))
        .and_then(|k| k.status())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| panic!("{key} is not a key of {user}"))
}

async fn create_role(c: &Clients, name: &str) {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    c.iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
}

/// The decoded inline revoke policy of `role`, or None.
async fn revoke_policy_of(c: &Clients, role: &str) -> Option<serde_json::Value> {
    match c
        .iam
        .get_role_policy()
        .role_name(role)
        .policy_name("RedressRevokeOlderSessions")
        .send()
        .await
    {
        Ok(p) => {
            let raw = p.policy_document();
            let text = if raw.starts_with('{') {
                raw.to_owned()
            } else {
                decode(raw)
            };
            Some(serde_json::from_str(&text).unwrap())
        }
        Err(e) => {
            let e = redress_workers::aws::AwsError::from_sdk("iam:GetRolePolicy", e);
            assert!(e.is_not_found(), "{e}");
            None
        }
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn deactivating_a_key_named_by_user_id_resolves_the_user_and_reverts_to_active() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    let user_id = create_user(&c, "alice").await;
    let key = create_key(&c, "alice").await;
    let now = Utc::now();
    let cx = ctx(&c, now, now);
    let act = action("iam.deactivate_access_key");
    let p = params(&[("user", s(&user_id)), ("access_key_id", s(&key))]);

    let before = act.capture(&cx, &p).await.unwrap();
    assert_eq!(
        before,
        json!({"user": "alice", "resolved_from": user_id, "access_key_id": key, "status": "Active"})
    );
    assert!(!act.compliant(&p, &before, &cx));

    let planned = act.planned_calls(&p, &before, &cx);
    let calls = act.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls, planned);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].action, "iam:UpdateAccessKey");
    assert_eq!(
        calls[0].params,
        json!({"UserName": "alice", "AccessKeyId": key, "Status": "Inactive"})
    );
    assert_eq!(status_of(&c, "alice", &key).await, "Inactive");

    let after = act.capture(&cx, &p).await.unwrap();
    assert!(act.compliant(&p, &after, &cx), "not verified: {after}");
    assert!(act.planned_calls(&p, &after, &cx).is_empty());

    let reverted = act.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].params["Status"], "Active");
    assert_eq!(status_of(&c, "alice", &key).await, "Active");
    assert_eq!(act.capture(&cx, &p).await.unwrap(), before);
}

#[tokio::test]
async fn deactivating_a_key_by_user_name_needs_no_resolution() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    create_user(&c, "bob").await;
    let key = create_key(&c, "bob").await;
    let now = Utc::now();
    let cx = ctx(&c, now, now);
    let act = action("iam.deactivate_access_key");
    let p = params(&[("user", s("bob")), ("access_key_id", s(&key))]);

    let before = act.capture(&cx, &p).await.unwrap();
    assert_eq!(before["user"], "bob");
    assert_eq!(before["resolved_from"], serde_json::Value::Null);
    act.apply(&cx, &p, &before).await.unwrap();
    assert!(act.compliant(&p, &act.capture(&cx, &p).await.unwrap(), &cx));
}

#[tokio::test]
async fn an_unknown_aida_user_id_is_a_precondition_error() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    create_user(&c, "carol").await;
    let key = create_key(&c, "carol").await;
    let now = Utc::now();
    let cx = ctx(&c, now, now);
    let p = params(&[
        ("user", s("AIDAQ3EGRS4EXAMPLE7K2")),
        ("access_key_id", s(&key)),
    ]);
    for id in [
        "iam.deactivate_access_key",
        "iam.deactivate_stale_access_keys",
    ] {
        let mut p = p.clone();
        p.insert("unused_days".into(), Value::Int(90));
        p.insert("max_age_days".into(), Value::Int(90));
        match action(id).capture(&cx, &p).await {
            Err(ActionError::Precondition(m)) => {
                assert_eq!(m, "no IAM user has id AIDAQ3EGRS4EXAMPLE7K2", "{id}")
            }
            other => panic!("{id}: expected a precondition error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unknown_user_name_is_a_precondition_error() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    let now = Utc::now();
    let cx = ctx(&c, now, now);
    let p = params(&[
        ("user", s("nobody")),
        ("access_key_id", s("AKIAIOSFODNN7EXAMPLE")),
    ]);
    match action("iam.deactivate_access_key").capture(&cx, &p).await {
        Err(ActionError::Precondition(m)) => assert_eq!(m, "no IAM user named nobody"),
        other => panic!("expected a precondition error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_key_of_another_user_is_refused_and_left_active() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    create_user(&c, "dave").await;
    create_user(&c, "erin").await;
    create_key(&c, "dave").await;
    let erins_key = create_key(&c, "erin").await;
    let now = Utc::now();
    let cx = ctx(&c, now, now);
    let p = params(&[("user", s("dave")), ("access_key_id", s(&erins_key))]);

    match action("iam.deactivate_access_key").capture(&cx, &p).await {
        Err(ActionError::Precondition(m)) => {
            assert!(m.contains(&erins_key), "{m}");
            assert!(m.contains("dave"), "{m}");
            assert_eq!(
                m,
                format!("access key {erins_key} is not a key of IAM user dave")
            );
        }
        other => panic!("expected a precondition error, got {other:?}"),
    }
    assert_eq!(status_of(&c, "erin", &erins_key).await, "Active");
}

#[tokio::test]
async fn stale_keys_are_deactivated_and_revert_reactivates_only_those() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    let user_id = create_user(&c, "frank").await;
    let active = create_key(&c, "frank").await;
    let inactive = create_key(&c, "frank").await;
    set_status(&c, "frank", &inactive, StatusType::Inactive).await;
    // moto creates keys "now": look at them 200 days from now.
    let now = Utc::now() + TimeDelta::days(200);
    let cx = ctx(&c, now, now);
    let act = action("iam.deactivate_stale_access_keys");
    let p = params(&[
        ("user", s(&user_id)),
        ("unused_days", Value::Int(90)),
        ("max_age_days", Value::Int(90)),
    ]);

    let before = act.capture(&cx, &p).await.unwrap();
    assert_eq!(before["user"], "frank");
    assert_eq!(before["resolved_from"], user_id.as_str());
    let keys = before["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let by_id = |id: &str| {
        keys.iter()
            .find(|k| k["access_key_id"] == id)
            .unwrap()
            .clone()
    };
    let a = by_id(&active);
    assert_eq!(a["status"], "Active");
    assert_eq!(a["stale"], true);
    assert_eq!(a["last_used_date"], serde_json::Value::Null);
    assert!(a["create_date"].as_str().unwrap().ends_with('Z'));
    let i = by_id(&inactive);
    assert_eq!(i["status"], "Inactive");
    assert_eq!(i["stale"], false);
    assert!(!act.compliant(&p, &before, &cx));

    let planned = act.planned_calls(&p, &before, &cx);
    let calls = act.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls, planned);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].params["AccessKeyId"], active.as_str());
    assert_eq!(status_of(&c, "frank", &active).await, "Inactive");
    assert_eq!(status_of(&c, "frank", &inactive).await, "Inactive");

    let after = act.capture(&cx, &p).await.unwrap();
    assert!(act.compliant(&p, &after, &cx), "not verified: {after}");

    let reverted = act.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].params["AccessKeyId"], active.as_str());
    assert_eq!(reverted[0].params["Status"], "Active");
    assert_eq!(status_of(&c, "frank", &active).await, "Active");
    assert_eq!(status_of(&c, "frank", &inactive).await, "Inactive");
    assert_eq!(act.capture(&cx, &p).await.unwrap(), before);
}

#[tokio::test]
async fn every_active_stale_key_is_deactivated() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    create_user(&c, "grace").await;
    let k1 = create_key(&c, "grace").await;
    let k2 = create_key(&c, "grace").await;
    // Older than max_age_days (365) but within unused_days (3650) of creation: unrotated.
    let now = Utc::now() + TimeDelta::days(400);
    let cx = ctx(&c, now, now);
    let act = action("iam.deactivate_stale_access_keys");
    let p = params(&[
        ("user", s("grace")),
        ("unused_days", Value::Int(3650)),
        ("max_age_days", Value::Int(365)),
    ]);

    let before = act.capture(&cx, &p).await.unwrap();
    let calls = act.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(status_of(&c, "grace", &k1).await, "Inactive");
    assert_eq!(status_of(&c, "grace", &k2).await, "Inactive");
    assert!(act.compliant(&p, &act.capture(&cx, &p).await.unwrap(), &cx));

    act.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(status_of(&c, "grace", &k1).await, "Active");
    assert_eq!(status_of(&c, "grace", &k2).await, "Active");
}

#[tokio::test]
async fn fresh_keys_are_compliant_and_nothing_is_planned() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    create_user(&c, "heidi").await;
    let key = create_key(&c, "heidi").await;
    let now = Utc::now();
    let cx = ctx(&c, now, now);
    let act = action("iam.deactivate_stale_access_keys");
    let p = params(&[
        ("user", s("heidi")),
        ("unused_days", Value::Int(90)),
        ("max_age_days", Value::Int(90)),
    ]);

    let before = act.capture(&cx, &p).await.unwrap();
    assert_eq!(before["keys"][0]["access_key_id"], key.as_str());
    assert_eq!(before["keys"][0]["stale"], false);
    assert!(act.compliant(&p, &before, &cx));
    assert!(act.planned_calls(&p, &before, &cx).is_empty());
    assert!(act.dry_run(&cx, &p, &before).await.unwrap().is_empty());
}

#[tokio::test]
async fn revoking_role_sessions_denies_sessions_before_now_and_revert_deletes_the_policy() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    create_role(&c, "app-role").await;
    let finding_time = DateTime::parse_from_rfc3339("2025-03-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let now = DateTime::parse_from_rfc3339("2025-03-01T12:05:30Z")
        .unwrap()
        .with_timezone(&Utc);
    let cx = ctx(&c, finding_time, now);
    let act = action("iam.revoke_role_sessions");
    let p = params(&[("role", s("app-role"))]);

    let before = act.capture(&cx, &p).await.unwrap();
    assert_eq!(before["role"], "app-role");
    assert_eq!(before["policy"], serde_json::Value::Null);
    assert_eq!(before["cutoff"], serde_json::Value::Null);
    assert!(!act.compliant(&p, &before, &cx));

    let expected = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
        "Action": "*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2025-03-01T12:05:30Z"}}}]});
    let planned = act.planned_calls(&p, &before, &cx);
    let calls = act.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls, planned);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].action, "iam:PutRolePolicy");
    assert_eq!(calls[0].params["PolicyName"], "RedressRevokeOlderSessions");
    assert_eq!(calls[0].params["PolicyDocument"], expected);
    assert_eq!(
        revoke_policy_of(&c, "app-role").await,
        Some(expected.clone())
    );

    let after = act.capture(&cx, &p).await.unwrap();
    assert_eq!(after["policy"], expected);
    assert_eq!(after["cutoff"], "2025-03-01T12:05:30Z");
    assert!(act.compliant(&p, &after, &cx), "not verified: {after}");

    // A finding made after the cut-off is not covered by this policy.
    let later = ctx(
        &c,
        now + TimeDelta::minutes(10),
        now + TimeDelta::minutes(11),
    );
    let again = act.capture(&later, &p).await.unwrap();
    assert!(!act.compliant(&p, &again, &later));

    let reverted = act.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].action, "iam:DeleteRolePolicy");
    assert_eq!(revoke_policy_of(&c, "app-role").await, None);
    assert_eq!(act.capture(&cx, &p).await.unwrap(), before);
}

#[tokio::test]
async fn revert_restores_a_pre_existing_revoke_policy_document() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    create_role(&c, "ops-role").await;
    let old = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
        "Action": "*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}}}]});
    c.iam
        .put_role_policy()
        .role_name("ops-role")
        .policy_name("RedressRevokeOlderSessions")
        .policy_document(old.to_string())
        .send()
        .await
        .unwrap();
    let now = Utc::now();
    let cx = ctx(&c, now, now);
    let act = action("iam.revoke_role_sessions");
    let p = params(&[("role", s("ops-role"))]);

    let before = act.capture(&cx, &p).await.unwrap();
    assert_eq!(before["policy"], old);
    assert_eq!(before["cutoff"], "2024-01-01T00:00:00Z");
    // An older revocation does not cover this finding.
    assert!(!act.compliant(&p, &before, &cx));

    act.apply(&cx, &p, &before).await.unwrap();
    let after = act.capture(&cx, &p).await.unwrap();
    assert!(act.compliant(&p, &after, &cx), "not verified: {after}");
    assert_ne!(after["policy"], old);

    let reverted = act.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].action, "iam:PutRolePolicy");
    assert_eq!(revoke_policy_of(&c, "ops-role").await, Some(old));
    assert_eq!(act.capture(&cx, &p).await.unwrap(), before);
}

#[tokio::test]
async fn revoking_sessions_of_an_unknown_role_is_a_precondition_error() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    let now = Utc::now();
    let cx = ctx(&c, now, now);
    let p = params(&[("role", s("no-such-role"))]);
    match action("iam.revoke_role_sessions").capture(&cx, &p).await {
        Err(ActionError::Precondition(m)) => assert_eq!(m, "no IAM role named no-such-role"),
        other => panic!("expected a precondition error, got {other:?}"),
    }
}

#[tokio::test]
async fn config_reevaluation_against_moto_returns_a_classified_error() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto);
    let err = config::reevaluate(&c, "s3-bucket-level-public-access-prohibited")
        .await
        .expect_err("moto does not implement StartConfigRulesEvaluation");
    assert_eq!(err.operation, "config:StartConfigRulesEvaluation");
    // moto answers 500 with an HTML page (not implemented): classified as a service error,
    // no code, retryable; the caller logs it and the verified outcome stands.
    assert_eq!(err.class, ErrorClass::Service, "{err}");
    assert_eq!(err.status, Some(500), "{err}");
    assert!(
        err.to_string()
            .starts_with("config:StartConfigRulesEvaluation failed (")
    );
}
