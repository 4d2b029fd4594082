/* table: rows of typed cells and the four writers (see table.h). */
#include "table.h"

#include "timeparse.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DASH "\xe2\x80\x93"

void up_table_init(up_table_t *t, const up_col_t *cols, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->cols = cols;
    t->ncols = ncols;
    t->json_key = "rows";
}

void up_table_free(up_table_t *t)
{
    for (size_t i = 0; i < t->cap * t->ncols; i++)
        free(t->cells[i].buf);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

static void stream_row(up_table_t *t);

int up_table_row(up_table_t *t)
{
    if (t->stream && t->nrows == 1) {   /* write the finished row, then reuse it */
        stream_row(t);
        t->nrows = 0;
    }
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        up_cell_t *c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (!c) {
            t->oom = 1;
            return -UP_ENOMEM;
        }
        for (size_t i = t->cap * t->ncols; i < cap * t->ncols; i++)
            c[i] = (up_cell_t){NULL, NAN, NULL, 0};
        t->cells = c;
        t->cap = cap;
    }
    up_cell_t *row = &t->cells[t->nrows++ * t->ncols];
    for (size_t c = 0; c < t->ncols; c++) {
        row[c].s = NULL;
        row[c].d = NAN;
    }
    return 0;
}

static up_cell_t *last(up_table_t *t, size_t col)
{
    if (!t->nrows || col >= t->ncols)
        return NULL;
    up_cell_t *c = &t->cells[(t->nrows - 1) * t->ncols + col];
    c->s = NULL;
    c->d = NAN;
    return c;
}

static void set(up_table_t *t, size_t col, const char *s, double d)
{
    up_cell_t *c = last(t, col);
    if (!c)
        return;
    c->d = d;
    if (!s)
        return;
    size_t n = strlen(s) + 1;
    if (n > c->cap) {
        char *b = realloc(c->buf, n < 32 ? 32 : n);
        if (!b) {
            t->oom = 1;
            return;
        }
        c->buf = b;
        c->cap = n < 32 ? 32 : n;
    }
    memcpy(c->buf, s, n);
    c->s = c->buf;
}

void up_table_text(up_table_t *t, size_t col, const char *s)
{
    set(t, col, s, NAN);
}

void up_table_ref(up_table_t *t, size_t col, const char *s)
{
    up_cell_t *c = last(t, col);
    if (c)
        c->s = (char *)s;   /* borrowed: never written through, never freed */
}

void up_table_textf(up_table_t *t, size_t col, const char *fmt, ...)
{
    char s[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    set(t, col, s, NAN);
}

void up_table_int(up_table_t *t, size_t col, int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)v);
    set(t, col, s, (double)v);
}

void up_table_num(up_table_t *t, size_t col, double v)
{
    char s[40];
    if (isnan(v)) {
        set(t, col, NULL, NAN);
        return;
    }
    up_fmt_double(s, sizeof s, v);
    set(t, col, s, v);
}

void up_table_bool(up_table_t *t, size_t col, int v)
{
    set(t, col, v < 0 ? NULL : v ? "true" : "false", v < 0 ? NAN : v);
}

void up_table_date(up_table_t *t, size_t col, int32_t day)
{
    char s[16];
    if (day == INT32_MIN) {   /* UP_NO_DAY */
        set(t, col, NULL, NAN);
        return;
    }
    up_date_fmt(s, day);
    set(t, col, s, NAN);
}

const char *up_table_get(const up_table_t *t, size_t row, size_t col)
{
    return t->cells[row * t->ncols + col].s;
}

double up_table_getnum(const up_table_t *t, size_t row, size_t col)
{
    return t->cells[row * t->ncols + col].d;
}

void up_table_show(const up_table_t *t, size_t row, size_t col, char *out, size_t n)
{
    const up_col_t *c = &t->cols[col];
    const up_cell_t *v = &t->cells[row * t->ncols + col];
    if (!v->s) {
        snprintf(out, n, "%s", c->null ? c->null : t->null ? t->null : DASH);
        return;
    }
    switch (c->show) {
    case UP_SHOW_PLAIN: snprintf(out, n, "%s", v->s); break;
    case UP_SHOW_PCT0: snprintf(out, n, "%.0f%%", 100 * v->d); break;
    case UP_SHOW_PCT1: snprintf(out, n, "%.1f%%", 100 * v->d); break;
    case UP_SHOW_SPCT0: snprintf(out, n, "%+.0f%%", 100 * v->d); break;
    case UP_SHOW_FIX0: snprintf(out, n, "%.0f", v->d); break;
    case UP_SHOW_FIX1: snprintf(out, n, "%.1f", v->d); break;
    case UP_SHOW_DAYS: snprintf(out, n, "%sd", v->s); break;
    case UP_SHOW_YESNO: snprintf(out, n, "%s", v->d != 0 ? "yes" : "no"); break;
    }
}

