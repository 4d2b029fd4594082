#!/bin/sh
# HTTP ingestion with the real client libraries (tests/http/clients.mjs):
# @segment/analytics-node 3.1.0, @rudderstack/rudder-sdk-node 3.0.13,
# posthog-node 5.70.0 and mixpanel 0.24.0 send to `uptake serve`; the CLI and
# the JSON API then show what was stored. Also: keys (401/403), bad bodies
# (400), size limits (413, one oversized event rejected alone), a clean stop.
# Then runs replay.sh (the captured wire bytes of tests/fixtures/wire).
#   UPTAKE=/abs/path/build/uptake sh tests/http/run.sh
set -eu
. "$(dirname "$0")/../cli/lib.inc"
. "$(dirname "$0")/server.inc"
command -v curl >/dev/null || fail "curl is not installed"
need_node_modules

D=$TMP/store
ok --data "$D" init -q --model demo
ok --data "$D" keys create --write --server-side
WK=$(cat "$TMP/out")
ok --data "$D" keys create --read
RK=$(cat "$TMP/out")
case "$WK" in upw_*) ;; *) fail "write key: got '$WK'" ;; esac
case "$RK" in upr_*) ;; *) fail "read token: got '$RK'" ;; esac
start_server "$D"
say "server on $BASE"

say "the four client libraries send their story (clients.mjs)"
set +e
(cd "$HTTP_DIR" && timeout 180 node clients.mjs "$BASE" "$WK") >"$TMP/out" 2>"$TMP/err"
RC=$?
set -e
[ "$RC" -eq 0 ] || fail "clients.mjs exited $RC"

# 6 events per client (the re-sent P-dup-1 stored once); identify and group
# calls are no events: 4 x 6 = 24, from 03-12T12:00 to 03-31T12:00 (Segment
# and PostHog times are corrected by sentAt: a few ms later at most); then the
# `retry` part: Segment, Rudder and PostHog each retried one batch after a 503
# from the test proxy (uptake had stored it): 3 more events at 03-31T13:00
say "27 events stored, the re-sent and retried ones once"
expect_grep "retry attempts: segment 2, rudder 2, posthog 2" "$TMP/out" "each client retried once after the 503"
ok --data "$D" status
expect_grep "events      27 (2026-03-12T12:00:00" "$TMP/out" "4 clients x 6 events + 3 retried"
expect_grep "users       12 in events, 12 (account, user) pairs" "$TMP/out" "3 users in each of 4 accounts"
expect_grep "accounts    4 in events" "$TMP/out" "one account per client"
expect_grep " 0 rejects" "$TMP/out" "nothing rejected"

# Each user's features and days (demo model) in window(28) = 03-04..03-31:
# u1 report.create 03-31 + report.share 03-12 (+ the retried report.view of
# 03-31, not for Mixpanel) = reports on 2 days; u2
# dashboard.view 03-30, export.csv 03-25 (once, though sent twice); u3
# alert.create 03-20. The page view (page_view) is passive: no feature.
say "report users: every event under its user, account and day"
for p in mp ph rs seg; do
    printf '%s-acct,%s-u1,reports,trial,2\n%s-acct,%s-u2,dashboards,trial,1\n%s-acct,%s-u2,exports,trial,1\n%s-acct,%s-u3,alerts,trial,1\n' \
        $p $p $p $p $p $p $p $p
done >"$TMP/users.rows"
{ echo "account_id,user_id,feature,stage,days_used_28d"; cat "$TMP/users.rows"; } >"$TMP/users.expected"
ok --data "$D" report users --as-of 2026-03-31 --format csv
expect_same "$TMP/out" "$TMP/users.expected" "report users as of 2026-03-31"

