# The blocks' time ranges (events.idx) let the account page read only the
# blocks of its 28-day window; the numbers must be those of a full read,
# whatever happens to the index: none, damaged, stale after a cut, and with
# events imported out of time order (a late file of old events).
. "$(dirname "$0")/lib.inc"
D=$TMP/d
S=$TMP/s
ok demo --out "$D" --events 300k --accounts 12 --seed 5 --last-day 2026-11-20
ok --data "$S" init -q --model "$D/model.yaml"
for t in accounts users events; do ok --data "$S" import -q "$t" "$D/$t.csv"; done
# a late file: acct0001's events of 2026-11-10 and of the summer again, a day later
awk -F, 'NR > 1 && $3 == "acct0001" && ($1 ~ /^2026-11-10/ || $1 ~ /^2026-07-1/) { sub(/T/, "T", $1); print "2026-" substr($1, 6, 5) "T23:59:59Z," $2 "," $3 "," $4 }' \
    "$D/events.csv" | sed '1i ts,user_id,account_id,event' >"$TMP/late.csv"
ok --data "$S" import -q events "$TMP/late.csv"
[ -s "$S/events.idx" ] || fail "no events.idx after the imports"
expect_eq "$(($(wc -c <"$S/events.idx") % 40))" 0 "events.idx holds whole 40-byte records"

page() { ok --data "$S" report account acct0001 --as-of 2026-11-20 --format json; cp "$TMP/out" "$TMP/$1.json"; }
say "the account page with the index equals the page read in full"
page with
mv "$S/events.idx" "$TMP/idx"
page without
expect_same "$TMP/with.json" "$TMP/without.json" "with and without events.idx"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if sum(f["uses_28d"] for f in d["features"]) > 0 else 1)' \
    "$TMP/with.json" || fail "the page counts no use in 28 days: the window was not read"

say "a damaged record, a truncated file, a record of another block: the same page"
cp "$TMP/idx" "$S/events.idx"
printf '\377' | dd of="$S/events.idx" bs=1 seek=50 conv=notrunc 2>/dev/null
page flipped
expect_same "$TMP/flipped.json" "$TMP/without.json" "a flipped byte in a record"
head -c 100 "$TMP/idx" >"$S/events.idx"
page short
expect_same "$TMP/short.json" "$TMP/without.json" "a truncated index"
# a record that claims the first block holds nothing in the window, with the
# block's own header: only its CRC then guards it; with another CRC it is ignored
python3 - "$TMP/idx" "$S/events.idx" <<'PY'
import struct, sys
recs = open(sys.argv[1], 'rb').read()
out = bytearray(recs)
for i in range(0, len(recs), 40):
    off, lo, hi, crc, clen, c = struct.unpack_from('<QqqIII', recs, i)
    struct.pack_into('<QqqII', out, i, off, 0, 0, crc ^ 1, clen)   # stale: another block's CRC
open(sys.argv[2], 'wb').write(bytes(out))
PY
page stale
expect_same "$TMP/stale.json" "$TMP/without.json" "records that do not match their block's header"
echo "ok scan_window"
