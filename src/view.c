/* view: the store as of T (see the header). */
#include "view.h"

#include "engine_account.h"
#include "engine_people.h"
#include "engine_signals.h"
#include "entcache.h"
#include "timeparse.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, int rc, const char *why)
{
    snprintf(err, errlen, "%s", why ? why : up_strerror(rc));
    return rc;
}

typedef struct {
    sqlite3 *db;
    int64_t survey_from, survey_to;
    unsigned parts;
    const char *only;
    up_entities_t e;
    int rc;
    char err[512];
    double secs;
    int cached;             /* as up_view_t.entities_cached */
} entities_job_t;

static void *entities_thread(void *arg)
{
    entities_job_t *job = arg;
    double t = up_now_s();
    job->cached = -1;
    if (!job->only) {   /* the whole portfolio's: from their cache when it is current and whole */
        char why[128];
        int rc = up_entcache_read(job->db, job->survey_from, job->survey_to, job->parts, &job->e, why, sizeof why);
        job->cached = rc == 0;
        if (rc == -UP_ENOMEM) {
            job->rc = rc;
            snprintf(job->err, sizeof job->err, "reading entity tables: out of memory");
            job->secs = up_now_s() - t;
            return NULL;
        }
    }
    if (job->cached != 1)
        job->rc = up_entities_load(job->db, job->survey_from, job->survey_to, job->parts, job->only, &job->e,
                                   job->err, sizeof job->err);
    job->secs = up_now_s() - t;
    return NULL;
}

/* The rollup and, on a second thread meanwhile, the entity tables (those of
 * account `only` when it is not NULL). */
static int load(up_view_t *v, unsigned what, int64_t survey_from, const char *only, char *err, size_t errlen)
{
    entities_job_t job = {up_store_db(v->store), survey_from, v->T,
                          what & UP_VIEW_LIFECYCLE ? 0u : (unsigned)UP_ENT_ALL, only, {0}, 0, "", 0, -1};
    pthread_t tid;
    int threaded = 0;
    v->entities_cached = -1;
    if (what & UP_VIEW_ENTITIES) {
        threaded = pthread_create(&tid, NULL, entities_thread, &job) == 0;
        if (!threaded)
            entities_thread(&job);
    }
    int owned = 0, rc = 0;
    up_rollup_t *r = NULL;
    double t = up_now_s();
    if (what & UP_VIEW_ROLLUP)
        rc = up_store_rollup(v->store, v->T, &r, &owned);
    v->secs_rollup = up_now_s() - t;
    /* while the entity tables load: the pairs by account, which the
     * portfolios start from (without them they group their own) */
    if (rc == 0 && r && (what & UP_VIEW_PORTFOLIO) && up_engine_group_pairs(r, &v->groups_) < 0)
        memset(&v->groups_, 0, sizeof v->groups_);
    /* and for the signals, the champions gone quiet (the rollup's alone) */
    if (rc == 0 && r && (what & UP_VIEW_SIGNALS) && (v->quiet_ = malloc(r->dict[UP_KIND_ACCOUNT].n + 1)))
        up_engine_people_champions_quiet(r, v->T, v->model->alert_settings.champion_quiet_share, v->quiet_);
    if (threaded)
        pthread_join(tid, NULL);
    if (rc == 0) {
        v->rollup = r;
        v->rollup_owned_ = owned ? r : NULL;
    }
    if (what & UP_VIEW_ENTITIES) {
        v->secs_entities = job.secs;
        v->entities_cached = job.cached;
        if (job.rc == 0) {
            v->entities = job.e;
            v->have_entities_ = 1;
        }
    }
    if (rc < 0) {
        const char *notice = up_store_notice(v->store);
        return fail(err, errlen, rc, notice ? notice : up_strerror(rc));
    }
    return job.rc < 0 ? fail(err, errlen, job.rc, job.err) : 0;
}

/* The champions gone quiet, the error events, and from them (and the
 * portfolio health_drop_days before T) every row's signal metrics. */
