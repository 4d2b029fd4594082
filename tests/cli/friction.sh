# Friction = (tickets + the model's error events) in window(28) per active
# user. Fixture, as of 2026-03-31 (window(28) = Mar 4 .. Mar 31):
#   acme, 4 seats; u1..u4 each use `a` on Mar 30 (4 active users, breadth 1);
#   error events `err`: 3 in the window (Mar 4 00:00, Mar 20, Mar 31) and 2
#   before it (Mar 3 23:59:59, Feb 1); one ticket on Mar 10.
#   with error_events [err]: (1 + 3) / 4 = 1.0, flagged (>= 0.5, breadth 1 >= 0.4)
#   without:                  1 / 4 = 0.25, not flagged; error_events_28d empty
. "$(dirname "$0")/lib.inc"
cat >"$TMP/model.yaml" <<'M'
features:
  - {name: f1, core: true, events: [a]}
error_events: [err]
M
sed '/^error_events/d' "$TMP/model.yaml" >"$TMP/model-noerr.yaml"
cat >"$TMP/events.csv" <<'E'
ts,user_id,account_id,event
2026-03-30T10:00:00Z,u1,acme,a
2026-03-30T10:00:00Z,u2,acme,a
2026-03-30T10:00:00Z,u3,acme,a
2026-03-30T10:00:00Z,u4,acme,a
2026-03-04T00:00:00Z,u1,acme,err
2026-03-20T12:00:00Z,u2,acme,err
2026-03-31T23:00:00Z,u3,acme,err
2026-03-03T23:59:59Z,u1,acme,err
2026-02-01T10:00:00Z,u1,acme,err
E
printf 'account_id,name,seats\nacme,Acme,4\n' >"$TMP/accounts.csv"
printf 'account_id,ticket_id,ts,priority\nacme,t1,2026-03-10T09:00:00Z,normal\n' >"$TMP/tickets.csv"
S=$TMP/store
ok --data "$S" init -q --model "$TMP/model.yaml"
for t in accounts events tickets; do ok --data "$S" import -q "$t" "$TMP/$t.csv"; done
ok --data "$S" report account acme --as-of 2026-03-31 --format csv
expect_grep "support,error_events_28d,3" "$TMP/out" "error events in window(28)"
expect_grep "support,friction,1.0" "$TMP/out" "(1 ticket + 3 errors) / 4 active users"
expect_grep "support,friction_flag,true" "$TMP/out" "flagged"
ok --data "$S" model set "$TMP/model-noerr.yaml"
ok --data "$S" report account acme --as-of 2026-03-31 --format csv
expect_grep "support,error_events_28d," "$TMP/out" "no error events in the model: empty"
expect_no_grep "support,error_events_28d,3" "$TMP/out" "no error events in the model: not counted"
expect_grep "support,friction,0.25" "$TMP/out" "1 ticket / 4 active users"
expect_grep "support,friction_flag,false" "$TMP/out" "not flagged"
echo "ok $TEST_NAME"
