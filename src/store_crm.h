/* store_crm (store layer): the CRM tables of uptake.db as the engine reads
 * them — accounts, NPS answers, subscriptions, churns, outcomes — loaded once
 * per as-of view into sorted arrays. The store owns the SQL; the engine only
 * sees these structs. Invariant: every string lives in the entities' arena,
 * freed with them. */
#ifndef UP_STORE_CRM_H
#define UP_STORE_CRM_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rollup.h"
#include "util.h"

#define UP_NO_DAY INT32_MIN

/* The entity tables an account's rows are found in (up_account_t.rows). */
enum { UP_ROWS_SURVEYS, UP_ROWS_SUBSCRIPTIONS, UP_ROWS_OUTCOMES, UP_ROWS_CHURNS, UP_ROWS_N };

/* An account as the CRM tables describe it (or as first seen in events). */
typedef struct {
    char *account_id, *name, *segment, *owner, *plan;
    int64_t seats;
    int32_t contract_start, renewal_date, churned_at;   /* UP_NO_DAY when unset */
    double arr;                                          /* NAN when unset */
    bool in_table;
    /* with has_rows (an account of up_entities_load's table): its rows
     * [rows[t][0], rows[t][1]) of each entity table t, as a search by
     * account_id finds them; otherwise they are searched for */
    bool has_rows;
    uint32_t rows[UP_ROWS_N][2];
} up_account_t;

/* An NPS answer. */
typedef struct {
    char *account_id;
    int64_t ts;
    double score;
} up_survey_t;

/* A subscription: seats licensed from start (inclusive) to end (exclusive). */
typedef struct {
    char *account_id;
    int64_t start, end;        /* end UP_TS_NONE when open */
    int64_t seats;
    double arr;                /* NAN when unset */
} up_subscription_t;

/* 1 when subscription b is active at T: start <= T < end (or no end). */
static inline int up_subscription_active(const up_subscription_t *b, int64_t T)
{
    return b->start <= T && (b->end == UP_TS_NONE || T < b->end);
}

/* A churn: a row of the churn table (an account left at ts). */
typedef struct {
    char *account_id;
    int64_t ts;
} up_churn_t;

/* An outcome measurement (business result measured outside the product). */
typedef struct {
    char *account_id, *metric;
    int64_t ts, due;           /* due UP_TS_NONE when unset */
    double value, target;      /* target NAN when unset */
} up_outcome_t;

/* The entity tables a query needs, loaded once per query. The users table is
 * not here: the store folds it into the rollup's pairs (created_at, roles). */
typedef struct {
    up_account_t *accounts;   /* sorted by account_id */
    uint32_t n_accounts;
    up_survey_t *surveys;     /* NPS answers with ts in [from, to], sorted by account_id, ts */
    uint32_t n_surveys;
    up_subscription_t *subscriptions;   /* sorted by account_id */
    uint32_t n_subscriptions;
    up_outcome_t *outcomes;   /* ts <= to, sorted by account_id, metric, ts, arrival */
    uint32_t n_outcomes;
    up_churn_t *churns;       /* every churn-table row, sorted by account_id, ts */
    uint32_t n_churns;
    /* key actions that are workflow completions (key_actions "workflow:NAME"):
     * (pair, ts) sorted by pair then ts; borrowed, NULL when none */
    const uint32_t *ka_pair;
    const int64_t *ka_ts;
    size_t n_ka_extra;
    up_arena_t strings;       /* every string above */
} up_entities_t;

/* The parts of up_entities_load beyond the accounts, subscriptions and
 * churns (what an account's status needs). */
enum { UP_ENT_SURVEYS = 1, UP_ENT_OUTCOMES = 2, UP_ENT_ALL = 3 };

/* Loads the accounts, the subscriptions, the churns, and as parts asks the
 * outcomes with ts <= survey_to and the NPS answers with ts in
 * [survey_from, survey_to]; only those of account `only` when it is not
 * NULL. Returns 0, or a negative UP_E* code with a sentence in err (e is
 * then empty). */
int up_entities_load(sqlite3 *db, int64_t survey_from, int64_t survey_to, unsigned parts, const char *only,
                     up_entities_t *e, char *err, size_t errlen);
/* Finds each table account's rows in the other tables (up_account_t.rows),
 * when the accounts are in strict order; up_entities_load does it. */
void up_entities_index(up_entities_t *e);
void up_entities_free(up_entities_t *e);

#endif
