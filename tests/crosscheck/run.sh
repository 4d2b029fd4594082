#!/bin/sh
# Cross-check (a correctness test, not a benchmark): uptake's `report accounts`
# and `report features` must equal, cell by cell, an independent SQL
# implementation of ../shared/spec/metrics.md run by DuckDB
# (bench/peer_duckdb.mjs). Small demo data: 40 accounts, 120 days.
#
# CROSSCHECK_ISSUE3=1 also imports subscriptions.csv and outcomes.csv (when the
# data set has them), compares `report users` and `report stages` too, and
# compares strictly (every file and column, `level` included). Off by default
# (issue 3 is not in the C engine yet): then the peer is told to ignore
# subscriptions and outcomes (--skip) and only the columns both sides print
# are compared.
#
#   sh tests/crosscheck/run.sh        UPTAKE=path (default build/uptake)
#   CROSSCHECK_SEED=7 CROSSCHECK_KEEP=1 sh tests/crosscheck/run.sh
#   CROSSCHECK_ISSUE3=1 sh tests/crosscheck/run.sh
# Exits 0 when every cell matches, 1 on any mismatch, 2 when it cannot run.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
uptake=${UPTAKE:-$root/build/uptake}
seed=${CROSSCHECK_SEED:-1}
asof=2026-11-20
issue3=${CROSSCHECK_ISSUE3:-1}
if [ "$issue3" = 1 ]; then
    tables="accounts users surveys subscriptions outcomes events churn"
    reports="accounts features users stages"
    skip=""
    strict=--strict
else
    tables="accounts users surveys events churn"
    reports="accounts features"
    skip="--skip subscriptions,outcomes"
    strict=""
fi
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
# import_all DATA STORE: the tables of $tables that DATA has
import_all() {
    for t in $tables; do
        [ -f "$1/$t.csv" ] || continue
        run "$uptake" --data "$2" import "$t" "$1/$t.csv"
    done
}
# report_all STORE AS_OF OUT: uptake's reports of $reports as CSV; the
# portfolio reports with --status all (the peer lists every account, with
# its status as a column)
report_all() {
    mkdir -p "$3"
    for r in $reports; do
        st=""
        case $r in accounts|features) st="--status all" ;; esac
        "$uptake" --data "$1" report "$r" --as-of "$2" $st --format csv > "$3/$r.csv" ||
            { echo "crosscheck: failed: uptake report $r --as-of $2" >&2; exit 1; }
    done
}
run "$uptake" demo --out "$tmp/data" --accounts 40 --days 120 --seed "$seed" --last-day 2026-11-20
run "$uptake" --data "$tmp/store" init --model "$tmp/data/model.yaml"
import_all "$tmp/data" "$tmp/store"
report_all "$tmp/store" "$asof" "$tmp/uptake"
run node "$root/bench/peer_duckdb.mjs" --data "$tmp/data" --model "$tmp/data/model.yaml" --as-of "$asof" --out "$tmp/duckdb" $skip \
    --backtest 2026-07-25,2026-11-20,30 --retention 2026-09-30,45
passed=0 failed=0
if node "$root/bench/compare.mjs" $strict --names uptake,duckdb "$tmp/uptake" "$tmp/duckdb"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi
# Retention by level at 09-30 over 45 days: status, churn flags and ARR at
# both ends recomputed by the peer.
"$uptake" --data "$tmp/store" report retention --at 2026-09-30 --horizon 45 --by level --format csv \
    >"$tmp/uptake/retention.csv" || { echo "crosscheck: uptake report retention failed" >&2; exit 1; }
if python3 - "$tmp/uptake/retention.csv" "$tmp/duckdb/retention.csv" <<'PY'
import csv, sys
num = lambda v: None if v == "" else float(v)
a = [[r[0]] + [num(x) for x in r[1:]] for r in list(csv.reader(open(sys.argv[1])))[1:]]
b = [[r[0]] + [num(x) for x in r[1:]] for r in list(csv.reader(open(sys.argv[2])))[1:]]
print(f"compared retention by level ({len(a)} groups): {'identical' if a == b else 'DIFFERENT'}")
sys.exit(0 if a == b and a else 1)
PY
then
    passed=$((passed + 1))
