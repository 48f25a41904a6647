//! Intake's errors: each is typed, one line, starts lowercase and names the problem (and the
//! field, by its path, where one field is the problem).

// Test code: a panic here is a failed assertion, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use redress_playbooks::ids::IdKind;
use redress_playbooks::intake::{IntakeError, MAX_MESSAGE_BYTES, decode};
use serde_json::{Value, json};

fn shared(prefix: &str) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/events");
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .unwrap();
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn error_of(v: &Value) -> IntakeError {
    match decode(&serde_json::to_vec(v).unwrap()) {
        Ok(d) => panic!("decoded: {d:?}"),
        Err(e) => e,
    }
}

fn set(v: &mut Value, pointer: &str, new: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}")) = new;
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key)
        .unwrap();
}

fn sns(message: Value) -> Value {
    json!({
        "Type": "Notification",
        "MessageId": "0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0",
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:security-remediation-events",
        "Message": message,
        "Timestamp": "2026-03-15T18:00:00.000Z"
    })
}

#[track_caller]
fn assert_one_line(e: &IntakeError) {
    let msg = e.to_string();
    assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
    assert!(msg.starts_with(|c: char| c.is_lowercase()), "{msg:?}");
    assert!(msg.len() < 600, "{msg:?}");
}

#[test]
fn body_errors() {
    assert_eq!(
        decode(b"").unwrap_err().to_string(),
        "the message body is empty"
    );
    assert_eq!(decode(b"  \r\n\t ").unwrap_err(), IntakeError::Blank);
    assert_eq!(
        decode(b" \n ").unwrap_err().to_string(),
        "the message body is blank (only whitespace)"
    );

    let big = vec![b' '; 300 * 1024];
    assert_eq!(
        decode(&big).unwrap_err().to_string(),
        "the message body is 307200 bytes, over the limit of 262144 bytes (256 KiB)"
    );
    // The limit itself is allowed (and here is blank).
    assert_eq!(
        decode(&vec![b' '; MAX_MESSAGE_BYTES]).unwrap_err(),
        IntakeError::Blank
    );

    assert_eq!(
        decode(b"[]").unwrap_err().to_string(),
        "the message body is an array, expected a JSON object"
    );
    assert_eq!(
        decode(b"\"just a string\"").unwrap_err().to_string(),
        "the message body is a string, expected a JSON object"
    );
    assert_eq!(
        decode(b"\xef\xbb\xbf{}\xff").unwrap_err().to_string(),
        "the message body is not UTF-8 (invalid byte at offset 5)"
    );
    assert_eq!(
        decode(b"{\"source\": \"aws.config\",}")
            .unwrap_err()
            .to_string(),
        "the message body is not JSON: trailing comma at line 1 column 25"
    );
}

#[test]
fn missing_detail_resource() {
    let mut v = shared("gd-04-");
    remove(&mut v, "/detail/resource");
    let e = error_of(&v);
    assert_eq!(
        e.to_string(),
        "missing field `detail.resource` in GuardDuty finding"
    );
    assert_eq!(e.path(), Some("detail.resource"));
}

#[test]
fn missing_access_key_id() {
    let mut v = shared("gd-02-");
    remove(&mut v, "/detail/resource/accessKeyDetails/accessKeyId");
    assert_eq!(
        error_of(&v).to_string(),
        "missing field `detail.resource.accessKeyDetails.accessKeyId` in GuardDuty finding"
    );
}

#[test]
fn wrong_type_for_severity() {
    let mut v = shared("gd-04-");
    set(&mut v, "/detail/severity", json!("8"));
    assert_eq!(
        error_of(&v),
        IntakeError::WrongType {
            path: "detail.severity".to_owned(),
            context: "GuardDuty finding",
            expected: "a number",
            found: "a string",
        }
    );
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail.severity` in GuardDuty finding is a string, expected a number"
    );
    set(&mut v, "/detail/severity", json!(42));
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail.severity` in GuardDuty finding is 42, expected a number from 0 to 10"
    );
}

