/* entcache (store layer): the entity tables of uptake.db (accounts, NPS
 * answers, subscriptions, outcomes, churns), kept encoded in one row of
 * uptake.db itself (table entities_cache), for the views that read them
 * whole. Reading 200k rows through SQLite costs a portfolio more than its
 * metrics; decoding one blob costs a few milliseconds.
 *
 * Invariants: the blob names the crm_gen of the tables it holds (meta.crm_gen,
 * which triggers bump in every change to those tables, in the writer's own
 * transaction); it is stored only while the tables are still of that
 * generation, and a view uses it only when the tables' generation is equal,
 * so the cache is never older than the tables. It lives in the
 * database it describes, so a restored backup brings its own cache along.
 * The blob ends with a CRC-32C and every offset in it is bounded; a damaged
 * one is never used (the view reads the tables) and `uptake check` names it.
 * Only writers write it (alerts evaluate, the server's alert loop; repair
 * removes a damaged one); readers never modify the store. */
#ifndef UP_ENTCACHE_H
#define UP_ENTCACHE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store_crm.h"

/* The largest blob written (larger entity tables are read from SQLite). */
#define UP_ENTCACHE_MAX ((size_t)256 << 20)

/* Encodes every row of e (loaded whole: every NPS answer, every outcome),
 * the tables as of crm_gen gen, into *out (malloc'd, *len bytes). Returns 0, -UP_ENOMEM, or -UP_EINVAL when
 * it would exceed UP_ENTCACHE_MAX or a string is longer than the format
 * holds. */
int up_entcache_encode(const up_entities_t *e, int64_t gen, uint8_t **out, size_t *len);

/* The crm_gen a blob names (-1 when it is not a blob of this format). */
int64_t up_entcache_gen_of(const uint8_t *b, size_t len);

/* Decodes a blob of len bytes into e as up_entities_load would have loaded
 * it with (from, to, parts, only NULL): the NPS answers with ts in
 * [from, to], the outcomes with ts <= to, each only when parts asks. Returns
 * 0, -UP_ECORRUPT with what is wrong in why (e then empty), or -UP_ENOMEM. */
int up_entcache_decode(const uint8_t *b, size_t len, int64_t from, int64_t to, unsigned parts, up_entities_t *e,
                       char *why, size_t whylen);

/* The cached tables as up_entcache_decode gives them, when the row is of
 * the tables' current generation. Returns 0, -UP_ENOTFOUND when there is
 * no row of this generation (or no cache table), -UP_ECORRUPT (why says),
 * -UP_ENOMEM or -UP_EDB. */
int up_entcache_read(sqlite3 *db, int64_t from, int64_t to, unsigned parts, up_entities_t *e, char *why,
                     size_t whylen);

/* Writes the row anew from the tables, on a read-write connection outside
 * a transaction: loads them whole, encodes them, and stores the blob only
 * if no change to them committed meanwhile. Returns 1 when written, 0 when
 * not (a change came between, or the tables are too big for a blob), or a
 * negative UP_E* code with a sentence in err. */
int up_entcache_write(sqlite3 *db, char *err, size_t errlen);

/* What the check says of the row: 0 none (or of an older generation:
 * *stale set), 1 good, -UP_ECORRUPT damaged (why says). *gen receives
 * the row's generation. */
int up_entcache_check(sqlite3 *db, int *stale, int64_t *gen, char *why, size_t whylen);

#endif
