//! The Slack interaction endpoint: `app(state) -> Router`.
//!
//! - `GET /healthz`: 200 `ok`.
//! - `POST /slack/interactions`: a click on an Approve / Reject button. The signature is
//!   checked over the raw body (the `SlackRequest` extractor) before anything is decoded; the endpoint then
//!   answers 200 at once (Slack wants an answer within 3 s) and does the work in a spawned
//!   task, [`handle_action`]: approver, button token, request, no earlier decision, expiry,
//!   plan hash, then the create-once decision, the job for the worker, and the message
//!   replaced in place. A refused click changes nothing and is answered with an ephemeral
//!   message to the clicker alone.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tracing::{Instrument, error, info, info_span, warn};

use crate::interaction::{self, Interaction, InteractionError};
use crate::signature::{self, SignatureError};
use crate::{ApprovalRequest, Backend, DecisionRecord, Job, SlackApi, Token, Verdict, blocks};

/// Largest interaction body read (Slack's carry the whole message, a few KiB to tens of
/// KiB); anything bigger is refused before it is buffered or verified.
const MAX_BODY_BYTES: usize = 1 << 20;

/// How long [`serve`] waits, after the listener closed, for clicks still being handled.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
const SIGNATURE_HEADER: &str = "x-slack-signature";

/// What the endpoint needs.
pub struct AppState {
    /// `SLACK_SIGNING_SECRET`.
    pub signing_secret: Vec<u8>,
    /// Slack user ids allowed to decide (`[approvals] approvers`).
    pub approvers: Vec<String>,
    /// The store and the queue.
    pub backend: Arc<dyn Backend>,
    /// Replies to the clicker and message updates.
    pub slack: Arc<dyn SlackApi>,
    /// Now; injected so expiry and the signature window are tested without sleeping.
    pub clock: fn() -> DateTime<Utc>,
}

/// The router's state: the app state, plus a token held by every spawned click handler so
/// [`serve`] can wait for them at shutdown (the channel closes when the last token drops).
#[derive(Clone)]
struct Ctx {
    state: Arc<AppState>,
    inflight: mpsc::Sender<()>,
}

/// The endpoint's routes. In-flight clicks are not awaited at shutdown; use [`serve`] for that.
pub fn app(state: Arc<AppState>) -> Router {
    let (inflight, _drained) = mpsc::channel(1);
    router(Ctx { state, inflight })
}

fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/slack/interactions", post(interactions))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ctx)
}

/// Serves [`app`] on `listener` until `shutdown` completes, then stops accepting, lets open
/// connections finish, and waits up to [`DRAIN_TIMEOUT`] for clicks still being handled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (inflight, mut drained) = mpsc::channel::<()>(1);
    axum::serve(listener, router(Ctx { state, inflight }))
        .with_graceful_shutdown(shutdown)
        .await?;
    // Nothing is ever sent: `recv` returns `None` once every handler dropped its sender.
    if tokio::time::timeout(DRAIN_TIMEOUT, drained.recv())
        .await
        .is_err()
    {
        warn!(
            message = "Stopped with approval clicks still being handled.",
            timeout_secs = DRAIN_TIMEOUT.as_secs()
        );
    }
    info!(message = "Approvals endpoint stopped.");
    Ok(())
}

/// Extractor: the raw body of a request whose Slack signature verified (over these exact
/// bytes). Nothing reads the body before this.
struct SlackRequest(Bytes);

impl FromRequest<Ctx> for SlackRequest {
    type Rejection = AppError;

    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let timestamp = header(req.headers(), TIMESTAMP_HEADER);
        let signature = header(req.headers(), SIGNATURE_HEADER);
        let body = Bytes::from_request(req, ctx)
            .await
            .map_err(AppError::Body)?;
        let now = (ctx.state.clock)().timestamp();
        signature::verify(
            &ctx.state.signing_secret,
            &timestamp,
            &body,
            &signature,
            now,
        )
        .map_err(AppError::Unauthorized)?;
        Ok(SlackRequest(body))
    }
}

/// A header's value; `""` when missing, and a value no check accepts when not ASCII.
fn header(headers: &HeaderMap, name: &str) -> String {
    match headers.get(name) {
        None => String::new(),
        Some(v) => v.to_str().unwrap_or("<not ascii>").to_owned(),
    }
}

async fn interactions(
    State(ctx): State<Ctx>,
    SlackRequest(body): SlackRequest,
) -> Result<StatusCode, AppError> {
    let action = match interaction::decode(&body) {
        Ok(action) => action,
        Err(err) if err.is_ignorable() => {
            info!(message = "Ignored an interaction redress does not handle.", reason = %err);
            return Ok(StatusCode::OK);
        }
        Err(err) => return Err(AppError::BadPayload(err)),
    };
    let Ctx { state, inflight } = ctx;
    tokio::spawn(async move {
        let _inflight = inflight;
        handle_action(&state, action).await;
    });
    Ok(StatusCode::OK)
}

