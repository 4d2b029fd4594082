/* store_ch_scan (store layer): the stream of events of a ClickHouse store,
 * for what the rollup does not keep (workflow sequences, error-event and
 * per-feature counts, the events report). store_ch.h has the store itself.
 * Invariant: the stream holds the events up_ch_fill folds (de-duplicated by
 * message id on each shard, the first stored wins), with the ids of the
 * store's rollup, and each pair's events come in time order, equal times in
 * the order they were stored: the order a pair's events have in the
 * embedded store's log, which is all its consumers rely on. */
#ifndef UP_STORE_CH_SCAN_H
#define UP_STORE_CH_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "rollup.h"
#include "store_ch.h"

/* Calls fn for every stored event with from <= ts <= T (from INT64_MIN: no
 * lower bound) whose event-name id e (in r) has e < n_want and want[e] set,
 * and, when account is not NULL, of that account only; shard after shard,
 * each shard's events grouped by pair (account, user) and in time order
 * within one, equal times in the order of storing. Ids are r's; an event
 * whose strings or pair r does not know (stored after r was built) is left
 * out. The answer is read as it arrives, a line at a time: memory does not
 * grow with the number of events. Returns 0, fn's first non-zero value
 * (which stops the scan), or a negative UP_E* code with up_ch_error set
 * (naming the shard). */
int up_ch_scan_events(up_ch_t *ch, up_rollup_t *r, const char *account, int64_t from, int64_t T,
                      const uint8_t *want, uint32_t n_want, int (*fn)(void *ctx, const up_ev_t *ev), void *ctx);

/* What store_ch.c lends store_ch_scan.c, whose struct stays private to it:
 * (besides up_ch_shards, store_ch.h) the URL of shard i, the database, the table
 * that holds a shard's own events, the buffer of the last error (*len its
 * size), and TabSeparated unescaping in place (returns the new length). */
const char *up_ch_url(const up_ch_t *ch, int i);
const char *up_ch_database(const up_ch_t *ch);
const char *up_ch_local_table(const up_ch_t *ch);
char *up_ch_errbuf(up_ch_t *ch, size_t *len);
size_t up_ch_tsv_unescape(char *s, size_t n);

/* s (n bytes) as a ClickHouse string literal appended to b: quoted, with
 * backslash and quote escaped and control bytes as \xHH, so that no name
 * can end the literal. Returns 0 or -UP_ENOMEM. */
int up_ch_put_literal(up_buf_t *b, const char *s, size_t n);

/* The URL parameters of a query of sql_len bytes: max_query_size raised
 * above ClickHouse's 256 KiB default when the query is longer (a long list
 * of ids with copies on two shards). */
void up_ch_query_params(size_t sql_len, char *out, size_t outlen);

/* Appends to b the subquery of shard-local, de-duplicated events (columns
 * a, u, e, t, s) that every read of a ClickHouse store is built on:
 * raw_where filters rows kept as they are, out_where the winners of ids
 * stored more than once, acc_narrow (or "") narrows those ids. The first
 * call of a read asks the cluster which client ids have copies on two
 * shards. Returns 0, -UP_ENOMEM, or -UP_EIO with up_ch_error set.
 * store_ch.c says how it works. */
int up_ch_dedup_sql(up_ch_t *ch, up_buf_t *b, const char *raw_where, const char *acc_narrow,
                    const char *out_where);

#endif
