#!/bin/sh
# docs/openapi.yaml against the real server: starts `uptake serve` on the
# hand-made fixture store (tests/fixtures/cli, as report.sh imports it, plus
# bad-events.csv for some rejects), requests every path the file lists and
# checks that each answers 200 with JSON carrying every top-level property
# the file documents for that 200 response, and that each report route's
# body equals the matching CLI report byte for byte. Also: the documented
# error statuses (401, 403, 404, 405, 400) answer JSON {"error": …}.
# The file is read with sed and awk (see the comment at the top of it).
set -eu
. "$(dirname "$0")/lib.inc"
command -v curl >/dev/null || fail "curl is required (scripts/deps.sh installs it)"
command -v python3 >/dev/null || fail "python3 is required"

SPEC=$REPO/docs/openapi.yaml
[ -f "$SPEC" ] || fail "no docs/openapi.yaml"
S=$TMP/store
AS_OF=2026-03-31
ID=acme
LOG=$TMP/serve.log
PID=

say "a store from tests/fixtures/cli, with four rejected records"
ok --data "$S" init -q --model "$FIX/model.yaml"
for t in accounts users surveys events; do
    ok --data "$S" import "$t" "$FIX/$t.csv"
done
ok --data "$S" import events "$FIX/bad-events.csv"
ok --data "$S" keys create --read
READ=$(cat "$TMP/out")
ok --data "$S" keys create --write
WRITE=$(cat "$TMP/out")
case "$READ" in upr_*) ;; *) fail "keys create --read printed '$READ'" ;; esac

trap 'if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$TMP"' EXIT

say "uptake serve on 127.0.0.1, a free port"
"$UPTAKE" --data "$S" serve --listen 127.0.0.1:0 2>"$LOG" &
PID=$!
i=0
until PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG") && [ -n "$PORT" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "server did not start: $(cat "$LOG")"
    kill -0 "$PID" 2>/dev/null || fail "server exited: $(cat "$LOG")"
    sleep 0.05
done
BASE=http://127.0.0.1:$PORT

# get PATH [curl options…]: body to $TMP/out, status and content type to $CODE and $CTYPE
get() {
    get_path=$1
    shift
    set +e
    get_w=$(curl -s -m 10 -o "$TMP/out" -w '%{http_code} %{content_type}' "$@" "$BASE$get_path")
    set -e
    CODE=${get_w%% *}
    CTYPE=${get_w#* }
}
# is_json FILE: a JSON object
is_json() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if isinstance(d, dict) else 1)' "$1" \
        2>/dev/null
}
# expect_error STATUS WHAT: the last answer is STATUS with {"error": "…"}
expect_error() {
    expect_eq "$CODE" "$1" "$2: status"
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
assert list(d) == ["error"] and isinstance(d["error"], str) and d["error"]' "$TMP/out" 2>/dev/null ||
        fail "$2: the body is not {\"error\": \"…\"}"
}

# The paths of the file, and per path the schema of its 200 response.
sed -n '/^paths:/,/^components:/ s/^  \(\/[^:]*\):$/\1/p' "$SPEC" >"$TMP/paths"
[ "$(wc -l <"$TMP/paths")" -ge 9 ] || fail "fewer than 9 paths read from docs/openapi.yaml: $(cat "$TMP/paths")"
for p in /api/v1/accounts /api/v1/accounts/{id} /api/v1/accounts/{id}/users /api/v1/features /api/v1/stages \
         /api/v1/gaps /api/v1/rejects /healthz /metrics; do
    grep -qxF "$p" "$TMP/paths" || fail "docs/openapi.yaml does not document $p"
done
schema_of() {   # schema_of PATH: the schema name its 200 response refers to, or nothing
    awk -v p="  $1:" '
        $0 == p { on = 1; next }
        on && (/^  \// || /^[a-z]/) { exit }
        on && /^        "200":/ { ok = 1; next }
        on && ok && /^        "[0-9]+":/ { exit }
        on && ok && /\$ref: "#\/components\/schemas\// { sub(/.*schemas\//, ""); sub(/".*/, ""); print; exit }' "$SPEC"
}
props_of() {    # props_of SCHEMA: its top-level property names, one a line
    awk -v s="    $1:" '
        $0 == s { on = 1; next }
        on && /^    [^ ]/ { exit }
        on && /^      properties:$/ { props = 1; next }
        on && props && /^      [^ ]/ { props = 0 }
        on && props && /^        [A-Za-z0-9_]+:/ { sub(/^ */, ""); sub(/:.*/, ""); print }' "$SPEC"
}
# the CLI report that a route mirrors
cli_of() {
    case $1 in
    /api/v1/accounts) echo "report accounts" ;;
    /api/v1/accounts/{id}) echo "report account $ID" ;;
    /api/v1/accounts/{id}/users) echo "report users --account $ID" ;;
    /api/v1/features) echo "report features" ;;
    /api/v1/stages) echo "report stages" ;;
    /api/v1/gaps) echo "report gaps" ;;
    /api/v1/rejects) echo "rejects --limit 100" ;;
    /api/v1/signals) echo "report signals" ;;
    /api/v1/settings) echo "report settings" ;;
    /api/v1/retention) echo "report retention --at $AS_OF --horizon 30 --by level" ;;
    /api/v1/renewals) echo "report renewals" ;;
    /api/v1/events) echo "report events" ;;
    /api/v1/status) echo "status" ;;
    /api/v1/backtest) echo "backtest --from 2026-01-01 --to $AS_OF --horizon 30 --suggest-weights" ;;
    esac
}
# the query a route is asked with
query_of() {
    case $1 in
    /api/v1/retention) echo "at=$AS_OF&horizon=30&by=level" ;;
    /api/v1/backtest) echo "from=2026-01-01&to=$AS_OF&horizon=30&suggest_weights=1" ;;
    *) echo "as_of=$AS_OF" ;;
    esac
}

