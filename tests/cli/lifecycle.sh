#!/bin/sh
# Lifecycle (docs/metrics.md, "Customers, churn and renewals"): the churn
# import, status at T, ARR at T, the portfolio filtered to the customers,
# alerts on churn, the account page's lifecycle, and retention by cohort.
# Fixture tests/fixtures/lifecycle, worked out by hand. A start is a
# contract_start (00:00 UTC of its day) or a subscription's start; a churn is
# a churned_at (00:00 UTC of its day) or a churn-table row. Status at T:
# churned when the latest churn <= T is later than the latest start <= T;
# prospect when no start <= T but one after T; else customer.
#   A   contract 2026-01-01; churn 2026-03-01T00:00Z; subscription from
#       2026-05-01 (came back); churn 2026-08-15T12:00Z (a second churn).
#       02-28 customer; 03-01 churned (churn at 00:00 <= T, after the start);
#       04-30 churned; 05-01 customer (the start 05-01 is later than the
#       churn); 08-15T11:59:59Z customer; 08-15T12:00:00Z churned (a churn at
#       T exactly counts).
#   P   contract 2026-06-01: prospect until 05-31 (no start <= T, one
#       after), customer from 06-01.
#   E   known only from events: a customer at every T.
#   Z   a churn row of an account not in the accounts table: rejected, the
#       other three rows go in.
set -eu
. "$(dirname "$0")/lib.inc"
FX=$REPO/tests/fixtures/lifecycle
S=$TMP/store
ok --data "$S" init -q --model "$FX/model.yaml"
ok --data "$S" import -q accounts "$FX/accounts.csv"
ok --data "$S" import -q subscriptions "$FX/subscriptions.csv"
ok --data "$S" import -q events "$FX/events.csv"

say "import churn: the row for the unknown account Z is a reject with its reason; the rest goes in"
up --data "$S" import churn "$FX/churn.csv"
expect_eq "$(summary)" "$FX/churn.csv: read 4, stored 3, duplicates 0, rejected 1" "churn import summary"
ok --data "$S" rejects --format csv
expect_grep "no account 'Z' in the accounts table" "$TMP/out" "the reject's reason"
expect_eq "$(sed 1d "$TMP/out" | wc -l | tr -d ' ')" 1 "one reject"

# status ACCOUNT T: its status column in report accounts --status all
status() {
    ok --data "$S" report accounts --as-of "$2" --status all --format csv
    csv_field "$TMP/out" "$1" status
}
say "status through churn, reactivation and a second churn (A), a prospect (P), events only (E)"
expect_eq "$(status A 2026-02-28)" customer "A on 02-28"
expect_eq "$(status A 2026-03-01)" churned "A on 03-01 (churn at 00:00 that day)"
expect_eq "$(status A 2026-04-30)" churned "A on 04-30"
expect_eq "$(status A 2026-05-01)" customer "A on 05-01 (came back: a subscription starts)"
expect_eq "$(status A 2026-08-15T11:59:59Z)" customer "A a second before the second churn"
expect_eq "$(status A 2026-08-15T12:00:00Z)" churned "A at the second churn exactly"
expect_eq "$(status P 2026-05-31)" prospect "P before its contract starts"
expect_eq "$(status P 2026-06-01)" customer "P from its contract start"
expect_eq "$(status E 2026-03-01)" customer "E (events only)"

say "the portfolio lists the customers by default; --status shows the others"
ok --data "$S" report accounts --as-of 2026-03-01 --format csv
expect_eq "$(sed 1d "$TMP/out" | cut -d, -f1 | tr '\n' ' ')" "E R1 R2 R3 R4 R5 R8 " "customers on 03-01"
expect_grep ",status," "$TMP/out" "status is a column"
ok --data "$S" report accounts --as-of 2026-03-01 --status churned,prospect --format csv
expect_eq "$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") k = i; next } { printf "%s=%s ", $1, $k }' "$TMP/out")" \
    "A=churned P=prospect R6=churned R7=prospect " "--status churned,prospect"
