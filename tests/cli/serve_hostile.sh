# Hostile requests: what a request costs before it is authenticated, the
# per-request caps, the per-address connection limit, the same-origin rule
# of cookie-signed POSTs, a batch with one broken property, events-only
# write keys, and account ids holding '/' through the API.
#
# Worked out by hand:
# - An unauthenticated 19 MB POST is 401 and is never parsed; with a bad key
#   in its Authorization header its body is not even received. The server's
#   peak RSS (VmHWM) stays under 120 MB: about 20 MB of base (store, code)
#   plus the one body buffered when the key must be looked for in the body
#   (19 MB) and the scan, where parsing it cost 436 MB before.
# - 20,001 "{}" in one batch: 413 before any parse. 150 "{}" in one batch:
#   200; each is rejected ("type: missing …"): 100 rows one by one and one
#   row for the other 50, whose first is line 101: 101 rows.
# - connections_per_ip 4: six slow connections from 127.0.0.1, four held and
#   two refused; /healthz from 127.0.0.2 answered within 1 s.
# - The NUL and lone-surrogate fixtures hold 3 events each, the middle one
#   with the broken property: 200, all 3 stored (6 in all). One more batch
#   with a NUL in a userId: that
#   event alone rejected, the other stored (7). Two events in x/y and x: 9.
. "$(dirname "$0")/lib.inc"
command -v python3 >/dev/null || fail "python3 is required"
new_store write
WK=$KEY                                   # events-only (the default)
ok --data "$S" keys create --write --server-side
SK=$(cat "$TMP/out")
ok --data "$S" keys create --read
RK=$(cat "$TMP/out")
printf 'connections_per_ip: 4\nlog_level: warn\n' >"$TMP/serve.yaml"
serve_start "$S" "" --config "$TMP/serve.yaml"
URL=http://127.0.0.1:$PORT

say "keys list shows which write key is events-only"
ok --data "$S" keys list --format json
expect_eq "$(python3 -c 'import json,sys; print(" ".join(sorted(k["kind"] + ":" + str(k["calls"]) for k in json.load(open(sys.argv[1])))))' "$TMP/out")" \
    "read:None write:all write:events" "kinds and calls"

say "an unauthenticated 19 MB POST: 401, not parsed, peak RSS under 120 MB"
python3 - "$PORT" "$PID" >"$TMP/big.txt" <<'PY' || fail "big bodies: $(cat "$TMP/big.txt")"
import socket, sys
port, pid = int(sys.argv[1]), sys.argv[2]
body = b"[" + b",".join([b'{"type":"track","userId":"u","event":"e","properties":{"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}'] * 200000) + b"]"
body = body[:19 << 20] if len(body) > 19 << 20 else body
def post(headers):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers +
              b"Content-Length: %d\r\n\r\n" % len(body))
    try:
        s.sendall(body)
    except OSError:
        pass   # answered and closed before the body was read: the point
    ans = b""
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            ans += d
    except OSError:
        pass
    s.close()
    return ans
a = post(b"Authorization: Basic dXB3X2JhZDo=\r\n")   # upw_bad:
b = post(b"")
for name, ans in (("bad Basic key", a), ("no key", b)):
    if not ans.startswith(b"HTTP/1.1 401"):
        sys.exit("%s: %r" % (name, ans[:80]))
    if not ans.endswith(b'{"error":"unknown or missing write key (create one with `uptake keys create --write`)"}'):
        sys.exit("%s: body %r" % (name, ans[-120:]))
hwm = [l for l in open("/proc/%s/status" % pid) if l.startswith("VmHWM")][0].split()
kb = int(hwm[1])
print("body %d bytes; VmHWM %d kB" % (len(body), kb))
if kb > 120 * 1024:
    sys.exit("VmHWM %d kB, above 120 MB" % kb)
PY
sed 's/^/    /' "$TMP/big.txt"

say "20001 messages in one request: 413 before the parse"
python3 -c 'import sys; sys.stdout.write("[" + ",".join(["{}"] * 20001) + "]")' >"$TMP/many.json"
code=$(curl -s -m 20 -o "$TMP/ans" -w '%{http_code}' -u "$SK:" --data-binary @"$TMP/many.json" "$URL/v1/batch")
expect_eq "$code" 413 "status"
expect_eq "$(cat "$TMP/ans")" '{"error":"more than 20000 messages in one request; send at most 20000 per request"}' "answer"

