//! Fault injection (issue 6): the worker against moto_server through a proxy that drops,
//! delays and fails a share of requests; the worker SIGKILLed at random points of a batch
//! and restarted; the endpoint going away mid-run. In every scenario each message is sent
//! twice and malformed messages are mixed in. Each run ends with the same audit: every
//! finding fixed exactly once with one `fixed` record, or given up with `failed` records;
//! nothing lost, nothing applied twice, no panic.
//!
//! `REDRESS_FAULTS_SEED=N` replays a run's choices (faults per request, kill points, message
//! order; the interleaving of concurrent requests still varies). Each scenario writes one
//! summary line to stderr (shown without `--nocapture` too) and appends it as JSON to
//! `$REDRESS_FAULTS_REPORT` (default `<target>/tmp/faults-report.jsonl`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom as _;
use rand::{RngExt as _, SeedableRng as _};
use redress_tests::events::config_noncompliant;
use redress_tests::moto::{ACCOUNT, REGION};
use redress_tests::proxy::{Exchange, Fault, Faults, Hook, Proxy, fnv1a};
use redress_tests::world::World;
use serde_json::{Value, json};

/// Outcomes that are not the end of a finding: a transient failure is recorded and retried.
const NOT_TERMINAL: &[&str] = &["failed"];

const ENCRYPTION_RULE: &str = "securityhub-s3-bucket-server-side-encryption-enabled-1a2b3c4d";

/// The shortest visibility the config accepts, so messages a killed worker held come back
/// soon, with a claim lease as short (a killed worker's claims are taken over at once); few
/// attempts, so a message that keeps failing is given up within the run.
const QUEUE: &str = "visibility_timeout_secs = 10\nclaim_lease_secs = 10\nmax_attempts = 4\nshutdown_deadline_secs = 5";

/// How long one scenario may take to drain its queue before it counts as stuck.
const DRAIN_DEADLINE: Duration = Duration::from_secs(150);

/// The seed of this run: `REDRESS_FAULTS_SEED`, else a fresh one (printed with the results).
fn base_seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        std::env::var("REDRESS_FAULTS_SEED")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64 % 1_000_000)
                    .unwrap_or(1)
            })
    })
}

/// A message body the worker must dead-letter, and a piece of the reason it must give.
struct Malformed {
    body: String,
    reason: &'static str,
}

/// One drifted bucket and the event about it.
struct Target {
    bucket: String,
    event_id: String,
    body: String,
}

/// One scenario's world, proxy, messages and tallies.
struct Scenario {
    name: &'static str,
    seed: u64,
    rng: Xoshiro256PlusPlus,
    w: World,
    proxy: Proxy,
    targets: Vec<Target>,
    malformed: Vec<Malformed>,
    /// Decodable bodies with nothing to act on: one `skipped` record each.
    ignored: Vec<String>,
    sent: usize,
    worker_runs: u32,
    kills: Vec<String>,
    stderr: String,
    problems: Vec<String>,
    started: Instant,
}

fn bucket_event(event_id: &str, bucket: &str) -> String {
    config_noncompliant(
        event_id,
        ENCRYPTION_RULE,
        "AWS::S3::Bucket",
        bucket,
        ACCOUNT,
        REGION,
    )
}

