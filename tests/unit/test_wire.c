/* wire: the captured requests of the four real clients (tests/fixtures/wire)
 * replayed through the decoder, byte for byte, with the server's clock set
 * to the capture's "received at" instant; plus hand-made bad bodies.
 * Expected values are read off the decoded JSON in each .http file; event
 * times follow the table in spec/ingest-wire.md, worked out in comments. */
#include "testutil.h"

#include "timeparse.h"
#include "util.h"
#include "wire.h"

#include <unistd.h>

#include <strings.h>
#include <zlib.h>

#define WIRE "tests/fixtures/wire/"

typedef struct {
    char method[8], target[4096], encoding[64], auth[256];
    uint8_t *body;
    size_t body_len;
    int64_t received;
} capture_t;

static char *slurp_n(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        *len = (size_t)n;
    }
    return b;
}

/* Reads stem.http (request line, headers, "received at") and stem.body.raw. */
static int load(const char *stem, capture_t *c)
{
    char path[512];
    size_t len;
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, WIRE "%s.http", stem);
    char *http = slurp_n(path, &len);
    if (!http)
        fail_msg("missing capture %s (run the tests from the repository's top directory)", path);
    char *at = strstr(http, "received at ");
    assert_non_null(at);
    assert_int_equal(up_time_parse(at + 12, 24, &c->received), 0);
    char *line = http;
    int in_headers = 0;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (n && line[n - 1] == '\r')
            n--;
        if (!in_headers && line[0] != '#' && n) {
            sscanf(line, "%7s %4095s", c->method, c->target);
            in_headers = 1;
        } else if (in_headers) {
            if (n == 0)
                break;
            if (strncasecmp(line, "Content-Encoding: ", 18) == 0)
                snprintf(c->encoding, sizeof c->encoding, "%.*s", (int)(n - 18), line + 18);
            if (strncasecmp(line, "Authorization: ", 15) == 0)
                snprintf(c->auth, sizeof c->auth, "%.*s", (int)(n - 15), line + 15);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(http);
    snprintf(path, sizeof path, WIRE "%s.body.raw", stem);
    c->body = (uint8_t *)slurp_n(path, &c->body_len);
    assert_non_null(c->body);
    return 0;
}

static void decode(const capture_t *c, up_wire_batch_t *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", c->target);
    char *q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    up_wire_req_t req = {c->method, path, q, c->encoding[0] ? c->encoding : NULL, c->auth[0] ? c->auth : NULL,
                         c->body, c->body_len, c->received, NULL};
    up_wire_decode(&req, b);
}

static int64_t T(const char *iso)
{
    int64_t ms;
    assert_int_equal(up_time_parse(iso, strlen(iso), &ms), 0);
    return ms;
}

static void check_msg(const up_wire_msg_t *m, up_wire_kind_t kind, const char *user, const char *account,
                      const char *event, const char *msgid, const char *ts)
{
    assert_null(m->reject);
    assert_int_equal(m->kind, kind);
#define STR_EQ(got, want) do { if (want) { assert_non_null(got); assert_string_equal(got, want); } else assert_null(got); } while (0)
    STR_EQ(m->user_id, user);
    STR_EQ(m->account_id, account);
    STR_EQ(m->event, event);
    STR_EQ(m->message_id, msgid);
    assert_int_equal(m->ts, T(ts));
}

static int has_key(const up_wire_batch_t *b, const char *k)
{
    for (int i = 0; i < b->n_keys; i++)
        if (strcmp(b->keys[i], k) == 0)
            return 1;
    return 0;
}

#define CAPTURE(stem, c, b) \
    capture_t c; up_wire_batch_t b; \
    if (load(stem, &c) < 0) { skip(); } \
    decode(&c, &b); \
    assert_int_equal(b.status, 200)

static void done(capture_t *c, up_wire_batch_t *b)
{
    up_wire_batch_free(b);
    free(c->body);
}

