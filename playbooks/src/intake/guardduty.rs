//! GuardDuty: "GuardDuty Finding" events (the camelCase shape EventBridge delivers, not the
//! API's PascalCase one).
//!
//! The resource is chosen by `detail.resource.resourceType`:
//!
//! | resourceType | resource type | id | ARN |
//! |---|---|---|---|
//! | AccessKey | AWS::IAM::AccessKey | accessKeyDetails.accessKeyId (AKIA… long-term, ASIA… temporary) | none: the key has no ARN, and the user's is not the key's |
//! | Instance | AWS::EC2::Instance | instanceDetails.instanceId | built |
//! | S3Bucket | AWS::S3::Bucket | s3BucketDetails[0].name | built from the name |
//! | EKSCluster | AWS::EKS::Cluster | eksClusterDetails.name | eksClusterDetails.arn |
//! | ECSCluster | AWS::ECS::Cluster | ecsClusterDetails.name | ecsClusterDetails.arn |
//! | RDSDBInstance | AWS::RDS::DBInstance | rdsDbInstanceDetails.dbInstanceIdentifier | rdsDbInstanceDetails.dbInstanceArn |
//! | Lambda | AWS::Lambda::Function | lambdaDetails.functionName | lambdaDetails.functionArn |
//! | Container | GuardDuty::Container | containerDetails.id | none |
//! | anything else `X` | GuardDuty::X | the GuardDuty finding id | none |
//!
//! The first three are the ones the catalog acts on and their fields are required; for the
//! others the details are read when present (these findings decode, show in plans and match
//! nothing unless a playbook names their type).
//!
//! Ignored (the finding is still returned, with the reason): sample findings
//! (`service.additionalInfo.sample`), archived findings (`service.archived`), and findings
//! whose resource is the *target* of the activity (`service.resourceRole: TARGET`: an
//! instance being brute-forced or probed is the victim, and isolating it would do the
//! attacker's work). For an access key the role does not matter (the key is the means of the
//! activity whichever way GuardDuty labels it), nor for a bucket (the bucket is the thing
//! misconfigured or exposed).

use std::collections::BTreeMap;

use super::IntakeError;
use super::check::{Scope, resource, text};
use super::eventbridge::Event;
use super::json::{Field, Obj};
use crate::finding::{Compliance, Finding, Source, resource_types as rt};

const CTX: &str = "GuardDuty finding";

pub(crate) fn decode(ev: &Event<'_>) -> Result<Finding, IntakeError> {
    let d = ev.detail.with_ctx(CTX);
    let kind = text(&d.str("type")?)?;
    let finding_id = text(&d.str("id")?)?;
    let scope = Scope::new(
        &d.str("accountId")?,
        &d.str("region")?,
        d.opt_str("partition")?.as_ref(),
    )?;
    let severity = d.num("severity")?;
    if !(0.0..=10.0).contains(&severity) {
        return Err(IntakeError::InvalidValue {
            path: d.path_of("severity"),
            context: CTX,
            value: severity.to_string(),
            expected: "a number from 0 to 10".to_owned(),
        });
    }

    let r = d.obj("resource")?;
    let found = read_resource(&r, &d)?;

    let service = d.opt_obj("service")?;
    let sample = match &service {
        Some(s) => s
            .opt_obj("additionalInfo")?
            .is_some_and(|info| info.flag("sample")),
        None => false,
    };
    let archived = match &service {
        Some(s) => s.opt_bool("archived")?.unwrap_or(false),
        None => false,
    };
    let role = match &service {
        Some(s) => s.opt_str("resourceRole")?,
        None => None,
    };
    let ignore = if sample {
        Some("GuardDuty sample finding (service.additionalInfo.sample is true)".to_owned())
    } else if archived {
        Some("the GuardDuty finding is archived (service.archived is true)".to_owned())
    } else if found.role_matters && role.as_ref().is_some_and(|r| r.as_str() == "TARGET") {
        Some(format!(
            "the {} is the target of the activity, not its actor (service.resourceRole TARGET); redress does not act against the victim of an attack",
            found.noun
        ))
    } else {
        None
    };

    let resource = resource(
        &found.kind,
        &found.id,
        found.arn.as_ref(),
        &scope,
        ignore.is_none(),
    )?;
    Ok(Finding {
        source: Source::Guardduty,
        kind,
        account: scope.account,
        region: scope.region,
        partition: scope.partition,
        resource,
        severity: Some(severity),
        compliance: Compliance::NonCompliant,
        event_id: ev.id.clone(),
        finding_id: Some(finding_id),
        // `updatedAt` is when GuardDuty last saw the activity; an update of a recurring
        // finding arrives as a new event with the same finding id.
        time: d.opt_time("updatedAt")?.unwrap_or(ev.time),
        tags: found.tags,
        detail: d.to_value(),
        ignore,
    })
}

