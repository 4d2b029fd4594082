/* fmt: numbers, JSON, CSV and HTML text (see the header). */
#include "fmt.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the shortest digits of a double ------------------------------------
 *
 * Python's repr: the fewest significant digits whose correctly rounded
 * decimal reads back to v, in positional notation when the decimal
 * exponent is in [-4, 16), else scientific. Two ways to the same digits:
 * printf and strtod (any double; a dozen library calls), and exact 128-bit
 * integer arithmetic for the non-integers in [1e-3, 1e15) that ratios and
 * scores are (a few multiplications). Both find the smallest count s of
 * significant digits whose correctly rounded value (ties to even, as printf
 * rounds) strtod reads back as v; test_util compares them over millions of
 * doubles. */

typedef unsigned __int128 u128;

/* 10^k for the k the exact path needs: 0 .. 19 (v below 10^15 with 17
 * digits, down to 10^-3), every one a uint64_t. */
static const uint64_t POW10[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
    10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
    10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL
};

static u128 pow10_u128(int k)
{
    return POW10[k];
}

/* m / 2^Q against 10^e: -1, 0 or 1 (|e| small, m < 2^53, Q <= 62). */
static int cmp_pow10(uint64_t m, int Q, int e)
{
    u128 a = m, b = 1;
    if (e >= 0)
        b = pow10_u128(e) << Q;
    else {
        a *= pow10_u128(-e);
        b <<= Q;
    }
    return a < b ? -1 : a > b;
}

/* The digits of the shortest form of v (finite, not an integer, in
 * [1e-3, 1e15)) into digits (no trailing zeros) and its decimal exponent;
 * returns how many digits, 0 when v is outside what it handles. */
static int shortest_exact(double v, char digits[24], int *exp10)
{
    if (!(v >= 1e-3 && v < 1e15))
        return 0;
    uint64_t bits;
    memcpy(&bits, &v, 8);
    int eb = (int)(bits >> 52 & 0x7ff);
    uint64_t frac = bits & ((1ULL << 52) - 1);
    uint64_t m = frac | 1ULL << 52;
    int q = eb - 1075;
    if (eb == 0 || q >= 0 || q < -62)
        return 0;
    int Q = -q;
    /* the decimal exponent: 10^E <= v < 10^(E+1) */
    int E = (int)floor(log10(v));
    while (cmp_pow10(m, Q, E) < 0)
        E--;
    while (cmp_pow10(m, Q, E + 1) >= 0)
        E++;
    if (E < -4 || E > 15)
        return 0;   /* (cannot be in the range above; POW10 covers the rest) */
    /* v's rounding interval in units of 2^-(Q+2): strtod reads a decimal
     * strictly inside as v, and one on an end too when m is even */
    u128 hi = (u128)(4 * m + 2), lo = frac == 0 && eb > 1 ? (u128)(4 * m - 1) : (u128)(4 * m - 2);
    for (int s = 1; s <= 17; s++) {
        int k = s - 1 - E;   /* the rounded value is d * 10^-k */
        u128 d, r, half;
        int tie, up;
        if (k >= 0) {
            u128 n = (u128)m * pow10_u128(k);
            d = n >> Q;
            r = n & (((u128)1 << Q) - 1);
            half = (u128)1 << (Q - 1);
            tie = r == half;
            up = r > half;
        } else {
            u128 den = pow10_u128(-k) << Q;
            d = m / den;
            r = m % den;
            tie = 2 * r == den;
            up = 2 * r > den;
        }
        if (up || (tie && (d & 1)))
            d++;
        /* d * 10^-k against the ends, both sides times 2^(Q+2) * 10^k */
        u128 c, scale = k >= 0 ? pow10_u128(k) : 1;
        if (k >= 0)
            c = d << (Q + 2);
        else
            c = (d * pow10_u128(-k)) << (Q + 2);
        u128 h = hi * scale, l = lo * scale;
        int inside = (c > l && c < h) || ((c == l || c == h) && !(m & 1));
        if (!inside)
            continue;
        int e = E;
        if (d == pow10_u128(s)) {   /* rounded up to the next power of ten */
            d /= 10;
            e++;
        }
        char tmp[24];
        int n = 0;
        uint64_t x = (uint64_t)d;
        for (int i = 0; i < s; i++, x /= 10)
            tmp[s - 1 - i] = (char)('0' + x % 10);
        n = s;
        while (n > 1 && tmp[n - 1] == '0')
            n--;
        memcpy(digits, tmp, (size_t)n);
        *exp10 = e;
        return n;
    }
    return 0;
}

/* The same digits by printf and strtod: round-tripping is monotone in the
 * precision. Most ratios need 16 or 17 digits and most counts very few, so
 * look at 15 digits first and search below it only when it already
 * round-trips. */