/// Broken bodies of every kind intake knows, one of each, some of them large.
fn malformed_bodies(rng: &mut Xoshiro256PlusPlus, real: &str) -> Vec<Malformed> {
    let event: Value = serde_json::from_str(real).unwrap();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut e = event.clone();
        f(&mut e);
        // An id of its own: were it decodable, it would not pass for a duplicate.
        let id = format!(
            "{}-broken-{:x}",
            event["id"].as_str().unwrap(),
            fnv1a(&e.to_string())
        );
        e["id"] = json!(id);
        e.to_string()
    };
    let cut = rng.random_range(10..real.len() - 10);
    let junk: String = (0..rng.random_range(20..400))
        .map(|_| char::from(rng.random_range(b' '..=b'~')))
        .collect();
    vec![
        Malformed {
            body: "not json at all".into(),
            reason: "not JSON",
        },
        Malformed {
            body: real[..cut].to_owned(),
            reason: "not JSON",
        },
        Malformed {
            body: format!("x{junk}"),
            reason: "not JSON",
        },
        Malformed {
            body: "[1, 2, 3]".into(),
            reason: "expected a JSON object",
        },
        Malformed {
            body: r#"{"hello": "world"}"#.into(),
            reason: "not an EventBridge event",
        },
        Malformed {
            body: "   ".into(),
            reason: "blank",
        },
        Malformed {
            body: format!("{}{}", "[".repeat(300), "]".repeat(300)),
            reason: "not JSON",
        },
        // Big but legal for SQS (256 KiB): an event that never closes.
        Malformed {
            body: format!(
                "{}, \"padding\": \"{}",
                &real[..real.len() - 1],
                "x".repeat(200 * 1024)
            ),
            reason: "not JSON",
        },
        Malformed {
            body: edit(&|e| {
                e.as_object_mut().unwrap().remove("detail");
            }),
            reason: "missing field `detail`",
        },
        Malformed {
            body: edit(&|e| e["time"] = json!("yesterday")),
            reason: "RFC 3339",
        },
        Malformed {
            body: edit(&|e| e["detail"]["resourceId"] = json!(42)),
            reason: "is a number, expected a string",
        },
        Malformed {
            body: edit(&|e| e["detail"]["resourceId"] = json!("Not_A..Bucket")),
            reason: "is not an S3 bucket name",
        },
        Malformed {
            body: json!({
                "Type": "Notification",
                "MessageId": "m-1",
                "TopicArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:findings"),
                "Message": format!("{{{junk}"),
            })
            .to_string(),
            reason: "SNS `Message` is not JSON",
        },
    ]
}

impl Scenario {
    /// moto, the proxy in front of it, `buckets` unencrypted buckets, and the queue filled
    /// with every event twice, the malformed and ignorable bodies twice, in a seeded order.
    async fn new(name: &'static str, buckets: usize) -> Scenario {
        let started = Instant::now();
        let seed = base_seed() ^ fnv1a(name);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut w = World::with_queue("", QUEUE).await;
        let proxy = Proxy::start(&w.moto.endpoint, seed, Faults::none())
            .await
            .unwrap();
        w.env
            .push(("AWS_ENDPOINT_URL".to_owned(), proxy.endpoint.clone()));

        let targets: Vec<Target> = (0..buckets)
            .map(|i| {
                let bucket = format!("acme-{name}-{i:02}");
                let event_id = format!("e-{name}-{i:02}");
                let body = bucket_event(&event_id, &bucket);
                Target {
                    bucket,
                    event_id,
                    body,
                }
            })
            .collect();
        let mut set = tokio::task::JoinSet::new();
        for chunk in targets.chunks(8) {
            let sdk = w.sdk.clone();
            let names: Vec<String> = chunk.iter().map(|t| t.bucket.clone()).collect();
            set.spawn(async move {
                let s3 = aws_sdk_s3::Client::new(&sdk);
                for b in names {
                    s3.create_bucket().bucket(&b).send().await.unwrap();
                    let _ = s3.delete_bucket_encryption().bucket(&b).send().await;
                }
            });
        }
        set.join_all().await;
        for t in &targets {
            assert!(!w.bucket_encrypted(&t.bucket).await, "{} drifted", t.bucket);
        }

        let malformed = malformed_bodies(&mut rng, &targets[0].body);
        let mut compliant: Value = serde_json::from_str(&targets[0].body).unwrap();
        compliant["id"] = json!(format!("e-{name}-compliant"));
        compliant["detail"]["newEvaluationResult"]["complianceType"] = json!("COMPLIANT");
        let ignored = vec![
            json!({
                "version": "0", "id": format!("e-{name}-health"), "detail-type": "AWS Health Event",
                "source": "aws.health", "account": ACCOUNT, "time": "2026-03-14T08:12:40Z",
                "region": REGION, "resources": [], "detail": {}
            })
            .to_string(),
            compliant.to_string(),
        ];
        let mut bodies: Vec<String> = targets
            .iter()
            .map(|t| t.body.clone())
            .chain(malformed.iter().map(|m| m.body.clone()))
            .chain(ignored.iter().cloned())
            .flat_map(|b| [b.clone(), b])
            .collect();
        bodies.shuffle(&mut rng);
        w.send_all(&bodies).await;
        Scenario {
            name,
            seed,
            rng,
            sent: bodies.len(),
            w,
            proxy,
            targets,
            malformed,
            ignored,
            worker_runs: 0,
            kills: Vec::new(),
            stderr: String::new(),
            problems: Vec::new(),
            started,
        }
    }

