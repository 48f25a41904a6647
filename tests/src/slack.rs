//! A local stand-in for the Slack Web API, for tests and the local demo.
//!
//! Slack has no local emulator (DESIGN §6), so this small axum server answers the calls
//! redress makes and records them:
//! - `POST /api/chat.postMessage`: `{ok, channel, ts}` with a unique `ts` per message;
//! - `POST /api/chat.update`: `{ok, channel, ts}` for a message it posted;
//! - `POST /response/<id>`: a `response_url`; records the body and answers `ok`.
//!
//! Like Slack, `/api/*` wants `Authorization: Bearer <token>` (`not_authed` without it,
//! `invalid_auth` with another token) and a JSON body; `chat.postMessage` wants a channel
//! and text or blocks, and `chat.update` a message that exists. Refused calls are not in
//! [`SlackStandIn::posts`] / [`SlackStandIn::updates`]; [`SlackStandIn::refused`] lists them.
//!
//! The server runs on its own thread and runtime, so it serves sync and async tests alike
//! and outlives neither: dropping the [`SlackStandIn`] stops it.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// The bot token the stand-in accepts unless told otherwise.
pub const TOKEN: &str = "xoxb-redress-stand-in";

/// Everything the stand-in was asked, in order of arrival per kind.
#[derive(Debug, Clone, Default)]
pub struct Calls {
    /// Accepted `chat.postMessage` bodies, as sent.
    pub posts: Vec<Value>,
    /// Accepted `chat.update` bodies, as sent.
    pub updates: Vec<Value>,
    /// Bodies POSTed to response URLs, with the id of the URL.
    pub responses: Vec<(String, Value)>,
    /// Refused `/api/*` calls: `(method, error)`.
    pub refused: Vec<(String, String)>,
    /// Response-URL calls that carried an `Authorization` header: the bot token must only
    /// go to the Web API, so tests expect 0.
    pub responses_with_auth: usize,
}

/// A message as it stands after posts and updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: Value,
    pub blocks: Value,
}

#[derive(Default)]
struct Inner {
    calls: Calls,
    /// `(channel, ts)` → the message now.
    messages: BTreeMap<(String, String), Message>,
    /// Errors to answer the next calls of a method with, instead of doing them.
    failures: BTreeMap<String, VecDeque<String>>,
    next_ts: u64,
}

