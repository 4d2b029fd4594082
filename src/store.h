/* store: the embedded store in one data directory.
 *   events.log   the append-only event log (store_log)
 *   rollup.bin   a snapshot of the rollup and dictionaries (a cache of the log)
 *   uptake.db    SQLite: the model, accounts, users, surveys, rejects, imports
 *   lock         flock: one writer, or any number of readers
 * Invariant: every event acknowledged by up_store_commit is in events.log
 * exactly once (message ids de-duplicate), and the rollup in memory equals
 * the fold of the log through the current model. */
#ifndef UP_STORE_H
#define UP_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "rollup.h"
#include "model.h"

typedef struct up_store up_store_t;

enum {
    UP_STORE_READ = 0,    /* shared lock; never modifies files */
    UP_STORE_WRITE = 1,   /* exclusive lock; cuts a torn log tail */
    UP_STORE_CREATE = 2,  /* with WRITE: create the directory when missing */
    UP_STORE_DEFER = 4,   /* with READ: build the rollup on first use (up_store_rollup),
                           * so that the caller can read the entity tables meanwhile */
};

/* Opens the store in dir. On success *out owns it; a note about recovery (a
 * torn tail cut, a rollup rebuilt) is available from up_store_notice. On
 * failure returns a negative UP_E* code with a message in err. A store
 * without a model cannot be opened except with UP_STORE_CREATE. */
int up_store_open(up_store_t **out, const char *dir, int flags, char *err, size_t errlen);

/* Writes pending events and the snapshot (when opened for writing) and frees. */
int up_store_close(up_store_t *s);

/* A human sentence about what opening recovered, or NULL. */
const char *up_store_notice(const up_store_t *s);

sqlite3 *up_store_db(up_store_t *s);
const char *up_store_dir(const up_store_t *s);

/* The path of the SQLite database of the store in dir ("DIR/uptake.db"), for
 * a connection of its own beside any writer (keys, sessions, alerts, tasks
 * need no store lock). A malloc'd string (free it), or NULL when out of
 * memory. */
char *up_store_db_path(const char *dir);

/* The model in use (NULL before one is set) and its source text. */
const up_model_t *up_store_model(const up_store_t *s);
const char *up_store_model_text(const up_store_t *s);

/* Validates and installs a model (text as YAML/JSON); the rollup is rebuilt
 * from the log. Returns 0 or -UP_EMODEL with the message in err. */
int up_store_set_model(up_store_t *s, const char *text, size_t len, const char *name,
                       char *err, size_t errlen);

/* The rollup for as-of instant T: the store's own when it is exact for T,
 * otherwise a new one folded from the log with cutoff T (*owned set to 1;
 * free it with up_rollup_free + free). */
int up_store_rollup(up_store_t *s, int64_t T, up_rollup_t **out, int *owned);

/* A hash of the model's text: results kept across runs name the model. */
uint64_t up_store_model_hash(const up_store_t *s);

/* A point in the log (for results kept across runs): its end, and the
 * offset and header checksum of the block that ends there. */
typedef struct {
    uint64_t end, last_off;
    uint32_t last_crc;
} up_store_point_t;
/* The point the store's rollup has folded to. Returns 0, or a negative
 * code when it cannot be named (a ClickHouse store, no events.idx record
 * for the last block): then nothing should be kept. */
int up_store_point(up_store_t *s, up_store_point_t *p);
/* 1 when everything at or before T (ms) is as it was at p: the log still
 * holds the blocks before p, and every block written after p holds only
 * events after T (by its events.idx record); 0 otherwise (when unsure). */
int up_store_unchanged_to(up_store_t *s, const up_store_point_t *p, int64_t T);


/* Calls fn for every stored event with ts <= T whose event-name id e has
 * e < n_want and want[e] set, block by block in log order (sorted by ts
 * within a block, not across blocks), and maybe for others too: with from >
 * INT64_MIN, a block whose time range (events.idx) lies wholly outside
 * [from, T] is not read, so fn must itself ignore events before from. Ids are those of up_store_rollup's
 * rollup. Used for what the rollup does not keep: event sequences
 * (workflows) and event counts (error events). Returns 0, fn's first
 * non-zero value, or a negative UP_E* code. */
typedef int (*up_event_fn)(void *ctx, const up_ev_t *ev);
int up_store_scan_events(up_store_t *s, int64_t from, int64_t T, const uint8_t *want, uint32_t n_want,
                         up_event_fn fn, void *ctx);
/* up_store_scan_events for the events of one account (its id string): fn
 * may still see others and must ignore them, as the embedded store reads
 * the same blocks either way; a ClickHouse store sends only that account's. */
int up_store_scan_account_events(up_store_t *s, const char *account, int64_t from, int64_t T, const uint8_t *want,
                                 uint32_t n_want, up_event_fn fn, void *ctx);

/* The events appended through this handle whose name the model neither
 * maps to a feature nor marks passive (an import's share of them warns). */
uint64_t up_store_unmapped(const up_store_t *s);

