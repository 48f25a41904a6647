//! The executor: one message body → decoded findings → for each: plan, claim, capture,
//! apply, verify, record (DESIGN §1).
//!
//! Safety rules it keeps (DESIGN §5):
//! - a mutating call only for decision `auto` (approval comes with the Slack issue);
//!   dry-run never mutates;
//! - a create-once claim per (event, finding, playbook): a redelivered message does not act
//!   twice; a `done` marker written after the evidence lets a redelivery finish at once;
//! - an intent record (what is about to change, with the before-state) is stored before the
//!   first mutating call: a delivery that finds one after a crash re-captures state and
//!   completes and verifies the fix, applying only the steps that have not taken effect,
//!   or records what it found;
//! - `auto` fixes pass the blast-radius breaker (`breaker.rs`) or are held for approval;
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
    ApprovalRef, Evidence, EvidenceFinding, Outcome, PlaybookRef, SCHEMA, StepRecord,
    claim_record_id, new_id, record_key,
};
use crate::store::{Store, StoreError};

/// How long a delivery whose finding another delivery is working on waits for it.
const BUSY_WAIT: Duration = Duration::from_secs(15);

/// Claim generations a delivery looks through before it leaves the message for later.
const MAX_CLAIM_TRIES: u32 = 64;

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
    /// When the kill switch was last read: at most once a second, which is still within
    /// one poll, instead of a store LIST before every receive of a busy queue.
    pub pause_read_at: std::sync::Mutex<Option<std::time::Instant>>,
    /// Config rules asked to re-evaluate, by (account, region, rule), and when: AWS takes
    /// one request per rule a minute, so the nudge after the others' fixes is skipped.
    pub nudged:
        std::sync::Mutex<std::collections::HashMap<(String, String, String), std::time::Instant>>,
    /// The breaker's counts as this worker last saw them.
    pub breaker_cache: crate::breaker::Cache,
}

/// How often the kill switch is re-read at most.
const PAUSE_REFRESH: Duration = Duration::from_secs(1);

/// How long after a Config re-evaluation request the same rule is not asked again.
const NUDGE_EVERY: Duration = Duration::from_secs(60);

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

/// Stored before the first mutating call of an `auto` fix (`intents/<claim>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Intent {
    at: DateTime<Utc>,
    worker: String,
    event_id: String,
    playbook: String,
    resource: String,
    /// `service:Operation` of every call the fix is about to make.
    calls: Vec<String>,
    /// The state before any call, per step.
    before: Vec<State>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Done {
    evidence: String,
    key: String,
}

