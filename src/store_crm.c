/* store_crm: the CRM tables, loaded for the engine (see the header). */
#include "store_crm.h"

#include "timeparse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *col_str_in(up_arena_t *a, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? up_arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}
#define col_str(st, i) col_str_in(&e->strings, st, i)

/* An account id column: the previous row's copy when it is the same id (the
 * rows come in account_id order), else a new copy. */
static char *col_id(up_entities_t *e, sqlite3_stmt *st, int i, char *prev)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t)
        return NULL;
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    if (prev && strncmp(prev, (const char *)t, n) == 0 && prev[n] == '\0')
        return prev;
    return up_arena_strndup(&e->strings, (const char *)t, n);
}

/* SELECT ... [WHERE where [AND account_id = only]] ORDER BY order; the
 * account id is bound to parameter 9 so that the others keep theirs. */
static int prep(sqlite3 *db, const char *select, const char *where, const char *order, const char *only,
                sqlite3_stmt **st)
{
    char sql[512];
    snprintf(sql, sizeof sql, "%s%s%s%s%s ORDER BY %s", select, where || only ? " WHERE " : "", where ? where : "",
             where && only ? " AND " : "", only ? "account_id = ?9" : "", order);
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return -1;
    if (only && sqlite3_bind_text(*st, 9, only, -1, SQLITE_STATIC) != SQLITE_OK)
        return -1;
    return 0;
}

static int32_t col_day(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    int32_t day;
    if (!t || up_date_parse((const char *)t, strlen((const char *)t), &day) < 0)
        return UP_NO_DAY;
    return day;
}

static int grow(void **p, uint32_t *cap, uint32_t n, size_t size)
{
    if (n < *cap)
        return 0;
    uint32_t c = *cap ? *cap * 2 : 64;
    void *q = realloc(*p, c * size);
    if (!q)
        return -UP_ENOMEM;
    up_prefault((char *)q + (size_t)*cap * size, (size_t)(c - *cap) * size);
    *p = q;
    *cap = c;
    return 0;
}

/* Each table account's rows in the other tables, by one walk of each
 * (every table is sorted by account_id as strcmp orders it). */
#define ROWS_OF(arr, n, t)                                                   \
    do {                                                                     \
        uint32_t j_ = 0;                                                     \
        for (uint32_t i_ = 0; i_ < e->n_accounts; i_++) {                    \
            up_account_t *a_ = &e->accounts[i_];                             \
            while (j_ < (n) && strcmp((arr)[j_].account_id, a_->account_id) < 0) \
                j_++;                                                        \
            a_->rows[t][0] = j_;                                             \
            while (j_ < (n) && strcmp((arr)[j_].account_id, a_->account_id) == 0) \
                j_++;                                                        \
            a_->rows[t][1] = j_;                                             \
        }                                                                    \
    } while (0)

void up_entities_index(up_entities_t *e)
{
    for (uint32_t i = 1; i < e->n_accounts; i++)
        if (strcmp(e->accounts[i - 1].account_id, e->accounts[i].account_id) >= 0)
            return;   /* not strictly in order (cannot be: a primary key, by BINARY): search instead */
    ROWS_OF(e->surveys, e->n_surveys, UP_ROWS_SURVEYS);
    ROWS_OF(e->subscriptions, e->n_subscriptions, UP_ROWS_SUBSCRIPTIONS);
    ROWS_OF(e->outcomes, e->n_outcomes, UP_ROWS_OUTCOMES);
    ROWS_OF(e->churns, e->n_churns, UP_ROWS_CHURNS);
    for (uint32_t i = 0; i < e->n_accounts; i++)
        e->accounts[i].has_rows = true;
}

