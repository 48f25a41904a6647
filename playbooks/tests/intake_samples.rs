//! Intake over the project's own sample events (`tests/data/events/`), and variations of
//! them made in code: the shapes the shared fixtures do not cover.

// Test code: a panic here is a failed assertion, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use redress_playbooks::finding::{
    Compliance, Finding, Source, base_rule_name, resource_types as rt,
};
use redress_playbooks::intake::{CONFIGURATION_ITEM_CHANGE, Decoded, IntakeError, decode};
use serde_json::{Value, json};

fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/events")
        .join(name)
}

fn sample(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(sample_path(name)).unwrap()).unwrap()
}

fn shared(prefix: &str) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/events");
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .unwrap();
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn run(v: &Value) -> Result<Decoded, IntakeError> {
    decode(&serde_json::to_vec(v).unwrap())
}

fn decoded(v: &Value) -> Decoded {
    run(v).unwrap_or_else(|e| panic!("{e}"))
}

fn one(v: &Value) -> Finding {
    let d = decoded(v);
    assert_eq!(d.findings.len(), 1, "{d:?}");
    assert_eq!(d.ignored, None);
    d.findings.into_iter().next().unwrap()
}

/// Sets the value at a JSON pointer (the parent must exist).
fn set(v: &mut Value, pointer: &str, new: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}")) = new;
}

/// Removes the key at a JSON pointer.
fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key)
        .unwrap();
}

/// Wraps a document in an SNS notification envelope.
fn in_sns(inner: &Value) -> Value {
    json!({
        "Type": "Notification",
        "MessageId": "0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0",
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:security-remediation-events",
        "Message": serde_json::to_string(inner).unwrap(),
        "Timestamp": "2026-03-15T18:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0f4d33e61394b7e19ea2fd270f5a17e7.pem"
    })
}

// ---------------------------------------------------------------- AWS Config

#[test]
fn config_rule_deployed_by_security_hub_in_govcloud() {
    let f = one(&sample("config-securityhub-restricted-ssh-govcloud.json"));
    assert_eq!(f.source, Source::Config);
    // Kept as deployed; matching strips the decorations.
    assert_eq!(f.kind, "securityhub-restricted-ssh-a1b2c3d4");
    assert_eq!(base_rule_name(&f.kind), "restricted-ssh");
    assert_eq!(f.config_rule_base_name().as_deref(), Some("restricted-ssh"));
    assert_eq!(f.account.as_str(), "444455556666");
    assert_eq!(f.region.as_str(), "us-gov-west-1");
    // No partition in a Config event: it follows the region.
    assert_eq!(f.partition.as_str(), "aws-us-gov");
    assert_eq!(f.resource.kind, rt::EC2_SECURITY_GROUP);
    assert_eq!(f.resource.id, "sg-0d2a4c6e8f0b1d3e5");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws-us-gov:ec2:us-gov-west-1:444455556666:security-group/sg-0d2a4c6e8f0b1d3e5")
    );
    assert_eq!(f.compliance, Compliance::NonCompliant);
    assert_eq!(f.ignore, None);
}

#[test]
fn config_item_change_is_an_ignored_finding() {
    let f = one(&sample("config-item-change-security-group.json"));
    assert_eq!(f.source, Source::Config);
    assert_eq!(f.kind, CONFIGURATION_ITEM_CHANGE);
    assert_eq!(f.compliance, Compliance::NotApplicable);
    assert_eq!(f.resource.kind, rt::EC2_SECURITY_GROUP);
    assert_eq!(f.resource.id, "sg-0e1f2a3b4c5d6e7f8");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws:ec2:us-east-1:111122223333:security-group/sg-0e1f2a3b4c5d6e7f8")
    );
    assert_eq!(f.tags.get("Team").map(String::as_str), Some("platform"));
    assert_eq!(f.event_id, "e3b1a7c9-5d2f-5a8e-b4c6-0f9e8d7c6b5a");
    assert_eq!(
        f.ignore.as_deref(),
        Some(
            "a configuration item change is not a compliance finding; redress acts on Config rule evaluations"
        )
    );
}