/// sha256 over what identifies one handling of one finding: the key of its claim, intent
/// and done marker.
pub fn claim_id(f: &Finding, playbook: Option<&str>) -> String {
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
    /// The breaker held this `auto` fix for approval.
    tripped: Option<crate::breaker::Tripped>,
    /// An interrupted earlier delivery's intent that this one completed or found.
    resumed: Option<crate::evidence::Resumed>,
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
        if let Ok(mut at) = self.pause_read_at.lock() {
            if at.is_some_and(|t| t.elapsed() < PAUSE_REFRESH) {
                return;
            }
            *at = Some(std::time::Instant::now());
        }
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

    /// Generation 0 is the first claim; each takeover of an expired one adds one.
    fn claim_key(id: &str, generation: u32) -> String {
        if generation == 0 {
            format!("claims/{id}.json")
        } else {
            format!("claims/{id}.{generation}.json")
        }
    }

    fn done_key(id: &str) -> String {
        format!("claims/{id}.done.json")
    }

    fn intent_key(id: &str) -> String {
        format!("intents/{id}.json")
    }

    async fn intent(&self, id: &str) -> Result<Option<Intent>, ExecError> {
        match self.store.get(&Self::intent_key(id)).await? {
            Some(bytes) => match serde_json::from_slice(&bytes) {
                Ok(i) => Ok(Some(i)),
                Err(e) => {
                    // Written by this program, so unreadable means damaged: acting as if an
                    // earlier delivery might have applied is the careful reading.
                    warn!(message = "Unreadable intent record; treated as an interrupted delivery.", claim = %id, error = %e);
                    Ok(Some(Intent {
                        at: (self.clock)(),
                        worker: "unknown".to_owned(),
                        event_id: String::new(),
                        playbook: String::new(),
                        resource: String::new(),
                        calls: Vec::new(),
                        before: Vec::new(),
                    }))
                }
            },
            None => Ok(None),
        }
    }

    /// For messages with no finding: record once per claim id.
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
        // Claimed like any finding, so that concurrent copies add no second record.
        let generation = match self.take_claim(id, now).await? {
            Ok(generation) => generation,
            Err(other) => return Ok(other),
        };
        let mut record = self.evidence(
            p,
            raw,
            now,
            Run {
                outcome: Some(Outcome::Skipped),
                verified: false,
                ..Run::default()
            },
        );
        record.id = claim_record_id(id, generation, now);
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

    /// Takes the finding's create-once claim: the generation held, or what to answer
    /// instead (done by a concurrent delivery, or busy).
    async fn take_claim(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<u32, FindingResult>, ExecError> {
        let claim = serde_json::to_vec(&Claim {
            at: now,
            worker: WORKER.to_owned(),
        })?;
        // A claim past its lease is taken over by creating the next generation's claim, so
        // that of several deliveries finding it stale exactly one goes on.
        let mut generation = 0u32;
        let mut tries = 0;
        loop {
            let key = Self::claim_key(id, generation);
            if self.store.create(&key, &claim).await? {
                break;
            }
            tries += 1;
            let Some(held) = self.store.get(&key).await? else {
                // Released (a transient failure) between our create and read: try again.
                if tries < MAX_CLAIM_TRIES {
                    continue;
                }
                return Ok(Err(FindingResult::Busy));
            };
            let at = serde_json::from_slice::<Claim>(&held).ok().map(|c| c.at);
            let fresh = at.is_some_and(|at| {
                now.signed_duration_since(at).to_std().unwrap_or_default() < self.claim_lease
            });
            if fresh {
                // Duplicate deliveries usually arrive together: wait a little for the
                // holder to finish, so the copy can be deleted now rather than later.
                let until = std::time::Instant::now() + BUSY_WAIT;
                while std::time::Instant::now() < until {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if let Some(done) = self.done(id).await? {
                        info!(message = "Finding handled by a concurrent delivery; this copy is done.", evidence = %done.evidence);
                        return Ok(Err(FindingResult::Duplicate {
                            evidence: done.evidence,
                        }));
                    }
                }
                info!(message = "Finding is claimed by another delivery; leaving the message.", claim = %id);
                return Ok(Err(FindingResult::Busy));
            }
            if tries >= MAX_CLAIM_TRIES {
                return Ok(Err(FindingResult::Busy));
            }
            if let Some(at) = at {
                let record = claim_record_id(id, generation, at);
                let key = record_key(&record, at);
                if self.store.get(&key).await?.is_some() {
                    // The holder stored its record and died before its `done` marker.
                    let done = serde_json::to_vec(&Done {
                        evidence: record.clone(),
                        key,
                    })?;
                    self.store.create(&Self::done_key(id), &done).await?;
                    info!(message = "Finding was recorded by a delivery that stopped before marking it done; marked now.", evidence = %record);
                    return Ok(Err(FindingResult::Duplicate { evidence: record }));
                }
            }
            warn!(message = "Claim is past its lease; taking it over (state is re-captured before acting).", claim = %id, generation);
            generation += 1;
        }
        if generation > 0
            && let Some(done) = self.done(id).await?
        {
            // The holder finished after all, just as its lease ran out.
            return Ok(Err(FindingResult::Duplicate {
                evidence: done.evidence,
            }));
        }
        Ok(Ok(generation))
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

        let generation = match self.take_claim(&id, now).await? {
            Ok(generation) => generation,
            Err(other) => return Ok(other),
        };

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
            let mut record = self.evidence(p, raw, now, run);
            record.id = claim_record_id(&id, generation, now);
            return self.store_record(&id, record).await;
        }

        // Bounded by the lease: once it ends another delivery may take over, and two must
        // never work on one finding at once.
        let budget = self.claim_lease.mul_f64(0.75);
        let mut run = match tokio::time::timeout(budget, self.run(f, p, &id, now)).await {
            Ok(run) => run?,
            Err(_) => failed(
                &format!(
                    "the remediation did not finish within {} s (three quarters of its claim lease); a later delivery re-captures the state and completes it",
                    budget.as_secs()
                ),
                true,
            ),
        };
        let retry = run.retry;
        let planned = std::mem::take(&mut run.planned);
        let held_by_breaker;
        let p = match run.tripped.take() {
            Some(trip) => {
                // Held, not dropped: the fix waits for an approver like any exposure fix.
                let mut held = p.clone();
                held.decision = Decision::Approval;
                held.reason = format!("{}; {}", p.reason, trip.reason);
                held_by_breaker = held;
                self.alert_trip(f, &trip, now).await?;
                &held_by_breaker
            }
            None => p,
        };
        if let Some(r) = &run.resumed {
            warn!(message = "Resumed an interrupted delivery.", claim = %id, intent_at = %r.intent_at, outcome = ?run.outcome);
        }
        if run.outcome == Some(Outcome::VerifyFailed)
            && let Some(playbook) = p.playbook.as_deref()
        {
            self.note_verify_failure(f, playbook, &id, now).await?;
        }
        let mut record = self.evidence(p, raw, now, run);
        if !retry {
            // A retried attempt keeps a random id: it is not the finding's outcome.
            record.id = claim_record_id(&id, generation, now);
        }
        if retry {
            // Transient: keep the attempt's evidence, release the claim so the redelivery
            // can act, and let the message come back.
            let record = record.seal();
            let bytes = serde_json::to_vec_pretty(&record)?;
            self.store.create(&record.key(), &bytes).await?;
            crate::telemetry::recorded(&record);
            self.store.delete(&Self::claim_key(&id, generation)).await?;
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
            reason: match &run.resumed {
                Some(r) => format!(
                    "{}; resumed an interrupted delivery (intent {}): {}",
                    p.reason, r.intent_at, r.found
                ),
                None => p.reason.clone(),
            },
            operator_opt_in: p.operator_opt_in,
            approval: None,
            steps: p.steps.iter().map(step_record).collect(),
            before: serde_json::Value::Array(run.before),
            calls: run.calls,
            after: run.after.map(serde_json::Value::Array),
            verified: run.verified,
            error: run.error,
            rollback_of: None,
            resumed: run.resumed,
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
    /// called; for `approval` captures only. `claim` keys the intent record.
    async fn run(
        &self,
        f: &Finding,
        p: &Plan,
        claim: &str,
        now: DateTime<Utc>,
    ) -> Result<Run, ExecError> {
        let Some(playbook) = p.playbook.as_deref() else {
            return Ok(failed("no playbook", false));
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
            Err(ReachError::Aws(e)) => return Ok(failed(&e.to_string(), e.class.is_retryable())),
            Err(e) => return Ok(failed(&e.to_string(), false)),
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
                    return Ok(failed(
                        &format!("no implementation of action `{}`", s.action),
                        false,
                    ));
                }
            }
        }
        let mut run = Run::default();
        for (a, s) in &steps {
            let stage = info_span!("capture", redress.action = %s.action);
            match a.capture(&ctx, &s.params).instrument(stage).await {
                Ok(state) => run.before.push(state),
                Err(e) => return Ok(run.fail(&e)),
            }
        }
        let compliant: Vec<bool> = steps
            .iter()
            .zip(&run.before)
            .map(|((a, s), b)| a.compliant(&s.params, b, &ctx))
            .collect();
        // An earlier delivery of this finding that announced its calls and never recorded
        // an outcome (killed, or its connection lost mid-apply).
        let prior = self.intent(claim).await?;
        let resumed = |found: String| {
            prior.as_ref().map(|i| crate::evidence::Resumed {
                intent: Self::intent_key(claim),
                intent_at: i.at,
                worker: i.worker.clone(),
                found,
            })
        };
        if compliant.iter().all(|c| *c) {
            if let Some(intent) = &prior {
                // The earlier delivery's calls took effect: this delivery verifies them and
                // records the fix, with the state from before those calls.
                run.resumed = resumed(
                    "the resource already had the fix: the earlier delivery's calls took effect; verified, nothing applied again".to_owned(),
                );
                run.after = Some(std::mem::take(&mut run.before));
                if !intent.before.is_empty() {
                    run.before = intent.before.clone();
                }
                run.outcome = Some(Outcome::Fixed);
            } else {
                run.outcome = Some(Outcome::AlreadyCompliant);
            }
            run.verified = true;
            return Ok(run);
        }
        if prior.is_some() && p.decision != Decision::Auto {
            run.resumed = resumed(format!(
                "the earlier delivery's calls did not take effect; this delivery's decision is {}",
                p.decision.as_str()
            ));
        }
        match p.decision {
            Decision::Approval => {
                run.planned = planned_calls(&steps, &run.before, &compliant, &ctx);
                run.outcome = Some(Outcome::Held);
                return Ok(run);
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
                        Err(e) => return Ok(run.fail(&e)),
                    }
                }
                run.outcome = Some(Outcome::WouldFix);
                return Ok(run);
            }
            Decision::Auto => {}
            _ => return Ok(failed("decision does not act", false)),
        }
        let planned = planned_calls(&steps, &run.before, &compliant, &ctx);
        match &prior {
            Some(intent) => {
                // Admitted by the breaker when the intent was written; finish what it began.
                let done = compliant.iter().filter(|c| **c).count();
                run.resumed = resumed(format!(
                    "{done} of {} steps had taken effect; applying the rest",
                    steps.len()
                ));
                info!(message = "Completing an interrupted delivery.", claim, intent_at = %intent.at);
            }
            None => {
                if let Err(trip) = self.admit(f, playbook, claim, now).await? {
                    warn!(message = "Blast-radius breaker holds an auto fix for approval.", playbook, scope = %trip.scope);
                    run.planned = planned;
                    run.outcome = Some(Outcome::Held);
                    run.tripped = Some(trip);
                    return Ok(run);
                }
                let intent = Intent {
                    at: now,
                    worker: WORKER.to_owned(),
                    event_id: f.event_id.clone(),
                    playbook: playbook.to_owned(),
                    resource: f
                        .resource
                        .arn
                        .clone()
                        .unwrap_or_else(|| f.resource.id.clone()),
                    calls: planned.iter().map(|c| c.action.clone()).collect(),
                    before: run.before.clone(),
                };
                // Create-once: if it exists, another delivery got here between our intent
                // read and now; its claim was stale, so treat ours as the completion.
                self.store
                    .create(
                        &Self::intent_key(claim),
                        &serde_json::to_vec_pretty(&intent)?,
                    )
                    .await?;
            }
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
                    // The call may have taken effect with its answer lost: the record says
                    // it was attempted, and the next delivery re-captures to find out.
                    for mut c in a.planned_calls(&s.params, b, &ctx) {
                        c.result = serde_json::json!({ "attempted": true, "error": e.to_string() });
                        run.calls.push(c);
                    }
                    return Ok(run.fail(&e));
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
                    return Ok(run.fail(&e));
                }
            }
        }
        if let Some(intent) = &prior
            && !intent.before.is_empty()
        {
            // Rollback restores the state from before the first delivery's calls.
            run.before = intent.before.clone();
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
        Ok(run)
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
        let key = (
            f.account.as_str().to_owned(),
            f.region.as_str().to_owned(),
            f.kind.clone(),
        );
        if let Ok(mut nudged) = self.nudged.lock() {
            if nudged.get(&key).is_some_and(|t| t.elapsed() < NUDGE_EVERY) {
                return;
            }
            nudged.insert(key, std::time::Instant::now());
        }
        if let Err(e) = actions::config::reevaluate(clients, &f.kind).await {
            warn!(message = "Config re-evaluation request failed (best effort).", rule = %f.kind, error = %e);
        }
    }
}

/// The calls applying the steps that are not compliant would make.
fn planned_calls(
    steps: &[(&'static dyn Action, &PlanStep)],
    before: &[State],
    compliant: &[bool],
    ctx: &Ctx<'_>,
) -> Vec<Call> {
    let mut out = Vec::new();
    for (((a, s), b), ok) in steps.iter().zip(before).zip(compliant) {
        if !*ok {
            out.extend(a.planned_calls(&s.params, b, ctx));
        }
    }
    out
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
