/* alerts: rules over each account's metrics and signals, evaluated as of a
 * date into alerts with a state (open → acknowledged → resolved, or snoozed
 * until a date), their history, and the playbooks they trigger (signed
 * webhooks, tasks for the account's owner). Invariant: evaluation is
 * idempotent — evaluating the same date twice changes nothing the second
 * time — and there is at most one active (open, acknowledged or snoozed)
 * alert per account and rule. Tables live in uptake.db (docs/alerts.md). */
#ifndef UP_ALERTS_H
#define UP_ALERTS_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

struct up_store;

/* Creates the alert tables when missing. */
int up_alerts_init(sqlite3 *db);

typedef struct {
    int accounts, rules;
    int opened, still_open, resolved, reopened, cooled_down;
    int tasks, deliveries_queued, delivered, delivery_failures, given_up;
    int data_stale;            /* the store's last event is older than data_stale_hours at T:
                                * the data_stopped alert holds and per-account rules were held back */
    int64_t last_event_ms;     /* the store's last event (0: none) */
} up_alerts_stats_t;

/* Data freshness: when the store's last event is more than the model's
 * data_stale_hours (alert_settings; 0 turns it off) before T, one store-wide
 * alert, rule UP_ALERT_DATA_STOPPED with account_id "", holds, and the
 * per-account rules are not evaluated (their alerts stay as they are) until
 * data arrives again; the alert then resolves. */
#define UP_ALERT_DATA_STOPPED "data_stopped"
/* 1 when a store whose last event is at last_ms (0: none) has stopped
 * receiving data as of T under m's data_stale_hours. */
int up_alerts_data_stale(const up_model_t *m, int64_t last_ms, int64_t T);

/* Evaluates every enabled rule for every account as of T, updating the
 * alert tables through db (a read-write connection to the store's
 * uptake.db) and queueing the playbooks' deliveries and tasks. s supplies
 * the metrics (it may be opened read-only). Returns 0 or a negative UP_E*
 * code with a message in err. */
int up_alerts_evaluate(struct up_store *s, sqlite3 *db, int64_t T, up_alerts_stats_t *st, char *err,
                       size_t errlen);

/* Writes the alerts (state "active" = open, acknowledged and snoozed; "all";
 * or one state) as table, CSV or JSON (format: 0 table, 1 json, 2 csv as
 * up_format_t). */
int up_alerts_list(sqlite3 *db, FILE *out, const char *state, int format);
/* The account's alerts not resolved (open, acknowledged or snoozed) into
 * *n (0 when the store has no alerts table yet). Returns 0 or -UP_EDB. */
int up_alerts_open_count(sqlite3 *db, const char *account_id, int64_t *n);
/* One alert with its values, history, tasks and deliveries. */
int up_alerts_show(sqlite3 *db, FILE *out, int64_t id, int format);

/* Manual transitions: "ack", "resolve", "snooze" (until: a date). Returns 0,
 * -UP_ENOTFOUND, or -UP_EINVAL when the alert is not active. */
int up_alerts_set_state(sqlite3 *db, int64_t id, const char *action, const char *until, const char *today);

/* Tasks: list (open or all) and mark done. */
int up_alerts_tasks_list(sqlite3 *db, FILE *out, int all, int format);
int up_alerts_task_done(sqlite3 *db, int64_t id, const char *today);

#endif