static int signals(up_view_t *v, char *err, size_t errlen)
{
    const up_model_t *m = v->model;
    int rc = 0;
    int8_t *quiet = v->quiet_;   /* computed while the entity tables loaded, or now */
    int64_t *errors = NULL;
    v->quiet_ = NULL;
    if (!quiet) {
        if (!(quiet = malloc(v->rollup->dict[UP_KIND_ACCOUNT].n + 1)))
            return fail(err, errlen, -UP_ENOMEM, NULL);
        up_engine_people_champions_quiet(v->rollup, v->T, m->alert_settings.champion_quiet_share, quiet);
    }
    if ((rc = up_engine_account_error_counts(v->store, v->rollup, m, v->T, &errors)) < 0) {
        free(quiet);
        snprintf(err, errlen, "cannot count error events: %s", up_strerror(rc));
        return rc;
    }
    up_signals_src_t src = {up_store_db(v->store), m, v->rollup, v->T, quiet, errors, &v->before};
    rc = up_engine_signals(&src, &v->portfolio);
    free(quiet);
    free(errors);
    return rc < 0 ? fail(err, errlen, rc, NULL) : 0;
}

unsigned up_view_status_bits(const char *s)
{
    unsigned bits = 0;
    while (s && *s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 3 && !strncmp(s, "all", 3))
            bits |= UP_VIEW_ALL;
        else if (n == 8 && !strncmp(s, "customer", 8))
            bits |= UP_VIEW_CUSTOMER;
        else if (n == 7 && !strncmp(s, "churned", 7))
            bits |= UP_VIEW_CHURNED;
        else if (n == 8 && !strncmp(s, "prospect", 8))
            bits |= UP_VIEW_PROSPECT;
        else
            return 0;
        s = e ? e + 1 : NULL;
    }
    return bits;
}

/* Moves the rows whose status `what` does not list after the others, both
 * parts kept in account_id order; portfolio.n_rows counts the listed ones. */
static int select_status(up_view_t *v, unsigned what)
{
    up_portfolio_t *p = &v->portfolio;
    v->n_rows_all_ = p->n_rows;
    unsigned bits = what & UP_VIEW_ALL;
    if (!bits)
        bits = UP_VIEW_CUSTOMER;
    if (bits == UP_VIEW_ALL || !p->n_rows)
        return 0;
    /* a stable partition: the listed rows move up in place, the others wait
     * in a copy of their own (fewer, usually) and follow them */
    uint32_t n_out = 0;
    for (uint32_t i = 0; i < p->n_rows; i++)
        n_out += (bits & ((unsigned)UP_VIEW_CUSTOMER << p->rows[i].status)) == 0;
    up_account_metrics_t *tmp = malloc(((size_t)n_out + 1) * sizeof *tmp);
    if (!tmp)
        return -UP_ENOMEM;
    uint32_t listed = 0, k = 0;
    for (uint32_t i = 0; i < p->n_rows; i++) {
        if (bits & ((unsigned)UP_VIEW_CUSTOMER << p->rows[i].status)) {
            if (listed != i)
                p->rows[listed] = p->rows[i];
            listed++;
        } else
            tmp[k++] = p->rows[i];
    }
    if (k)
        memcpy(p->rows + listed, tmp, (size_t)k * sizeof *tmp);
    free(tmp);
    v->n_rows_all_ = p->n_rows;
    p->n_rows = listed;
    return 0;
}

static int open_view(up_store_t *s, int64_t T, unsigned what, const char *only, up_view_t *v, char *err,
                     size_t errlen);

int up_view_open(up_store_t *s, int64_t T, unsigned what, up_view_t *v, char *err, size_t errlen)
{
    return open_view(s, T, what, NULL, v, err, errlen);
}

int up_view_open_account(up_store_t *s, int64_t T, unsigned what, const char *id, up_view_t *v, char *err,
                         size_t errlen)
{
    return open_view(s, T, what & ~(unsigned)UP_VIEW_SIGNALS, id, v, err, errlen);
}

