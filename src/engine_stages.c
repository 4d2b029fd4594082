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
#include <pthread.h>
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

/* One half of the pairs, on its own thread: first the days each pair ×
 * feature used in window(28) and its active blocks (kept per record, so that
 * each bitmap is read once) with the histogram of days per feature; then,
 * once both histograms are summed, each record's stage. */
typedef struct {
    const up_rollup_t *r;
    const up_model_t *m;
    int64_t T;
    int32_t from;                    /* window(28) = bits 0 .. 27 from here */
    int64_t account_id;              /* -1: every account; -2: none */
    const uint8_t *listed;
    uint32_t first, end;             /* pairs */
    const uint32_t *pf_start;        /* per pair: its first record in days[] */
    uint8_t *days, *blocks;          /* per pair × feature record */
    int64_t (*hist)[29];             /* this half's, then (pass 2) the sum */
    int64_t (*funnel)[UP_STAGES];
    up_stage_row_t *rows;
    uint32_t n_rows, cap;
    int want_rows, pass, rc;
} half_t;

static void days_pass(half_t *h)
{
    for (uint32_t i = h->first; i < h->end; i++) {
        const up_pair_t *p = &h->r->pairs[i];
        if (p->first_ts > h->T)
            continue;
        for (uint32_t j = 0; j < p->n_pf; j++) {
            const up_pf_t *pf = &p->pf[j];
            if (pf->first_use_ts > h->T)
                continue;
            uint64_t w[2];
            up_days_window128(&pf->used, h->from, w);
            int days = up_rollup_bits128_count(w, 0, 27), blocks = 0;
            for (int k = 0; k < 4; k++)   /* block k = D0-7k-6 .. D0-7k */
                blocks += up_rollup_bits128_count(w, 21 - 7 * k, 27 - 7 * k) > 0;
            h->days[h->pf_start[i] + j] = (uint8_t)days;
            h->blocks[h->pf_start[i] + j] = (uint8_t)blocks;
            if (days)
                h->hist[pf->feature][days]++;
        }
    }
}

static void stage_pass(half_t *h)
{
    const up_settings_t *set = &h->m->settings;
    size_t nf = h->m->n_features;
    int64_t top_scaled = llround(set->stage_mastery_top * 1e6);
    for (uint32_t i = h->first; i < h->end; i++) {
        const up_pair_t *p = &h->r->pairs[i];
        if ((h->account_id != -1 && (int64_t)p->account != h->account_id) || (h->listed && !h->listed[p->account]))
            continue;
        int known = p->first_ts <= h->T ||
                    ((p->flags & UP_PAIR_IN_TABLE) && (p->created_at == UP_TS_NONE || p->created_at <= h->T));
        if (!known)
            continue;
        for (size_t f = 0; f < nf; f++)
            h->funnel[f][UP_STAGE_NONE]++;
        if (p->first_ts > h->T)
            continue;
        for (uint32_t j = 0; j < p->n_pf; j++) {
            const up_pf_t *pf = &p->pf[j];
            int used = pf->first_use_ts <= h->T, exposed = pf->first_exposure_ts <= h->T;
            if (!used && !exposed)
                continue;
            up_stage_row_t row = {i, pf->feature, UP_STAGE_AWARE, 0};
            if (used) {
                row.days_used_28d = h->days[h->pf_start[i] + j];
                row.stage = h->blocks[h->pf_start[i] + j] >= set->stage_regular_blocks ? UP_STAGE_REGULAR
                                                                                         : UP_STAGE_TRIAL;
                if (row.stage == UP_STAGE_REGULAR) {
                    uint64_t adv[2];
                    up_days_window128(&pf->advanced, h->from, adv);
                    int64_t n = 0, more = 0;
                    for (int d = 1; d <= 28; d++) {
                        n += h->hist[pf->feature][d];
                        if (d > row.days_used_28d)
                            more += h->hist[pf->feature][d];
                    }
                    if (up_rollup_bits128_count(adv, 0, 27) > 0 ||
                        (row.days_used_28d > 0 && more * 1000000 < top_scaled * n))
                        row.stage = UP_STAGE_MASTERY;
                }
            }
            h->funnel[pf->feature][UP_STAGE_NONE]--;
            h->funnel[pf->feature][row.stage]++;
            if (!h->want_rows)
                continue;
            if (h->n_rows == h->cap) {
                uint32_t c = h->cap ? h->cap * 2 : 1024;
                up_stage_row_t *rows = realloc(h->rows, c * sizeof *rows);
                if (!rows) {
                    h->rc = -UP_ENOMEM;
                    return;
                }
                h->rows = rows;
                h->cap = c;
            }
            h->rows[h->n_rows++] = row;
        }
    }
}

