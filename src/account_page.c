/* account_page: one account's page, built from the view (see account_page.h). */
#include "account_page.h"

#include <stdlib.h>
#include <string.h>

void up_account_page_close(up_account_page_t *pg)
{
    up_workflows_free(&pg->workflows);
    up_revenue_free(&pg->revenue);
    up_account_extras_free(&pg->extras);
    free(pg->history);
    free(pg->feature_uses);
    free(pg->lifecycle);
    up_people_free(&pg->people);
    up_stages_free(&pg->stages);
    if (pg->has_series)
        up_series_free(&pg->series);
    memset(pg, 0, sizeof *pg);
}

/* The account's outcomes in e: runs of one metric, sorted by ts. */
static void outcomes_of(up_account_page_t *pg)
{
    const up_entities_t *e = pg->entities;
    const char *id = pg->row->account->account_id;
    uint32_t lo = 0;
    while (lo < e->n_outcomes && strcmp(e->outcomes[lo].account_id, id) < 0)
        lo++;
    uint32_t hi = lo;
    while (hi < e->n_outcomes && strcmp(e->outcomes[hi].account_id, id) == 0)
        hi++;
    pg->o_lo = lo;
    pg->o_hi = hi;
}

/* The level at the end of each day of the last 180 (or since the contract). */
static int level_history(up_account_page_t *pg)
{
    const up_account_t *acc = pg->row->account;
    int32_t from = pg->d0 - 179;
    if (acc->contract_start != UP_NO_DAY && acc->contract_start > from)
        from = acc->contract_start <= pg->d0 ? acc->contract_start : pg->d0;
    pg->history_from = from;
    pg->n_history = pg->d0 - from + 1;
    pg->history = malloc((size_t)pg->n_history * sizeof *pg->history);
    if (!pg->history)
        return -UP_ENOMEM;
    return up_engine_level_history(pg->rollup, pg->model, pg->entities, acc, from, pg->d0, pg->history);
}

/* The CRM facts; the account's workflows first (its page shows them,
 * targets may name them). */
static int extras(up_account_page_t *pg, up_store_t *s, const char *id, int64_t aid)
{
    const up_model_t *m = pg->model;
    int64_t *errors = NULL;
    int rc = up_engine_account_error_counts(s, pg->rollup, m, pg->T, &errors);
    double *share = NULL;
    if (rc == 0 && m->n_workflows) {
        rc = up_engine_workflow_run(s, pg->rollup, m, pg->T, id, &pg->workflows);
        pg->wf_row = pg->workflows.n_rows ? &pg->workflows.rows[0] : NULL;
        share = calloc(m->n_workflows, sizeof *share);
        if (!share && rc == 0)
            rc = -UP_ENOMEM;
        if (share)
            up_engine_signals_workflow_share(m, pg->wf_row, pg->row->seats, share);
    }
    if (rc == 0)
        rc = up_engine_account_extras(NULL, up_store_db(s), m, pg->row, pg->T, errors ? (aid >= 0 ? errors[aid] : 0) : -1, share,
                               &pg->extras);
    free(errors);
    free(share);
    return rc;
}

int up_account_page_open(up_account_page_t *pg, const up_view_t *v, const char *id, int with_series)
{
    memset(pg, 0, sizeof *pg);
    pg->portfolio = &v->portfolio;
    pg->model = v->model;
    pg->rollup = v->rollup;
    pg->entities = &v->entities;
    pg->T = v->portfolio.T;
    pg->d0 = v->portfolio.d0;
    pg->row = up_view_row(v, id);
    pg->people.single_threaded = 1;
    if (!pg->row)
        return -UP_ENOTFOUND;
    outcomes_of(pg);
    int rc = up_engine_stages(pg->rollup, pg->model, pg->T, id, NULL, &pg->stages);
    int64_t aid = up_dict_find(&pg->rollup->dict[UP_KIND_ACCOUNT], id, strlen(id));
    if (rc == 0 && aid >= 0)
        rc = up_engine_people(pg->rollup, (uint32_t)aid, pg->T, &pg->people);
    if (rc == 0)
        rc = level_history(pg);
    if (rc == 0)
        rc = extras(pg, v->store, id, aid);
    if (rc == 0 && !(pg->feature_uses = calloc(pg->model->n_features + 1, sizeof *pg->feature_uses)))
        rc = -UP_ENOMEM;
    if (rc == 0)
        rc = up_engine_account_feature_uses(v->store, pg->rollup, pg->model, pg->T, aid, pg->feature_uses);
    if (rc == 0)
        rc = up_engine_revenue(pg->rollup, pg->model, pg->entities, pg->row->account, pg->T,
                               pg->model->alert_settings.seats_removed_share, &pg->revenue);
    if (rc == 0 && (rc = up_engine_lifecycle(pg->entities, pg->row->account, &pg->lifecycle, &pg->n_lifecycle)) == 0) {
        /* what happened by T, and changed the status */
        uint32_t k = 0;
        for (uint32_t i = 0; i < pg->n_lifecycle; i++)
            if (pg->lifecycle[i].ts <= pg->T && pg->lifecycle[i].event)
                pg->lifecycle[k++] = pg->lifecycle[i];
        pg->n_lifecycle = k;
    }
    if (rc == 0 && with_series) {
        rc = up_engine_series(pg->rollup, pg->model, pg->entities, pg->row->account, pg->T, 91, &pg->series);
        pg->has_series = rc == 0;
    }
    if (rc < 0)
        up_account_page_close(pg);
    return rc;
}