static int open_view(up_store_t *s, int64_t T, unsigned what, const char *only, up_view_t *v, char *err,
                     size_t errlen)
{
    memset(v, 0, sizeof *v);
    v->store = s;
    v->model = up_store_model(s);
    v->T = T;
    v->d0 = up_day_of(T);
    if (what & UP_VIEW_SIGNALS)
        what |= UP_VIEW_PORTFOLIO;
    if (what & UP_VIEW_PORTFOLIO)
        what = (what | UP_VIEW_ROLLUP | UP_VIEW_ENTITIES) & ~(unsigned)UP_VIEW_LIFECYCLE;
    /* the NPS answers of the window of T, or of the earlier instant too */
    int64_t survey_from = up_engine_nps_from(v->model, T);
    if (what & UP_VIEW_SIGNALS)
        survey_from = up_engine_nps_from(
            v->model, up_engine_end_of_day(v->d0 - v->model->alert_settings.health_drop_days));
    double t0 = up_now_s();
    int rc = load(v, what, survey_from, only, err, errlen);
    v->secs_load = up_now_s() - t0;
    if (rc == 0 && (what & UP_VIEW_PORTFOLIO)) {
        t0 = up_now_s();
        /* workflow completions that are key actions, when the model has some */
        /* with the signals, the portfolio health_drop_days before T too (an
         * instant before T: after T when T is at the beginning of time) */
        int64_t T_before = up_engine_end_of_day(v->d0 - v->model->alert_settings.health_drop_days);
        if ((rc = up_engine_workflow_key_actions(s, v->rollup, v->model, T, &v->entities, &v->wf_ka_)) < 0 ||
            (rc = (what & UP_VIEW_SIGNALS) && T_before <= T
                      ? up_engine_portfolio_two_grouped(v->rollup, &v->groups_, v->model, &v->entities, T, T_before,
                                                        UP_PORTFOLIO_SECOND_HEALTH, &v->portfolio, &v->before)
                      : up_engine_portfolio_grouped(v->rollup, &v->groups_, v->model, &v->entities, T, only,
                                                    &v->portfolio)) < 0 ||
            ((what & UP_VIEW_SIGNALS) && T_before > T &&
             (rc = up_engine_portfolio_grouped(v->rollup, &v->groups_, v->model, &v->entities, T_before, NULL,
                                               &v->before)) < 0))
            fail(err, errlen, rc, NULL);
        if (rc == 0 && (what & UP_VIEW_SIGNALS)) {
            double t1 = up_now_s();
            rc = signals(v, err, errlen);
            v->secs_signals = up_now_s() - t1;
        }
        if (rc == 0 && (rc = select_status(v, what)) < 0)
            fail(err, errlen, rc, NULL);
        v->secs_metrics = up_now_s() - t0;
    }
    if (rc < 0)
        up_view_close(v);
    return rc;
}

int up_view_open_span(up_store_t *s, int64_t since, int64_t T, up_view_t *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    v->store = s;
    v->model = up_store_model(s);
    v->T = T;
    v->d0 = up_day_of(T);
    int rc = load(v, UP_VIEW_ROLLUP | UP_VIEW_ENTITIES, up_engine_nps_from(v->model, since), NULL, err, errlen);
    if (rc < 0)
        up_view_close(v);
    return rc;
}

int up_view_portfolio_at(up_view_t *v, int64_t T2, up_portfolio_t *out, char *err, size_t errlen)
{
    /* the workflow completions that are key actions, as of T2 */
    up_workflows_t wf;
    int rc = up_engine_workflow_key_actions(v->store, v->rollup, v->model, T2, &v->entities, &wf);
    if (rc == 0)
        rc = up_engine_portfolio_grouped(v->rollup, &v->groups_, v->model, &v->entities, T2, NULL, out);
    up_workflows_free(&wf);
    v->entities.ka_pair = NULL;
    v->entities.ka_ts = NULL;
    v->entities.n_ka_extra = 0;
    return rc < 0 ? fail(err, errlen, rc, NULL) : 0;
}

static int cmp_account_id(const void *key, const void *elem)
{
    return strcmp(key, ((const up_account_t *)elem)->account_id);
}

uint32_t up_view_rows_all(const up_view_t *v)
{
    return v->n_rows_all_ > v->portfolio.n_rows ? v->n_rows_all_ : v->portfolio.n_rows;
}

