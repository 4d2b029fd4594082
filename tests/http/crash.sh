#!/bin/sh
# Crash test over HTTP (spec: a 200 from /v1/batch or /v1/track means the
# events are durable; duplicates by messageId are stored once, across restarts
# too). ROUNDS times:
#   1. start `uptake serve`; the store must open without a damage notice;
#   2. load it from 4 keep-alive connections (tests/http/crashload.mjs): fresh
#      batches of 1..1,000 events and single events, the requests the previous
#      kill left unanswered sent again, and acknowledged batches of this or an
#      earlier round sent again; every 4th round a reader (`status`) runs
#      beside the loaded server;
#   3. after a random 0.2-1.5 s, kill -9 the server (every 5th round: SIGTERM
#      first and kill -9 a few ms into the drain);
#   4. with the server down, `status` must open the store, and its event count
#      may never go down.
# Every 10 rounds (CRASH_ROUNDS_PER_STORE) and at the end, after one clean
# start that sends the unanswered requests again, and SIGTERM (exit 0): every
# acknowledged id is
# stored (each message has its own user, so `report users` lists one row per
# stored message), nothing is stored that was never sent, no user has two rows,
# and the store's event count equals the number of users (a duplicate would
# count twice). Then the next rounds start on a new store, so that 1,000
# rounds take 50 times as long as 20.
#
#   UPTAKE=/abs/path/uptake sh tests/http/crash.sh [ROUNDS]     (default 20)
#   CRASH_SEED=N    the seed of the kill times (default: from the clock; printed)
#
# Bounded: every server start waits at most 10 s, every load at most 5 s
# (plus `timeout`), every SIGTERM 20 s.
set -eu
. "$(dirname "$0")/../cli/lib.inc"
command -v node >/dev/null || fail "node is required (scripts/deps.sh installs it)"
ROUNDS=${1:-20}
case $ROUNDS in ''|*[!0-9]*) fail "ROUNDS must be a number, not '$ROUNDS'" ;; esac
SEED=${CRASH_SEED:-$(date +%s)}
PER_STORE=${CRASH_ROUNDS_PER_STORE:-10}
LOAD=$TESTS_DIR/crashload.mjs
PID= LPID=
trap 'for p in $PID $LPID; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT
export LC_ALL=C

# no_damage LOG WHAT: an open after kill -9 may cut a torn tail (and say so),
# but never finds damage, never rebuilds the snapshot (rename(2) keeps it
# whole through a kill) and never fails.
no_damage() {
    if grep -E -i 'damaged|did not match|error|cannot|failed' "$1" >"$TMP/bad"; then
        cat "$1" >&2
        fail "$2: $(head -1 "$TMP/bad")"
    fi
}
events() { sed -n 's/^events *\([0-9]*\).*/\1/p' "$TMP/out"; }
rand() {  # rand N LO HI: a reproducible number in [LO, HI) for round N
    awk -v s="$SEED" -v n="$1" -v lo="$2" -v hi="$3" 'BEGIN { srand(s + n * 7919); r = rand(); r = rand(); printf "%.3f", lo + r * (hi - lo) }'
}

# new_store: a fresh store (every PER_STORE rounds, so that 1,000 rounds
# stay as fast as 20: the store grows by a user per message)
new_store() {
    S=$TMP/store.$1 ST=$TMP/state.$1
    rm -rf "$TMP"/store.* "$TMP"/state.*
    mkdir -p "$ST"
    : >"$ST/sent"; : >"$ST/acked"
    ok --data "$S" init -q --model demo
    ok --data "$S" keys create --write
    KEY=$(cat "$TMP/out")
    PREV=0
}

