# The dashboard end to end in Debian's chromium (tests/web/dashboard.mjs):
# a small demo store plus an account named <img src=x onerror=alert(1)>, the
# real server with its embedded assets, a read token, and playwright-core.
# Screenshots: tests/web/artifacts/ (or WEB_ARTIFACTS). Usage: UPTAKE=/abs/path sh tests/web/run.sh
# WEB_CLICKHOUSE=URL,URL runs it all on a ClickHouse store (tests/clickhouse/run.sh does).
. "$(dirname "$0")/../cli/lib.inc"
WEB=$REPO/tests/web
command -v node >/dev/null || fail "node is required (scripts/deps.sh installs it)"
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] || fail "chromium is required (scripts/deps.sh installs Debian's)"
[ -d "$WEB/node_modules/playwright-core" ] || (cd "$WEB" && npm install --no-audit --no-fund >/dev/null) ||
    fail "npm install of playwright-core failed"
D=$TMP/demo
# 200 days, so that the backtest behind the Renewals page has a year's
# month ends with known outcomes; seed 6, so that some of the 14 accounts
# churn (the portfolio's "Show churned and prospects" and the ROC need them)
ok demo --out "$D" --accounts 14 --days 200 --seed 6 --last-day 2026-11-20
S=$TMP/store
# WEB_CLICKHOUSE=URL,URL (a two-shard cluster named uptake_test, as
# tests/clickhouse/cluster.sh starts): the same on a ClickHouse store
if [ -n "${WEB_CLICKHOUSE:-}" ]; then
    ok --data "$S" init -q --model "$D/model.yaml" --engine clickhouse --clickhouse "$WEB_CLICKHOUSE" \
        --cluster uptake_test --database "uptake_web$$"
else
    ok --data "$S" init -q --model "$D/model.yaml"
fi
for t in accounts users surveys outcomes subscriptions tickets milestones events; do
    ok --data "$S" import -q "$t" "$D/$t.csv"
done
printf 'account_id,name,seats,segment,owner\nxss1,<img src=x onerror=alert(1)>,5,smb,Mallory\n' >"$TMP/xss.csv"
ok --data "$S" import -q accounts "$TMP/xss.csv"
AS_OF=$(awk -F, 'NR > 1 { d = substr($1, 1, 10); if (d > m) m = d } END { print m }' "$D/events.csv")
ok --data "$S" alerts evaluate --as-of "$AS_OF" --wait 0
ok --data "$S" keys create --read
TOKEN=$(cat "$TMP/out")
PID=
trap 'if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$TMP"' EXIT
serve_start "$S"
ART=${WEB_ARTIFACTS:-$WEB/artifacts}
rm -rf "$ART"
CHROMIUM=$CHROMIUM timeout 180 node "$WEB/dashboard.mjs" "http://127.0.0.1:$PORT" "$TOKEN" "$ART" "$AS_OF" ||
    fail "the dashboard test failed (screenshots in $ART)"
serve_stop
echo "ok $TEST_NAME"
