//! The exceptions file: a resource exempt from a playbook, with an owner, a justification
//! and an expiry (DESIGN §5, invariant 6).
//!
//! ```toml
//! [[exception]]
//! resource = "acme-public-website"        # the resource id or its ARN
//! playbook = "s3-block-public-access"     # or "*" for every playbook
//! account = "111122223333"                # optional: only in this account
//! owner = "web-platform@acme.example"
//! justification = "Public website bucket, reviewed in SEC-1234"
//! expires = 2027-01-31T00:00:00Z          # a date alone expires at the start of that day, UTC
//! ```

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diag::{Diagnostic, SourceFile};
use crate::finding::Finding;
use crate::ids::IdKind;

/// One exception.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exception {
    pub resource: String,
    /// A playbook id, or `*` for all.
    pub playbook: String,
    pub account: Option<String>,
    pub owner: String,
    pub justification: String,
    pub expires: DateTime<Utc>,
    /// Line and column of the entry in its file, for diagnostics.
    #[serde(skip)]
    pub at: (usize, usize),
}

impl Exception {
    /// Whether it names this finding's resource and this playbook (expired or not).
    pub fn covers(&self, finding: &Finding, playbook: &str) -> bool {
        (self.playbook == "*" || self.playbook == playbook)
            && (self.resource == finding.resource.id
                || finding.resource.arn.as_deref() == Some(self.resource.as_str()))
            && self
                .account
                .as_deref()
                .is_none_or(|a| a == finding.account.as_str())
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    exception: Vec<Spanned<RawException>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    resource: String,
    playbook: String,
    #[serde(default)]
    account: Option<String>,
    owner: String,
    justification: String,
    expires: Spanned<toml::value::Datetime>,
}

fn to_utc(d: &toml::value::Datetime) -> Result<DateTime<Utc>, &'static str> {
    match (d.date, d.time, d.offset) {
        (Some(date), None, None) => NaiveDate::from_ymd_opt(
            i32::from(date.year),
            u32::from(date.month),
            u32::from(date.day),
        )
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
        .ok_or("not a calendar date"),
        (Some(_), Some(_), Some(_)) => DateTime::parse_from_rfc3339(&d.to_string())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| "not a valid date and time"),
        (Some(_), Some(_), None) => {
            Err("a date and time needs a UTC offset, e.g. 2027-01-31T00:00:00Z")
        }
        _ => Err("give a date (2027-01-31) or a date and time with an offset"),
    }
}

/// Parses and checks an exceptions file. `now` marks expired entries with a warning.
pub fn parse(
    path: &Path,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(Vec<Exception>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let src = SourceFile::new(path, text);
    let raw: RawFile = toml::from_str(text).map_err(|e| vec![src.from_toml(&e)])?;
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for entry in raw.exception {
        let span = entry.span();
        let e = entry.into_inner();
        let mut ok = true;
        for (field, value) in [
            ("resource", &e.resource),
            ("playbook", &e.playbook),
            ("owner", &e.owner),
            ("justification", &e.justification),
        ] {
            if value.trim().is_empty() {
                diags.push(src.error(span.clone(), format!("exception `{field}` is empty")));
                ok = false;
            }
        }
        if let Some(a) = &e.account
            && let Err(err) = IdKind::AccountId.check(a)
        {
            diags.push(src.error(span.clone(), format!("exception `account`: {err}")));
            ok = false;
        }
        let expires = match to_utc(e.expires.get_ref()) {
            Ok(t) => t,
            Err(why) => {
                diags.push(src.error(e.expires.span(), format!("exception `expires`: {why}")));
                continue;
            }
        };
        if !ok {
            continue;
        }
        let exception = Exception {
            resource: e.resource,
            playbook: e.playbook,
            account: e.account,
            owner: e.owner,
            justification: e.justification,
            expires,
            at: src.line_col(span.start),
        };
        if exception.is_expired(now) {
            diags.push(src.warning(
                e.expires.span(),
                format!(
                    "the exception for `{}` ({}, owner {}) expired at {} and no longer exempts it",
                    exception.resource,
                    exception.playbook,
                    exception.owner,
                    exception.expires.to_rfc3339()
                ),
            ));
        }
        out.push(exception);
    }
    if crate::playbook::has_errors(&diags) {
        Err(diags)
    } else {
        Ok((out, diags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn dates_and_datetimes_parse_and_expired_ones_warn() {
        let text = r#"
[[exception]]
resource = "acme-public-website"
playbook = "s3-block-public-access"
owner = "web@acme.example"
justification = "public website"
expires = 2027-01-31

[[exception]]
resource = "sg-0b7e21c4d9a3f5816"
playbook = "*"
owner = "net@acme.example"
justification = "bastion"
expires = 2026-05-01T00:00:00+02:00
"#;
        let (list, diags) = parse(Path::new("exceptions.toml"), text, now()).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].expires.to_rfc3339(), "2027-01-31T00:00:00+00:00");
        assert_eq!(list[1].expires.to_rfc3339(), "2026-04-30T22:00:00+00:00");
        assert_eq!(diags.len(), 1);
        assert_eq!(
            diags[0].to_string(),
            "exceptions.toml:14:11: warning: the exception for `sg-0b7e21c4d9a3f5816` (*, owner net@acme.example) expired at 2026-04-30T22:00:00+00:00 and no longer exempts it"
        );
    }

    #[test]
    fn missing_justification_and_local_times_are_errors() {
        let text = "[[exception]]\nresource = \"r\"\nplaybook = \"p\"\nowner = \"o\"\njustification = \" \"\nexpires = 2027-01-01T00:00:00\n";
        let diags = parse(Path::new("x.toml"), text, now()).unwrap_err();
        let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "x.toml:1:1: exception `justification` is empty",
                "x.toml:6:11: exception `expires`: a date and time needs a UTC offset, e.g. 2027-01-31T00:00:00Z"
            ]
        );
        let missing = parse(
            Path::new("x.toml"),
            "[[exception]]\nresource = \"r\"\n",
            now(),
        )
        .unwrap_err();
        assert!(
            missing[0].to_string().contains("missing field"),
            "{}",
            missing[0]
        );
    }
}
