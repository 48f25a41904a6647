//! OpenTelemetry end to end: `redress worker` against moto_server, exporting over
//! OTLP/HTTP (protobuf) to a local receiver; and nothing exported when it is not asked for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Output;

use redress_tests::events::bucket_unencrypted;
use redress_tests::moto::ACCOUNT;
use redress_tests::otlp::OtlpReceiver;
use redress_tests::world::{World, by_outcome};
use serde_json::Value;

const OTEL_VARS: [&str; 6] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
];

/// `redress worker --until-idle 2` with JSON logs and exactly the OpenTelemetry variables
/// given (none inherited from the test's environment).
fn worker(w: &World, otel: &[(&str, &str)]) -> Output {
    let mut cmd = w.command(&["worker", "--until-idle", "2"]);
    for v in OTEL_VARS {
        cmd.env_remove(v);
    }
    cmd.env("REDRESS_LOG_FORMAT", "json");
    for (k, v) in otel {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "worker failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The JSON log lines of a run.
fn log_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_run_exports_its_spans_and_metrics_over_otlp() {
    let receiver = OtlpReceiver::start();
    let w = World::new("").await;
    w.unencrypted_bucket("acme-otel-logs").await;
    w.send(&bucket_unencrypted("e-otel-1", "acme-otel-logs"))
        .await;
    w.send("this is not an event").await;
    let out = worker(
        &w,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint().as_str())],
    );
    assert!(w.bucket_encrypted("acme-otel-logs").await);
    let records = w.records();
    let fixed = by_outcome(&records, "fixed");
    assert_eq!(fixed.len(), 1, "{records:#?}");
    let record = fixed[0];
    let playbook = record["playbook"]["id"].as_str().unwrap();

    // Everything was flushed before the process exited: no waiting here.
    let got = receiver.received();
    assert_eq!(got.rejected, 0);

    // One span per message, named and attributed as the messaging conventions say.
    let messages: Vec<_> = got
        .spans
        .iter()
        .filter(|s| s.attributes.get("messaging.system").map(String::as_str) == Some("aws_sqs"))
        .collect();
    assert_eq!(messages.len(), 2, "{:#?}", got.spans);
    let (failed, fine): (Vec<_>, Vec<_>) = messages.into_iter().partition(|s| s.status == 2);
    assert_eq!(
        failed.len(),
        1,
        "the undecodable message's span is an error"
    );
    assert_eq!(failed[0].attributes["error.type"], "undecodable");
    let message = fine[0];
    assert_ne!(message.trace_id, failed[0].trace_id, "a trace per message");
    assert_eq!(message.name, "process redress-events");
    assert_eq!(message.kind, 5, "consumer");
    assert!(
        message.parent_span_id.is_empty(),
        "a message starts a trace"
    );
    assert_eq!(message.attributes["messaging.operation.type"], "process");
    assert_eq!(
        message.attributes["messaging.destination.name"],
        "redress-events"
    );
    assert!(!message.attributes["messaging.message.id"].is_empty());
    assert_eq!(message.resource["service.name"], "redress");
    assert!(message.resource.contains_key("service.version"));
    assert_eq!(message.scope, "redress");

    // The stages are spans under it.
    let under = got.descendants(message);
    let names: BTreeSet<&str> = under.iter().map(|s| s.name.as_str()).collect();
    for stage in [
        "intake", "finding", "match", "gate", "capture", "apply", "verify", "record",
    ] {
        assert!(
            names.contains(stage),
            "no `{stage}` span under the message: {names:?}"
        );
    }
    let finding = got.spans_named("finding")[0];
    assert_eq!(finding.parent_span_id, message.span_id);
    assert_eq!(finding.attributes["redress.playbook"], playbook);
    assert_eq!(finding.attributes["redress.decision"], "auto");
    assert_eq!(finding.attributes["cloud.account.id"], ACCOUNT);
    let record_span = got.spans_named("record")[0];
    assert_eq!(record_span.attributes["redress.outcome"], "fixed");

    // Every AWS call of the message is a client span with the RPC attributes, under the
    // stage that made it.
    let aws: Vec<_> = under
        .iter()
        .filter(|s| s.attributes.get("rpc.system").map(String::as_str) == Some("aws-api"))
        .collect();
    assert!(!aws.is_empty(), "no AWS call span: {names:?}");
    for s in &aws {
        assert_eq!(s.kind, 3, "client: {s:#?}");
        assert_eq!(
            s.name,
            format!(
                "{}.{}",
                s.attributes["rpc.service"], s.attributes["rpc.method"]
            )
        );
    }
    let put = aws
        .iter()
        .find(|s| s.attributes["rpc.method"] == "PutBucketEncryption")
        .unwrap_or_else(|| panic!("no PutBucketEncryption span: {aws:#?}"));
    assert_eq!(put.attributes["rpc.service"], "S3");
    let parent = got
        .spans
        .iter()
        .find(|s| s.span_id == put.parent_span_id)
        .unwrap();
    assert_eq!(parent.name, "apply");
    assert!(
        aws.iter()
            .any(|s| s.attributes["rpc.method"] == "DeleteMessage"),
        "the message's delete is in its trace"
    );
    // The idle queue's long polls make no trace of their own.
    assert!(
        !got.spans
            .iter()
            .any(|s| s.attributes.get("rpc.method").map(String::as_str) == Some("ReceiveMessage"))
    );

    // Metrics, named the OpenTelemetry way.
    let remediations = got.points_of("redress.remediations");
    let point = remediations
        .iter()
        .find(|p| p.attributes.get("outcome").map(String::as_str) == Some("fixed"))
        .unwrap_or_else(|| panic!("no fixed remediation: {remediations:#?}"));
    assert_eq!(point.kind, "sum");
    assert_eq!(point.attributes["playbook"], playbook);
    assert!((point.value - 1.0).abs() < f64::EPSILON, "{point:#?}");
    let duration = got.points_of("redress.remediation.duration");
    let hist = duration
        .iter()
        .find(|p| p.attributes.get("outcome").map(String::as_str) == Some("fixed"))
        .unwrap_or_else(|| panic!("no duration: {duration:#?}"));
    assert_eq!(hist.kind, "histogram");
    assert_eq!(hist.unit, "s");
    assert_eq!(hist.count, 1);
    assert_eq!(hist.attributes["playbook"], playbook);
    // Sums are cumulative: the last export has the run's totals.
    let last = |name: &str| {
        got.points_of(name)
            .last()
            .copied()
            .unwrap_or_else(|| panic!("no `{name}` point: {:#?}", got.points))
    };
    let received = last("redress.messages.received");
    assert_eq!(received.kind, "sum");
    assert!((received.value - 2.0).abs() < f64::EPSILON, "{received:#?}");
    assert_eq!(received.resource["service.name"], "redress");
    let failed = last("redress.messages.failed");
    assert_eq!(failed.attributes["error.type"], "undecodable");
    assert!((failed.value - 1.0).abs() < f64::EPSILON, "{failed:#?}");
    // The sweep at startup counts the pending approvals.
    assert_eq!(last("redress.approvals.pending").kind, "gauge");

    // Logs and evidence carry the trace id.
    assert_eq!(record["trace_id"].as_str(), Some(message.trace_id.as_str()));
    let logs = log_lines(&out);
    let recorded = logs
        .iter()
        .find(|l| l["fields"]["message"] == "Recorded evidence.")
        .unwrap_or_else(|| panic!("no `Recorded evidence.` line: {logs:#?}"));
    assert_eq!(
        recorded["trace_id"].as_str(),
        Some(message.trace_id.as_str())
    );
    let span_ids: BTreeSet<&str> = got.spans.iter().map(|s| s.span_id.as_str()).collect();
    assert!(span_ids.contains(recorded["span_id"].as_str().unwrap()));
    let started = logs
        .iter()
        .find(|l| l["fields"]["message"] == "Worker started.")
        .unwrap();
    assert!(
        started.get("trace_id").is_none(),
        "outside any span: no trace id"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_endpoint_nothing_is_exported_and_records_have_no_trace_id() {
    let w = World::new("").await;
    w.unencrypted_bucket("acme-otel-off").await;
    w.send(&bucket_unencrypted("e-otel-off", "acme-otel-off"))
        .await;
    let out = worker(&w, &[("OTEL_SERVICE_NAME", "redress-test")]);
    assert!(w.bucket_encrypted("acme-otel-off").await);
    let records = w.records();
    assert_eq!(by_outcome(&records, "fixed").len(), 1, "{records:#?}");
    assert!(records[0]["trace_id"].is_null());
    let logs = log_lines(&out);
    assert!(
        logs.iter()
            .any(|l| l["fields"]["message"] == "Recorded evidence.")
    );
    assert!(logs.iter().all(|l| l.get("trace_id").is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn otel_sdk_disabled_sends_nothing_and_an_unreachable_collector_stops_nothing() {
    let receiver = OtlpReceiver::start();
    let w = World::new("").await;
    w.unencrypted_bucket("acme-otel-a").await;
    w.send(&bucket_unencrypted("e-otel-a", "acme-otel-a")).await;
    let endpoint = receiver.endpoint();
    worker(
        &w,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_SDK_DISABLED", "true"),
        ],
    );
    assert!(w.bucket_encrypted("acme-otel-a").await);
    assert!(receiver.received().requests.is_empty());

    // A collector that is not there: the fix is made and recorded all the same.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    w.unencrypted_bucket("acme-otel-b").await;
    w.send(&bucket_unencrypted("e-otel-b", "acme-otel-b")).await;
    worker(
        &w,
        &[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{closed}").as_str(),
        )],
    );
    assert!(w.bucket_encrypted("acme-otel-b").await);
    assert_eq!(by_outcome(&w.records(), "fixed").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_breaker_trip_is_counted() {
    let receiver = OtlpReceiver::start();
    let w = World::new("[breaker]\nmax_auto_per_account = 1\n").await;
    for b in ["acme-otel-trip-1", "acme-otel-trip-2"] {
        w.unencrypted_bucket(b).await;
        w.send(&bucket_unencrypted(&format!("e-{b}"), b)).await;
    }
    worker(
        &w,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint().as_str())],
    );
    let records = w.records();
    assert_eq!(by_outcome(&records, "held").len(), 1, "{records:#?}");
    let got = receiver.received();
    let trips = got.points_of("redress.breaker.trips");
    let trip = trips
        .last()
        .unwrap_or_else(|| panic!("no breaker trip point: {:#?}", got.points));
    assert_eq!(trip.kind, "sum");
    assert_eq!(trip.attributes["scope"], format!("account:{ACCOUNT}"));
    assert!((trip.value - 1.0).abs() < f64::EPSILON, "{trip:#?}");
}
