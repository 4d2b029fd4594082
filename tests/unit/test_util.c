/* test_util: number formatting (Python repr, checked against python3 by
 * hand), CRC-32C test vector, buffers, the error table and the 64-bit map. */
#include "testutil.h"

#include "dict.h"
#include "util.h"
#include "fmt.h"

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
}

static void test_crc32c(void **state)
{
    (void)state;
    /* the standard check value of CRC-32C over "123456789" */
    assert_int_equal(up_crc32c(0, "123456789", 9), 0xE3069283u);
    /* incremental equals one-shot */
    uint32_t c = up_crc32c(0, "1234", 4);
    assert_int_equal(up_crc32c(c, "56789", 5), 0xE3069283u);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_double),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_buf_and_errors),
        cmocka_unit_test(test_map64_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
