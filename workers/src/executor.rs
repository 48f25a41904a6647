//! The executor: one message body → decoded findings → for each: plan, claim, capture,
//! apply, verify, record (DESIGN §1).
//!
//! Safety rules it keeps (DESIGN §5):
//! - a mutating call only for decision `auto` (approval comes with the Slack issue);
//!   dry-run never mutates;
//! - a create-once claim per (event, finding, playbook): a redelivered message does not act
//!   twice; a `done` marker written after the evidence lets a redelivery finish at once;
//! - the caller deletes the message only when every finding of it is recorded.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redress_playbooks::config::Config;
use redress_playbooks::exceptions::Exception;
use redress_playbooks::finding::{Finding, Source};
use redress_playbooks::gate::Decision;
use redress_playbooks::intake::{self, IntakeError};
use redress_playbooks::plan::{self, Context, Plan, PlanStep};
use redress_playbooks::playbook::{Catalog, Mode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{Instrument as _, error, info, info_span, warn};

use crate::actions::{self, Action, ActionError, Call, Ctx, State};
use crate::aws::{ClientFactory, Clients, ErrorClass, ReachError};
use crate::evidence::{
    ApprovalRef, Evidence, EvidenceFinding, Outcome, PlaybookRef, SCHEMA, StepRecord, new_id,
};
use crate::store::{Store, StoreError};

/// How long a delivery whose finding another delivery is working on waits for it.
const BUSY_WAIT: Duration = Duration::from_secs(15);

/// The version that evidence records name.
pub const WORKER: &str = concat!("redress ", env!("CARGO_PKG_VERSION"));

/// Everything the executor needs; shared by every in-flight message.
pub struct Engine {
    pub catalog: Catalog,
    pub config: Config,
    pub exceptions: Vec<Exception>,
    pub store: Arc<dyn Store>,
    pub factory: ClientFactory,
    /// `--dry-run`: the whole fleet in dry-run whatever the config says.
    pub force_dry_run: bool,
    /// How long a claim without a `done` marker blocks redeliveries (a worker may still be
    /// on it); after that, a redelivery takes over and re-captures state.
    pub claim_lease: Duration,
    /// The clock; injected for tests.
    pub clock: fn() -> DateTime<Utc>,
    /// Where approval requests and change reviews are posted (`[slack]` configured).
    pub slack: Option<Arc<dyn redress_approvals::SlackApi>>,
    /// The kill switch in force, refreshed from the store before every receive.
    pub pause: std::sync::RwLock<Option<crate::control::PauseRecord>>,
}

/// What happened to one finding.
#[derive(Debug)]
pub enum FindingResult {
    /// A new evidence record was stored.
    Recorded(Box<Evidence>),
    /// This finding was already handled (a redelivery); the record it has.
    Duplicate { evidence: String },
    /// Another worker holds the claim and may still be working: leave the message.
    Busy,
    /// A transient failure (throttling, connectivity, 5xx) was recorded; the message should
    /// come back for another try.
    Retry(Box<Evidence>),
}

/// What happened to one message.
#[derive(Debug)]
pub enum MessageResult {
    /// Every finding is recorded: delete the message.
    Done(Vec<FindingResult>),
    /// Some finding must be tried again: leave the message to become visible again.
    Again(Vec<FindingResult>),
    /// The body cannot be decoded: dead-letter it with the reason.
    Undecodable(IntakeError),
}

/// Why the executor could not do its part (the store failed): nothing is deleted.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot encode a record: {0}")]
    Encode(#[from] serde_json::Error),
}

#[derive(Debug, Serialize, Deserialize)]
struct Claim {
    at: DateTime<Utc>,
    worker: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Done {
    evidence: String,
    key: String,
}

/// sha256 over what identifies one handling of one finding.
fn claim_id(f: &Finding, playbook: Option<&str>) -> String {
    let who = f
        .finding_id
        .as_deref()
        .or(f.resource.arn.as_deref())
        .unwrap_or(&f.resource.id);
    let text = format!(
        "{}\n{}\n{}\n{}\n{}",
        f.event_id,
        f.source,
        f.kind,
        who,
        playbook.unwrap_or("-")
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The states and calls of running a plan's steps.
#[derive(Debug, Default)]
struct Run {
    before: Vec<State>,
    calls: Vec<Call>,
    /// For `approval`: the calls applying would make, for the approver.
    planned: Vec<Call>,
    after: Option<Vec<State>>,
    verified: bool,
    outcome: Option<Outcome>,
    error: Option<String>,
    retry: bool,
}

impl Engine {
    pub(crate) fn fleet_mode(&self) -> Mode {
        if self.force_dry_run || self.paused().is_some() {
            Mode::DryRun
        } else {
            self.config.mode
        }
    }

    /// The pause in force, if any.
    pub fn paused(&self) -> Option<crate::control::PauseRecord> {
        self.pause.read().map(|p| p.clone()).unwrap_or(None)
    }

    /// Re-reads the kill switch from the store (a failure keeps the last known state).
    pub async fn refresh_pause(&self) {
        match crate::control::active(self.store.as_ref()).await {
            Ok(p) => {
                let changed = self.paused() != p;
                if let Ok(mut slot) = self.pause.write() {
                    *slot = p.clone();
                }
                if changed {
                    match &p {
                        Some(r) => {
                            warn!(message = "Kill switch on: the fleet runs in dry-run.", by = %r.by, why = %r.why)
                        }
                        None => info!(message = "Kill switch off: the fleet follows its config."),
                    }
                }
            }
            Err(e) => {
                warn!(message = "Could not read the kill switch; keeping the last state.", error = %e)
            }
        }
    }

    /// Handles one message body.
    pub async fn handle(&self, body: &[u8]) -> Result<MessageResult, ExecError> {
        if let Some(job) = redress_approvals::Job::parse(body) {
            return self.handle_job(&job).await;
        }
        let decoded = match info_span!("intake").in_scope(|| intake::decode(body)) {
            Ok(d) => d,
            Err(e) => return Ok(MessageResult::Undecodable(e)),
        };
        let now = (self.clock)();
        let cx = Context {
            catalog: &self.catalog,
            config: &self.config,
            fleet_mode: self.fleet_mode(),
            exceptions: &self.exceptions,
            now,
        };
        let mut results = Vec::new();
        if decoded.findings.is_empty() {
            // Nothing to act on (an SNS confirmation, an unsupported source): one record
            // says so, keyed by the body so a redelivery does not add another.
            let plans = plan::plan_message(&decoded, cx);
            let digest = crate::evidence::sha256_tagged(body);
            for p in plans {
                let id = hex::encode(Sha256::digest(digest.as_bytes()));
                results.push(self.record_once(&id, &p, body, now).await?);
            }
            return Ok(MessageResult::Done(results));
        }
        let mut again = false;
        let pause = self.paused();
        for f in &decoded.findings {
            let span = crate::telemetry::finding_span(f);
            let mut p = span.in_scope(|| plan::plan_finding(f, cx));
            crate::telemetry::planned(&span, &p);
            if let (Some(pause), Decision::DryRun) = (&pause, p.decision) {
                p.reason = format!("{}; {}", p.reason, pause.describe());
            }
            let r = self.handle_finding(f, &p, body).instrument(span).await?;
            again |= matches!(r, FindingResult::Busy | FindingResult::Retry(_));
            results.push(r);
        }
        Ok(if again {
            MessageResult::Again(results)
        } else {
            MessageResult::Done(results)
        })
    }

    fn claim_key(id: &str) -> String {
        format!("claims/{id}.json")
    }

    fn done_key(id: &str) -> String {
        format!("claims/{id}.done.json")
    }

    /// For findings that are not acted on: record once per claim id.
    async fn record_once(
        &self,
        id: &str,
        p: &Plan,
        raw: &[u8],
        now: DateTime<Utc>,
    ) -> Result<FindingResult, ExecError> {
        if let Some(done) = self.done(id).await? {
            return Ok(FindingResult::Duplicate {
                evidence: done.evidence,
            });
        }
        let record = self.evidence(
            p,
            raw,
            now,
            Run {
                outcome: Some(Outcome::Skipped),
                verified: false,
                ..Run::default()
            },
        );
        self.store_record(id, record).await
    }

    async fn done(&self, id: &str) -> Result<Option<Done>, ExecError> {
        match self.store.get(&Self::done_key(id)).await? {
            Some(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            None => Ok(None),
        }
    }

    #[tracing::instrument(name = "record", skip_all, fields(redress.outcome = record.outcome.as_str()))]
    async fn store_record(&self, id: &str, record: Evidence) -> Result<FindingResult, ExecError> {
        let record = record.seal();
        let key = record.key();
        let bytes = serde_json::to_vec_pretty(&record)?;
        self.store.create(&key, &bytes).await?;
        let done = serde_json::to_vec(&Done {
            evidence: record.id.clone(),
            key,
        })?;
        self.store.create(&Self::done_key(id), &done).await?;
        crate::telemetry::recorded(&record);
        info!(
            message = "Recorded evidence.",
            evidence = %record.id,
            decision = record.decision.as_str(),
            outcome = record.outcome.as_str(),
            playbook = record.playbook.as_ref().map_or("-", |p| p.id.as_str()),
        );
        Ok(FindingResult::Recorded(Box::new(record)))
    }

    async fn handle_finding(
        &self,
        f: &Finding,
        p: &Plan,
        raw: &[u8],
    ) -> Result<FindingResult, ExecError> {
        let now = (self.clock)();
        let id = claim_id(f, p.playbook.as_deref());
        if let Some(done) = self.done(&id).await? {
            info!(message = "Finding already handled; redelivery skipped.", evidence = %done.evidence);
            return Ok(FindingResult::Duplicate {
                evidence: done.evidence,
            });
        }
        if !matches!(
            p.decision,
            Decision::Auto | Decision::Approval | Decision::DryRun
        ) || p.error.is_some()
        {
            let run = Run {
                outcome: Some(if p.error.is_some() {
                    Outcome::Failed
                } else {
                    Outcome::Skipped
                }),
                error: p.error.clone(),
                ..Run::default()
            };
            let record = self.evidence(p, raw, now, run);
            return self.store_record(&id, record).await;
        }

        let claim = serde_json::to_vec(&Claim {
            at: now,
            worker: WORKER.to_owned(),
        })?;
        if !self.store.create(&Self::claim_key(&id), &claim).await? {
            let held = self.store.get(&Self::claim_key(&id)).await?;
            let at = held
                .and_then(|b| serde_json::from_slice::<Claim>(&b).ok())
                .map(|c| c.at);
            let fresh = at.is_some_and(|at| {
                now.signed_duration_since(at).to_std().unwrap_or_default() < self.claim_lease
            });
            if fresh {
                // Duplicate deliveries usually arrive together: wait a little for the
                // holder to finish, so the copy can be deleted now rather than later.
                let until = std::time::Instant::now() + BUSY_WAIT;
                while std::time::Instant::now() < until {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if let Some(done) = self.done(&id).await? {
                        info!(message = "Finding handled by a concurrent delivery; this copy is done.", evidence = %done.evidence);
                        return Ok(FindingResult::Duplicate {
                            evidence: done.evidence,
                        });
                    }
                }
                info!(message = "Finding is claimed by another delivery; leaving the message.", claim = %id);
                return Ok(FindingResult::Busy);
            }
            warn!(message = "Taking over a stale claim; state is re-captured before acting.", claim = %id);
        }

        let mut run = self.run(f, p, now).await;
        let retry = run.retry;
        let planned = std::mem::take(&mut run.planned);
        let mut record = self.evidence(p, raw, now, run);
        if retry {
            // Transient: keep the attempt's evidence, release the claim so the redelivery
            // can act, and let the message come back.
            let record = record.seal();
            let bytes = serde_json::to_vec_pretty(&record)?;
            self.store.create(&record.key(), &bytes).await?;
            crate::telemetry::recorded(&record);
            self.store.delete(&Self::claim_key(&id)).await?;
            warn!(message = "Transient failure recorded; the message will be retried.", evidence = %record.id, error = record.error.as_deref().unwrap_or(""));
            return Ok(FindingResult::Retry(Box::new(record)));
        }
        if record.outcome == Outcome::Held {
            let finding = redress_playbooks::plan::PlanFinding::from(f);
            let playbook = p.playbook.clone().unwrap_or_default();
            match self.pending_request(&finding, &playbook, now).await? {
                Some(existing) => {
                    // One request per resource and playbook while it is pending.
                    record.reason = format!(
                        "{}; already pending as request {}",
                        record.reason, existing.id
                    );
                    self.note_repeat(&existing, &f.event_id).await;
                }
                None => {
                    // The request goes first: a crash before the evidence leaves a request
                    // without its `held` record (visible, and the sweep expires it), never a
                    // `held` record without its request.
                    if let Some(request) =
                        crate::approvals::new_request(self, p, f, &record, &planned)
                    {
                        self.open_request(f, request).await?;
                    }
                }
            }
        }
        if record.outcome == Outcome::WouldFix
            && p.would_be == Some(Decision::Approval)
            && let Some(review) = crate::approvals::new_request(self, p, f, &record, &record.calls)
        {
            self.post_review(f, &review).await;
        }
        self.store_record(&id, record).await
    }

    fn evidence(&self, p: &Plan, raw: &[u8], started_at: DateTime<Utc>, run: Run) -> Evidence {
        let playbook = p.playbook.as_deref().and_then(|id| self.catalog.get(id));
        Evidence {
            schema: SCHEMA,
            id: new_id(),
            finding: p.finding.as_ref().map(|pf| EvidenceFinding::new(pf, raw)),
            playbook: playbook.map(|pb| PlaybookRef {
                id: pb.id.clone(),
                sha256: pb.sha256.clone(),
            }),
            decision: p.decision,
            mode: self.mode_of(p).as_str().to_owned(),
            outcome: run.outcome.unwrap_or(Outcome::Failed),
            reason: p.reason.clone(),
            operator_opt_in: p.operator_opt_in,
            approval: None,
            steps: p.steps.iter().map(step_record).collect(),
            before: serde_json::Value::Array(run.before),
            calls: run.calls,
            after: run.after.map(serde_json::Value::Array),
            verified: run.verified,
            error: run.error,
            rollback_of: None,
            started_at,
            finished_at: (self.clock)(),
            worker: WORKER.to_owned(),
            trace_id: crate::telemetry::trace_id(),
            digest: String::new(),
        }
    }

    fn mode_of(&self, p: &Plan) -> Mode {
        if p.decision == Decision::DryRun {
            Mode::DryRun
        } else {
            self.fleet_mode()
        }
    }

    /// Captures, and for `auto` applies and verifies; for `dry-run` records what would be
    /// called; for `approval` captures only.
    async fn run(&self, f: &Finding, p: &Plan, now: DateTime<Utc>) -> Run {
        let Some(playbook) = p.playbook.as_deref() else {
            return failed("no playbook", false);
        };
        let clients = match self
            .factory
            .clients(
                f.account.as_str(),
                f.region.as_str(),
                f.partition.as_str(),
                playbook,
            )
            .await
        {
            Ok(c) => c,
            Err(ReachError::Aws(e)) => return failed(&e.to_string(), e.class.is_retryable()),
            Err(e) => return failed(&e.to_string(), false),
        };
        let remediation_id = new_id();
        let ctx = Ctx {
            aws: &clients,
            remediation_id: &remediation_id,
            playbook_id: playbook,
            event_id: &f.event_id,
            finding_time: f.time,
            now,
        };
        let mut steps: Vec<(&'static dyn Action, &PlanStep)> = Vec::new();
        for s in &p.steps {
            match actions::implementation(&s.action) {
                Some(a) => steps.push((a, s)),
                None => {
                    return failed(
                        &format!("no implementation of action `{}`", s.action),
                        false,
                    );
                }
            }
        }
        let mut run = Run::default();
        for (a, s) in &steps {
            let stage = info_span!("capture", redress.action = %s.action);
            match a.capture(&ctx, &s.params).instrument(stage).await {
                Ok(state) => run.before.push(state),
                Err(e) => return run.fail(&e),
            }
        }
        let compliant: Vec<bool> = steps
            .iter()
            .zip(&run.before)
            .map(|((a, s), b)| a.compliant(&s.params, b, &ctx))
            .collect();
        if compliant.iter().all(|c| *c) {
            run.outcome = Some(Outcome::AlreadyCompliant);
            run.verified = true;
            return run;
        }
        match p.decision {
            Decision::Approval => {
                for (((a, s), b), ok) in steps.iter().zip(&run.before).zip(&compliant) {
                    if !*ok {
                        run.planned.extend(a.planned_calls(&s.params, b, &ctx));
                    }
                }
                run.outcome = Some(Outcome::Held);
                return run;
            }
            Decision::DryRun => {
                for (((a, s), b), ok) in steps.iter().zip(&run.before).zip(&compliant) {
                    if *ok {
                        continue;
                    }
                    let stage =
                        info_span!("apply", redress.action = %s.action, redress.dry_run = true);
                    match a.dry_run(&ctx, &s.params, b).instrument(stage).await {
                        Ok(mut calls) => run.calls.append(&mut calls),
                        Err(e) => return run.fail(&e),
                    }
                }
                run.outcome = Some(Outcome::WouldFix);
                return run;
            }
            Decision::Auto => {}
            _ => return failed("decision does not act", false),
        }
        // Invariant 1: only `auto` reaches a mutating call here.
        for (((a, s), b), ok) in steps.iter().zip(&run.before).zip(&compliant) {
            if *ok {
                continue;
            }
            let stage = info_span!("apply", redress.action = %s.action);
            match a.apply(&ctx, &s.params, b).instrument(stage).await {
                Ok(mut calls) => run.calls.append(&mut calls),
                Err(e) => {
                    error!(message = "Remediation step failed.", action = %s.action, error = %e);
                    return run.fail(&e);
                }
            }
        }
        let mut after = Vec::new();
        let mut verified = true;
        for (a, s) in &steps {
            let stage = info_span!("verify", redress.action = %s.action);
            match a.capture(&ctx, &s.params).instrument(stage).await {
                Ok(state) => {
                    verified &= a.compliant(&s.params, &state, &ctx);
                    after.push(state);
                }
                Err(e) => {
                    run.after = Some(after);
                    return run.fail(&e);
                }
            }
        }
        run.after = Some(after);
        run.verified = verified;
        if verified {
            run.outcome = Some(Outcome::Fixed);
            self.reevaluate(f, p, &clients).await;
        } else {
            error!(message = "Fix did not verify; not retried.", playbook, resource = %f.resource.id);
            run.outcome = Some(Outcome::VerifyFailed);
            run.error = Some(
                "the state re-read after the calls is not what the playbook expects".to_owned(),
            );
        }
        run
    }

    /// Best effort: ask Config to re-evaluate the rule; never the verification itself.
    async fn reevaluate(&self, f: &Finding, p: &Plan, clients: &Clients) {
        let wants = p
            .playbook
            .as_deref()
            .and_then(|id| self.catalog.get(id))
            .is_some_and(|pb| pb.config_reevaluate);
        if !wants || f.source != Source::Config {
            return;
        }
        if let Err(e) = actions::config::reevaluate(clients, &f.kind).await {
            warn!(message = "Config re-evaluation request failed (best effort).", rule = %f.kind, error = %e);
        }
    }
}

fn failed(why: &str, retry: bool) -> Run {
    Run {
        outcome: Some(Outcome::Failed),
        error: Some(why.to_owned()),
        retry,
        ..Run::default()
    }
}

impl Run {
    fn fail(mut self, e: &ActionError) -> Run {
        self.outcome = Some(Outcome::Failed);
        self.error = Some(e.to_string());
        self.retry = matches!(e, ActionError::Aws(a) if a.class.is_retryable());
        if let ActionError::Aws(a) = e
            && a.class == ErrorClass::Auth
        {
            error!(message = "Remediation refused by AWS.", error = %a);
        }
        self
    }
}

fn step_record(s: &PlanStep) -> StepRecord {
    StepRecord {
        action: s.action.clone(),
        params: serde_json::to_value(&s.params).unwrap_or_default(),
        category: s.category.as_str().to_owned(),
        description: s.description.clone(),
    }
}

/// The approval reference of a rollback done from the command line.
pub fn cli_approval(by: &str, at: DateTime<Utc>) -> ApprovalRef {
    ApprovalRef {
        request: "cli-rollback".to_owned(),
        by: by.to_owned(),
        at,
    }
}
