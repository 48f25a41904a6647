//! The playbook language (DESIGN §3): one TOML file per playbook.
//!
//! Loading has two stages. Serde reads the file into a raw form with spans and
//! `deny_unknown_fields` ([`raw`]); then [`validate`] checks it against the action catalog
//! and collects every problem as a [`Diagnostic`] at `path:line:col`. Only a file with no
//! error becomes a [`Playbook`]. Checks across files (duplicate ids, overlapping matches)
//! run in [`load_catalog`].

mod raw;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::actions::{ActionSpec, Category, Params, Value};
use crate::condition::Condition;
use crate::diag::{Diagnostic, Level, SourceFile};
use crate::finding::{Finding, Source, base_rule_name};
use crate::ids::{IdError, IdKind};
use crate::template::{MissingValue, Template};

pub use validate::parse;

/// How risky the playbook's author says it is. The engine still decides by action category
/// (DESIGN §5, invariant 2); `high` can only make a decision stricter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::High => "high",
        }
    }
}

/// Whether mutating calls are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    #[serde(rename = "enforce")]
    Enforce,
    #[serde(rename = "dry-run")]
    DryRun,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::DryRun => "dry-run",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which findings a playbook handles.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matcher {
    /// Empty: any resource type.
    pub resource_types: Vec<String>,
    pub config_rules: Vec<String>,
    pub securityhub_controls: Vec<String>,
    pub guardduty_types: Vec<String>,
    pub conditions: Vec<Condition>,
}

impl Matcher {
    /// Whether the finding's source and kind are among the triggers (ignores `where`).
    pub fn triggered_by(&self, finding: &Finding) -> bool {
        match finding.source {
            Source::Config => {
                let base = base_rule_name(&finding.kind);
                self.config_rules
                    .iter()
                    .any(|r| *r == finding.kind || *r == base)
            }
            Source::Securityhub => self.securityhub_controls.contains(&finding.kind),
            Source::Guardduty => self.guardduty_types.contains(&finding.kind),
        }
    }

    pub fn matches(&self, finding: &Finding) -> bool {
        (self.resource_types.is_empty() || self.resource_types.contains(&finding.resource.kind))
            && self.triggered_by(finding)
            && self.conditions.iter().all(|c| c.holds(finding))
    }
}

/// Where a parameter's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamSource {
    /// Fixed in the playbook (or the action's default).
    Fixed(Value),
    /// A string template, checked against the identifier kind once rendered.
    Template(Template, IdKind),
    /// A list of string templates, each checked once rendered.
    TemplateList(Vec<Template>, IdKind),
    /// Set by the operator in the fleet config's `[parameters]` (`{ config = "name" }`),
    /// else the action's default.
    FromConfig {
        name: String,
        ty: crate::actions::ParamType,
        default: Option<Value>,
        /// Line and column in the playbook, for `check`.
        at: (usize, usize),
    },
}

/// Operator-set values: the fleet config's `[parameters]` table.
pub type Parameters = BTreeMap<String, toml::Value>;

/// One step: an action and its parameters.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: &'static ActionSpec,
    pub params: BTreeMap<String, ParamSource>,
}

/// A step rendered for one finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderedStep {
    pub action: String,
    pub params: Params,
}

impl RenderedStep {
    pub fn spec(&self) -> Option<&'static ActionSpec> {
        crate::actions::lookup(&self.action)
    }
}

/// Why a step could not be rendered for a finding. Never an empty value sent on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("step {step} ({action}), parameter `{param}`: {source}")]
    Missing {
        step: usize,
        action: &'static str,
        param: String,
        source: MissingValue,
    },
    #[error(
        "step {step} ({action}), parameter `{param}`: the fleet config sets no `[parameters] {name}` and the action has no default"
    )]
    NoParameter {
        step: usize,
        action: &'static str,
        param: String,
        name: String,
    },
    #[error("step {step} ({action}), parameter `{param}`: `[parameters] {name}` {why}")]
    BadParameter {
        step: usize,
        action: &'static str,
        param: String,
        name: String,
        why: String,
    },
    #[error("step {step} ({action}), parameter `{param}`: {source}")]
    Invalid {
        step: usize,
        action: &'static str,
        param: String,
        source: IdError,
    },
}

