/* engine_gaps: adoption gaps from the metrics rows (see engine_gaps.h). */
#include "engine_gaps.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void up_engine_gaps_account(const up_account_metrics_t *r, up_gap_t *g)
{
    g->row = r;
    g->unused_seats = r->seats > r->active_users ? r->seats - r->active_users : 0;
    g->unused_seat_share = r->seats > 0 ? (double)g->unused_seats / (double)r->seats : NAN;
    g->unused_core_share =
        r->core_features > 0 ? (double)(r->core_features - r->core_used) / (double)r->core_features : NAN;
    if (!isnan(g->unused_seat_share) && !isnan(g->unused_core_share))
        g->gap_score = (g->unused_seat_share + g->unused_core_share) / 2;
    else
        g->gap_score = isnan(g->unused_seat_share) ? g->unused_core_share : g->unused_seat_share;
    g->arr_at_stake = isnan(r->account->arr) || isnan(g->unused_seat_share) ? NAN
                                                                           : r->account->arr * g->unused_seat_share;
}

static int cmp_num_desc(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0 : isnan(a) ? 1 : -1;
    return a > b ? -1 : a < b ? 1 : 0;
}

static int cmp_gaps(const void *pa, const void *pb)
{
    const up_gap_t *a = pa, *b = pb;
    int c = cmp_num_desc(a->gap_score, b->gap_score);
    if (!c)
        c = cmp_num_desc(a->arr_at_stake, b->arr_at_stake);
    return c ? c : strcmp(a->row->account->account_id, b->row->account->account_id);
}

int up_engine_gaps(const up_portfolio_t *p, const char *segment, int top, up_gap_t **out, uint32_t *n)
{
    up_gap_t *g = malloc((p->n_rows + 1) * sizeof *g);
    if (!g)
        return -UP_ENOMEM;
    *n = 0;
    for (uint32_t i = 0; i < p->n_rows; i++) {
        const up_account_metrics_t *r = &p->rows[i];
        if (segment && (!r->account->segment || strcmp(r->account->segment, segment) != 0))
            continue;
        up_engine_gaps_account(r, &g[(*n)++]);
    }
    qsort(g, *n, sizeof *g, cmp_gaps);
    if (top >= 0 && (uint32_t)top < *n)
        *n = (uint32_t)top;
    *out = g;
    return 0;
}
