#!/bin/sh
# The churn calibration kept across runs (backtest.c, docs/alerts.md): used
# again while nothing it depends on changed, computed again when it did.
# On tests/fixtures/backtest as of 2024-05-30 with --days 30 the calibration
# (tests/cli/renewals.sh works it out by hand) has its last month end on
# 2024-04-30, and puts A in band 0-20 with 4 churned of 17 rows. To see
# whether a run used the kept row, the test overwrites that row's band 0-20
# with 33 churned of 99: a run that shows 33/99 used it.
set -eu
. "$(dirname "$0")/lib.inc"
FX=$REPO/tests/fixtures/backtest
S=$TMP/store
backtest_store "$S"

# prob: A's churn_probability in `report renewals`
prob() {
    ok --data "$S" report renewals --as-of 2024-05-30 --days 30 --format json
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["renewals"][0]["churn_probability"])' "$TMP/out"
}
# tamper: band 0-20 of every kept calibration becomes 33 of 99
tamper() {
    python3 - "$S/uptake.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT key, value FROM calibration_cache").fetchall()
assert 1 <= len(rows) <= 64, rows
for key, value in rows:
    v = value.split()
    v[1], v[2] = "99", "33"
    db.execute("UPDATE calibration_cache SET value = ? WHERE key = ?", (" ".join(v), key))
db.commit()
PY
}
TRUE=$(python3 -c 'print(4 / 17)')
FAKE=$(python3 -c 'print(33 / 99)')

say "the first run computes and keeps it"
expect_eq "$(prob)" "$TRUE" "P(churn) of A, computed"
tamper
expect_eq "$(prob)" "$FAKE" "the second run uses the kept calibration"

say "an event after the last month end (2024-05-10, another account) leaves it valid"
printf 'ts,user_id,account_id,event\n2024-05-10T09:00:00Z,q9,Q,use\n' >"$TMP/late.csv"
ok --data "$S" import -q events "$TMP/late.csv"
expect_eq "$(prob)" "$FAKE" "kept across an event after 2024-04-30"

say "an event at or before it (2024-04-30 23:00) makes it be computed again"
printf 'ts,user_id,account_id,event\n2024-04-30T23:00:00Z,a1,A,use\n' >"$TMP/early.csv"
ok --data "$S" import -q events "$TMP/early.csv"
P=$(prob)
[ "$P" != "$FAKE" ] || fail "an event on 2024-04-30 did not invalidate the kept calibration"

say "a CRM change (the accounts imported again) makes it be computed again"
# the same events and CRM rows as a fresh store with both files: the same number
F=$TMP/fresh
backtest_store "$F"
ok --data "$F" import -q events "$TMP/late.csv"
ok --data "$F" import -q events "$TMP/early.csv"
ok --data "$F" report renewals --as-of 2024-05-30 --days 30 --format json
FRESH=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["renewals"][0]["churn_probability"])' "$TMP/out")
expect_eq "$P" "$FRESH" "the recomputed calibration equals a fresh store's"
tamper
expect_eq "$(prob)" "$FAKE" "kept again"
ok --data "$S" import -q accounts "$FX/accounts.csv"
expect_eq "$(prob)" "$FRESH" "computed again after the accounts import"

say "a model change makes it be computed again"
tamper
ok --data "$S" model set "$FX/model.yaml"
expect_eq "$(prob)" "$FAKE" "the same model text keeps it"
sed 's/^name:.*/&-changed/' "$FX/model.yaml" >"$TMP/model2.yaml"
cmp -s "$TMP/model2.yaml" "$FX/model.yaml" && printf '\n# another text\n' >>"$TMP/model2.yaml"
ok --data "$S" model set "$TMP/model2.yaml"
expect_eq "$(prob)" "$FRESH" "computed again under another model text"
echo "PASS calibration_cache"
