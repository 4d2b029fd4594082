/* engine: every account metric of spec/metrics.md, feature adoption and the
 * health score, computed as of an instant T from the rollup and the entity
 * tables. Invariant: one implementation per metric; a null metric is NAN (or
 * the documented sentinel) and always carries the reason it is null. */
#ifndef UP_ENGINE_H
#define UP_ENGINE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "metric.h"
#include "model.h"
#include "rollup.h"
#include "store.h"
#include "store_crm.h"

/* Whether an outcome metric is on track at T (metrics.md), judged on its
 * latest row with ts <= T, start being the ts of its first row; -1 when the
 * latest row has no target. */
int up_engine_outcome_on_track(const up_outcome_t *first, const up_outcome_t *latest, int64_t T);

/* The first instant of the NPS window for as-of T under model m. */
int64_t up_engine_nps_from(const up_model_t *m, int64_t T);

typedef struct {
    double score;         /* clamped 0..100; NAN when the metric is null */
    double weight;        /* the model's weight */
    double rescaled;      /* weight / sum of weights of non-null components; 0 when null */
    double contribution;  /* rescaled × score; 0 when null */
} up_health_part_t;

/* TSIA adoption levels. */
typedef enum { UP_LEVEL_LOW, UP_LEVEL_HIGH, UP_LEVEL_EFFECTIVE } up_level_t;
extern const char *const up_level_names[3];

/* Lifecycle status at T (metrics.md, "Customers, churn and renewals"). */
typedef enum { UP_STATUS_CUSTOMER, UP_STATUS_CHURNED, UP_STATUS_PROSPECT } up_status_t;
extern const char *const up_status_names[3];
/* The status named s, or -1. */
int up_status_parse(const char *s);

/* The C type of each metric kind (metric.h says what null is for each). */
#define UP_MTYPE_COUNT int64_t
#define UP_MTYPE_DAYS int64_t
#define UP_MTYPE_RATIO double
#define UP_MTYPE_SCORE double
#define UP_MTYPE_AMOUNT double
#define UP_MTYPE_BOOL int
#define UP_MTYPE_LEVEL up_level_t
#define UP_MTYPE_STATUS up_status_t

/* One account's metrics as of T: a field per catalog row (metric.h), named
 * as the metric, then what explains them. Signals (UP_MU_SIGNAL) hold null
 * until up_engine_signals computes them. */
typedef struct {
    const up_account_t *account;
#define UP_METRIC_FIELD_(ID, name, kind, uses, meaning) UP_MTYPE_##kind name;
    UP_METRICS(UP_METRIC_FIELD_)
#undef UP_METRIC_FIELD_
    up_health_part_t parts[UP_H_N];
    int64_t core_used;          /* core features used in window(28) */
    const char *level_why;      /* the sentence that explains the level */
    int outcomes_with_target, outcomes_on_track;
    const char *why_null[UP_M_N];   /* reason per null metric, NULL when set */
    /* per model feature: users who used it in window(28), and the share */
    int64_t *feature_users;
    double *feature_adoption;
} up_account_metrics_t;

/* A metric of row as a number: NAN when null; a BOOL is 0 or 1, a LEVEL
 * its up_level_t. */
double up_engine_metric(const up_account_metrics_t *row, int id);

typedef struct {
    int64_t T;
    int32_t d0;
    const up_model_t *model;
    up_account_metrics_t *rows;   /* sorted by account_id */
    uint32_t n_rows;
    up_account_t *event_only;     /* accounts seen only in events (owned) */
    uint32_t n_event_only;
} up_portfolio_t;

/* The rollup's pairs grouped by account (a counting sort): the pairs of
 * account dict id a are acc_pairs[acc_start[a] .. acc_start[a + 1]), in id
 * order; acc_first[a] is the first event of any of them (UP_TS_NONE when
 * none). Every portfolio over a rollup starts from it: a caller computing
 * several can compute it once (while it waits for something else) and hand
 * it to the _grouped functions, as long as no event is folded into the
 * rollup meanwhile (given groups of another size they compute their own). */
typedef struct {
    uint32_t *acc_start, *acc_pairs;
    int64_t *acc_first;
    uint32_t n_accounts, n_pairs;   /* of the rollup it was computed from */
} up_pair_groups_t;
int up_engine_group_pairs(const up_rollup_t *r, up_pair_groups_t *g);
void up_engine_pair_groups_free(up_pair_groups_t *g);

/* Computes every account's metrics as of T. The rollup, model and entities
 * are borrowed and must outlive the portfolio. */
