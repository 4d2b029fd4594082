/* test_reader: CSV (quoting, CRLF, BOM, bad rows, mappings, buffer boundaries),
 * gzip detection, JSON lines with Segment messages, and the mapping parser.
 * Fixtures live in tests/fixtures/reader/ (expected values are in the tests
 * below); files that need exact bytes (CRLF, BOM, gzip, large inputs) are
 * written at test time into a temporary directory removed at the end. */
#include "testutil.h"

#include "reader.h"
#include "util.h"

#include <unistd.h>
#include <zlib.h>

#define FIX "tests/fixtures/reader/"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    return fx_mkdtemp(tmpdir, sizeof tmpdir, "reader");
}

static int teardown(void **state)
{
    (void)state;
    return fx_rmdir(tmpdir);
}

/* Writes n bytes to tmpdir/name (gzip-compressed if gz) and returns the path. */
static const char *write_tmp(const char *name, const void *data, size_t n, bool gz)
{
    static char path[4][256];
    static int turn;
    char *p = path[turn++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, data, (unsigned)n), (int)n);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
    }
    return p;
}

static up_reader_t *open_ok(const char *path, const char *const *fields, size_t n,
                            const up_mapping_t *map)
{
    up_reader_t *r = NULL;
    char err[256] = "";
    int rc = up_reader_open(&r, path, fields, n, map, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %d %s", path, rc, err);
    return r;
}

static void next_ok(up_reader_t *r, up_record_t *rec)
{
    char err[256] = "";
    int rc = up_reader_next(r, rec, err, sizeof err);
    if (rc != 1)
        fail_msg("next: %d %s", rc, err);
}

static void next_end(up_reader_t *r)
{
    up_record_t rec;
    char err[256] = "";
    int rc = up_reader_next(r, &rec, err, sizeof err);
    if (rc != 0)
        fail_msg("expected end of input, got %d (line %ld) %s", rc, rec.line, err);
}

static void next_err(up_reader_t *r, long line, const char *want)
{
    up_record_t rec;
    char err[256] = "";
    int rc = up_reader_next(r, &rec, err, sizeof err);
    if (rc != -UP_EPARSE)
        fail_msg("expected a parse error '%s', got %d", want, rc);
    assert_int_equal(rec.line, line);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("error '%s' does not start with '%s'", err, want);
}

/* val[i] equals want (NULL meaning absent), with a matching len and a NUL after. */
static void field_is(const up_record_t *rec, size_t i, const char *want)
{
    if (!want) {
        if (rec->val[i])
            fail_msg("field %zu: expected NULL, got '%.*s'", i, (int)rec->len[i], rec->val[i]);
        return;
    }
    if (!rec->val[i])
        fail_msg("field %zu: expected '%s', got NULL", i, want);
    assert_int_equal(rec->len[i], strlen(want));
    assert_memory_equal(rec->val[i], want, rec->len[i]);
    assert_int_equal(rec->val[i][rec->len[i]], '\0');
}

static const char *const EVENT_FIELDS[] = {"ts", "user_id", "account_id", "event", "plan"};

/* basic.csv: blanks around header names, an empty field, an empty line (4),
 * a column nobody asked for (extra), a field nobody provides (plan). */
static void test_csv_basic(void **state)
{
    (void)state;
    up_reader_t *r = open_ok(FIX "basic.csv", EVENT_FIELDS, 5, NULL);
    size_t ncols;
    const char *const *cols = up_reader_columns(r, &ncols);
    assert_int_equal(ncols, 5);
    assert_string_equal(cols[0], "ts");
    assert_string_equal(cols[2], "account_id");
    assert_string_equal(cols[4], "extra");

    up_record_t rec;
    next_ok(r, &rec);
    assert_int_equal(rec.line, 2);
    assert_int_equal(rec.kind, UP_MSG_ROW);
    assert_null(rec.traits_json);
    field_is(&rec, 0, "2026-05-01T09:13:22Z");
    field_is(&rec, 1, "u000123");
    field_is(&rec, 2, "acct0042");
    field_is(&rec, 3, "report.create");
    field_is(&rec, 4, NULL);
    next_ok(r, &rec);
    assert_int_equal(rec.line, 3);
    field_is(&rec, 2, NULL); /* empty field */
    field_is(&rec, 3, "dashboard.view");
    next_ok(r, &rec);
    assert_int_equal(rec.line, 5); /* line 4 is empty */
    field_is(&rec, 1, "u000125");
    next_end(r);
    next_end(r);
    assert_int_equal(up_reader_pos(r), up_reader_size(r));
    assert_int_equal(up_reader_size(r), 186);
    up_reader_close(r);
}

/* quoted.csv, line by line:
 *   2: 1,"hello, world","say ""hi"""  -> hello, world | say "hi"
 *   3-4: 2,"two<LF>lines",after        -> a record spanning lines reports line 3
 *   5: 3,"",plain"quote                -> "" is empty (NULL); a quote inside an
 *                                          unquoted field is an ordinary byte
 *   6: 4,"a""b""",""""                 -> a"b" | " */
static void test_csv_quoted(void **state)
{
    (void)state;
    static const char *const f[] = {"id", "text", "note"};
    up_reader_t *r = open_ok(FIX "quoted.csv", f, 3, NULL);
    up_record_t rec;
    next_ok(r, &rec);
    assert_int_equal(rec.line, 2);
    field_is(&rec, 0, "1");
    field_is(&rec, 1, "hello, world");
    field_is(&rec, 2, "say \"hi\"");
    next_ok(r, &rec);
    assert_int_equal(rec.line, 3);
    field_is(&rec, 1, "two\nlines");
    field_is(&rec, 2, "after");
    next_ok(r, &rec);
    assert_int_equal(rec.line, 5);
    field_is(&rec, 1, NULL);
    field_is(&rec, 2, "plain\"quote");
    next_ok(r, &rec);
    assert_int_equal(rec.line, 6);
    field_is(&rec, 1, "a\"b\"");
    field_is(&rec, 2, "\"");
    next_end(r);
    up_reader_close(r);
}

/* A UTF-8 BOM, CRLF line ends, a quoted field holding a CRLF, a CRLF-only
 * empty line, and a last line without a line end. */
static void test_csv_crlf_bom(void **state)
{
    (void)state;
    static const char data[] = "\xEF\xBB\xBF"
                               "id,text\r\n"            /* 1 */
                               "1,\"a\r\nb\"\r\n"       /* 2-3 */
                               "\r\n"                   /* 4 */
                               "2,c\r\n"                /* 5 */
                               "3,\"q\"\r\n"            /* 6 */
                               "4,";                    /* 7, no line end */
    static const char *const f[] = {"id", "text"};
    up_reader_t *r = open_ok(write_tmp("crlf.csv", data, sizeof data - 1, false), f, 2, NULL);
    size_t ncols;
    const char *const *cols = up_reader_columns(r, &ncols);
    assert_int_equal(ncols, 2);
    assert_string_equal(cols[0], "id"); /* the BOM is not part of the name */
    assert_string_equal(cols[1], "text"); /* nor the CR */
    up_record_t rec;
    next_ok(r, &rec);
    assert_int_equal(rec.line, 2);
    field_is(&rec, 1, "a\r\nb");
    next_ok(r, &rec);
    assert_int_equal(rec.line, 5);
    field_is(&rec, 0, "2");
    field_is(&rec, 1, "c");
    next_ok(r, &rec);
    assert_int_equal(rec.line, 6);
    field_is(&rec, 1, "q");
    next_ok(r, &rec);
    assert_int_equal(rec.line, 7);
    field_is(&rec, 0, "4");
    field_is(&rec, 1, NULL);
    next_end(r);
    up_reader_close(r);
}

/* The lenient corners of quoting, each with its line:
 *   1: "id", text       a quoted header name; blanks trimmed from the other
 *   2: 1,"abc"def       text after the closing quote is kept: abcdef
 *   3: 2,"a""b"<CRLF>   an escaped quote, then CRLF: a"b
 *   4: x"y,"z"          a quote inside an unquoted field is data: x"y | z
 *   5: 4,"q"<CR>        a lone CR at the very end is a line end: q */
static void test_csv_quote_corners(void **state)
{
    (void)state;
    static const char data[] = "\"id\", text \n1,\"abc\"def\n2,\"a\"\"b\"\r\nx\"y,\"z\"\n4,\"q\"\r";
    static const char *const f[] = {"id", "text"};
    up_reader_t *r = open_ok(write_tmp("corners.csv", data, sizeof data - 1, false), f, 2, NULL);
    size_t ncols;
    const char *const *cols = up_reader_columns(r, &ncols);
    assert_int_equal(ncols, 2);
    assert_string_equal(cols[0], "id");
    assert_string_equal(cols[1], "text");
    static const char *const want[][2] = {{"1", "abcdef"}, {"2", "a\"b"}, {"x\"y", "z"}, {"4", "q"}};
    up_record_t rec;
    for (int i = 0; i < 4; i++) {
        next_ok(r, &rec);
        assert_int_equal(rec.line, 2 + i);
        field_is(&rec, 0, want[i][0]);
        field_is(&rec, 1, want[i][1]);
    }
    next_end(r);
    up_reader_close(r);
}

/* badcount.csv: rows 3 and 4 have 2 and 4 fields; reading goes on to row 5. */
static void test_csv_bad_count(void **state)
{
    (void)state;
    static const char *const f[] = {"a", "c"};
    up_reader_t *r = open_ok(FIX "badcount.csv", f, 2, NULL);
    up_record_t rec;
    next_ok(r, &rec);
    field_is(&rec, 0, "1");
    field_is(&rec, 1, "3");
    next_err(r, 3, "line 3: expected 3 fields, got 2");
    next_err(r, 4, "line 4: expected 3 fields, got 4");
    next_ok(r, &rec);
    assert_int_equal(rec.line, 5);
    field_is(&rec, 0, "7");
    field_is(&rec, 1, "9");
    next_end(r);
    up_reader_close(r);
}

/* An unterminated quote is reported at its record's first line at the end
 * of the input; reading resumes with the line after it. */
static void test_csv_unterminated(void **state)
{
    (void)state;
    static const char data[] = "a,b\n1,2\n3,\"oops\n5,6\n";
    static const char *const f[] = {"a", "b"};
    up_reader_t *r = open_ok(write_tmp("unterm.csv", data, sizeof data - 1, false), f, 2, NULL);
    up_record_t rec;
    next_ok(r, &rec);
    next_err(r, 3, "line 3: unterminated quoted field");
    next_ok(r, &rec);
    assert_int_equal(rec.line, 4);
    field_is(&rec, 0, "5");
    field_is(&rec, 1, "6");
    next_end(r);
    up_reader_close(r);
}

/* A line longer than the 16 MiB record limit is reported and skipped. */
static void test_csv_too_long(void **state)
{
    (void)state;
    size_t big = (17u << 20);
    char *data = malloc(big + 64);
    assert_non_null(data);
    size_t n = 0;
    n += (size_t)sprintf(data + n, "a,b\n1,");
    memset(data + n, 'x', big);
    n += big;
    n += (size_t)sprintf(data + n, "\n2,3\n");
    static const char *const f[] = {"a", "b"};
    up_reader_t *r = open_ok(write_tmp("long.csv", data, n, false), f, 2, NULL);
    free(data);
    up_record_t rec;
    next_err(r, 2, "line 2: record longer than 16 MiB");
    next_ok(r, &rec);
    assert_int_equal(rec.line, 3);
    field_is(&rec, 1, "3");
    next_end(r);
    up_reader_close(r);
}

/* Many records, some quoted across two lines, so that records straddle
 * every refill boundary of the 4 MiB read buffer: each must come back intact
 * with its own line number. Row i (lines 2+2i and 3+2i):
 *   i,"q""<i><LF>x",u<i> */
static void test_csv_buffer_boundaries(void **state)
{
    (void)state;
    const int rows = 400000;
    up_buf_t b = {0};
    assert_int_equal(up_buf_puts(&b, "id,text,user\n"), 0);
    for (int i = 0; i < rows; i++)
        assert_int_equal(up_buf_printf(&b, "%d,\"q\"\"%d\nx\",u%d\n", i, i, i), 0);
    for (int gz = 0; gz < 2; gz++) {
        static const char *const f[] = {"user", "text", "id"};
        up_reader_t *r = open_ok(write_tmp(gz ? "many.csv.gz" : "many.csv", b.data, b.len, gz), f,
                                 3, NULL);
        up_record_t rec;
        char want[64];
        for (int i = 0; i < rows; i++) {
            next_ok(r, &rec);
            assert_int_equal(rec.line, 2 + 2L * i);
            snprintf(want, sizeof want, "u%d", i);
            field_is(&rec, 0, want);
            snprintf(want, sizeof want, "q\"%d\nx", i);
            field_is(&rec, 1, want);
        }
        next_end(r);
        assert_true(up_reader_pos(r) > 0);
        assert_int_equal(up_reader_pos(r), up_reader_size(r));
        if (gz)
            assert_true(up_reader_size(r) < b.len / 2); /* the compressed size */
        up_reader_close(r);
    }
    up_buf_free(&b);
}

/* gzip is found by its magic bytes: with .csv.gz, with a misleading name,
 * and with no extension at all (then the content is sniffed: CSV). */
static void test_gzip(void **state)
{
    (void)state;
    static const char data[] = "ts,user_id,account_id,event\n"
                               "2026-05-01T09:13:22Z,u000123,acct0042,report.create\n";
    const char *names[] = {"events.csv.gz", "events.csv", "events"};
    for (size_t k = 0; k < 3; k++) {
        up_reader_t *r = open_ok(write_tmp(names[k], data, sizeof data - 1, true), EVENT_FIELDS, 4,
                                 NULL);
        up_record_t rec;
        next_ok(r, &rec);
        assert_int_equal(rec.line, 2);
        field_is(&rec, 0, "2026-05-01T09:13:22Z");
        field_is(&rec, 3, "report.create");
        next_end(r);
        up_reader_close(r);
    }

    /* A truncated gzip file is an I/O error, not a silent short read. */
    up_buf_t b = {0};
    assert_int_equal(up_buf_puts(&b, "a,b\n"), 0);
    for (int i = 0; i < 20000; i++)
        assert_int_equal(up_buf_printf(&b, "%d,%d\n", i, i * 7919), 0);
    const char *path = write_tmp("trunc.csv.gz", b.data, b.len, true);
    up_buf_free(&b);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    assert_int_equal(truncate(path, size / 2), 0);
    static const char *const ab[] = {"a", "b"};
    up_reader_t *r = NULL;
    char err[256];
    int rc = up_reader_open(&r, path, ab, 2, NULL, err, sizeof err);
    assert_int_equal(rc, 0);
    up_record_t rec;
    long records = 0;
    while ((rc = up_reader_next(r, &rec, err, sizeof err)) == 1)
        records++;
    assert_int_equal(rc, -UP_EIO);
    assert_true(records < 20000);
    assert_non_null(strstr(err, "trunc.csv.gz"));
    up_reader_close(r);
}

/* usage.csv read through a mapping: user_id <- subscription_id,
 * ts <- usage_date; feature is unmapped and read from its own column. */
static void test_csv_mapping(void **state)
{
    (void)state;
    static const char *const f[] = {"ts", "user_id", "event", "feature"};
    up_mapping_t m = {0};
    char err[256];
    assert_int_equal(up_mapping_parse(&m, "user_id=subscription_id, ts = usage_date,", err,
                                      sizeof err), 0);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.canonical[1], "ts");
    assert_string_equal(m.source[1], "usage_date");
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            up_mapping_free(&m);
            assert_int_equal(up_mapping_load(&m, FIX "usage.map", err, sizeof err), 0);
            assert_int_equal(m.n, 2);
        }
        up_reader_t *r = open_ok(FIX "usage.csv", f, 4, &m);
        up_record_t rec;
        next_ok(r, &rec);
        field_is(&rec, 0, "2026-05-01");
        field_is(&rec, 1, "sub-1");
        field_is(&rec, 2, NULL);
        field_is(&rec, 3, "export");
        next_end(r);
        up_reader_close(r);
    }
    up_mapping_free(&m);
}

