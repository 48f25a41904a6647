//! The IAM, Config, CloudTrail, GuardDuty and KMS playbooks end to end against moto_server:
//! drift made with the SDK, the event sent to the queue, `redress worker`, the `fixed`
//! record and the state in the emulator, then `redress rollback` and the before-state back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use redress_playbooks::actions::{Params, Value};
use redress_tests::events::config_noncompliant;
use redress_tests::moto::{ACCOUNT, REGION};
use redress_tests::world::{World, by_outcome};
use redress_workers::actions::{Action, Ctx, implementation};
use redress_workers::aws::Clients;
use serde_json::{Value as Json, json};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn clients(w: &World) -> Clients {
    Clients::new(&w.sdk, ACCOUNT, REGION, "aws")
}

fn action(id: &str) -> &'static dyn Action {
    implementation(id).unwrap_or_else(|| panic!("{id} has no implementation"))
}

fn ctx(c: &Clients) -> Ctx<'_> {
    Ctx {
        aws: c,
        remediation_id: "rem-test",
        playbook_id: "catalog-test",
        event_id: "evt-test",
        finding_time: Utc::now(),
        now: Utc::now(),
    }
}

fn params(pairs: &[(&str, Value)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The one record with this outcome and playbook.
fn one<'a>(records: &'a [Json], outcome: &str, playbook: &str) -> &'a Json {
    let found: Vec<&Json> = by_outcome(records, outcome)
        .into_iter()
        .filter(|r| r["playbook"]["id"] == playbook)
        .collect();
    assert_eq!(found.len(), 1, "{outcome} {playbook}: {records:#?}");
    found[0]
}

fn assert_fixed(r: &Json, decision: &str, first_call: &str) {
    assert_eq!(r["decision"], decision, "{r:#}");
    assert_eq!(r["verified"], true, "{r:#}");
    assert_eq!(r["calls"][0]["action"], first_call, "{r:#}");
}

/// A Security Hub control finding (FAILED) on one resource.
fn securityhub_control(
    event_id: &str,
    control: &str,
    asff_type: &str,
    resource_id: &str,
) -> String {
    let finding_id = format!(
        "arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/{control}/finding/{event_id}"
    );
    json!({
        "version": "0",
        "id": event_id,
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": ACCOUNT,
        "time": "2026-03-14T08:45:24Z",
        "region": REGION,
        "resources": [finding_id],
        "detail": {"findings": [{
            "SchemaVersion": "2018-10-08",
            "Id": finding_id,
            "ProductArn": format!("arn:aws:securityhub:{REGION}::product/aws/securityhub"),
            "ProductName": "Security Hub",
            "CompanyName": "AWS",
            "Region": REGION,
            "GeneratorId": format!("security-control/{control}"),
            "AwsAccountId": ACCOUNT,
            "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
            "FirstObservedAt": "2026-03-14T08:45:21.390Z",
            "LastObservedAt": "2026-03-14T08:45:21.390Z",
            "CreatedAt": "2026-03-14T08:45:21.390Z",
            "UpdatedAt": "2026-03-14T08:45:21.390Z",
            "Severity": {"Label": "MEDIUM", "Normalized": 40, "Original": "MEDIUM"},
            "Title": format!("{control} test finding"),
            "Description": "test",
            "Resources": [{"Type": asff_type, "Id": resource_id, "Partition": "aws", "Region": REGION}],
            "Compliance": {"Status": "FAILED", "SecurityControlId": control},
            "Workflow": {"Status": "NEW"},
            "RecordState": "ACTIVE"
        }]}
    })
    .to_string()
}