/* ---- CSV ------------------------------------------------------------- */

void up_table_csv_header(FILE *out, const up_table_t *t)
{
    int first = 1;
    for (size_t c = 0; c < t->ncols; c++)
        if (t->cols[c].name && !(t->cols[c].flags & UP_COL_NOCSV)) {
            fprintf(out, "%s%s", first ? "" : ",", t->cols[c].name);
            first = 0;
        }
    fputc('\n', out);
}

void up_table_csv_row(FILE *out, const up_table_t *t, size_t r)
{
    /* a report of millions of rows spends its time here: the unlocked stdio
     * calls (one thread writes a report) */
    int first = 1;
    for (size_t c = 0; c < t->ncols; c++)
        if (t->cols[c].name && !(t->cols[c].flags & UP_COL_NOCSV)) {
            if (!first)
                putc_unlocked(',', out);
            up_fmt_csv_field(out, up_table_get(t, r, c));
            first = 0;
        }
    putc_unlocked('\n', out);
}

/* ---- JSON ------------------------------------------------------------ */

void up_table_json_row(up_buf_t *b, const up_table_t *t, size_t r)
{
    int first = 1;
    up_buf_puts(b, "{");
    for (size_t c = 0; c < t->ncols; c++) {
        const up_col_t *col = &t->cols[c];
        if (!col->name || (col->flags & UP_COL_NOJSON))
            continue;
        const char *s = up_table_get(t, r, c);
        up_buf_printf(b, "%s\"%s\":", first ? "" : ",", col->name);
        first = 0;
        if (!s)
            up_buf_puts(b, "null");
        else if (col->kind == UP_COL_TEXT || col->kind == UP_COL_DATE)
            up_fmt_json_str(b, s);
        else
            up_buf_puts(b, s);
    }
    up_buf_puts(b, "}");
}

void up_table_json_rows(up_buf_t *b, const up_table_t *t)
{
    up_buf_puts(b, "[");
    for (size_t r = 0; r < t->nrows; r++) {
        up_buf_puts(b, r ? ",\n" : "\n");
        up_table_json_row(b, t, r);
    }
    up_buf_puts(b, t->nrows || !t->json_tight ? "\n]" : "]");
}

static void json_open(up_buf_t *b, const up_table_t *t);

static int write_json(FILE *out, const up_table_t *t)
{
    up_buf_t b = {0};
    json_open(&b, t);
    b.len--;   /* json_open ends with the array's '[', which the rows write */
    up_table_json_rows(&b, t);
    up_buf_printf(&b, "%s}\n", t->json_tail_long ? t->json_tail_long : t->json_tail);
    int rc = b.data && fwrite(b.data, 1, b.len, out) == b.len ? 0 : -UP_EIO;
    up_buf_free(&b);
    return rc;
}

/* ---- the text table -------------------------------------------------- */

int up_table_utf8_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

void up_table_clip(char *out, size_t n, const char *s, int width)
{
    int w = 0;
    size_t i = 0, o = 0;
    while (s[i] && o + 4 < n) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (w == width - 1 && up_table_utf8_width(s + i) > 1) {
                memcpy(out + o, "\xe2\x80\xa6", 3);
                o += 3;
                break;
            }
            w++;
        }
        out[o++] = s[i++];
    }
    out[o] = '\0';
}

/* One cell of the text table: clipped, padded, after its separator. */
static void text_cell(FILE *out, const up_table_t *t, const up_col_t *c, const char *s, int first, int clip)
{
    char cut[512];
    if (clip && c->width > 0 && (c->flags & UP_COL_CLIP)) {
        if (t->utf8)
            up_table_clip(cut, sizeof cut, s, c->width);
        else
            snprintf(cut, sizeof cut, "%.*s", c->width, s);
        s = cut;
    }
    if (!first)
        fputs(c->sep ? c->sep : " ", out);
    int w = t->utf8 ? up_table_utf8_width(s) : (int)strlen(s);
    int right = (c->flags & UP_COL_RIGHT) || (!first && !(c->flags & UP_COL_LEFT));
    for (int i = w; right && i < c->width; i++)
        fputc(' ', out);
    fputs(s, out);
    for (int i = w; !right && i < c->width; i++)
        fputc(' ', out);
}

