//! Security Hub: "Security Hub Findings - Imported" events, whose `detail.findings` is a
//! batch of ASFF findings; each becomes one Finding whose `detail` is that ASFF object.
//!
//! Which findings redress acts on: control findings, i.e. findings whose `ProductArn` is
//! Security Hub's own (`arn:<p>:securityhub:<region>::product/aws/securityhub`) and that
//! carry a control id (`Compliance.SecurityControlId`, or the last segment of a
//! `GeneratorId` such as `security-control/S3.8` or
//! `aws-foundational-security-best-practices/v/1.0.0/S3.8`). Requiring Security Hub's own
//! product ARN keeps a finding imported by any other product (anyone with
//! `BatchImportFindings` can import findings) from posing as a control. Findings of other
//! products (GuardDuty, Inspector, Macie… forwarded into Security Hub) are returned ignored;
//! one that cannot even be read is left out and counted in `Decoded::ignored`, because it
//! would never be acted on and should not send the rest of its batch to the dead-letter queue.
//! A control finding that cannot be read fails the whole message.
//!
//! Severity: `Severity.Normalized` (0–100) / 10; without it, `Severity.Label` by the mapping
//! Security Hub documents for filling in Normalized from Label (INFORMATIONAL 0, LOW 1,
//! MEDIUM 40, HIGH 70, CRITICAL 90), / 10.
//!
//! Compliance: FAILED → non-compliant, WARNING → warning, PASSED → compliant, NOT_AVAILABLE →
//! not applicable; only FAILED is acted on (see `check::compliance_ignore` for WARNING).
//! Also ignored: `RecordState: ARCHIVED`, and `Workflow.Status` SUPPRESSED or RESOLVED (a
//! person decided about it).
//!
//! Resource: `Resources[0]`. ASFF types map to CloudFormation types by [`cfn_type`]; a type
//! not in the table becomes `Other::<AsffType>` (no playbook names such a type, and the id is
//! checked only as text). The id is taken from `Resources[0].Id` by [`id_from`]; the ARN is
//! `Resources[0].Id` when that is an ARN.

use super::check::{Scope, compliance_ignore, resource, shown, text};
use super::eventbridge::Event;
use super::json::{Field, Obj};
use super::{Decoded, IntakeError};
use crate::finding::{Compliance, Finding, Source, resource_types as rt};
use crate::ids::quoted;

const EVENT_CTX: &str = "Security Hub event";
const CTX: &str = "Security Hub finding";

pub(crate) fn decode(ev: &Event<'_>) -> Result<Decoded, IntakeError> {
    let batch = ev.detail.with_ctx(EVENT_CTX).arr("findings")?;
    if batch.is_empty() {
        return Ok(Decoded::ignored(
            "the Security Hub event carries no findings",
        ));
    }
    let mut findings = Vec::with_capacity(batch.len());
    let mut left_out = Vec::new();
    for item in batch.objs() {
        let f = item?.with_ctx(CTX);
        let origin = Origin::of(&f)?;
        match one(&f, &origin, ev) {
            Ok(finding) => findings.push(finding),
            Err(e) if origin.control.is_none() => left_out.push(e),
            Err(e) => return Err(e),
        }
    }
    let ignored = left_out.first().map(|first| {
        format!(
            "{} of {} Security Hub findings left out: not control findings (never acted on) and not readable; the first: {first}",
            left_out.len(),
            batch.len()
        )
    });
    Ok(Decoded { findings, ignored })
}

/// Who produced an ASFF finding, and the control id when it is a control finding.
struct Origin {
    control: Option<Field>,
    product: String,
}

impl Origin {
    fn of(f: &Obj<'_>) -> Result<Origin, IntakeError> {
        let product_arn = f.opt_str("ProductArn")?;
        let from_security_hub = product_arn
            .as_ref()
            .is_some_and(|a| is_security_hub_product(a.as_str()));
        let product = match f.opt_str("ProductName")? {
            Some(name) => name.value,
            None => match product_arn {
                Some(arn) => arn
                    .as_str()
                    .split_once(":product/")
                    .map_or(arn.value.clone(), |(_, p)| p.to_owned()),
                None => "unknown".to_owned(),
            },
        };
        let control = if from_security_hub {
            control_id(f)?
        } else {
            None
        };
        Ok(Origin { control, product })
    }