static void test_segment(void **state)
{
    (void)state;
    {
        /* received 07:09:59.839, sentAt .837, timestamp .835: .839 - (.837 - .835) = .837 */
        CAPTURE("segment-node-3.1.0-3-track", c, b);
        assert_int_equal(b.family, UP_WIRE_SEGMENT);
        assert_int_equal(b.n_msgs, 1);
        check_msg(&b.msgs[0], UP_WIRE_TRACK, "user-42", "acme", "Report Exported",
                  "node-next-1795331399835-c1c53873-89f6-47ea-a054-97bbe75349a1", "2026-11-22T07:09:59.837Z");
        assert_true(has_key(&b, "seg_wk_123"));   /* Basic user, and writeKey in the body */
        const char *ctype;
        assert_string_equal(up_wire_response(&b, 200, &ctype), "{\"success\":true}");
        done(&c, &b);
    }
    {
        /* an old explicit timestamp is skew-corrected too: received .443, sentAt .439:
         * 2024-01-02T03:04:05.678 + 4 ms */
        CAPTURE("segment-node-3.1.0-5-track-anon-explicit-ts", c, b);
        check_msg(&b.msgs[0], UP_WIRE_TRACK, "anon-7", NULL, "Anon Clicked",
                  "node-next-1795331400437-87ea6054-97bb-4753-89a1-a472d5fa5682", "2024-01-02T03:04:05.682Z");
        done(&c, &b);
    }
    {
        CAPTURE("segment-node-3.1.0-2-group", c, b);
        const up_wire_msg_t *m = &b.msgs[0];
        assert_int_equal(m->kind, UP_WIRE_GROUP);
        assert_string_equal(m->account_id, "acme");
        assert_string_equal(m->user_id, "user-42");
        assert_non_null(m->traits);
        done(&c, &b);
    }
    {
        /* page: an event named page_view */
        CAPTURE("segment-node-3.1.0-4-page", c, b);
        assert_int_equal(b.msgs[0].kind, UP_WIRE_TRACK);
        assert_string_equal(b.msgs[0].event, "page_view");
        done(&c, &b);
    }
}

static void test_rudder(void **state)
{
    (void)state;
    {
        /* gzip; originalTimestamp .378, per-event sentAt .378, received .380 -> .380 */
        CAPTURE("rudder-sdk-node-3.0.13-3-track", c, b);
        check_msg(&b.msgs[0], UP_WIRE_TRACK, "user-42", "acme", "Report Exported",
                  "27d34dbb-1360-4183-9a63-4931b25fd9d3", "2026-11-22T07:10:01.380Z");
        assert_true(has_key(&b, "rs_wk_123"));
        done(&c, &b);
    }
    {
        /* an explicit timestamp is kept as it is */
        CAPTURE("rudder-sdk-node-3.0.13-5-track-anon-explicit-ts", c, b);
        check_msg(&b.msgs[0], UP_WIRE_TRACK, "anon-7", NULL, "Anon Clicked",
                  "c1d680d8-a893-4b2e-b756-4969b7b74d7c", "2024-01-02T03:04:05.678Z");
        done(&c, &b);
    }
}

static void test_posthog(void **state)
{
    (void)state;
    {
        /* received .608, sent_at .605, timestamp .605 -> .608 */
        CAPTURE("posthog-node-5.70.0-3-capture-with-groups", c, b);
        assert_int_equal(b.family, UP_WIRE_POSTHOG);
        check_msg(&b.msgs[0], UP_WIRE_TRACK, "user-42", "acme", "report exported",
                  "01a20217-3b0d-76c3-8f90-02edc31e0f78", "2026-11-22T07:10:06.608Z");
        assert_true(has_key(&b, "phc_testkey123"));
        const char *ctype;
        assert_string_equal(up_wire_response(&b, 200, &ctype), "{\"status\":1}");
        done(&c, &b);
    }
    {
        /* received .915, sent_at .906: 2024-01-02T03:04:05.678 + 9 ms */
        CAPTURE("posthog-node-5.70.0-4-capture-explicit-ts", c, b);
        check_msg(&b.msgs[0], UP_WIRE_TRACK, "anon-7", NULL, "anon clicked",
                  "01a20217-3c3a-7a13-8e17-ce7509e42c90", "2024-01-02T03:04:05.687Z");
        done(&c, &b);
    }
    {
        /* a batch of identify, groupidentify and a capture */
        CAPTURE("posthog-node-5.70.0-batched-1", c, b);
        assert_int_equal(b.n_msgs, 3);
        assert_int_equal(b.msgs[0].kind, UP_WIRE_IDENTIFY);
        assert_string_equal(b.msgs[0].user_id, "user-42");
        assert_int_equal(b.msgs[1].kind, UP_WIRE_GROUP);
        assert_null(b.msgs[1].user_id);            /* "$company_acme" is not a person */
        assert_string_equal(b.msgs[1].account_id, "acme");
        assert_string_equal(json_string_value(json_object_get(b.msgs[1].traits, "name")), "Acme Inc");
        assert_int_equal(b.msgs[2].kind, UP_WIRE_TRACK);
        assert_string_equal(b.msgs[2].account_id, "acme");
        done(&c, &b);
    }
    {
        /* v1: Bearer key; created_at .963 as sent_at, timestamp .962, received .966 -> .965 */
        CAPTURE("posthog-node-5.70.0-captureV1-3-capture-with-groups", c, b);
        check_msg(&b.msgs[0], UP_WIRE_TRACK, "user-42", "acme", "report exported",
                  "01a20219-8e33-793d-ae5e-d8207f0dab15", "2026-11-22T07:12:38.965Z");
        assert_true(has_key(&b, "phc_testkey123"));
        const char *ctype;
        assert_string_equal(up_wire_response(&b, 200, &ctype), "{\"results\":{}}");
        done(&c, &b);
    }
}

