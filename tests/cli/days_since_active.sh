#!/bin/sh
# days_since_last_active (a catalog metric used as an alert variable and a
# target metric): D0 minus the account's latest day <= D0 with an active user.
# Fixture tests/fixtures/days_since_active, worked out by hand:
#   A  u1 active Jan 2 and Mar 5; u2 active Mar 1 and only a passive
#      exposure event on Mar 9 (not activity); u3 active Mar 20.
#      As of Mar 10: the latest active day <= Mar 10 is Mar 5 (Mar 9 is
#      passive, Mar 20 is after T): 5 days -> the rule (>= 5) opens.
#      As of Jul 10: Mar 20 -> 11 + 30 + 31 + 30 + 10 = 112 days, beyond the
#      engine's 84-day window.
#   B  no events: null, the rule does not fire.
#   C  v1 active Mar 10 (23:59): 0 days as of Mar 10.
set -eu
. "$(dirname "$0")/lib.inc"
FX=$REPO/tests/fixtures/days_since_active
S=$TMP/store
ok --data "$S" init -q --model "$FX/model.yaml"
ok --data "$S" import -q accounts "$FX/accounts.csv"
ok --data "$S" import -q events "$FX/events.csv"

say "as of Mar 10: A 5 days (the passive Mar 9 and the later Mar 20 do not count), B null, C 0"
ok --data "$S" alerts evaluate --as-of 2026-03-10 --wait 0
ok --data "$S" alerts list --format csv
expect_eq "$(cut -d, -f1,2,4 "$TMP/out" | sed 1d)" "A,gone_quiet,open" "only A goes quiet"
expect_grep '"{""days_since_last_active"":5.0}"' "$TMP/out" "A: 5 days"

say "as of Jul 10: 112 days, further back than the 84-day window"
ok --data "$S" alerts evaluate --as-of 2026-07-10 --wait 0
ok --data "$S" alerts list --format csv
expect_grep '"{""days_since_last_active"":112.0}"' "$TMP/out" "A: 112 days"
expect_eq "$(cut -d, -f1 "$TMP/out" | sed 1d | sort | tr '\n' ' ')" "A C " "C quiet too by July, B never (no activity: null)"

say "it is listed in the catalog as an alert variable and a target metric"
ok --data "$S" report settings
expect_grep "days_since_last_active       days    alert_variable,target" "$TMP/out" "report settings"
echo "ok days_since_active"