    /// A `redress worker` with its stderr in a file, killed if the test ends first.
    fn spawn_worker(&mut self, args: &[&str]) -> (tokio::process::Child, std::path::PathBuf) {
        self.worker_runs += 1;
        let log = self
            .w
            .dir
            .path()
            .join(format!("worker-{}.log", self.worker_runs));
        let mut argv = vec!["worker"];
        argv.extend_from_slice(args);
        let mut cmd = tokio::process::Command::from(self.w.command(&argv));
        // Standard retries, not the worker's default adaptive mode: the proxy throttles a
        // fixed share of requests whatever the rate, which holds adaptive mode's client-side
        // rate limiter at its floor (measured: the network scenario took 495 s instead of
        // 25 s, with the same audit result). Real throttling eases as the client slows.
        cmd.env("AWS_RETRY_MODE", "standard");
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true);
        (cmd.spawn().unwrap(), log)
    }

    fn collect_log(&mut self, log: &std::path::Path) {
        self.stderr
            .push_str(&std::fs::read_to_string(log).unwrap_or_default());
    }

    /// Runs `redress worker --until-idle 2` until the queue is empty (as moto, not the
    /// worker, counts it): under faults a worker may stop early, and messages left for a
    /// retry come back later.
    async fn run_to_empty(&mut self) {
        let deadline = Instant::now() + DRAIN_DEADLINE;
        loop {
            let (mut child, log) = self.spawn_worker(&["--until-idle", "2"]);
            let status = child.wait().await.unwrap();
            self.collect_log(&log);
            if !status.success() {
                self.problems
                    .push(format!("worker run {} exited {status}", self.worker_runs));
                return;
            }
            if self.w.visible_messages(&self.w.queue).await == 0 {
                return;
            }
            if Instant::now() > deadline {
                self.problems.push(format!(
                    "STUCK: the queue still holds {} messages after {DRAIN_DEADLINE:?}",
                    self.w.visible_messages(&self.w.queue).await
                ));
                return;
            }
        }
    }

    /// Claims a SIGKILLed worker left without a `done` marker (the next worker takes them
    /// over once `claim_lease_secs`, 10 s here, has passed).
    fn orphan_claims(&self) -> usize {
        let dir = self.w.store().join("claims");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return 0;
        };
        let mut orphans = 0;
        for e in entries {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            // `<id>.json`, or `<id>.<generation>.json` after a takeover.
            let id = stem.split('.').next().unwrap_or_default();
            if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            if dir.join(format!("{id}.done.json")).exists() {
                continue;
            }
            orphans += 1;
        }
        orphans
    }

    /// Checks the end state, prints the figures, and fails the test on any problem.
    async fn audit(mut self) {
        let mut problems = std::mem::take(&mut self.problems);
        let w = &self.w;
        let log = self.proxy.log();

        let left = w.visible_messages(&w.queue).await;
        if left > 0 {
            problems.push(format!("LOST: {left} messages still in the queue"));
        }

        // The DLQ: malformed bodies (each copy) and findings given up.
        let dead = w.drain(&w.dlq).await;
        let mut dlq_copies: HashMap<String, Vec<String>> = HashMap::new();
        for m in &dead {
            let reason = m
                .message_attributes()
                .and_then(|a| a.get("redress-reason"))
                .and_then(|v| v.string_value())
                .unwrap_or_default()
                .to_owned();
            dlq_copies
                .entry(m.body().unwrap_or_default().to_owned())
                .or_default()
                .push(reason);
        }
        let mut malformed_dead = 0;
        for m in &self.malformed {
            let reasons = dlq_copies.remove(&m.body).unwrap_or_default();
            malformed_dead += reasons.len();
            if reasons.len() < 2 {
                problems.push(format!(
                    "LOST: malformed body sent twice, {} copies in the DLQ: {:.60}",
                    reasons.len(),
                    m.body
                ));
            }
            for r in &reasons {
                if !r.contains(m.reason) {
                    problems.push(format!(
                        "malformed body dead-lettered with reason {r:?}, expected it to name {:?}",
                        m.reason
                    ));
                }
            }
        }

        let records = w.records();
        let done: BTreeSet<String> = std::fs::read_dir(w.store().join("claims"))
            .map(|d| {
                d.filter_map(|e| {
                    let p = e.ok()?.path();
                    p.to_string_lossy().ends_with(".done.json").then_some(p)
                })
                .filter_map(|p| serde_json::from_slice::<Value>(&std::fs::read(p).ok()?).ok())
                .filter_map(|v| v["evidence"].as_str().map(str::to_owned))
                .collect()
            })
            .unwrap_or_default();
        let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
        for r in &records {
            *outcomes
                .entry(r["outcome"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
        }

        // Bodies with nothing to act on take no claim: a copy delivered while another is
        // being recorded, or after a kill between record and `done` marker, adds a second
        // `skipped` record. Nothing is changed by it, so it is counted, not failed.
        let skipped = records.iter().filter(|r| r["outcome"] == "skipped").count();
        if skipped < self.ignored.len() {
            problems.push(format!(
                "LOST: {skipped} `skipped` records for {} distinct ignorable bodies",
                self.ignored.len()
            ));
        }
        for body in &self.ignored {
            if dlq_copies.remove(body).is_some() {
                problems.push(format!("an ignorable body was dead-lettered: {body:.60}"));
            }
        }

        // Applications per bucket, as the proxy saw them: SDK calls (one invocation id over
        // its attempts) whose change moto accepted.
        let mut applied: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut resent = 0;
        let mut per_invocation: HashMap<&str, usize> = HashMap::new();
        for ex in log.iter().filter(|e| e.is_s3_mutation() && e.succeeded()) {
            applied
                .entry(ex.resource.as_str())
                .or_default()
                .insert(ex.invocation.as_str());
            let n = per_invocation.entry(ex.invocation.as_str()).or_default();
            *n += 1;
            if *n > 1 {
                resent += 1;
            }
        }

        if log
            .iter()
            .any(|e| e.is_s3_mutation() && e.invocation.is_empty())
        {
            problems.push(
                "a change came without `amz-sdk-invocation-id`: SDK re-sends cannot be told from new calls"
                    .to_owned(),
            );
        }

        let mut fixed = 0;
        let mut given_up = 0;
        let mut fixed_but_already_compliant = 0;
        let mut applied_twice = 0;
        let mut lost = 0;
        for t in &self.targets {
            let recs: Vec<&Value> = records
                .iter()
                .filter(|r| {
                    r["finding"]["event_id"] == t.event_id.as_str()
                        && r["finding"]["resource_id"] == t.bucket.as_str()
                })
                .collect();
            let terminal: Vec<&Value> = recs
                .iter()
                .copied()
                .filter(|r| !NOT_TERMINAL.contains(&r["outcome"].as_str().unwrap_or_default()))
                .collect();
            let with_done: Vec<&Value> = recs
                .iter()
                .copied()
                .filter(|r| done.contains(r["id"].as_str().unwrap_or_default()))
                .collect();
            let outcomes_of = |rs: &[&Value]| {
                rs.iter()
                    .map(|r| r["outcome"].to_string())
                    .collect::<Vec<_>>()
            };
            let calls = applied.get(t.bucket.as_str()).map_or(0, BTreeSet::len);
            let gave_up = dlq_copies
                .remove(&t.body)
                .is_some_and(|rs| rs.iter().all(|r| r.contains("gave up")));
            let encrypted = w.bucket_encrypted(&t.bucket).await;
            if calls > 1 {
                applied_twice += 1;
                problems.push(format!(
                    "APPLIED TWICE: {}: {calls} separate PutBucketEncryption calls succeeded; records {:?}",
                    t.bucket,
                    outcomes_of(&recs)
                ));
            }
            if terminal.len() > 1 {
                problems.push(format!(
                    "RECORDED TWICE: {}: {} terminal records {:?}",
                    t.bucket,
                    terminal.len(),
                    outcomes_of(&terminal)
                ));
            }
            match with_done.first().map(|r| r["outcome"].as_str().unwrap_or_default()) {
                Some("fixed") => {
                    fixed += 1;
                    if !encrypted {
                        problems.push(format!("{}: recorded fixed, not encrypted", t.bucket));
                    }
                }
                // Every bucket started unencrypted: an earlier delivery changed it and was
                // killed, or failed, before recording it.
                Some("already-compliant") if calls > 0 => {
                    fixed_but_already_compliant += 1;
                    problems.push(format!(
                        "FIXED BY A FAILED DELIVERY, RECORDED already-compliant: {} (records {:?}); expected one `fixed` record",
                        t.bucket,
                        outcomes_of(&recs)
                    ));
                }
                Some(other) => problems.push(format!(
                    "{}: terminal record `{other}` although the bucket started unencrypted and {calls} changes were seen (records {:?})",
                    t.bucket,
                    outcomes_of(&recs)
                )),
                None if terminal.is_empty() && gave_up && !recs.is_empty() => given_up += 1,
                None => {
                    lost += 1;
                    problems.push(format!(
                        "LOST: {}: no record marked done and not given up (records {:?}, dead-lettered: {gave_up}, encrypted: {encrypted})",
                        t.bucket,
                        outcomes_of(&recs)
                    ));
                }
            }
        }
        for (body, reasons) in &dlq_copies {
            problems.push(format!("unexpected DLQ message ({reasons:?}): {body:.80}"));
        }

        let verify = w.redress(&["evidence", "verify"]);
        if !verify.status.success() {
            problems.push(format!(
                "evidence verify failed: {}",
                String::from_utf8_lossy(&verify.stderr)
            ));
        }
        let panics = self.stderr.matches("panicked at").count();
        if panics > 0 {
            problems.push(format!("PANIC: {panics} panics in the worker's stderr"));
        }

        let counts = self.proxy.counts();
        let faults: BTreeMap<&str, u64> = Fault::ALL
            .iter()
            .map(|f| (f.as_str(), counts.injected.get(f).copied().unwrap_or(0)))
            .collect();
        let said = |text: &str| self.stderr.matches(text).count();
        let summary = json!({
            "scenario": self.name,
            "seed": self.seed,
            "base_seed": base_seed(),
            "wall_secs": (self.started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            "messages_sent": self.sent,
            "findings": self.targets.len(),
            "duplicates_sent": self.sent / 2,
            "malformed_sent": self.malformed.len() * 2,
            "ignorable_sent": self.ignored.len() * 2,
            "requests_through_proxy": counts.requests,
            "faults_injected": faults,
            "faults_injected_total": faults.values().sum::<u64>(),
            "outages": counts.outages,
            "connections_cut_by_outages": counts.connections_cut,
            "kills": self.kills.len(),
            "kill_points": self.kills,
            "worker_runs": self.worker_runs,
            "records": outcomes,
            "findings_fixed": fixed,
            "findings_given_up": given_up,
            "fixed_by_failed_delivery_recorded_already_compliant": fixed_but_already_compliant,
            "redeliveries_recognised_as_done": said("Finding already handled") + said("handled by a concurrent delivery"),
            "stale_claims_taken_over": said("Claim is past its lease"),
            "transient_failures_recorded": said("Transient failure recorded"),
            "extra_skipped_records": skipped.saturating_sub(self.ignored.len()),
            "malformed_dead_lettered": malformed_dead,
            "malformed_extra_dlq_copies": malformed_dead.saturating_sub(self.malformed.len() * 2),
            "sdk_resends_of_applied_changes": resent,
            "applied_twice": applied_twice,
            "lost": lost,
            "panics": panics,
            "result": if problems.is_empty() { "pass" } else { "FAIL" },
            "problems": problems,
        });
        report(&summary);
        let kept = if !problems.is_empty() && std::env::var_os("REDRESS_FAULTS_KEEP").is_some() {
            let dir = self.w.dir.keep();
            std::fs::write(dir.join("workers.log"), &self.stderr).unwrap();
            format!("\nstore and worker logs kept in {}", dir.display())
        } else {
            String::new()
        };
        assert!(
            problems.is_empty(),
            "scenario {} failed (REDRESS_FAULTS_SEED={}):\n{}{kept}",
            self.name,
            base_seed(),
            problems.join("\n")
        );
    }
}

/// One line on stderr (not captured by the test harness) and one JSON line in the report.
fn report(summary: &Value) {
    let s = summary;
    let line = format!(
        "faults[{}] seed={} wall={}s messages={} (findings {}, duplicates {}, malformed {}) requests={} faults={} outages={} kills={} worker-runs={} records={} fixed={} given-up={} fixed-recorded-already-compliant={} redeliveries-recognised={} malformed-dead-lettered={} applied-twice={} lost={} panics={} result={}\n",
        s["scenario"].as_str().unwrap_or_default(),
        s["base_seed"],
        s["wall_secs"],
        s["messages_sent"],
        s["findings"],
        s["duplicates_sent"],
        s["malformed_sent"],
        s["requests_through_proxy"],
        s["faults_injected"],
        s["outages"],
        s["kills"],
        s["worker_runs"],
        s["records"],
        s["findings_fixed"],
        s["findings_given_up"],
        s["fixed_by_failed_delivery_recorded_already_compliant"],
        s["redeliveries_recognised_as_done"],
        s["malformed_dead_lettered"],
        s["applied_twice"],
        s["lost"],
        s["panics"],
        s["result"].as_str().unwrap_or_default(),
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
    static FILE: Mutex<()> = Mutex::new(());
    let _guard = FILE.lock().unwrap_or_else(|e| e.into_inner());
    let path = std::env::var("REDRESS_FAULTS_REPORT")
        .unwrap_or_else(|_| concat!(env!("CARGO_TARGET_TMPDIR"), "/faults-report.jsonl").into());
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = writeln!(f, "{summary}");
    }
}

/// A quarter of the worker's requests (SQS and S3) are delayed, dropped before or after
/// reaching moto, throttled or failed with a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn network_faults_lose_nothing_and_apply_nothing_twice() {
    let mut s = Scenario::new("network", 30).await;
    s.proxy.set_faults(Faults::mixed(0.25));
    s.run_to_empty().await;
    s.audit().await;
}

/// How a SIGKILL is timed.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// After a random time from the start.
    Timed(Duration),
    /// The moment moto has accepted a change, before the worker reads the answer.
    BeforeAnswer,
    /// A few milliseconds after a change's answer reached the worker: between apply,
    /// verification and evidence.
    AfterAnswer(Duration),
}

