#!/bin/sh
# report events (every event name seen, what the model makes of it), init
# without a model, and the import's warning when most events are outside the
# model; on tests/fixtures/cli (16 events), counted by hand:
#   report.view    m02 a1 acme 03-31, m07 a1 acme 03-20, m11 a7 acme 04-02,
#                  m16 d1 delta 03-30T23:00Z: 4 events, users (account, user)
#                  a1 a7 d1 = 3, accounts 2, first 03-20T08:00, last 04-02T10:00
#   export.csv     m05 a3, m10 a5 (acme), m15 b2 (beta): 3, 3, 2
#   report.create  m01 a1, m04 a2 (acme), m13 b1 (beta): 3, 3, 2
#   dashboard.view m03 a2 03-31T23:59:59, m08 a1 04-01 (acme): 2, 2, 1
#   login          m06 a3 acme, m14 b2 beta: 2, 2, 2
#   settings.open 1, tour.reports 1
# Most frequent first, ties by name. Kinds under the fixture model: reports =
# report.view, report.create (use), tour.reports (exposure); dashboards =
# dashboard.view; exports = export.csv; login passive; settings.open unmapped.
set -eu
. "$(dirname "$0")/lib.inc"
S=$TMP/store

say "init without --model: an empty model, and the import warns that 100% is outside it"
ok --data "$S" init
expect_grep "empty model (0 features)" "$TMP/out" "the init line"
ok --data "$S" import events "$FIX/events.csv"
expect_grep "100% of the 16 events stored have names the model neither maps to a feature nor marks passive" \
    "$TMP/err" "the import's warning"
expect_grep "uptake report events" "$TMP/err" "the next command"
ok --data "$S" report events --format csv
expect_eq "$(sed 1d "$TMP/out" | awk -F, '{ printf "%s:%s ", $1, $8 }')" \
    "report.view:unmapped export.csv:unmapped report.create:unmapped dashboard.view:unmapped login:unmapped settings.open:unmapped tour.reports:unmapped " \
    "every name unmapped"

say "with the model: counts, dates, features and kinds by hand"
ok --data "$S" model set "$FIX/model.yaml"
ok --data "$S" report events --format csv
cat >"$TMP/want.csv" <<'CSV'
event,events,users,accounts,first_seen,last_seen,feature,kind
report.view,4,3,2,2026-03-20T08:00:00Z,2026-04-02T10:00:00Z,reports,use
export.csv,3,3,2,2026-03-04T00:00:00Z,2026-03-29T15:30:00Z,exports,use
report.create,3,3,2,2026-01-10T10:00:00Z,2026-03-12T12:00:00Z,reports,use
dashboard.view,2,2,1,2026-03-31T23:59:59Z,2026-04-01T00:00:00Z,dashboards,use
login,2,2,2,2026-03-20T12:00:00Z,2026-03-28T08:00:00Z,,passive
settings.open,1,1,1,2026-03-19T00:00:00Z,2026-03-19T00:00:00Z,,unmapped
tour.reports,1,1,1,2026-03-25T00:00:00Z,2026-03-25T00:00:00Z,reports,exposure
CSV
expect_same "$TMP/out" "$TMP/want.csv" "report events"
say "as of 03-31: m08 (04-01) and m11 (04-02) are not there yet"
ok --data "$S" report events --as-of 2026-03-31 --format csv
expect_grep "report.view,3,2,2,2026-03-20T08:00:00Z,2026-03-31T09:00:00Z,reports,use" "$TMP/out" "report.view as of 03-31"
expect_grep "dashboard.view,1,1,1," "$TMP/out" "dashboard.view as of 03-31"
ok --data "$S" report events --format json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["events"]) == 7 and d["events"][0]["event"] == "report.view"' "$TMP/out" ||
    fail "report events JSON"
say "model suggest: a draft model from the names, by hand"
# Non-passive names grouped by prefix when two share one: report (report.create,
# report.view, in the order first seen; 7 events); alone: export.csv 3, dashboard.view 2,
# settings.open 1, tour.reports 1 (most events first, ties by name). login
# reads as a visit: passive. Core: reached by at least half of the 2 accounts
# of the most used name: all. First action of each (account, user), visits
# left out: report.create a1 a2 b1, export.csv a3 a5 b2, report.view a7 d1 ->
# report.create and export.csv tie at 3; the name seen first (report.create,
# the file's first row) wins.
ok --data "$S" model suggest
cp "$TMP/out" "$TMP/suggest.yaml"
expect_eq "$(grep -c '^  - name:' "$TMP/suggest.yaml")" 5 "five features"
expect_eq "$(grep '^  - name:' "$TMP/suggest.yaml" | tr -d '" ' | tr '\n' ' ')" \
    "-name:report -name:export.csv -name:dashboard.view -name:settings.open -name:tour.reports " "their order"
expect_grep 'events: ["report.create", "report.view"]' "$TMP/suggest.yaml" "report's events"
expect_grep 'passive_events: ["login"]' "$TMP/suggest.yaml" "login passive"
expect_grep 'key_actions: ["report.create"]' "$TMP/suggest.yaml" "the key action candidate"
expect_grep "the first action of 3 users" "$TMP/suggest.yaml" "its count"
ok model check "$TMP/suggest.yaml"
expect_grep "valid: 5 features (5 core), 1 passive events, 1 key actions" "$TMP/out" "the draft is a valid model"
say "a mapping reads money and day-first dates; a value that does not read is rejected by its field"
# x1 "$24,000" -> 24000, 01/03/2026 day first -> 2026-03-01; x2 "24 000,50 €"
# -> 24000.5, 13/02/2026 -> 2026-02-13; x3 "lots" is no amount (arr rejects
# it) and 31/02/2026 no date.
printf 'acct,Name,Amount,Signed\nx1,Ex One,"$24,000",01/03/2026\nx2,Ex Two,"24 000,50 \342\202\254",13/02/2026\nx3,Ex Three,lots,31/02/2026\n' \
    >"$TMP/crm.csv"
M=$TMP/money
ok --data "$M" init -q --model demo
up --data "$M" import accounts "$TMP/crm.csv" --map 'account_id=acct,name=Name,arr=Amount:money,contract_start=Signed:date:%d/%m/%Y'
expect_eq "$(summary)" "$TMP/crm.csv: read 3, stored 2, duplicates 0, rejected 1" "two rows in, one rejected"
ok --data "$M" rejects --format csv
expect_grep "arr,\"expected a number, got 'lots'\"" "$TMP/out" "the reject names its field"
ok --data "$M" report accounts --status all --format json
python3 -c 'import json,sys; a={x["account_id"]:(x["arr"],x["contract_start"]) for x in json.load(open(sys.argv[1]))["accounts"]}; assert a == {"x1": (24000.0, "2026-03-01"), "x2": (24000.5, "2026-02-13")}, a' "$TMP/out" ||
    fail "money and dates read through the mapping"
echo "ok $TEST_NAME"
