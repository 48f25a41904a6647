#!/usr/bin/env bash
# Lints deploy/: the CloudFormation templates with cfn-lint (fails on errors) and the templates
# and the Dockerfile with checkov (fails on any failed check; deliberate exceptions carry a
# `checkov: skip` with a justification beside the resource). Offline apart from installing the
# two tools from PyPI when they are missing. Prints one summary line; exits 1 on a finding.
#
# The member role's policy must be exactly `redress iam-policy` for the catalog. With
# REDRESS_BIN naming a built binary (e.g. "$CARGO_TARGET_DIR/debug/redress" after the tests),
# that is checked too; `--write-policy` rewrites the template's policy from the binary instead.
#
#   scripts/lint-deploy.sh
#   REDRESS_BIN=target/debug/redress scripts/lint-deploy.sh [--write-policy]
set -euo pipefail
cd "$(dirname "$0")/.."

write_policy=false
case "${1:-}" in
  "") ;;
  --write-policy) write_policy=true ;;
  *) echo "usage: scripts/lint-deploy.sh [--write-policy]" >&2; exit 2 ;;
esac

# Installed only when missing; these are the versions the templates were last checked with.
missing=()
python3 -c 'import cfnlint' 2>/dev/null || missing+=("cfn-lint==1.51.0")
python3 -c 'import checkov' 2>/dev/null || missing+=("checkov==3.3.30")
if ((${#missing[@]})); then
  echo "lint-deploy: installing ${missing[*]}" >&2
  python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi

templates=(deploy/cloudformation/*.yaml)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# ── the member role's policy against `redress iam-policy` ────────────────────────────
policy_note="iam-policy not compared (set REDRESS_BIN)"
if [[ -n "${REDRESS_BIN:-}" ]]; then
  printf 'playbooks = "%s/playbooks/catalog"\n' "$PWD" >"$tmp/redress.toml"
  if ! "$REDRESS_BIN" iam-policy --config "$tmp/redress.toml" >"$tmp/policy.json"; then
    echo "lint-deploy: \`$REDRESS_BIN iam-policy\` failed" >&2
    exit 1
  fi
  if policy_note=$(python3 - "$tmp/policy.json" deploy/cloudformation/member-role.yaml "$write_policy" <<'PY'
import json, re, sys
policy_path, template_path, write = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
statements = json.load(open(policy_path))["Statement"]
if len(statements) != 1 or statements[0].get("Resource") != "*":
    sys.exit("iam-policy: expected one statement on Resource \"*\"; update member-role.yaml by hand")
want = statements[0]["Action"]
text = open(template_path).read()
block = re.compile(r"(                Action:\n)((?:                  - \S+\n)+)(                Resource: \"\*\"\n          # END redress iam-policy)")
m = block.search(text)
if not m:
    sys.exit("iam-policy: the generated block (BEGIN/END redress iam-policy) is missing from member-role.yaml")
have = re.findall(r"- (\S+)", m.group(2))
if have == want:
    print(f"iam-policy in step ({len(want)} actions)")
    sys.exit(0)
if write:
    new = "".join(f"                  - {a}\n" for a in want)
    open(template_path, "w").write(text[: m.start(2)] + new + text[m.end(2):])
    print(f"iam-policy written ({len(want)} actions)")
    sys.exit(0)
missing = sorted(set(want) - set(have))
extra = sorted(set(have) - set(want))
for a in missing:
    print(f"member-role.yaml: missing {a}", file=sys.stderr)
for a in extra:
    print(f"member-role.yaml: not needed {a}", file=sys.stderr)
print(f"iam-policy DRIFT ({len(missing)} missing, {len(extra)} extra; rerun with --write-policy)")
sys.exit(1)
PY
  ); then :; else status=1; fi
fi

# ── the hub stack's rendered fleet config passes `redress check` ────────────────────
config_note="rendered config not checked (set REDRESS_BIN)"
if [[ -n "${REDRESS_BIN:-}" ]]; then
  # The ConfigParameter's !Sub text with each parameter at its default (or a sample where
  # it has none) and the playbooks path pointed at this checkout's catalog.
  if python3 - deploy/cloudformation/hub.yaml "$PWD/playbooks/catalog" >"$tmp/fleet.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"Value: !Sub\n        - \|\n((?:          .*\n|\n)+?)        - ExceptionsLine", text)
if not m:
    sys.exit("hub.yaml: the ConfigParameter's rendered text was not found")
body = "\n".join(line[10:] for line in m.group(1).splitlines())
defaults = dict(re.findall(r"\n  (\w+):\n    Type: \S+\n    Default: \"?([^\"\n]*)\"?\n", text))
sample = {
    "Mode": "enforce", "Queue": "https://sqs.us-east-1.amazonaws.com/111122223333/redress-events",
    "DeadLetterQueue": "https://sqs.us-east-1.amazonaws.com/111122223333/redress-dlq",
    "EvidenceBucket": "redress-evidence-111122223333", "SlackDefaultChannel": "C0SECURITY",
    "ApproverList": '"U0ABCDEF1"', "AutoList": "", "ExceptionsLine": "", "ExternalIdLine": "",
    "OwnerTagLine": "", "ConfigExtra": "", "AWS::StackName": "redress", "AWS::Partition": "aws",
}
def value(m):
    k = m.group(1)
    if k in sample:
        return sample[k]
    if k in defaults:
        return defaults[k]
    sys.exit(f"hub.yaml: no value for ${{{k}}} in the rendered config")
out = re.sub(r"\$\{([\w:]+)\}", value, body)
print(out.replace('playbooks = "/etc/redress/playbooks"', f'playbooks = "{sys.argv[2]}"'))
PY
  then
    if "$REDRESS_BIN" check --config "$tmp/fleet.toml" >"$tmp/fleet.out" 2>&1; then
      config_note="rendered config passes redress check"
    else
      cat "$tmp/fleet.out" >&2; status=1; config_note="rendered config FAILS redress check"
    fi
  else
    status=1; config_note="rendered config could not be built"
  fi
fi

# ── cfn-lint ─────────────────────────────────────────────────────────────────────────
python3 -c 'import sys; from cfnlint.runner import main; sys.exit(main())' \
  --format parseable --non-zero-exit-code error -- "${templates[@]}" >"$tmp/cfn.txt" || status=1
cfn_errors=$(grep -c ':E[0-9]' "$tmp/cfn.txt" || true)
cfn_warnings=$(grep -c ':W[0-9]' "$tmp/cfn.txt" || true)
if [[ -s "$tmp/cfn.txt" ]]; then cat "$tmp/cfn.txt"; fi

# ── checkov ──────────────────────────────────────────────────────────────────────────
# --skip-download: no calls to the vendor's API (no network here; severities are not in the
# free output, so every failed check counts).
python3 -m checkov.main -d deploy --framework cloudformation dockerfile --quiet --compact \
  --skip-download -o json >"$tmp/checkov.json" 2>"$tmp/checkov.err" || true
if ! python3 - "$tmp/checkov.json" >"$tmp/checkov.txt" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except ValueError:
    print("checkov produced no report")
    sys.exit(1)
reports = data if isinstance(data, list) else [data]
passed = failed = skipped = parse_errors = 0
for r in reports:
    s = r.get("summary", {})
    passed += s.get("passed", 0)
    failed += s.get("failed", 0)
    skipped += s.get("skipped", 0)
    parse_errors += s.get("parsing_errors", 0)
    for c in r.get("results", {}).get("failed_checks", []):
        lines = c.get("file_line_range") or ["?", "?"]
        print(f"checkov: {c['check_id']} {c['check_name']}\n  {c['resource']} at "
              f"deploy/{c['file_path'].lstrip('/')}:{lines[0]}-{lines[1]}")
print(f"SUMMARY {passed} {failed} {skipped} {parse_errors}")
sys.exit(1 if failed or parse_errors or not reports else 0)
PY
then
  status=1
  cat "$tmp/checkov.err" >&2
fi
read -r _ ck_passed ck_failed ck_skipped ck_parse < <(grep '^SUMMARY' "$tmp/checkov.txt" || echo "SUMMARY ? ? ? ?")
grep -v '^SUMMARY' "$tmp/checkov.txt" || true

result=ok
if ((status)); then result=FAILED; fi
echo "lint-deploy: ${result}: cfn-lint ${cfn_errors} errors, ${cfn_warnings} warnings (${#templates[@]} templates); checkov ${ck_passed} passed, ${ck_failed} failed, ${ck_skipped} skipped (justified), ${ck_parse} parse errors; ${policy_note}; ${config_note}"
exit "$status"
