/* server: libmicrohttpd with a thread per connection in front of one
 * committer thread that owns every write to the store (server_commit.c).
 * This file is the HTTP side: the callbacks, request deadlines, routing,
 * the API, nudge and dashboard handlers, and up_server_run, which brings
 * the pieces up and down (server_int.h lists the other files).
 *
 * API and nudge requests read through a second, read-only handle of their
 * own (readers take no lock: docs/store.md), brought up to date with the
 * log before each request, so they see every acknowledged event and a
 * report never holds up a commit. */
#include "server_int.h"
#include "report_qbr.h"

#include "alerts.h"
#include "api.h"
#include "assets.h"
#include "fmt.h"
#include "nudges.h"
#include "timeparse.h"
#include "view.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define MAX_RAW_BODY (20u << 20)   /* before decompression; the decoder limits after */
#define MAX_FORM_BODY (64u << 10)  /* every other route: /login's form, or nothing */
#define BUSY_BODIES "busy: the server holds as many request bodies as body_memory_mb allows; retry after the" \
                    " time in Retry-After"

void up_server_logf(srv_t *sv, int level, const char *fmt, ...)
{
    if (level > sv->cfg.log_level || !sv->log)
        return;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_list ap;
    va_start(ap, fmt);
    flockfile(sv->log);
    fprintf(sv->log, "%s %s ", ts, names[level]);
    vfprintf(sv->log, fmt, ap);
    fputc('\n', sv->log);
    fflush(sv->log);
    funlockfile(sv->log);
    va_end(ap);
}

/* ---- the reader ---------------------------------------------------------- */

/* Builds a reader of a ClickHouse store off the request path, then puts it
 * in place of the one the API answers from meanwhile. */
static void *build_ch_reader(void *arg)
{
    srv_t *sv = arg;
    double t0 = mono_s();
    pthread_mutex_lock(&sv->read_mu);
    int epoch = sv->reader_epoch;
    pthread_mutex_unlock(&sv->read_mu);
    up_store_t *fresh = NULL;
    char err[1024];
    int rc = up_store_open(&fresh, sv->cfg.data, UP_STORE_READ, err, sizeof err);
    pthread_mutex_lock(&sv->read_mu);
    if (rc == 0 && epoch != sv->reader_epoch) {   /* a model change meanwhile: build again */
        up_store_close(fresh);
        atomic_store(&sv->reader_behind, 1);
        t0 = 0;
    } else if (rc < 0) {
        up_server_logf(sv, 1, "cannot rebuild the API's figures from ClickHouse: %s; the previous ones stay,"
                       " and the next request after clickhouse_refresh tries again", err);
        atomic_store(&sv->reader_behind, 1);
    } else {
        up_store_close(sv->reader);
        sv->reader = fresh;
        up_server_logf(sv, 3, "the API's figures rebuilt from ClickHouse in %.2f s", mono_s() - t0);
    }
    sv->ch_built_at = t0;
    sv->ch_building = 0;
    pthread_mutex_unlock(&sv->read_mu);
    return NULL;
}

/* A ClickHouse store that took events since the reader was built: with
 * clickhouse_refresh 0 the reader is dropped (the caller opens another,
 * and the request waits for it); otherwise, once clickhouse_refresh has
 * passed since the last build, another is built on a thread of its own
 * while requests are answered from this one. Under read_mu. */
static void ch_catch_up(srv_t *sv)
{
    if (!sv->reader || !atomic_load(&sv->reader_behind) || sv->ch_building)
        return;
    if (sv->cfg.clickhouse_refresh_s == 0) {
        atomic_store(&sv->reader_behind, 0);
        up_store_close(sv->reader);
        sv->reader = NULL;
        return;
    }
    if (mono_s() - sv->ch_built_at < sv->cfg.clickhouse_refresh_s)
        return;
    if (sv->ch_builder_started) {   /* the last build has put its reader in place: it is ending */
        pthread_join(sv->ch_builder, NULL);
        sv->ch_builder_started = 0;
    }
    atomic_store(&sv->reader_behind, 0);
    sv->ch_building = 1;
    if (pthread_create(&sv->ch_builder, NULL, build_ch_reader, sv) == 0)
        sv->ch_builder_started = 1;
    else {   /* no thread: the request waits for a new reader */
        sv->ch_building = 0;
        up_store_close(sv->reader);
        sv->reader = NULL;
    }
}

int up_server_shard_down(srv_t *sv, char *why, size_t whylen)
{
    if (!sv->is_clickhouse)
        return 0;
    pthread_mutex_lock(&sv->sh_mu);   /* one look at a time; the others wait for it and use it */
    double now = mono_s();
    /* the writer's handle, under store_mu (a failed commit reopens it);
     * while the committer holds it, the last look stands */
    if ((sv->sh_at == 0 || now - sv->sh_at >= 5) && pthread_mutex_trylock(&sv->store_mu) == 0) {
        int n = sv->store ? up_store_clickhouse_shards(sv->store) : 0;
        sv->sh_down = 0;
        for (int i = 0; i < n && !sv->sh_down; i++) {
            char err[512];
            if (up_store_clickhouse_ping(sv->store, i, err, sizeof err) < 0) {
                sv->sh_down = i + 1;
                snprintf(sv->sh_why, sizeof sv->sh_why, "ClickHouse shard %d of %d is down: %.400s", i + 1, n, err);
            }
        }
        pthread_mutex_unlock(&sv->store_mu);
        sv->sh_at = mono_s();
    }
    int down = sv->sh_down;
    snprintf(why, whylen, "%s", down ? sv->sh_why : "");
    pthread_mutex_unlock(&sv->sh_mu);
    return down;
}

