#!/bin/sh
# uptake backtest (docs/metrics.md, "Backtest"), on tests/fixtures/backtest,
# worked out by hand.
#
# --from 2024-01-15 --to 2024-05-30 --horizon 30: the month ends t with
# 01-15 <= t and t + 30 <= 05-30 are 01-31 (+30 = 03-01), 02-29 (a leap year;
# +30 = 03-30), 03-31 (04-30) and 04-30 (+30 = 05-30 = D2 exactly: in);
# 05-31 is past D2. A row is churned when the account has a churn in
# (t, t + 30 days], both ends at the end of their UTC day.
#   X seats 5, contract 2023-12-01, churn 03-01T12:00: churned at 01-31
#     (03-01 is t + 30) and at 02-29; churned, so out, from 03-01 on.
#   Y seats 10, churn 02-29T23:59:59.999 (the end of the snapshot's day: a
#     churn at T exactly): churned in the 01-31 row; not a customer at 02-29
#     or 03-31; a subscription from 04-10 brings it back: retained at 04-30.
#     With a subscriptions row, its seats are the active subscriptions':
#     0 at 01-31, 10 at 04-30.
#   Z seats 20, contract 2024-03-15: a prospect at 01-31 and 02-29, retained at
#     03-31 and 04-30.
#   A seats 30: retained everywhere (its churn on 06-15 is after D2: unseen).
#   B seats 40: retained at 01-31 .. 03-31, churned at 04-30 (churn 05-30).
# Rows: 01-31 X Y A B; 02-29 X A B; 03-31 A B Z; 04-30 A B Y Z = 14 rows,
#   churned X(5) Y(0) X(5) B(40) = 4; retained A30 B40 A30 B40 A30 B40 Z20
#   A30 Z20 Y10 = 10.
# AUC of seats: churned 5 (twice) and 0 score below all 10 retained = 30
#   pairs; churned 40 is below none and ties three retained 40s = 1.5
#   -> 31.5 / 40 = 0.7875.
# Levels: every row is low (breadth < 0.40): 14 rows, 4 churned.
# Health bands: A at 01-31 has one user active on 01-10 (breadth 1/30, depth 1,
#   stickiness (1/28)/1, consistency 1 of 8 blocks since 12-01, trend null):
#   (.3 x 3.33 + .25 x 100 + .15 x 7.14 + .1 x 12.5) / .8 = 35.4 -> 20-40;
#   every other row scores below 20 -> 0-20: 13 rows, 4 churned.
set -eu
. "$(dirname "$0")/lib.inc"
FX=$REPO/tests/fixtures/backtest
S=$TMP/store
backtest_store "$S"

say "the snapshots: month ends, February of a leap year, D2 exactly"
ok --data "$S" backtest --from 2024-01-15 --to 2024-05-30 --horizon 30 --format json
cp "$TMP/out" "$TMP/bt.json"
python3 - "$TMP/bt.json" <<'PY' || fail "backtest JSON"
import json, sys
b = json.load(open(sys.argv[1]))
snaps = [(s["date"], s["customers"], s["churned"]) for s in b["snapshots"]]
assert snaps == [("2024-01-31", 4, 2), ("2024-02-29", 3, 1), ("2024-03-31", 3, 0), ("2024-04-30", 4, 1)], snaps
assert (b["rows"], b["churned"]) == (14, 4), (b["rows"], b["churned"])
seats = next(s for s in b["scores"] if s["score"] == "seats")
assert seats["auc"] == 0.7875, seats
assert (seats["churned"], seats["retained"], seats["left_out"]) == (4, 10, 0), seats
assert seats["direction"] == "lower seats, more churn", seats
lv = {r["group"]: (r["rows"], r["churned"]) for r in b["calibration"]["level"]}
assert lv == {"low": (14, 4), "high": (0, 0), "effective": (0, 0), "all": (14, 4)}, lv
bd = {r["group"]: (r["rows"], r["churned"]) for r in b["calibration"]["health_band"]}
assert bd["0-20"] == (13, 4) and bd["20-40"] == (1, 0), bd
names = [s["score"] for s in b["scores"]]
for want in ["health", "health:breadth", "health:intensity", "breadth", "events_28d", "intensity", "level", "feature:f1"]:
    assert want in names, want
assert "status" not in names
# ranked by |auc - 0.5|, null AUCs last
d = [abs(s["auc"] - 0.5) if s["auc"] is not None else -1 for s in b["scores"]]
assert d == sorted(d, reverse=True), d
PY
say "--to one day earlier: 04-30 + 30 is past it, three snapshots"
ok --data "$S" backtest --from 2024-01-15 --to 2024-05-29 --horizon 30 --format json
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert [s["date"] for s in b["snapshots"]] == ["2024-01-31","2024-02-29","2024-03-31"], b["snapshots"]' "$TMP/out" ||
    fail "three snapshots with --to 05-29"

