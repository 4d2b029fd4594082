#!/bin/sh
# examples/ravenstack/load.sh against the RavenStack data set (../shared/data/ravenstack
# beside the repository), then report values checked against the raw CSVs with
# sqlite3: the metrics the data supports, and nulls where it has nothing.
set -eu
. "$(dirname "$0")/lib.inc"
# The data set is not in this repository (a third party's); it lives in the
# project's shared folder beside the checkout, or wherever RAVENSTACK_DIR says.
DATA=${RAVENSTACK_DIR:-$TESTS_DIR/../../../shared/data/ravenstack}
if [ ! -d "$DATA" ]; then
    [ "${UPTAKE_REQUIRE_RAVENSTACK:-}" = 1 ] &&
        fail "RavenStack data not found at $DATA (set RAVENSTACK_DIR)"
    echo "SKIP [ravenstack] no RavenStack data at $DATA: set RAVENSTACK_DIR=path/to/ravenstack to run this test"
    exit 0
fi
DATA=$(cd "$DATA" && pwd)
command -v sqlite3 >/dev/null || fail "sqlite3 (Debian package sqlite3) is needed to check the RavenStack report"
D=$TMP/store
AS_OF=2024-12-31   # the last day of the data set

say "load.sh: every row of the four files goes in, nothing rejected"
UPTAKE="$UPTAKE" run sh "$REPO/examples/ravenstack/load.sh" "$DATA" "$D"
[ "$RC" -eq 0 ] || fail "load.sh exited $RC"
# row counts of the files (wc -l minus the header): 500 accounts, 600 churn
# events, 5000 subscriptions, 25000 usage rows; usage_id is unique.
expect_grep "ravenstack_accounts.csv: read 500, stored 500, duplicates 0, rejected 0" "$TMP/out" "accounts import"
expect_grep "ravenstack_churn_events.csv: read 600, stored 600, duplicates 0, rejected 0" "$TMP/out" "churn import"
# the subscriptions go in twice: as users (for the usage rows) and as subscriptions (seats)
expect_eq "$(grep -c -F "ravenstack_subscriptions.csv: read 5000, stored 5000, duplicates 0, rejected 0" "$TMP/out")" 2 \
    "subscriptions imported as users and as subscriptions"
expect_grep "ravenstack_feature_usage.csv: read 25000, stored 25000, duplicates 0, rejected 0" "$TMP/out" "usage import"
expect_grep "events      25000 (2023-01-01T00:00:00Z .. 2024-12-31T00:00:00Z)" "$TMP/out" "status: events"
# 4967 of the 5000 subscriptions have usage rows; every account has some
expect_grep "users       4967 in events" "$TMP/out" "status: subscriptions seen in usage"
expect_grep "accounts    500 in events" "$TMP/out" "status: accounts seen in usage"
expect_grep "tables      500 accounts, 5000 users, 0 surveys, 5000 subscriptions, 0 outcomes, 2000 tickets, 0 milestones, 0 rejects" "$TMP/out" "status: tables"

say "re-running the usage import stores nothing (usage_id is the message id)"
ok --data "$D" import events --map-file "$REPO/examples/ravenstack/usage.map" "$DATA/ravenstack_feature_usage.csv"
expect_grep "read 25000, stored 0, duplicates 25000, rejected 0" "$TMP/out" "usage re-import"

say "the same figures from the raw CSVs with sqlite3"
# window(28) = 2024-12-04..12-31, window(7) = 12-25..31, WAU(T-7d) = 12-18..24.
# A "user" is a subscription; its account is the subscription's account_id.
# seats at T (the end of the day AS_OF) = the seats of the account's
# subscriptions active at T: start <= T < end, a date being 00:00 UTC, so
# start_date <= AS_OF and (no end_date, or end_date > AS_OF); an account
# without subscription rows would keep ravenstack_accounts.csv's seats (every
# account has some). Worked out here from the spec, not from uptake's code.
# known_users = subscriptions of the account (all start on or before 2024-12-31).
# user_days = distinct (subscription, day) in window(28), for stickiness.
# core_used = the model's 14 core features used in window(28), for depth.
CORE="'feature_2','feature_7','feature_12','feature_14','feature_15','feature_17','feature_21','feature_26','feature_32','feature_34','feature_36','feature_37','feature_38','feature_39'"
sqlite3 -batch -csv >"$TMP/sql.csv" 2>"$TMP/err" <<SQL || fail "sqlite3 failed"
.import $DATA/ravenstack_accounts.csv acc
.import $DATA/ravenstack_subscriptions.csv subs
.import $DATA/ravenstack_feature_usage.csv usage
CREATE TEMP VIEW u AS SELECT s.account_id, u.subscription_id AS sub, u.usage_date AS day, u.feature_name AS f
  FROM usage u JOIN subs s USING (subscription_id) WHERE u.usage_date <= '$AS_OF';
