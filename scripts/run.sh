#!/usr/bin/env bash
# Runs Rebound: installs missing build tools, builds the console and the server (release), and
# starts the server on an embedded SQLite database in ./data. Extra arguments go to `rebound serve`
# (for example --listen 0.0.0.0:8025).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

ensure_build_tools
build_console
step "building the server (cargo build --release)"
cargo build --release -p rebound-server
step "starting Rebound"
exec "$REPO_ROOT/target/release/rebound" serve --data-dir "${REBOUND_DATA_DIR:-$REPO_ROOT/data}" --console-dir "$REPO_ROOT/dist" "$@"
