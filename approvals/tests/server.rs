#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The interaction endpoint, driven through `app(state)` with `oneshot` (no network) and
//! through `handle_action` directly. `MemBackend` and `RecordingSlack` are test doubles of
//! redress's own `Backend` and `SlackApi` traits; the real store and the Slack stand-in are
//! exercised by the end-to-end tests in the tests crate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use redress_approvals::interaction::{self, Interaction};
use redress_approvals::server::{ActionOutcome, AppState, app, handle_action, serve};
use redress_approvals::signature::sign;
use redress_approvals::{
    ApprovalRequest, Backend, BackendError, DecisionRecord, Job, MessageRef, SlackApi, SlackError,
    Token, Verdict, blocks,
};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tower::ServiceExt;

const SECRET: &[u8] = b"a3f1c9e07b5d42e8961f0c7d2b4e8a56";
/// The fixture click's `verify_at_unix_time`: what the test clock says.
const NOW: i64 = 1_773_480_102;
const APPROVER: &str = "U05RX7K9Q2L";
const SECOND_APPROVER: &str = "U0SECOND01";
const OUTSIDER: &str = "U0OUTSIDER";
const REQUEST: &str = "rem-20260314-0042";
const RESPONSE_URL: &str = "https://hooks.slack.com/actions/T0ACME1234/1/abc";

fn clock() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).unwrap()
}

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap()
}

fn plan_hash(byte: &str) -> String {
    format!("sha256:{}", byte.repeat(32))
}

fn request(id: &str, expires_at: DateTime<Utc>) -> ApprovalRequest {
    ApprovalRequest {
        id: id.to_owned(),
        evidence: "ev-1".to_owned(),
        finding: json!({"resource_id": "AKIAQ3EGRS7EXAMPLE42"}),
        playbook: "iam-deactivate-exposed-access-key".to_owned(),
        playbook_sha256: "abc".to_owned(),
        steps: vec![],
        before: json!([]),
        planned_calls: vec![],
        approvers: vec![APPROVER.to_owned(), SECOND_APPROVER.to_owned()],
        channel: Some("C06SECREMED".to_owned()),
        plan_hash: plan_hash("ab"),
        reason: "iam step".to_owned(),
        created_at: at(NOW - 3600),
        expires_at,
    }
}

fn token(request: &str, hash: &str) -> String {
    Token {
        request: request.to_owned(),
        plan_hash: hash.to_owned(),
    }
    .encode()
}

// ---------------------------------------------------------------------------------------
// Test doubles of our traits.

#[derive(Default)]
struct Store {
    requests: HashMap<String, ApprovalRequest>,
    decisions: HashMap<String, DecisionRecord>,
    jobs: Vec<Job>,
    messages: HashMap<String, MessageRef>,
}

#[derive(Default)]
struct MemBackend {
    store: Mutex<Store>,
    /// When set, `request` waits for a permit: lets a test see the HTTP answer go out
    /// before any of the work is done.
    gate: Option<Arc<Semaphore>>,
    /// `decision` always answers "none yet" (two clicks that both read before either
    /// wrote), so only create-once `decide` can tell them apart.
    hide_decisions: bool,
    fail_enqueue: bool,
    fail_reads: bool,
}

impl MemBackend {
    fn with_request(req: ApprovalRequest) -> Self {
        let backend = MemBackend::default();
        backend.add_request(req);
        backend
    }

    fn add_request(&self, req: ApprovalRequest) {
        let mut store = self.store.lock().unwrap();
        store.requests.insert(req.id.clone(), req);
    }

    fn add_message(&self, id: &str, message: MessageRef) {
        let mut store = self.store.lock().unwrap();
        store.messages.insert(id.to_owned(), message);
    }

    fn decisions(&self) -> Vec<DecisionRecord> {
        self.store
            .lock()
            .unwrap()
            .decisions
            .values()
            .cloned()
            .collect()
    }

    fn jobs(&self) -> Vec<Job> {
        self.store.lock().unwrap().jobs.clone()
    }
}

#[async_trait::async_trait]
impl Backend for MemBackend {
    async fn request(&self, id: &str) -> Result<Option<ApprovalRequest>, BackendError> {
        if let Some(gate) = &self.gate {
            let _permit = gate.acquire().await.unwrap();
        }
        if self.fail_reads {
            return Err(BackendError("store unreachable".to_owned()));
        }
        Ok(self.store.lock().unwrap().requests.get(id).cloned())
    }

