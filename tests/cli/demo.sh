#!/bin/sh
# `uptake demo`: the same seed gives the same bytes; its output imports and reports.
set -eu
. "$(dirname "$0")/lib.inc"
cd "$TMP"

say "demo --accounts 5 --days 30 --seed 7, twice: identical files"
ok demo --out d1 --accounts 5 --days 30 --seed 7
ok demo --out d2 --accounts 5 --days 30 --seed 7
for f in model.yaml accounts.csv users.csv events.csv surveys.csv outcomes.csv; do
    [ -s "d1/$f" ] || fail "demo wrote no $f"
    cmp "d1/$f" "d2/$f" >/dev/null || fail "demo is not deterministic: d1/$f and d2/$f differ"
done
ok demo --out d3 --accounts 5 --days 30 --seed 8
cmp d1/events.csv d3/events.csv >/dev/null 2>&1 && fail "seeds 7 and 8 gave the same events.csv"
expect_eq "$(($(wc -l <d1/accounts.csv) - 1))" 5 "5 accounts in accounts.csv"
up demo --accounts 5
expect_rc 2 "demo without --out"
up demo --out d4 --accounts zero
expect_rc 2 "demo --accounts zero"

say "demo --out creates missing parent directories, like mkdir -p"
ok demo --out new/a/b --accounts 5 --days 30 --seed 7
for f in model.yaml accounts.csv users.csv events.csv surveys.csv outcomes.csv; do
    cmp "d1/$f" "new/a/b/$f" >/dev/null || fail "demo --out new/a/b: $f differs from d1/$f"
done
: >plain-file
up demo --out plain-file/x --accounts 5
expect_rc 1 "demo --out under a regular file"
expect_grep "uptake demo: plain-file: Not a directory" "$TMP/err" "the message names the path that is not a directory"

say "the demo data imports with nothing rejected and reports 5 accounts"
ok --data store init -q --model d1/model.yaml
for t in accounts users surveys outcomes events; do
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
echo "ok $TEST_NAME"