/* Appends one event. msgid may be NULL. Returns 1 when stored, 0 when a
 * duplicate of a stored message id, or a negative UP_E* code. The event is
 * durable after up_store_commit. */
int up_store_append(up_store_t *s, int64_t ts, const char *user, size_t user_len,
                    const char *account, size_t account_len, const char *event,
                    size_t event_len, const char *msgid, size_t msgid_len);

/* For a store opened for reading: folds in what a running writer appended
 * to the log since the open or the last refresh, and profile changes, so the
 * reader sees every event acknowledged before the call. A reader kept open
 * this way costs a replay of the new blocks only, where opening one costs
 * the snapshot and the whole tail. No-op for a writer. Returns 0 or a
 * negative UP_E* code (then close the reader and open a new one). */
int up_store_refresh(up_store_t *s);

/* The snapshot written by another handle than the writer: a server writes
 * rollup.bin from its reader, so that the writer never stops committing for
 * the second it takes on a big store. up_store_snapshot_write writes this
 * handle's rollup (through the log offset it has folded) to DIR/tmp_name,
 * fsynced, and returns 1, or 0 when nothing is new since the last install,
 * or a negative UP_E* code. up_store_snapshot_install renames it to
 * rollup.bin. The caller makes sure that no other handle writes tmp_name
 * and that the log has not been cut back below that offset in between (a
 * writer cuts it only after a failed write, and then reopens). */
int up_store_snapshot_write(up_store_t *s, const char *tmp_name);
int up_store_snapshot_install(up_store_t *s, const char *tmp_name);

/* Brings the log grouped by account (DIR/events.acx, acx.h) up to the
 * log's end when enough of it is not covered: for the server's checkpoint,
 * from its reader. A failure is a notice (it is a cache). */
void up_store_acx_update(up_store_t *s);

/* Builds now what the first append would otherwise build on the spot: the
 * message-id index (it reads every block of the log: seconds on a big
 * store) and the dictionary and pair indexes a snapshot load defers. *ids
 * receives the ids indexed. Returns 0 or a negative UP_E* code. */
int up_store_warm(up_store_t *s, uint64_t *ids);

/* Writes the pending block, fsyncs the log and refreshes the snapshot. */
int up_store_commit(up_store_t *s);

/* Writes the pending block and fsyncs the log, without the snapshot: what a
 * server does per group of requests (the snapshot is a cache; a later
 * commit or close writes it). After a failure (-UP_EIO: disk full, I/O
 * error) the log is cut back to its last good block and the store must be
 * abandoned and reopened: its memory holds events that are not on disk. */
int up_store_sync(up_store_t *s);

/* Closes without writing anything (after a failed sync). */
void up_store_abandon(up_store_t *s);

/* An events import, made all-or-nothing (store.c explains how):
 * up_store_import_begin before its first event (syncs what came before and
 * records the import's start, committed; -UP_EIO after an abort),
 * up_store_import_done inside the import's transaction once its events are
 * synced, up_store_import_abort when that sync failed or the import gave up
 * (the log is cut back to the start and the store takes no more writes: close
 * it). A writer opening a store whose import never reached done cuts the log
 * back to that import's start and says so in the notice. */
int up_store_import_begin(up_store_t *s);
int up_store_import_done(up_store_t *s);
void up_store_import_abort(up_store_t *s);
/* errno of the last failed log write or fsync (ENOSPC, EFBIG, EIO…), or 0. */
int up_store_write_errno(const up_store_t *s);
/* For a store whose events are in ClickHouse (docs/scale-out.md): the last
 * error talking to it, naming the shard's URL and what it said; else "". */
const char *up_store_engine_error(const up_store_t *s);
/* 1 when the store's events are in ClickHouse, 0 for events.log. */
int up_store_is_clickhouse(const up_store_t *s);

/* `uptake check` of a ClickHouse store's events (store_ch.h,
 * up_ch_check): one line per shard to out. Returns the problems found. */
int up_store_check_clickhouse(up_store_t *s, FILE *out);

/* A ClickHouse store's shards (0 for an embedded store), and whether shard
 * i answers (store_ch.h, up_ch_ping); safe beside the writer's use. */
int up_store_clickhouse_shards(const up_store_t *s);
int up_store_clickhouse_ping(const up_store_t *s, int i, char *err, size_t errlen);

/* Records a rejected input record. */
int up_store_reject(up_store_t *s, const char *source, const char *file, long line,
                    const char *field, const char *reason, const char *record);

/* Store-wide counts for `uptake status`. */
typedef struct {
    uint64_t events, log_bytes, snapshot_bytes;
    uint32_t pairs, users, accounts, event_names;
    int64_t min_ts, max_ts;
} up_store_stats_t;
/* The events folded in and the time of the latest (0 and INT64_MIN when
 * none): what up_store_stats says of them, without its pass over the pairs. */
void up_store_events_span(up_store_t *s, uint64_t *events, int64_t *max_ts);
void up_store_stats(up_store_t *s, up_store_stats_t *st);

#endif
