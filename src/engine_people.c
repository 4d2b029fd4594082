/* engine_people: stakeholders from the pair bitmaps of one account. The
 * champion trend compares daily rates, so a champion active 2 of the last 14
 * days and 8 of the 28 before has (2/14 − 8/28) / (8/28) = −0.5. */
#include "engine_people.h"
#include "timeparse.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const up_rollup_t *sort_roll;

static int cmp_people(const void *a, const void *b)
{
    const up_person_t *x = a, *y = b;
    return strcmp(up_dict_str(&sort_roll->dict[UP_KIND_USER], sort_roll->pairs[x->pair].user),
                  up_dict_str(&sort_roll->dict[UP_KIND_USER], sort_roll->pairs[y->pair].user));
}

int up_engine_people(const up_rollup_t *r, uint32_t account, int64_t T, up_people_t *out)
{
    memset(out, 0, sizeof *out);
    int32_t d0 = up_day_of(T);
    uint32_t cap = 0;
    for (uint32_t i = 0; i < r->n_pairs; i++) {
        const up_pair_t *p = &r->pairs[i];
        if (p->account != account)
            continue;
        int exists = p->first_ts <= T;
        int days_14 = exists ? up_days_count(&p->active, d0 - 13, d0) : 0;
        if (days_14)
            out->engaged++;
        if (exists && up_day_of(p->first_ts) >= d0 - 13)
            out->new_stakeholders++;
        if (!(p->flags & (UP_PAIR_CHAMPION | UP_PAIR_SPONSOR)))
            continue;
        if (p->created_at != UP_TS_NONE && p->created_at > T)
            continue;
        if (out->n_people == cap) {
            uint32_t c = cap ? cap * 2 : 8;
            up_person_t *q = realloc(out->people, c * sizeof *q);
            if (!q) {
                up_people_free(out);
                return -UP_ENOMEM;
            }
            out->people = q;
            cap = c;
        }
        up_person_t *h = &out->people[out->n_people++];
        h->pair = i;
        h->champion = (p->flags & UP_PAIR_CHAMPION) != 0;
        h->sponsor = (p->flags & UP_PAIR_SPONSOR) != 0;
        h->days_14 = days_14;
        h->days_prev_28 = exists ? up_days_count(&p->active, d0 - 41, d0 - 14) : 0;
        h->trend = h->days_prev_28
            ? ((double)h->days_14 / 14.0 - (double)h->days_prev_28 / 28.0) / ((double)h->days_prev_28 / 28.0)
            : NAN;
        h->last_active = exists ? (p->last_ts > T ? T : p->last_ts) : UP_TS_NONE;
    }
    out->single_threaded = out->engaged <= 1;
    sort_roll = r;
    if (out->n_people)
        qsort(out->people, out->n_people, sizeof *out->people, cmp_people);
    return 0;
}

void up_people_free(up_people_t *p)
{
    free(p->people);
    memset(p, 0, sizeof *p);
}

int up_engine_people_champions_quiet(const up_rollup_t *r, int64_t T, double share, int8_t *out)
{
    int32_t d0 = up_day_of(T);
    uint32_t n_accounts = r->dict[UP_KIND_ACCOUNT].n;
    for (uint32_t a = 0; a < n_accounts; a++)
        out[a] = -1;
    for (uint32_t i = 0; i < r->n_pairs; i++) {
        const up_pair_t *p = &r->pairs[i];
        if (!(p->flags & UP_PAIR_CHAMPION) || (p->created_at != UP_TS_NONE && p->created_at > T) ||
            p->account >= n_accounts)
            continue;
        int exists = p->first_ts <= T;
        int days_14 = exists ? up_days_count(&p->active, d0 - 13, d0) : 0;
        int days_prev_28 = exists ? up_days_count(&p->active, d0 - 41, d0 - 14) : 0;
        int quiet = days_14 == 0 || (days_prev_28 > 0 && (double)days_14 / 14.0 < share * (double)days_prev_28 / 28.0);
        if (out[p->account] < 0)
            out[p->account] = 0;
        if (quiet)
            out[p->account] = 1;
    }
    return 0;
}
