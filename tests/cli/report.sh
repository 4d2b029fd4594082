#!/bin/sh
# Imports the hand-made fixture (tests/fixtures/cli: model.yaml, accounts.csv,
# users.csv, surveys.csv, events.csv) and compares `report accounts` and
# `report features` as of 2026-03-31 with values worked out by hand below.
set -eu
. "$(dirname "$0")/lib.inc"

# ---------------------------------------------------------------------------
# The hand computation (metrics.md). T = 2026-03-31T23:59:59.999Z, D0 = 03-31.
#   window(28) = 03-04 .. 03-31     window(7) = 03-25 .. 03-31
#   WAU(T-7d)  = 03-18 .. 03-24     window(14) = 03-18 .. 03-31
#   window(90) = 2026-01-01 .. 03-31 (Jan 31 + Feb 28 + Mar 31 = 90 days)
#   activation cohort: created 02-18 (D0-41) .. 03-17 (D0-14)
#   consistency blocks k = 0..11, first days 03-25, 03-18, 03-11, 03-04,
#     02-25, 02-18, 02-11, 02-04, 01-28, 01-21, 01-14, 01-07 (block 11 = 01-07..01-13)
# level (thresholds 0.40 / 0.30, no outcomes): acme breadth 0.4 (not below 0.40)
#   and depth 1.0 -> high; beta and delta breadth 1.0, depth 0.5 -> high;
#   gamma breadth 0.0 -> low.
# Model: reports (core: report.view, report.create; exposure tour.reports),
#   dashboards (core: dashboard.view), exports (not core: export.csv);
#   passive: login; key action: report.create. settings.open is in no feature.
#
# acme: seats 10, contract_start 2026-01-01, users table a1 (champion, 01-05),
#   a2 (02-20), a3 (03-01), a4 (04-10: after T, not known).
#   Events: a1 01-10 report.create (first key action), a1 03-20 + 03-31 report.view,
#   a2 03-03T23:59:59 report.create (one second before window(28)),
#   a2 03-31T23:59:59 dashboard.view (last second of D0),
#   a3 03-04T00:00:00 export.csv (first instant of window(28)), a3 03-19
#   settings.open (in no feature, still active), a3 03-20 login (passive),
#   a3 03-25 tour.reports (exposure, passive), a5 03-26 export.csv (a user seen
#   only in events), a1 04-01T00:00 and a7 04-02 (after T: ignored).
#   known_users = a1 a2 a3 + a5 (event-only; a7's only event is after T) = 4
#   dau = {a1, a2} = 2; wau = {a1, a2, a5} = 3; wau_prev = {a3 03-19, a1 03-20} = 2
#   mau = active_users = {a1, a2, a3, a5} = 4;  breadth = 4/10 = 0.4
#   depth: reports (a1), dashboards (a2) = 2/2 = 1.0
#   stickiness: user-days in window(28): 03-04 a3, 03-19 a3, 03-20 a1, 03-26 a5,
#     03-31 a1 a2 = 6 -> (6/28)/4 = 0.05357142857142857
#   wau_trend = (3-2)/2 = 0.5;  ttfv_days = 01-10 - 01-01 = 9
#   activation_rate: cohort a2 (key action 03-03 < 02-20 + 14 d) and a3 (none) = 1/2 = 0.5
#   consistency: all 12 blocks start on/after 01-01; active blocks k=0 (03-26, 03-31),
#     k=1 (03-19/20), k=3 (03-04), k=4 (03-03 23:59:59), k=11 (01-10) = 5/12 = 0.4166666666666667
#   champion_active: a1 active 03-20 and 03-31 (in window(14)) = true
#   nps: in window(90): 10 (promoter), 6 (detractor), 9 (promoter); 2025-12-31T23:59:59
#     (one second before) and 2026-04-01 (after T) left out; csat ignored
#     -> 100*(2-1)/3 = 33.333333333333336
#   health = sum(weight/1.0 * score): breadth 40*.3, depth 100*.25,
#     stickiness 200*0.0535714.. = 10.714285714285714 *.15, consistency 41.666..*.1,
#     trend 50+100*0.5 = 100 *.1, nps (33.33..+100)/2 = 66.666..*.1
#     = 12 + 25 + 1.607142857142857 + 4.166666666666667 + 10 + 6.666666666666668
#     = 59.44047619047619
# beta: seats empty (0), contract_start 03-01, users b1 (" Champion ", 03-10), b2 (no created_at).
#   Events: b1 03-12 report.create, b2 03-28 login (passive), b2 03-29 export.csv.
#   known_users 2; dau 0; wau {b2} = 1; wau_prev 0; mau 2; breadth (seats 0) = 2/2 = 1.0
#   depth = reports only = 1/2 = 0.5; stickiness = (2/28)/2 = 0.03571428571428571
#   wau_trend null (wau_prev 0); ttfv = 03-12 - 03-01 = 11
#   activation: cohort b1 (03-10), key action 03-12 -> 1/1 = 1.0
#   consistency: blocks starting on/after 03-01 are k=0..3; active k=0 (03-29), k=2 (03-12) = 2/4 = 0.5
#   champion_active: b1 (trimmed, case-insensitive) not active since 03-12 = false; nps null
#   health = weights .3 .25 .15 .1 rescaled by 0.8:
#     (.3/.8)*100 + (.25/.8)*50 + (.15/.8)*7.142857142857142 + (.1/.8)*50 = 60.71428571428571
# delta: only in events: d1 2026-03-31T01:00:00+02:00 = 03-30T23:00Z report.view.
#   seats 0, known 1 (event-only), dau 0 (the offset moves it to 03-30), wau 1, wau_prev 0,
#   mau 1, breadth 1/1 = 1.0, depth 1/2 = 0.5, stickiness (1/28)/1 = 0.03571428571428571,
#   ttfv null (report.view is no key action), activation null (no users table rows),
#   consistency: no contract_start, 12 blocks, 1 active = 0.08333333333333333,
#   champion null, nps null; health = (.3/.8)*100 + (.25/.8)*50 + (.15/.8)*7.142857142857142
#   + (.1/.8)*8.333333333333332 = 55.50595238095237
# gamma: seats 5, no users, no events: zeros; breadth 0/5 = 0.0; depth 0/2 = 0.0;
#   stickiness, wau_trend, ttfv, activation null; consistency 0/12 = 0.0; champion, nps null;
#   health from breadth, depth, consistency, all 0 = 0.0
# events_28d (non-passive events in window(28), ts <= T) and intensity (/ user-days):
#   acme m02 m03 m05 m07 m10 m12 = 6 (m04 is 03-03, m06 login and m09 tour are
#   passive, m08 m11 after T) over the 6 user-days of stickiness = 1.0;
#   beta m13 m15 = 2 / 2 = 1.0; delta m16 = 1 / 1 = 1.0; gamma 0, intensity null.
#   (tests/cli/intensity.sh has several events a day.)
# Features (users who used f in window(28) / active_users):
#   acme reports {a1} 1/4 (a2's 03-03 report.create is outside, a3's tour is exposure),
#   dashboards {a2} 1/4 (a1's 04-01 is after T), exports {a3, a5} 2/4;
#   beta reports {b1} 1/2, dashboards 0/2, exports {b2} 1/2;
#   delta reports 1/1, dashboards 0/1, exports 0/1; gamma: 0 active users -> null.
# ---------------------------------------------------------------------------

