#!/bin/sh
# `uptake demo`: the same seed gives the same bytes; its output imports and reports.
set -eu
. "$(dirname "$0")/lib.inc"
cd "$TMP"

say "demo --accounts 5 --days 30 --seed 7, twice: identical files"
ok demo --out d1 --accounts 5 --days 30 --seed 7 --last-day 2026-11-20
ok demo --out d2 --accounts 5 --days 30 --seed 7 --last-day 2026-11-20
FILES="model.yaml accounts.csv users.csv events.csv surveys.csv outcomes.csv subscriptions.csv tickets.csv milestones.csv"
for f in $FILES; do
    [ -s "d1/$f" ] || fail "demo wrote no $f"
    cmp "d1/$f" "d2/$f" >/dev/null || fail "demo is not deterministic: d1/$f and d2/$f differ"
done
ok demo --out d3 --accounts 5 --days 30 --seed 8 --last-day 2026-11-20
cmp d1/events.csv d3/events.csv >/dev/null 2>&1 && fail "seeds 7 and 8 gave the same events.csv"
expect_eq "$(($(wc -l <d1/accounts.csv) - 1))" 5 "5 accounts in accounts.csv"
up demo --accounts 5
expect_rc 2 "demo without --out"
say "demo without --last-day: the data ends yesterday (UTC), and the summary says so"
YESTERDAY=$(date -u -d yesterday +%F)
ok demo --out dy --accounts 5 --days 30 --seed 7
expect_grep "data through $YESTERDAY" "$TMP/out" "demo names its last day"
expect_eq "$(tail -n +2 dy/events.csv | cut -c1-10 | sort | tail -1)" "$YESTERDAY" "the last event is on yesterday's date"
up demo --out d4 --last-day 2026-13-01
expect_rc 2 "demo --last-day with a bad date"
expect_grep "uptake demo: --last-day: cannot parse '2026-13-01' as a date (YYYY-MM-DD)" "$TMP/err" "the message names the option"
up demo --out d4 --accounts zero --last-day 2026-11-20
expect_rc 2 "demo --accounts zero"

say "demo --out creates missing parent directories, like mkdir -p"
ok demo --out new/a/b --accounts 5 --days 30 --seed 7 --last-day 2026-11-20
for f in $FILES; do
    cmp "d1/$f" "new/a/b/$f" >/dev/null || fail "demo --out new/a/b: $f differs from d1/$f"
done
: >plain-file
up demo --out plain-file/x --accounts 5
expect_rc 1 "demo --out under a regular file"
expect_grep "uptake demo: plain-file: Not a directory" "$TMP/err" "the message names the path that is not a directory"

say "the demo data imports with nothing rejected and reports 5 accounts"
ok --data store init -q --model d1/model.yaml
for t in accounts users surveys outcomes subscriptions tickets milestones events; do
    ok --data store import "$t" "d1/$t.csv"
    n=$(($(wc -l <"d1/$t.csv") - 1))
    # every row of the generated files is valid and unique
    expect_grep "d1/$t.csv: read $n, stored $n, duplicates 0, rejected 0" "$TMP/out" "import of the demo $t"
done
EVENTS=$(($(wc -l <d1/events.csv) - 1))
ok --data store status
expect_grep "events      $EVENTS (" "$TMP/out" "status counts every demo event"
LAST=$(tail -n +2 d1/events.csv | cut -d, -f1 | sort | tail -1 | cut -c1-10)
ok --data store report accounts --as-of "$LAST" --format csv
expect_eq "$(($(wc -l <"$TMP/out") - 1))" 5 "report accounts rows"
# levels: acct0001..0003 are the low, high and effective archetypes; the high one
# is behind on its outcomes, the effective one on track
for al in acct0001=low acct0002=high acct0003=effective; do
    expect_eq "$(csv_field "$TMP/out" "${al%=*}" level)" "${al#*=}" "level of ${al%=*}"
done
ok --data store report accounts --as-of "$LAST" --format json
python3 -m json.tool "$TMP/out" >/dev/null 2>&1 || fail "demo report --format json does not parse"
ok --data store report features --as-of "$LAST" --format csv
# one row per account x feature of the demo model
NF=$(grep -c '^  - name:' d1/model.yaml)
expect_eq "$(($(wc -l <"$TMP/out") - 1))" "$((5 * NF))" "report features rows (5 x $NF features)"
ok --data store report accounts --as-of "$LAST"

say "180 days of 7 accounts: seats from the subscriptions equal accounts.csv's at the end; a removal and an expansion"
# acct0004 is ramping (40% fewer seats until 45 days before 2026-11-20:
# an expansion on 2026-10-06), acct0007 shelfware (50% more until 20 days
# before: a removal of a third on 2026-10-31, an overnight drop).
ok demo --out d5 --accounts 7 --days 180 --seed 7 --last-day 2026-11-20
ok --data s5 init -q --model d5/model.yaml
for t in accounts users subscriptions events; do ok --data s5 import -q "$t" "d5/$t.csv"; done
ok --data s5 report accounts --as-of 2026-11-20 --format csv
for a in $(tail -n +2 d5/accounts.csv | cut -d, -f1); do
    expect_eq "$(csv_field "$TMP/out" "$a" seats)" "$(awk -F, -v a="$a" '$1 == a { print $3 }' d5/accounts.csv)" "$a: seats"
done
seats4=$(awk -F, '$1 == "acct0004" { print $3 }' d5/accounts.csv)
before4=$(awk -F, '$1 == "acct0004" && $4 == "2026-10-06" { print $5 }' d5/subscriptions.csv)
ok --data s5 report account acct0004 --as-of 2026-11-20 --format csv
expect_grep "seats,change_2026-10-06,+$((seats4 - before4))" "$TMP/out" "acct0004: the expansion"
ok --data s5 report account acct0007 --as-of 2026-11-20 --format json
python3 - "$TMP/out" "$(awk -F, '$1 == "acct0007" { print $3 }' d5/accounts.csv)" <<'PY2' || fail "acct0007: the overnight drop"
import json, sys
d, seats = json.load(open(sys.argv[1])), int(sys.argv[2])
last = d["seats_history"]["changes"][-1]
assert last["date"] == "2026-10-31" and last["to"] == seats and last["from"] == (3 * seats + 1) // 2, last
assert last["removal"] and last["overnight_drop"], last
# seats-in-use applies to every account, core-depth to the enterprise segment
want = ["seats-in-use"] + (["core-depth"] if d["segment"] == "enterprise" else [])
assert [t["name"] for t in d["targets"]] == want, d["targets"]
PY2
echo "ok $TEST_NAME"
