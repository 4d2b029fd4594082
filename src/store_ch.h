/* store_ch (store layer): the events of a store kept in ClickHouse instead of
 * events.log, over ClickHouse's HTTP interface (libcurl). The CRM tables,
 * the model and the engine settings stay in uptake.db beside it.
 * Invariant: what up_ch_fill folds into a rollup equals what the embedded
 * store folds from the same events: ClickHouse aggregates per (account,
 * user, event, day) on each shard, de-duplicated by message id (the first
 * stored wins), and the rows are folded through the same up_rollup_add.
 * docs/scale-out.md describes the schema and what is not done yet. */
#ifndef UP_STORE_CH_H
#define UP_STORE_CH_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "rollup.h"

typedef struct up_ch up_ch_t;

/* The start of every message id uptake makes up for a row (a file's row
 * without one, an exported event): a byte no client's id can hold, since
 * ids are checked to be UTF-8 as they come in. Such an id always stands for
 * the same event (same account, hence same shard), so only ids without it
 * can have copies on two shards (store_ch.c, up_ch_dedup_sql). */
#define UP_CH_SYNTH_PREFIX "\xff" "uptake:"

/* Rows per INSERT: a batch is sent when it holds this many events, and at
 * every up_ch_flush. */
#define UP_CH_BATCH_ROWS 100000

/* What `init --engine clickhouse` is told. urls: one HTTP URL per shard,
 * comma-separated, in the order of the cluster's shards; cluster NULL for a
 * single server; database NULL for "uptake"; user NULL for ClickHouse's
 * "default"; password_file NULL for no password (else a file whose first
 * line is the password: the store keeps the file's absolute path, never
 * the password); insert_quorum 0 for none (else sent with every insert:
 * it matters with replicated tables, docs/scale-out.md). */
typedef struct {
    const char *urls, *cluster, *database, *user, *password_file;
    int insert_quorum;
} up_ch_conf_t;

/* Makes the store whose uptake.db is db a ClickHouse store: checks the
 * settings in conf, creates the database and the tables on every shard,
 * then stores the settings in db's table engine_settings. Returns 0, or
 * -UP_EUSAGE (bad settings) or -UP_EIO (ClickHouse said no) with the
 * message in err. */
int up_ch_init(sqlite3 *db, const up_ch_conf_t *conf, char *err, size_t errlen);

/* Sets the store's credentials on a libcurl handle (curl: a CURL *), and
 * makes sure libcurl is initialised; for every request to a shard. */
void up_ch_curl_auth(const up_ch_t *ch, void *curl);

/* The ClickHouse settings of the store with uptake.db db: 0 with *out set
 * (free with up_ch_free), 0 with *out NULL for an embedded store, or a
 * negative UP_E* code with the message in err. */
int up_ch_open(sqlite3 *db, up_ch_t **out, char *err, size_t errlen);
void up_ch_free(up_ch_t *ch);

/* Adds one event to the pending batch (sent when full). Returns 0 or
 * -UP_EIO (up_ch_error says why) or -UP_ENOMEM. */
int up_ch_append(up_ch_t *ch, int64_t ts, const char *user, size_t user_len, const char *account,
                 size_t account_len, const char *event, size_t event_len, const char *msgid,
                 size_t msgid_len);

/* Sends the pending batch; returns when ClickHouse has accepted it (with a
 * cluster, on the shards: insert_distributed_sync). Returns 0 or -UP_EIO. */
int up_ch_flush(up_ch_t *ch);

/* Sets the last error to "this report needs WHAT, which a ClickHouse store
 * does not serve yet (see docs/scale-out.md)" and returns -UP_EINVAL: for
 * what this slice does not do yet. */
int up_ch_unsupported(up_ch_t *ch, const char *what);

/* Checks every shard and prints a line each to out (NULL: nothing printed):
 * it answers; its events table has the columns uptake writes; with a
 * cluster, the Distributed table is there and every row lies on the shard
 * the Distributed table puts its account on (cityHash64(account_id) modulo
 * the shards' weights, as system.clusters lists them); and how many rows it
 * holds. Returns the number of problems found. */
int up_ch_check(up_ch_t *ch, FILE *out);

/* The number of shards, and whether shard i answers SELECT 1 within 2 s:
 * 0, or -UP_EIO with why in err ("cannot reach ClickHouse at URL: …").
 * Touches nothing else of ch, so it may run beside a writer's use of it. */
int up_ch_shards(const up_ch_t *ch);
int up_ch_ping(const up_ch_t *ch, int i, char *err, size_t errlen);

/* The last error, naming the shard's URL and what ClickHouse said, or "". */
const char *up_ch_error(const up_ch_t *ch);

/* Folds every stored event with ts <= cutoff into r (initialised, empty,
 * over the store's model), shard by shard. Strings and pairs of later
 * events are interned too, so that rollups of two cutoffs share their ids.
 * Returns 0 or a negative UP_E* code with up_ch_error set. */
int up_ch_fill(up_ch_t *ch, up_rollup_t *r, int64_t cutoff);

#endif
