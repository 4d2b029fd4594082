/* metric: the catalog of account metrics, at the bottom of the house. Every
 * account metric is named here once, in one row of UP_METRICS: its name, its
 * kind, what it is used as and what it means. The engine's result struct
 * (up_account_metrics_t in engine.h) takes its fields from these rows; the
 * report columns, the alert variables, the target metrics and the model's
 * validation of rules and targets all read this table. The health components
 * (UP_HEALTH) and their model weights are named here too.
 *
 * Invariant: this header and metric.c depend on nothing in the project; a
 * metric's name, kind and uses are said in one place only.
 *
 * Adding an account metric: one row below, its computation in the engine
 * (engine.c, or engine_signals.c for a signal), its definition in
 * docs/metrics.md. Nothing else names it. */
#ifndef UP_METRIC_H
#define UP_METRIC_H

#include <stddef.h>
#include <stdint.h>

/* Kinds: how a value is held, written and compared.
 *   COUNT  int64_t, written as an integer; null is INT64_MIN
 *   DAYS   int64_t, a number of days; null is INT64_MIN
 *   RATIO  double, a share or rate, full precision; null is NAN
 *   SCORE  double, points (health, NPS, a change of health); null is NAN
 *   AMOUNT double, money (ARR); null is NAN
 *   BOOL   int, true/false; null is -1
 *   LEVEL  up_level_t, low/high/effective; never null
 *   STATUS up_status_t, customer/churned/prospect; never null */
typedef enum {
    UP_MK_COUNT, UP_MK_DAYS, UP_MK_RATIO, UP_MK_SCORE, UP_MK_AMOUNT, UP_MK_BOOL, UP_MK_LEVEL, UP_MK_STATUS
} up_metric_kind_t;

/* Uses: a set of these bits.
 *   COL    a column of `report accounts` (table, CSV, JSON, the API), in catalog order
 *   VAR    a variable of alert-rule conditions (docs/alerts.md)
 *   TGT    a metric an adoption target may name (model key `targets`)
 *   SIGNAL computed only when asked for (alert evaluation, the account
 *          page): it reads the CRM tables per account or a second as-of
 *          instant, which a portfolio report does not need */
enum { UP_MU_COL = 1, UP_MU_VAR = 2, UP_MU_TGT = 4, UP_MU_SIGNAL = 8 };
#define UP_MU_CVT (UP_MU_COL | UP_MU_VAR | UP_MU_TGT)
#define UP_MU_CV (UP_MU_COL | UP_MU_VAR)
#define UP_MU_VS (UP_MU_VAR | UP_MU_SIGNAL)

/* X(ID, name, kind, uses, meaning). The name is the C field of
 * up_account_metrics_t and the public name everywhere (CSV, JSON, rules,
 * targets). The order is the order of the columns and of --explain. */
