#!/bin/sh
# bench/clickhouse.sh [SIZE]: the ClickHouse store against the embedded one,
# in one run, on SIZE demo events (default 10M; suffixes K, M):
#  - the events import into a two-shard loopback cluster (tests/clickhouse/
#    cluster.sh: two clickhouse-server processes on this machine) and into
#    the embedded store;
#  - `report accounts --as-of 2026-11-20 --format csv` on each, best of 3;
#  - the same events with a message_id column (ids as a client sends them,
#    which the reads must de-duplicate across shards) into a third database;
#  - `uptake export --to clickhouse` of the embedded store (a fourth database;
#    skipped when EXPORT=0).
# Both servers share this machine's cores with uptake, so the ClickHouse
# numbers say what one box does, not what a real cluster does. Output:
# bench/out/clickhouse.md. Skipped without clickhouse-server.
set -eu
size=${1:-10M}
uptake=${UPTAKE:-build/uptake}
out=bench/out/clickhouse
asof=2026-11-20
command -v clickhouse-server >/dev/null || [ -x /usr/sbin/clickhouse-server ] ||
    { echo "bench/clickhouse.sh: clickhouse-server is not installed" >&2; exit 1; }
case $size in
*[Mm]) n=$(( ${size%?} * 1000000 )) ;;
*[Kk]) n=$(( ${size%?} * 1000 )) ;;
*) n=$size ;;
esac
rm -rf "$out"; mkdir -p "$out"
cl=$out/cluster
trap 'sh tests/clickhouse/cluster.sh stop "$cl"' EXIT
sh tests/clickhouse/cluster.sh start "$cl"
urls=$(cat "$cl/urls")
data=$out/data
best() { sort -n | head -1; }
t() { /usr/bin/time -f %e -o "$out/t" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; echo "failed: $*" >&2; exit 1; }; cat "$out/t"; }
"$uptake" demo --out "$data" --events "$n" --last-day "$asof" >/dev/null
events=$(($(wc -l < "$data/events.csv") - 1))
accounts=$(($(wc -l < "$data/accounts.csv") - 1))
crm() {   # crm STORE: the CRM files
    for x in accounts users surveys subscriptions outcomes tickets milestones; do
        [ ! -f "$data/$x.csv" ] || "$uptake" --data "$1" import -q "$x" "$data/$x.csv" >/dev/null
    done
}
"$uptake" --data "$out/emb" init -q --model "$data/model.yaml" >/dev/null
crm "$out/emb"
emb_imp=$(t "$uptake" --data "$out/emb" import -q events "$data/events.csv")
"$uptake" --data "$out/ch" init -q --model "$data/model.yaml" --engine clickhouse --clickhouse "$urls" \
    --cluster uptake_test --database uptake_bench >/dev/null
crm "$out/ch"
ch_imp=$(t "$uptake" --data "$out/ch" import -q events "$data/events.csv")
exp=skipped
[ "${EXPORT:-1}" = 0 ] || exp=$(t "$uptake" --data "$out/emb" export --to clickhouse --clickhouse "$urls" \
    --cluster uptake_test --database uptake_bench_export --out "$out/exp")
# the same events, each with a message id of its own as a client sends them:
# ids uptake did not make up may have copies under two accounts, on two
# shards, so every read asks the cluster for those (store_ch.c, fetch_gdup)
cid=${CID:-1}   # CID=0 skips this variant
if [ "$cid" = 1 ]; then
awk 'NR == 1 { print $0 ",message_id"; next } { print $0 ",c" NR }' "$data/events.csv" > "$out/ids.csv"
"$uptake" --data "$out/cid" init -q --model "$data/model.yaml" --engine clickhouse --clickhouse "$urls" \
    --cluster uptake_test --database uptake_bench_cid >/dev/null
crm "$out/cid"
cid_imp=$(t "$uptake" --data "$out/cid" import -q events "$out/ids.csv")
"$uptake" --data "$out/eid" init -q --model "$data/model.yaml" >/dev/null
crm "$out/eid"
eid_imp=$(t "$uptake" --data "$out/eid" import -q events "$out/ids.csv")
rm -f "$out/ids.csv"
fi
reps=${REPS:-3}
report() { for i in $(seq "$reps"); do t "$uptake" --data "$1" report accounts --as-of "$asof" --format csv; done | best; }
emb_rep=$(report "$out/emb")
ch_rep=$(report "$out/ch")
[ "$cid" = 1 ] && cid_rep=$(report "$out/cid") && eid_rep=$(report "$out/eid")
"$uptake" --data "$out/emb" report accounts --as-of "$asof" --format csv > "$out/emb.csv"
"$uptake" --data "$out/ch" report accounts --as-of "$asof" --format csv > "$out/ch.csv"
if [ "$cid" = 1 ]; then
    "$uptake" --data "$out/cid" report accounts --as-of "$asof" --format csv > "$out/cid.csv"
else
    cp "$out/emb.csv" "$out/cid.csv"
fi
same=$(cmp -s "$out/emb.csv" "$out/ch.csv" && cmp -s "$out/emb.csv" "$out/cid.csv" && echo "byte-identical" ||
    echo "DIFFERENT")
# what each keeps on disk: events.log + rollup.bin, and the parts of both shards
emb_mb=$(du -sm "$out/emb" | cut -f1)
ch_bytes=0
for u in $(echo "$urls" | tr , ' '); do
    b=$(curl -s --max-time 30 --data-binary "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = 'uptake_bench'" "$u/")
    ch_bytes=$((ch_bytes + ${b:-0}))
done
{
echo "## bench/clickhouse.sh $size: $events events, $accounts accounts ($(nproc) cores, both ClickHouse servers on this machine)"
echo
echo "| step | embedded s | ClickHouse (2 shards) s | ratio (ClickHouse ÷ embedded) |"
echo "|---|---:|---:|---:|"
awk -v e="$emb_imp" -v c="$ch_imp" 'BEGIN { printf "| import events | %.2f | %.2f | %.2f× |\n", e, c, c / e }'
awk -v e="$emb_rep" -v c="$ch_rep" 'BEGIN { printf "| report accounts --as-of '"$asof"' (best of '"$reps"') | %.2f | %.2f | %.2f× |\n", e, c, c / e }'
[ "$cid" = 0 ] || awk -v e="$eid_imp" -v c="$cid_imp" 'BEGIN { printf "| import events, each with a client message id | %.2f | %.2f | %.2f× |\n", e, c, c / e }'
[ "$cid" = 0 ] || awk -v e="$eid_rep" -v c="$cid_rep" 'BEGIN { printf "| report accounts on those (best of '"$reps"') | %.2f | %.2f | %.2f× |\n", e, c, c / e }'
echo
echo "- export of the embedded store into a fourth database: $exp s"
echo "- the reports (embedded, ClickHouse$([ "$cid" = 0 ] || echo ", ClickHouse with client ids")): $same"
echo "- on disk: the embedded store ${emb_mb} MB (events.log, rollup.bin, uptake.db); ClickHouse's parts $((ch_bytes / 1048576)) MB"
echo "- ClickHouse $(curl -s --max-time 10 --data-binary 'SELECT version()' "${urls%%,*}/")"
} > bench/out/clickhouse.md
cat bench/out/clickhouse.md
