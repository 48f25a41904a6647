//! The worker's side of approvals (DESIGN §1, approval path; §5 invariants 1 and 5):
//! post held requests to Slack, act on decisions, expire what nobody decided.
//!
//! The queue only says "request X was decided". The worker acts on the decision record in
//! the store, never on the message alone, re-captures the resource, and applies only if the
//! plan it would apply now hashes to what the approver approved.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use redress_approvals::{
    ApprovalRequest, Backend, BackendError, DecisionRecord, Job, MessageRef, SlackApi, Verdict,
    blocks, decision_key, message_key, plan_hash, request_key,
};
use redress_playbooks::finding::Finding;
use redress_playbooks::gate::Decision;
use redress_playbooks::plan::{Plan, PlanFinding};
use redress_playbooks::playbook::Mode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{error, info, warn};

use crate::actions::{self, Action, Ctx, State};
use crate::evidence::{
    ApprovalRef, Evidence, EvidenceFinding, Outcome, PlaybookRef, SCHEMA, new_id,
};
use crate::executor::{Engine, ExecError, FindingResult, MessageResult, WORKER};
use crate::store::Store;

/// Points from a (resource, playbook) to its pending request, so a repeat finding does not
/// open a second request while one is pending.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    request: String,
}

fn pending_key(f: &PlanFinding, playbook: &str) -> String {
    let text = format!(
        "{}\n{}\n{}\n{}\n{}",
        f.account, f.region, f.resource_type, f.resource_id, playbook
    );
    format!(
        "approvals/pending/{}.json",
        hex::encode(Sha256::digest(text.as_bytes()))
    )
}

fn executed_key(id: &str) -> String {
    format!("approvals/executed/{id}.json")
}

