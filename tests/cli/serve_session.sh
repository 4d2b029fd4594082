# Dashboard sign-in: POST /login with a read token starts a session; the
# cookie carries the session's id (ups_ and 40 hex digits), never the token,
# and uptake.db keeps only the id's SHA-256. A session outlives a restart of
# the server; signing out ends that session only; revoking the read token
# ends every session made with it; a cookie holding the token itself, or a
# made-up id, is refused.
. "$(dirname "$0")/lib.inc"
command -v curl >/dev/null || fail "curl is required"
command -v sqlite3 >/dev/null || fail "sqlite3 is required"
new_store read --name dash
RK=$KEY
serve_start "$S" ""
B=http://127.0.0.1:$PORT

signin() {   # signin TOKEN: the status, the Location and the session cookie's value
    curl -s -m 5 -o /dev/null -D "$TMP/h" --data-urlencode "token=$1" "$B/login" || fail "POST /login"
    tr -d '\r' <"$TMP/h" >"$TMP/hdr"
    STATUS=$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' "$TMP/hdr")
    LOC=$(sed -n 's/^Location: //p' "$TMP/hdr")
    SID=$(sed -n 's/^Set-Cookie: uptake_session=\([^;]*\);.*/\1/p' "$TMP/hdr")
}
api() {      # api COOKIE: the status of GET /api/v1/accounts with that cookie
    curl -s -m 5 -o "$TMP/body" -w '%{http_code}' -H "Cookie: uptake_session=$1" "$B/api/v1/accounts"
}

say "a wrong token: back to the form, no cookie"
signin upr_0000000000000000000000000000000000000000
expect_eq "$STATUS $LOC" "303 /?signin=failed" "a wrong token"
expect_eq "$SID" "" "no cookie for a wrong token"

say "the read token: a session cookie, HttpOnly and SameSite=Strict, holding an id and not the token"
signin "$RK"
expect_eq "$STATUS $LOC" "303 /" "sign-in"
S1=$SID
expect_grep "HttpOnly; SameSite=Strict; Max-Age=2592000" "$TMP/hdr" "the cookie's attributes (30 days)"
case "$S1" in ups_*) ;; *) fail "the cookie holds '$S1', expected a session id ups_…" ;; esac
expect_eq "${#S1}" 44 "the session id's length"
expect_eq "$(api "$S1")" 200 "the API with the session"
signin "$RK"
S2=$SID
[ "$S1" != "$S2" ] || fail "two sign-ins gave the same session id"

say "uptake.db keeps the SHA-256 of each id, never the id or the token"
expect_eq "$(sqlite3 "$S/uptake.db" 'SELECT count(*) FROM sessions')" 2 "sessions stored"
H1=$(printf '%s' "$S1" | sha256sum | cut -c1-64)
expect_eq "$(sqlite3 "$S/uptake.db" "SELECT count(*) FROM sessions WHERE lower(hex(hash)) = '$H1'")" 1 "the id's hash"
sqlite3 "$S/uptake.db" .dump >"$TMP/dump"
expect_no_grep "$S1" "$TMP/dump" "the session id in uptake.db"
expect_no_grep "$RK" "$TMP/dump" "the read token in uptake.db"

say "a cookie with the token itself, or a made-up id: 401"
expect_eq "$(api "$RK")" 401 "the token as a cookie"
expect_eq "$(api ups_0000000000000000000000000000000000000000)" 401 "a made-up session id"
expect_grep "sign in again" "$TMP/body" "the 401 says what to do"

say "a restart keeps the sessions"
serve_stop
serve_start "$S" ""
B=http://127.0.0.1:$PORT
expect_eq "$(api "$S1")" 200 "session 1 after a restart"

say "sign out ends that session only"
curl -s -m 5 -o /dev/null -D "$TMP/h" -X POST -H "Cookie: uptake_session=$S1" "$B/logout" || fail "POST /logout"
expect_grep "uptake_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" "$TMP/h" "the cookie cleared"
expect_eq "$(api "$S1")" 401 "session 1 after signing out"
expect_eq "$(api "$S2")" 200 "session 2 after session 1 signed out"
expect_eq "$(sqlite3 "$S/uptake.db" 'SELECT count(*) FROM sessions')" 1 "sessions left"

say "revoking the read token ends its sessions (within a second)"
ok --data "$S" keys revoke "$(printf '%s' "$RK" | cut -c1-12)"
sleep 1.2
expect_eq "$(api "$S2")" 401 "session 2 after the token was revoked"
serve_stop
echo "ok $TEST_NAME"
