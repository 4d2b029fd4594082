# An events import killed at any instant and run again stores every record
# exactly once (and a report before the re-run sees none of the unfinished
# import), with no message ids in the file: the import's start is
# recorded before its first block and the next writer cuts an unfinished
# import back; a file imported in full is recognised and skipped (--again
# imports it once more). A file-size limit is a write error with its own
# message, the imports row says nothing was stored, no temporary file stays.
. "$(dirname "$0")/lib.inc"
D=$TMP/d
ok demo --out "$D" --events 600k --accounts 30 --seed 3 --last-day 2026-11-20
N=$(($(wc -l <"$D/events.csv") - 1))
ok --data "$TMP/clean" init -q --model "$D/model.yaml"
ok --data "$TMP/clean" import -q events "$D/events.csv"
expect_eq "$(stored_events "$TMP/clean")" "$N" "a clean import stores every row"

say "killed at 8 instants, then run again: $N events each time"
for delay in 0.02 0.08 0.15 0.22 0.3 0.38 0.5 0.7; do
    S=$TMP/s$delay
    ok --data "$S" init -q --model "$D/model.yaml"
    "$UPTAKE" --data "$S" import -q events "$D/events.csv" >/dev/null 2>&1 &
    P=$!
    sleep "$delay"
    kill -9 "$P" 2>/dev/null || true
    wait "$P" 2>/dev/null || true
    # a reader before any writer: none of an unfinished import, or all of a finished one
    seen=$(stored_events "$S")
    [ "$seen" = 0 ] || [ "$seen" = "$N" ] || fail "a reader after the kill at $delay s sees $seen events (0 or $N)"
    up --data "$S" import events "$D/events.csv"
    expect_rc 0 "the import run again (after $delay s)"
    expect_eq "$(stored_events "$S")" "$N" "killed after $delay s and run again"
    [ -e "$S/rollup.bin.tmp" ] && fail "a temporary snapshot is left (after $delay s)"
done

say "killed between its last step's mark and its transaction: a reader sees none of it, the next import stores it once"
# the state such a kill leaves (found at 0.17 s on this file): every block
# written and the mark at the log's end, the import still pending, neither
# its imports row nor a snapshot of it yet
S=$TMP/lastmark
ok --data "$S" init -q --model "$D/model.yaml"
ok --data "$S" import -q events "$D/events.csv"
sqlite3 "$S/uptake.db" "INSERT OR REPLACE INTO meta(key, value) VALUES ('import_pending', 0); DELETE FROM imports; DELETE FROM import_files"
rm -f "$S/rollup.bin" "$S/events.acx" "$S/events.acx.idx"
up --data "$S" status
expect_rc 0 "a reader beside the unfinished import (was: events.log is damaged, exit 3)"
expect_grep "events      0 (- .. -)" "$TMP/out" "it sees none of the import"
up --data "$S" import events "$D/events.csv"
expect_rc 0 "the import run again"
expect_grep "an events import was interrupted before it finished" "$TMP/err" "it says it cut the unfinished one"
expect_eq "$(stored_events "$S")" "$N" "every row once"

say "a file imported in full is skipped; --again imports it once more"
up --data "$TMP/clean" import events "$D/events.csv"
expect_rc 0 "the same file again"
expect_grep "events.csv: skipped: imported in full on " "$TMP/out" "the summary says it was skipped"
expect_grep "; nothing stored again" "$TMP/out" "and that nothing was stored"
expect_grep "\`--again\` imports it once more" "$TMP/err" "the way to import it anyway"
expect_eq "$(stored_events "$TMP/clean")" "$N" "nothing stored twice"
ok --data "$TMP/clean" import -q --again events "$D/events.csv"
expect_eq "$(stored_events "$TMP/clean")" "$((2 * N))" "--again stores it once more"

say "a file-size limit: its own message, nothing stored, no temporary file; then the import stores it once"
S=$TMP/limited
ok --data "$S" init -q --model "$D/model.yaml"
rc=0
(ulimit -f 1000; "$UPTAKE" --data "$S" import events "$D/events.csv" >"$TMP/out" 2>"$TMP/err") || rc=$?
expect_eq "$rc" 3 "exit code of a write error"
expect_grep "cannot write the event log: file too large (the file size limit, \`ulimit -f\`, is reached); nothing of this file was stored" \
    "$TMP/err" "the message says which limit"
[ -e "$S/rollup.bin.tmp" ] && fail "a temporary snapshot is left after the size limit"
expect_eq "$(sqlite3 "$S/uptake.db" 'SELECT stored FROM imports')" 0 "the imports row claims nothing stored"
expect_eq "$(stored_events "$S")" 0 "nothing is in the log"
ok --data "$S" import -q events "$D/events.csv"
expect_eq "$(stored_events "$S")" "$N" "without the limit: every row once"
echo "ok import_interrupted"
