/* engine_account: the facts of one account that live in the CRM tables
 * rather than in events: support tickets and friction, milestones and
 * implementation velocity, NPS and CSAT month by month. Read per account from
 * SQLite, for `report account`. */
#ifndef UP_ENGINE_ACCOUNT_H
#define UP_ENGINE_ACCOUNT_H

#include <sqlite3.h>
#include <stdint.h>

#include "engine.h"
#include "stmtcache.h"

#define UP_SURVEY_MONTHS 6

typedef struct {
    char name[128], owner[64];
    int64_t due, done_at;         /* UP_TS_NONE when unset */
    int overdue_days;             /* days past due at T when not done by T; 0 otherwise */
} up_milestone_t;

/* A target judged for one account (docs/metrics.md choice 20). */
typedef struct {
    const up_target_t *target;
    double value;                 /* NAN when the metric is null */
    double progress;              /* value / min; NAN when min is 0 or value null */
    int32_t due;                  /* contract_start + by_day; UP_NO_DAY without a contract */
    const char *status;           /* met, on_track, behind, missed, no_contract, no_data */
} up_target_eval_t;

typedef struct {
    int64_t tickets_28d, tickets_90d, urgent_90d;   /* urgent: priority high, urgent or critical */
    double satisfaction_90d;      /* mean satisfaction of tickets in window(90); NAN when none */
    int64_t error_events_28d;     /* the model's error_events in window(28); -1 when it lists none */
    double friction;              /* (tickets + error events) in window(28) per active user; NAN when no active user */
    int friction_flag;            /* friction >= 0.5 while breadth reaches level_breadth_min */
    up_milestone_t *milestones;   /* by due date */
    uint32_t n_milestones;
    int64_t done, overdue, stalled;                 /* stalled: overdue by 7 days or more */
    double done_per_week, planned_per_week;         /* over the last 28 days */
    struct {
        int32_t first_day;        /* the month's first day */
        int64_t nps_answers, csat_answers;
        double nps, csat;         /* NAN without answers */
    } months[UP_SURVEY_MONTHS];   /* oldest first, the last is T's month */
    up_target_eval_t *targets;    /* the model's targets that apply to the account */
    uint32_t n_targets;
} up_account_extras_t;

/* Loads the extras of account row->account as of T; error_events_28d is
 * the account's count from up_engine_account_error_counts (-1 when the model lists none);
 * workflow_share (per model workflow: users completing it in the week ending
 * with T's day / seats, NAN when unknown; NULL when not computed) gives the
 * value of a target on metric "workflow:NAME". */
int up_engine_account_extras(up_stmt_cache_t *sc, sqlite3 *db, const up_model_t *m, const up_account_metrics_t *row,
                             int64_t T, int64_t error_events_28d, const double *workflow_share,
                             up_account_extras_t *out);

/* What the signals read of the extras (the tickets, friction and
 * milestones; the targets and survey months left empty, months NAN), for
 * every account of a portfolio from two queries walked in account order:
 * open, then next for each row in account_id order (each call fills out,
 * to be freed with up_account_extras_free), then close. The same values
 * as up_engine_account_extras gives for each. */
typedef struct up_facts_cursor up_facts_cursor_t;
typedef struct {
    int64_t T;
    up_facts_cursor_t *tickets, *milestones;
} up_signal_facts_t;
int up_engine_signal_facts_open(sqlite3 *db, int64_t T, up_signal_facts_t *f);
int up_engine_signal_facts_next(up_signal_facts_t *f, const up_model_t *m, const up_account_metrics_t *row,
                                int64_t error_events_28d, up_account_extras_t *out);
void up_engine_signal_facts_close(up_signal_facts_t *f);

struct up_store;
/* Counts the use events (not passive, advanced included) of each model
 * feature by account aid in window(28) of T into counts[n_features] (an
 * event of two features counts for both). Returns 0 or a negative UP_E*
 * code. */
int up_engine_account_feature_uses(struct up_store *s, const up_rollup_t *r, const up_model_t *m, int64_t T, int64_t aid,
                                   int64_t *counts);

/* Counts the model's error_events in window(28) of T per account (by the
 * rollup's account ids) with one scan of the log: *out receives a calloc'd
 * array of r->dict[UP_KIND_ACCOUNT].n counts, or NULL (and no scan) when the
 * model lists no error event. Returns 0 or a negative UP_E* code. */
int up_engine_account_error_counts(struct up_store *s, const up_rollup_t *r, const up_model_t *m, int64_t T, int64_t **out);
void up_account_extras_free(up_account_extras_t *x);

#endif
