/* backtest: does a score predict churn, on the store's own history
 * (docs/metrics.md, "Backtest"). Snapshots are the last day of each
 * calendar month t with D1 <= t and t + N <= D2; at each, the customers at
 * the end of t are the population, and an account is churned when it has a
 * churn in (t, t + N days]. Every score (health, its components, every
 * numeric column of `report accounts`, the level, each feature's adoption)
 * is judged over the (snapshot, account) rows pooled, by its AUC with a 95%
 * DeLong interval, and the lowest decile's lift; the churn rate by level
 * and by health band is the calibration table.
 *
 * Invariants: nothing after the end of D2 is read (the view is opened at
 * D2); rows with a null score are left out of that score only; the result
 * depends only on the store and the arguments (no randomness). */
#ifndef UP_BACKTEST_H
#define UP_BACKTEST_H

#include <stddef.h>
#include <stdint.h>

#include "metric.h"
#include "store.h"

/* An AUC with its counts. auc, lo and hi are NAN when there are no churned
 * or no retained rows; lo and hi also when either has fewer than 2 rows. */
typedef struct {
    double auc, lo, hi;
    int64_t churned, retained, left_out;
} up_auc_t;

/* The AUC of a score over n rows: the share of (churned, retained) pairs in
 * which the churned row scored lower, ties counting half; rows whose value
 * is NAN are left out. With ci, the DeLong 95% interval (clamped to 0..1).
 * Returns 0 or -UP_ENOMEM. */
int up_backtest_auc(const double *value, const uint8_t *churned, size_t n, int ci, up_auc_t *out);

/* The churn rate of the lowest decile of a score (the rows, not null, of
 * which fewer than 10% score strictly lower) divided by the rate of all
 * rows not null; NAN when that rate is 0 or no row has a value. */
double up_backtest_lift(const double *value, const uint8_t *churned, size_t n);

typedef struct {
    int32_t day;                  /* the snapshot's date t */
    int64_t customers, churned;
} up_bt_snapshot_t;

typedef struct {
    int64_t rows, churned;
} up_bt_cell_t;

typedef struct {
    const char *name;             /* health, health:breadth, breadth, level, feature:NAME */
    up_auc_t auc;
    double lift;
} up_bt_score_t;

enum { UP_BT_BANDS = 6 };         /* 0-20 … 80-100, then (none): health null */
extern const char *const up_bt_band_names[UP_BT_BANDS];
/* The health band of h (0..4, 5 for NAN): floor(h / 20), 100 in the top band. */
int up_backtest_band(double h);

typedef struct {
    int32_t d1, d2;
    int horizon;
    up_bt_snapshot_t *snaps;
    uint32_t n_snaps;
    size_t n_rows;                /* (snapshot, customer) rows */
    uint32_t *row_snap;           /* per row: its snapshot */
    uint8_t *churned;             /* per row: 1 churned, 0 retained */
    size_t n_scores;
    up_bt_score_t *scores;        /* in catalog order (health first) */
    double *values;               /* values[k * n_rows + i]: score k of row i */
    uint32_t *ranked;             /* score indexes by |auc - 0.5|, largest first, null AUC last */
    up_bt_cell_t by_level[3], by_band[UP_BT_BANDS], all;
    double weights[UP_H_N];       /* the model's health weights */
    char *strings_;               /* private: the feature score names */
} up_backtest_t;

/* Index of the first health component score ("health:NAME") in scores. */
#define UP_BT_COMPONENT0 1

/* Runs the backtest from D1 to D2 (days) with a horizon of N days.
 * Returns 0; -UP_EINVAL with a sentence in err when the arguments allow
 * no snapshot (N < 1, D1 > D2, no month end fits); another negative UP_E*
 * code with a sentence otherwise. */
int up_backtest_run(up_store_t *s, int32_t d1, int32_t d2, int horizon, up_backtest_t *bt, char *err,
                    size_t errlen);
void up_backtest_free(up_backtest_t *bt);

/* The calibration row of health h: its band's rows and churned. */
const up_bt_cell_t *up_backtest_band_cell(const up_backtest_t *bt, double h);

/* The churn-probability calibration as of T (renewals, the alert rule
 * renewal_at_risk): the backtest from T's day - 365 to T's day with the
 * horizon given, by health band. No month end fits (a store with less
 * history than the horizon): n_snaps 0 and every band empty. */
typedef struct {
    int32_t from, to;
    int horizon;
    uint32_t n_snaps;
    up_bt_cell_t band[UP_BT_BANDS];
} up_bt_calibration_t;

int up_backtest_calibration(up_store_t *s, int64_t T, int horizon, up_bt_calibration_t *out, char *err,
                            size_t errlen);

/* The churn probability of health h under c: its band's churn rate (NAN
 * when the band has no row); *rows receives the band's rows. */
double up_backtest_probability(const up_bt_calibration_t *c, double h, int64_t *rows);

struct up_view;
/* Fills churn_probability on every portfolio row of v (a UP_VIEW_SIGNALS
 * view, whatever rows it lists): the account's health band's churn rate in
 * the calibration backtest as of v's day with the model's renewal_days as
 * the horizon. Returns 0 or a negative UP_E* code with a sentence in err. */
int up_backtest_churn_probability(struct up_view *v, char *err, size_t errlen);

/* Suggested health weights: fitted on the snapshots of the earlier half
 * (the first n_snaps / 2), judged on the later half only. */
typedef struct {
    double weights[UP_H_N];       /* non-negative, multiples of 0.01, summing to 1 */
    uint32_t train_snaps, test_snaps;
    up_auc_t train_current, train_suggested;
    up_auc_t test_current, test_suggested;
} up_bt_suggestion_t;

/* Fits the suggestion: a greedy search over weight vectors that raises the
 * AUC of health on the earlier half, from the best of the current weights
 * and each component alone, mixing in one component at a time. Returns 0,
 * -UP_EINVAL when there are fewer than 2 snapshots, or -UP_ENOMEM. */
int up_backtest_suggest(const up_backtest_t *bt, up_bt_suggestion_t *out);

/* The health of row i under weights w, the engine's way (null components
 * and weight-0 ones left out, the rest rescaled). */
double up_backtest_health(const up_backtest_t *bt, size_t i, const double *w);

#endif
