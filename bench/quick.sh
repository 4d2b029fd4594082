#!/bin/sh
# bench/quick.sh [SIZE]: the import and the views against DuckDB, without the
# SQLite peer (which takes minutes): SIZE demo events (default 10M), then
#  - uptake import (the same 6 tables as the peer) and DuckDB's load, 3 times
#    each (REPS, default 3), alternating, the best;
#  - the 4 reports (accounts, features, users, stages) against DuckDB's;
#  - the views a CSM opens, each the best of 3: the portfolio, one account's
#    page, stages, alerts evaluate (a second evaluation of the same day).
# Run it with nothing else on the machine: it reports ratios measured in the
# same run. Output: bench/out/quick.md.
set -eu
size=${1:-10M}
uptake=${UPTAKE:-build/uptake}
out=bench/out/quick
asof=2026-11-20
case $size in
*[Mm]) n=$(( ${size%?} * 1000000 )) ;;
*[Kk]) n=$(( ${size%?} * 1000 )) ;;
*) n=$size ;;
esac
[ -d bench/node_modules/@duckdb ] || (cd bench && npm install --no-audit --no-fund --loglevel=error) >&2
rm -rf "$out"; mkdir -p "$out"
data=$out/data
best() { sort -n | head -1; }
t() { /usr/bin/time -f %e -o "$out/t" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; cat "$out/t"; }
"$uptake" demo --out "$data" --events "$n" --last-day "$asof" >/dev/null
sync   # the generated files' writeback would otherwise land inside the first import's time
events=$(($(wc -l < "$data/events.csv") - 1))
: >"$out/up_imp"; : >"$out/dk_imp"
reps=${REPS:-3}
for i in $(seq "$reps"); do
    /usr/bin/time -f %e -o "$out/t" sh -c '
        rm -rf "$2/s" && "$1" --data "$2/s" init -q --model "$3/model.yaml" &&
        for x in accounts users surveys subscriptions outcomes events; do
            [ ! -f "$3/$x.csv" ] || "$1" --data "$2/s" import -q "$x" "$3/$x.csv" || exit 1
        done' sh "$uptake" "$out" "$data" >/dev/null 2>&1
    cat "$out/t" >>"$out/up_imp"
    rm -f "$out/duck.db" "$out/duck.db.wal"
    t node bench/peer_duckdb.mjs --phase load --data "$data" --db "$out/duck.db" >>"$out/dk_imp"
done
up_imp=$(best <"$out/up_imp"); dk_imp=$(best <"$out/dk_imp")
up_rep=$(t sh -c '
    for r in accounts features; do "$1" --data "$2" report $r --as-of "$3" --status all --format csv >/dev/null || exit 1; done
    for r in users stages; do "$1" --data "$2" report $r --as-of "$3" --format csv >/dev/null || exit 1; done' \
    sh "$uptake" "$out/s" "$asof")
dk_rep=$(t node bench/peer_duckdb.mjs --phase report --db "$out/duck.db" --model "$data/model.yaml" --as-of "$asof" --out "$out/duckdb")
view() { for i in 1 2 3; do t "$uptake" --data "$out/s" "$@"; done | best; }
acct=$(sed -n 2p "$data/accounts.csv" | cut -d, -f1)
v_port=$(view report accounts --as-of "$asof" --format csv)
v_acct=$(view report account "$acct" --as-of "$asof" --format csv)
v_stag=$(view report stages --as-of "$asof" --format csv)
"$uptake" --data "$out/s" alerts evaluate --as-of "$asof" --wait 0 >/dev/null
v_alrt=$(view alerts evaluate --as-of "$asof" --wait 0)
accounts=$(($(wc -l < "$data/accounts.csv") - 1))
{
echo "## bench/quick.sh $size: $events events, $accounts accounts ($(nproc) cores)"
echo
echo "| step | uptake s | DuckDB s | ratio (DuckDB ÷ uptake) |"
echo "|---|---:|---:|---:|"
awk -v u="$up_imp" -v d="$dk_imp" 'BEGIN { printf "| import, 6 tables (best of '"$reps"') | %.2f | %.2f | %.2f× |\n", u, d, d / u }'
awk -v u="$up_rep" -v d="$dk_rep" 'BEGIN { printf "| 4 reports | %.2f | %.2f | %.2f× |\n", u, d, d / u }'
echo
echo "| view (best of 3) | seconds |"
echo "|---|---:|"
echo "| portfolio (report accounts) | $v_port |"
echo "| account page ($acct) | $v_acct |"
echo "| report stages | $v_stag |"
echo "| alerts evaluate (the same day again) | $v_alrt |"
} | tee "$out/../quick.md"
