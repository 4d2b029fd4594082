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
fake=
trap '{ [ -z "$fake" ] || kill "$fake" 2>/dev/null || true; }; sh "$HERE/cluster.sh" stop "$CL"; rm -rf "$TMP"' EXIT
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
# and none on local disk: the store's events.log stays empty, and no rollup.bin is written
[ ! -s "$TMP/ch/events.log" ] || fail "the ClickHouse store's events.log holds $(wc -c < "$TMP/ch/events.log") bytes"
[ ! -e "$TMP/ch/rollup.bin" ] || fail "the ClickHouse store wrote a rollup.bin"
say "events: $c1 on shard 1 + $c2 on shard 2 = $N; events.log empty, no rollup.bin"
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

# the cross-check's edge-case sets (tests/crosscheck/edge.mjs: timestamps on
# window edges, events after T, re-sent message ids, events in another
# account than the user's, passive, exposure and unknown events, seats 0,
# subscriptions and outcomes on their boundaries): every report equal, as
# of several days around their D0
if command -v node >/dev/null; then
    for eseed in 1 2 3 4 5 6; do
        E=$TMP/edge$eseed
        node "$HERE/../crosscheck/edge.mjs" "$E/data" "$eseed" > /dev/null 2>&1 || fail "edge.mjs $eseed failed"
        for st in emb ch; do
            [ $st = ch ] && set -- --engine clickhouse --clickhouse "$URLS" --cluster uptake_test --database "uptake_edge$eseed" || set --
            ok --data "$E/$st" init --model "$E/data/model.yaml" "$@"
            for f in accounts users surveys subscriptions outcomes events; do
                [ ! -f "$E/data/$f.csv" ] || ok --data "$E/$st" import "$f" "$E/data/$f.csv" -q
            done
        done
        for d in 2026-03-31 2026-04-01 2026-03-03; do
            for r in accounts features users stages gaps signals; do
                same_out "$E/emb" "$E/ch" report $r --as-of "$d" --status all --format csv
            done
            for r in renewals workflows events; do
                same_out "$E/emb" "$E/ch" report $r --as-of "$d" --format csv
            done
        done
        a=$(sed -n 2p "$E/data/accounts.csv" | cut -d, -f1)
        same_out "$E/emb" "$E/ch" report account "$a" --as-of 2026-03-31 --format json
        same_out "$E/emb" "$E/ch" alerts evaluate --as-of 2026-03-31 --wait 0
    done
    say "edge-case sets 1-6: every report equal"
else
    say "SKIP the edge-case sets: node is not installed (sh scripts/deps.sh installs it)"
fi

# uptake check on a ClickHouse store: each shard answers, has the table,
# and holds only its own accounts' rows; a row written around the
# Distributed table, or a missing table, is a problem (exit 1) that repair
# leaves to ClickHouse's operator
ok --data "$TMP/nch" check
[ "$(grep -c '^clickhouse shard [12] of 2 (http://127.0.0.1:[0-9]*): ok ([0-9]* rows in uptake_names.events_local, each on the shard of its account)$' "$TMP/out")" = 2 ] ||
    fail "check on a ClickHouse store: not two shards ok"
grep -q '^no problems found$' "$TMP/out" || fail "check on a ClickHouse store: no verdict"
acc_s2=$(ch_count "$URL2" "SELECT any(account_id) FROM uptake_names.events_local")
ch_count "$URL1" "INSERT INTO uptake_names.events_local VALUES (1790000000000, 'stray', '$acc_s2', 'report.create', '', 1)" > /dev/null
up --data "$TMP/nch" check
expect_rc 1 "check with a row on the wrong shard"
grep -q "^clickhouse shard 1 of 2 ($URL1): 1 row of accounts another shard owns (written around the Distributed table?): reports would count them apart from their account's other events\$" "$TMP/out" ||
    fail "check: the row on the wrong shard is not named"