#[test]
fn oversized_config_item_change_reads_the_summary() {
    let f = one(&sample("config-item-change-oversized-instance.json"));
    assert_eq!(f.kind, CONFIGURATION_ITEM_CHANGE);
    assert_eq!(f.resource.kind, rt::EC2_INSTANCE);
    assert_eq!(f.resource.id, "i-0a2b4c6d8e0f1a3b5");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws:ec2:us-east-1:111122223333:instance/i-0a2b4c6d8e0f1a3b5")
    );
    assert!(f.tags.is_empty());
    assert!(f.ignore.is_some());
}

#[test]
fn deleted_resource_says_so() {
    let mut v = sample("config-item-change-security-group.json");
    set(
        &mut v,
        "/detail/configurationItem/configurationItemStatus",
        json!("ResourceDeleted"),
    );
    let f = one(&v);
    assert_eq!(
        f.ignore.as_deref(),
        Some(
            "the resource was deleted (configurationItemStatus ResourceDeleted); there is nothing to remediate"
        )
    );
}

#[test]
fn config_flat_compliance_notification_in_sns() {
    let v = sample("sns-config-compliance-change-notification.json");
    let f = one(&v);
    assert_eq!(f.source, Source::Config);
    assert_eq!(f.kind, "s3-bucket-public-read-prohibited");
    assert_eq!(f.region.as_str(), "eu-west-1");
    assert_eq!(f.resource.kind, rt::S3_BUCKET);
    assert_eq!(f.resource.id, "acme-eu-reports");
    assert_eq!(f.compliance, Compliance::NonCompliant);
    assert_eq!(f.ignore, None);
    // The flat notification has no id of its own: the SNS MessageId is the event id.
    assert_eq!(f.event_id, "8a1f3c5e-7b9d-5e2f-a4c6-b8d0e2f4a6c8");
    assert_eq!(f.time.to_rfc3339(), "2026-03-15T12:10:34.871+00:00");
    assert_eq!(f.detail["messageType"], "ComplianceChangeNotification");

    // Without the envelope, a stable id is derived from the evaluation.
    let inner: Value = serde_json::from_str(v["Message"].as_str().unwrap()).unwrap();
    let f = one(&inner);
    assert_eq!(
        f.event_id,
        "config:s3-bucket-public-read-prohibited:acme-eu-reports:2026-03-15T12:10:05.331Z"
    );
    assert_eq!(one(&inner).event_id, f.event_id);
}

#[test]
fn config_flat_item_change_of_a_global_resource_takes_the_topics_region() {
    let v = sample("sns-config-item-change-iam-user-global.json");
    let f = one(&v);
    assert_eq!(f.kind, CONFIGURATION_ITEM_CHANGE);
    assert_eq!(f.region.as_str(), "us-east-1");
    assert_eq!(f.resource.kind, rt::IAM_USER);
    assert_eq!(f.resource.id, "AIDAQ3EGRS8EXAMPLEM3J");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws:iam::111122223333:user/contractors/ext-bob")
    );
    assert_eq!(f.event_id, "c2e4a6b8-d0f2-5a4c-8e6a-0b2d4f6a8c0e");
    assert!(f.ignore.is_some());

    // Alone, "global" names no region and the message none either.
    let inner: Value = serde_json::from_str(v["Message"].as_str().unwrap()).unwrap();
    let err = run(&inner).unwrap_err();
    assert_eq!(err.path(), Some("configurationItem.awsRegion"));
    assert!(err.to_string().starts_with("field `configurationItem.awsRegion` in Config configuration item is \"global\", expected a region name"), "{err}");
}

