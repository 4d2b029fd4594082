/* test_timeparse: every accepted timestamp form against an epoch value worked
 * out by hand in the comment beside it, the rejected forms, leap days, zone
 * offsets that cross midnight, and the civil-day round trip. */
#include "testutil.h"

#include "timeparse.h"
#include "util.h"

/* Day numbers used below, worked out by hand:
 *   1970-01-01 .. 2026-01-01: 56 years * 365 = 20440, plus the leap days of
 *   1972, 1976, ..., 2024 (14 of them) = 20454.
 *   2026-11-22: Jan..Oct of a common year = 31+28+31+30+31+30+31+31+30+31 = 304,
 *   so 20454 + 304 + 21 = 20779.  20779 * 86400000 = 1795305600000.
 *   07:09:59 = 7*3600 + 9*60 + 59 = 25799 s = 25799000 ms.
 *   2024-02-29: 2024-01-01 = 54 * 365 = 19710 + 13 leap days (1972..2020) = 19723
 *   (also 20454 - 366 - 365); + 31 (Jan) + 28 (Feb 1..28) = 19782. */
#define DAY_2026_11_22 20779
#define MS_2026_11_22 1795305600000LL
#define HMS_070959 25799000LL

static int64_t parse_ok(const char *s)
{
    int64_t ms = 0;
    int rc = up_time_parse(s, strlen(s), &ms);
    if (rc != 0)
        fail_msg("rejected: '%s'", s);
    return ms;
}

static void parse_bad(const char *s)
{
    int64_t ms = 12345;
    if (up_time_parse(s, strlen(s), &ms) != -UP_EPARSE)
        fail_msg("accepted: '%s' as %lld", s, (long long)ms);
    assert_int_equal(ms, 12345); /* untouched on failure */
}

