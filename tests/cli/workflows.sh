# Workflows (docs/metrics.md choice 21), as of 2026-03-31; weeks are the
# 7-day blocks ending Mar 31 (Mar 25..31 is the last, Mar 18..24 the one
# before). acme has 4 seats. Workflow share = create -> share within 1d
# (core); loop = a -> b -> a within 1h.
#   u1: create Mar 30 10:00, share 12:00: a completion (Mar 25..31).
#   u2: share 09:00 then create 10:00: out of order, none (reaches step 1).
#   u3: create Mar 29 08:00, share Mar 30 09:00: 25 h > 1 d, none.
#   u4: create Mar 28 10:00, share Mar 29 10:00: exactly 1 d: a completion.
#   u5: create Mar 20 10:00 and 11:00, share Mar 21 10:30: 24.5 h from the
#       first, 23.5 h from the later start: one completion (Mar 18..24).
#   u6: create and share at the same instant, in that order: a completion.
#   u1 also: a 10:00, b 10:10, a 10:20, b 10:30, a 10:40 on Mar 30: loop
#       completes once at 10:20; that a is used up, so 10:30-10:40 lack an a.
# share: completions/users 1 in Mar 18..24, 3 in Mar 25..31; core seat share
# 1/4 = 0.25 and 3/4 = 0.75. Funnel over window(28): 6 users reached create
# (u1..u6), 4 reached share: drop-off 1 - 4/6. loop: 1 in Mar 25..31; funnel 1, 1, 1.
. "$(dirname "$0")/lib.inc"
command -v python3 >/dev/null || fail "python3 is required"
cat >"$TMP/model.yaml" <<'M'
features:
  - {name: reports, core: true, events: [create, share]}
workflows:
  - {name: share, steps: [create, share], within: 1d, core: true}
  - {name: loop, steps: [a, b, a], within: 1h}