# report accounts as of 2026-03-31 (D0 = 03-31), the same for every client:
#   seats 5 (group traits); known_users u1, u2 (users table or events), u3 = 3
#   dau {u1 03-31} = 1; wau 03-25..31 {u1, u2} = 2; wau_prev 03-18..24 {u3 03-20}
#     = 1 (u1's page view on 03-24 is passive); mau 3 = active_users
#   breadth 3/5 = 0.6; depth: reports, dashboards, alerts of 5 core = 0.6
#   stickiness: active user-days u1 {03-12, 03-31}, u2 {03-25, 03-30}, u3 {03-20}
#     = 5 -> (5/28)/3 = 0.05952380952380953
#   wau_trend (2-1)/1 = 1.0; ttfv: key action report.share 03-12 - contractStart
#     03-01 = 11
#   activation_rate: cohort created 02-18..03-17 = {u1 (identify createdAt
#     03-02T10:00)}; report.share 03-12T12:00 <= 03-16T10:00 -> 1/1 = 1.0
#   consistency: blocks from 03-01 on: 03-25.. (u1,u2), 03-18.. (u3), 03-11..
#     (u1 03-12), 03-04.. (none) -> 3/4 = 0.75
#   champion_active: u1 is champion (identify role) and active -> true; nps null
#   health: weights .3 .25 .15 .1 .1 (sum 0.9) x scores 60, 60,
#     200 x 0.0595... = 11.904761904761905, 75, min(100, 50 + 100) = 100
#     -> 58.09523809523811; level: breadth 0.6 >= 0.4, depth 0.6 >= 0.3 -> high
#   events_28d: u1 report.create 03-31, report.share 03-12 and (not Mixpanel)
#     the retried report.view 03-31; u2 dashboard.view 03-30, export.csv 03-25;
#     u3 alert.create 03-20; the page view is passive -> 6 (Mixpanel 5);
#     intensity over the 5 user-days = 1.2 (Mixpanel 1.0)
say "report accounts: the exact row of each client's account"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
cp "$TMP/out" "$TMP/accounts.csv"
expect_eq "$(head -1 "$TMP/accounts.csv")" "account_id,seats,known_users,dau,wau,wau_prev,mau,active_users,breadth,depth,stickiness,wau_trend,ttfv_days,activation_rate,consistency,champion_active,nps,health,level,status,events_28d,intensity,name,segment,owner,arr,renewal_date" "report accounts header"
expect_eq "$(wc -l <"$TMP/accounts.csv" | tr -d ' ')" 5 "report accounts: header and 4 accounts"
ROW=5,3,1,2,1,3,3,0.6,0.6,0.05952380952380953,1.0,11,1.0,0.75,true,,58.09523809523811,high,customer
# PostHog $identify and Mixpanel /engage give role and createdAt to a profile;
# these clients link a user to its account only through events ($groups, the
# company property), and the profile then describes the user in that account
# (docs/metrics.md), so activation_rate and champion_active are the same as
# with Segment's and Rudder's group calls.
for p in seg rs ph mp; do
    case $p in mp) much=5,1.0 ;; *) much=6,1.2 ;; esac
    # then name, segment, owner, arr, renewal_date: the group traits name the account "$p Corp"
    expect_eq "$(grep "^$p-acct," "$TMP/accounts.csv")" "$p-acct,$ROW,$much,$p Corp,,,," "$p: report accounts row"
done
ok --data "$D" report accounts --as-of 2026-03-31 --format json
python3 - "$TMP/out" <<'PY' || fail "JSON names and contract_start from the group traits"
import json, sys
got = {a["account_id"]: (a["name"], a["seats"], a["contract_start"]) for a in json.load(open(sys.argv[1]))["accounts"]}
want = {f"{p}-acct": (f"{p} Corp", 5, "2026-03-01") for p in ("seg", "rs", "ph", "mp")}
assert got == want, got
PY

say "the JSON API answers what the CLI prints, byte for byte"
for as_of in 2026-03-31 2026-03-20; do
    ok --data "$D" report accounts --as-of $as_of --format json
    cp "$TMP/out" "$TMP/cli.json"
    hc -H "Authorization: Bearer $RK" "$BASE/api/v1/accounts?as_of=$as_of"
    expect_http 200 "GET /api/v1/accounts?as_of=$as_of"
    expect_same "$TMP/body" "$TMP/cli.json" "/api/v1/accounts?as_of=$as_of vs report accounts --format json"
    cp "$TMP/cli.json" "$TMP/cli-$as_of.json"
done
hc -H "Authorization: Bearer $RK" "$BASE/api/v1/accounts/seg-acct/users?as_of=2026-03-31"
expect_http 200 "GET /api/v1/accounts/seg-acct/users"
python3 - "$TMP/body" "$TMP/users.rows" <<'PY' || fail "/api/v1/accounts/seg-acct/users rows"
import json, sys
got = [f'{u["account_id"]},{u["user_id"]},{u["feature"]},{u["stage"]},{u["days_used_28d"]}' for u in json.load(open(sys.argv[1]))["users"]]
want = [l for l in open(sys.argv[2]).read().split() if l.startswith("seg-acct,")]
assert got == want, (got, want)
PY

