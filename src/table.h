/* table: the rows a report computes, and one writer per format. A table is
 * columns (a name, a kind, and how the text table shows it) and rows of
 * cells; a cell holds its value once, as the text CSV and JSON write and, for
 * numbers, the number the text table formats. The writers render any table:
 * CSV (a header of names, RFC 4180 fields, empty for null), JSON (an array
 * of objects under a key, null for empty), an aligned text table and HTML.
 *
 * Invariants: a report fills a table once and only the writers know the
 * formats; CSV and JSON use the column names (spec/metrics.md's); numbers
 * are written in their shortest round-trip form. */
#ifndef UP_TABLE_H
#define UP_TABLE_H

#include <stdint.h>
#include <stdio.h>

#include "fmt.h"
#include "util.h"

/* What a value is: how JSON writes it. */
typedef enum {
    UP_COL_TEXT,   /* a JSON string */
    UP_COL_INT,    /* a whole number */
    UP_COL_NUM,    /* a number (shortest round-trip) */
    UP_COL_BOOL,   /* true / false */
    UP_COL_DATE,   /* YYYY-MM-DD, a JSON string */
    UP_COL_JSON,   /* JSON text, written as it is (e.g. stored JSON) */
} up_col_kind_t;

/* How the text table shows a value. */
typedef enum {
    UP_SHOW_PLAIN,   /* the CSV text */
    UP_SHOW_PCT0,    /* 100 × v, no decimals, and % */
    UP_SHOW_PCT1,    /* 100 × v, one decimal, and % */
    UP_SHOW_SPCT0,   /* signed: +12% */
    UP_SHOW_FIX0,    /* %.0f */
    UP_SHOW_FIX1,    /* %.1f */
    UP_SHOW_DAYS,    /* 12d */
    UP_SHOW_YESNO,   /* a bool as yes / no */
} up_show_t;

/* Where a column appears. */
enum {
    UP_COL_NOCSV = 1,    /* not in CSV */
    UP_COL_NOJSON = 2,   /* not in JSON */
    UP_COL_CLIP = 4,     /* text table: cut to width (bytes, or with an ellipsis in UTF-8 tables) */
    UP_COL_LEFT = 8,     /* text table: left-aligned (default: right, except the first column) */
    UP_COL_RIGHT = 16,   /* text table: right-aligned, the first column too */
};

typedef struct {
    const char *name;      /* CSV header and JSON key; NULL: text table only */
    up_col_kind_t kind;
    const char *heading;   /* text table header; NULL: not in the text table */
    int width;             /* text table: padded to this width (0: not padded) */
    up_show_t show;
    unsigned flags;        /* UP_COL_* */
    const char *sep;       /* text table: written before the column (NULL: one space) */
    const char *null;      /* text table: a null's text (NULL: the table's) */
} up_col_t;

typedef struct {
    char *s;      /* the value as CSV writes it; NULL is null */
    double d;     /* numbers: the value */
    char *buf;    /* the storage s points into, reused by the next value */
    size_t cap;
} up_cell_t;

typedef struct {
    const up_col_t *cols;
    size_t ncols;
    up_cell_t *cells;   /* nrows × ncols */
    size_t nrows, cap;
    int oom;            /* a cell could not be stored */
    /* JSON: {"as_of":…,"<key>":[…]<tail>} */
    const char *json_key;
    char json_as_of[40];   /* empty: no as_of member */
    char json_tail[64];    /* members after the array (e.g. ,"total":3) */
    const char *json_tail_long;   /* instead of json_tail when set (borrowed) */
    int json_tight;        /* an empty array is [] (else [\n]) */
    /* text table */
    int header;            /* a line of headings */
    int utf8;              /* widths count code points (else bytes, like printf) */
    const char *null;      /* a null's text (default "–") */
    const char *empty;     /* a table without rows: this line instead (NULL: nothing) */
    const char *title;     /* text written before the table (NULL: none) */
    const char *footer;    /* text written after it (NULL: none) */
    /* streaming (up_table_stream): each row is written when the next starts */
    FILE *stream;
    up_format_t stream_fmt;
    size_t streamed;       /* rows written so far */
} up_table_t;

/* Starts an empty table of ncols columns (cols must outlive it). */
void up_table_init(up_table_t *t, const up_col_t *cols, size_t ncols);
void up_table_free(up_table_t *t);

/* Appends a row of nulls; returns 0 or -UP_ENOMEM. */
int up_table_row(up_table_t *t);
/* Set a cell of the last row. */
void up_table_text(up_table_t *t, size_t col, const char *s);   /* NULL: null */
void up_table_int(up_table_t *t, size_t col, int64_t v);
/* Text that outlives the table (a dictionary's string, a model name): kept
 * by reference, not copied. */
void up_table_ref(up_table_t *t, size_t col, const char *s);
void up_table_num(up_table_t *t, size_t col, double v);         /* NAN: null */
void up_table_bool(up_table_t *t, size_t col, int v);           /* < 0: null */
void up_table_date(up_table_t *t, size_t col, int32_t day);     /* UP_NO_DAY (INT32_MIN): null */
void up_table_textf(up_table_t *t, size_t col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A cell's value (NULL: null), and its number. */
const char *up_table_get(const up_table_t *t, size_t row, size_t col);
double up_table_getnum(const up_table_t *t, size_t row, size_t col);
/* The text table's text of a cell, into out. */
void up_table_show(const up_table_t *t, size_t row, size_t col, char *out, size_t n);

/* Streams t to out in format f (CSV or JSON; the other formats are
 * buffered as usual): the CSV header or the JSON opening now, each row when
 * the next one starts, so a report of millions of rows holds one. Call
 * up_table_end after the last row. */
void up_table_stream(up_table_t *t, FILE *out, up_format_t f);
/* Writes what a stream still holds (the last row, the JSON closing), or the
 * whole table in its format when it was not streamed. Returns as
 * up_table_write. */
int up_table_end(up_table_t *t, FILE *out, up_format_t f);

/* Writes t in format f: CSV with its header, JSON as one document, the text
 * table (header line when t->header), or an HTML <table>. Returns 0,
 * -UP_ENOMEM when a cell was lost, or -UP_EIO. */
int up_table_write(FILE *out, const up_table_t *t, up_format_t f);
/* Appends the JSON array of t's rows to b. */
void up_table_json_rows(up_buf_t *b, const up_table_t *t);
/* Appends row r as one JSON object. */
void up_table_json_row(up_buf_t *b, const up_table_t *t, size_t r);
/* Writes the CSV header line / one row. */
void up_table_csv_header(FILE *out, const up_table_t *t);
void up_table_csv_row(FILE *out, const up_table_t *t, size_t r);
/* Writes the text table's header line / one row. */
void up_table_text_header(FILE *out, const up_table_t *t);
void up_table_text_row(FILE *out, const up_table_t *t, size_t r);

/* Display width of UTF-8 text (code points). */
int up_table_utf8_width(const char *s);
/* s cut to width code points, the last one an ellipsis when cut. */
void up_table_clip(char *out, size_t n, const char *s, int width);

#endif
