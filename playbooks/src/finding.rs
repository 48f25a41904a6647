//! The Finding: one thing a security service said about one resource, in one shape
//! whatever the source. Intake builds it; matching, templates, the gate and the plan read it.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::Checked;

/// The AWS service that produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// AWS Config rule evaluations.
    Config,
    /// Amazon GuardDuty threat findings.
    Guardduty,
    /// AWS Security Hub control findings (ASFF).
    Securityhub,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Guardduty => "guardduty",
            Source::Securityhub => "securityhub",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource type in CloudFormation style (`AWS::S3::Bucket`, `AWS::::Account`).
pub type ResourceType = String;

/// Resource types the starter catalog and intake know by name.
pub mod resource_types {
    pub const S3_BUCKET: &str = "AWS::S3::Bucket";
    pub const EC2_SECURITY_GROUP: &str = "AWS::EC2::SecurityGroup";
    pub const EC2_INSTANCE: &str = "AWS::EC2::Instance";
    pub const EC2_VOLUME: &str = "AWS::EC2::Volume";
    pub const EC2_SNAPSHOT: &str = "AWS::EC2::Snapshot";
    pub const EC2_VPC: &str = "AWS::EC2::VPC";
    pub const EC2_SUBNET: &str = "AWS::EC2::Subnet";
    pub const IAM_USER: &str = "AWS::IAM::User";
    pub const IAM_ROLE: &str = "AWS::IAM::Role";
    pub const IAM_POLICY: &str = "AWS::IAM::Policy";
    pub const IAM_ACCESS_KEY: &str = "AWS::IAM::AccessKey";
    pub const ACCOUNT: &str = "AWS::::Account";
    pub const KMS_KEY: &str = "AWS::KMS::Key";
    pub const CLOUDTRAIL_TRAIL: &str = "AWS::CloudTrail::Trail";

    /// Every type above, for validation of `[match] resource_type`.
    pub const KNOWN: &[&str] = &[
        S3_BUCKET,
        EC2_SECURITY_GROUP,
        EC2_INSTANCE,
        EC2_VOLUME,
        EC2_SNAPSHOT,
        EC2_VPC,
        EC2_SUBNET,
        IAM_USER,
        IAM_ROLE,
        IAM_POLICY,
        IAM_ACCESS_KEY,
        ACCOUNT,
        KMS_KEY,
        CLOUDTRAIL_TRAIL,
    ];
}

/// The resource a finding is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    /// CloudFormation-style type, e.g. `AWS::S3::Bucket`.
    #[serde(rename = "type")]
    pub kind: ResourceType,
    /// The id AWS uses for it: bucket name, `sg-…`, `i-…`, `AKIA…`, the user id `AIDA…` (as
    /// Config reports IAM users) or user name, the account id for `AWS::::Account`.
    pub id: String,
    /// Its ARN where the event carries one or it can be built without guessing.
    pub arn: Option<String>,
}

/// Whether the source considers the resource compliant. Only non-compliant findings are acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compliance {
    /// Config NON_COMPLIANT, Security Hub FAILED, or a GuardDuty finding (a threat is never compliant).
    NonCompliant,
    /// Security Hub WARNING: the check could not decide.
    Warning,
    /// Config COMPLIANT, Security Hub PASSED.
    Compliant,
    /// Config NOT_APPLICABLE, Security Hub NOT_AVAILABLE.
    NotApplicable,
    /// Config INSUFFICIENT_DATA.
    InsufficientData,
}

/// One finding about one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub source: Source,
    /// What was found: the Config rule name as deployed (prefixes and suffixes included), the
    /// GuardDuty finding type, or the Security Hub control id (`S3.8`).
    pub kind: String,
    pub account: Checked,
    pub region: Checked,
    pub partition: Checked,
    pub resource: Resource,
    /// Severity on GuardDuty's 0–10 scale; Security Hub's normalized 0–100 is divided by 10.
    /// Config evaluations carry none.
    pub severity: Option<f64>,
    pub compliance: Compliance,
    /// The id of the event that carried the finding (EventBridge `id`, or the SNS `MessageId`).
    pub event_id: String,
    /// The source's own id of the finding (GuardDuty id, ASFF `Id`), where it has one.
    pub finding_id: Option<String>,
    /// When the source says the finding was made.
    pub time: DateTime<Utc>,
    /// Resource tags carried by the event (GuardDuty instance tags, ASFF resource tags).
    pub tags: BTreeMap<String, String>,
    /// The finding's own detail, as the source sent it: the EventBridge `detail` for Config
    /// and GuardDuty, the one ASFF finding for Security Hub. Templates and `[match.where]`
    /// conditions address it by JSON pointer.
    pub detail: serde_json::Value,
    /// Set when the finding must not be acted on whatever the playbooks say (compliant,
    /// sample, archived, the resource is the target of an attack…), with the reason.
    pub ignore: Option<String>,
}

impl Finding {
    /// A Config rule name with the decorations AWS adds when it deploys a managed rule for
    /// Security Hub (`securityhub-<rule>-<hash>`), a conformance pack
    /// (`<rule>-conformance-pack-<id>`) or an organization (`OrgConfigRule-<rule>-<id>`)
    /// taken off, so that playbooks can name the managed rule itself.
    pub fn config_rule_base_name(&self) -> Option<String> {
        (self.source == Source::Config).then(|| base_rule_name(&self.kind))
    }
}

/// See [`Finding::config_rule_base_name`].
pub fn base_rule_name(name: &str) -> String {
    let mut n = name;
    if let Some(rest) = n.strip_prefix("securityhub-") {
        n = strip_random_suffix(rest);
    } else if let Some(rest) = n.strip_prefix("OrgConfigRule-") {
        n = strip_random_suffix(rest);
    }
    if let Some(idx) = n.find("-conformance-pack-") {
        n = &n[..idx];
    }
    n.to_owned()
}

/// Drops a trailing `-<id>` where the id is 6 to 12 lower-case letters and digits containing
/// at least one digit (so that a rule name ending in a word is kept whole).
fn strip_random_suffix(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((head, tail))
            if !head.is_empty()
                && (6..=12).contains(&tail.len())
                && tail
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && tail.bytes().any(|c| c.is_ascii_digit()) =>
        {
            head
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_rule_name_strips_deployment_decorations() {
        for (raw, base) in [
            (
                "s3-bucket-level-public-access-prohibited",
                "s3-bucket-level-public-access-prohibited",
            ),
            (
                "securityhub-s3-bucket-level-public-access-prohibited-5f2b9c1e",
                "s3-bucket-level-public-access-prohibited",
            ),
            ("securityhub-restricted-ssh-a1b2c3", "restricted-ssh"),
            (
                "ec2-ebs-encryption-by-default-conformance-pack-yxg3ksmrw",
                "ec2-ebs-encryption-by-default",
            ),
            ("OrgConfigRule-restricted-ssh-z9kq2m4d", "restricted-ssh"),
            // A rule whose last word is a plain word keeps it.
            ("securityhub-access-keys-rotated", "access-keys-rotated"),
        ] {
            assert_eq!(base_rule_name(raw), base, "{raw}");
        }
    }
}