static void test_mixpanel(void **state)
{
    (void)state;
    {
        /* GET /track?data=base64: no time property, so the receive time */
        CAPTURE("mixpanel-node-0.24.0-3-track", c, b);
        assert_int_equal(b.family, UP_WIRE_MIXPANEL);
        check_msg(&b.msgs[0], UP_WIRE_TRACK, "user-42", "acme", "Report Exported", NULL, "2026-11-22T07:10:02.902Z");
        assert_true(has_key(&b, "mp_token_123"));
        const char *ctype;
        assert_string_equal(up_wire_response(&b, 200, &ctype), "1");
        assert_string_equal(up_wire_response(&b, 401, &ctype), "0");
        done(&c, &b);
    }
    {
        /* POST data= form: time 1704164645678 ms = 2024-01-02T03:04:05.678Z; B has neither time nor company */
        CAPTURE("mixpanel-node-0.24.0-4-track_batch", c, b);
        assert_int_equal(b.n_msgs, 2);
        check_msg(&b.msgs[0], UP_WIRE_TRACK, "user-42", "acme", "Batched A", NULL, "2024-01-02T03:04:05.678Z");
        assert_string_equal(b.msgs[1].event, "Batched B");
        assert_null(b.msgs[1].account_id);
        done(&c, &b);
    }
    {
        CAPTURE("mixpanel-node-0.24.0-2-groups.set", c, b);
        assert_int_equal(b.msgs[0].kind, UP_WIRE_GROUP);
        assert_string_equal(b.msgs[0].account_id, "acme");
        assert_string_equal(json_string_value(json_object_get(b.msgs[0].traits, "plan")), "enterprise");
        done(&c, &b);
    }
    {
        CAPTURE("mixpanel-node-0.24.0-1-people.set_engage_", c, b);
        assert_int_equal(b.msgs[0].kind, UP_WIRE_IDENTIFY);
        assert_string_equal(b.msgs[0].user_id, "user-42");
        done(&c, &b);
    }
    {
        /* verbose=1 answers JSON */
        CAPTURE("mixpanel-node-0.24.0-5-track-verbose", c, b);
        const char *ctype;
        assert_string_equal(up_wire_response(&b, 200, &ctype), "{\"status\":1,\"error\":null}");
        done(&c, &b);
    }
}