#[test]
fn other_config_notifications_and_event_types_are_ignored() {
    let d = decoded(&in_sns(&json!({
        "configSnapshotId": "f0d6a2b4-1c3e-4a5b-9c8d-7e6f5a4b3c2d",
        "s3ObjectKey": "AWSLogs/111122223333/Config/us-east-1/2026/3/15/ConfigSnapshot/111122223333_Config_us-east-1_ConfigSnapshot_20260315T000000Z_f0d6a2b4.json.gz",
        "s3Bucket": "acme-config-history",
        "notificationCreationTime": "2026-03-15T00:00:10.000Z",
        "messageType": "ConfigurationSnapshotDeliveryCompleted",
        "recordVersion": "1.1"
    })));
    assert!(d.findings.is_empty());
    assert_eq!(
        d.ignored.as_deref(),
        Some(
            "AWS Config notification \"ConfigurationSnapshotDeliveryCompleted\" is not a rule evaluation; nothing to act on"
        )
    );

    let mut v = shared("config-01-");
    set(
        &mut v,
        "/detail-type",
        json!("Config Rules Re-evaluation Status"),
    );
    let d = decoded(&v);
    assert!(d.findings.is_empty());
    assert!(d.ignored.unwrap().starts_with(
        "aws.config event of detail-type \"Config Rules Re-evaluation Status\" carries no finding"
    ));
}

#[test]
fn config_not_applicable_and_insufficient_data_are_ignored() {
    for (state, compliance) in [
        ("NOT_APPLICABLE", Compliance::NotApplicable),
        ("INSUFFICIENT_DATA", Compliance::InsufficientData),
    ] {
        let mut v = shared("config-03-");
        set(
            &mut v,
            "/detail/newEvaluationResult/complianceType",
            json!(state),
        );
        let f = one(&v);
        assert_eq!(f.compliance, compliance);
        assert!(
            f.ignore
                .unwrap()
                .starts_with(&format!("compliance state {state}:"))
        );
    }
}

// ---------------------------------------------------------------- SNS

#[test]
fn sns_subscription_confirmation_carries_nothing() {
    let d = decoded(&sample("sns-subscription-confirmation.json"));
    assert!(d.findings.is_empty());
    assert_eq!(
        d.ignored.as_deref(),
        Some(
            "SNS SubscriptionConfirmation for \"arn:aws:sns:us-east-1:111122223333:security-remediation-events\": a subscription message, not an event; nothing to act on"
        )
    );
}

#[test]
fn sns_wrapping_guardduty_and_security_hub() {
    let f = one(&in_sns(&shared("gd-04-")));
    assert_eq!(f.resource.id, "i-07a9c1e3b5d7f9024");
    assert_eq!(f.event_id, "85fae5bf-3da7-5b60-8f38-09a9024ddede");
    let f = one(&in_sns(&shared("sh-01-")));
    assert_eq!(f.kind, "S3.8");
}

// ---------------------------------------------------------------- GuardDuty

#[test]
fn guardduty_exfiltrated_instance_credentials_are_a_temporary_key() {
    let f = one(&sample(
        "gd-instance-credential-exfiltration-assumed-role.json",
    ));
    assert_eq!(f.source, Source::Guardduty);
    assert_eq!(
        f.kind,
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
    );
    assert_eq!(f.resource.kind, rt::IAM_ACCESS_KEY);
    assert_eq!(f.resource.id, "ASIAQ3EGRS5EXAMPLEZ9T");
    assert_eq!(f.resource.arn, None);
    assert_eq!(f.severity, Some(8.0));
    assert_eq!(
        f.detail
            .pointer("/resource/accessKeyDetails/userType")
            .unwrap(),
        "AssumedRole"
    );
    assert_eq!(f.ignore, None);
}

#[test]
fn guardduty_s3_block_public_access_disabled() {
    let f = one(&sample("gd-s3-bucket-block-public-access-disabled.json"));
    assert_eq!(f.kind, "Policy:S3/BucketBlockPublicAccessDisabled");
    assert_eq!(f.resource.kind, rt::S3_BUCKET);
    assert_eq!(f.resource.id, "acme-marketing-site-assets");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws:s3:::acme-marketing-site-assets")
    );
    assert_eq!(f.tags.get("DataClass").map(String::as_str), Some("public"));
    assert_eq!(f.severity, Some(2.0));
    // TARGET, but the bucket is the misconfigured thing.
    assert_eq!(f.ignore, None);
}

