# Alerts: each built-in rule fires on exactly the right day and clears on
# exactly the right day (fixture: tests/fixtures/alerts/gen.py, one account
# per rule, evaluated day by day from 2026-03-01 to 2026-04-12); a custom
# rule's cooldown; a snooze; a signed webhook delivered after two failed
# attempts; a task; evaluation is idempotent; a bad rule is refused with its
# line. Days worked out by hand (day numbers: Jan 1 = 1, Mar 1 = 60):
#   usage_drop    drop: 4 users daily to Mar 14, then 1. WAU(D) is 1 once
#                 D-6 >= Mar 15 (Mar 21) with WAU(D-7) = 4: (1-4)/4 = -0.75
#                 -> opens Mar 21; WAU(D-7) is 1 once D-13 >= Mar 15 (Mar 28).
#   low_platform_access  shelf: 3 of 10 seats (0.3); days into contract > 60
#                 first on Mar 3 (Mar 2 is day 60); a 4th user from Mar 20:
#                 breadth 0.4 -> resolved Mar 20.
#   feature_avoidance  avoid: breadth 1; f2 last used Feb 10, so unused in
#                 window(28) from Mar 10 (window Feb 11..Mar 10); used again
#                 Mar 20.
#   champion_quiet  champ: champion active daily to Mar 5 and from Mar 25.
#                 days_14 = Mar 5 - D + 14 < 7 (half of 28/28 x 14) first on
#                 Mar 13 (6 days). From Mar 25 (day 84): days_14 = D - 83,
#                 earlier pace 106 - D; quiet while (D-83)/14 < 0.5 (106-D)/28,
#                 i.e. D <= 87: clears on day 88 = Mar 29.
#   seats_removed seats: subscriptions 20 seats to Mar 15 (exclusive), then
#                 15: 25% fewer on Mar 15; Mar 16 compares 15 with 15.
#   onboarding_stalled  onb: kickoff done Feb 28; "first report" due Mar 10
#                 still open: 14 days without a milestone done on Mar 14
#                 (overdue only 4 days then); done Mar 20 -> nothing open.
#   no_first_value  nofv: contract Feb 1, no key action until Mar 10: day 31
#                 of the contract (> 30) is Mar 4.
#   friction_loop fric: 1 ticket on Mar 10 / 2 active users = 0.5 with
#                 breadth 1; out of window(28) on Apr 7. Snoozed on Mar 11
#                 until Mar 15: back to open on Mar 16.
#   health_drop   hd: health = 100 x breadth (model weights); 10 of 10 users
#                 to Mar 1, then 5: MAU 5 from Mar 29 (Mar 1 + 28), health
#                 100 -> 50; health 14 days earlier is 50 from Apr 12.
#   renewal_at_risk  renew: renewal Jun 15 is 90 days away on Mar 17 and its
#                 level is low, but the rule asks for a churn probability above
#                 0.2 (its health band's churn rate in the last year's
#                 backtest) and this fixture has no churn at all: P = 0, it
#                 never opens (tests/cli/renewals.sh has it open).
#   dau_zero (custom, cooldown 7)  flaky: no activity on Mar 5, 8 and 15:
#                 open Mar 5, resolved Mar 6, Mar 8 held back (resolved within
#                 7 days), open again Mar 15 (Mar 6 is 9 days back), resolved
#                 Mar 16.
#   good: nothing, ever.
. "$(dirname "$0")/lib.inc"
command -v python3 >/dev/null || fail "python3 is required"
FX=$REPO/tests/fixtures/alerts
D=$TMP/data
mkdir -p "$D"
python3 "$FX/gen.py" "$D"

say "a rule with a syntax error is refused with its line"
sed 's/when: dau == 0/when: dau = 0/' "$FX/model.yaml" >"$TMP/bad.yaml"
up model check "$TMP/bad.yaml"
expect_nonzero "model check of a bad rule"
expect_grep "bad.yaml:16: rules[0].when: column 5: '=' is not an operator: use '=='" "$TMP/err" "the line and column"

say "the webhook receiver fails twice, then takes deliveries (signature checked)"
RLOG=$TMP/received
python3 "$FX/receiver.py" fixture-secret 2 "$RLOG" 120 >"$TMP/rport" &
RPID=$!
trap 'kill "$RPID" 2>/dev/null || true; rm -rf "$TMP"' EXIT
i=0
until [ -s "$TMP/rport" ]; do i=$((i + 1)); [ $i -lt 100 ] || fail "receiver did not start"; sleep 0.05; done
sed "s/PORT/$(cat "$TMP/rport")/" "$FX/model.yaml" >"$TMP/model.yaml"

S=$TMP/store
ok --data "$S" init -q --model "$TMP/model.yaml"
for t in accounts users events subscriptions milestones tickets; do
    ok --data "$S" import -q "$t" "$D/$t.csv"
done

say "evaluate each day from 2026-03-01 to 2026-04-12"
day=2026-03-01
while [ "$day" != 2026-04-13 ]; do
    ok --data "$S" alerts evaluate --as-of "$day" --wait 20
    if [ "$day" = 2026-03-11 ]; then
        ok --data "$S" alerts list --format csv
        ID=$(awk -F, '$1 == "fric" && $2 == "friction_loop" { print $6 }' "$TMP/out")
        [ -n "$ID" ] || fail "no friction_loop alert for fric on Mar 11"
        ok --data "$S" alerts snooze "$ID" --until 2026-03-15 --as-of 2026-03-11
    fi
    [ "$day" = 2026-03-08 ] && cp "$TMP/out" "$TMP/eval-0308"
    if [ "$day" = 2026-03-21 ]; then
        say "evaluating the same day again changes nothing"
        ok --data "$S" alerts list --state all --format json
        cp "$TMP/out" "$TMP/list-before"
        ok --data "$S" alerts evaluate --as-of "$day"
        expect_grep "0 opened," "$TMP/out" "a second evaluation of Mar 21"
        expect_grep "0 resolved," "$TMP/out" "a second evaluation of Mar 21"
        ok --data "$S" alerts list --state all --format json
        cmp -s "$TMP/list-before" "$TMP/out" || fail "a second evaluation of Mar 21 changed the alerts: $(diff "$TMP/list-before" "$TMP/out" | head -5)"
    fi
    day=$(python3 -c "import datetime,sys; print(datetime.date.fromisoformat(sys.argv[1]) + datetime.timedelta(days=1))" "$day")
