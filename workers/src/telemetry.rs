//! OpenTelemetry: traces and metrics exported over OTLP (HTTP, protobuf bodies).
//!
//! On when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` is set (or a signal's own
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`), off
//! otherwise, and off with `OTEL_SDK_DISABLED=true`. Off means no exporter, no thread, no
//! extra tracing layer: every function here returns at once.
//!
//! - Traces come from `tracing` spans through `tracing-opentelemetry`: the worker's own
//!   spans (`message`, `finding`, and one per stage: `intake`, `match`, `gate`, `capture`,
//!   `apply`, `verify`, `record`) and the AWS SDK's span per operation
//!   (`S3.PutBucketEncryption`, with `rpc.system = "aws-api"`, `rpc.service`, `rpc.method`;
//!   exported with kind `client`). The SDK's spans are debug-level; they are let through to
//!   OpenTelemetry (not to the logs) when they run inside one of ours, so the long polls of
//!   an idle queue do not each make a trace.
//! - Metrics are instruments of the global meter `redress`, behind the small functions
//!   below so that call sites are one line.
//! - The SDK reads the standard variables itself: `OTEL_SERVICE_NAME` (default here
//!   `redress`), `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`,
//!   `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_BSP_*`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::metrics::{Counter, Gauge, Histogram};
use opentelemetry::trace::{SpanKind, TraceContextExt as _, TracerProvider as _};
use opentelemetry::{InstrumentationScope, Key, KeyValue, Value};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData, SpanProcessor};
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::evidence::Evidence;

const SCOPE: &str = "redress";
const DEFAULT_SERVICE_NAME: &str = "redress";

/// Set when traces are exported (spans carry OpenTelemetry ids).
static TRACES: AtomicBool = AtomicBool::new(false);
/// Set when metrics are exported.
static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

/// The providers to flush at exit; empty when telemetry is off.
#[derive(Debug, Default)]
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

/// A tracing layer boxed over the subscriber it sits on.
pub type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync + 'static>;

/// What [`start`] set up.
pub struct Started<S> {
    pub telemetry: Telemetry,
    /// The layer that turns spans into OpenTelemetry spans (when traces are on).
    pub layer: Option<BoxedLayer<S>>,
    /// What could not be set up (logged once logging is up; the worker runs on).
    pub problems: Vec<String>,
}

impl Telemetry {
    /// True when spans are exported.
    pub fn traces_on(&self) -> bool {
        self.tracer.is_some()
    }

    /// Exports what is buffered and stops the exporters: called at the end of the process
    /// (after `worker --until-idle`, or the drain after SIGTERM) so a short run loses
    /// nothing. Blocks for at most the exporters' timeouts.
    pub fn shutdown(self) {
        if let Some(t) = self.tracer
            && let Err(e) = t.shutdown_with_timeout(Duration::from_secs(10))
        {
            eprintln!("redress: telemetry: flushing spans failed: {e}");
        }
        if let Some(m) = self.meter
            && let Err(e) = m.shutdown()
        {
            eprintln!("redress: telemetry: flushing metrics failed: {e}");
        }
    }
}

fn set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

/// Sets up the exporters that the environment asks for.
pub fn start<S>() -> Started<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let mut started = Started {
        telemetry: Telemetry::default(),
        layer: None,
        problems: Vec::new(),
    };
    if std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return started;
    }
    let general = set("OTEL_EXPORTER_OTLP_ENDPOINT");
    let traces = general || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    let metrics = general || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    if !traces && !metrics {
        return started;
    }
    let resource = resource();
    let scope = InstrumentationScope::builder(SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    if traces {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
        {
            Ok(exporter) => {
                let provider = SdkTracerProvider::builder()
                    .with_span_processor(AwsClientSpans(
                        BatchSpanProcessor::builder(exporter).build(),
                    ))
                    .with_resource(resource.clone())
                    .build();
                let tracer = provider.tracer_with_scope(scope.clone());
                opentelemetry::global::set_tracer_provider(provider.clone());
                started.layer = Some(
                    tracing_opentelemetry::layer()
                        .with_tracer(tracer)
                        // Tokio's worker threads mean nothing to a reader, and the target
                        // is `code.module.name` again.
                        .with_threads(false)
                        .with_target(false)
                        .with_filter(exported_spans())
                        .boxed(),
                );
                started.telemetry.tracer = Some(provider);
                TRACES.store(true, Ordering::Relaxed);
            }
            Err(e) => started
                .problems
                .push(format!("cannot set up the OTLP span exporter: {e}")),
        }
    }
    if metrics {
        match opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
        {
            Ok(exporter) => {
                let provider = SdkMeterProvider::builder()
                    .with_periodic_exporter(exporter)
                    .with_resource(resource)
                    .build();
                opentelemetry::global::set_meter_provider(provider.clone());
                let _ = INSTRUMENTS.set(Instruments::new(
                    &opentelemetry::global::meter_with_scope(scope),
                ));
                started.telemetry.meter = Some(provider);
            }
            Err(e) => started
                .problems
                .push(format!("cannot set up the OTLP metric exporter: {e}")),
        }
    }
    started
}

/// The SDK's resource (service name from `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES`,
/// `telemetry.sdk.*`), named `redress` and versioned when the environment does not say.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let service = Key::from_static_str("service.name");
    let version = Key::from_static_str("service.version");
    let named = detected
        .get(&service)
        .is_some_and(|v| !v.as_str().starts_with("unknown_service"));
    let mut builder = Resource::builder();
    if !named {
        builder = builder.with_service_name(DEFAULT_SERVICE_NAME);
    }
    if detected.get(&version).is_none() {
        builder = builder.with_attribute(KeyValue::new(version, env!("CARGO_PKG_VERSION")));
    }
    builder.build()
}

/// Which spans and events go to OpenTelemetry: ours at info and above, the AWS SDK's
/// per-operation spans inside ours, and warnings and errors from anywhere (as span events).
fn exported_spans<S>() -> impl tracing_subscriber::layer::Filter<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    use tracing::subscriber::Interest;
    fn ours(meta: &tracing::Metadata<'_>) -> bool {
        meta.target().starts_with("redress") && *meta.level() <= tracing::Level::INFO
    }
    fn aws_operation(meta: &tracing::Metadata<'_>) -> bool {
        meta.is_span()
            && meta.target().starts_with("aws_sdk_")
            && meta.fields().field("rpc.method").is_some()
    }
    fn warning(meta: &tracing::Metadata<'_>) -> bool {
        meta.is_event() && *meta.level() <= tracing::Level::WARN
    }
    tracing_subscriber::filter::dynamic_filter_fn(
        |meta: &tracing::Metadata<'_>, cx: &tracing_subscriber::layer::Context<'_, S>| {
            ours(meta) || warning(meta) || (aws_operation(meta) && cx.lookup_current().is_some())
        },
    )
    // Decided once per callsite except for the AWS spans, so that the debug and trace
    // callsites of the dependencies cost nothing.
    .with_callsite_filter(|meta| {
        if aws_operation(meta) {
            Interest::sometimes()
        } else if ours(meta) || warning(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    })
    .with_max_level_hint(LevelFilter::DEBUG)
}

/// The AWS SDK's operation spans are calls to a remote service: kind `client`, as the
/// semantic conventions for AWS SDK spans say (the SDK's tracing spans cannot say it).
#[derive(Debug)]
struct AwsClientSpans<P>(P);

impl<P: SpanProcessor> SpanProcessor for AwsClientSpans<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        if span
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "rpc.system" && kv.value.as_str() == "aws-api")
        {
            span.span_kind = SpanKind::Client;
        }
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// The trace id of the current span (32 hex digits), when traces are exported.
pub fn trace_id() -> Option<String> {
    if !TRACES.load(Ordering::Relaxed) {
        return None;
    }
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// The span of one SQS message, named and attributed as the messaging semantic conventions
/// say for a consumer's processing span. The OpenTelemetry-only fields are recorded only
/// when traces are on, so the logs stay as they were otherwise.
pub fn message_span(queue_url: &str, message_id: &str) -> tracing::Span {
    use tracing::field::Empty;
    let span = tracing::info_span!(
        "message",
        message_id,
        otel.name = Empty,
        otel.kind = Empty,
        otel.status_code = Empty,
        messaging.system = Empty,
        messaging.operation.type = Empty,
        messaging.operation.name = Empty,
        messaging.destination.name = Empty,
        messaging.message.id = Empty,
        error.type = Empty,
    );
    if TRACES.load(Ordering::Relaxed) {
        let queue = queue_url.rsplit('/').next().unwrap_or(queue_url);
        span.record("otel.name", format!("process {queue}"));
        span.record("otel.kind", "consumer");
        span.record("messaging.system", "aws_sqs");
        span.record("messaging.operation.type", "process");
        span.record("messaging.operation.name", "process");
        span.record("messaging.destination.name", queue);
        span.record("messaging.message.id", message_id);
    }
    span
}

/// The span of one finding of a message.
pub fn finding_span(f: &redress_playbooks::finding::Finding) -> tracing::Span {
    use tracing::field::Empty;
    tracing::info_span!(
        "finding",
        redress.finding.source = %f.source,
        redress.finding.kind = %f.kind,
        redress.resource.type = %f.resource.kind,
        cloud.account.id = %f.account,
        cloud.region = %f.region,
        redress.playbook = Empty,
        redress.decision = Empty,
    )
}

/// Notes the plan on its finding's span.
pub fn planned(span: &tracing::Span, p: &redress_playbooks::plan::Plan) {
    if let Some(playbook) = &p.playbook {
        span.record("redress.playbook", playbook.as_str());
    }
    span.record("redress.decision", p.decision.as_str());
}

/// The instruments (created once, when metrics are exported).
struct Instruments {
    remediations: Counter<u64>,
    duration: Histogram<f64>,
    received: Counter<u64>,
    failed: Counter<u64>,
    pending: Gauge<u64>,
    breaker: Counter<u64>,
}

impl Instruments {
    fn new(meter: &opentelemetry::metrics::Meter) -> Self {
        Instruments {
            remediations: meter
                .u64_counter("redress.remediations")
                .with_description("Remediation attempts recorded as evidence, by playbook and outcome.")
                .with_unit("{remediation}")
                .build(),
            duration: meter
                .f64_histogram("redress.remediation.duration")
                .with_description("Time from the start of a remediation attempt to its record.")
                .with_unit("s")
                // A fix is a few AWS calls: tenths of a second to a minute.
                .with_boundaries(vec![
                    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                ])
                .build(),
            received: meter
                .u64_counter("redress.messages.received")
                .with_description("SQS messages received.")
                .with_unit("{message}")
                .build(),
            failed: meter
                .u64_counter("redress.messages.failed")
                .with_description(
                    "SQS messages not completed: undecodable, given up after retries, or not recorded.",
                )
                .with_unit("{message}")
                .build(),
            pending: meter
                .u64_gauge("redress.approvals.pending")
                .with_description("Approval requests waiting for a decision.")
                .with_unit("{request}")
                .build(),
            breaker: meter
                .u64_counter("redress.breaker.trips")
                .with_description("Times the blast-radius breaker stopped remediations.")
                .with_unit("{trip}")
                .build(),
        }
    }
}

/// One remediation attempt recorded: counts it and its duration.
pub fn remediation(playbook: &str, outcome: &str, seconds: f64) {
    let Some(i) = INSTRUMENTS.get() else {
        return;
    };
    let attrs = [
        KeyValue::new("playbook", playbook.to_owned()),
        KeyValue::new("outcome", outcome.to_owned()),
    ];
    i.remediations.add(1, &attrs);
    i.duration.record(seconds.max(0.0), &attrs);
}

/// [`remediation`] for a record as stored (`-` for a record without a playbook).
pub fn recorded(record: &Evidence) {
    if INSTRUMENTS.get().is_none() {
        return;
    }
    let seconds = record
        .finished_at
        .signed_duration_since(record.started_at)
        .to_std()
        .map_or(0.0, |d| d.as_secs_f64());
    remediation(
        record.playbook.as_ref().map_or("-", |p| p.id.as_str()),
        record.outcome.as_str(),
        seconds,
    );
}

/// One SQS message received.
pub fn message_received() {
    if let Some(i) = INSTRUMENTS.get() {
        i.received.add(1, &[]);
    }
}

/// A message not completed, with a low-cardinality reason (`undecodable`, `gave-up`,
/// `store`); also marks the current span (the message's) as failed.
pub fn message_failed(reason: &'static str) {
    if TRACES.load(Ordering::Relaxed) {
        let span = tracing::Span::current();
        span.record("otel.status_code", "error");
        span.record("error.type", reason);
    }
    if let Some(i) = INSTRUMENTS.get() {
        i.failed.add(1, &[KeyValue::new("error.type", reason)]);
    }
}

/// The number of approval requests waiting for a decision, as last counted.
pub fn pending_approvals(n: u64) {
    if let Some(i) = INSTRUMENTS.get() {
        i.pending.record(n, &[]);
    }
}

/// The blast-radius breaker tripped for `scope` (a low-cardinality name, e.g. `playbook`
/// or `account`).
pub fn breaker_tripped(scope: &str) {
    if let Some(i) = INSTRUMENTS.get() {
        i.breaker
            .add(1, &[KeyValue::new("scope", Value::from(scope.to_owned()))]);
    }
}

/// A JSON event format that puts the OpenTelemetry `trace_id` and `span_id` of the event's
/// span first in each line, so logs and traces join (the field names of the OpenTelemetry
/// log data model). Lines outside any exported span are left as the inner format wrote them.
pub struct WithTraceIds<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let ids = ctx.parent_span().and_then(|span| {
            let id = span.id();
            // The global dispatcher: `get_default` does not nest, but its fast path (no
            // scoped dispatcher, as in the binary) hands out the global one even here.
            tracing::dispatcher::get_default(|d| tracing_opentelemetry::get_otel_context(&id, d))
        });
        let ids = ids.and_then(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
        });
        let Some((trace_id, span_id)) = ids else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(
                writer,
                "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
            ),
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_without_an_endpoint_records_nothing() {
        // No OTLP variable is set in unit tests: the functions are no-ops.
        remediation("s3-bucket-encryption", "fixed", 1.0);
        message_received();
        breaker_tripped("playbook");
        pending_approvals(3);
        assert!(trace_id().is_none());
    }
}
