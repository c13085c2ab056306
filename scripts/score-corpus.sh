#!/usr/bin/env bash
# Scores the classifier on every labelled corpus beside the checkout, in one run (prints figures;
# the floors that fail a change are in crates/core/tests: corpus.rs and the others):
#  1. ../shared/corpus/sisimai with shared/tools/score.py (reason, status, recipient);
#  2. ../shared/corpus/peers with shared/tools/score_peers.py (recipients, hard vs not-hard, unknowns);
#  3. ../shared/corpus/provider_lines_dev.jsonl and crates/core/tests/held_out_lines.tsv (kind per reply).
# Usage: scripts/score-corpus.sh [--misses N]   (REBOUND_CORPUS_DIR to point elsewhere; OUT=DIR keeps the
# outputs; REBOUND_BIN=PATH scores that binary instead of building the release one)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
CORPUS="${REBOUND_CORPUS_DIR:-$REPO_ROOT/../shared/corpus}"
TOOLS="$CORPUS/../tools"
MISSES=0
[ "${1:-}" = --misses ] && MISSES="${2:-15}"
OUT="${OUT:-$(mktemp -d)}"
if [ -z "${REBOUND_BIN:-}" ]; then cargo build --release -q -p rebound-server --bin rebound; fi
BIN="${REBOUND_BIN:-$REPO_ROOT/target/release/rebound}"

step "1. Sisimai corpus"
"$BIN" classify "$CORPUS/sisimai/eml" > "$OUT/sisimai.jsonl"
python3 "$TOOLS/score.py" "$CORPUS/sisimai/labels.jsonl" "$OUT/sisimai.jsonl" \
  --map "$TOOLS/sisimai_reason_map.json" --confusion 15 | tail -n 25

step "2. Peer parsers' test suites"
python3 "$TOOLS/score_peers.py" "$BIN" --misses "$MISSES" --predictions-dir "$OUT" | sed -n '/== overall/,$p'

step "3. Provider replies (kind)"
python3 - "$BIN" "$CORPUS/provider_lines_dev.jsonl" crates/core/tests/held_out_lines.tsv <<'PY'
import json, subprocess, sys
binary, dev, held = sys.argv[1:4]
sets = {"provider_lines_dev": [(r["line"], r["kind"]) for r in map(json.loads, open(dev))],
        "held_out_lines": [(l.rstrip("\n").split("\t", 1)[1], l.split("\t", 1)[0])
                           for l in open(held) if l.strip() and not l.startswith("#")]}
for name, rows in sets.items():
    out = subprocess.run([binary, "classify", "--lines", "-"], input="\n".join(t for t, _ in rows) + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    got = [json.loads(l)["kind"] for l in out]
    ok = sum(g == k for g, (_, k) in zip(got, rows))
    block_hard = sum(g == "hard" and k == "block" for g, (_, k) in zip(got, rows))
    print(f"{name}: kind {ok / len(rows):.3f} ({ok}/{len(rows)}), block read as hard: {block_hard}")
    for g, (t, k) in zip(got, rows):
        if g != k:
            print(f"   expected {k}, got {g}: {t[:140]}")
PY