/// The resource as read from `detail.resource`, before its checks.
struct Found {
    kind: Field,
    id: Field,
    arn: Option<Field>,
    tags: BTreeMap<String, String>,
    /// Whether `resourceRole: TARGET` means the resource is a victim (see the module docs).
    role_matters: bool,
    /// How the resource is called in an ignore reason.
    noun: &'static str,
}

fn read_resource(r: &Obj<'_>, detail: &Obj<'_>) -> Result<Found, IntakeError> {
    let resource_type = r.str("resourceType")?;
    let typed = |kind: &str| resource_type.derived(kind);
    Ok(match resource_type.as_str() {
        "AccessKey" => {
            let key = r.obj("accessKeyDetails")?;
            Found {
                kind: typed(rt::IAM_ACCESS_KEY),
                id: key.str("accessKeyId")?,
                arn: None,
                tags: BTreeMap::new(),
                role_matters: false,
                noun: "access key",
            }
        }
        "Instance" => {
            let inst = r.obj("instanceDetails")?;
            Found {
                kind: typed(rt::EC2_INSTANCE),
                id: inst.str("instanceId")?,
                arn: None,
                tags: tag_list(&inst)?,
                role_matters: true,
                noun: "instance",
            }
        }
        "S3Bucket" => {
            let bucket = r.arr("s3BucketDetails")?.obj(0)?;
            Found {
                kind: typed(rt::S3_BUCKET),
                id: bucket.str("name")?,
                // Built from the name rather than taken from `arn`: a bucket's ARN follows
                // from its name, and one source for both cannot disagree with itself.
                arn: None,
                tags: tag_list(&bucket)?,
                role_matters: false,
                noun: "bucket",
            }
        }
        other => {
            let (kind, details, id_key, arn_key) = match other {
                "EKSCluster" => (
                    "AWS::EKS::Cluster",
                    "eksClusterDetails",
                    "name",
                    Some("arn"),
                ),
                "ECSCluster" => (
                    "AWS::ECS::Cluster",
                    "ecsClusterDetails",
                    "name",
                    Some("arn"),
                ),
                "RDSDBInstance" => (
                    "AWS::RDS::DBInstance",
                    "rdsDbInstanceDetails",
                    "dbInstanceIdentifier",
                    Some("dbInstanceArn"),
                ),
                "Lambda" => (
                    "AWS::Lambda::Function",
                    "lambdaDetails",
                    "functionName",
                    Some("functionArn"),
                ),
                "Container" => ("GuardDuty::Container", "containerDetails", "id", None),
                _ => ("", "", "", None),
            };
            let details = if details.is_empty() {
                None
            } else {
                r.opt_obj(details)?
            };
            let id = match &details {
                Some(d) => d.opt_str(id_key)?,
                None => None,
            };
            let arn = match (&details, arn_key) {
                (Some(d), Some(key)) => d.opt_str(key)?,
                _ => None,
            };
            // With no id of its own, the resource is named by the finding: something to
            // show, and these types are acted on by no playbook of the catalog.
            let id = match id {
                Some(id) => id,
                None => detail.str("id")?,
            };
            let kind = if kind.is_empty() {
                resource_type.derived(format!("GuardDuty::{other}"))
            } else {
                typed(kind)
            };
            Found {
                kind,
                id,
                arn,
                tags: BTreeMap::new(),
                role_matters: true,
                noun: "resource",
            }
        }
    })
}

/// GuardDuty's tags: `[{"key": "Name", "value": "web-1"}, …]`.
fn tag_list(owner: &Obj<'_>) -> Result<BTreeMap<String, String>, IntakeError> {
    let mut tags = BTreeMap::new();
    let Some(list) = owner.opt_arr("tags")? else {
        return Ok(tags);
    };
    for tag in list.objs() {
        let tag = tag?;
        let key = tag.str("key")?;
        let value = tag.opt_str("value")?.map(|v| v.value).unwrap_or_default();
        tags.insert(key.value, value);
    }
    Ok(tags)
}
