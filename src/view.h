/* view: everything that is true of the store as of one instant T, built
 * once and released once. A report, an alert evaluation, a nudge and an API
 * request each open one view and read from it: the rollup as of T, the
 * entity tables, the workflow completions that are key actions, the
 * portfolio, and on request the signal metrics and the workflow shares.
 *
 * Invariants: the parts a view holds agree on T and on the model; a view
 * borrows the store (which must outlive it) and owns everything else;
 * up_view_close releases exactly what up_view_open and the up_view_* calls
 * built, whatever failed on the way. */
#ifndef UP_VIEW_H
#define UP_VIEW_H

#include "engine.h"
#include "engine_workflow.h"
#include "store.h"

/* What to build (a set of bits; each implies the ones it needs). */
enum {
    UP_VIEW_ROLLUP = 1,      /* the rollup as of T */
    UP_VIEW_ENTITIES = 2,    /* the entity tables (accounts, surveys, subscriptions, outcomes) */
    UP_VIEW_PORTFOLIO = 4,   /* every account's metrics (implies the two above and the key actions) */
    UP_VIEW_SIGNALS = 8,     /* the portfolio with its signal metrics (engine_signals.h), but
                              * churn_probability: up_backtest_churn_probability fills it */
    /* Which accounts portfolio.rows lists, by their status at T (none of
     * these bits: the customers). The others stay in the view, after
     * portfolio.n_rows, where up_view_row still finds them. */
    UP_VIEW_CUSTOMER = 16,
    UP_VIEW_CHURNED = 32,
    UP_VIEW_PROSPECT = 64,
    UP_VIEW_ALL = 16 | 32 | 64,
    /* With UP_VIEW_ENTITIES: only the tables an account's status needs (the
     * accounts, subscriptions and churns), not the NPS answers and outcomes.
     * A portfolio loads them all. */
    UP_VIEW_LIFECYCLE = 128,
};

/* The UP_VIEW_* status bits of a --status value (customer, churned,
 * prospect, all, or several joined by commas), or 0 when it is not one. */
unsigned up_view_status_bits(const char *s);

typedef struct up_view {
    up_store_t *store;            /* borrowed */
    const up_model_t *model;      /* the store's */
    int64_t T;
    int32_t d0;                   /* T's day */
    const up_rollup_t *rollup;    /* NULL unless UP_VIEW_ROLLUP */
    up_entities_t entities;       /* empty unless UP_VIEW_ENTITIES */
    up_portfolio_t portfolio;     /* empty unless UP_VIEW_PORTFOLIO */
    up_portfolio_t before;        /* with UP_VIEW_SIGNALS: the portfolio health_drop_days before T */
    double secs_load, secs_rollup, secs_entities, secs_metrics;   /* phase times (UPTAKE_TIMING) */
    double secs_signals;          /* of secs_metrics, the signals' */
    /* the whole portfolio's entity tables: 1 read from their cache
     * (entcache.h), 0 from the tables because the cache is missing, of an
     * older generation or damaged (a writer then writes it anew), -1 from
     * the tables for another reason (one account, no entities) */
    int entities_cached;
    /* private */
    up_rollup_t *rollup_owned_;
    up_pair_groups_t groups_;     /* the rollup's pairs by account, for the portfolios */
    int8_t *quiet_;               /* with the signals: up_engine_people_champions_quiet per account id */
    up_workflows_t wf_ka_;
    double *share_;
    int have_entities_;
    uint32_t n_rows_all_;         /* the portfolio's rows, the ones not listed included */
} up_view_t;

/* Builds the parts `what` asks for as of T. Returns 0, or a negative UP_E*
 * code with a sentence in err; the view is closed then. */
int up_view_open(up_store_t *s, int64_t T, unsigned what, up_view_t *v, char *err, size_t errlen);
/* up_view_open for one account's page: the portfolio holds that account's
 * row only (none when the store does not know it), and the entity tables
 * that account's rows only. Not with UP_VIEW_SIGNALS, whose metrics compare
 * accounts. */
int up_view_open_account(up_store_t *s, int64_t T, unsigned what, const char *id, up_view_t *v, char *err,
                         size_t errlen);
void up_view_close(up_view_t *v);

/* Opens a view at T (an end-of-day instant) with the rollup and entity
 * tables only, whose entities serve every end-of-day instant from `since`
 * to T (the NPS answers from the window of `since` on), for
 * up_view_portfolio_at. */
int up_view_open_span(up_store_t *s, int64_t since, int64_t T, up_view_t *v, char *err, size_t errlen);

/* The portfolio (every account, whatever its status) at the end-of-day
 * instant T2 of a span view (since <= T2 <= v->T), from the view's rollup
 * and entities; free it with up_portfolio_free. Returns 0 or a negative
 * UP_E* code with a sentence in err. */
int up_view_portfolio_at(up_view_t *v, int64_t T2, up_portfolio_t *out, char *err, size_t errlen);

/* The portfolio's rows, the ones the status bits did not list included
 * (they follow portfolio.n_rows). */
uint32_t up_view_rows_all(const up_view_t *v);

/* Per rollup account id (the view's rollup and entities): 1 when the
 * account's status at T is one of the UP_VIEW_* status bits (none: the
 * customers); an account known only from events is a customer. A calloc'd
 * array for the caller to free, or NULL when out of memory. */
uint8_t *up_view_status_mask(const up_view_t *v, unsigned bits);

/* The portfolio row of account id, or NULL. */
const up_account_metrics_t *up_view_row(const up_view_t *v, const char *id);

/* Per portfolio row × model workflow: the users completing the workflow in
 * the week ending with T's day / the row's seats (NAN without seats);
 * computed on first use with one scan of the log; NULL when the model has no
 * workflow. *rc receives 0 or a negative UP_E* code. */
const double *up_view_workflow_share(up_view_t *v, int *rc);

#endif