say "150 bad messages: 200, 100 reject rows and one summary"
python3 -c 'import sys; sys.stdout.write("[" + ",".join(["{}"] * 150) + "]")' >"$TMP/bad150.json"
code=$(curl -s -m 20 -o "$TMP/ans" -w '%{http_code}' -u "$SK:" --data-binary @"$TMP/bad150.json" "$URL/v1/batch")
expect_eq "$code" 200 "status"
DB=$S/uptake.db
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM rejects")" 101 "reject rows"
expect_eq "$(sqlite3 "$DB" "SELECT line || ' ' || field || ': ' || reason FROM rejects ORDER BY id DESC LIMIT 1")" \
    "101 record: 50 more messages rejected: the first at line 101, type: missing (track, identify, group, page, screen or alias) (at most 100 rejects are kept one by one per request)" \
    "the summary row"

say "150 messages the store rejects (users in no account): the same cap, 100 rows and one summary"
python3 -c 'import sys; sys.stdout.write("[" + ",".join(["{\"type\":\"track\",\"userId\":\"nobody%d\",\"event\":\"x\",\"messageId\":\"cap%d\",\"timestamp\":\"2026-03-02T12:00:00Z\"}" % (i, i) for i in range(150)]) + "]")' >"$TMP/store150.json"
code=$(curl -s -m 20 -o "$TMP/ans" -w '%{http_code}' -u "$SK:" --data-binary @"$TMP/store150.json" "$URL/v1/batch")
expect_eq "$code" 200 "status"
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM rejects")" 202 "101 rows more"
expect_eq "$(sqlite3 "$DB" "SELECT line || ' ' || field || ': ' || reason FROM rejects ORDER BY id DESC LIMIT 1")" \
    "101 record: 50 more messages rejected: the first at line 101, account_id: missing, and the user is in no account of the users table (at most 100 rejects are kept one by one per request)" \
    "the summary row of the store's rejects"

say "connections_per_ip 4: slow connections from one address do not starve another"
python3 - "$PORT" >"$TMP/perip.txt" <<'PY' || fail "per-address limit: $(cat "$TMP/perip.txt")"
import socket, sys, time
port = int(sys.argv[1])
held, refused = [], 0
for i in range(6):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\n")   # headers never finished
    held.append(s)
time.sleep(0.5)
for s in held:
    s.settimeout(0.2)
    try:
        if s.recv(1) == b"":
            refused += 1
    except socket.timeout:
        pass
    except OSError:
        refused += 1
t0 = time.monotonic()
c = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0))
c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
ans = b""
while True:
    d = c.recv(4096)
    if not d: break
    ans += d
took = time.monotonic() - t0
for s in held:
    s.close()
print("refused %d of 6; /healthz from 127.0.0.2 in %.2f s" % (refused, took))
if refused != 2:
    sys.exit("expected 2 of 6 refused, got %d" % refused)
if not ans.startswith(b"HTTP/1.1 200") or took > 1:
    sys.exit("/healthz from another address: %r after %.2f s" % (ans[:40], took))
PY
sed 's/^/    /' "$TMP/perip.txt"

say "a NUL and a lone surrogate in a property: 200, every event stored"
for f in nul_property lone_surrogate; do
    code=$(curl -s -m 10 -o "$TMP/ans" -w '%{http_code}' -u "$WK:" --data-binary @"$FIX/http_batch_$f.json" "$URL/v1/batch")
    expect_eq "$code" 200 "$f: status"
    expect_eq "$(cat "$TMP/ans")" '{"success":true}' "$f: answer"
done
printf '%s' '{"batch":[{"type":"track","userId":"a\u0000b","event":"e","context":{"groupId":"acct0001"},"messageId":"nul-id-1"},{"type":"track","userId":"u0000002","event":"e","context":{"groupId":"acct0001"},"messageId":"nul-id-2"}]}' >"$TMP/nulid.json"
code=$(curl -s -m 10 -o "$TMP/ans" -w '%{http_code}' -u "$WK:" --data-binary @"$TMP/nulid.json" "$URL/v1/batch")
expect_eq "$code" 200 "NUL in a userId: status"
expect_eq "$(sqlite3 "$DB" "SELECT field || ': ' || reason FROM rejects ORDER BY id DESC LIMIT 1")" \
    'user_id: contains \u0000 or an unpaired surrogate (\uD800-\uDFFF), which an id cannot hold' "the one reject"

say "an events-only key: group traits ignored (the user linked), nudges 403"
curl -s -m 10 -o /dev/null -u "$SK:" --data-binary '{"batch":[{"type":"group","userId":"g-u1","groupId":"g-acct","traits":{"name":"Real Corp","seats":10}}]}' "$URL/v1/batch"
curl -s -m 10 -o /dev/null -u "$WK:" --data-binary '{"batch":[{"type":"group","userId":"g-u2","groupId":"g-acct","traits":{"name":"Hacked","seats":1}}]}' "$URL/v1/batch"
expect_eq "$(sqlite3 "$DB" "SELECT name || ' ' || seats FROM accounts WHERE account_id = 'g-acct'")" "Real Corp 10" "account traits"
expect_eq "$(sqlite3 "$DB" "SELECT group_concat(user_id, ' ') FROM (SELECT user_id FROM users WHERE account_id = 'g-acct' ORDER BY user_id)")" \
    "g-u1 g-u2" "both users linked"