done

ok --data "$S" alerts list --state all --format csv
expect_eq "$(head -1 "$TMP/out" | cut -d, -f1-5)" "account_id,rule,severity,state,opened_at" "alerts list --format csv header"
awk -F, -v OFS=' ' 'NR > 1 { print $1, $2, $5, $9 }' "$TMP/out" | sort >"$TMP/got"
cat >"$TMP/want" <<'W'
avoid feature_avoidance 2026-03-10 2026-03-20
champ champion_quiet 2026-03-13 2026-03-29
drop usage_drop 2026-03-21 2026-03-28
flaky dau_zero 2026-03-05 2026-03-06
flaky dau_zero 2026-03-15 2026-03-16
fric friction_loop 2026-03-10 2026-04-07
hd health_drop 2026-03-29 2026-04-12
nofv no_first_value 2026-03-04 2026-03-10
onb onboarding_stalled 2026-03-14 2026-03-20
seats seats_removed 2026-03-15 2026-03-16
shelf low_platform_access 2026-03-03 2026-03-20
W
# other rules may fire on these accounts too (e.g. drop's health falls when
# its MAU does); the designated rule of each account and `good` are checked
awk 'NR == FNR { want[$1 " " $2] = 1; next } ($1 " " $2) in want || $1 == "good"' "$TMP/want" "$TMP/got" >"$TMP/got-designated"
expect_same "$TMP/got-designated" "$TMP/want" "each rule's opening and resolving day"

say "the snooze: snoozed Mar 11 until Mar 15, open again Mar 16, resolved Apr 7"
ok --data "$S" alerts show "$ID" --format json
python3 - "$TMP/out" <<'PY' || fail "friction_loop history"
import json, sys
d = json.load(open(sys.argv[1]))
h = [(r["at"], r["state"]) for r in d["history"]["rows"]]
assert h == [("2026-03-10", "open"), ("2026-03-11", "snoozed"), ("2026-03-16", "open"), ("2026-04-07", "resolved")], h
assert d["alert"]["rows"][0]["values"] == {"friction_flag": False}, d["alert"]["rows"][0]["values"]
PY

# The playbook answers usage_drop on every account. Besides drop (Mar 21),
# hd's WAU halves on Mar 8 (10 users to Mar 1, 5 after: WAU(Mar 8) = 5 over
# Mar 2..8, WAU(Mar 1) = 10: -0.5) and champ's on Mar 12 (the champion's last
# day is Mar 5: 1 user over Mar 6..12 against 2 over Mar 5..11: -0.5).
say "the webhooks: hd's (Mar 8) after two 500s and back-off, then champ's and drop's; every signature valid"
python3 - "$RLOG" >"$TMP/deliveries" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    status, sig, body = line.rstrip("\n").split(" ", 2)
    a = json.loads(body)["alert"]
    print(status, sig, a["account_id"], a["rule"], a["as_of"], json.dumps(a["values"]))
PY
cat >"$TMP/want-deliveries" <<'W'
500 ok hd usage_drop 2026-03-08 {"wau_trend": -0.5}
500 ok hd usage_drop 2026-03-08 {"wau_trend": -0.5}
200 ok hd usage_drop 2026-03-08 {"wau_trend": -0.5}
200 ok champ usage_drop 2026-03-12 {"wau_trend": -0.5}
200 ok drop usage_drop 2026-03-21 {"wau_trend": -0.75}
W
expect_same "$TMP/deliveries" "$TMP/want-deliveries" "what the receiver got"
python3 - "$RLOG" <<'PY' || fail "webhook payload"
import json, sys
body = json.loads(open(sys.argv[1]).read().splitlines()[-1].split(" ", 2)[2])
a = body["alert"]
assert body["event"] == "alert.opened" and a["severity"] == "high" and a["condition"] == "wau_trend < -0.3", body
assert a["owner"] == "csm-drop@example.com" and a["account_name"] == "Drop Inc", a
PY
expect_grep "1 delivered, 2 failed attempts, 0 given up" "$TMP/eval-0308" "the evaluation of Mar 8 waited for the retries"

say "tasks for the owners, due 3 days after each alert opened"
ok --data "$S" tasks list --format csv
cut -d, -f2-5 "$TMP/out" >"$TMP/tasks"
cat >"$TMP/want-tasks" <<'W'
account_id,owner,title,due
hd,csm-hd@example.com,Call the account: Hd Inc (usage_drop),2026-03-11
champ,csm-champ@example.com,Call the account: Champ Inc (usage_drop),2026-03-15
drop,csm-drop@example.com,Call the account: Drop Inc (usage_drop),2026-03-24
W
expect_same "$TMP/tasks" "$TMP/want-tasks" "tasks list"
for t in $(awk -F, 'NR > 1 { print $1 }' "$TMP/out"); do
    ok --data "$S" tasks done "$t" --as-of 2026-03-22
done
ok --data "$S" tasks list
expect_grep "No open tasks." "$TMP/out" "every task done"
echo "ok $TEST_NAME"