D=$TMP/store
U() { up --data "$D" "$@"; }

say "init with tests/fixtures/cli/model.yaml and import the four tables"
ok --data "$D" init --model "$FIX/model.yaml"
for t in accounts users surveys events; do
    ok --data "$D" import "$t" "$FIX/$t.csv"
done
ok --data "$D" status
expect_grep "events      16 (" "$TMP/out" "status counts the 16 stored events"
expect_grep "tables      3 accounts, 6 users, 7 surveys, 0 subscriptions, 0 outcomes, 0 tickets, 0 milestones, 0 rejects" "$TMP/out" "status tables"

say "report accounts --format csv equals the hand-worked expected-accounts.csv"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
cp "$TMP/out" "$TMP/accounts.csv"
expect_same "$TMP/accounts.csv" "$FIX/expected-accounts.csv" "report accounts --format csv"
expect_eq "$(head -1 "$TMP/accounts.csv")" \
    "account_id,seats,known_users,dau,wau,wau_prev,mau,active_users,breadth,depth,stickiness,wau_trend,ttfv_days,activation_rate,consistency,champion_active,nps,health,level,status,events_28d,intensity,name,segment,owner,arr,renewal_date" \
    "CSV header"

say "report features --format csv equals expected-features.csv"
ok --data "$D" report features --as-of 2026-03-31 --format csv
cp "$TMP/out" "$TMP/features.csv"
expect_same "$TMP/features.csv" "$FIX/expected-features.csv" "report features --format csv"

say "--as-of takes the end of the UTC day: as of 03-30, a2's 23:59:59 event and a1's 03-31 are out"
ok --data "$D" report accounts --as-of 2026-03-30 --account acme --format csv
# D0 = 03-30: acme has no active user on 03-30 -> dau 0;
# wau (03-24..03-30) = {a5 03-26} = 1 (a3's 03-25 tour.reports is passive)
expect_eq "$(csv_field "$TMP/out" acme dau)" 0 "acme dau as of 03-30"
expect_eq "$(csv_field "$TMP/out" acme wau)" 1 "acme wau as of 03-30"