ok --data "$S" report features --as-of 2026-03-01 --format csv
expect_no_grep "A," "$TMP/out" "report features leaves A out"
# report users and stages list the customers' users too: A (churned on
# 03-01) drops out, --status all or --account A brings it back
ok --data "$S" report users --as-of 2026-03-01 --format csv
expect_no_grep "A,u1," "$TMP/out" "report users leaves the churned A out"
expect_grep "E,e1," "$TMP/out" "and keeps the event-only customer E"
ok --data "$S" report users --as-of 2026-03-01 --status all --format csv
expect_grep "A,u1," "$TMP/out" "report users --status all lists A"
ok --data "$S" report users --as-of 2026-03-01 --account A --format csv
expect_grep "A,u1," "$TMP/out" "report users --account A lists A"
ok --data "$S" report stages --as-of 2026-02-28 --format csv
cp "$TMP/out" "$TMP/stages-before.csv"
ok --data "$S" report stages --as-of 2026-02-28 --status churned --format csv
expect_eq "$(sed -n 2p "$TMP/out" | cut -d, -f2-6)" "0,0,0,0,0" "no churned account on 02-28: an empty funnel"
ok --data "$S" report gaps --as-of 2026-03-01 --status all --format csv
expect_grep "R6," "$TMP/out" "report gaps --status all lists R6"
ok --data "$S" report accounts --as-of 2026-03-01 --account A --format csv
expect_eq "$(csv_field "$TMP/out" A status)" churned "--account names one account whatever its status"
up --data "$S" report accounts --status gone
expect_rc 2 "--status gone is a usage error"

say "alerts: open on customers only; an open alert resolves when the account churns"
ok --data "$S" alerts evaluate --as-of 2026-02-28 --wait 0
# customers on 02-28: A E R1 R2 R3 R4 R5 R8 (R6 churned on 02-01, P and R7 not begun)
expect_grep "alerts as of 2026-02-28: 8 accounts" "$TMP/out" "8 customers evaluated"
ok --data "$S" alerts list --format csv
expect_no_grep "R6," "$TMP/out" "nothing opens on R6 (churned)"
expect_no_grep "P," "$TMP/out" "nothing opens on P (prospect)"
ok --data "$S" alerts evaluate --as-of 2026-03-01 --wait 0
ok --data "$S" alerts list --state resolved --format csv
expect_eq "$(sed 1d "$TMP/out" | cut -d, -f1,2 | sort | tr '\n' ' ')" "A,gone_quiet A,no_first_value " "A's alerts resolve"
id=$(sed -n 2p "$TMP/out" | cut -d, -f6)
ok --data "$S" alerts show "$id"
expect_grep "resolved  the account churned" "$TMP/out" "the reason in the alert's history"

say "the account page shows the lifecycle (text, CSV, JSON, HTML)"
ok --data "$S" report account A --as-of 2026-08-16
expect_grep "Lifecycle: started 2026-01-01 → churned 2026-03-01 → came back 2026-05-01 → churned 2026-08-15" \
    "$TMP/out" "text lifecycle"
expect_grep "STATUS churned at 2026-08-16" "$TMP/out" "text status"
ok --data "$S" report account A --as-of 2026-08-16 --format csv
expect_grep "lifecycle,2026-05-01T00:00:00Z,came back" "$TMP/out" "CSV lifecycle"
ok --data "$S" report account A --as-of 2026-08-16 --format json
python3 - "$TMP/out" <<'PY' || fail "JSON lifecycle"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "churned", d["status"]
got = [(e["at"], e["event"], e["source"]) for e in d["lifecycle"]]
assert got == [("2026-01-01T00:00:00Z", "started", "contract_start"), ("2026-03-01T00:00:00Z", "churned", "churn"),
               ("2026-05-01T00:00:00Z", "came back", "subscription"),
               ("2026-08-15T12:00:00Z", "churned", "churn")], got
PY
ok --data "$S" report account A --as-of 2026-08-16 --format html --audience internal
expect_grep "came back 2026-05-01" "$TMP/out" "HTML lifecycle"

# Retention at D = 2026-03-31 over 90 days (to 2026-06-29). Customers at D:
# E (events only, no ARR), R1 R2 R3 R4 R5 R8; not A (churned 03-01), R6
# (churned 02-01), P and R7 (prospects). ARR at T: the active subscriptions'
# arr when the account has subscriptions, else accounts.arr; 0 when not a
# customer at T; no ARR at all counts 0.
#   R1 smb ann  accounts.arr 1000, stays:           1000 -> 1000
#   R2 smb bob  subscription 2000 to 05-01, then 3000 (expansion): 2000 -> 3000
#   R3 smb bob  subscription 4000 to 04-15, then 2500 (contraction): 4000 -> 2500
#   R4 ent bob  5000, churned_at 2026-06-29 = D + 90 (inside (D, D+90]): 5000 -> 0
#   R5 ent cat  3000, churn row 2026-04-20:           3000 -> 0
#   R8 trial    no ARR:                               0 -> 0
#   E  (none)   no ARR:                               0 -> 0
# smb: 3 accounts, 0 churned, logo 1; arr 7000 -> 6500; nrr 6500/7000 =
#   0.9285714285714286; grr (1000 + 2000 + 2500)/7000 = 0.7857142857142857
# ent: 2 accounts, 2 churned, logo 0; 8000 -> 0; nrr 0, grr 0
# trial and (none): arr_start 0 -> nrr and grr null
say "retention by segment: an expansion, a contraction, two churns, a group without ARR"
ok --data "$S" report retention --at 2026-03-31 --horizon 90 --by segment --format csv
expect_eq "$(cat "$TMP/out")" "group,accounts,churned,logo_retention,arr_start,arr_end,nrr,grr
ent,2,2,0.0,8000.0,0.0,0.0,0.0
smb,3,0,1.0,7000.0,6500.0,0.9285714285714286,0.7857142857142857
trial,1,0,1.0,0.0,0.0,,
(none),1,0,1.0,0.0,0.0,," "retention by segment"