impl Step {
    /// Renders the parameters for `finding` and checks each rendered identifier.
    pub fn render(
        &self,
        index: usize,
        finding: &Finding,
        parameters: &Parameters,
    ) -> Result<RenderedStep, RenderError> {
        let action = self.action.id;
        let mut params = Params::new();
        for (name, source) in &self.params {
            let missing = |source| RenderError::Missing {
                step: index + 1,
                action,
                param: name.clone(),
                source,
            };
            let invalid = |source| RenderError::Invalid {
                step: index + 1,
                action,
                param: name.clone(),
                source,
            };
            let value = match source {
                ParamSource::Fixed(v) => v.clone(),
                ParamSource::Template(t, kind) => {
                    let s = t.render(finding).map_err(missing)?;
                    kind.check(&s).map_err(invalid)?;
                    Value::Str(s)
                }
                ParamSource::TemplateList(ts, kind) => {
                    let mut out = Vec::with_capacity(ts.len());
                    for t in ts {
                        let s = t.render(finding).map_err(missing)?;
                        kind.check(&s).map_err(invalid)?;
                        out.push(s);
                    }
                    Value::StrList(out)
                }
                ParamSource::FromConfig {
                    name: key,
                    ty,
                    default,
                    ..
                } => match (parameters.get(key), default) {
                    (Some(v), _) => {
                        crate::actions::coerce(*ty, v).map_err(|why| RenderError::BadParameter {
                            step: index + 1,
                            action,
                            param: name.clone(),
                            name: key.clone(),
                            why,
                        })?
                    }
                    (None, Some(d)) => d.clone(),
                    (None, None) => {
                        return Err(RenderError::NoParameter {
                            step: index + 1,
                            action,
                            param: name.clone(),
                            name: key.clone(),
                        });
                    }
                },
            };
            params.insert(name.clone(), value);
        }
        Ok(RenderedStep {
            action: action.to_owned(),
            params,
        })
    }
}

/// A validated playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    pub id: String,
    pub title: String,
    pub description: String,
    pub risk: Risk,
    /// `Some(DryRun)` shadows a new playbook; `None` follows the fleet.
    pub mode: Option<Mode>,
    pub priority: i64,
    pub matcher: Matcher,
    pub steps: Vec<Step>,
    /// Ask Config to re-evaluate the rule after a verified fix (best effort).
    pub config_reevaluate: bool,
    /// The file it was loaded from and the sha256 of its bytes, for evidence.
    pub path: PathBuf,
    pub sha256: String,
}

impl Playbook {
    /// Renders every step for `finding`.
    pub fn render(
        &self,
        finding: &Finding,
        parameters: &Parameters,
    ) -> Result<Vec<RenderedStep>, RenderError> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| s.render(i, finding, parameters))
            .collect()
    }

    /// The categories of the steps, most restrictive first, without repeats.
    pub fn categories(&self) -> Vec<Category> {
        let mut c: Vec<Category> = self.steps.iter().map(|s| s.action.category).collect();
        c.sort_by_key(|c| c.may_run_unattended());
        c.dedup();
        c
    }

    /// Whether every step can be reverted exactly.
    pub fn reversible(&self) -> bool {
        self.steps.iter().all(|s| s.action.reversible)
    }
}

/// The loaded catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Sorted by id.
    pub playbooks: Vec<Playbook>,
}

/// The playbook chosen for a finding.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    pub playbook: &'a Playbook,
    /// Other playbooks that matched with the same priority (a run-time overlap that
    /// `check` could not see): the first by id wins and this is logged.
    pub tied_with: usize,
}

impl Catalog {
    pub fn get(&self, id: &str) -> Option<&Playbook> {
        self.playbooks.iter().find(|p| p.id == id)
    }

    /// The one playbook that handles `finding`: the matching one with the highest priority,
    /// the first by id among equals.
    pub fn select(&self, finding: &Finding) -> Option<Selection<'_>> {
        let mut best: Option<&Playbook> = None;
        let mut ties = 0;
        for p in self.playbooks.iter().filter(|p| p.matcher.matches(finding)) {
            match best {
                Some(b) if p.priority < b.priority => {}
                Some(b) if p.priority == b.priority => ties += 1,
                _ => {
                    best = Some(p);
                    ties = 0;
                }
            }
        }
        best.map(|playbook| Selection {
            playbook,
            tied_with: ties,
        })
    }
}

/// Loads every `*.toml` file under `dir` (not recursive), then checks across files.
/// Returns the valid playbooks and every diagnostic; a file with an error is left out.
pub fn load_catalog(dir: &Path) -> Result<(Catalog, Vec<Diagnostic>), std::io::Error> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        files.push((path, text));
    }
    Ok(load_sources(&files))
}

/// [`load_catalog`] over files already read: `(path, text)`.
pub fn load_sources(files: &[(PathBuf, String)]) -> (Catalog, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut parsed = Vec::new();
    for (path, text) in files {
        let src = SourceFile::new(path, text);
        match parse(src) {
            Ok((p, spans, mut warnings)) => {
                diags.append(&mut warnings);
                parsed.push((p, spans, src));
            }
            Err(mut d) => diags.append(&mut d),
        }
    }
    validate::across_files(&parsed, &mut diags);
    let mut playbooks: Vec<Playbook> = parsed.into_iter().map(|(p, _, _)| p).collect();
    // A duplicated id keeps only its first file, so selection stays well defined.
    playbooks.sort_by(|a, b| a.id.cmp(&b.id).then(a.path.cmp(&b.path)));
    playbooks.dedup_by(|b, a| a.id == b.id);
    diags.sort_by(|a, b| (a.level, &a.path, a.line, a.col).cmp(&(b.level, &b.path, b.line, b.col)));
    (Catalog { playbooks }, diags)
}

/// Whether any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.level == Level::Error)
}