#[test]
fn guardduty_instance_that_is_the_target_is_ignored() {
    let f = one(&sample("gd-ec2-ssh-brute-force-target.json"));
    assert_eq!(f.kind, "UnauthorizedAccess:EC2/SSHBruteForce");
    assert_eq!(f.resource.id, "i-0f1e2d3c4b5a69788");
    assert_eq!(f.tags.get("Name").map(String::as_str), Some("bastion-01"));
    assert_eq!(
        f.ignore.as_deref(),
        Some(
            "the instance is the target of the activity, not its actor (service.resourceRole TARGET); redress does not act against the victim of an attack"
        )
    );
}

#[test]
fn guardduty_archived_is_ignored() {
    let f = one(&sample("gd-ec2-archived.json"));
    assert_eq!(f.kind, "Backdoor:EC2/C&CActivity.B!DNS");
    assert_eq!(
        f.ignore.as_deref(),
        Some("the GuardDuty finding is archived (service.archived is true)")
    );
}

#[test]
fn guardduty_other_resource_types_decode() {
    let mut v = shared("gd-04-");
    set(
        &mut v,
        "/detail/resource",
        json!({
            "resourceType": "EKSCluster",
            "eksClusterDetails": {
                "name": "prod-eks",
                "arn": "arn:aws:eks:us-east-1:111122223333:cluster/prod-eks",
                "vpcId": "vpc-0a1b2c3d4e5f60789",
                "status": "ACTIVE",
                "tags": [],
                "createdAt": 1.7e9
            },
            "kubernetesDetails": {"kubernetesUserDetails": {"username": "system:anonymous"}}
        }),
    );
    let f = one(&v);
    assert_eq!(f.resource.kind, "AWS::EKS::Cluster");
    assert_eq!(f.resource.id, "prod-eks");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws:eks:us-east-1:111122223333:cluster/prod-eks")
    );

    // A type redress has never heard of: named by the finding.
    set(
        &mut v,
        "/detail/resource",
        json!({"resourceType": "AutoscalingGroup"}),
    );
    let f = one(&v);
    assert_eq!(f.resource.kind, "GuardDuty::AutoscalingGroup");
    assert_eq!(f.resource.id, "c79c81c5f31a9ffa2016a84c72321cae");
    assert_eq!(f.resource.arn, None);
    assert_eq!(f.ignore, None);

    // TARGET matters for them as for instances.
    set(&mut v, "/detail/service/resourceRole", json!("TARGET"));
    assert!(
        one(&v)
            .ignore
            .unwrap()
            .starts_with("the resource is the target of the activity")
    );
}

#[test]
fn guardduty_other_detail_types_are_ignored() {
    let mut v = shared("gd-04-");
    set(
        &mut v,
        "/detail-type",
        json!("GuardDuty Runtime Protection Unhealthy"),
    );
    let d = decoded(&v);
    assert!(d.findings.is_empty());
    assert!(
        d.ignored
            .unwrap()
            .contains("redress handles \"GuardDuty Finding\"")
    );
}

#[test]
fn guardduty_partition_defaults_from_the_region() {
    let mut v = shared("gd-04-");
    remove(&mut v, "/detail/partition");
    set(&mut v, "/detail/region", json!("cn-north-1"));
    let f = one(&v);
    assert_eq!(f.partition.as_str(), "aws-cn");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws-cn:ec2:cn-north-1:111122223333:instance/i-07a9c1e3b5d7f9024")
    );
}

// ---------------------------------------------------------------- Security Hub