/* Calls add up: a later call remaps a name an earlier one mapped. */
static void test_mapping_layers(void **state)
{
    (void)state;
    up_mapping_t m = {0};
    char err[256];
    assert_int_equal(up_mapping_load(&m, FIX "usage.map", err, sizeof err), 0);
    assert_int_equal(up_mapping_parse(&m, "user_id=login,plan=tier", err, sizeof err), 0);
    assert_int_equal(m.n, 3);
    assert_string_equal(m.canonical[0], "user_id");
    assert_string_equal(m.source[0], "login");
    assert_string_equal(m.source[1], "usage_date");
    assert_string_equal(m.canonical[2], "plan");
    /* a failed call leaves the earlier entries in place */
    assert_int_equal(up_mapping_parse(&m, "seats=n,broken", err, sizeof err), -UP_EPARSE);
    assert_int_equal(m.n, 3);
    up_mapping_free(&m);
    assert_int_equal(m.n, 0);
}

static void test_mapping_errors(void **state)
{
    (void)state;
    up_mapping_t m = {0};
    char err[256];
    assert_int_equal(up_mapping_parse(&m, "user_id=a,nonsense", err, sizeof err), -UP_EPARSE);
    assert_string_equal(err, "mapping entry 2: expected canonical=source, got 'nonsense'");
    assert_int_equal(m.n, 0);
    assert_int_equal(up_mapping_parse(&m, "user_id=", err, sizeof err), -UP_EPARSE);
    assert_non_null(strstr(err, "empty source name"));
    assert_int_equal(up_mapping_parse(&m, "ts=a,ts=b", err, sizeof err), -UP_EPARSE);
    assert_non_null(strstr(err, "'ts' is mapped twice"));
    assert_int_equal(up_mapping_parse(&m, "", err, sizeof err), 0);
    assert_int_equal(m.n, 0);
    assert_int_equal(up_mapping_load(&m, FIX "bad.map", err, sizeof err), -UP_EPARSE);
    assert_string_equal(err, FIX "bad.map:3: expected canonical=source, got 'ts usage_date'");
    assert_int_equal(up_mapping_load(&m, FIX "missing.map", err, sizeof err), -UP_EIO);
    assert_non_null(strstr(err, "missing.map"));
}

