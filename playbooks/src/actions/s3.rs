//! S3 actions.

use super::{ActionSpec, Category, Default, ParamSpec, ParamType, flag, on, s};
use crate::finding::resource_types as rt;
use crate::ids::IdKind;

const BUCKET: ParamSpec = ParamSpec {
    name: "bucket",
    ty: ParamType::Id(IdKind::BucketName),
    default: None,
    optional: false,
    doc: "The bucket to change.",
};

pub(super) static SPECS: &[ActionSpec] = &[
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
        id: "s3.put_account_public_access_block",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::ACCOUNT],
        params: &[
            ParamSpec {
                name: "account_id",
                ty: ParamType::Id(IdKind::AccountId),
                default: None,
                optional: false,
                doc: "The account whose account-level Block Public Access is set (the finding's account: `{{ account }}`).",
            },
            flag(
                "block_public_acls",
                "Reject new public ACLs in every bucket of the account.",
            ),
            flag(
                "ignore_public_acls",
                "Ignore existing public ACLs in every bucket of the account.",
            ),
            flag(
                "block_public_policy",
                "Reject bucket and access point policies that grant public access.",
            ),
            flag(
                "restrict_public_buckets",
                "Limit access under public policies to AWS principals and the bucket owner's account.",
            ),
        ],
        permissions: &[
            "s3:GetAccountPublicAccessBlock",
            "s3:PutAccountPublicAccessBlock",
        ],
        summary: "Turn on S3 Block Public Access for a whole account.",
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
                "Set account-level Block Public Access in account {} ({}): public ACLs and public bucket policies stop granting access in EVERY bucket of the account, whatever the bucket's own settings; anything that relied on anonymous access to any bucket (static websites, public downloads) stops working.",
                s(p, "account_id"),
                if settings.is_empty() {
                    "no setting on".to_owned()
                } else {
                    settings.join(", ")
                }
            )
        },
    },
    ActionSpec {
        id: "s3.put_tls_only_policy",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::S3_BUCKET],
        params: &[BUCKET],
        permissions: &[
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:DeleteBucketPolicy",
        ],
        summary: "Add a statement denying non-TLS requests to a bucket's policy.",
        describe: |p| {
            format!(
                "Add the statement RedressDenyInsecureTransport (Deny s3:* to everyone when aws:SecureTransport is false) to the policy of bucket {}, keeping every existing statement: requests over plain HTTP are refused; clients, tools or appliances that talk to the bucket without TLS stop working.",
                s(p, "bucket")
            )
        },
    },
    ActionSpec {
        id: "s3.put_ownership_controls",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::S3_BUCKET],
        params: &[
            BUCKET,
            ParamSpec {
                name: "object_ownership",
                ty: ParamType::Enum(&["BucketOwnerEnforced"]),
                default: Some(Default::Str("BucketOwnerEnforced")),
                optional: false,
                doc: "Object Ownership: BucketOwnerEnforced disables ACLs.",
            },
        ],
        permissions: &[
            "s3:GetBucketOwnershipControls",
            "s3:PutBucketOwnershipControls",
        ],
        summary: "Disable ACLs on a bucket (Object Ownership: bucket owner enforced).",
        describe: |p| {
            format!(
                "Set Object Ownership of bucket {} to {}: ACLs are disabled and no longer grant access; anyone who reads or writes through an ACL grant (other accounts, the log-delivery group, public ACLs) loses that access, and uploads that set a non-default ACL are refused. The bucket owner owns every object.",
                s(p, "bucket"),
                s(p, "object_ownership")
            )
        },
    },
    ActionSpec {
        id: "s3.put_bucket_logging",
        category: Category::Config,
        reversible: true,
        resource_types: &[rt::S3_BUCKET],
        params: &[
            BUCKET,
            ParamSpec {
                name: "target_bucket",
                ty: ParamType::Id(IdKind::BucketName),
                default: None,
                optional: false,
                doc: "The bucket that receives the access logs (never the bucket itself).",
            },
            ParamSpec {
                name: "target_prefix",
                ty: ParamType::Id(IdKind::Text),
                default: None,
                optional: true,
                doc: "The key prefix of the log objects, e.g. `{{ resource.id }}/`.",
            },
        ],
        permissions: &["s3:GetBucketLogging", "s3:PutBucketLogging"],
        summary: "Turn on server access logging for a bucket.",
        describe: |p| {
            format!(
                "Turn on server access logging of bucket {} into bucket {} (prefix {}): readers and writers are unaffected; the log bucket grows (storage cost) and must allow the S3 logging service to write to it.",
                s(p, "bucket"),
                s(p, "target_bucket"),
                match p.get("target_prefix") {
                    Some(super::Value::Str(v)) => v.as_str(),
                    _ => "none",
                }
            )
        },
    },
    ActionSpec {
        id: "s3.put_bucket_versioning",
        category: Category::Config,
        reversible: true,
        resource_types: &[rt::S3_BUCKET],
        params: &[BUCKET],
        permissions: &["s3:GetBucketVersioning", "s3:PutBucketVersioning"],
        summary: "Enable versioning on a bucket.",
        describe: |p| {
            format!(
                "Enable versioning on bucket {}: overwritten and deleted objects are kept as noncurrent versions (storage cost grows unless a lifecycle rule expires them). Revert suspends versioning; a bucket can never return to \"never versioned\", and versions already kept remain.",
                s(p, "bucket")
            )
        },
    },
    ActionSpec {
        id: "s3.remove_public_acl_grants",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::S3_BUCKET],
        params: &[BUCKET],
        permissions: &["s3:GetBucketAcl", "s3:PutBucketAcl"],
        summary: "Remove AllUsers and AuthenticatedUsers grants from a bucket's ACL.",
        describe: |p| {
            format!(
                "Remove every grant to the AllUsers and AuthenticatedUsers groups from the ACL of bucket {}, keeping all other grants: anonymous (and any-AWS-account) listing or writing through the bucket ACL stops working.",
                s(p, "bucket")
            )
        },
    },
];