say "keys: read token on ingest 403, write key on the API 403, none or unknown 401"
TRACK='{"batch":[{"type":"track","userId":"k-u","event":"login","context":{"groupId":"k-acct"},"messageId":"k-1"}]}'
hc -u "$RK:" -H 'Content-Type: application/json' --data-binary "$TRACK" "$BASE/v1/batch"
expect_http 403 "a read token on /v1/batch"
hc -H 'Content-Type: application/json' --data-binary "{\"api_key\":\"$RK\",\"batch\":[{\"event\":\"login\",\"distinct_id\":\"k\"}]}" "$BASE/batch/"
expect_http 403 "a read token as api_key on /batch/"
hc -H "Authorization: Bearer $WK" "$BASE/api/v1/accounts"
expect_http 403 "a write key on /api/v1/accounts"
hc "$BASE/api/v1/accounts"
expect_http 401 "no token on /api/v1/accounts"
hc -H "Authorization: Bearer upr_0000000000000000000000000000000000000000" "$BASE/api/v1/accounts"
expect_http 401 "an unknown token on /api/v1/accounts"
hc -H 'Content-Type: application/json' --data-binary "$TRACK" "$BASE/v1/batch"
expect_http 401 "no key on /v1/batch"
hc -u "upw_0000000000000000000000000000000000000000:" -H 'Content-Type: application/json' --data-binary "$TRACK" "$BASE/v1/batch"
expect_http 401 "an unknown write key on /v1/batch"
hc "$BASE/track?data=$(printf '{"event":"login","properties":{"distinct_id":"k","token":"nope"}}' | base64 -w0)"
expect_http 401 "an unknown token on Mixpanel /track" 0
expect_eq "$(events_count "$D")" 27 "no event stored by the refused requests"

# docs/server.md: "the server sees a new or revoked key within a second"
say "keys made and revoked while the server runs take effect within a second"
ok --data "$D" keys create --write
WK2=$(cat "$TMP/out")
LOGIN='{"batch":[{"type":"track","userId":"seg-u1","event":"login","context":{"groupId":"seg-acct"},"timestamp":"2026-04-02T12:00:00Z"}]}'
i=0
while :; do
    hc -u "$WK2:" -H 'Content-Type: application/json' --data-binary "$LOGIN" "$BASE/v1/batch"
    [ "$CODE" = 200 ] && break
    i=$((i + 1))
    [ $i -le 15 ] || fail "a write key made while the server runs: still HTTP $CODE after 3 s"
    sleep 0.2
done
ok --data "$D" keys revoke "$(echo "$WK2" | cut -c1-12)"
i=0
while :; do
    hc -u "$WK2:" -H 'Content-Type: application/json' --data-binary "$LOGIN" "$BASE/v1/batch"
    [ "$CODE" = 401 ] && break
    [ "$CODE" = 200 ] || fail "a revoked key: HTTP $CODE, expected 200 then 401"
    i=$((i + 1))
    [ $i -le 15 ] || fail "a revoked write key still accepted 3 s after the revoke"
    sleep 0.2
done
# the login events sent before the revoke (passive, 04-02) are stored
N_LOGIN=$(( $(events_count "$D") - 27 ))
[ "$N_LOGIN" -ge 1 ] || fail "the login sent with the new key was not stored"
BASE_COUNT=$((27 + N_LOGIN))

say "the same batch sent 20 times at once: stored once"
python3 - "$TMP/same.json" <<'PY'
import json, sys
json.dump({"batch": [{"type": "track", "userId": f"seg-u{i % 3 + 1}", "event": "report.view", "context": {"groupId": "seg-acct"},
                      "timestamp": "2026-04-03T12:00:00Z", "messageId": f"par-{i}"} for i in range(5)]}, open(sys.argv[1], "w"))
PY
seq 1 20 | xargs -P 20 -I{} curl -sS --max-time 60 -H 'Expect:' -o /dev/null -w '%{http_code}\n' -u "$WK:" \
    -H 'Content-Type: application/json' --data-binary @"$TMP/same.json" "$BASE/v1/batch" >"$TMP/codes" 2>&1 ||
    fail "parallel curl failed: $(head -3 "$TMP/codes")"
expect_eq "$(sort "$TMP/codes" | uniq -c | tr -s ' ')" " 20 200" "20 parallel answers"
BASE_COUNT=$((BASE_COUNT + 5))
expect_eq "$(events_count "$D")" $BASE_COUNT "5 events of 20 identical parallel batches"

