/* ingest: `uptake import`: reads CSV/JSONL files through the reader, validates
 * each record, stores the good ones (events in the log, CRM rows in SQLite)
 * and keeps every rejected one with its file, line, field and reason.
 * Invariant: a bad record never stops the import; every record read is
 * counted exactly once as stored, duplicate or rejected. */
#ifndef UP_INGEST_H
#define UP_INGEST_H

#include <stdint.h>

#include "reader.h"
#include "store.h"
#include "wire.h"

typedef enum {
    UP_IMPORT_EVENTS,
    UP_IMPORT_ACCOUNTS,
    UP_IMPORT_USERS,
    UP_IMPORT_SURVEYS,
    UP_IMPORT_SUBSCRIPTIONS,
    UP_IMPORT_OUTCOMES,
    UP_IMPORT_TICKETS,
    UP_IMPORT_MILESTONES,
    UP_IMPORT_CHURN,
    UP_IMPORT_KINDS
} up_import_kind_t;

/* Parses "events", "accounts", … ; returns -1 when unknown. */
int up_import_kind_parse(const char *s);
const char *up_import_kind_name(up_import_kind_t k);

typedef struct {
    uint64_t read, stored, duplicates, rejected;
    uint64_t stored_no_id;         /* of stored: events without a message id */
    uint64_t identifies, groups;   /* Segment-style JSONL: profile updates */
    uint64_t unmapped;             /* stored events of names the model maps to nothing */
    int partial;                   /* a read error stopped the file part-way */
    const char *reject_field;      /* the field of the last reject ("record": none) */
    char skipped_at[24];           /* events: the same file was imported in full then ("": read now) */
    uint64_t skipped_read, skipped_stored;   /* what that import read and stored */
} up_import_stats_t;

/* Called now and then with the bytes consumed and the file size. */
typedef void (*up_progress_fn)(void *ctx, uint64_t pos, uint64_t size);

/* Imports one file. Returns 0 when the file was read to its end (whatever
 * was rejected), or a negative UP_E* code with a message in err when the file
 * could not be opened, read or stored. A read error part-way (a truncated
 * .gz, an I/O error) returns -UP_EIO with st->partial set: the records read
 * before it are stored and committed, st counts them, and the import is
 * recorded, as for a file read to its end. The first few reject messages are
 * also written to `log` when it is not NULL. */
int up_ingest_file(up_store_t *s, up_import_kind_t kind, const char *path, unsigned flags,
                   const up_mapping_t *map, up_progress_fn progress, void *pctx,
                   FILE *log, up_import_stats_t *st, char *err, size_t errlen);
/* up_ingest_file with UP_INGEST_AGAIN unset: an events file whose identity
 * (its size and the SHA-256 of its first and last MiB) matches an events
 * import that finished and stored events without a message id is skipped,
 * st->skipped_at set: a re-run after an import that was killed after it
 * stored everything stores nothing twice (events with message ids are
 * de-duplicated by them anyway, and counted as duplicates). */
enum { UP_INGEST_AGAIN = 1 };
/* The same from an open file descriptor, named name in every message and in
 * the rejects and imports tables (the server's admin socket, docs/server.md);
 * takes fd over (closed when done, also on failure). */
int up_ingest_fd(up_store_t *s, up_import_kind_t kind, int fd, const char *name, unsigned flags,
                 const up_mapping_t *map, FILE *log, up_import_stats_t *st, char *err, size_t errlen);

/* ---- the commit: one order for every way in ----
 * Every batch of input, a file import or a server's group of requests, is
 * stored inside one SQLite transaction (up_ingest_begin) and made durable by
 * up_ingest_commit, in this order:
 *   1. the log: the pending block is written and events.log fsynced (and,
 *      with UP_INGEST_SNAPSHOT, rollup.bin rewritten after it);
 *   2. then the tables: the transaction holding the batch's rejects, CRM
 *      and profile rows (and a file's imports row) is committed.
 * Why the log first: an acknowledgement (the server's 2xx, an import's
 * imports row and summary line) must exist only once the events are on disk.
 * A crash between 1 and 2 leaves events of an unacknowledged batch in the
 * log and none of its table rows: a re-send stores the rows once, and the
 * events with a message id are not stored twice. A failed log write rolls
 * the tables back, so a batch that failed leaves nothing behind (docs/store.md,
 * "Durability"). */
