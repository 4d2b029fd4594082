# The crash test (spec: nothing acknowledged is lost). ROUNDS times: start
# `uptake serve`, send batches of events with unique message ids from four
# connections, kill -9 the server at a random moment, and start it again: the
# store must open every time. At the end every message id that was answered
# 200 must be stored exactly once: each message has its own user, so the
# users in `report users` are the messages stored, and the store's event
# count equals their number (a message stored twice would count twice).
# Usage: UPTAKE=/abs/path sh tests/crash/run.sh [ROUNDS]   (default 20)
. "$(dirname "$0")/../cli/lib.inc"
command -v node >/dev/null || fail "node is required (scripts/deps.sh installs it)"
ROUNDS=${1:-20}
S=$TMP/store
ok --data "$S" init -q
ok --data "$S" keys create --write
KEY=$(cat "$TMP/out")
ACKED=$TMP/acked
: >"$ACKED"
PID=
trap 'if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$TMP"' EXIT
LOAD=$(dirname "$0")/load.mjs

say "$ROUNDS rounds: load, kill -9 at a random moment, restart"
r=1
while [ $r -le "$ROUNDS" ]; do
    serve_start "$S"
    grep -q "damaged" "$SERVE_LOG" && fail "round $r: the store reports damage: $(cat "$SERVE_LOG")"
    node "$LOAD" "http://127.0.0.1:$PORT" "$KEY" "$ACKED" "$r" 900 4 20 &
    LPID=$!
    # 100 .. 799 ms into the load
    ms=$(awk -v s="$r" 'BEGIN { srand(s * 7919 + 17); printf "%d", 100 + rand() * 700 }')
    sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
    wait "$LPID" || fail "round $r: the load generator failed"
    r=$((r + 1))
done

say "one last clean start and stop: the store opens and says what it recovered"
serve_start "$S"
serve_stop
PID=
grep -q "damaged" "$SERVE_LOG" && fail "the store reports damage: $(cat "$SERVE_LOG")"

sort -u "$ACKED" | sed 's/^/u-/' >"$TMP/acked-users"
N_ACKED=$(wc -l <"$TMP/acked-users" | tr -d ' ')
[ "$N_ACKED" -gt 0 ] || fail "no request was ever acknowledged"
ok --data "$S" report users --as-of 2026-11-20 --format csv
awk -F, 'NR > 1 { print $2 }' "$TMP/out" | sort -u >"$TMP/stored-users"
MISSING=$(comm -23 "$TMP/acked-users" "$TMP/stored-users" | head -5)
[ -z "$MISSING" ] || fail "acknowledged but not stored: $MISSING"
N_STORED=$(wc -l <"$TMP/stored-users" | tr -d ' ')
ok --data "$S" status
EVENTS=$(sed -n 's/^events *\([0-9]*\).*/\1/p' "$TMP/out")
expect_eq "$EVENTS" "$N_STORED" "events in the store = distinct messages stored (none twice)"
say "$N_ACKED messages acknowledged, all stored once; $N_STORED stored in all (some stored but killed before the answer)"
echo "ok $TEST_NAME"
