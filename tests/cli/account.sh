#!/bin/sh
# report gaps and report account on the hand-made fixture (see report.sh for
# the metrics worked out by hand). As of 2026-03-31:
#   gaps: unused seats = max(seats - active, 0); shares of unused seats and of
#   unused core features (2 core features: reports, dashboards); gap_score =
#   mean of the shares that exist; arr_at_stake = arr x unused seat share.
#     gamma: seats 5, active 0 -> 5 unused, 1.0; depth 0 -> 0/2 used, 1.0; score 1.0
#     beta:  seats 0 -> share null; depth 0.5 -> 1/2, 0.5; score 0.5; no arr
#     delta: the same as beta (seats 0, depth 0.5) -> 0.5; ties by account_id
#     acme:  seats 10, active 4 -> 6 unused, 0.6; 2/2 used -> 0.0; score 0.3;
#            at stake 120000 x 0.6 = 72000.0
#   people of acme: champion a1 active 03-20 and 03-31 -> 2 days in the last 14
#     (03-18..03-31), none in the 28 before (02-18..03-17) -> trend null;
#     engaged in 14 days: a1, a2 (03-31), a3 (03-19 settings.open), a5 (03-26)
#     = 4, so not single-threaded; new in 14 days: a5 (first event 03-26) = 1.
#   level history of acme from its contract start 2026-01-01: high needs 4
#     active users in 28 days (breadth 0.4) and a core feature used. As of
#     03-25 the window 02-26..03-25 holds a1 (03-20), a2 (03-03), a3 (03-04,
#     03-19) = 3 -> low; on 03-26 a5 joins -> 4 -> high, and it stays high to
#     03-31 (a2's 03-03 drops out on 03-31, but a2 is active on 03-31).
set -eu
. "$(dirname "$0")/lib.inc"
D=$TMP/store
ok --data "$D" init -q --model "$FIX/model.yaml"
for t in accounts users surveys events; do ok --data "$D" import "$t" "$FIX/$t.csv"; done

say "report gaps --format csv ranks by gap score, then ARR at stake, then id"
cat >"$TMP/gaps.csv" <<'CSV'
account_id,name,seats,active_users,unused_seats,unused_seat_share,core_features,core_features_used,unused_core_share,gap_score,arr,arr_at_stake,owner
gamma,Gamma,5,0,5,1.0,2,0,1.0,1.0,,,
beta,"Beta, Inc.",0,2,0,,2,1,0.5,0.5,,,bob
delta,,0,1,0,,2,1,0.5,0.5,,,
acme,Acme Corp,10,4,6,0.6,2,2,0.0,0.3,120000.0,72000.0,ann
CSV
ok --data "$D" report gaps --as-of 2026-03-31 --format csv
cp "$TMP/out" "$TMP/got.csv"
expect_same "$TMP/got.csv" "$TMP/gaps.csv" "report gaps"
ok --data "$D" report gaps --as-of 2026-03-31 --format csv --top 2
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" 3 "--top 2 keeps a header and two rows"
up --data "$D" report gaps --top 0
expect_rc 2 "--top 0"

say "report account acme: people, level, JSON and the table"
ok --data "$D" report account acme --as-of 2026-03-31 --format json
node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const p = d.people, c = p.champions_and_sponsors;
const want = [d.level, p.engaged_stakeholders, p.single_threaded, p.new_stakeholders, c.length,
              c[0].user_id, c[0].active_days_14d, c[0].active_days_prev_28d, c[0].trend, d.seats, d.breadth,
              d.level_history];
const exp = ["high", 4, false, 1, 1, "a1", 2, 0, null, 10, 0.4,
             [{date: "2026-01-01", level: "low"}, {date: "2026-03-26", level: "high"}]];
