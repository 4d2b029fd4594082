/* reader: CSV and JSON-lines input, plain or gzip, as records of canonical fields.
 * Invariant: bytes flow file -> one large buffer -> records parsed in place.
 * buf[start, end) holds unconsumed input and buf[end] is always writable, so
 * a field can be NUL-terminated where it lies; a record is only modified once
 * its full extent is known to be in the buffer, so a refill never has to undo
 * a half-parsed record. Nothing is allocated per record on the CSV path. */
#include "reader.h"

#include "fmt.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#ifndef UP_READER_CHUNK          /* the fuzz build makes it small: refills at every few bytes */
#define UP_READER_CHUNK (1u << 20)
#endif
#define CHUNK UP_READER_CHUNK     /* bytes asked of read(2)/gzread per refill */
#define MAX_RECORD (16u << 20)    /* a longer record is reported and skipped */

/* Internal results, outside the range of -UP_E* codes. */
#define UNTERMINATED (-1000)      /* split_quoted: a quote still open at end of input */
#define HAS_QUOTE (-1001)         /* split_line: a field starts with a quote */
#define NO_NEWLINE (-1002)        /* split_line: the line runs past the buffered bytes */
#define PAD 16                    /* zero bytes kept after the data, for 16-byte loads */

enum { FMT_CSV, FMT_JSONL };

/* How a canonical field is found in a Segment message when it is not mapped. */
enum {
    SEG_GENERIC,      /* X, properties.X, traits.X, context.traits.X */
    SEG_TS,
    SEG_USER,
    SEG_ACCOUNT,
    SEG_EVENT,
    SEG_MESSAGE_ID,
    SEG_TRAIT,        /* traits.<alt[0]> or traits.<alt[1]>; group messages only */
    SEG_USER_TRAIT,   /* the same, on any message that has traits */
};

typedef struct {
    const char *name;       /* canonical name (borrowed from the caller's array) */
    char *source;           /* CSV column or JSON key path */
    bool mapped;            /* source came from the mapping */
    char **path;            /* source split at '.', for JSON */
    size_t path_len;
    int seg;                /* SEG_* */
    const char *alt[2];     /* trait keys for SEG_TRAIT / SEG_USER_TRAIT */
    int col;                /* CSV: header column index, -1 if absent */
    int conv;               /* CONV_*: how the mapping says to read the value */
    char *conv_fmt;         /* CONV_DATE: the strptime format */
    char conv_out[64];      /* the converted value of the current record */
} field_t;

enum { CONV_NONE, CONV_MONEY, CONV_DATE };

typedef struct {
    size_t off, len;        /* relative to the record start */
    bool raw;               /* a quoted field still to be unquoted in place */
} span_t;

struct up_reader {
    char *path;
    int fd;
    gzFile gz;
    int format;
    uint64_t size, consumed;
    char *buf;
    size_t cap, start, end;
    bool eof;
    bool skip_line;         /* discarding the rest of an over-long record */
    int skip_state;         /* CSV: where the skipping is in the record's quoting (SKIP_*) */
    bool cr_only;           /* lines end with a lone CR: read as newlines */
    long line;              /* line number of buf[start] */

    field_t fields[UP_READER_MAX_FIELDS];
    size_t n_fields;

    /* CSV */
    char **cols;
    size_t n_cols;
    span_t *spans;          /* the fields of the record being parsed */
    size_t span_cap;

    /* JSONL */
    json_t *root;           /* the current record's document, kept until the next call */
    up_buf_t scratch;       /* converted values of the current record */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims blanks (and, for mapping text, CR) from both ends of p[0..*n). */
static const char *trim_span(const char *p, size_t *n)
{
    size_t len = *n;
    while (len && (is_blank(*p) || *p == '\r')) {
        p++;
        len--;
    }
    while (len && (is_blank(p[len - 1]) || p[len - 1] == '\r'))
        len--;
    *n = len;
    return p;
}

/* ---------------------------------------------------------------- mapping */

void up_mapping_free(up_mapping_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free((char *)m->canonical[i]);
        free((char *)m->source[i]);
    }
    memset(m, 0, sizeof *m);
}

/* Adds one "canonical = source" entry from text[0..n); where names the entry
 * in error messages. Blank entries and '#' comment lines are ignored. A name
 * mapped by an earlier call (entries before first) is remapped: a --map on the
 * command line overrides a --map-file; mapped twice in one text is an error. */
static int mapping_entry(up_mapping_t *m, size_t first, const char *text, size_t n,
                         const char *where, char *err, size_t errlen)
{
    const char *p = trim_span(text, &n);
    if (n == 0 || p[0] == '#')
        return 0;
    const char *eq = memchr(p, '=', n);
    if (!eq) {
        set_err(err, errlen, "%s: expected canonical=source, got '%.*s'", where, (int)n, p);
        return -UP_EPARSE;
    }
    size_t cn = (size_t)(eq - p), sn = n - cn - 1;
    const char *c = trim_span(p, &cn), *s = trim_span(eq + 1, &sn);
    if (cn == 0 || sn == 0) {
        set_err(err, errlen, "%s: empty %s name in '%.*s'", where, cn ? "source" : "canonical",
                (int)n, p);
        return -UP_EPARSE;
    }
    size_t slot = m->n;
    for (size_t i = 0; i < m->n; i++)
        if (strlen(m->canonical[i]) == cn && memcmp(m->canonical[i], c, cn) == 0) {
            if (i >= first) {
                set_err(err, errlen, "%s: '%.*s' is mapped twice", where, (int)cn, c);
                return -UP_EPARSE;
            }
            slot = i;
        }
    if (slot == UP_READER_MAX_FIELDS) {
        set_err(err, errlen, "%s: more than %d mappings", where, UP_READER_MAX_FIELDS);
        return -UP_EPARSE;
    }
    char *ss = up_strndup(s, sn);
    if (!ss)
        goto oom;
    if (slot < m->n) {
        free((char *)m->source[slot]);
        m->source[slot] = ss;
        return 0;
    }
    char *cs = up_strndup(c, cn);
    if (!cs) {
        free(ss);
        goto oom;
    }
    m->canonical[m->n] = cs;
    m->source[m->n] = ss;
    m->n++;
    return 0;
oom:
    set_err(err, errlen, "%s: out of memory", where);
    return -UP_ENOMEM;
}