void up_server_reader_stop(srv_t *sv)
{
    pthread_mutex_lock(&sv->read_mu);
    int started = sv->ch_builder_started;
    sv->ch_builder_started = 0;
    pthread_mutex_unlock(&sv->read_mu);
    if (started)
        pthread_join(sv->ch_builder, NULL);
}

up_store_t *up_server_reader_get(srv_t *sv)
{
    pthread_mutex_lock(&sv->read_mu);
    ch_catch_up(sv);
    if (sv->reader && atomic_exchange(&sv->reader_stale, 0)) {
        up_store_close(sv->reader);
        sv->reader = NULL;
        sv->reader_epoch++;
    }
    if (sv->reader && up_store_refresh(sv->reader) < 0) {
        up_server_logf(sv, 1, "the API's reader could not catch up with the log; opening it again");
        up_store_close(sv->reader);
        sv->reader = NULL;
    }
    if (!sv->reader) {
        char err[1024];
        atomic_store(&sv->reader_behind, 0);
        sv->ch_built_at = mono_s();
        if (up_store_open(&sv->reader, sv->cfg.data, UP_STORE_READ, err, sizeof err) < 0) {
            up_server_logf(sv, 0, "cannot open a reader for the API: %s", err);
            sv->reader = NULL;
        }
    }
    return sv->reader;
}

/* ---- HTTP --------------------------------------------------------------- */

/* Request deadlines. libmicrohttpd closes a connection that sends nothing
 * for `timeout` seconds, but not one that sends a byte every few seconds
 * (slowloris) and never finishes its headers or its body. Every open
 * connection has a slot with a deadline: request_timeout after it opened
 * or after the previous answer on it; none while a request received in
 * full is being answered. deadline_loop shuts down the socket of a
 * connection past its deadline, and libmicrohttpd then closes it. The slot
 * is freed in the CLOSED notification, which libmicrohttpd makes before it
 * closes the socket, so a slot's fd is always still that connection's. */
static void notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    srv_t *sv = cls;
    pthread_mutex_lock(&sv->dl_mu);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = up_mhd()->get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = NULL;
        for (int i = 0; ci && i < CONN_LIMIT; i++)
            if (!sv->slots[i].used) {
                sv->slots[i] = (struct conn_slot){1, ci->connect_fd, mono_s() + sv->cfg.request_timeout_s};
                *socket_context = &sv->slots[i];
                break;
            }
    } else if (*socket_context) {
        ((struct conn_slot *)*socket_context)->used = 0;
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&sv->dl_mu);
}

static void slot_set(srv_t *sv, struct MHD_Connection *c, double deadline)
{
    const union MHD_ConnectionInfo *ci = up_mhd()->get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (!ci || !ci->socket_context)
        return;
    pthread_mutex_lock(&sv->dl_mu);
    struct conn_slot *sl = ci->socket_context;
    if (sl->used)
        sl->deadline = deadline;
    pthread_mutex_unlock(&sv->dl_mu);
}

static void *deadline_loop(void *arg)
{
    srv_t *sv = arg;
    pthread_mutex_lock(&sv->dl_mu);
    while (!sv->dl_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sv->dl_wake, &sv->dl_mu, &ts);
        double now = mono_s();
        int closed = 0;
        for (int i = 0; i < CONN_LIMIT; i++)
            if (sv->slots[i].used && sv->slots[i].deadline < now) {
                shutdown(sv->slots[i].fd, SHUT_RDWR);
                sv->slots[i].deadline = INFINITY;
                closed++;
            }
        if (closed) {
            sv->slow_closed += (uint64_t)closed;
            pthread_mutex_unlock(&sv->dl_mu);
            up_server_logf(sv, 1, "closed %d connection%s whose request did not arrive in full within %d s"
                  " (request_timeout)", closed, closed == 1 ? "" : "s", sv->cfg.request_timeout_s);
            pthread_mutex_lock(&sv->dl_mu);
        }
    }
    pthread_mutex_unlock(&sv->dl_mu);
    return NULL;
}

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    conn_t *cn = calloc(1, sizeof *cn);
    if (cn) {
        cn->uri = strdup(uri);
        cn->start = mono_s();
    }
    return cn;
}

enum MHD_Result up_server_respond(struct MHD_Connection *c, conn_t *cn, int status, const char *ctype,
                               const char *body, size_t len, const char *extra_name, const char *extra_val)
{
    struct MHD_Response *r = up_mhd()->create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    up_mhd()->add_response_header(r, "Content-Type", ctype);
    up_mhd()->add_response_header(r, "Cache-Control", "no-store");
    up_mhd()->add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (extra_name)
        up_mhd()->add_response_header(r, extra_name, extra_val);
    enum MHD_Result ret = up_mhd()->queue_response(c, (unsigned)status, r);
    up_mhd()->destroy_response(r);
    cn->status = status;
    return ret;
}

