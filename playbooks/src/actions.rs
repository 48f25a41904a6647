//! The action catalog interface: what each playbook step may do, declared once.
//!
//! `check` validates steps against these specs, `plan` renders and describes them,
//! `iam-policy` collects their permissions, and the worker's executor implements exactly
//! these ids (a test in the workers crate fails when one lacks an implementation).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::IdKind;

/// What kind of change an action makes. The category is the action's, not the playbook
/// author's: it decides whether a human must approve (DESIGN §5, invariant 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Reversible configuration hardening (encryption, logging, versioning).
    Config,
    /// Network or data reachability: can cut traffic or access.
    Exposure,
    /// Identities and permissions: can lock people or systems out.
    Iam,
    /// Additive evidence such as snapshots: changes nothing that runs.
    Forensic,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Config => "config",
            Category::Exposure => "exposure",
            Category::Iam => "iam",
            Category::Forensic => "forensic",
        }
    }

    /// Whether a step of this category may run without approval (given a low-risk,
    /// reversible playbook).
    pub fn may_run_unattended(self) -> bool {
        matches!(self, Category::Config | Category::Forensic)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of one parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamType {
    /// A string with the syntax of an identifier kind; templates allowed.
    Id(IdKind),
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
    Bool,
    /// An integer within bounds (inclusive).
    Int {
        min: i64,
        max: i64,
    },
    /// A list of integers within bounds (inclusive), e.g. ports.
    IntList {
        min: i64,
        max: i64,
    },
    /// A list of strings each with the syntax of an identifier kind.
    IdList(IdKind),
}

impl ParamType {
    pub fn describe(&self) -> String {
        match self {
            ParamType::Id(kind) => format!("a string: {}", kind.describe()),
            ParamType::Enum(values) => format!("one of {}", quoted_list(values)),
            ParamType::Bool => "a boolean".to_owned(),
            ParamType::Int { min, max } => format!("an integer from {min} to {max}"),
            ParamType::IntList { min, max } => {
                format!("a list of integers from {min} to {max}")
            }
            ParamType::IdList(kind) => format!("a list of strings, each {}", kind.describe()),
        }
    }
}

fn quoted_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parameter's value once a step is rendered for a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Str(String),
    IntList(Vec<i64>),
    StrList(Vec<String>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => f.write_str(s),
            Value::IntList(v) => write!(
                f,
                "{}",
                v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            ),
            Value::StrList(v) => f.write_str(&v.join(", ")),
        }
    }
}

/// A parameter's default, when it has one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    Bool(bool),
    Int(i64),
    Str(&'static str),
    Ints(&'static [i64]),
    Strs(&'static [&'static str]),
}

impl Default {
    pub fn value(self) -> Value {
        match self {
            Default::Bool(b) => Value::Bool(b),
            Default::Int(i) => Value::Int(i),
            Default::Str(s) => Value::Str(s.to_owned()),
            Default::Ints(v) => Value::IntList(v.to_vec()),
            Default::Strs(v) => Value::StrList(v.iter().map(|s| (*s).to_owned()).collect()),
        }
    }
}

/// One parameter of an action.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamType,
    /// `None`: the step must give it. `Some`: the value used when the step leaves it out.
    pub default: Option<Default>,
    /// Optional parameters with no default are left out of the call when not given.
    pub optional: bool,
    pub doc: &'static str,
}

/// Rendered parameters of one step, by name.
pub type Params = BTreeMap<String, Value>;

/// One action of the catalog.
#[derive(Debug, Clone)]
pub struct ActionSpec {
    /// `service.verb_object`, e.g. `s3.put_public_access_block`.
    pub id: &'static str,
    pub category: Category,
    /// Whether `revert` can restore the captured before-state exactly.
    pub reversible: bool,
    /// The resource types this action changes; a playbook's `[match] resource_type` should
    /// be one of them or the parameters must name the resource otherwise.
    pub resource_types: &'static [&'static str],
    pub params: &'static [ParamSpec],
    /// IAM actions needed for capture, apply, verify and revert.
    pub permissions: &'static [&'static str],
    /// One line for catalogs.
    pub summary: &'static str,
    /// What applying the step does, in words, for dry-run reviews and approvers.
    pub describe: fn(&Params) -> String,
}

impl ActionSpec {
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }
}

