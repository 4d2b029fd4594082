/* timeparse: the timestamp forms uptake accepts, and UTC civil-day arithmetic.
 * Invariant: parsing is hand-written digit arithmetic over the given bytes
 * only: no locale, no time zone, no libc time functions, no allocation, and
 * every accepted string names exactly one instant (ranges are validated, and
 * trailing garbage is rejected rather than ignored). */
#include "timeparse.h"

#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
 * Howard Hinnant's days_from_civil: shift the year to start in March so the
 * leap day is the last day of the year, then count whole 400-year eras
 * (146097 days each) plus the day of the era. Exact for every int year. */
int32_t up_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);                  /* [0, 399] */
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;      /* [0, 146096] */
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

/* The inverse of up_days_from_civil (Hinnant's civil_from_days). */
void up_civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
    int64_t zz = (int64_t)z + 719468;
    const int64_t era = (zz >= 0 ? zz : zz - 146096) / 146097;
    const unsigned doe = (unsigned)(zz - era * 146097);                       /* [0, 146096] */
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* [0, 365] */
    const unsigned mp = (5 * doy + 2) / 153;                                  /* [0, 11] */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

int32_t up_day_of(int64_t ms)
{
    int64_t day = ms / UP_MS_PER_DAY;
    if (ms % UP_MS_PER_DAY < 0)
        day--;
    return (int32_t)day;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t len = *n;
    while (len && is_blank(*p)) {
        p++;
        len--;
    }
    while (len && is_blank(p[len - 1]))
        len--;
    *s = p;
    *n = len;
}

static bool is_digit(char c)
{
    return (unsigned)(c - '0') < 10;
}

/* Reads exactly width digits at p; returns -1 if any is not a digit. */
static int digits(const char *p, int width)
{
    int v = 0;
    for (int i = 0; i < width; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static unsigned days_in_month(int y, unsigned m)
{
    static const unsigned char len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return len[m - 1];
}

/* "YYYY-MM-DD" at s (at least 10 bytes available): the day number, or false.
 * Event files are mostly in time order, so consecutive timestamps share their
 * date: a per-thread cache of the last date text skips validation and the
 * calendar arithmetic for all but the first timestamp of each day. */
static bool parse_ymd(const char *s, int32_t *day)
{
    static _Thread_local char last_text[10] = {'1', '9', '7', '0', '-', '0', '1', '-', '0', '1'};
    static _Thread_local int32_t last_day = 0;
    if (memcmp(s, last_text, 10) == 0) {
        *day = last_day;
        return true;
    }
    if (s[4] != '-' || s[7] != '-')
        return false;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
        return false;
    *day = last_day = up_days_from_civil(y, (unsigned)m, (unsigned)d);
    memcpy(last_text, s, 10);
    return true;
}

/* Epoch seconds or milliseconds, optionally signed and decimal. The integer
 * part decides the unit (|v| >= 1e11 means milliseconds: 1e11 s is the year
 * 5138, 1e11 ms is 1973), the fraction is truncated to whole milliseconds. */
static int parse_epoch(const char *s, size_t n, int64_t *ms)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    size_t int_start = i;
    int64_t whole = 0;
    while (i < n && is_digit(s[i])) {
        if (i - int_start >= 18) /* 18 digits always fit in int64 */
            return -UP_EPARSE;
        whole = whole * 10 + (s[i++] - '0');
    }
    size_t int_digits = i - int_start;
    int64_t frac_ms = 0;  /* the fraction scaled to the unit's thousandths */
    size_t frac_digits = 0;
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && is_digit(s[i]); i++, frac_digits++)
            if (frac_digits < 3)
                frac_ms = frac_ms * 10 + (s[i] - '0');
        for (size_t k = frac_digits; k < 3; k++)
            frac_ms *= 10;
    }
    if (i != n || int_digits + frac_digits == 0)
        return -UP_EPARSE;
    int64_t v;
    if (whole >= 100000000000LL)
        v = whole;                /* milliseconds; sub-millisecond digits dropped */
    else
        v = whole * 1000 + frac_ms;
    *ms = neg ? -v : v;
    return 0;
}

