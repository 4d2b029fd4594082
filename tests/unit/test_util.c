/* test_util: number formatting (Python repr, checked against python3 by
 * hand), CRC-32C test vector, buffers, the error table and the 64-bit map. */
#include "testutil.h"

#include "dict.h"
#include "util.h"
#include "fmt.h"

#include <math.h>

static void fmt(double v, const char *want)
{
    char out[64];
    up_fmt_double(out, sizeof out, v);
    assert_string_equal(out, want);
}

static void test_fmt_double(void **state)
{
    (void)state;
    /* python3 -c "print(repr(x))" for each */
    fmt(100.0, "100.0");
    fmt(-50.0, "-50.0");
    fmt(1.0, "1.0");
    fmt(0.0, "0.0");
    fmt(0.5, "0.5");
    fmt(0.1, "0.1");
    fmt(1.0 / 3.0, "0.3333333333333333");
    fmt(2.0 / 3.0, "0.6666666666666666");
    fmt(100.0 / 3.0, "33.333333333333336");
    fmt((5.0 / 28.0) / 4.0, "0.044642857142857144");
    fmt(0.0001, "0.0001");
    fmt(0.00001, "1e-05");
    fmt(1.5e-7, "1.5e-07");
    fmt(1e16, "1e+16");
    fmt(123456789012345.0, "123456789012345.0");
    fmt(68.00595238095238, "68.00595238095238");
    fmt(-0.4375, "-0.4375");
    /* integers (a fast path below 2^53; 2^53 itself takes the general one) */
    fmt(9007199254740991.0, "9007199254740991.0");
    fmt(-9007199254740991.0, "-9007199254740991.0");
    fmt(9007199254740992.0, "9007199254740992.0");
    fmt(4503599627370497.0, "4503599627370497.0");
    fmt(1234567890123456.0, "1234567890123456.0");
    fmt(1e15, "1000000000000000.0");
    fmt(120000.0, "120000.0");
    fmt(-7.0, "-7.0");
    /* the exact integer path's range, [1e-3, 1e15), at and near its ends
     * (python3 repr again) */
    fmt(0.001, "0.001");
    fmt(0.0011, "0.0011");
    fmt(1.0 / 7.0, "0.14285714285714285");
    fmt(2.0 / 3.0 * 1000, "666.6666666666666");
    fmt(999999999999999.9, "999999999999999.9");
    fmt(0.9999999999999999, "0.9999999999999999");
    fmt(9.999999999999998, "9.999999999999998");
    fmt(0.1 + 0.2, "0.30000000000000004");
    fmt(123.456, "123.456");
    fmt(1.7976931348623157e308 / 1e294, "179769313486231.56");
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The exact integer arithmetic of up_fmt_double gives the digits printf
 * and strtod give, over 400,000 doubles of the kinds reports write: ratios
 * of counts, decimals of a few digits, binary fractions (decimal ties),
 * powers of ten and their neighbours, and random bit patterns of every
 * exponent (5.2M of the same kinds agreed when this was written). */
static void test_fmt_double_exact_path(void **state)
{
    (void)state;
    uint64_t st = 88172645463325252ULL;
    char a[64], b[64];
    long mismatches = 0;
    for (int i = 0; i < 400000; i++) {
        double v[2];
        uint64_t r = xorshift(&st);
        switch (i % 6) {
        case 0: {
            uint64_t bits = (r & 0x800FFFFFFFFFFFFFULL) | (uint64_t)(1013 + xorshift(&st) % 62) << 52;
            memcpy(&v[0], &bits, 8);
            memcpy(&v[1], &r, 8);
            break;
        }
        case 1:
            v[0] = (double)(r % 10000) / (double)(xorshift(&st) % 10000 + 1);
            v[1] = -v[0] * 100;
            break;
        case 2:
            v[0] = (double)(r % 1000000) / pow(10, (double)(xorshift(&st) % 8));
            v[1] = ((double)(r % 100000) + 0.5) / 1024;
            break;
        case 3: {
            double p = pow(10, (double)((int)(r % 19) - 3));
            v[0] = nextafter(p, 0);
            v[1] = nextafter(p, INFINITY);
            break;
        }
        case 4:
            v[0] = ldexp((double)(r >> 11), -(int)(xorshift(&st) % 70));
            v[1] = nextafter(v[0], 0);
            break;
        default:
            v[0] = 100.0 * (double)(r % 97) / (double)(xorshift(&st) % 89 + 1);
            v[1] = (double)(r % 1000) / 100.0;
        }
        for (int k = 0; k < 2; k++) {
            if (isnan(v[k]))
                continue;
            up_fmt_double(a, sizeof a, v[k]);
            up_fmt_double_printf(b, sizeof b, v[k]);
            if (strcmp(a, b) != 0 && mismatches++ < 5)
                print_message("%.17g: %s, printf gives %s\n", v[k], a, b);
        }
    }
    assert_int_equal(mismatches, 0);
}

static void test_crc32c(void **state)
{
    (void)state;
    /* the standard check value of CRC-32C over "123456789" */
    assert_int_equal(up_crc32c(0, "123456789", 9), 0xE3069283u);
    /* incremental equals one-shot */
    uint32_t c = up_crc32c(0, "1234", 4);
    assert_int_equal(up_crc32c(c, "56789", 5), 0xE3069283u);
    /* long spans (three interleaved streams joined by a shift matrix on
     * x86): equal to a bit-at-a-time CRC-32C written here, at every length
     * around the stream boundaries and from an unaligned start */
    enum { N = 3 * 8192 * 3 + 100 };
    unsigned char *buf = malloc(N);
    assert_non_null(buf);
    uint32_t x = 12345;
    for (int i = 0; i < N; i++)
        buf[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
    const size_t lens[] = {0, 1, 7, 8, 24575, 24576, 24577, 49151, 49152, 49160, 73728, N - 3};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        uint32_t ref = 0xFFFFFFFFu;
        for (size_t i = 0; i < lens[k]; i++) {
            ref ^= buf[3 + i];
            for (int b = 0; b < 8; b++)
                ref = (ref >> 1) ^ (0x82F63B78u & (0u - (ref & 1)));
        }
        assert_int_equal(up_crc32c(0, buf + 3, lens[k]), ~ref);
        /* in two calls split anywhere */
        uint32_t half = up_crc32c(0, buf + 3, lens[k] / 3);
        assert_int_equal(up_crc32c(half, buf + 3 + lens[k] / 3, lens[k] - lens[k] / 3), ~ref);
    }
    free(buf);
}

static void test_buf_and_errors(void **state)
{
    (void)state;
    up_buf_t b = {0};
    assert_int_equal(up_buf_printf(&b, "%s-%d", "x", 42), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(up_buf_puts(&b, "abcdefghij"), 0);
    assert_int_equal(b.len, 4 + 1000);
    assert_memory_equal(b.data, "x-42abc", 7);
    up_buf_free(&b);
    assert_string_equal(up_strerror(-UP_ENOMEM), "out of memory");
    assert_string_equal(up_strerror(UP_ECORRUPT), "store is corrupt");
    char s[] = "  ChAmPion \t";
    assert_string_equal(up_trim_lower(s), "champion");
}

/* The 64-bit map across its incremental growth: 200,000 keys (several
 * doublings, each drained over later calls) are all found with their own
 * value after every insert batch, whether they sit in the table being
 * drained or in the new one; keys never inserted are absent; re-inserting
 * finds the old value and adds nothing; 0 and UINT64_MAX - 1 are ordinary keys. */
static void test_map64_growth(void **state)
{
    (void)state;
    up_map64_t m;
    up_map64_init(&m);
    const uint32_t n = 200000;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key = i == 0 ? 0 : i == 1 ? UINT64_MAX - 1 : (uint64_t)i * 0x9e3779b97f4a7c15ULL;
        int added;
        uint32_t *slot = up_map64_slot(&m, key, &added);
        assert_non_null(slot);
        assert_int_equal(added, 1);
        assert_int_equal(*slot, UINT32_MAX);
        *slot = i;
        if (i % 9973 == 0 || i == n - 1) {
            assert_int_equal(m.n, i + 1);
            for (uint32_t j = 0; j <= i; j += 7) {
                uint64_t kj = j == 0 ? 0 : j == 1 ? UINT64_MAX - 1 : (uint64_t)j * 0x9e3779b97f4a7c15ULL;
                assert_int_equal(up_map64_get(&m, kj), j);
            }
            assert_int_equal(up_map64_get(&m, 12345), UINT32_MAX);
        }
    }
    /* every key again through slot: found, same value, nothing added */
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key = i == 0 ? 0 : i == 1 ? UINT64_MAX - 1 : (uint64_t)i * 0x9e3779b97f4a7c15ULL;
        int added;
        uint32_t *slot = up_map64_slot(&m, key, &added);
        assert_non_null(slot);
        assert_int_equal(added, 0);
        assert_int_equal(*slot, i);
    }
    assert_int_equal(m.n, n);
    /* 200,000 keys at a load of at most 1/2: 524,288 slots, the drain over */
    assert_int_equal(m.mask + 1, 524288);
    assert_null(m.old_keys);
    up_map64_free(&m);
}

