//! Validated AWS identifiers.
//!
//! Everything that reaches a template or an AWS call passes through here first, so a
//! crafted finding cannot smuggle a path, a wildcard or a second resource into a request.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a string claims to be. Each kind has its own syntax check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    /// 12-digit AWS account id.
    AccountId,
    /// Region name such as `us-east-1`.
    Region,
    /// `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`, …
    Partition,
    /// S3 general purpose bucket name.
    BucketName,
    /// `sg-` followed by 8 or 17 hex digits.
    SecurityGroupId,
    /// `i-` followed by 8 or 17 hex digits.
    InstanceId,
    /// IAM access key id: `AKIA…` (long-term) or `ASIA…` (temporary).
    AccessKeyId,
    /// IAM access key id of a long-term key only (`AKIA…`): only those can be deactivated.
    LongTermAccessKeyId,
    /// IAM unique user id (`AIDA…`).
    IamUserId,
    /// IAM user or role name (1–64/128 of `\w+=,.@-`).
    IamName,
    /// IAM user name, or the user's unique id (`AIDA…`) which is resolved before any call.
    IamUserNameOrId,
    /// An ARN: `arn:partition:service:region:account:resource`.
    Arn,
    /// Free text that is only shown, never sent as an identifier.
    Text,
}

impl IdKind {
    /// How the kind is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            IdKind::AccountId => "an AWS account id (12 digits)",
            IdKind::Region => "an AWS region name (e.g. us-east-1)",
            IdKind::Partition => "an AWS partition (aws, aws-cn, aws-us-gov, …)",
            IdKind::BucketName => "an S3 bucket name",
            IdKind::SecurityGroupId => "a security group id (sg-…)",
            IdKind::InstanceId => "an EC2 instance id (i-…)",
            IdKind::AccessKeyId => "an IAM access key id (AKIA… or ASIA…)",
            IdKind::LongTermAccessKeyId => "a long-term IAM access key id (AKIA…)",
            IdKind::IamUserId => "an IAM user id (AIDA…)",
            IdKind::IamName => "an IAM user or role name",
            IdKind::IamUserNameOrId => "an IAM user name or user id (AIDA…)",
            IdKind::Arn => "an ARN",
            IdKind::Text => "text",
        }
    }

    /// Checks `value` against this kind's syntax.
    pub fn check(self, value: &str) -> Result<(), IdError> {
        let ok = match self {
            IdKind::AccountId => value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()),
            IdKind::Region => is_region(value),
            IdKind::Partition => is_partition(value),
            IdKind::BucketName => is_bucket_name(value),
            IdKind::SecurityGroupId => is_hex_id(value, "sg-"),
            IdKind::InstanceId => is_hex_id(value, "i-"),
            IdKind::AccessKeyId => {
                (value.starts_with("AKIA") || value.starts_with("ASIA")) && is_key_body(value)
            }
            IdKind::LongTermAccessKeyId => {
                if value.starts_with("ASIA") && is_key_body(value) {
                    return Err(IdError {
                        kind: self,
                        value: value.to_owned(),
                        why: "this is a temporary session key (ASIA…), which cannot be deactivated; revoke the sessions of its role or user instead",
                    });
                }
                value.starts_with("AKIA") && is_key_body(value)
            }
            IdKind::IamUserId => value.starts_with("AIDA") && is_key_body(value),
            IdKind::IamName => is_iam_name(value),
            IdKind::IamUserNameOrId => {
                (value.starts_with("AIDA") && is_key_body(value)) || is_iam_name(value)
            }
            IdKind::Arn => is_arn(value),
            IdKind::Text => {
                !value.is_empty() && value.len() <= 4096 && !value.chars().any(char::is_control)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(IdError {
                kind: self,
                value: value.to_owned(),
                why: "it does not have that syntax",
            })
        }
    }
}

/// A value that does not have the syntax of the identifier it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is not {}: {why}", quoted(value), kind.describe())]
pub struct IdError {
    pub kind: IdKind,
    pub value: String,
    pub why: &'static str,
}

/// Quotes a value for an error message, cut short so a hostile input cannot flood a log.
pub fn quoted(value: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = value.chars().take(MAX).collect();
    if value.chars().count() > MAX {
        out.push('…');
    }
    format!("{out:?}")
}

fn is_region(v: &str) -> bool {
    // e.g. us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-5, us-isob-east-1
    let parts: Vec<&str> = v.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && v.len() <= 32
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

fn is_partition(v: &str) -> bool {
    matches!(
        v,
        "aws"
            | "aws-cn"
            | "aws-us-gov"
            | "aws-iso"
            | "aws-iso-b"
            | "aws-iso-e"
            | "aws-iso-f"
            | "aws-eusc"
    )
}

/// S3 general purpose bucket naming rules.
fn is_bucket_name(v: &str) -> bool {
    let b = v.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return false;
    }
    let edge_ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !edge_ok(b[0]) || !edge_ok(b[b.len() - 1]) {
        return false;
    }
    if !b
        .iter()
        .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
    {
        return false;
    }
    if v.contains("..") || v.contains(".-") || v.contains("-.") {
        return false;
    }
    // Not formatted as an IP address.
    let is_ip = v.split('.').count() == 4
        && v.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    !is_ip && !v.starts_with("xn--") && !v.starts_with("sthree-") && !v.ends_with("-s3alias")
}

