#!/bin/sh
# make bench-http: wrk over loopback against `uptake serve` and, in the same
# run, a naive durable Node receiver (bench/http/peer.mjs, fsync per request).
# Scenarios: batches of 100 events to /v1/batch, single events to /v1/track,
# the API's portfolio call on the demo store, and batches into the demo store
# while two clients read its portfolio without pause. Prints a markdown table.
# Not a test: figures depend on the machine. Settings: DURATION (s), CONNS.
set -eu
cd "$(dirname "$0")/.."
UPTAKE=${UPTAKE:-$PWD/build/uptake}
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
if ! command -v wrk >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/uptake-bench-http.XXXXXX")
PIDS=""
trap 'for p in $PIDS; do kill -9 $p 2>/dev/null || true; done; rm -rf "$W"' EXIT

start_uptake() {   # start_uptake STORE: sets PORT
    "$UPTAKE" --data "$1" serve --listen 127.0.0.1:0 --log-level warn 2>"$W/serve.log" &
    UPID=$!
    PIDS="$PIDS $UPID"
    i=0
    until PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/serve.log") && [ -n "$PORT" ]; do
        i=$((i + 1)); [ $i -lt 200 ] || { cat "$W/serve.log"; exit 1; }
        sleep 0.05
    done
}
# run NAME URL LUA [ENV...]: one wrk run; prints "req/s p50_ms p99_ms"
run() {
    name=$1 url=$2 lua=$3
    shift 3
    env "$@" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$lua" "$url" >"$W/$name.txt" 2>&1
    awk '/Requests\/sec/ { rps = $2 }
         /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
         function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
         END { printf "%s %.2f %.2f\n", rps, ms(p50), ms(p99) }' "$W/$name.txt"
}

echo "building a store and keys" >&2
"$UPTAKE" --data "$W/store" init -q
KEY=$("$UPTAKE" --data "$W/store" keys create --write 2>/dev/null)
start_uptake "$W/store"
set -- $(run u_batch "http://127.0.0.1:$PORT/v1/batch" bench/http/batch.lua KEY="$KEY" BATCH=100 RUN=b)
UB_RPS=$1 UB_P50=$2 UB_P99=$3
set -- $(run u_single "http://127.0.0.1:$PORT/v1/track" bench/http/batch.lua KEY="$KEY" BATCH=1 PATH_=/v1/track RUN=s)
US_RPS=$1 US_P50=$2 US_P99=$3
kill -TERM $UPID; wait $UPID 2>/dev/null || true
STORED=$("$UPTAKE" --data "$W/store" status | sed -n 's/^events *\([0-9]*\).*/\1/p')
# every answered request must have been a 2xx, and every event sent once stored once
for f in u_batch u_single; do
    if grep -q "Non-2xx" "$W/$f.txt"; then echo "bench-http: $f had non-2xx answers:" >&2; grep Non-2xx "$W/$f.txt" >&2; exit 1; fi
done
SENT=$(awk '/requests in/ { n += $1 } END { print n }' "$W/u_batch.txt")
SENT_S=$(awk '/requests in/ { print $1 }' "$W/u_single.txt")

echo "the demo store for the API call" >&2
"$UPTAKE" demo --out "$W/demo" --last-day 2026-11-20 >/dev/null
D="$W/demo-store"
"$UPTAKE" --data "$D" init -q --model "$W/demo/model.yaml"
for t in accounts users surveys outcomes events; do "$UPTAKE" --data "$D" import -q "$t" "$W/demo/$t.csv" >/dev/null; done
TOKEN=$("$UPTAKE" --data "$D" keys create --read 2>/dev/null)
KEY=$("$UPTAKE" --data "$D" keys create --write 2>/dev/null)
start_uptake "$D"
set -- $(run u_api "http://127.0.0.1:$PORT/api/v1/accounts?as_of=2026-11-20" bench/http/api.lua TOKEN="$TOKEN")
UA_RPS=$1 UA_P50=$2 UA_P99=$3
# batches while two dashboard users read the portfolio without pause: reads
# go through their own handle, so they cost commits CPU but never a lock
env TOKEN="$TOKEN" wrk -t1 -c2 -d"${DURATION}s" --latency -s bench/http/api.lua \
    "http://127.0.0.1:$PORT/api/v1/accounts?as_of=2026-11-20" >"$W/u_mixed_api.txt" 2>&1 &
