#!/bin/sh
# Bad input: rejected records are kept with file:line, field and reason, the
# good rows beside them go in, summaries count right, --strict and unreadable
# files exit non-zero.
set -eu
. "$(dirname "$0")/lib.inc"
D=$TMP/store
ok --data "$D" init -q --model "$FIX/model.yaml"
cp "$FIX/bad-events.csv" "$FIX/bad-surveys.csv" "$TMP/"
cd "$TMP"

# bad-events.csv, 6 records after the header:
#   line 2 good (x1 03-30 report.view)      line 3 month 13: bad ts
#   line 4 empty user_id                    line 5 three fields of four
#   line 6 five fields of four              line 7 good (x4 03-31 dashboard.view)
# -> read 6, stored 2, duplicates 0, rejected 4
say "events with a bad ts, a missing user_id and wrong field counts: the 2 good rows go in"
ok --data "$D" import events bad-events.csv
expect_eq "$(summary)" "bad-events.csv: read 6, stored 2, duplicates 0, rejected 4" "bad-events.csv summary"
expect_grep "bad-events.csv:3: ts: cannot parse '2026-13-45T10:00:00Z'" "$TMP/err" "bad ts on stderr"
expect_grep "bad-events.csv:4: user_id: missing" "$TMP/err" "missing user_id on stderr"
expect_grep "4 records rejected" "$TMP/err" "the reject count on stderr"

# bad-surveys.csv: line 2 nps 9 good, line 3 kind 'ces' (unknown), line 4 'NPS' 4 good
# (the kind is case-insensitive) -> read 3, stored 2, rejected 1
say "surveys with an unknown kind: the other 2 go in"
ok --data "$D" import surveys bad-surveys.csv
expect_eq "$(summary)" "bad-surveys.csv: read 3, stored 2, duplicates 0, rejected 1" "bad-surveys.csv summary"

say "uptake rejects lists each with file:line and field"
ok --data "$D" rejects
expect_grep "5 rejected records" "$TMP/out" "rejects count"
expect_grep "bad-events.csv:3: ts: cannot parse" "$TMP/out" "rejects: bad ts"
expect_grep "bad-events.csv:4: user_id: missing (required)" "$TMP/out" "rejects: missing user_id"
expect_grep "bad-events.csv:5: expected 4 fields, got 3" "$TMP/out" "rejects: too few fields"
expect_grep "bad-events.csv:6: expected 4 fields, got 5" "$TMP/out" "rejects: too many fields"
expect_grep "bad-surveys.csv:3: kind: expected nps or csat, got 'ces'" "$TMP/out" "rejects: unknown survey kind"
expect_no_grep "line 5:" "$TMP/out" "rejects: the line is not repeated in the reason"
ok --data "$D" rejects --format csv
# file,line,field columns of the CSV, newest first
cut -d, -f4-6 "$TMP/out" >"$TMP/rej.txt"
printf '%s\n' file,line,field bad-surveys.csv,3,kind bad-events.csv,6, bad-events.csv,5, \
    bad-events.csv,4,user_id bad-events.csv,3,ts >"$TMP/rej.expected"
expect_same "$TMP/rej.txt" "$TMP/rej.expected" "rejects --format csv: file, line, field"
# the reason column holds the reader's message without its "line N: "
python3 -c 'import csv,sys; r={(x["file"],x["line"]): x["reason"] for x in csv.DictReader(open(sys.argv[1]))}
assert r[("bad-events.csv","5")] == "expected 4 fields, got 3", r
assert r[("bad-events.csv","6")] == "expected 4 fields, got 5", r' "$TMP/out" ||
    fail "rejects --format csv: reasons of lines 5 and 6"
ok --data "$D" rejects --format json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["total"] == 5 and len(d["rejects"]) == 5, d' \
    "$TMP/out" || fail "rejects --format json: total 5"
ok --data "$D" rejects --limit 2
expect_grep "--limit N shows more" "$TMP/out" "rejects --limit 2 says there are more"

say "the good rows are in the report: x1 on 03-30, x4 on 03-31 -> dau 1, wau 2, mau 2 for acme"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
expect_eq "$(csv_field "$TMP/out" acme dau),$(csv_field "$TMP/out" acme wau),$(csv_field "$TMP/out" acme mau)" \
    "1,2,2" "acme dau,wau,mau"
# nps: 9 (promoter) and 4 (detractor) in window(90) -> 100*(1-1)/2 = 0.0
expect_eq "$(csv_field "$TMP/out" acme nps)" "0.0" "acme nps from the two good surveys"

say "--strict exits 1 on any rejection (the good rows still go in)"
up --data "$D" import --strict surveys bad-surveys.csv
expect_rc 1 "import --strict bad-surveys.csv"
# the two good surveys are already stored: duplicates 2
expect_eq "$(summary)" "bad-surveys.csv: read 3, stored 0, duplicates 2, rejected 1" "--strict summary"
ok --data "$D" import --strict surveys "$FIX/surveys.csv"

say "a file with nothing readable exits 1"
printf 'ts,user_id,account_id,event\n2026-13-01,u1,acme,e\nyesterday,u2,acme,e\n' >allbad.csv
up --data "$D" import events allbad.csv
expect_rc 1 "import of a file whose every record is rejected"
expect_eq "$(summary)" "allbad.csv: read 2, stored 0, duplicates 0, rejected 2" "allbad.csv summary"
expect_grep "nothing could be read" "$TMP/err" "allbad.csv message"
printf 'ts,user_id,account_id,event\n' >header-only.csv
up --data "$D" import events header-only.csv
expect_rc 1 "import of a header with no rows"
: >empty.csv
up --data "$D" import events empty.csv
expect_rc 1 "import of an empty file"
expect_grep "empty.csv" "$TMP/err" "the message names empty.csv"
printf '{"type":"track", "userId": \n[1,2]\n' >junk.jsonl
up --data "$D" import events junk.jsonl
expect_rc 1 "import of undecodable JSONL"

say "a missing file exits non-zero and names the file"
up --data "$D" import events no-such-file.csv
expect_nonzero "import of a missing file"
expect_grep "no-such-file.csv" "$TMP/err" "the message names the missing file"
up --data "$D" import invoices "$FIX/events.csv"
expect_rc 2 "import of an unknown table"

say "nothing above disturbed the store: still the 2 good events, 2 + 7 surveys"
ok --data "$D" status
expect_grep "events      2 (" "$TMP/out" "status after the bad imports"
# rejects: 4 + 1 + 1 (the --strict re-run) + 2 (allbad.csv) + 2 (junk.jsonl) = 10
expect_grep "0 accounts, 0 users, 9 surveys, 0 subscriptions, 0 outcomes, 0 tickets, 0 milestones, 10 rejects" "$TMP/out" "tables after the bad imports"
echo "ok $TEST_NAME"
