/* api: the JSON API's routes. Each route is a report of the CLI with the
 * same names and numbers (it calls up_report_run with format json), so the
 * API and the CLI cannot drift apart. Invariant: a route either writes a
 * complete JSON document or returns an error status with {"error": …}. */
#include "api.h"

#include "alerts.h"
#include "report_run.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static void json_error(up_buf_t *out, const char *msg)
{
    up_buf_puts(out, "{\"error\":");
    up_json_str(out, msg);
    up_buf_puts(out, "}\n");
}

/* Splits "/api/v1/accounts/acme/users" into what follows the prefix. */
static int route(const char *path, char *what, size_t wlen, char *id, size_t idlen, int *users)
{
    const char *p = path + strlen("/api/v1/");
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= wlen)
        return -1;
    memcpy(what, p, n);
    what[n] = '\0';
    id[0] = '\0';
    *users = 0;
    p += n;
    if (*p == '/' && p[1]) {
        p++;
        size_t m = strcspn(p, "/");
        if (m >= idlen || (strcmp(what, "accounts") != 0 && strcmp(what, "alerts") != 0))
            return -1;
        /* account ids arrive percent-decoded by the HTTP layer */
        memcpy(id, p, m);
        id[m] = '\0';
        p += m;
        if (strcmp(p, "/users") == 0 || strcmp(p, "/users/") == 0)
            *users = 1;
        else if (strcmp(p, "/series") == 0 || strcmp(p, "/series/") == 0)
            *users = 2;
        else if (*p && strcmp(p, "/") != 0)
            return -1;
    } else if (*p == '/' && p[1] == '\0')
        p++;
    return 0;
}

int up_api_handle(up_store_t *s, const char *path, up_api_arg_fn arg, void *actx, up_buf_t *out)
{
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
        if (up_report_parse_as_of(as_of, &q.T) < 0) {
            json_error(out, "as_of: expected a date (YYYY-MM-DD) or an ISO-8601 timestamp");
            return 400;
        }
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        q.T = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    }
    if ((strcmp(what, "alerts") == 0 || strcmp(what, "tasks") == 0) && !users) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) {
            json_error(out, "out of memory");
            return 500;
        }
        int rc;
        if (strcmp(what, "tasks") == 0)
            rc = id[0] ? -UP_EINVAL : up_tasks_list(up_store_db(s), f, arg(actx, "all") != NULL, UP_FMT_JSON);
        else if (id[0]) {
            char *end;
            long long n = strtoll(id, &end, 10);
            rc = *end || n <= 0 ? -UP_ENOTFOUND : up_alerts_show(up_store_db(s), f, n, UP_FMT_JSON);
        } else
            rc = up_alerts_list(up_store_db(s), f, arg(actx, "state"), UP_FMT_JSON);
        fclose(f);
        int status = rc == 0 ? 200 : rc == -UP_ENOTFOUND ? 404 : rc == -UP_EINVAL ? 404 : 500;
        if (rc == 0)
            up_buf_append(out, buf, len);
        else
            json_error(out, status == 404 ? "no such alert" : "cannot read the alert tables");
        free(buf);
        return status;
    }
    if (strcmp(what, "rejects") == 0 && !id[0]) {
        const char *l = arg(actx, "limit");
        char *end = NULL;
        long limit = l ? strtol(l, &end, 10) : -1;   /* all, as `uptake rejects --format json` */
        if (l && (*end || limit < 0)) {
            json_error(out, "limit: expected a whole number >= 0");
            return 400;
        }
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) {
            json_error(out, "out of memory");
            return 500;
        }
        int rc = up_report_rejects(up_store_db(s), f, UP_FMT_JSON, limit < 0 ? -1 : limit);
        fclose(f);
        if (rc == 0)
            up_buf_append(out, buf, len);
        else
            json_error(out, "cannot read the rejects table");
        free(buf);
        return rc == 0 ? 200 : 500;
    }
    if (strcmp(what, "accounts") == 0 && id[0] && users == 2) {
        const char *d = arg(actx, "days");
        char *end = NULL;
        long days = d ? strtol(d, &end, 10) : 90;
        if (d && (*end || days < 1 || days > 730)) {
            json_error(out, "days: expected a whole number from 1 to 730");
            return 400;
        }
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) {
            json_error(out, "out of memory");
            return 500;
        }
        char err[512];
        int rc = up_report_series(s, id, q.T, (int)days, f, err, sizeof err);
        fclose(f);
        if (rc == 0)
            up_buf_append(out, buf, len);
        else
            json_error(out, err);
        free(buf);
        return rc == 0 ? 200 : rc == -UP_ENOTFOUND ? 404 : 500;
    }
    if (strcmp(what, "accounts") == 0 && id[0]) {
        q.what = users ? "users" : "account";
        q.id = id;
        if (users)
            q.o.account = id;
    } else if (!id[0] && (strcmp(what, "accounts") == 0 || strcmp(what, "features") == 0 ||
                          strcmp(what, "stages") == 0 || strcmp(what, "gaps") == 0)) {
        q.what = what;
        q.o.account = arg(actx, "account");
        q.o.segment = arg(actx, "segment");
        q.o.sort = arg(actx, "sort");
        q.o.compact = arg(actx, "compact") != NULL && strcmp(what, "accounts") == 0;
        q.feature = strcmp(what, "stages") == 0 ? arg(actx, "feature") : NULL;
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
            q.top = (int)t;
        }
        if (up_report_sort_valid(q.o.sort) < 0) {
            json_error(out, "sort: not a column of the report");
            return 400;
        }
    } else {
        json_error(out, "no such API route; see docs/api.md");
        return 404;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        json_error(out, "out of memory");
        return 500;
    }
    char err[1024];
    int rc = up_report_run(s, &q, f, err, sizeof err);
    fclose(f);
    int status = 200;
    if (rc == 0)
        up_buf_append(out, buf, len);
    else {
        status = rc == -UP_ENOTFOUND ? 404 : 500;
        json_error(out, err);
    }
    free(buf);
    return status;
}