/// A GuardDuty finding of `kind` on an IAM user's access key, with `extra` merged into
/// `detail.service`.
fn guardduty_iam(
    event_id: &str,
    kind: &str,
    user: &str,
    key: &str,
    severity: f64,
    service: Json,
) -> String {
    let mut svc = json!({
        "serviceName": "guardduty",
        "detectorId": "abc",
        "resourceRole": "ACTOR",
        "additionalInfo": {},
        "eventFirstSeen": "2026-03-14T07:12:55.000Z",
        "eventLastSeen": "2026-03-14T07:15:02.000Z",
        "archived": false,
        "count": 1
    });
    if let (Some(s), Json::Object(extra)) = (svc.as_object_mut(), service) {
        s.extend(extra);
    }
    json!({
        "version": "0",
        "id": event_id,
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": ACCOUNT,
        "time": "2026-03-14T07:20:05Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "schemaVersion": "2.0",
            "accountId": ACCOUNT,
            "region": REGION,
            "partition": "aws",
            "id": format!("{event_id}-gd"),
            "arn": format!("arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/abc/finding/{event_id}"),
            "type": kind,
            "resource": {
                "resourceType": "AccessKey",
                "accessKeyDetails": {
                    "accessKeyId": key,
                    "principalId": "AIDAQ3EGRS3EXAMPLEB8W",
                    "userType": "IAMUser",
                    "userName": user
                }
            },
            "service": svc,
            "severity": severity,
            "createdAt": "2026-03-14T07:19:40.881Z",
            "updatedAt": "2026-03-14T07:19:40.881Z",
            "title": "test finding"
        }
    })
    .to_string()
}

// ---------------------------------------------------------------------------------------
// KMS
// ---------------------------------------------------------------------------------------

