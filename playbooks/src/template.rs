//! `{{ variable }}` templates in step parameters.
//!
//! A template is parsed when the playbook loads, so an unknown variable is a load error.
//! Rendering a template for a finding that lacks the value is a per-finding error: an empty
//! string is never sent to AWS.

use std::fmt;

use crate::finding::Finding;

/// A value a template can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    ResourceId,
    ResourceArn,
    ResourceType,
    Account,
    Region,
    Partition,
    /// The finding's kind: Config rule name, GuardDuty type or Security Hub control id.
    FindingType,
    FindingSource,
    /// The source's own finding id (GuardDuty id, ASFF Id).
    FindingId,
    EventId,
    Severity,
    /// A resource tag carried by the event.
    Tag(String),
    /// A value in the finding's detail, by JSON pointer (`detail:/resource/accessKeyDetails/userName`).
    Detail(String),
}

/// Variable names accepted in templates, for messages and did-you-mean.
pub const NAMES: &[&str] = &[
    "resource.id",
    "resource.arn",
    "resource.type",
    "account",
    "region",
    "partition",
    "finding.type",
    "finding.source",
    "finding.id",
    "event.id",
    "severity",
];

impl Var {
    pub fn parse(name: &str) -> Option<Var> {
        Some(match name {
            "resource.id" => Var::ResourceId,
            "resource.arn" => Var::ResourceArn,
            "resource.type" => Var::ResourceType,
            "account" => Var::Account,
            "region" => Var::Region,
            "partition" => Var::Partition,
            "finding.type" => Var::FindingType,
            "finding.source" => Var::FindingSource,
            "finding.id" => Var::FindingId,
            "event.id" => Var::EventId,
            "severity" => Var::Severity,
            _ => {
                if let Some(key) = name.strip_prefix("tags.") {
                    if key.is_empty() {
                        return None;
                    }
                    Var::Tag(key.to_owned())
                } else if let Some(ptr) = name.strip_prefix("detail:") {
                    if !(ptr.is_empty() || ptr.starts_with('/')) {
                        return None;
                    }
                    Var::Detail(ptr.to_owned())
                } else {
                    return None;
                }
            }
        })
    }

    /// The value for `finding` as text, or `None` when the finding has none (or only an
    /// object, array, null or empty string, none of which belongs in a parameter).
    pub fn value(&self, f: &Finding) -> Option<String> {
        match self.json(f)? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The value for `finding` as JSON, for `[match.where]` conditions.
    pub fn json(&self, f: &Finding) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        match self {
            Var::ResourceId => Some(J::from(f.resource.id.as_str())),
            Var::ResourceArn => f.resource.arn.as_deref().map(J::from),
            Var::ResourceType => Some(J::from(f.resource.kind.as_str())),
            Var::Account => Some(J::from(f.account.as_str())),
            Var::Region => Some(J::from(f.region.as_str())),
            Var::Partition => Some(J::from(f.partition.as_str())),
            Var::FindingType => Some(J::from(f.kind.as_str())),
            Var::FindingSource => Some(J::from(f.source.as_str())),
            Var::FindingId => f.finding_id.as_deref().map(J::from),
            Var::EventId => Some(J::from(f.event_id.as_str())),
            Var::Severity => f
                .severity
                .and_then(serde_json::Number::from_f64)
                .map(J::Number),
            Var::Tag(key) => f.tags.get(key).map(|v| J::from(v.as_str())),
            Var::Detail(ptr) => f.detail.pointer(ptr).cloned(),
        }
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Var::Tag(k) => write!(f, "tags.{k}"),
            Var::Detail(p) => write!(f, "detail:{p}"),
            other => {
                let name = match other {
                    Var::ResourceId => "resource.id",
                    Var::ResourceArn => "resource.arn",
                    Var::ResourceType => "resource.type",
                    Var::Account => "account",
                    Var::Region => "region",
                    Var::Partition => "partition",
                    Var::FindingType => "finding.type",
                    Var::FindingSource => "finding.source",
                    Var::FindingId => "finding.id",
                    Var::EventId => "event.id",
                    _ => "severity",
                };
                f.write_str(name)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Var(Var),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// Why a template string does not parse. `offset` is the byte offset in the string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed `{{{{` in template")]
    Unclosed { offset: usize },
    #[error("empty `{{{{ }}}}` in template")]
    Empty { offset: usize },
    #[error("unknown template variable `{name}`")]
    UnknownVar { name: String, offset: usize },
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut rest = text;
        let mut base = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segments.push(Segment::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(TemplateError::Unclosed {
                    offset: base + open,
                });
            };
            let name = after[..close].trim();
            if name.is_empty() {
                return Err(TemplateError::Empty {
                    offset: base + open,
                });
            }
            let var = Var::parse(name).ok_or_else(|| TemplateError::UnknownVar {
                name: name.to_owned(),
                offset: base + open,
            })?;
            segments.push(Segment::Var(var));
            let consumed = open + 2 + close + 2;
            base += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_owned()));
        }
        Ok(Template { segments })
    }

    /// Whether the template names any variable (a plain string otherwise).
    pub fn has_vars(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Var(_)))
    }

    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Var(v) => Some(v),
            Segment::Text(_) => None,
        })
    }

    /// Renders for `finding`; names the first variable without a value.
    pub fn render(&self, finding: &Finding) -> Result<String, MissingValue> {
        let mut out = String::new();
        for s in &self.segments {
            match s {
                Segment::Text(t) => out.push_str(t),
                Segment::Var(v) => {
                    let value = v
                        .value(finding)
                        .ok_or_else(|| MissingValue { var: v.to_string() })?;
                    out.push_str(&value);
                }
            }
        }
        Ok(out)
    }
}

/// A template names a value this finding does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the finding has no value for template variable `{var}`")]
pub struct MissingValue {
    pub var: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_and_variables() {
        let t = Template::parse("redress-{{ resource.id }}-{{detail:/a/b}}").unwrap();
        assert!(t.has_vars());
        let vars: Vec<String> = t.vars().map(ToString::to_string).collect();
        assert_eq!(vars, ["resource.id", "detail:/a/b"]);
        assert!(!Template::parse("plain").unwrap().has_vars());
    }

    #[test]
    fn rejects_unknown_unclosed_and_empty() {
        assert_eq!(
            Template::parse("x {{ resource.name }}"),
            Err(TemplateError::UnknownVar {
                name: "resource.name".into(),
                offset: 2
            })
        );
        assert_eq!(
            Template::parse("{{ resource.id"),
            Err(TemplateError::Unclosed { offset: 0 })
        );
        assert_eq!(
            Template::parse("a{{  }}"),
            Err(TemplateError::Empty { offset: 1 })
        );
        assert!(Template::parse("{{ detail:no-slash }}").is_err());
        assert!(Template::parse("{{ tags. }}").is_err());
    }
}
