#!/usr/bin/env bash
# Measures the dashboard endpoints on a database holding N stored events (default 10,000,000) spread
# over the last 7 days, 20 mailbox providers and 50 campaigns (prints figures; asserts nothing).
# The events and the 5-minute counters the server keeps for them are written with sqlite3 in bulk
# (ingesting 10 million events through the API would take most of an hour here); the counters are
# derived from the stored events by the same grouping the server's ingest applies.
# Usage: scripts/bench-monitoring.sh   (REBOUND_BENCH_EVENTS=N, REBOUND_BENCH_SECONDS=S)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
command -v wrk >/dev/null || apt_install wrk
command -v sqlite3 >/dev/null || apt_install sqlite3
N="${REBOUND_BENCH_EVENTS:-10000000}"
DURATION="${REBOUND_BENCH_SECONDS:-10}"

step "building (release)"
cargo build --release -p rebound-server --bin rebound
BIN="$REPO_ROOT/target/release/rebound"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

TOKEN="$("$BIN" key add --data-dir "$WORK/data" --name bench --scope suppressions:read 2>/dev/null)"
NOW="$(date +%s)"
step "writing $N events over 7 days with sqlite3"
start=$(date +%s.%N)
sqlite3 "$WORK/data/rebound.db" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO events (at, received_at, source, input, recipient, recipient_key, kind, reason, rule, campaign, isp,
                    verdict, outcome)
SELECT $NOW - (i * 7919) % 604800, $NOW, 'bench', 'event', 'user' || (i % 1000003) || '@d' || (i % 20) || '.example',
       'user' || (i % 1000003) || '@d' || (i % 20) || '.example',
       CASE WHEN i % 50 = 0 THEN 'hard' WHEN i % 50 = 1 THEN 'soft' WHEN i % 97 = 2 THEN 'block' ELSE 'delivered' END,
       'undefined', 'bench', 'campaign-' || (i % 50), 'isp-' || (i % 20), '{}', '{}'
FROM n;
INSERT INTO metric_buckets (dimension, bucket, name, delivered, hard, soft, blocked)
SELECT 'all', (at / 300) * 300, '', SUM(kind = 'delivered'), SUM(kind = 'hard'), SUM(kind = 'soft'), SUM(kind = 'block')
FROM events GROUP BY 2;
INSERT INTO metric_buckets (dimension, bucket, name, delivered, hard, soft, blocked)
SELECT 'isp', (at / 300) * 300, isp, SUM(kind = 'delivered'), SUM(kind = 'hard'), SUM(kind = 'soft'), SUM(kind = 'block')
FROM events GROUP BY 2, 3;
INSERT INTO metric_buckets (dimension, bucket, name, delivered, hard, soft, blocked)
SELECT 'campaign', (at / 300) * 300, campaign, SUM(kind = 'delivered'), SUM(kind = 'hard'), SUM(kind = 'soft'),
       SUM(kind = 'block')
FROM events GROUP BY 2, 3;
SQL
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "written in %.0f s\n", e - s }'
sqlite3 "$WORK/data/rebound.db" "SELECT 'events: ' || COUNT(*) FROM events; SELECT 'counter rows: ' || COUNT(*) FROM metric_buckets;"
ls -lh "$WORK/data/rebound.db" | awk '{ print "database size: " $5 }'

RUST_LOG=warn "$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:8092 --console-dir "$WORK/none" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do curl -s -o /dev/null http://127.0.0.1:8092/api/v1/health && break; sleep 0.1; done

for path in "metrics/overview" "metrics/overview?hours=168" "metrics/breakdown?by=isp" "metrics/breakdown?by=campaign" \
  "metrics/series?hours=24" "metrics/series?hours=168&step=1800" "metrics/suppressions?days=30" "alerts"; do
  step "GET /api/v1/$path"
  curl -s -o /dev/null -w "one request: %{time_total} s, %{size_download} bytes\n" -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:8092/api/v1/$path"
  wrk -t1 -c4 -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8092/api/v1/$path" \
    | grep -E "Requests/sec|50%|99%|Non-2xx" || true
done