say "bad bodies: invalid JSON 400, broken gzip 400, over 20 MB 413, a gzip bomb 413"
hc -u "$WK:" -H 'Content-Type: application/json' --data-binary '{"batch":[{"type":"track",' "$BASE/v1/batch"
expect_http 400 "invalid JSON on /v1/batch"
printf '{"batch":[{"type":"track","userId":"z","event":"login"}]}' | gzip -c | head -c 30 >"$TMP/cut.gz"
hc -u "$WK:" -H 'Content-Encoding: gzip' --data-binary @"$TMP/cut.gz" "$BASE/v1/batch"
expect_http 400 "gzip cut short on /v1/batch"
printf '\037\213\010\000garbage-not-deflate' >"$TMP/bad.gz"
hc -H 'Content-Encoding: gzip' --data-binary @"$TMP/bad.gz" "$BASE/batch/"
expect_http 400 "broken gzip on /batch/"
head -c 21000000 /dev/zero | tr '\0' ' ' >"$TMP/big.json"   # 21 MB of blanks
hc -u "$WK:" -H 'Content-Type: application/json' --data-binary @"$TMP/big.json" "$BASE/batch/"
expect_http 413 "a 21 MB body on /batch/"
hc -u "$WK:" -H 'Content-Type: application/json' --data-binary @"$TMP/big.json" "$BASE/v1/batch"
expect_http 413 "a 21 MB body on /v1/batch"
rm -f "$TMP/big.json"
head -c 6000000 /dev/zero | tr '\0' ' ' | gzip -c >"$TMP/bomb.gz"   # 6 MB inflated, 5 MB limit on /v1
hc -u "$WK:" -H 'Content-Encoding: gzip' --data-binary @"$TMP/bomb.gz" "$BASE/v1/batch"
expect_http 413 "6 MB after gunzip on /v1/batch"
expect_eq "$(events_count "$D")" $BASE_COUNT "no event stored by the bad bodies"

say "an event over 32 KB in a batch of 3: 200, the other 2 stored, 1 reject"
python3 - "$TMP/three.json" <<'PY'
import json, sys
ev = lambda i, u, pad: {"type": "track", "userId": u, "event": "report.view", "context": {"groupId": "seg-acct"},
                        "timestamp": "2026-04-01T12:00:00Z", "messageId": f"size-{i}", "properties": {"pad": pad}}
json.dump({"batch": [ev(1, "seg-u1", ""), ev(2, "seg-u2", "x" * 33000), ev(3, "seg-u3", "")]}, open(sys.argv[1], "w"))
PY
hc -u "$WK:" -H 'Content-Type: application/json' --data-binary @"$TMP/three.json" "$BASE/v1/batch"
expect_http 200 "a batch with one oversized event" '{"success":true}'
expect_eq "$(events_count "$D")" $((BASE_COUNT + 2)) "the 2 events of normal size stored"
ok --data "$D" rejects --format csv
expect_eq "$(tail -n +2 "$TMP/out" | wc -l | tr -d ' ')" 1 "one reject"
expect_grep ",http,POST /v1/batch,2,event,larger than 32 KB," "$TMP/out" "the reject: 2nd event, too large"
expect_grep '""messageId"":""size-2""' "$TMP/out" "the reject keeps the event"
hc -H "Authorization: Bearer $RK" "$BASE/api/v1/rejects"
expect_http 200 "GET /api/v1/rejects"
expect_grep '"larger than 32 KB"' "$TMP/body" "/api/v1/rejects lists the oversized event"
ok --data "$D" report users --as-of 2026-04-01 --format csv
expect_grep "seg-acct,seg-u3,reports,trial,1" "$TMP/out" "seg-u3's report.view of 04-01 (3rd of the batch)"

say "SIGTERM stops the server cleanly; the store keeps everything"
stop_server
expect_eq "$SRC" 0 "server exit status after SIGTERM"
expect_eq "$(events_count "$D")" $((BASE_COUNT + 2)) "events after the stop"
ok --data "$D" report accounts --as-of 2026-03-31 --format json
expect_same "$TMP/out" "$TMP/cli-2026-03-31.json" "report as of 2026-03-31 after the stop"
echo "ok $TEST_NAME"

if [ "${UPTAKE_HTTP_NO_REPLAY:-0}" != 1 ]; then
    sh "$HTTP_DIR/replay.sh"
fi
