# A full write queue: with queue_events 100, batches of 60 events sent 24 at
# a time cannot all wait for the disk together (two batches are 120 > 100),
# so some are answered 429 with Retry-After: 1 before anything of theirs is
# stored. Every batch answered 200 is stored; none answered 429 is; each
# 429'd batch sent again (one at a time, the queue then empty) is stored.
# Worked out: stored events = 60 x (batches answered 200), exactly.
. "$(dirname "$0")/lib.inc"
command -v curl >/dev/null || fail "curl is required"
command -v python3 >/dev/null || fail "python3 is required"
new_store write
WK=$KEY
printf 'queue_events: 100\nlog_level: warn\n' >"$TMP/serve.yaml"
serve_start "$S" "" --config "$TMP/serve.yaml"

cat >"$TMP/send.py" <<'PY'
# send.py PORT KEY OUT concurrent|retry: concurrent: up to 10 rounds of 24
# batches at once until one is answered 429, "tag status retry-after" per
# batch to OUT; retry: the 429'd batches of OUT again, one at a time, to OUT.retry
import base64, http.client, json, sys, threading
port, key, out, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
auth = "Basic " + base64.b64encode((key + ":").encode()).decode()

def send(tag, res):
    body = json.dumps({"batch": [
        {"type": "track", "userId": "u%d" % (i % 7), "event": "e", "context": {"groupId": "acct"},
         "messageId": "%s-%d" % (tag, i), "timestamp": "2026-03-02T12:00:00Z"} for i in range(60)]})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/batch", body, {"Authorization": auth, "Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    res[tag] = (r.status, r.getheader("Retry-After"))
    c.close()

answers = {}
if mode == "concurrent":
    for rnd in range(10):
        ts = [threading.Thread(target=send, args=("r%d-b%d" % (rnd, b), answers)) for b in range(24)]
        for t in ts: t.start()
        for t in ts: t.join()
        if any(s == 429 for s, _ in answers.values()):
            break
    dst = out
else:
    for line in open(out):
        tag, s, _ = line.split()
        if s == "429":
            send(tag, answers)
    dst = out + ".retry"
with open(dst, "w") as f:
    for tag, (s, ra) in sorted(answers.items()):
        f.write("%s %d %s\n" % (tag, s, ra))
PY

say "24 concurrent batches of 60 events, up to 10 rounds, until some are answered 429"
python3 "$TMP/send.py" "$PORT" "$WK" "$TMP/res" concurrent
serve_stop
N429=$(awk '$2 == 429' "$TMP/res" | wc -l)
N200=$(awk '$2 == 200' "$TMP/res" | wc -l)
NALL=$(wc -l <"$TMP/res")
[ "$N429" -gt 0 ] || fail "no batch was answered 429 in 10 rounds of 24 concurrent batches with queue_events 100"
expect_eq "$((N429 + N200))" "$NALL" "every answer is 200 or 429"
expect_eq "$(awk '$2 == 429 && $3 != "1"' "$TMP/res" | wc -l)" 0 "every 429 carries Retry-After: 1"
say "  $NALL batches: $N200 answered 200, $N429 answered 429"

say "stored: 60 x the batches answered 200, nothing of the 429'd ones"
expect_eq "$(stored_events "$S")" $((60 * N200)) "events stored after the first answers"

say "the 429'd batches sent again one at a time: all 200, every event stored once"
serve_start "$S" "" --config "$TMP/serve.yaml"
python3 "$TMP/send.py" "$PORT" "$WK" "$TMP/res" retry
serve_stop
expect_eq "$(wc -l <"$TMP/res.retry")" "$N429" "every 429'd batch sent again"
expect_eq "$(awk '$2 != 200' "$TMP/res.retry" | wc -l)" 0 "every batch sent again answered 200"
expect_eq "$(stored_events "$S")" $((60 * NALL)) "events stored after the retries"
echo "ok $TEST_NAME"
