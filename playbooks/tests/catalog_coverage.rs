//! Every Config rule, Security Hub control and GuardDuty type the catalog names: an event
//! for it, as its source sends it, decodes and selects that playbook. Catches a trigger
//! spelled wrong, a resource type intake maps differently, or a condition no real event
//! can meet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use redress_playbooks::intake::decode;
use redress_playbooks::playbook::{Catalog, Playbook, load_catalog};
use redress_playbooks::template::Var;
use serde_json::{Value, json};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

fn catalog() -> Catalog {
    let (catalog, diags) =
        load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap();
    assert!(
        diags
            .iter()
            .all(|d| d.level != redress_playbooks::diag::Level::Error),
        "{diags:?}"
    );
    catalog
}

/// A valid id, ARN and ASFF type for a resource type.
fn resource(cfn: &str) -> (&'static str, String, &'static str) {
    match cfn {
        "AWS::S3::Bucket" => (
            "acme-coverage-bucket",
            "arn:aws:s3:::acme-coverage-bucket".into(),
            "AwsS3Bucket",
        ),
        "AWS::EC2::SecurityGroup" => (
            "sg-0123456789abcdef0",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0"),
            "AwsEc2SecurityGroup",
        ),
        "AWS::EC2::Instance" => (
            "i-0123456789abcdef0",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"),
            "AwsEc2Instance",
        ),
        "AWS::EC2::Snapshot" => (
            "snap-0123456789abcdef0",
            format!("arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0"),
            "AwsEc2Snapshot",
        ),
        "AWS::EC2::Volume" => (
            "vol-0123456789abcdef0",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0123456789abcdef0"),
            "AwsEc2Volume",
        ),
        "AWS::EC2::VPC" => (
            "vpc-0123456789abcdef0",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0123456789abcdef0"),
            "AwsEc2Vpc",
        ),
        "AWS::EC2::Subnet" => (
            "subnet-0123456789abcdef0",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0123456789abcdef0"),
            "AwsEc2Subnet",
        ),
        "AWS::IAM::User" => (
            "ci-deploy",
            format!("arn:aws:iam::{ACCOUNT}:user/ci-deploy"),
            "AwsIamUser",
        ),
        "AWS::IAM::Role" => (
            "app-role",
            format!("arn:aws:iam::{ACCOUNT}:role/app-role"),
            "AwsIamRole",
        ),
        "AWS::KMS::Key" => (
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
            "AwsKmsKey",
        ),
        "AWS::CloudTrail::Trail" => (
            "org-trail",
            format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org-trail"),
            "AwsCloudTrailTrail",
        ),
        "AWS::::Account" => (ACCOUNT, format!("AWS::::Account:{ACCOUNT}"), "AwsAccount"),
        _ => (
            "coverage-resource",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:thing/coverage-resource"),
            "Other",
        ),
    }
}

fn config_event(rule: &str, cfn: &str) -> Value {
    let (id, _, _) = resource(cfn);
    json!({
        "version": "0", "id": "cov-config", "detail-type": "Config Rules Compliance Change",
        "source": "aws.config", "account": ACCOUNT, "time": "2026-03-14T08:12:40Z", "region": REGION,
        "resources": [],
        "detail": {
            "resourceId": id, "awsRegion": REGION, "awsAccountId": ACCOUNT, "configRuleName": rule,
            "messageType": "ComplianceChangeNotification", "resourceType": cfn,
            "newEvaluationResult": {
                "evaluationResultIdentifier": {"evaluationResultQualifier": {
                    "configRuleName": rule, "resourceType": cfn, "resourceId": id}},
                "complianceType": "NON_COMPLIANT"
            }
        }
    })
}

fn securityhub_event(control: &str, cfn: &str) -> Value {
    let (_, arn, asff) = resource(cfn);
    let id =
        format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/{control}/finding/cov");
    json!({
        "version": "0", "id": "cov-sh", "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": ACCOUNT, "time": "2026-03-14T08:45:24Z", "region": REGION,
        "resources": [id],
        "detail": {"findings": [{
            "SchemaVersion": "2018-10-08", "Id": id,
            "ProductArn": format!("arn:aws:securityhub:{REGION}::product/aws/securityhub"),
            "GeneratorId": format!("security-control/{control}"), "AwsAccountId": ACCOUNT, "Region": REGION,
            "Types": ["Software and Configuration Checks"],
            "CreatedAt": "2026-03-14T08:45:21.390Z", "UpdatedAt": "2026-03-14T08:45:21.390Z",
            "Severity": {"Label": "HIGH", "Normalized": 70}, "Title": "coverage", "Description": "coverage",
            "Resources": [{"Type": asff, "Id": arn, "Partition": "aws", "Region": REGION}],
            "Compliance": {"Status": "FAILED", "SecurityControlId": control},
            "Workflow": {"Status": "NEW"}, "RecordState": "ACTIVE"
        }]}
    })
}