ch_count "$URL1" "ALTER TABLE uptake_names.events_local DELETE WHERE user_id = 'stray'" > /dev/null
ch_count "$URL2" "RENAME TABLE uptake_names.events_local TO uptake_names.events_gone" > /dev/null
up --data "$TMP/nch" repair
expect_rc 1 "repair with a table missing"
grep -q "^clickhouse shard 2 of 2 ($URL2): the table uptake_names.events_local is missing (\`uptake init\` with the same settings creates it)\$" "$TMP/out" ||
    fail "repair: the missing table is not named"
grep -q "^not repaired: uptake does not change the ClickHouse tables" "$TMP/out" || fail "repair: no word on what it leaves"
ch_count "$URL2" "RENAME TABLE uptake_names.events_gone TO uptake_names.events_local" > /dev/null
say "check: two shards ok; a row on the wrong shard and a missing table named, left to the operator"

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
init_fails 2 "uptake init: --clickhouse, --cluster, --database, --user, --password-file and --insert-quorum go with --engine clickhouse" --cluster uptake_test
init_fails 2 "uptake init: --insert-quorum: 'two' is not a number from 0 to 64" --engine clickhouse --clickhouse "$URL1" --insert-quorum two
init_fails 3 "uptake init: --password-file goes with --user" --engine clickhouse --clickhouse "$URL1" --password-file /dev/null
init_fails 3 "uptake init: --password-file $TMP/nope: No such file or directory" --engine clickhouse --clickhouse "$URL1" --user uptake_pw --password-file "$TMP/nope"
init_fails 3 "uptake init: --clickhouse: 'ftp://x' is not an http:// or https:// URL" --engine clickhouse --clickhouse ftp://x
init_fails 3 "uptake init: --database: 'a-b' is not a name of letters, digits and _" --engine clickhouse --clickhouse "$URL1" --database a-b
init_fails 3 "uptake init: --clickhouse names 2 servers: name their cluster with --cluster" --engine clickhouse --clickhouse "$URLS"
init_fails 3 "uptake init: ClickHouse at $URL1 has 2 shards in cluster 'uptake_test', but --clickhouse names 1 URLs (give one HTTP URL per shard, in the order of its remote_servers)" --engine clickhouse --clickhouse "$URL1" --cluster uptake_test
say "init: bad engine settings refused with their messages"

# a user with a password (cluster.sh's uptake_pw): the store keeps the path
# of the password file, never the password; a wrong one is named as such
printf 'pw of the test\n' > "$TMP/pw"
printf 'not it\n' > "$TMP/badpw"
init_fails 3 "uptake init: ClickHouse at $URL1 refused the user 'uptake_pw' (HTTP $(curl -s -o /dev/null -w '%{http_code}' -u 'uptake_pw:not it' --data-binary 'SELECT 1' "$URL1/")): check --user and --password-file against the server's users.xml" --engine clickhouse --clickhouse "$URLS" --cluster uptake_test --user uptake_pw --password-file "$TMP/badpw"
load "$TMP/pwch" --engine clickhouse --clickhouse "$URLS" --cluster uptake_test --database uptake_pw --user uptake_pw --password-file "$TMP/pw"
ok --data "$TMP/pwch" model set "$TMP/model2.yaml"
same_out "$TMP/emb" "$TMP/pwch" report accounts --as-of 2026-11-20 --format csv
same_out "$TMP/emb" "$TMP/pwch" report account acct0003 --as-of 2026-11-20 --format json
! grep -q -a 'pw of the test' "$TMP/pwch/uptake.db" || fail "the password is in uptake.db"
grep -q -a "$TMP/pw" "$TMP/pwch/uptake.db" || fail "the password file's path is not in uptake.db"
printf 'changed\n' > "$TMP/pw"
up --data "$TMP/pwch" report accounts --as-of 2026-11-20
expect_rc 3 "report with a changed password"
grep -q "refused the user 'uptake_pw'" "$TMP/err" || fail "a changed password: unexpected message"
say "a user with a password file: reports equal; the password is not stored; a wrong one is named"

