# Seats and revenue from subscriptions (docs/metrics.md choice 19), as of
# 2026-03-31, worked out by hand:
#   s1 2025-06-01 .. 2026-03-15 (end exclusive) 20 seats, ARR 20000
#   s2 2026-03-15 .. open                      15 seats, ARR 15000 (replaces s1 that day)
#   s3 2026-02-01 .. open                       5 seats, ARR  6000 (an add-on)
# Seat changes (end of the day before -> end of the day): 2025-06-01 0 -> 20,
# 2026-02-01 20 -> 25, 2026-03-15 25 -> 20 (a removal of 20% >= 10%: overnight drop).
# ARR now 15000 + 6000 = 21000; a year ago (end of 2025-03-31) nothing was
# active: 0, so NRR is null. Changes in the last 365 days: +20000 (Jun 1,
# from nothing: a new contract, not expansion), +6000 (Feb 1), -5000 (Mar 15):
# new 20000, expansion 6000, contraction 5000.
# Utilization: u1, u2 active daily since Jan 1 (MAU 2) over the 12 weekly
# points Jan 13 .. Mar 31: 2/20 = 0.1 while 20 seats, 2/25 = 0.08 from Feb 1
# to Mar 14 (Feb 3 .. Mar 10), 0.1 again from Mar 17.
. "$(dirname "$0")/lib.inc"
command -v python3 >/dev/null || fail "python3 is required"
printf 'features:\n  - {name: f1, core: true, events: [a]}\n' >"$TMP/model.yaml"
printf 'account_id,name,seats\nacme,Acme,20\n' >"$TMP/accounts.csv"
cat >"$TMP/subscriptions.csv" <<'C'
account_id,subscription_id,start,end,seats,arr
acme,s1,2025-06-01,2026-03-15,20,20000
acme,s2,2026-03-15,,15,15000
acme,s3,2026-02-01,,5,6000
C
python3 - "$TMP/events.csv" <<'PY'
import datetime as dt, sys
with open(sys.argv[1], "w") as f:
    f.write("ts,user_id,account_id,event\n")
    d = dt.date(2026, 1, 1)
    while d <= dt.date(2026, 3, 31):
        for u in ("u1", "u2"):
            f.write(f"{d}T10:00:00Z,{u},acme,a\n")
        d += dt.timedelta(days=1)
PY
S=$TMP/store
ok --data "$S" init -q --model "$TMP/model.yaml"
for t in accounts subscriptions events; do ok --data "$S" import -q "$t" "$TMP/$t.csv"; done
ok --data "$S" report account acme --as-of 2026-03-31 --format csv
grep -E '^(seats|revenue),' "$TMP/out" >"$TMP/got"
cat >"$TMP/want" <<'W'
seats,change_2025-06-01,+20
seats,change_2026-02-01,+5
seats,change_2026-03-15,-5
seats,utilization_2026-01-13,0.1
seats,utilization_2026-01-20,0.1
seats,utilization_2026-01-27,0.1
seats,utilization_2026-02-03,0.08
seats,utilization_2026-02-10,0.08
seats,utilization_2026-02-17,0.08
seats,utilization_2026-02-24,0.08
seats,utilization_2026-03-03,0.08
seats,utilization_2026-03-10,0.08
seats,utilization_2026-03-17,0.1
seats,utilization_2026-03-24,0.1
seats,utilization_2026-03-31,0.1
revenue,arr,21000.0
revenue,arr_365d_ago,0.0
revenue,new_365d,20000.0
revenue,expansion_365d,6000.0
revenue,contraction_365d,5000.0
revenue,nrr_365d,
revenue,change_2025-06-01,20000.0
revenue,change_2026-02-01,6000.0
revenue,change_2026-03-15,-5000.0
W
expect_same "$TMP/got" "$TMP/want" "seats and revenue"
ok --data "$S" report account acme --as-of 2026-03-31 --format json
python3 - "$TMP/out" <<'PY' || fail "seats_history in JSON"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["seats_history"]["changes"]
assert [(x["date"], x["from"], x["to"], x["removal"], x["overnight_drop"]) for x in c] == [
    ("2025-06-01", 0, 20, False, False), ("2026-02-01", 20, 25, False, False), ("2026-03-15", 25, 20, True, True)], c
assert d["revenue"]["nrr_365d"] is None and d["revenue"]["arr"] == 21000.0, d["revenue"]
PY
say "a year later NRR is defined: ARR 21000 now against 21000 on 2026-03-31"
ok --data "$S" report account acme --as-of 2027-03-31 --format csv
expect_grep "revenue,arr_365d_ago,21000.0" "$TMP/out" "ARR a year before 2027-03-31 (2026-03-31)"
expect_grep "revenue,nrr_365d,1.0" "$TMP/out" "NRR 21000 / 21000"
echo "ok $TEST_NAME"