fn is_hex_id(v: &str, prefix: &str) -> bool {
    v.strip_prefix(prefix).is_some_and(|rest| {
        (rest.len() == 8 || rest.len() == 17)
            && rest
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    })
}

fn is_key_body(v: &str) -> bool {
    (16..=128).contains(&v.len())
        && v.bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn is_iam_name(v: &str) -> bool {
    (1..=128).contains(&v.len())
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+=,.@_-".contains(&c))
}

fn is_arn(v: &str) -> bool {
    let mut parts = v.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    is_partition(partition)
        && !service.is_empty()
        && service
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && (region.is_empty() || is_region(region))
        && (account.is_empty() || account == "aws" || IdKind::AccountId.check(account).is_ok())
        && !resource.is_empty()
        && v.len() <= 2048
        && !v
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '*' || c == '?')
}

/// A string checked against an [`IdKind`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Checked(String);

impl Checked {
    pub fn new(kind: IdKind, value: &str) -> Result<Self, IdError> {
        kind.check(value)?;
        Ok(Self(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_identifiers() {
        for (kind, v) in [
            (IdKind::AccountId, "111122223333"),
            (IdKind::Region, "us-east-1"),
            (IdKind::Region, "us-gov-west-1"),
            (IdKind::Partition, "aws-us-gov"),
            (IdKind::BucketName, "acme-prod-invoice-exports"),
            (IdKind::BucketName, "logs.acme.example"),
            (IdKind::SecurityGroupId, "sg-0b7e21c4d9a3f5816"),
            (IdKind::SecurityGroupId, "sg-1a2b3c4d"),
            (IdKind::InstanceId, "i-07a9c1e3b5d7f9024"),
            (IdKind::AccessKeyId, "AKIAQ3EGRS7EXAMPLE42"),
            (IdKind::LongTermAccessKeyId, "AKIAQ3EGRS7EXAMPLE42"),
            (IdKind::IamUserId, "AIDAQ3EGRS4EXAMPLE7K2"),
            (IdKind::IamName, "ci-deploy-legacy"),
            (IdKind::IamUserNameOrId, "AIDAQ3EGRS4EXAMPLE7K2"),
            (IdKind::Arn, "arn:aws:s3:::acme-data-lake-curated"),
            (IdKind::Arn, "arn:aws:iam::111122223333:user/ops/alice"),
        ] {
            assert_eq!(kind.check(v), Ok(()), "{kind:?} {v}");
        }
    }

    #[test]
    fn rejects_look_alikes() {
        for (kind, v) in [
            (IdKind::AccountId, "11112222333"),
            (IdKind::AccountId, "11112222333a"),
            (IdKind::Region, "us-east"),
            (IdKind::Region, "US-EAST-1"),
            (IdKind::Partition, "aws-mars"),
            (IdKind::BucketName, "Acme"),
            (IdKind::BucketName, "ab"),
            (IdKind::BucketName, "192.168.1.1"),
            (IdKind::BucketName, "bucket/../other"),
            (IdKind::BucketName, "a..b"),
            (IdKind::SecurityGroupId, "sg-*"),
            (IdKind::SecurityGroupId, "sg-0B7E21C4D9A3F5816"),
            (IdKind::InstanceId, "i-123"),
            (IdKind::AccessKeyId, "AKIA"),
            (IdKind::IamName, "alice bob"),
            (IdKind::IamName, ""),
            (IdKind::Arn, "arn:aws:s3:::*"),
            (IdKind::Arn, "not-an-arn"),
            (IdKind::Text, "line\nbreak"),
        ] {
            assert!(kind.check(v).is_err(), "{kind:?} accepted {v:?}");
        }
    }

    #[test]
    fn temporary_keys_cannot_be_deactivated_and_the_error_says_why() {
        let err = IdKind::LongTermAccessKeyId
            .check("ASIAQ3EGRS7EXAMPLE42")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"ASIAQ3EGRS7EXAMPLE42\" is not a long-term IAM access key id (AKIA…): this is a temporary session key (ASIA…), which cannot be deactivated; revoke the sessions of its role or user instead"
        );
    }

    #[test]
    fn quoted_cuts_long_values() {
        let long = "x".repeat(500);
        assert_eq!(quoted(&long).chars().count(), 80 + 3);
    }
}