# ClickHouse refusing an insert (here: no Distributed table): exit 3, its words
ch_count "$URL1" "DROP TABLE uptake_ids.events" > /dev/null
up --data "$TMP/ids" import events "$TMP/ids.csv" -q
expect_rc 3 "import without the events table"
grep -q "^uptake import: $TMP/ids.csv: ClickHouse at $URL1 answered HTTP 404: Code: 60, .*Table uptake_ids.events doesn't exist.*; what ClickHouse accepted before stays stored: import the same file again once that is fixed, and each event is stored once\$" "$TMP/err" ||
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
        q = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode(errors="replace")
        body = b""
        if "INSERT" in self.path:
            open(sys.argv[1] + ".inserts", "a").write(self.path + "\n")
        if "GROUP BY a, u, e, day, inw" in q:
            body = b"a1\tu1\tboom\t1790000000000\t1790000000000\t1790000000001\t[20717]\t[2]\t[]\t[]\n"
        elif "ORDER BY a, u, t, s" in q:
            body = b"a1\tu1\tboom\t1790000000000\t1\na1\tu1\tboom\t1790000000001\tCode: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero\n"
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
kill "$fake"; fake=
expect_rc 3 "report events on an answer that breaks off"
[ "$(cat "$TMP/err")" = "uptake report: ClickHouse at $FAKE: cannot read its answer at \"a1	u1	boom	1790000000001	Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero\"" ] ||
    fail "an answer that breaks off: unexpected message"