#[test]
fn invalid_bucket_name() {
    let mut v = shared("config-01-");
    set(
        &mut v,
        "/detail/resourceId",
        json!("Acme_Invoices/../other"),
    );
    let e = error_of(&v);
    let IntakeError::InvalidId { path, error, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(path, "detail.resourceId");
    assert_eq!(error.kind, IdKind::BucketName);
    assert_eq!(
        e.to_string(),
        "field `detail.resourceId` in Config rule evaluation: \"Acme_Invoices/../other\" is not an S3 bucket name: it does not have that syntax"
    );
}

#[test]
fn invalid_account_id() {
    let mut v = shared("config-01-");
    set(&mut v, "/detail/awsAccountId", json!("1111-2222-3333"));
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail.awsAccountId` in Config rule evaluation: \"1111-2222-3333\" is not an AWS account id (12 digits): it does not have that syntax"
    );
    let mut v = shared("sh-01-");
    set(
        &mut v,
        "/detail/findings/0/AwsAccountId",
        json!(111122223333u64),
    );
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail.findings[0].AwsAccountId` in Security Hub finding is a number, expected a string"
    );
}

#[test]
fn account_resource_of_another_account() {
    let mut v = shared("config-06-");
    set(&mut v, "/detail/resourceId", json!("444455556666"));
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail.resourceId` in Config rule evaluation is account 444455556666, but the finding is about account 111122223333"
    );
}

#[test]
fn invalid_ids_of_other_types() {
    let mut v = shared("config-03-");
    set(&mut v, "/detail/resourceId", json!("sg-*"));
    assert!(matches!(error_of(&v), IntakeError::InvalidId { .. }));

    let mut v = shared("gd-04-");
    set(
        &mut v,
        "/detail/resource/instanceDetails/instanceId",
        json!("i-123; rm -rf /"),
    );
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail.resource.instanceDetails.instanceId` in GuardDuty finding: \"i-123; rm -rf /\" is not an EC2 instance id (i-…): it does not have that syntax"
    );

    let mut v = shared("sh-01-");
    set(
        &mut v,
        "/detail/findings/0/Resources/0/Id",
        json!("arn:aws:s3:::*"),
    );
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail.findings[0].Resources[0].Id` in Security Hub finding: \"*\" is not an S3 bucket name: it does not have that syntax"
    );

    let mut v = shared("gd-02-");
    set(&mut v, "/detail/region", json!("US East"));
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail.region` in GuardDuty finding: \"US East\" is not an AWS region name (e.g. us-east-1): it does not have that syntax"
    );

    let mut v = shared("gd-02-");
    set(&mut v, "/detail/partition", json!("aws-mars"));
    assert!(error_of(&v).to_string().starts_with(
        "field `detail.partition` in GuardDuty finding: \"aws-mars\" is not an AWS partition"
    ));
}

#[test]
fn sns_message_not_json() {
    let e = error_of(&sns(json!("Hello from SNS")));
    assert_eq!(
        e.to_string(),
        "the SNS `Message` is not JSON: expected value at line 1 column 1 of the message"
    );
    assert_eq!(
        error_of(&sns(json!({"source": "aws.config"}))).to_string(),
        "field `Message` in SNS notification is an object, expected a string"
    );
    assert_eq!(
        error_of(&sns(json!("[1, 2]"))).to_string(),
        "the SNS `Message` is an array, expected a JSON object"
    );
    assert_eq!(
        error_of(&sns(json!("{\"greeting\": \"hi\"}"))).to_string(),
        "the SNS `Message` is not an EventBridge event (`source`, `detail-type`), an SNS notification (`Type`, `Message`) or an AWS Config notification (`messageType`)"
    );
}

#[test]
fn double_sns_envelope() {
    let inner = sns(json!(serde_json::to_string(&shared("config-01-")).unwrap()));
    let outer = sns(json!(serde_json::to_string(&inner).unwrap()));
    assert_eq!(
        error_of(&outer).to_string(),
        "the SNS `Message` is itself an SNS notification; redress unwraps one envelope only"
    );
}