/* JSON strings are valid UTF-8 whatever the input: a stray byte, an
 * encoded surrogate, an overlong form and a truncated sequence each become
 * U+FFFD; controls, DEL, U+2028 and U+2029 are \u escapes. */
static void test_json_str_utf8(void **state)
{
    (void)state;
    up_buf_t b = {0};
    up_fmt_json_str(&b, "a\xff" "b\xed\xa0\x80" "c\xc0\xaf" "d\x01\x7f\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9\"\\\xe2\x82");
    assert_string_equal(b.data, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                "c\xef\xbf\xbd\xef\xbf\xbd" "d\\u0001\\u007f\\u2028\\u2029\xc3\xa9\\\"\\\\"
                                "\xef\xbf\xbd\xef\xbf\xbd\"");
    assert_int_equal(up_utf8_check("ok\xc3\xa9", 4), 4);
    assert_int_equal(up_utf8_check("ok\0x", 4), 2);
    assert_int_equal(up_utf8_check("\xf4\x90\x80\x80", 4), 0);   /* past U+10FFFF */
    up_buf_reset(&b);
    up_fmt_slack_str(&b, "<!channel> & <a|b>");
    assert_string_equal(b.data, "\"&lt;!channel&gt; &amp; &lt;a|b&gt;\"");
    up_buf_free(&b);
}

