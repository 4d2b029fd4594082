/* engine_workflow: the matcher. Per pair, its step events in time order
 * (equal times in log order). For each workflow, partial[k] holds the latest
 * start time of an attempt that has reached step k+1. An event of step 1
 * starts an attempt (the latest start wins: it leaves the most time); an
 * event of step k > 1 extends the attempt at step k-1 when it is within the
 * time limit of that attempt's start; an event that is several steps is
 * tried from the highest step down. Reaching the last step counts one
 * completion, at that event's time, and clears every partial: completions
 * never share an event and never overlap. */
#include "engine_workflow.h"

#include "store.h"
#include "timeparse.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t pair;
    uint32_t event;
    int64_t ts;
    uint64_t seq;
} wf_ev_t;

typedef struct {
    wf_ev_t *ev;
    size_t n, cap;
    uint64_t seq;
    const up_rollup_t *r;
    int64_t account;      /* -1: all */
    int oom;
} collect_t;

static int collect(void *ctx, const up_ev_t *e)
{
    collect_t *c = ctx;
    if (c->account >= 0 && (e->pair >= c->r->n_pairs || c->r->pairs[e->pair].account != (uint32_t)c->account))
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        wf_ev_t *p = realloc(c->ev, cap * sizeof *p);
        if (!p) {
            c->oom = 1;
            return -UP_ENOMEM;
        }
        c->ev = p;
        c->cap = cap;
    }
    c->ev[c->n++] = (wf_ev_t){e->pair, e->event, e->ts, c->seq++};
    return 0;
}

