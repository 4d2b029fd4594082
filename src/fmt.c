/* fmt: numbers, JSON, CSV and HTML text (see the header). */
#include "fmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void up_fmt_double(char *out, size_t outlen, double v)
{
    /* Python's repr: the shortest digits that read back to v, in positional
     * notation when the decimal exponent is in [-4, 16), else scientific. */
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
    /* round-tripping is monotone in the precision. Most ratios need 16 or
     * 17 digits and most counts very few, so look at 15 digits first and
     * search below it only when it already round-trips */
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
    /* sci is [-]d[.ddd]e±XX */
    char digits[24];
    int nd = 0, neg = sci[0] == '-';
    const char *p = sci + neg;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
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