static void test_open_errors(void **state)
{
    (void)state;
    up_reader_t *r = (up_reader_t *)1;
    char err[256];
    assert_int_equal(up_reader_open(&r, FIX "nope.csv", EVENT_FIELDS, 4, NULL, err, sizeof err),
                     -UP_EIO);
    assert_null(r);
    assert_non_null(strstr(err, "nope.csv"));
    const char *empty = write_tmp("empty.csv", "", 0, false);
    assert_int_equal(up_reader_open(&r, empty, EVENT_FIELDS, 4, NULL, err, sizeof err),
                     -UP_EPARSE);
    assert_non_null(strstr(err, "no header row"));
    /* An empty JSONL file is simply empty. */
    r = open_ok(write_tmp("empty.jsonl", "\n\n", 2, false), EVENT_FIELDS, 4, NULL);
    next_end(r);
    size_t n = 9;
    assert_null(up_reader_columns(r, &n));
    assert_int_equal(n, 0);
    up_reader_close(r);
}

/* The JSONL fields asked for in the tests below. */
enum { TS, USER, ACCOUNT, EVENT, MSGID, NAME, SEATS, PLAN, CSTART, ACTIVE, TAGS, NOTHING, NF };
static const char *const JSON_FIELDS[NF] = {
    "ts", "user_id", "account_id", "event", "message_id", "name",
    "seats", "plan", "contract_start", "active", "tags", "nothing",
};