uint8_t *up_view_status_mask(const up_view_t *v, unsigned bits)
{
    const up_dict_t *d = &v->rollup->dict[UP_KIND_ACCOUNT];
    uint8_t *mask = calloc((size_t)d->n + 1, 1);
    if (!mask)
        return NULL;
    bits &= UP_VIEW_ALL;
    if (!bits)
        bits = UP_VIEW_CUSTOMER;
    for (uint32_t a = 0; a < d->n; a++) {
        const up_account_t *acc = !v->entities.n_accounts ? NULL
            : bsearch(up_dict_str(d, a), v->entities.accounts, v->entities.n_accounts, sizeof *v->entities.accounts,
                      cmp_account_id);
        up_status_t st = acc ? up_engine_status_at(&v->entities, acc, v->T) : UP_STATUS_CUSTOMER;
        mask[a] = (bits & ((unsigned)UP_VIEW_CUSTOMER << st)) != 0;
    }
    return mask;
}

void up_view_close(up_view_t *v)
{
    free(v->share_);
    if (v->n_rows_all_ > v->portfolio.n_rows)
        v->portfolio.n_rows = v->n_rows_all_;
    up_portfolio_free(&v->before);
    up_portfolio_free(&v->portfolio);
    up_workflows_free(&v->wf_ka_);
    up_engine_pair_groups_free(&v->groups_);
    free(v->quiet_);
    if (v->have_entities_)
        up_entities_free(&v->entities);
    if (v->rollup_owned_) {
        up_rollup_free(v->rollup_owned_);
        free(v->rollup_owned_);
    }
    memset(v, 0, sizeof *v);
}

static const up_account_metrics_t *find_row(const up_view_t *v, uint32_t lo, uint32_t hi, const char *id)
{
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = strcmp(v->portfolio.rows[mid].account->account_id, id);
        if (c == 0)
            return &v->portfolio.rows[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const up_account_metrics_t *up_view_row(const up_view_t *v, const char *id)
{
    const up_account_metrics_t *r = find_row(v, 0, v->portfolio.n_rows, id);
    return r || v->n_rows_all_ <= v->portfolio.n_rows ? r : find_row(v, v->portfolio.n_rows, v->n_rows_all_, id);
}

const double *up_view_workflow_share(up_view_t *v, int *rc)
{
    const up_model_t *m = v->model;
    *rc = 0;
    if (v->share_ || !m->n_workflows)
        return v->share_;
    up_workflows_t wf;
    if ((*rc = up_engine_workflow_run(v->store, v->rollup, m, v->T, NULL, &wf)) < 0)
        return NULL;
    const up_portfolio_t *p = &v->portfolio;
    v->share_ = malloc(((size_t)p->n_rows * m->n_workflows + 1) * sizeof *v->share_);
    if (!v->share_) {
        up_workflows_free(&wf);
        *rc = -UP_ENOMEM;
        return NULL;
    }
    /* wf.rows are in the order the log met the accounts: index them by id */
    uint32_t n_acc = v->rollup->dict[UP_KIND_ACCOUNT].n;
    int32_t *index = malloc((n_acc + 1) * sizeof *index);
    if (!index) {
        free(v->share_);
        v->share_ = NULL;
        up_workflows_free(&wf);
        *rc = -UP_ENOMEM;
        return NULL;
    }
    for (uint32_t a = 0; a <= n_acc; a++)
        index[a] = -1;
    for (uint32_t k = 0; k < wf.n_rows; k++)
        index[wf.rows[k].account] = (int32_t)k;
    for (uint32_t i = 0; i < p->n_rows; i++) {
        const char *id = p->rows[i].account->account_id;
        int64_t aid = up_dict_find(&v->rollup->dict[UP_KIND_ACCOUNT], id, strlen(id));
        const up_wf_row_t *w = aid >= 0 && index[aid] >= 0 ? &wf.rows[index[aid]] : NULL;
        up_engine_signals_workflow_share(m, w, p->rows[i].seats, v->share_ + (size_t)i * m->n_workflows);
    }
    free(index);
    up_workflows_free(&wf);
    return v->share_;
}
