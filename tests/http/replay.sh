#!/bin/sh
# Replays the wire captures of the four client libraries
# (tests/fixtures/wire/*.body.raw, or $UPTAKE_WIRE_DIR) byte for byte with
# curl: method, path and query from the .http file's request line, its
# Content-Encoding, Authorization and Content-Type headers, the exact body.
# The captures carry the test keys seg_wk_123 (Segment, Basic and writeKey),
# rs_wk_123 (Rudder, Basic), phc_testkey123 (PostHog api_key and Bearer) and
# mp_token_123 (Mixpanel token): they are made write keys by inserting their
# SHA-256 into the keys table. Each request must get the answer the client
# accepted at capture time (the .http's "answered" line: Mixpanel `1`, ...),
# and the store must hold the events the decoded bodies describe.
#   UPTAKE=/abs/path/build/uptake sh tests/http/replay.sh
set -eu
. "$(dirname "$0")/../cli/lib.inc"
. "$(dirname "$0")/server.inc"
WIRE=${UPTAKE_WIRE_DIR:-$REPO/tests/fixtures/wire}
ls "$WIRE"/*.body.raw >/dev/null 2>&1 || fail "no captures in $WIRE (*.body.raw)"

command -v curl >/dev/null || fail "curl is not installed"
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed"

D=$TMP/store
ok --data "$D" init -q --model "$HTTP_DIR/replay-model.yaml"
ok --data "$D" keys create --read
RK=$(cat "$TMP/out")
for k in seg_wk_123 rs_wk_123 phc_testkey123 mp_token_123; do
    h=$(printf %s "$k" | sha256sum | cut -c1-64)
    sqlite3 "$D/uptake.db" "INSERT INTO keys(id, kind, name, hash, created_at)
        VALUES('$k', 'write', 'wire capture key', X'$h', '2026-11-22T00:00:00Z')" || fail "inserting key $k"
done
start_server "$D"
say "server on $BASE; replaying $WIRE"

# The request of each capture, one line each, tab-separated, '-' for none:
# name, method, target, Content-Encoding, Authorization, Content-Type, and the
# answer given at capture time (status and body).
python3 - "$WIRE" >"$TMP/requests" <<'PY' || fail "reading the .http files"
import glob, json, os, re, sys
for raw in sorted(glob.glob(os.path.join(sys.argv[1], "*.body.raw"))):
    name = os.path.basename(raw)[:-len(".body.raw")]
    lines = open(raw[:-len(".body.raw")] + ".http", encoding="utf-8").read().split("\n")
    answered = next(l for l in lines if l.startswith("# received at"))
    m = re.search(r'answered (\d+) (".*")$', answered)
    status, body = m.group(1), json.loads(m.group(2))
    i = next(i for i, l in enumerate(lines) if not l.startswith("#"))
    method, target, _ = lines[i].split(" ")
    hdr = {}
    for l in lines[i + 1:]:
        if not l.strip():
            break
        k, v = l.split(":", 1)
        hdr[k.strip().lower()] = v.strip()
    f = lambda k: hdr.get(k, "-")
    print("\t".join([name, method, target, f("content-encoding"), f("authorization"), f("content-type"), status, body]))
PY
expect_eq "$(wc -l <"$TMP/requests" | tr -d ' ')" 31 "captures with a .body.raw (7 + 11 + 7 + 6)"

# replay FAMILY-PREFIX: sends every capture whose name starts with it
replay() {
    n=0
    while IFS='	' read -r name method target ce auth ct status answer; do
        case "$name" in "$1"*) ;; *) continue ;; esac
        set -- "$1" -X "$method"
        [ "$ce" = - ] || set -- "$@" -H "Content-Encoding: $ce"
        [ "$auth" = - ] || set -- "$@" -H "Authorization: $auth"
        [ "$ct" = - ] || set -- "$@" -H "Content-Type: $ct"
        [ -s "$WIRE/$name.body.raw" ] && set -- "$@" --data-binary @"$WIRE/$name.body.raw"
        pfx=$1
        shift
        hc "$@" "$BASE$target"
        expect_http "$status" "$name ($method $target)" "$answer"
        set -- "$pfx"
        n=$((n + 1))
    done <"$TMP/requests"
    REPLAYED=$n
}
DAY0=$(date -u +%Y-%m-%d)
before=0
# family, captures, events stored (worked out from the decoded bodies):
#   mixpanel (7): 1 /engage and 2 /groups store none (user-42's profile, acme's
#     name); 3 track Report Exported (company acme, no time: now) stored;
#     4 track_batch: Batched A (acme, time 2024-01-02T03:04:05.678Z) stored,
#     Batched B (no company; user-42 is in no account yet) rejected;
#     5 Verbose Event (no company) rejected, answered {"status":1,...} all the
#     same; 6 /import Old Event (acme, 2024-01-02) stored, authorised by the
#     token though api_key=legacy_api_key is no key; 7 Old A (no company) rejected
#     -> 3 stored, 3 rejected
#   posthog (11): $identify and $groupidentify store none; report exported
#     ($groups.company acme) in -3-, -batched-1 and -captureV1-3- stored;
#     anon clicked (anon-7, no group) and $create_alias, each twice, rejected
#     -> 3 stored, 4 rejected
#   rudder (7): identify none; group links user-42 to acme; track (context.groupId
#     acme), page (page_view, acme from the group link), batched-2's track
#     stored; anon-7's track rejected (no account) -> 3 stored, 1 rejected
#   segment (6): the same as rudder -> 3 stored, 1 rejected
for fam in mixpanel:7:3:3 posthog:11:3:4 rudder:7:3:1 segment:6:3:1; do
    IFS=: read -r f nreq nev nrej <<EOF
$fam
EOF
    say "$f: $nreq captures answered as at capture time; $nev events stored, $nrej rejected"
    rej_before=$(sqlite3 "$D/uptake.db" "SELECT count(*) FROM rejects")
    replay "$f"
    expect_eq "$REPLAYED" "$nreq" "$f: captures replayed"
    now=$(events_count "$D")
    expect_eq "$((now - before))" "$nev" "$f: events stored"
    rej=$(sqlite3 "$D/uptake.db" "SELECT count(*) FROM rejects")
    expect_eq "$((rej - rej_before))" "$nrej" "$f: events rejected"
    before=$now
done
DAY1=$(date -u +%Y-%m-%d)

say "the rejects say why"
ok --data "$D" rejects --format csv
expect_eq "$(grep -c 'alias messages carry no usage event' "$TMP/out")" 2 "the two PostHog \$create_alias"
expect_eq "$(grep -c 'in no account of the users table' "$TMP/out")" 7 "anon-7 x4, Batched B, Verbose Event, Old A: no account"
expect_grep ',http,POST /track,2,account_id,' "$TMP/out" "Batched B: the 2nd event of the track_batch"
# (an event rejected for its account is kept as "ts=…, user_id=…, event=…", not as its JSON)
expect_grep 'user_id=user-42, event=Batched B' "$TMP/out" "Batched B is kept in the rejects"

say "every stored event under user-42 of acme, on its day"
# a `now` event is on the day of the replay (DAY0 = DAY1 unless it spanned midnight)
ok --data "$D" report users --as-of "$DAY1" --format csv
cut -d, -f1,2,3,5 "$TMP/out" >"$TMP/users.now"
if [ "$DAY0" = "$DAY1" ]; then
    # (Batched A and Old Event of 2024 are used features, with no day in the window)
    printf 'account_id,user_id,feature,days_used_28d\nacme,user-42,exported,1\nacme,user-42,pages,1\nacme,user-42,batched,0\nacme,user-42,imported,0\n' >"$TMP/want"
    expect_same "$TMP/users.now" "$TMP/want" "report users as of the replay day"
fi
# the events with an explicit time: Batched A (track_batch) and Old Event (/import)
ok --data "$D" report users --as-of 2024-01-02 --format csv
cut -d, -f1,2,3,5 "$TMP/out" >"$TMP/users.2024"
printf 'account_id,user_id,feature,days_used_28d\nacme,user-42,batched,1\nacme,user-42,imported,1\n' >"$TMP/want"
expect_same "$TMP/users.2024" "$TMP/want" "report users as of 2024-01-02"
ok --data "$D" report accounts --as-of 2024-01-01 --format csv
expect_eq "$(tail -n +2 "$TMP/out" | cut -d, -f1,4,7)" "acme,0,0" "nothing active on 2024-01-01 (acme known from its traits)"
ok --data "$D" report accounts --as-of 2024-01-02 --format json
python3 - "$TMP/out" <<'PY' || fail "acme on 2024-01-02: 1 user active, the name from the group traits"
import json, sys
a = json.load(open(sys.argv[1]))["accounts"]
assert [(x["account_id"], x["name"], x["dau"], x["known_users"]) for x in a] == [("acme", "Acme Inc", 1, 1)], a
PY
ok --data "$D" status
expect_grep "event names 5" "$TMP/out" "Report Exported, report exported, page_view, Batched A, Old Event"

# Mixpanel's second pass stores 6: its 3 events without $insert_id again, and,
# user-42 being in acme by now (Rudder's and Segment's group calls), Batched B,
# Verbose Event and Old A (with $insert_id ins-1, rejected the first time)
say "a second replay: messageId and uuid events stored once; Mixpanel's (no \$insert_id) again"
for fam in segment:0 rudder:0 posthog:0 mixpanel:6; do
    IFS=: read -r f nev <<EOF
$fam
EOF
    replay "$f"
    now=$(events_count "$D")
    expect_eq "$((now - before))" "$nev" "$f replayed again: new events"
    before=$now
done

ok --data "$D" rejects --format csv
expect_eq "$(tail -n +2 "$TMP/out" | wc -l | tr -d ' ')" 15 "rejects: 9, then anon-7 x4 and the 2 aliases again"
stop_server
expect_eq "$SRC" 0 "server exit status after SIGTERM"
echo "ok $TEST_NAME"
