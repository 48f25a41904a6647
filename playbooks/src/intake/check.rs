//! What every source shares once its fields are read: identifier checks that name the
//! field, the partition of a region, resource ids by type, ARNs that can be built without
//! guessing, and the compliance states that are not acted on.
//!
//! The rule for resource identifiers: a finding that could be acted on has its resource id
//! checked against the syntax of its type (a bucket name, `sg-…`, `AKIA…`) and its ARN as an
//! ARN, so that nothing malformed can reach a template or an AWS call. A finding that is
//! already ignored (compliant, sample, archived…) only needs printable text there: it is
//! shown, never acted on, and GuardDuty's sample findings carry placeholder ids such as
//! `GeneratedFindingAccessKeyId` that would otherwise turn a harmless sample into a
//! dead-lettered message. Account, region and partition are always checked strictly.

use super::IntakeError;
use super::json::Field;
use crate::finding::{Compliance, Resource, resource_types as rt};
use crate::ids::{Checked, IdKind, quoted};

/// Where a finding's resource lives.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub account: Checked,
    pub region: Checked,
    pub partition: Checked,
}

impl Scope {
    /// Checks account and region; the partition is the event's own when it has one, else
    /// the one the region belongs to.
    pub fn new(
        account: &Field,
        region: &Field,
        partition: Option<&Field>,
    ) -> Result<Self, IntakeError> {
        let account = checked(IdKind::AccountId, account)?;
        let region_checked = checked(IdKind::Region, region)?;
        let partition = match partition {
            Some(p) => checked(IdKind::Partition, p)?,
            None => checked(
                IdKind::Partition,
                &region.derived(partition_for_region(region_checked.as_str())),
            )?,
        };
        Ok(Scope {
            account,
            region: region_checked,
            partition,
        })
    }
}

/// Checks a field against an identifier syntax; the error names the field.
pub(crate) fn checked(kind: IdKind, f: &Field) -> Result<Checked, IntakeError> {
    Checked::new(kind, &f.value).map_err(|error| IntakeError::InvalidId {
        path: f.path.clone(),
        context: f.ctx,
        error,
    })
}

/// A value that is only shown or compared (a rule name, an event id): non-empty printable
/// text of bounded length.
pub(crate) fn text(f: &Field) -> Result<String, IntakeError> {
    checked(IdKind::Text, f).map(|c| c.as_str().to_owned())
}

