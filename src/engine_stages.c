/* engine_stages: stages from the per pair × feature day bitmaps.
 *
 * Only the 28 days of window(28) matter: they hold the four seven-day blocks
 * and the mastery tests. The top decile is decided exactly in decimal: a pair
 * that used f on d days is in it when the pairs with more days number fewer
 * than stage_mastery_top × N, compared as integers scaled by 10^6 (so 3 of 30
 * is not fewer than 10%), with a histogram of days per feature. */
#include "engine_stages.h"
#include "timeparse.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const up_stage_names[UP_STAGES] = {"none", "aware", "trial", "regular", "mastery"};

/* The order of the rows: by account_id, user_id (bytes), then feature. A
 * pair's rows are made together, so the pairs are sorted (accounts by a
 * rank computed once, users by their bytes within an account) and each
 * pair's few rows by feature. */
typedef struct {
    uint32_t pair, start, n;
} run_t;

/* What the comparisons read (qsort_r: no state shared between threads). */
typedef struct {
    const up_rollup_t *r;
    const uint32_t *rank;            /* per account id: its place by bytes */
} order_t;

static int cmp_account_ids(const void *pa, const void *pb, void *arg)
{
    const up_dict_t *d = &((const order_t *)arg)->r->dict[UP_KIND_ACCOUNT];
    return strcmp(up_dict_str(d, *(const uint32_t *)pa), up_dict_str(d, *(const uint32_t *)pb));
}

static int cmp_runs(const void *pa, const void *pb, void *arg)
{
    const order_t *o = arg;
    const up_pair_t *x = &o->r->pairs[((const run_t *)pa)->pair], *y = &o->r->pairs[((const run_t *)pb)->pair];
    if (x->account != y->account)
        return o->rank[x->account] < o->rank[y->account] ? -1 : 1;
    return strcmp(up_dict_str(&o->r->dict[UP_KIND_USER], x->user), up_dict_str(&o->r->dict[UP_KIND_USER], y->user));
}

static int sort_rows(const up_rollup_t *r, up_stages_t *out)
{
    uint32_t n_acc = r->dict[UP_KIND_ACCOUNT].n, n_runs = 0;
    uint32_t *ids = malloc(((size_t)n_acc + 1) * sizeof *ids), *rank = malloc(((size_t)n_acc + 1) * sizeof *rank);
    run_t *runs = malloc(((size_t)out->n_rows + 1) * sizeof *runs);
    up_stage_row_t *rows = malloc(((size_t)out->n_rows + 1) * sizeof *rows);
    if (!ids || !rank || !runs || !rows) {
        free(ids);
        free(rank);
        free(runs);
        free(rows);
        return -UP_ENOMEM;
    }
    order_t o = {r, rank};
    for (uint32_t a = 0; a < n_acc; a++)
        ids[a] = a;
    qsort_r(ids, n_acc, sizeof *ids, cmp_account_ids, &o);
    for (uint32_t k = 0; k < n_acc; k++)
        rank[ids[k]] = k;
    for (uint32_t i = 0; i < out->n_rows; i++) {
        if (!n_runs || out->rows[i].pair != runs[n_runs - 1].pair)
            runs[n_runs++] = (run_t){out->rows[i].pair, i, 0};
        runs[n_runs - 1].n++;
    }
    qsort_r(runs, n_runs, sizeof *runs, cmp_runs, &o);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n_runs; i++) {
        up_stage_row_t *run = rows + k;
        memcpy(run, out->rows + runs[i].start, runs[i].n * sizeof *run);
        for (uint32_t a = 1; a < runs[i].n; a++)   /* a pair has a row per feature at most */
            for (uint32_t b = a; b > 0 && run[b - 1].feature > run[b].feature; b--) {
                up_stage_row_t t = run[b];
                run[b] = run[b - 1];
                run[b - 1] = t;
            }
        k += runs[i].n;
    }
    free(out->rows);
    out->rows = rows;
    free(ids);
    free(rank);
    free(runs);
    return 0;
}