async fn rotation(c: &Clients, key: &str) -> bool {
    c.kms
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .key_rotation_enabled()
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_key_rotation_is_turned_on_automatically_and_rolled_back() {
    let w = World::new("").await;
    let c = clients(&w);
    let key = c.kms.create_key().send().await.unwrap();
    let key = key.key_metadata().unwrap().key_id().to_owned();
    assert!(!rotation(&c, &key).await);

    w.send(&config_noncompliant(
        "e-kms-1",
        "cmk-backing-key-rotation-enabled",
        "AWS::KMS::Key",
        &key,
        ACCOUNT,
        REGION,
    ))
    .await;
    w.worker(&[]);
    assert!(rotation(&c, &key).await);
    let records = w.records();
    let r = one(&records, "fixed", "kms-key-rotation");
    assert_fixed(r, "auto", "kms:EnableKeyRotation");
    assert_eq!(r["before"][0]["rotation_enabled"], false, "{r:#}");

    let rb = w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rb["calls"][0]["action"], "kms:DisableKeyRotation");
    assert!(!rotation(&c, &key).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_asymmetric_keys_are_refused_not_fixed() {
    let w = World::new("").await;
    let c = clients(&w);
    let key = c
        .kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    let key = key.key_metadata().unwrap().key_id().to_owned();
    w.send(&config_noncompliant(
        "e-kms-asym",
        "cmk-backing-key-rotation-enabled",
        "AWS::KMS::Key",
        &key,
        ACCOUNT,
        REGION,
    ))
    .await;
    w.worker(&[]);
    let records = w.records();
    assert!(by_outcome(&records, "fixed").is_empty(), "{records:#?}");
    let text = serde_json::to_string(&records).unwrap();
    assert!(
        text.contains("only symmetric encryption keys"),
        "{records:#?}"
    );
    assert!(!rotation(&c, &key).await);
}

// ---------------------------------------------------------------------------------------
// CloudTrail
// ---------------------------------------------------------------------------------------

async fn trail(c: &Clients, name: &str) -> String {
    let bucket = format!("{name}-logs");
    c.s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let out = c
        .cloudtrail
        .create_trail()
        .name(name)
        .s3_bucket_name(&bucket)
        .send()
        .await
        .unwrap();
    out.trail_arn().unwrap().to_owned()
}

async fn logging(c: &Clients, name: &str) -> bool {
    c.cloudtrail
        .get_trail_status()
        .name(name)
        .send()
        .await
        .unwrap()
        .is_logging()
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_trails_are_restarted_when_cloudtrail_is_reported_off_and_rollback_stops_them() {
    let w = World::new("").await;
    let c = clients(&w);
    trail(&c, "stopped-trail").await;
    trail(&c, "running-trail").await;
    c.cloudtrail
        .start_logging()
        .name("running-trail")
        .send()
        .await
        .unwrap();
    assert!(!logging(&c, "stopped-trail").await);

    w.send(&config_noncompliant(
        "e-ct-1",
        "cloudtrail-enabled",
        "AWS::::Account",
        ACCOUNT,
        ACCOUNT,
        REGION,
    ))
    .await;
    w.worker(&[]);
    assert!(logging(&c, "stopped-trail").await);
    assert!(logging(&c, "running-trail").await);
    let records = w.records();
    let r = one(&records, "fixed", "cloudtrail-restart-logging");
    assert_fixed(r, "auto", "cloudtrail:StartLogging");
    assert_eq!(r["calls"].as_array().unwrap().len(), 1, "{r:#}");
    assert_eq!(r["calls"][0]["params"]["Name"], "stopped-trail", "{r:#}");

    let rb = w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rb["calls"][0]["action"], "cloudtrail:StopLogging");
    assert_eq!(rb["calls"].as_array().unwrap().len(), 1, "{rb:#}");
    assert!(!logging(&c, "stopped-trail").await);
    assert!(
        logging(&c, "running-trail").await,
        "only what was stopped is stopped again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guardduty_stealth_finding_restarts_the_trail_it_names() {
    let w = World::new("").await;
    let c = clients(&w);
    let arn = trail(&c, "org-audit").await;
    trail(&c, "other-stopped").await;
    let body = guardduty_iam(
        "e-stealth",
        "Stealth:IAMUser/CloudTrailLoggingDisabled",
        "mallory",
        "AKIAIOSFODNN7EXAMPLE",
        2.0,
        json!({"action": {"actionType": "AWS_API_CALL", "awsApiCallAction": {
            "api": "StopLogging",
            "serviceName": "cloudtrail.amazonaws.com",
            "affectedResources": {"AWS::CloudTrail::Trail": arn}
        }}}),
    );
    let p = w.plan(&body);
    assert_eq!(
        p["playbook"], "cloudtrail-restart-logging-after-stealth",
        "{p:#}"
    );
    assert_eq!(p["decision"], "auto", "{p:#}");
    assert_eq!(p["steps"][0]["params"]["trail"], arn.as_str(), "{p:#}");

    w.send(&body).await;
    w.worker(&[]);
    assert!(logging(&c, "org-audit").await);
    assert!(!logging(&c, "other-stopped").await, "only the named trail");
    let records = w.records();
    let r = one(
        &records,
        "fixed",
        "cloudtrail-restart-logging-after-stealth",
    );
    assert_fixed(r, "auto", "cloudtrail:StartLogging");

    w.rollback(r["id"].as_str().unwrap());
    assert!(!logging(&c, "org-audit").await);
}

async fn validation(c: &Clients, name: &str) -> bool {
    c.cloudtrail
        .get_trail()
        .name(name)
        .send()
        .await
        .unwrap()
        .trail()
        .and_then(|t| t.log_file_validation_enabled())
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn trail_log_file_validation_is_turned_on_and_rolled_back() {
    let w = World::new("").await;
    let c = clients(&w);
    trail(&c, "unvalidated").await;
    assert!(!validation(&c, "unvalidated").await);
    w.send(&config_noncompliant(
        "e-ct-val",
        "cloudtrail-log-file-validation-enabled",
        "AWS::CloudTrail::Trail",
        "unvalidated",
        ACCOUNT,
        REGION,
    ))
    .await;
    w.worker(&[]);
    assert!(validation(&c, "unvalidated").await);
    let records = w.records();
    let r = one(&records, "fixed", "cloudtrail-log-file-validation");
    assert_fixed(r, "auto", "cloudtrail:UpdateTrail");
    assert_eq!(r["calls"][0]["params"]["EnableLogFileValidation"], true);

    w.rollback(r["id"].as_str().unwrap());
    assert!(!validation(&c, "unvalidated").await);
}

// ---------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------

/// A Config API call straight to the emulator (the tests crate has no Config SDK: its
/// request types cannot be named here). moto routes by the credential scope's service.
async fn config_call(w: &World, operation: &str, body: Json) {
    let res = reqwest::Client::new()
        .post(&w.moto.endpoint)
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", format!("StarlingDoveService.{operation}"))
        .header(
            "Authorization",
            format!("AWS4-HMAC-SHA256 Credential=testing/20260314/{REGION}/config/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert!(
        status.is_success(),
        "{operation}: {status} {}",
        res.text().await.unwrap_or_default()
    );
}

async fn recording(c: &Clients) -> bool {
    c.config
        .describe_configuration_recorder_status()
        .send()
        .await
        .unwrap()
        .configuration_recorders_status()
        .iter()
        .any(|s| s.recording())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_config_recorder_is_started_on_security_hub_config_1_and_rolled_back() {
    let w = World::new("").await;
    let c = clients(&w);
    c.s3.create_bucket()
        .bucket("config-delivery")
        .send()
        .await
        .unwrap();
    config_call(
        &w,
        "PutConfigurationRecorder",
        json!({"ConfigurationRecorder": {"name": "default",
            "roleARN": format!("arn:aws:iam::{ACCOUNT}:role/config-recorder")}}),
    )
    .await;
    config_call(
        &w,
        "PutDeliveryChannel",
        json!({"DeliveryChannel": {"name": "default", "s3BucketName": "config-delivery"}}),
    )
    .await;
    assert!(!recording(&c).await);

    let body = securityhub_control(
        "e-config-1",
        "Config.1",
        "AwsAccount",
        &format!("AWS::::Account:{ACCOUNT}"),
    );
    w.send(&body).await;
    w.worker(&[]);
    assert!(recording(&c).await);
    let records = w.records();
    let r = one(&records, "fixed", "config-recorder-restart");
    assert_fixed(r, "auto", "config:StartConfigurationRecorder");
    assert_eq!(r["before"][0]["recorders"][0]["name"], "default", "{r:#}");

    let rb = w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rb["calls"][0]["action"], "config:StopConfigurationRecorder");
    assert!(!recording(&c).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_config_recorder_is_a_clear_failure_not_a_fix() {
    let w = World::new("").await;
    let c = clients(&w);
    let err = action("config.start_configuration_recorder")
        .capture(&ctx(&c), &Params::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no AWS Config configuration recorder"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// GuardDuty
// ---------------------------------------------------------------------------------------

async fn detectors(c: &Clients) -> Vec<(String, String)> {
    let ids = c.guardduty.list_detectors().send().await.unwrap();
    let mut out = Vec::new();
    for id in ids.detector_ids() {
        let d = c
            .guardduty
            .get_detector()
            .detector_id(id)
            .send()
            .await
            .unwrap();
        out.push((id.clone(), d.status().unwrap().as_str().to_owned()));
    }
    out
}

fn guardduty_event(id: &str) -> String {
    config_noncompliant(
        id,
        "guardduty-enabled-centralized",
        "AWS::::Account",
        ACCOUNT,
        ACCOUNT,
        REGION,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn guardduty_is_created_where_there_is_no_detector_and_rollback_deletes_it() {
    let w = World::new("").await;
    let c = clients(&w);
    assert!(detectors(&c).await.is_empty());
    w.send(&guardduty_event("e-gd-none")).await;
    w.worker(&[]);
    let now = detectors(&c).await;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].1, "ENABLED");
    let records = w.records();
    let r = one(&records, "fixed", "guardduty-enable-detector");
    assert_fixed(r, "auto", "guardduty:CreateDetector");
    assert_eq!(
        r["calls"][0]["result"]["DetectorId"],
        now[0].0.as_str(),
        "{r:#}"
    );

    let rb = w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rb["calls"][0]["action"], "guardduty:DeleteDetector");
    assert!(detectors(&c).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_guardduty_detector_is_enabled_and_rollback_suspends_it() {
    let w = World::new("").await;
    let c = clients(&w);
    let id = c
        .guardduty
        .create_detector()
        .enable(false)
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_owned();
    assert_eq!(
        detectors(&c).await,
        vec![(id.clone(), "DISABLED".to_owned())]
    );
    w.send(&guardduty_event("e-gd-off")).await;
    w.worker(&[]);
    assert_eq!(
        detectors(&c).await,
        vec![(id.clone(), "ENABLED".to_owned())]
    );
    let records = w.records();
    let r = one(&records, "fixed", "guardduty-enable-detector");
    assert_fixed(r, "auto", "guardduty:UpdateDetector");

    w.rollback(r["id"].as_str().unwrap());
    assert_eq!(detectors(&c).await, vec![(id, "DISABLED".to_owned())]);
}

// ---------------------------------------------------------------------------------------
// IAM
// ---------------------------------------------------------------------------------------

async fn password_policy(c: &Clients) -> Option<aws_sdk_iam::types::PasswordPolicy> {
    c.iam
        .get_account_password_policy()
        .send()
        .await
        .ok()
        .and_then(|o| o.password_policy().cloned())
}

fn password_event(id: &str) -> String {
    config_noncompliant(
        id,
        "iam-password-policy",
        "AWS::::Account",
        ACCOUNT,
        ACCOUNT,
        REGION,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_policy_needs_approval_unless_opted_in_and_takes_operator_parameters() {
    let w = World::new("[parameters]\npassword_min_length = 16\n").await;
    let p = w.plan(&password_event("e-pw-plan"));
    assert_eq!(p["playbook"], "iam-password-policy", "{p:#}");
    assert_eq!(p["decision"], "approval", "{p:#}");
    let params = &p["steps"][0]["params"];
    assert_eq!(params["minimum_password_length"], 16, "{p:#}");
    assert_eq!(params["password_reuse_prevention"], 24, "{p:#}");
    assert_eq!(params["max_password_age"], 90, "{p:#}");
    assert_eq!(params["require_symbols"], true, "{p:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_weak_password_policy_is_raised_keeping_stricter_settings_and_rolled_back() {
    let w = World::new(
        "[gate]\nauto = [\"iam-password-policy\"]\n[parameters]\npassword_min_length = 16\n",
    )
    .await;
    let c = clients(&w);
    c.iam
        .update_account_password_policy()
        .minimum_password_length(8)
        .require_numbers(true)
        .allow_users_to_change_password(true)
        .max_password_age(30)
        .send()
        .await
        .unwrap();
    w.send(&password_event("e-pw-1")).await;
    w.worker(&[]);
    let now = password_policy(&c).await.unwrap();
    assert_eq!(now.minimum_password_length(), Some(16));
    assert!(now.require_symbols() && now.require_numbers());
    assert!(now.require_uppercase_characters() && now.require_lowercase_characters());
    assert_eq!(now.password_reuse_prevention(), Some(24));
    assert_eq!(
        now.max_password_age(),
        Some(30),
        "a stricter max age is kept"
    );
    assert!(now.allow_users_to_change_password());
    let records = w.records();
    let r = one(&records, "fixed", "iam-password-policy");
    assert_fixed(r, "auto", "iam:UpdateAccountPasswordPolicy");

    w.rollback(r["id"].as_str().unwrap());
    let back = password_policy(&c).await.unwrap();
    assert_eq!(back.minimum_password_length(), Some(8));
    assert!(!back.require_symbols());
    assert_eq!(back.max_password_age(), Some(30));
    assert!(back.password_reuse_prevention().unwrap_or(0) == 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_password_policy_is_created_and_rollback_deletes_it() {
    let w = World::new("[gate]\nauto = [\"iam-password-policy\"]\n").await;
    let c = clients(&w);
    assert!(password_policy(&c).await.is_none());
    w.send(&password_event("e-pw-none")).await;
    w.worker(&[]);
    let now = password_policy(&c).await.unwrap();
    assert_eq!(now.minimum_password_length(), Some(14));
    let records = w.records();
    let r = one(&records, "fixed", "iam-password-policy");
    let rb = w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rb["calls"][0]["action"], "iam:DeleteAccountPasswordPolicy");
    assert!(password_policy(&c).await.is_none());
}

async fn user_policy(c: &Clients, user: &str) -> Option<String> {
    c.iam
        .get_user_policy()
        .user_name(user)
        .policy_name("RedressQuarantine")
        .send()
        .await
        .ok()
        .map(|o| o.policy_document().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_with_compromised_console_sign_ins_is_quarantined_and_released_on_rollback() {
    let w = World::new("[gate]\nauto = [\"iam-quarantine-user\"]\n").await;
    let c = clients(&w);
    c.iam.create_user().user_name("carol").send().await.unwrap();
    let body = guardduty_iam(
        "e-quarantine",
        "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
        "carol",
        "ASIAIOSFODNN7EXAMPLE",
        5.0,
        json!({}),
    );
    let p = w.plan(&body);
    assert_eq!(p["playbook"], "iam-quarantine-user", "{p:#}");
    w.send(&body).await;
    w.worker(&[]);
    assert!(user_policy(&c, "carol").await.is_some());
    let records = w.records();
    let r = one(&records, "fixed", "iam-quarantine-user");
    assert_fixed(r, "auto", "iam:PutUserPolicy");
    assert_eq!(
        r["calls"][0]["params"]["PolicyDocument"]["Statement"][0]["Effect"],
        "Deny"
    );

    let rb = w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rb["calls"][0]["action"], "iam:DeleteUserPolicy");
    assert!(user_policy(&c, "carol").await.is_none());
}

async fn attached(c: &Clients, user: &str) -> Vec<String> {
    let mut v: Vec<String> = c
        .iam
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_name().map(str::to_owned))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_policies_are_detached_from_a_user_and_reattached_on_rollback() {
    let w = World::new("[gate]\nauto = [\"iam-detach-admin-policies\"]\n").await;
    let c = clients(&w);
    let id = c
        .iam
        .create_user()
        .user_name("dave")
        .send()
        .await
        .unwrap()
        .user()
        .unwrap()
        .user_id()
        .to_owned();
    let admin = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let read = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]});
    for (name, doc) in [("CopyOfAdministratorAccess", admin), ("S3Read", read)] {
        let arn = c
            .iam
            .create_policy()
            .policy_name(name)
            .policy_document(doc.to_string())
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .arn()
            .unwrap()
            .to_owned();
        c.iam
            .attach_user_policy()
            .user_name("dave")
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    w.send(&config_noncompliant(
        "e-admin",
        "iam-policy-blacklisted-check",
        "AWS::IAM::User",
        &id,
        ACCOUNT,
        REGION,
    ))
    .await;
    w.worker(&[]);
    assert_eq!(attached(&c, "dave").await, vec!["S3Read".to_owned()]);
    let records = w.records();
    let r = one(&records, "fixed", "iam-detach-admin-policies");
    assert_fixed(r, "auto", "iam:DetachUserPolicy");
    assert_eq!(r["calls"].as_array().unwrap().len(), 1, "{r:#}");

    w.rollback(r["id"].as_str().unwrap());
    assert_eq!(
        attached(&c, "dave").await,
        vec!["CopyOfAdministratorAccess".to_owned(), "S3Read".to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unused_console_password_always_needs_approval_and_cannot_be_rolled_back() {
    let w = World::new("[gate]\nauto = [\"iam-remove-unused-console-password\"]\n").await;
    let c = clients(&w);
    let id = c
        .iam
        .create_user()
        .user_name("erin")
        .send()
        .await
        .unwrap()
        .user()
        .unwrap()
        .user_id()
        .to_owned();
    c.iam
        .create_login_profile()
        .user_name("erin")
        .password("Xx1!correct-horse-battery")
        .send()
        .await
        .unwrap();
    let p = w.plan(&config_noncompliant(
        "e-login",
        "mfa-enabled-for-iam-console-access",
        "AWS::IAM::User",
        &id,
        ACCOUNT,
        REGION,
    ));
    assert_eq!(p["playbook"], "iam-remove-unused-console-password", "{p:#}");
    assert_eq!(
        p["decision"], "approval",
        "the operator opt-in cannot lift it: {p:#}"
    );

    // The action itself, as the executor drives it after an approval.
    let a = action("iam.delete_login_profile");
    let params = params(&[
        ("user", Value::Str(id.clone())),
        ("unused_days", Value::Int(90)),
    ]);
    let fresh = ctx(&c);
    let before = a.capture(&fresh, &params).await.unwrap();
    assert_eq!(before["user"], "erin");
    assert!(
        a.compliant(&params, &before, &fresh),
        "a password set today is not unused"
    );
    let mut later = ctx(&c);
    later.now = Utc::now() + chrono::TimeDelta::days(120);
    assert!(!a.compliant(&params, &before, &later));
    let calls = a.apply(&later, &params, &before).await.unwrap();
    assert_eq!(calls[0].action, "iam:DeleteLoginProfile");
    assert!(
        c.iam
            .get_login_profile()
            .user_name("erin")
            .send()
            .await
            .is_err()
    );
    let after = a.capture(&later, &params).await.unwrap();
    assert!(a.compliant(&params, &after, &later));
    let err = a.revert(&later, &params, &before).await.unwrap_err();
    assert!(err.to_string().contains("cannot be undone"), "{err}");
}
