#!/usr/bin/env bash
# The README's main command: a local end-to-end run on a fresh machine.
# Starts moto_server (the local AWS emulator) and a Slack Web API stand-in on 127.0.0.1,
# creates drifted resources, queues the events AWS would send, runs `redress worker` until the
# queue is idle, plays an approver's signed click on a held fix through
# `redress approvals serve`, runs the worker again, and prints what was fixed
# (before → after), what is held for approval and why, and where the evidence is.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work="$root/.redress/local"
rm -rf "$work" && mkdir -p "$work"

python3 -c 'import moto.server, boto3' 2>/dev/null || {
  echo "== installing the local AWS emulator (pip install 'moto[server]')"
  python3 -m pip install --quiet 'moto[server]'
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port); slack_port=$(free_port); approvals_port=$(free_port)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
pids+=($!)
python3 scripts/local/slack_standin.py "$slack_port" "$work/slack.jsonl" &
pids+=($!)
# Sample secrets for the local stand-in only.
export SLACK_BOT_TOKEN=xoxb-local-demo SLACK_SIGNING_SECRET=local-demo-signing-secret
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
[slack]
api_url = "http://127.0.0.1:$slack_port/api"
default_channel = "C0SECURITY"
[approvals]
approvers = ["U0LOCALAPPROVER"]
ttl = "24h"
TOML

echo "== building redress"
cargo build --quiet --locked -p redress-workers
bin="${CARGO_TARGET_DIR:-target}/debug/redress"

echo "== redress worker --until-idle 3"
"$bin" --config "$work/redress.toml" worker --until-idle 3 2>"$work/worker.log"
grep -E "Worker stopped|Undecodable" "$work/worker.log" | sed 's/^/   /' || true

echo "== redress approvals serve, and an approver's click on the held security group fix"
"$bin" --config "$work/redress.toml" approvals serve --listen "127.0.0.1:$approvals_port" 2>"$work/approvals.log" &
pids+=($!)
for _ in $(seq 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$approvals_port/healthz', timeout=1)" 2>/dev/null && break
  sleep 0.1
done
python3 scripts/local/click.py "$work/slack.jsonl" sg-revoke-open-admin-ports \
  "http://127.0.0.1:$approvals_port/slack/interactions" U0LOCALAPPROVER "http://127.0.0.1:$slack_port/response/1"
sleep 1

echo "== redress worker --until-idle 3 (carries out the approval)"
"$bin" --config "$work/redress.toml" worker --until-idle 3 2>>"$work/worker.log"

python3 scripts/local/summary.py "$work/store"
echo "== Slack (stand-in): $(grep -c chat.postMessage "$work/slack.jsonl" || true) message(s) posted, $(grep -c '/response/' "$work/slack.jsonl" || true) response(s); log in $work/slack.jsonl"
echo "== redress evidence verify"
"$bin" --config "$work/redress.toml" evidence verify
echo
echo "Worker log: $work/worker.log. Config: $work/redress.toml."
echo "Roll a fix back: $bin --config $work/redress.toml rollback <record id>"
