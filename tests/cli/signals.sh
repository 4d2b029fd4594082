#!/bin/sh
# The signal metrics (metric.h UP_MU_SIGNAL) and the model's settings over
# the API: /api/v1/signals answers what alert evaluation reads, computed once
# in the engine, and /api/v1/settings the thresholds the dashboard judges
# with. Fixture: tests/fixtures/alerts (see the hand-worked days in
# tests/cli/alerts.sh). Expected values, by hand:
#   hd     health 100 (10 of 10 users) to Mar 28; MAU 5 from Mar 29 (Mar 1
#          + 28): health 50 on Mar 29 against 100 on Mar 15 (health_drop_days
#          14 before): health_change -50.
#   champ  the champion is quiet on Mar 13 (6 active days in 14 < 7) and
#          not any more on Mar 29 (clears on day 88 = Mar 29).
#   onb    on Mar 14: "first report" due Mar 10, open: 1 open milestone, 4
#          days overdue; kickoff done Feb 28: 14 days since a milestone done.
#   fric   on Mar 10: 1 ticket in 28 days; (1 ticket + 0 error events) / 2
#          active users = 0.5 with breadth 1: friction 0.5, flagged.
#   good   no milestones, no ticket: the milestone signals are null, 0
#          tickets.
set -eu
. "$(dirname "$0")/lib.inc"
command -v curl >/dev/null || fail "curl is required (scripts/deps.sh installs it)"
command -v python3 >/dev/null || fail "python3 is required"
FX=$REPO/tests/fixtures/alerts
D=$TMP/data
mkdir -p "$D"
python3 "$FX/gen.py" "$D"
sed "s/PORT/9/" "$FX/model.yaml" >"$TMP/model.yaml"
S=$TMP/store
ok --data "$S" init -q --model "$TMP/model.yaml"
for t in accounts users events subscriptions milestones tickets; do
    ok --data "$S" import -q "$t" "$D/$t.csv"
done
ok --data "$S" keys create --read
READ=$(cat "$TMP/out")
serve_start "$S"

# get ROUTE FIELD...: the JSON of ROUTE, then python prints FIELD expressions
get() {
    curl -s -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/api/v1/$1" >"$TMP/body" ||
        fail "GET $1 failed"
}
# sig ACCOUNT METRIC: a signal of one account from $TMP/body, as JSON
sig() {
    python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
a = [x for x in d["accounts"] if x["account_id"] == sys.argv[2]]
print(json.dumps(a[0][sys.argv[3]]) if a else "missing")' "$TMP/body" "$1" "$2"
}

say "health_change: 50 - 100 on Mar 29 for hd"
get "signals?as_of=2026-03-29"
expect_eq "$(sig hd health_change)" "-50.0" "hd health_change on Mar 29"
expect_eq "$(sig champ champion_quiet)" "false" "champ no longer quiet on Mar 29"

say "a quiet champion on Mar 13"
get "signals?as_of=2026-03-13"
expect_eq "$(sig champ champion_quiet)" "true" "champ quiet on Mar 13"

say "milestones on Mar 14: one open, 4 days overdue, 14 days since kickoff was done"
get "signals?as_of=2026-03-14"
expect_eq "$(sig onb open_milestones)" "1" "onb open milestones"
expect_eq "$(sig onb milestone_overdue_days)" "4" "onb overdue days"
expect_eq "$(sig onb days_since_milestone_done)" "14" "onb days since a milestone was done"
expect_eq "$(sig good open_milestones)" "null" "no milestones: null"
expect_eq "$(sig good tickets_28d)" "0" "no tickets: 0"

say "friction on Mar 10: 1 ticket / 2 active users"
get "signals?as_of=2026-03-10"
expect_eq "$(sig fric tickets_28d)" "1" "fric tickets"
expect_eq "$(sig fric friction)" "0.5" "fric friction"
expect_eq "$(sig fric friction_flag)" "true" "fric flagged"

say "settings: the model's alert thresholds and the catalog"
get settings
expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["alert_settings"]["health_drop_days"], d["alert_settings"]["usage_drop_wau_trend"], [m["name"] for m in d["metrics"] if "signal" in m["uses"]])' "$TMP/body")" \
    "14 -0.3 ['champion_quiet', 'health_change', 'milestone_overdue_days', 'open_milestones', 'days_since_milestone_done', 'friction', 'friction_flag', 'tickets_28d', 'churn_probability']" \
    "alert settings and the signal metrics"
serve_stop
echo "ok signals"