static int shortest_printf(double v, char digits[24], int *exp10)
{
    char sci[40];
    int lo, hi;
    snprintf(sci, sizeof sci, "%.14e", v);
    if (strtod(sci, NULL) == v) {
        lo = 0;
        hi = 14;
    } else {
        lo = 15;
        hi = 16;
    }
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(sci, sizeof sci, "%.*e", mid, v);
        if (strtod(sci, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(sci, sizeof sci, "%.*e", lo, v);
    /* sci is d[.ddd]e±XX (v > 0) */
    int nd = 0;
    const char *p = sci;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    *exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    return nd;
}

static void format_double(char *out, size_t outlen, double v, int exact)
{
    if (v != v) {
        snprintf(out, outlen, "nan");
        return;
    }
    if (v == 0) {
        snprintf(out, outlen, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    /* an integer below 2^53: doubles there are at most 1 apart, so every
     * digit of it is needed and no more: the integer itself, positional
     * (below 10^16) */
    if (fabs(v) < 9007199254740992.0 && v == (double)(long long)v) {
        snprintf(out, outlen, "%lld.0", (long long)v);
        return;
    }
    char digits[24];
    int exp = 0, neg = v < 0;
    double a = fabs(v);
    int nd = exact ? shortest_exact(a, digits, &exp) : 0;
    if (!nd)
        nd = shortest_printf(a, digits, &exp);
    char buf[64];
    size_t o = 0;
    if (neg)
        buf[o++] = '-';
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            buf[o++] = '0';
            buf[o++] = '.';
            for (int i = -1; i > exp; i--)
                buf[o++] = '0';
            for (int i = 0; i < nd; i++)
                buf[o++] = digits[i];
        } else {
            for (int i = 0; i <= exp; i++)
                buf[o++] = i < nd ? digits[i] : '0';
            buf[o++] = '.';
            if (nd > exp + 1)
                for (int i = exp + 1; i < nd; i++)
                    buf[o++] = digits[i];
            else
                buf[o++] = '0';
        }
        buf[o] = '\0';
    } else {
        buf[o++] = digits[0];
        if (nd > 1) {
            buf[o++] = '.';
            for (int i = 1; i < nd; i++)
                buf[o++] = digits[i];
        }
        snprintf(buf + o, sizeof buf - o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
    snprintf(out, outlen, "%s", buf);
}

void up_fmt_double(char *out, size_t outlen, double v)
{
    format_double(out, outlen, v, 1);
}

void up_fmt_double_printf(char *out, size_t outlen, double v)
{
    format_double(out, outlen, v, 0);
}

/* Always valid UTF-8 and safe to embed in a <script> or a JavaScript
 * source: a byte that does not start well-formed UTF-8 becomes U+FFFD,
 * control characters and U+2028/U+2029 (line terminators to JavaScript)
 * are \u escapes. */
int up_fmt_json_str(up_buf_t *b, const char *s)
{
    int rc = up_buf_append(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = up_utf8_seq(p + i, n - i, &cp);
        if (len == 0) {
            rc |= up_buf_append(b, "\xEF\xBF\xBD", 3);
            i++;
            continue;
        }
        if (cp == '"' || cp == '\\') {
            char esc[2] = {'\\', (char)cp};
            rc |= up_buf_append(b, esc, 2);
        } else if (cp < 0x20 || cp == 0x7F || cp == 0x2028 || cp == 0x2029)
            rc |= up_buf_printf(b, "\\u%04x", (unsigned)cp);
        else
            rc |= up_buf_append(b, p + i, len);
        i += len;
    }
    return rc | up_buf_append(b, "\"", 1);
}

int up_fmt_slack_str(up_buf_t *b, const char *s)
{
    up_buf_t esc = {0};
    int rc = 0;
    while (*s) {
        size_t plain = strcspn(s, "&<>");
        rc |= up_buf_append(&esc, s, plain);
        s += plain;
        if (*s)
            rc |= up_buf_puts(&esc, *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : "&gt;"), s++;
    }
    if (rc == 0)
        rc = up_fmt_json_str(b, esc.data ? esc.data : "");
    up_buf_free(&esc);
    return rc;
}

void up_fmt_json_num(up_buf_t *b, double v)
{
    char t[40];
    if (isnan(v)) {
        up_buf_puts(b, "null");
        return;
    }
    up_fmt_double(t, sizeof t, v);
    up_buf_puts(b, t);
}

void up_fmt_json_opt_str(up_buf_t *b, const char *s)
{
    if (s)
        up_fmt_json_str(b, s);
    else
        up_buf_puts(b, "null");
}

/* A plain decimal number: [+-]digits[.digits][e[+-]digits]. */
static int is_number(const char *s)
{
    const char *p = s + (*s == '-' || *s == '+');
    size_t digits = strspn(p, "0123456789");
    p += digits;
    if (*p == '.') {
        size_t frac = strspn(p + 1, "0123456789");
        digits += frac;
        p += 1 + frac;
    }
    if (digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p += 1 + (p[1] == '-' || p[1] == '+');
        size_t exp = strspn(p, "0123456789");
        if (exp == 0)
            return 0;
        p += exp;
    }
    return *p == '\0';
}

int up_fmt_csv_formula(const char *s)
{
    return s && s[0] && strchr("=+-@\t\r", s[0]) && !is_number(s);
}

void up_fmt_csv_field(FILE *out, const char *s)
{
    if (!s)
        return;
    int formula = up_fmt_csv_formula(s);
    if (formula || strpbrk(s, ",\"\n\r")) {
        putc_unlocked('"', out);
        if (formula)
            putc_unlocked('\'', out);
        for (; *s; s++) {
            if (*s == '"')
                putc_unlocked('"', out);
            putc_unlocked(*s, out);
        }
        putc_unlocked('"', out);
    } else
        fputs_unlocked(s, out);
}

void up_fmt_html(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}

int up_fmt_parse(const char *s)
{
    if (strcmp(s, "table") == 0)
        return UP_FMT_TABLE;
    if (strcmp(s, "json") == 0)
        return UP_FMT_JSON;
    if (strcmp(s, "csv") == 0)
        return UP_FMT_CSV;
    return -1;
}
