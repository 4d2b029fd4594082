# report account ID --format html (a QBR) and report accounts --format html:
# one self-contained file (no script, nothing fetched: charts are inline SVG),
# every value escaped, the sections a QBR needs, and the plan derived from the
# gaps (worked out by hand for the fixture below).
# acme: 10 seats, 2 active users (breadth 0.2) using f1 only; f2 (core) unused.
#   plan: breadth 20% -> 60% (0.2 + 0.8/2 = 0.6; 4 more active users),
#         adopt f2 from 0% to 50% of active users.
. "$(dirname "$0")/lib.inc"
cat >"$TMP/model.yaml" <<'M'
features:
  - {name: f1, core: true, events: [a]}
  - {name: f2, core: true, events: [b]}
M
printf 'account_id,name,seats,contract_start,renewal_date\nacme,<script>alert("x")</script> & Co,10,2026-01-01,2026-12-01\n' >"$TMP/accounts.csv"
printf 'ts,user_id,account_id,event\n2026-03-30T10:00:00Z,u1,acme,a\n2026-03-31T10:00:00Z,u2,acme,a\n' >"$TMP/events.csv"
S=$TMP/store
ok --data "$S" init -q --model "$TMP/model.yaml"
for t in accounts events; do ok --data "$S" import -q "$t" "$TMP/$t.csv"; done
ok --data "$S" report account acme --as-of 2026-03-31 --format html --audience internal
H=$TMP/out
expect_grep "<!doctype html>" "$H" "an HTML document"
expect_grep "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" "$H" "the name is escaped"
expect_no_grep "<script" "$H" "no script at all"
expect_no_grep "src=" "$H" "nothing fetched"
for s in "Where adoption stands" "Adoption against targets" "Business outcomes" "Gaps" "Plan for the next 90 days (to 2026-06-29)" "<svg"; do
    expect_grep "$s" "$H" "section: $s"
done
expect_grep "<tr><td>Seats in use (breadth)</td><td>20%</td><td>60% (4 more active users)</td></tr>" "$H" "the breadth goal"
expect_grep "<tr><td>Adopt f2</td><td>0%</td><td>50% of active users</td></tr>" "$H" "the unused core feature"
ok --data "$S" report accounts --as-of 2026-03-31 --format html
expect_grep "&lt;script&gt;" "$TMP/out" "portfolio file: escaped"
expect_no_grep "<script" "$TMP/out" "portfolio file: no script"
up --data "$S" report features --format html
expect_rc 2 "html for another report"

say "the customer's QBR (the default): their words, a quarter's change, a plan at a pace others reached"
# Four more smb accounts of 10 seats since 2025-06-01, active users 90 days
# before (window(28) ending 2025-12-31) and now (ending 2026-03-31):
#   b1 1 -> 3 (+0.2, as 0.3 - 0.1 = 0.19999999999999998), b2 2 -> 2 (0),
#   b3 0 -> 5 (+0.5), b4 3 -> 1 (-0.2). acme is a prospect on 2025-12-31
#   (contract 2026-01-01): not in the pace. The 75th percentile by nearest
#   rank of the 4 gains (-0.2, 0, 0.2, 0.5) is the 3rd: 0.2. acme: 2 of 10
#   -> goal 0.2 + 0.2 = 0.4 -> 4 of 10 seats. acme had no one active 90 days
#   before: +2 since then.
printf 'account_id,name,seats,contract_start,segment\nacme,<script>alert("x")</script> & Co,10,2026-01-01,smb\n' >"$TMP/a2.csv"
for b in b1 b2 b3 b4; do printf '%s,%s,10,2025-06-01,smb\n' "$b" "$b"; done >>"$TMP/a2.csv"
{
    echo ts,user_id,account_id,event
    echo 2025-12-20T10:00:00Z,u1,b1,a
    for u in u1 u2 u3; do echo "2026-03-20T10:00:00Z,$u,b1,a"; done
    for u in u1 u2; do echo "2025-12-20T10:00:00Z,$u,b2,a"; echo "2026-03-20T10:00:00Z,$u,b2,a"; done
    for u in u1 u2 u3 u4 u5; do echo "2026-03-20T10:00:00Z,$u,b3,a"; done
    for u in u1 u2 u3; do echo "2025-12-20T10:00:00Z,$u,b4,a"; done
    echo 2026-03-20T10:00:00Z,u1,b4,a
} >"$TMP/e2.csv"
ok --data "$S" import -q accounts "$TMP/a2.csv"
ok --data "$S" import -q events "$TMP/e2.csv"
ok --data "$S" report account acme --as-of 2026-03-31 --format html --vendor "<b>Us</b>"
H=$TMP/out
expect_grep "&lt;b&gt;Us&lt;/b&gt;" "$H" "the vendor, escaped"
expect_grep ": quarterly review</h1>" "$H" "the title"
expect_grep "<b>2 of 10 seats</b><span class=\"up\">▲ 2</span> since 90 days ago" "$H" "people against seats, and the quarter's change"
expect_grep "<tr><td>People using it</td><td>2 of 10 seats</td><td>4 of 10 seats</td></tr>" "$H" "the plan's goal at the pace"
expect_grep "a quarter of the 4 similar customers" "$H" "where the pace comes from"
expect_grep "<tr><td>Start using f2</td><td>0 people</td>" "$H" "the unused core feature"
for w in Health health "Adoption level" breadth level_ docs/ metrics.md core; do
    expect_no_grep "$w" "$H" "no internal word: $w"
done
expect_grep "<svg" "$H" "a chart"
expect_grep "text-anchor=\"end\">5</text>" "$H" "a y axis: ticks 0, 5, 10 (10 seats: a round top of 10)"
expect_grep "text-anchor=\"end\">10</text>" "$H" "its top"
expect_grep ">2025-12-31</text>" "$H" "an x axis from 90 days before"
expect_no_grep "<script" "$H" "no script"

say "the vendor's logo, embedded as a data: URI; a file that is no image is refused"
printf '\211PNG\r\n\032\nlogo' >"$TMP/logo.png"   # the PNG signature, then 4 bytes
ok --data "$S" report account acme --as-of 2026-03-31 --format html --vendor "<b>Us</b>" --logo "$TMP/logo.png"
expect_grep "<img class=\"logo\" alt=\"&lt;b&gt;Us&lt;/b&gt;\" src=\"data:image/png;base64,$(base64 -w0 "$TMP/logo.png")\">" \
    "$TMP/out" "the logo, base64 of its 12 bytes"
echo "not an image" >"$TMP/logo.txt"
up --data "$S" report account acme --as-of 2026-03-31 --format html --logo "$TMP/logo.txt"
expect_rc 2 "a logo that is no image"
expect_grep "uptake report: --logo: $TMP/logo.txt: not a PNG, JPEG, GIF or SVG image" "$TMP/err" "the message names the file"
head -c 600000 /dev/zero >"$TMP/big.png"
up --data "$S" report account acme --as-of 2026-03-31 --format html --logo "$TMP/big.png"
expect_grep "uptake report: --logo: $TMP/big.png: larger than 512 KB; a logo of a few KB prints as well" "$TMP/err" "a logo too big"
up --data "$S" report account acme --as-of 2026-03-31 --format html --audience friends
expect_rc 2 "an unknown audience"
echo "ok $TEST_NAME"