# --insert-quorum goes with every insert (what ClickHouse makes of it is
# its own: it waits for that many replicas of a replicated table)
python3 "$TMP/fake.py" "$TMP/fake2.port" &
fake=$!
i=0
while [ ! -s "$TMP/fake2.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ok --data "$TMP/quorum" init --model "$D/model.yaml" --engine clickhouse --clickhouse "http://127.0.0.1:$(cat "$TMP/fake2.port")" --insert-quorum 2
ok --data "$TMP/quorum" import events "$TMP/n1.csv" -q
kill "$fake"; fake=
[ "$(grep -c 'insert_distributed_sync=1&insert_quorum=2&query=INSERT' "$TMP/fake2.port.inserts")" = 1 ] ||
    fail "--insert-quorum 2: not sent with the insert"
say "an error appended to a begun answer: the report fails with it; --insert-quorum 2 sent with the insert"

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
grep -q "^uptake import: $D/events.csv: ClickHouse shard 2 of 2 is down: cannot reach ClickHouse at $URL2: Couldn't connect to server; the insert through $URL1 failed: " "$TMP/err" ||
    fail "import with a shard down: unexpected message"
say "shard 2 down: report and import fail naming the server"

# ---- the write side: a shard down during an import ----------------------
# The import sends batches of 200 rows; once ClickHouse holds 5,000 of them
# the import is paused (SIGSTOP), shard 2 stopped, the import resumed: its
# next batch fails (a Distributed insert with insert_distributed_sync needs
# every shard), the batches before stay. Nothing is recorded as imported;
# once shard 2 is back the same import (no --again) stores each event once:
# rows without a message id carry one derived from the file and its line
# (ingest.c, ch_synth_prefix).
sh "$HERE/cluster.sh" start-shard "$CL" 2 || fail "shard 2 did not start again"
ch_count "$URL1" "SELECT DISTINCT account_id FROM uptake.events_local FORMAT TabSeparated" > "$TMP/s1.accounts"
rows_in() { echo $(($(ch_count "$URL1" "SELECT count() FROM $1.events_local") + $(ch_count "$URL2" "SELECT count() FROM $1.events_local"))); }
ok --data "$TMP/down" init --model "$D/model.yaml" --engine clickhouse --clickhouse "$URLS" --cluster uptake_test --database uptake_down
for f in accounts users surveys outcomes subscriptions tickets milestones; do
    ok --data "$TMP/down" import "$f" "$D/$f.csv" -q
done
UPTAKE_CH_BATCH_ROWS=200 "$UPTAKE" --data "$TMP/down" import events "$D/events.csv" -q > "$TMP/out" 2> "$TMP/err" &
ipid=$!
i=0
while [ "$(rows_in uptake_down)" -lt 5000 ]; do
    kill -0 "$ipid" 2>/dev/null || fail "the import ended before ClickHouse held 5,000 of its rows"
    i=$((i + 1)); [ $i -le 600 ] || { kill "$ipid"; fail "ClickHouse did not hold 5,000 rows of the import within 60 s"; }
    sleep 0.1
done
kill -STOP "$ipid"
sh "$HERE/cluster.sh" stop-shard "$CL" 2
kill -CONT "$ipid"
set +e; wait "$ipid"; RC=$?; set -e
expect_rc 3 "import with shard 2 stopped during it"
grep -q "^uptake import: $D/events.csv:[0-9]*: ClickHouse shard 2 of 2 is down: cannot reach ClickHouse at $URL2: Couldn't connect to server; the insert through $URL1 failed: ClickHouse at $URL1 answered HTTP 500: Code: 210, .*; what ClickHouse accepted before stays stored: import the same file again once that is fixed, and each event is stored once\$" "$TMP/err" ||
    fail "import with shard 2 stopped during it: unexpected message: $(cat "$TMP/err")"
sh "$HERE/cluster.sh" start-shard "$CL" 2 || fail "shard 2 did not start again"
part=$(rows_in uptake_down)
[ "$part" -ge 5000 ] && [ "$part" -lt "$N" ] || fail "ClickHouse holds $part rows after the failed import; expected 5,000 or more, not all $N"
ok --data "$TMP/down" import events "$D/events.csv"
grep -q "skipped" "$TMP/out" && fail "the failed import was recorded as done: the re-run was skipped"
raw=$(rows_in uptake_down)
[ "$raw" -eq $((N + part)) ] || fail "uptake_down holds $raw rows, expected $N + the $part the failed import left"
ok --data "$TMP/down" status
grep '^events ' "$TMP/out" | cmp -s - "$TMP/emb.status" || fail "after the failed import and its re-run, status counts another number of events"
for r in accounts features users; do
    ok --data "$TMP/emb" report $r --as-of 2026-11-20 --format csv
    cp "$TMP/out" "$TMP/emb.out"
    ok --data "$TMP/down" report $r --as-of 2026-11-20 --format csv
    cmp -s "$TMP/emb.out" "$TMP/out" || fail "report $r differs after a failed import and its re-run"
done
say "shard 2 stopped during an import: exit 3 naming it, $part rows left; the re-run: $raw rows, $N events, reports as embedded"

# ---- the write side: uptake serve on a ClickHouse store -----------------
SPID=
trap '[ -z "$SPID" ] || kill "$SPID" 2>/dev/null; { [ -z "$fake" ] || kill "$fake" 2>/dev/null || true; }; sh "$HERE/cluster.sh" stop "$CL"; rm -rf "$TMP"' EXIT
ok --data "$TMP/down" keys create --write
WK=$(grep -o 'upw_[0-9a-zA-Z]*' "$TMP/out" | head -1)
ok --data "$TMP/down" keys create --read
RK=$(grep -o 'upr_[0-9a-zA-Z]*' "$TMP/out" | head -1)
printf 'clickhouse_refresh: 2\nlog_level: debug\n' > "$TMP/serve.yaml"
"$UPTAKE" --data "$TMP/down" serve --listen 127.0.0.1:0 --config "$TMP/serve.yaml" 2> "$TMP/server.err" &
SPID=$!
PORT= i=0
while [ -z "$PORT" ]; do
    kill -0 "$SPID" 2>/dev/null || { cat "$TMP/server.err" >&2; fail "the server exited on start"; }
    i=$((i + 1)); [ $i -le 100 ] || fail "no 'listening on' line within 10 s"
    sleep 0.1
    PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\) .*|\1|p' "$TMP/server.err" | head -1)