#[test]
fn security_hub_batch_gives_one_finding_each() {
    let d = decoded(&sample("sh-batch-ec2.19-failed-s3.5-passed-guardduty.json"));
    assert_eq!(d.ignored, None);
    let [sg, bucket, gd] = d.findings.as_slice() else {
        panic!("{d:?}");
    };
    for f in &d.findings {
        assert_eq!(f.source, Source::Securityhub);
        assert_eq!(f.event_id, "3e5a7c9e-1b3d-5f7a-9c1e-3b5d7f9a1c3e");
    }

    assert_eq!(sg.kind, "EC2.19");
    assert_eq!(sg.resource.kind, rt::EC2_SECURITY_GROUP);
    assert_eq!(sg.resource.id, "sg-0c4f7a2e9b1d3e5f6");
    assert_eq!(
        sg.resource.arn.as_deref(),
        Some("arn:aws:ec2:us-east-1:111122223333:security-group/sg-0c4f7a2e9b1d3e5f6")
    );
    assert_eq!(sg.severity, Some(9.0));
    assert_eq!(sg.compliance, Compliance::NonCompliant);
    assert_eq!(sg.tags.get("Team").map(String::as_str), Some("platform"));
    assert_eq!(sg.ignore, None);
    assert_eq!(sg.detail["Compliance"]["SecurityControlId"], "EC2.19");

    assert_eq!(bucket.kind, "S3.5");
    assert_eq!(bucket.resource.id, "acme-public-assets");
    assert_eq!(bucket.compliance, Compliance::Compliant);
    assert_eq!(bucket.severity, Some(4.0));
    assert_eq!(
        bucket.ignore.as_deref(),
        Some(
            "compliance state PASSED: the resource is compliant; only non-compliant findings are acted on"
        )
    );

    assert_eq!(gd.resource.kind, rt::EC2_INSTANCE);
    assert_eq!(gd.resource.id, "i-07a9c1e3b5d7f9024");
    assert_eq!(
        gd.ignore.as_deref(),
        Some(
            "not a Security Hub control finding (product GuardDuty); GuardDuty findings are taken from GuardDuty's own events"
        )
    );
}

#[test]
fn security_hub_iam_8_on_a_user_is_named_by_user_name() {
    let f = one(&sample("sh-iam.8-user-unused-credentials.json"));
    assert_eq!(f.kind, "IAM.8");
    assert_eq!(f.resource.kind, rt::IAM_USER);
    assert_eq!(f.resource.id, "ext-bob");
    assert_eq!(
        f.resource.arn.as_deref(),
        Some("arn:aws:iam::111122223333:user/contractors/ext-bob")
    );
    assert_eq!(f.severity, Some(4.0));
    assert_eq!(f.ignore, None);
}

#[test]
fn security_hub_ec2_7_on_the_account_with_the_control_in_the_generator_id() {
    let f = one(&sample("sh-ec2.7-account-ebs-default-encryption.json"));
    assert_eq!(f.kind, "EC2.7");
    assert_eq!(f.region.as_str(), "eu-west-1");
    assert_eq!(f.resource.kind, rt::ACCOUNT);
    assert_eq!(f.resource.id, "111122223333");
    assert_eq!(f.resource.arn, None);
    assert_eq!(f.compliance, Compliance::NonCompliant);
    assert_eq!(f.ignore, None);
}

#[test]
fn security_hub_people_and_archive_decide_first() {
    for (pointer, value, reason) in [
        (
            "/detail/findings/0/RecordState",
            "ARCHIVED",
            "the Security Hub finding is archived (RecordState ARCHIVED)",
        ),
        (
            "/detail/findings/0/Workflow/Status",
            "SUPPRESSED",
            "the Security Hub finding's workflow status is SUPPRESSED: a person has dealt with it",
        ),
        (
            "/detail/findings/0/Workflow/Status",
            "RESOLVED",
            "the Security Hub finding's workflow status is RESOLVED: a person has dealt with it",
        ),
    ] {
        let mut v = shared("sh-01-");
        set(&mut v, pointer, json!(value));
        assert_eq!(one(&v).ignore.as_deref(), Some(reason));
    }

    let mut v = shared("sh-01-");
    set(
        &mut v,
        "/detail/findings/0/Compliance/Status",
        json!("WARNING"),
    );
    let f = one(&v);
    assert_eq!(f.compliance, Compliance::Warning);
    assert_eq!(
        f.ignore.as_deref(),
        Some(
            "compliance state WARNING: the check could not decide; only non-compliant findings are acted on"
        )
    );
    set(
        &mut v,
        "/detail/findings/0/Compliance/Status",
        json!("NOT_AVAILABLE"),
    );
    assert_eq!(one(&v).compliance, Compliance::NotApplicable);
}

#[test]
fn security_hub_severity_from_the_label_when_normalized_is_absent() {
    for (label, severity) in [
        ("INFORMATIONAL", 0.0),
        ("LOW", 0.1),
        ("MEDIUM", 4.0),
        ("HIGH", 7.0),
        ("CRITICAL", 9.0),
    ] {
        let mut v = shared("sh-01-");
        remove(&mut v, "/detail/findings/0/Severity/Normalized");
        set(&mut v, "/detail/findings/0/Severity/Label", json!(label));
        assert_eq!(one(&v).severity, Some(severity), "{label}");
    }
}

