# `uptake import` and `uptake model set` while `uptake serve` holds the store:
# the CLI hands the work to the server through <store>/admin.sock, with the
# same output, rejects and exit codes as without a server, while HTTP
# batches keep arriving. Counts by hand:
#   HTTP: 30 Segment batches x 4 events, message ids h<i>-<k>       120 events
#   tests/fixtures/admin/events.csv: 5 rows, one with ts not-a-date:  4 events
#   -> 124 events; importing the file again stores 0 (4 duplicates, 1 reject);
#   re-sending batch 1 stores nothing more.
. "$(dirname "$0")/lib.inc"
command -v curl >/dev/null || fail "curl is required"
FX=$REPO/tests/fixtures/admin

say "the same file imported without a server, for comparison"
ok --data "$TMP/alone" init -q --model "$FX/model.yaml"
ok --data "$TMP/alone" import accounts "$FX/accounts.csv"
up --data "$TMP/alone" import events "$FX/events.csv"
expect_rc 0 "import of a file with one reject"
summary >"$TMP/alone.out"
cp "$TMP/err" "$TMP/alone.err"

new_store write
WK=$KEY
serve_start "$S" ""
B=http://127.0.0.1:$PORT
[ -S "$S/admin.sock" ] || fail "the server made no admin socket"
expect_eq "$(stat -c %a "$S/admin.sock")" 700 "the admin socket is for the store's owner only"

# 30 batches in the background, each retried (bounded) until it is answered 200
batches() {
    i=1
    while [ $i -le 30 ]; do
        body='{"batch":['
        k=1
        while [ $k -le 4 ]; do
            [ $k -gt 1 ] && body="$body,"
            acct=acme; [ $((i % 2)) -eq 0 ] && acct=globex
            body="$body{\"type\":\"track\",\"userId\":\"h$i\",\"event\":\"report.view\",\"messageId\":\"h$i-$k\",\"context\":{\"groupId\":\"$acct\"},\"timestamp\":\"2026-11-20T11:00:0${k}Z\"}"
            k=$((k + 1))
        done
        body="$body]}"
        try=0
        until [ "$(curl -s -o /dev/null -w '%{http_code}' -m 10 -u "$WK:" -d "$body" "$B/v1/batch")" = 200 ]; do
            try=$((try + 1)); [ $try -lt 50 ] || { echo "batch $i never answered 200" >"$TMP/batch-fail"; return; }
            sleep 0.1
        done
        i=$((i + 1))
    done
}
batches &
BPID=$!

say "import accounts, model set, import events: through the server, while batches arrive"
ok --data "$S" import accounts "$FX/accounts.csv"
expect_grep "uptake: a server holds $S; it does the import" "$TMP/err" "the CLI says who does the work"
expect_grep "accounts.csv: read 2, stored 2, duplicates 0, rejected 0" "$TMP/out" "the accounts summary"
ok --data "$S" model set "$FX/model.yaml"
expect_grep "model.yaml: valid: 2 features (1 core), 0 passive events, 0 key actions" "$TMP/out" "the model's summary"
expect_grep "Model installed; metrics recomputed from" "$TMP/out" "the model is installed"
up --data "$S" import events "$FX/events.csv"
expect_rc 0 "import of a file with one reject, through the server"
expect_eq "$(summary)" "$(cat "$TMP/alone.out")" "the same summary line as without a server"
grep -v 'a server holds' "$TMP/err" >"$TMP/via.err" || true
expect_same "$TMP/via.err" "$TMP/alone.err" "the same messages on stderr as without a server"
up --data "$S" import events "$TMP/nosuch.csv"
expect_rc 1 "a missing file"
expect_grep "uptake import: $TMP/nosuch.csv: No such file or directory" "$TMP/err" "named as without a server"
up --data "$S" import events --strict "$FX/events.csv"
expect_rc 1 "--strict with a reject, through the server"
expect_grep "events.csv: read 5, stored 0, duplicates 4, rejected 1" "$TMP/out" "the file again: duplicates"
wait "$BPID"
[ -f "$TMP/batch-fail" ] && fail "$(cat "$TMP/batch-fail")"

say "nothing lost, nothing twice"
curl -s -o /dev/null -m 10 -u "$WK:" -d '{"batch":[{"type":"track","userId":"h1","event":"report.view","messageId":"h1-1","context":{"groupId":"acme"},"timestamp":"2026-11-20T11:00:01Z"}]}' "$B/v1/batch"
expect_eq "$(stored_events "$S")" 124 "120 from HTTP and 4 from the file, once each"
ok --data "$S" rejects --format csv
expect_eq "$(grep -c 'not-a-date\|events.csv' "$TMP/out")" 2 "the file's reject, once per import that met it"
ok --data "$S" report accounts --as-of 2026-11-20 --format csv
expect_eq "$(csv_field "$TMP/out" globex name)" Globex "the accounts imported through the server are there"
expect_eq "$(csv_field "$TMP/out" acme active_users)" 16 "acme: f1 and the 15 odd HTTP users"
serve_stop
[ -e "$S/admin.sock" ] && fail "the admin socket is left after the server stopped"

say "a socket left by a server that died: the CLI works on the store itself"
serve_start "$S" ""
kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=
[ -S "$S/admin.sock" ] || fail "kill -9 should leave the socket behind"
ok --data "$S" import accounts "$FX/accounts.csv"
expect_no_grep "a server holds" "$TMP/err" "no server: no hand-over"
expect_grep "accounts.csv: read 2, stored 2" "$TMP/out" "imported locally"
echo "ok serve_admin"
