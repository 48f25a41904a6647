#!/usr/bin/env bash
# Fuzzes a target with libFuzzer for a bounded time (default 60 s): `intake` (the default:
# intake::decode), `playbook` (loading a playbook file) or `slack` (the interaction
# endpoint's signature check, body and payload decoder, button token and queue job).
# Seeds: fuzz/corpus/<target>, taken from ../shared/fixtures.
# Exits non-zero when libFuzzer finds a crash (a panic or a broken promise in
# fuzz/fuzz_targets/<target>.rs); the input is then in fuzz/artifacts/<target>/, and
# `cargo fuzz run <target> <that file>` (with the environment below) replays it.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
target="${2:-intake}"
case "$target" in
    intake|playbook|slack) ;;
    *) echo "usage: scripts/fuzz.sh [SECONDS] [intake|playbook|slack]" >&2; exit 2 ;;
esac
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS]   (a whole number of seconds, default 60)" >&2
    exit 2
fi

# cargo-fuzz passes -Z flags to cargo and rustc; the toolchain is stable, and
# RUSTC_BOOTSTRAP=1 makes it accept them.
export RUSTC_BOOTSTRAP=1
# Instrumented builds must not share (and keep invalidating) the workspace's target folder.
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    export CARGO_TARGET_DIR="$CARGO_TARGET_DIR/fuzz"
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# libFuzzer adds what it finds to the first corpus folder: a scratch copy, so the committed
# seeds in fuzz/corpus/intake stay as they are.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# No sanitizer: the playbooks crate forbids unsafe code, and without ASan's instrumentation
# the same time budget runs several times more inputs. REDRESS_FUZZ_SANITIZER=address for a
# run with it. Debug assertions (-a) make integer overflow a crash too.
cargo fuzz run \
    --sanitizer "${REDRESS_FUZZ_SANITIZER:-none}" \
    --debug-assertions \
    "$target" "$scratch" "fuzz/corpus/$target" \
    -- \
    -max_total_time="$seconds" \
    -timeout=10 \
    $( [[ "$target" == intake ]] && echo -dict=fuzz/intake.dict ) \
    -print_final_stats=1
echo "fuzz $target: no crash in ${seconds}s ($(find "$scratch" -type f | wc -l) new inputs kept in a scratch corpus, now discarded)"
