#!/bin/sh
# uptake check and uptake repair on a store with one kind of damage at a time:
# what each prints (exact text), its exit code, and that repair leaves a
# store that checks whole. The store (four blocks, 21 events) is described in
# damage.inc.
set -eu
. "$(dirname "$0")/lib.inc"
. "$(dirname "$0")/damage.inc"
# every writer brings events.acx up to date, however little it adds
export UPTAKE_ACX_MIN_BYTES=0
make_store
ACXN=$(u64 "$BASE/events.acx.idx" 40)   # its blocks
LOGSIZE=$(size "$BASE/events.log")
log_blocks "$BASE/events.log"
set -- $BLOCKS
B1=$2 B2=$3 B3=$4
LEN2=$((B3 - B2)) LEN3=$((LOGSIZE - B3))
as_of="--as-of 2026-03-31 --format csv"
ok --data "$BASE" report accounts $as_of
cp "$TMP/out" "$TMP/base.csv"

say "an intact store: every file ok, exit 0"
ok --data "$BASE" check
printf '%s\n' "events.ack: ok (acknowledged up to offset $LOGSIZE)" \
    "events.log: ok (4 blocks, 21 events, $LOGSIZE bytes)" \
    "rollup.bin: ok (21 events through offset $LOGSIZE)" \
    "events.acx: ok ($ACXN blocks, 21 events through offset $LOGSIZE)" \
    "uptake.db: ok (SQLite's integrity_check)" \
    "no problems found" >"$TMP/want"
expect_same "$TMP/out" "$TMP/want" "check of an intact store"

say "block 2's checksum field flipped: check names the block, its size and its 3 events"
copy_store
flip "$S/events.log" $((B2 + 13)) 0
up --data "$S" check
expect_rc 1 "check of a damaged log"
printf '%s\n' "events.ack: ok (acknowledged up to offset $LOGSIZE)" \
    "events.log: offset $B2: $LEN2 bytes: the block there fails its checksum (holding 3 events)" \
    "events.log: 1 damaged of 4 blocks; cutting the log at offset $B2 would lose 5 events" \
    "rollup.bin: checksums and bounds ok (21 events through offset $LOGSIZE; the damaged log cannot confirm them)" \
    "events.acx: checksums ok (21 events through offset $LOGSIZE; the damaged log cannot be compared with it)" \
    "uptake.db: ok (SQLite's integrity_check)" \
    "1 problem found: \`uptake repair\` rebuilds what can be rebuilt (see docs/store.md)" >"$TMP/want"
expect_same "$TMP/out" "$TMP/want" "check of a damaged block"

say "a reader with the snapshot gives the same report; a writer refuses and cuts nothing"
ok --data "$S" report accounts $as_of
expect_same "$TMP/out" "$TMP/base.csv" "report from the snapshot"
up --data "$S" model set "$FIX/model.yaml"
expect_rc 3 "model set on a damaged log"
expect_eq "$(cat "$TMP/err")" "uptake model set: events.log is damaged: the block at offset $B2 ($LEN2 bytes, 3 events) fails its checksum and lies below the acknowledged end of the log (offset $LOGSIZE), so it is not an interrupted write; nothing was cut. Run \`uptake check\` for details and \`uptake repair\` to recover (see docs/store.md)" "model set's message"
expect_eq "$(size "$S/events.log")" "$LOGSIZE" "events.log untouched"
rm "$S/rollup.bin"
up --data "$S" report accounts $as_of
expect_rc 3 "a reader that must replay the damaged block"
expect_grep "events.log is damaged: the block at offset $B2 ($LEN2 bytes, 3 events) fails its checksum" "$TMP/err" "the reader's message"
[ ! -s "$TMP/out" ] || fail "a reader printed a report from a damaged log"

