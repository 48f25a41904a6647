//! Property tests: no input makes intake panic, every error is one line, and every finding
//! that could be acted on is well-formed (non-compliant, resource id of its type's syntax).

// Test code: a panic here is a failed assertion, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use redress_playbooks::finding::{Compliance, resource_types as rt};
use redress_playbooks::ids::IdKind;
use redress_playbooks::intake::{IntakeError, decode};
use serde_json::{Map, Value, json};

/// Every sample event: the shared fixtures (those that parse) and the project's own.
fn fixtures() -> &'static [Value] {
    static ALL: OnceLock<Vec<Value>> = OnceLock::new();
    ALL.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for dir in [
            root.join("../../shared/fixtures/events"),
            root.join("tests/data/events"),
        ] {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let is_event = path.extension().is_some_and(|e| e == "json")
                    && !path
                        .file_name()
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .starts_with("slack-");
                if let (true, Ok(v)) = (
                    is_event,
                    serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()),
                ) {
                    out.push(v);
                }
            }
        }
        assert!(out.len() >= 20, "{} fixtures", out.len());
        out
    })
}

/// Checks what holds of every outcome: errors are one line; findings that are not ignored
/// are non-compliant, with ids of the right syntax.
fn check_outcome(
    result: Result<redress_playbooks::intake::Decoded, IntakeError>,
) -> Result<(), TestCaseError> {
    match result {
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(!msg.contains('\n'), "{}", msg);
            prop_assert!(msg.starts_with(|c: char| c.is_lowercase()), "{}", msg);
        }
        Ok(d) => {
            prop_assert!(!d.findings.is_empty() || d.ignored.is_some());
            for f in &d.findings {
                prop_assert!(!f.kind.is_empty());
                serde_json::to_string(f).unwrap();
                if f.ignore.is_some() {
                    continue;
                }
                prop_assert_eq!(f.compliance, Compliance::NonCompliant);
                let kind = match f.resource.kind.as_str() {
                    rt::S3_BUCKET => IdKind::BucketName,
                    rt::EC2_SECURITY_GROUP => IdKind::SecurityGroupId,
                    rt::EC2_INSTANCE => IdKind::InstanceId,
                    rt::IAM_ACCESS_KEY => IdKind::AccessKeyId,
                    rt::IAM_USER => IdKind::IamUserNameOrId,
                    rt::ACCOUNT => IdKind::AccountId,
                    _ => IdKind::Text,
                };
                prop_assert!(kind.check(&f.resource.id).is_ok(), "{:?}", f.resource);
                if f.resource.kind == rt::ACCOUNT {
                    prop_assert_eq!(f.resource.id.as_str(), f.account.as_str());
                }
                if let Some(arn) = &f.resource.arn {
                    prop_assert!(IdKind::Arn.check(arn).is_ok(), "{}", arn);
                }
            }
        }
    }
    Ok(())
}

const KEYS: &[&str] = &[
    "source",
    "detail-type",
    "detail",
    "id",
    "time",
    "region",
    "account",
    "Type",
    "Message",
    "MessageId",
    "TopicArn",
    "messageType",
    "findings",
    "resource",
    "resourceType",
    "resourceId",
    "awsAccountId",
    "awsRegion",
    "configRuleName",
    "newEvaluationResult",
    "complianceType",
    "accessKeyDetails",
    "accessKeyId",
    "instanceDetails",
    "instanceId",
    "s3BucketDetails",
    "name",
    "severity",
    "type",
    "accountId",
    "partition",
    "service",
    "Resources",
    "Compliance",
    "Status",
    "SecurityControlId",
    "ProductArn",
    "AwsAccountId",
    "Id",
    "Region",
    "Severity",
    "Normalized",
    "Label",
    "configurationItem",
    "configurationItemSummary",
    "tags",
    "Tags",
    "key",
    "value",
];