say "CSV: the score rows with the documented columns first"
ok --data "$S" backtest --from 2024-01-15 --to 2024-05-30 --horizon 30 --format csv
expect_eq "$(head -1 "$TMP/out" | cut -d, -f1-7)" "score,auc,auc_low,auc_high,churned,retained,left_out" "CSV header"
expect_grep "seats,0.7875," "$TMP/out" "the seats row"
ok --data "$S" backtest --from 2024-01-15 --to 2024-05-30 --horizon 30
expect_grep "lower seats, more churn" "$TMP/out" "the table says the direction in words"
expect_grep "Churn rate by health band" "$TMP/out" "the calibration table"
ok --data "$S" backtest --from 2024-01-15 --to 2024-05-30 --horizon 30 --format html
expect_grep "<h2>Churn rate by level</h2>" "$TMP/out" "HTML"

say "--suggest-weights: fitted on the earlier half, a model snippet, never applied"
ok --data "$S" backtest --from 2024-01-15 --to 2024-05-30 --horizon 30 --suggest-weights
expect_grep "fitted on the first 2 snapshots, judged on the last 2" "$TMP/out" "the halves"
expect_grep "  settings:" "$TMP/out" "a model snippet"
expect_grep "    health_weights:" "$TMP/out" "with the weights"
ok --data "$S" model show
expect_same "$TMP/out" "$FX/model.yaml" "the model is unchanged"

say "bad arguments: a clear error, exit 2"
up --data "$S" backtest --from 2024-01-15 --to 2024-05-30 --horizon 0
expect_rc 2 "--horizon 0"
expect_grep "--horizon: expected a whole number of days >= 1" "$TMP/err" "--horizon 0 message"
up --data "$S" backtest --from 2024-01-15 --to 2024-02-20 --horizon 30
expect_rc 2 "a horizon past --to"
expect_grep "the horizon reaches past --to" "$TMP/err" "no month end fits"
up --data "$S" backtest --from 2024-06-01 --to 2024-05-30
expect_rc 2 "--from after --to"
expect_grep "is after --to" "$TMP/err" "--from after --to message"
up --data "$S" backtest --from 2024-13-01 --to 2024-05-30
expect_rc 2 "a bad date"
expect_grep "--from: cannot parse '2024-13-01'" "$TMP/err" "the bad date named"
up --data "$S" backtest --from 2024-04-01 --to 2024-05-30 --horizon 30 --suggest-weights
expect_rc 2 "one snapshot cannot be split"
expect_grep "needs at least 2 snapshots" "$TMP/err" "why"
say "report retention --by start_month: the classic grid, worked by hand"
# As of 2024-12-31 (the last day of its month: December counts). Cohorts by
# the first start: 2023-12 = X, Y, A, B (contract 12-01); 2024-03 = Z.
# ARR at the end of 2023-12: X 1000, Y 0 (it has a subscriptions row, none
# active yet), A 4000, B 5000 = 10000; Z at 2024-03-31: 3000.
# 2023-12 + 3 = end of 2024-03: X, Y churned; A, B customers -> 2/4 = 0.5,
#   ARR 9000 / 10000 = 0.9. + 6 = 2024-06-30: Y back (subscription 04-10,
#   ARR 1000), A churned 06-15, B 05-30 -> 1/4, 1000/10000 = 0.1. + 12 =
#   2024-12-31: the same, 0.25 and 0.1. + 18 is past D: no such column.
# 2024-03 + 3 = 06-30 and + 6 = 09-30: Z a customer, 1.0 and 1.0; + 12 =
#   2025-03: not reached, empty.
ok --data "$S" report retention --at 2024-12-31 --by start_month --format csv
cat >"$TMP/grid.csv" <<'CSV'
group,accounts,arr_start,logo_m3,nrr_m3,logo_m6,nrr_m6,logo_m12,nrr_m12
2023-12,4,10000.0,0.5,0.9,0.25,0.1,0.25,0.1
2024-03,1,3000.0,1.0,1.0,1.0,1.0,,
CSV
expect_same "$TMP/out" "$TMP/grid.csv" "the start-month grid"
# one day earlier, December is not over: month 12 of the first cohort is not reached
ok --data "$S" report retention --at 2024-12-30 --by start_month --format csv
expect_eq "$(head -1 "$TMP/out")" "group,accounts,arr_start,logo_m3,nrr_m3,logo_m6,nrr_m6" "only m3 and m6 by 12-30"
up --data "$S" report retention --at 2024-12-31 --by start_month --horizon 30
expect_rc 2 "start_month takes no --horizon"
echo "ok $TEST_NAME"
