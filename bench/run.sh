#!/bin/sh
# The benchmark of issue 2 (`make bench`, `make bench SIZE=100M`): one run that
# generates SIZE demo events, then measures uptake import and report, and the
# same work in DuckDB (@duckdb/node-api, pinned in bench/package-lock.json)
# and in SQLite (Debian's sqlite3): seconds, events/s, peak RSS, bytes per
# event on disk, and the ratios. Then it compares uptake's reports with
# DuckDB's, cell by cell (exit status 1 on any mismatch).
#
#   sh bench/run.sh [SIZE]      SIZE: 10M (default), 100M, 1M, 500k, 250000...
#   UPTAKE=path/to/uptake       the binary (default build/uptake)
#
# Everything goes to bench/out/ (data, stores, reports, bench.md).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
size=${1:-10M}
asof=2026-11-20
uptake=${UPTAKE:-build/uptake}
case $uptake in /*) ;; *) uptake=$root/$uptake ;; esac
out=$root/bench/out

die() { echo "bench: $*" >&2; exit 2; }
[ -x /usr/bin/time ] && /usr/bin/time -f '%e %M' true 2>/dev/null ||
    die "GNU time (/usr/bin/time, Debian package 'time') is missing: run scripts/deps.sh"
command -v sqlite3 >/dev/null || die "sqlite3 is missing: run scripts/deps.sh"
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are missing: run scripts/deps.sh"
[ -x "$uptake" ] || die "no uptake binary at $uptake: run make (or set UPTAKE)"

case $size in
*[Mm]) n=$(( ${size%?} * 1000000 )) ;;
*[Kk]) n=$(( ${size%?} * 1000 )) ;;
*[!0-9]*|'') die "SIZE must look like 10M, 500k or 250000, not '$size'" ;;
*) n=$size ;;
esac

if [ ! -d bench/node_modules/@duckdb/node-api ] || [ ! -d bench/node_modules/yaml ]; then
    # `npm install` with the lock file, not `npm ci`: the lock cannot list the
    # other platforms' optional DuckDB bindings (this registry does not serve
    # them), and `npm ci` refuses a lock without them.
    echo "bench: installing the pinned npm packages (bench/package-lock.json)" >&2
    (cd bench && npm install --no-audit --no-fund --loglevel=error) >&2
fi

rm -rf "$out"
mkdir -p "$out"
data=$out/data store=$out/uptake-store

# measure NAME CMD...: runs CMD under GNU time; sets secs and rss (KiB).
measure() {
    name=$1; shift
    echo "bench: $name" >&2
    /usr/bin/time -f '%e %M' -o "$out/time.txt" "$@" || die "$name failed: $*"
    read -r secs rss < "$out/time.txt"
}
sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
fsize() { if [ -e "$1" ]; then stat -c %s "$1"; else echo 0; fi; }

measure "generate $n events" "$uptake" demo --out "$data" --events "$n" --last-day 2026-11-20 >/dev/null
gen_secs=$secs
events=$(($(wc -l < "$data/events.csv") - 1))
csv_bytes=$(fsize "$data/events.csv")

# The optional tables the DuckDB peer loads whenever the data directory has
# them (the demo writes outcomes.csv, not subscriptions.csv): uptake imports
# the same ones, so both sides report on the same inputs.
extra=
for t in subscriptions outcomes; do
    [ ! -f "$data/$t.csv" ] || extra="$extra $t"
done
ntables=$((4 + $(echo $extra | wc -w)))

# uptake: a fresh store; accounts, users, surveys (and the optional tables);
# then events alone.
measure "uptake import (entities)" sh -c '
    "$1" --data "$2" init --model "$3/model.yaml" &&
    "$1" --data "$2" import accounts "$3/accounts.csv" &&
    "$1" --data "$2" import users "$3/users.csv" &&
    "$1" --data "$2" import surveys "$3/surveys.csv" &&
    for t in $4; do "$1" --data "$2" import "$t" "$3/$t.csv" || exit 1; done' \
    sh "$uptake" "$store" "$data" "$extra" >/dev/null
ent_secs=$secs ent_rss=$rss
measure "uptake import events" "$uptake" --data "$store" import events "$data/events.csv" >/dev/null
up_ev_secs=$secs up_ev_rss=$rss
up_imp_secs=$(sum "$ent_secs" "$up_ev_secs") up_imp_rss=$(max "$ent_rss" "$up_ev_rss")
up_bytes=$(du -sb "$store" | cut -f1)
mkdir -p "$out/uptake"
# the same four reports the DuckDB peer writes: accounts, features, users,
# stages; timed in three steps (accounts + features, as the SQLite peer; users;
# stages), each CSV to a file. Their sum is the report compared with DuckDB's.
measure "uptake report" sh -c '
    "$1" --data "$2" report accounts --as-of "$3" --status all --format csv > "$4/accounts.csv" &&
    "$1" --data "$2" report features --as-of "$3" --status all --format csv > "$4/features.csv"' \
    sh "$uptake" "$store" "$asof" "$out/uptake"
up_af_secs=$secs up_af_rss=$rss
measure "uptake report users" sh -c '
    "$1" --data "$2" report users --as-of "$3" --format csv > "$4/users.csv"' \
    sh "$uptake" "$store" "$asof" "$out/uptake"
up_us_secs=$secs up_us_rss=$rss
measure "uptake report stages" sh -c '
    "$1" --data "$2" report stages --as-of "$3" --format csv > "$4/stages.csv"' \
    sh "$uptake" "$store" "$asof" "$out/uptake"
up_st_secs=$secs up_st_rss=$rss
up_rep_secs=$(sum "$(sum "$up_af_secs" "$up_us_secs")" "$up_st_secs")
up_rep_rss=$(max "$(max "$up_af_rss" "$up_us_rss")" "$up_st_rss")

# DuckDB: load into a database file, then a second process opens it and reports.
measure "duckdb load" node bench/peer_duckdb.mjs --phase load --data "$data" --db "$out/duck.db" >/dev/null
dk_imp_secs=$secs dk_imp_rss=$rss
dk_bytes=$(( $(fsize "$out/duck.db") + $(fsize "$out/duck.db.wal") ))
measure "duckdb report" node bench/peer_duckdb.mjs --phase report --db "$out/duck.db" \
    --model "$data/model.yaml" --as-of "$asof" --out "$out/duckdb" >/dev/null
dk_rep_secs=$secs dk_rep_rss=$rss

# SQLite: the same.
measure "sqlite load" sh bench/peer_sqlite.sh load "$data" "$out/sqlite.db"
sq_imp_secs=$secs sq_imp_rss=$rss
sq_bytes=$(fsize "$out/sqlite.db")
measure "sqlite report" sh bench/peer_sqlite.sh report "$out/sqlite.db" "$data/model.yaml" "$asof" "$out/sqlite"
sq_rep_secs=$secs sq_rep_rss=$rss

awk -v events="$events" -v csv="$csv_bytes" -v gen="$gen_secs" -v size="$size" \
    -v ui="$up_imp_secs" -v uir="$up_imp_rss" -v ue="$up_ev_secs" -v uer="$up_ev_rss" \
    -v ur="$up_rep_secs" -v urr="$up_rep_rss" -v ub="$up_bytes" -v nt="$ntables" \
    -v uaf="$up_af_secs" -v uafr="$up_af_rss" -v uus="$up_us_secs" -v uusr="$up_us_rss" \
    -v ust="$up_st_secs" -v ustr="$up_st_rss" \
    -v di="$dk_imp_secs" -v dir="$dk_imp_rss" -v dr="$dk_rep_secs" -v drr="$dk_rep_rss" -v db="$dk_bytes" \
    -v si="$sq_imp_secs" -v sir="$sq_imp_rss" -v sr="$sq_rep_secs" -v srr="$sq_rep_rss" -v sb="$sq_bytes" '
function rate(s) { return s > 0 ? sprintf("%.0f", events / s) : "inf" }
function mib(k) { return sprintf("%.1f", k / 1024) }
function bpe(b) { return b == "" ? "" : sprintf("%.2f", b / events) }
function row(what, s, r, b) { printf "| %s | %.2f | %s | %s | %s |\n", what, s, rate(s), mib(r), bpe(b) }
function x(a, b) { return b > 0 ? sprintf("%.2f×", a / b) : "n/a" }
BEGIN {
    printf "## uptake benchmark: %s events (%d rows, CSV %.1f bytes/event; generated in %.1f s)\n\n", size, events, csv / events, gen
    print "| step | seconds | events/s | peak RSS MiB | bytes/event on disk |"
    print "|---|---:|---:|---:|---:|"
    row("uptake import (" nt " tables)", ui, uir, ub)
    row("uptake import events only", ue, uer, "")
    row("uptake report accounts + features", uaf, uafr, "")
    row("uptake report users", uus, uusr, "")
    row("uptake report stages", ust, ustr, "")
    row("uptake report (accounts + features + users + stages)", ur, urr, "")
    row("DuckDB load (" nt " tables)", di, dir, db)
    row("DuckDB report (accounts + features + users + stages)", dr, drr, "")
    row("SQLite load (4 tables)", si, sir, sb)
    row("SQLite report (accounts + features)", sr, srr, "")
    print ""
    print "| ratio | vs DuckDB | vs SQLite | target (vs DuckDB) |"
    print "|---|---:|---:|---|"
    printf "| import speed (events/s, uptake ÷ peer) | %s | %s | ≥ 3× |\n", x(di, ui), x(si, ui)
    printf "| import peak RSS (uptake ÷ peer) | %s | %s | ≤ 0.25× |\n", x(uir, dir), x(uir, sir)
    printf "| report speed (peer seconds ÷ uptake seconds) | %s | %s | ≥ 20× (and < 0.5 s at 100M) |\n", x(dr, ur), x(sr, ur)
    printf "| report peak RSS (uptake ÷ peer) | %s | %s | |\n", x(urr, drr), x(urr, srr)
    printf "| bytes/event on disk (uptake ÷ peer) | %s | %s | uptake ≤ 12 bytes/event |\n", x(ub, db), x(ub, sb)
}' | tee "$out/bench.md"

echo
echo "### correctness: uptake vs DuckDB"
status=0
node bench/compare.mjs --names uptake,duckdb "$out/uptake" "$out/duckdb" > "$out/compare.txt" || status=1
cat "$out/compare.txt" | tee -a "$out/bench.md"
echo "### DuckDB vs SQLite (the two peers)"
node bench/compare.mjs --names duckdb,sqlite "$out/duckdb" "$out/sqlite" > "$out/compare.txt" || true
cat "$out/compare.txt" | tee -a "$out/bench.md"

# The backtest (issue 13): a 12-month backtest needs 12 month ends plus the
# horizon of history, so a second data set of the same size spans 460 days.
# Its peer is uptake itself: the 12 `report accounts` one per snapshot that a
# backtest replaces (same store, same run), so the ratio says what the
# pooled AUCs, the calibration and the one shared rollup cost or save.
bt_data=$out/bt-data bt_store=$out/bt-store
measure "generate $n events over 460 days" "$uptake" demo --out "$bt_data" --events "$n" --days 460 --last-day 2026-11-20 >/dev/null
"$uptake" --data "$bt_store" init -q --model "$bt_data/model.yaml" >/dev/null
for t in accounts users surveys outcomes subscriptions tickets milestones events; do
    [ ! -f "$bt_data/$t.csv" ] || "$uptake" --data "$bt_store" import -q "$t" "$bt_data/$t.csv" >/dev/null ||
        die "backtest store: import $t failed"
done
bt_events=$(($(wc -l < "$bt_data/events.csv") - 1))
"$uptake" --data "$bt_store" report accounts --as-of "$asof" --format csv >/dev/null   # the rollup snapshot, once
# month ends 2025-11-30 .. 2026-10-31 are snapshots t with t + 20 <= 11-20: 12
measure "uptake backtest (12 snapshots)" "$uptake" --data "$bt_store" backtest --from 2025-11-01 --to "$asof" \
    --horizon 20 --format csv >/dev/null
bt_secs=$secs bt_rss=$rss
"$uptake" --data "$bt_store" backtest --from 2025-11-01 --to "$asof" --horizon 20 >"$out/backtest.txt"
measure "uptake report accounts x 12 (the peer)" sh -c '
    for d in 2025-11-30 2025-12-31 2026-01-31 2026-02-28 2026-03-31 2026-04-30 2026-05-31 2026-06-30 \
             2026-07-31 2026-08-31 2026-09-30 2026-10-31; do
        "$1" --data "$2" report accounts --as-of "$d" --format csv >/dev/null || exit 1
    done' sh "$uptake" "$bt_store"
r12_secs=$secs r12_rss=$rss
# what the calibration adds to a signal view (alert evaluation, report signals)
measure "uptake report signals (with churn_probability)" "$uptake" --data "$bt_store" report signals --as-of "$asof" \
    --format csv >/dev/null
sig_secs=$secs
measure "uptake report accounts (the same day)" "$uptake" --data "$bt_store" report accounts --as-of "$asof" --format csv >/dev/null
acc_secs=$secs
awk -v n="$bt_events" -v bs="$bt_secs" -v br="$bt_rss" -v rs="$r12_secs" -v rr="$r12_rss" \
    -v ss="$sig_secs" -v as="$acc_secs" 'BEGIN {
    printf "\n### backtest: %d events over 460 days, 12 month-end snapshots\n\n", n
    print "| step | seconds | peak RSS MiB |"
    print "|---|---:|---:|"
    printf "| uptake backtest --from 2025-11-01 --to 2026-11-20 --horizon 20 | %.2f | %.1f |\n", bs, br / 1024
    printf "| uptake report accounts, once per snapshot (12 runs) | %.2f | %.1f |\n", rs, rr / 1024
    printf "| uptake report signals (its churn_probability runs a calibration backtest) | %.2f | |\n", ss
    printf "| uptake report accounts, the same day | %.2f | |\n", as
    printf "\nratio backtest ÷ 12 reports: %.2f× (target: the backtest under 2 s at 10M)\n", (rs > 0 ? bs / rs : 0)
}' | tee -a "$out/bench.md"
sed -n '1,3p' "$out/backtest.txt" | tee -a "$out/bench.md"

echo "bench: table and comparison in $out/bench.md" >&2
exit $status