/* segment.jsonl: lines 1-3 are the identify, group and track of the Segment
 * capture wire/segment-node-3.1.0-batched-1.http; 4 is blank; 5 is broken
 * JSON; 6 a page; 7 a plain object; 8 an array; 9 a track without "type";
 * 10 a group with integer seats and camelCase contractStart. */
static void test_jsonl_segment(void **state)
{
    (void)state;
    up_reader_t *r = open_ok(FIX "segment.jsonl", JSON_FIELDS, NF, NULL);
    up_record_t rec;

    next_ok(r, &rec);
    assert_int_equal(rec.line, 1);
    assert_int_equal(rec.kind, UP_MSG_IDENTIFY);
    field_is(&rec, TS, "2026-11-22T07:10:00.448Z");
    field_is(&rec, USER, "user-42");
    field_is(&rec, ACCOUNT, NULL);
    field_is(&rec, EVENT, NULL);
    field_is(&rec, MSGID, "node-next-1795331400448-97bbe753-49a1-4472-95fa-56823a7554cc");
    field_is(&rec, NAME, NULL);
    assert_string_equal(rec.traits_json, "{\"email\":\"ada@acme.test\"}");

    next_ok(r, &rec);
    assert_int_equal(rec.line, 2);
    assert_int_equal(rec.kind, UP_MSG_GROUP);
    field_is(&rec, ACCOUNT, "acme");
    field_is(&rec, NAME, "Acme Inc");
    field_is(&rec, USER, "user-42");
    assert_string_equal(rec.traits_json, "{\"name\":\"Acme Inc\"}");

    next_ok(r, &rec);
    assert_int_equal(rec.line, 3);
    assert_int_equal(rec.kind, UP_MSG_TRACK);
    field_is(&rec, EVENT, "Report Exported");
    field_is(&rec, ACCOUNT, "acme"); /* context.groupId */
    field_is(&rec, TS, "2026-11-22T07:10:00.448Z");
    assert_null(rec.traits_json);

    up_record_t bad;
    char err[256];
    assert_int_equal(up_reader_next(r, &bad, err, sizeof err), -UP_EPARSE);
    assert_int_equal(bad.line, 5);
    assert_memory_equal(err, "line 5: invalid JSON: ", 22);
    assert_true(strlen(err) > 22); /* jansson's own words follow */

    next_ok(r, &rec);
    assert_int_equal(rec.line, 6);
    assert_int_equal(rec.kind, UP_MSG_PAGE);
    field_is(&rec, EVENT, "page_view");
    field_is(&rec, USER, "anon-7");                 /* anonymousId */
    field_is(&rec, TS, "2026-11-22T07:11:00Z");     /* originalTimestamp */
    field_is(&rec, PLAN, "pro");                    /* properties.plan */
    field_is(&rec, NAME, "Pricing");                /* top-level name */
    field_is(&rec, ACCOUNT, NULL);

    next_ok(r, &rec);
    assert_int_equal(rec.line, 7);
    assert_int_equal(rec.kind, UP_MSG_ROW);
    field_is(&rec, TS, "1795331399835");            /* integers exactly */
    field_is(&rec, USER, "u1");
    field_is(&rec, ACCOUNT, "acme");
    field_is(&rec, EVENT, "login");
    field_is(&rec, SEATS, "12.5");
    field_is(&rec, ACTIVE, "true");
    field_is(&rec, TAGS, "[\"a\",\"b\"]");
    field_is(&rec, NOTHING, NULL);
    assert_null(rec.traits_json);

    next_err(r, 8, "line 8: invalid JSON: expected an object");

    next_ok(r, &rec);
    assert_int_equal(rec.line, 9);
    assert_int_equal(rec.kind, UP_MSG_TRACK); /* no "type", but userId and event */
    field_is(&rec, EVENT, "Signed Up");
    field_is(&rec, ACCOUNT, "beta");

    next_ok(r, &rec);
    assert_int_equal(rec.line, 10);
    assert_int_equal(rec.kind, UP_MSG_GROUP);
    field_is(&rec, ACCOUNT, "g2");
    field_is(&rec, SEATS, "25");
    field_is(&rec, PLAN, "team");
    field_is(&rec, CSTART, "2026-01-01");
    assert_string_equal(rec.traits_json,
                        "{\"name\":\"G2\",\"seats\":25,\"plan\":\"team\",\"contractStart\":\"2026-01-01\"}");
    next_end(r);
    up_reader_close(r);
}