/// The worker is SIGKILLed eight times (at random times, the moment moto accepted a change
/// before the worker read the answer, or just after it did) and restarted, then run to idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_batch_loses_nothing_and_applies_nothing_twice() {
    let mut s = Scenario::new("sigkill", 24).await;
    type Armed = Option<(u32, bool, tokio::sync::oneshot::Sender<Exchange>)>;
    let armed: Arc<Mutex<Armed>> = Arc::new(Mutex::new(None));
    let hook_armed = armed.clone();
    let hook: Hook = Arc::new(move |ex: &Exchange| {
        if let Some((pid, kill, tx)) = hook_armed.lock().unwrap().take() {
            if kill {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            let _ = tx.send(ex.clone());
        }
    });
    s.proxy.set_hook(Some(hook));
    for _ in 0..8 {
        let point = match s.rng.random_range(0..10) {
            0..4 => KillPoint::BeforeAnswer,
            4..7 => KillPoint::AfterAnswer(Duration::from_millis(s.rng.random_range(0..150))),
            _ => KillPoint::Timed(Duration::from_millis(s.rng.random_range(300..2500))),
        };
        let (mut child, log) = s.spawn_worker(&[]);
        let pid = child.id().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let what = match point {
            KillPoint::Timed(after) => {
                tokio::time::sleep(after).await;
                format!("timed {} ms", after.as_millis())
            }
            KillPoint::BeforeAnswer | KillPoint::AfterAnswer(_) => {
                let before = matches!(point, KillPoint::BeforeAnswer);
                *armed.lock().unwrap() = Some((pid, before, tx));
                match tokio::time::timeout(Duration::from_secs(6), rx).await {
                    Ok(Ok(ex)) => {
                        if let KillPoint::AfterAnswer(d) = point {
                            tokio::time::sleep(d).await;
                            format!(
                                "{} ms after {} {} answered",
                                d.as_millis(),
                                ex.operation,
                                ex.resource
                            )
                        } else {
                            format!("{} {} applied, answer not read", ex.operation, ex.resource)
                        }
                    }
                    _ => {
                        armed.lock().unwrap().take();
                        "timed 6 s (no change seen)".to_owned()
                    }
                }
            }
        };
        // Kills the process if the hook did not (SIGKILL on Unix).
        let _ = child.start_kill();
        let status = child.wait().await.unwrap();
        s.collect_log(&log);
        assert!(!status.success(), "the worker was killed: {status}");
        let orphans = s.orphan_claims();
        s.kills
            .push(format!("{what}; {orphans} claims left without done"));
    }
    s.run_to_empty().await;
    s.audit().await;
}

