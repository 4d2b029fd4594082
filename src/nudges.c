/* nudges: the two nudge rules over the user's stages (see the header). The
 * stages come from engine_stages, so a nudge agrees with `report users`. */
#include "nudges.h"

#include "engine_stages.h"
#include "fmt.h"
#include "timeparse.h"

#include <stdlib.h>
#include <string.h>

static int feature_index(const up_model_t *m, const char *name)
{
    for (size_t f = 0; f < m->n_features; f++)
        if (!strcmp(m->features[f].name, name))
            return (int)f;
    return -1;
}

static const up_pf_t *pf_of(const up_pair_t *p, uint32_t f)
{
    for (uint32_t i = 0; i < p->n_pf; i++)
        if (p->pf[i].feature == f)
            return &p->pf[i];
    return NULL;
}

static void nudge(up_buf_t *out, int *n, const char *id, const char *kind, const char *account, const char *feature,
                  const char *after, const char *text)
{
    up_buf_puts(out, (*n)++ ? ",\n{" : "\n{");
    up_buf_puts(out, "\"id\":");
    up_fmt_json_str(out, id);
    up_buf_printf(out, ",\"kind\":\"%s\",\"account_id\":", kind);
    up_fmt_json_str(out, account);
    up_buf_puts(out, ",\"feature\":");
    up_fmt_json_str(out, feature);
    up_buf_puts(out, ",\"after\":");
    up_fmt_json_opt_str(out, after);
    up_buf_puts(out, ",\"text\":");
    up_fmt_json_str(out, text);
    up_buf_puts(out, "}");
}

/* 1 when the account named id is a customer at T (an account the accounts
 * table does not list, known only from events, is one). */
static int customer_at(const up_entities_t *e, const char *id, int64_t T)
{
    if (!e)
        return 1;
    uint32_t lo = 0, hi = e->n_accounts;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = strcmp(e->accounts[mid].account_id, id);
        if (c == 0)
            return up_engine_status_at(e, &e->accounts[mid], T) == UP_STATUS_CUSTOMER;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 1;
}

int up_nudges_json(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e, int64_t T, const char *user,
                   const char *account,
                   up_buf_t *out)
{
    char when[40];
    up_time_fmt(when, T);
    up_buf_puts(out, "{\"user_id\":");
    up_fmt_json_str(out, user);
    up_buf_printf(out, ",\"as_of\":\"%s\",\"nudges\":[", when);
    int n = 0;
    int64_t uid = up_dict_find(&r->dict[UP_KIND_USER], user, strlen(user));
    if (uid >= 0) {
        up_stages_t st;
        int rc = up_engine_stages(r, m, T, account, NULL, &st);
        if (rc < 0)
            return rc;
        size_t nf = m->n_features;
        up_stage_t *stage = calloc(nf + 1, sizeof *stage);
        if (!stage) {
            up_stages_free(&st);
            return -UP_ENOMEM;
        }
        /* rows are sorted by account, user, feature: one pair at a time */
        for (uint32_t i = 0; i < st.n_rows;) {
            uint32_t pair = st.rows[i].pair, j = i;
            memset(stage, 0, (nf + 1) * sizeof *stage);
            while (j < st.n_rows && st.rows[j].pair == pair) {
                stage[st.rows[j].feature] = st.rows[j].stage;
                j++;
            }
            const up_pair_t *p = &r->pairs[pair];
            if (p->user == (uint32_t)uid && customer_at(e, r->dict[UP_KIND_ACCOUNT].strs[p->account], T)) {
                const char *acc = r->dict[UP_KIND_ACCOUNT].strs[p->account];
                char id[300], text[400];
                for (size_t f = 0; f < nf; f++) {
                    const up_pf_t *pf = pf_of(p, (uint32_t)f);
                    if (!m->features[f].core || stage[f] != UP_STAGE_TRIAL || !pf || pf->first_use_ts == UP_TS_NONE)
                        continue;
                    int64_t days = (T - pf->first_use_ts) / UP_MS_PER_DAY;
                    if (days < m->nudges.trial_days)
                        continue;
                    snprintf(id, sizeof id, "trial_tip:%s", m->features[f].name);
                    snprintf(text, sizeof text, "You have been trying %s for %lld days: here is how teams make it"
                             " part of their week.", m->features[f].name, (long long)days);
                    nudge(out, &n, id, "tip", acc, m->features[f].name, NULL, text);
                }
                for (size_t k = 0; k + 1 < m->nudges.n_expansion; k++) {
                    int f = feature_index(m, m->nudges.expansion[k]), g = feature_index(m, m->nudges.expansion[k + 1]);
                    if (f < 0 || g < 0 || stage[f] < UP_STAGE_REGULAR || stage[g] > UP_STAGE_AWARE)
                        continue;
                    snprintf(id, sizeof id, "next_feature:%s", m->features[g].name);
                    snprintf(text, sizeof text, "You use %s regularly: %s is the next step.", m->features[f].name,
                             m->features[g].name);
                    nudge(out, &n, id, "suggest", acc, m->features[g].name, m->features[f].name, text);
                    break;   /* one suggestion: the earliest step of the sequence */
                }
            }
            i = j;
        }
        free(stage);
        up_stages_free(&st);
    }
    up_buf_puts(out, n ? "\n]}\n" : "]}\n");
    return 0;
}
