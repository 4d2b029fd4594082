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
    # npm install with the lock file (see bench/run.sh for why not npm ci)
    (cd "$root/bench" && npm install --no-audit --no-fund --loglevel=error) >&2 ||
        { echo "crosscheck: npm install in bench/ failed" >&2; exit 2; }
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
passed=0 failed=0
if node "$root/bench/compare.mjs" --names uptake,duckdb "$tmp/uptake" "$tmp/duckdb"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# Edge cases: small random data sets aimed at window boundaries, re-sent
# message ids, passive/exposure/unknown events, seats 0, users after T…,
# each reported as of several days around its D0 (2026-03-31).
for eseed in 1 2 3 4 5 6; do
    e=$tmp/edge$eseed
    run node "$root/tests/crosscheck/edge.mjs" "$e/data" "$eseed"
    run "$uptake" --data "$e/store" init --model "$e/data/model.yaml"
    for t in accounts users surveys events; do
        run "$uptake" --data "$e/store" import "$t" "$e/data/$t.csv"
    done
    for d in 2026-03-31 2026-03-30 2026-04-01 2026-03-03; do
        mkdir -p "$e/uptake-$d"
        "$uptake" --data "$e/store" report accounts --as-of "$d" --format csv > "$e/uptake-$d/accounts.csv"
        "$uptake" --data "$e/store" report features --as-of "$d" --format csv > "$e/uptake-$d/features.csv"
        run node "$root/bench/peer_duckdb.mjs" --data "$e/data" --model "$e/data/model.yaml" --as-of "$d" --out "$e/duckdb-$d"
        if node "$root/bench/compare.mjs" --names uptake,duckdb "$e/uptake-$d" "$e/duckdb-$d" > "$e/cmp-$d.txt"; then
            passed=$((passed + 1))
        else
            cat "$e/cmp-$d.txt"
            echo "crosscheck: edge seed $eseed as of $d differs"
            failed=$((failed + 1))
        fi
    done
done
echo "crosscheck: $passed passed, $failed failed"
[ "$failed" = 0 ]