MIXED=$!
set -- $(run u_mixed "http://127.0.0.1:$PORT/v1/batch" bench/http/batch.lua KEY="$KEY" BATCH=100 RUN=m)
UM_RPS=$1 UM_P50=$2 UM_P99=$3
wait $MIXED
UM_API=$(awk '/Requests\/sec/ { print $2 }' "$W/u_mixed_api.txt")
if grep -q "Non-2xx" "$W/u_mixed.txt" "$W/u_mixed_api.txt"; then echo "bench-http: the mixed run had non-2xx answers:" >&2; grep -H "Non-2xx" "$W/u_mixed.txt" "$W/u_mixed_api.txt" >&2; tail -5 "$W/serve.log" >&2; exit 1; fi
kill -TERM $UPID; wait $UPID 2>/dev/null || true

echo "the peer: a naive durable Node receiver" >&2
PPORT=$((20000 + $$ % 20000))
node bench/http/peer.mjs "$PPORT" "$W/peer.log" 2>/dev/null &
PIDS="$PIDS $!"
sleep 0.5
set -- $(run p_batch "http://127.0.0.1:$PPORT/v1/batch" bench/http/batch.lua KEY=x BATCH=100)
PB_RPS=$1 PB_P50=$2 PB_P99=$3
set -- $(run p_single "http://127.0.0.1:$PPORT/v1/track" bench/http/batch.lua KEY=x BATCH=1 PATH_=/v1/track)
PS_RPS=$1 PS_P50=$2 PS_P99=$3

awk -v ub="$UB_RPS" -v ub50="$UB_P50" -v ub99="$UB_P99" -v us="$US_RPS" -v us50="$US_P50" -v us99="$US_P99" \
    -v ua="$UA_RPS" -v ua50="$UA_P50" -v ua99="$UA_P99" -v pb="$PB_RPS" -v pb50="$PB_P50" -v pb99="$PB_P99" \
    -v um="$UM_RPS" -v um50="$UM_P50" -v um99="$UM_P99" -v uma="$UM_API" \
    -v ps="$PS_RPS" -v ps50="$PS_P50" -v ps99="$PS_P99" -v stored="$STORED" -v sent="$SENT" -v sent_s="$SENT_S" -v d="$DURATION" -v c="$CONNS" -v t="$THREADS" 'BEGIN {
    printf "wrk -t%s -c%s -d%ss, loopback; events stored by uptake in the two ingest runs: %s (every id unique: at most %s x 100 + %s sent)\n\n", t, c, d, stored, sent, sent_s
    printf "| scenario | uptake req/s | uptake events/s | p50 ms | p99 ms | peer req/s | peer events/s | peer p99 ms | uptake/peer |\n"
    printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    printf "| batches of 100, durable ack | %.0f | %.0f | %.2f | %.2f | %.0f | %.0f | %.2f | %.2fx |\n", ub, ub * 100, ub50, ub99, pb, pb * 100, pb99, ub / pb
    printf "| single events, durable ack | %.0f | %.0f | %.2f | %.2f | %.0f | %.0f | %.2f | %.2fx |\n", us, us, us50, us99, ps, ps, ps99, us / ps
    printf "| API portfolio (60 accounts) | %.0f | | %.2f | %.2f | | | | |\n", ua, ua50, ua99
    printf "| batches of 100 while 2 clients read the portfolio (%.0f reads/s) | %.0f | %.0f | %.2f | %.2f | | | | |\n", uma, um, um * 100, um50, um99
}'