/* Every capture decodes, with every message accepted by the decoder. */
static void test_every_capture(void **state)
{
    (void)state;
    static const char *const stems[] = {
        "mixpanel-node-0.24.0-1-people.set_engage_", "mixpanel-node-0.24.0-2-groups.set",
        "mixpanel-node-0.24.0-3-track", "mixpanel-node-0.24.0-4-track_batch", "mixpanel-node-0.24.0-5-track-verbose",
        "mixpanel-node-0.24.0-6-import_legacy-key_", "mixpanel-node-0.24.0-7-import_batch_legacy-key_",
        "posthog-node-5.70.0-1-identify", "posthog-node-5.70.0-2-groupIdentify",
        "posthog-node-5.70.0-3-capture-with-groups", "posthog-node-5.70.0-4-capture-explicit-ts",
        "posthog-node-5.70.0-5-alias", "posthog-node-5.70.0-batched-1",
        "posthog-node-5.70.0-captureV1-1-identify", "posthog-node-5.70.0-captureV1-2-groupIdentify",
        "posthog-node-5.70.0-captureV1-3-capture-with-groups", "posthog-node-5.70.0-captureV1-4-capture-explicit-ts",
        "posthog-node-5.70.0-captureV1-5-alias",
        "rudder-sdk-node-3.0.13-1-identify", "rudder-sdk-node-3.0.13-2-group", "rudder-sdk-node-3.0.13-3-track",
        "rudder-sdk-node-3.0.13-4-page", "rudder-sdk-node-3.0.13-5-track-anon-explicit-ts",
        "rudder-sdk-node-3.0.13-batched-1", "rudder-sdk-node-3.0.13-batched-2",
        "segment-node-3.1.0-1-identify", "segment-node-3.1.0-2-group", "segment-node-3.1.0-3-track",
        "segment-node-3.1.0-4-page", "segment-node-3.1.0-5-track-anon-explicit-ts", "segment-node-3.1.0-batched-1",
    };
    for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
        capture_t c;
        up_wire_batch_t b;
        if (load(stems[i], &c) < 0)
            skip();
        decode(&c, &b);
        if (b.status != 200 || b.n_msgs == 0 || b.n_keys == 0)
            fail_msg("%s: status %d, %zu messages, %d keys: %s", stems[i], b.status, b.n_msgs, b.n_keys, b.error);
        for (size_t k = 0; k < b.n_msgs; k++)
            if (b.msgs[k].reject)
                fail_msg("%s: message %zu rejected: %s: %s", stems[i], k, b.msgs[k].reject_field, b.msgs[k].reject);
        done(&c, &b);
    }
}

static void decode_body(const char *path, const char *query, const char *enc, const void *body, size_t len,
                        up_wire_batch_t *b)
{
    up_wire_req_t req = {"POST", path, query, enc, NULL, body, len, 1700000000000, NULL};
    up_wire_decode(&req, b);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    up_wire_batch_t b;
    decode_body("/v1/batch", NULL, NULL, "{\"batch\":[", 10, &b);
    assert_int_equal(b.status, 400);
    up_wire_batch_free(&b);
    /* gzip magic with garbage after it */
    decode_body("/batch/", NULL, "gzip", "\x1f\x8b\x08\x00garbage", 11, &b);
    assert_int_equal(b.status, 400);
    up_wire_batch_free(&b);
    decode_body("/nowhere", NULL, NULL, "{}", 2, &b);
    assert_int_equal(b.status, 404);
    up_wire_batch_free(&b);
    decode_body("/batch", "compression=lz64", NULL, "x", 1, &b);
    assert_int_equal(b.status, 400);
    up_wire_batch_free(&b);

    /* a gzip bomb: 6 MB of zeros in a few KB is refused past 5 MB */
    size_t raw = 6u << 20;
    char *zeros = calloc(1, raw);
    uLongf clen = compressBound(raw) + 32;
    uint8_t *gz = malloc(clen);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)zeros;
    z.avail_in = (uInt)raw;
    z.next_out = gz;
    z.avail_out = (uInt)clen;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t glen = z.total_out;
    deflateEnd(&z);
    assert_true(glen < 64 * 1024);
    decode_body("/v1/batch", NULL, "gzip", gz, glen, &b);
    assert_int_equal(b.status, 413);
    up_wire_batch_free(&b);
    free(zeros);
    free(gz);
}