/// Why a request got no 200. Answers with a short text, never internals; logs once.
#[derive(Debug)]
pub enum AppError {
    /// The signature or timestamp did not check out: 401 with the reason.
    Unauthorized(SignatureError),
    /// A signed body that is not a usable interaction: 400.
    BadPayload(InteractionError),
    /// The body could not be read (too large, connection dropped).
    Body(BytesRejection),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Unauthorized(reason) => {
                warn!(message = "Refused a request without a valid Slack signature.", %reason);
                (
                    StatusCode::UNAUTHORIZED,
                    format!("invalid Slack request: {reason}"),
                )
                    .into_response()
            }
            AppError::BadPayload(reason) => {
                warn!(message = "Refused a signed but undecodable interaction.", %reason);
                (
                    StatusCode::BAD_REQUEST,
                    "bad request: not a Slack block_actions interaction",
                )
                    .into_response()
            }
            AppError::Body(rejection) => {
                let status = rejection.status();
                warn!(message = "Could not read a request body.", %status);
                (status, "could not read the request body").into_response()
            }
        }
    }
}

/// What a click came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    /// The decision was recorded (and the job queued, or left to the sweep).
    Decided(Verdict),
    /// The clicker is not a configured approver.
    NotApprover,
    /// Not a redress button: unknown action id, or a value that is not a [`Token`].
    BadToken,
    /// No request with the token's id.
    UnknownRequest,
    /// A decision was already on record (a second click, or a replayed request).
    AlreadyDecided { by: String, verdict: Verdict },
    /// The request expired at `at`.
    Expired { at: DateTime<Utc> },
    /// The button shows an older plan than the request holds.
    StaleButton,
    /// A concurrent click wrote its decision first.
    LostRace,
    /// The store could not be read or written.
    BackendFailed,
}

impl ActionOutcome {
    fn name(&self) -> &'static str {
        match self {
            ActionOutcome::Decided(_) => "decided",
            ActionOutcome::NotApprover => "not-approver",
            ActionOutcome::BadToken => "bad-token",
            ActionOutcome::UnknownRequest => "unknown-request",
            ActionOutcome::AlreadyDecided { .. } => "already-decided",
            ActionOutcome::Expired { .. } => "expired",
            ActionOutcome::StaleButton => "stale-button",
            ActionOutcome::LostRace => "lost-race",
            ActionOutcome::BackendFailed => "backend-failed",
        }
    }
}

/// A click that changes nothing, and what the clicker is told.
struct Refusal {
    outcome: ActionOutcome,
    text: String,
}

impl Refusal {
    fn new(outcome: ActionOutcome, text: impl Into<String>) -> Self {
        Refusal {
            outcome,
            text: text.into(),
        }
    }

    fn backend_failed() -> Self {
        Refusal::new(
            ActionOutcome::BackendFailed,
            "redress could not check or record this decision right now; try again in a minute.",
        )
    }
}

/// A click that passed every check.
struct Accepted {
    request: ApprovalRequest,
    verdict: Verdict,
    token: Token,
}

/// Handles a verified, decoded click: checks it, records the decision, queues the job and
/// updates the message; or answers the clicker why not. Never fails: the outcome says what
/// happened (the HTTP answer went out before this runs).
pub async fn handle_action(state: &AppState, action: Interaction) -> ActionOutcome {
    let span = info_span!(
        "approval_click",
        user = %action.user_id,
        action = %action.action_id,
        request = tracing::field::Empty,
    );
    async {
        let now = (state.clock)();
        let outcome = match check(state, &action, now).await {
            Ok(accepted) => decide(state, &action, accepted, now).await,
            Err(refusal) => {
                tell_clicker(state, &action, &refusal.text).await;
                refusal.outcome
            }
        };
        info!(
            message = "Handled an approval click.",
            outcome = outcome.name()
        );
        outcome
    }
    .instrument(span)
    .await
}

