#!/usr/bin/env bash
# Measures the suppression service on this machine, in one run (prints figures; asserts nothing):
#  1. importing N addresses (default 1,000,000, seed text format) into a fresh SQLite file with
#     `rebound import` (time, peak RSS), next to `sqlite3 .import` of the same file;
#  2. GET /check throughput and latency at 64 connections against that list, next to a bare axum
#     handler returning a constant (server/examples/bare.rs), with the same load generator (wrk);
#  3. POST /check with 10,000 addresses, one request at a time;
#  4. sustained POST /events in batches of 1,000 SMTP replies, each batch committed before its 200.
# Usage: scripts/bench-service.sh   (REBOUND_BENCH_ADDRESSES=N to change the list size)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
command -v wrk >/dev/null || apt_install wrk
command -v sqlite3 >/dev/null || apt_install sqlite3
[ -x /usr/bin/time ] || apt_install time
N="${REBOUND_BENCH_ADDRESSES:-1000000}"
DURATION="${REBOUND_BENCH_SECONDS:-15}"

step "building (release)"
cargo build --release -p rebound-server --bin rebound --example bare
BIN="$REPO_ROOT/target/release/rebound"
BARE="$REPO_ROOT/target/release/examples/bare"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

step "writing $N addresses"
awk -v n="$N" 'BEGIN { print "# benchmark list"; for (i = 0; i < n; i++) printf "user%d@d%d.example\n", i, i % 5000 }' > "$WORK/list.txt"
ls -lh "$WORK/list.txt" | awk '{ print "file size: " $5 }'

step "1. rebound import into SQLite"
/usr/bin/time -f "rebound import: %e s wall, %M KB peak RSS" "$BIN" import --data-dir "$WORK/data" "$WORK/list.txt"
step "   sqlite3 .import of the same file (one-column table, no index)"
/usr/bin/time -f "sqlite3 .import: %e s wall, %M KB peak RSS" \
  sqlite3 "$WORK/plain.db" "CREATE TABLE t (address TEXT);" ".import $WORK/list.txt t"
step "   sqlite3 .import into a table with a unique index (closer to what rebound keeps)"
/usr/bin/time -f "sqlite3 .import, unique index: %e s wall, %M KB peak RSS" \
  sqlite3 "$WORK/indexed.db" "CREATE TABLE t (address TEXT); CREATE UNIQUE INDEX t_address ON t (lower(address));" ".import $WORK/list.txt t"

TOKEN="$("$BIN" key add --data-dir "$WORK/data" --name bench --scope check --scope events:write 2>/dev/null)"
RUST_LOG=warn "$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:8091 --console-dir "$WORK/none" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
"$BARE" 127.0.0.1:8099 & PIDS+=($!)
for port in 8091 8099; do
  for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/health" && break; sleep 0.1; done
done
ps -o rss= -p "${PIDS[0]}" | awk '{ printf "server RSS with the list loaded: %.0f MB\n", $1 / 1024 }'

cat > "$WORK/check.lua" <<LUA
local n = $N
math.randomseed(42)
request = function()
  local i = math.random(0, 2 * n)
  return wrk.format("GET", "/api/v1/check?email=user" .. i .. "%40d" .. (i % 5000) .. ".example",
    { ["Authorization"] = "Bearer $TOKEN" })
end
LUA
step "2. GET /check, 64 connections, ${DURATION} s (half the addresses suppressed)"
wrk -t2 -c64 -d"${DURATION}s" --latency -s "$WORK/check.lua" http://127.0.0.1:8091 | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true
step "   bare axum constant handler, same load"
wrk -t2 -c64 -d"${DURATION}s" --latency -s "$WORK/check.lua" http://127.0.0.1:8099 | grep -E "Requests/sec|50%|99%" || true

awk -v n="$N" 'BEGIN { printf "{\"emails\":["; for (i = 0; i < 10000; i++) { if (i) printf ","; j = i * 97; printf "\"user%d@d%d.example\"", j, j % 5000 } print "]}" }' > "$WORK/batch.json"
cat > "$WORK/batch.lua" <<LUA
local f = io.open("$WORK/batch.json"); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body
wrk.headers["Content-Type"] = "application/json"; wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
step "3. POST /check with 10,000 addresses, one connection, ${DURATION} s"
wrk -t1 -c1 -d"${DURATION}s" --latency -s "$WORK/batch.lua" http://127.0.0.1:8091/api/v1/check | grep -E "Requests/sec|50%|99%|Non-2xx" || true

cat > "$WORK/events.lua" <<LUA
math.randomseed(7)
local replies = { "452 4.2.2 Mailbox full", "550 5.1.1 User unknown", "550 5.7.1 Blocked by policy", "421 4.7.0 Try again later" }
local bodies = {}
for b = 1, 20 do
  local items = {}
  for i = 1, 1000 do
    local r = math.random(1, #replies)
    items[i] = '{"recipient":"ev' .. math.random(1, 200000) .. '@d' .. math.random(1, 500) .. '.example","reply":"' .. replies[r] .. '"}'
  end
  bodies[b] = '{"events":[' .. table.concat(items, ",") .. ']}'
end
local k = 0
request = function()
  k = k % #bodies + 1
  return wrk.format("POST", "/api/v1/events",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer $TOKEN" }, bodies[k])
end
LUA
step "4. POST /events, batches of 1,000 replies, 4 connections, ${DURATION} s (events/s = requests/s x 1000)"
wrk -t1 -c4 -d"${DURATION}s" --latency -s "$WORK/events.lua" http://127.0.0.1:8091 | grep -E "Requests/sec|50%|99%|Non-2xx" || true
grep -iE "error|panic" "$WORK/serve.log" | head -5 || true
