#!/usr/bin/env bash
# Runs every test of the workspace. The end-to-end tests start a local AWS emulator
# (moto_server) on 127.0.0.1; it is installed here if missing. Snapshot tests fail on a
# changed snapshot (review with INSTA_UPDATE=always, then git diff).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import moto.server' 2>/dev/null || python3 -m pip install --quiet 'moto[server]'
export INSTA_UPDATE="${INSTA_UPDATE:-no}"
cargo test --workspace --locked "$@"