impl PartialEq for ActionSpec {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

/// Looks an action up by id.
pub fn lookup(id: &str) -> Option<&'static ActionSpec> {
    CATALOG.iter().find(|a| a.id == id)
}

/// Every action id, for did-you-mean.
pub fn ids() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|a| a.id)
}

fn s<'p>(p: &'p Params, name: &str) -> &'p str {
    match p.get(name) {
        Some(Value::Str(v)) => v,
        _ => "?",
    }
}

fn list(p: &Params, name: &str) -> String {
    p.get(name).map_or_else(|| "?".to_owned(), Value::to_string)
}

fn on(p: &Params, name: &str) -> bool {
    matches!(p.get(name), Some(Value::Bool(true)))
}

fn int(p: &Params, name: &str) -> String {
    match p.get(name) {
        Some(Value::Int(i)) => i.to_string(),
        _ => "?".to_owned(),
    }
}

/// Ports that Security Hub EC2.19 calls high-risk, plus SSH and RDP (EC2.13, EC2.14).
pub const HIGH_RISK_PORTS: &[i64] = &[
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500,
    5601, 8080, 8088, 8888, 9200, 9300,
];

use crate::finding::resource_types as rt;

const BUCKET: ParamSpec = ParamSpec {
    name: "bucket",
    ty: ParamType::Id(IdKind::BucketName),
    default: None,
    optional: false,
    doc: "The bucket to change.",
};

const INSTANCE: ParamSpec = ParamSpec {
    name: "instance_id",
    ty: ParamType::Id(IdKind::InstanceId),
    default: None,
    optional: false,
    doc: "The instance to act on.",
};

const fn flag(name: &'static str, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty: ParamType::Bool,
        default: Some(Default::Bool(true)),
        optional: false,
        doc,
    }
}

