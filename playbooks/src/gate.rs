//! The gate: (finding, playbook, config, exceptions, now) → decision and reason.
//!
//! Pure, so every rule is tested directly (DESIGN §5):
//! - invariant 2: `auto` only for a low-risk playbook whose steps are all of category
//!   `config` or `forensic` and reversible; `iam` and `exposure` steps need approval unless
//!   the operator lists the playbook in `[gate] auto`; an irreversible step always does.
//! - invariant 6: an exception exempts its resource until it expires; an expired one no
//!   longer does, and the reason says so.
//! - dry-run (fleet or playbook) turns whatever would happen into `dry-run`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::exceptions::Exception;
use crate::finding::Finding;
use crate::playbook::{Mode, Playbook, Risk};

/// What happens to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Fixed at once, without a human.
    Auto,
    /// Held for an approver's click.
    Approval,
    /// Everything but the mutating calls.
    DryRun,
    /// Nothing to act on (compliant, sample, archived, unsupported…).
    Ignore,
    /// An active exception covers the resource.
    Exempt,
    /// No playbook handles it.
    NoMatch,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Auto => "auto",
            Decision::Approval => "approval",
            Decision::DryRun => "dry-run",
            Decision::Ignore => "ignore",
            Decision::Exempt => "exempt",
            Decision::NoMatch => "no-match",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gated {
    pub decision: Decision,
    /// Why, in words an approver or auditor can read.
    pub reason: String,
    /// For `dry-run`: what the decision would have been in enforce mode.
    pub would_be: Option<Decision>,
    /// Whether `[gate] auto` lifted an approval requirement (evidence records it).
    pub operator_opt_in: bool,
}

impl Gated {
    fn new(decision: Decision, reason: String) -> Self {
        Gated {
            decision,
            reason,
            would_be: None,
            operator_opt_in: false,
        }
    }
}

/// Decides what happens to `finding` handled by `playbook` (`None`: no playbook matched).
/// `fleet_mode` is the config's mode, or dry-run when the worker runs with `--dry-run` or
/// the kill switch is on.
pub fn decide(
    finding: &Finding,
    playbook: Option<&Playbook>,
    config: &Config,
    fleet_mode: Mode,
    exceptions: &[Exception],
    now: DateTime<Utc>,
) -> Gated {
    if let Some(why) = &finding.ignore {
        return Gated::new(Decision::Ignore, why.clone());
    }
    let Some(playbook) = playbook else {
        return Gated::new(
            Decision::NoMatch,
            format!(
                "no playbook handles {} `{}` on {}",
                finding.source, finding.kind, finding.resource.kind
            ),
        );
    };

    let mut notes = Vec::new();
    for e in exceptions
        .iter()
        .filter(|e| e.covers(finding, &playbook.id))
    {
        if e.is_expired(now) {
            notes.push(format!(
                "an exception for {} (owner {}) expired at {} and no longer exempts it",
                e.resource,
                e.owner,
                e.expires.to_rfc3339()
            ));
        } else {
            return Gated::new(
                Decision::Exempt,
                format!(
                    "exception for {} from {} until {}, owner {}: {}",
                    e.resource,
                    if e.playbook == "*" {
                        "every playbook".to_owned()
                    } else {
                        format!("`{}`", e.playbook)
                    },
                    e.expires.to_rfc3339(),
                    e.owner,
                    e.justification
                ),
            );
        }
    }

    let mut gated = enforce_decision(playbook, config);
    let dry_run = match (fleet_mode, playbook.mode) {
        (Mode::DryRun, _) => Some("the fleet runs in dry-run mode"),
        (_, Some(Mode::DryRun)) => Some("the playbook is in dry-run mode"),
        _ => None,
    };
    if let Some(why) = dry_run {
        gated = Gated {
            decision: Decision::DryRun,
            reason: format!(
                "dry-run: {why}; otherwise {}: {}",
                gated.decision, gated.reason
            ),
            would_be: Some(gated.decision),
            operator_opt_in: gated.operator_opt_in,
        };
    }
    if !notes.is_empty() {
        gated.reason = format!("{}; {}", gated.reason, notes.join("; "));
    }
    gated
}

/// auto or approval, by invariant 2 (what the gate decides for a playbook in enforce mode).
pub fn enforce_decision(playbook: &Playbook, config: &Config) -> Gated {
    let irreversible: Vec<String> = playbook
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.action.reversible)
        .map(|(i, s)| format!("step {} ({}) cannot be reverted", i + 1, s.action.id))
        .collect();
    if !irreversible.is_empty() {
        // Not even the operator can make an irreversible change unattended.
        return Gated::new(
            Decision::Approval,
            format!("needs approval: {}", irreversible.join("; ")),
        );
    }
    let mut needs = Vec::new();
    if playbook.risk == Risk::High {
        needs.push("the playbook's risk is high".to_owned());
    }
    for (i, s) in playbook.steps.iter().enumerate() {
        if !s.action.category.may_run_unattended() {
            needs.push(format!(
                "step {} ({}) is of category {}",
                i + 1,
                s.action.id,
                s.action.category
            ));
        }
    }
    if needs.is_empty() {
        return Gated::new(
            Decision::Auto,
            "low risk, and every step is reversible configuration or forensic work".to_owned(),
        );
    }
    if config.gate.auto.contains(&playbook.id) {
        return Gated {
            decision: Decision::Auto,
            reason: format!(
                "the operator lets `{}` run without approval ([gate] auto), although {}",
                playbook.id,
                needs.join(" and ")
            ),
            would_be: None,
            operator_opt_in: true,
        };
    }
    Gated::new(
        Decision::Approval,
        format!("needs approval: {}", needs.join(" and ")),
    )
}