    async fn decision(&self, id: &str) -> Result<Option<DecisionRecord>, BackendError> {
        if self.hide_decisions {
            return Ok(None);
        }
        Ok(self.store.lock().unwrap().decisions.get(id).cloned())
    }

    async fn decide(&self, decision: &DecisionRecord) -> Result<bool, BackendError> {
        let mut store = self.store.lock().unwrap();
        if store.decisions.contains_key(&decision.request) {
            return Ok(false);
        }
        store
            .decisions
            .insert(decision.request.clone(), decision.clone());
        Ok(true)
    }

    async fn enqueue(&self, job: &Job) -> Result<(), BackendError> {
        if self.fail_enqueue {
            return Err(BackendError("queue unreachable".to_owned()));
        }
        self.store.lock().unwrap().jobs.push(job.clone());
        Ok(())
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRef>, BackendError> {
        Ok(self.store.lock().unwrap().messages.get(id).cloned())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Post {
        channel: String,
        text: String,
    },
    Update {
        message: MessageRef,
        text: String,
        blocks: Value,
    },
    Respond {
        url: String,
        body: Value,
    },
}

#[derive(Default)]
struct RecordingSlack {
    calls: Mutex<Vec<Call>>,
}

impl RecordingSlack {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl SlackApi for RecordingSlack {
    async fn post(
        &self,
        channel: &str,
        text: &str,
        _blocks: &Value,
        _thread_ts: Option<&str>,
    ) -> Result<MessageRef, SlackError> {
        self.calls.lock().unwrap().push(Call::Post {
            channel: channel.to_owned(),
            text: text.to_owned(),
        });
        Ok(MessageRef {
            channel: channel.to_owned(),
            ts: "1.0".to_owned(),
        })
    }

    async fn update(
        &self,
        message: &MessageRef,
        text: &str,
        blocks: &Value,
    ) -> Result<(), SlackError> {
        self.calls.lock().unwrap().push(Call::Update {
            message: message.clone(),
            text: text.to_owned(),
            blocks: blocks.clone(),
        });
        Ok(())
    }

    async fn respond(&self, response_url: &str, body: &Value) -> Result<(), SlackError> {
        self.calls.lock().unwrap().push(Call::Respond {
            url: response_url.to_owned(),
            body: body.clone(),
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Harness.

struct Harness {
    backend: Arc<MemBackend>,
    slack: Arc<RecordingSlack>,
    state: Arc<AppState>,
}

impl Harness {
    fn new(backend: MemBackend) -> Self {
        let backend = Arc::new(backend);
        let slack = Arc::new(RecordingSlack::default());
        let state = Arc::new(AppState {
            signing_secret: SECRET.to_vec(),
            approvers: vec![APPROVER.to_owned(), SECOND_APPROVER.to_owned()],
            backend: backend.clone(),
            slack: slack.clone(),
            clock,
        });
        Harness {
            backend,
            slack,
            state,
        }
    }

    /// A pending request `REQUEST`, expiring in an hour, plan hash `ab…`.
    fn pending() -> Self {
        Harness::new(MemBackend::with_request(request(REQUEST, at(NOW + 3600))))
    }

    fn app(&self) -> Router {
        app(self.state.clone())
    }

    /// Waits (the work runs in a spawned task) until Slack saw `n` calls.
    async fn wait_for_slack_calls(&self, n: usize) -> Vec<Call> {
        for _ in 0..500 {
            let calls = self.slack.calls();
            if calls.len() >= n {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("Slack saw {:?}, expected {n} calls", self.slack.calls());
    }

    /// Asserts the click changed nothing and was answered with one ephemeral `text`.
    fn assert_refused_with(&self, text: &str) {
        assert_eq!(self.backend.decisions(), vec![]);
        assert_eq!(self.backend.jobs(), vec![]);
        assert_eq!(self.slack.calls(), vec![ephemeral(text)]);
    }
}

fn ephemeral(text: &str) -> Call {
    Call::Respond {
        url: RESPONSE_URL.to_owned(),
        body: blocks::ephemeral(text),
    }
}

/// The fixture click's form body, with its user, action, value and response_url replaced.
fn click_body(user: &str, action_id: &str, value: &str, response_url: Option<&str>) -> Vec<u8> {
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/events/slack-block-actions-approve.body.txt"
    ))
    .unwrap();
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&fixture).unwrap();
    let mut payload: Value = serde_json::from_str(&fields[0].1).unwrap();
    payload["user"]["id"] = json!(user);
    payload["actions"][0]["action_id"] = json!(action_id);
    payload["actions"][0]["value"] = json!(value);
    match response_url {
        Some(url) => payload["response_url"] = json!(url),
        None => {
            payload.as_object_mut().unwrap().remove("response_url");
        }
    }
    form(&payload.to_string())
}

fn form(payload: &str) -> Vec<u8> {
    serde_urlencoded::to_string([("payload", payload)])
        .unwrap()
        .into_bytes()
}

fn click(user: &str, action_id: &str, value: &str) -> Interaction {
    interaction::decode(&click_body(user, action_id, value, Some(RESPONSE_URL))).unwrap()
}

fn approve(user: &str) -> Interaction {
    click(user, "approve", &token(REQUEST, &plan_hash("ab")))
}

/// A POST to the endpoint signed at `timestamp` with `secret`.
fn signed_post(body: Vec<u8>, timestamp: i64, secret: &[u8]) -> Request<Body> {
    let ts = timestamp.to_string();
    let signature = sign(secret, &ts, &body);
    Request::post("/slack/interactions")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", signature)
        .body(Body::from(body))
        .unwrap()
}

async fn send(app: Router, req: Request<Body>) -> (StatusCode, String) {
    let response = app.oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn approve_body() -> Vec<u8> {
    click_body(
        APPROVER,
        "approve",
        &token(REQUEST, &plan_hash("ab")),
        Some(RESPONSE_URL),
    )
}

/// The in-place replacement of the request message after `decision`.
fn decided_call(decision: &DecisionRecord) -> Call {
    let req = request(REQUEST, at(NOW + 3600));
    let (text, blocks) = blocks::decided_message(&req, decision);
    Call::Respond {
        url: RESPONSE_URL.to_owned(),
        body: json!({"replace_original": true, "text": text, "blocks": blocks}),
    }
}

// ---------------------------------------------------------------------------------------
// HTTP.

#[tokio::test]
async fn healthz_answers_ok() {
    let h = Harness::pending();
    let req = Request::get("/healthz").body(Body::empty()).unwrap();
    assert_eq!(send(h.app(), req).await, (StatusCode::OK, "ok".to_owned()));
}

#[tokio::test]
async fn signed_approve_answers_before_the_work_then_decides_queues_and_replaces_the_message() {
    let gate = Arc::new(Semaphore::new(0));
    let backend = MemBackend {
        gate: Some(gate.clone()),
        ..MemBackend::with_request(request(REQUEST, at(NOW + 3600)))
    };
    let h = Harness::new(backend);

    // The backend is held shut: the 200 cannot have waited for any of the work.
    let (status, body) = send(h.app(), signed_post(approve_body(), NOW, SECRET)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    assert_eq!(h.backend.decisions(), vec![]);

    gate.add_permits(100);
    let calls = h.wait_for_slack_calls(1).await;

    let decision = DecisionRecord {
        request: REQUEST.to_owned(),
        verdict: Verdict::Approve,
        by: APPROVER.to_owned(),
        at: clock(),
        plan_hash: plan_hash("ab"),
        response_url: Some(RESPONSE_URL.to_owned()),
    };
    assert_eq!(h.backend.decisions(), vec![decision.clone()]);
    assert_eq!(h.backend.jobs(), vec![Job::decision(REQUEST)]);
    assert_eq!(calls, vec![decided_call(&decision)]);
}

#[tokio::test]
async fn signed_reject_records_a_reject_decision_and_queues_a_job() {
    let h = Harness::pending();
    let body = click_body(
        SECOND_APPROVER,
        "reject",
        &token(REQUEST, &plan_hash("ab")),
        Some(RESPONSE_URL),
    );
    let (status, _) = send(h.app(), signed_post(body, NOW - 10, SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    let calls = h.wait_for_slack_calls(1).await;

    let decisions = h.backend.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].verdict, Verdict::Reject);
    assert_eq!(decisions[0].by, SECOND_APPROVER);
    assert_eq!(h.backend.jobs(), vec![Job::decision(REQUEST)]);
    assert_eq!(calls, vec![decided_call(&decisions[0])]);
}

#[tokio::test]
async fn bad_signature_is_401_and_writes_nothing() {
    let h = Harness::pending();
    let (status, body) = send(h.app(), signed_post(approve_body(), NOW, b"not-the-secret")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        "invalid Slack request: X-Slack-Signature does not match"
    );

    // Signed correctly, then one byte of the body changed.
    let mut req = signed_post(approve_body(), NOW, SECRET);
    let mut tampered = approve_body();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    *req.body_mut() = Body::from(tampered);
    let (status, _) = send(h.app(), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(h.backend.decisions(), vec![]);
    assert_eq!(h.backend.jobs(), vec![]);
    assert_eq!(h.slack.calls(), vec![]);
}

#[tokio::test]
async fn missing_signature_headers_are_401() {
    let h = Harness::pending();
    let req = Request::post("/slack/interactions")
        .body(Body::from(approve_body()))
        .unwrap();
    let (status, body) = send(h.app(), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        "invalid Slack request: missing X-Slack-Request-Timestamp"
    );

    let req = Request::post("/slack/interactions")
        .header("x-slack-request-timestamp", NOW.to_string())
        .body(Body::from(approve_body()))
        .unwrap();
    let (status, body) = send(h.app(), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, "invalid Slack request: missing X-Slack-Signature");
}

#[tokio::test]
async fn stale_timestamp_is_401_even_when_correctly_signed() {
    let h = Harness::pending();
    let (status, body) = send(h.app(), signed_post(approve_body(), NOW - 360, SECRET)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        "invalid Slack request: X-Slack-Request-Timestamp is 360 s away from now (limit 300 s)"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(h.backend.decisions(), vec![]);
}

#[tokio::test]
async fn future_timestamp_is_401_even_when_correctly_signed() {
    let h = Harness::pending();
    let (status, _) = send(h.app(), signed_post(approve_body(), NOW + 301, SECRET)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(h.backend.decisions(), vec![]);
}

#[tokio::test]
async fn replayed_request_is_answered_already_decided_and_acts_once() {
    let h = Harness::pending();
    let req = || signed_post(approve_body(), NOW, SECRET);
    // Same bytes, same headers, inside the window: the signature alone cannot tell.
    assert_eq!(send(h.app(), req()).await.0, StatusCode::OK);
    h.wait_for_slack_calls(1).await;
    assert_eq!(send(h.app(), req()).await.0, StatusCode::OK);
    let calls = h.wait_for_slack_calls(2).await;

    assert_eq!(h.backend.decisions().len(), 1);
    assert_eq!(h.backend.jobs(), vec![Job::decision(REQUEST)]);
    assert_eq!(
        calls[1],
        ephemeral("Already decided: approved by <@U05RX7K9Q2L> at 2026-03-14 09:21 UTC.")
    );

    let outcome = handle_action(&h.state, approve(APPROVER)).await;
    assert_eq!(
        outcome,
        ActionOutcome::AlreadyDecided {
            by: APPROVER.to_owned(),
            verdict: Verdict::Approve
        }
    );
    assert_eq!(h.backend.decisions().len(), 1);
    assert_eq!(h.backend.jobs().len(), 1);
}

#[tokio::test]
async fn garbage_payload_is_400_and_does_nothing() {
    let h = Harness::pending();
    for body in [
        b"payload=%7Bnot+json".to_vec(),
        b"hello".to_vec(),
        form(r#"{"type":"block_actions","user":{"id":"U05RX7K9Q2L"},"actions":[]}"#),
    ] {
        let (status, text) = send(h.app(), signed_post(body, NOW, SECRET)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(text, "bad request: not a Slack block_actions interaction");
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(h.slack.calls(), vec![]);
    assert_eq!(h.backend.decisions(), vec![]);
}

#[tokio::test]
async fn view_submission_is_200_and_does_nothing() {
    let h = Harness::pending();
    let body = form(r#"{"type":"view_submission","user":{"id":"U05RX7K9Q2L"},"view":{}}"#);
    let (status, text) = send(h.app(), signed_post(body, NOW, SECRET)).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, ""));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(h.slack.calls(), vec![]);
    assert_eq!(h.backend.decisions(), vec![]);
    assert_eq!(h.backend.jobs(), vec![]);
}

#[tokio::test]
async fn non_approver_click_over_http_is_refused_ephemerally() {
    let h = Harness::pending();
    let body = click_body(
        OUTSIDER,
        "approve",
        &token(REQUEST, &plan_hash("ab")),
        Some(RESPONSE_URL),
    );
    assert_eq!(
        send(h.app(), signed_post(body, NOW, SECRET)).await.0,
        StatusCode::OK
    );
    h.wait_for_slack_calls(1).await;
    h.assert_refused_with(
        "You are not an approver for redress: approvers are <@U05RX7K9Q2L>, <@U0SECOND01>.",
    );
}

// ---------------------------------------------------------------------------------------
// handle_action, driven directly.

#[tokio::test]
async fn non_approver_is_refused_and_nothing_is_written() {
    let h = Harness::pending();
    assert_eq!(
        handle_action(&h.state, approve(OUTSIDER)).await,
        ActionOutcome::NotApprover
    );
    h.assert_refused_with(
        "You are not an approver for redress: approvers are <@U05RX7K9Q2L>, <@U0SECOND01>.",
    );
}

#[tokio::test]
async fn expired_request_cannot_be_approved() {
    let h = Harness::new(MemBackend::with_request(request(REQUEST, at(NOW - 60))));
    assert_eq!(
        handle_action(&h.state, approve(APPROVER)).await,
        ActionOutcome::Expired { at: at(NOW - 60) }
    );
    h.assert_refused_with(
        "This request expired at 2026-03-14 09:20 UTC and can no longer be approved.",
    );
}

#[tokio::test]
async fn a_request_expiring_this_second_is_already_expired() {
    let h = Harness::new(MemBackend::with_request(request(REQUEST, clock())));
    assert_eq!(
        handle_action(&h.state, approve(APPROVER)).await,
        ActionOutcome::Expired { at: clock() }
    );
    assert_eq!(h.backend.decisions(), vec![]);
}

#[tokio::test]
async fn double_click_by_two_approvers_gives_one_decision_and_tells_the_second() {
    let h = Harness::pending();
    assert_eq!(
        handle_action(&h.state, approve(APPROVER)).await,
        ActionOutcome::Decided(Verdict::Approve)
    );
    let second = click(SECOND_APPROVER, "reject", &token(REQUEST, &plan_hash("ab")));
    assert_eq!(
        handle_action(&h.state, second).await,
        ActionOutcome::AlreadyDecided {
            by: APPROVER.to_owned(),
            verdict: Verdict::Approve
        }
    );
    let decisions = h.backend.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].by, APPROVER);
    assert_eq!(h.backend.jobs(), vec![Job::decision(REQUEST)]);
    let calls = h.slack.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1],
        ephemeral("Already decided: approved by <@U05RX7K9Q2L> at 2026-03-14 09:21 UTC.")
    );
}

#[tokio::test]
async fn the_click_that_loses_the_create_once_write_is_told_someone_else_decided_first() {
    // Both clicks read "no decision yet"; only the create-once write separates them.
    let backend = MemBackend {
        hide_decisions: true,
        ..MemBackend::with_request(request(REQUEST, at(NOW + 3600)))
    };
    let h = Harness::new(backend);
    assert_eq!(
        handle_action(&h.state, approve(APPROVER)).await,
        ActionOutcome::Decided(Verdict::Approve)
    );
    assert_eq!(
        handle_action(&h.state, approve(SECOND_APPROVER)).await,
        ActionOutcome::LostRace
    );
    assert_eq!(h.backend.decisions().len(), 1);
    assert_eq!(h.backend.decisions()[0].by, APPROVER);
    assert_eq!(h.backend.jobs().len(), 1);
    let calls = h.slack.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1], ephemeral("Someone else decided first."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clicks_give_exactly_one_decision() {
    let h = Harness::pending();
    let (a, b) = tokio::join!(
        handle_action(&h.state, approve(APPROVER)),
        handle_action(&h.state, approve(SECOND_APPROVER)),
    );
    let decided = [&a, &b]
        .iter()
        .filter(|o| matches!(o, ActionOutcome::Decided(Verdict::Approve)))
        .count();
    assert_eq!(decided, 1, "{a:?} {b:?}");
    for o in [&a, &b] {
        assert!(
            matches!(
                o,
                ActionOutcome::Decided(_)
                    | ActionOutcome::AlreadyDecided { .. }
                    | ActionOutcome::LostRace
            ),
            "{o:?}"
        );
    }
    assert_eq!(h.backend.decisions().len(), 1);
    assert_eq!(h.backend.jobs().len(), 1);
}

#[tokio::test]
async fn stale_plan_hash_in_the_button_is_refused() {
    let h = Harness::pending();
    let old = click(APPROVER, "approve", &token(REQUEST, &plan_hash("cd")));
    assert_eq!(
        handle_action(&h.state, old).await,
        ActionOutcome::StaleButton
    );
    h.assert_refused_with("This button is for an older plan of this fix; nothing was done.");
}

#[tokio::test]
async fn unknown_request_id_is_refused() {
    let h = Harness::pending();
    let unknown = click(APPROVER, "approve", &token("rem-nope", &plan_hash("ab")));
    assert_eq!(
        handle_action(&h.state, unknown).await,
        ActionOutcome::UnknownRequest
    );
    h.assert_refused_with("redress has no record of this approval request; nothing was done.");
}

#[tokio::test]
async fn buttons_that_are_not_redress_tokens_are_refused() {
    let text = "This button is not one redress knows; nothing was done.";
    for (action_id, value) in [
        // The fixture's own button: another app's action id and value format.
        (
            "remediation_approve",
            "approve:rem-20260314-0042".to_owned(),
        ),
        ("approve", "approve:rem-20260314-0042".to_owned()),
        ("approve", String::new()),
        ("escalate", token(REQUEST, &plan_hash("ab"))),
    ] {
        let h = Harness::pending();
        let action = click(APPROVER, action_id, &value);
        assert_eq!(
            handle_action(&h.state, action).await,
            ActionOutcome::BadToken,
            "{action_id} {value}"
        );
        h.assert_refused_with(text);
    }
}

#[tokio::test]
async fn a_store_that_cannot_be_read_refuses_and_writes_nothing() {
    let backend = MemBackend {
        fail_reads: true,
        ..MemBackend::with_request(request(REQUEST, at(NOW + 3600)))
    };
    let h = Harness::new(backend);
    assert_eq!(
        handle_action(&h.state, approve(APPROVER)).await,
        ActionOutcome::BackendFailed
    );
    h.assert_refused_with(
        "redress could not check or record this decision right now; try again in a minute.",
    );
}

#[tokio::test]
async fn enqueue_failure_keeps_the_decision_and_still_replaces_the_message() {
    let backend = MemBackend {
        fail_enqueue: true,
        ..MemBackend::with_request(request(REQUEST, at(NOW + 3600)))
    };
    let h = Harness::new(backend);
    assert_eq!(
        handle_action(&h.state, approve(APPROVER)).await,
        ActionOutcome::Decided(Verdict::Approve)
    );
    let decisions = h.backend.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!(h.backend.jobs(), vec![]);
    assert_eq!(h.slack.calls(), vec![decided_call(&decisions[0])]);
}

#[tokio::test]
async fn without_a_response_url_the_stored_message_is_updated() {
    let h = Harness::pending();
    let message = MessageRef {
        channel: "C06SECREMED".to_owned(),
        ts: "1773479702.004200".to_owned(),
    };
    h.backend.add_message(REQUEST, message.clone());
    let action = interaction::decode(&click_body(
        APPROVER,
        "approve",
        &token(REQUEST, &plan_hash("ab")),
        None,
    ))
    .unwrap();
    assert_eq!(
        handle_action(&h.state, action).await,
        ActionOutcome::Decided(Verdict::Approve)
    );
    let decisions = h.backend.decisions();
    assert_eq!(decisions[0].response_url, None);
    let (text, blocks) = blocks::decided_message(&request(REQUEST, at(NOW + 3600)), &decisions[0]);
    assert_eq!(
        h.slack.calls(),
        vec![Call::Update {
            message,
            text,
            blocks
        }]
    );
}

#[tokio::test]
async fn without_a_response_url_a_refusal_changes_nothing() {
    let h = Harness::pending();
    let action = interaction::decode(&click_body(
        OUTSIDER,
        "approve",
        &token(REQUEST, &plan_hash("ab")),
        None,
    ))
    .unwrap();
    assert_eq!(
        handle_action(&h.state, action).await,
        ActionOutcome::NotApprover
    );
    assert_eq!(h.slack.calls(), vec![]);
    assert_eq!(h.backend.decisions(), vec![]);
}

// ---------------------------------------------------------------------------------------
// serve.

#[tokio::test]
async fn serve_answers_and_stops_on_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let h = Harness::pending();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, h.state.clone(), async move {
        let _ = stopped.await;
    }));

    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.ends_with("ok"), "{reply}");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
