/* rollpipe: folds a writer's events into its rollup on a second thread, so
 * that a bulk import parses and interns on one core while the day bitmaps
 * are set on the other (docs/store.md, "Import on two cores").
 * Invariant: the consumer thread touches only what up_rollup_add writes
 * (the pairs' day bitmaps, feature records and key-action lists, and the
 * rollup's event count and time range); the producer must not read those,
 * nor move r->pairs or r->evclass, without up_rollpipe_drain first. Every
 * event handed in is folded, in order, before up_rollpipe_drain returns. */
#ifndef UP_ROLLPIPE_H
#define UP_ROLLPIPE_H

#include "rollup.h"

typedef struct up_rollpipe up_rollpipe_t;

/* Starts the consumer thread over r. Returns 0 or -UP_ENOMEM (no thread:
 * the caller folds events itself). */
int up_rollpipe_start(up_rollpipe_t **out, up_rollup_t *r);
/* Queues one event (its pair and event class already in r). Returns 0, or
 * the first error the consumer met (the import stops then). */
int up_rollpipe_add(up_rollpipe_t *p, const up_ev_t *ev);
/* Waits until every queued event is folded. Returns 0 or the first error. */
int up_rollpipe_drain(up_rollpipe_t *p);
/* Drains, stops the thread and frees p (NULL is fine). Returns as drain. */
int up_rollpipe_stop(up_rollpipe_t *p);

#endif
