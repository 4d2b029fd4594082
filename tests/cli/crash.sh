#!/bin/sh
# Crash safety of the event log: a torn tail (a block write interrupted by a
# crash) is found on open, reported on stderr, ignored by readers and cut by
# the next writer; acknowledged blocks are never lost.
set -eu
. "$(dirname "$0")/lib.inc"
D=$TMP/store
LOG=$D/events.log
size() { wc -c <"$1" | tr -d ' '; }
ok --data "$D" init -q --model "$FIX/model.yaml"
for t in accounts users surveys; do ok --data "$D" import "$t" "$FIX/$t.csv"; done

say "import A (16 events, one block), then B (3 events, a second block)"
ok --data "$D" import events "$FIX/events.csv"
SIZE_A=$(size "$LOG")
# the acknowledged end (events.ack) as it stands now: a crash during a later
# block's write leaves it so, since it moves only once a block is durable
cp "$D/events.ack" "$TMP/ack-a"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
cp "$TMP/out" "$TMP/report-a.csv"
expect_same "$TMP/report-a.csv" "$FIX/expected-accounts.csv" "report after A"
# B: three users of a new account zeta, all before T
printf 'ts,user_id,account_id,event\n2026-03-31T10:00:00Z,z1,zeta,report.view\n2026-03-30T10:00:00Z,z2,zeta,report.view\n2026-03-29T10:00:00Z,z3,zeta,export.csv\n' >"$TMP/b.csv"
ok --data "$D" import events "$TMP/b.csv"
SIZE_B=$(size "$LOG")
[ "$SIZE_B" -gt "$SIZE_A" ] || fail "import B did not grow events.log ($SIZE_A -> $SIZE_B)"
ok --data "$D" status
expect_grep "events      19 (" "$TMP/out" "16 + 3 events"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
cp "$TMP/out" "$TMP/report-ab.csv"
# zeta: seats 0, known 3 (event-only), dau {z1}, wau = mau = 3
expect_eq "$(csv_field "$TMP/report-ab.csv" zeta known_users),$(csv_field "$TMP/report-ab.csv" zeta dau),$(csv_field "$TMP/report-ab.csv" zeta mau)" \
    "3,1,3" "zeta after B"

say "a torn partial block appended: readers ignore it and say so"
printf 'UPB1garbage' >>"$LOG"     # 11 bytes: a magic and a header cut short
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
expect_same "$TMP/out" "$TMP/report-ab.csv" "report with a torn tail"
expect_grep "torn tail of 11 bytes after offset $SIZE_B" "$TMP/err" "read-only open reports the torn tail"
expect_grep "ignored it" "$TMP/err" "read-only open leaves the file alone"
expect_eq "$(size "$LOG")" "$((SIZE_B + 11))" "events.log size after a read-only open"

say "the next writing command cuts it, says so on stderr, and the report is unchanged"
ok --data "$D" import accounts "$FIX/accounts.csv"
expect_grep "torn tail of 11 bytes after offset $SIZE_B" "$TMP/err" "writing open reports the torn tail"
expect_grep "cut it" "$TMP/err" "writing open cuts the torn tail"
expect_eq "$(size "$LOG")" "$SIZE_B" "events.log size after the cut"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
expect_same "$TMP/out" "$TMP/report-ab.csv" "report after the cut"
expect_no_grep "torn" "$TMP/err" "no notice once the tail is cut"
cp "$D/events.ack" "$TMP/ack-b"
ok --data "$D" import --again events "$TMP/b.csv"   # imported in full before: --again
ok --data "$D" status
expect_grep "events      22 (" "$TMP/out" "appending after the cut works (19 + 3)"
SIZE_C=$(size "$LOG")

say "events.log cut 5 bytes short, inside the last block, by a crash before it was acknowledged: exactly that block is lost"
truncate -s "$((SIZE_C - 5))" "$LOG"
cp "$TMP/ack-b" "$D/events.ack"
ok --data "$D" status
expect_grep "events      19 (" "$TMP/out" "a reader sees 22 - 3 events"
expect_grep "torn tail of $((SIZE_C - 5 - SIZE_B)) bytes after offset $SIZE_B" "$TMP/err" "the torn block is named by its offset"
ok --data "$D" import accounts "$FIX/accounts.csv"
expect_grep "cut it" "$TMP/err" "the writer cuts the torn block"
expect_eq "$(size "$LOG")" "$SIZE_B" "events.log is back to its size before the torn block"
ok --data "$D" status
expect_grep "events      19 (" "$TMP/out" "19 events after the cut"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
expect_same "$TMP/out" "$TMP/report-ab.csv" "report after losing the torn block"

say "the same inside B's block: the store falls back to A alone"
truncate -s "$((SIZE_B - 3))" "$LOG"
cp "$TMP/ack-a" "$D/events.ack"
ok --data "$D" import accounts "$FIX/accounts.csv"
expect_grep "torn tail of $((SIZE_B - 3 - SIZE_A)) bytes after offset $SIZE_A" "$TMP/err" "B's torn block"
ok --data "$D" status
expect_grep "events      16 (" "$TMP/out" "16 events: B's 3 are gone"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
expect_same "$TMP/out" "$TMP/report-a.csv" "report equals the one after A"

say "a lost snapshot (rollup.bin) is rebuilt from the log"
rm -f "$D/rollup.bin"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
expect_same "$TMP/out" "$TMP/report-a.csv" "report without rollup.bin"
echo "ok $TEST_NAME"