#[test]
fn security_hub_control_id_from_another_product_is_not_trusted() {
    // Anyone allowed to BatchImportFindings can write a finding that looks like a control.
    let mut v = shared("sh-01-");
    set(
        &mut v,
        "/detail/findings/0/ProductArn",
        json!("arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default"),
    );
    set(&mut v, "/detail/findings/0/ProductName", json!("Default"));
    let f = one(&v);
    assert_eq!(
        f.ignore.as_deref(),
        Some(
            "not a Security Hub control finding (product Default); redress acts on Security Hub controls, Config rules and GuardDuty findings"
        )
    );
}

#[test]
fn security_hub_unreadable_product_finding_is_left_out_not_fatal() {
    let mut v = sample("sh-batch-ec2.19-failed-s3.5-passed-guardduty.json");
    remove(&mut v, "/detail/findings/2/Resources");
    let d = decoded(&v);
    assert_eq!(d.findings.len(), 2);
    assert_eq!(
        d.ignored.as_deref(),
        Some(
            "1 of 3 Security Hub findings left out: not control findings (never acted on) and not readable; the first: missing field `detail.findings[2].Resources` in Security Hub finding"
        )
    );

    // The same fault in a control finding fails the message: it could have been acted on.
    let mut v = sample("sh-batch-ec2.19-failed-s3.5-passed-guardduty.json");
    remove(&mut v, "/detail/findings/0/Resources");
    assert_eq!(
        run(&v).unwrap_err().to_string(),
        "missing field `detail.findings[0].Resources` in Security Hub finding"
    );
}

#[test]
fn security_hub_unknown_resource_types_are_kept_as_other() {
    let mut v = shared("sh-01-");
    set(
        &mut v,
        "/detail/findings/0/Resources/0/Type",
        json!("AwsAppSyncGraphQlApi"),
    );
    set(
        &mut v,
        "/detail/findings/0/Resources/0/Id",
        json!("arn:aws:appsync:us-east-1:111122223333:apis/abcdefghijklmnopqrstuvwxyz"),
    );
    let f = one(&v);
    assert_eq!(f.resource.kind, "Other::AwsAppSyncGraphQlApi");
    assert_eq!(f.resource.id, "abcdefghijklmnopqrstuvwxyz");
}

#[test]
fn security_hub_empty_batch_and_other_detail_types() {
    let mut v = shared("sh-01-");
    set(&mut v, "/detail/findings", json!([]));
    let d = decoded(&v);
    assert!(d.findings.is_empty());
    assert_eq!(
        d.ignored.as_deref(),
        Some("the Security Hub event carries no findings")
    );

    let mut v = shared("sh-01-");
    set(
        &mut v,
        "/detail-type",
        json!("Security Hub Findings - Custom Action"),
    );
    assert!(decoded(&v).findings.is_empty());
}

#[test]
fn every_sample_decodes_and_every_finding_is_consistent() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/events");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let d = decode(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += 1;
        assert!(
            !d.findings.is_empty() || d.ignored.is_some(),
            "{}",
            path.display()
        );
        for f in &d.findings {
            // Only non-compliant findings can be acted on.
            if f.compliance != Compliance::NonCompliant {
                assert!(f.ignore.is_some(), "{}", path.display());
            }
            // The finding serializes (it goes into plans and evidence).
            serde_json::to_string(f).unwrap();
        }
    }
    assert_eq!(seen, 13);
}

#[test]
fn security_hub_product_named_by_its_arn_when_it_has_no_name() {
    let mut v = sample("sh-batch-ec2.19-failed-s3.5-passed-guardduty.json");
    remove(&mut v, "/detail/findings/2/ProductName");
    let d = decoded(&v);
    assert_eq!(
        d.findings[2].ignore.as_deref(),
        Some(
            "not a Security Hub control finding (product aws/guardduty); GuardDuty findings are taken from GuardDuty's own events"
        )
    );
}