/// The checks, in order; the first that fails is the answer.
async fn check(
    state: &AppState,
    action: &Interaction,
    now: DateTime<Utc>,
) -> Result<Accepted, Refusal> {
    if !state.approvers.contains(&action.user_id) {
        return Err(Refusal::new(
            ActionOutcome::NotApprover,
            not_approver_text(&state.approvers),
        ));
    }

    let bad_token = || {
        Refusal::new(
            ActionOutcome::BadToken,
            "This button is not one redress knows; nothing was done.",
        )
    };
    let verdict = match action.action_id.as_str() {
        "approve" => Verdict::Approve,
        "reject" => Verdict::Reject,
        _ => return Err(bad_token()),
    };
    let token = Token::decode(&action.value).ok_or_else(bad_token)?;
    tracing::Span::current().record("request", token.request.as_str());

    let request = match state.backend.request(&token.request).await {
        Ok(Some(request)) => request,
        Ok(None) => {
            return Err(Refusal::new(
                ActionOutcome::UnknownRequest,
                "redress has no record of this approval request; nothing was done.",
            ));
        }
        Err(error) => {
            error!(message = "Failed to read the approval request.", %error);
            return Err(Refusal::backend_failed());
        }
    };

    match state.backend.decision(&token.request).await {
        Ok(None) => {}
        Ok(Some(decision)) => {
            return Err(Refusal::new(
                ActionOutcome::AlreadyDecided {
                    by: decision.by.clone(),
                    verdict: decision.verdict,
                },
                already_decided_text(&decision),
            ));
        }
        Err(error) => {
            error!(message = "Failed to read the decision on the request.", %error);
            return Err(Refusal::backend_failed());
        }
    }

    if now >= request.expires_at {
        return Err(Refusal::new(
            ActionOutcome::Expired {
                at: request.expires_at,
            },
            format!(
                "This request expired at {} and can no longer be approved.",
                when(request.expires_at)
            ),
        ));
    }

    if token.plan_hash != request.plan_hash {
        return Err(Refusal::new(
            ActionOutcome::StaleButton,
            "This button is for an older plan of this fix; nothing was done.",
        ));
    }

    Ok(Accepted {
        request,
        verdict,
        token,
    })
}

/// Records the decision create-once, queues the job, and replaces the message.
async fn decide(
    state: &AppState,
    action: &Interaction,
    accepted: Accepted,
    now: DateTime<Utc>,
) -> ActionOutcome {
    let Accepted {
        request,
        verdict,
        token,
    } = accepted;
    let decision = DecisionRecord {
        request: token.request,
        verdict,
        by: action.user_id.clone(),
        at: now,
        plan_hash: token.plan_hash,
        response_url: action.response_url.clone(),
    };
    match state.backend.decide(&decision).await {
        Ok(true) => {}
        Ok(false) => {
            tell_clicker(state, action, "Someone else decided first.").await;
            return ActionOutcome::LostRace;
        }
        Err(error) => {
            error!(message = "Failed to record the decision.", %error);
            tell_clicker(state, action, &Refusal::backend_failed().text).await;
            return ActionOutcome::BackendFailed;
        }
    }

    if let Err(error) = state
        .backend
        .enqueue(&Job::decision(&decision.request))
        .await
    {
        // The decision stands: the record in the store is the authority and the job only
        // wakes a worker. The worker's expiry/decision sweep finds decided requests that
        // were never acted on and picks this one up later.
        error!(
            message = "Failed to queue the decision job; the worker's sweep will pick it up.",
            %error
        );
    }

    replace_message(state, action, &request, &decision).await;
    ActionOutcome::Decided(verdict)
}

/// Replaces the request message with the decided one: through the click's response_url, or
/// (none given, or it failed) with chat.update on the stored message. Best effort: the
/// decision is recorded whatever happens here.
async fn replace_message(
    state: &AppState,
    action: &Interaction,
    request: &ApprovalRequest,
    decision: &DecisionRecord,
) {
    let (text, blocks) = blocks::decided_message(request, decision);
    if let Some(url) = action.response_url.as_deref() {
        let body = serde_json::json!({"replace_original": true, "text": text, "blocks": blocks});
        match state.slack.respond(url, &body).await {
            Ok(()) => return,
            Err(error) => {
                warn!(message = "Failed to replace the message through response_url.", %error);
            }
        }
    }
    match state.backend.message(&request.id).await {
        Ok(Some(message)) => {
            if let Err(error) = state.slack.update(&message, &text, &blocks).await {
                warn!(message = "Failed to update the request message.", %error);
            }
        }
        Ok(None) => {
            warn!(message = "No message on record for the request; it was not updated.");
        }
        Err(error) => {
            warn!(message = "Failed to read the request's message reference.", %error);
        }
    }
}

/// An ephemeral reply to the clicker alone (changes nothing in the channel).
async fn tell_clicker(state: &AppState, action: &Interaction, text: &str) {
    let Some(url) = action.response_url.as_deref() else {
        info!(
            message = "No response_url: the clicker cannot be told.",
            reply = text
        );
        return;
    };
    if let Err(error) = state.slack.respond(url, &blocks::ephemeral(text)).await {
        warn!(message = "Failed to answer the clicker.", %error);
    }
}

fn not_approver_text(approvers: &[String]) -> String {
    if approvers.is_empty() {
        return "You are not an approver for redress: no approvers are configured.".to_owned();
    }
    let list = approvers
        .iter()
        .map(|a| format!("<@{}>", blocks::escape(a, 30)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("You are not an approver for redress: approvers are {list}.")
}

fn already_decided_text(d: &DecisionRecord) -> String {
    let by = blocks::escape(&d.by, 30);
    match d.verdict {
        Verdict::Approve => format!("Already decided: approved by <@{by}> at {}.", when(d.at)),
        Verdict::Reject => format!("Already decided: rejected by <@{by}> at {}.", when(d.at)),
        Verdict::Expire => format!("Already decided: expired at {}.", when(d.at)),
    }
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