/* A mapping overrides the Segment defaults, and its sources may be dot paths. */
static void test_jsonl_mapping(void **state)
{
    (void)state;
    up_mapping_t m = {0};
    char err[256];
    assert_int_equal(up_mapping_parse(&m, "user_id=messageId,account_id=context.library.name,"
                                          "name=traits.email", err, sizeof err), 0);
    static const char *const f[] = {"user_id", "account_id", "name", "ts"};
    up_reader_t *r = open_ok(FIX "segment.jsonl", f, 4, &m);
    up_mapping_free(&m); /* the reader keeps its own copy */
    up_record_t rec;
    next_ok(r, &rec);
    field_is(&rec, 0, "node-next-1795331400448-97bbe753-49a1-4472-95fa-56823a7554cc");
    field_is(&rec, 1, "@segment/analytics-node");
    field_is(&rec, 2, "ada@acme.test");
    field_is(&rec, 3, "2026-11-22T07:10:00.448Z");
    up_reader_close(r);
}

/* JSONL is recognised by its content under any name, gzipped or not, with
 * CRLF line ends; a gzipped .jsonl.gz works too. */
static void test_jsonl_sniff_gz(void **state)
{
    (void)state;
    static const char data[] = "\r\n{\"type\":\"screen\",\"userId\":\"u\",\"sentAt\":\"2026-11-22\"}\r\n"
                               "{\"user_id\":\"p\",\"event\":\"x\",\"ts\":1.5}\r\n";
    const char *names[] = {"stream.txt", "stream.jsonl.gz"};
    for (int k = 0; k < 2; k++) {
        up_reader_t *r = open_ok(write_tmp(names[k], data, sizeof data - 1, k == 1), JSON_FIELDS,
                                 NF, NULL);
        up_record_t rec;
        next_ok(r, &rec);
        assert_int_equal(rec.line, 2);
        assert_int_equal(rec.kind, UP_MSG_SCREEN);
        field_is(&rec, EVENT, "screen_view");
        field_is(&rec, TS, "2026-11-22"); /* sentAt, the last resort */
        next_ok(r, &rec);
        assert_int_equal(rec.line, 3);
        assert_int_equal(rec.kind, UP_MSG_ROW);
        field_is(&rec, USER, "p");
        field_is(&rec, TS, "1.5");
        next_end(r);
        up_reader_close(r);
    }
}