say "repair without --drop-damaged: says what it would lose, changes nothing, exit 1"
up --data "$S" repair
expect_rc 1 "repair of a damaged log"
printf '%s\n' "events.log: not repaired: the block at offset $B2 fails its checksum; \`uptake repair --drop-damaged\` cuts the log there, losing 5 events" \
    "1 problem left" >"$TMP/want"
expect_same "$TMP/out" "$TMP/want" "repair's refusal"
expect_eq "$(size "$S/events.log")" "$LOGSIZE" "events.log untouched by repair"

say "repair --drop-damaged: cuts at block 2, keeps the bytes cut, rebuilds the snapshot: 16 events"
ok --data "$S" repair --drop-damaged
printf '%s\n' "events.log: cut at offset $B2: dropped 5 events; the bytes cut are kept in events.log.dropped-$B2" \
    "rollup.bin: rebuilt from events.log (16 events)" \
    "events.acx: rebuilt from events.log" \
    "the store is whole" >"$TMP/want"
expect_same "$TMP/out" "$TMP/want" "repair --drop-damaged"
expect_eq "$(size "$S/events.log"),$(size "$S/events.log.dropped-$B2")" "$B2,$((LOGSIZE - B2))" "log and kept bytes"
ok --data "$S" check
expect_grep "no problems found" "$TMP/out" "check after the repair"
expect_grep "events.log: ok (2 blocks, 16 events, $B2 bytes)" "$TMP/out" "two blocks left"
expect_eq "$(stored_events "$S")" 16 "events after the repair"

say "a flipped bit in rollup.bin's pair records: check names the section; a reader warns and rebuilds"
copy_store
SNAP=$S/rollup.bin
SN=$(size "$SNAP")
HEAD=$(u64 "$SNAP" $((SN - 72))) SPLIT=$(u64 "$SNAP" $((SN - 48)))   # the second checksummed half
flip "$SNAP" $((HEAD + 4)) 1     # the first pair's user id
up --data "$S" check
expect_rc 1 "check of a damaged snapshot"
expect_grep "rollup.bin: the checksum of its records (bytes $HEAD-$SPLIT) does not match" "$TMP/out" "check names the section"
ok --data "$S" report accounts $as_of
expect_same "$TMP/out" "$TMP/base.csv" "report after the rebuild"
expect_eq "$(cat "$TMP/err")" "uptake: rollup.bin is damaged: the checksum of its records (bytes $HEAD-$SPLIT) does not match; rebuilt it from events.log" "the reader's warning"
ok --data "$S" repair
printf '%s\n' "rollup.bin: rebuilt from events.log (21 events)" "events.acx: rebuilt from events.log" \
    "the store is whole" >"$TMP/want"
expect_same "$TMP/out" "$TMP/want" "repair of the snapshot"
ok --data "$S" check
expect_grep "no problems found" "$TMP/out" "check after repairing the snapshot"

say "both records of events.ack damaged: check says so; readers warn; repair rewrites it"
copy_store
flip "$S/events.ack" 20 0
flip "$S/events.ack" 52 0
up --data "$S" check
expect_rc 1 "check of a damaged mark"
expect_grep "events.ack: damaged: no record in it passes its checksum" "$TMP/out" "check names the mark"
ok --data "$S" report accounts $as_of
expect_grep "uptake: events.ack is damaged (no record in it passes its checksum); events.log is read as if it had no acknowledged end until a writer rewrites it (run \`uptake check\`)" "$TMP/err" "the reader's warning"
ok --data "$S" repair
printf '%s\n' "events.ack: rewritten (acknowledged up to offset $LOGSIZE)" \
    "rollup.bin: rebuilt from events.log (21 events)" "events.acx: rebuilt from events.log" \
    "the store is whole" >"$TMP/want"
expect_same "$TMP/out" "$TMP/want" "repair of the mark"
ok --data "$S" check
expect_grep "events.ack: ok (acknowledged up to offset $LOGSIZE)" "$TMP/out" "the mark after repair"