static void *half_run(void *arg)
{
    half_t *h = arg;
    if (h->pass == 1)
        days_pass(h);
    else
        stage_pass(h);
    return NULL;
}

/* Both halves of one pass, the second on its own thread when there are
 * enough pairs to be worth it. */
static void run_pass(half_t h[2], int pass)
{
    h[0].pass = h[1].pass = pass;
    pthread_t tid;
    int threaded = h[1].end - h[1].first >= 4096 && pthread_create(&tid, NULL, half_run, &h[1]) == 0;
    half_run(&h[0]);
    if (threaded)
        pthread_join(tid, NULL);
    else
        half_run(&h[1]);
}

/* The stages as of T; with want_rows 0 the funnel alone (no rows kept, none
 * sorted). */
static int stages_run(const up_rollup_t *r, const up_model_t *m, int64_t T, const char *account,
                      const uint8_t *listed, int want_rows, up_stages_t *out)
{
    memset(out, 0, sizeof *out);
    size_t nf = m->n_features;
    int64_t account_id = -1;
    if (account) {
        account_id = up_dict_find(&r->dict[UP_KIND_ACCOUNT], account, strlen(account));
        if (account_id < 0)
            account_id = -2;   /* no such account in the rollup: nothing matches */
    }
    half_t h[2];
    memset(h, 0, sizeof h);
    uint32_t *pf_start = malloc(((size_t)r->n_pairs + 1) * sizeof *pf_start);
    size_t n_pf = 0;
    for (uint32_t i = 0; pf_start && i < r->n_pairs; i++) {
        pf_start[i] = (uint32_t)n_pf;
        n_pf += r->pairs[i].n_pf;
    }
    uint8_t *days = malloc(n_pf + 1), *blocks = malloc(n_pf + 1);
    int64_t (*hist)[29] = calloc(2 * (nf + 1), sizeof *hist);
    int64_t (*funnel2)[UP_STAGES] = calloc(nf + 1, sizeof *funnel2);
    out->funnel = calloc(nf + 1, sizeof *out->funnel);
    out->n_features = (uint32_t)nf;
    int rc = -UP_ENOMEM;
    if (!pf_start || n_pf > UINT32_MAX || !days || !blocks || !hist || !funnel2 || !out->funnel)
        goto done;
    for (int k = 0; k < 2; k++) {
        h[k] = (half_t){r, m, T, up_day_of(T) - 27, account_id, listed, k ? r->n_pairs / 2 : 0,
                        k ? r->n_pairs : r->n_pairs / 2, pf_start, days, blocks, hist + k * (nf + 1),
                        k ? funnel2 : out->funnel, NULL, 0, 0, want_rows, 0, 0};
    }
    /* days used in window(28), histogram per feature over every account */
    run_pass(h, 1);
    for (size_t f = 0; f < nf; f++)
        for (int d = 0; d < 29; d++)
            hist[f][d] += hist[nf + 1 + f][d];
    h[1].hist = hist;
    run_pass(h, 2);
    if ((rc = h[0].rc < 0 ? h[0].rc : h[1].rc) < 0)
        goto done;
    for (size_t f = 0; f < nf; f++)
        for (int k = 0; k < UP_STAGES; k++)
            out->funnel[f][k] += funnel2[f][k];
    /* the rows in pair order: the first half's, then the second's */
    out->rows = h[0].rows;
    out->n_rows = h[0].n_rows;
    h[0].rows = NULL;
    if (h[1].n_rows) {
        up_stage_row_t *all = realloc(out->rows, ((size_t)out->n_rows + h[1].n_rows) * sizeof *all);
        if (!all) {
            rc = -UP_ENOMEM;
            goto done;
        }
        memcpy(all + out->n_rows, h[1].rows, (size_t)h[1].n_rows * sizeof *all);
        out->rows = all;
        out->n_rows += h[1].n_rows;
    }
    rc = out->n_rows ? sort_rows(r, out) : 0;
done:
    free(h[0].rows);
    free(h[1].rows);
    free(pf_start);
    free(days);
    free(blocks);
    free(hist);
    free(funnel2);
    if (rc < 0)
        up_stages_free(out);
    return rc;
}

int up_engine_stages(const up_rollup_t *r, const up_model_t *m, int64_t T, const char *account,
                     const uint8_t *listed, up_stages_t *out)
{
    return stages_run(r, m, T, account, listed, 1, out);
}

int up_engine_stage_funnel(const up_rollup_t *r, const up_model_t *m, int64_t T, const char *account,
                           const uint8_t *listed, up_stages_t *out)
{
    return stages_run(r, m, T, account, listed, 0, out);
}

void up_stages_free(up_stages_t *s)
{
    free(s->rows);
    free(s->funnel);
    memset(s, 0, sizeof *s);
}