#[derive(Clone)]
struct Shared {
    token: String,
    inner: Arc<Mutex<Inner>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data; keep serving it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running stand-in; stops when dropped.
pub struct SlackStandIn {
    addr: SocketAddr,
    shared: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SlackStandIn {
    /// Starts a stand-in on 127.0.0.1 (a free port) that accepts [`TOKEN`].
    pub fn start() -> SlackStandIn {
        Self::start_with_token(TOKEN)
    }

    /// Starts a stand-in that accepts `token`.
    pub fn start_with_token(token: &str) -> SlackStandIn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("Slack stand-in: cannot bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("Slack stand-in: cannot make the listener non-blocking");
        let addr = listener.local_addr().expect("Slack stand-in: no address");
        let shared = Shared {
            token: token.to_owned(),
            inner: Arc::new(Mutex::new(Inner::default())),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = app(shared.clone());
        let thread = std::thread::Builder::new()
            .name("slack-stand-in".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("Slack stand-in: cannot build a runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("Slack stand-in: cannot adopt the listener");
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })
            .expect("Slack stand-in: cannot spawn its thread");
        SlackStandIn {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The Web API base URL, for `[slack] api_url` (e.g. `http://127.0.0.1:PORT/api`).
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// A response URL that records what is POSTed to it under `id`.
    pub fn response_url(&self, id: &str) -> String {
        format!("http://{}/response/{id}", self.addr)
    }

    /// The token it accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// A snapshot of every call so far.
    pub fn calls(&self) -> Calls {
        self.shared.lock().calls.clone()
    }

    /// Accepted `chat.postMessage` bodies (top-level messages and thread replies).
    pub fn posts(&self) -> Vec<Value> {
        self.shared.lock().calls.posts.clone()
    }

    /// Accepted `chat.update` bodies.
    pub fn updates(&self) -> Vec<Value> {
        self.shared.lock().calls.updates.clone()
    }

    /// Bodies POSTed to any response URL.
    pub fn responses(&self) -> Vec<Value> {
        self.shared
            .lock()
            .calls
            .responses
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Bodies POSTed to the response URL `id`.
    pub fn responses_to(&self, id: &str) -> Vec<Value> {
        self.shared
            .lock()
            .calls
            .responses
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Refused `/api/*` calls: `(method, error)`.
    pub fn refused(&self) -> Vec<(String, String)> {
        self.shared.lock().calls.refused.clone()
    }

    /// The message at `(channel, ts)` as it stands after updates.
    pub fn message(&self, channel: &str, ts: &str) -> Option<Message> {
        self.shared
            .lock()
            .messages
            .get(&(channel.to_owned(), ts.to_owned()))
            .cloned()
    }

    /// Replies posted in the thread of `(channel, ts)`, oldest first.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<Message> {
        let mut replies: Vec<Message> = self
            .shared
            .lock()
            .messages
            .values()
            .filter(|m| m.channel == channel && m.thread_ts.as_deref() == Some(ts))
            .cloned()
            .collect();
        replies.sort_by(|a, b| a.ts.cmp(&b.ts));
        replies
    }

    /// Makes the next call of `method` (`chat.postMessage`, `chat.update`) answer
    /// `{ok:false, error}` without doing anything. Queued per method.
    pub fn fail_next(&self, method: &str, error: &str) {
        self.shared
            .lock()
            .failures
            .entry(method.to_owned())
            .or_default()
            .push_back(error.to_owned());
    }

    /// Waits until `done` holds for the calls so far, and returns them; panics with what was
    /// recorded when `timeout` passes first.
    pub async fn wait_for(&self, done: impl Fn(&Calls) -> bool, timeout: Duration) -> Calls {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls();
            if done(&calls) {
                return calls;
            }
            if Instant::now() >= deadline {
                panic!(
                    "Slack stand-in: the condition did not hold within {timeout:?}; calls: {calls:#?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SlackStandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn app(shared: Shared) -> Router {
    Router::new()
        .route("/api/{method}", post(api))
        .route("/response/{id}", post(response_url))
        .with_state(shared)
}

fn api_reply(body: Value) -> Response {
    // Slack answers Web API errors with HTTP 200 and `ok:false`.
    (StatusCode::OK, axum::Json(body)).into_response()
}

async fn api(
    State(shared): State<Shared>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refuse = |error: &str| {
        shared
            .lock()
            .calls
            .refused
            .push((method.clone(), error.to_owned()));
        api_reply(json!({"ok": false, "error": error}))
    };
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match auth.and_then(|a| a.strip_prefix("Bearer ")) {
        None => return refuse("not_authed"),
        Some(t) if t != shared.token => return refuse("invalid_auth"),
        Some(_) => {}
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !json_type {
        return refuse("invalid_form_data");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return refuse("invalid_json");
    };
    let injected = shared
        .lock()
        .failures
        .get_mut(&method)
        .and_then(VecDeque::pop_front);
    if let Some(error) = injected {
        return refuse(&error);
    }
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    match method.as_str() {
        "chat.postMessage" => {
            let Some(channel) = s("channel").filter(|c| !c.is_empty()) else {
                return refuse("channel_not_found");
            };
            let has_text = s("text").is_some_and(|t| !t.is_empty());
            let has_blocks = body
                .get("blocks")
                .and_then(Value::as_array)
                .is_some_and(|b| !b.is_empty());
            if !has_text && !has_blocks {
                return refuse("no_text");
            }
            let mut inner = shared.lock();
            let thread_ts = s("thread_ts");
            if let Some(parent) = &thread_ts
                && !inner
                    .messages
                    .contains_key(&(channel.clone(), parent.clone()))
            {
                drop(inner);
                return refuse("thread_not_found");
            }
            inner.next_ts += 100;
            let ts = format!(
                "{}.{:06}",
                1_700_000_000 + inner.next_ts / 1_000_000,
                inner.next_ts % 1_000_000
            );
            inner.messages.insert(
                (channel.clone(), ts.clone()),
                Message {
                    channel: channel.clone(),
                    ts: ts.clone(),
                    thread_ts,
                    text: body.get("text").cloned().unwrap_or(Value::Null),
                    blocks: body.get("blocks").cloned().unwrap_or(Value::Null),
                },
            );
            inner.calls.posts.push(body.clone());
            api_reply(json!({"ok": true, "channel": channel, "ts": ts, "message": body}))
        }
        "chat.update" => {
            let (Some(channel), Some(ts)) = (s("channel"), s("ts")) else {
                return refuse("cant_update_message");
            };
            let mut inner = shared.lock();
            let Some(message) = inner.messages.get_mut(&(channel.clone(), ts.clone())) else {
                drop(inner);
                return refuse("message_not_found");
            };
            if let Some(text) = body.get("text") {
                message.text = text.clone();
            }
            if let Some(blocks) = body.get("blocks") {
                message.blocks = blocks.clone();
            }
            inner.calls.updates.push(body.clone());
            api_reply(json!({"ok": true, "channel": channel, "ts": ts, "text": body.get("text")}))
        }
        _ => refuse("unknown_method"),
    }
}

async fn response_url(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    let mut inner = shared.lock();
    if headers.contains_key(header::AUTHORIZATION) {
        inner.calls.responses_with_auth += 1;
    }
    inner.calls.responses.push((id, body));
    (StatusCode::OK, "ok").into_response()
}