enum {
    UP_INGEST_SNAPSHOT = 1,     /* rewrite rollup.bin after the fsync (a file import; the
                                 * server writes it on its own schedule instead) */
    UP_INGEST_KEEP_TABLES = 2,  /* commit the tables even when the batch is not kept (an
                                 * events import keeps its rejects and its imports row) */
};
enum { UP_INGEST_FAILED_LOG = 1, UP_INGEST_FAILED_TABLES = 2 };

/* BEGIN on the store's database. Returns 0 or -UP_EDB. */
int up_ingest_begin(up_store_t *s);

/* Ends the transaction that up_ingest_begin started. keep: the batch is
 * to be made durable (0 after a storage error while storing it: then the
 * log is left alone and the tables are rolled back, or committed with
 * UP_INGEST_KEEP_TABLES). Returns 0, or a negative UP_E* code with *failed
 * (may be NULL) set to the step that failed: UP_INGEST_FAILED_LOG (the
 * tables are then rolled back, or committed with UP_INGEST_KEEP_TABLES;
 * after an up_store_sync failure the store must be reopened) or
 * UP_INGEST_FAILED_TABLES (-UP_EDB; sqlite3_errmsg says why). */
int up_ingest_commit(up_store_t *s, int keep, int flags, int *failed);

/* ---- messages from the server ----
 * A long-lived session that stores Segment-style messages one by one with
 * the same validation as a file import (rejects go to the rejects table with
 * source "http", the `where` text as their file and the record's line as
 * its position in the request). The caller brackets its batches with
 * up_ingest_begin and up_ingest_commit. */
typedef struct up_ingest up_ingest_t;

/* The fields of a message record, in order (val[UP_EF_*] of up_record_t);
 * ts is text: ISO-8601 or epoch milliseconds. */
enum { UP_EF_TS, UP_EF_USER, UP_EF_ACCOUNT, UP_EF_EVENT, UP_EF_MSGID, UP_EF_CREATED, UP_EF_ROLE,
       UP_EF_NAME, UP_EF_SEATS, UP_EF_PLAN, UP_EF_SEGMENT, UP_EF_OWNER, UP_EF_ARR, UP_EF_CSTART,
       UP_EF_RENEW, UP_EF_N };

int up_ingest_open(up_store_t *s, up_ingest_t **out);
/* Stores, de-duplicates or rejects r (kind track/page/screen: an event;
 * identify, group: profile updates), counting it in *st. Returns 0, or a
 * negative UP_E* code when the store failed. */
int up_ingest_message(up_ingest_t *in, const up_record_t *r, const char *where, up_import_stats_t *st);
/* Caps the reject rows the next messages write at cap (0: no cap), counting
 * those beyond it; up_ingest_rejects_unkept gives their number and the first
 * one's line and "field: reason", for one summary row. The server calls both
 * per request, so that one request cannot fill the rejects table. */
void up_ingest_reject_cap(up_ingest_t *in, uint64_t cap);
uint64_t up_ingest_rejects_unkept(const up_ingest_t *in, long *line, const char **why);
up_store_t *up_ingest_store(up_ingest_t *in);
void up_ingest_close(up_ingest_t *in);

/* Called with the field of each rejected message (NULL: the whole record). */
typedef void (*up_ingest_reject_fn)(void *ctx, const char *field);

/* Stores the messages of one decoded HTTP request (ingest_wire.c): each
 * becomes a record (identify and group traits through the model's
 * ingest.traits) and goes through up_ingest_message; a message the decoder
 * rejected goes to the rejects table with its reason. Adds the counts to
 * *st and calls on_reject (may be NULL) per reject. Returns 0, or a
 * negative UP_E* code when the store failed. */
int up_ingest_batch(up_ingest_t *in, const up_wire_batch_t *b, const char *where, up_import_stats_t *st,
                    up_ingest_reject_fn on_reject, void *ctx);

#endif