static int cmp_ev(const void *a, const void *b)
{
    const wf_ev_t *x = a, *y = b;
    if (x->pair != y->pair)
        return x->pair < y->pair ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static up_wf_row_t *row_of(up_workflows_t *w, int32_t *index, uint32_t account, size_t n_wf, const up_model_t *m)
{
    if (index[account] >= 0)
        return &w->rows[index[account]];
    if (w->n_rows == w->cap_rows) {   /* doubling: one row a new account, up to every account */
        uint32_t cap = w->cap_rows ? w->cap_rows * 2 : 64;
        up_wf_row_t *rows = realloc(w->rows, cap * sizeof *rows);
        if (!rows)
            return NULL;
        w->rows = rows;
        w->cap_rows = cap;
    }
    up_wf_row_t *row = &w->rows[w->n_rows];
    memset(row, 0, sizeof *row);
    row->account = account;
    index[account] = (int32_t)w->n_rows++;
    row->wf = calloc(n_wf + 1, sizeof *row->wf);
    if (!row->wf)
        return NULL;
    for (size_t k = 0; k < n_wf; k++)
        if (!(row->wf[k].funnel = calloc(m->workflows[k].n_steps, sizeof *row->wf[k].funnel)))
            return NULL;
    return row;
}

/* One matching run: the model's workflows, their step event ids (-1 when the
 * event was never seen), which are key actions, the partial attempts of the
 * workflow being matched (per step), the blocks' first day and window(28). */
typedef struct {
    const up_model_t *m;
    int64_t **steps;
    uint8_t *is_ka;
    int64_t *partial;
    int32_t first_block_day;
    int64_t from28;
    up_workflows_t *out;
} match_t;

/* Sets steps[k] to the event ids of workflow k's steps and want[id] for each
 * seen one. Returns 0 or -UP_ENOMEM. */
static int step_ids(const up_model_t *m, const up_dict_t *evd, uint8_t *want, int64_t **steps)
{
    for (size_t k = 0; k < m->n_workflows; k++) {
        const up_workflow_t *w = &m->workflows[k];
        if (!(steps[k] = malloc(w->n_steps * sizeof **steps)))
            return -UP_ENOMEM;
        for (size_t j = 0; j < w->n_steps; j++) {
            steps[k][j] = up_dict_find(evd, w->steps[j], strlen(w->steps[j]));
            if (steps[k][j] >= 0)
                want[steps[k][j]] = 1;
        }
    }
    return 0;
}

/* A calloc'd flag per workflow: 1 when key_actions name it ("workflow:NAME"). */
static uint8_t *ka_flags(const up_model_t *m)
{
    uint8_t *is_ka = calloc(m->n_workflows + 1, 1);
    for (size_t k = 0; is_ka && k < m->n_workflows; k++)
        for (size_t j = 0; j < m->n_key_actions; j++)
            if (!strncmp(m->key_actions[j], "workflow:", 9) && !strcmp(m->key_actions[j] + 9, m->workflows[k].name))
                is_ka[k] = 1;
    return is_ka;
}

/* Records a completion of a key-action workflow. Returns 0 or -UP_ENOMEM. */
static int push_ka(up_workflows_t *out, uint32_t pair, int64_t ts)
{
    if (out->n_ka == out->cap_ka) {
        size_t cap = out->cap_ka ? out->cap_ka * 2 : 1024;
        uint32_t *pp = realloc(out->ka_pair, cap * sizeof *pp);
        if (pp)
            out->ka_pair = pp;
        int64_t *tt = pp ? realloc(out->ka_ts, cap * sizeof *tt) : NULL;
        if (tt)
            out->ka_ts = tt;
        if (!pp || !tt)
            return -UP_ENOMEM;
        out->cap_ka = cap;
    }
    out->ka_pair[out->n_ka] = pair;
    out->ka_ts[out->n_ka++] = ts;
    return 0;
}

/* Matches workflow k on one pair's events ev[0..n) into row; marks the weeks
 * in which the pair completed it in week_done. Returns 0 or -UP_ENOMEM. */
static int match_workflow(match_t *x, size_t k, const wf_ev_t *ev, size_t n_ev, up_wf_row_t *row,
                          uint8_t week_done[UP_WF_WEEKS])
{
    const up_workflow_t *w = &x->m->workflows[k];
    int64_t *partial = x->partial;
    size_t n = w->n_steps;
    for (size_t q = 0; q < n; q++)
        partial[q] = UP_TS_NONE;
    size_t reached = 0;   /* highest step of an attempt started in window(28) */
    for (const wf_ev_t *e = ev; e < ev + n_ev; e++) {
        for (size_t q = n; q-- > 0;) {
            if (x->steps[k][q] != (int64_t)e->event)
                continue;
            int64_t start;
            if (q == 0)
                start = e->ts;
            else if (partial[q - 1] != UP_TS_NONE && e->ts - partial[q - 1] <= w->within_ms)
                start = partial[q - 1];
            else
                continue;
            if (start >= x->from28 && q + 1 > reached)
                reached = q + 1;
            if (q + 1 == n) {
                if (x->is_ka[k] && push_ka(x->out, e->pair, e->ts) < 0)
                    return -UP_ENOMEM;
                int32_t b = up_day_of(e->ts) - x->first_block_day;
                if (b >= 0 && b < 7 * UP_WF_WEEKS) {
                    row->wf[k].completions[b / 7]++;
                    week_done[b / 7] = 1;
                }
                for (size_t z = 0; z < n; z++)
                    partial[z] = UP_TS_NONE;
                break;   /* the event is used up */
            }
            if (partial[q] == UP_TS_NONE || start > partial[q])
                partial[q] = start;
        }
    }
    for (size_t q = 0; q < reached; q++)
        row->wf[k].funnel[q]++;
    return 0;
}

/* Matches every workflow on one pair's events ev[0..n) into row. */
static int match_pair(match_t *x, const wf_ev_t *ev, size_t n, up_wf_row_t *row)
{
    uint8_t core_week[UP_WF_WEEKS] = {0};
    for (size_t k = 0; k < x->m->n_workflows; k++) {
        uint8_t week_done[UP_WF_WEEKS] = {0};
        int rc = match_workflow(x, k, ev, n, row, week_done);
        if (rc < 0)
            return rc;
        for (int b = 0; b < UP_WF_WEEKS; b++) {
            row->wf[k].users[b] += week_done[b];
            if (x->m->workflows[k].core && week_done[b])
                core_week[b] = 1;
        }
    }
    for (int b = 0; b < UP_WF_WEEKS; b++)
        row->core_users[b] += core_week[b];
    return 0;
}

/* Matches the collected events, sorted by pair, one pair at a time. */
static int match_all(match_t *x, const up_rollup_t *r, const collect_t *c)
{
    const up_model_t *m = x->m;
    size_t max_steps = 0;
    for (size_t k = 0; k < m->n_workflows; k++)
        if (m->workflows[k].n_steps > max_steps)
            max_steps = m->workflows[k].n_steps;
    uint32_t n_acc = r->dict[UP_KIND_ACCOUNT].n;
    int32_t *index = malloc((n_acc + 1) * sizeof *index);
    x->partial = malloc((max_steps + 1) * sizeof *x->partial);
    int rc = index && x->partial ? 0 : -UP_ENOMEM;
    for (uint32_t a = 0; index && a < n_acc; a++)
        index[a] = -1;
    for (size_t i = 0; rc == 0 && i < c->n;) {
        size_t j = i;
        while (j < c->n && c->ev[j].pair == c->ev[i].pair)
            j++;
        up_wf_row_t *row = row_of(x->out, index, r->pairs[c->ev[i].pair].account, m->n_workflows, m);
        rc = row ? match_pair(x, &c->ev[i], j - i, row) : -UP_ENOMEM;
        i = j;
    }
    free(x->partial);
    free(index);
    return rc;
}

/* For one account's page: the earliest ts an event may have and still count
 * as of d0 (a completion in the weekly series starts at most within_ms before
 * it), so that the scan reads only the blocks of that span. A workflow that
 * is a key action counts whenever it completed: then every event. An account
 * whose step events are all older gets no row, which its page reads as zeros,
 * as it would read the row a full scan gives it. */
static int64_t account_scan_from(const up_model_t *m, int32_t d0)
{
    int64_t within = 0;
    for (size_t k = 0; k < m->n_workflows; k++) {
        /* of three steps or more, an attempt begun before that span can
         * complete before the series and so reset a later attempt that
         * completes in it (a step of the later one may come before the
         * reset): only every event gives what the whole log gives. Of two
         * steps it cannot: the later attempt's start is its own. */
        if (m->workflows[k].n_steps > 2)
            return INT64_MIN;
        for (size_t i = 0; i < m->n_key_actions; i++)
            if (!strncmp(m->key_actions[i], "workflow:", 9) && !strcmp(m->key_actions[i] + 9, m->workflows[k].name))
                return INT64_MIN;
        if (m->workflows[k].within_ms > within)
            within = m->workflows[k].within_ms;
    }
    int64_t first = (int64_t)(d0 - 7 * UP_WF_WEEKS + 1) * UP_MS_PER_DAY;
    return within > first - INT64_MIN / 2 ? INT64_MIN : first - within;
}

int up_engine_workflow_run(up_store_t *s, const up_rollup_t *r, const up_model_t *m, int64_t T, const char *account,
                        up_workflows_t *out)
{
    memset(out, 0, sizeof *out);
    out->d0 = up_day_of(T);
    out->n_workflows = m->n_workflows;
    if (!m->n_workflows)
        return 0;
    int64_t aid = -1;
    if (account && (aid = up_dict_find(&r->dict[UP_KIND_ACCOUNT], account, strlen(account))) < 0)
        return 0;
    const up_dict_t *evd = &r->dict[UP_KIND_EVENT];
    uint8_t *want = calloc(evd->n + 1, 1);
    int64_t **steps = calloc(m->n_workflows, sizeof *steps);
    if (!want || !steps) {
        free(want);
        free(steps);
        return -UP_ENOMEM;
    }
    int rc = step_ids(m, evd, want, steps);
    collect_t c = {NULL, 0, 0, 0, r, aid, 0};
    if (rc == 0)
        rc = aid >= 0 ? up_store_scan_account_events(s, account, account_scan_from(m, out->d0), T, want, evd->n,
                                                     collect, &c)
           : up_store_scan_events(s, INT64_MIN, T, want, evd->n, collect, &c);   /* all accounts: every event, so
                                                   * that an account with old step events only has its row */
    if (rc == 0 && c.n)   /* none: c.ev is NULL, which qsort may not take */
        qsort(c.ev, c.n, sizeof *c.ev, cmp_ev);
    match_t x = {m, steps, ka_flags(m), NULL, out->d0 - 7 * UP_WF_WEEKS + 1,
                 (int64_t)(out->d0 - 27) * UP_MS_PER_DAY, out};
    if (!x.is_ka && rc == 0)
        rc = -UP_ENOMEM;
    if (rc == 0)
        rc = match_all(&x, r, &c);
    free(x.is_ka);
    free(c.ev);
    free(want);
    for (size_t k = 0; k < m->n_workflows; k++)
        free(steps[k]);
    free(steps);
    if (rc < 0)
        up_workflows_free(out);
    return rc;
}

void up_workflows_free(up_workflows_t *w)
{
    free(w->ka_pair);
    free(w->ka_ts);
    for (uint32_t i = 0; i < w->n_rows; i++) {
        for (size_t k = 0; w->rows[i].wf && k < w->n_workflows; k++)
            free(w->rows[i].wf[k].funnel);
        free(w->rows[i].wf);
    }
    free(w->rows);
    memset(w, 0, sizeof *w);
}

int up_engine_workflow_has_ka(const up_model_t *m)
{
    for (size_t j = 0; j < m->n_key_actions; j++)
        if (!strncmp(m->key_actions[j], "workflow:", 9))
            return 1;
    return 0;
}

int up_engine_workflow_key_actions(up_store_t *s, const up_rollup_t *r, const up_model_t *m, int64_t T, up_entities_t *e,
                            up_workflows_t *w)
{
    memset(w, 0, sizeof *w);
    if (!up_engine_workflow_has_ka(m))
        return 0;
    int rc = up_engine_workflow_run(s, r, m, T, NULL, w);
    if (rc < 0)
        return rc;
    /* pair order holds already; within a pair, workflows were matched one
     * after another: sort each pair's run by time */
    for (size_t i = 0; i < w->n_ka;) {
        size_t j = i;
        while (j < w->n_ka && w->ka_pair[j] == w->ka_pair[i])
            j++;
        for (size_t a = i + 1; a < j; a++)   /* insertion sort: runs are short */
            for (size_t b = a; b > i && w->ka_ts[b - 1] > w->ka_ts[b]; b--) {
                int64_t t = w->ka_ts[b];
                w->ka_ts[b] = w->ka_ts[b - 1];
                w->ka_ts[b - 1] = t;
            }
        i = j;
    }
    e->ka_pair = w->ka_pair;
    e->ka_ts = w->ka_ts;
    e->n_ka_extra = w->n_ka;
    return 0;
}