int up_engine_portfolio(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                        int64_t T, up_portfolio_t *out);
/* The same with one row only: the account `only` (in the accounts table or
 * seen in events by T), or none when it is neither; its row is the one the
 * whole portfolio has (accounts are computed independently). */
int up_engine_portfolio_of(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                           int64_t T, const char *only, up_portfolio_t *out);
/* The portfolios as of T into out and as of T2 <= T into out2, the same as
 * up_engine_portfolio gives for each, each account's pairs read once for
 * both. On failure both are empty. */
int up_engine_portfolio_two(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e, int64_t T,
                            int64_t T2, up_portfolio_t *out, up_portfolio_t *out2);
/* up_engine_portfolio_of and up_engine_portfolio_two from groups g of r
 * (NULL: computed here). With UP_PORTFOLIO_SECOND_HEALTH in flags the rows
 * as of T2 hold only what the signals read of them: health (the same value
 * as in a whole row) and the metrics it scores (breadth, depth, stickiness,
 * consistency, wau_trend, nps, intensity); the other fields are left
 * unset and feature_users and feature_adoption NULL. */
enum { UP_PORTFOLIO_SECOND_HEALTH = 1 };
int up_engine_portfolio_grouped(const up_rollup_t *r, const up_pair_groups_t *g, const up_model_t *m,
                                const up_entities_t *e, int64_t T, const char *only, up_portfolio_t *out);
int up_engine_portfolio_two_grouped(const up_rollup_t *r, const up_pair_groups_t *g, const up_model_t *m,
                                    const up_entities_t *e, int64_t T, int64_t T2, unsigned flags,
                                    up_portfolio_t *out, up_portfolio_t *out2);
void up_portfolio_free(up_portfolio_t *p);

/* The level of one account at the end of each day from_day .. to_day into
 * out[0 .. to_day - from_day]; e must hold the outcomes up to to_day. */
int up_engine_level_history(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                            const up_account_t *acc, int32_t from_day, int32_t to_day, up_level_t *out);

/* T for "--as-of DATE": the last instant (ms) of that UTC day. */
int64_t up_engine_end_of_day(int32_t day);

/* The account's licensed seats at T: the subscriptions active at T when the
 * account has any (metrics.md), else accounts.seats. */
int64_t up_engine_seats_at(const up_entities_t *e, const up_account_t *acc, int64_t T);

/* The account's status at T: churned when its latest churn at or before T
 * (accounts.churned_at as the first instant of its day, or a churn-table
 * row) is later than its latest start at or before T (contract_start as the
 * first instant of its day, or a subscription's start); prospect when it has
 * no start at or before T but one after T; otherwise customer. */
up_status_t up_engine_status_at(const up_entities_t *e, const up_account_t *acc, int64_t T);

/* The ARR the account's contracts pay at T whatever its status: the sum of
 * arr over its subscriptions active at T when it has subscriptions, else
 * accounts.arr (NAN when unset). */
double up_engine_contract_arr_at(const up_entities_t *e, const up_account_t *acc, int64_t T);

/* The account's renewal day: accounts.renewal_date when set, else the UTC
 * day of the end of its last subscription (the one that starts last; the
 * latest end among those starting then), else UP_NO_DAY (no subscription,
 * or the last one has no end). */
int32_t up_engine_renewal_day(const up_entities_t *e, const up_account_t *acc);

/* ARR at T (metrics.md): the contract ARR when the account is a customer at
 * T, else 0. */
double up_engine_arr_at(const up_entities_t *e, const up_account_t *acc, int64_t T);

/* 1 when the account has a churn (churned_at's first instant, or a
 * churn-table row) in (from, to]. */
int up_engine_churned_between(const up_entities_t *e, const up_account_t *acc, int64_t from, int64_t to);

/* One lifecycle event of an account, in time order: a start or a churn. */
typedef struct {
    int64_t ts;
    int churn;            /* 0: a start, 1: a churn */
    const char *source;   /* "contract_start", "subscription", "churned_at" or "churn" */
    const char *event;    /* what it changed: "started", "churned", "came back", or NULL (nothing) */
} up_lifecycle_event_t;

/* The account's starts and churns sorted by ts (a churn before a start at
 * the same instant, so the start wins as status_at says) into *out (caller
 * frees), their count in *n; each says what it changed, walking from no
 * start: the first start "started", a churn of a customer (or of an account
 * with no start yet) "churned", a start after a churn "came back". */
int up_engine_lifecycle(const up_entities_t *e, const up_account_t *acc, up_lifecycle_event_t **out, uint32_t *n);

#endif
