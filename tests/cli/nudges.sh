# GET /v1/nudges: the tip for a core feature tried for 14 days or more, and
# the next feature of the expansion sequence once the one before it is used
# regularly. Events are placed relative to now (the server answers as of
# now), each an hour before a whole number of days ago:
#   u1: f1 daily for 28 days (regular or better); f2 once, 20 days ago
#       (trial for 20 days >= 14: a tip); f2 is past aware, so no suggestion.
#   u2: f1 daily for 28 days, nothing else: suggest f2 (after f1).
#   u3: f3 once, 5 days ago: trial for 5 days < 14: nothing.
. "$(dirname "$0")/lib.inc"
command -v curl >/dev/null || fail "curl is required"
command -v python3 >/dev/null || fail "python3 is required"
cat >"$TMP/model.yaml" <<'M'
features:
  - {name: f1, core: true, events: [a]}
  - {name: f2, core: true, events: [b]}
  - {name: f3, core: true, events: [c]}
passive_events: [nudge_shown, nudge_clicked]
nudges:
  trial_days: 14
  expansion: [f1, f2, f3]
M
python3 - "$TMP/events.csv" <<'PY'
import datetime as dt, sys
now = dt.datetime.now(dt.timezone.utc)
rows = []
def at(days):
    return (now - dt.timedelta(days=days, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
for k in range(28):
    rows += [(at(k), "u1", "a"), (at(k), "u2", "a")]
rows += [(at(20), "u1", "b"), (at(5), "u3", "c")]
with open(sys.argv[1], "w") as f:
    f.write("ts,user_id,account_id,event\n")
    for ts, u, e in rows:
        f.write(f"{ts},{u},acme,{e}\n")
PY
S=$TMP/store
ok --data "$S" init -q --model "$TMP/model.yaml"
ok --data "$S" import -q events "$TMP/events.csv"
ok --data "$S" keys create --write --server-side
KEY=$(cat "$TMP/out")
ok --data "$S" keys create --read
READ=$(cat "$TMP/out")
PID=
trap 'if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$TMP"' EXIT
serve_start "$S"
nudges() {   # nudges USER: the nudges as "kind feature after" lines
    curl -s -f -m 5 -u "$KEY:" "http://127.0.0.1:$PORT/v1/nudges?user_id=$1" >"$TMP/n.json" || fail "GET /v1/nudges?user_id=$1"
    python3 -c 'import json,sys; [print(n["kind"], n["account_id"], n["feature"], n["after"] or "-") for n in json.load(open(sys.argv[1]))["nudges"]]' "$TMP/n.json"
}
say "u1: a tip for f2 (trial for 20 days)"
expect_eq "$(nudges u1)" "tip acme f2 -" "u1's nudges"
expect_grep "trying f2 for 20 days" "$TMP/n.json" "the tip says how long"
say "u2: the next feature after f1"
expect_eq "$(nudges u2)" "suggest acme f2 f1" "u2's nudges"
say "u3 and an unknown user: nothing"
expect_eq "$(nudges u3)" "" "u3's nudges"
expect_eq "$(nudges nobody)" "" "an unknown user's nudges"
say "a read token is refused; user_id is required"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/v1/nudges?user_id=u1")
expect_eq "$code" 401 "a read token"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$PORT/v1/nudges?user_id=u1&key=$KEY")
expect_eq "$code" 200 "the key in the query"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -u "$KEY:" "http://127.0.0.1:$PORT/v1/nudges")
expect_eq "$code" 400 "no user_id"
say "an impression comes back as an ordinary (passive) event"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -u "$KEY:" -X POST "http://127.0.0.1:$PORT/v1/track" \
    -d '{"userId":"u2","event":"nudge_shown","properties":{"nudge":"next_feature:f2"},"context":{"groupId":"acme"},"messageId":"n1"}')
expect_eq "$code" 200 "nudge_shown sent"
serve_stop
ok --data "$S" status
expect_grep "events      59 " "$TMP/out" "56 + 2 events imported and the impression"
echo "ok $TEST_NAME"
