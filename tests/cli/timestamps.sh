#!/bin/sh
# Every accepted timestamp form lands on the right UTC day. One account per
# form (tests/fixtures/cli/timestamps.csv and the same rows in .jsonl, where
# epochs are JSON numbers), each with one report.view by u1; the day shows in
# dau (D0), wau (D0-6..D0), wau_prev (D0-13..D0-7) and mau (D0-27..D0).
# The tests run with TZ=Pacific/Kiritimati (UTC+14): local-time parsing would move days.
set -eu
. "$(dirname "$0")/lib.inc"

# As of 2026-03-31 (D0): wau = 03-25..03-31, wau_prev = 03-18..03-24.
#   iso_z         2026-03-31T23:30:00Z             -> 03-31: dau 1 wau 1
#   offset_plus   2026-04-01T01:30:00+02:00 = 03-31T23:30Z -> 03-31 (not 04-01, after T)
#   offset_minus  2026-03-30T20:00:00-05:00 = 03-31T01:00Z -> 03-31 (not 03-30)
#   space         '2026-03-25 00:00:00' (UTC)       -> 03-25, first day of wau: wau 1, dau 0
#   date          2026-03-24                        -> 03-24, last day of wau_prev
#   epoch_s       1774958400 = 2026-03-31T12:00:00Z -> dau 1
#   epoch_ms      1774396799999 = 2026-03-24T23:59:59.999Z -> wau_prev (1 ms before wau)
#   epoch_ms_edge 1774396800000 = 2026-03-25T00:00:00.000Z -> wau
#   iso_frac      2026-03-18T00:00:00.000Z          -> first day of wau_prev
#   epoch_s_old   1773791999 = 2026-03-17T23:59:59Z -> before wau_prev, in mau
cat >"$TMP/expected-0331.csv" <<'CSV'
account_id,dau,wau,wau_prev,mau
date,0,0,1,1
epoch_ms,0,0,1,1
epoch_ms_edge,0,1,0,1
epoch_s,1,1,0,1
epoch_s_old,0,0,0,1
iso_frac,0,0,1,1
iso_z,1,1,0,1
offset_minus,1,1,0,1
offset_plus,1,1,0,1
space,0,1,0,1
CSV
# As of 2026-03-17 (D0 = 03-17, window(28) = 02-18..03-17): only epoch_s_old
# (03-17T23:59:59Z) has happened: dau 1 wau 1 mau 1. The other accounts are
# known only from later events, so as of T they do not exist yet (no row).
cat >"$TMP/expected-0317.csv" <<'CSV'
account_id,dau,wau,wau_prev,mau
epoch_s_old,1,1,0,1
CSV
# As of 2026-03-30 (wau 03-24..03-30, wau_prev 03-17..03-23) the four events of
# 03-31 (iso_z, both offsets, epoch_s) are after T: those accounts have no row.
cat >"$TMP/expected-0330.csv" <<'CSV'
account_id,dau,wau,wau_prev,mau
date,0,1,0,1
epoch_ms,0,1,0,1
epoch_ms_edge,0,1,0,1
epoch_s_old,0,0,1,1
iso_frac,0,0,1,1
space,0,1,0,1
CSV

for ext in csv jsonl; do
    D=$TMP/store-$ext
    say "timestamps.$ext: 10 rows, 10 stored"
    ok --data "$D" init -q --model "$FIX/model.yaml"
    ok --data "$D" import events "$FIX/timestamps.$ext"
    expect_eq "$(summary)" "$FIX/timestamps.$ext: read 10, stored 10, duplicates 0, rejected 0" "timestamps.$ext summary"
    for day in 0331 0317 0330; do
        say "timestamps.$ext: dau/wau/wau_prev/mau as of 2026-${day%??}-${day#??}"
        ok --data "$D" report accounts --as-of "2026-${day%??}-${day#??}" --format csv
        cut -d, -f1,4-7 "$TMP/out" >"$TMP/got.csv"
        expect_same "$TMP/got.csv" "$TMP/expected-$day.csv" "timestamps.$ext as of 2026-${day%??}-${day#??}"
    done
done
echo "ok $TEST_NAME"