    fn not_control_reason(&self) -> String {
        let product = shown(&self.product);
        // `GuardDuty` as ProductName, or `aws/guardduty` taken from the ProductArn.
        let guardduty = self
            .product
            .rsplit('/')
            .next()
            .is_some_and(|p| p.eq_ignore_ascii_case("guardduty"));
        if guardduty {
            format!(
                "not a Security Hub control finding (product {product}); GuardDuty findings are taken from GuardDuty's own events"
            )
        } else {
            format!(
                "not a Security Hub control finding (product {product}); redress acts on Security Hub controls, Config rules and GuardDuty findings"
            )
        }
    }
}

/// `arn:<partition>:securityhub:<region>::product/aws/securityhub`.
fn is_security_hub_product(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", _, "securityhub", _, "", "product/aws/securityhub"]
    )
}

fn control_id(f: &Obj<'_>) -> Result<Option<Field>, IntakeError> {
    if let Some(c) = f.opt_obj("Compliance")?
        && let Some(id) = c.opt_str("SecurityControlId")?
    {
        return Ok(Some(id));
    }
    let Some(generator) = f.opt_str("GeneratorId")? else {
        return Ok(None);
    };
    let g = generator.as_str();
    let standard_path = g.starts_with("security-control/") || g.contains("/v/");
    Ok(match g.rsplit('/').next() {
        Some(last) if standard_path && looks_like_control_id(last) => Some(generator.derived(last)),
        _ => None,
    })
}

