/* stmtcache: prepared SQLite statements kept for reuse by a loop that runs
 * the same few queries once per account (alerts evaluate, the portfolio's
 * signals): parsing SQL again each time cost a fifth of those runs.
 * Invariant: a statement is known by its db and its SQL text's address (a
 * literal at one call site); up_stmt_cache_free finalizes every one, and
 * must run before the db is closed. */
#ifndef UP_STMTCACHE_H
#define UP_STMTCACHE_H

#include <sqlite3.h>

#define UP_STMT_CACHE_N 16

typedef struct {
    sqlite3 *db[UP_STMT_CACHE_N];
    const char *sql[UP_STMT_CACHE_N];
    sqlite3_stmt *st[UP_STMT_CACHE_N];
} up_stmt_cache_t;

/* Like sqlite3_prepare_v2 (returns its code); with c NULL, or c full, the
 * statement is a fresh one. */
int up_stmt_prepare(up_stmt_cache_t *c, sqlite3 *db, const char *sql, sqlite3_stmt **out);
/* Done with st: reset and unbound for the next use when c holds it,
 * finalized otherwise. */
void up_stmt_done(up_stmt_cache_t *c, sqlite3_stmt *st);
void up_stmt_cache_free(up_stmt_cache_t *c);

#endif