code=$(curl -s -m 10 -o "$TMP/ans" -w '%{http_code}' -u "$WK:" "$URL/v1/nudges?user_id=g-u1")
expect_eq "$code" 403 "nudges with an events-only key"
expect_eq "$(cat "$TMP/ans")" '{"error":"this write key is events-only: nudges need a server-side write key (`uptake keys create --write --server-side`)"}' "its answer"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -u "$SK:" "$URL/v1/nudges?user_id=g-u1")
expect_eq "$code" 200 "nudges with a server-side key"

say "ids with '/' through the API"
curl -s -m 10 -o /dev/null -u "$SK:" --data-binary '{"batch":[{"type":"group","userId":"s-u1","groupId":"x/y","traits":{"name":"Slash Y"}},{"type":"group","userId":"s-u2","groupId":"x/users","traits":{"name":"Slash Users"}},{"type":"group","userId":"s-u3","groupId":"x","traits":{"name":"Plain X"}},{"type":"track","userId":"s-u1","event":"e","context":{"groupId":"x/y"}},{"type":"track","userId":"s-u3","event":"e","context":{"groupId":"x"}}]}' "$URL/v1/batch"
for pair in 'x%2Fy:Slash Y' 'x%2Fusers:Slash Users' 'x:Plain X'; do
    id=${pair%%:*}
    code=$(curl -s -m 10 -o "$TMP/ans" -w '%{http_code}' -H "Authorization: Bearer $RK" "$URL/api/v1/accounts/$id")
    expect_eq "$code" 200 "GET /api/v1/accounts/$id"
    expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["accounts"][0]["name"] if "accounts" in d else d.get("name"))' "$TMP/ans")" "${pair#*:}" "its name"
done
code=$(curl -s -m 10 -o "$TMP/ans" -w '%{http_code}' -H "Authorization: Bearer $RK" "$URL/api/v1/accounts/x%2Fy/users")
expect_eq "$code" 200 "GET /api/v1/accounts/x%2Fy/users"
code=$(curl -s -m 10 -o "$TMP/ans" -w '%{http_code}' -H "Authorization: Bearer $RK" "$URL/api/v1/accounts/x%2Fnope")
expect_eq "$code" 404 "GET /api/v1/accounts/x%2Fnope"

say "cookie-signed POSTs: cross-origin 403 and the alert unchanged; same-origin and Bearer 200"
sqlite3 "$DB" "INSERT INTO alerts(id, account_id, rule, severity, state, condition, opened_at, updated_at)
               VALUES (7, 'g-acct', 'r', 'warn', 'open', 'dau == 0', '2026-03-01', '2026-03-01')"
curl -s -m 10 -o /dev/null -c "$TMP/jar" --data "token=$RK" "$URL/login"
grep -q uptake_session "$TMP/jar" || fail "no session cookie after /login"
post() {   # post PATH [HEADER...]: the status of a POST with the cookie
    _p=$1; shift
    curl -s -m 10 -o "$TMP/ans" -w '%{http_code}' -b "$TMP/jar" -X POST "$@" "$URL$_p"
}
expect_eq "$(post /api/v1/alerts/7/ack -H "Origin: http://127.0.0.1:18090")" 403 "cross-origin (another port)"
expect_eq "$(cat "$TMP/ans")" '{"error":"cross-origin request refused: a POST signed in with the dashboard'"'"'s cookie must come from the dashboard'"'"'s own origin (Origin or Sec-Fetch-Site: same-origin)"}' "its answer"
expect_eq "$(post /api/v1/alerts/7/resolve -H "Sec-Fetch-Site: same-site" -H "Origin: http://a.example.com")" 403 "same-site, not same-origin"
expect_eq "$(post /logout -H "Origin: http://evil.example")" 403 "cross-origin /logout"
expect_eq "$(sqlite3 "$DB" "SELECT state FROM alerts WHERE id = 7")" open "the alert unchanged"
expect_eq "$(post /api/v1/alerts/7/ack -H "Origin: http://127.0.0.1:$PORT")" 200 "same-origin by Origin"
expect_eq "$(sqlite3 "$DB" "SELECT state FROM alerts WHERE id = 7")" acknowledged "acknowledged"
expect_eq "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $RK" -H "Origin: http://evil.example" "$URL/api/v1/alerts/7/resolve")" 200 "Bearer, whatever the Origin"
expect_eq "$(sqlite3 "$DB" "SELECT state FROM alerts WHERE id = 7")" resolved "resolved"

serve_stop
say "events stored: 3 + 3 + 1 + 2"
expect_eq "$(stored_events "$S")" 9 "events stored"
echo "ok $TEST_NAME"