fn guardduty_event(kind: &str, cfn: &str) -> Value {
    let (id, _, _) = resource(cfn);
    let resource = match cfn {
        "AWS::IAM::AccessKey" => json!({"resourceType": "AccessKey", "accessKeyDetails": {
            "accessKeyId": "AKIAQ3EGRS7EXAMPLE42", "principalId": "AIDAQ3EGRS3EXAMPLEB8W",
            "userType": "IAMUser", "userName": "ci-deploy"}}),
        "AWS::EC2::Instance" => json!({"resourceType": "Instance", "instanceDetails": {
            "instanceId": id, "tags": []}}),
        "AWS::S3::Bucket" => {
            json!({"resourceType": "S3Bucket", "s3BucketDetails": [{"name": id, "type": "Destination"}]})
        }
        other => panic!("no GuardDuty shape for {other}"),
    };
    json!({
        "version": "0", "id": "cov-gd", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
        "account": ACCOUNT, "time": "2026-03-14T07:20:05Z", "region": REGION, "resources": [],
        "detail": {
            "schemaVersion": "2.0", "accountId": ACCOUNT, "region": REGION, "partition": "aws",
            "id": "cov", "type": kind, "resource": resource,
            "service": {"serviceName": "guardduty", "resourceRole": "ACTOR", "archived": false,
                        "additionalInfo": {}, "count": 1},
            "severity": 8, "createdAt": "2026-03-14T07:19:40.881Z", "updatedAt": "2026-03-14T07:19:40.881Z"
        }
    })
}

/// Sets `value` at a JSON pointer, creating objects on the way.
fn set(root: &mut Value, pointer: &str, value: Value) {
    let mut at = root;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let part = part.replace("~1", "/").replace("~0", "~");
        if i == parts.len() - 1 {
            at.as_object_mut().unwrap().insert(part, value);
            return;
        }
        at = at
            .as_object_mut()
            .unwrap()
            .entry(part)
            .or_insert_with(|| json!({}));
    }
}

/// Makes the event meet the playbook's `[match.where]` conditions on the detail, the way a
/// real finding of that kind would.
fn satisfy(event: &mut Value, p: &Playbook, sh: bool) {
    for c in &p.matcher.conditions {
        let Var::Detail(pointer) = &c.field else {
            continue;
        };
        let t = &c.test;
        let value = if let Some(v) = &t.equals {
            v.clone()
        } else if let Some(v) = t.one_of.as_ref().and_then(|o| o.first()) {
            v.clone()
        } else if let Some(min) = t.min {
            json!(min)
        } else if let Some(prefix) = &t.prefix {
            if prefix.starts_with("AKIA") {
                // The default values already carry real key prefixes.
                continue;
            }
            json!(format!("{prefix}coverage"))
        } else if t.exists == Some(true) {
            json!(format!(
                "arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org-trail"
            ))
        } else {
            continue;
        };
        let root = if sh {
            &mut event["detail"]["findings"][0]
        } else {
            &mut event["detail"]
        };
        set(root, pointer, value);
    }
}

fn selected(event: &Value) -> Option<String> {
    let decoded = decode(&serde_json::to_vec(event).unwrap()).unwrap();
    let f = decoded.findings.first()?;
    assert!(f.ignore.is_none(), "{:?}", f.ignore);
    catalog().select(f).map(|s| s.playbook.id.clone())
}

fn check(p: &Playbook, event: &mut Value, sh: bool, what: &str, failures: &mut Vec<String>) {
    satisfy(event, p, sh);
    match selected(event) {
        Some(id) if id == p.id => {}
        // A higher-priority playbook may take a trigger over on purpose.
        Some(id) if catalog().get(&id).is_some_and(|o| o.priority > p.priority) => {}
        other => failures.push(format!("{what}: selected {other:?}, expected `{}`", p.id)),
    }
}

#[test]
fn every_trigger_in_the_catalog_selects_its_playbook() {
    let catalog = catalog();
    let mut failures = Vec::new();
    let mut checked = 0;
    for p in &catalog.playbooks {
        let types: Vec<String> = if p.matcher.resource_types.is_empty() {
            vec!["AWS::::Account".to_owned()]
        } else {
            p.matcher.resource_types.clone()
        };
        let cfn = types[0].as_str();
        for rule in &p.matcher.config_rules {
            check(
                p,
                &mut config_event(rule, cfn),
                false,
                &format!("Config rule {rule}"),
                &mut failures,
            );
            checked += 1;
        }
        for control in &p.matcher.securityhub_controls {
            check(
                p,
                &mut securityhub_event(control, cfn),
                true,
                &format!("Security Hub {control}"),
                &mut failures,
            );
            checked += 1;
        }
        for kind in &p.matcher.guardduty_types {
            check(
                p,
                &mut guardduty_event(kind, cfn),
                false,
                &format!("GuardDuty {kind}"),
                &mut failures,
            );
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 60, "only {checked} triggers checked");
}
