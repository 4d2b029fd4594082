#!/bin/sh
# init, where the store lives (--data before/after the verb, $UPTAKE_DATA,
# ./uptake-data), the model verbs, and --help on every verb.
set -eu
. "$(dirname "$0")/lib.inc"
cd "$TMP"

say "init without --model installs an empty model, and says so"
ok --data "$TMP/empty" init
expect_grep "empty model (0 features)" "$TMP/out" "init message"
expect_grep "uptake report events" "$TMP/err" "what to do next"
say "init --model demo installs the demo model (8 features, 5 core)"
ok --data "$TMP/demo" init --model demo
expect_grep "demo model (8 features)" "$TMP/out" "init message"
ok --data "$TMP/demo" model show
cp "$TMP/out" "$TMP/demo-model.yaml"
expect_grep "name: reports" "$TMP/demo-model.yaml" "model show prints the demo model"
ok model check "$TMP/demo-model.yaml"
expect_grep "valid: 8 features (5 core), 2 passive events, 2 key actions" "$TMP/out" "model check of the shown demo model"

say "init makes missing parent directories, as mkdir -p does; a file in the way is named"
ok --data "$TMP/new/deep/store" init -q
[ -f "$TMP/new/deep/store/uptake.db" ] || fail "no store made under missing parents"
: >"$TMP/afile"
up --data "$TMP/afile/store" init -q
expect_rc 3 "init under a file (an I/O error)"
expect_grep "$TMP/afile: Not a directory" "$TMP/err" "the component in the way"

say "init twice is refused (exit 1) and names the directory"
up --data "$TMP/demo" init
expect_rc 1 "second init"
expect_grep "$TMP/demo already holds a store" "$TMP/err" "second init message"

say "init --model FILE installs that model; model show prints it back"
ok init --data "$TMP/mine" --model "$FIX/model.yaml"
expect_grep "(3 features)" "$TMP/out" "init --model message"
ok model show --data "$TMP/mine"
expect_same "$TMP/out" "$FIX/model.yaml" "model show after init --model"

say "--data before and after the verb name the same store"
ok --data "$TMP/mine" import accounts "$FIX/accounts.csv"
ok import accounts "$FIX/accounts.csv" --data "$TMP/mine"
ok status --data "$TMP/mine"
# two imports of the same three accounts are upserts: still 3 rows
expect_grep "tables      3 accounts, 0 users" "$TMP/out" "status after two account imports"

say "\$UPTAKE_DATA is the default store; --data overrides it"
UPTAKE_DATA="$TMP/env" "$UPTAKE" init --model "$FIX/model.yaml" >"$TMP/out" 2>"$TMP/err" || fail "init with UPTAKE_DATA"
[ -f "$TMP/env/uptake.db" ] || fail "UPTAKE_DATA=$TMP/env: no store created there"
UPTAKE_DATA="$TMP/env" "$UPTAKE" import accounts "$FIX/accounts.csv" >"$TMP/out" 2>"$TMP/err" || fail "import with UPTAKE_DATA"
UPTAKE_DATA="$TMP/env" "$UPTAKE" status >"$TMP/out" 2>"$TMP/err" || fail "status with UPTAKE_DATA"
expect_grep "tables      3 accounts" "$TMP/out" "status through UPTAKE_DATA"
UPTAKE_DATA="$TMP/env" "$UPTAKE" --data "$TMP/demo" status >"$TMP/out" 2>"$TMP/err" || fail "status --data with UPTAKE_DATA set"
expect_grep "tables      0 accounts" "$TMP/out" "--data wins over UPTAKE_DATA"

say "without either, the store is ./uptake-data"
ok init --model "$FIX/model.yaml"
[ -f "$TMP/uptake-data/uptake.db" ] || fail "no store in ./uptake-data"

say "a store that does not exist is an error for report/status"
up --data "$TMP/nothing-here" status
expect_nonzero "status on a missing store"

