//! Stage one: the playbook file as serde reads it, every value with its span.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{Mode, Risk};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlaybook {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    pub description: Spanned<String>,
    pub risk: Spanned<Risk>,
    #[serde(default)]
    pub mode: Option<Spanned<Mode>>,
    #[serde(default)]
    pub priority: Option<Spanned<i64>>,
    #[serde(rename = "match")]
    pub matcher: Spanned<RawMatch>,
    #[serde(default)]
    pub steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
    #[serde(default)]
    pub verify: Option<RawVerify>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatch {
    /// A string or a list of strings.
    #[serde(default)]
    pub resource_type: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub config_rules: Vec<Spanned<String>>,
    #[serde(default)]
    pub securityhub_controls: Vec<Spanned<String>>,
    #[serde(default)]
    pub guardduty_types: Vec<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub conditions: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

/// `action = "…"` plus the action's parameters; which keys are allowed depends on the
/// action, so the table is checked in stage two.
pub(super) type RawStep = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVerify {
    #[serde(default)]
    pub config_reevaluate: bool,
}
