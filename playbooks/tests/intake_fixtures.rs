//! Intake over the shared sample events in `shared/fixtures/events/` (a sibling of the
//! repository, as in CI): each one decodes to what fixtures/README.md says.

// Test code: a panic here is a failed assertion, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use redress_playbooks::finding::{Compliance, Finding, Source, resource_types as rt};
use redress_playbooks::intake::{Decoded, IntakeError, decode};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/events")
}

/// The bytes of the one fixture whose name starts with `prefix`.
fn fixture(prefix: &str) -> Vec<u8> {
    let mut hits: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect();
    assert_eq!(hits.len(), 1, "fixtures starting with {prefix}: {hits:?}");
    std::fs::read(hits.remove(0)).unwrap()
}

fn decoded(prefix: &str) -> Decoded {
    decode(&fixture(prefix)).unwrap_or_else(|e| panic!("{prefix}: {e}"))
}

fn one(prefix: &str) -> Finding {
    let d = decoded(prefix);
    assert_eq!(d.findings.len(), 1, "{prefix}: {d:?}");
    assert_eq!(d.ignored, None);
    d.findings.into_iter().next().unwrap()
}

#[track_caller]
fn assert_where(f: &Finding, account: &str, region: &str, partition: &str) {
    assert_eq!(f.account.as_str(), account);
    assert_eq!(f.region.as_str(), region);
    assert_eq!(f.partition.as_str(), partition);
}

#[test]
fn config_01_s3_bucket_noncompliant() {
    let f = one("config-01-");
    assert_eq!(f.source, Source::Config);
    assert_eq!(f.kind, "s3-bucket-level-public-access-prohibited");
    assert_where(&f, "111122223333", "us-east-1", "aws");
    assert_eq!(f.resource.kind, rt::S3_BUCKET);
    assert_eq!(f.resource.id, "acme-prod-invoice-exports");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws:s3:::acme-prod-invoice-exports")
    );
    assert_eq!(f.compliance, Compliance::NonCompliant);
    assert_eq!(f.severity, None);
    assert_eq!(f.ignore, None);
    assert_eq!(f.event_id, "0ae314be-d657-5e31-aef2-2409f9c752d4");
    assert_eq!(f.finding_id, None);
    assert_eq!(f.time.to_rfc3339(), "2026-03-14T08:12:40+00:00");
    // The detail is the EventBridge detail, addressable by JSON pointer.
    assert_eq!(
        f.detail
            .pointer("/newEvaluationResult/complianceType")
            .unwrap(),
        "NON_COMPLIANT"
    );
    assert_eq!(
        f.config_rule_base_name().as_deref(),
        Some("s3-bucket-level-public-access-prohibited")
    );
}

#[test]
fn config_03_security_group() {
    let f = one("config-03-");
    assert_eq!(f.kind, "restricted-ssh");
    assert_eq!(f.resource.kind, rt::EC2_SECURITY_GROUP);
    assert_eq!(f.resource.id, "sg-0b7e21c4d9a3f5816");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws:ec2:us-east-1:111122223333:security-group/sg-0b7e21c4d9a3f5816")
    );
    assert_eq!(f.compliance, Compliance::NonCompliant);
    assert_eq!(f.ignore, None);
}

#[test]
fn config_05_iam_user_is_named_by_its_unique_id() {
    let f = one("config-05-");
    assert_eq!(f.kind, "iam-user-unused-credentials-check");
    assert_eq!(f.resource.kind, rt::IAM_USER);
    assert_eq!(f.resource.id, "AIDAQ3EGRS4EXAMPLE7K2");
    // No ARN from a user id: the ARN needs the name.
    assert_eq!(f.resource.arn, None);
    assert_eq!(f.ignore, None);
}

#[test]
fn config_06_account_first_evaluation() {
    let f = one("config-06-");
    assert_eq!(f.kind, "ec2-ebs-encryption-by-default");
    assert_eq!(f.resource.kind, rt::ACCOUNT);
    assert_eq!(f.resource.id, "111122223333");
    assert_eq!(f.resource.arn, None);
    assert_eq!(f.compliance, Compliance::NonCompliant);
    assert_eq!(f.ignore, None);
    assert!(f.detail.get("oldEvaluationResult").is_none());
}

#[test]
fn config_08_compliant_is_ignored() {
    let f = one("config-08-");
    assert_eq!(f.resource.id, "acme-prod-invoice-exports");
    assert_eq!(f.compliance, Compliance::Compliant);
    assert_eq!(
        f.ignore.as_deref(),
        Some(
            "compliance state COMPLIANT: the resource is compliant; only non-compliant findings are acted on"
        )
    );
}

#[test]
fn env_01_sns_envelope_is_unwrapped() {
    let f = one("env-01-");
    assert_eq!(f.source, Source::Config);
    assert_eq!(f.kind, "s3-bucket-level-public-access-prohibited");
    assert_eq!(f.resource.kind, rt::S3_BUCKET);
    assert_eq!(f.resource.id, "acme-partner-dropbox");
    assert_eq!(f.compliance, Compliance::NonCompliant);
    assert_eq!(f.ignore, None);
    // The inner event's id, not the SNS MessageId.
    assert_eq!(f.event_id, "381e26ca-a7ca-5da7-b971-cb8af0eeda6e");
}