/* The mapping's conversions, by hand: money keeps the digits and reads the
 * separator that is not a thousands separator as the decimal point; dates
 * through their strptime format. */
static void money(const char *in, const char *want)
{
    char out[64];
    size_t n = up_reader_money(in, strlen(in), out, sizeof out);
    if (!want) {
        assert_int_equal(n, 0);
        return;
    }
    assert_int_equal(n, strlen(want));
    assert_string_equal(out, want);
}

static void test_money(void **state)
{
    (void)state;
    money("$24,000", "24000");                 /* a lone ',' with 3 digits after: thousands */
    money("24 000 €", "24000");                /* spaces and the sign go */
    money("24\xc2\xa0" "000,50 EUR", "24000.50");  /* NBSP; ',' with 2 digits after: decimal */
    money("1.234.567,89", "1234567.89");       /* both: the later one is decimal */
    money("1,234,567.89", "1234567.89");
    money("1,234,567", "1234567");             /* a repeated ',': thousands */
    money("12.5", "12.5");
    money("(1,200)", "-1200");                 /* accounting negative */
    money("-99", "-99");
    money("USD", NULL);                        /* no digit */
    money("", NULL);
}

static void date(const char *in, const char *fmt, const char *want)
{
    char out[64];
    size_t n = up_reader_date(in, strlen(in), fmt, out, sizeof out);
    if (!want) {
        assert_int_equal(n, 0);
        return;
    }
    assert_string_equal(out, want);
}

