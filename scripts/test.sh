#!/usr/bin/env bash
# Runs every test of the workspace. Snapshot tests fail on a changed snapshot (CI mode).
set -euo pipefail
cd "$(dirname "$0")/.."
export INSTA_UPDATE="${INSTA_UPDATE:-no}"
cargo test --workspace --locked "$@"