done
BASE=http://127.0.0.1:$PORT
post() {   # post JSON: the HTTP status of /v1/batch
    curl -s --max-time 60 -o "$TMP/body" -w '%{http_code}' -u "$WK:" -H 'Content-Type: application/json' --data-binary "$1" "$BASE/v1/batch"
}
acc2=$(awk -F, 'NR == FNR { s1[$1] = 1; next } FNR > 1 && !($3 in s1) { print $3; exit }' "$TMP/s1.accounts" "$D/events.csv")
B1='{"batch":[{"type":"track","userId":"srv-u1","event":"report.view","timestamp":"2026-11-20T10:00:00Z","context":{"groupId":"acct0001"},"messageId":"srv-1"},{"type":"track","userId":"srv-u2","event":"dashboard.view","timestamp":"2026-11-20T11:00:00Z","context":{"groupId":"'$acc2'"},"messageId":"srv-2"}]}'
[ "$(post "$B1")" = 200 ] || fail "POST /v1/batch on a ClickHouse store: not 200"
srv_rows() { echo $(($(ch_count "$URL1" "SELECT count() FROM uptake_down.events_local WHERE user_id LIKE 'srv-%'") + $(ch_count "$URL2" "SELECT count() FROM uptake_down.events_local WHERE user_id LIKE 'srv-%'"))); }
[ "$(srv_rows)" = 2 ] || fail "after a 200, ClickHouse holds $(srv_rows) of the batch's 2 rows"
curl -s --max-time 60 -H "Authorization: Bearer $RK" "$BASE/api/v1/accounts/acct0001/users?as_of=2026-11-20" > "$TMP/body"
grep -q '"user_id":"srv-u1","feature":"reports"' "$TMP/body" || fail "the API does not show the event just posted"
[ "$(post "$B1")" = 200 ] || fail "the same batch again: not 200"
[ "$(srv_rows)" = 4 ] || fail "the batch sent twice: ClickHouse holds $(srv_rows) rows, expected 4"
ok --data "$TMP/down" status
sed -n 's/^events  *\([0-9][0-9]*\).*/\1/p' "$TMP/out" | grep -qx $((N + 2)) || fail "the batch sent twice is not counted once"
sh "$HERE/cluster.sh" stop-shard "$CL" 2
B2='{"batch":[{"type":"track","userId":"srv-u3","event":"report.view","timestamp":"2026-11-20T12:00:00Z","context":{"groupId":"'$acc2'"},"messageId":"srv-3"}]}'
[ "$(post "$B2")" = 503 ] || fail "a batch with shard 2 down: not 503"
# /healthz says so too (a load balancer stops sending events here), naming the shard
sleep 5   # the shards' state is looked at most every 5 s
[ "$(curl -s -o "$TMP/hz" -w '%{http_code}' "$BASE/healthz")" = 503 ] || fail "/healthz with shard 2 down: not 503"
grep -q "^store unavailable: ClickHouse shard 2 of 2 is down: cannot reach ClickHouse at $URL2" "$TMP/hz" ||
    fail "/healthz with shard 2 down: the shard is not named"
curl -s "$BASE/healthz?detail=1" > "$TMP/hz"
grep -q '"status":"unavailable","store":"unavailable","store_error":"ClickHouse shard 2 of 2 is down' "$TMP/hz" ||
    fail "/healthz?detail=1 with shard 2 down: not unavailable with the shard"