# crash_round R: one round of load and kill -9
crash_round() {
    r=$1
    serve_start "$S"
    cp "$SERVE_LOG" "$TMP/start.log"
    no_damage "$TMP/start.log" "round $r: serve start"
    if grep -q 'torn tail' "$TMP/start.log"; then TORN=$((TORN + 1)); fi
    timeout 20 node "$LOAD" "http://127.0.0.1:$PORT" "$KEY" "$ST" "$r" 4 5000 >"$TMP/load.out" 2>"$TMP/load.err" &
    LPID=$!
    wait_s=$(rand "$r" 0.2 1.5)
    if [ $((r % 4)) -eq 0 ]; then
        sleep "$(awk -v w="$wait_s" 'BEGIN { printf "%.3f", w / 2 }')"
        up --data "$S" status
        expect_rc 0 "round $r: status beside the loaded server"
        no_damage "$TMP/err" "round $r: status beside the loaded server"
        sleep "$(awk -v w="$wait_s" 'BEGIN { printf "%.3f", w / 2 }')"
    else
        sleep "$wait_s"
    fi
    if [ $((r % 5)) -eq 0 ]; then
        kill -TERM "$PID" 2>/dev/null || true
        sleep "$(rand "$((r + 100000))" 0 0.03)"
    fi
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
    set +e; wait "$LPID"; LRC=$?; set -e
    LPID=
    [ "$LRC" -eq 0 ] || { cat "$TMP/load.err" >&2; fail "round $r: the load generator failed (exit $LRC)"; }
    up --data "$S" status
    expect_rc 0 "round $r: status after kill -9"
    no_damage "$TMP/err" "round $r: status after kill -9"
    N=$(events)
    [ -n "$N" ] || fail "round $r: no event count in status"
    [ "$N" -ge "$PREV" ] || fail "round $r: the store went from $PREV to $N events"
    if [ $((r % 10)) -eq 0 ] || [ "$r" -eq 1 ]; then say "round $r: killed after ${wait_s}s; $(cat "$TMP/load.out"); $N events stored"; fi
    PREV=$N
}

# check_store R: a clean start that re-sends what is unanswered, SIGTERM, and
# the checks
check_store() {
    serve_start "$S"
    cp "$SERVE_LOG" "$TMP/start.log"
    no_damage "$TMP/start.log" "the last start"
    timeout 20 node "$LOAD" "http://127.0.0.1:$PORT" "$KEY" "$ST" final 4 300 >"$TMP/load.out" 2>"$TMP/load.err" ||
        { cat "$TMP/load.err" >&2; fail "the last load failed"; }
    kill -TERM "$PID"
    i=0
    while kill -0 "$PID" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 400 ] || fail "server did not stop on SIGTERM within 20 s"
        sleep 0.05
    done
    set +e; wait "$PID"; SRC=$?; set -e
    PID=
    [ "$SRC" -eq 0 ] || { cat "$SERVE_LOG" >&2; fail "server exited $SRC on SIGTERM, expected 0"; }
    no_damage "$SERVE_LOG" "the clean run"
    sort -u "$ST/acked" >"$TMP/acked-ids"
    sort -u "$ST/sent" >"$TMP/sent-ids"
    N_ACKED=$(wc -l <"$TMP/acked-ids" | tr -d ' ')
    N_SENT=$(wc -l <"$TMP/sent-ids" | tr -d ' ')
    [ "$N_ACKED" -gt 0 ] || fail "no request was ever acknowledged"
    ok --data "$S" report users --as-of 2026-11-22 --format csv
    head -1 "$TMP/out" | grep -q '^account_id,user_id,feature,' || fail "report users: unexpected header $(head -1 "$TMP/out")"
    awk -F, 'NR > 1 { print $2 }' "$TMP/out" | sed 's/^u-//' | sort >"$TMP/stored-rows"
    sort -u "$TMP/stored-rows" >"$TMP/stored-ids"
    DUP=$(uniq -d "$TMP/stored-rows" | head -3 | tr '\n' ' ')
    [ -z "$DUP" ] || fail "users with more than one row (one event each, one account each): $DUP"
    MISSING=$(comm -23 "$TMP/acked-ids" "$TMP/stored-ids" | head -5 | tr '\n' ' ')
    N_MISSING=$(comm -23 "$TMP/acked-ids" "$TMP/stored-ids" | wc -l | tr -d ' ')
    [ -z "$MISSING" ] || fail "$N_MISSING acknowledged messages are not stored, e.g. $MISSING"
    GHOST=$(comm -13 "$TMP/sent-ids" "$TMP/stored-ids" | head -5 | tr '\n' ' ')
    [ -z "$GHOST" ] || fail "stored but never sent: $GHOST"
    N_STORED=$(wc -l <"$TMP/stored-ids" | tr -d ' ')
    ok --data "$S" status
    expect_eq "$(events)" "$N_STORED" "events in the store = distinct messages stored (none twice)"
    say "after round $1: $N_SENT messages sent, $N_ACKED acknowledged, all stored once; $N_STORED stored in all; $TORN restarts so far cut a torn tail"
}

say "$ROUNDS rounds (CRASH_SEED=$SEED): load, kill -9 after 0.2-1.5 s, restart; a new store every $PER_STORE rounds"
TORN=0
r=1
new_store 1
while [ "$r" -le "$ROUNDS" ]; do
    crash_round "$r"
    if [ $((r % PER_STORE)) -eq 0 ] || [ "$r" -eq "$ROUNDS" ]; then
        check_store "$r"
        [ "$r" -eq "$ROUNDS" ] || new_store "$r"
    fi
    r=$((r + 1))
done
echo "ok $TEST_NAME"
