#!/bin/sh
# Cross-check (a correctness test, not a benchmark): uptake's `report accounts`
# and `report features` must equal, cell by cell, an independent SQL
# implementation of ../shared/spec/metrics.md run by DuckDB
# (bench/peer_duckdb.mjs). Small demo data: 40 accounts, 120 days.
#
#   sh tests/crosscheck/run.sh        UPTAKE=path (default build/uptake)
#   CROSSCHECK_SEED=7 CROSSCHECK_KEEP=1 sh tests/crosscheck/run.sh
# Exits 0 when every cell matches, 1 on any mismatch, 2 when it cannot run.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
uptake=${UPTAKE:-$root/build/uptake}
seed=${CROSSCHECK_SEED:-1}
asof=2026-11-20
[ -x "$uptake" ] || { echo "crosscheck: no uptake binary at $uptake (run make)" >&2; exit 2; }
command -v node >/dev/null || { echo "crosscheck: node is missing: run scripts/deps.sh" >&2; exit 2; }
if [ ! -d "$root/bench/node_modules/@duckdb/node-api" ] || [ ! -d "$root/bench/node_modules/yaml" ]; then
    (cd "$root/bench" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
        { echo "crosscheck: npm ci in bench/ failed" >&2; exit 2; }
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uptake-crosscheck.XXXXXX")
if [ "${CROSSCHECK_KEEP:-}" ]; then echo "crosscheck: keeping $tmp" >&2; else trap 'rm -rf "$tmp"' EXIT; fi

run() { "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; echo "crosscheck: failed: $*" >&2; exit 1; }; }
run "$uptake" demo --out "$tmp/data" --accounts 40 --days 120 --seed "$seed"
run "$uptake" --data "$tmp/store" init --model "$tmp/data/model.yaml"
for t in accounts users surveys events; do
    run "$uptake" --data "$tmp/store" import "$t" "$tmp/data/$t.csv"
done
mkdir -p "$tmp/uptake"
"$uptake" --data "$tmp/store" report accounts --as-of "$asof" --format csv > "$tmp/uptake/accounts.csv"
"$uptake" --data "$tmp/store" report features --as-of "$asof" --format csv > "$tmp/uptake/features.csv"
run node "$root/bench/peer_duckdb.mjs" --data "$tmp/data" --model "$tmp/data/model.yaml" --as-of "$asof" --out "$tmp/duckdb"
if node "$root/bench/compare.mjs" --names uptake,duckdb "$tmp/uptake" "$tmp/duckdb"; then
    echo "crosscheck: 1 passed, 0 failed"
else
    echo "crosscheck: 0 passed, 1 failed"
    exit 1
fi
