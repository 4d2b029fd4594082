#!/bin/sh
# events_28d and intensity (how much, not only whether), worked by hand, and
# the intensity health component: weight 0 by default, scored against
# intensity_target when a model gives it weight.
set -eu
. "$(dirname "$0")/lib.inc"

# T = 2026-03-31 end of day; window(28) = 03-04 .. 03-31. Model: the CLI
# fixture's (login passive, tour.reports an exposure, so passive too).
#   u1 03-31 report.view x3 (m1 m2 m3) + m3 re-sent (a duplicate: stored once)
#   u1 03-30 login (passive) + export.csv
#   u2 03-04T00:00:00 dashboard.view (the first instant of the window)
#   u2 03-03T23:59:59 dashboard.view (one second before it)
#   u2 03-25 tour.reports (exposure: passive)
#   u1 04-01 report.view (after T)
# events_28d = 3 (u1 03-31) + 1 (u1 03-30 export) + 1 (u2 03-04) = 5
# active user-days in window(28): u1 03-30, u1 03-31, u2 03-04 = 3
# intensity = 5 / 3 = 1.6666666666666667
# beta: only a login (passive) -> events_28d 0, no active user-day: intensity null.
cat >"$TMP/accounts.csv" <<'CSV'
account_id,name,seats,contract_start
acme,Acme,2,2026-01-01
beta,Beta,2,2026-01-01
CSV
cat >"$TMP/events.csv" <<'CSV'
ts,user_id,account_id,event,message_id
2026-03-31T09:00:00Z,u1,acme,report.view,m1
2026-03-31T09:00:01Z,u1,acme,report.view,m2
2026-03-31T18:00:00Z,u1,acme,report.view,m3
2026-03-31T18:00:00Z,u1,acme,report.view,m3
2026-03-30T08:00:00Z,u1,acme,login,m4
2026-03-30T08:01:00Z,u1,acme,export.csv,m5
2026-03-04T00:00:00Z,u2,acme,dashboard.view,m6
2026-03-03T23:59:59Z,u2,acme,dashboard.view,m7
2026-03-25T10:00:00Z,u2,acme,tour.reports,m8
2026-04-01T00:00:00Z,u1,acme,report.view,m9
2026-03-20T10:00:00Z,b1,beta,login,m10
CSV

D=$TMP/store
say "events_28d and intensity by hand"
ok --data "$D" init -q --model "$FIX/model.yaml"
ok --data "$D" import accounts "$TMP/accounts.csv"
ok --data "$D" import events "$TMP/events.csv"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
cp "$TMP/out" "$TMP/a.csv"
expect_eq "$(csv_field "$TMP/a.csv" acme events_28d)" 5 "acme events_28d"
expect_eq "$(csv_field "$TMP/a.csv" acme intensity)" 1.6666666666666667 "acme intensity"
expect_eq "$(csv_field "$TMP/a.csv" beta events_28d)" 0 "beta events_28d"
expect_eq "$(csv_field "$TMP/a.csv" beta intensity)" "" "beta intensity (null: no active user-day)"
# as of 03-30: window 03-03 .. 03-30: u1 03-30 export, u2 03-03T23:59:59 and 03-04 = 3 events
# over 3 user-days (u1 03-30, u2 03-03, u2 03-04) = 1.0
ok --data "$D" report accounts --as-of 2026-03-30 --format csv --account acme
expect_eq "$(csv_field "$TMP/out" acme events_28d)" 3 "acme events_28d as of 03-30"
expect_eq "$(csv_field "$TMP/out" acme intensity)" 1.0 "acme intensity as of 03-30"
# mid-day T (the rollup is folded again up to T): as of 03-31T09:00:00Z the
# 09:00:01 and 18:00 views are not there yet: 1 + 1 + 1 = 3 events / 3 user-days
ok --data "$D" report accounts --as-of 2026-03-31T09:00:00Z --format csv --account acme
expect_eq "$(csv_field "$TMP/out" acme events_28d)" 3 "acme events_28d as of 09:00"

