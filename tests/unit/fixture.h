/* fixture: the store fixtures the unit tests share — a temporary store
 * directory with a model, events and table rows written into it, and a run
 * that reads it back as of T (rollup, entities, portfolio). Every helper
 * asserts what it does, so a broken fixture fails the test that uses it. */
#ifndef UP_FIXTURE_H
#define UP_FIXTURE_H
#include "testutil.h"

#include <sqlite3.h>

#include "engine.h"
#include "store.h"

/* Milliseconds since the epoch of day (days since 1970-01-01) at h:m:s.ms UTC. */
static inline int64_t fx_ms(int32_t day, int h, int m, int s, int ms)
{
    return ((int64_t)day * 86400 + h * 3600 + m * 60 + s) * 1000 + ms;
}

/* The store in dir opened for writing (created when it is not there yet). */
static inline up_store_t *fx_open_w(const char *dir)
{
    up_store_t *s;
    char err[512];
    assert_int_equal(up_store_open(&s, dir, UP_STORE_WRITE | UP_STORE_CREATE, err, sizeof err), 0);
    return s;
}

/* fx_open_w with the model text set under the name source. */
static inline up_store_t *fx_create(const char *dir, const char *model, const char *source)
{
    up_store_t *s = fx_open_w(dir);
    char err[512];
    assert_int_equal(up_store_set_model(s, model, strlen(model), source, err, sizeof err), 0);
    return s;
}

/* Appends one event with message id mid (or none) and asserts
 * up_store_append's result (1 stored, 0 a duplicate id). */
static inline void fx_ev_id(up_store_t *s, int64_t ts, const char *user, const char *account, const char *event,
                            const char *mid, int expect)
{
    int rc = up_store_append(s, ts, user, strlen(user), account, strlen(account), event, strlen(event),
                             mid, mid ? strlen(mid) : 0);
    assert_int_equal(rc, expect);
}

/* Appends one event without a message id; it must be stored. */
static inline void fx_ev(up_store_t *s, int64_t ts, const char *user, const char *account, const char *event)
{
    fx_ev_id(s, ts, user, account, event, NULL, 1);
}

/* Runs SQL (accounts, users, subscriptions…) on the store's database. */
static inline void fx_sql(up_store_t *s, const char *q)
{
    char *err = NULL;
    if (sqlite3_exec(up_store_db(s), q, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", q, err);
}

/* A read of the store as of T: the rollup, and the entities and the portfolio
 * when asked for; fx_run_close releases what was taken. */
typedef struct {
    up_store_t *s;
    up_rollup_t *r;
    int owned;
    up_entities_t e;
    up_portfolio_t p;
    int64_t T;
    int has_e, has_p;
} fx_run_t;

static inline void fx_run_open(fx_run_t *x, const char *dir, int64_t T)
{
    char err[512];
    memset(x, 0, sizeof *x);
    x->T = T;
    assert_int_equal(up_store_open(&x->s, dir, UP_STORE_READ, err, sizeof err), 0);
    assert_int_equal(up_store_rollup(x->s, T, &x->r, &x->owned), 0);
}

static inline void fx_run_entities(fx_run_t *x)
{
    char err[512];
    assert_int_equal(up_entities_load(up_store_db(x->s), up_engine_nps_from(up_store_model(x->s), x->T), x->T,
                                      UP_ENT_ALL, NULL, &x->e, err, sizeof err), 0);
    x->has_e = 1;
}

static inline void fx_run_portfolio(fx_run_t *x)
{
    assert_int_equal(up_engine_portfolio(x->r, up_store_model(x->s), &x->e, x->T, &x->p), 0);
    x->has_p = 1;
}

static inline void fx_run_close(fx_run_t *x)
{
    if (x->has_p)
        up_portfolio_free(&x->p);
    if (x->has_e)
        up_entities_free(&x->e);
    if (x->owned) {
        up_rollup_free(x->r);
        free(x->r);
    }
    up_store_close(x->s);
}

#endif