/// The endpoint goes away twice mid-run (port closed, open connections cut, 1.5–5 s) and
/// comes back with its state, as a restarted AWS endpoint does. moto itself is not
/// restarted: it keeps the queue in memory, so a restart would lose every message.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn endpoint_outage_mid_run_loses_nothing_and_applies_nothing_twice() {
    let mut s = Scenario::new("outage", 20).await;
    let (mut child, log) = s.spawn_worker(&["--until-idle", "3"]);
    // The first outage once a few changes went through, the second a little later.
    for n in [3, 9] {
        let deadline = Instant::now() + Duration::from_secs(20);
        while s
            .proxy
            .log()
            .iter()
            .filter(|e| e.is_s3_mutation() && e.succeeded())
            .count()
            < n
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let down = Duration::from_millis(s.rng.random_range(1500..5000));
        s.proxy.outage(down).await.unwrap();
    }
    let status = child.wait().await.unwrap();
    s.collect_log(&log);
    if !status.success() {
        s.problems
            .push(format!("the worker through the outages exited {status}"));
    }
    if s.w.visible_messages(&s.w.queue).await > 0 {
        s.run_to_empty().await;
    }
    s.audit().await;
}

/// The proxy's faults reach the SDK as the real service's would: throttling and 500s with
/// the protocol's error codes, dropped connections as transport errors, a change applied
/// although its answer was lost, and an outage as refused connections.
#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_faults_look_like_aws_to_the_sdk() {
    let w = World::new("").await;
    w.unencrypted_bucket("acme-proxy").await;
    let only = |f: Fault| Faults {
        share: 1.0,
        weights: Fault::ALL.map(|k| u32::from(k == f)),
        delay_ms: (50, 60),
    };
    let proxy = Proxy::start(&w.moto.endpoint, 7, only(Fault::Throttle))
        .await
        .unwrap();
    let sdk = w
        .sdk
        .to_builder()
        .endpoint_url(&proxy.endpoint)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let s3_call = || s3.get_bucket_encryption().bucket("acme-proxy").send();
    let sqs_call = || {
        sqs.get_queue_attributes()
            .queue_url(&w.queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
    };

    let e = s3_call().await.unwrap_err();
    assert_eq!(e.code(), Some("SlowDown"), "{e:?}");
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 503);
    let e = sqs_call().await.unwrap_err();
    assert_eq!(e.code(), Some("RequestThrottled"), "{e:?}");

    proxy.set_faults(only(Fault::ServerError));
    let e = s3_call().await.unwrap_err();
    assert_eq!(e.code(), Some("InternalError"), "{e:?}");
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 500);
    let e = sqs_call().await.unwrap_err();
    assert_eq!(e.code(), Some("InternalFailure"), "{e:?}");

    proxy.set_faults(only(Fault::DropBefore));
    let e = sqs_call().await.unwrap_err();
    assert!(e.raw_response().is_none(), "no answer: {e:?}");

    proxy.set_faults(only(Fault::DropAfter));
    let rule = aws_sdk_s3::types::ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::Aes256)
                .build()
                .unwrap(),
        )
        .build();
    let e = s3
        .put_bucket_encryption()
        .bucket("acme-proxy")
        .server_side_encryption_configuration(
            aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(e.raw_response().is_none(), "answer lost: {e:?}");
    assert!(
        w.bucket_encrypted("acme-proxy").await,
        "the change took effect"
    );

    proxy.set_faults(only(Fault::Delay));
    sqs_call().await.unwrap();

    proxy.set_faults(Faults::none());
    let outage = proxy.outage(Duration::from_millis(800));
    let during = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        sqs_call().await
    };
    let (o, e) = tokio::join!(outage, during);
    o.unwrap();
    assert!(e.unwrap_err().raw_response().is_none());
    sqs_call().await.unwrap();

    let log = proxy.log();
    let put = log
        .iter()
        .find(|e| e.operation == "s3:PUT?encryption")
        .unwrap();
    assert_eq!(put.resource, "acme-proxy");
    assert!(!put.invocation.is_empty(), "SDK attempts are told apart");
    assert_eq!(put.status, Some(200));
    assert!(!put.delivered);
    assert!(put.is_s3_mutation() && put.succeeded());
    let counts = proxy.counts();
    assert_eq!(counts.outages, 1);
    for f in Fault::ALL {
        assert!(counts.injected.get(&f).copied().unwrap_or(0) >= 1, "{f}");
    }
}