say "health is unchanged by intensity unless the model gives it weight"
# default weights: intensity 0. acme: breadth 2/2 = 1 -> 100 (.30); depth 2/2 -> 100 (.25);
# stickiness (3/28)/2 -> 200 x 0.05357142857142857 = 10.714285714285714 (.15);
# consistency: blocks from 01-01: 12, active k=0 (03-25..31), k=3 (03-04..10) and k=4
#   (02-25..03-03: u2's 03-03T23:59:59) -> 3/12 (.10);
# trend: wau 1, wau_prev 0 -> null; nps null -> weights .30 .25 .15 .10 (sum .80)
ok --data "$D" report account acme --as-of 2026-03-31 --format json
python3 - "$TMP/out" <<'PY' || fail "health with intensity weight 0"
import json, sys
a = json.load(open(sys.argv[1]))
h = a["health"] if not isinstance(a.get("health"), dict) else a["health"]["score"]
want = (.30/.80)*100 + (.25/.80)*100 + (.15/.80)*(200*((3/28)/2)) + (.10/.80)*(100*3/12)
assert abs(h - want) < 1e-9, (h, want)
PY
cat "$FIX/model.yaml" >"$TMP/model.yaml"
cat >>"$TMP/model.yaml" <<'YAML'
settings:
  intensity_target: 2
  health_weights: {breadth: 0, depth: 0, stickiness: 0, consistency: 0, trend: 0, nps: 0, intensity: 1}
YAML
ok --data "$D" model set "$TMP/model.yaml"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
# intensity alone: 100 x 1.6666666666666667 / 2 = 83.33333333333334; beta: no component -> null
expect_eq "$(csv_field "$TMP/out" acme health)" 83.33333333333334 "health from intensity alone"
expect_eq "$(csv_field "$TMP/out" beta health)" "" "beta health null (intensity null, the rest weight 0)"
sed -i 's/intensity_target: 2/intensity_target: 1/' "$TMP/model.yaml"
ok --data "$D" model set "$TMP/model.yaml"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv --account acme
expect_eq "$(csv_field "$TMP/out" acme health)" 100.0 "intensity score clamped at 100"
sed -i 's/intensity_target: 1/intensity_target: 0/' "$TMP/model.yaml"
up --data "$D" model set "$TMP/model.yaml"
expect_nonzero "intensity_target 0"
expect_grep "intensity_target" "$TMP/err" "the error names the setting"

say "events_28d and intensity are alert variables and target metrics"
sed -i 's/intensity_target: 0/intensity_target: 20/' "$TMP/model.yaml"
cat >>"$TMP/model.yaml" <<'YAML'
rules:
  - name: doing_less
    when: events_28d >= 5 and intensity < 2
    severity: high
targets:
  - {name: busy, metric: intensity, min: 3, by_day: 30}
YAML
ok --data "$D" model set "$TMP/model.yaml"
ok --data "$D" alerts evaluate --as-of 2026-03-31 --wait 0
ok --data "$D" alerts list --format csv
# acme: 5 events, intensity 1.67 < 2 -> open; beta: 0 events -> not
expect_grep "doing_less" "$TMP/out" "the rule on events_28d and intensity opens"
expect_eq "$(grep -c doing_less "$TMP/out")" 1 "on acme only"
ok --data "$D" report account acme --as-of 2026-03-31 --format csv
expect_grep "targets,busy," "$TMP/out" "a target on intensity"
expect_grep "metrics,events_28d,5" "$TMP/out" "the account page has events_28d"
expect_grep "metrics,intensity,1.6666666666666667" "$TMP/out" "and intensity"
# per-feature uses in window(28): reports 3 (u1's views), dashboards 1 (u2 03-04), exports 1
expect_grep "feature_uses_28d,reports,3" "$TMP/out" "uses of reports"
expect_grep "feature_uses_28d,dashboards,1" "$TMP/out" "uses of dashboards"
expect_grep "feature_uses_28d,exports,1" "$TMP/out" "uses of exports"
echo "ok $TEST_NAME"
