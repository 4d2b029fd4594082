#!/bin/sh
# Segment-style JSONL imported as events (tests/fixtures/cli/segment.jsonl):
# identify (traits role, createdAt), group (traits name, seats, contractStart),
# track with and without context.groupId; and the same file gzipped.
set -eu
. "$(dirname "$0")/lib.inc"

# segment.jsonl, 8 messages:
#   1 identify u1 role champion, createdAt 2026-03-02T10:00:00Z
#   2 group u1 -> acme, traits name "Acme Corp", seats 20, plan team, contractStart 2026-03-01
#   3 track u1 report.create, context.groupId acme, 2026-03-31T10:00:00Z
#   4 track u2 export.csv, context.groupId acme, 2026-03-30T10:00:00.123Z
#   5 track u1 dashboard.view, no context.groupId (found through the group link), 2026-03-24T09:00Z
#   6 group u2 -> acme (empty traits)   7 group u3 -> acme (no traits)
#   8 identify u3 role "Champion" (after its group: updates the user in acme)
# -> read 8, stored 8 (identify and group count as stored), duplicates 0, rejected 0
# Report as of 2026-03-31 for acme (window(28) = 03-04..03-31):
#   seats 20 (group traits); known_users u1 (created 03-02), u2, u3 (no createdAt) = 3
#   dau {u1} = 1; wau (03-25..31) {u1, u2} = 2; wau_prev (03-18..24) {u1 03-24} = 1; mau 2
#   breadth 2/20 = 0.1; depth reports (u1) + dashboards (u1) = 2/2 = 1.0
#   level: breadth 0.1 < 0.40 -> low
#   stickiness: user-days 03-24 u1, 03-30 u2, 03-31 u1 = 3 -> (3/28)/2 = 0.05357142857142857
#   wau_trend (2-1)/1 = 1.0; ttfv = 03-31 - 03-01 = 30
#   activation: cohort (created 02-18..03-17) = {u1}; its report.create on 03-31 is
#     after 03-16T10:00 (14 days) -> 0/1 = 0.0
#   consistency: blocks starting on/after 03-01: 03-25, 03-18, 03-11, 03-04; active
#     03-25.. (u1, u2) and 03-18.. (u1 03-24) = 2/4 = 0.5
#   champion_active: champions u1 (active 03-31) and u3 (role from the identify, never
#     active) -> false
#   nps null; health: weights .3 .25 .15 .1 .1 (sum 0.9), scores 10, 100,
#     200*0.05357.. = 10.714285714285714, 50, min(100, 50+100*1.0) = 100
#     -> sum((w/0.9)*score) = 49.56349206349207
#   events_28d: the three track events, none passive = 3; intensity 3 events / 3
#     user-days (u1 03-24, u2 03-30, u1 03-31) = 1.0
EXPECTED='account_id,seats,known_users,dau,wau,wau_prev,mau,active_users,breadth,depth,stickiness,wau_trend,ttfv_days,activation_rate,consistency,champion_active,nps,health,level,status,events_28d,intensity,name,segment,owner,arr,renewal_date
acme,20,3,1,2,1,2,2,0.1,1.0,0.05357142857142857,1.0,30,0.0,0.5,false,,49.56349206349207,low,customer,3,1.0,Acme Corp,,,,'
printf '%s\n' "$EXPECTED" >"$TMP/expected.csv"

cp "$FIX/segment.jsonl" "$TMP/segment.jsonl"
gzip -c "$TMP/segment.jsonl" >"$TMP/segment-copy.jsonl.gz"
cd "$TMP"
for f in segment.jsonl segment-copy.jsonl.gz; do
    D=$TMP/store-$f
    say "$f: 8 messages stored, 0 rejected"
    ok --data "$D" init -q --model "$FIX/model.yaml"
    ok --data "$D" import events "$f"
    expect_eq "$(summary)" "$f: read 8, stored 8, duplicates 0, rejected 0" "$f summary"
    ok --data "$D" status
    # only the three track messages are events
    expect_grep "events      3 (2026-03-24T09:00:00Z .. 2026-03-31T10:00:00Z)" "$TMP/out" "$f: 3 track events"
    expect_grep "tables      1 accounts, 3 users" "$TMP/out" "$f: the group messages made 1 account, 3 users"

    say "$f: the account has its seats and name, the users their roles (report values)"
    ok --data "$D" report accounts --as-of 2026-03-31 --format csv
    expect_same "$TMP/out" "$TMP/expected.csv" "$f: report accounts"
    ok --data "$D" report accounts --as-of 2026-03-31 --format json
    python3 - "$TMP/out" <<'PY' || fail "$f: JSON name/seats/contract_start"
import json, sys
a = json.load(open(sys.argv[1]))["accounts"][0]
assert (a["account_id"], a["name"], a["seats"], a["contract_start"]) == ("acme", "Acme Corp", 20, "2026-03-01"), a
PY
    ok --data "$D" report accounts --as-of 2026-03-31 --format csv --account acme
    cp "$TMP/out" "$TMP/report-$f.csv"
done
say "the .gz copy gives the same report"
expect_same "$TMP/report-segment-copy.jsonl.gz.csv" "$TMP/report-segment.jsonl.csv" "report from the .gz copy"

say "re-importing the same messages stores no new event"
D=$TMP/store-segment.jsonl
ok --data "$D" import events segment-copy.jsonl.gz
# the 3 tracks are duplicates (message ids); identify/group are re-applied upserts
expect_eq "$(summary)" "segment-copy.jsonl.gz: read 8, stored 5, duplicates 3, rejected 0" "re-import summary"
ok --data "$D" status
expect_grep "events      3 (" "$TMP/out" "still 3 events after the re-import"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
expect_same "$TMP/out" "$TMP/expected.csv" "report after the re-import"
echo "ok $TEST_NAME"
