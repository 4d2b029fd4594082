/* entcache: the entity tables kept as one blob in uptake.db (see the header).
 *
 * The blob, native byte order (a probe word says which):
 *   magic "UPENTC\0\1", u32 probe 0x01020304, u32 counts of accounts,
 *   surveys, subscriptions, outcomes, churns, u32 bytes of strings, i64 the
 *   crm_gen of the tables it holds;
 *   the strings, each ending in NUL;
 *   accounts (48 bytes each): u32 id, name, segment, owner, plan (string
 *     offsets, NONE for NULL); i32 contract_start, renewal_date, churned_at;
 *     i64 seats; f64 arr;
 *   surveys (20): u32 account; i64 ts; f64 score;
 *   subscriptions (36): u32 account; i64 start, end, seats; f64 arr;
 *   outcomes (40): u32 account, metric; i64 ts, due; f64 value, target;
 *   churns (12): u32 account; i64 ts;
 *   u32 CRC-32C of every byte before it.
 * Rows in the order up_entities_load reads them, every NPS answer and every
 * outcome (the window is applied when decoding). */
#include "entcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t MAGIC[8] = {'U', 'P', 'E', 'N', 'T', 'C', 0, 1};
#define PROBE 0x01020304u
#define NONE UINT32_MAX
#define HEAD 44u
enum { ACC = 48, SUR = 20, SUB = 36, OUT = 40, CHU = 12 };

/* ---- encoding ----------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} wbuf_t;

static void put(wbuf_t *w, const void *v, size_t n)
{
    if (w->oom)
        return;
    if (w->n + n > w->cap) {
        size_t c = w->cap ? w->cap : 1u << 16;
        while (c < w->n + n)
            c *= 2;
        uint8_t *q = realloc(w->p, c);
        if (!q) {
            w->oom = 1;
            return;
        }
        w->p = q;
        w->cap = c;
    }
    memcpy(w->p + w->n, v, n);
    w->n += n;
}
static void put32(wbuf_t *w, uint32_t v) { put(w, &v, 4); }
static void put64(wbuf_t *w, int64_t v) { put(w, &v, 8); }
static void putd(wbuf_t *w, double v) { put(w, &v, 8); }

/* The strings region. A run remembers the last string of one column: rows
 * come sorted by account, so an id repeats on consecutive rows and is
 * written once per run. */
typedef struct {
    wbuf_t s;
    int too_big;
} strs_t;
typedef struct {
    const char *s;
    uint32_t off;
} run_t;

static uint32_t str_off(strs_t *t, run_t *run, const char *s)
{
    if (!s)
        return NONE;
    if (run && run->s && (run->s == s || strcmp(run->s, s) == 0))
        return run->off;
    size_t n = strlen(s) + 1;
    if (t->s.n + n >= NONE) {
        t->too_big = 1;
        return NONE;
    }
    uint32_t off = (uint32_t)t->s.n;
    put(&t->s, s, n);
    if (run)
        *run = (run_t){s, off};
    return off;
}

