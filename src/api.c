/* api: the JSON API's routes. Each route is a report of the CLI with the
 * same names and numbers (it calls up_report_run with format json), so the
 * API and the CLI cannot drift apart. Invariant: a route either writes a
 * complete JSON document or returns an error status with {"error": …}. */
#include "api.h"

#include "alerts.h"
#include "fmt.h"
#include "report_retention.h"
#include "report_backtest.h"
#include "report_run.h"
#include "timeparse.h"
#include "view.h"
#include "report_settings.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static void json_error(up_buf_t *out, const char *msg)
{
    up_buf_puts(out, "{\"error\":");
    up_fmt_json_str(out, msg);
    up_buf_puts(out, "}\n");
}

static int hexdigit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes the n bytes at s into out (outlen bytes, NUL-terminated):
 * 0, or -1 when it does not fit or holds a NUL. */
static int segment(const char *s, size_t n, char *out, size_t outlen)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < n && hexdigit(s[i + 1]) >= 0 && hexdigit(s[i + 2]) >= 0) {
            c = (char)(hexdigit(s[i + 1]) * 16 + hexdigit(s[i + 2]));
            i += 2;
        }
        if (c == '\0' || k + 1 >= outlen)
            return -1;
        out[k++] = c;
    }
    out[k] = '\0';
    return 0;
}

/* Splits "/api/v1/accounts/acme/users" (the path as sent, escapes and all)
 * into what follows the prefix. The path is split at '/' first and each
 * segment decoded after, so an id may hold "/" sent as %2F. */
static int route(const char *path, char *what, size_t wlen, char *id, size_t idlen, int *users)
{
    const char *p = path + strlen("/api/v1/");
    size_t n = strcspn(p, "/");
    if (n == 0 || segment(p, n, what, wlen) < 0)
        return -1;
    id[0] = '\0';
    *users = 0;
    p += n;
    if (*p == '/' && p[1]) {
        p++;
        size_t m = strcspn(p, "/");
        if (segment(p, m, id, idlen) < 0 || (strcmp(what, "accounts") != 0 && strcmp(what, "alerts") != 0))
            return -1;
        p += m;
        if (strcmp(p, "/users") == 0 || strcmp(p, "/users/") == 0)
            *users = 1;
        else if (strcmp(p, "/series") == 0 || strcmp(p, "/series/") == 0)
            *users = 2;
        else if (strcmp(p, "/qbr") == 0 || strcmp(p, "/qbr/") == 0)
            *users = 3;
        else if (*p && strcmp(p, "/") != 0)
            return -1;
    } else if (*p == '/' && p[1] == '\0')
        p++;
    return 0;
}

/* What a route writes: a report, a series, rejects, alerts, tasks, the
 * model's settings or the signal metrics. */
enum { W_REPORT, W_SERIES, W_REJECTS, W_ALERTS, W_ALERT, W_TASKS, W_SETTINGS, W_BACKTEST, W_STATUS };

typedef struct {
    int kind;
    up_store_t *s;
    const up_report_req_t *q;   /* W_REPORT; q->T for W_SERIES */
    const char *id;             /* W_SERIES */
    long n;                     /* days, limit or the alert id */
    const char *state;          /* W_ALERTS */
    int all;                    /* W_TASKS */
    up_backtest_req_t bt;       /* W_BACKTEST */
    char err[1024];             /* why, when the writer failed */
} job_t;

static int write_job(FILE *f, job_t *j)
{
    sqlite3 *db = up_store_db(j->s);
    int rc;
    switch (j->kind) {
    case W_REPORT: return up_report_run(j->s, j->q, f, j->err, sizeof j->err);
    case W_SERIES: return up_report_run_series(j->s, j->id, j->q->T, (int)j->n, f, j->err, sizeof j->err);
    case W_REJECTS: rc = up_report_run_rejects(db, f, UP_FMT_JSON, j->n); break;
    case W_ALERTS: rc = up_alerts_list(db, f, j->state, UP_FMT_JSON); break;
    case W_ALERT: rc = j->n > 0 ? up_alerts_show(db, f, j->n, UP_FMT_JSON) : -UP_ENOTFOUND; break;
    case W_SETTINGS: return up_report_settings(f, up_store_model(j->s), UP_FMT_JSON);
    case W_BACKTEST: return up_report_backtest(j->s, &j->bt, f, j->err, sizeof j->err);
    case W_STATUS: return up_report_run_status(j->s, f);
    default: rc = up_alerts_tasks_list(db, f, j->all, UP_FMT_JSON); break;
    }
    if (rc == -UP_ENOTFOUND)
        snprintf(j->err, sizeof j->err, "no such alert");
    else if (rc < 0)
        snprintf(j->err, sizeof j->err, "cannot read the %s table", j->kind == W_REJECTS ? "rejects" : "alert");
    return rc;
}

