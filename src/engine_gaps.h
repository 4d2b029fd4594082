/* engine_gaps: the adoption gap of each account, a value derived from its
 * metrics row (project definitions, docs/metrics.md):
 *   unused_seats      = max(seats − active users, 0)
 *   unused_seat_share = unused_seats / seats (null without seats)
 *   unused_core_share = core features unused in window(28) / core features
 *   gap_score         = the mean of the two shares that exist
 *   arr_at_stake      = arr × unused_seat_share
 * Pure: reads the portfolio, writes nothing else. */
#ifndef UP_ENGINE_GAPS_H
#define UP_ENGINE_GAPS_H

#include <stdint.h>

#include "engine.h"

typedef struct {
    const up_account_metrics_t *row;   /* borrowed from the portfolio */
    int64_t unused_seats;
    double unused_seat_share, unused_core_share, gap_score, arr_at_stake;   /* NAN: null */
} up_gap_t;

/* The gap of one account. */
void up_engine_gaps_account(const up_account_metrics_t *r, up_gap_t *g);

/* The gaps of p's accounts (only segment's when segment is not NULL), the
 * largest first: gap_score, then arr_at_stake, descending (nulls last), ties
 * by account_id; at most top (top < 0: all). *out is the caller's to free.
 * Returns 0 or -UP_ENOMEM. */
int up_engine_gaps(const up_portfolio_t *p, const char *segment, int top, up_gap_t **out, uint32_t *n);

#endif
