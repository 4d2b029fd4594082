#!/bin/sh
# Self-test of the DuckDB peer (bench/peer_duckdb.mjs) on a small fixture
# whose results were worked out by hand (fixtures/issue3/README.md): the
# seats from subscriptions, the adoption level, the users report and the
# stages funnel. Also checks that --skip subscriptions,outcomes falls back to
# the accounts-table seats, and that compare.mjs finds a changed cell.
#
#   sh tests/crosscheck/peer_selftest.sh
# Exits 0 when everything matches, 1 otherwise, 2 when it cannot run.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
fx=$root/tests/crosscheck/fixtures/issue3
command -v node >/dev/null || { echo "peer_selftest: node is missing: run scripts/deps.sh" >&2; exit 2; }
if [ ! -d "$root/bench/node_modules/@duckdb/node-api" ] || [ ! -d "$root/bench/node_modules/yaml" ]; then
    (cd "$root/bench" && npm install --no-audit --no-fund --loglevel=error) >&2 ||
        { echo "peer_selftest: npm install in bench/ failed" >&2; exit 2; }
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uptake-peer-selftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# project FILE COLS...: the named columns of a CSV without quoted commas
project() {
    f=$1; shift
    awk -F, -v cols="$*" 'NR == 1 { n = split(cols, want, " "); for (i = 1; i <= NF; i++) idx[$i] = i
                                    for (j = 1; j <= n; j++) if (!(want[j] in idx)) { print "no column " want[j] > "/dev/stderr"; exit 1 } }
        { line = ""; for (j = 1; j <= n; j++) line = line (j > 1 ? "," : "") $(idx[want[j]]); print line }' "$f"
}

fail=0
node "$root/bench/peer_duckdb.mjs" --data "$fx" --model "$fx/model.yaml" --as-of 2026-03-31 --out "$tmp/out" >/dev/null
project "$tmp/out/accounts.csv" account_id seats known_users mau breadth depth level > "$tmp/accounts.csv"
for f in accounts users stages; do
    got=$tmp/$f.csv
    [ "$f" = accounts ] || got=$tmp/out/$f.csv
    if diff -u "$fx/expected/$f.csv" "$got"; then echo "peer_selftest: $f.csv ok"
    else echo "peer_selftest: $f.csv differs from fixtures/issue3/expected/$f.csv"; fail=1; fi
done

# Without subscriptions and outcomes: the accounts-table seats, no effective.
node "$root/bench/peer_duckdb.mjs" --data "$fx" --model "$fx/model.yaml" --as-of 2026-03-31 --out "$tmp/skip" \
    --skip subscriptions,outcomes >/dev/null
project "$tmp/skip/accounts.csv" account_id seats level > "$tmp/skip.csv"
printf 'account_id,seats,level\nACC1,10,low\nACC2,4,high\nACC3,2,high\nACC4,6,low\nACC5,10,low\nACC6,0,low\n' > "$tmp/skip.want"
if diff -u "$tmp/skip.want" "$tmp/skip.csv"; then echo "peer_selftest: --skip ok"
else echo "peer_selftest: --skip subscriptions,outcomes differs"; fail=1; fi

# compare.mjs: identical directories pass; one changed stage fails.
node "$root/bench/compare.mjs" --strict "$tmp/out" "$tmp/out" >/dev/null || { echo "peer_selftest: compare.mjs fails on identical reports"; fail=1; }
mkdir -p "$tmp/changed" && cp "$tmp/out"/*.csv "$tmp/changed/"
sed -i 's/^ACC2,u6,view,regular,8$/ACC2,u6,view,mastery,8/' "$tmp/changed/users.csv"
if node "$root/bench/compare.mjs" --strict "$tmp/out" "$tmp/changed" >/dev/null; then
    echo "peer_selftest: compare.mjs misses a changed stage"; fail=1
else echo "peer_selftest: compare.mjs ok"; fi

[ "$fail" = 0 ] && echo "peer_selftest: all ok"
exit "$fail"
