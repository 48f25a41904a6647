#!/usr/bin/env bash
# The benchmark suite of BENCHMARKS.md, in one command: the intake micro-benchmark
# (criterion), then redress side by side with the API floor and Cloud Custodian on a local
# moto_server, the inventory case, a running worker's latency and the scaling runs.
# Prints the Markdown tables and saves them (and every raw figure) under
# ~/.cache/redress-bench/.
#
# Usage: scripts/bench.sh [--quick] [--runs R] [--n N] [--only side,inventory,trickle,scaling]
#   --quick: small N, one run, no bpa side-by-side: checks the harness in about a minute.
# Full run: 13–16 minutes on 2 cores. Nothing leaves 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/redress-bench"
mkdir -p "$cache"
quick=false
for a in "$@"; do [ "$a" = --quick ] && quick=true; done

python3 -c 'import moto.server, boto3' 2>/dev/null || python3 -m pip install --quiet 'moto[server]'
# Cloud Custodian in a virtual environment of its own, pinned so runs stay comparable.
c7n_version=0.9.53
if ! "$cache/venv/bin/custodian" version 2>/dev/null | grep -qx "$c7n_version"; then
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install --quiet "c7n==$c7n_version"
fi

cargo build --quiet --locked --release -p redress-workers --bin redress
cargo build --quiet --locked --release -p redress-tests --example bench_floor

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$cache/$stamp.md"
{
  echo "## Run $stamp"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  echo "- software: $(rustc --version), Python $(python3 -c 'import platform; print(platform.python_version())'), moto $(python3 -c 'import moto; print(moto.__version__)'), boto3 $(python3 -c 'import boto3; print(boto3.__version__)'), c7n $c7n_version"
  echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"

# Only the `mix` group (the table's figures); `cargo bench -p redress-playbooks` alone also
# times each sample event.
criterion_args=(mix/)
$quick && criterion_args+=(--quick)
cargo bench --quiet --locked -p redress-playbooks --bench intake -- "${criterion_args[@]}" > "$cache/criterion.log" 2>&1

python3 scripts/local/bench.py --redress "$target/release/redress" \
  --floor "$target/release/examples/bench_floor" --custodian "$cache/venv/bin/custodian" \
  --criterion "$target/criterion" --json "$cache/$stamp.json" "$@" 2> "$cache/$stamp.log" | tee -a "$out"
echo "
- load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
echo "saved: $out (raw figures: $cache/$stamp.json, per-run lines: $cache/$stamp.log)" >&2