int up_time_parse(const char *s, size_t n, int64_t *ms)
{
    trim(&s, &n);
    /* ISO forms all start with "DDDD-"; anything else must be an epoch number. */
    if (n < 10 || s[4] != '-')
        return parse_epoch(s, n, ms);
    int32_t day;
    if (!parse_ymd(s, &day))
        return -UP_EPARSE;
    if (n == 10) {
        *ms = day * UP_MS_PER_DAY;
        return 0;
    }
    /* "THH:MM:SS" or " HH:MM:SS" */
    if (n < 19 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return -UP_EPARSE;
    int hh = digits(s + 11, 2), mi = digits(s + 14, 2), ss = digits(s + 17, 2);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59)
        return -UP_EPARSE;
    size_t i = 19;
    int frac = 0;
    if (i < n && s[i] == '.') {
        size_t start = ++i;
        for (; i < n && is_digit(s[i]); i++)
            if (i - start < 3)
                frac = frac * 10 + (s[i] - '0');
        if (i == start)
            return -UP_EPARSE;
        for (size_t k = i - start; k < 3; k++)
            frac *= 10;
    }
    int offset_min = 0;
    if (i == n) {
        /* No zone: accepted as UTC only in the space-separated form; a bare
         * "THH:MM:SS" is usually local time, which we refuse to guess. */
        if (s[10] != ' ')
            return -UP_EPARSE;
    } else if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1;
        i++;
        int oh = n - i >= 2 ? digits(s + i, 2) : -1, om = 0;
        if (oh < 0 || oh > 23)
            return -UP_EPARSE;
        i += 2;
        if (i < n) {
            if (s[i] == ':')
                i++;
            om = n - i >= 2 ? digits(s + i, 2) : -1;
            if (om < 0 || om > 59)
                return -UP_EPARSE;
            i += 2;
        }
        offset_min = sign * (oh * 60 + om);
    } else {
        return -UP_EPARSE;
    }
    if (i != n)
        return -UP_EPARSE;
    /* local = UTC + offset, so UTC = local - offset */
    *ms = day * UP_MS_PER_DAY + ((int64_t)hh * 3600 + mi * 60 + ss - (int64_t)offset_min * 60) * 1000 + frac;
    return 0;
}

int up_date_parse(const char *s, size_t n, int32_t *day)
{
    trim(&s, &n);
    if (n != 10 || !parse_ymd(s, day))
        return -UP_EPARSE;
    return 0;
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/* Writes the date of day at out; returns the number of bytes written (no NUL). */
static int put_date(char *out, int32_t day)
{
    int y;
    unsigned m, d;
    up_civil_from_days(day, &y, &m, &d);
    if (y < 0 || y > 9999) /* outside what four digits hold: rare, let printf do it */
        return snprintf(out, 32, "%d-%02u-%02u", y, m, d);
    put2(out, (unsigned)y / 100);
    put2(out + 2, (unsigned)y % 100);
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    return 10;
}

void up_date_fmt(char *out, int32_t day)
{
    out[put_date(out, day)] = '\0';
}

void up_time_fmt(char *out, int64_t ms)
{
    int32_t day = up_day_of(ms);
    int64_t in_day = ms - (int64_t)day * UP_MS_PER_DAY; /* [0, 86400000) */
    unsigned msec = (unsigned)(in_day % 1000), secs = (unsigned)(in_day / 1000);
    char *p = out + put_date(out, day);
    *p++ = 'T';
    put2(p, secs / 3600);
    p[2] = ':';
    put2(p + 3, secs / 60 % 60);
    p[5] = ':';
    put2(p + 6, secs % 60);
    p += 8;
    if (msec) {
        *p++ = '.';
        *p++ = (char)('0' + msec / 100);
        put2(p, msec % 100);
        p += 2;
    }
    *p++ = 'Z';
    *p = '\0';
}

int up_time_plausible(int64_t ms)
{
    /* 1990-01-01T00:00:00Z and 2101-01-01T00:00:00Z */
    return ms >= 631152000000LL && ms < 4133980800000LL;
}