static void test_days_from_civil(void **state)
{
    (void)state;
    assert_int_equal(up_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(up_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(up_days_from_civil(2026, 11, 22), DAY_2026_11_22);
    assert_int_equal(up_days_from_civil(2024, 2, 29), 19782);
    assert_int_equal(up_days_from_civil(2024, 3, 1), 19783);
    /* 2000-03-01: 1970..2000 = 30*365 + 7 leap days (72..96) = 10957; + 31 + 29 = 11017 */
    assert_int_equal(up_days_from_civil(2000, 3, 1), 11017);
    /* 1900-03-01: 1900 is not a leap year; -25567 is 1900-01-01; + 31 + 28 */
    assert_int_equal(up_days_from_civil(1900, 1, 1), -25567);
    assert_int_equal(up_days_from_civil(1900, 3, 1), -25567 + 59);

    /* Round trip, and consecutive days are consecutive dates, over ~5,500 years. */
    int py;
    unsigned pm, pd;
    up_civil_from_days(-1000001, &py, &pm, &pd);
    for (int32_t z = -1000000; z <= 1000000; z++) {
        int y;
        unsigned m, d;
        up_civil_from_days(z, &y, &m, &d);
        if (up_days_from_civil(y, m, d) != z)
            fail_msg("day %d -> %d-%u-%u does not round-trip", z, y, m, d);
        bool next_day = (y == py && m == pm && d == pd + 1) ||
                        (y == py && m == pm + 1 && d == 1) || (y == py + 1 && m == 1 && d == 1);
        if (!next_day)
            fail_msg("day %d: %d-%u-%u does not follow %d-%u-%u", z, y, m, d, py, pm, pd);
        py = y;
        pm = m;
        pd = d;
    }
}

static void test_day_of(void **state)
{
    (void)state;
    assert_int_equal(up_day_of(0), 0);
    assert_int_equal(up_day_of(UP_MS_PER_DAY - 1), 0);
    assert_int_equal(up_day_of(UP_MS_PER_DAY), 1);
    assert_int_equal(up_day_of(-1), -1); /* floor, not truncation */
    assert_int_equal(up_day_of(-UP_MS_PER_DAY), -1);
    assert_int_equal(up_day_of(-UP_MS_PER_DAY - 1), -2);
    assert_int_equal(up_day_of(MS_2026_11_22 + HMS_070959 + 835), DAY_2026_11_22);
}

static void test_iso_forms(void **state)
{
    (void)state;
    /* The Segment capture's timestamp: 1795305600000 + 25799000 + 835 */
    assert_int_equal(parse_ok("2026-11-22T07:09:59.835Z"), 1795331399835LL);
    /* No fraction */
    assert_int_equal(parse_ok("2026-11-22T07:09:59Z"), 1795331399000LL);
    assert_int_equal(parse_ok("2026-11-22T07:09:59z"), 1795331399000LL);
    /* +02:00 means local = UTC + 2h: 1795331399000 - 7200000 */
    assert_int_equal(parse_ok("2026-11-22T07:09:59+02:00"), 1795324199000LL);
    assert_int_equal(parse_ok("2026-11-22T07:09:59+0200"), 1795324199000LL);
    assert_int_equal(parse_ok("2026-11-22T07:09:59+02"), 1795324199000LL);
    /* -05:30: + 19800000 */
    assert_int_equal(parse_ok("2026-11-22T07:09:59-05:30"), 1795351199000LL);
    assert_int_equal(parse_ok("2026-11-22T07:09:59.835+00:00"), 1795331399835LL);
    /* A space for T, with and without a zone (none = UTC) */
    assert_int_equal(parse_ok("2026-11-22 07:09:59"), 1795331399000LL);
    assert_int_equal(parse_ok("2026-11-22 07:09:59.835"), 1795331399835LL);
    assert_int_equal(parse_ok("2026-11-22 07:09:59Z"), 1795331399000LL);
    /* Date only: midnight UTC = 20779 * 86400000 */
    assert_int_equal(parse_ok("2026-11-22"), MS_2026_11_22);
    /* Fractions of any length, truncated to ms: .8 = 800, .83 = 830, .835999 = 835 */
    assert_int_equal(parse_ok("2026-11-22T07:09:59.8Z"), 1795331399800LL);
    assert_int_equal(parse_ok("2026-11-22T07:09:59.83Z"), 1795331399830LL);
    assert_int_equal(parse_ok("2026-11-22T07:09:59.835999999Z"), 1795331399835LL);
    /* Blanks around are ignored */
    assert_int_equal(parse_ok("  2026-11-22T07:09:59.835Z\r\n"), 1795331399835LL);
    /* Only the first n bytes count */
    int64_t ms;
    assert_int_equal(up_time_parse("2026-11-22garbage", 10, &ms), 0);
    assert_int_equal(ms, MS_2026_11_22);
}

static void test_offsets_crossing_midnight(void **state)
{
    (void)state;
    /* 23:30 at -05:00 is 04:30Z the next day: day 20780 = 1795392000000, + 4.5h (16200000) */
    assert_int_equal(parse_ok("2026-11-22T23:30:00-05:00"), 1795408200000LL);
    /* 01:00 at +03:00 is 22:00Z the day before: day 20778 = 1795219200000, + 22h (79200000) */
    assert_int_equal(parse_ok("2026-11-22T01:00:00+03:00"), 1795298400000LL);
    /* New year's eve at -01 crossing into the next year: 2027-01-01T00:30Z.
     * 2027-01-01 = 20454 + 365 = 20819; * 86400000 = 1798761600000; + 30 min */
    assert_int_equal(parse_ok("2026-12-31T23:30:00-01:00"), 1798763400000LL);
    /* Before the epoch: one millisecond before 1970 */
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    assert_int_equal(parse_ok("1970-01-01T01:00:00+01:00"), 0);
}

static void test_leap_days(void **state)
{
    (void)state;
    /* 2024-02-29 = day 19782: 19782 * 86400000 */
    assert_int_equal(parse_ok("2024-02-29"), 1709164800000LL);
    /* 2000-02-29 = 11017 - 1 = 11016 -> 951782400000 (divisible by 400: leap) */
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400000LL);
    parse_bad("2023-02-29");
    parse_bad("1900-02-29"); /* divisible by 100, not by 400 */
    parse_bad("2024-02-30");
    int32_t day;
    assert_int_equal(up_date_parse("2024-02-29", 10, &day), 0);
    assert_int_equal(day, 19782);
    /* right after a cached valid date with the same prefix shape */
    assert_int_equal(up_date_parse("2023-02-29", 10, &day), -UP_EPARSE);
}

static void test_epoch(void **state)
{
    (void)state;
    /* Seconds below 1e11, milliseconds from 1e11 */
    assert_int_equal(parse_ok("1795331399"), 1795331399000LL);
    assert_int_equal(parse_ok("1795331399835"), 1795331399835LL);
    assert_int_equal(parse_ok("1795331399.5"), 1795331399500LL);
    assert_int_equal(parse_ok("1795331399.835"), 1795331399835LL);
    assert_int_equal(parse_ok("1795331399.8359"), 1795331399835LL);
    assert_int_equal(parse_ok("99999999999"), 99999999999000LL); /* just below 1e11: s */
    assert_int_equal(parse_ok("100000000000"), 100000000000LL);  /* 1e11: ms */
    assert_int_equal(parse_ok("1795331399835.9"), 1795331399835LL);
    assert_int_equal(parse_ok("0"), 0);
    assert_int_equal(parse_ok("-1.5"), -1500);
    assert_int_equal(parse_ok("+60"), 60000);
    assert_int_equal(parse_ok(" 1795331399 "), 1795331399000LL);
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "   ", "abc", "12a", "1.2.3", "-", "+", ".", "1e9", "0x10",
        "1234567890123456789",              /* too many digits */
        "2026-13-01", "2026-00-10", "2026-04-31", "2026-11-00", "2026-11-32",
        "2026/11/22", "2026-11-2", "26-11-22", "2026-1-22T07:09:59Z",
        "2026-11-22T24:00:00Z", "2026-11-22T07:60:00Z", "2026-11-22T07:09:60Z",
        "2026-11-22T07:09:59",              /* T without a zone: refused, may be local */
        "2026-11-22T07:09Z", "2026-11-22T07:09:59.Z", "2026-11-22T07:09:59Zx",
        "2026-11-22T07:09:59+2", "2026-11-22T07:09:59+02:0", "2026-11-22T07:09:59+24:00",
        "2026-11-22T07:09:59+02:60", "2026-11-22T07:09:59 Z", "2026-11-22X07:09:59Z",
        "2026-11-22T7:09:59Z", "2026-11-22 garbage", "2026-11-22T07:09:59.835ZZ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        parse_bad(bad[i]);
}

static void test_date_parse(void **state)
{
    (void)state;
    int32_t day = 7;
    assert_int_equal(up_date_parse("2026-11-22", 10, &day), 0);
    assert_int_equal(day, DAY_2026_11_22);
    assert_int_equal(up_date_parse(" 1970-01-01\n", 12, &day), 0);
    assert_int_equal(day, 0);
    assert_int_equal(up_date_parse("2026-11-22T00:00:00Z", 20, &day), -UP_EPARSE);
    assert_int_equal(up_date_parse("2026-2-1", 8, &day), -UP_EPARSE);
    assert_int_equal(up_date_parse("", 0, &day), -UP_EPARSE);
    assert_int_equal(up_date_parse("\0\0\0\0\0\0\0\0\0\0", 10, &day), -UP_EPARSE);
}

static void test_format(void **state)
{
    (void)state;
    char out[32];
    up_time_fmt(out, 1795331399835LL);
    assert_string_equal(out, "2026-11-22T07:09:59.835Z");
    up_time_fmt(out, 1795331399000LL); /* no ".000" */
    assert_string_equal(out, "2026-11-22T07:09:59Z");
    up_time_fmt(out, 1795331399005LL);
    assert_string_equal(out, "2026-11-22T07:09:59.005Z");
    up_time_fmt(out, -1);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    up_time_fmt(out, 0);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    up_date_fmt(out, DAY_2026_11_22);
    assert_string_equal(out, "2026-11-22");
    up_date_fmt(out, -1);
    assert_string_equal(out, "1969-12-31");
    up_date_fmt(out, up_days_from_civil(12345, 6, 7)); /* beyond four digits */
    assert_string_equal(out, "12345-06-07");

    /* Formatting then parsing is the identity. */
    for (int64_t ms = -3 * UP_MS_PER_DAY; ms < 40LL * 365 * UP_MS_PER_DAY; ms += 7777777777LL + 13) {
        up_time_fmt(out, ms);
        assert_int_equal(parse_ok(out), ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_day_of),
        cmocka_unit_test(test_iso_forms),
        cmocka_unit_test(test_offsets_crossing_midnight),
        cmocka_unit_test(test_leap_days),
        cmocka_unit_test(test_epoch),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