impl Engine {
    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        key: &str,
    ) -> Result<Option<T>, ExecError> {
        Ok(self
            .store
            .get(key)
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// The request still pending for this resource and playbook, if any.
    pub(crate) async fn pending_request(
        &self,
        f: &PlanFinding,
        playbook: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApprovalRequest>, ExecError> {
        let key = pending_key(f, playbook);
        let Some(p) = self.get_json::<Pending>(&key).await? else {
            return Ok(None);
        };
        let request = self
            .get_json::<ApprovalRequest>(&request_key(&p.request))
            .await?;
        let decided = self.store.get(&decision_key(&p.request)).await?.is_some();
        match request {
            Some(r) if !decided && now < r.expires_at => Ok(Some(r)),
            // Decided or expired: the index is stale; clear it so a new request can open.
            _ => {
                self.store.delete(&key).await?;
                Ok(None)
            }
        }
    }

    /// Stores a new request (and its pending index) and posts it to Slack.
    pub(crate) async fn open_request(
        &self,
        f: &Finding,
        mut request: ApprovalRequest,
    ) -> Result<(), ExecError> {
        let finding = PlanFinding::from(f);
        if let Some(slack_cfg) = &self.config.slack {
            let route = redress_approvals::routing::route(slack_cfg, &f.tags, f.account.as_str());
            request.channel = Some(route.channel);
        }
        self.store
            .create(
                &request_key(&request.id),
                &serde_json::to_vec_pretty(&request)?,
            )
            .await?;
        let pending = serde_json::to_vec(&Pending {
            request: request.id.clone(),
        })?;
        self.store
            .create(&pending_key(&finding, &request.playbook), &pending)
            .await?;
        info!(message = "Held for approval.", request = %request.id, playbook = %request.playbook);
        if let (Some(slack), Some(channel)) = (&self.slack, &request.channel) {
            let (text, blocks) = blocks::request_message(&request);
            match slack.post(channel, &text, &blocks, None).await {
                Ok(m) => {
                    self.store
                        .create(&message_key(&request.id), &serde_json::to_vec(&m)?)
                        .await?;
                }
                // The request stands without its message; the log says why. An approver can
                // still be pointed at it, and the sweep expires it in time.
                Err(e) => {
                    error!(message = "Failed to post the approval request to Slack.", request = %request.id, error = %e)
                }
            }
        }
        Ok(())
    }

    /// A repeat of a pending request's finding: a note in the request's thread.
    pub(crate) async fn note_repeat(&self, request: &ApprovalRequest, event_id: &str) {
        let Some(slack) = &self.slack else { return };
        let Ok(Some(m)) = self.get_json::<MessageRef>(&message_key(&request.id)).await else {
            return;
        };
        let (text, blocks) = blocks::repeat_note(request, event_id);
        if let Err(e) = slack.post(&m.channel, &text, &blocks, Some(&m.ts)).await {
            warn!(message = "Failed to note a repeat in Slack.", request = %request.id, error = %e);
        }
    }

    /// In dry-run, what would have needed approval is posted as a change review.
    pub(crate) async fn post_review(&self, f: &Finding, request: &ApprovalRequest) {
        let (Some(slack), Some(slack_cfg)) = (&self.slack, &self.config.slack) else {
            return;
        };
        let route = redress_approvals::routing::route(slack_cfg, &f.tags, f.account.as_str());
        let (text, blocks) = blocks::review_message(request);
        if let Err(e) = slack.post(&route.channel, &text, &blocks, None).await {
            warn!(message = "Failed to post the change review to Slack.", error = %e);
        }
    }

    async fn thread_reply(&self, request: &ApprovalRequest, outcome: &str, detail: &str) {
        let Some(slack) = &self.slack else { return };
        let Ok(Some(m)) = self.get_json::<MessageRef>(&message_key(&request.id)).await else {
            return;
        };
        let (text, blocks) = blocks::outcome_message(request, outcome, detail);
        if let Err(e) = slack.post(&m.channel, &text, &blocks, Some(&m.ts)).await {
            warn!(message = "Failed to post the outcome to Slack.", request = %request.id, error = %e);
        }
    }

    async fn update_message(&self, request: &ApprovalRequest, decision: &DecisionRecord) {
        let Some(slack) = &self.slack else { return };
        let Ok(Some(m)) = self.get_json::<MessageRef>(&message_key(&request.id)).await else {
            return;
        };
        let (text, blocks) = blocks::decided_message(request, decision);
        if let Err(e) = slack.update(&m, &text, &blocks).await {
            warn!(message = "Failed to update the Slack message.", request = %request.id, error = %e);
        }
    }

    /// Handles a decision job from the queue.
    pub(crate) async fn handle_job(&self, job: &Job) -> Result<MessageResult, ExecError> {
        let Some(decision) = self
            .get_json::<DecisionRecord>(&decision_key(&job.request))
            .await?
        else {
            // The queue is not an authority: without a decision record nothing happens.
            error!(message = "Refused a decision job with no decision record in the store.", request = %job.request);
            return Ok(MessageResult::Done(Vec::new()));
        };
        let result = self.execute_decision(&decision).await?;
        Ok(match result {
            Some(r @ FindingResult::Retry(_)) => MessageResult::Again(vec![r]),
            Some(r) => MessageResult::Done(vec![r]),
            None => MessageResult::Done(Vec::new()),
        })
    }

    /// Acts on a decision once (an `executed` marker makes repeats no-ops).
    pub(crate) async fn execute_decision(
        &self,
        decision: &DecisionRecord,
    ) -> Result<Option<FindingResult>, ExecError> {
        let id = &decision.request;
        if let Some(done) = self
            .get_json::<serde_json::Value>(&executed_key(id))
            .await?
        {
            let evidence = done["evidence"].as_str().unwrap_or_default().to_owned();
            return Ok(Some(FindingResult::Duplicate { evidence }));
        }
        let Some(request) = self.get_json::<ApprovalRequest>(&request_key(id)).await? else {
            error!(message = "Decision names an unknown request.", request = %id);
            return Ok(None);
        };
        let started = (self.clock)();
        let mut record = self.decision_evidence(&request, decision, started);
        let detail = match decision.verdict {
            Verdict::Reject => {
                record.outcome = Outcome::Rejected;
                format!("rejected by {}; nothing was changed", decision.by)
            }
            Verdict::Expire => {
                record.outcome = Outcome::Expired;
                "nobody decided before the request expired; nothing was changed".to_owned()
            }
            Verdict::Approve => {
                if decision.plan_hash != request.plan_hash {
                    record.outcome = Outcome::Failed;
                    record.error = Some(
                        "the decision's plan hash is not the request's; nothing was applied"
                            .to_owned(),
                    );
                } else {
                    self.apply_approved(&request, decision, &mut record).await;
                }
                record
                    .error
                    .clone()
                    .unwrap_or_else(|| format!("verified: {}", record.verified))
            }
        };
        if record.outcome == Outcome::Failed
            && record
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("retry:"))
        {
            record.error = record
                .error
                .map(|e| e.trim_start_matches("retry:").trim().to_owned());
            let record = record.finish(&self.clock).seal();
            self.store
                .create(&record.key(), &serde_json::to_vec_pretty(&record)?)
                .await?;
            crate::telemetry::recorded(&record);
            return Ok(Some(FindingResult::Retry(Box::new(record))));
        }
        let record = record.finish(&self.clock).seal();
        self.store
            .create(&record.key(), &serde_json::to_vec_pretty(&record)?)
            .await?;
        crate::telemetry::recorded(&record);
        self.store
            .create(
                &executed_key(id),
                &serde_json::to_vec(&serde_json::json!({"evidence": record.id}))?,
            )
            .await?;
        if let Ok(finding) = serde_json::from_value::<PlanFinding>(request.finding.clone()) {
            let _ = self
                .store
                .delete(&pending_key(&finding, &request.playbook))
                .await;
        }
        info!(
            message = "Decision carried out.",
            request = %id,
            verdict = decision.verdict.as_str(),
            outcome = record.outcome.as_str(),
            evidence = %record.id
        );
        if decision.verdict == Verdict::Expire {
            self.update_message(&request, decision).await;
        }
        self.thread_reply(&request, record.outcome.as_str(), &detail)
            .await;
        Ok(Some(FindingResult::Recorded(Box::new(record))))
    }

    fn decision_evidence(
        &self,
        request: &ApprovalRequest,
        decision: &DecisionRecord,
        started: DateTime<Utc>,
    ) -> Evidence {
        Evidence {
            schema: SCHEMA,
            id: new_id(),
            finding: serde_json::from_value::<PlanFinding>(request.finding.clone())
                .ok()
                .map(|pf| EvidenceFinding::new(&pf, request.id.as_bytes())),
            playbook: Some(PlaybookRef {
                id: request.playbook.clone(),
                sha256: request.playbook_sha256.clone(),
            }),
            decision: Decision::Approval,
            mode: Mode::Enforce.as_str().to_owned(),
            outcome: Outcome::Failed,
            reason: format!("request {}: {}", request.id, request.reason),
            operator_opt_in: false,
            approval: (decision.verdict != Verdict::Expire).then(|| ApprovalRef {
                request: request.id.clone(),
                by: decision.by.clone(),
                at: decision.at,
            }),
            steps: request
                .steps
                .iter()
                .map(|s| crate::evidence::StepRecord {
                    action: s.action.clone(),
                    params: serde_json::to_value(&s.params).unwrap_or_default(),
                    category: s.category.as_str().to_owned(),
                    description: s.description.clone(),
                })
                .collect(),
            before: serde_json::Value::Null,
            calls: Vec::new(),
            after: None,
            verified: false,
            error: None,
            rollback_of: None,
            resumed: None,
            started_at: started,
            finished_at: started,
            worker: WORKER.to_owned(),
            trace_id: crate::telemetry::trace_id(),
            digest: String::new(),
        }
    }

    /// Re-captures, checks the plan is still the approved one, applies, verifies.
    async fn apply_approved(
        &self,
        request: &ApprovalRequest,
        decision: &DecisionRecord,
        record: &mut Evidence,
    ) {
        let Ok(finding) = serde_json::from_value::<PlanFinding>(request.finding.clone()) else {
            record.error = Some("the request's finding cannot be read".to_owned());
            return;
        };
        let Some(playbook) = self.catalog.get(&request.playbook) else {
            record.error = Some(format!(
                "playbook `{}` is no longer loaded; nothing was applied",
                request.playbook
            ));
            return;
        };
        let partition = finding
            .resource_arn
            .as_deref()
            .and_then(|a| a.split(':').nth(1))
            .unwrap_or("aws")
            .to_owned();
        let clients = match self
            .factory
            .clients(
                &finding.account,
                &finding.region,
                &partition,
                &request.playbook,
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                record.error = Some(e.to_string());
                return;
            }
        };
        let remediation_id = record.id.clone();
        let ctx = Ctx {
            aws: &clients,
            remediation_id: &remediation_id,
            playbook_id: &request.playbook,
            event_id: &finding.event_id,
            finding_time: request.created_at,
            now: (self.clock)(),
        };
        let mut steps: Vec<(&'static dyn Action, &redress_playbooks::plan::PlanStep)> = Vec::new();
        for s in &request.steps {
            match actions::implementation(&s.action) {
                Some(a) => steps.push((a, s)),
                None => {
                    record.error = Some(format!("no implementation of `{}`", s.action));
                    return;
                }
            }
        }
        let mut before: Vec<State> = Vec::new();
        for (a, s) in &steps {
            match a.capture(&ctx, &s.params).await {
                Ok(st) => before.push(st),
                Err(e) => {
                    record.error = Some(retryable(&e));
                    return;
                }
            }
        }
        record.before = serde_json::Value::Array(before.clone());
        let compliant: Vec<bool> = steps
            .iter()
            .zip(&before)
            .map(|((a, s), b)| a.compliant(&s.params, b, &ctx))
            .collect();
        if compliant.iter().all(|c| *c) {
            record.outcome = Outcome::AlreadyCompliant;
            record.verified = true;
            return;
        }
        let step_params: Vec<(String, serde_json::Value)> = request
            .steps
            .iter()
            .map(|s| {
                (
                    s.action.clone(),
                    serde_json::to_value(&s.params).unwrap_or_default(),
                )
            })
            .collect();
        let now_hash = plan_hash(
            &playbook.id,
            &playbook.sha256,
            &finding,
            &step_params,
            &record.before,
        );
        if now_hash != decision.plan_hash {
            record.error = Some(
                "the resource or the playbook changed since the approval, so the plan it would apply now is not the one approved; nothing was applied (the next finding opens a new request)".to_owned(),
            );
            return;
        }
        if self.fleet_mode() == Mode::DryRun {
            // Approved, but the fleet is in dry-run now: dry-run never mutates.
            record.mode = Mode::DryRun.as_str().to_owned();
            for (((a, s), b), ok) in steps.iter().zip(&before).zip(&compliant) {
                if !*ok {
                    record.calls.extend(a.planned_calls(&s.params, b, &ctx));
                }
            }
            record.outcome = Outcome::WouldFix;
            return;
        }
        for (((a, s), b), ok) in steps.iter().zip(&before).zip(&compliant) {
            if *ok {
                continue;
            }
            match a.apply(&ctx, &s.params, b).await {
                Ok(calls) => record.calls.extend(calls),
                Err(e) => {
                    record.error = Some(e.to_string());
                    return;
                }
            }
        }
        let mut after = Vec::new();
        let mut verified = true;
        for (a, s) in &steps {
            match a.capture(&ctx, &s.params).await {
                Ok(st) => {
                    verified &= a.compliant(&s.params, &st, &ctx);
                    after.push(st);
                }
                Err(e) => {
                    record.error = Some(e.to_string());
                    record.after = Some(serde_json::Value::Array(after));
                    return;
                }
            }
        }
        record.after = Some(serde_json::Value::Array(after));
        record.verified = verified;
        record.outcome = if verified {
            Outcome::Fixed
        } else {
            Outcome::VerifyFailed
        };
    }

    /// Expires requests nobody decided in time, and carries out decisions whose job was
    /// lost (the endpoint wrote the decision but could not enqueue). Returns how many
    /// requests it expired.
    pub async fn sweep(&self) -> Result<usize, ExecError> {
        let now = (self.clock)();
        let (mut expired, mut pending) = (0, 0);
        for key in self.store.list("approvals/requests/").await? {
            let Some(request) = self.get_json::<ApprovalRequest>(&key).await? else {
                continue;
            };
            match self
                .get_json::<DecisionRecord>(&decision_key(&request.id))
                .await?
            {
                Some(d) => {
                    let stuck = now.signed_duration_since(d.at) > chrono::Duration::minutes(2);
                    if stuck && self.store.get(&executed_key(&request.id)).await?.is_none() {
                        warn!(message = "Carrying out a decision whose job never arrived.", request = %request.id);
                        self.execute_decision(&d).await?;
                    }
                }
                None if now >= request.expires_at => {
                    let d = DecisionRecord {
                        request: request.id.clone(),
                        verdict: Verdict::Expire,
                        by: "redress".to_owned(),
                        at: now,
                        plan_hash: request.plan_hash.clone(),
                        response_url: None,
                    };
                    // Create-once: a click that got there first wins, and then this loses.
                    let written = self
                        .store
                        .create(&decision_key(&request.id), &serde_json::to_vec_pretty(&d)?)
                        .await?;
                    if written {
                        self.execute_decision(&d).await?;
                        expired += 1;
                    }
                }
                None => pending += 1,
            }
        }
        crate::telemetry::pending_approvals(pending);
        Ok(expired)
    }
}

fn retryable(e: &actions::ActionError) -> String {
    match e {
        actions::ActionError::Aws(a) if a.class.is_retryable() => format!("retry: {e}"),
        _ => e.to_string(),
    }
}

impl Evidence {
    fn finish(mut self, clock: &fn() -> DateTime<Utc>) -> Self {
        self.finished_at = clock();
        self
    }
}

/// The store and queue behind the interaction endpoint.
pub struct WorkerBackend {
    pub store: Arc<dyn Store>,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

fn backend_err(e: impl std::fmt::Display) -> BackendError {
    BackendError(e.to_string())
}

#[async_trait::async_trait]
impl Backend for WorkerBackend {
    async fn request(&self, id: &str) -> Result<Option<ApprovalRequest>, BackendError> {
        let bytes = self
            .store
            .get(&request_key(id))
            .await
            .map_err(backend_err)?;
        bytes
            .map(|b| serde_json::from_slice(&b).map_err(backend_err))
            .transpose()
    }

    async fn decision(&self, id: &str) -> Result<Option<DecisionRecord>, BackendError> {
        let bytes = self
            .store
            .get(&decision_key(id))
            .await
            .map_err(backend_err)?;
        bytes
            .map(|b| serde_json::from_slice(&b).map_err(backend_err))
            .transpose()
    }

    async fn decide(&self, decision: &DecisionRecord) -> Result<bool, BackendError> {
        let body = serde_json::to_vec_pretty(decision).map_err(backend_err)?;
        self.store
            .create(&decision_key(&decision.request), &body)
            .await
            .map_err(backend_err)
    }

    async fn enqueue(&self, job: &Job) -> Result<(), BackendError> {
        let body = serde_json::to_string(job).map_err(backend_err)?;
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| backend_err(crate::aws::AwsError::from_sdk("sqs:SendMessage", e)))?;
        Ok(())
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRef>, BackendError> {
        let bytes = self
            .store
            .get(&message_key(id))
            .await
            .map_err(backend_err)?;
        bytes
            .map(|b| serde_json::from_slice(&b).map_err(backend_err))
            .transpose()
    }
}

/// Used by the executor when it holds a finding: the request for `p`.
pub(crate) fn new_request(
    engine: &Engine,
    p: &Plan,
    f: &Finding,
    held: &Evidence,
    planned: &[crate::actions::Call],
) -> Option<ApprovalRequest> {
    let playbook = p
        .playbook
        .as_deref()
        .and_then(|id| engine.catalog.get(id))?;
    let finding = PlanFinding::from(f);
    let steps: Vec<(String, serde_json::Value)> = p
        .steps
        .iter()
        .map(|s| {
            (
                s.action.clone(),
                serde_json::to_value(&s.params).unwrap_or_default(),
            )
        })
        .collect();
    let planned_calls = planned
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();
    Some(ApprovalRequest {
        id: held.id.clone(),
        evidence: held.id.clone(),
        finding: {
            let mut v = serde_json::to_value(&finding).ok()?;
            // Tags help the approver see whose resource it is (not part of the plan hash).
            if let Some(o) = v.as_object_mut() {
                o.insert("tags".to_owned(), serde_json::to_value(&f.tags).ok()?);
            }
            v
        },
        playbook: playbook.id.clone(),
        playbook_sha256: playbook.sha256.clone(),
        steps: p.steps.clone(),
        before: held.before.clone(),
        planned_calls,
        approvers: engine.config.approvals.approvers.clone(),
        channel: None,
        plan_hash: plan_hash(
            &playbook.id,
            &playbook.sha256,
            &finding,
            &steps,
            &held.before,
        ),
        reason: p.reason.clone(),
        created_at: held.started_at,
        expires_at: held.started_at
            + chrono::Duration::from_std(engine.config.approvals.ttl)
                .unwrap_or(chrono::Duration::hours(24)),
    })
}

/// The Slack client of the fleet, if `[slack]` is configured (the bot token comes from
/// `SLACK_BOT_TOKEN`).
pub fn slack_client(
    config: &redress_playbooks::config::Config,
) -> Result<Option<Arc<dyn SlackApi>>, redress_approvals::SlackError> {
    let Some(slack) = &config.slack else {
        return Ok(None);
    };
    let client = redress_approvals::slack::Client::from_env(&slack.api_url)?;
    Ok(Some(Arc::new(client)))
}