/// The whole catalog. Order is the order of `redress iam-policy` and the docs.
pub static CATALOG: &[ActionSpec] = &[
    ActionSpec {
        id: "s3.put_public_access_block",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::S3_BUCKET],
        params: &[
            BUCKET,
            flag("block_public_acls", "Reject new public ACLs."),
            flag("ignore_public_acls", "Ignore existing public ACLs."),
            flag(
                "block_public_policy",
                "Reject bucket policies that grant public access.",
            ),
            flag(
                "restrict_public_buckets",
                "Limit access under a public policy to AWS principals and the bucket owner's account.",
            ),
        ],
        permissions: &[
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
        ],
        summary: "Turn on S3 Block Public Access for one bucket.",
        describe: |p| {
            let settings: Vec<&str> = [
                ("block_public_acls", "BlockPublicAcls"),
                ("ignore_public_acls", "IgnorePublicAcls"),
                ("block_public_policy", "BlockPublicPolicy"),
                ("restrict_public_buckets", "RestrictPublicBuckets"),
            ]
            .iter()
            .filter(|(k, _)| on(p, k))
            .map(|(_, n)| *n)
            .collect();
            format!(
                "Set Block Public Access on bucket {} ({}): public ACLs and public bucket policies stop granting access; anything that relied on anonymous access to it stops working.",
                s(p, "bucket"),
                if settings.is_empty() {
                    "no setting on".to_owned()
                } else {
                    settings.join(", ")
                }
            )
        },
    },
    ActionSpec {
        id: "s3.put_default_encryption",
        category: Category::Config,
        reversible: true,
        resource_types: &[rt::S3_BUCKET],
        params: &[
            BUCKET,
            ParamSpec {
                name: "algorithm",
                ty: ParamType::Enum(&["AES256", "aws:kms", "aws:kms:dsse"]),
                default: Some(Default::Str("AES256")),
                optional: false,
                doc: "Server-side encryption for new objects: SSE-S3 (AES256) or SSE-KMS.",
            },
            ParamSpec {
                name: "kms_key_id",
                ty: ParamType::Id(IdKind::Arn),
                default: None,
                optional: true,
                doc: "The KMS key ARN for aws:kms; the AWS managed key when left out.",
            },
            ParamSpec {
                name: "bucket_key_enabled",
                ty: ParamType::Bool,
                default: Some(Default::Bool(true)),
                optional: false,
                doc: "Use an S3 Bucket Key to cut KMS request costs.",
            },
        ],
        permissions: &[
            "s3:GetEncryptionConfiguration",
            "s3:PutEncryptionConfiguration",
        ],
        summary: "Set default server-side encryption on one bucket.",
        describe: |p| {
            format!(
                "Set default encryption of bucket {} to {}: new objects are encrypted at rest; existing objects and readers are unaffected.",
                s(p, "bucket"),
                s(p, "algorithm")
            )
        },
    },
    ActionSpec {
        id: "ec2.enable_ebs_encryption_by_default",
        category: Category::Config,
        reversible: true,
        resource_types: &[rt::ACCOUNT],
        params: &[],
        permissions: &[
            "ec2:GetEbsEncryptionByDefault",
            "ec2:EnableEbsEncryptionByDefault",
            "ec2:DisableEbsEncryptionByDefault",
        ],
        summary: "Turn on EBS encryption by default for the account and region.",
        describe: |_| {
            "Turn on EBS encryption by default in this account and region: new volumes and snapshot copies are encrypted; existing volumes are unaffected.".to_owned()
        },
    },
    ActionSpec {
        id: "ec2.revoke_open_ingress",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::EC2_SECURITY_GROUP],
        params: &[
            ParamSpec {
                name: "group_id",
                ty: ParamType::Id(IdKind::SecurityGroupId),
                default: None,
                optional: false,
                doc: "The security group whose ingress rules are checked.",
            },
            ParamSpec {
                name: "ports",
                ty: ParamType::IntList { min: 0, max: 65535 },
                default: Some(Default::Ints(HIGH_RISK_PORTS)),
                optional: false,
                doc: "A rule is revoked when its port range covers one of these ports (all-traffic rules cover every port).",
            },
            ParamSpec {
                name: "cidrs",
                ty: ParamType::IdList(IdKind::Text),
                default: Some(Default::Strs(&["0.0.0.0/0", "::/0"])),
                optional: false,
                doc: "Sources that count as open to the world.",
            },
        ],
        permissions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupIngress",
        ],
        summary: "Revoke world-open ingress rules on high-risk ports, keeping every other rule.",
        describe: |p| {
            format!(
                "Revoke the ingress rules of security group {} that open any of ports {} to {}; every other rule stays. Connections from anywhere else to those ports through this group stop.",
                s(p, "group_id"),
                list(p, "ports"),
                list(p, "cidrs")
            )
        },
    },
    ActionSpec {
        id: "iam.deactivate_access_key",
        category: Category::Iam,
        reversible: true,
        resource_types: &[rt::IAM_ACCESS_KEY],
        params: &[
            ParamSpec {
                name: "user",
                ty: ParamType::Id(IdKind::IamUserNameOrId),
                default: None,
                optional: false,
                doc: "The user that owns the key (name, or user id AIDA… which is resolved first).",
            },
            ParamSpec {
                name: "access_key_id",
                ty: ParamType::Id(IdKind::LongTermAccessKeyId),
                default: None,
                optional: false,
                doc: "The long-term key (AKIA…) to deactivate.",
            },
        ],
        permissions: &["iam:ListUsers", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
        summary: "Deactivate one long-term access key of an IAM user.",
        describe: |p| {
            format!(
                "Deactivate access key {} of IAM user {}: every request signed with it fails from now on, including any legitimate automation still using it.",
                s(p, "access_key_id"),
                s(p, "user")
            )
        },
    },
    ActionSpec {
        id: "iam.deactivate_stale_access_keys",
        category: Category::Iam,
        reversible: true,
        resource_types: &[rt::IAM_USER],
        params: &[
            ParamSpec {
                name: "user",
                ty: ParamType::Id(IdKind::IamUserNameOrId),
                default: None,
                optional: false,
                doc: "The user whose keys are checked (name, or user id AIDA… which is resolved first).",
            },
            ParamSpec {
                name: "unused_days",
                ty: ParamType::Int { min: 1, max: 3650 },
                default: Some(Default::Int(90)),
                optional: false,
                doc: "A key not used for this many days (or never used and older than this) is stale.",
            },
            ParamSpec {
                name: "max_age_days",
                ty: ParamType::Int { min: 1, max: 3650 },
                default: Some(Default::Int(90)),
                optional: false,
                doc: "A key older than this many days is unrotated.",
            },
        ],
        permissions: &[
            "iam:ListUsers",
            "iam:ListAccessKeys",
            "iam:GetAccessKeyLastUsed",
            "iam:UpdateAccessKey",
        ],
        summary: "Deactivate a user's access keys that are unused or unrotated.",
        describe: |p| {
            format!(
                "Deactivate the active access keys of IAM user {} that were not used in {} days or are older than {} days: anything still signing with them fails.",
                s(p, "user"),
                int(p, "unused_days"),
                int(p, "max_age_days")
            )
        },
    },
    ActionSpec {
        id: "iam.revoke_role_sessions",
        category: Category::Iam,
        reversible: true,
        resource_types: &[rt::IAM_ROLE, rt::IAM_ACCESS_KEY],
        params: &[ParamSpec {
            name: "role",
            ty: ParamType::Id(IdKind::IamName),
            default: None,
            optional: false,
            doc: "The role whose temporary credentials are revoked.",
        }],
        permissions: &[
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
        ],
        summary: "Deny every session of a role issued before now (inline policy on aws:TokenIssueTime).",
        describe: |p| {
            format!(
                "Attach an inline policy to role {} that denies every action to sessions issued before now: stolen temporary credentials stop working, and so do the role's current legitimate sessions until they assume the role again.",
                s(p, "role")
            )
        },
    },
    ActionSpec {
        id: "ec2.snapshot_instance_volumes",
        category: Category::Forensic,
        reversible: true,
        resource_types: &[rt::EC2_INSTANCE],
        params: &[INSTANCE],
        permissions: &[
            "ec2:DescribeInstances",
            "ec2:DescribeVolumes",
            "ec2:DescribeSnapshots",
            "ec2:CreateSnapshot",
            "ec2:CreateTags",
        ],
        summary: "Snapshot every EBS volume of an instance and tag the snapshots as evidence.",
        describe: |p| {
            format!(
                "Snapshot every EBS volume attached to instance {} and tag the snapshots with the finding: evidence is preserved; the instance keeps running untouched.",
                s(p, "instance_id")
            )
        },
    },
    ActionSpec {
        id: "ec2.isolate_instance",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::EC2_INSTANCE],
        params: &[
            INSTANCE,
            ParamSpec {
                name: "quarantine_group_name",
                ty: ParamType::Id(IdKind::IamName),
                default: Some(Default::Str("redress-quarantine")),
                optional: false,
                doc: "Name of the rule-less security group created (or reused) in the instance's VPC.",
            },
        ],
        permissions: &[
            "ec2:DescribeInstances",
            "ec2:DescribeSecurityGroups",
            "ec2:CreateSecurityGroup",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:ModifyInstanceAttribute",
            "ec2:CreateTags",
        ],
        summary: "Swap an instance's security groups for a quarantine group with no rules.",
        describe: |p| {
            format!(
                "Replace the security groups of instance {} with quarantine group {} (no inbound or outbound rules): all its network traffic stops, including whatever service it runs.",
                s(p, "instance_id"),
                s(p, "quarantine_group_name")
            )
        },
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_ids_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for a in CATALOG {
            assert!(seen.insert(a.id), "duplicate action {}", a.id);
            let (service, verb) = a.id.split_once('.').expect("service.verb");
            assert!(!service.is_empty() && !verb.is_empty());
            assert!(!a.permissions.is_empty(), "{} declares no permission", a.id);
            for p in a.permissions {
                assert!(p.starts_with(&format!("{service}:")), "{} needs {p}", a.id);
            }
            for p in a.params {
                assert!(
                    !(p.default.is_some() && p.optional),
                    "{}.{}: a defaulted parameter is not optional",
                    a.id,
                    p.name
                );
            }
        }
    }

    #[test]
    fn descriptions_name_the_resource() {
        let mut p = Params::new();
        p.insert("bucket".into(), Value::Str("acme-logs".into()));
        p.insert("block_public_acls".into(), Value::Bool(true));
        p.insert("ignore_public_acls".into(), Value::Bool(false));
        let text = (lookup("s3.put_public_access_block").unwrap().describe)(&p);
        assert!(text.contains("acme-logs"), "{text}");
        assert!(text.contains("(BlockPublicAcls)"), "{text}");
    }

    #[test]
    fn only_config_and_forensic_may_run_unattended() {
        assert!(Category::Config.may_run_unattended());
        assert!(Category::Forensic.may_run_unattended());
        assert!(!Category::Iam.may_run_unattended());
        assert!(!Category::Exposure.may_run_unattended());
    }
}
