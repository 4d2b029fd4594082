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
ok --data "$S" report account acme --as-of 2026-03-31 --format html
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
echo "ok $TEST_NAME"