CREATE TEMP VIEW seats_at AS SELECT a.account_id,
  CASE WHEN EXISTS (SELECT 1 FROM subs s WHERE s.account_id = a.account_id)
       THEN (SELECT coalesce(sum(CAST(s.seats AS INTEGER)), 0) FROM subs s WHERE s.account_id = a.account_id
             AND s.start_date <= '$AS_OF' AND (s.end_date = '' OR s.end_date > '$AS_OF'))
       ELSE CAST(a.seats AS INTEGER) END AS seats
  FROM acc a;
SELECT a.account_id, (SELECT seats FROM seats_at t WHERE t.account_id = a.account_id),
  (SELECT count(*) FROM subs s WHERE s.account_id = a.account_id AND s.start_date <= '$AS_OF'),
  (SELECT count(DISTINCT sub) FROM u WHERE u.account_id = a.account_id AND day = '$AS_OF'),
  (SELECT count(DISTINCT sub) FROM u WHERE u.account_id = a.account_id AND day >= '2024-12-25'),
  (SELECT count(DISTINCT sub) FROM u WHERE u.account_id = a.account_id AND day BETWEEN '2024-12-18' AND '2024-12-24'),
  (SELECT count(DISTINCT sub) FROM u WHERE u.account_id = a.account_id AND day >= '2024-12-04'),
  (SELECT count(DISTINCT sub || ' ' || day) FROM u WHERE u.account_id = a.account_id AND day >= '2024-12-04'),
  (SELECT count(DISTINCT f) FROM u WHERE u.account_id = a.account_id AND day >= '2024-12-04' AND f IN ($CORE))
FROM acc a ORDER BY a.account_id;
SQL
expect_eq "$(wc -l <"$TMP/sql.csv" | tr -d ' ')" 500 "sqlite3 rows"
# Python only formats the ratios the way uptake prints them (repr of a double).
python3 - "$TMP/sql.csv" >"$TMP/expected.csv" <<'PY'
import csv, sys
print("account_id,seats,known_users,dau,wau,wau_prev,mau,active_users,breadth,depth,stickiness")
for a, seats, known, dau, wau, prev, mau, days, core in csv.reader(open(sys.argv[1])):
    seats, known, mau, days, core = int(seats), int(known), int(mau), int(days), int(core)
    breadth = mau / seats if seats else (mau / known if known else None)
    stick = (days / 28) / mau if mau else None
    f = lambda v: "" if v is None else repr(v)
    print(",".join([a, str(seats), str(known), dau, wau, prev, str(mau), str(mau),
                    f(breadth), repr(core / 14), f(stick)]))
PY
ok --data "$D" report accounts --as-of "$AS_OF" --status all --format csv
cp "$TMP/out" "$TMP/report.csv"
cut -d, -f1-11 "$TMP/report.csv" >"$TMP/got.csv"
expect_same "$TMP/got.csv" "$TMP/expected.csv" "report accounts (seats .. stickiness) vs sqlite3 on the raw CSVs"

say "seats at other dates: subscriptions active then, end_date exclusive"
# every account's seats from sqlite3 (same rule as above) against the report,
# on a mid-year date and on days when subscriptions start or end
for T in 2024-06-30 2024-11-15 2024-11-16 2024-12-13; do
    sqlite3 -batch -csv >"$TMP/seats-sql.csv" 2>"$TMP/err" <<SQL || fail "sqlite3 failed (seats at $T)"
.import $DATA/ravenstack_accounts.csv acc
.import $DATA/ravenstack_subscriptions.csv subs
SELECT a.account_id,
  CASE WHEN EXISTS (SELECT 1 FROM subs s WHERE s.account_id = a.account_id)
       THEN (SELECT coalesce(sum(CAST(s.seats AS INTEGER)), 0) FROM subs s WHERE s.account_id = a.account_id
             AND s.start_date <= '$T' AND (s.end_date = '' OR s.end_date > '$T'))
       ELSE CAST(a.seats AS INTEGER) END
FROM acc a ORDER BY a.account_id;
SQL
    expect_eq "$(wc -l <"$TMP/seats-sql.csv" | tr -d ' ')" 500 "sqlite3 rows (seats at $T)"
    ok --data "$D" report accounts --as-of "$T" --status all --format csv
    tail -n +2 "$TMP/out" | cut -d, -f1,2 >"$TMP/seats-got.csv"
    expect_same "$TMP/seats-got.csv" "$TMP/seats-sql.csv" "seats at $T vs sqlite3 on ravenstack_subscriptions.csv"
done