else
    diff "$tmp/uptake/retention.csv" "$tmp/duckdb/retention.csv"
    echo "crosscheck: retention by level differs"
    failed=$((failed + 1))
fi
# The backtest: the peer recomputes every snapshot's accounts report, the
# churned flags, and the AUC by counting every (churned, retained) pair.
"$uptake" --data "$tmp/store" backtest --from 2026-07-25 --to 2026-11-20 --horizon 30 --format csv >"$tmp/uptake/backtest.csv" ||
    { echo "crosscheck: uptake backtest failed" >&2; exit 1; }
if python3 - "$tmp/uptake/backtest.csv" "$tmp/duckdb/backtest.csv" <<'PY'
import csv, sys
up = {r["score"]: r for r in csv.DictReader(open(sys.argv[1]))}
bad = 0
for r in csv.DictReader(open(sys.argv[2])):
    u = up.get(r["score"])
    got = u and (u["auc"], u["churned"], u["retained"], u["left_out"])
    want = (r["auc"], r["churned"], r["retained"], r["left_out"])
    if got != want:
        print(f"crosscheck: backtest {r['score']}: uptake {got}, duckdb {want}")
        bad += 1
print(f"compared the backtest of {len(up)} uptake scores with duckdb's: {bad} mismatches")
sys.exit(1 if bad else 0)
PY
then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# Edge cases: small random data sets aimed at window boundaries, re-sent
# message ids, passive/exposure/unknown events, seats 0, users after T,
# subscriptions and outcomes on their boundaries (edge.mjs says which seeds),
# each reported as of several days around its D0 (2026-03-31).
for eseed in 1 2 3 4 5 6; do
    e=$tmp/edge$eseed
    run node "$root/tests/crosscheck/edge.mjs" "$e/data" "$eseed"
    run "$uptake" --data "$e/store" init --model "$e/data/model.yaml"
    import_all "$e/data" "$e/store"
    for d in 2026-03-31 2026-03-30 2026-04-01 2026-03-03; do
        report_all "$e/store" "$d" "$e/uptake-$d"
        run node "$root/bench/peer_duckdb.mjs" --data "$e/data" --model "$e/data/model.yaml" --as-of "$d" --out "$e/duckdb-$d" $skip
        if node "$root/bench/compare.mjs" $strict --names uptake,duckdb "$e/uptake-$d" "$e/duckdb-$d" > "$e/cmp-$d.txt"; then
            passed=$((passed + 1))
        else
            cat "$e/cmp-$d.txt"
            echo "crosscheck: edge seed $eseed as of $d differs"
            failed=$((failed + 1))
        fi
    done
done
# The hand-checked fixture of peer_selftest.sh (issue 3 only).
if [ "$issue3" = 1 ]; then
    e=$tmp/fixture fx=$root/tests/crosscheck/fixtures/issue3
    mkdir -p "$e"
    run "$uptake" --data "$e/store" init --model "$fx/model.yaml"
    import_all "$fx" "$e/store"
    report_all "$e/store" 2026-03-31 "$e/uptake"
    run node "$root/bench/peer_duckdb.mjs" --data "$fx" --model "$fx/model.yaml" --as-of 2026-03-31 --out "$e/duckdb"
    if node "$root/bench/compare.mjs" $strict --names uptake,duckdb "$e/uptake" "$e/duckdb" > "$e/cmp.txt"; then
        passed=$((passed + 1))
    else
        cat "$e/cmp.txt"
        echo "crosscheck: fixtures/issue3 differs"
        failed=$((failed + 1))
    fi
fi
echo "crosscheck: $passed passed, $failed failed"
[ "$failed" = 0 ]
