//! Rollback: restore the before-state of a recorded fix, gated and recorded like a fix.

use chrono::Utc;
use redress_playbooks::gate::Decision;
use redress_playbooks::playbook::Mode;
use tracing::info;

use crate::actions::{self, Ctx};
use crate::evidence::{Evidence, Outcome, new_id};
use crate::executor::{Engine, ExecError, WORKER, cli_approval};

/// Why a rollback did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("no evidence record has id {0}")]
    NotFound(String),
    #[error(
        "record {id} is {outcome}: only a fix that made calls (fixed or verify-failed) can be rolled back"
    )]
    NothingToRevert { id: String, outcome: &'static str },
    #[error("record {0} was made in dry-run: nothing was changed")]
    DryRun(String),
    #[error(
        "rolling back `{playbook}` changes {why}: it needs approval; name the approver with --approved-by USER"
    )]
    NeedsApproval { playbook: String, why: String },
    #[error("record {id} was already rolled back by record {by}")]
    AlreadyRolledBack { id: String, by: String },
    #[error("record {id} is damaged: {why}")]
    Damaged { id: String, why: String },
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl Engine {
    /// Finds a record by id.
    pub async fn find_evidence(&self, id: &str) -> Result<Evidence, RollbackError> {
        let suffix = format!("/{id}.json");
        let keys = self.store.list("evidence/").await?;
        let Some(key) = keys.iter().find(|k| k.ends_with(&suffix)) else {
            return Err(RollbackError::NotFound(id.to_owned()));
        };
        let bytes = self
            .store
            .get(key)
            .await?
            .ok_or_else(|| RollbackError::NotFound(id.to_owned()))?;
        Evidence::verify_bytes(&bytes).map_err(|e| RollbackError::Damaged {
            id: id.to_owned(),
            why: e.to_string(),
        })
    }

    /// Reverts the steps of record `id` in reverse order and records the rollback.
    pub async fn rollback(
        &self,
        id: &str,
        approved_by: Option<&str>,
    ) -> Result<Evidence, RollbackError> {
        let original = self.find_evidence(id).await?;
        if original.mode == Mode::DryRun.as_str() {
            return Err(RollbackError::DryRun(id.to_owned()));
        }
        if !matches!(original.outcome, Outcome::Fixed | Outcome::VerifyFailed)
            || original.calls.is_empty()
        {
            return Err(RollbackError::NothingToRevert {
                id: id.to_owned(),
                outcome: original.outcome.as_str(),
            });
        }
        // The same gate as the fix: what needed a human to apply needs one to undo.
        let needs_human = original.decision == Decision::Approval
            || original.operator_opt_in
            || original
                .steps
                .iter()
                .any(|s| s.category == "iam" || s.category == "exposure");
        if needs_human && approved_by.is_none() {
            return Err(RollbackError::NeedsApproval {
                playbook: original
                    .playbook
                    .as_ref()
                    .map_or_else(|| "?".to_owned(), |p| p.id.clone()),
                why: "IAM or network exposure".to_owned(),
            });
        }
        let marker = format!("rollbacks/{id}.json");
        let rollback_id = new_id();
        if !self.store.create(&marker, rollback_id.as_bytes()).await? {
            let by = self
                .store
                .get(&marker)
                .await?
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            return Err(RollbackError::AlreadyRolledBack {
                id: id.to_owned(),
                by,
            });
        }
        let started = (self.clock)();
        self.refresh_pause().await;
        let dry_run = self.fleet_mode() == Mode::DryRun;
        let finding = original.finding.as_ref().map(|f| &f.finding);
        let field = |k: &str| {
            finding
                .and_then(|f| f.get(k))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let (account, region) = (field("account"), field("region"));
        let playbook = original
            .playbook
            .as_ref()
            .map_or_else(String::new, |p| p.id.clone());
        let mut record = Evidence {
            id: rollback_id.clone(),
            decision: if needs_human {
                Decision::Approval
            } else {
                Decision::Auto
            },
            mode: if dry_run { "dry-run" } else { "enforce" }.to_owned(),
            outcome: Outcome::Failed,
            reason: format!("rollback of {id}"),
            approval: approved_by.map(|by| cli_approval(by, started)),
            calls: Vec::new(),
            after: None,
            verified: false,
            error: None,
            rollback_of: Some(id.to_owned()),
            resumed: None,
            started_at: started,
            finished_at: started,
            worker: WORKER.to_owned(),
            trace_id: crate::telemetry::trace_id(),
            digest: String::new(),
            ..original.clone()
        };
        let partition = original
            .finding
            .as_ref()
            .and_then(|f| f.finding.get("resource_arn"))
            .and_then(|a| a.as_str())
            .and_then(|a| a.split(':').nth(1))
            .unwrap_or("aws")
            .to_owned();
        let result = async {
            let clients = self
                .factory
                .clients(&account, &region, &partition, &playbook)
                .await
                .map_err(|e| e.to_string())?;
            let remediation_id = rollback_id.clone();
            let ctx = Ctx {
                aws: &clients,
                remediation_id: &remediation_id,
                playbook_id: &playbook,
                event_id: &original
                    .finding
                    .as_ref()
                    .map_or_else(String::new, |f| f.event_id.clone()),
                finding_time: original.started_at,
                now: started,
            };
            let befores = original.before.as_array().cloned().unwrap_or_default();
            let mut calls = Vec::new();
            let mut after = Vec::new();
            let mut restored = true;
            for (i, step) in original.steps.iter().enumerate().rev() {
                let action = actions::implementation(&step.action)
                    .ok_or_else(|| format!("no implementation of `{}`", step.action))?;
                let params: redress_playbooks::actions::Params =
                    serde_json::from_value(step.params.clone()).map_err(|e| e.to_string())?;
                let before = befores.get(i).cloned().unwrap_or_default();
                if dry_run {
                    continue;
                }
                calls.extend(
                    action
                        .revert(&ctx, &params, &before)
                        .await
                        .map_err(|e| e.to_string())?,
                );
                let now_state = action
                    .capture(&ctx, &params)
                    .await
                    .map_err(|e| e.to_string())?;
                // Restored means: back to the compliance the resource had before the fix.
                restored &= action.compliant(&params, &now_state, &ctx)
                    == action.compliant(&params, &before, &ctx);
                after.push(now_state);
            }
            after.reverse();
            Ok::<_, String>((calls, after, restored))
        }
        .await;
        match result {
            Ok((calls, after, restored)) => {
                if dry_run {
                    record.outcome = Outcome::WouldFix;
                } else {
                    record.calls = calls;
                    record.after = Some(serde_json::Value::Array(after));
                    record.verified = restored;
                    record.outcome = if restored {
                        Outcome::Fixed
                    } else {
                        Outcome::VerifyFailed
                    };
                }
            }
            Err(e) => record.error = Some(e),
        }
        record.finished_at = Utc::now();
        let record = record.seal();
        let bytes = serde_json::to_vec_pretty(&record).map_err(ExecError::from)?;
        self.store.create(&record.key(), &bytes).await?;
        crate::telemetry::recorded(&record);
        info!(message = "Rollback recorded.", evidence = %record.id, of = id, outcome = record.outcome.as_str());
        Ok(record)
    }
}