#[test]
fn sns_unknown_type() {
    let mut v = sns(json!("{}"));
    set(&mut v, "/Type", json!("Surprise"));
    assert_eq!(
        error_of(&v).to_string(),
        "field `Type` in SNS notification is \"Surprise\", expected Notification, SubscriptionConfirmation or UnsubscribeConfirmation"
    );
}

#[test]
fn bad_timestamp() {
    let mut v = shared("config-01-");
    set(&mut v, "/time", json!("yesterday"));
    let e = error_of(&v);
    assert!(matches!(e, IntakeError::BadTimestamp { .. }));
    assert!(
        e.to_string().starts_with(
            "field `time` in EventBridge event is not an RFC 3339 timestamp: \"yesterday\" ("
        ),
        "{e}"
    );
}

#[test]
fn unknown_compliance_states() {
    let mut v = shared("config-01-");
    set(
        &mut v,
        "/detail/newEvaluationResult/complianceType",
        json!("MAYBE"),
    );
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail.newEvaluationResult.complianceType` in Config rule evaluation is \"MAYBE\", expected COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE or INSUFFICIENT_DATA"
    );
    let mut v = shared("sh-01-");
    set(
        &mut v,
        "/detail/findings/0/Compliance/Status",
        json!("FAILING"),
    );
    assert!(
        error_of(&v)
            .to_string()
            .ends_with("expected PASSED, WARNING, FAILED or NOT_AVAILABLE")
    );
}

#[test]
fn security_hub_without_resources() {
    let mut v = shared("sh-01-");
    set(&mut v, "/detail/findings/0/Resources", json!([]));
    assert_eq!(
        error_of(&v).to_string(),
        "missing field `detail.findings[0].Resources[0]` in Security Hub finding"
    );
    let mut v = shared("sh-01-");
    set(&mut v, "/detail/findings", json!({"0": {}}));
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail.findings` in Security Hub event is an object, expected an array"
    );
}

#[test]
fn envelope_field_types() {
    let mut v = shared("config-01-");
    set(&mut v, "/detail", json!("{}"));
    assert_eq!(
        error_of(&v).to_string(),
        "field `detail` in EventBridge event is a string, expected an object"
    );
    let mut v = shared("config-01-");
    set(&mut v, "/source", Value::Null);
    assert_eq!(
        error_of(&v).to_string(),
        "field `source` in EventBridge event is null, expected a string"
    );
    let mut v = shared("config-01-");
    remove(&mut v, "/id");
    assert_eq!(
        error_of(&v).to_string(),
        "missing field `id` in EventBridge event"
    );
}

#[test]
fn hostile_values_are_quoted_and_cut_short() {
    let mut v = shared("config-01-");
    let long = format!("evil\n{}", "x".repeat(10_000));
    set(&mut v, "/detail/resourceId", json!(long));
    let e = error_of(&v);
    assert_one_line(&e);
    assert!(e.to_string().contains("\"evil\\nxxx"), "{e}");
    assert!(e.to_string().len() < 300);
}

#[test]
fn every_error_is_one_lowercase_line() {
    let mut cases: Vec<IntakeError> = vec![
        decode(b"").unwrap_err(),
        decode(b" ").unwrap_err(),
        decode(&vec![b'{'; MAX_MESSAGE_BYTES + 1]).unwrap_err(),
        decode(&[0xc3, 0x28]).unwrap_err(),
        decode(b"{\n\"a\":\n").unwrap_err(),
        decode(b"[]").unwrap_err(),
        decode(b"{}").unwrap_err(),
        decode("[".repeat(500).as_bytes()).unwrap_err(),
        error_of(&sns(json!("not json"))),
    ];
    let mut v = shared("gd-04-");
    remove(&mut v, "/detail/resource");
    cases.push(error_of(&v));
    let mut v = shared("config-01-");
    set(&mut v, "/time", json!("\u{0}"));
    cases.push(error_of(&v));
    for e in &cases {
        assert_one_line(e);
    }
}
