#!/usr/bin/env bash
# The README's main command: build redress, check the catalog, and show what the fleet would
# do with each sample event (offline: nothing here talks to AWS).
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-examples/events}"

cargo build --quiet --locked -p redress-workers
bin="${CARGO_TARGET_DIR:-target}/debug/redress"

echo "== redress check"
"$bin" check
echo
for event in "$events"/*.json; do
  echo "== redress plan --event $event"
  # A bad event exits 2 with one line on stderr; show it and go on.
  "$bin" plan --event "$event" || echo "(exit $?)"
  echo
done
summary_py=$(cat <<'PY'
import json, sys
for line in sys.stdin:
    p = json.loads(line)
    print("  %-72s %-9s %s" % (sys.argv[1], p["decision"], p["playbook"] or "-"))
PY
)
echo "== summary (redress plan --json)"
for event in "$events"/*.json; do
  if out=$("$bin" plan --json --event "$event" 2>/dev/null); then
    printf '%s\n' "$out" | python3 -c "$summary_py" "$(basename "$event")"
  else
    printf '  %-72s %s\n' "$(basename "$event")" "bad input (exit 2)"
  fi
done