#[test]
fn gd_02_access_key_is_acted_on_whatever_its_role() {
    let f = one("gd-02-");
    assert_eq!(f.source, Source::Guardduty);
    assert_eq!(
        f.kind,
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"
    );
    assert_where(&f, "111122223333", "us-east-1", "aws");
    assert_eq!(f.resource.kind, rt::IAM_ACCESS_KEY);
    assert_eq!(f.resource.id, "AKIAQ3EGRS7EXAMPLE42");
    assert_eq!(f.resource.arn, None);
    assert_eq!(f.severity, Some(5.0));
    assert_eq!(f.compliance, Compliance::NonCompliant);
    // resourceRole is TARGET, but for an access key that does not matter.
    assert_eq!(f.detail.pointer("/service/resourceRole").unwrap(), "TARGET");
    assert_eq!(f.ignore, None);
    assert_eq!(
        f.finding_id.as_deref(),
        Some("eb98d8fc919fe602d1f6c1115e625b62")
    );
    assert_eq!(f.event_id, "beb9c228-ebe7-50cc-8575-29ad9c791764");
    assert_eq!(
        f.detail
            .pointer("/resource/accessKeyDetails/userName")
            .unwrap(),
        "ci-deploy-legacy"
    );
    assert_eq!(f.time.to_rfc3339(), "2026-03-14T07:19:40.881+00:00");
}

#[test]
fn gd_04_instance_with_tags() {
    let f = one("gd-04-");
    assert_eq!(f.kind, "CryptoCurrency:EC2/BitcoinTool.B!DNS");
    assert_eq!(f.resource.kind, rt::EC2_INSTANCE);
    assert_eq!(f.resource.id, "i-07a9c1e3b5d7f9024");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws:ec2:us-east-1:111122223333:instance/i-07a9c1e3b5d7f9024")
    );
    assert_eq!(f.severity, Some(8.0));
    assert_eq!(
        f.tags.get("Name").map(String::as_str),
        Some("batch-render-07")
    );
    assert_eq!(
        f.tags.get("Environment").map(String::as_str),
        Some("production")
    );
    assert_eq!(f.tags.len(), 2);
    assert_eq!(f.ignore, None);
}

#[test]
fn gd_09_sample_finding_is_ignored() {
    let f = one("gd-09-");
    assert_eq!(
        f.kind,
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
    );
    // The placeholder id is kept as text: the finding is ignored, never acted on.
    assert_eq!(f.resource.id, "GeneratedFindingAccessKeyId");
    assert_eq!(
        f.ignore.as_deref(),
        Some("GuardDuty sample finding (service.additionalInfo.sample is true)")
    );
}

#[test]
fn sh_01_control_s3_8() {
    let f = one("sh-01-");
    assert_eq!(f.source, Source::Securityhub);
    assert_eq!(f.kind, "S3.8");
    assert_where(&f, "111122223333", "us-east-1", "aws");
    assert_eq!(f.resource.kind, rt::S3_BUCKET);
    assert_eq!(f.resource.id, "acme-data-lake-curated");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws:s3:::acme-data-lake-curated")
    );
    assert_eq!(f.severity, Some(7.0));
    assert_eq!(f.compliance, Compliance::NonCompliant);
    assert_eq!(f.ignore, None);
    assert_eq!(
        f.finding_id.as_deref(),
        Some(
            "arn:aws:securityhub:us-east-1:111122223333:security-control/S3.8/finding/21103853-4e00-5927-a2e1-8f76297850fb"
        )
    );
    assert_eq!(f.event_id, "5bc19ca2-905a-54f7-8696-4fbce6e3e073");
    // The detail is the one ASFF finding.
    assert_eq!(
        f.detail.pointer("/Compliance/SecurityControlId").unwrap(),
        "S3.8"
    );
    assert_eq!(f.time.to_rfc3339(), "2026-03-14T08:45:21.390+00:00");
}

#[test]
fn bad_01_truncated_is_a_json_error_with_its_location() {
    let err = decode(&fixture("bad-01-")).unwrap_err();
    let IntakeError::NotJson { line, column, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(*line > 40, "{err}");
    assert!(*column > 0, "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("the message body is not JSON: EOF while parsing"),
        "{msg}"
    );
    assert!(
        msg.ends_with(&format!("at line {line} column {column}")),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
}

#[test]
fn bad_04_unknown_source_is_ignored() {
    let d = decoded("bad-04-");
    assert!(d.findings.is_empty());
    let reason = d.ignored.unwrap();
    assert!(
        reason.starts_with("unsupported event source \"com.acme.billing\""),
        "{reason}"
    );
    assert!(
        reason.contains("aws.config, aws.guardduty and aws.securityhub"),
        "{reason}"
    );
}

/// Every JSON file in the folder either decodes or fails with a clear error: the events
/// decode, the Slack files (not events) are rejected as such, bad-01 is not JSON.
#[test]
fn every_shared_json_file_has_a_verdict() {
    let mut seen = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".json") {
            continue;
        }
        seen += 1;
        let result = decode(&std::fs::read(&path).unwrap());
        if name.starts_with("slack-") {
            assert!(
                matches!(result, Err(IntakeError::UnknownShape { .. })),
                "{name}: {result:?}"
            );
        } else if name.starts_with("bad-01") {
            assert!(
                matches!(result, Err(IntakeError::NotJson { .. })),
                "{name}: {result:?}"
            );
        } else {
            let d = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!d.findings.is_empty() || d.ignored.is_some(), "{name}");
        }
    }
    assert!(
        seen >= 12,
        "only {seen} fixtures found in {}",
        dir().display()
    );
}
