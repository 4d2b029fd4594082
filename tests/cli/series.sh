# /api/v1/accounts/{id}/series (the dashboard's charts) against the CLI:
# each day's dau, wau, mau and seats must equal what `report accounts` says
# as of the end of that day, for every account of the fixture store and each
# of the 40 days ending 2026-03-31 (the days cross the fixture's events, so
# windows fill and empty). Two implementations: day bitmaps scanned forward
# per pair (engine_series.c) and the report's per-as-of computation.
. "$(dirname "$0")/lib.inc"
command -v curl >/dev/null || fail "curl is required (scripts/deps.sh installs it)"
command -v python3 >/dev/null || fail "python3 is required"
S=$TMP/store
ok --data "$S" init -q --model "$FIX/model.yaml"
for t in accounts users surveys events; do
    ok --data "$S" import "$t" "$FIX/$t.csv"
done
ok --data "$S" keys create --read
READ=$(cat "$TMP/out")
PID=
trap 'if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$TMP"' EXIT
serve_start "$S"

say "the series of every account over 40 days, day by day against report accounts"
ok --data "$S" report accounts --as-of 2026-03-31 --format csv
ACCOUNTS=$(awk -F, 'NR > 1 { print $1 }' "$TMP/out")
d=0
while [ $d -lt 40 ]; do
    day=$(python3 -c "import datetime,sys; print(datetime.date(2026,3,31) - datetime.timedelta(days=int(sys.argv[1])))" $d)
    ok --data "$S" report accounts --as-of "$day" --format csv
    cp "$TMP/out" "$TMP/report-$day.csv"
    d=$((d + 1))
done
for a in $ACCOUNTS; do
    curl -s -f -m 10 -H "Authorization: Bearer $READ" \
        "http://127.0.0.1:$PORT/api/v1/accounts/$a/series?as_of=2026-03-31&days=40" >"$TMP/series.json" ||
        fail "series of $a: HTTP error"
    python3 - "$TMP" "$a" <<'PY' || fail "series of $a differs from report accounts (above)"
import csv, json, sys
tmp, acc = sys.argv[1], sys.argv[2]
s = json.load(open(f"{tmp}/series.json"))
assert s["account_id"] == acc and len(s["days"]) == 40 and s["days"][-1]["date"] == "2026-03-31", s["days"][-1]
bad = 0
for day in s["days"]:
    rows = {r["account_id"]: r for r in csv.DictReader(open(f"{tmp}/report-{day['date']}.csv"))}
    # an account seen only in events is not in the report before its first event
    r = rows.get(acc, {"dau": 0, "wau": 0, "mau": 0, "seats": 0})
    for k in ("dau", "wau", "mau", "seats"):
        if int(r[k]) != day[k]:
            print(f"{acc} {day['date']} {k}: series {day[k]}, report {r[k]}")
            bad += 1
sys.exit(1 if bad else 0)
PY
done
say "an unknown account is 404; days out of range is 400"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/api/v1/accounts/nope/series")
expect_eq "$code" 404 "unknown account"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/api/v1/accounts/acme/series?days=0")
expect_eq "$code" 400 "days=0"
serve_stop
echo "ok $TEST_NAME"