/* Splits text at newlines (and, for a command-line spec, commas) into entries
 * added to m. file is NULL for a spec string. On error m keeps what it held
 * before, less any source an earlier entry of this text replaced. */
static int mapping_text(up_mapping_t *m, const char *text, size_t n, const char *file,
                        char *err, size_t errlen)
{
    size_t first = m->n, i = 0, entry = 0;
    long line = 1;
    while (i <= n) {
        size_t j = i;
        while (j < n && text[j] != '\n' && (file || text[j] != ','))
            j++;
        char where[512];
        entry++;
        if (file)
            snprintf(where, sizeof where, "%s:%ld", file, line);
        else
            snprintf(where, sizeof where, "mapping entry %zu", entry);
        int rc = mapping_entry(m, first, text + i, j - i, where, err, errlen);
        if (rc < 0) {
            while (m->n > first) {
                m->n--;
                free((char *)m->canonical[m->n]);
                free((char *)m->source[m->n]);
                m->canonical[m->n] = m->source[m->n] = NULL;
            }
            return rc;
        }
        if (j < n && text[j] == '\n')
            line++;
        i = j + 1;
    }
    return 0;
}

int up_mapping_parse(up_mapping_t *m, const char *spec, char *err, size_t errlen)
{
    return mapping_text(m, spec, strlen(spec), NULL, err, errlen);
}

int up_mapping_load(up_mapping_t *m, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -UP_EIO;
    }
    up_buf_t text = {0};
    char chunk[8192];
    size_t got;
    int rc = 0;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = up_buf_append(&text, chunk, got)) < 0)
            break;
    if (rc == 0 && ferror(f))
        rc = -UP_EIO;
    fclose(f);
    if (rc < 0) {
        set_err(err, errlen, "%s: %s", path, up_strerror(rc));
        up_buf_free(&text);
        return rc;
    }
    rc = mapping_text(m, text.data ? text.data : "", text.len, path, err, errlen);
    up_buf_free(&text);
    return rc;
}

/* ------------------------------------------------------------ byte source */

/* Makes room for and reads more input after buf[end]. Moves the unconsumed
 * bytes to the front first, and doubles the buffer only when a single record
 * fills it. Returns 0 (r->eof set at end of input) or -UP_EIO. */
static int refill(up_reader_t *r, char *err, size_t errlen)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->cap - 1 - r->end < CHUNK / 2) {
        size_t cap = r->cap * 2;
        char *p = realloc(r->buf, cap + PAD);
        if (!p) {
            set_err(err, errlen, "%s: out of memory", r->path);
            return -UP_ENOMEM;
        }
        r->buf = p;
        r->cap = cap;
    }
    size_t want = r->cap - 1 - r->end;
    for (;;) {
        ssize_t got;
        if (r->gz) {
            got = gzread(r->gz, r->buf + r->end, want > INT32_MAX ? INT32_MAX : (unsigned)want);
            if (got < 0) {
                int zerr;
                const char *msg = gzerror(r->gz, &zerr);
                set_err(err, errlen, "%s: gzip: %s", r->path, msg);
                return -UP_EIO;
            }
            if (got == 0) {
                int zerr;
                const char *msg = gzerror(r->gz, &zerr);
                if (zerr != Z_OK) { /* e.g. a truncated file: "unexpected end of file" */
                    set_err(err, errlen, "%s: gzip: %s", r->path, msg);
                    return -UP_EIO;
                }
            }
            r->consumed = (uint64_t)gzoffset(r->gz);
        } else {
            got = read(r->fd, r->buf + r->end, want);
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                set_err(err, errlen, "%s: %s", r->path, strerror(errno));
                return -UP_EIO;
            }
            r->consumed += (uint64_t)got;
        }
        if (got == 0)
            r->eof = true;
        if (r->cr_only)
            for (char *p = r->buf + r->end; (p = memchr(p, '\r', (size_t)(r->buf + r->end + got - p))); p++)
                *p = '\n';
        r->end += (size_t)got;
        memset(r->buf + r->end, 0, PAD + 1);
        return 0;
    }
}

/* Where skip_rest_of_line is in a CSV record's quoting (RFC 4180, as
 * split_quoted reads it): a quote opens a quoted field only as the field's
 * first byte, and inside one "" is a quote and a newline is data. */
enum { SKIP_FIELD_START, SKIP_UNQUOTED, SKIP_QUOTED, SKIP_QUOTE_IN_QUOTED };

/* The end of the record in s[0..n) for the CSV quoting state *state: the
 * offset of the newline that ends it, or n (with *state updated and
 * *newlines counting the newlines inside quoted fields) when it goes on. */
static size_t csv_record_end(const char *s, size_t n, int *state, long *newlines)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        switch (*state) {
        case SKIP_QUOTED:
            if (ch == '"')
                *state = SKIP_QUOTE_IN_QUOTED;
            else if (ch == '\n')
                (*newlines)++;
            continue;
        case SKIP_QUOTE_IN_QUOTED:
            if (ch == '"') {
                *state = SKIP_QUOTED;
                continue;
            }
            break;
        case SKIP_FIELD_START:
            if (ch == '"') {
                *state = SKIP_QUOTED;
                continue;
            }
            break;
        default:
            break;
        }
        if (ch == '\n')
            return i;
        *state = ch == ',' ? SKIP_FIELD_START : SKIP_UNQUOTED;
    }
    return n;
}

/* Drops bytes up to and including the newline that ends the record at
 * buf[start] (for CSV, the first newline outside quotes; for JSON lines the
 * next newline). Returns 0 when done (or at end of input), or a refill error. */
