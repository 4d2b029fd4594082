# uptake serve's config file and options: a bad key or value stops the
# server before it starts, naming the file, line and key; a good file is
# used (listen, log_level), and options override it.
. "$(dirname "$0")/lib.inc"
S=$TMP/store
ok --data "$S" init -q --model demo
printf 'listen: 127.0.0.1:0\nlog_level: warn\ntimeout: forever\n' >"$TMP/bad.yaml"
up --data "$S" serve --config "$TMP/bad.yaml"
expect_rc 2 "a bad timeout"
expect_grep "bad.yaml:3: timeout: expected seconds from 1 to 86400" "$TMP/err" "the error names file, line and key"
printf 'listen: 127.0.0.1:0\ncolour: red\n' >"$TMP/bad2.yaml"
up --data "$S" serve --config "$TMP/bad2.yaml"
expect_rc 2 "an unknown key"
expect_grep "bad2.yaml:2: colour: unknown key" "$TMP/err" "unknown keys are refused"
# a value longer than its field is refused, not cut short (a shorter
# directory would be another store)
printf 'data: /%s\n' "$(head -c 1100 /dev/zero | tr '\0' a)" >"$TMP/bad3.yaml"
up --data "$S" serve --config "$TMP/bad3.yaml"
expect_rc 2 "a data path over 1,023 bytes"
expect_grep "bad3.yaml:1: data: longer than 1023 bytes" "$TMP/err" "the long value is refused with its limit"
up --data "$S" serve --listen nowhere
expect_rc 2 "--listen without a port"
expect_grep "expected HOST:PORT" "$TMP/err" "the listen error says what is expected"
up --data "$TMP/none" serve --listen 127.0.0.1:0
expect_rc 3 "no store"

say "a good file: its log level applies (warn: no line per request); --log-level overrides it"
printf 'data: %s\nlisten: 127.0.0.1:0\nlog_level: warn\n' "$S" >"$TMP/good.yaml"
PID=
trap 'if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$TMP"' EXIT
serve_start "$S" "" --config "$TMP/good.yaml"
curl -s -o /dev/null -m 5 "http://127.0.0.1:$PORT/healthz"
serve_stop
expect_no_grep "/healthz" "$SERVE_LOG" "log_level warn: no request lines"
expect_grep "stopped; store closed cleanly" "$SERVE_LOG" "a clean stop"
serve_start "$S" "" --config "$TMP/good.yaml" --log-level info
curl -s -o /dev/null -m 5 "http://127.0.0.1:$PORT/healthz"
serve_stop
expect_grep "200 /healthz" "$SERVE_LOG" "--log-level info overrides the file"
echo "ok $TEST_NAME"