const STRINGS: &[&str] = &[
    "aws.config",
    "aws.guardduty",
    "aws.securityhub",
    "Config Rules Compliance Change",
    "Config Configuration Item Change",
    "GuardDuty Finding",
    "Security Hub Findings - Imported",
    "Notification",
    "SubscriptionConfirmation",
    "ComplianceChangeNotification",
    "ConfigurationItemChangeNotification",
    "OversizedConfigurationItemChangeNotification",
    "NON_COMPLIANT",
    "COMPLIANT",
    "FAILED",
    "PASSED",
    "WARNING",
    "AccessKey",
    "Instance",
    "S3Bucket",
    "TARGET",
    "ACTOR",
    "AWS::S3::Bucket",
    "AWS::::Account",
    "AWS::IAM::User",
    "AwsS3Bucket",
    "AwsAccount",
    "AWS::::Account:111122223333",
    "arn:aws:s3:::acme-logs",
    "arn:aws:securityhub:us-east-1::product/aws/securityhub",
    "111122223333",
    "444455556666",
    "us-east-1",
    "global",
    "cn-north-1",
    "aws",
    "aws-cn",
    "S3.8",
    "security-control/S3.8",
    "2026-03-14T08:12:40Z",
    "2026-03-14T08:12:40.123+02:00",
    "acme-logs",
    "sg-0b7e21c4d9a3f5816",
    "i-07a9c1e3b5d7f9024",
    "AKIAQ3EGRS7EXAMPLE42",
    "ASIAQ3EGRS7EXAMPLE42",
    "",
    " ",
    "\u{0}",
    "\n",
    "*",
    "../",
    "{}",
    "[]",
    "null",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(KEYS).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(STRINGS).prop_map(str::to_owned),
        1 => "\\PC{0,40}",
        1 => any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop_oneof![Just(5.0), Just(-1.0), Just(10.5), Just(70.0), Just(1e300)]
            .prop_map(|f: f64| json!(f)),
        string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// An EventBridge envelope of a handled source around an arbitrary detail.
fn event_with_arbitrary_detail() -> impl Strategy<Value = Value> {
    (
        select(
            &[
                ("aws.config", "Config Rules Compliance Change"),
                ("aws.config", "Config Configuration Item Change"),
                ("aws.guardduty", "GuardDuty Finding"),
                ("aws.securityhub", "Security Hub Findings - Imported"),
            ][..],
        ),
        json_value(),
    )
        .prop_map(|((source, detail_type), detail)| {
            json!({
                "version": "0", "id": "0ae314be-d657-5e31-aef2-2409f9c752d4",
                "detail-type": detail_type, "source": source, "account": "111122223333",
                "time": "2026-03-14T08:12:40Z", "region": "us-east-1", "resources": [],
                "detail": detail
            })
        })
}

/// Every JSON pointer in a document, the root included.
fn pointers(v: &Value, prefix: &str, out: &mut Vec<String>) {
    out.push(prefix.to_owned());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(child, &format!("{prefix}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, &format!("{prefix}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Drop,
    Replace(Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => Just(Mutation::Drop),
        2 => json_value().prop_map(Mutation::Replace),
    ]
}

fn apply(doc: &mut Value, at: Index, m: &Mutation) {
    let mut all = Vec::new();
    pointers(doc, "", &mut all);
    let pointer = at.get(&all).clone();
    match m {
        Mutation::Replace(new) => {
            if let Some(slot) = doc.pointer_mut(&pointer) {
                *slot = new.clone();
            }
        }
        Mutation::Drop => {
            let Some((parent, last)) = pointer.rsplit_once('/') else {
                return;
            };
            let key = last.replace("~1", "/").replace("~0", "~");
            match doc.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&key);
                }
                Some(Value::Array(items)) => {
                    if let Ok(i) = key.parse::<usize>()
                        && i < items.len()
                    {
                        items.remove(i);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Wraps in an SNS envelope (the mutated document becomes the `Message` string).
fn in_sns(inner: &Value) -> Value {
    json!({
        "Type": "Notification",
        "MessageId": "5e64a41f-eadd-5f2f-bdb2-064733ce8438",
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:security-remediation-events",
        "Message": serde_json::to_string(inner).unwrap(),
        "Timestamp": "2026-03-14T08:52:20.871Z"
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..4096)) {
        check_outcome(decode(&body))?;
    }

    #[test]
    fn arbitrary_text_never_panics(body in "\\PC{0,2000}") {
        check_outcome(decode(body.as_bytes()))?;
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        check_outcome(decode(&serde_json::to_vec(&v).unwrap()))?;
    }

    #[test]
    fn arbitrary_details_of_handled_sources_never_panic(v in event_with_arbitrary_detail(), wrap in any::<bool>()) {
        let v = if wrap { in_sns(&v) } else { v };
        check_outcome(decode(&serde_json::to_vec(&v).unwrap()))?;
    }

    #[test]
    fn mutated_fixtures_decode_or_error(
        which in any::<Index>(),
        mutations in prop::collection::vec((any::<Index>(), mutation()), 1..4),
        wrap in any::<bool>(),
    ) {
        let mut doc = which.get(fixtures()).clone();
        for (at, m) in &mutations {
            apply(&mut doc, *at, m);
        }
        let doc = if wrap { in_sns(&doc) } else { doc };
        check_outcome(decode(&serde_json::to_vec(&doc).unwrap()))?;
    }

    #[test]
    fn truncated_fixtures_error_cleanly(which in any::<Index>(), cut in any::<Index>()) {
        let body = serde_json::to_vec_pretty(which.get(fixtures())).unwrap();
        let end = cut.index(body.len());
        check_outcome(decode(&body[..end]))?;
    }
}

#[test]
fn unmutated_fixtures_satisfy_the_invariants() {
    for v in fixtures() {
        check_outcome(decode(&serde_json::to_vec(v).unwrap())).unwrap();
        check_outcome(decode(&serde_json::to_vec(&in_sns(v)).unwrap())).unwrap();
    }
}
