#!/bin/sh
# report renewals and the alert rule renewal_at_risk, on tests/fixtures/backtest
# (its accounts, churns and the hand computation are in tests/cli/backtest.sh).
#
# As of 2024-05-30 with --days 30: the customers then are A (churns 06-15,
# later), Y (back since its 04-10 subscription) and Z; X and B have churned
# (B on 05-30 10:00). Renewal days: A 06-10 (renewal_date, in 11 days), Z
# 07-15 (46 days: outside 30), Y none (its subscription has no end), B 06-01
# but not a customer. So one row: A.
# The probability: the backtest from 2023-05-31 (05-30 - 365 days) to
# 2024-05-30 with a 30-day horizon: month ends 2023-05-31 … 2024-04-30; no
# account is a customer before 2023-12-01, so rows at 2023-12-31 (X Y A B, no
# churn by 01-30), then the four snapshots of backtest.sh. Health bands: A at
# 01-31 is in 20-40 (35.4); every other row scores below 20: 4 + 13 = 17 rows
# in 0-20 with 4 churned. A at 05-30 has no activity for months: health 0 (its
# only component with a value, consistency, is 0) -> band 0-20 ->
# P = 4/17, ARR 4000 (accounts.arr), at risk 4000 x 4/17.
set -eu
. "$(dirname "$0")/lib.inc"
FX=$REPO/tests/fixtures/backtest
S=$TMP/store
backtest_store "$S"

say "the forecast row of A, by hand"
ok --data "$S" report renewals --as-of 2024-05-30 --days 30 --format json
python3 - "$TMP/out" <<'PY' || fail "report renewals JSON"
import json, sys
b = json.load(open(sys.argv[1]))
rows = b["renewals"]
assert [r["account_id"] for r in rows] == ["A"], rows
a = rows[0]
assert (a["renewal_date"], a["days_to_renewal"], a["arr"], a["health"], a["level"]) == ("2024-06-10", 11, 4000.0, 0.0, "low"), a
assert a["churn_probability"] == 4 / 17 and a["probability_rows"] == 17, a
assert a["arr_at_risk"] == 4000.0 * (4 / 17), a
assert a["open_alerts"] == 0, a
assert b["total_arr"] == 4000.0 and b["total_arr_at_risk"] == a["arr_at_risk"], b
c = b["calibration"]
assert (c["from"], c["to"], c["horizon"], c["snapshots"]) == ("2023-05-31", "2024-05-30", 30, 12), c
PY
ok --data "$S" report renewals --as-of 2024-05-30 --days 60 --format csv
expect_eq "$(sed 1d "$TMP/out" | cut -d, -f1 | tr '\n' ' ')" "A Z " "60 days: A, then Z (07-15 is day 46)"
ok --data "$S" report renewals --as-of 2024-05-30 --days 30
expect_grep "Total ARR renewing 4000, at risk 941." "$TMP/out" "the totals line"
up --data "$S" report renewals --as-of 2024-05-30 --days 0
expect_rc 2 "--days 0"
up --data "$S" report accounts --days 30
expect_rc 2 "--days on another report"

say "renewal_at_risk: a renewal within renewal_days and P(churn) above renewal_risk_probability"
# churn_probability uses the renewal window (90 days) as the horizon: month
# ends t <= 03-01: 12-31 (X, Y churn by 03-30), 01-31 (X, Y by 04-30), 02-29
# (X by 05-29; Y churned at T, out) -> 10 rows in 0-20 with 5 churned = 0.5
# (A at 01-31, 20-40, retained). A (11 days) and Z (46 days) have health 0:
# 0.5 > 0.2 -> both open, whatever their level.
ok --data "$S" alerts evaluate --as-of 2024-05-30 --wait 0
ok --data "$S" alerts list --format csv
expect_eq "$(grep -c 'renewal_at_risk' "$TMP/out")" 2 "two renewal_at_risk alerts"
expect_grep "A,renewal_at_risk,critical,open" "$TMP/out" "on A"
expect_grep "Z,renewal_at_risk,critical,open" "$TMP/out" "on Z"
ok --data "$S" report renewals --as-of 2024-05-30 --days 30 --format csv
# A has four alerts open: renewal_at_risk, gone_quiet, no_first_value, low_platform_access
expect_grep "A,Alpha,ann,2024-06-10,11,4000.0,0.0,low,,4,0.23529411764705882,17,941.1764705882352" "$TMP/out" "open alerts counted on the forecast row"
echo "ok $TEST_NAME"
