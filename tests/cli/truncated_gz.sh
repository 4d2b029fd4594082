#!/bin/sh
# A .gz cut in half (a read error part-way through a file): the records read
# before the error are stored, the summary line counts them, an error line
# names the file and the problem, the import is recorded, the exit status is
# 1 (bad input), and the other files on the command line are still imported.
set -eu
. "$(dirname "$0")/lib.inc"
D=$TMP/store
ok --data "$D" init -q --model "$FIX/model.yaml"
cd "$TMP"

# events.csv: 20000 events, event i at 2026-03-01T00:00:00Z + i seconds, user
# u(i mod 997), account acme, report.view; gzipped and cut to half its bytes.
# The expected count is what inflate yields from that half: the complete lines
# after the header (python's zlib is the same inflate as gzread).
python3 - <<'EOF'
import gzip, zlib
rows = ["ts,user_id,account_id,event"]
for i in range(20000):
    rows.append("%d,u%d,acme,report.view" % (1772323200 + i, i % 997))
data = gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0)
half = data[: len(data) // 2]
open("half.csv.gz", "wb").write(half)
text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(half)
complete = text[: text.rindex(b"\n") + 1].count(b"\n") - 1
assert 0 < complete < 20000, complete
open("half.expected", "w").write("%d\n" % complete)
EOF
N=$(cat half.expected)
printf '%s\n' ts,user_id,account_id,event "2026-03-31T10:00:00Z,x1,acme,dashboard.view" \
    "2026-03-31T11:00:00Z,x2,acme,export.csv" >good.csv

say "events: half.csv.gz ($N complete records) then good.csv (2): exit 1, both summaries"
up --data "$D" import events half.csv.gz good.csv
expect_rc 1 "import of a truncated .gz"
expect_eq "$(summary | sed -n 1p)" "half.csv.gz: read $N, stored $N, duplicates 0, rejected 0" "half.csv.gz summary"
expect_eq "$(summary | sed -n 2p)" "good.csv: read 2, stored 2, duplicates 0, rejected 0" "good.csv summary"
expect_grep "uptake import: half.csv.gz: gzip:" "$TMP/err" "the error line names the file"
expect_grep "unexpected end of file" "$TMP/err" "the error line names the problem"
expect_no_grep "nothing could be read" "$TMP/err" "no 'nothing could be read' for a partial file"

say "the $N + 2 events are in the store, and both imports are recorded"
ok --data "$D" status
expect_grep "events      $((N + 2)) (2026-03-01T00:00:00Z .. 2026-03-31T11:00:00Z)" "$TMP/out" "status events"
expect_eq "$(sqlite3 "$D/uptake.db" "SELECT file || ',' || read || ',' || stored FROM imports ORDER BY id" | tr '\n' ' ')" \
    "half.csv.gz,$N,$N good.csv,2,2 " "imports rows"

# accounts.csv.gz: 5000 accounts a0..a4999 with 7 seats each, cut in half the
# same way: the rows read before the error are committed, not rolled back.
python3 - <<'EOF'
import gzip, zlib
rows = ["account_id,name,seats"] + ["a%d,Account %d,7" % (i, i) for i in range(5000)]
data = gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0)
half = data[: len(data) // 2]
open("accounts.csv.gz", "wb").write(half)
text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(half)
open("accounts.expected", "w").write("%d\n" % (text[: text.rindex(b"\n") + 1].count(b"\n") - 1))
EOF
A=$(cat accounts.expected)
say "accounts: a truncated accounts.csv.gz keeps its $A rows read before the error"
up --data "$D" import accounts accounts.csv.gz
expect_rc 1 "import accounts of a truncated .gz"
expect_eq "$(summary)" "accounts.csv.gz: read $A, stored $A, duplicates 0, rejected 0" "accounts.csv.gz summary"
ok --data "$D" status
expect_grep "tables      $A accounts," "$TMP/out" "the accounts read are stored"
echo "ok $TEST_NAME"
