#!/bin/sh
# The ClickHouse store against the embedded one, on a two-shard cluster of
# two local clickhouse-server processes (cluster.sh): the demo's events land
# on both shards, every report this slice serves (those that read the event
# stream too: workflows, account pages, events, error events, workflow
# targets, the alert evaluation) is byte-identical to the embedded store's,
# message ids de-duplicate a file imported twice, event names that need
# escaping in SQL stay intact, and a shard that is down gives an error naming
# it. Skipped (exit 0) without clickhouse-server.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SERVER=$(command -v clickhouse-server || { [ -x /usr/sbin/clickhouse-server ] && echo /usr/sbin/clickhouse-server; } || true)
if [ -z "$SERVER" ]; then
    echo "SKIP tests/clickhouse/run.sh: clickhouse-server is not installed (sh scripts/deps.sh installs it)"
    exit 0
fi
. "$HERE/../cli/lib.inc"
CL=$TMP/cluster
trap 'sh "$HERE/cluster.sh" stop "$CL"; rm -rf "$TMP"' EXIT
sh "$HERE/cluster.sh" start "$CL" || fail "the cluster did not start"
URLS=$(cat "$CL/urls")
URL1=${URLS%%,*}
URL2=${URLS#*,}
say "cluster uptake_test: $URL1 $URL2"

# ch_count URL SQL: a number from one server
ch_count() { curl -s --max-time 10 --data-binary "$2" "$1/"; }

ok demo --out "$TMP/D" --accounts 20 --days 60 --seed 3 --last-day 2026-11-20
D=$TMP/D
N=$(($(wc -l < "$D/events.csv") - 1))

# load STORE INIT-ARGS...: init with the demo model, then every demo file
# (the events from $EVENTS)
EVENTS=$D/events.csv
load() {
    store=$1
    shift
    ok --data "$store" init --model "$D/model.yaml" "$@"
    for f in accounts users surveys outcomes subscriptions tickets milestones; do
        ok --data "$store" import "$f" "$D/$f.csv" -q
    done
    ok --data "$store" import events "$EVENTS" -q
}
load "$TMP/emb"
load "$TMP/ch" --engine clickhouse --clickhouse "$URLS" --cluster uptake_test

# the events are on both shards, each once
c1=$(ch_count "$URL1" "SELECT count() FROM uptake.events_local")
c2=$(ch_count "$URL2" "SELECT count() FROM uptake.events_local")
[ "$c1" -gt 0 ] && [ "$c2" -gt 0 ] || fail "events on shard 1: $c1, shard 2: $c2; expected some on each"
[ $((c1 + c2)) -eq "$N" ] || fail "shards hold $c1 + $c2 events, the file $N"
say "events: $c1 on shard 1 + $c2 on shard 2 = $N"
# each account on one shard only
both=$(ch_count "$URL1" "SELECT count() FROM (SELECT DISTINCT account_id FROM remote('127.0.0.1:$(sed -n 's:.*<tcp_port>\(.*\)</tcp_port>.*:\1:p' "$CL/s2/config.xml")', uptake.events_local)) WHERE account_id IN (SELECT DISTINCT account_id FROM uptake.events_local)")
[ "$both" = 0 ] || fail "$both accounts have events on both shards"

# same_out EMB CH ARGS...: uptake ARGS... on the store EMB and on the store
# CH print the same, byte for byte
same_out() {
    emb=$1 ch=$2
    shift 2
    ok --data "$emb" "$@"
    cp "$TMP/out" "$TMP/emb.out"
    ok --data "$ch" "$@"
    cmp -s "$TMP/emb.out" "$TMP/out" || { diff "$TMP/emb.out" "$TMP/out" | head -20 >&2;
        fail "$* differs between the embedded and the ClickHouse store"; }
    [ -s "$TMP/out" ] || fail "$* is empty"
    say "same: $*"
}
# same_report ARGS...: the report (csv) from both stores, byte for byte
same_report() {
    same_out "$TMP/emb" "$TMP/ch" report "$@" --format csv
}
same_report accounts --as-of 2026-11-20
same_report accounts --as-of 2026-11-01
same_report features --as-of 2026-11-20
same_report users --as-of 2026-11-20
same_report stages --as-of 2026-11-20
same_report gaps --as-of 2026-11-20
same_report signals --as-of 2026-11-20
same_report renewals --as-of 2026-11-20
same_report retention --at 2026-10-01 --horizon 30 --by segment
ok --data "$TMP/emb" status
grep '^events ' "$TMP/out" > "$TMP/emb.status"
ok --data "$TMP/ch" status
grep '^events ' "$TMP/out" | cmp -s - "$TMP/emb.status" || fail "status: the event counts differ"

# the reports that read the event stream (store_ch_scan.c)
same_report workflows --as-of 2026-11-20
same_report workflows --as-of 2026-10-15T13:30:00Z
same_report events --as-of 2026-11-20
for a in acct0002 acct0007; do
    for f in csv json html; do
        same_out "$TMP/emb" "$TMP/ch" report account "$a" --as-of 2026-11-20 --format "$f"
    done
done
same_out "$TMP/emb" "$TMP/ch" model suggest

# message ids: the same file twice stores each event once (read-time
# de-duplication: both copies are in the table, the first one counts)
awk -F, 'NR == 1 { print $0 ",message_id"; next } { print $0 ",m" NR }' "$D/events.csv" > "$TMP/ids.csv"
EVENTS=$TMP/ids.csv
load "$TMP/ids" --engine clickhouse --clickhouse "$URLS" --cluster uptake_test --database uptake_ids
ok --data "$TMP/ids" import events "$TMP/ids.csv" -q
raw=$(($(ch_count "$URL1" "SELECT count() FROM uptake_ids.events_local") + $(ch_count "$URL2" "SELECT count() FROM uptake_ids.events_local")))
[ "$raw" -eq $((2 * N)) ] || fail "uptake_ids holds $raw rows, expected $((2 * N)) (two imports of $N)"
ok --data "$TMP/ids" status
grep '^events ' "$TMP/out" | cmp -s - "$TMP/emb.status" || fail "after importing the file twice, status counts another number of events"
ok --data "$TMP/ids" report accounts --as-of 2026-11-20 --format csv
cp "$TMP/out" "$TMP/ids.out"
ok --data "$TMP/emb" report accounts --as-of 2026-11-20 --format csv
cmp -s "$TMP/out" "$TMP/ids.out" || fail "report accounts differs after importing the file with message ids twice"
for r in workflows events "account acct0002"; do
    same_out "$TMP/emb" "$TMP/ids" report $r --as-of 2026-11-20 --format csv
done
say "message ids: $raw rows stored, $N events counted, report accounts, workflows, events, account unchanged"

# error events and workflow targets (a model that has them, set on both
# stores), and the alert evaluation, which reads both: what it prints and
# the alerts it opened
sed -e 's/^key_actions: \[\(.*\)\]$/key_actions: [\1, "workflow:automate"]/' \
    -e '/^targets:/a\  - {name: automating, metric: "workflow:automate", min: 0.2, by_day: 60}' "$D/model.yaml" > "$TMP/model2.yaml"
echo 'error_events: [alert.escalation, export.pdf]' >> "$TMP/model2.yaml"
grep -q '"workflow:automate"\]$' "$TMP/model2.yaml" || fail "model2.yaml: the key action was not added"
ok --data "$TMP/emb" model set "$TMP/model2.yaml"
ok --data "$TMP/ch" model set "$TMP/model2.yaml"
same_report accounts --as-of 2026-11-20
same_report workflows --as-of 2026-11-20
for a in acct0002 acct0003; do
    for f in csv json; do
        same_out "$TMP/emb" "$TMP/ch" report account "$a" --as-of 2026-11-20 --format "$f"
    done
done
grep -q '"error_events_28d": *[1-9]' "$TMP/out" || fail "report account acct0003: no error events counted"
same_out "$TMP/emb" "$TMP/ch" alerts evaluate --as-of 2026-11-20 --wait 0
same_out "$TMP/emb" "$TMP/ch" alerts list
same_out "$TMP/emb" "$TMP/ch" backtest --from 2026-09-20 --to 2026-11-20 --horizon 20 --format csv

# event names that need escaping in SQL (a quote, backslashes, a tab, a
# double quote and a comma), in the IN list of error events and of report
# events; message ids whose copies differ (the first stored wins)
printf '%s\n' 'ts,user_id,account_id,event,message_id' \
    "2026-11-01T10:00:00Z,u1,acct0001,\"it's\",m1" \
    '2026-11-01T10:00:00Z,u1,acct0001,"back\\slash\\",m2' \
    "$(printf '2026-11-01T10:00:00Z,u1,acct0001,"tab\there",')" \
    '2026-11-01T10:00:00Z,u2,acct0002,"quote""d, comma",m3' \
    '2026-11-02T10:00:00Z,u2,acct0002,report.create,m4' \
    '2026-11-02T10:00:00Z,u2,acct0002,report.share,m5' > "$TMP/n1.csv"
printf '%s\n' 'ts,user_id,account_id,event,message_id' \
    "2026-11-03T10:00:00Z,u2,acct0002,\"it's\",m4" \
    '2026-11-03T10:00:00Z,u3,acct0003,report.create,m6' \
    '2026-11-03T11:00:00Z,u3,acct0003,report.share,m6' > "$TMP/n2.csv"
cat > "$TMP/names.yaml" <<'YAML'
features:
  - {name: quirks, events: ["it's", "back\\\\slash\\\\", "quote\"d, comma"]}
  - {name: reports, events: [report.create, report.share]}
error_events: ["tab\there", "it's"]
key_actions: ["workflow:share"]
workflows:
  - {name: share, steps: [report.create, report.share], within: 1d}
YAML
for st in nemb nch; do
    [ $st = nch ] && set -- --engine clickhouse --clickhouse "$URLS" --cluster uptake_test --database uptake_names || set --
    ok --data "$TMP/$st" init --model "$TMP/names.yaml" "$@"
    ok --data "$TMP/$st" import events "$TMP/n1.csv" -q
    ok --data "$TMP/$st" import events "$TMP/n2.csv" -q
done
for r in events workflows "account acct0001" "account acct0002"; do
    same_out "$TMP/nemb" "$TMP/nch" report $r --as-of 2026-11-20 --format json
done
grep -q '"error_events_28d": *0' "$TMP/out" || fail "acct0002: the copy of m4 named it's was counted"
ok --data "$TMP/nch" report events --as-of 2026-11-20 --format csv
[ "$(grep -c -F -e "it's,1," -e 'back\\slash\\,1,' -e "$(printf 'tab\there,1,')" -e '"quote""d, comma",1,' "$TMP/out")" = 4 ] ||
    fail "report events on ClickHouse: an escaped name is missing"
say "names with quotes, backslashes, a tab: counted under their own names"

# init's settings, checked before anything is created
init_fails() {   # init_fails CODE MESSAGE ARGS...
    code=$1 msg=$2
    shift 2
    up --data "$TMP/bad" init --model "$D/model.yaml" "$@"
    expect_rc "$code" "init $*"
    [ "$(cat "$TMP/err")" = "$msg" ] || fail "init $*: unexpected message"
}
init_fails 2 "uptake init: unknown --engine 'duck' (embedded or clickhouse)" --engine duck
init_fails 2 "uptake init: --engine clickhouse needs --clickhouse URL" --engine clickhouse
init_fails 2 "uptake init: --clickhouse, --cluster and --database go with --engine clickhouse" --cluster uptake_test
init_fails 3 "uptake init: --clickhouse: 'ftp://x' is not an http:// or https:// URL" --engine clickhouse --clickhouse ftp://x
init_fails 3 "uptake init: --database: 'a-b' is not a name of letters, digits and _" --engine clickhouse --clickhouse "$URL1" --database a-b
init_fails 3 "uptake init: --clickhouse names 2 servers: name their cluster with --cluster" --engine clickhouse --clickhouse "$URLS"
init_fails 3 "uptake init: ClickHouse at $URL1 has 2 shards in cluster 'uptake_test', but --clickhouse names 1 URLs (give one HTTP URL per shard, in the order of its remote_servers)" --engine clickhouse --clickhouse "$URL1" --cluster uptake_test
say "init: bad engine settings refused with their messages"

# ClickHouse refusing an insert (here: no Distributed table): exit 3, its words
ch_count "$URL1" "DROP TABLE uptake_ids.events" > /dev/null
up --data "$TMP/ids" import events "$TMP/ids.csv" -q
expect_rc 3 "import without the events table"
grep -q "^uptake import: $TMP/ids.csv: ClickHouse at $URL1 answered HTTP 404: Code: 60, .*Table uptake_ids.events doesn't exist.*; batches sent before this one stay stored (an import of the file again stores events with a message_id once)\$" "$TMP/err" ||
    fail "import refused by ClickHouse: unexpected message"
say "an insert ClickHouse refuses: exit 3 with what it said"

# an error ClickHouse appends to an answer it has begun (status 200, then
# "Code: …" after a row cut short): the stream stops with it, the report
# fails. A stand-in server answers the rollup's query with one group and the
# stream's with one row, part of another and the error.
cat > "$TMP/fake.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        q = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        body = b""
        if "min(seq) AS s" in q:
            body = b"a1\tu1\tboom\t1790000000000\t1\na1\tu1\tboom\t1790000000001\tCode: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero\n"
        elif "GROUP BY a, u, e, day, inw" in q:
            body = b"a1\tu1\tboom\t20717\t1\t2\t1790000000000\t1790000000001\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 "$TMP/fake.py" "$TMP/fake.port" &
fake=$!
i=0
while [ ! -s "$TMP/fake.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
FAKE=http://127.0.0.1:$(cat "$TMP/fake.port")
ok --data "$TMP/fake" init --model "$D/model.yaml" --engine clickhouse --clickhouse "$FAKE"
up --data "$TMP/fake" report events --as-of 2026-11-20
kill "$fake"
expect_rc 3 "report events on an answer that breaks off"
[ "$(cat "$TMP/err")" = "uptake report: ClickHouse at $FAKE: cannot read its answer at \"a1	u1	boom	1790000000001	Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero\"" ] ||
    fail "an answer that breaks off: unexpected message"
say "an error appended to a begun answer: the report fails with it"

# a shard that is down: the report names it; the import fails with exit 3
pid2=$(cat "$CL/s2/pid")
kill "$pid2"
i=0
while kill -0 "$pid2" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
kill -0 "$pid2" 2>/dev/null && fail "shard 2 did not stop within 30 s"
up --data "$TMP/ch" report accounts --as-of 2026-11-20
expect_rc 3 "report accounts with shard 2 down"
[ "$(cat "$TMP/err")" = "uptake report: cannot reach ClickHouse at $URL2: Couldn't connect to server" ] ||
    fail "report with a shard down: unexpected message"
up --data "$TMP/ch" import events "$D/events.csv" -q --again
expect_rc 3 "import with shard 2 down"
[ "$(cat "$TMP/err")" = "uptake: $TMP/ch: cannot reach ClickHouse at $URL2: Couldn't connect to server" ] ||
    fail "import with a shard down: unexpected message"
say "shard 2 down: report and import fail naming the server"
echo "PASS tests/clickhouse/run.sh"
