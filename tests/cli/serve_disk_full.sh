# The server when the disk fails: a file-size limit (ulimit -f) makes the log
# write fail part-way, as a full disk does. The request whose events did not
# reach the disk gets 503 and none of its events count; every request answered
# 200 before it is stored; the log is cut back to its last good block, so the
# store opens cleanly afterwards and the retried request goes in. The API,
# which reads through a handle of its own kept open across the failure,
# shows exactly the acknowledged events.
. "$(dirname "$0")/lib.inc"
command -v curl >/dev/null || fail "curl is required (scripts/deps.sh installs it)"

S=$TMP/store
ok --data "$S" init -q --model demo
ok --data "$S" keys create --write
KEY=$(cat "$TMP/out")
ok --data "$S" keys create --read
TOKEN=$(cat "$TMP/out")
trap 'kill -9 "$PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT

# batch N: 200 distinct users (they compress badly) with unique message ids
batch() {
    awk -v n="$1" 'BEGIN { printf "{\"batch\":["; for (i = 0; i < 200; i++) {
        printf "%s{\"type\":\"track\",\"userId\":\"user-%d-%d-%x\",\"event\":\"report_created\",\"messageId\":\"m-%d-%d\",", i ? "," : "", n, i, n * 7919 + i * 104729, n, i;
        printf "\"timestamp\":\"2026-11-20T10:%02d:%02dZ\",\"context\":{\"groupId\":\"acme\"}}", i % 60, n % 60 }
        printf "]}" }' >"$TMP/b$1.json"
}
api_mau() {   # acme's mau from the running server's API
    curl -s -m 10 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/accounts?as_of=2026-11-20" |
        sed -n 's/.*"account_id":"acme"[^}]*"mau":\([0-9]*\).*/\1/p'
}
post() {   # post N: prints the HTTP status
    curl -s -o /dev/null -w '%{http_code}' -m 10 -u "$KEY:" -X POST --data-binary "@$TMP/b$1.json" \
        "http://127.0.0.1:$PORT/v1/batch"
}

say "server with a 48 KB file-size limit: send batches until the disk 'fills'"
serve_start "$S" 96
acked=0 failed=""
n=1
while [ $n -le 60 ]; do
    batch $n
    code=$(post $n)
    if [ "$code" = 200 ]; then
        acked=$((acked + 1))
        # the reader opens on the first read and follows the log from then on
        [ $n -gt 2 ] || expect_eq "$(api_mau)" "$((acked * 200))" "API after batch $n"

    elif [ "$code" = 503 ]; then
        failed=$n
        break
    else
        fail "batch $n: HTTP $code, expected 200 or 503"
    fi
    n=$((n + 1))
done
[ -n "$failed" ] || fail "60 batches went in under a 48 KB limit: the limit did not bite"
[ "$acked" -ge 1 ] || fail "the very first batch failed: the limit is too small for this test"
say "$acked batches acknowledged, batch $failed answered 503"
expect_grep "storage failure" "$SERVE_LOG" "the server logs the failure"
code=$(post $failed)
expect_eq "$code" 503 "a retry while the disk is still full"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$PORT/healthz")
expect_eq "$code" 200 "healthz: the store reopened from its files"
expect_eq "$(api_mau)" "$((acked * 200))" "API after the failure: the acknowledged events only"
serve_stop

say "a reader sees exactly the acknowledged events: $acked x 200"
ok --data "$S" status
expect_grep "events      $((acked * 200)) " "$TMP/out" "events stored after the failure"
expect_no_grep "damaged" "$TMP/err" "no damage reported"

say "without the limit, the failed batch goes in on retry; the acknowledged ones stay single"
serve_start "$S"
code=$(post $failed)
expect_eq "$code" 200 "the failed batch, retried"
code=$(post 1)
expect_eq "$code" 200 "an acknowledged batch re-sent"
serve_stop
ok --data "$S" status
expect_grep "events      $(((acked + 1) * 200)) " "$TMP/out" "acknowledged + retried, each once"
ok --data "$S" report accounts --as-of 2026-11-20 --format csv
expect_eq "$(csv_field "$TMP/out" acme mau)" "$(((acked + 1) * 200))" "acme's monthly active users"
echo "ok $TEST_NAME"
