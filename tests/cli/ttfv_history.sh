# TTFV with an incomplete history: with ttfv_history_gap_days G > 0, an
# account whose first event comes more than G days after its contract_start
# has ttfv_days null with the reason; 0 (the default) keeps the definition of
# docs/metrics.md. By hand (key action k; as of 2026-03-10):
#   A: contract 2026-01-01, first event 2026-03-01 (59 days later), k on Mar 2
#      G 0 or 59: ttfv = Mar 2 - Jan 1 = 60;  G 30 or 58: null (59 > G)
#   B: contract 2026-02-20, first event 2026-03-01 (9 days), k on Mar 2: ttfv 10
. "$(dirname "$0")/lib.inc"
cd "$TMP"
model() { printf 'features:\n  - name: f\n    core: true\n    events: [a, k]\nkey_actions: [k]\nsettings:\n  ttfv_history_gap_days: %s\n' "$1" >m.yaml; }
printf 'account_id,name,seats,contract_start\nA,Alpha,5,2026-01-01\nB,Beta,5,2026-02-20\n' >a.csv
printf 'ts,user_id,account_id,event\n2026-03-01T10:00:00Z,u1,A,a\n2026-03-02T10:00:00Z,u1,A,k\n2026-03-01T10:00:00Z,u2,B,a\n2026-03-02T10:00:00Z,u2,B,k\n' >e.csv
model 30
ok --data s init -q --model m.yaml
ok --data s import -q accounts a.csv
ok --data s import -q events e.csv
ttfv() { ok --data s report accounts --as-of 2026-03-10 --format csv; csv_field "$TMP/out" "$1" ttfv_days; }

say "G 30: A's history starts 59 days after its contract: null, with the reason; B: 10"
expect_eq "$(ttfv A)" "" "A with G 30"
expect_eq "$(ttfv B)" 10 "B with G 30"
ok --data s report accounts --as-of 2026-03-10 --explain
expect_grep "A ttfv_days: the account's events start more than ttfv_history_gap_days after its contract_start: the history is incomplete, the first key action may be earlier" \
    "$TMP/out" "--explain gives the reason"
for g in 0 59 58; do
    model "$g"
    ok --data s model set m.yaml
    want=60; [ "$g" = 58 ] && want=
    expect_eq "$(ttfv A)" "$want" "A with G $g"
done
echo "ok ttfv_history"