int up_entcache_encode(const up_entities_t *e, int64_t gen, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    strs_t t = {0};
    wbuf_t r = {0};
    for (uint32_t i = 0; i < e->n_accounts; i++) {
        const up_account_t *a = &e->accounts[i];
        uint32_t o[5] = {str_off(&t, NULL, a->account_id), str_off(&t, NULL, a->name),
                         str_off(&t, NULL, a->segment), str_off(&t, NULL, a->owner), str_off(&t, NULL, a->plan)};
        put(&r, o, sizeof o);
        put32(&r, (uint32_t)a->contract_start);
        put32(&r, (uint32_t)a->renewal_date);
        put32(&r, (uint32_t)a->churned_at);
        put64(&r, a->seats);
        putd(&r, a->arr);
    }
    run_t run = {0};
    for (uint32_t i = 0; i < e->n_surveys; i++) {
        put32(&r, str_off(&t, &run, e->surveys[i].account_id));
        put64(&r, e->surveys[i].ts);
        putd(&r, e->surveys[i].score);
    }
    run = (run_t){0};
    for (uint32_t i = 0; i < e->n_subscriptions; i++) {
        const up_subscription_t *b = &e->subscriptions[i];
        put32(&r, str_off(&t, &run, b->account_id));
        put64(&r, b->start);
        put64(&r, b->end);
        put64(&r, b->seats);
        putd(&r, b->arr);
    }
    run = (run_t){0};
    run_t metric = {0};
    for (uint32_t i = 0; i < e->n_outcomes; i++) {
        const up_outcome_t *o = &e->outcomes[i];
        put32(&r, str_off(&t, &run, o->account_id));
        put32(&r, str_off(&t, &metric, o->metric));
        put64(&r, o->ts);
        put64(&r, o->due);
        putd(&r, o->value);
        putd(&r, o->target);
    }
    run = (run_t){0};
    for (uint32_t i = 0; i < e->n_churns; i++) {
        put32(&r, str_off(&t, &run, e->churns[i].account_id));
        put64(&r, e->churns[i].ts);
    }
    int rc = 0;
    uint64_t total = (uint64_t)HEAD + t.s.n + r.n + 4;
    if (t.s.oom || r.oom)
        rc = -UP_ENOMEM;
    else if (t.too_big || total > UP_ENTCACHE_MAX)
        rc = -UP_EINVAL;
    wbuf_t w = {0};
    if (rc == 0) {
        put(&w, MAGIC, 8);
        put32(&w, PROBE);
        uint32_t h[6] = {e->n_accounts, e->n_surveys, e->n_subscriptions, e->n_outcomes, e->n_churns,
                         (uint32_t)t.s.n};
        put(&w, h, sizeof h);
        put64(&w, gen);
        if (t.s.n)
            put(&w, t.s.p, t.s.n);
        if (r.n)
            put(&w, r.p, r.n);
        if (!w.oom)
            put32(&w, up_crc32c(0, w.p, w.n));
        if (w.oom) {
            free(w.p);
            rc = -UP_ENOMEM;
        } else {
            *out = w.p;
            *len = w.n;
        }
    }
    free(t.s.p);
    free(r.p);
    return rc;
}

/* ---- decoding ----------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    const char *strs;
    uint32_t strs_len;
} rbuf_t;

static uint32_t get32(rbuf_t *b)
{
    uint32_t v;
    memcpy(&v, b->p, 4);
    b->p += 4;
    return v;
}
static int64_t get64(rbuf_t *b)
{
    int64_t v;
    memcpy(&v, b->p, 8);
    b->p += 8;
    return v;
}
static double getd(rbuf_t *b)
{
    double v;
    memcpy(&v, b->p, 8);
    b->p += 8;
    return v;
}

/* A string offset: NULL for NONE; *bad set when it is out of the region. */
static char *str_at(rbuf_t *b, char *base, int *bad)
{
    uint32_t off = get32(b);
    if (off == NONE)
        return NULL;
    if (off >= b->strs_len) {
        *bad = 1;
        return NULL;
    }
    return base + off;
}

static int corrupt(up_entities_t *e, char *why, size_t whylen, const char *what)
{
    snprintf(why, whylen, "%s", what);
    up_entities_free(e);
    return -UP_ECORRUPT;
}

/* n records of size bytes, +1 so that no count mallocs 0 */
static void *rows(size_t n, size_t size)
{
    void *p = malloc((n + 1) * size);
    if (p)
        up_prefault(p, n * size);
    return p;
}

