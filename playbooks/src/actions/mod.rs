//! The action catalog interface: what each playbook step may do, declared once.
//!
//! One module per AWS service holds its actions' specs (`SPECS`); [`catalog`] is all of them.
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

/// Reads an operator-set value (fleet config `[parameters]`) as a parameter of type `ty`.
pub fn coerce(ty: ParamType, v: &toml::Value) -> Result<Value, String> {
    let bad = || Err(format!("must be {}", ty.describe()));
    match (ty, v) {
        (ParamType::Bool, toml::Value::Boolean(b)) => Ok(Value::Bool(*b)),
        (ParamType::Int { min, max }, toml::Value::Integer(i)) if (min..=max).contains(i) => {
            Ok(Value::Int(*i))
        }
        (ParamType::IntList { min, max }, toml::Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item.as_integer() {
                    Some(i) if (min..=max).contains(&i) => out.push(i),
                    _ => return bad(),
                }
            }
            if out.is_empty() {
                bad()
            } else {
                Ok(Value::IntList(out))
            }
        }
        (ParamType::Enum(allowed), toml::Value::String(s)) if allowed.contains(&s.as_str()) => {
            Ok(Value::Str(s.clone()))
        }
        (ParamType::Id(kind), toml::Value::String(s)) => {
            kind.check(s).map_err(|e| e.to_string())?;
            Ok(Value::Str(s.clone()))
        }
        (ParamType::IdList(kind), toml::Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                let Some(s) = item.as_str() else { return bad() };
                kind.check(s).map_err(|e| e.to_string())?;
                out.push(s.to_owned());
            }
            Ok(Value::StrList(out))
        }
        _ => bad(),
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

mod cloudtrail;
mod config;
mod ec2;
mod guardduty;
mod iam;
mod kms;
mod s3;

pub use ec2::HIGH_RISK_PORTS;

/// Every action of the catalog, service by service.
pub fn catalog() -> impl Iterator<Item = &'static ActionSpec> {
    [
        s3::SPECS,
        ec2::SPECS,
        iam::SPECS,
        config::SPECS,
        cloudtrail::SPECS,
        guardduty::SPECS,
        kms::SPECS,
    ]
    .into_iter()
    .flatten()
}

/// Looks an action up by id.
pub fn lookup(id: &str) -> Option<&'static ActionSpec> {
    catalog().find(|a| a.id == id)
}

/// Every action id, for did-you-mean.
pub fn ids() -> impl Iterator<Item = &'static str> {
    catalog().map(|a| a.id)
}

/// Helpers for the `describe` functions of the service modules.
pub(crate) fn s<'p>(p: &'p Params, name: &str) -> &'p str {
    match p.get(name) {
        Some(Value::Str(v)) => v,
        _ => "?",
    }
}

pub(crate) fn list(p: &Params, name: &str) -> String {
    p.get(name).map_or_else(|| "?".to_owned(), Value::to_string)
}

pub(crate) fn on(p: &Params, name: &str) -> bool {
    matches!(p.get(name), Some(Value::Bool(true)))
}

pub(crate) fn int(p: &Params, name: &str) -> String {
    match p.get(name) {
        Some(Value::Int(i)) => i.to_string(),
        _ => "?".to_owned(),
    }
}

pub(crate) const fn flag(name: &'static str, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty: ParamType::Bool,
        default: Some(Default::Bool(true)),
        optional: false,
        doc,
    }
}

/// The whole catalog. Order is the order of `redress iam-policy` and the docs.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_ids_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for a in catalog() {
            assert!(seen.insert(a.id), "duplicate action {}", a.id);
            let (service, verb) = a.id.split_once('.').expect("service.verb");
            assert!(!service.is_empty() && !verb.is_empty());
            assert!(!a.permissions.is_empty(), "{} declares no permission", a.id);
            assert!(
                a.permissions
                    .iter()
                    .any(|p| p.starts_with(&format!("{service}:"))),
                "{} declares no permission of its own service",
                a.id
            );
            for p in a.permissions {
                let (svc, action) = p.split_once(':').expect("service:Action");
                assert!(
                    !svc.is_empty() && action.chars().next().is_some_and(char::is_uppercase),
                    "{} needs {p}",
                    a.id
                );
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