/* Runs j into out: the writer's JSON, or {"error": …}. Returns the HTTP
 * status: 200, 404 for what does not exist, 500 otherwise. */
static int answer(up_buf_t *out, job_t *j)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        json_error(out, "out of memory");
        return 500;
    }
    j->err[0] = '\0';
    int rc = write_job(f, j);
    fclose(f);
    if (rc == 0)
        up_buf_append(out, buf, len);
    else
        json_error(out, j->err[0] ? j->err : up_strerror(rc));
    free(buf);
    return rc == 0 ? 200 : rc == -UP_ENOTFOUND ? 404 : rc == -UP_EINVAL ? 400 : 500;
}

/* Fills q for a report route (accounts, one account, its users, features,
 * stages, gaps, signals) from the path and the query arguments. Returns 0,
 * or the HTTP status of the error written to out. */
static int report_route(const char *what, const char *id, int users, up_api_arg_fn arg, void *actx,
                        up_report_req_t *q, up_buf_t *out)
{
    if (strcmp(what, "accounts") == 0 && id[0] && users == 3) {   /* the customer's QBR, HTML */
        const char *au = arg(actx, "audience");
        if (au && strcmp(au, "customer") != 0 && strcmp(au, "internal") != 0) {
            json_error(out, "audience: expected customer or internal");
            return 400;
        }
        q->what = "account";
        q->id = id;
        q->o.format = UP_FMT_HTML;
        q->internal = au && strcmp(au, "internal") == 0;
    } else if (strcmp(what, "accounts") == 0 && id[0]) {
        q->what = users ? "users" : "account";
        q->id = id;
        if (users)
            q->o.account = id;
    } else if (!id[0] && (strcmp(what, "accounts") == 0 || strcmp(what, "features") == 0 ||
                          strcmp(what, "stages") == 0 || strcmp(what, "gaps") == 0 || strcmp(what, "signals") == 0)) {
        q->what = what;
        q->o.account = arg(actx, "account");
        q->o.segment = arg(actx, "segment");
        q->o.sort = arg(actx, "sort");
        q->o.compact = arg(actx, "compact") != NULL && strcmp(what, "accounts") == 0;
        q->feature = strcmp(what, "stages") == 0 ? arg(actx, "feature") : NULL;
        if (arg(actx, "feature") && strcmp(what, "stages") != 0) {
            json_error(out, "feature: applies to /api/v1/stages only");
            return 400;
        }
        if (arg(actx, "top") && strcmp(what, "gaps") != 0) {
            json_error(out, "top: applies to /api/v1/gaps only");
            return 400;
        }
        const char *top = arg(actx, "top");
        if (top) {
            char *end;
            long t = strtol(top, &end, 10);
            if (*end || t < 1 || t > 1000000) {
                json_error(out, "top: expected a whole number >= 1");
                return 400;
            }
            q->top = (int)t;
        }
        if (up_report_sort_valid(q->o.sort) < 0) {
            json_error(out, "sort: not a column of the report");
            return 400;
        }
    } else if (!id[0] && strcmp(what, "events") == 0) {
        q->what = what;   /* GET /api/v1/events, as `report events` */
        return 0;
    } else if (!id[0] && strcmp(what, "renewals") == 0) {
        /* GET /api/v1/renewals?as_of=T&days=N, as `report renewals` */
        const char *d = arg(actx, "days");
        char *end = NULL;
        long days = d ? strtol(d, &end, 10) : 90;
        if (d && (*end || days < 1 || days > 3650)) {
            json_error(out, "days: a whole number of days from 1 to 3650");
            return 400;
        }
        q->what = what;
        q->horizon = (int)days;
        return 0;
    } else if (!id[0] && strcmp(what, "retention") == 0) {
        /* GET /api/v1/retention?at=DATE&horizon=N&by=G, as `report retention` */
        const char *at = arg(actx, "at"), *h = arg(actx, "horizon"), *by = arg(actx, "by");
        int32_t day;
        char *end = NULL;
        long horizon = h ? strtol(h, &end, 10) : 0;
        if (!at || up_date_parse(at, strlen(at), &day) < 0) {
            json_error(out, "at: required, a date (YYYY-MM-DD)");
            return 400;
        }
        int grid = by && up_report_retention_is_grid(by);
        if (grid && h) {
            json_error(out, "horizon: by=start_month measures at months 3, 6, 12 …: no horizon");
            return 400;
        }
        if (!grid && (!h || *end || horizon < 1 || horizon > 36600)) {
            json_error(out, "horizon: required, a whole number of days >= 1");
            return 400;
        }
        if (!by || !up_report_retention_by_valid(by)) {
            json_error(out, "by: required, level, segment, health_band, owner, start_month or a metric");
            return 400;
        }
        q->what = what;
        q->T = up_engine_end_of_day(day);
        q->horizon = (int)horizon;
        q->by = by;
        return 0;
    } else {
        json_error(out, "no such API route; see docs/api.md");
        return 404;
    }
    const char *status = arg(actx, "status");
    if (status) {
        q->status = up_view_status_bits(status);
        if (!q->status || strcmp(q->what, "account") == 0) {
            json_error(out, "status: customer, churned, prospect or all (several joined by commas), for accounts,"
                            " features, users, stages, gaps and signals");
            return 400;
        }
    }
    return 0;
}