void up_table_text_header(FILE *out, const up_table_t *t)
{
    int first = 1;
    for (size_t c = 0; c < t->ncols; c++)
        if (t->cols[c].heading) {
            text_cell(out, t, &t->cols[c], t->cols[c].heading, first, 0);
            first = 0;
        }
    fputc('\n', out);
}

void up_table_text_row(FILE *out, const up_table_t *t, size_t r)
{
    int first = 1;
    char s[512];
    for (size_t c = 0; c < t->ncols; c++)
        if (t->cols[c].heading) {
            up_table_show(t, r, c, s, sizeof s);
            text_cell(out, t, &t->cols[c], s, first, 1);
            first = 0;
        }
    fputc('\n', out);
}

/* ---- HTML ------------------------------------------------------------ */

static void write_html(FILE *out, const up_table_t *t)
{
    char s[512];
    fputs("<table><tr>", out);
    for (size_t c = 0; c < t->ncols; c++)
        if (t->cols[c].heading) {
            fputs(t->cols[c].kind == UP_COL_TEXT || t->cols[c].kind == UP_COL_DATE ? "<th>" : "<th class=\"n\">", out);
            up_fmt_html(out, t->cols[c].heading);
            fputs("</th>", out);
        }
    fputs("</tr>", out);
    for (size_t r = 0; r < t->nrows; r++) {
        fputs("<tr>", out);
        for (size_t c = 0; c < t->ncols; c++)
            if (t->cols[c].heading) {
                up_table_show(t, r, c, s, sizeof s);
                fputs(t->cols[c].kind == UP_COL_TEXT || t->cols[c].kind == UP_COL_DATE ? "<td>" : "<td class=\"n\">", out);
                up_fmt_html(out, s);
                fputs("</td>", out);
            }
        fputs("</tr>", out);
    }
    fputs("</table>\n", out);
}

static void json_open(up_buf_t *b, const up_table_t *t)
{
    up_buf_puts(b, "{");
    if (t->json_as_of[0]) {
        up_buf_puts(b, "\"as_of\":");
        up_fmt_json_str(b, t->json_as_of);
        up_buf_puts(b, ",");
    }
    up_buf_printf(b, "\"%s\":[", t->json_key);
}

void up_table_stream(up_table_t *t, FILE *out, up_format_t f)
{
    if (f != UP_FMT_CSV && f != UP_FMT_JSON)
        return;
    t->stream = out;
    t->stream_fmt = f;
    t->streamed = 0;
    if (f == UP_FMT_CSV) {
        up_table_csv_header(out, t);
        return;
    }
    up_buf_t b = {0};
    json_open(&b, t);
    if (b.data)
        fwrite(b.data, 1, b.len, out);
    up_buf_free(&b);
}

static void stream_row(up_table_t *t)
{
    if (t->stream_fmt == UP_FMT_CSV)
        up_table_csv_row(t->stream, t, 0);
    else {
        up_buf_t b = {0};
        up_buf_puts(&b, t->streamed ? ",\n" : "\n");
        up_table_json_row(&b, t, 0);
        if (b.data)
            fwrite(b.data, 1, b.len, t->stream);
        else
            t->oom = 1;
        up_buf_free(&b);
    }
    t->streamed++;
}

int up_table_end(up_table_t *t, FILE *out, up_format_t f)
{
    if (!t->stream)
        return up_table_write(out, t, f);
    if (t->nrows)
        stream_row(t);
    t->nrows = 0;
    if (t->stream_fmt == UP_FMT_JSON)
        fprintf(out, "%s%s}\n", t->streamed || !t->json_tight ? "\n]" : "]",
                t->json_tail_long ? t->json_tail_long : t->json_tail);
    if (t->oom)
        return -UP_ENOMEM;
    return ferror(out) ? -UP_EIO : 0;
}

int up_table_write(FILE *out, const up_table_t *t, up_format_t f)
{
    if (t->oom)
        return -UP_ENOMEM;
    switch (f) {
    case UP_FMT_JSON:
        return write_json(out, t);
    case UP_FMT_CSV:
        up_table_csv_header(out, t);
        for (size_t r = 0; r < t->nrows; r++)
            up_table_csv_row(out, t, r);
        break;
    case UP_FMT_HTML:
        write_html(out, t);
        break;
    case UP_FMT_TABLE:
        if (t->title)
            fputs(t->title, out);
        if (!t->nrows && t->empty)
            fprintf(out, "%s\n", t->empty);
        else if (t->header)
            up_table_text_header(out, t);
        for (size_t r = 0; r < t->nrows; r++)
            up_table_text_row(out, t, r);
        if (t->footer)
            fputs(t->footer, out);
        break;
    }
    return ferror(out) ? -UP_EIO : 0;
}
