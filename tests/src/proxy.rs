//! A fault-injecting HTTP proxy between `redress` and moto_server.
//!
//! The worker's `AWS_ENDPOINT_URL` points here; a test's own SDK client talks to moto
//! directly, so setup and checks are never faulted. hyper parses each request (keep-alive,
//! `Content-Length` or chunked bodies), the whole request is forwarded and moto's answer is
//! passed back, unless the fault chosen for the request says otherwise: a delay, the
//! connection dropped before forwarding or after (the request took effect, its answer is
//! lost), a throttling error or a 500 in the protocol's own shape, so the SDK classifies
//! them as AWS's.
//!
//! The fault of a request is a function of the seed, the request's operation and resource,
//! and how many times that operation was seen before: a seed replays the same faults on the
//! same resources (the interleaving of concurrent requests still varies from run to run).
//!
//! Every request is logged ([`Exchange`]): what it was, the fault, moto's status and whether
//! the answer was passed on. [`Proxy::outage`] closes the port and cuts every open connection
//! for a while, as a server restart looks from the client.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A fault the proxy injects into one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Held 50–500 ms before forwarding (or before answering).
    Delay,
    /// The connection is closed before the request reaches moto.
    DropBefore,
    /// The request reaches moto and takes effect; the connection is closed instead of the
    /// answer.
    DropAfter,
    /// Answered 503 `SlowDown` (S3) or 400 `RequestThrottled` / `ThrottlingException`.
    Throttle,
    /// Answered 500 `InternalError` / `InternalFailure`.
    ServerError,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::Delay,
        Fault::DropBefore,
        Fault::DropAfter,
        Fault::Throttle,
        Fault::ServerError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Delay => "delay",
            Fault::DropBefore => "drop-before-forward",
            Fault::DropAfter => "drop-after-forward",
            Fault::Throttle => "throttle",
            Fault::ServerError => "server-error",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which share of requests gets a fault, and of which kind.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Probability that a request gets a fault (0 = none).
    pub share: f64,
    /// Relative weight of each kind, in the order of [`Fault::ALL`].
    pub weights: [u32; 5],
    /// Delay range in milliseconds.
    pub delay_ms: (u64, u64),
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Faults {
            share: 0.0,
            weights: [1; 5],
            delay_ms: (50, 500),
        }
    }

    /// `share` of requests get a fault, every kind equally likely.
    pub fn mixed(share: f64) -> Self {
        Faults {
            share,
            ..Faults::none()
        }
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub query: String,
    /// `AmazonSQS.ReceiveMessage` (JSON protocols), the `Action` (query protocols), or
    /// `s3:PUT?encryption` (S3: method and sub-resource).
    pub operation: String,
    /// The bucket of an S3 request; empty otherwise.
    pub resource: String,
    /// The SDK's `amz-sdk-invocation-id`: the same on every attempt of one SDK call.
    pub invocation: String,
    /// The SDK's attempt number (`amz-sdk-request: attempt=N`).
    pub attempt: u32,
    pub fault: Option<Fault>,
    /// moto's status; `None` when the request was not forwarded or the forwarding was cut.
    pub status: Option<u16>,
    /// moto's answer was handed back to the client.
    pub delivered: bool,
}

impl Exchange {
    /// An S3 call that changes a bucket (PUT, POST or DELETE on a bucket).
    pub fn is_s3_mutation(&self) -> bool {
        self.operation.starts_with("s3:")
            && !self.resource.is_empty()
            && matches!(self.method.as_str(), "PUT" | "POST" | "DELETE")
    }

    /// moto answered 2xx.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Called with a mutating S3 exchange that moto answered 2xx, before the answer is passed
/// back: a test can kill the worker exactly between the change and its acknowledgement.
pub type Hook = Arc<dyn Fn(&Exchange) + Send + Sync>;

/// What the proxy counted.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub requests: u64,
    pub injected: BTreeMap<Fault, u64>,
    pub outages: u64,
    /// Connections open when an outage cut them.
    pub connections_cut: u64,
    /// Requests moto could not be reached for (answered 502).
    pub upstream_errors: u64,
}