enum MHD_Result up_server_respond_error(struct MHD_Connection *c, conn_t *cn, int status, const char *msg)
{
    up_buf_t b = {0};
    up_buf_puts(&b, "{\"error\":");
    up_fmt_json_str(&b, msg);
    up_buf_puts(&b, "}\n");
    enum MHD_Result r = up_server_respond(c, cn, status, "application/json", b.data ? b.data : "", b.len, NULL, NULL);
    up_buf_free(&b);
    return r;
}

static const char *api_arg(void *ctx, const char *key)
{
    return up_mhd()->lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result handle_api(srv_t *sv, struct MHD_Connection *c, conn_t *cn, const char *url,
                                  const char *method)
{
    size_t len = 0;
    const char *tok = up_server_session_bearer(c, &len);
    if (tok) {
        if (!up_server_session_key_ok(sv, UP_KEY_READ, tok, len)) {
            int write_key = up_server_session_key_ok(sv, UP_KEY_WRITE, tok, len);
            return up_server_respond_error(c, cn, write_key ? 403 : 401,
                                      write_key ? "this is a write key: it can only send events; the API needs a"
                                                  " read token"
                                                : "unknown or revoked token");
        }
    } else if ((tok = up_server_session_cookie(c, &len))) {
        if (!up_server_session_ok(sv, tok, len))
            return up_server_respond_error(c, cn, 401, "the session has ended (signed out, expired, or its read token"
                                                  " was revoked): sign in again");
        if (strcmp(method, "GET") != 0 && !up_server_session_same_origin(c))
            return up_server_respond_error(c, cn, 403, UP_SERVER_CROSS_ORIGIN);
    } else
        return up_server_respond_error(c, cn, 401, "send a read token as 'Authorization: Bearer upr_…'"
                                              " (create one with `uptake keys create --read`), or sign in");
    long long alert_id;
    char action[16];
    int consumed = 0;
    if (strcmp(method, "POST") == 0 &&
        sscanf(url, "/api/v1/alerts/%lld/%15[a-z]%n", &alert_id, action, &consumed) == 2 && !url[consumed]) {
        /* working alerts is the one change a read token may make (a CSM in
         * the dashboard); it touches no event, account or key */
        if (strcmp(action, "ack") && strcmp(action, "resolve") && strcmp(action, "snooze"))
            return up_server_respond_error(c, cn, 404, "alert actions: ack, resolve, snooze (?until=DATE)");
        const char *until = up_mhd()->lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "until");
        int32_t until_day;
        if (!strcmp(action, "snooze") && (!until || up_date_parse(until, strlen(until), &until_day) < 0))
            return up_server_respond_error(c, cn, 400, "snooze needs ?until=YYYY-MM-DD");
        char today[16];
        up_date_fmt(today, up_day_of(now_ms()));
        int rc = sv->alerts_db ? up_alerts_set_state(sv->alerts_db, alert_id, action, until, today) : -UP_EDB;
        if (rc == -UP_ENOTFOUND)
            return up_server_respond_error(c, cn, 404, "no such alert");
        if (rc == -UP_EINVAL)
            return up_server_respond_error(c, cn, 409, "the alert is resolved already");
        if (rc < 0)
            return up_server_respond_error(c, cn, 500, "cannot write the alert tables");
        char body[96];
        int n = snprintf(body, sizeof body, "{\"id\":%lld,\"action\":\"%s\"}\n", alert_id, action);
        return up_server_respond(c, cn, 200, "application/json", body, (size_t)n, NULL, NULL);
    }
    if (strcmp(method, "GET") != 0)
        return up_server_respond_error(c, cn, 405, "the API is read-only apart from working alerts: use GET");
    up_buf_t out = {0};
    up_store_t *rd = up_server_reader_get(sv);
    /* the path as sent: ids may hold an escaped '/', decoded segment by segment */
    char *raw = strndup(cn->uri ? cn->uri : url, strcspn(cn->uri ? cn->uri : url, "?"));
    const char *ctype = "application/json";
    up_api_opts_t ao = {sv->cfg.vendor_name[0] ? sv->cfg.vendor_name : NULL, sv->vendor_logo};
    int status = rd && raw ? up_api_handle(rd, raw, api_arg, c, &ao, &out, &ctype) : 503;
    free(raw);
    pthread_mutex_unlock(&sv->read_mu);
    enum MHD_Result r;
    if (status == 503)
        r = up_server_respond_error(c, cn, 503, "the store is unavailable; see the server log");
    else
        r = up_server_respond(c, cn, status, ctype, out.data ? out.data : "", out.len,
                              /* the QBR page: its own styles and a data: logo, nothing else */
                              strncmp(ctype, "text/html", 9) == 0 ? "Content-Security-Policy" : NULL,
                              "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    up_buf_free(&out);
    return r;
}

/* ---- nudges ------------------------------------------------------------ */

/* GET /v1/nudges?user_id=U[&account_id=A] with a write key (Basic, Bearer
 * or ?key=): what the product's front end may show this user now. */
static enum MHD_Result handle_nudges(srv_t *sv, struct MHD_Connection *c, conn_t *cn)
{
    const char *key = up_mhd()->lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "key");
    char basic_user[128] = "";
    size_t klen = 0;
    const char *auth = up_mhd()->lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!key && auth && strncasecmp(auth, "Basic ", 6) == 0) {
        char *pass = NULL;
        char *u = up_mhd()->basic_auth_get_username_password(c, &pass);
        if (u)
            snprintf(basic_user, sizeof basic_user, "%s", u);
        up_mhd()->free(u);
        up_mhd()->free(pass);
        key = basic_user[0] ? basic_user : NULL;
    }
    if (!key)
        key = up_server_session_bearer(c, &klen);
    int scope = key ? up_server_session_key_ok(sv, UP_KEY_WRITE, key, strlen(key)) : 0;
    if (!scope)
        return up_server_respond_error(c, cn, 401, "nudges need a write key (Basic, Bearer or ?key=)");
    if (scope == 2)
        return up_server_respond_error(c, cn, 403, "this write key is events-only: nudges need a server-side write"
                                                   " key (`uptake keys create --write --server-side`)");
    const char *user = up_mhd()->lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "user_id");
    const char *account = up_mhd()->lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "account_id");
    if (!user || !*user)
        return up_server_respond_error(c, cn, 400, "user_id: required");
    up_buf_t out = {0};
    int rc = -UP_EIO;
    up_store_t *rd = up_server_reader_get(sv);
    up_view_t v;
    char err[256];
    if (rd && (rc = up_view_open(rd, now_ms(), UP_VIEW_ROLLUP | UP_VIEW_ENTITIES, &v, err, sizeof err)) == 0) {
        rc = up_nudges_json(v.rollup, v.model, &v.entities, v.T, user, account && *account ? account : NULL, &out);
        up_view_close(&v);
    }
    pthread_mutex_unlock(&sv->read_mu);
    enum MHD_Result res = rc == 0 ? up_server_respond(c, cn, 200, "application/json", out.data, out.len,
                                            "Access-Control-Allow-Origin", "*")
                                  : up_server_respond_error(c, cn, 503, "the store is unavailable");
    up_buf_free(&out);
    return res;
}

