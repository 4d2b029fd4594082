#!/bin/sh
# The entity tables' cache in uptake.db (src/entcache.h, docs/store.md):
# written by `alerts evaluate`, used by the views while the tables are of the
# generation it names, never when they changed since or when it is damaged;
# `check` names a damaged one and `repair` removes it. On a demo store of
# 20k events (NPS answers, subscriptions, outcomes, churned accounts): every
# report is the same with and without it, at T and at an earlier T (the
# window of NPS answers and outcomes is applied when it is read).
set -eu
. "$(dirname "$0")/lib.inc"
D=$TMP/demo S=$TMP/store
ok demo --out "$D" --events 20000 --last-day 2026-11-20
ok --data "$S" init -q --model "$D/model.yaml"
for t in accounts users surveys subscriptions outcomes events; do ok --data "$S" import -q "$t" "$D/$t.csv"; done
AS="--as-of 2026-11-20"

# reports FILE: what the views print (the portfolio in all its statuses, the
# signals at T and at an earlier T, stages, renewals) into FILE
reports() {
    : >"$1"
    for args in "report accounts $AS --status all --format json" "report accounts --as-of 2026-06-30 --format csv" \
                "report signals $AS --format csv" "report signals --as-of 2026-08-15 --format csv" \
                "report stages $AS --format csv" "report renewals $AS --format csv"; do
        ok --data "$S" $args
        cat "$TMP/out" >>"$1"
    done
}
# blob: the cache row's blob, python3 edits it (CRC-32C made good unless BAD)
edit_blob() {   # edit_blob MODE: rename (the first account's name, CRC made good) | flip (one byte, CRC left)
    python3 - "$S/uptake.db" "$1" <<'PY'
import sqlite3, struct, sys
def crc32c(b):
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    c = 0xFFFFFFFF
    for x in b:
        c = t[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
db = sqlite3.connect(sys.argv[1])
(blob,) = db.execute("SELECT blob FROM entities_cache WHERE id = 1").fetchone()
b = bytearray(blob)
assert b[:8] == b"UPENTC\0\1"
n_acc, n_sur, n_sub, n_out, n_chu, slen = struct.unpack_from("<6I", b, 12)
if sys.argv[2] == "rename":
    name = struct.unpack_from("<I", b, 44 + slen + 4)[0]   # account 0's name offset
    end = b.index(0, 44 + name)
    b[44 + name:end] = b"Z" * (end - 44 - name)
    struct.pack_into("<I", b, len(b) - 4, crc32c(bytes(b[:-4])))
else:
    b[44 + slen + 60] ^= 0x10   # inside the accounts' records
db.execute("UPDATE entities_cache SET blob = ? WHERE id = 1", (bytes(b),))
db.commit()
PY
}
first_name() { sed -n 2p "$D/accounts.csv" | cut -d, -f2; }

say "no cache yet: the views read the tables; check says nothing of a cache"
reports "$TMP/tables.txt"
ok --data "$S" check
expect_no_grep "entity cache" "$TMP/out" "check before any cache"

say "alerts evaluate writes it; check finds it whole"
UPTAKE_TIMING=1 ok --data "$S" alerts evaluate $AS --wait 0
expect_grep "from the tables" "$TMP/err" "the first evaluation's entities"
expect_grep "timing: entity cache written" "$TMP/err" "the cache written"
GEN=$(sqlite3 "$S/uptake.db" "SELECT value FROM meta WHERE key = 'crm_gen'")
expect_eq "$(sqlite3 "$S/uptake.db" 'SELECT gen FROM entities_cache')" "$GEN" "the row's generation"
ok --data "$S" check
expect_grep "uptake.db: entity cache ok (the tables as of change $GEN)" "$TMP/out" "check of the cache"
UPTAKE_TIMING=1 ok --data "$S" alerts evaluate $AS --wait 0
expect_grep "from their cache" "$TMP/err" "the second evaluation's entities"
expect_no_grep "timing: entity cache" "$TMP/err" "nothing written the second time"

say "the views from the cache print what they printed from the tables, byte for byte"
reports "$TMP/cached.txt"
expect_same "$TMP/cached.txt" "$TMP/tables.txt" "the reports from the cache"

say "the views use it: a name changed in the cache (checksum made good) shows"
edit_blob rename
ok --data "$S" report accounts $AS --format csv
NAME=$(first_name)
ZS=$(printf '%s' "$NAME" | tr -c '' 'Z')
expect_grep ",$ZS," "$TMP/out" "the cached name"

say "a change to the tables (the accounts imported again) leaves it unused"
ok --data "$S" import -q accounts "$D/accounts.csv"
ok --data "$S" report accounts $AS --format csv
expect_grep ",$NAME," "$TMP/out" "the table's name after the change"
expect_no_grep ",$ZS," "$TMP/out" "the old cache after the change"
ok --data "$S" check
expect_grep "uptake.db: entity cache of an earlier change ($GEN) of the tables" "$TMP/out" "check of a stale cache"
expect_rc 0 "check of a stale cache"
ok --data "$S" alerts evaluate $AS --wait 0
[ "$(sqlite3 "$S/uptake.db" 'SELECT gen FROM entities_cache')" -gt "$GEN" ] || fail "the cache was not written anew"

say "one flipped bit: not used (the same reports), check exits 1 naming it, repair removes it"
edit_blob flip
reports "$TMP/flipped.txt"
expect_same "$TMP/flipped.txt" "$TMP/tables.txt" "the reports beside a damaged cache"
up --data "$S" check
expect_rc 1 "check of a damaged cache"
expect_grep "uptake.db: its entity cache is damaged: its checksum does not match (views read the tables instead; \`uptake repair\` removes it)" "$TMP/out" "check's line"
ok --data "$S" repair
expect_grep "uptake.db: the damaged entity cache removed" "$TMP/out" "repair's line"
expect_eq "$(sqlite3 "$S/uptake.db" 'SELECT count(*) FROM entities_cache')" 0 "no cache row after repair"
ok --data "$S" check
expect_grep "no problems found" "$TMP/out" "check after repair"
ok --data "$S" alerts evaluate $AS --wait 0
expect_eq "$(sqlite3 "$S/uptake.db" 'SELECT count(*) FROM entities_cache')" 1 "written again by the next evaluation"

say "a reader never writes it"
sqlite3 "$S/uptake.db" "DELETE FROM entities_cache"
reports "$TMP/reader.txt"
expect_eq "$(sqlite3 "$S/uptake.db" 'SELECT count(*) FROM entities_cache')" 0 "no cache row after the reports"
echo "entcache: ok"
