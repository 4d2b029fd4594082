#!/bin/sh
# Duplicates: events with the same message id are one event (the first stored
# wins), within a file, across re-imports and across files and formats.
set -eu
. "$(dirname "$0")/lib.inc"
D=$TMP/store
ok --data "$D" init -q --model "$FIX/model.yaml"
cd "$TMP"

# dups.jsonl (plain rows, uptake's field names):
#   1 u1 03-31T10:00Z report.view  m1        2 u2 03-31T11:00Z report.view  m2
#   3 u1 03-31T10:00Z report.view  m1 (an exact re-send)
#   4 u3 03-30T10:00Z export.csv   m1 (same id, other content: the first stored wins)
#   5 u4 03-29T10:00Z dashboard.view, no message id
# -> read 5, stored 3, duplicates 2
cat >dups.jsonl <<'EOF2'
{"ts":"2026-03-31T10:00:00Z","user_id":"u1","account_id":"acme","event":"report.view","message_id":"m1"}
{"ts":"2026-03-31T11:00:00Z","user_id":"u2","account_id":"acme","event":"report.view","message_id":"m2"}
{"ts":"2026-03-31T10:00:00Z","user_id":"u1","account_id":"acme","event":"report.view","message_id":"m1"}
{"ts":"2026-03-30T10:00:00Z","user_id":"u3","account_id":"acme","event":"export.csv","message_id":"m1"}
{"ts":"2026-03-29T10:00:00Z","user_id":"u4","account_id":"acme","event":"dashboard.view"}
EOF2
say "the same message id twice in one file is stored once"
ok --data "$D" import events dups.jsonl
expect_eq "$(summary)" "dups.jsonl: read 5, stored 3, duplicates 2, rejected 0" "dups.jsonl summary"
ok --data "$D" status
expect_grep "events      3 (" "$TMP/out" "3 events stored"
# as of 03-31: dau {u1, u2} = 2; wau {u1, u2, u4} = 3 (u3's event was a duplicate);
# exports used by nobody -> feature users 0
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
expect_eq "$(csv_field "$TMP/out" acme dau) $(csv_field "$TMP/out" acme wau)" "2 3" "acme dau wau"
ok --data "$D" report features --as-of 2026-03-31 --format csv
expect_grep "acme,exports,0,3,0.0" "$TMP/out" "u3's export.csv (a duplicate id) is not stored"
cp "$TMP/out" "$TMP/features-1.csv"

say "the same file again is recognised (it has an event without a message id) and skipped"
ok --data "$D" import events dups.jsonl
expect_grep "dups.jsonl: skipped: imported in full on " "$TMP/out" "the re-run is skipped"
expect_grep "(read 5, stored 3); nothing stored again" "$TMP/out" "with what the first import did"

say "re-importing with --again stores only the event without a message id"
ok --data "$D" import --again events dups.jsonl
# m1, m2, m1, m1 are duplicates; the row without a message id cannot be recognised
expect_eq "$(summary)" "dups.jsonl: read 5, stored 1, duplicates 4, rejected 0" "re-import summary"
ok --data "$D" status
expect_grep "events      4 (" "$TMP/out" "3 + 1 events after the re-import"
# the repeated u4 event is on the same day: the report does not change
ok --data "$D" report features --as-of 2026-03-31 --format csv
expect_same "$TMP/out" "$TMP/features-1.csv" "report features after the re-import"

say "a CSV with a message id already stored from JSONL is a duplicate"
printf 'ts,user_id,account_id,event,message_id\n2026-03-28T10:00:00Z,u9,acme,export.csv,m2\n2026-03-28T10:00:00Z,u9,acme,export.csv,m9\n' >more.csv
ok --data "$D" import events more.csv
expect_eq "$(summary)" "more.csv: read 2, stored 1, duplicates 1, rejected 0" "more.csv summary"
ok --data "$D" import --again events more.csv dups.jsonl
expect_grep "more.csv: read 2, stored 0, duplicates 2, rejected 0" "$TMP/out" "more.csv again"
expect_grep "dups.jsonl: read 5, stored 1, duplicates 4, rejected 0" "$TMP/out" "dups.jsonl a third time"
ok --data "$D" status
# 3 + 1 + 1 (m9) + 1 (u4 again) = 6
expect_grep "events      6 (" "$TMP/out" "6 events in all"

say "duplicates survive a reopen from the log alone (no snapshot)"
rm -f "$D/rollup.bin"
ok --data "$D" import events dups.jsonl more.csv
expect_grep "more.csv: read 2, stored 0, duplicates 2, rejected 0" "$TMP/out" "more.csv after the snapshot is gone"
echo "ok $TEST_NAME"