/* One bad message does not cost the others: each is judged alone. */
static void test_per_message_rejects(void **state)
{
    (void)state;
    size_t big = 40 * 1024;
    char *pad = malloc(big + 1);
    memset(pad, 'x', big);
    pad[big] = '\0';
    up_buf_t body = {0};
    up_buf_printf(&body, "{\"writeKey\":\"k\",\"batch\":["
                         "{\"type\":\"track\",\"userId\":\"u1\",\"event\":\"a\",\"messageId\":\"1\"},"
                         "{\"type\":\"track\",\"userId\":\"u1\",\"event\":\"b\",\"properties\":{\"pad\":\"%s\"}},"
                         "{\"type\":\"track\",\"event\":\"c\"},"
                         "{\"type\":\"track\",\"userId\":7,\"event\":\"d\",\"timestamp\":\"not a time\"},"
                         "{\"type\":\"track\",\"userId\":8,\"event\":\"e\",\"timestamp\":1700000000}]}", pad);
    up_wire_batch_t b;
    decode_body("/v1/batch", NULL, NULL, body.data, body.len, &b);
    assert_int_equal(b.status, 200);
    assert_int_equal(b.n_msgs, 5);
    assert_null(b.msgs[0].reject);
    assert_int_equal(b.msgs[0].ts, 1700000000000);   /* no time at all: the receive time */
    assert_string_equal(b.msgs[1].reject_field, "event");   /* over 32 KB */
    assert_string_equal(b.msgs[2].reject_field, "user_id");
    assert_string_equal(b.msgs[3].reject_field, "timestamp");
    assert_null(b.msgs[4].reject);
    assert_string_equal(b.msgs[4].user_id, "8");            /* a numeric id becomes text */
    assert_int_equal(b.msgs[4].ts, 1700000000000);          /* epoch seconds */
    assert_true(has_key(&b, "k"));
    up_wire_batch_free(&b);
    up_buf_free(&body);
    free(pad);
}

/* Mixpanel's raw base64 in a form body keeps its '+' (capture x3), and
 * NDJSON bodies are read line by line. */
static void test_base64_plus_and_ndjson(void **state)
{
    (void)state;
    /* the body of capture x3 as sent: raw base64 with '+' in it */
    const char *form = "data=W3siZXZlbnQiOiJwbHVzPz4+PiIsInByb3BlcnRpZXMiOnsiZGlzdGluY3RfaWQiOiJ1Pj4+PyIsIm5vdGUiOiJ"
                       "+fn4/Pz8+Pj4iLCJ0b2tlbiI6Im1wX3Rva2VuXzEyMyJ9fV0=";
    up_wire_batch_t b;
    decode_body("/track", "ip=0&verbose=0", NULL, form, strlen(form), &b);
    assert_int_equal(b.status, 200);
    assert_string_equal(b.msgs[0].event, "plus?>>>");
    assert_string_equal(b.msgs[0].user_id, "u>>>?");
    assert_true(has_key(&b, "mp_token_123"));
    up_wire_batch_free(&b);
    /* the same after a form decoder turned '+' into ' ' (query data=) */
    char query[300];
    snprintf(query, sizeof query, "ip=0&%s", form);
    for (char *p = query; *p; p++)
        if (*p == '+')
            *p = ' ';
    up_wire_req_t get = {"GET", "/track", query, NULL, NULL, (const uint8_t *)"", 0, 1700000000000, NULL};
    up_wire_decode(&get, &b);
    assert_int_equal(b.status, 200);
    assert_string_equal(b.msgs[0].user_id, "u>>>?");
    up_wire_batch_free(&b);

    const char *nd = "{\"event\":\"a\",\"properties\":{\"distinct_id\":\"u\",\"time\":1700000000,\"$insert_id\":\"i1\"}}\n"
                     "{\"event\":\"b\",\"properties\":{\"distinct_id\":\"u\",\"time\":1700000000123}}\n";
    decode_body("/import", "api_key=legacy", NULL, nd, strlen(nd), &b);
    assert_int_equal(b.status, 200);
    assert_int_equal(b.n_msgs, 2);
    assert_string_equal(b.msgs[0].message_id, "i1");
    assert_int_equal(b.msgs[0].ts, 1700000000000);   /* seconds */
    assert_int_equal(b.msgs[1].ts, 1700000000123);   /* milliseconds */
    assert_true(has_key(&b, "legacy"));
    up_wire_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment),
        cmocka_unit_test(test_rudder),
        cmocka_unit_test(test_posthog),
        cmocka_unit_test(test_mixpanel),
        cmocka_unit_test(test_every_capture),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_per_message_rejects),
        cmocka_unit_test(test_base64_plus_and_ndjson),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
