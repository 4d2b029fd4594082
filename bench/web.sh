#!/bin/sh
# make bench-web: a store with ACCOUNTS accounts (default 10,000) from
# `uptake demo`, the server, and bench/web_portfolio.mjs in chromium.
set -eu
cd "$(dirname "$0")/.."
UPTAKE=${UPTAKE:-$PWD/build/uptake}
ACCOUNTS=${ACCOUNTS:-10000}
W=$(mktemp -d "${TMPDIR:-/tmp}/uptake-bench-web.XXXXXX")
PID=
trap 'if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$W"' EXIT
[ -d tests/web/node_modules/playwright-core ] || (cd tests/web && npm install --no-audit --no-fund >/dev/null)
"$UPTAKE" demo --out "$W/d" --accounts "$ACCOUNTS" --days 21 --last-day 2026-11-20 >/dev/null
"$UPTAKE" --data "$W/s" init -q --model "$W/d/model.yaml"
for t in accounts users surveys outcomes subscriptions tickets milestones events; do
    "$UPTAKE" --data "$W/s" import -q "$t" "$W/d/$t.csv" >/dev/null
done
AS_OF=$(awk -F, 'NR > 1 { d = substr($1, 1, 10); if (d > m) m = d } END { print m }' "$W/d/events.csv")
TOKEN=$("$UPTAKE" --data "$W/s" keys create --read 2>/dev/null)
printf "alerts_every: 0\n" >"$W/server.yaml"   # the page alone: no alert evaluation beside it
"$UPTAKE" --data "$W/s" serve --listen 127.0.0.1:0 --config "$W/server.yaml" --log-level warn 2>"$W/log" &
PID=$!
i=0
until PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/log") && [ -n "$PORT" ]; do
    i=$((i + 1)); [ $i -lt 400 ] || { cat "$W/log"; exit 1; }
    sleep 0.05
done
node bench/web_portfolio.mjs "http://127.0.0.1:$PORT" "$TOKEN" "$AS_OF" 3
