#!/bin/sh
# One flipped bit anywhere in rollup.bin or in an acknowledged block of
# events.log is detected or harmless, never a crash and never a silently
# different number. A seeded, bounded loop (FLIPS per byte class) over the
# small store of damage.inc:
#   rollup.bin, by class (header, dictionaries, pair records, feature
#   records, data, trailer): `report accounts` must print the undamaged
#   report and warn that it rebuilt rollup.bin from the log;
#   events.log, every block's header and payload (all below the mark): a
#   reader still using the snapshot prints the undamaged report; `model set`
#   (a writer that replays the whole log) exits 3 naming the block and
#   leaves the file whole; `check` exits 1 naming the block; a reader
#   without the snapshot exits 3 or prints the undamaged report;
#   events.acx and events.acx.idx (the log grouped by account): the account
#   pages print what they print from the log, with a notice when they had
#   to read it.
# Any exit code >= 128 or sanitizer report is a crash.
set -eu
. "$(dirname "$0")/lib.inc"
. "$(dirname "$0")/damage.inc"
# every writer brings events.acx up to date, however little it adds
export UPTAKE_ACX_MIN_BYTES=0
FLIPS=${FLIPS:-4}
SEED=${SEED:-20261120}
make_store
as_of="--as-of 2026-03-31 --format csv"
ok --data "$BASE" report accounts $as_of
cp "$TMP/out" "$TMP/base.csv"

# R: the next number of a linear congruential generator (seeded: repeatable)
next() {
    SEED=$(( (SEED * 1103515245 + 12345) % 2147483648 ))
    R=$((SEED / 65536))
}
no_crash() {   # no_crash WHAT
    [ "$RC" -lt 128 ] || fail "$1: crashed (exit $RC)"
    if grep -E -q 'runtime error|AddressSanitizer|LeakSanitizer' "$TMP/err"; then fail "$1: sanitizer report"; fi
}
N=0

say "rollup.bin: $FLIPS flips in each of its six sections"
SNAP=$BASE/rollup.bin
SN=$(size "$SNAP")
HEAD=$(u64 "$SNAP" $((SN - 72))) PF=$(u64 "$SNAP" $((SN - 64))) DATA=$(u64 "$SNAP" $((SN - 56)))
for class in "header 0 56" "dictionaries 56 $HEAD" "pair-records $HEAD $PF" "feature-records $PF $DATA" \
             "data $DATA $((SN - 72))" "trailer $((SN - 72)) $SN"; do
    set -- $class
    i=0
    while [ $i -lt "$FLIPS" ]; do
        next; at=$(($2 + R % ($3 - $2))); next; bit=$((R % 8))
        what="rollup.bin $1 byte $at bit $bit"
        copy_store
        flip "$S/rollup.bin" "$at" "$bit"
        up --data "$S" report accounts $as_of
        no_crash "$what"
        expect_rc 0 "$what"
        expect_same "$TMP/out" "$TMP/base.csv" "$what: the report"
        grep -E -q '^uptake: rollup.bin (is damaged: .*|did not match the log); rebuilt it from events.log$' "$TMP/err" ||
            fail "$what: no warning that rollup.bin was rebuilt"
        i=$((i + 1)); N=$((N + 1))
    done
done

say "events.log: $FLIPS flips in the header and in the payload of each block, all acknowledged"
LOG=$BASE/events.log
LOGSIZE=$(size "$LOG")
log_blocks "$LOG"
for b in $BLOCKS; do
    end=$((b + 16 + $(u32 "$LOG" $((b + 4)))))
    for part in "header $b $((b + 16))" "payload $((b + 16)) $end"; do
        set -- $part
        i=0
        while [ $i -lt "$FLIPS" ]; do
            next; at=$(($2 + R % ($3 - $2))); next; bit=$((R % 8))
            what="events.log block $b $1 byte $at bit $bit"
            copy_store
            flip "$S/events.log" "$at" "$bit"
            up --data "$S" report accounts $as_of
            no_crash "$what: report"
            expect_rc 0 "$what: report from the snapshot"
            expect_same "$TMP/out" "$TMP/base.csv" "$what: report from the snapshot"
            up --data "$S" model set "$FIX/model.yaml"
            no_crash "$what: model set"
            expect_rc 3 "$what: model set"
            expect_grep "events.log is damaged: the block at offset $b (" "$TMP/err" "$what: model set names the block"
            expect_eq "$(size "$S/events.log")" "$LOGSIZE" "$what: events.log after model set"
            up --data "$S" check
            no_crash "$what: check"
            expect_rc 1 "$what: check"
            expect_grep "events.log: offset $b: " "$TMP/out" "$what: check names the block"
            rm "$S/rollup.bin"
            up --data "$S" report accounts $as_of
            no_crash "$what: report without the snapshot"
            if [ "$RC" -eq 0 ]; then
                expect_same "$TMP/out" "$TMP/base.csv" "$what: report without the snapshot"
            else
                expect_rc 3 "$what: report without the snapshot"
                expect_grep "events.log is damaged: the block at offset $b (" "$TMP/err" "$what: the reader's message"
            fi
            i=$((i + 1)); N=$((N + 1))
        done
    done
done
say "events.acx and its index: $FLIPS flips in each, every one harmless or detected"
# the account pages read events.acx (every writer of damage.inc's store
# brought it up to date: UPTAKE_ACX_MIN_BYTES=0); without it they read
# the log, and must print the same
copy_store
rm "$S/events.acx.idx"
for a in acme zeta; do
    ok --data "$S" report account "$a" $as_of
    cp "$TMP/out" "$TMP/page-$a.csv"
    ok --data "$BASE" report account "$a" $as_of
    expect_same "$TMP/out" "$TMP/page-$a.csv" "account $a: the page from events.acx"
done
for file in events.acx events.acx.idx; do
    FS=$(size "$BASE/$file")
    i=0
    while [ $i -lt "$FLIPS" ]; do
        next; at=$((R % FS)); next; bit=$((R % 8))
        what="$file byte $at bit $bit"
        copy_store
        flip "$S/$file" "$at" "$bit"
        for a in acme zeta; do
            up --data "$S" report account "$a" $as_of
            no_crash "$what: account $a"
            expect_rc 0 "$what: account $a"
            expect_same "$TMP/out" "$TMP/page-$a.csv" "$what: account $a"
            if [ -s "$TMP/err" ]; then
                expect_grep "; read events.log instead" "$TMP/err" "$what: account $a: the notice"
            fi
        done
        i=$((i + 1)); N=$((N + 1))
    done
done

say "$N flips: each detected, none a crash or a silent difference"
echo "ok $TEST_NAME"