/* ---- the dashboard ------------------------------------------------------ */

static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
                          " connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

static enum MHD_Result respond_asset(struct MHD_Connection *c, conn_t *cn, int status, const char *mime,
                                     const void *data, size_t len, int from_disk)
{
    struct MHD_Response *r = up_mhd()->create_response_from_buffer(len, (void *)data,
                                                             from_disk ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    up_mhd()->add_response_header(r, "Content-Type", mime);
    up_mhd()->add_response_header(r, "Content-Security-Policy", CSP);
    up_mhd()->add_response_header(r, "X-Content-Type-Options", "nosniff");
    up_mhd()->add_response_header(r, "X-Frame-Options", "DENY");
    up_mhd()->add_response_header(r, "Referrer-Policy", "no-referrer");
    up_mhd()->add_response_header(r, "Cache-Control", from_disk ? "no-store" : "no-cache");
    enum MHD_Result ret = up_mhd()->queue_response(c, (unsigned)status, r);
    up_mhd()->destroy_response(r);
    cn->status = status;
    return ret;
}

static const up_asset_t *embedded(const char *name)
{
    for (const up_asset_t *a = up_assets; a->name; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

/* GET / and /assets/NAME: from --assets-dir when set (development), else
 * from the binary. Names are plain file names: no directories, no "..". */
static enum MHD_Result handle_asset(srv_t *sv, struct MHD_Connection *c, conn_t *cn, const char *name)
{
    if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(name) ||
        name[0] == '.')
        return up_server_respond(c, cn, 404, "text/plain", "not found\n", 10, NULL, NULL);
    const up_asset_t *a = embedded(name);
    if (sv->cfg.assets_dir[0]) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", sv->cfg.assets_dir, name);
        FILE *f = fopen(path, "rb");
        if (f) {
            up_buf_t b = {0};
            char chunk[65536];
            size_t n;
            while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
                up_buf_append(&b, chunk, n);
            fclose(f);
            const char *dot = strrchr(name, '.');
            const char *mime = !dot ? "application/octet-stream" : !strcmp(dot, ".html") ? "text/html; charset=utf-8"
                             : !strcmp(dot, ".js") ? "text/javascript; charset=utf-8"
                             : !strcmp(dot, ".css") ? "text/css; charset=utf-8"
                             : !strcmp(dot, ".svg") ? "image/svg+xml" : "application/octet-stream";
            enum MHD_Result r = respond_asset(c, cn, 200, mime, b.data ? b.data : "", b.len, 1);
            up_buf_free(&b);
            return r;
        }
    }
    if (!a)
        return up_server_respond(c, cn, 404, "text/plain", "not found\n", 10, NULL, NULL);
    return respond_asset(c, cn, 200, a->mime, a->data, a->len, 0);
}

/* The ingest request of c, without its body. */
static up_wire_req_t ingest_req(srv_t *sv, struct MHD_Connection *c, conn_t *cn, const char *url, const char *method)
{
    const char *q = strchr(cn->uri ? cn->uri : "", '?');
    pthread_mutex_lock(&sv->m_mu);   /* a model set through the admin socket may change it */
    memcpy(cn->group_type, sv->group_type, sizeof cn->group_type);
    pthread_mutex_unlock(&sv->m_mu);
    return (up_wire_req_t){
        .method = method,
        .path = url,
        .query = q ? q + 1 : NULL,
        .content_encoding = up_mhd()->lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding"),
        .authorization = up_mhd()->lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
        .received_ms = now_ms(),
        .group_type = cn->group_type,
    };
}

/* Answers b's status in the form its client family expects. */
static enum MHD_Result respond_wire(struct MHD_Connection *c, conn_t *cn, up_wire_batch_t *b, int status)
{
    const char *ctype;
    const char *body = up_wire_response(b, status, &ctype);
    if (status == 429)
        return up_server_respond(c, cn, 429, ctype, body, strlen(body), "Retry-After", "1");
    return up_server_respond(c, cn, status, ctype, body, strlen(body),
                             status == 200 ? "Access-Control-Allow-Origin" : NULL, "*");
}

/* The scope (keyring lookup) of the first live write key among b's keys;
 * 0 with *read_token set when there is none but a live read token. */
static int batch_key_scope(srv_t *sv, const up_wire_batch_t *b, int *read_token)
{
    *read_token = 0;
    for (int i = 0; i < b->n_keys; i++) {
        int scope = up_server_session_key_ok(sv, UP_KEY_WRITE, b->keys[i], strlen(b->keys[i]));
        if (scope)
            return scope;
    }
    for (int i = 0; i < b->n_keys && !*read_token; i++)
        *read_token = up_server_session_key_ok(sv, UP_KEY_READ, b->keys[i], strlen(b->keys[i])) != 0;
    return 0;
}

/* The first call of an ingest request, headers only: a live write key in
 * the Authorization header or the query authorises it now; an
 * Authorization header without one is answered 401 (403 for a read token)
 * before the body is received. Otherwise the key may be in the body
 * (PostHog, Mixpanel, analytics.js; Mixpanel's legacy api_key query
 * parameter travels beside the token in the body): the body is received,
 * within the limits, and its key checked before it is parsed
 * (up_wire_decode_keyed). */
static enum MHD_Result admit_ingest(srv_t *sv, struct MHD_Connection *c, conn_t *cn, const char *url,
                                    const char *method)
{
    up_wire_req_t req = ingest_req(sv, c, cn, url, method);
    up_wire_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return MHD_NO;
    up_wire_header_keys(&req, b);
    enum MHD_Result r = MHD_YES;
    int read_token = 0;
    if (b->status == 404)
        r = up_server_respond_error(c, cn, 404, "no such path; see docs/ingest-http.md");
    else if (b->n_keys && strcmp(method, "OPTIONS") != 0 && !(cn->key_scope = batch_key_scope(sv, b, &read_token)) &&
             req.authorization)
        r = respond_wire(c, cn, b, read_token ? 403 : 401);
    up_wire_batch_free(b);
    free(b);
    return r;
}

/* The key_check of up_wire_decode_keyed. */
static int body_key(void *ctx, const char *key, size_t len)
{
    srv_t *sv = ctx;
    return up_server_session_key_ok(sv, UP_KEY_WRITE, key, len) ? 1
         : up_server_session_key_ok(sv, UP_KEY_READ, key, len) ? 2 : 0;
}

/* An events-only key's group calls link the user to the account; their
 * account traits (name, seats, ARR, …) are ignored. */
static void drop_group_traits(up_wire_batch_t *b)
{
    for (size_t i = 0; i < b->n_msgs; i++)
        if (b->msgs[i].kind == UP_WIRE_GROUP)
            b->msgs[i].traits = NULL;
}

/* Counts n more bytes of this request's body in sv->body_bytes: 0, or -1
 * (nothing counted) when that would pass body_memory_mb. */
static int body_reserve(srv_t *sv, conn_t *cn, size_t n)
{
    size_t cap = (size_t)sv->cfg.body_memory_mb << 20;
    size_t held = atomic_load(&sv->body_bytes);
    do {
        if (held + n > cap)
            return -1;
    } while (!atomic_compare_exchange_weak(&sv->body_bytes, &held, held + n));
    cn->reserved += n;
    return 0;
}

static void body_release(srv_t *sv, conn_t *cn)
{
    atomic_fetch_sub(&sv->body_bytes, cn->reserved);
    cn->reserved = 0;
    up_buf_free(&cn->body);
}

static enum MHD_Result handle_ingest(srv_t *sv, struct MHD_Connection *c, conn_t *cn, const char *url,
                                     const char *method)
{
    up_wire_req_t req = ingest_req(sv, c, cn, url, method);
    req.body = (const uint8_t *)cn->body.data;
    req.body_len = cn->body.len;
    up_wire_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return MHD_NO;
    enum MHD_Result r;
    if (body_reserve(sv, cn, up_wire_inflate_bound(&req)) < 0) {
        up_wire_header_keys(&req, b);
        snprintf(b->error, sizeof b->error, "%s", BUSY_BODIES);
        r = respond_wire(c, cn, b, 429);
        goto out;
    }
    if (cn->key_scope)
        up_wire_decode(&req, b);
    else
        up_wire_decode_keyed(&req, body_key, sv, b);
    if (b->status == 404) {
        r = up_server_respond_error(c, cn, 404, "no such path; see docs/ingest-http.md");
        goto out;
    }
    if (b->status != 200 || strcmp(method, "OPTIONS") == 0) {
        r = b->status != 200 ? respond_wire(c, cn, b, b->status)
                             : up_server_respond(c, cn, 200, "text/plain", "", 0, "Access-Control-Allow-Origin", "*");
        goto out;
    }
    int read_token = 0, scope = cn->key_scope ? cn->key_scope : batch_key_scope(sv, b, &read_token);
    if (!scope) {
        r = respond_wire(c, cn, b, read_token ? 403 : 401);
        goto out;
    }
    if (scope == 2)
        drop_group_traits(b);
    cn->events = b->n_msgs;
    int status = 200;
    if (b->n_msgs) {
        job_t job;
        memset(&job, 0, sizeof job);
        job.batch = b;
        snprintf(job.where, sizeof job.where, "%s %s", method, url);
        status = up_server_commit_wait(sv, &job);
    }
    r = respond_wire(c, cn, b, status);
out:
    up_wire_batch_free(b);
    free(b);
    return r;
}

/* What a request is for, from its path and method. */
enum { R_INGEST, R_HEALTHZ, R_METRICS, R_API, R_NUDGES, R_LOGIN, R_INDEX, R_ASSET };

static int route_of(const char *url, const char *method)
{
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/healthz") == 0)
        return R_HEALTHZ;
    if (strcmp(url, "/metrics") == 0)
        return R_METRICS;
    if (strncmp(url, "/api/", 5) == 0)
        return R_API;
    if ((strcmp(url, "/v1/nudges") == 0 || strcmp(url, "/v1/nudges/") == 0) && get)
        return R_NUDGES;
    if ((strcmp(url, "/login") == 0 || strcmp(url, "/logout") == 0) && post)
        return R_LOGIN;
    if (strcmp(url, "/") == 0 && get)
        return R_INDEX;
    if (strncmp(url, "/assets/", 8) == 0 && get)
        return R_ASSET;
    return R_INGEST;
}

static enum MHD_Result dispatch(srv_t *sv, struct MHD_Connection *c, conn_t *cn, const char *url, const char *method)
{
    switch (cn->route) {
    case R_HEALTHZ: {
        char why[512];
        int down = up_server_shard_down(sv, why, sizeof why);   /* a ClickHouse store's shards */
        if (up_mhd()->lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "detail")) {
            up_buf_t b = {0};
            up_server_health_detail(sv, &b, down ? why : NULL);
            enum MHD_Result r = up_server_respond(c, cn, sv->store_broken || down ? 503 : 200, "application/json",
                                                  b.data ? b.data : "", b.len, NULL, NULL);
            up_buf_free(&b);
            return r;
        }
        if (down) {
            char msg[600];
            int n = snprintf(msg, sizeof msg, "store unavailable: %s\n", why);
            return up_server_respond(c, cn, 503, "text/plain", msg, (size_t)(n < (int)sizeof msg ? n : (int)sizeof msg - 1),
                                     NULL, NULL);
        }
        return sv->store_broken ? up_server_respond(c, cn, 503, "text/plain", "store unavailable\n", 18, NULL, NULL)
                                : up_server_respond(c, cn, 200, "text/plain", "ok\n", 3, NULL, NULL);
    }
    case R_METRICS: {
        up_buf_t b = {0};
        up_server_metrics_text(sv, &b);
        enum MHD_Result r = up_server_respond(c, cn, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len,
                                              NULL, NULL);
        up_buf_free(&b);
        return r;
    }
    case R_API: return handle_api(sv, c, cn, url, method);
    case R_NUDGES: return handle_nudges(sv, c, cn);
    case R_LOGIN: return up_server_session_login(sv, c, cn, strcmp(url, "/logout") == 0);
    case R_INDEX: return handle_asset(sv, c, cn, "index.html");
    case R_ASSET: return handle_asset(sv, c, cn, url + 8);
    default: return handle_ingest(sv, c, cn, url, method);
    }
}