int up_entities_load(sqlite3 *db, int64_t survey_from, int64_t survey_to, unsigned parts, const char *only,
                     up_entities_t *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    sqlite3_stmt *st = NULL;
    uint32_t cap = 0;
    int rc = -UP_EDB;
    char *prev = NULL;
    if (prep(db,
            "SELECT account_id, name, seats, contract_start, renewal_date, arr, segment, owner,"
            " churned_at, plan FROM accounts", NULL, "account_id", only, &st) < 0)
        goto fail;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (grow((void **)&e->accounts, &cap, e->n_accounts, sizeof *e->accounts) < 0)
            goto nomem;
        up_account_t *a = &e->accounts[e->n_accounts++];
        memset(a, 0, sizeof *a);
        a->account_id = col_str(st, 0);
        a->name = col_str(st, 1);
        a->seats = sqlite3_column_int64(st, 2);
        a->contract_start = col_day(st, 3);
        a->renewal_date = col_day(st, 4);
        a->arr = sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5);
        a->segment = col_str(st, 6);
        a->owner = col_str(st, 7);
        a->churned_at = col_day(st, 8);
        a->plan = col_str(st, 9);
        a->in_table = true;
        if (!a->account_id)
            goto nomem;
    }
    sqlite3_finalize(st);
    cap = 0;
    if (!(parts & UP_ENT_SURVEYS))
        st = NULL;
    else if (prep(db, "SELECT account_id, ts, score FROM surveys", "kind = 'nps' AND ts >= ?1 AND ts <= ?2",
                  "account_id, ts", only, &st) < 0)
        goto fail;
    else {
        sqlite3_bind_int64(st, 1, survey_from);
        sqlite3_bind_int64(st, 2, survey_to);
    }
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (grow((void **)&e->surveys, &cap, e->n_surveys, sizeof *e->surveys) < 0)
            goto nomem;
        up_survey_t *s = &e->surveys[e->n_surveys++];
        s->account_id = prev = col_id(e, st, 0, prev);
        s->ts = sqlite3_column_int64(st, 1);
        s->score = sqlite3_column_double(st, 2);
        if (!s->account_id)
            goto nomem;
    }
    sqlite3_finalize(st);
    cap = 0;
    prev = NULL;
    if (prep(db, "SELECT account_id, start, end, seats, arr FROM subscriptions", NULL, "account_id", only, &st) < 0)
        goto fail;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (grow((void **)&e->subscriptions, &cap, e->n_subscriptions, sizeof *e->subscriptions) < 0)
            goto nomem;
        up_subscription_t *b = &e->subscriptions[e->n_subscriptions++];
        b->account_id = prev = col_id(e, st, 0, prev);
        b->start = sqlite3_column_int64(st, 1);
        b->end = sqlite3_column_type(st, 2) == SQLITE_NULL ? UP_TS_NONE : sqlite3_column_int64(st, 2);
        b->seats = sqlite3_column_int64(st, 3);
        b->arr = sqlite3_column_type(st, 4) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 4);
        if (!b->account_id)
            goto nomem;
    }
    sqlite3_finalize(st);
    cap = 0;
    prev = NULL;
    if (!(parts & UP_ENT_OUTCOMES))
        st = NULL;
    else if (prep(db, "SELECT account_id, metric, ts, value, target, due FROM outcomes", "ts <= ?1",
                  "account_id, metric, ts, seq", only, &st) < 0)
        goto fail;
    else
        sqlite3_bind_int64(st, 1, survey_to);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (grow((void **)&e->outcomes, &cap, e->n_outcomes, sizeof *e->outcomes) < 0)
            goto nomem;
        up_outcome_t *o = &e->outcomes[e->n_outcomes++];
        o->account_id = prev = col_id(e, st, 0, prev);
        o->metric = col_str(st, 1);
        o->ts = sqlite3_column_int64(st, 2);
        o->value = sqlite3_column_double(st, 3);
        o->target = sqlite3_column_type(st, 4) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 4);
        o->due = sqlite3_column_type(st, 5) == SQLITE_NULL ? UP_TS_NONE : sqlite3_column_int64(st, 5);
        if (!o->account_id || !o->metric)
            goto nomem;
    }
    sqlite3_finalize(st);
    cap = 0;
    /* a store written before the churn table existed, opened read-only, has
     * none: no churns then (a writer creates the table when it opens) */
    prev = NULL;
    if (prep(db, "SELECT account_id, ts FROM churns", NULL, "account_id, ts", only, &st) < 0) {
        sqlite3_finalize(st);
        st = NULL;
    }
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (grow((void **)&e->churns, &cap, e->n_churns, sizeof *e->churns) < 0)
            goto nomem;
        up_churn_t *k = &e->churns[e->n_churns++];
        k->account_id = prev = col_id(e, st, 0, prev);
        k->ts = sqlite3_column_int64(st, 1);
        if (!k->account_id)
            goto nomem;
    }
    sqlite3_finalize(st);
    up_entities_index(e);
    return 0;
nomem:
    rc = -UP_ENOMEM;
fail:
    if (err)
        snprintf(err, errlen, "reading entity tables: %s", rc == -UP_ENOMEM ? "out of memory" : sqlite3_errmsg(db));
    sqlite3_finalize(st);
    up_entities_free(e);
    return rc;
}

void up_entities_free(up_entities_t *e)
{
    up_arena_free(&e->strings);
    free(e->accounts);
    free(e->surveys);
    free(e->subscriptions);
    free(e->outcomes);
    free(e->churns);
    memset(e, 0, sizeof *e);
}
