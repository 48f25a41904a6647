//! Plans: what would happen to each finding of an event, and why (`redress plan`).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actions::{Category, Params};
use crate::config::Config;
use crate::exceptions::Exception;
use crate::finding::{Finding, Source};
use crate::gate::{self, Decision};
use crate::intake::Decoded;
use crate::playbook::{Catalog, Mode};

/// The finding as plan JSON shows it (DESIGN §4), plus a few fields a reader wants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFinding {
    pub source: Source,
    pub kind: String,
    pub account: String,
    pub region: String,
    pub resource_type: String,
    pub resource_id: String,
    pub resource_arn: Option<String>,
    pub severity: Option<f64>,
    pub event_id: String,
}

impl From<&Finding> for PlanFinding {
    fn from(f: &Finding) -> Self {
        PlanFinding {
            source: f.source,
            kind: f.kind.clone(),
            account: f.account.to_string(),
            region: f.region.to_string(),
            resource_type: f.resource.kind.clone(),
            resource_id: f.resource.id.clone(),
            resource_arn: f.resource.arn.clone(),
            severity: f.severity,
            event_id: f.event_id.clone(),
        }
    }
}

/// One planned step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanStep {
    pub action: String,
    pub params: Params,
    pub category: Category,
    /// What the step changes, in words.
    pub description: String,
}

/// The plan for one finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub finding: Option<PlanFinding>,
    pub decision: Decision,
    pub playbook: Option<String>,
    pub reason: String,
    pub steps: Vec<PlanStep>,
    /// For `dry-run`: the decision in enforce mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_be: Option<Decision>,
    /// Set when the operator's `[gate] auto` lifted an approval requirement.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub operator_opt_in: bool,
    /// Set when the playbook's steps cannot be rendered for this finding (a template names
    /// a value the finding lacks, or a rendered value is not a valid identifier): nothing
    /// would be done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub playbook_title: Option<String>,
}

/// Everything a plan needs besides the event.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub catalog: &'a Catalog,
    pub config: &'a Config,
    pub fleet_mode: Mode,
    pub exceptions: &'a [Exception],
    pub now: DateTime<Utc>,
}

/// Plans one finding.
pub fn plan_finding(finding: &Finding, cx: Context<'_>) -> Plan {
    // Stage spans for the worker's traces (no-ops without a subscriber).
    let span = tracing::info_span!("match", redress.playbook = tracing::field::Empty);
    let selection = span.in_scope(|| {
        if finding.ignore.is_none() {
            cx.catalog.select(finding)
        } else {
            None
        }
    });
    let playbook = selection.map(|s| s.playbook);
    if let Some(p) = playbook {
        span.record("redress.playbook", p.id.as_str());
    }
    let span = tracing::info_span!("gate", redress.decision = tracing::field::Empty);
    let gated = span.in_scope(|| {
        gate::decide(
            finding,
            playbook,
            cx.config,
            cx.fleet_mode,
            cx.exceptions,
            cx.now,
        )
    });
    span.record("redress.decision", gated.decision.as_str());
    let mut plan = Plan {
        finding: Some(finding.into()),
        decision: gated.decision,
        playbook: playbook.map(|p| p.id.clone()),
        reason: gated.reason,
        steps: Vec::new(),
        would_be: gated.would_be,
        operator_opt_in: gated.operator_opt_in,
        error: None,
        playbook_title: playbook.map(|p| p.title.clone()),
    };
    if let Some(s) = selection.filter(|s| s.tied_with > 0) {
        plan.reason.push_str(&format!(
            "; {} other playbook(s) also match with priority {}: `{}` wins as first by id",
            s.tied_with, s.playbook.priority, s.playbook.id
        ));
    }
    let acts = matches!(
        plan.decision,
        Decision::Auto | Decision::Approval | Decision::DryRun
    );
    if let (Some(p), true) = (playbook, acts) {
        match p.render(finding, &cx.config.parameters) {
            Ok(steps) => {
                plan.steps = steps
                    .into_iter()
                    .filter_map(|s| {
                        let spec = s.spec()?;
                        Some(PlanStep {
                            description: (spec.describe)(&s.params),
                            category: spec.category,
                            action: s.action,
                            params: s.params,
                        })
                    })
                    .collect();
            }
            Err(e) => plan.error = Some(format!("cannot plan `{}` for this finding: {e}", p.id)),
        }
    }
    plan
}

/// Plans every finding of a decoded message; a message with none gets one `ignore` plan.
pub fn plan_message(decoded: &Decoded, cx: Context<'_>) -> Vec<Plan> {
    if decoded.findings.is_empty() {
        return vec![Plan {
            finding: None,
            decision: Decision::Ignore,
            playbook: None,
            reason: decoded
                .ignored
                .clone()
                .unwrap_or_else(|| "the message carries no finding".to_owned()),
            steps: Vec::new(),
            would_be: None,
            operator_opt_in: false,
            error: None,
            playbook_title: None,
        }];
    }
    decoded
        .findings
        .iter()
        .map(|f| plan_finding(f, cx))
        .collect()
}

/// The human-readable form of a plan.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    match &plan.finding {
        Some(f) => {
            let _ = writeln!(out, "Finding   {} {}", f.source, f.kind);
            let _ = writeln!(
                out,
                "Resource  {} {}{}",
                f.resource_type,
                f.resource_id,
                f.resource_arn
                    .as_deref()
                    .filter(|a| *a != f.resource_id)
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default()
            );
            let _ = writeln!(out, "Where     account {}, {}", f.account, f.region);
            if let Some(s) = f.severity {
                let _ = writeln!(out, "Severity  {s}");
            }
        }
        None => {
            let _ = writeln!(out, "Finding   none");
        }
    }
    if let Some(id) = &plan.playbook {
        match &plan.playbook_title {
            Some(t) => {
                let _ = writeln!(out, "Playbook  {id}: {t}");
            }
            None => {
                let _ = writeln!(out, "Playbook  {id}");
            }
        }
    }
    let _ = writeln!(out, "Decision  {}", plan.decision);
    let _ = writeln!(out, "Why       {}", plan.reason);
    if let Some(e) = &plan.error {
        let _ = writeln!(out, "Error     {e}");
    }
    if !plan.steps.is_empty() {
        let _ = writeln!(out, "Steps");
        for (i, s) in plan.steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {} [{}]", i + 1, s.action, s.category);
            for (k, v) in &s.params {
                let _ = writeln!(out, "       {k} = {v}");
            }
            let _ = writeln!(out, "     {}", s.description);
        }
    }
    out
}