/// The partition a region belongs to, by its name's prefix.
pub(crate) fn partition_for_region(region: &str) -> &'static str {
    const PREFIXES: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-isof-", "aws-iso-f"),
        ("eusc-", "aws-eusc"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// The syntax a resource id of this type must have before the finding can be acted on.
pub(crate) fn id_kind(resource_type: &str) -> IdKind {
    match resource_type {
        rt::S3_BUCKET => IdKind::BucketName,
        rt::EC2_SECURITY_GROUP => IdKind::SecurityGroupId,
        rt::EC2_INSTANCE => IdKind::InstanceId,
        rt::IAM_ACCESS_KEY => IdKind::AccessKeyId,
        // Config names IAM users by their unique id (AIDA…), Security Hub by name.
        rt::IAM_USER => IdKind::IamUserNameOrId,
        rt::ACCOUNT => IdKind::AccountId,
        _ => IdKind::Text,
    }
}

/// Builds the finding's resource; `actionable` is false when the finding is already ignored
/// (see the module docs for what that relaxes).
pub(crate) fn resource(
    kind: &Field,
    id: &Field,
    arn: Option<&Field>,
    scope: &Scope,
    actionable: bool,
) -> Result<Resource, IntakeError> {
    let kind_text = text(kind)?;
    let strict = id_kind(&kind_text);
    let id_value = if actionable {
        let id_checked = checked(strict, id)?;
        if kind_text == rt::ACCOUNT && id_checked != scope.account {
            return Err(IntakeError::AccountMismatch {
                path: id.path.clone(),
                context: id.ctx,
                value: id.value.clone(),
                account: scope.account.to_string(),
            });
        }
        id_checked.as_str().to_owned()
    } else {
        text(id)?
    };
    let arn = match arn {
        Some(a) if actionable => Some(checked(IdKind::Arn, a)?.as_str().to_owned()),
        Some(a) => Some(text(a)?),
        None if strict.check(&id_value).is_ok() => built_arn(&kind_text, &id_value, scope),
        None => None,
    };
    Ok(Resource {
        kind: kind_text,
        id: id_value,
        arn,
    })
}

/// The ARN of a resource whose ARN format is fixed by its id alone (given a syntactically
/// valid id). IAM users are left out on purpose: Config names them by unique id, and a user's
/// ARN needs its name and path.
fn built_arn(kind: &str, id: &str, scope: &Scope) -> Option<String> {
    let Scope {
        account,
        region,
        partition,
    } = scope;
    let ec2 = |what: &str| format!("arn:{partition}:ec2:{region}:{account}:{what}/{id}");
    let arn = match kind {
        rt::S3_BUCKET => format!("arn:{partition}:s3:::{id}"),
        rt::EC2_SECURITY_GROUP => ec2("security-group"),
        rt::EC2_INSTANCE => ec2("instance"),
        rt::EC2_VOLUME => ec2("volume"),
        rt::EC2_VPC => ec2("vpc"),
        rt::EC2_SUBNET => ec2("subnet"),
        _ => return None,
    };
    // Built from checked parts, so this holds; checked all the same rather than trusted.
    IdKind::Arn.check(&arn).is_ok().then_some(arn)
}

/// Why a finding in this compliance state is not acted on; `raw` is the source's own name
/// for the state (`COMPLIANT`, `PASSED`, `WARNING`…). Only non-compliant findings are acted on.
pub(crate) fn compliance_ignore(compliance: Compliance, raw: &str) -> Option<String> {
    let why = match compliance {
        Compliance::NonCompliant => return None,
        Compliance::Compliant => "the resource is compliant",
        Compliance::NotApplicable => "the rule does not apply to the resource",
        Compliance::InsufficientData => "the evaluation had too little data to decide",
        // Security Hub says WARNING when its check could not decide (for instance the Config
        // recorder does not record the resource). Acting on an undecided check could change a
        // resource that is in fact compliant, so it is left to people.
        Compliance::Warning => "the check could not decide",
    };
    Some(format!(
        "compliance state {}: {why}; only non-compliant findings are acted on",
        shown(raw)
    ))
}

/// A value from the input as it goes into a reason: as it is when it is a plain word or name
/// (`COMPLIANT`, `GuardDuty`, `Amazon Inspector`), else quoted and cut short.
pub(crate) fn shown(value: &str) -> String {
    let plain = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" ._-/:".contains(&b));
    if plain {
        value.to_owned()
    } else {
        quoted(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(v: &str) -> Field {
        Field {
            value: v.to_owned(),
            path: "detail.resourceId".to_owned(),
            ctx: "test",
        }
    }

    fn scope() -> Scope {
        Scope::new(&field("111122223333"), &field("us-east-1"), None).unwrap()
    }

    #[test]
    fn partition_follows_the_region() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("eu-central-2", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
        ] {
            assert_eq!(partition_for_region(region), partition, "{region}");
            IdKind::Partition.check(partition).unwrap();
        }
    }

    #[test]
    fn arns_are_built_only_where_certain() {
        let s = scope();
        let r = resource(&field(rt::S3_BUCKET), &field("acme-logs"), None, &s, true).unwrap();
        assert_eq!(r.arn.as_deref(), Some("arn:aws:s3:::acme-logs"));
        let r = resource(
            &field(rt::EC2_SECURITY_GROUP),
            &field("sg-0b7e21c4d9a3f5816"),
            None,
            &s,
            true,
        )
        .unwrap();
        assert_eq!(
            r.arn.as_deref(),
            Some("arn:aws:ec2:us-east-1:111122223333:security-group/sg-0b7e21c4d9a3f5816")
        );
        let r = resource(
            &field(rt::IAM_USER),
            &field("AIDAQ3EGRS4EXAMPLE7K2"),
            None,
            &s,
            true,
        )
        .unwrap();
        assert_eq!(r.arn, None);
        let r = resource(&field(rt::ACCOUNT), &field("111122223333"), None, &s, true).unwrap();
        assert_eq!(r.arn, None);
    }

    #[test]
    fn ignored_findings_only_need_printable_ids() {
        let s = scope();
        let r = resource(
            &field(rt::IAM_ACCESS_KEY),
            &field("GeneratedFindingAccessKeyId"),
            None,
            &s,
            false,
        )
        .unwrap();
        assert_eq!(r.id, "GeneratedFindingAccessKeyId");
        let err = resource(
            &field(rt::IAM_ACCESS_KEY),
            &field("GeneratedFindingAccessKeyId"),
            None,
            &s,
            true,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `detail.resourceId` in test: \"GeneratedFindingAccessKeyId\" is not an IAM access key id (AKIA… or ASIA…): it does not have that syntax"
        );
        assert!(resource(&field(rt::S3_BUCKET), &field("a\nb"), None, &s, false).is_err());
    }

    #[test]
    fn an_account_resource_must_be_the_findings_account() {
        let err = resource(
            &field(rt::ACCOUNT),
            &field("444455556666"),
            None,
            &scope(),
            true,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `detail.resourceId` in test is account 444455556666, but the finding is about account 111122223333"
        );
    }

    #[test]
    fn compliance_reasons_name_the_state() {
        assert_eq!(
            compliance_ignore(Compliance::NonCompliant, "NON_COMPLIANT"),
            None
        );
        assert_eq!(
            compliance_ignore(Compliance::Compliant, "COMPLIANT").unwrap(),
            "compliance state COMPLIANT: the resource is compliant; only non-compliant findings are acted on"
        );
        assert!(
            compliance_ignore(Compliance::Warning, "WARNING")
                .unwrap()
                .contains("WARNING")
        );
    }
}