say "--format json parses and carries the same values"
ok --data "$D" report accounts --as-of 2026-03-31 --format json
cp "$TMP/out" "$TMP/accounts.json"
python3 -m json.tool "$TMP/accounts.json" >/dev/null 2>"$TMP/err" || fail "report accounts --format json does not parse"
python3 - "$TMP/accounts.json" <<'PY' || fail "JSON values differ from the hand-worked ones"
import json, sys
doc = json.load(open(sys.argv[1]))
rows = {r["account_id"]: r for r in doc["accounts"]}
assert doc["as_of"] == "2026-03-31T23:59:59.999Z", doc["as_of"]
assert sorted(rows) == ["acme", "beta", "delta", "gamma"], sorted(rows)
a = rows["acme"]
assert a["nps"] == 33.333333333333336 and a["health"] == 59.44047619047619, a
assert a["champion_active"] is True and a["ttfv_days"] == 9 and a["known_users"] == 4, a
assert rows["beta"]["wau_trend"] is None and rows["beta"]["champion_active"] is False
assert rows["gamma"]["stickiness"] is None and rows["gamma"]["health"] == 0.0
assert rows["beta"]["name"] == "Beta, Inc."
PY
ok --data "$D" report features --as-of 2026-03-31 --format json
python3 -m json.tool "$TMP/out" >/dev/null 2>&1 || fail "report features --format json does not parse"

say "--sort: -health puts beta, acme, delta, gamma; wau_trend puts nulls last"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv --sort -health
expect_eq "$(tail -n +2 "$TMP/out" | cut -d, -f1 | tr '\n' ' ')" "beta acme delta gamma " "--sort -health"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv --sort health
expect_eq "$(tail -n +2 "$TMP/out" | cut -d, -f1 | tr '\n' ' ')" "gamma delta acme beta " "--sort health"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv --sort wau_trend
expect_eq "$(tail -n +2 "$TMP/out" | cut -d, -f1 | tr '\n' ' ')" "acme beta delta gamma " "--sort wau_trend (nulls last)"
up --data "$D" report accounts --as-of 2026-03-31 --sort colour
expect_nonzero "--sort by an unknown column"

say "--segment smb keeps beta and gamma; --account keeps one"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv --segment smb
expect_eq "$(tail -n +2 "$TMP/out" | cut -d, -f1 | tr '\n' ' ')" "beta gamma " "--segment smb"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv --account beta
sed -n '1p;3p' "$FIX/expected-accounts.csv" >"$TMP/beta.csv"
expect_same "$TMP/out" "$TMP/beta.csv" "--account beta"
ok --data "$D" report features --as-of 2026-03-31 --format csv --account delta
grep -e '^account_id' -e '^delta,' "$FIX/expected-features.csv" >"$TMP/delta.csv"
expect_same "$TMP/out" "$TMP/delta.csv" "report features --account delta"

say "--account with an unknown id exits non-zero and names it"
up --data "$D" report accounts --as-of 2026-03-31 --account nosuch
expect_nonzero "report accounts --account nosuch"
expect_grep "nosuch" "$TMP/err" "the message names the unknown account"
up --data "$D" report features --as-of 2026-03-31 --account nosuch
expect_nonzero "report features --account nosuch"

say "the table format and --explain run"
ok --data "$D" report accounts --as-of 2026-03-31 --explain
expect_grep "acme" "$TMP/out" "table lists acme"

say "the table's title says end of day only when T is the last ms of its day"
# the accounts of expected-accounts.csv: acme, beta, delta, gamma -> 4
expect_eq "$(sed -n 1p "$TMP/out")" "Portfolio as of 2026-03-31 (end of day UTC): 4 accounts" "title of --as-of 2026-03-31"
ok --data "$D" report accounts --as-of 2026-03-31T12:00:00Z
expect_eq "$(sed -n 1p "$TMP/out")" "Portfolio as of 2026-03-31T12:00:00Z: 4 accounts" "title of --as-of a timestamp"
ok --data "$D" report accounts --as-of 2026-03-31T10:00:00.250+01:00
expect_eq "$(sed -n 1p "$TMP/out")" "Portfolio as of 2026-03-31T09:00:00.250Z: 4 accounts" \
    "title of --as-of a timestamp with ms and a zone"
ok --data "$D" report accounts --as-of 2026-03-31T23:59:59.999Z
expect_eq "$(sed -n 1p "$TMP/out")" "Portfolio as of 2026-03-31 (end of day UTC): 4 accounts" \
    "title of --as-of the last ms of a day"
ok --data "$D" report accounts
sed -n 1p "$TMP/out" | grep -E -q '^Portfolio as of [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z: 4 accounts$' ||
    fail "title without --as-of (now) is an ISO timestamp"
echo "ok $TEST_NAME"