if (JSON.stringify(want) !== JSON.stringify(exp)) { console.error(JSON.stringify(want), "!=", JSON.stringify(exp)); process.exit(1); }
' "$TMP/out" || fail "report account acme --format json"
ok --data "$D" report account acme --as-of 2026-03-31
expect_grep "LEVEL high" "$TMP/out" "the table names the level"
expect_grep "People: 4 engaged in 14 days, 1 new in 14 days" "$TMP/out" "the table's people line"
ok --data "$D" report account gamma --as-of 2026-03-31
expect_grep "LEVEL low: breadth is below level_breadth_min" "$TMP/out" "gamma's level and why"
up --data "$D" report account nobody --as-of 2026-03-31
expect_rc 1 "an unknown account"
expect_grep "no account 'nobody'" "$TMP/err" "the message names the account"
say "tickets and milestones on the account page"
# tickets of acme: 03-10 high (satisfaction 4), 03-20 low (2), 01-15 urgent (no
# score), 2025-12-20 (before window(90) = 01-01..03-31), 04-02 (after T).
#   tickets_28d (03-04..03-31) = 2; tickets_90d = 3; urgent (high/urgent) = 2;
#   satisfaction = (4 + 2) / 2 = 3.0; friction = 2 / 4 active = 0.5, flagged
#   because breadth 0.4 reaches 0.40.
# milestones: kickoff due 01-10 done 01-09; sso due 03-25 open -> overdue 6
#   days; training due 03-01 open -> overdue 30 -> stalled; rollout due 04-30.
#   done 1, overdue 2, stalled 1; done in the last 28 days 0 -> 0.0 per week;
#   due in them (sso) 1 -> 0.25 per week.
cat >"$TMP/tickets.csv" <<'CSV'
account_id,ts,priority,satisfaction,ticket_id
acme,2026-03-10,high,4,t1
acme,2026-03-20,low,2,t2
acme,2026-01-15,urgent,,t3
acme,2025-12-20,low,5,t4
acme,2026-04-02,high,1,t5
CSV
cat >"$TMP/milestones.csv" <<'CSV'
account_id,name,due,done_at,owner
acme,kickoff,2026-01-10,2026-01-09,ann
acme,sso,2026-03-25,,ann
acme,training,2026-03-01,,bob
acme,rollout,2026-04-30,,ann
CSV
ok --data "$D" import tickets "$TMP/tickets.csv"
expect_grep "read 5, stored 5, duplicates 0, rejected 0" "$TMP/out" "tickets import"
ok --data "$D" import tickets "$TMP/tickets.csv"
expect_grep "read 5, stored 0, duplicates 5, rejected 0" "$TMP/out" "tickets re-import"
ok --data "$D" import milestones "$TMP/milestones.csv"
ok --data "$D" report account acme --as-of 2026-03-31 --format json
node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const s = d.support, m = d.milestones;
const got = [s.tickets_28d, s.tickets_90d, s.urgent_90d, s.satisfaction_90d, s.friction, s.friction_flag,
             m.total, m.done, m.overdue, m.stalled, m.done_per_week, m.planned_per_week,
             m.items.map((i) => i.name + ":" + i.overdue_days).join(" ")];
const exp = [2, 3, 2, 3, 0.5, true, 4, 1, 2, 1, 0, 0.25, "kickoff:0 training:30 sso:6 rollout:0"];
if (JSON.stringify(got) !== JSON.stringify(exp)) { console.error(JSON.stringify(got), "!=", JSON.stringify(exp)); process.exit(1); }
' "$TMP/out" || fail "support and milestones of acme"
say "milestones due on the as-of day and the day before, in the table"
# today (due 03-31, open) is overdue from its due day on, 0 whole days past;
# yesterday (due 03-30) by exactly 1 day: 4 of 6 overdue now, stalled still 1.
printf 'account_id,name,due,done_at,owner\nacme,today,2026-03-31,,ann\nacme,yesterday,2026-03-30,,ann\n' >"$TMP/ms2.csv"
ok --data "$D" import milestones "$TMP/ms2.csv"
ok --data "$D" report account acme --as-of 2026-03-31
expect_grep "Milestones: 1 of 6 done, 4 overdue (1 stalled 7+ days)" "$TMP/out" "the count"
expect_grep "due 2026-03-31  OVERDUE today" "$TMP/out" "due today"
expect_grep "due 2026-03-30  OVERDUE 1 day " "$TMP/out" "one day past"
ok --data "$D" report account acme --as-of 2026-03-30
expect_grep "due 2026-03-31  open" "$TMP/out" "not yet due the day before"
expect_grep "due 2026-03-30  OVERDUE today" "$TMP/out" "due on 03-30, as of 03-30"
echo "ok $TEST_NAME"
