/* export: an embedded store's events into a new ClickHouse store (export.h).
 * Why a new store and not a conversion in place: the source stays whole
 * and usable until the result is checked, and an export that fails leaves
 * the source as it was. */
#include "export.h"
#include "store.h"
#include "store_ch.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    up_store_t *dst;
    const up_rollup_t *r;      /* the source's: its dictionaries name the ids of the scan */
    char prefix[48];           /* "uptake:x" and 16 hex digits of the source's identity, ":" */
    uint64_t n;
    FILE *progress;
    int rc;
} export_ctx_t;

static int on_event(void *ctx, const up_ev_t *ev)
{
    export_ctx_t *c = ctx;
    const up_pair_t *p = &c->r->pairs[ev->pair];
    const up_dict_t *u = &c->r->dict[UP_KIND_USER], *a = &c->r->dict[UP_KIND_ACCOUNT], *e = &c->r->dict[UP_KIND_EVENT];
    char mid[80];
    int n = snprintf(mid, sizeof mid, "%s%llu", c->prefix, (unsigned long long)c->n);
    int rc = up_store_append(c->dst, ev->ts, u->strs[p->user], u->lens[p->user], a->strs[p->account],
                             a->lens[p->account], e->strs[ev->event], e->lens[ev->event], mid, (size_t)n);
    if (rc < 0) {
        c->rc = rc;
        return 1;   /* stops the scan */
    }
    if (++c->n % 1000000 == 0 && c->progress)
        fprintf(c->progress, "export: %llu events sent\n", (unsigned long long)c->n);
    return 0;
}

/* The source's identity in the ids: its absolute path. Re-running the
 * export of the same store gives the same ids (events only ever go at the
 * end of the log, so an event keeps its place). */
static void id_prefix(const char *src_dir, char out[48])
{
    char real[PATH_MAX];
    const char *p = realpath(src_dir, real) ? real : src_dir;
    unsigned char md[32];
    SHA256((const unsigned char *)p, strlen(p), md);
    int k = snprintf(out, 48, "%sx", UP_CH_SYNTH_PREFIX);
    for (int i = 0; i < 8; i++)
        k += snprintf(out + k, (size_t)(48 - k), "%02x", md[i]);
    snprintf(out + k, (size_t)(48 - k), ":");
}

/* out_dir/uptake.db: a copy of the source's database (SQLite's online
 * backup, consistent even while a writer commits), made a ClickHouse
 * store's by up_ch_init. */
static int make_target_db(up_store_t *s, const char *out_dir, const up_ch_conf_t *conf, char *err, size_t errlen)
{
    char *path = up_store_db_path(out_dir);
    sqlite3 *db = NULL;
    int rc = path && sqlite3_open(path, &db) == SQLITE_OK ? 0 : -UP_EDB;
    if (rc == 0) {
        sqlite3_backup *b = sqlite3_backup_init(db, "main", up_store_db(s), "main");
        if (!b || sqlite3_backup_step(b, -1) != SQLITE_DONE)
            rc = -UP_EDB;
        if (b)
            sqlite3_backup_finish(b);
    }
    if (rc < 0)
        up_errf(err, errlen, rc, "%s: cannot copy uptake.db: %s", out_dir, db ? sqlite3_errmsg(db) : "out of memory");
    /* an import the source left unfinished concerns its events.log only */
    if (rc == 0)
        sqlite3_exec(db, "DELETE FROM meta WHERE key = 'import_pending'", NULL, NULL, NULL);
    if (rc == 0)
        rc = up_ch_init(db, conf, err, errlen);
    if (db)
        sqlite3_close(db);
    free(path);
    return rc;
}

int up_export_clickhouse(const char *src_dir, const char *out_dir, const up_ch_conf_t *conf, FILE *progress,
                         uint64_t *events, char *err, size_t errlen)
{
    *events = 0;
    up_store_t *s = NULL, *d = NULL;
    up_rollup_t *r = NULL;
    int owned = 0;
    int rc = up_store_open(&s, src_dir, UP_STORE_READ, err, errlen);
    if (rc < 0)
        return rc;
    if (up_store_is_clickhouse(s)) {
        up_store_close(s);
        return up_errf(err, errlen, -UP_EUSAGE, "%s: its events are in ClickHouse already", src_dir);
    }
    if (mkdir(out_dir, 0755) < 0) {
        int e = errno;
        up_store_close(s);
        return up_errf(err, errlen, e == EEXIST ? -UP_EUSAGE : -UP_EIO, "%s: %s (export makes a new store: name"
                       " a directory that does not exist)", out_dir, strerror(e));
    }
    if ((rc = make_target_db(s, out_dir, conf, err, errlen)) < 0 ||
        (rc = up_store_open(&d, out_dir, UP_STORE_WRITE, err, errlen)) < 0 ||
        (rc = up_store_rollup(s, INT64_MAX, &r, &owned)) < 0) {
        if (rc != -UP_EUSAGE && !err[0])
            up_errf(err, errlen, rc, "%s: %s", src_dir, up_strerror(rc));
        goto done;
    }
    export_ctx_t c = {.dst = d, .r = r, .progress = progress};
    id_prefix(src_dir, c.prefix);
    uint32_t n_ev = r->dict[UP_KIND_EVENT].n;
    uint8_t *want = malloc(n_ev ? n_ev : 1);
    if (!want) {
        rc = up_errf(err, errlen, -UP_ENOMEM, "out of memory");
        goto done;
    }
    memset(want, 1, n_ev ? n_ev : 1);
    rc = up_store_scan_events(s, INT64_MIN, INT64_MAX, want, n_ev, on_event, &c);
    free(want);
    if (rc >= 0 && c.rc < 0)
        rc = c.rc;
    if (rc >= 0)
        rc = up_store_sync(d);   /* the last batch: ClickHouse has accepted every event after this */
    *events = c.n;
    if (rc < 0) {
        const char *why = up_store_engine_error(d);
        up_errf(err, errlen, rc, "%s; the events ClickHouse accepted stay there: remove %s and run the same export"
                " again (each event carries an id from the source and its place in the log, so it is stored once)",
                why[0] ? why : up_strerror(rc), out_dir);
    }
done:
    if (owned) {
        up_rollup_free(r);
        free(r);
    }
    if (d && rc < 0)
        up_store_abandon(d);
    else if (d && up_store_close(d) < 0 && rc == 0)
        rc = up_errf(err, errlen, -UP_EIO, "%s: cannot close the new store", out_dir);
    up_store_close(s);
    return rc;
}