M
cat >"$TMP/events.csv" <<'E'
ts,user_id,account_id,event
2026-03-30T10:00:00Z,u1,acme,create
2026-03-30T12:00:00Z,u1,acme,share
2026-03-30T09:00:00Z,u2,acme,share
2026-03-30T10:00:00Z,u2,acme,create
2026-03-29T08:00:00Z,u3,acme,create
2026-03-30T09:00:00Z,u3,acme,share
2026-03-28T10:00:00Z,u4,acme,create
2026-03-29T10:00:00Z,u4,acme,share
2026-03-20T10:00:00Z,u5,acme,create
2026-03-20T11:00:00Z,u5,acme,create
2026-03-21T10:30:00Z,u5,acme,share
2026-03-26T10:00:00Z,u6,acme,create
2026-03-26T10:00:00Z,u6,acme,share
2026-03-30T10:00:00Z,u1,acme,a
2026-03-30T10:10:00Z,u1,acme,b
2026-03-30T10:20:00Z,u1,acme,a
2026-03-30T10:30:00Z,u1,acme,b
2026-03-30T10:40:00Z,u1,acme,a
E
printf 'account_id,seats\nacme,4\n' >"$TMP/accounts.csv"
S=$TMP/store
ok --data "$S" init -q --model "$TMP/model.yaml"
for t in accounts events; do ok --data "$S" import -q "$t" "$TMP/$t.csv"; done
ok --data "$S" report workflows --as-of 2026-03-31 --format csv
expect_eq "$(head -1 "$TMP/out")" "account_id,workflow,core,week_start,week_end,completions,users_completing,seats,core_seat_share" "CSV header"
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" 25 "1 account x 2 workflows x 12 weeks"
awk -F, 'NR > 1 && $6 != 0' "$TMP/out" >"$TMP/got"
cat >"$TMP/want" <<'W'
acme,share,true,2026-03-18,2026-03-24,1,1,4,0.25
acme,share,true,2026-03-25,2026-03-31,3,3,4,0.75
acme,loop,false,2026-03-25,2026-03-31,1,1,4,0.75
W
expect_same "$TMP/got" "$TMP/want" "weeks with completions"
ok --data "$S" report workflows --as-of 2026-03-31 --format json
python3 - "$TMP/out" <<'PY' || fail "funnels"
import json, sys
a = json.load(open(sys.argv[1]))["accounts"][0]
f = {w["workflow"]: [(s["step"], s["users"], s["drop_off"]) for s in w["funnel"]] for w in a["workflows"]}
assert f["share"] == [("create", 6, None), ("share", 4, 1 - 4 / 6)], f
assert f["loop"] == [("a", 1, None), ("b", 1, 0.0), ("a", 1, 0.0)], f
PY
ok --data "$S" report workflows --as-of 2026-03-31
expect_grep "share (core)" "$TMP/out" "the table names core workflows"
up --data "$S" report workflows --account nope
expect_rc 1 "an unknown account"
say "completing a workflow as a key action (key_actions: [workflow:share])"
# acme's contract starts 2026-03-01; the first completion of share is u5's at
# Mar 21 10:30: ttfv_days = 20. Activation cohort: created Feb 18 .. Mar 17
# (D0 - 41 .. D0 - 14): u1 (Mar 16 12:00; completes Mar 30 12:00, exactly 14 d
# later: counted), u2 (Mar 15; never completes), u5 (Mar 10; Mar 21): 2 of 3.
# u3 (created Feb 10) is outside the cohort.
sed 's/^workflows:/key_actions: [workflow:share]\nworkflows:/' "$TMP/model.yaml" >"$TMP/model-ka.yaml"
printf 'account_id,seats,contract_start\nacme,4,2026-03-01\n' >"$TMP/accounts-ka.csv"
cat >"$TMP/users.csv" <<'U'
user_id,account_id,created_at
u1,acme,2026-03-16T12:00:00Z
u2,acme,2026-03-15T09:00:00Z
u3,acme,2026-02-10T09:00:00Z
u5,acme,2026-03-10T09:00:00Z
U
K=$TMP/store-ka
ok --data "$K" init -q --model "$TMP/model-ka.yaml"
ok --data "$K" import -q accounts "$TMP/accounts-ka.csv"
ok --data "$K" import -q users "$TMP/users.csv"
ok --data "$K" import -q events "$TMP/events.csv"
ok --data "$K" report accounts --as-of 2026-03-31 --format csv
expect_eq "$(csv_field "$TMP/out" acme ttfv_days)" 20 "ttfv_days from the first completion"
expect_eq "$(csv_field "$TMP/out" acme activation_rate)" 0.6666666666666666 "activation by completions"
ok --data "$K" model set "$TMP/model.yaml"
ok --data "$K" report accounts --as-of 2026-03-31 --format csv
expect_eq "$(csv_field "$TMP/out" acme ttfv_days)" "" "without the workflow key action: no key action at all"
say "the account page: workflows, and a target on a workflow"
# completions of share in the last 4 weeks (Mar 4..31): u1, u4, u5, u6 = 4;
# loop: 1. Target share-weekly (workflow:share >= 0.5 by day 60 = Apr 30):
# 3 users completed share in Mar 25..31 / 4 seats = 0.75: met.
{ cat "$TMP/model-ka.yaml"; printf 'targets:\n  - {name: share-weekly, metric: "workflow:share", min: 0.5, by_day: 60}\n'; } >"$TMP/model-t.yaml"
ok --data "$K" model set "$TMP/model-t.yaml"
ok --data "$K" report account acme --as-of 2026-03-31 --format csv
expect_grep "workflows,share,4" "$TMP/out" "share on the account page"
expect_grep "workflows,loop,1" "$TMP/out" "loop on the account page"
expect_grep "targets,share-weekly,met 0.75 (workflow:share >= 0.5 by 2026-04-30)" "$TMP/out" "the workflow target"
sed 's/workflow:share/workflow:nope/' "$TMP/model-ka.yaml" >"$TMP/model-bad.yaml"
up model check "$TMP/model-bad.yaml"
expect_nonzero "a key action naming no workflow"
expect_grep "key_actions[0]: 'workflow:nope' names no workflow of the model" "$TMP/err" "the error"
# a model without workflows: the report is its header alone (CSV), and
# says so (table); this once tripped UndefinedBehaviorSanitizer (a sort of
# no rows)
printf 'features:\n  - {name: reports, events: [create, share]}\n' >"$TMP/model-none.yaml"
ok --data "$TMP/none" init -q --model "$TMP/model-none.yaml"
ok --data "$TMP/none" import -q events "$TMP/events.csv"
ok --data "$TMP/none" report workflows --as-of 2026-03-31 --format csv
[ "$(wc -l < "$TMP/out")" = 1 ] || fail "report workflows without workflows: more than the header"
ok --data "$TMP/none" report workflows --as-of 2026-03-31
expect_grep "The model has no workflows" "$TMP/out" "the table's sentence"
say "a workflow of three steps: the account page counts what the whole log counts"
# abc = X -> Y -> Z within 1d. As of 2026-03-31 the 12 weeks begin Jan 7; an
# attempt counted in them starts at most 1d before: Jan 6. u9 (acme):
#   X Jan 5 23:00 (alone in the first import: a block that ends before Jan 6),
#   Y Jan 6 01:00, X 02:00, Z 03:00: completes the attempt of Jan 5 23:00
#   (before the weeks, not counted) and uses the Z up, resetting the attempt
#   begun at 02:00; Y 05:00 then has no X before it; Z Jan 7 01:00 completes
#   nothing. The whole log: no completion in any week. Read from Jan 6 on only,
#   the attempt of 02:00 would survive and complete on Jan 7 (week 1): the
#   page reads every event for a workflow of three steps or more.
printf 'features:\n  - {name: f, events: [X, Y, Z]}\nworkflows:\n  - {name: abc, steps: [X, Y, Z], within: 1d}\n' \
    >"$TMP/model3.yaml"