static int skip_rest_of_line(up_reader_t *r, char *err, size_t errlen)
{
    while (r->skip_line) {
        char *s = r->buf + r->start;
        size_t n = r->end - r->start, end;
        long newlines = 0;
        if (r->format == FMT_CSV) {
            end = csv_record_end(s, n, &r->skip_state, &newlines);
        } else {
            char *nl = memchr(s, '\n', n);
            end = nl ? (size_t)(nl - s) : n;
        }
        r->line += newlines;
        if (end < n) {
            r->start += end + 1;
            r->line++;
            r->skip_line = false;
            break;
        }
        r->start = r->end;
        if (r->eof) {
            r->skip_line = false;
            break;
        }
        int rc = refill(r, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Reports an over-long record that starts at buf[start] and resumes after
 * it: one reject, however many lines the record spans. */
static int too_long(up_reader_t *r, up_record_t *rec, char *err, size_t errlen)
{
    rec->line = r->line;
    r->skip_line = true;
    r->skip_state = SKIP_FIELD_START;
    int rc = skip_rest_of_line(r, err, errlen);
    if (rc < 0)
        return rc;
    if (r->start >= r->end && r->eof && r->skip_state == SKIP_QUOTED)
        set_err(err, errlen, "line %ld: record longer than %u MiB (a quote that never closes?);"
                " skipped to the end of the input", rec->line, MAX_RECORD >> 20);
    else
        set_err(err, errlen, "line %ld: record longer than %u MiB; skipped, reading on at line %ld", rec->line,
                MAX_RECORD >> 20, r->line);
    return -UP_EPARSE;
}

/* --------------------------------------------------------------------- CSV */

static int spans_reserve(up_reader_t *r, size_t n)
{
    if (n <= r->span_cap)
        return 0;
    size_t cap = r->span_cap ? r->span_cap : 16;
    while (cap < n)
        cap *= 2;
    span_t *p = realloc(r->spans, cap * sizeof *p);
    if (!p)
        return -UP_ENOMEM;
    r->spans = p;
    r->span_cap = cap;
    return 0;
}

/* A bit per byte of p[0..16) that is a comma or a newline. The 16 bytes are
 * always readable: the buffer keeps PAD zero bytes after its data. */
static inline unsigned delim_mask(const char *p)
{
#ifdef __SSE2__
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')),
                               _mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
    return (unsigned)_mm_movemask_epi8(hit);
#else
    unsigned m = 0;
    for (unsigned k = 0; k < 16; k++)
        m |= (unsigned)(p[k] == ',' || p[k] == '\n') << k;
    return m;
#endif
}

/* The index of the first comma or newline in s[from, avail), or avail. */
static size_t find_delim(const char *s, size_t from, size_t avail)
{
    for (size_t base = from; base < avail; base += 16) {
        unsigned mask = delim_mask(s + base);
        if (avail - base < 16)
            mask &= (1u << (avail - base)) - 1;
        if (mask)
            return base + (size_t)__builtin_ctz(mask);
    }
    return avail;
}

static int add_span(up_reader_t *r, size_t *n, size_t off, size_t len, bool raw)
{
    if (*n == r->span_cap && spans_reserve(r, *n + 1) < 0)
        return -UP_ENOMEM;
    r->spans[*n] = (span_t){off, len, raw};
    (*n)++;
    return 0;
}

/* The fast path: splits the line at s (avail bytes buffered) into r->spans
 * at commas, 16 bytes at a time, without modifying it. Returns the field
 * count with *len the line's length before its newline; NO_NEWLINE if the
 * line may continue past the buffered bytes; HAS_QUOTE if a field starts
 * with a quote (the caller takes the RFC 4180 path); or -UP_ENOMEM. A CR
 * before the newline is left out of the last field. */
static long split_line(up_reader_t *r, const char *s, size_t avail, size_t *len)
{
    size_t n = 0, field = 0;
    if (s[0] == '"')
        return HAS_QUOTE;
    for (size_t base = 0; base < avail; base += 16) {
        unsigned mask = delim_mask(s + base);
        if (avail - base < 16)
            mask &= (1u << (avail - base)) - 1;
        while (mask) {
            size_t i = base + (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            if (n == r->span_cap && spans_reserve(r, n + 1) < 0)
                return -UP_ENOMEM;
            r->spans[n].off = field;
            r->spans[n].len = i - field;
            r->spans[n].raw = false;
            n++;
            field = i + 1;
            if (s[i] == '\n') {
                *len = i;
                goto line_end;
            }
            if (s[field] == '"') /* s[avail] is readable padding */
                return HAS_QUOTE;
        }
    }
    if (!r->eof)
        return NO_NEWLINE;
    /* the last line of the input, without a newline */
    if (add_span(r, &n, field, avail - field, false) < 0)
        return -UP_ENOMEM;
    *len = avail;
line_end:
    if (*len > 0 && s[*len - 1] == '\r' && r->spans[n - 1].len > 0)
        r->spans[n - 1].len--;
    return (long)n;
}

/* The RFC 4180 path, for records with quoted fields. A quote opens a quoted
 * field only as the field's first byte (elsewhere it is an ordinary byte);
 * inside, "" is a literal quote and commas and newlines are data. Text after
 * the closing quote is kept, as Python's csv module does. Like split_line it
 * leaves the buffer untouched, so that running out of input (NO_NEWLINE)
 * just means "refill and scan again": fields needing rewriting are marked
 * raw and unquoted in place by unquote_field once the record is complete.
 * Also sets *newlines to the newlines inside quoted fields. Returns the field
 * count, NO_NEWLINE, UNTERMINATED (at end of input) or -UP_ENOMEM. */
static long split_quoted(up_reader_t *r, const char *s, size_t avail, size_t *len,
                         long *newlines)
{
    size_t n = 0, i = 0;
    *newlines = 0;
    for (;;) {
        size_t field = i, stop;
        bool raw = false;
        if (i < avail && s[i] == '"') {
            size_t j = i + 1, close;
            for (;;) {
                const char *q = memchr(s + j, '"', avail - j);
                if (!q)
                    return r->eof ? UNTERMINATED : NO_NEWLINE;
                close = (size_t)(q - s);
                if (close + 1 == avail && !r->eof)
                    return NO_NEWLINE; /* "" or the end: cannot tell yet */
                if (close + 1 < avail && s[close + 1] == '"') {
                    raw = true;
                    j = close + 2;
                    continue;
                }
                break;
            }
            for (const char *p = s + i + 1; (p = memchr(p, '\n', (size_t)(s + close - p))); p++)
                (*newlines)++;
            i = close + 1;
            bool crlf = i + 1 < avail && s[i] == '\r' && s[i + 1] == '\n';
            if (i < avail && s[i] != ',' && s[i] != '\n' && !crlf) {
                raw = true; /* text after the closing quote */
                i = find_delim(s, i, avail);
            }
            stop = i;
            if (!raw) {
                field++;    /* just the text between the quotes */
                stop = close;
            }
            if (crlf)
                i++;
        } else {
            i = stop = find_delim(s, i, avail);
        }
        if (i == avail && !r->eof)
            return NO_NEWLINE;
        bool last = i == avail || s[i] == '\n';
        if (last && stop > field && stop == i && s[stop - 1] == '\r')
            stop--; /* CRLF after an unquoted (or raw) last field */
        if (add_span(r, &n, field, stop - field, raw) < 0)
            return -UP_ENOMEM;
        if (last) {
            *len = i;
            return (long)n;
        }
        i++; /* the comma */
    }
}

/* Rewrites a raw quoted field in place: drops the enclosing quotes, turns ""
 * into ", keeps any text after the closing quote. Returns the new length. */
static size_t unquote_field(char *f, size_t len)
{
    size_t i = 1, w = 0;
    while (i < len) {
        char c = f[i++];
        if (c == '"') {
            if (i < len && f[i] == '"')
                i++;
            else
                break;
        }
        f[w++] = c;
    }
    while (i < len)
        f[w++] = f[i++];
    return w;
}

/* Reads the next non-empty CSV record into r->spans. Returns the field
 * count (>0), 0 at end of input, or a negative error. *rec_start is the
 * record's offset in buf, *rec_line its first line. */
static long csv_record(up_reader_t *r, size_t *rec_start, long *rec_line, up_record_t *out,
                       char *err, size_t errlen)
{
    for (;;) {
        if (r->skip_line) {
            int rc = skip_rest_of_line(r, err, errlen);
            if (rc < 0)
                return rc;
        }
        char *s = r->buf + r->start;
        size_t avail = r->end - r->start;
        if (avail == 0 && r->eof)
            return 0;
        size_t len = 0;
        long newlines = 0;
        long n = avail ? split_line(r, s, avail, &len) : NO_NEWLINE;
        if (n == HAS_QUOTE)
            n = split_quoted(r, s, avail, &len, &newlines);
        if (n == NO_NEWLINE) {
            if (avail >= MAX_RECORD)
                return too_long(r, out, err, errlen);
            int rc = refill(r, err, errlen);
            if (rc < 0)
                return rc;
            continue;
        }
        if (n == -UP_ENOMEM)
            return n;
        out->line = *rec_line = r->line;
        *rec_start = r->start;
        if (n == UNTERMINATED) {
            /* only known at the end of input: report it, resume at the next line */
            set_err(err, errlen, "line %ld: unterminated quoted field", r->line);
            char *nl = memchr(s, '\n', avail);
            r->start = nl ? (size_t)(nl - r->buf) + 1 : r->end;
            r->line++;
            return -UP_EPARSE;
        }
        for (long k = 0; k < n; k++)
            if (r->spans[k].raw)
                r->spans[k].len = unquote_field(s + r->spans[k].off, r->spans[k].len);
        r->start += len + (len < avail); /* and the newline, if there is one */
        r->line += 1 + newlines;
        if (n > 1 || !(len == 0 || (len == 1 && s[0] == '\r')))
            return n;
        /* an empty line (or just a CR): skip it */
    }
}

static int csv_next(up_reader_t *r, up_record_t *rec, char *err, size_t errlen)
{
    size_t at;
    long line;
    long n = csv_record(r, &at, &line, rec, err, errlen);
    if (n <= 0)
        return (int)n;
    if ((size_t)n != r->n_cols) {
        set_err(err, errlen, "line %ld: expected %zu fields, got %ld", line, r->n_cols, n);
        return -UP_EPARSE;
    }
    char *base = r->buf + at;
    for (long k = 0; k < n; k++)
        base[r->spans[k].off + r->spans[k].len] = '\0';
    rec->kind = UP_MSG_ROW;
    rec->traits_json = NULL;
    for (size_t i = 0; i < r->n_fields; i++) {
        int col = r->fields[i].col;
        if (col >= 0 && r->spans[col].len) {
            rec->val[i] = base + r->spans[col].off;
            rec->len[i] = r->spans[col].len;
        } else {
            rec->val[i] = NULL;
            rec->len[i] = 0;
        }
    }
    return 1;
}

/* Reads the header row and resolves each requested field to a column. */
static int csv_header(up_reader_t *r, char *err, size_t errlen)
{
    size_t at;
    long line;
    up_record_t tmp;
    char sub[256];
    long n = csv_record(r, &at, &line, &tmp, sub, sizeof sub);
    if (n == 0) {
        set_err(err, errlen, "%s: no header row", r->path);
        return -UP_EPARSE;
    }
    if (n < 0) {
        set_err(err, errlen, "%s: header: %s", r->path, sub);
        return (int)(n == -UP_EIO || n == -UP_ENOMEM ? n : -UP_EPARSE);
    }
    r->cols = calloc((size_t)n + 1, sizeof *r->cols);
    if (!r->cols)
        goto oom;
    r->n_cols = (size_t)n;
    for (long k = 0; k < n; k++) {
        size_t len = r->spans[k].len;
        const char *name = trim_span(r->buf + at + r->spans[k].off, &len);
        if (!(r->cols[k] = up_strndup(name, len)))
            goto oom;
        for (long j = 0; j < k && len; j++)
            if (strcmp(r->cols[j], r->cols[k]) == 0) {
                set_err(err, errlen, "%s: header: column \"%s\" appears twice (columns %ld and %ld)", r->path,
                        r->cols[k], j + 1, k + 1);
                return -UP_EPARSE;
            }
    }
    for (size_t i = 0; i < r->n_fields; i++) {
        r->fields[i].col = -1;
        for (size_t k = 0; k < r->n_cols; k++)
            if (strcmp(r->cols[k], r->fields[i].source) == 0) {
                r->fields[i].col = (int)k;
                break;
            }
    }
    return spans_reserve(r, r->n_cols + 1) < 0 ? -UP_ENOMEM : 0;
oom:
    set_err(err, errlen, "%s: out of memory", r->path);
    return -UP_ENOMEM;
}

/* ------------------------------------------------------------------- JSONL */

/* Segment's message types, in up_msg_kind_t order from UP_MSG_TRACK. */
static const char *const seg_types[] = {"track", "page", "screen", "identify", "group", "alias"};

static up_msg_kind_t json_kind(json_t *o)
{
    json_t *type = json_object_get(o, "type");
    bool who = json_object_get(o, "userId") || json_object_get(o, "anonymousId");
    if (json_is_string(type)) {
        const char *t = json_string_value(type);
        for (size_t k = 0; k < sizeof seg_types / sizeof *seg_types; k++)
            if (strcmp(t, seg_types[k]) == 0)
                return (up_msg_kind_t)(UP_MSG_TRACK + k);
        /* an unknown type is a Segment message only if it names a sender;
         * otherwise "type" is just a column of a plain object */
        return who || json_object_get(o, "messageId") ? UP_MSG_OTHER : UP_MSG_ROW;
    }
    if (!type && who) {
        if (json_object_get(o, "event"))
            return UP_MSG_TRACK;
        if (json_object_get(o, "groupId"))
            return UP_MSG_GROUP;
        if (json_object_get(o, "traits"))
            return UP_MSG_IDENTIFY;
    }
    return UP_MSG_ROW;
}

static json_t *get2(json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

/* A mapped source: the key as written, else the dot path. */
static json_t *get_path(json_t *o, const field_t *f)
{
    json_t *v = json_object_get(o, f->source);
    if (v || f->path_len < 2)
        return v;
    for (size_t k = 0; k < f->path_len && o; k++)
        o = json_object_get(o, f->path[k]);
    return o;
}

static bool present(json_t *v)
{
    return v && !json_is_null(v);
}

/* The traits object of a message: identify has "traits" (Rudder also copies
 * them to "context.traits"), group has "traits". */
static json_t *traits_of(json_t *o, up_msg_kind_t kind)
{
    json_t *t = json_object_get(o, "traits");
    if (!json_is_object(t) && kind != UP_MSG_GROUP)
        t = get2(o, "context", "traits");
    return json_is_object(t) ? t : NULL;
}

/* Resolves an unmapped canonical field of a Segment message. *constant is
 * set instead for the synthetic page_view/screen_view events. */
static json_t *seg_field(json_t *o, up_msg_kind_t kind, json_t *traits, const field_t *f,
                         const char **constant)
{
    json_t *v = NULL;
    switch (f->seg) {
    case SEG_TS: {
        static const char *const keys[] = {"timestamp", "originalTimestamp", "receivedAt", "sentAt"};
        for (size_t k = 0; k < 4 && !present(v); k++)
            v = json_object_get(o, keys[k]);
        return v;
    }
    case SEG_USER:
        v = json_object_get(o, "userId");
        return present(v) ? v : json_object_get(o, "anonymousId");
    case SEG_ACCOUNT:
        if (kind == UP_MSG_GROUP && present(v = json_object_get(o, "groupId")))
            return v;
        return get2(o, "context", "groupId");
    case SEG_EVENT:
        if (kind == UP_MSG_PAGE)
            *constant = "page_view";
        else if (kind == UP_MSG_SCREEN)
            *constant = "screen_view";
        else if (kind == UP_MSG_TRACK)
            return json_object_get(o, "event");
        return NULL;
    case SEG_MESSAGE_ID:
        return json_object_get(o, "messageId");
    case SEG_TRAIT:
        if (kind != UP_MSG_GROUP)
            break; /* outside group messages these names are ordinary fields */
        /* fall through */
    case SEG_USER_TRAIT:
        v = json_object_get(traits, f->alt[0]);
        if (!present(v) && f->alt[1])
            v = json_object_get(traits, f->alt[1]);
        return v;
    default:
        break;
    }
    if (present(v = json_object_get(o, f->name)))
        return v;
    if (present(v = get2(o, "properties", f->name)))
        return v;
    if (present(v = get2(o, "traits", f->name)))
        return v;
    return json_object_get(get2(o, "context", "traits"), f->name);
}

static int dump_cb(const char *p, size_t n, void *data)
{
    return up_buf_append(data, p, n) < 0 ? -1 : 0;
}

/* Converts a JSON value to text: a pointer into the document for strings, or
 * an offset into r->scratch (*off, with *in_scratch set) for everything else. */
static int json_text(up_reader_t *r, json_t *v, const char **p, size_t *len, size_t *off,
                     bool *in_scratch)
{
    *in_scratch = false;
    *p = NULL;
    *len = 0;
    if (json_is_string(v)) {
        *p = json_string_value(v);
        *len = json_string_length(v);
        return 0;
    }
    if (!v || json_is_null(v))
        return 0;
    char num[40];
    const char *text = num;
    size_t start = r->scratch.len;
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        /* the shortest digits that read back to the same double */
        up_fmt_double(num, sizeof num, json_real_value(v));
    } else if (json_is_true(v)) {
        text = "true";
    } else if (json_is_false(v)) {
        text = "false";
    } else {
        if (json_dump_callback(v, dump_cb, &r->scratch, JSON_COMPACT) < 0)
            return -UP_ENOMEM;
        text = NULL;
    }
    if (text && up_buf_append(&r->scratch, text, strlen(text)) < 0)
        return -UP_ENOMEM;
    if (up_buf_append(&r->scratch, "", 1) < 0) /* keep each value NUL-terminated */
        return -UP_ENOMEM;
    *off = start;
    *len = r->scratch.len - start - 1;
    *in_scratch = true;
    return 0;
}

static int json_next(up_reader_t *r, up_record_t *rec, char *err, size_t errlen)
{
    json_decref(r->root);
    r->root = NULL;
    for (;;) {
        if (r->skip_line) {
            int rc = skip_rest_of_line(r, err, errlen);
            if (rc < 0)
                return rc;
        }
        char *s = r->buf + r->start;
        size_t avail = r->end - r->start;
        char *nl = memchr(s, '\n', avail);
        if (!nl && !r->eof) {
            if (avail >= MAX_RECORD)
                return too_long(r, rec, err, errlen);
            int rc = refill(r, err, errlen);
            if (rc < 0)
                return rc;
            continue;
        }
        if (!nl && avail == 0)
            return 0;
        size_t len = nl ? (size_t)(nl - s) : avail;
        long line = r->line;
        r->start += len + (nl != NULL);
        r->line++;
        size_t blank = 0;
        while (blank < len && (is_blank(s[blank]) || s[blank] == '\r'))
            blank++;
        if (blank == len)
            continue;
        rec->line = line;
        json_error_t jerr;
        r->root = json_loadb(s, len, 0, &jerr);
        if (!r->root) {
            set_err(err, errlen, "line %ld: invalid JSON: %s", line, jerr.text);
            return -UP_EPARSE;
        }
        if (!json_is_object(r->root)) {
            set_err(err, errlen, "line %ld: invalid JSON: expected an object", line);
            json_decref(r->root);
            r->root = NULL;
            return -UP_EPARSE;
        }
        break;
    }

    json_t *o = r->root;
    up_msg_kind_t kind = json_kind(o);
    json_t *traits = kind == UP_MSG_ROW ? NULL : traits_of(o, kind);
    size_t off[UP_READER_MAX_FIELDS];
    bool in_scratch[UP_READER_MAX_FIELDS];
    up_buf_reset(&r->scratch);
    for (size_t i = 0; i < r->n_fields; i++) {
        const field_t *f = &r->fields[i];
        const char *constant = NULL;
        json_t *v;
        if (f->mapped)
            v = get_path(o, f);
        else if (kind == UP_MSG_ROW)
            v = json_object_get(o, f->name);
        else
            v = seg_field(o, kind, traits, f, &constant);
        if (constant) {
            rec->val[i] = constant;
            rec->len[i] = strlen(constant);
            in_scratch[i] = false;
            continue;
        }
        if (json_text(r, v, &rec->val[i], &rec->len[i], &off[i], &in_scratch[i]) < 0)
            goto oom;
    }
    size_t traits_off = 0;
    bool has_traits = (kind == UP_MSG_IDENTIFY || kind == UP_MSG_GROUP) && traits;
    if (has_traits) {
        traits_off = r->scratch.len;
        if (json_dump_callback(traits, dump_cb, &r->scratch, JSON_COMPACT) < 0 ||
            up_buf_append(&r->scratch, "", 1) < 0)
            goto oom;
    }
    /* scratch may have moved while growing: resolve offsets only now */
    for (size_t i = 0; i < r->n_fields; i++) {
        if (in_scratch[i])
            rec->val[i] = r->scratch.data + off[i];
        if (rec->len[i] == 0)
            rec->val[i] = NULL;
    }
    rec->traits_json = has_traits ? r->scratch.data + traits_off : NULL;
    rec->kind = kind;
    return 1;
oom:
    set_err(err, errlen, "line %ld: out of memory", rec->line);
    return -UP_ENOMEM;
}

/* --------------------------------------------------------------- open/close */

/* Canonical names with a Segment default other than the generic search. */
static void seg_role(field_t *f)
{
    static const struct {
        const char *name;
        int seg;
        const char *alt0, *alt1;
    } roles[] = {
        {"ts", SEG_TS, NULL, NULL},
        {"user_id", SEG_USER, NULL, NULL},
        {"account_id", SEG_ACCOUNT, NULL, NULL},
        {"event", SEG_EVENT, NULL, NULL},
        {"message_id", SEG_MESSAGE_ID, NULL, NULL},
        {"created_at", SEG_USER_TRAIT, "createdAt", "created_at"},
        {"role", SEG_USER_TRAIT, "role", NULL},
        {"name", SEG_TRAIT, "name", NULL},
        {"seats", SEG_TRAIT, "seats", NULL},
        {"plan", SEG_TRAIT, "plan", NULL},
        {"segment", SEG_TRAIT, "segment", NULL},
        {"owner", SEG_TRAIT, "owner", NULL},
        {"arr", SEG_TRAIT, "arr", NULL},
        {"contract_start", SEG_TRAIT, "contract_start", "contractStart"},
        {"renewal_date", SEG_TRAIT, "renewal_date", "renewalDate"},
    };
    f->seg = SEG_GENERIC;
    for (size_t k = 0; k < sizeof roles / sizeof *roles; k++)
        if (strcmp(f->name, roles[k].name) == 0) {
            f->seg = roles[k].seg;
            f->alt[0] = roles[k].alt0;
            f->alt[1] = roles[k].alt1;
            return;
        }
}

/* Splits f->source at dots into f->path. */
static int split_path(field_t *f)
{
    size_t parts = 1;
    for (const char *p = f->source; *p; p++)
        parts += *p == '.';
    f->path = calloc(parts, sizeof *f->path);
    if (!f->path)
        return -UP_ENOMEM;
    const char *p = f->source;
    for (size_t k = 0; k < parts; k++) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!(f->path[k] = up_strndup(p, n)))
            return -UP_ENOMEM;
        f->path_len = k + 1;
        p += n + 1;
    }
    return 0;
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* A mapped source may end with ":money" or ":date:FORMAT" (docs/cli.md,
 * "Column mapping"): the conversion is taken off the source name into f. */
static int conv_of(field_t *f)
{
    size_t n = strlen(f->source);
    if (n > 6 && strcmp(f->source + n - 6, ":money") == 0) {
        f->conv = CONV_MONEY;
        f->source[n - 6] = '\0';
        return 0;
    }
    char *d = strstr(f->source, ":date:");
    if (d && d > f->source && d[6]) {
        if (!(f->conv_fmt = up_strdup(d + 6)))
            return -1;
        f->conv = CONV_DATE;
        *d = '\0';
    }
    return 0;
}

size_t up_reader_money(const char *v, size_t len, char *out, size_t cap)
{
    char digits[64];
    size_t n = 0;
    int neg = 0, any = 0;
    /* keep digits and separators; currency signs, codes and spaces go */
    for (size_t i = 0; i < len; i++) {
        char ch = v[i];
        if (ch >= '0' && ch <= '9') {
            any = 1;
        } else if (ch == '-' || ch == '(') {
            neg = 1;
            continue;
        } else if (ch != ',' && ch != '.')
            continue;
        if (n + 1 >= sizeof digits)
            return 0;
        digits[n++] = ch;
    }
    digits[n] = '\0';
    if (!any)
        return 0;
    /* the decimal separator: the later of ',' and '.' when both appear; a
     * lone kind is thousands when it repeats or has exactly 3 digits after it */
    char *lc = strrchr(digits, ','), *ld = strrchr(digits, '.'), dec = 0;
    if (lc && ld)
        dec = lc > ld ? ',' : '.';
    else if (lc || ld) {
        char *last = lc ? lc : ld, sep = *last;
        char *firstp = strchr(digits, sep);
        dec = firstp != last || strlen(last + 1) == 3 ? 0 : sep;
    }
    size_t o = 0;
    if (neg && o + 1 < cap)
        out[o++] = '-';
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (digits[i] == dec)
            out[o++] = '.';
        else if (digits[i] >= '0' && digits[i] <= '9')
            out[o++] = digits[i];
    }
    if (o + 1 >= cap)
        return 0;
    out[o] = '\0';
    return o;
}

size_t up_reader_date(const char *v, size_t len, const char *fmt, char *out, size_t cap)
{
    char in[64];
    if (len >= sizeof in)
        return 0;
    memcpy(in, v, len);
    in[len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_mday = 1;
    const char *end = strptime(in, fmt, &tm);
    while (end && *end == ' ')
        end++;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = tm.tm_year + 1900;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (!end || *end || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > mdays[tm.tm_mon] ||
        (tm.tm_mon == 1 && tm.tm_mday == 29 && !leap))
        return 0;   /* strptime takes 31/02: a day the month does not have is no date */
    int timed = strstr(fmt, "%H") || strstr(fmt, "%T") || strstr(fmt, "%R");
    int n = timed ? snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                             tm.tm_hour, tm.tm_min, tm.tm_sec)
                  : snprintf(out, cap, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A byte-order mark of UTF-16 (FF FE, FE FF), or text whose first code
 * units have a zero byte every other byte (ASCII in UTF-16 without one). */
static bool looks_utf16(const unsigned char *p, size_t n)
{
    if (n >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF)))
        return true;
    if (n < 4)
        return false;
    size_t pairs = n / 2 < 8 ? n / 2 : 8, le = 0, be = 0;
    for (size_t k = 0; k < pairs; k++) {
        le += p[2 * k] && !p[2 * k + 1];
        be += !p[2 * k] && p[2 * k + 1];
    }
    return le == pairs || be == pairs;
}

/* Old Mac text ends its lines with a lone CR: when the first line ending
 * in the buffer is a CR not followed by LF, every CR is read as a newline
 * (here for the bytes buffered, in refill for the rest). */
static void sniff_cr_only(up_reader_t *r)
{
    char *s = r->buf + r->start;
    size_t n = r->end - r->start;
    char *cr = memchr(s, '\r', n), *nl = memchr(s, '\n', n);
    if (!cr || (nl && nl < cr) || (cr + 1 < s + n && cr[1] == '\n') || (cr + 1 == s + n && !r->eof))
        return;
    r->cr_only = true;
    for (char *p = cr; (p = memchr(p, '\r', (size_t)(s + n - p))); p++)
        *p = '\n';
}

/* up_reader_open, or up_reader_open_fd when fd >= 0 (path is then only the
 * name in messages; fd is the reader's from here on, closed on failure). */
static int reader_open(up_reader_t **out, const char *path, int fd, const char *const *fields,
                       size_t n_fields, const up_mapping_t *map, char *err, size_t errlen)
{
    *out = NULL;
    up_reader_t *r = n_fields > UP_READER_MAX_FIELDS ? NULL : calloc(1, sizeof *r);
    if (!r) {
        if (fd >= 0)
            close(fd);
        if (n_fields > UP_READER_MAX_FIELDS)
            set_err(err, errlen, "%s: more than %d fields requested", path, UP_READER_MAX_FIELDS);
        else
            set_err(err, errlen, "%s: out of memory", path);
        return n_fields > UP_READER_MAX_FIELDS ? -UP_EINVAL : -UP_ENOMEM;
    }
    r->fd = fd;
    r->line = 1;
    int rc = -UP_ENOMEM;
    if (!(r->path = up_strdup(path)))
        goto oom;
    r->n_fields = n_fields;
    for (size_t i = 0; i < n_fields; i++) {
        field_t *f = &r->fields[i];
        f->name = fields[i];
        f->col = -1;
        const char *src = fields[i];
        for (size_t k = 0; map && k < map->n; k++)
            if (strcmp(map->canonical[k], fields[i]) == 0) {
                src = map->source[k];
                f->mapped = true;
                break;
            }
        if (!(f->source = up_strdup(src)))
            goto oom;
        if (f->mapped && conv_of(f) < 0)
            goto oom;
        if (split_path(f) < 0)
            goto oom;
        seg_role(f);
    }

    if (r->fd < 0)
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (r->fd < 0 || fstat(r->fd, &st) < 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        rc = -UP_EIO;
        goto fail;
    }
    r->size = (uint64_t)st.st_size;
    r->cap = (size_t)CHUNK * 2 + 1;
    if (!(r->buf = malloc(r->cap + PAD)))
        goto oom;

    /* gzip is recognised by its magic bytes, whatever the name says */
    unsigned char magic[2];
    ssize_t got = pread(r->fd, magic, 2, 0);
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        if (!(r->gz = gzdopen(r->fd, "rb")))
            goto oom;
        r->fd = -1; /* now owned by gz */
        gzbuffer(r->gz, 1u << 20);
    }

    size_t plen = strlen(path);
    if (has_suffix(path, plen, ".gz"))
        plen -= 3;
    if (has_suffix(path, plen, ".csv"))
        r->format = FMT_CSV;
    else if (has_suffix(path, plen, ".jsonl") || has_suffix(path, plen, ".ndjson") ||
             has_suffix(path, plen, ".json"))
        r->format = FMT_JSONL;
    else
        r->format = -1;

    /* Fill until there is something to sniff (or the input ends). */
    size_t at;
    for (;;) {
        if ((rc = refill(r, err, errlen)) < 0)
            goto fail;
        const char *s = r->buf;
        at = r->end >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        while (at < r->end && (is_blank(s[at]) || s[at] == '\r' || s[at] == '\n'))
            at++;
        if (at < r->end || r->eof || r->end >= MAX_RECORD)
            break;
    }
    if (looks_utf16((const unsigned char *)r->buf, r->end)) {
        set_err(err, errlen, "%s: looks like UTF-16; save it as UTF-8", path);
        rc = -UP_EPARSE;
        goto fail;
    }
    if (r->end >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
        r->start = 3;
    sniff_cr_only(r);
    if (r->format < 0)
        r->format = at < r->end && r->buf[at] == '{' ? FMT_JSONL : FMT_CSV;

    if (r->format == FMT_CSV && (rc = csv_header(r, err, errlen)) < 0)
        goto fail;
    *out = r;
    return 0;
oom:
    set_err(err, errlen, "%s: out of memory", path);
    rc = -UP_ENOMEM;
fail:
    up_reader_close(r);
    return rc;
}

/* A value is text: well-formed UTF-8 without NUL bytes (a NUL would cut
 * an id short wherever it is read back as a C string). */
static int check_text(const field_t *f, const up_record_t *rec, size_t i, char *err, size_t errlen)
{
    size_t bad = up_utf8_check(rec->val[i], rec->len[i]);
    if (bad == rec->len[i])
        return 0;
    if (rec->val[i][bad] == '\0')
        set_err(err, errlen, "line %ld: %s: contains a NUL byte (at byte %zu)", rec->line, f->name, bad + 1);
    else
        set_err(err, errlen, "line %ld: %s: not valid UTF-8 (byte 0x%02X at byte %zu); save the file as UTF-8",
                rec->line, f->name, (unsigned char)rec->val[i][bad], bad + 1);
    return -UP_EPARSE;
}

int up_reader_next(up_reader_t *r, up_record_t *rec, char *err, size_t errlen)
{
    int rc = r->format == FMT_CSV ? csv_next(r, rec, err, errlen) : json_next(r, rec, err, errlen);
    if (rc != 1)
        return rc;
    for (size_t i = 0; i < r->n_fields; i++) {
        field_t *f = &r->fields[i];
        if (rec->val[i] && (rc = check_text(f, rec, i, err, errlen)) < 0)
            return rc;
        if (f->conv == CONV_NONE || !rec->val[i])
            continue;
        size_t n = f->conv == CONV_MONEY ? up_reader_money(rec->val[i], rec->len[i], f->conv_out, sizeof f->conv_out)
                                         : up_reader_date(rec->val[i], rec->len[i], f->conv_fmt, f->conv_out,
                                                          sizeof f->conv_out);
        if (n) {   /* else the value stays as it was, and the check of its field rejects it by name */
            rec->val[i] = f->conv_out;
            rec->len[i] = n;
        }
    }
    return 1;
}

/* Header names compared as people write them: case, '_', '-' and spaces
 * ignored ("User ID" is user_id). */
static void loose(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 1 < cap; s++)
        if (*s != '_' && *s != '-' && *s != ' ')
            out[o++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
    out[o] = '\0';
}

/* Edit distance of a and b (Levenshtein), at most 64 bytes of each. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t na = strnlen(a, 64), nb = strnlen(b, 64), row[65];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[nb];
}

/* Whether every byte of a appears in b in order, starting with b's first
 * ("ts" in "timestamp"). */
static bool abbreviates(const char *a, const char *b)
{
    if (!*a || *a != *b)
        return false;
    for (; *b && *a; b++)
        a += *a == *b;
    return *a == '\0';
}

/* How far header column col is from the missing name want (both loose):
 * 0 the same name written differently, 1 an abbreviation or a prefix, then
 * 2 + the edit distance when that is small; -1 when it is no match. */
static long header_distance(const char *want, const char *col)
{
    if (!*col)
        return -1;
    if (strcmp(want, col) == 0)
        return 0;
    size_t nw = strlen(want), nc = strlen(col);
    if (abbreviates(want, col) || abbreviates(col, want) || strncmp(want, col, nw < nc ? nw : nc) == 0)
        return 1;
    size_t d = edit_distance(want, col);
    return d <= (nw > 6 ? nw / 3 : 2) ? 2 + (long)d : -1;
}

/* The header column closest to source that no requested field reads, or NULL. */
static const char *closest_column(const up_reader_t *r, const char *source)
{
    char want[128], col[128];
    loose(source, want, sizeof want);
    const char *best = NULL;
    long best_d = -1;
    for (size_t k = 0; k < r->n_cols; k++) {
        bool taken = false;
        for (size_t i = 0; i < r->n_fields; i++)
            taken |= r->fields[i].col == (int)k;
        loose(r->cols[k], col, sizeof col);
        long d = taken ? -1 : header_distance(want, col);
        if (d >= 0 && (best_d < 0 || d < best_d)) {
            best = r->cols[k];
            best_d = d;
        }
    }
    return best;
}

int up_reader_require(const up_reader_t *r, const char *names, char *err, size_t errlen)
{
    if (r->format != FMT_CSV)
        return 0;
    for (size_t i = 0; i < r->n_fields; i++) {
        const field_t *f = &r->fields[i];
        size_t n = strlen(f->name);
        const char *at = strstr(names, f->name);
        while (at && ((at > names && at[-1] != ' ') || (at[n] && at[n] != ' ')))
            at = strstr(at + 1, f->name);
        if (!at || f->col >= 0)
            continue;
        char mapped[160] = "", hint[160] = "";
        if (f->mapped)
            snprintf(mapped, sizeof mapped, " (mapped from %s)", f->name);
        const char *near = closest_column(r, f->source);
        if (near)
            snprintf(hint, sizeof hint, " (did you mean \"%.120s\"?)", near);
        set_err(err, errlen, "%s: header: no column \"%s\"%s%s", r->path, f->source, mapped, hint);
        return -UP_EPARSE;
    }
    return 0;
}

uint64_t up_reader_pos(const up_reader_t *r)
{
    return r->consumed;
}

uint64_t up_reader_size(const up_reader_t *r)
{
    return r->size;
}

const char *const *up_reader_columns(const up_reader_t *r, size_t *n)
{
    *n = r->n_cols;
    return r->format == FMT_CSV ? (const char *const *)r->cols : NULL;
}

void up_reader_close(up_reader_t *r)
{
    if (!r)
        return;
    if (r->gz)
        gzclose(r->gz);
    if (r->fd >= 0)
        close(r->fd);
    for (size_t i = 0; i < r->n_fields; i++) {
        free(r->fields[i].source);
        free(r->fields[i].conv_fmt);
        for (size_t k = 0; k < r->fields[i].path_len; k++)
            free(r->fields[i].path[k]);
        free(r->fields[i].path);
    }
    for (size_t k = 0; k < r->n_cols; k++)
        free(r->cols[k]);
    free(r->cols);
    free(r->spans);
    json_decref(r->root);
    up_buf_free(&r->scratch);
    free(r->buf);
    free(r->path);
    free(r);
}

int up_reader_open(up_reader_t **out, const char *path, const char *const *fields,
                   size_t n_fields, const up_mapping_t *map, char *err, size_t errlen)
{
    return reader_open(out, path, -1, fields, n_fields, map, err, errlen);
}

int up_reader_open_fd(up_reader_t **out, int fd, const char *name, const char *const *fields,
                      size_t n_fields, const up_mapping_t *map, char *err, size_t errlen)
{
    return reader_open(out, name, fd, fields, n_fields, map, err, errlen);
}
