/* playbook: the deliveries that alert playbooks queue (the deliveries
 * table of alerts.c): signed webhook POSTs and Slack messages, retried with
 * back-off. See playbook.c for the protocol. */
#ifndef UP_PLAYBOOK_H
#define UP_PLAYBOOK_H

#include <sqlite3.h>

#include "alerts.h"
#include "model.h"

/* Attempts the deliveries that are due (now, by the wall clock), with
 * retries and exponential back-off; when wait_s > 0 it keeps going until
 * nothing is due within wait_s seconds. Counts into st. */
int up_playbook_deliver(sqlite3 *db, const up_model_t *m, int wait_s, up_alerts_stats_t *st);

#endif