/* A CSV cell is a formula when it starts with = + - @ tab or CR and is not
 * a plain number. */
static void test_csv_formula(void **state)
{
    (void)state;
    const char *formulas[] = {"=1+2", "+x", "-ann", "@sum", "\tx", "\rx", "-", "-3x", "-1e", "+.", "=HYPERLINK(\"x\")"};
    const char *plain[] = {"-3", "-0.25", "+4", "-1e-05", "-.5", "3", "ann", "", "a=b"};
    for (size_t i = 0; i < sizeof formulas / sizeof *formulas; i++)
        assert_true(up_fmt_csv_formula(formulas[i]));
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        assert_false(up_fmt_csv_formula(plain[i]));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    up_fmt_csv_field(f, "=HYPERLINK(\"x\")");
    fputc(',', f);
    up_fmt_csv_field(f, "-2500.5");
    fputc(',', f);
    up_fmt_csv_field(f, "-ann");
    fclose(f);
    assert_string_equal(text, "\"'=HYPERLINK(\"\"x\"\")\",-2500.5,\"'-ann\"");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_double),
        cmocka_unit_test(test_fmt_double_exact_path),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_buf_and_errors),
        cmocka_unit_test(test_map64_growth),
        cmocka_unit_test(test_json_str_utf8),
        cmocka_unit_test(test_csv_formula),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