int up_entcache_decode(const uint8_t *data, size_t len, int64_t from, int64_t to, unsigned parts, up_entities_t *e,
                       char *why, size_t whylen)
{
    memset(e, 0, sizeof *e);
    if (whylen)
        why[0] = '\0';
    uint32_t probe, h[6];
    if (len < HEAD + 4 || memcmp(data, MAGIC, 8) != 0)
        return corrupt(e, why, whylen, "it is not an entity cache");
    memcpy(&probe, data + 8, 4);
    memcpy(h, data + 12, sizeof h);
    if (probe != PROBE)
        return corrupt(e, why, whylen, "it was written on a machine of another byte order");
    uint64_t need = (uint64_t)HEAD + h[5] + (uint64_t)h[0] * ACC + (uint64_t)h[1] * SUR + (uint64_t)h[2] * SUB +
                    (uint64_t)h[3] * OUT + (uint64_t)h[4] * CHU + 4;
    if (need != len)
        return corrupt(e, why, whylen, "its counts do not match its length");
    uint32_t crc;
    memcpy(&crc, data + len - 4, 4);
    if (up_crc32c(0, data, len - 4) != crc)
        return corrupt(e, why, whylen, "its checksum does not match");
    rbuf_t b = {data + HEAD, (const char *)data + HEAD, h[5]};
    if (h[5] && b.strs[h[5] - 1] != '\0')
        return corrupt(e, why, whylen, "its last string is not terminated");
    char *base = up_arena_alloc(&e->strings, (size_t)h[5] + 1);
    if (!base)
        return -UP_ENOMEM;
    memcpy(base, b.strs, h[5]);
    b.p += h[5];
    int bad = 0;
    if (!(e->accounts = calloc((size_t)h[0] + 1, sizeof *e->accounts)))
        goto nomem;
    e->n_accounts = h[0];
    for (uint32_t i = 0; i < h[0]; i++) {
        up_account_t *a = &e->accounts[i];
        a->account_id = str_at(&b, base, &bad);
        a->name = str_at(&b, base, &bad);
        a->segment = str_at(&b, base, &bad);
        a->owner = str_at(&b, base, &bad);
        a->plan = str_at(&b, base, &bad);
        a->contract_start = (int32_t)get32(&b);
        a->renewal_date = (int32_t)get32(&b);
        a->churned_at = (int32_t)get32(&b);
        a->seats = get64(&b);
        a->arr = getd(&b);
        a->in_table = true;
        bad |= !a->account_id;
    }
    if (bad)
        return corrupt(e, why, whylen, "an account's string is out of range");
    int want = (parts & UP_ENT_SURVEYS) != 0;
    if (!(e->surveys = rows(want ? h[1] : 0, sizeof *e->surveys)))
        goto nomem;
    for (uint32_t i = 0; i < h[1]; i++) {
        up_survey_t s;
        s.account_id = str_at(&b, base, &bad);
        s.ts = get64(&b);
        s.score = getd(&b);
        bad |= !s.account_id;
        if (want && s.ts >= from && s.ts <= to)
            e->surveys[e->n_surveys++] = s;
    }
    if (bad)
        return corrupt(e, why, whylen, "an NPS answer's account is out of range");
    if (!(e->subscriptions = rows(h[2], sizeof *e->subscriptions)))
        goto nomem;
    e->n_subscriptions = h[2];
    for (uint32_t i = 0; i < h[2]; i++) {
        up_subscription_t *s = &e->subscriptions[i];
        s->account_id = str_at(&b, base, &bad);
        s->start = get64(&b);
        s->end = get64(&b);
        s->seats = get64(&b);
        s->arr = getd(&b);
        bad |= !s->account_id;
    }
    if (bad)
        return corrupt(e, why, whylen, "a subscription's account is out of range");
    want = (parts & UP_ENT_OUTCOMES) != 0;
    if (!(e->outcomes = rows(want ? h[3] : 0, sizeof *e->outcomes)))
        goto nomem;
    for (uint32_t i = 0; i < h[3]; i++) {
        up_outcome_t o;
        o.account_id = str_at(&b, base, &bad);
        o.metric = str_at(&b, base, &bad);
        o.ts = get64(&b);
        o.due = get64(&b);
        o.value = getd(&b);
        o.target = getd(&b);
        bad |= !o.account_id || !o.metric;
        if (want && o.ts <= to)
            e->outcomes[e->n_outcomes++] = o;
    }
    if (bad)
        return corrupt(e, why, whylen, "an outcome's account or metric is out of range");
    if (!(e->churns = rows(h[4], sizeof *e->churns)))
        goto nomem;
    e->n_churns = h[4];
    for (uint32_t i = 0; i < h[4]; i++) {
        e->churns[i].account_id = str_at(&b, base, &bad);
        e->churns[i].ts = get64(&b);
        bad |= !e->churns[i].account_id;
    }
    if (bad)
        return corrupt(e, why, whylen, "a churn's account is out of range");
    up_entities_index(e);
    return 0;
nomem:
    up_entities_free(e);
    return -UP_ENOMEM;
}

/* ---- the row in uptake.db ----------------------------------------------- */

