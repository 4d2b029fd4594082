/* engine_series: per-day counts from the day bitmaps of one account's pairs
 * (see the header). Each pair contributes its active days once: a day d is
 * counted for DAU when set, for WAU when any of d−6 … d is set, for MAU when
 * any of d−27 … d is set, all read from the bitmap without per-day scans of
 * other pairs. */
#include "engine_series.h"

#include "timeparse.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

int up_engine_series(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                     const up_account_t *acc, int64_t T, int n_days, up_series_t *out)
{
    memset(out, 0, sizeof *out);
    int32_t d0 = up_day_of(T);
    out->d0 = d0;
    out->n_days = n_days;
    out->n_features = (uint32_t)m->n_features;
    out->days = calloc((size_t)n_days, sizeof *out->days);
    out->feature_weeks = calloc(m->n_features + 1, sizeof *out->feature_weeks);
    if (!out->days || !out->feature_weeks) {
        up_series_free(out);
        return -UP_ENOMEM;
    }
    int32_t first = d0 - n_days + 1;
    for (int i = 0; i < n_days; i++) {
        int32_t d = first + i;
        out->days[i].day = d;
        out->days[i].seats = up_engine_seats_at(e, acc, d == d0 ? T : up_engine_end_of_day(d));
    }
    int64_t aid = up_dict_find(&r->dict[UP_KIND_ACCOUNT], acc->account_id, strlen(acc->account_id));
    if (aid < 0)
        return 0;
    for (uint32_t k = 0; k < r->n_pairs; k++) {
        const up_pair_t *p = &r->pairs[k];
        if (p->account != (uint32_t)aid || p->first_ts > T)
            continue;
        /* the last day on which this pair was active, scanning forward */
        int32_t last = INT32_MIN;
        for (int32_t d = first - 27; d <= d0; d++) {
            if (up_days_any(&p->active, d, d))
                last = d;
            if (d < first)
                continue;
            up_series_day_t *sd = &out->days[d - first];
            if (last == d)
                sd->dau++;
            if (last != INT32_MIN && last >= d - 6)
                sd->wau++;
            if (last != INT32_MIN && last >= d - 27)
                sd->mau++;
        }
        for (uint32_t f = 0; f < p->n_pf; f++) {
            const up_pf_t *pf = &p->pf[f];
            if (pf->feature >= m->n_features)
                continue;
            for (int b = 0; b < 12; b++) {
                int32_t hi = d0 - 7 * (11 - b), lo = hi - 6;
                if (up_days_any(&pf->used, lo, hi))
                    out->feature_weeks[pf->feature][b]++;
            }
        }
    }
    return 0;
}

void up_series_free(up_series_t *s)
{
    free(s->days);
    free(s->feature_weeks);
    memset(s, 0, sizeof *s);
}
