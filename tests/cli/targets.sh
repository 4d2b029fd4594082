# Adoption targets (docs/metrics.md choice 20), as of 2026-03-31 (D0), every
# account 10 seats, users active daily in March with feature f1 (the only
# core feature, so depth is 1 wherever anyone is active):
#   a1 smb, contract 2026-01-01, 5 users: breadth 0.5. t_all (breadth >= 0.85
#      by day 90 = 2026-04-01): before due, needs 0.85 x 89/90 = 0.8406: behind.
#   a2 ent, contract 2026-03-01, 2 users: 0.2. t_all due 2026-05-30, needs
#      0.85 x 30/90 = 0.2833: behind. t_ent (>= 0.3 by day 30 = 2026-03-31):
#      the due day has come and 0.2 < 0.3: missed (behind on 2026-03-30:
#      needs 0.3 x 29/30 = 0.29).
#   a3 no contract, 9 users: 0.9 >= 0.85 met; t_a3 (depth >= 1): met.
#   a4 smb, contract 2026-03-01, 3 users: 0.3 >= 0.2833: on_track.
#   a5 no contract, 1 user: 0.1: no_contract.
. "$(dirname "$0")/lib.inc"
cat >"$TMP/model.yaml" <<'M'
features:
  - {name: f1, core: true, events: [a]}
targets:
  - {name: t_all, metric: breadth, min: 0.85, by_day: 90}
  - {name: t_ent, metric: breadth, min: 0.3, by_day: 30, segment: ent}
  - {name: t_a3, metric: depth, min: 1, by_day: 30, account: a3}
M
cat >"$TMP/accounts.csv" <<'A'
account_id,seats,segment,contract_start
a1,10,smb,2026-01-01
a2,10,ent,2026-03-01
a3,10,smb,
a4,10,smb,2026-03-01
a5,10,smb,
A
{
    echo "ts,user_id,account_id,event"
    for a in a1:5 a2:2 a3:9 a4:3 a5:1; do
        acc=${a%:*} n=${a#*:}
        for d in 01 05 10 15 20 25 30 31; do
            i=1
            while [ $i -le "$n" ]; do echo "2026-03-${d}T10:00:00Z,$acc-u$i,$acc,a"; i=$((i + 1)); done
        done
    done
} >"$TMP/events.csv"
S=$TMP/store
ok --data "$S" init -q --model "$TMP/model.yaml"
for t in accounts events; do ok --data "$S" import -q "$t" "$TMP/$t.csv"; done
targets() {   # targets ACCOUNT DATE
    ok --data "$S" report account "$1" --as-of "$2" --format csv
    grep '^targets,' "$TMP/out" | tr '\n' ';'
}
expect_eq "$(targets a1 2026-03-31)" "targets,t_all,behind 0.5 (breadth >= 0.85 by 2026-04-01);" "a1"
expect_eq "$(targets a2 2026-03-31)" "targets,t_all,behind 0.2 (breadth >= 0.85 by 2026-05-30);targets,t_ent,missed 0.2 (breadth >= 0.3 by 2026-03-31);" "a2 on its t_ent due day"
expect_eq "$(targets a2 2026-03-30)" "targets,t_all,behind 0.2 (breadth >= 0.85 by 2026-05-30);targets,t_ent,behind 0.2 (breadth >= 0.3 by 2026-03-31);" "a2 the day before"
expect_eq "$(targets a3 2026-03-31)" "targets,t_all,met 0.9 (breadth >= 0.85 by no contract);targets,t_a3,met 1.0 (depth >= 1.0 by no contract);" "a3"
expect_eq "$(targets a4 2026-03-31)" "targets,t_all,on_track 0.3 (breadth >= 0.85 by 2026-05-30);" "a4"
expect_eq "$(targets a5 2026-03-31)" "targets,t_all,no_contract 0.1 (breadth >= 0.85 by no contract);" "a5"
ok --data "$S" report account a1 --as-of 2026-03-31 --format json
python3 - "$TMP/out" <<'PY' || fail "targets in JSON"
import json, sys
t = json.load(open(sys.argv[1]))["targets"]
assert t == [{"name": "t_all", "metric": "breadth", "min": 0.85, "by_day": 90, "due": "2026-04-01", "value": 0.5,
              "progress": 0.5882352941176471, "status": "behind"}], t
PY
say "any numeric column of report accounts, and seats_utilization"
# a1: MAU 5 / 10 seats = 0.5; t_util (>= 0.6 by day 120 = 2026-05-01) needs
# 0.6 x 89/120 = 0.445 on 2026-03-31 (day 89): on_track. t_wau (wau >= 5,
# the users active Mar 25..31): met. A name outside the list is refused with
# its line.
cat >"$TMP/model2.yaml" <<'M'
features:
  - {name: f1, core: true, events: [a]}
targets:
  - {name: t_util, metric: seats_utilization, min: 0.6, by_day: 120, account: a1}
  - {name: t_wau, metric: wau, min: 5, by_day: 30, account: a1}
M
ok --data "$S" model set "$TMP/model2.yaml"
expect_eq "$(targets a1 2026-03-31)" \
    "targets,t_util,on_track 0.5 (seats_utilization >= 0.6 by 2026-05-01);targets,t_wau,met 5.0 (wau >= 5.0 by 2026-01-31);" \
    "a1 on seats_utilization and wau"
printf 'targets:\n  - {name: t, metric: seats_used, min: 1}\n' >"$TMP/bad.yaml"
up --data "$S" model set "$TMP/bad.yaml"
expect_rc 1 "an unknown target metric"
expect_grep "bad.yaml:2: targets[0].metric: 'seats_used' is not a target metric (seats, known_users," "$TMP/err" "the refusal names the line"
echo "ok $TEST_NAME"
