# Data freshness: when the store's last event is more than data_stale_hours
# before T, one store-wide alert `data_stopped` holds and the per-account rules
# are held back until data arrives again. Fixture (tests/fixtures/freshness):
# acme's one user used f1 on 2026-11-19 and 2026-11-20 at 10:00Z; the rule
# dau_zero fires on a day without activity. Worked by hand, T = the end of the
# as-of day (23:59:59.999Z):
#   as of Nov 21: 37 h 59 m 59.999 s since the last event -> fresh; dau 0 -> dau_zero opens
#   as of Nov 22: 61 h 59 m 59.999 s: not more than 62 h (fresh, dau_zero still
#                 open), but more than 61 h (stale: data_stopped opens with
#                 hours_since_last_event = floor(61.99) = 61, dau_zero untouched,
#                 the playbook gives a task due Nov 23)
#   an event on Nov 22 09:00Z: 14.99 h -> fresh: data_stopped resolves, and dau
#                 is 1, so dau_zero resolves too.
. "$(dirname "$0")/lib.inc"
FX=$REPO/tests/fixtures/freshness
S=$TMP/store

ok --data "$S" init -q --model "$FX/model.yaml"
ok --data "$S" import accounts "$FX/accounts.csv"
ok --data "$S" import events "$FX/events.csv"

say "38 hours after the last event, with data_stale_hours 62: fresh, the account rule opens"
ok --data "$S" alerts evaluate --as-of 2026-11-21 --wait 0
expect_grep "alerts as of 2026-11-21: 1 accounts x 11 rules; 1 opened, 0 still open" "$TMP/out" "dau_zero opens"
expect_no_grep "data stopped arriving" "$TMP/out" "no freshness line while data is fresh"

say "61.99 hours: not more than 62 (fresh), more than 61 (stale)"
ok --data "$S" alerts evaluate --as-of 2026-11-22 --wait 0
expect_grep "1 accounts x 11 rules; 0 opened, 1 still open" "$TMP/out" "62 h: still fresh"
sed 's/data_stale_hours: 62/data_stale_hours: 61/' "$FX/model.yaml" >"$TMP/m61.yaml"
ok --data "$S" model set "$TMP/m61.yaml"
ok --data "$S" alerts evaluate --as-of 2026-11-22 --wait 0
expect_grep "alerts as of 2026-11-22: 0 accounts x 11 rules; 1 opened, 0 still open, 0 resolved" "$TMP/out" \
    "only data_stopped opens; no account is evaluated"
expect_grep "data stopped arriving: the last event is at 2026-11-20T10:00:00Z, more than data_stale_hours (61) before 2026-11-22; the per-account rules are held back until data arrives again (alert data_stopped)" \
    "$TMP/out" "the evaluation says why it held back"
ok --data "$S" alerts list --format csv
expect_grep ',data_stopped,critical,open,2026-11-22,2,,2026-11-22,,,hours_since_last_event > 61,"{""last_event"":""2026-11-20T10:00:00Z"",""hours_since_last_event"":61}"' \
    "$TMP/out" "one store-wide alert with the last event and the hours"
expect_grep "acme,dau_zero,low,open,2026-11-21,1," "$TMP/out" "the account's alert is held as it was"
ok --data "$S" alerts list
expect_grep "(all accounts)            data_stopped" "$TMP/out" "the list names it for all accounts"
ok --data "$S" tasks list
expect_grep "Check the event pipeline: All accounts (data_stopped)" "$TMP/out" "the playbook's task"
expect_grep "2026-11-23" "$TMP/out" "due a day after"
ok --data "$S" alerts evaluate --as-of 2026-11-22 --wait 0
expect_grep "0 accounts x 11 rules; 0 opened, 1 still open, 0 resolved" "$TMP/out" "held back: only data_stopped is judged (still open); the account rule is not resolved"

say "data arrives again: data_stopped resolves and the account rules run"
ok --data "$S" import events "$FX/more.csv"
ok --data "$S" alerts evaluate --as-of 2026-11-22 --wait 0
expect_grep "1 accounts x 11 rules; 0 opened, 0 still open, 2 resolved" "$TMP/out" "both resolve"
ok --data "$S" alerts show 2
expect_grep "data arrives again" "$TMP/out" "the history says why it resolved"

say "data_stale_hours: 0 turns it off"
sed 's/data_stale_hours: 62/data_stale_hours: 0/' "$FX/model.yaml" >"$TMP/m0.yaml"
ok --data "$S" model set "$TMP/m0.yaml"
ok --data "$S" alerts evaluate --as-of 2026-12-31 --wait 0
expect_grep "alerts as of 2026-12-31: 1 accounts x 11 rules;" "$TMP/out" "39 days later the account is judged"
expect_no_grep "data stopped arriving" "$TMP/out" "no freshness alert when turned off"
ok --data "$S" alerts list --state open --format csv
expect_no_grep "data_stopped" "$TMP/out" "data_stopped stays resolved"

say "the server: /healthz stays ok; /healthz?detail=1 and /metrics say the data stopped (wall clock)"
command -v curl >/dev/null || fail "curl is required"
# the last event (2026-11-22T09:00Z) is far more than 48 hours before today
sed 's/data_stale_hours: 62/data_stale_hours: 48/' "$FX/model.yaml" >"$TMP/m48.yaml"
ok --data "$S" model set "$TMP/m48.yaml"
serve_start "$S" ""
expect_eq "$(curl -s -m 5 "http://127.0.0.1:$PORT/healthz")" ok "plain /healthz"
curl -s -m 5 "http://127.0.0.1:$PORT/healthz?detail=1" >"$TMP/h"
expect_grep '{"status":"ok","store":"ok","events":3,"last_event":"2026-11-22T09:00:00Z","hours_since_last_event":' "$TMP/h" "detail: the last event"
expect_grep '"data_stale_hours":48,"data":"stopped arriving: the per-account alert rules are held back"}' "$TMP/h" "detail: stale"
curl -s -m 5 "http://127.0.0.1:$PORT/metrics" >"$TMP/m"
expect_grep "uptake_last_event_timestamp_seconds 1795338000" "$TMP/m" "the last event's epoch (2026-11-22T09:00:00Z)"
expect_grep "uptake_data_stale 1" "$TMP/m" "the stale gauge"
serve_stop
echo "ok freshness"