struct Shared {
    seed: u64,
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    faults: Mutex<Faults>,
    seen: Mutex<HashMap<String, u64>>,
    log: Mutex<Vec<Exchange>>,
    counts: Mutex<Counts>,
    hook: Mutex<Option<Hook>>,
    /// Cancelled by an outage: stops the listener and every connection of this generation.
    generation: Mutex<CancellationToken>,
    open: AtomicU64,
}

/// A running proxy; stops when dropped.
pub struct Proxy {
    pub endpoint: String,
    pub port: u16,
    shared: Arc<Shared>,
}

/// The connection is to be closed without an answer.
#[derive(Debug)]
struct Cut;

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection cut by the fault proxy")
    }
}

impl std::error::Error for Cut {}

type Reply = Result<Response<Full<Bytes>>, Cut>;

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str, seed: u64, faults: Faults) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        // A fresh connection to moto per request: a pooled one that moto closed would fail
        // as if it were an injected fault.
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(http);
        let shared = Arc::new(Shared {
            seed,
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            faults: Mutex::new(faults),
            seen: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            counts: Mutex::new(Counts::default()),
            hook: Mutex::new(None),
            generation: Mutex::new(CancellationToken::new()),
            open: AtomicU64::new(0),
        });
        let token = shared.generation.lock().unwrap().clone();
        tokio::spawn(serve(listener, shared.clone(), token));
        Ok(Proxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            shared,
        })
    }

    /// Changes the faults from now on.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap() = faults;
    }

    /// Sets (or clears) the hook on acknowledged-to-be mutations.
    pub fn set_hook(&self, hook: Option<Hook>) {
        *self.shared.hook.lock().unwrap() = hook;
    }

    /// The port refuses connections and every open connection is cut, for `down`; then it
    /// listens again. moto keeps its state, as AWS does when an endpoint restarts.
    pub async fn outage(&self, down: Duration) -> std::io::Result<()> {
        let old = {
            let mut g = self.shared.generation.lock().unwrap();
            std::mem::replace(&mut *g, CancellationToken::new())
        };
        {
            let mut c = self.shared.counts.lock().unwrap();
            c.outages += 1;
            c.connections_cut += self.shared.open.load(Ordering::Relaxed);
        }
        old.cancel();
        tokio::time::sleep(down).await;
        // The same port: the worker's endpoint does not change. std and tokio set
        // SO_REUSEADDR, so the port is free at once.
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
        let token = self.shared.generation.lock().unwrap().clone();
        tokio::spawn(serve(listener, self.shared.clone(), token));
        Ok(())
    }

    /// Every request so far, in arrival order.
    pub fn log(&self) -> Vec<Exchange> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn counts(&self) -> Counts {
        self.shared.counts.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.generation.lock().unwrap().cancel();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, token: CancellationToken) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(_) => continue,
            },
            () = token.cancelled() => return,
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let token = token.clone();
        tokio::spawn(async move {
            shared.open.fetch_add(1, Ordering::Relaxed);
            let svc_shared = shared.clone();
            let service = hyper::service::service_fn(move |req| handle(svc_shared.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            // Dropping the connection future closes the socket mid-request: an outage.
            tokio::select! {
                _ = conn => {}
                () = token.cancelled() => {}
            }
            shared.open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// What the proxy reads from a request to name it and shape a synthetic error.
struct Op {
    operation: String,
    resource: String,
    protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    RestXml,
    /// awsJson (`X-Amz-Target`); SQS is query-compatible (error code in a header).
    Json {
        sqs: bool,
    },
    /// awsQuery / ec2Query (form body with `Action`).
    Query {
        ec2: bool,
    },
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn form_value<'b>(form: &'b str, key: &str) -> Option<&'b str> {
    form.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

impl Op {
    fn of(parts: &hyper::http::request::Parts, body: &[u8]) -> Op {
        let target = header(&parts.headers, "x-amz-target");
        if !target.is_empty() {
            return Op {
                operation: target.to_owned(),
                resource: String::new(),
                protocol: Protocol::Json {
                    sqs: target.starts_with("AmazonSQS."),
                },
            };
        }
        let content_type = header(&parts.headers, "content-type");
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let form = std::str::from_utf8(body).unwrap_or_default();
            let query = parts.uri.query().unwrap_or_default();
            let action = form_value(form, "Action")
                .or_else(|| form_value(query, "Action"))
                .unwrap_or("-");
            let version = form_value(form, "Version").unwrap_or_default();
            return Op {
                operation: action.to_owned(),
                resource: String::new(),
                protocol: Protocol::Query {
                    ec2: version.starts_with("2016-11-15"),
                },
            };
        }
        // S3, path-style (the worker forces it when AWS_ENDPOINT_URL is set).
        let bucket = parts
            .uri
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        let sub = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .next()
            .unwrap_or_default()
            .split('=')
            .next()
            .unwrap_or_default();
        Op {
            operation: format!("s3:{}?{sub}", parts.method),
            resource: bucket.to_owned(),
            protocol: Protocol::RestXml,
        }
    }

    fn key(&self) -> String {
        format!("{} {}", self.operation, self.resource)
    }
}

/// FNV-1a: a stable hash for seeding (std's hasher may change between releases).
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Shared {
    /// The fault for the `n`-th request with this key, and a delay for it.
    fn choose(&self, key: &str) -> (Option<Fault>, Duration) {
        let n = {
            let mut seen = self.seen.lock().unwrap();
            let n = seen.entry(key.to_owned()).or_insert(0);
            *n += 1;
            *n
        };
        let faults = self.faults.lock().unwrap().clone();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(
            self.seed ^ fnv1a(key) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let delay = Duration::from_millis(rng.random_range(faults.delay_ms.0..=faults.delay_ms.1));
        if faults.share <= 0.0 || !rng.random_bool(faults.share.min(1.0)) {
            return (None, delay);
        }
        let total: u32 = faults.weights.iter().sum();
        if total == 0 {
            return (None, delay);
        }
        let mut pick = rng.random_range(0..total);
        for (fault, w) in Fault::ALL.iter().zip(faults.weights) {
            if pick < w {
                return (Some(*fault), delay);
            }
            pick -= w;
        }
        (None, delay)
    }

    fn begin(&self, ex: Exchange) -> usize {
        let mut log = self.log.lock().unwrap();
        log.push(ex);
        log.len() - 1
    }

    fn update(&self, at: usize, f: impl FnOnce(&mut Exchange)) -> Exchange {
        let mut log = self.log.lock().unwrap();
        f(&mut log[at]);
        log[at].clone()
    }

    async fn forward(
        &self,
        parts: &hyper::http::request::Parts,
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes), String> {
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut req = Request::builder()
            .method(parts.method.clone())
            .uri(format!("{}{path}", self.upstream));
        for (k, v) in &parts.headers {
            if !is_hop_by_hop(k) {
                req = req.header(k, v);
            }
        }
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
        let (rparts, rbody) = resp.into_parts();
        let bytes = rbody.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((rparts.status, rparts.headers, bytes))
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
    )
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|_| Cut)?.to_bytes();
    let op = Op::of(&parts, &body);
    let (fault, delay) = shared.choose(&op.key());
    let attempt = header(&parts.headers, "amz-sdk-request")
        .split(';')
        .find_map(|kv| kv.trim().strip_prefix("attempt="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let at = shared.begin(Exchange {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        operation: op.operation.clone(),
        resource: op.resource.clone(),
        invocation: header(&parts.headers, "amz-sdk-invocation-id").to_owned(),
        attempt,
        fault,
        status: None,
        delivered: false,
    });
    {
        let mut c = shared.counts.lock().unwrap();
        c.requests += 1;
        if let Some(f) = fault {
            *c.injected.entry(f).or_insert(0) += 1;
        }
    }
    match fault {
        Some(Fault::DropBefore) => return Err(Cut),
        Some(Fault::Throttle) => return Ok(synthetic(op.protocol, true)),
        Some(Fault::ServerError) => return Ok(synthetic(op.protocol, false)),
        // Half the delays hold the request, half hold moto's answer.
        Some(Fault::Delay) if delay.as_millis() % 2 == 0 => tokio::time::sleep(delay).await,
        _ => {}
    }
    // Forwarded in a task of its own: when the client goes away (killed, or cut by an
    // outage) moto still answers, and the log still says whether the change took effect.
    let forwarded = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let r = shared.forward(&parts, body).await;
            if let Ok((status, _, _)) = &r {
                shared.update(at, |e| e.status = Some(status.as_u16()));
            }
            r
        })
    };
    let (status, headers, bytes) = match forwarded.await.map_err(|e| e.to_string()).and_then(|r| r)
    {
        Ok(r) => r,
        Err(e) => {
            shared.counts.lock().unwrap().upstream_errors += 1;
            let mut resp = Response::new(Full::new(Bytes::from(format!("proxy: {e}"))));
            *resp.status_mut() = StatusCode::BAD_GATEWAY;
            return Ok(resp);
        }
    };
    let ex = shared.update(at, |_| {});
    if ex.is_s3_mutation() && ex.succeeded() {
        let hook = shared.hook.lock().unwrap().clone();
        if let Some(hook) = hook {
            hook(&ex);
        }
    }
    match fault {
        Some(Fault::DropAfter) => return Err(Cut),
        Some(Fault::Delay) if delay.as_millis() % 2 == 1 => tokio::time::sleep(delay).await,
        _ => {}
    }
    shared.update(at, |e| e.delivered = true);
    let mut resp = Response::new(Full::new(bytes));
    *resp.status_mut() = status;
    for (k, v) in &headers {
        if !is_hop_by_hop(k) {
            resp.headers_mut().append(k, v.clone());
        }
    }
    Ok(resp)
}

/// A throttling error or a 500, in the shape the protocol's real service sends.
fn synthetic(protocol: Protocol, throttle: bool) -> Response<Full<Bytes>> {
    let (status, content_type, body, query_error) = match (protocol, throttle) {
        (Protocol::RestXml, true) => (
            503,
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>FAULTPROXY</RequestId></Error>".to_owned(),
            None,
        ),
        (Protocol::RestXml, false) => (
            500,
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>FAULTPROXY</RequestId></Error>".to_owned(),
            None,
        ),
        (Protocol::Json { sqs }, true) => (
            400,
            if sqs { "application/x-amz-json-1.0" } else { "application/x-amz-json-1.1" },
            if sqs {
                r#"{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Rate exceeded"}"#
            } else {
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
            }
            .to_owned(),
            sqs.then_some("RequestThrottled;Sender"),
        ),
        (Protocol::Json { sqs }, false) => (
            500,
            if sqs { "application/x-amz-json-1.0" } else { "application/x-amz-json-1.1" },
            r#"{"__type":"InternalFailure","message":"The request processing has failed because of an unknown error."}"#.to_owned(),
            sqs.then_some("InternalFailure;Receiver"),
        ),
        (Protocol::Query { ec2 }, throttle) => {
            let code = match (ec2, throttle) {
                (true, true) => "RequestLimitExceeded",
                (true, false) => "InternalError",
                (false, true) => "Throttling",
                (false, false) => "InternalFailure",
            };
            let body = if ec2 {
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>FAULTPROXY</RequestID></Response>")
            } else {
                format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>Rate exceeded</Message></Error><RequestId>FAULTPROXY</RequestId></ErrorResponse>")
            };
            (if throttle { if ec2 { 503 } else { 400 } } else { 500 }, "text/xml", body, None)
        }
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    resp.headers_mut()
        .insert("x-amzn-requestid", HeaderValue::from_static("FAULTPROXY"));
    if let Some(q) = query_error {
        resp.headers_mut()
            .insert("x-amzn-query-error", HeaderValue::from_static(q));
    }
    resp
}
