# /metrics counts what the server did, by client family and reject field.
# The story, worked out by hand:
#   1. Segment /v1/batch: m1 (a, x, account acme) stored; m2 has no event
#      name (rejected: event); m3 has no account and b is in none (rejected:
#      account_id).                    segment: received 3, stored 1
#   2. the same batch again: m1 a duplicate, m2 and m3 rejected again.
#                                      segment: received 6, stored 1, dup 1,
#                                      rejected event 2, account_id 2
#   3. PostHog /batch/: u1, u2 with $groups company=acme: stored 2.
#   4. Mixpanel GET /track?data=: i1 with company=acme: stored 1.
#   5. an unknown write key: 401.
#   Requests before /metrics: 4 answered 2xx, 1 answered 4xx, 5 timed.
#   Events in the store: 1 + 2 + 1 = 4.
. "$(dirname "$0")/lib.inc"
command -v curl >/dev/null || fail "curl is required"
new_store write
WK=$KEY
serve_start "$S" ""
B=http://127.0.0.1:$PORT
post() {   # post WHAT EXPECTED-CODE CURL-ARGS...
    _what=$1; _want=$2; shift 2
    _code=$(curl -s -o "$TMP/body" -w '%{http_code}' -m 10 "$@") || fail "$_what: curl failed"
    expect_eq "$_code" "$_want" "$_what: HTTP status"
}
SEG='{"batch":[
 {"type":"track","userId":"a","event":"x","messageId":"m1","context":{"groupId":"acme"},"timestamp":"2026-03-02T12:00:00Z"},
 {"type":"track","userId":"a","messageId":"m2","context":{"groupId":"acme"},"timestamp":"2026-03-02T12:00:00Z"},
 {"type":"track","userId":"b","event":"y","messageId":"m3","timestamp":"2026-03-02T12:00:00Z"}]}'
say "a Segment batch twice, a PostHog batch, a Mixpanel GET, a wrong key"
post "segment batch" 200 -u "$WK:" -d "$SEG" "$B/v1/batch"
post "segment batch again" 200 -u "$WK:" -d "$SEG" "$B/v1/batch"
post "posthog batch" 200 -d "{\"api_key\":\"$WK\",\"batch\":[
 {\"event\":\"p\",\"distinct_id\":\"c\",\"uuid\":\"u1\",\"timestamp\":\"2026-03-02T12:00:00Z\",\"properties\":{\"\$groups\":{\"company\":\"acme\"}}},
 {\"event\":\"q\",\"distinct_id\":\"c\",\"uuid\":\"u2\",\"timestamp\":\"2026-03-02T12:00:00Z\",\"properties\":{\"\$groups\":{\"company\":\"acme\"}}}]}" "$B/batch/"
DATA=$(printf '{"event":"z","properties":{"distinct_id":"d","token":"%s","$insert_id":"i1","company":"acme","time":1772452800}}' "$WK" | base64 -w0)
post "mixpanel track" 200 "$B/track?data=$DATA"
expect_eq "$(cat "$TMP/body")" 1 "Mixpanel's answer"
post "a wrong key" 401 -u "upw_wrong:" -d "$SEG" "$B/v1/batch"

say "/metrics: the counts worked out above"
curl -s -m 10 -o "$TMP/metrics" "$B/metrics" || fail "/metrics did not answer"
serve_stop
metric() {   # metric 'NAME{LABELS}' EXPECTED
    _got=$(awk -v k="$1" '$1 == k { print $2 }' "$TMP/metrics")
    expect_eq "$_got" "$2" "$1"
}
metric 'uptake_events_received_total{source="segment"}' 6
metric 'uptake_events_stored_total{source="segment"}' 1
metric 'uptake_events_duplicate_total{source="segment"}' 1
metric 'uptake_events_rejected_total{source="segment",reason="event"}' 2
metric 'uptake_events_rejected_total{source="segment",reason="account_id"}' 2
metric 'uptake_events_received_total{source="posthog"}' 2
metric 'uptake_events_stored_total{source="posthog"}' 2
metric 'uptake_events_duplicate_total{source="posthog"}' 0
metric 'uptake_events_received_total{source="mixpanel"}' 1
metric 'uptake_events_stored_total{source="mixpanel"}' 1
metric 'uptake_http_requests_total{code="2xx"}' 4
metric 'uptake_http_requests_total{code="4xx"}' 1
metric 'uptake_http_requests_total{code="5xx"}' 0
metric 'uptake_http_request_duration_seconds_count' 5
metric 'uptake_http_request_duration_seconds_bucket{le="+Inf"}' 5
metric 'uptake_queue_events' 0
metric 'uptake_store_events' 4
_log=$(awk '$1 == "uptake_store_bytes{file=\"events.log\"}" { print $2 }' "$TMP/metrics")
[ -n "$_log" ] && [ "$_log" -gt 0 ] || fail "uptake_store_bytes of events.log: got '$_log', expected more than 0"
expect_grep "# TYPE uptake_http_request_duration_seconds histogram" "$TMP/metrics" "the latency histogram's type line"

say "the store agrees: 4 events, 4 rejects"
expect_eq "$(stored_events "$S")" 4 "events in the store"
ok --data "$S" rejects
expect_grep "4 rejected records" "$TMP/out" "uptake rejects"
echo "ok $TEST_NAME"