#define UP_METRICS(X)                                                                                        \
    X(SEATS, seats, COUNT, UP_MU_CVT, "licensed seats at T")                                                 \
    X(KNOWN_USERS, known_users, COUNT, UP_MU_CVT, "users known by T (users table or an event)")             \
    X(DAU, dau, COUNT, UP_MU_CVT, "users active on T's day")                                                 \
    X(WAU, wau, COUNT, UP_MU_CVT, "users active in the 7 days ending with T's day")                         \
    X(WAU_PREV, wau_prev, COUNT, UP_MU_CVT, "WAU of the week before")                                       \
    X(MAU, mau, COUNT, UP_MU_CVT, "users active in the 28 days ending with T's day")                        \
    X(ACTIVE_USERS, active_users, COUNT, UP_MU_CVT, "active users (MAU)")                                   \
    X(BREADTH, breadth, RATIO, UP_MU_CVT, "active users / licensed seats")                                  \
    X(DEPTH, depth, RATIO, UP_MU_CVT, "core features used in 28 days / core features")                      \
    X(STICKINESS, stickiness, RATIO, UP_MU_CVT, "mean DAU over 28 days / MAU")                              \
    X(WAU_TREND, wau_trend, RATIO, UP_MU_CVT, "(WAU - WAU a week before) / WAU a week before")              \
    X(TTFV, ttfv_days, DAYS, UP_MU_CVT, "days from contract start to the first key action")                 \
    X(ACTIVATION, activation_rate, RATIO, UP_MU_CVT, "share of the activation cohort with a key action")    \
    X(CONSISTENCY, consistency, RATIO, UP_MU_CVT, "share of the last 12 weeks with an active user")         \
    X(CHAMPION, champion_active, BOOL, UP_MU_CV, "every champion active in the last 14 days")               \
    X(NPS, nps, SCORE, UP_MU_CVT, "NPS over nps_window_days")                                                \
    X(HEALTH, health, SCORE, UP_MU_CVT, "the health score, 0-100")                                           \
    X(LEVEL, level, LEVEL, UP_MU_COL, "adoption level: low, high or effective")                             \
    X(ARR, arr, AMOUNT, UP_MU_VAR, "ARR at T: active subscriptions, else accounts.arr; 0 unless a customer")                             \
    X(LEVEL_LOW, level_low, BOOL, UP_MU_VAR, "level is low")                                                 \
    X(LEVEL_HIGH, level_high, BOOL, UP_MU_VAR, "level is high")                                              \
    X(LEVEL_EFFECTIVE, level_effective, BOOL, UP_MU_VAR, "level is effective")                               \
    X(CORE_FEATURES, core_features, COUNT, UP_MU_VAR, "core features in the model")                         \
    X(CORE_UNUSED, core_unused_28d, COUNT, UP_MU_VAR, "core features no one used in 28 days")               \
    X(DAYS_INTO, days_into_contract, DAYS, UP_MU_VAR, "days from contract start to T")                      \
    X(DAYS_TO_RENEWAL, days_to_renewal, DAYS, UP_MU_VAR, "days from T to the renewal (renewal_date, else the last subscription's end)") \
    X(HAS_KA, has_key_action, BOOL, UP_MU_VAR, "a key action was seen (TTFV or activation known)")          \
    X(SEATS_REMOVED, seats_removed_1d, RATIO, UP_MU_VAR, "share of seats removed since yesterday")          \
    X(CHAMPION_QUIET, champion_quiet, BOOL, UP_MU_VS, "a champion went quiet")                              \
    X(HEALTH_CHANGE, health_change, SCORE, UP_MU_VS, "health now - health health_drop_days before")        \
    X(MS_OVERDUE, milestone_overdue_days, DAYS, UP_MU_VS, "days the most overdue open milestone is late")   \
    X(MS_OPEN, open_milestones, COUNT, UP_MU_VS, "milestones not done by T")                                \
    X(MS_IDLE, days_since_milestone_done, DAYS, UP_MU_VS, "days since the last milestone was done")         \
    X(FRICTION, friction, RATIO, UP_MU_VS, "(tickets + error events) in 28 days per active user")           \
    X(FRICTION_FLAG, friction_flag, BOOL, UP_MU_VS, "friction >= 0.5 while breadth reaches the level")     \
    X(TICKETS_28D, tickets_28d, COUNT, UP_MU_VS, "tickets opened in 28 days")                               \
    X(CHURN_PROB, churn_probability, RATIO, UP_MU_VS, "churn rate of the account's health band in the last year's backtest over renewal_days") \
    X(SEATS_UTIL, seats_utilization, RATIO, UP_MU_TGT, "MAU / licensed seats (no fallback to known users)")   \
    X(DAYS_SINCE_ACTIVE, days_since_last_active, DAYS, UP_MU_VAR | UP_MU_TGT, "days since a user was last active") \
    X(STATUS, status, STATUS, UP_MU_COL, "lifecycle status at T: customer, churned or prospect")                  \
    X(EVENTS_28D, events_28d, COUNT, UP_MU_CVT, "events that make a user active in the 28 days ending with T's day") \
    X(INTENSITY, intensity, RATIO, UP_MU_CVT, "events_28d per active user-day (how much, not only whether)")

enum {
#define UP_METRIC_ENUM_(ID, name, kind, uses, meaning) UP_M_##ID,
    UP_METRICS(UP_METRIC_ENUM_)
#undef UP_METRIC_ENUM_
    UP_M_N
};

typedef struct {
    const char *name;
    up_metric_kind_t kind;
    unsigned uses;
    const char *meaning;
} up_metric_info_t;

extern const up_metric_info_t up_metric_info[UP_M_N];

/* The metric named name having every bit of uses, or -1. */
int up_metric_find(const char *name, unsigned uses);

/* 1 when name is an alert variable (the signature rules.h wants). */
int up_metric_var_known(const char *name);

/* Writes the names of the metrics having every bit of uses, joined by sep,
 * into out (truncated to outlen); returns out. */
char *up_metric_names_join(unsigned uses, const char *sep, char *out, size_t outlen);

/* The health components: X(ID, name, metric, default weight). The name is
 * the model key under health.weights and the JSON key of the components;
 * each component scores one catalog metric (engine.c says how). */
#define UP_HEALTH(X)                          \
    X(BREADTH, breadth, UP_M_BREADTH, 0.30)         \
    X(DEPTH, depth, UP_M_DEPTH, 0.25)               \
    X(STICKINESS, stickiness, UP_M_STICKINESS, 0.15) \
    X(CONSISTENCY, consistency, UP_M_CONSISTENCY, 0.10) \
    X(TREND, trend, UP_M_WAU_TREND, 0.10)           \
    X(NPS, nps, UP_M_NPS, 0.10)                     \
    X(INTENSITY, intensity, UP_M_INTENSITY, 0.0)

enum {
#define UP_HEALTH_ENUM_(ID, name, metric, weight) UP_H_##ID,
    UP_HEALTH(UP_HEALTH_ENUM_)
#undef UP_HEALTH_ENUM_
    UP_H_N
};

extern const char *const up_health_names[UP_H_N];
extern const int up_health_metric[UP_H_N];         /* the UP_M_* each component scores */
extern const double up_health_default_weight[UP_H_N];

#endif