# by level: every account is low (no adoption): 7 accounts, 2 churned,
# logo 1 - 2/7 = 0.7142857142857143; 15000 -> 6500: nrr 0.43333333333333335,
# grr 5500/15000 = 0.36666666666666664
say "retention by level, by owner, by health band, by a metric's quartiles"
ok --data "$S" report retention --at 2026-03-31 --horizon 90 --by level --format csv
expect_eq "$(sed 1d "$TMP/out")" "low,7,2,0.7142857142857143,15000.0,6500.0,0.43333333333333335,0.36666666666666664" "by level"
# owner: ann R1; bob R2 R3 R4 (11000 -> 5500, kept 2000 + 2500 + 0 = 4500:
# grr 4500/11000 = 0.4090909090909091); cat R5; (none) R8 and E
ok --data "$S" report retention --at 2026-03-31 --horizon 90 --by owner --format csv
expect_eq "$(sed 1d "$TMP/out" | tr '\n' ' ')" "ann,1,0,1.0,1000.0,1000.0,1.0,1.0 bob,3,1,0.6666666666666667,11000.0,5500.0,0.5,0.4090909090909091 cat,1,1,0.0,3000.0,0.0,0.0,0.0 (none),2,0,1.0,0.0,0.0,, " "by owner"
ok --data "$S" report retention --at 2026-03-31 --horizon 90 --by health_band --format csv
expect_eq "$(sed 1d "$TMP/out" | cut -d, -f1,2)" "0-20,7" "by health_band: every health is under 20"
# seats at D: E 0, R1 10, R2 20, R3 30, R4 40, R5 50, R8 60 (n = 7); the
# quartile of a value is 1 + floor(4 x (its first rank, from 0) / n): E 0 and
# R1 0 -> Q1; R2 8/7 and R3 12/7 -> Q2; R4 16/7 and R5 20/7 -> Q3; R8 24/7 -> Q4
ok --data "$S" report retention --at 2026-03-31 --horizon 90 --by seats --format csv
expect_eq "$(sed 1d "$TMP/out" | cut -d, -f1-3,7,8 | tr '\n' ' ')" "Q1,2,0,1.0,1.0 Q2,2,0,0.9166666666666666,0.75 Q3,2,2,0.0,0.0 Q4,1,0,, " "by seats (quartiles)"

say "a horizon that ends before a churn: R4 (churned_at 06-29) is retained over 89 days"
ok --data "$S" report retention --at 2026-03-31 --horizon 89 --by segment --format csv
expect_eq "$(sed -n 2p "$TMP/out")" "ent,2,1,0.5,8000.0,5000.0,0.625,0.625" "ent over 89 days"

say "bad input: --horizon 0, a missing --by, an unknown grouping"
up --data "$S" report retention --at 2026-03-31 --horizon 0 --by level
expect_rc 2 "--horizon 0"
expect_grep "expected a whole number of days >= 1" "$TMP/err" "--horizon 0 says why"
up --data "$S" report retention --at 2026-03-31 --horizon 30
expect_rc 2 "no --by"
up --data "$S" report retention --at 2026-03-31 --horizon 30 --by colour
expect_rc 2 "--by colour"

say "a store written before the churn table: read-only reports still run, with no churns"
command -v sqlite3 >/dev/null || fail "sqlite3 is required (scripts/deps.sh installs it)"
cp -r "$S" "$TMP/old"
sqlite3 "$TMP/old/uptake.db" "DROP TABLE churns"
ok --data "$TMP/old" report accounts --as-of 2026-03-31 --status all --format csv
expect_grep "customer" "$TMP/out" "an old store reports"
echo "ok lifecycle"
