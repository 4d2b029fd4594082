#!/bin/sh
# bench/billion.sh [DIR] [EVENTS]: the one-machine ceiling. Generates EVENTS
# demo events (default 1,000,000,000: a 50 GB CSV, so DIR needs about 60 GB
# free; default /tmp/uptake-billion), imports them (time and peak RSS), and
# times the views a CSM opens, each three times: the portfolio, one
# account's page, stages, and alerts evaluate (the same day again). Run it
# with nothing else on the machine. The CSV is removed after the import.
# docs/scale-out.md has the figures of the 2-core machine uptake is built on.
set -eu
U=${UPTAKE:-build/uptake}
W=${1:-/tmp/uptake-billion}
N=${2:-1000000000}
asof=2026-11-20
rm -rf "$W"; mkdir -p "$W"
/usr/bin/time -f '%e s %M KB' -o "$W/t" "$U" demo --out "$W/d" --events "$N" --last-day "$asof" >/dev/null
echo "generate: $(cat "$W/t"); events.csv $(du -h "$W/d/events.csv" | cut -f1)"
sync
"$U" --data "$W/s" init -q --model "$W/d/model.yaml"
for x in accounts users surveys subscriptions outcomes; do
    [ ! -f "$W/d/$x.csv" ] || "$U" --data "$W/s" import -q "$x" "$W/d/$x.csv"
done
/usr/bin/time -f '%e s %M KB' -o "$W/t" "$U" --data "$W/s" import events "$W/d/events.csv"
echo "import events: $(cat "$W/t") (seconds, peak RSS)"
rm -f "$W/d/events.csv"
du -sh "$W/s"
A=$(sed -n 2p "$W/d/accounts.csv" | cut -d, -f1)
for v in "report accounts" "report account $A" "report stages"; do
    for i in 1 2 3; do
        # shellcheck disable=SC2086
        /usr/bin/time -f '%e s %M KB' -o "$W/t" "$U" --data "$W/s" $v --as-of "$asof" --format csv >/dev/null
        echo "$v: $(cat "$W/t")"
    done
done
"$U" --data "$W/s" alerts evaluate --as-of "$asof" --wait 0 >/dev/null
for i in 1 2 3; do
    /usr/bin/time -f '%e s %M KB' -o "$W/t" "$U" --data "$W/s" alerts evaluate --as-of "$asof" --wait 0 >/dev/null
    echo "alerts evaluate, the same day again: $(cat "$W/t")"
done
"$U" --data "$W/s" status