printf 'ts,user_id,account_id,event\n2026-01-05T23:00:00Z,u9,acme,X\n' >"$TMP/early.csv"
printf 'ts,user_id,account_id,event\n%s\n%s\n%s\n%s\n%s\n' 2026-01-06T01:00:00Z,u9,acme,Y 2026-01-06T02:00:00Z,u9,acme,X \
    2026-01-06T03:00:00Z,u9,acme,Z 2026-01-06T05:00:00Z,u9,acme,Y 2026-01-07T01:00:00Z,u9,acme,Z >"$TMP/rest.csv"
for acx in "" 0; do   # the page from the log, then from events.acx
    T3=$TMP/store3-$acx
    UPTAKE_ACX_MIN_BYTES=${acx:-100000000} ok --data "$T3" init -q --model "$TMP/model3.yaml"
    for f in early rest; do UPTAKE_ACX_MIN_BYTES=${acx:-100000000} ok --data "$T3" import -q events "$TMP/$f.csv"; done
    [ -z "$acx" ] || [ -f "$T3/events.acx.idx" ] || fail "no events.acx with UPTAKE_ACX_MIN_BYTES=0"
    ok --data "$T3" report workflows --as-of 2026-03-31 --format csv
    expect_eq "$(awk -F, 'NR > 1 && $6 != 0' "$TMP/out")" "" "abc: no completion in any week"
    ok --data "$T3" report account acme --as-of 2026-03-31 --format json
    python3 - "$TMP/out" <<'PY' || fail "abc on the account page${acx:+ (events.acx)}"
import json, sys
w = {x["workflow"]: x for x in json.load(open(sys.argv[1]))["workflows"]}
assert w["abc"]["completions"] == [0] * 12, w["abc"]
PY
done
echo "ok $TEST_NAME"
