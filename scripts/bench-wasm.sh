#!/usr/bin/env bash
# Measures the classifier compiled to wasm32 under Node, over the same corpus as the native bench
# (`cargo bench -p rebound-core`): replies and bounce emails per second, inside wasm (the classifier
# alone, built with the `bench` feature's loops) and through the JavaScript exports (plus converting
# each verdict to a JavaScript object); then the in-wasm loops again in headless Chromium (Debian's,
# or $CHROMIUM; skipped when there is none). Prints figures; asserts nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_build_tools
cargo build --release --target wasm32-unknown-unknown -p rebound-core --features bench
wasm-bindgen --target nodejs --out-dir target/wasm-bench target/wasm32-unknown-unknown/release/rebound_core.wasm
wasm-bindgen --target web --out-dir target/wasm-bench-web target/wasm32-unknown-unknown/release/rebound_core.wasm
node scripts/bench-wasm.mjs "${REBOUND_CORPUS_DIR:-$REPO_ROOT/../shared/corpus}" target/wasm-bench-web