say "model check on a bad model exits 1 naming the line and the key"
printf 'features:\n  - name: reports\n    core: true\n    colour: red\n' >"$TMP/bad.yaml"
up model check "$TMP/bad.yaml"
expect_rc 1 "model check bad.yaml"
expect_grep "bad.yaml:4: features[0].colour: unknown key" "$TMP/err" "model check message"
printf '{"features": [{"name": "x", "core": "yes"}]}\n' >"$TMP/bad.json"
up model check "$TMP/bad.json"
expect_rc 1 "model check bad.json"
expect_grep "bad.json:1: features[0].core" "$TMP/err" "a quoted boolean in JSON"
up --data "$TMP/mine" model set "$TMP/bad.yaml"
expect_rc 1 "model set of a bad model"
ok --data "$TMP/mine" model show
expect_same "$TMP/out" "$FIX/model.yaml" "a refused model set keeps the old model"
up model check "$TMP/missing.yaml"
expect_nonzero "model check of a missing file"
expect_grep "missing.yaml" "$TMP/err" "the message names the missing file"

say "model set: making exports core changes depth with no re-import"
D=$TMP/store
ok --data "$D" init --model "$FIX/model.yaml"
for t in accounts users surveys events; do ok --data "$D" import "$t" "$FIX/$t.csv"; done
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
cp "$TMP/out" "$TMP/before.csv"
# two core features (report.sh): acme 2/2, beta 1/2 (reports), delta 1/2
expect_eq "$(csv_field "$TMP/before.csv" acme depth) $(csv_field "$TMP/before.csv" beta depth) $(csv_field "$TMP/before.csv" delta depth)" \
    "1.0 0.5 0.5" "depth with two core features"
ok --data "$D" model set "$FIX/model-exports-core.yaml"
expect_grep "recomputed from 16 stored events" "$TMP/out" "model set message"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
cp "$TMP/out" "$TMP/after.csv"
# three core features: acme uses all three 3/3 = 1.0; beta reports + exports
# 2/3 = 0.6666666666666666; delta reports 1/3 = 0.3333333333333333
expect_eq "$(csv_field "$TMP/after.csv" acme depth) $(csv_field "$TMP/after.csv" beta depth) $(csv_field "$TMP/after.csv" delta depth)" \
    "1.0 0.6666666666666666 0.3333333333333333" "depth after model set"
# beta health: (.3/.8)*100 + (.25/.8)*66.66666666666666 + (.15/.8)*7.142857142857142
#   + (.1/.8)*50 = 65.92261904761904
expect_eq "$(csv_field "$TMP/after.csv" beta health)" 65.92261904761904 "beta health after model set"
ok --data "$D" model show
expect_same "$TMP/out" "$FIX/model-exports-core.yaml" "model show after model set"
ok --data "$D" model set "$FIX/model.yaml"
ok --data "$D" report accounts --as-of 2026-03-31 --format csv
expect_same "$TMP/out" "$TMP/before.csv" "setting the first model back gives the first report"

say "every verb has --help; uptake --help lists them; unknown verbs and options are refused"
for v in init model import rejects report demo status; do
    ok "$v" --help
    expect_grep "Usage: uptake $v" "$TMP/out" "$v --help"
    expect_grep "--help" "$TMP/out" "$v --help lists its options"
done
ok import --help
expect_grep "--map-file" "$TMP/out" "import --help lists --map-file"
ok report --help
expect_grep "--as-of" "$TMP/out" "report --help lists --as-of"
ok --help
for v in init model import rejects report demo status; do expect_grep "  $v" "$TMP/out" "uptake --help lists $v"; done
up frobnicate
expect_rc 2 "unknown verb"
up report accounts --colour
expect_nonzero "unknown option"
up init --as-of 2026-01-01
expect_nonzero "an option of another verb"
echo "ok $TEST_NAME"