grep -q "storage failure: .*ClickHouse shard 2 of 2 is down: cannot reach ClickHouse at $URL2" "$TMP/server.err" || fail "the server log does not name the shard that is down"
sh "$HERE/cluster.sh" start-shard "$CL" 2 || fail "shard 2 did not start again"
[ "$(post "$B2")" = 200 ] || fail "the batch again with shard 2 back: not 200"
sleep 5
[ "$(curl -s -o "$TMP/hz" -w '%{http_code}' "$BASE/healthz")" = 200 ] || fail "/healthz with shard 2 back: not 200"
curl -s --max-time 60 -H "Authorization: Bearer $RK" "$BASE/api/v1/accounts/$acc2/users?as_of=2026-11-20" > "$TMP/body"
grep -q '"user_id":"srv-u3"' "$TMP/body" || fail "the API does not show the batch retried after a 503"
# clickhouse_refresh 2: a request right after a commit is answered from the
# figures built before it (and may start a rebuild); the event shows once a
# rebuild is in place (polled, 30 s at most)
B3='{"batch":[{"type":"track","userId":"srv-u4","event":"report.view","timestamp":"2026-11-20T13:00:00Z","context":{"groupId":"'$acc2'"},"messageId":"srv-4"}]}'
[ "$(post "$B3")" = 200 ] || fail "a third batch: not 200"
curl -s --max-time 60 -H "Authorization: Bearer $RK" "$BASE/api/v1/accounts/$acc2/users?as_of=2026-11-20" > "$TMP/body"
grep -q '"user_id":"srv-u3"' "$TMP/body" || fail "the API's answer right after a commit lacks the earlier events"
! grep -q '"user_id":"srv-u4"' "$TMP/body" || fail "the API waited for a rebuild (clickhouse_refresh 2)"
i=0
until grep -q '"user_id":"srv-u4"' "$TMP/body"; do
    i=$((i + 1)); [ $i -le 60 ] || fail "the API does not show the third batch within 30 s"
    sleep 0.5
    curl -s --max-time 60 -H "Authorization: Bearer $RK" "$BASE/api/v1/accounts/$acc2/users?as_of=2026-11-20" > "$TMP/body"
done
grep -q "the API's figures rebuilt from ClickHouse in" "$TMP/server.err" || fail "no rebuild in the server log"
kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=
say "serve: 200 after ClickHouse accepted, a re-sent batch counted once, 503 (and /healthz 503 naming it) with a shard down, the API sees the events (rebuilt in the background after $i polls)"

# ---- the write side: an embedded store moved into ClickHouse -----------
ok --data "$TMP/emb" export --to clickhouse --clickhouse "$URLS" --cluster uptake_test --database uptake_export --out "$TMP/exp"
grep -q "^$TMP/emb: $N events sent to ClickHouse" "$TMP/out" || fail "export: unexpected summary"
for r in "accounts --as-of 2026-11-20" "accounts --as-of 2026-11-01" "features --as-of 2026-11-20" "users --as-of 2026-11-20" \
         "renewals --as-of 2026-11-20" "retention --at 2026-10-01 --horizon 30 --by segment"; do
    ok --data "$TMP/emb" report $r --format csv
    cp "$TMP/out" "$TMP/emb.out"
    ok --data "$TMP/exp" report $r --format csv
    cmp -s "$TMP/emb.out" "$TMP/out" || fail "report $r differs between the embedded store and its export"
done
up --data "$TMP/emb" export --to clickhouse --clickhouse "$URLS" --cluster uptake_test --database uptake_export --out "$TMP/exp"
expect_rc 2 "export into a directory that exists"
say "export: $N events moved, reports equal the embedded store's"

# the dashboard in Chromium on a ClickHouse store: tests/web/run.sh, every
# page and its checks against the API (screenshots: tests/web/artifacts-clickhouse)
if command -v node >/dev/null && { [ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null; }; then
    WEB_CLICKHOUSE=$URLS WEB_ARTIFACTS="$HERE/../web/artifacts-clickhouse" sh "$HERE/../web/run.sh" > "$TMP/web.log" 2>&1 ||
        { tail -20 "$TMP/web.log" >&2; fail "the dashboard on a ClickHouse store"; }
    say "the dashboard on a ClickHouse store: $(grep -c '^  ' "$TMP/web.log") checks of tests/web passed"
else
    say "SKIP the dashboard on a ClickHouse store: node or chromium is not installed"
fi
echo "PASS tests/clickhouse/run.sh"
