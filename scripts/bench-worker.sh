#!/usr/bin/env bash
# Worker benchmark against a local moto_server: N unencrypted buckets and their events,
# `redress worker --until-idle 2`; prints latency from receipt to verified fix (median, p99),
# fixes per second and the worker's peak RSS. Usage: scripts/bench-worker.sh [N] [CONCURRENCY] [debug|release]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100}"; concurrency="${2:-8}"; profile="${3:-debug}"
python3 -c 'import moto.server, boto3' 2>/dev/null || python3 -m pip install --quiet 'moto[server]'
if [ "$profile" = release ]; then
  cargo build --quiet --locked --release -p redress-workers
else
  cargo build --quiet --locked -p redress-workers
fi
python3 scripts/local/bench.py "${CARGO_TARGET_DIR:-target}/$profile/redress" "$n" "$concurrency"
