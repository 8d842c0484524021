#!/usr/bin/env bash
# Load test of the recommendation endpoint over loopback with wrk (Debian package `wrk`).
#
#   bench/load_test.sh MODEL RATINGS.csv [BOOKS.csv]
#
# Starts the release `bookrec-server` on 127.0.0.1:$PORT with a fresh ratings database, picks
# $USERS distinct users that the model knows (from the ratings file, checked through the API),
# and runs wrk for $DURATION with $CONNECTIONS connections, each request
# `GET /api/users/{random known user}/recommendations?n=10`. Prints wrk's summary, p50/p99,
# requests/s, errors, and the server's resident memory; stops the server at the end.
#
# Environment: PROFILE (release; dev for target/debug), PORT (8787), DURATION (15s, must be >= 10s), CONNECTIONS (32), THREADS (2),
# USERS (2000, must be >= 1000), MIN_SUPPORT (server default), SEED (42),
# EXPLAIN (false: the top-10 alone; true: also "because you rated X highly" per book),
# RANKER (a second model file, e.g. ials: it chooses and orders the lists, MODEL predicts the
# ratings, as `bookrec serve --ranker`), AUTH (open: `--auth open`, no credentials; bearer:
# `--auth accounts`, every request carries `Authorization: Bearer TOKEN` of an admin token made
# with `bookrec accounts token --admin`, which may read any reader, so each request pays the
# token check: SHA-256 + a look-up in the server's cache of verified tokens; one indexed SQLite
# query every 5 s).
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${1:?usage: bench/load_test.sh MODEL RATINGS.csv [BOOKS.csv]}
RATINGS=${2:?usage: bench/load_test.sh MODEL RATINGS.csv [BOOKS.csv]}
BOOKS=${3:-}
PORT=${PORT:-8787}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
USERS=${USERS:-2000}
SEED=${SEED:-42}
EXPLAIN=${EXPLAIN:-false}
AUTH=${AUTH:-open}
case "$AUTH" in open|bearer) ;; *) echo "AUTH must be open or bearer" >&2; exit 1 ;; esac

command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found: apt-get install curl" >&2; exit 1; }
[ "$USERS" -ge 1000 ] || { echo "USERS must be at least 1000" >&2; exit 1; }

# PROFILE=dev uses the dev profile (opt-level 2, no LTO; target/debug) when a release build is
# not at hand; compare figures only within one profile.
PROFILE=${PROFILE:-release}
OUT_DIR=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
cargo build --profile "$PROFILE" -p bookrec-server --bin bookrec-server >&2
BIN=${CARGO_TARGET_DIR:-target}/$OUT_DIR/bookrec-server
[ "$AUTH" = bearer ] && cargo build --profile "$PROFILE" -p bookrec-cli --bin bookrec >&2
CLI=${CARGO_TARGET_DIR:-target}/$OUT_DIR/bookrec

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

args=(--model "$MODEL" --db "$WORK/ratings.sqlite" --addr "127.0.0.1:$PORT" --no-watch)
TOKEN=
if [ "$AUTH" = bearer ]; then
    args+=(--auth accounts)
    TOKEN=$("$CLI" accounts token --db "$WORK/ratings.sqlite" --user loadtest --admin | tail -n 1)
else
    args+=(--auth open)
fi
# curl with the credentials of this run.
api() { if [ -n "$TOKEN" ]; then curl -H "Authorization: Bearer $TOKEN" "$@"; else curl "$@"; fi; }
[ -n "$BOOKS" ] && args+=(--books "$BOOKS")
[ -n "${MIN_SUPPORT:-}" ] && args+=(--min-support "$MIN_SUPPORT")
[ -n "${RANKER:-}" ] && args+=(--ranker "$RANKER")
RUST_LOG=warn "$BIN" "${args[@]}" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/readyz" >&2 || { echo "server not ready" >&2; exit 1; }
echo >&2
RSS_IDLE=$(ps -o rss= -p "$SERVER_PID")

# Candidate users: first column of the ratings file (any of , ; tab separators, quotes
# stripped), users with at least one non-zero rating, shuffled deterministically.
awk -F'[;,\t]' 'NR > 1 { u = $1; r = $3; gsub(/"/, "", u); gsub(/"/, "", r); gsub(/\r/, "", r);
                         if (u != "" && r != "0" && !(u in seen)) { seen[u] = 1; print u } }' "$RATINGS" \
    | shuf -n $((USERS * 3)) --random-source=<(yes "$SEED") > "$WORK/candidates.txt"
# Keep users the model knows (so every request does the personal top-N, not the popular list).
: > "$WORK/users.txt"
kept=0
while read -r u && [ "$kept" -lt "$USERS" ]; do
    if api -sf "http://127.0.0.1:$PORT/api/users/$u/ratings" | grep -q '"known_user":true'; then
        echo "$u" >> "$WORK/users.txt"
        kept=$((kept + 1))
    fi
done < "$WORK/candidates.txt"
N_USERS=$(wc -l < "$WORK/users.txt")
echo "load test: $N_USERS distinct known users, $DURATION, $CONNECTIONS connections, $THREADS threads, explain=$EXPLAIN, auth=$AUTH${RANKER:+, ranker $RANKER}" >&2
[ "$N_USERS" -ge 1000 ] || { echo "fewer than 1000 known users found" >&2; exit 1; }

cat > "$WORK/spread.lua" <<'LUA'
-- Each request asks for the top-10 of a random user from USERS_FILE.
local users = {}
for line in io.lines(os.getenv("USERS_FILE")) do users[#users + 1] = line end
local explain = os.getenv("EXPLAIN") or "false"
local token = os.getenv("TOKEN") or ""
local headers = {}
if token ~= "" then headers["Authorization"] = "Bearer " .. token end
local counter = 0
function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
end
function init(args)
    math.randomseed(1000 + (id or 0))
end
function request()
    local u = users[math.random(#users)]
    return wrk.format("GET", "/api/users/" .. u .. "/recommendations?n=10&explain=" .. explain, headers)
end
function done(summary, latency, requests)
    local e = summary.errors
    local errors = e.connect + e.read + e.write + e.status + e.timeout
    io.write(string.format("RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d non2xx=%d\n",
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
        latency.max / 1000, errors, e.status))
end
LUA

# Server CPU time (user + system, clock ticks) around the run: CPU per request does not depend
# on what else the machine is doing, unlike throughput on a shared 2-core box.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
CPU_BEFORE=$(cpu_ticks)
TOKEN="$TOKEN" EXPLAIN="$EXPLAIN" USERS_FILE="$WORK/users.txt" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    -s "$WORK/spread.lua" "http://127.0.0.1:$PORT" | tee "$WORK/wrk.txt"
CPU_AFTER=$(cpu_ticks)
RSS_LOADED=$(ps -o rss= -p "$SERVER_PID")
REQUESTS=$(sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p' "$WORK/wrk.txt")
awk -v t=$((CPU_AFTER - CPU_BEFORE)) -v hz="$(getconf CLK_TCK)" -v n="$REQUESTS" -v cores="$(nproc)" 'BEGIN {
    ms = t / hz * 1000 / n
    printf "server CPU: %.3f ms per request (user+sys) -> at most %.0f requests/s on %d cores\n", ms, cores * 1000 / ms, cores
}'
echo "machine load during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server memory: RSS idle $((RSS_IDLE / 1024)) MiB, after load $((RSS_LOADED / 1024)) MiB"
grep -q 'errors=0 ' "$WORK/wrk.txt" || { echo "load test had errors" >&2; exit 1; }