/// `S3.8`, `EC2.19`, `IAM.8`, `CloudTrail.1`: a service prefix, a dot, a number.
fn looks_like_control_id(s: &str) -> bool {
    match s.split_once('.') {
        Some((service, number)) => {
            s.len() <= 32
                && service.starts_with(|c: char| c.is_ascii_alphabetic())
                && service.bytes().all(|b| b.is_ascii_alphanumeric())
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn one(f: &Obj<'_>, origin: &Origin, ev: &Event<'_>) -> Result<Finding, IntakeError> {
    let finding_id = text(&f.str("Id")?)?;
    let kind = match &origin.control {
        Some(control) => text(control)?,
        // Shown only: these findings are ignored.
        None => text(&f.str("GeneratorId")?)?,
    };

    let compliance_obj = f.opt_obj("Compliance")?;
    let status = match &compliance_obj {
        Some(c) => c.opt_str("Status")?,
        None => None,
    };
    let (compliance, state) = match &status {
        Some(s) => (
            match s.as_str() {
                "FAILED" => Compliance::NonCompliant,
                "WARNING" => Compliance::Warning,
                "PASSED" => Compliance::Compliant,
                "NOT_AVAILABLE" => Compliance::NotApplicable,
                other => {
                    return Err(IntakeError::InvalidValue {
                        path: s.path.clone(),
                        context: CTX,
                        value: quoted(other),
                        expected: "PASSED, WARNING, FAILED or NOT_AVAILABLE".to_owned(),
                    });
                }
            },
            s.as_str(),
        ),
        None if origin.control.is_some() => {
            return Err(
                compliance_obj.map_or_else(|| f.missing("Compliance"), |c| c.missing("Status"))
            );
        }
        // A product finding (a threat, a vulnerability) has no compliance status: it is a
        // problem by nature, like a GuardDuty finding.
        None => (Compliance::NonCompliant, "FAILED"),
    };
    let severity = match f.opt_obj("Severity")? {
        Some(s) => severity(&s)?,
        None => None,
    };

    let record_state = f.opt_str("RecordState")?;
    let workflow = match f.opt_obj("Workflow")? {
        Some(w) => w.opt_str("Status")?,
        None => None,
    };
    let ignore = if origin.control.is_none() {
        Some(origin.not_control_reason())
    } else if record_state
        .as_ref()
        .is_some_and(|s| s.as_str() == "ARCHIVED")
    {
        Some("the Security Hub finding is archived (RecordState ARCHIVED)".to_owned())
    } else if let Some(w) = workflow.filter(|w| matches!(w.as_str(), "SUPPRESSED" | "RESOLVED")) {
        Some(format!(
            "the Security Hub finding's workflow status is {}: a person has dealt with it",
            w.as_str()
        ))
    } else {
        compliance_ignore(compliance, state)
    };

    let r = f.arr("Resources")?.obj(0)?;
    let asff_type = r.str("Type")?;
    let raw_id = r.str("Id")?;
    let region = match r.opt_str("Region")? {
        Some(region) => region,
        None => match f.opt_str("Region")? {
            Some(region) => region,
            None => ev.region.clone().ok_or_else(|| r.missing("Region"))?,
        },
    };
    let scope = Scope::new(
        &f.str("AwsAccountId")?,
        &region,
        r.opt_str("Partition")?.as_ref(),
    )?;
    let kind_field = asff_type.derived(cfn_type(asff_type.as_str()));
    let id = raw_id.derived(id_from(kind_field.as_str(), raw_id.as_str()));
    let arn = raw_id.as_str().starts_with("arn:").then(|| raw_id.clone());
    let tags = r.opt_string_map("Tags")?;
    let resource = resource(&kind_field, &id, arn.as_ref(), &scope, ignore.is_none())?;

    Ok(Finding {
        source: Source::Securityhub,
        kind,
        account: scope.account,
        region: scope.region,
        partition: scope.partition,
        resource,
        severity,
        compliance,
        event_id: ev.id.clone(),
        finding_id: Some(finding_id),
        time: f.opt_time("UpdatedAt")?.unwrap_or(ev.time),
        tags,
        detail: f.to_value(),
        ignore,
    })
}

/// Severity on the 0–10 scale (see the module docs).
fn severity(s: &Obj<'_>) -> Result<Option<f64>, IntakeError> {
    if let Some(n) = s.opt_num("Normalized")? {
        if !(0.0..=100.0).contains(&n) {
            return Err(IntakeError::InvalidValue {
                path: s.path_of("Normalized"),
                context: CTX,
                value: n.to_string(),
                expected: "a number from 0 to 100".to_owned(),
            });
        }
        return Ok(Some(n / 10.0));
    }
    let Some(label) = s.opt_str("Label")? else {
        return Ok(None);
    };
    let normalized = match label.as_str() {
        "INFORMATIONAL" => 0.0,
        "LOW" => 1.0,
        "MEDIUM" => 40.0,
        "HIGH" => 70.0,
        "CRITICAL" => 90.0,
        other => {
            return Err(IntakeError::InvalidValue {
                path: label.path.clone(),
                context: CTX,
                value: quoted(other),
                expected: "INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL".to_owned(),
            });
        }
    };
    Ok(Some(normalized / 10.0))
}

/// ASFF resource type → CloudFormation resource type; unknown types become `Other::<type>`.
pub(crate) fn cfn_type(asff: &str) -> String {
    let known = match asff {
        "AwsS3Bucket" => rt::S3_BUCKET,
        "AwsEc2SecurityGroup" => rt::EC2_SECURITY_GROUP,
        "AwsEc2Instance" => rt::EC2_INSTANCE,
        "AwsEc2Volume" => rt::EC2_VOLUME,
        "AwsEc2Snapshot" => rt::EC2_SNAPSHOT,
        "AwsEc2Vpc" => rt::EC2_VPC,
        "AwsEc2Subnet" => rt::EC2_SUBNET,
        "AwsIamUser" => rt::IAM_USER,
        "AwsIamRole" => rt::IAM_ROLE,
        "AwsIamPolicy" => rt::IAM_POLICY,
        "AwsIamAccessKey" => rt::IAM_ACCESS_KEY,
        "AwsAccount" => rt::ACCOUNT,
        "AwsKmsKey" => rt::KMS_KEY,
        "AwsCloudTrailTrail" => rt::CLOUDTRAIL_TRAIL,
        // Not in the catalog's list, but their CloudFormation names are certain.
        "AwsEc2NetworkAcl" => "AWS::EC2::NetworkAcl",
        "AwsEc2NetworkInterface" => "AWS::EC2::NetworkInterface",
        "AwsLambdaFunction" => "AWS::Lambda::Function",
        "AwsRdsDbInstance" => "AWS::RDS::DBInstance",
        "AwsRdsDbSnapshot" => "AWS::RDS::DBSnapshot",
        "AwsDynamoDbTable" => "AWS::DynamoDB::Table",
        "AwsSnsTopic" => "AWS::SNS::Topic",
        "AwsSqsQueue" => "AWS::SQS::Queue",
        "AwsEksCluster" => "AWS::EKS::Cluster",
        "AwsEcsCluster" => "AWS::ECS::Cluster",
        "AwsSecretsManagerSecret" => "AWS::SecretsManager::Secret",
        "AwsElbv2LoadBalancer" => "AWS::ElasticLoadBalancingV2::LoadBalancer",
        other => return format!("Other::{other}"),
    };
    known.to_owned()
}

/// The resource id in `Resources[0].Id`:
/// - an ARN: its resource part, less the resource-type prefix (`security-group/sg-…` →
///   `sg-…`, `key/<uuid>` → `<uuid>`, `function:<name>` → `<name>`); for IAM users, roles and
///   policies the last path segment (`user/ops/alice` → `alice`: IAM names are unique
///   without their path); for a bucket the bucket name;
/// - `AWS::<Service>::<Type>:<id>` (how ASFF names an account, `AWS::::Account:111122223333`,
///   and some resources without an ARN): the part after the last `:`;
/// - anything else as it is.
pub(crate) fn id_from(kind: &str, raw: &str) -> String {
    if raw.starts_with("arn:") {
        let resource = raw.splitn(6, ':').nth(5).unwrap_or_default();
        let id = match kind {
            rt::S3_BUCKET => resource.split('/').next().unwrap_or(resource),
            rt::IAM_USER | rt::IAM_ROLE | rt::IAM_POLICY => {
                resource.rsplit('/').next().unwrap_or(resource)
            }
            _ => resource
                .split_once(['/', ':'])
                .map_or(resource, |(_, rest)| rest),
        };
        id.to_owned()
    } else if raw.starts_with("AWS::") {
        raw.rsplit(':').next().unwrap_or(raw).to_owned()
    } else {
        raw.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_out_of_arns_by_type() {
        for (kind, raw, id) in [
            (
                rt::S3_BUCKET,
                "arn:aws:s3:::acme-data-lake-curated",
                "acme-data-lake-curated",
            ),
            (
                rt::EC2_SECURITY_GROUP,
                "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0b7e21c4d9a3f5816",
                "sg-0b7e21c4d9a3f5816",
            ),
            (
                rt::EC2_INSTANCE,
                "arn:aws:ec2:us-east-1:111122223333:instance/i-07a9c1e3b5d7f9024",
                "i-07a9c1e3b5d7f9024",
            ),
            (
                rt::IAM_USER,
                "arn:aws:iam::111122223333:user/ops/alice",
                "alice",
            ),
            (
                rt::IAM_ROLE,
                "arn:aws:iam::111122223333:role/service-role/etl",
                "etl",
            ),
            (
                rt::KMS_KEY,
                "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
            ),
            (
                "AWS::Lambda::Function",
                "arn:aws:lambda:us-east-1:111122223333:function:resize",
                "resize",
            ),
            (rt::ACCOUNT, "AWS::::Account:111122223333", "111122223333"),
            ("Other::AwsFoo", "some-id", "some-id"),
        ] {
            assert_eq!(id_from(kind, raw), id, "{raw}");
        }
    }

    #[test]
    fn control_ids_are_recognised() {
        for ok in ["S3.8", "EC2.19", "IAM.8", "CloudTrail.1"] {
            assert!(looks_like_control_id(ok), "{ok}");
        }
        for not in ["1.4", "S3", "S3.", ".8", "PCI.S3.1", "S3.8a"] {
            assert!(!looks_like_control_id(not), "{not}");
        }
        assert!(is_security_hub_product(
            "arn:aws:securityhub:us-east-1::product/aws/securityhub"
        ));
        assert!(!is_security_hub_product(
            "arn:aws:securityhub:us-east-1::product/aws/guardduty"
        ));
        assert!(!is_security_hub_product(
            "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default"
        ));
    }

    #[test]
    fn unknown_asff_types_are_kept_under_other() {
        assert_eq!(cfn_type("AwsS3Bucket"), rt::S3_BUCKET);
        assert_eq!(cfn_type("AwsFooBar"), "Other::AwsFooBar");
    }
}
