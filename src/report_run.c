/* report_run: loads what a report needs and calls its writer (see the
 * header). The entity tables load on a second thread while the rollup is
 * mapped and folded, which is most of a report's time on a large store. */
#include "report_run.h"

#include "engine.h"
#include "engine_people.h"
#include "engine_series.h"
#include "engine_workflow.h"
#include "fmt.h"
#include "report_workflow.h"
#include "report_html.h"
#include "report_account.h"
#include "report_users.h"
#include "timeparse.h"
#include "util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const REPORTS[] = {"accounts", "features", "users", "stages", "gaps", "account", "workflows"};

int up_report_known(const char *what)
{
    for (size_t i = 0; i < sizeof REPORTS / sizeof REPORTS[0]; i++)
        if (strcmp(what, REPORTS[i]) == 0)
            return 1;
    return 0;
}

int up_report_parse_as_of(const char *s, int64_t *T)
{
    int32_t day;
    if (up_date_parse(s, strlen(s), &day) == 0) {
        *T = up_engine_end_of_day(day);
        return 0;
    }
    return up_time_parse(s, strlen(s), T);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

typedef struct {
    sqlite3 *db;
    int64_t survey_from, survey_to;
    up_entities_t e;
    int rc;
    char err[512];
    double secs;
} entities_job_t;

static void *entities_thread(void *arg)
{
    entities_job_t *job = arg;
    double t = now_s();
    job->rc = up_entities_load(job->db, job->survey_from, job->survey_to, &job->e, job->err, sizeof job->err);
    job->secs = now_s() - t;
    return NULL;
}

/* `report account ID`: the account's metrics row with its stages and people. */
static int report_one_account(FILE *out, up_store_t *s, const up_portfolio_t *p, const up_rollup_t *r,
                              const up_model_t *m, const up_entities_t *e, const char *id, up_format_t format)
{
    sqlite3 *db = up_store_db(s);
    const up_account_metrics_t *row = NULL;
    for (uint32_t i = 0; i < p->n_rows; i++)
        if (strcmp(p->rows[i].account->account_id, id) == 0)
            row = &p->rows[i];
    if (!row)
        return -UP_ENOTFOUND;
    up_stages_t st;
    up_people_t people;
    int rc = up_engine_stages(r, m, p->T, id, &st);
    if (rc < 0)
        return rc;
    int64_t aid = up_dict_find(&r->dict[UP_KIND_ACCOUNT], id, strlen(id));
    memset(&people, 0, sizeof people);
    people.single_threaded = 1;
    if (aid >= 0 && (rc = up_engine_people(r, (uint32_t)aid, p->T, &people)) < 0) {
        up_stages_free(&st);
        return rc;
    }
    /* the level at the end of each day of the last 180 (or since the contract) */
    int32_t from = p->d0 - 179;
    if (row->account->contract_start != UP_NO_DAY && row->account->contract_start > from)
        from = row->account->contract_start <= p->d0 ? row->account->contract_start : p->d0;
    up_level_t *history = malloc((size_t)(p->d0 - from + 1) * sizeof *history);
    if (!history)
        rc = -UP_ENOMEM;
    else
        rc = up_engine_level_history(r, m, e, row->account, from, p->d0, history);
    up_account_extras_t extras;
    memset(&extras, 0, sizeof extras);
    int64_t *errors = NULL;
    if (rc == 0)
        rc = up_error_counts(s, r, m, p->T, &errors);
    /* the account's workflows: its page shows them, targets may name them */
    up_workflows_t wf;
    memset(&wf, 0, sizeof wf);
    double *share = NULL;
    if (rc == 0 && m->n_workflows) {
        rc = up_engine_workflows(s, r, m, p->T, id, &wf);
        share = calloc(m->n_workflows, sizeof *share);
        if (!share && rc == 0)
            rc = -UP_ENOMEM;
        for (size_t k = 0; share && k < m->n_workflows; k++)
            share[k] = row->seats > 0 ? (wf.n_rows ? (double)wf.rows[0].wf[k].users[UP_WF_WEEKS - 1] : 0.0) /
                                            (double)row->seats
                                      : NAN;
    }
    if (rc == 0)
        rc = up_account_extras(db, m, row, p->T, errors ? (aid >= 0 ? errors[aid] : 0) : -1, share, &extras);
    free(errors);
    free(share);
    up_revenue_t rev;
    memset(&rev, 0, sizeof rev);
    if (rc == 0)
        rc = up_engine_revenue(r, m, e, row->account, p->T, m->alert_settings.seats_removed_share, &rev);
    if (rc == 0 && format == UP_FMT_HTML) {
        up_series_t se;
        if ((rc = up_engine_series(r, m, e, row->account, p->T, 90, &se)) == 0) {
            rc = up_report_account_html(out, p, row, m, e, &extras, &rev, &se);
            up_series_free(&se);
        }
    } else if (rc == 0)
        rc = up_report_account(out, p, row, r, &st, &people, e, history, from, &extras, &rev,
                               wf.n_rows ? &wf.rows[0] : NULL, format);
    up_workflows_free(&wf);
    up_revenue_free(&rev);
    up_account_extras_free(&extras);
    free(history);
    up_people_free(&people);
    up_stages_free(&st);
    return rc;
}

static void release(up_rollup_t *r, int owned)
{
    if (owned) {
        up_rollup_free(r);
        free(r);
    }
}

/* `report users` and `report stages`: from the rollup alone. */
static int report_stages(up_store_t *s, const up_report_req_t *q, FILE *out, char *err, size_t errlen)
{
    up_rollup_t *r;
    int owned, rc;
    up_stages_t st;
    if ((rc = up_store_rollup(s, q->T, &r, &owned)) < 0)
        return fail(err, errlen, rc, "%s", up_store_notice(s) ? up_store_notice(s) : up_strerror(rc));
    const up_model_t *m = up_store_model(s);
    const char *account = q->o.account;
    rc = up_engine_stages(r, m, q->T, account, &st);
    if (rc == 0 && account && up_dict_find(&r->dict[UP_KIND_ACCOUNT], account, strlen(account)) < 0) {
        rc = fail(err, errlen, -UP_ENOTFOUND, "no account '%s' in the events", account);
    } else if (rc == 0) {
        rc = strcmp(q->what, "users") == 0 ? up_report_users(out, r, m, q->T, &st, q->o.format)
                                           : up_report_stages(out, m, q->T, &st, q->feature, q->o.format);
        if (rc == -UP_ENOTFOUND)
            fail(err, errlen, rc, "no feature '%s' in the model", q->feature);
    } else
        fail(err, errlen, rc, "%s", up_strerror(rc));
    if (rc < 0 && rc != -UP_ENOTFOUND && !err[0])
        fail(err, errlen, rc, "%s", up_strerror(rc));
    up_stages_free(&st);
    release(r, owned);
    return rc;
}

/* `report workflows`: the log's step events, the entity tables for seats. */
static int report_workflows(up_store_t *s, const up_report_req_t *q, FILE *out, char *err, size_t errlen)
{
    up_rollup_t *r;
    int owned, rc;
    if ((rc = up_store_rollup(s, q->T, &r, &owned)) < 0)
        return fail(err, errlen, rc, "%s", up_store_notice(s) ? up_store_notice(s) : up_strerror(rc));
    const char *account = q->o.account;
    if (account && up_dict_find(&r->dict[UP_KIND_ACCOUNT], account, strlen(account)) < 0) {
        release(r, owned);
        return fail(err, errlen, -UP_ENOTFOUND, "no account '%s' in the events", account);
    }
    up_entities_t e;
    char eerr[512];
    if ((rc = up_entities_load(up_store_db(s), q->T, q->T, &e, eerr, sizeof eerr)) < 0) {
        release(r, owned);
        return fail(err, errlen, rc, "%s", eerr);
    }
    up_workflows_t w;
    rc = up_engine_workflows(s, r, up_store_model(s), q->T, account, &w);
    if (rc == 0)
        rc = up_report_workflows(out, r, up_store_model(s), &e, &w, q->T, q->o.format);
    else
        fail(err, errlen, rc, "%s", up_strerror(rc));
    up_workflows_free(&w);
    up_entities_free(&e);
    release(r, owned);
    return rc;
}

int up_report_run(up_store_t *s, const up_report_req_t *q, FILE *out, char *err, size_t errlen)
{
    err[0] = '\0';
    if (strcmp(q->what, "workflows") == 0)
        return report_workflows(s, q, out, err, errlen);
    if (strcmp(q->what, "users") == 0 || strcmp(q->what, "stages") == 0)
        return report_stages(s, q, out, err, errlen);
    int timing = getenv("UPTAKE_TIMING") != NULL;
    double t0 = now_s();
    up_rollup_t *r;
    int owned, rc;
    up_portfolio_t p;
    /* the entity tables load on a second thread while the rollup is mapped */
    entities_job_t job = {up_store_db(s), up_engine_nps_from(up_store_model(s), q->T), q->T, {0}, 0, "", 0};
    pthread_t tid;
    int threaded = pthread_create(&tid, NULL, entities_thread, &job) == 0;
    if (!threaded)
        entities_thread(&job);
    rc = up_store_rollup(s, q->T, &r, &owned);
    if (threaded)
        pthread_join(tid, NULL);
    up_entities_t e = job.e;
    if (rc < 0) {
        if (job.rc == 0)
            up_entities_free(&e);
        return fail(err, errlen, rc, "%s", up_store_notice(s) ? up_store_notice(s) : up_strerror(rc));
    }
    if ((rc = job.rc) < 0) {
        fail(err, errlen, rc, "%s", job.err);
        release(r, owned);
        return rc;
    }
    double t_ent = now_s();
    up_workflows_t wf_ka;   /* workflow completions that are key actions, when the model has some */
    if ((rc = up_workflow_key_actions(s, r, up_store_model(s), q->T, &e, &wf_ka)) < 0) {
        fail(err, errlen, rc, "%s", up_strerror(rc));
        goto done;
    }
    if ((rc = up_engine_portfolio(r, up_store_model(s), &e, q->T, &p)) < 0) {
        fail(err, errlen, rc, "%s", up_strerror(rc));
        goto done;
    }
    double t_eng = now_s();
    int is_account = strcmp(q->what, "account") == 0;
    if (strcmp(q->what, "gaps") == 0)
        rc = up_report_gaps(out, &p, &q->o, q->top);
    else if (is_account)
        rc = report_one_account(out, s, &p, r, up_store_model(s), &e, q->id, q->o.format);
    else
        rc = strcmp(q->what, "accounts") != 0 ? up_report_features(out, &p, &q->o)
           : q->o.format == UP_FMT_HTML ? up_report_accounts_html(out, &p, &q->o) : up_report_accounts(out, &p, &q->o);
    if (rc == -UP_ENOTFOUND)
        fail(err, errlen, rc, "no account '%s'", is_account ? q->id : q->o.account);
    else if (rc < 0)
        fail(err, errlen, rc, "%s%s%s", up_strerror(rc), rc == -UP_EDB ? ": " : "",
             rc == -UP_EDB ? sqlite3_errmsg(up_store_db(s)) : "");
    if (timing)
        fprintf(stderr, "timing: rollup+entities %.3f s (entities %.3f s on a second thread),"
                " metrics %.3f s, output %.3f s\n",
                t_ent - t0, job.secs, t_eng - t_ent, now_s() - t_eng);
    up_portfolio_free(&p);
done:
    up_workflows_free(&wf_ka);
    up_entities_free(&e);
    release(r, owned);
    return rc;
}

int up_report_rejects(sqlite3 *db, FILE *out, up_format_t fmt, long limit)
{
    sqlite3_stmt *st;
    sqlite3_int64 total = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM rejects", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            total = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(db, "SELECT id, at, source, file, line, field, reason, record FROM rejects"
                               " ORDER BY id DESC LIMIT ?", -1, &st, NULL) != SQLITE_OK) {
        return -UP_EDB;
    }
    sqlite3_bind_int64(st, 1, limit);
    static const char *const cols[] = {"id", "at", "source", "file", "line", "field", "reason", "record"};
    up_buf_t b = {0};
    if (fmt == UP_FMT_CSV)
        fprintf(out, "id,at,source,file,line,field,reason,record\n");
    else if (fmt == UP_FMT_JSON)
        up_buf_puts(&b, "{\"rejects\":[");
    else if (total == 0)
        fprintf(out, "No rejected records.\n");
    else
        fprintf(out, "%lld rejected record%s (newest first%s):\n", (long long)total, total == 1 ? "" : "s",
               limit >= 0 && total > limit ? "; --limit N shows more" : "");
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *v[8];
        for (int i = 0; i < 8; i++)
            v[i] = (const char *)sqlite3_column_text(st, i);
        if (fmt == UP_FMT_CSV) {
            for (int i = 0; i < 8; i++) {
                if (i)
                    fputc(',', out);
                const char *t = v[i] ? v[i] : "";
                if (strpbrk(t, ",\"\n\r")) {
                    fputc('"', out);
                    for (; *t; t++) {
                        if (*t == '"')
                            fputc('"', out);
                        fputc(*t, out);
                    }
                    fputc('"', out);
                } else
                    fputs(t, out);
            }
            fputc('\n', out);
        } else if (fmt == UP_FMT_JSON) {
            up_buf_puts(&b, n ? ",\n{" : "\n{");
            for (int i = 0; i < 8; i++) {
                up_buf_printf(&b, "%s\"%s\":", i ? "," : "", cols[i]);
                if (!v[i])
                    up_buf_puts(&b, "null");
                else if (i == 0 || i == 4)
                    up_buf_puts(&b, v[i]);
                else
                    up_fmt_json_str(&b, v[i]);
            }
            up_buf_puts(&b, "}");
        } else {
            fprintf(out, "  %s:%s: %s%s%s\n      %s\n", v[3] ? v[3] : "?", v[4] ? v[4] : "?", v[5] ? v[5] : "",
                   v[5] ? ": " : "", v[6] ? v[6] : "", v[7] && *v[7] ? v[7] : "(record not decodable)");
        }
        n++;
    }
    sqlite3_finalize(st);
    if (fmt == UP_FMT_JSON) {
        up_buf_printf(&b, "\n],\"total\":%lld}\n", (long long)total);
        fwrite(b.data, 1, b.len, out);
        up_buf_free(&b);
    }
    return 0;
}