say "events.log cut short below the mark: acknowledged bytes are missing, and no writer cuts further"
copy_store
truncate -s $((LOGSIZE - 5)) "$S/events.log"
up --data "$S" check
expect_rc 1 "check of a log cut short"
printf '%s\n' "events.ack: ok (acknowledged up to offset $LOGSIZE)" \
    "events.log: offset $B3: $((LEN3 - 5)) bytes: the block there runs past the end of the file (its events cannot be counted)" \
    "events.log: offset $((LOGSIZE - 5)): 5 acknowledged bytes are missing (the file ends before its acknowledged end, offset $LOGSIZE)" \
    "events.log: 1 damaged of 4 blocks; cutting the log at offset $B3 would lose 0 events and those of 1 damaged block that cannot be counted" \
    "rollup.bin: checksums and bounds ok (21 events through offset $LOGSIZE; the damaged log cannot confirm them)" \
    "events.acx does not match events.log (it covers the log to offset $LOGSIZE, past its end); \`uptake repair\` rebuilds it once the log is whole" \
    "uptake.db: ok (SQLite's integrity_check)" \
    "2 problems found: \`uptake repair\` rebuilds what can be rebuilt (see docs/store.md)" >"$TMP/want"
expect_same "$TMP/out" "$TMP/want" "check of a log cut inside its last block"
up --data "$S" import events "$TMP/c.csv"
expect_rc 3 "a writer on a log cut short"
expect_grep "events.log is damaged: the block at offset $B3 ($LEN3 bytes, its events cannot be counted) runs past the end of the file and lies below the acknowledged end of the log (offset $LOGSIZE)" "$TMP/err" "the writer's message"
expect_eq "$(size "$S/events.log")" $((LOGSIZE - 5)) "nothing cut"
truncate -s "$B3" "$S/events.log"
up --data "$S" check
expect_grep "events.log: offset $B3: $LEN3 acknowledged bytes are missing (the file ends before its acknowledged end, offset $LOGSIZE)" "$TMP/out" "a log that ends at a block boundary"

say "a flipped bit in events.acx's first block: check names it; the account page reads the log; repair rebuilds it"
ok --data "$BASE" report account acme $as_of
cp "$TMP/out" "$TMP/page.csv"
copy_store
flip "$S/events.acx" 20 3
up --data "$S" check
expect_rc 1 "check of a damaged events.acx"
expect_grep "events.acx: its block at byte 0 fails its checksum (readers read events.log instead; \`uptake repair\` rebuilds it)" "$TMP/out" "check names the block"
expect_grep "1 problem found" "$TMP/out" "one problem"
for a in $(cut -d, -f1 "$FIX/accounts.csv" | sed 1d) zeta; do
    ok --data "$BASE" report account "$a" $as_of
    cp "$TMP/out" "$TMP/want"
    ok --data "$S" report account "$a" $as_of
    expect_same "$TMP/out" "$TMP/want" "account $a from the log"
done
ok --data "$S" report account acme $as_of
expect_same "$TMP/out" "$TMP/page.csv" "the account page from the log"
ok --data "$S" repair
printf '%s\n' "rollup.bin: rebuilt from events.log (21 events)" "events.acx: rebuilt from events.log" \
    "the store is whole" >"$TMP/want"
expect_same "$TMP/out" "$TMP/want" "repair of events.acx"
ok --data "$S" check
expect_grep "events.acx: ok (" "$TMP/out" "events.acx after repair"
expect_grep "no problems found" "$TMP/out" "check after repairing events.acx"

say "usage"
up --data "$BASE" check extra
expect_rc 2 "check with an argument"
expect_eq "$(cat "$TMP/err")" "usage: uptake check" "check's usage"
up --data "$TMP/nowhere" check
expect_rc 3 "check of no store"
expect_eq "$(cat "$TMP/err")" "uptake check: $TMP/nowhere: no store here" "check of no store"
echo "ok $TEST_NAME"
