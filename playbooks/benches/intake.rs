//! Intake micro-benchmark (issue 8): decode + match + gate per event over the sample mix,
//! beside a bare `serde_json::from_slice::<serde_json::Value>` of the same bytes.
//!
//! `cargo bench -p redress-playbooks --bench intake`; scripts/bench.sh reads the medians
//! from criterion's `estimates.json` files and prints the ratio.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use redress_playbooks::config::Config;
use redress_playbooks::intake;
use redress_playbooks::plan::{self, Context, Plan};
use redress_playbooks::playbook::{Catalog, Mode, load_catalog};

/// The sample events shipped in the repository (the same bodies as the shared fixtures),
/// broken ones included: a dead-lettered body costs intake time too.
fn mix() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/events");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no sample events in {}", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// What the worker does with a body before any AWS call (executor `Engine::handle`):
/// decode, then select a playbook, gate and render the steps for each finding.
fn intake_and_plan(body: &[u8], cx: Context<'_>) -> Vec<Plan> {
    match intake::decode(body) {
        Ok(decoded) if decoded.findings.is_empty() => plan::plan_message(&decoded, cx),
        Ok(decoded) => decoded
            .findings
            .iter()
            .map(|f| plan::plan_finding(f, cx))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn bench(c: &mut Criterion) {
    let (catalog, diags): (Catalog, _) =
        load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap();
    assert!(!redress_playbooks::playbook::has_errors(&diags));
    let config = Config::default();
    let cx = Context {
        catalog: &catalog,
        config: &config,
        fleet_mode: Mode::Enforce,
        exceptions: &[],
        now: Utc::now(),
    };
    let events = mix();
    let bytes: u64 = events.iter().map(|(_, b)| b.len() as u64).sum();

    // One iteration handles every sample once; per event = time / events.len().
    let mut g = c.benchmark_group("mix");
    g.throughput(Throughput::Bytes(bytes));
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));
    g.bench_function("redress", |b| {
        b.iter(|| {
            for (_, body) in &events {
                black_box(intake_and_plan(black_box(body), cx));
            }
        });
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            for (_, body) in &events {
                let _ = black_box(intake::decode(black_box(body)));
            }
        });
    });
    g.bench_function("serde_json_value", |b| {
        b.iter(|| {
            for (_, body) in &events {
                let _ = black_box(serde_json::from_slice::<serde_json::Value>(black_box(body)));
            }
        });
    });
    g.finish();

    // Per sample, to see which shapes cost what.
    let mut g = c.benchmark_group("event");
    g.measurement_time(Duration::from_millis(800));
    g.warm_up_time(Duration::from_millis(300));
    for (name, body) in &events {
        g.bench_function(format!("redress/{name}"), |b| {
            b.iter(|| black_box(intake_and_plan(black_box(body), cx)));
        });
        g.bench_function(format!("serde_json_value/{name}"), |b| {
            b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(black_box(body))));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