int up_api_handle(up_store_t *s, const char *path, up_api_arg_fn arg, void *actx, const up_api_opts_t *o,
                  up_buf_t *out, const char **ctype)
{
    *ctype = "application/json";
    char what[32], id[512];
    int users;
    if (strncmp(path, "/api/v1/", 8) != 0 || route(path, what, sizeof what, id, sizeof id, &users) < 0) {
        json_error(out, "no such API route; see docs/api.md");
        return 404;
    }
    up_report_req_t q;
    memset(&q, 0, sizeof q);
    q.o.format = UP_FMT_JSON;
    q.top = 20;
    const char *as_of = arg(actx, "as_of");
    if (as_of) {
        if (up_report_run_parse_as_of(as_of, &q.T) < 0) {
            json_error(out, "as_of: expected a date (YYYY-MM-DD) or an ISO-8601 timestamp");
            return 400;
        }
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        q.T = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    }
    job_t job;
    memset(&job, 0, sizeof job);
    job.s = s;
    job.q = &q;
    if ((strcmp(what, "alerts") == 0 || strcmp(what, "tasks") == 0) && !users) {
        if (strcmp(what, "tasks") == 0) {
            if (id[0]) {
                json_error(out, "no such API route; see docs/api.md");
                return 404;
            }
            job.kind = W_TASKS;
            job.all = arg(actx, "all") != NULL;
        } else if (id[0]) {
            char *end;
            long long n = strtoll(id, &end, 10);
            job.kind = W_ALERT;
            job.n = *end ? 0 : (long)n;
        } else {
            job.kind = W_ALERTS;
            job.state = arg(actx, "state");
        }
        return answer(out, &job);
    }
    if (strcmp(what, "settings") == 0 && !id[0]) {
        job.kind = W_SETTINGS;
        return answer(out, &job);
    }
    if (strcmp(what, "status") == 0 && !id[0]) {
        job.kind = W_STATUS;
        return answer(out, &job);
    }
    if (strcmp(what, "backtest") == 0 && !id[0]) {
        /* GET /api/v1/backtest?from=D1&to=D2&horizon=N&suggest_weights=1, as `uptake backtest` */
        const char *from = arg(actx, "from"), *to = arg(actx, "to"), *h = arg(actx, "horizon");
        char *end = NULL;
        long horizon = h ? strtol(h, &end, 10) : 90;
        job.bt = (up_backtest_req_t){0, up_day_of(q.T), 90, arg(actx, "suggest_weights") != NULL, UP_FMT_JSON};
        if (!from || up_date_parse(from, strlen(from), &job.bt.d1) < 0) {
            json_error(out, "from: required, a date (YYYY-MM-DD)");
            return 400;
        }
        if (to && up_date_parse(to, strlen(to), &job.bt.d2) < 0) {
            json_error(out, "to: a date (YYYY-MM-DD)");
            return 400;
        }
        if (h && (*end || horizon < 1 || horizon > 36600)) {
            json_error(out, "horizon: a whole number of days >= 1");
            return 400;
        }
        job.bt.horizon = (int)horizon;
        job.kind = W_BACKTEST;
        return answer(out, &job);
    }
    if (strcmp(what, "rejects") == 0 && !id[0]) {
        const char *l = arg(actx, "limit");
        char *end = NULL;
        long limit = l ? strtol(l, &end, 10) : -1;   /* all, as `uptake rejects --format json` */
        if (l && (*end || limit < 0)) {
            json_error(out, "limit: expected a whole number >= 0");
            return 400;
        }
        job.kind = W_REJECTS;
        job.n = limit < 0 ? -1 : limit;
        return answer(out, &job);
    }
    if (strcmp(what, "accounts") == 0 && id[0] && users == 2) {
        const char *d = arg(actx, "days");
        char *end = NULL;
        long days = d ? strtol(d, &end, 10) : 90;
        if (d && (*end || days < 1 || days > 730)) {
            json_error(out, "days: expected a whole number from 1 to 730");
            return 400;
        }
        job.kind = W_SERIES;
        job.id = id;
        job.n = days;
        return answer(out, &job);
    }
    int status = report_route(what, id, users, arg, actx, &q, out);
    if (status)
        return status;
    job.kind = W_REPORT;
    if (q.o.format == UP_FMT_HTML) {
        q.vendor = o ? o->vendor : NULL;
        q.logo = o ? o->logo : NULL;
        status = answer(out, &job);
        if (status == 200)
            *ctype = "text/html; charset=utf-8";
        return status;
    }
    return answer(out, &job);
}
