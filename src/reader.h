/* reader: turns an input file (CSV with a header, or JSONL; either may be
 * gzip-compressed) into a stream of records whose fields are looked up by
 * uptake's canonical names through an optional column mapping.
 * Invariant: a record's strings stay valid until the next up_reader_next call;
 * the reader never stops at a bad record: it reports it and moves on. */
#ifndef UP_READER_H
#define UP_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define UP_READER_MAX_FIELDS 32

/* The Segment-style message kind of a JSONL record; UP_MSG_ROW for CSV rows
 * and for plain JSON objects that are not Segment messages. */
typedef enum {
    UP_MSG_ROW = 0,
    UP_MSG_TRACK,
    UP_MSG_PAGE,
    UP_MSG_SCREEN,
    UP_MSG_IDENTIFY,
    UP_MSG_GROUP,
    UP_MSG_ALIAS,
    UP_MSG_OTHER          /* a Segment message of an unknown type */
} up_msg_kind_t;

typedef struct {
    long line;                                   /* 1-based line where the record starts */
    up_msg_kind_t kind;
    /* One slot per requested canonical field, in the order given to
     * up_reader_open: val[i] is NULL when the field is absent or empty. */
    const char *val[UP_READER_MAX_FIELDS];
    size_t len[UP_READER_MAX_FIELDS];
    /* For Segment identify/group messages: the traits object serialised as
     * compact JSON (NUL-terminated), or NULL. */
    const char *traits_json;
} up_record_t;

/* A mapping from canonical field name to the source column (CSV) or key path
 * (JSON, dot-separated, e.g. "context.groupId"). */
typedef struct {
    const char *canonical[UP_READER_MAX_FIELDS];
    const char *source[UP_READER_MAX_FIELDS];
    size_t n;
} up_mapping_t;

/* Parses "a=b,c=d" into m (strings are copied into m's storage via strdup and
 * freed by up_mapping_free). Also accepts a mapping file: one "canonical = source"
 * per line, '#' comments. Returns 0 or -UP_EPARSE with a message in err.
 * m must be zeroed before the first call; each call adds to it, and a name
 * mapped by an earlier call is remapped (so --map overrides --map-file). */
int up_mapping_parse(up_mapping_t *m, const char *spec, char *err, size_t errlen);
int up_mapping_load(up_mapping_t *m, const char *path, char *err, size_t errlen);
void up_mapping_free(up_mapping_t *m);

/* A mapping's conversions (`arr=amount:money`, `start=signup:date:%d/%m/%Y`):
 * the value rewritten into out as uptake reads it — money as a plain
 * number ("$24,000" -> "24000", "24 000,50 €" -> "24000.50"), a date as
 * YYYY-MM-DD (or an ISO timestamp when the format has a time). Return the
 * length written, or 0 when the value does not read that way (it is then
 * left as it is, and its field's check rejects it by name). */
size_t up_reader_money(const char *v, size_t len, char *out, size_t cap);
size_t up_reader_date(const char *v, size_t len, const char *fmt, char *out, size_t cap);

typedef struct up_reader up_reader_t;

/* Opens path. Format: by extension after stripping ".gz" — ".csv" is CSV,
 * ".jsonl", ".ndjson" and ".json" are JSON lines; otherwise sniffed from the
 * first non-blank byte ('{' means JSONL). fields lists the canonical names the
 * caller wants (at most UP_READER_MAX_FIELDS); map (may be NULL) renames them.
 * For CSV, a required field absent from the header is not an error here: its
 * slot is always NULL and the caller decides. On failure returns -UP_EIO or
 * -UP_EPARSE with a message in err naming the file. */
int up_reader_open(up_reader_t **out, const char *path, const char *const *fields,
                   size_t n_fields, const up_mapping_t *map, char *err, size_t errlen);
/* The same on an open file descriptor (a file handed over by the CLI to the
 * server, docs/server.md): name stands for the file in every message; the
 * reader owns fd from here on (closed by up_reader_close, or on failure). */
int up_reader_open_fd(up_reader_t **out, int fd, const char *name, const char *const *fields,
                      size_t n_fields, const up_mapping_t *map, char *err, size_t errlen);

/* Checks that a CSV header has a column for each of names (canonical names,
 * space-separated; each must be one of the fields given to up_reader_open).
 * Returns 0 (always, for JSON lines), or -UP_EPARSE with one message for
 * the first missing column, naming the file, the column and the closest
 * unused column of the header: `FILE: header: no column "ts" (did you mean
 * "timestamp"?)`. The caller stops before reading any record. */
int up_reader_require(const up_reader_t *r, const char *names, char *err, size_t errlen);

/* Reads the next record. Returns 1 with *rec filled, 0 at end of input, or
 * -UP_EPARSE for a record that cannot be decoded at all (bad JSON, unterminated
 * quote, wrong column count): then err holds "line N: reason", rec->line is
 * set, and the next call continues after it. -UP_EIO on a read error (fatal). */
int up_reader_next(up_reader_t *r, up_record_t *rec, char *err, size_t errlen);

/* Bytes of the (compressed) input consumed so far and the file's size, for a
 * progress bar. */
uint64_t up_reader_pos(const up_reader_t *r);
uint64_t up_reader_size(const up_reader_t *r);

/* Names of the header columns of a CSV input (NULL for JSONL). */
const char *const *up_reader_columns(const up_reader_t *r, size_t *n);

void up_reader_close(up_reader_t *r);

#endif
