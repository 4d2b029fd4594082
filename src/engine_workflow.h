/* engine_workflow: workflows completed, matched on the ordered events of
 * each (account, user) pair (docs/metrics.md choice 21): completions per
 * workflow per week, the users completing them, the share of licensed seats
 * completing a core workflow each week, and the step funnel over window(28).
 * The rollup keeps no event order, so the events of the workflows' steps
 * are read from the log (one scan per report). */
#ifndef UP_ENGINE_WORKFLOW_H
#define UP_ENGINE_WORKFLOW_H

#include "engine.h"
#include "rollup.h"

#define UP_WF_WEEKS 12

struct up_store;

typedef struct {
    int64_t completions[UP_WF_WEEKS];     /* block 0 oldest, 11 ends with D0 */
    int64_t users[UP_WF_WEEKS];           /* distinct users completing it in the block */
    int64_t *funnel;                      /* n_steps: users reaching step k (1-based k at [k-1]) in window(28) */
} up_wf_account_t;

typedef struct {
    uint32_t account;                     /* rollup account id */
    up_wf_account_t *wf;                  /* per model workflow */
    int64_t core_users[UP_WF_WEEKS];      /* users completing any core workflow in the block */
} up_wf_row_t;

typedef struct {
    int32_t d0;
    up_wf_row_t *rows;                    /* accounts with a step event, by account id */
    uint32_t n_rows, cap_rows;
    size_t n_workflows;
    /* completions of the workflows that are key actions ("workflow:NAME" in
     * key_actions): (pair, ts), sorted by pair then ts */
    uint32_t *ka_pair;
    int64_t *ka_ts;
    size_t n_ka, cap_ka;
} up_workflows_t;

/* Matches every workflow of the model as of T, for one account (its id) or
 * all (account NULL). Returns 0 or a negative UP_E* code. */
int up_engine_workflow_run(struct up_store *s, const up_rollup_t *r, const up_model_t *m, int64_t T,
                        const char *account, up_workflows_t *out);
void up_workflows_free(up_workflows_t *w);

/* 1 when the model's key_actions name a workflow ("workflow:NAME"). */
int up_engine_workflow_has_ka(const up_model_t *m);

/* When the model's key actions name workflows, matches them as of T and
 * points e's key-action overlay at their completions (owned by w, which the
 * caller frees after the engine has run). Otherwise leaves e alone. */
int up_engine_workflow_key_actions(struct up_store *s, const up_rollup_t *r, const up_model_t *m, int64_t T,
                            up_entities_t *e, up_workflows_t *w);

#endif