int up_engine_stages(const up_rollup_t *r, const up_model_t *m, int64_t T, const char *account,
                     const uint8_t *listed, up_stages_t *out)
{
    memset(out, 0, sizeof *out);
    const up_settings_t *set = &m->settings;
    size_t nf = m->n_features;
    int32_t d0 = up_day_of(T), from = d0 - 27;   /* window(28) = bits 0 .. 27 */
    int64_t account_id = -1;
    if (account) {
        account_id = up_dict_find(&r->dict[UP_KIND_ACCOUNT], account, strlen(account));
        if (account_id < 0)
            account_id = -2;   /* no such account in the rollup: nothing matches */
    }
    /* days used in window(28), histogram per feature over every account */
    int64_t (*hist)[29] = calloc(nf + 1, sizeof *hist);
    out->funnel = calloc(nf + 1, sizeof *out->funnel);
    out->n_features = (uint32_t)nf;
    uint32_t cap = 0;
    if (!hist || !out->funnel)
        goto nomem;
    for (uint32_t i = 0; i < r->n_pairs; i++) {
        const up_pair_t *p = &r->pairs[i];
        if (p->first_ts > T)
            continue;
        for (uint32_t j = 0; j < p->n_pf; j++) {
            const up_pf_t *pf = &p->pf[j];
            if (pf->first_use_ts > T)
                continue;
            uint64_t w[2];
            up_days_window128(&pf->used, from, w);
            int days = up_rollup_bits128_count(w, 0, 27);
            if (days)
                hist[pf->feature][days]++;
        }
    }
    int64_t top_scaled = llround(set->stage_mastery_top * 1e6);
    for (uint32_t i = 0; i < r->n_pairs; i++) {
        const up_pair_t *p = &r->pairs[i];
        if ((account_id != -1 && (int64_t)p->account != account_id) || (listed && !listed[p->account]))
            continue;
        int known = p->first_ts <= T ||
                    ((p->flags & UP_PAIR_IN_TABLE) && (p->created_at == UP_TS_NONE || p->created_at <= T));
        if (!known)
            continue;
        for (size_t f = 0; f < nf; f++)
            out->funnel[f][UP_STAGE_NONE]++;
        if (p->first_ts > T)
            continue;
        for (uint32_t j = 0; j < p->n_pf; j++) {
            const up_pf_t *pf = &p->pf[j];
            int used = pf->first_use_ts <= T, exposed = pf->first_exposure_ts <= T;
            if (!used && !exposed)
                continue;
            up_stage_row_t row = {i, pf->feature, UP_STAGE_AWARE, 0};
            if (used) {
                uint64_t w[2], adv[2];
                up_days_window128(&pf->used, from, w);
                row.days_used_28d = up_rollup_bits128_count(w, 0, 27);
                int blocks = 0;
                for (int k = 0; k < 4; k++)   /* block k = D0-7k-6 .. D0-7k */
                    blocks += up_rollup_bits128_count(w, 21 - 7 * k, 27 - 7 * k) > 0;
                row.stage = blocks >= set->stage_regular_blocks ? UP_STAGE_REGULAR : UP_STAGE_TRIAL;
                if (row.stage == UP_STAGE_REGULAR) {
                    up_days_window128(&pf->advanced, from, adv);
                    int64_t n = 0, more = 0;
                    for (int d = 1; d <= 28; d++) {
                        n += hist[pf->feature][d];
                        if (d > row.days_used_28d)
                            more += hist[pf->feature][d];
                    }
                    if (up_rollup_bits128_count(adv, 0, 27) > 0 ||
                        (row.days_used_28d > 0 && more * 1000000 < top_scaled * n))
                        row.stage = UP_STAGE_MASTERY;
                }
            }
            out->funnel[pf->feature][UP_STAGE_NONE]--;
            out->funnel[pf->feature][row.stage]++;
            if (out->n_rows == cap) {
                uint32_t c = cap ? cap * 2 : 1024;
                up_stage_row_t *rows = realloc(out->rows, c * sizeof *rows);
                if (!rows)
                    goto nomem;
                out->rows = rows;
                cap = c;
            }
            out->rows[out->n_rows++] = row;
        }
    }
    free(hist);
    if (out->n_rows && sort_rows(r, out) < 0)
        goto nomem_rows;
    return 0;
nomem:
    free(hist);
nomem_rows:
    up_stages_free(out);
    return -UP_ENOMEM;
}

void up_stages_free(up_stages_t *s)
{
    free(s->rows);
    free(s->funnel);
    memset(s, 0, sizeof *s);
}