static void test_date(void **state)
{
    (void)state;
    date("01/03/2026", "%d/%m/%Y", "2026-03-01");   /* day first */
    date("01/03/2026", "%m/%d/%Y", "2026-01-03");   /* month first: the same text, another day */
    date("31/12/2025 17:05", "%d/%m/%Y %H:%M", "2025-12-31T17:05:00Z");
    date("13/13/2026", "%d/%m/%Y", NULL);           /* no 13th month */
    date("31/02/2026", "%d/%m/%Y", NULL);           /* strptime takes it; February has no 31st */
    date("29/02/2026", "%d/%m/%Y", NULL);           /* 2026 is no leap year */
    date("29/02/2024", "%d/%m/%Y", "2024-02-29");
    date("01/03/2026 extra", "%d/%m/%Y", NULL);     /* the whole value must match */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_csv_basic),
        cmocka_unit_test(test_csv_quoted),
        cmocka_unit_test(test_csv_crlf_bom),
        cmocka_unit_test(test_csv_quote_corners),
        cmocka_unit_test(test_csv_bad_count),
        cmocka_unit_test(test_csv_unterminated),
        cmocka_unit_test(test_csv_too_long),
        cmocka_unit_test(test_csv_buffer_boundaries),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_csv_mapping),
        cmocka_unit_test(test_mapping_layers),
        cmocka_unit_test(test_mapping_errors),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_jsonl_segment),
        cmocka_unit_test(test_jsonl_mapping),
        cmocka_unit_test(test_jsonl_sniff_gz),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