say "one account by hand: A-029f69 (Company_129)"
# ravenstack_accounts.csv says 3 seats; its 16 subscriptions say otherwise. On
# 2024-12-31, 13 are active: 26+24+3+15+27+15+3+3+3+11+7+10+34 = 181 (S-21c164
# starts that day and counts; S-e0bfb1, S-c2c197 and S-32e881 ended before).
# Its subscriptions used features on 2024-12-04..31 as 2 distinct subscriptions
# -> mau 2, breadth 2/181; signup 2024-03-07 is the contract start
expect_eq "$(csv_field "$TMP/report.csv" A-029f69 seats),$(csv_field "$TMP/report.csv" A-029f69 mau),$(csv_field "$TMP/report.csv" A-029f69 breadth)" \
    "181,2,0.011049723756906077" "A-029f69 seats, mau, breadth"
# S-32e881 (3 seats, 2024-10-10 .. 2024-11-16) counts on 11-15, not on 11-16 (end exclusive)
ok --data "$D" report accounts --as-of 2024-11-15 --account A-029f69 --format csv
expect_eq "$(csv_field "$TMP/out" A-029f69 seats)" 122 "A-029f69 seats on 2024-11-15"
ok --data "$D" report accounts --as-of 2024-11-16 --account A-029f69 --format csv
expect_eq "$(csv_field "$TMP/out" A-029f69 seats)" 119 "A-029f69 seats on 2024-11-16 (S-32e881 ended)"
ok --data "$D" report accounts --as-of "$AS_OF" --account A-029f69 --format json
python3 - "$TMP/out" <<'PY' || fail "A-029f69 JSON: name, segment, contract start; churns in the churn table"
import json, sys
a = json.load(open(sys.argv[1]))["accounts"][0]
# churned on 2024-06-17, 2024-10-31 and 2024-12-14: three rows of the churn
# table (churned_at, the accounts table's single date, stays empty); its
# last subscription, S-21c164, starts on 12-31, after the last churn: it came
# back, a customer at 12-31
want = {"name": "Company_129", "segment": "Basic", "contract_start": "2024-03-07", "churned_at": None,
        "status": "customer"}
got = {k: a[k] for k in want}
assert got == want, got
PY

say "what the data cannot support is null: no surveys -> nps, no roles -> champion_active"
awk -F, 'NR > 1 && ($16 != "" || $17 != "") { bad = $1 } END { if (bad) { print bad; exit 1 } }' "$TMP/report.csv" ||
    fail "an account has champion_active or nps although RavenStack has no roles or surveys"
ok --data "$D" report accounts --as-of "$AS_OF" --account A-029f69 --explain
expect_grep "A-029f69" "$TMP/out" "--explain on a RavenStack account"

say "tickets and churn on the account page, against the raw CSVs"
# tickets_90d: submitted_at in window(90) = 2024-10-03 .. 2024-12-31; urgent:
# priority high, urgent or critical; tickets_28d: 2024-12-04 .. 12-31;
# churns: the account page's lifecycle lists the latest churn_date when it
# left the account churned at the date (awk finds it here).
for a in A-029f69 $(awk -F, 'NR > 1 { n[$2]++ } END { for (a in n) if (n[a] >= 8) print a }' \
        "$DATA/ravenstack_support_tickets.csv" | LC_ALL=C sort | head -3); do
    want=$(awk -F, -v a="$a" 'NR > 1 && $2 == a { d = substr($3, 1, 10)
            if (d >= "2024-10-03" && d <= "2024-12-31") { n90++; if ($6 == "high" || $6 == "urgent" || $6 == "critical") u++ }
            if (d >= "2024-12-04" && d <= "2024-12-31") n28++ }
        END { printf "%d,%d,%d", n28, n90, u }' "$DATA/ravenstack_support_tickets.csv")
    churn=$(awk -F, -v a="$a" 'NR > 1 && $2 == a && $3 > c { c = $3 } END { print c }' "$DATA/ravenstack_churn_events.csv")
    ok --data "$D" report account "$a" --as-of "$AS_OF" --format csv
    got=$(awk -F, '$1 == "support" && $2 == "tickets_28d" { a = $3 } $1 == "support" && $2 == "tickets_90d" { b = $3 }
        $1 == "support" && $2 == "urgent_90d" { c = $3 } END { printf "%s,%s,%s", a, b, c }' "$TMP/out")
    expect_eq "$got" "$want" "$a: tickets in 28 and 90 days, urgent in 90"
    if grep -q "^account,status,churned" "$TMP/out"; then
        expect_grep "lifecycle,${churn}T00:00:00Z,churned" "$TMP/out" "$a: the latest churn on the lifecycle"
    fi
done

say "report features: 40 rows per account"
ok --data "$D" report features --as-of "$AS_OF" --status all --format csv
expect_eq "$(($(wc -l <"$TMP/out") - 1))" 20000 "500 accounts x 40 features"
echo "ok $TEST_NAME"
