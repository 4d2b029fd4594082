/* stmtcache: reusable prepared statements (stmtcache.h). */
#include "stmtcache.h"

#include <string.h>

int up_stmt_prepare(up_stmt_cache_t *c, sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    for (int i = 0; c && i < UP_STMT_CACHE_N; i++) {
        if (c->sql[i] == sql && c->db[i] == db) {
            *out = c->st[i];
            return SQLITE_OK;
        }
        if (!c->sql[i]) {
            int rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
            if (rc == SQLITE_OK) {
                c->db[i] = db;
                c->sql[i] = sql;
                c->st[i] = *out;
            }
            return rc;
        }
    }
    return sqlite3_prepare_v2(db, sql, -1, out, NULL);
}

void up_stmt_done(up_stmt_cache_t *c, sqlite3_stmt *st)
{
    for (int i = 0; c && i < UP_STMT_CACHE_N && c->sql[i]; i++)
        if (c->st[i] == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return;
        }
    sqlite3_finalize(st);
}

void up_stmt_cache_free(up_stmt_cache_t *c)
{
    if (!c)
        return;
    for (int i = 0; i < UP_STMT_CACHE_N; i++)
        if (c->st[i])
            sqlite3_finalize(c->st[i]);
    memset(c, 0, sizeof *c);
}