n=0
while read -r p; do
    url=$(printf '%s' "$p" | sed "s/{id}/$ID/")
    case $p in
    */qbr)
        say "GET $url?as_of=$AS_OF: the customer's QBR, the CLI's page"
        get "$url?as_of=$AS_OF" -H "Authorization: Bearer $READ"
        expect_eq "$CODE" 200 "$url: status"
        expect_eq "$CTYPE" "text/html; charset=utf-8" "$url: content type"
        cp "$TMP/out" "$TMP/qbr.html"
        ok --data "$S" report account "$ID" --as-of "$AS_OF" --format html
        expect_same "$TMP/qbr.html" "$TMP/out" "the API's QBR is the CLI's"
        ;;
    /api/*)
        qs=$(query_of "$p")
        say "GET $url?$qs"
        get "$url?$qs" -H "Authorization: Bearer $READ"
        expect_eq "$CODE" 200 "$url: status"
        expect_eq "$CTYPE" application/json "$url: content type"
        is_json "$TMP/out" || fail "$url: the body is not a JSON object"
        cp "$TMP/out" "$TMP/api.json"
        schema=$(schema_of "$p")
        [ -n "$schema" ] || fail "docs/openapi.yaml: no 200 schema \$ref for $p"
        props_of "$schema" >"$TMP/props"
        [ -s "$TMP/props" ] || fail "docs/openapi.yaml: schema $schema has no properties"
        python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))))' "$TMP/api.json" >"$TMP/keys"
        while read -r k; do
            grep -qxF "$k" "$TMP/keys" || fail "$url: '$k' documented in $schema is not in the answer"
        done <"$TMP/props"
        while read -r k; do
            grep -qxF "$k" "$TMP/props" || fail "$url: '$k' in the answer is not documented in $schema"
        done <"$TMP/keys"
        cli=$(cli_of "$p")
        [ -n "$cli" ] || fail "$p: this test does not know its CLI report; add it to cli_of"
        case $cli in
        rejects*|*retention*|backtest*|status) ok --data "$S" $cli --format json ;;
        *) ok --data "$S" $cli --format json --as-of "$AS_OF" ;;
        esac
        cmp -s "$TMP/out" "$TMP/api.json" || { diff "$TMP/out" "$TMP/api.json" | head -20 >&2;
            fail "$url: the body differs from \`uptake $cli --format json\`"; }
        ;;
    *)
        say "GET $url (no token)"
        get "$url"
        expect_eq "$CODE" 200 "$url: status"
        case $CTYPE in text/plain*) ;; *) fail "$url: content type '$CTYPE', expected text/plain" ;; esac
        ;;
    esac
    n=$((n + 1))
done <"$TMP/paths"
say "$n paths answered as documented"

say "the rejects route carries the four rejected records"
get "/api/v1/rejects" -H "Authorization: Bearer $READ"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["total"] == 4 and len(d["rejects"]) == 4' \
    "$TMP/out" || fail "/api/v1/rejects: expected 4 records"

say "/healthz says ok; /metrics is Prometheus text"
get /healthz
expect_eq "$(cat "$TMP/out")" ok "/healthz body"
get /metrics
expect_grep "# TYPE uptake_store_events gauge" "$TMP/out" "/metrics"

say "errors are JSON with the documented statuses"
get "/api/v1/accounts"
expect_error 401 "no token"
get "/api/v1/accounts" -H "Authorization: Bearer upr_0000000000000000000000000000000000000000"
expect_error 401 "an unknown token"
get "/api/v1/accounts" -H "Authorization: Bearer $WRITE"
expect_error 403 "a write key"
get "/api/v1/accounts" -X POST -H "Authorization: Bearer $READ"
expect_error 405 "POST"
get "/api/v1/accounts?as_of=yesterday" -H "Authorization: Bearer $READ"
expect_error 400 "as_of=yesterday"
get "/api/v1/accounts?sort=colour" -H "Authorization: Bearer $READ"
expect_error 400 "sort=colour"
get "/api/v1/gaps?top=0" -H "Authorization: Bearer $READ"
expect_error 400 "top=0"
get "/api/v1/accounts/no-such-account" -H "Authorization: Bearer $READ"
expect_error 404 "an unknown account"
get "/api/v1/stages?feature=no-such-feature" -H "Authorization: Bearer $READ"
expect_error 404 "an unknown feature"
get "/api/v1/no-such-route" -H "Authorization: Bearer $READ"
expect_error 404 "an unknown route"

say "as_of: a date is the end of that UTC day; a timestamp is itself"
get "/api/v1/stages?as_of=$AS_OF" -H "Authorization: Bearer $READ"
expect_grep "\"as_of\":\"${AS_OF}T23:59:59.999Z\"" "$TMP/out" "as_of=$AS_OF"
get "/api/v1/stages?as_of=2026-03-31T12:00:00%2B02:00" -H "Authorization: Bearer $READ"
expect_grep '"as_of":"2026-03-31T10:00:00Z"' "$TMP/out" "as_of with an offset"

say "SIGTERM stops the server"
kill -TERM "$PID"
i=0
while kill -0 "$PID" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "server did not stop on SIGTERM"
    sleep 0.05
done
PID=
expect_grep "stopped; store closed cleanly" "$LOG" "server log"
echo "ok $TEST_NAME"
