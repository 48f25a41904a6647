//! A local OTLP/HTTP receiver: what an OpenTelemetry collector does with
//! `http/protobuf`, reduced to recording what it is sent.
//!
//! - `POST /v1/traces`: an `ExportTraceServiceRequest`, recorded as [`SpanRecord`]s;
//! - `POST /v1/metrics`: an `ExportMetricsServiceRequest`, recorded as [`Point`]s.
//!
//! Bodies are decoded with the `opentelemetry-proto` messages (prost), as a collector
//! would; a body that does not decode is answered 400 and counted in
//! [`Received::rejected`]. Like the Slack stand-in, the server runs on its own thread and
//! runtime and stops when the [`OtlpReceiver`] is dropped.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use prost::Message as _;

/// One span as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    pub name: String,
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    /// `SpanKind` as in the protocol: 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    pub kind: i32,
    /// Attribute values rendered as text (strings as they are).
    pub attributes: BTreeMap<String, String>,
    /// `StatusCode`: 0 unset, 1 ok, 2 error.
    pub status: i32,
    /// The resource's attributes (`service.name`…).
    pub resource: BTreeMap<String, String>,
    /// The instrumentation scope's name.
    pub scope: String,
}

/// One metric data point as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub metric: String,
    pub unit: String,
    /// `sum`, `gauge` or `histogram`.
    pub kind: &'static str,
    pub attributes: BTreeMap<String, String>,
    /// The value of a sum or gauge point; the sum of a histogram point.
    pub value: f64,
    /// The count of a histogram point (0 for the others).
    pub count: u64,
    pub resource: BTreeMap<String, String>,
}

/// Everything received so far.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub spans: Vec<SpanRecord>,
    pub points: Vec<Point>,
    /// Export requests per path (`/v1/traces`, `/v1/metrics`).
    pub requests: BTreeMap<String, usize>,
    /// Requests refused: wrong content type or undecodable body.
    pub rejected: usize,
}

impl Received {
    /// The spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<&SpanRecord> {
        self.spans.iter().filter(|s| s.name == name).collect()
    }

    /// The children of `parent`.
    pub fn children(&self, parent: &SpanRecord) -> Vec<&SpanRecord> {
        self.spans
            .iter()
            .filter(|s| s.trace_id == parent.trace_id && s.parent_span_id == parent.span_id)
            .collect()
    }

    /// Every span under `root` (children, their children…).
    pub fn descendants(&self, root: &SpanRecord) -> Vec<&SpanRecord> {
        let mut out = Vec::new();
        let mut frontier = vec![root];
        while let Some(s) = frontier.pop() {
            for c in self.children(s) {
                out.push(c);
                frontier.push(c);
            }
        }
        out
    }

    /// The data points of metric `name`.
    pub fn points_of(&self, name: &str) -> Vec<&Point> {
        self.points.iter().filter(|p| p.metric == name).collect()
    }
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Received>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Received> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running receiver; stops when dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    shared: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OtlpReceiver {
    /// Starts a receiver on 127.0.0.1 (a free port).
    pub fn start() -> OtlpReceiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("OTLP receiver: cannot bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("OTLP receiver: cannot make the listener non-blocking");
        let addr = listener.local_addr().expect("OTLP receiver: no address");
        let shared = Shared::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = app(shared.clone());
        let thread = std::thread::Builder::new()
            .name("otlp-receiver".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("OTLP receiver: cannot build a runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("OTLP receiver: cannot adopt the listener");
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })
            .expect("OTLP receiver: cannot spawn its thread");
        OtlpReceiver {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporters add `/v1/traces` and
    /// `/v1/metrics`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A snapshot of everything received.
    pub fn received(&self) -> Received {
        self.shared.lock().clone()
    }
}

impl Drop for OtlpReceiver {
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
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .with_state(shared)
}

fn is_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-protobuf"))
}

fn protobuf(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/x-protobuf")], body).into_response()
}

async fn traces(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut received = shared.lock();
    *received.requests.entry("/v1/traces".into()).or_default() += 1;
    let request = match ExportTraceServiceRequest::decode(body) {
        Ok(r) if is_protobuf(&headers) => r,
        _ => {
            received.rejected += 1;
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    for rs in request.resource_spans {
        let resource = rs
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        for ss in rs.scope_spans {
            let scope = ss
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for s in ss.spans {
                received.spans.push(SpanRecord {
                    name: s.name,
                    trace_id: hex::encode(&s.trace_id),
                    span_id: hex::encode(&s.span_id),
                    parent_span_id: hex::encode(&s.parent_span_id),
                    kind: s.kind,
                    attributes: attributes(&s.attributes),
                    status: s.status.map_or(0, |st| st.code),
                    resource: resource.clone(),
                    scope: scope.clone(),
                });
            }
        }
    }
    protobuf(ExportTraceServiceResponse::default().encode_to_vec())
}

async fn metrics(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut received = shared.lock();
    *received.requests.entry("/v1/metrics".into()).or_default() += 1;
    let request = match ExportMetricsServiceRequest::decode(body) {
        Ok(r) if is_protobuf(&headers) => r,
        _ => {
            received.rejected += 1;
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    for rm in request.resource_metrics {
        let resource = rm
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        for sm in rm.scope_metrics {
            for m in sm.metrics {
                let point = |kind, attrs: &[KeyValue], value, count| Point {
                    metric: m.name.clone(),
                    unit: m.unit.clone(),
                    kind,
                    attributes: attributes(attrs),
                    value,
                    count,
                    resource: resource.clone(),
                };
                let number = |v: &Option<number_data_point::Value>| match v {
                    Some(number_data_point::Value::AsDouble(d)) => *d,
                    #[allow(clippy::cast_precision_loss)]
                    Some(number_data_point::Value::AsInt(i)) => *i as f64,
                    None => 0.0,
                };
                let points: Vec<Point> = match &m.data {
                    Some(metric::Data::Sum(s)) => s
                        .data_points
                        .iter()
                        .map(|p| point("sum", &p.attributes, number(&p.value), 0))
                        .collect(),
                    Some(metric::Data::Gauge(g)) => g
                        .data_points
                        .iter()
                        .map(|p| point("gauge", &p.attributes, number(&p.value), 0))
                        .collect(),
                    Some(metric::Data::Histogram(h)) => h
                        .data_points
                        .iter()
                        .map(|p| {
                            point(
                                "histogram",
                                &p.attributes,
                                p.sum.unwrap_or_default(),
                                p.count,
                            )
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                received.points.extend(points);
            }
        }
    }
    protobuf(ExportMetricsServiceResponse::default().encode_to_vec())
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map(text).unwrap_or_default(),
            )
        })
        .collect()
}

fn text(v: &AnyValue) -> String {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}
