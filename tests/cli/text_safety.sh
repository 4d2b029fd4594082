#!/bin/sh
# Text that is clean going in and safe going out: ids with a NUL or invalid
# UTF-8 are rejected by file, line and field while the good rows beside them
# go in; JSON output is valid UTF-8; CSV cells that would read as formulas
# are neutralised (numbers untouched); Slack texts escape & < >; header
# problems (a missing or duplicated column, UTF-16) are one error before any
# row; CR-only files are read; an over-long record is one reject; dates
# outside 1990..2100 are rejected; deep YAML nesting is refused quickly.
set -eu
. "$(dirname "$0")/lib.inc"
HF=$REPO/tests/fixtures/hardening
D=$TMP/store
ok --data "$D" init -q --model "$FIX/model.yaml"
cp "$HF"/*.csv "$TMP/"
cd "$TMP"

say "invalid UTF-8 in an id: the record is rejected naming line and field"
up --data "$D" import events invalid_utf8.csv
expect_grep "invalid_utf8.csv: line 2: user_id: not valid UTF-8 (byte 0xFF at byte 2); save the file as UTF-8" "$TMP/err" "0xFF in user_id"
expect_grep "invalid_utf8.csv: line 3: account_id: not valid UTF-8 (byte 0xED at byte 5); save the file as UTF-8" "$TMP/err" "surrogate in account_id"

say "a NUL in an id: rejected; the good rows around it (lines 2 and 5) go in"
ok --data "$D" import events nul_bytes.csv
expect_eq "$(summary)" "nul_bytes.csv: read 4, stored 2, duplicates 0, rejected 2" "nul_bytes.csv summary"
expect_grep "nul_bytes.csv: line 3: user_id: contains a NUL byte (at byte 4)" "$TMP/err" "NUL in user_id"
expect_grep "nul_bytes.csv: line 4: account_id: contains a NUL byte (at byte 5)" "$TMP/err" "NUL in account_id"
ok --data "$D" rejects --format csv
expect_grep "nul_bytes.csv,4,,account_id: contains a NUL byte (at byte 5)" "$TMP/out" "rejects list the NUL with file, line and field"

say "a name with invalid UTF-8 is rejected too (names are not repaired)"
printf 'account_id,name,seats\nacme,Acme \377 Corp,10\nbeta,Beta,3\n' >badname.csv
ok --data "$D" import accounts badname.csv
expect_eq "$(summary)" "badname.csv: read 2, stored 1, duplicates 0, rejected 1" "badname.csv summary"
expect_grep "badname.csv: line 2: name: not valid UTF-8 (byte 0xFF at byte 6); save the file as UTF-8" "$TMP/err" "bad name"

say "CSV output: formulas get a leading ' inside quotes, negative numbers stay numbers"
# acme's name is =HYPERLINK("x"), its owner -ann, its segment @seg, its arr -2500.5
printf '%s\n' 'account_id,name,seats,contract_start,segment,owner,arr' \
    'acme,"=HYPERLINK(""x"")",10,2026-01-01,@seg,-ann,-2500.5' >formula.csv
ok --data "$D" import accounts formula.csv
ok --data "$D" import events "$FIX/events.csv"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
expect_grep ',"'"'"'=HYPERLINK(""x"")","'"'"'@seg","'"'"'-ann",-2500.5,' "$TMP/out" "report accounts: name, segment, owner neutralised, arr -2500.5 as is"
ok --data "$D" report gaps --as-of 2026-03-31 --format csv
# acme: arr -2500.5, 6 of 10 seats unused -> arr_at_stake = -2500.5 * 0.6 = -1500.3
expect_grep 'acme,"'"'"'=HYPERLINK(""x"")",10,4,6,0.6,2,2,0.0,0.3,-2500.5,-1500.3,"'"'"'-ann"' "$TMP/out" "report gaps row of acme"
python3 -c 'import csv,sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
acme = [r for r in rows if r["account_id"] == "acme"][0]
assert acme["name"] == "'"'"'=HYPERLINK(\"x\")", acme
assert float(acme["arr"]) == -2500.5, acme' "$TMP/out" || fail "report gaps csv read back"

say "JSON output stays valid UTF-8, with U+2028 escaped"
printf 'account_id,name\nbeta,line\342\200\250sep \342\200\251para\n' >u2028.csv
ok --data "$D" import accounts u2028.csv
ok --data "$D" report accounts --as-of 2026-03-31 --format json
iconv -f UTF-8 -t UTF-8 "$TMP/out" >/dev/null || fail "report accounts --format json is not UTF-8"
expect_grep '"name":"line\u2028sep \u2029para"' "$TMP/out" "U+2028/U+2029 escaped in JSON"
expect_grep '"name":"=HYPERLINK(\"x\")"' "$TMP/out" "JSON keeps the name as it is"
python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$TMP/out" || fail "JSON does not load"

say "Slack payloads escape & < > in the account name and the condition"
{ cat "$FIX/model.yaml"; printf '%s\n' 'rules:' '  - name: any_health' '    when: "health >= 0"' \
    'playbooks:' '  - name: chat' '    rules: [any_health]' '    webhook: http://127.0.0.1:9/hook' '    slack: true'; } >slack.yaml
ok --data "$D" model set slack.yaml
printf 'account_id,name\nbeta,<!channel> & <http://evil|x>\n' >slack.csv
ok --data "$D" import accounts slack.csv
ok --data "$D" alerts evaluate --as-of 2026-03-31 --wait 0
command -v sqlite3 >/dev/null || fail "sqlite3 is required"
sqlite3 "$D/uptake.db" "SELECT payload FROM deliveries WHERE payload LIKE '%channel%'" >"$TMP/slack.txt"
expect_eq "$(cat "$TMP/slack.txt")" \
    '{"text":"Opened medium alert for &lt;!channel&gt; &amp; &lt;http://evil|x&gt;: any_health (health &gt;= 0)"}' \
    "the Slack text"

say "a header without a required column: one error naming it and the nearest header"
printf 'timestamp,user_id,account_id,event\n2026-03-01,u,acme,login\n' >ts.csv
up --data "$D" import events ts.csv
expect_nonzero "import with no ts column"
expect_eq "$(cat "$TMP/err")" 'uptake import: ts.csv: header: no column "ts" (did you mean "timestamp"?)' "no ts column"
printf 'ts,user,account_id,event\n2026-03-01,u,acme,login\n' >user.csv
up --data "$D" import events user.csv --map user_id=usr
expect_eq "$(cat "$TMP/err")" 'uptake import: user.csv: header: no column "usr" (mapped from user_id) (did you mean "user"?)' "mapped column missing"
printf 'ts,who,account_id,event\n' >who.csv
up --data "$D" import events who.csv
expect_eq "$(cat "$TMP/err")" 'uptake import: who.csv: header: no column "user_id"' "no suggestion when nothing is close"

say "a duplicated column is an error naming both positions"
up --data "$D" import events dup_columns.csv
expect_nonzero "import with a duplicated column"
expect_eq "$(cat "$TMP/err")" 'uptake import: dup_columns.csv: header: column "user_id" appears twice (columns 2 and 5)' "duplicate column"

say "UTF-16 (with and without a BOM) gets its own message"
printf 'ts,user_id,account_id,event\n2026-03-01,u,acme,login\n' | iconv -f UTF-8 -t UTF-16 >u16.csv
up --data "$D" import events u16.csv
expect_eq "$(cat "$TMP/err")" 'uptake import: u16.csv: looks like UTF-16; save it as UTF-8' "UTF-16 with BOM"
printf 'ts,user_id,account_id,event\n' | iconv -f UTF-8 -t UTF-16BE >u16be.csv
up --data "$D" import events u16be.csv
expect_eq "$(cat "$TMP/err")" 'uptake import: u16be.csv: looks like UTF-16; save it as UTF-8' "UTF-16BE without BOM"

say "CR-only line endings are read as lines"
printf 'ts,user_id,account_id,event\r2026-03-02T10:00:00Z,cr1,acme,login\r2026-03-03T10:00:00Z,cr2,acme,login\r' >cr.csv
ok --data "$D" import events cr.csv
expect_eq "$(summary)" "cr.csv: read 2, stored 2, duplicates 0, rejected 0" "cr.csv summary"

say "a quoted field over 16 MiB is one reject; the next record is read"
python3 -c 'import sys
w = sys.stdout.write
w("ts,user_id,account_id,event\n2026-03-04T10:00:00Z,big1,acme,login\n2026-03-04T10:00:00Z,big2,acme,\"")
w("x,y\n" * 4300000)
w("\"\n2026-03-05T10:00:00Z,big3,acme,login\n")' >big.csv
ok --data "$D" import events big.csv
expect_eq "$(summary)" "big.csv: read 3, stored 2, duplicates 0, rejected 1" "big.csv summary"
# line 3 opens the quote; 4,300,000 newlines inside it; the next record is on line 4,300,004
expect_grep "big.csv: line 3: record longer than 16 MiB; skipped, reading on at line 4300004" "$TMP/err" "over-long record"
rm -f big.csv

say "dates outside 1990..2100 are rejected with their own message"
printf 'ts,user_id,account_id,event\n0001-01-01T00:00:00Z,old,acme,login\n2026-03-06T10:00:00Z,new,acme,login\n' >old.csv
ok --data "$D" import events old.csv
expect_eq "$(summary)" "old.csv: read 2, stored 1, duplicates 0, rejected 1" "old.csv summary"
expect_grep "old.csv:2: ts: '0001-01-01T00:00:00Z' is not a date between 1990 and 2100" "$TMP/err" "year 1"
printf 'account_id,contract_start,renewal_date\nacme,9999-12-31,2027-01-01\nbeta,2026-01-01,0000-01-01\ngamma,2026-01-01,2027-01-01\n' >dates.csv
ok --data "$D" import accounts dates.csv
expect_eq "$(summary)" "dates.csv: read 3, stored 1, duplicates 0, rejected 2" "dates.csv summary"
expect_grep "dates.csv:2: contract_start: cannot parse '9999-12-31' as a date between 1990 and 2100" "$TMP/err" "contract_start 9999"
expect_grep "dates.csv:3: renewal_date: cannot parse '0000-01-01' as a date between 1990 and 2100" "$TMP/err" "renewal 0000"

say "model YAML nested 64000 deep: refused at once with the limit named"
python3 -c 'print("features: " + "[" * 64000 + "]" * 64000)' >deep.yaml
start=$(date +%s)
up model check deep.yaml
expect_nonzero "model check deep.yaml"
expect_eq "$(cat "$TMP/err")" "deep.yaml:1: lists and maps nested more than 64 deep" "depth limit"
[ $(( $(date +%s) - start )) -le 2 ] || fail "model check of deep.yaml took more than 2 s"
# the top map, the features list and the feature map are 3 levels: 61 more is 64
python3 -c 'print("features:\n  - name: ok\n    events: " + "[" * 61 + "a" + "]" * 61)' >deep64.yaml
up model check deep64.yaml
expect_grep "deep64.yaml:3: features[0].events[0]:" "$TMP/err" "64 levels pass the guard and reach the key checks"
python3 -c 'print("features:\n  - name: ok\n    events: " + "[" * 62 + "a" + "]" * 62)' >deep65.yaml
up model check deep65.yaml
expect_eq "$(cat "$TMP/err")" "deep65.yaml:3: lists and maps nested more than 64 deep" "65 levels"

say "model show gives back the model as set: U+2028 in a name reads back the same"
ok --data "$D" model set "$HF/model_roundtrip_u2028.yaml"
ok --data "$D" model show
cp "$TMP/out" shown.yaml
ok model check shown.yaml
python3 - "$HF/model_roundtrip_u2028.yaml" shown.yaml <<'PY' || fail "U+2028 round trip"
import sys, yaml
a, b = (yaml.safe_load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
assert a == b, (a, b)
assert "\u2028" in a["features"][0]["name"], a
PY
echo "ok text_safety"