static int crm_gen(sqlite3 *db, int64_t *gen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'crm_gen'", -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    int rc = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER ? 0 : -UP_ENOTFOUND;
    if (rc == 0)
        *gen = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

int64_t up_entcache_gen_of(const uint8_t *b, size_t len)
{
    int64_t gen = -1;
    if (len >= HEAD && memcmp(b, MAGIC, 8) == 0)
        memcpy(&gen, b + 36, 8);
    return gen;
}

int up_entcache_read(sqlite3 *db, int64_t from, int64_t to, unsigned parts, up_entities_t *e, char *why,
                     size_t whylen)
{
    memset(e, 0, sizeof *e);
    /* the blob's own generation against the tables': a blob always holds
     * the tables of the generation it names, so equal means current, however
     * the two reads interleave with a writer's commits */
    int64_t gen;
    int rc = crm_gen(db, &gen);
    if (rc < 0)
        return rc == -UP_EDB ? -UP_ENOTFOUND : rc;
    sqlite3_blob *bh;
    if (sqlite3_blob_open(db, "main", "entities_cache", "blob", 1, 0, &bh) != SQLITE_OK)
        return -UP_ENOTFOUND;   /* no cache table, or no row */
    uint8_t head[HEAD];
    int n = sqlite3_blob_bytes(bh);
    if (n < (int)HEAD || (size_t)n > UP_ENTCACHE_MAX || sqlite3_blob_read(bh, head, (int)HEAD, 0) != SQLITE_OK ||
        up_entcache_gen_of(head, HEAD) != gen) {
        sqlite3_blob_close(bh);
        return -UP_ENOTFOUND;   /* another generation, or not a blob we wrote (check says which) */
    }
    /* into a block of our own, faulted in at once, rather than SQLite's copy */
    uint8_t *buf = malloc((size_t)n);
    if (!buf) {
        sqlite3_blob_close(bh);
        return -UP_ENOMEM;
    }
    up_prefault(buf, (size_t)n);
    rc = sqlite3_blob_read(bh, buf, n, 0) == SQLITE_OK ? 0 : -UP_EDB;
    sqlite3_blob_close(bh);
    if (rc == 0)
        rc = up_entcache_decode(buf, (size_t)n, from, to, parts, e, why, whylen);
    free(buf);
    return rc == -UP_EDB ? -UP_ENOTFOUND : rc;
}

int up_entcache_write(sqlite3 *db, char *err, size_t errlen)
{
    int64_t gen;
    int rc = crm_gen(db, &gen);
    if (rc == -UP_ENOTFOUND)
        return 0;   /* a store from before crm_gen: no cache */
    if (rc < 0 || sqlite3_exec(db,
                               "CREATE TABLE IF NOT EXISTS entities_cache(id INTEGER PRIMARY KEY CHECK (id = 1),"
                               " gen INTEGER NOT NULL, blob BLOB NOT NULL)", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "entity cache: %s", sqlite3_errmsg(db));
        return -UP_EDB;
    }
    up_entities_t e;
    if ((rc = up_entities_load(db, INT64_MIN, INT64_MAX, UP_ENT_ALL, NULL, &e, err, errlen)) < 0)
        return rc;
    uint8_t *blob;
    size_t len;
    rc = up_entcache_encode(&e, gen, &blob, &len);
    up_entities_free(&e);
    if (rc == -UP_EINVAL) {   /* too big for one blob: the views read the tables */
        sqlite3_exec(db, "DELETE FROM entities_cache", NULL, NULL, NULL);
        return 0;
    }
    if (rc < 0) {
        snprintf(err, errlen, "entity cache: %s", up_strerror(rc));
        return rc;
    }
    sqlite3_stmt *st;
    /* stored only if the tables are still of the generation they were read at */
    if (sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO entities_cache(id, gen, blob) SELECT 1, ?1, ?2"
                           " WHERE (SELECT value FROM meta WHERE key = 'crm_gen') = ?1", -1, &st, NULL) != SQLITE_OK) {
        free(blob);
        snprintf(err, errlen, "entity cache: %s", sqlite3_errmsg(db));
        return -UP_EDB;
    }
    sqlite3_bind_int64(st, 1, gen);
    sqlite3_bind_blob(st, 2, blob, (int)len, free);
    rc = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(db) > 0) : -UP_EDB;
    if (rc < 0)
        snprintf(err, errlen, "entity cache: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

int up_entcache_check(sqlite3 *db, int *stale, int64_t *gen, char *why, size_t whylen)
{
    *stale = 0;
    *gen = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT c.gen, c.gen IS (SELECT value FROM meta WHERE key = 'crm_gen'), c.blob"
                           " FROM entities_cache c WHERE c.id = 1", -1, &st, NULL) != SQLITE_OK)
        return 0;
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *gen = sqlite3_column_int64(st, 0);
        *stale = !sqlite3_column_int(st, 1);
        const void *blob = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        up_entities_t e;
        rc = blob ? up_entcache_decode(blob, len, INT64_MIN, INT64_MAX, UP_ENT_ALL, &e, why, whylen)
                  : (snprintf(why, whylen, "it is empty"), -UP_ECORRUPT);
        if (rc == 0) {
            up_entities_free(&e);
            int64_t named = up_entcache_gen_of(blob, len);
            if (named != *gen) {
                snprintf(why, whylen, "it names generation %lld, its row %lld", (long long)named, (long long)*gen);
                rc = -UP_ECORRUPT;
            } else
                rc = *stale ? 0 : 1;
        }
    }
    sqlite3_finalize(st);
    return rc;
}