/* A chunk of the body: kept while it fits the route's limit and the
 * server's body_memory_mb; past either, dropped (answered 413 or 429 when
 * the request is complete). */
static void take_upload(srv_t *sv, conn_t *cn, const char *upload, size_t n)
{
    if (cn->too_big || cn->over_budget)
        return;
    if (cn->body.len + n > cn->body_limit)
        cn->too_big = 1;
    else if (body_reserve(sv, cn, n) < 0)
        cn->over_budget = 1;
    else if (up_buf_append(&cn->body, upload, n) < 0)
        cn->over_budget = 1;
    if (cn->too_big || cn->over_budget)
        body_release(sv, cn);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    srv_t *sv = cls;
    conn_t *cn = *con_cls;
    if (!cn)
        return MHD_NO;
    if (!cn->started) {
        cn->started = 1;
        cn->route = route_of(url, method);
        cn->body_limit = cn->route == R_INGEST ? MAX_RAW_BODY : MAX_FORM_BODY;
        return cn->route == R_INGEST ? admit_ingest(sv, c, cn, url, method) : MHD_YES;
    }
    if (*upload_size) {
        if (!cn->status)   /* not answered already (admit_ingest) */
            take_upload(sv, cn, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (cn->status)
        return MHD_YES;
    slot_set(sv, c, INFINITY);    /* received in full: no deadline while it is answered */
    atomic_fetch_add(&sv->in_flight, 1);
    enum MHD_Result r;
    if (cn->too_big)
        r = up_server_respond_error(c, cn, 413, cn->route == R_INGEST ? "request body larger than 20 MB"
                                                                      : "request body larger than 64 KB");
    else if (cn->over_budget)
        r = up_server_respond(c, cn, 429, "application/json", "{\"error\":\"" BUSY_BODIES "\"}\n",
                              strlen("{\"error\":\"" BUSY_BODIES "\"}\n"), "Retry-After", "1");
    else
        r = dispatch(sv, c, cn, url, method);
    atomic_fetch_sub(&sv->in_flight, 1);
    return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    srv_t *sv = cls;
    slot_set(sv, c, mono_s() + sv->cfg.request_timeout_s);   /* the next request on it */
    conn_t *cn = *con_cls;
    if (!cn)
        return;
    double secs = mono_s() - cn->start;
    up_server_metrics_request(sv, cn->status, secs);
    /* the path only: a query may carry a key */
    char path[256];
    snprintf(path, sizeof path, "%.*s", (int)strcspn(cn->uri ? cn->uri : "", "?"), cn->uri ? cn->uri : "");
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        up_server_logf(sv, 1, "%s aborted (%s) after %.1f ms", path,
              toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout" : "connection closed", secs * 1000);
    else
        up_server_logf(sv, cn->status >= 500 ? 0 : 2, "%d %s %zu events %.1f ms", cn->status, path, cn->events, secs * 1000);
    body_release(sv, cn);
    free(cn->uri);
    free(cn);
    *con_cls = NULL;
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        return -1;
    char host[64];
    size_t hl = (size_t)(colon - s);
    if (hl == 0 || hl >= sizeof host)
        return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* ---- up_server_run, step by step --------------------------------------- */

/* The threads beside libmicrohttpd's. */
typedef struct {
    pthread_t committer, alerts, checkpoints, deadlines, admin;
} threads_t;

/* Opens the store for writing, the ingest session, and the connections to
 * uptake.db for the keys and for the alert tables (alerts are off when the
 * latter fails). Returns 0 or a negative UP_E* code with err set (then
 * nothing is left open). */
static int open_state(srv_t *sv, const up_server_cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->vendor_logo[0]) {
        char why[1024];
        int lrc = up_report_qbr_logo(cfg->vendor_logo, &sv->vendor_logo, why, sizeof why);
        if (lrc < 0) {
            snprintf(err, errlen, "vendor_logo: %s", why);
            return lrc;
        }
    }
    int rc = up_store_open(&sv->store, cfg->data, UP_STORE_WRITE, err, errlen);
    if (rc < 0) {
        free(sv->vendor_logo);
        return rc;
    }
    sv->is_clickhouse = up_store_is_clickhouse(sv->store);
    if (up_store_notice(sv->store))
        up_server_logf(sv, 1, "%s", up_store_notice(sv->store));
    const char *gt = up_store_model(sv->store)->ingest.group_type;
    snprintf(sv->group_type, sizeof sv->group_type, "%s", gt ? gt : "company");
    char *dbpath = up_store_db_path(cfg->data);
    if (!dbpath || sqlite3_open_v2(dbpath, &sv->key_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        up_keys_init(sv->key_db) < 0 || (rc = up_ingest_open(sv->store, &sv->ingest)) < 0) {
        snprintf(err, errlen, "%s: cannot open the keys table", cfg->data);
        free(dbpath);
        sqlite3_close(sv->key_db);
        up_store_close(sv->store);
        return -UP_EDB;
    }
    sqlite3_busy_timeout(sv->key_db, 5000);
    if (sqlite3_open_v2(dbpath, &sv->alerts_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        up_alerts_init(sv->alerts_db) < 0) {
        up_server_logf(sv, 1, "alerts: cannot open uptake.db for the alert tables; alerts are off");
        sqlite3_close(sv->alerts_db);
        sv->alerts_db = NULL;
    }
    free(dbpath);
    if (sv->alerts_db) {
        sqlite3_busy_timeout(sv->alerts_db, 5000);
        sqlite3_exec(sv->alerts_db, "PRAGMA mmap_size = 1073741824", NULL, NULL, NULL);   /* as the store's */
    }
    return 0;
}

static void init_sync(srv_t *sv)
{
    pthread_mutex_init(&sv->a_mu, NULL);
    pthread_cond_init(&sv->a_wake, NULL);
    sv->keys_checked_ms = INT64_MIN / 2;
    pthread_mutex_init(&sv->store_mu, NULL);
    pthread_mutex_init(&sv->read_mu, NULL);
    pthread_mutex_init(&sv->sh_mu, NULL);
    pthread_mutex_init(&sv->q_mu, NULL);
    pthread_mutex_init(&sv->key_mu, NULL);
    pthread_mutex_init(&sv->m_mu, NULL);
    pthread_cond_init(&sv->q_wake, NULL);
    pthread_cond_init(&sv->q_done, NULL);
    pthread_mutex_init(&sv->ck_mu, NULL);
    pthread_cond_init(&sv->ck_wake, NULL);
    pthread_mutex_init(&sv->dl_mu, NULL);
    pthread_cond_init(&sv->dl_wake, NULL);
}

/* Blocks SIGTERM and SIGINT in this thread, and so in every thread started
 * after: they reach this thread only, through sigwait on *sigs. */
static void block_signals(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void start_threads(srv_t *sv, threads_t *t)
{
    pthread_create(&t->committer, NULL, up_server_commit_thread, sv);
    pthread_create(&t->alerts, NULL, up_server_sched_alerts, sv);
    pthread_create(&t->checkpoints, NULL, up_server_sched_checkpoints, sv);
    pthread_create(&t->deadlines, NULL, deadline_loop, sv);
    char err[512];
    if (up_server_admin_open(sv, err, sizeof err) < 0)
        up_server_logf(sv, 1, "admin socket: %s; `uptake import` and `model set` cannot reach this server", err);
    else
        pthread_create(&t->admin, NULL, up_server_admin_thread, sv);
}

/* Listens, serves until SIGTERM or SIGINT, then stops accepting and lets
 * the requests in flight finish (bounded). Returns 0, or -UP_EIO with err
 * set when it cannot listen. */
static int serve_until_signal(srv_t *sv, struct sockaddr_in *sa, sigset_t *sigs, char *err, size_t errlen)
{
    const up_server_cfg_t *cfg = &sv->cfg;
    if (up_mhd_missing()) {
        snprintf(err, errlen, "the server needs libmicrohttpd (Debian package libmicrohttpd12): %s", up_mhd_missing());
        return -UP_EIO;
    }
    struct MHD_Daemon *d = up_mhd()->start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
        0, NULL, NULL, handler, sv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
        MHD_OPTION_URI_LOG_CALLBACK, uri_cb, sv,
        MHD_OPTION_NOTIFY_COMPLETED, completed, sv,
        MHD_OPTION_NOTIFY_CONNECTION, notify_conn, sv,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->connections_per_ip,
        MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, strerror(errno));
        return -UP_EIO;
    }
    const union MHD_DaemonInfo *info = up_mhd()->get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[64];
    inet_ntop(AF_INET, &sa->sin_addr, host, sizeof host);
    up_server_logf(sv, 0 > sv->cfg.log_level ? 0 : sv->cfg.log_level >= 1 ? 1 : 0,
                   "listening on http://%s:%u (store %s)", host, info ? info->port : 0, cfg->data);
    int sig = 0;
    sigwait(sigs, &sig);
    up_server_logf(sv, 1, "%s: draining requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    /* stop accepting; let the requests in flight finish (bounded) */
    up_mhd()->quiesce_daemon(d);
    for (int i = 0; i < 300 && atomic_load(&sv->in_flight) > 0; i++) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    up_mhd()->stop_daemon(d);
    return 0;
}

/* Sets *flag under mu, wakes the thread waiting on cond and joins it. */
static void stop_thread(pthread_t t, pthread_mutex_t *mu, pthread_cond_t *cond, int *flag)
{
    pthread_mutex_lock(mu);
    *flag = 1;
    pthread_cond_signal(cond);
    pthread_mutex_unlock(mu);
    pthread_join(t, NULL);
}

/* In this order: deadlines, checkpoints, alerts, and last the committer,
 * which first commits whatever is still queued. */
static void stop_threads(srv_t *sv, threads_t *t)
{
    if (sv->admin_fd >= 0) {   /* an import in progress finishes first */
        pthread_mutex_lock(&sv->a_mu);
        sv->admin_stop = 1;
        pthread_mutex_unlock(&sv->a_mu);
        pthread_join(t->admin, NULL);
        up_server_admin_close(sv);
    }
    stop_thread(t->deadlines, &sv->dl_mu, &sv->dl_wake, &sv->dl_stop);
    stop_thread(t->checkpoints, &sv->ck_mu, &sv->ck_wake, &sv->ck_stop);
    stop_thread(t->alerts, &sv->a_mu, &sv->a_wake, &sv->alerts_stop);
    stop_thread(t->committer, &sv->q_mu, &sv->q_wake, &sv->stopping);
}

/* Closes the reader, the ingest session and the store (which writes the
 * snapshot), and the database connections. Returns rc, or the close's
 * error when rc was 0. */
static int close_state(srv_t *sv, int rc, char *err, size_t errlen)
{
    up_server_reader_stop(sv);
    up_store_close(sv->reader);
    up_ingest_close(sv->ingest);
    int crc = sv->store ? up_store_close(sv->store) : 0;   /* writes the snapshot */
    if (crc < 0 && rc == 0) {
        snprintf(err, errlen, "%s: cannot write the snapshot on close: %s", sv->cfg.data, up_strerror(crc));
        rc = crc;
    }
    sqlite3_close(sv->key_db);
    sqlite3_close(sv->alerts_db);
    up_keyring_free(&sv->keys);
    free(sv->vendor_logo);
    return rc;
}

int up_server_run(const up_server_cfg_t *cfg, FILE *log, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (parse_listen(cfg->listen, &sa) < 0) {
        snprintf(err, errlen, "--listen: expected HOST:PORT with an IPv4 host, e.g. 127.0.0.1:8080, got '%s'",
                 cfg->listen);
        return -UP_EUSAGE;
    }
    signal(SIGXFSZ, SIG_IGN);   /* a file-size limit is a write error (503), not death */
    srv_t *sv = calloc(1, sizeof *sv);
    if (!sv)
        return -UP_ENOMEM;
    sv->cfg = *cfg;
    sv->log = log;
    int rc = open_state(sv, cfg, err, errlen);
    if (rc < 0) {
        free(sv);
        return rc;
    }
    init_sync(sv);
    sigset_t sigs;
    block_signals(&sigs);
    threads_t t;
    start_threads(sv, &t);
    rc = serve_until_signal(sv, &sa, &sigs, err, errlen);
    stop_threads(sv, &t);
    rc = close_state(sv, rc, err, errlen);
    if (rc == 0)
        up_server_logf(sv, 1, "stopped; store closed cleanly");
    free(sv);
    return rc;
}
