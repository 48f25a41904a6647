#!/usr/bin/env bash
# The README's main command: a local end-to-end run on a fresh machine.
# Starts moto_server (the local AWS emulator) on 127.0.0.1, creates drifted resources, queues
# the events AWS would send, runs `redress worker` until the queue is idle, and prints what was
# fixed (before → after), what is held for approval and why, and where the evidence is.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work="$root/.redress/local"
rm -rf "$work" && mkdir -p "$work"

python3 -c 'import moto.server, boto3' 2>/dev/null || {
  echo "== installing the local AWS emulator (pip install 'moto[server]')"
  python3 -m pip install --quiet 'moto[server]'
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 0.1
done
echo "== moto_server on $AWS_ENDPOINT_URL"

echo "== creating drift and queueing events"
eval "$(python3 scripts/local/seed.py)"

cat >"$work/redress.toml" <<TOML
playbooks = "$root/playbooks/catalog"
[queue]
url = "$QUEUE_URL"
dlq_url = "$DLQ_URL"
wait_time_secs = 1
[store]
url = "file://$work/store"
TOML

echo "== building redress"
cargo build --quiet --locked -p redress-workers
bin="${CARGO_TARGET_DIR:-target}/debug/redress"

echo "== redress worker --until-idle 3"
"$bin" --config "$work/redress.toml" worker --until-idle 3 2>"$work/worker.log"
grep -E "Worker stopped|Undecodable" "$work/worker.log" | sed 's/^/   /' || true

python3 scripts/local/summary.py "$work/store"
echo "== redress evidence verify"
"$bin" --config "$work/redress.toml" evidence verify
echo
echo "Worker log: $work/worker.log. Config: $work/redress.toml."
echo "Roll a fix back: $bin --config $work/redress.toml rollback <record id>"