int up_report_series(up_store_t *s, const char *id, int64_t T, int days, FILE *out, char *err, size_t errlen)
{
    err[0] = '\0';
    up_rollup_t *r;
    int owned, rc;
    if ((rc = up_store_rollup(s, T, &r, &owned)) < 0)
        return fail(err, errlen, rc, "%s", up_store_notice(s) ? up_store_notice(s) : up_strerror(rc));
    up_entities_t e;
    char eerr[512];
    if ((rc = up_entities_load(up_store_db(s), T, T, &e, eerr, sizeof eerr)) < 0) {
        release(r, owned);
        return fail(err, errlen, rc, "%s", eerr);
    }
    /* the account as the table describes it, or as first seen in events */
    up_account_t only_events = {.account_id = (char *)id, .seats = 0, .contract_start = UP_NO_DAY,
                                .renewal_date = UP_NO_DAY, .churned_at = UP_NO_DAY};
    const up_account_t *acc = NULL;
    for (uint32_t i = 0; i < e.n_accounts && !acc; i++)
        if (strcmp(e.accounts[i].account_id, id) == 0)
            acc = &e.accounts[i];
    if (!acc && up_dict_find(&r->dict[UP_KIND_ACCOUNT], id, strlen(id)) >= 0)
        acc = &only_events;
    up_series_t se;
    if (!acc)
        rc = fail(err, errlen, -UP_ENOTFOUND, "no account '%s'", id);
    else if ((rc = up_engine_series(r, up_store_model(s), &e, acc, T, days, &se)) < 0)
        fail(err, errlen, rc, "%s", up_strerror(rc));
    else {
        const up_model_t *m = up_store_model(s);
        up_buf_t b = {0};
        char date[16], when[40];
        up_fmt_time(when, T);
        up_buf_puts(&b, "{\"account_id\":");
        up_fmt_json_str(&b, id);
        up_buf_printf(&b, ",\"as_of\":\"%s\",\"days\":[", when);
        for (int i = 0; i < se.n_days; i++) {
            up_fmt_date(date, se.days[i].day);
            up_buf_printf(&b, "%s\n{\"date\":\"%s\",\"dau\":%lld,\"wau\":%lld,\"mau\":%lld,\"seats\":%lld}", i ? "," : "",
                          date, (long long)se.days[i].dau, (long long)se.days[i].wau, (long long)se.days[i].mau,
                          (long long)se.days[i].seats);
        }
        up_buf_puts(&b, "],\"feature_weeks\":[");
        for (uint32_t f = 0; f < se.n_features; f++) {
            up_buf_puts(&b, f ? ",\n{\"feature\":" : "\n{\"feature\":");
            up_fmt_json_str(&b, m->features[f].name);
            up_buf_printf(&b, ",\"core\":%s,\"weeks\":[", m->features[f].core ? "true" : "false");
            for (int k = 0; k < 12; k++) {
                char lo[16], hi[16];
                up_fmt_date(lo, se.d0 - 7 * (11 - k) - 6);
                up_fmt_date(hi, se.d0 - 7 * (11 - k));
                up_buf_printf(&b, "%s{\"week_start\":\"%s\",\"week_end\":\"%s\",\"users\":%lld}", k ? "," : "", lo, hi,
                              (long long)se.feature_weeks[f][k]);
            }
            up_buf_puts(&b, "]}");
        }
        up_buf_puts(&b, "]}\n");
        if (!b.data || fwrite(b.data, 1, b.len, out) != b.len)
            rc = fail(err, errlen, -UP_EIO, "cannot write the series");
        up_buf_free(&b);
        up_series_free(&se);
    }
    up_entities_free(&e);
    release(r, owned);
    return rc;
}
