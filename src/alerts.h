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
} up_alerts_stats_t;

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
