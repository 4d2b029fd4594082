/* server: libmicrohttpd with a thread per connection in front of one
 * committer thread that owns every write to the store.
 *
 * Why one committer: the store is single-writer, and fsync is the cost that
 * matters. A request decodes its body on its own thread, puts its messages
 * on the queue and waits; the committer takes everything queued, stores it
 * in one SQLite transaction and one log block, fsyncs once, then wakes all
 * those requests. Under load many requests share one fsync (group commit);
 * alone, a request pays one. The queue is bounded in events: beyond it a
 * request is answered 429 with Retry-After, before anything is stored.
 *
 * API and nudge requests read through a second, read-only handle of their
 * own (readers take no lock: docs/store.md), brought up to date with the
 * log before each request, so they see every acknowledged event and a
 * report never holds up a commit. */
#include "server.h"

#include "alerts.h"
#include "api.h"
#include "assets.h"
#include "fmt.h"
#include "ingest.h"
#include "keys.h"
#include "nudges.h"
#include "report.h"
#include "store.h"
#include "timeparse.h"
#include "util.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <yaml.h>

#define MAX_RAW_BODY (20u << 20)   /* before decompression; the decoder limits after */
#define CONN_LIMIT 1000            /* connections open at once */

void up_server_cfg_default(up_server_cfg_t *c, const char *data_dir)
{
    memset(c, 0, sizeof *c);
    snprintf(c->data, sizeof c->data, "%s", data_dir);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    c->log_level = 2;
    c->queue_events = 200000;
    c->timeout_s = 30;
    c->request_timeout_s = 60;
    c->checkpoint_s = 60;
    c->alerts_every_s = 3600;
}

int up_server_log_level(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* ---- config file -------------------------------------------------------- */

static int cfg_set(up_server_cfg_t *c, const char *key, const char *val, char *why, size_t whylen)
{
    char *end;
    long n = strtol(val, &end, 10);
    int is_num = *val && !*end;
    if (strcmp(key, "data") == 0)
        snprintf(c->data, sizeof c->data, "%s", val);
    else if (strcmp(key, "listen") == 0)
        snprintf(c->listen, sizeof c->listen, "%s", val);
    else if (strcmp(key, "log_level") == 0) {
        if ((c->log_level = up_server_log_level(val)) < 0)
            return snprintf(why, whylen, "expected error, warn, info or debug, got '%s'", val), -1;
    } else if (strcmp(key, "queue_events") == 0) {
        if (!is_num || n < 100 || n > 100000000)
            return snprintf(why, whylen, "expected a whole number from 100 to 100000000"), -1;
        c->queue_events = (uint32_t)n;
    } else if (strcmp(key, "alerts_every") == 0) {
        if (!is_num || n < 0 || n > 604800)
            return snprintf(why, whylen, "expected seconds from 0 (never) to 604800"), -1;
        c->alerts_every_s = (int)n;
    } else if (strcmp(key, "timeout") == 0 || strcmp(key, "request_timeout") == 0 ||
               strcmp(key, "checkpoint") == 0) {
        if (!is_num || n < 1 || n > 86400)
            return snprintf(why, whylen, "expected seconds from 1 to 86400"), -1;
        *(key[0] == 'c' ? &c->checkpoint_s : key[0] == 'r' ? &c->request_timeout_s : &c->timeout_s) = (int)n;
    } else
        return snprintf(why, whylen, "unknown key (data, listen, log_level, queue_events, timeout,"
                                     " request_timeout, checkpoint, alerts_every)"), -1;
    return 0;
}

int up_server_cfg_load(up_server_cfg_t *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -UP_EIO;
    }
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc = 0, depth = 0, done = 0;
    char key[64] = "";
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            snprintf(err, errlen, "%s:%zu: %s", path, p.problem_mark.line + 1, p.problem ? p.problem : "bad YAML");
            rc = -UP_EPARSE;
            break;
        }
        size_t line = ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_MAPPING_START_EVENT:
            if (++depth > 1) {
                snprintf(err, errlen, "%s:%zu: %s: expected a plain value", path, line, key);
                rc = -UP_EPARSE;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
            snprintf(err, errlen, "%s:%zu: %s: expected a plain value, not a list", path, line, key[0] ? key : "config");
            rc = -UP_EPARSE;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            if (!key[0])
                snprintf(key, sizeof key, "%s", v);
            else {
                char why[160];
                if (cfg_set(c, key, v, why, sizeof why) < 0) {
                    snprintf(err, errlen, "%s:%zu: %s: %s", path, line, key, why);
                    rc = -UP_EPARSE;
                }
                key[0] = '\0';
            }
            break;
        }
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

/* ---- state -------------------------------------------------------------- */

typedef struct job {
    up_wire_batch_t *batch;
    char where[96];
    int done, status;                 /* status: 200, or 503 when storage failed */
    uint64_t stored, duplicates, rejected;
    struct job *next;
} job_t;

enum { N_BUCKETS = 12 };
static const double BUCKETS[N_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5};

typedef struct {
    up_server_cfg_t cfg;
    FILE *log;
    up_store_t *store;
    up_ingest_t *ingest;
    char group_type[128];             /* the model's ingest.group_type (the model cannot
                                       * change while the server holds the store) */
    pthread_mutex_t store_mu;         /* the store: the committer */
    pthread_mutex_t read_mu;          /* the reader: API and nudge requests, one at a time */
    up_store_t *reader;               /* a read-only handle, refreshed per request, so that
                                       * reports never hold up commits */
    atomic_int reader_stale;          /* the writer cut the log back: open the reader again */
    int store_gen;                    /* reopens of the writer (under store_mu) */
    pthread_mutex_t ck_mu;            /* the checkpoint thread's sleep */
    pthread_cond_t ck_wake;
    int ck_stop;
    int store_broken;                 /* a failed reopen: every request gets 503 */
    /* the queue */
    pthread_mutex_t q_mu;
    pthread_cond_t q_wake, q_done;
    job_t *head, *tail;
    uint32_t queued_events;
    int stopping;
    /* keys */
    pthread_mutex_t key_mu;
    up_keyring_t keys;
    sqlite3 *key_db;                  /* own connection: sees `uptake keys` from other processes */
    int64_t keys_checked_ms;
    /* metrics */
    pthread_mutex_t m_mu;
    uint64_t received[UP_WIRE_FAMILIES], stored[UP_WIRE_FAMILIES], dups[UP_WIRE_FAMILIES];
    uint64_t requests[6];             /* by status class 1xx..5xx, [0] other */
    uint64_t lat_count, lat_buckets[N_BUCKETS];
    double lat_sum;
    struct reject_count { char source[16], field[40]; uint64_t n; } rejects[64];
    int n_rejects;
    atomic_int in_flight;
    /* request deadlines against slow clients: a slot per open connection */
    pthread_mutex_t dl_mu;
    pthread_cond_t dl_wake;
    int dl_stop;
    struct conn_slot { int used, fd; double deadline; } slots[CONN_LIMIT];
    uint64_t slow_closed;
    /* alerts: evaluated every alerts_every_s, webhooks retried every 10 s */
    pthread_mutex_t a_mu;
    pthread_cond_t a_wake;
    int alerts_stop;
    sqlite3 *alerts_db;
} srv_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void logf_(srv_t *sv, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(srv_t *sv, int level, const char *fmt, ...)
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

static void count_reject(srv_t *sv, const char *source, const char *field)
{
    if (!field)
        field = "record";
    for (int i = 0; i < sv->n_rejects; i++)
        if (strcmp(sv->rejects[i].source, source) == 0 && strcmp(sv->rejects[i].field, field) == 0) {
            sv->rejects[i].n++;
            return;
        }
    int i = sv->n_rejects < 64 ? sv->n_rejects++ : 63;   /* the last row collects the rest */
    if (i == 63 && sv->n_rejects == 64 && sv->rejects[63].n)
        field = "other";
    snprintf(sv->rejects[i].source, sizeof sv->rejects[i].source, "%s", source);
    snprintf(sv->rejects[i].field, sizeof sv->rejects[i].field, "%s", field);
    sv->rejects[i].n++;
}

/* ---- the committer ------------------------------------------------------ */

/* A wire message as the record the ingest session takes. */
static void to_record(const up_model_t *model, const up_wire_msg_t *m, up_record_t *r, char *tsbuf, size_t tslen,
                      char num[4][32])
{
    memset(r, 0, sizeof *r);
    r->line = 0;
    r->kind = m->kind == UP_WIRE_IDENTIFY ? UP_MSG_IDENTIFY : m->kind == UP_WIRE_GROUP ? UP_MSG_GROUP
            : m->kind == UP_WIRE_ALIAS ? UP_MSG_ALIAS : UP_MSG_TRACK;
    snprintf(tsbuf, tslen, "%lld", (long long)m->ts);
    const char *v[UP_EF_N] = {0};
    v[UP_EF_TS] = tsbuf;
    v[UP_EF_USER] = m->user_id;
    v[UP_EF_ACCOUNT] = m->account_id;
    v[UP_EF_EVENT] = m->event;
    v[UP_EF_MSGID] = m->message_id;
    /* traits, through the model's ingest.traits: the names listed, else the
     * field's own name and its camelCase form */
    static const int field_of[UP_TRAITS] = {UP_EF_CREATED, UP_EF_ROLE, UP_EF_NAME, UP_EF_SEATS, UP_EF_PLAN,
                                            UP_EF_SEGMENT, UP_EF_OWNER, UP_EF_ARR, UP_EF_CSTART, UP_EF_RENEW};
    int k = 0;
    for (int f = 0; m->traits && f < UP_TRAITS; f++) {
        json_t *t = NULL;
        if (model->ingest.traits[f].n) {
            for (size_t i = 0; !t && i < model->ingest.traits[f].n; i++)
                t = json_object_get(m->traits, model->ingest.traits[f].names[i]);
        } else {
            char camel[32];
            t = json_object_get(m->traits, up_trait_fields[f]);
            if (!t && up_model_trait_default(f, camel, sizeof camel))
                t = json_object_get(m->traits, camel);
        }
        int field = field_of[f];
        if (json_is_string(t))
            v[field] = json_string_value(t);
        else if (json_is_number(t) && k < 4) {
            if (json_is_integer(t))
                snprintf(num[k], 32, "%lld", (long long)json_integer_value(t));
            else
                up_fmt_double(num[k], 32, json_real_value(t));
            v[field] = num[k++];
        }
    }
    for (int i = 0; i < UP_EF_N; i++) {
        r->val[i] = v[i] && *v[i] ? v[i] : NULL;
        r->len[i] = r->val[i] ? strlen(r->val[i]) : 0;
    }
}

/* Stores every message of the jobs in one transaction and one fsync.
 * Returns 0 or a negative UP_E* code (nothing of these jobs is then
 * acknowledged). */
static int commit_jobs(srv_t *sv, job_t *jobs)
{
    sqlite3 *db = up_store_db(sv->store);
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -UP_EDB;
    int rc = 0;
    for (job_t *j = jobs; j && rc == 0; j = j->next) {
        up_wire_batch_t *b = j->batch;
        const char *source = up_wire_family_name(b->family);
        for (size_t i = 0; i < b->n_msgs && rc == 0; i++) {
            const up_wire_msg_t *m = &b->msgs[i];
            if (m->reject) {
                rc = up_store_reject(sv->store, "http", j->where, (long)i + 1, m->reject_field, m->reject,
                                     m->record ? m->record : "");
                j->rejected++;
                count_reject(sv, source, m->reject_field);
                continue;
            }
            up_record_t r;
            char tsbuf[32], num[4][32];
            to_record(up_store_model(sv->store), m, &r, tsbuf, sizeof tsbuf, num);
            r.line = (long)i + 1;
            up_import_stats_t st = {0};
            rc = up_ingest_message(sv->ingest, &r, j->where, &st);
            j->stored += st.stored;
            j->duplicates += st.duplicates;
            j->rejected += st.rejected;
            if (st.rejected)
                count_reject(sv, source, st.reject_field);
        }
    }
    if (rc < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return -UP_EDB;
    return up_store_sync(sv->store);
}

/* After a failed commit the store's memory holds events that are not on
 * disk: drop it and open the store again from its files. */
static void reopen_store(srv_t *sv)
{
    sv->store_gen++;
    /* the API's reader may have read the block that failed: it starts again */
    atomic_store(&sv->reader_stale, 1);
    up_ingest_close(sv->ingest);
    sv->ingest = NULL;
    if (sv->store)
        up_store_abandon(sv->store);
    sv->store = NULL;
    char err[1024];
    if (up_store_open(&sv->store, sv->cfg.data, UP_STORE_WRITE, err, sizeof err) < 0 ||
        up_ingest_open(sv->store, &sv->ingest) < 0) {
        logf_(sv, 0, "cannot reopen the store after a storage failure: %s; answering 503 and retrying"
              " with the next request", err);
        sv->store_broken = 1;
        return;
    }
    logf_(sv, 1, "store reopened after a storage failure%s%s", up_store_notice(sv->store) ? ": " : "",
          up_store_notice(sv->store) ? up_store_notice(sv->store) : "");
}

static void *committer(void *arg)
{
    srv_t *sv = arg;
    /* the indexes first, while the first requests queue: built on the first
     * request instead, they made that request wait seconds */
    pthread_mutex_lock(&sv->store_mu);
    double t0 = mono_s();
    uint64_t ids = 0;
    int lrc = sv->store_broken ? 0 : up_store_warm(sv->store, &ids);
    if (lrc < 0)
        logf_(sv, 1, "cannot build the message-id index now (%s); the first request will", up_strerror(lrc));
    else
        logf_(sv, 2, "message-id index: %llu ids in %.2f s", (unsigned long long)ids, mono_s() - t0);
    pthread_mutex_unlock(&sv->store_mu);
    for (;;) {
        pthread_mutex_lock(&sv->q_mu);
        while (!sv->head && !sv->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&sv->q_wake, &sv->q_mu, &ts);
        }
        job_t *jobs = sv->head;
        int stop = sv->stopping && !jobs;
        sv->head = sv->tail = NULL;
        pthread_mutex_unlock(&sv->q_mu);
        if (stop)
            break;
        pthread_mutex_lock(&sv->store_mu);
        if (sv->store_broken) {   /* the disk may have recovered: try again */
            sv->store_broken = 0;
            reopen_store(sv);
        }
        double t0 = mono_s();
        int rc = sv->store_broken ? -UP_EIO : commit_jobs(sv, jobs);
        if (sv->cfg.log_level >= 3) {
            size_t nj = 0, ne = 0;
            for (job_t *j = jobs; j; j = j->next)
                nj++, ne += j->batch->n_msgs;
            logf_(sv, 3, "commit: %zu requests, %zu messages, %.2f ms", nj, ne, (mono_s() - t0) * 1000);
        }
        if (rc < 0 && !sv->store_broken) {
            logf_(sv, 0, "storage failure: %s; the requests waiting get 503", up_strerror(rc));
            reopen_store(sv);
        }
        pthread_mutex_unlock(&sv->store_mu);
        pthread_mutex_lock(&sv->m_mu);
        for (job_t *j = jobs; j; j = j->next) {
            int f = j->batch->family;
            sv->received[f] += j->batch->n_msgs;
            if (rc == 0) {
                sv->stored[f] += j->stored;
                sv->dups[f] += j->duplicates;
            }
        }
        pthread_mutex_unlock(&sv->m_mu);
        pthread_mutex_lock(&sv->q_mu);
        for (job_t *j = jobs; j; j = j->next) {
            sv->queued_events -= (uint32_t)j->batch->n_msgs;
            j->status = rc == 0 ? 200 : 503;
            j->done = 1;
        }
        pthread_cond_broadcast(&sv->q_done);
        pthread_mutex_unlock(&sv->q_mu);
    }
    return NULL;
}

/* ---- alerts on a schedule ----------------------------------------------- */

static void *alerts_loop(void *arg)
{
    srv_t *sv = arg;
    double last_eval = -1e18;
    for (;;) {
        up_alerts_stats_t st;
        memset(&st, 0, sizeof st);
        if (sv->alerts_db && sv->cfg.alerts_every_s > 0 && mono_s() - last_eval >= sv->cfg.alerts_every_s) {
            /* on a reader of its own: the metrics of every account take a while
             * on a big store, and ingestion must not wait for them */
            char err[512] = "";
            up_store_t *reader = NULL;
            int rc = up_store_open(&reader, sv->cfg.data, UP_STORE_READ | UP_STORE_DEFER, err, sizeof err);
            if (rc == 0)
                rc = up_alerts_evaluate(reader, sv->alerts_db, now_ms(), &st, err, sizeof err);
            up_store_close(reader);
            last_eval = mono_s();
            if (rc < 0)
                logf_(sv, 1, "alerts: %s", err[0] ? err : up_strerror(rc));
            else
                logf_(sv, 2, "alerts: %d opened, %d still open, %d resolved, %d tasks, %d webhooks queued", st.opened,
                      st.still_open, st.resolved, st.tasks, st.deliveries_queued);
        }
        /* the model cannot change while the server holds the store */
        if (sv->alerts_db && !sv->store_broken &&
            up_alerts_deliver(sv->alerts_db, up_store_model(sv->store), 0, &st) == 0 &&
            (st.delivered || st.delivery_failures))
            logf_(sv, 2, "webhooks: %d delivered, %d failed attempts, %d given up", st.delivered,
                  st.delivery_failures, st.given_up);
        pthread_mutex_lock(&sv->a_mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10;
        if (!sv->alerts_stop)
            pthread_cond_timedwait(&sv->a_wake, &sv->a_mu, &ts);
        int stop = sv->alerts_stop;
        pthread_mutex_unlock(&sv->a_mu);
        if (stop)
            break;
    }
    return NULL;
}

/* ---- the reader ---------------------------------------------------------- */

/* Locks read_mu and returns the reader, brought up to date with every
 * acknowledged event (opened on first use; reopened when a refresh fails),
 * or NULL (read_mu still held) when it cannot be opened. */
static up_store_t *reader_get(srv_t *sv)
{
    pthread_mutex_lock(&sv->read_mu);
    if (sv->reader && atomic_exchange(&sv->reader_stale, 0)) {
        up_store_close(sv->reader);
        sv->reader = NULL;
    }
    if (sv->reader && up_store_refresh(sv->reader) < 0) {
        logf_(sv, 1, "the API's reader could not catch up with the log; opening it again");
        up_store_close(sv->reader);
        sv->reader = NULL;
    }
    if (!sv->reader) {
        char err[1024];
        if (up_store_open(&sv->reader, sv->cfg.data, UP_STORE_READ, err, sizeof err) < 0) {
            logf_(sv, 0, "cannot open a reader for the API: %s", err);
            sv->reader = NULL;
        }
    }
    return sv->reader;
}

/* The snapshot (rollup.bin), every checkpoint_s, written from the reader:
 * on a big store it takes a second, which the committer would otherwise
 * spend not committing. The rename happens under the store lock and only
 * if the writer has not been reopened meanwhile (after a storage failure the
 * log is cut back, and the reader may have read the block that failed). */
static void *checkpoint_loop(void *arg)
{
    srv_t *sv = arg;
    for (;;) {
        pthread_mutex_lock(&sv->ck_mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += sv->cfg.checkpoint_s;
        if (!sv->ck_stop)
            pthread_cond_timedwait(&sv->ck_wake, &sv->ck_mu, &ts);
        int stop = sv->ck_stop;
        pthread_mutex_unlock(&sv->ck_mu);
        if (stop)
            break;
        pthread_mutex_lock(&sv->store_mu);
        int gen = sv->store_gen;
        pthread_mutex_unlock(&sv->store_mu);
        double t0 = mono_s();
        up_store_t *rd = reader_get(sv);
        int rc = rd ? up_store_snapshot_write(rd, "rollup.bin.reader") : -UP_EIO;
        if (rc == 1) {
            pthread_mutex_lock(&sv->store_mu);
            rc = sv->store_gen == gen && !sv->store_broken ? up_store_snapshot_install(rd, "rollup.bin.reader") : 0;
            pthread_mutex_unlock(&sv->store_mu);
            if (rc == 0)
                logf_(sv, 3, "checkpoint: rollup.bin written from the reader in %.2f s", mono_s() - t0);
        }
        pthread_mutex_unlock(&sv->read_mu);
        if (rc < 0)
            logf_(sv, 1, "cannot write rollup.bin (the log is intact; will retry)");
    }
    return NULL;
}

/* ---- HTTP --------------------------------------------------------------- */

typedef struct {
    char *uri;                /* the raw request target, query included */
    up_buf_t body;
    int started;              /* the first call (headers only) has been seen */
    int too_big;
    int status;               /* answered status, for the log */
    size_t events;
    double start;
} conn_t;

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
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
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
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
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
            logf_(sv, 1, "closed %d connection%s whose request did not arrive in full within %d s"
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

static enum MHD_Result respond(struct MHD_Connection *c, conn_t *cn, int status, const char *ctype,
                               const char *body, size_t len, const char *extra_name, const char *extra_val)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (extra_name)
        MHD_add_response_header(r, extra_name, extra_val);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    cn->status = status;
    return ret;
}

static enum MHD_Result respond_json_error(struct MHD_Connection *c, conn_t *cn, int status, const char *msg)
{
    up_buf_t b = {0};
    up_buf_puts(&b, "{\"error\":");
    up_fmt_json_str(&b, msg);
    up_buf_puts(&b, "}\n");
    enum MHD_Result r = respond(c, cn, status, "application/json", b.data ? b.data : "", b.len, NULL, NULL);
    up_buf_free(&b);
    return r;
}

/* The Bearer token of a request, or NULL. */
static const char *bearer(struct MHD_Connection *c, size_t *len)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    *len = strlen(h);
    return h;
}

#define SESSION_COOKIE "uptake_session"

/* The keys, reloaded at most once a second; call with key_mu held. */
static void keys_fresh(srv_t *sv)
{
    int64_t now = now_ms();
    if (now - sv->keys_checked_ms >= 1000) {
        if (up_keyring_load(&sv->keys, sv->key_db) < 0)
            logf_(sv, 1, "cannot read the keys table: %s", sqlite3_errmsg(sv->key_db));
        sv->keys_checked_ms = now;
    }
}

/* 1 when key is a live key of kind. */
static int key_ok(srv_t *sv, up_key_kind_t kind, const char *key, size_t len)
{
    pthread_mutex_lock(&sv->key_mu);
    keys_fresh(sv);
    int ok = up_keyring_check(&sv->keys, kind, key, len);
    pthread_mutex_unlock(&sv->key_mu);
    return ok;
}

/* 1 when id is a dashboard session that has not expired or ended and whose
 * read token is still live. */
static int session_ok(srv_t *sv, const char *id, size_t len)
{
    uint8_t kh[32];
    pthread_mutex_lock(&sv->key_mu);
    keys_fresh(sv);
    int rc = up_session_find(sv->key_db, id, len, now_ms() / 1000, kh);
    if (rc < 0)
        logf_(sv, 1, "cannot read the sessions table: %s", sqlite3_errmsg(sv->key_db));
    int ok = rc == 1 && up_keyring_check_hash(&sv->keys, UP_KEY_READ, kh);
    pthread_mutex_unlock(&sv->key_mu);
    return ok;
}

static const char *session_cookie(struct MHD_Connection *c, size_t *len)
{
    const char *id = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SESSION_COOKIE);
    if (id)
        *len = strlen(id);
    return id;
}

static const char *api_arg(void *ctx, const char *key)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result handle_api(srv_t *sv, struct MHD_Connection *c, conn_t *cn, const char *url,
                                  const char *method)
{
    size_t len = 0;
    const char *tok = bearer(c, &len);
    if (tok) {
        if (!key_ok(sv, UP_KEY_READ, tok, len)) {
            int write_key = key_ok(sv, UP_KEY_WRITE, tok, len);
            return respond_json_error(c, cn, write_key ? 403 : 401,
                                      write_key ? "this is a write key: it can only send events; the API needs a"
                                                  " read token"
                                                : "unknown or revoked token");
        }
    } else if ((tok = session_cookie(c, &len))) {
        if (!session_ok(sv, tok, len))
            return respond_json_error(c, cn, 401, "the session has ended (signed out, expired, or its read token"
                                                  " was revoked): sign in again");
    } else
        return respond_json_error(c, cn, 401, "send a read token as 'Authorization: Bearer upr_…'"
                                              " (create one with `uptake keys create --read`), or sign in");
    long long alert_id;
    char action[16];
    int consumed = 0;
    if (strcmp(method, "POST") == 0 &&
        sscanf(url, "/api/v1/alerts/%lld/%15[a-z]%n", &alert_id, action, &consumed) == 2 && !url[consumed]) {
        /* working alerts is the one change a read token may make (a CSM in
         * the dashboard); it touches no event, account or key */
        if (strcmp(action, "ack") && strcmp(action, "resolve") && strcmp(action, "snooze"))
            return respond_json_error(c, cn, 404, "alert actions: ack, resolve, snooze (?until=DATE)");
        const char *until = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "until");
        int32_t until_day;
        if (!strcmp(action, "snooze") && (!until || up_date_parse(until, strlen(until), &until_day) < 0))
            return respond_json_error(c, cn, 400, "snooze needs ?until=YYYY-MM-DD");
        char today[16];
        up_fmt_date(today, up_day_of(now_ms()));
        int rc = sv->alerts_db ? up_alerts_set_state(sv->alerts_db, alert_id, action, until, today) : -UP_EDB;
        if (rc == -UP_ENOTFOUND)
            return respond_json_error(c, cn, 404, "no such alert");
        if (rc == -UP_EINVAL)
            return respond_json_error(c, cn, 409, "the alert is resolved already");
        if (rc < 0)
            return respond_json_error(c, cn, 500, "cannot write the alert tables");
        char body[96];
        int n = snprintf(body, sizeof body, "{\"id\":%lld,\"action\":\"%s\"}\n", alert_id, action);
        return respond(c, cn, 200, "application/json", body, (size_t)n, NULL, NULL);
    }
    if (strcmp(method, "GET") != 0)
        return respond_json_error(c, cn, 405, "the API is read-only apart from working alerts: use GET");
    up_buf_t out = {0};
    up_store_t *rd = reader_get(sv);
    int status = rd ? up_api_handle(rd, url, api_arg, c, &out) : 503;
    pthread_mutex_unlock(&sv->read_mu);
    enum MHD_Result r;
    if (status == 503)
        r = respond_json_error(c, cn, 503, "the store is unavailable; see the server log");
    else
        r = respond(c, cn, status, "application/json", out.data ? out.data : "", out.len, NULL, NULL);
    up_buf_free(&out);
    return r;
}

static void metrics_text(srv_t *sv, up_buf_t *b)
{
    pthread_mutex_lock(&sv->m_mu);
    up_buf_puts(b, "# HELP uptake_events_received_total Messages received over HTTP, by client family.\n"
                   "# TYPE uptake_events_received_total counter\n");
    for (int f = 0; f < UP_WIRE_FAMILIES; f++)
        up_buf_printf(b, "uptake_events_received_total{source=\"%s\"} %llu\n", up_wire_family_name(f),
                      (unsigned long long)sv->received[f]);
    up_buf_puts(b, "# HELP uptake_events_stored_total Messages stored (events, identify and group calls).\n"
                   "# TYPE uptake_events_stored_total counter\n");
    for (int f = 0; f < UP_WIRE_FAMILIES; f++)
        up_buf_printf(b, "uptake_events_stored_total{source=\"%s\"} %llu\n", up_wire_family_name(f),
                      (unsigned long long)sv->stored[f]);
    up_buf_puts(b, "# HELP uptake_events_duplicate_total Messages whose id was already stored.\n"
                   "# TYPE uptake_events_duplicate_total counter\n");
    for (int f = 0; f < UP_WIRE_FAMILIES; f++)
        up_buf_printf(b, "uptake_events_duplicate_total{source=\"%s\"} %llu\n", up_wire_family_name(f),
                      (unsigned long long)sv->dups[f]);
    up_buf_puts(b, "# HELP uptake_events_rejected_total Messages rejected into the rejects table, by field.\n"
                   "# TYPE uptake_events_rejected_total counter\n");
    for (int i = 0; i < sv->n_rejects; i++)
        up_buf_printf(b, "uptake_events_rejected_total{source=\"%s\",reason=\"%s\"} %llu\n", sv->rejects[i].source,
                      sv->rejects[i].field, (unsigned long long)sv->rejects[i].n);
    up_buf_puts(b, "# HELP uptake_http_requests_total HTTP requests answered, by status class.\n"
                   "# TYPE uptake_http_requests_total counter\n");
    static const char *const cls[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 0; i < 6; i++)
        up_buf_printf(b, "uptake_http_requests_total{code=\"%s\"} %llu\n", cls[i], (unsigned long long)sv->requests[i]);
    up_buf_puts(b, "# HELP uptake_http_request_duration_seconds Time from request start to response.\n"
                   "# TYPE uptake_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < N_BUCKETS; i++) {
        cum += sv->lat_buckets[i];
        char le[32];
        up_fmt_double(le, sizeof le, BUCKETS[i]);
        up_buf_printf(b, "uptake_http_request_duration_seconds_bucket{le=\"%s\"} %llu\n", le, (unsigned long long)cum);
    }
    up_buf_printf(b, "uptake_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)sv->lat_count);
    char sum[32];
    up_fmt_double(sum, sizeof sum, sv->lat_sum);
    up_buf_printf(b, "uptake_http_request_duration_seconds_sum %s\n", sum);
    up_buf_printf(b, "uptake_http_request_duration_seconds_count %llu\n", (unsigned long long)sv->lat_count);
    pthread_mutex_unlock(&sv->m_mu);
    pthread_mutex_lock(&sv->dl_mu);
    uint64_t slow = sv->slow_closed;
    pthread_mutex_unlock(&sv->dl_mu);
    up_buf_printf(b, "# HELP uptake_http_slow_closed_total Connections closed because a request did not arrive in"
                     " full within request_timeout.\n# TYPE uptake_http_slow_closed_total counter\n"
                     "uptake_http_slow_closed_total %llu\n", (unsigned long long)slow);
    pthread_mutex_lock(&sv->q_mu);
    uint32_t depth = sv->queued_events;
    pthread_mutex_unlock(&sv->q_mu);
    up_buf_printf(b, "# HELP uptake_queue_events Messages waiting for the disk.\n# TYPE uptake_queue_events gauge\n"
                     "uptake_queue_events %u\n", depth);
    up_store_stats_t st;
    pthread_mutex_lock(&sv->store_mu);
    if (!sv->store_broken)
        up_store_stats(sv->store, &st);
    else
        memset(&st, 0, sizeof st);
    pthread_mutex_unlock(&sv->store_mu);
    up_buf_printf(b, "# HELP uptake_store_bytes Bytes of the store's files.\n# TYPE uptake_store_bytes gauge\n"
                     "uptake_store_bytes{file=\"events.log\"} %llu\nuptake_store_bytes{file=\"rollup.bin\"} %llu\n",
                  (unsigned long long)st.log_bytes, (unsigned long long)st.snapshot_bytes);
    up_buf_printf(b, "# HELP uptake_store_events Events in the store.\n# TYPE uptake_store_events gauge\n"
                     "uptake_store_events %llu\n", (unsigned long long)st.events);
}

/* ---- nudges ------------------------------------------------------------ */

/* GET /v1/nudges?user_id=U[&account_id=A] with a write key (Basic, Bearer
 * or ?key=): what the product's front end may show this user now. */
static enum MHD_Result handle_nudges(srv_t *sv, struct MHD_Connection *c, conn_t *cn)
{
    const char *key = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "key");
    char basic_user[128] = "";
    size_t klen = 0;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!key && auth && strncasecmp(auth, "Basic ", 6) == 0) {
        char *pass = NULL;
        char *u = MHD_basic_auth_get_username_password(c, &pass);
        if (u)
            snprintf(basic_user, sizeof basic_user, "%s", u);
        MHD_free(u);
        MHD_free(pass);
        key = basic_user[0] ? basic_user : NULL;
    }
    if (!key)
        key = bearer(c, &klen);
    if (!key || !key_ok(sv, UP_KEY_WRITE, key, strlen(key)))
        return respond_json_error(c, cn, 401, "nudges need a write key (Basic, Bearer or ?key=)");
    const char *user = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "user_id");
    const char *account = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "account_id");
    if (!user || !*user)
        return respond_json_error(c, cn, 400, "user_id: required");
    up_buf_t out = {0};
    int rc = -UP_EIO;
    up_store_t *rd = reader_get(sv);
    if (rd) {
        up_rollup_t *r;
        int owned;
        int64_t T = now_ms();
        if ((rc = up_store_rollup(rd, T, &r, &owned)) == 0) {
            rc = up_nudges_json(r, up_store_model(rd), T, user, account && *account ? account : NULL, &out);
            if (owned) {
                up_rollup_free(r);
                free(r);
            }
        }
    }
    pthread_mutex_unlock(&sv->read_mu);
    enum MHD_Result res = rc == 0 ? respond(c, cn, 200, "application/json", out.data, out.len,
                                            "Access-Control-Allow-Origin", "*")
                                  : respond_json_error(c, cn, 503, "the store is unavailable");
    up_buf_free(&out);
    return res;
}

/* ---- the dashboard ------------------------------------------------------ */

static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
                          " connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

static enum MHD_Result respond_asset(struct MHD_Connection *c, conn_t *cn, int status, const char *mime,
                                     const void *data, size_t len, int from_disk)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data,
                                                             from_disk ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", mime);
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", from_disk ? "no-store" : "no-cache");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
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
        return respond(c, cn, 404, "text/plain", "not found\n", 10, NULL, NULL);
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
        return respond(c, cn, 404, "text/plain", "not found\n", 10, NULL, NULL);
    return respond_asset(c, cn, 200, a->mime, a->data, a->len, 0);
}

static enum MHD_Result redirect(struct MHD_Connection *c, conn_t *cn, const char *to, const char *cookie)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Location", to);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (cookie)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    enum MHD_Result ret = MHD_queue_response(c, 303, r);
    MHD_destroy_response(r);
    cn->status = 303;
    return ret;
}

/* POST /login (form field token=…): a valid read token starts a session
 * (keys.h) whose id goes into an HttpOnly, SameSite=Strict cookie for
 * SESSION_DAYS; POST /logout ends the session and clears the cookie. */
#define SESSION_DAYS 30
static enum MHD_Result handle_login(srv_t *sv, struct MHD_Connection *c, conn_t *cn, int logout)
{
    if (logout) {
        size_t len = 0;
        const char *id = session_cookie(c, &len);
        pthread_mutex_lock(&sv->key_mu);
        int rc = id ? up_session_end(sv->key_db, id, len) : 0;
        pthread_mutex_unlock(&sv->key_mu);
        if (rc < 0) {
            logf_(sv, 0, "cannot end a session: %s", sqlite3_errmsg(sv->key_db));
            return respond_json_error(c, cn, 503, "cannot sign out now (the keys database failed); try again");
        }
        return redirect(c, cn, "/", SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    }
    const char *body = cn->body.data ? cn->body.data : "";
    size_t blen = cn->body.len;
    char token[128];
    size_t tl = 0;
    for (const char *p = body; p < body + blen;) {
        const char *amp = memchr(p, '&', (size_t)(body + blen - p));
        const char *end = amp ? amp : body + blen;
        if (end - p > 6 && memcmp(p, "token=", 6) == 0) {
            for (const char *q = p + 6; q < end && tl + 1 < sizeof token; q++) {
                int h1, h2;
                if (*q == '%' && q + 2 < end && sscanf(q + 1, "%1x%1x", (unsigned *)&h1, (unsigned *)&h2) == 2) {
                    token[tl++] = (char)(h1 * 16 + h2);
                    q += 2;
                } else
                    token[tl++] = *q == '+' ? ' ' : *q;
            }
        }
        p = end + 1;
    }
    token[tl] = '\0';
    while (tl && (token[tl - 1] == ' ' || token[tl - 1] == '\n' || token[tl - 1] == '\r'))
        token[--tl] = '\0';
    if (!tl || strspn(token, "abcdefghijklmnopqrstuvwxyz0123456789_") != tl || !key_ok(sv, UP_KEY_READ, token, tl))
        return redirect(c, cn, "/?signin=failed", NULL);
    char id[64];
    pthread_mutex_lock(&sv->key_mu);
    int rc = up_session_create(sv->key_db, token, tl, now_ms() / 1000, (int64_t)SESSION_DAYS * 86400, id, sizeof id);
    pthread_mutex_unlock(&sv->key_mu);
    if (rc < 0) {
        logf_(sv, 0, "cannot start a session: %s", sqlite3_errmsg(sv->key_db));
        return respond_json_error(c, cn, 503, "cannot sign in now (the keys database failed); try again");
    }
    char cookie[256];
    snprintf(cookie, sizeof cookie, SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d", id,
             SESSION_DAYS * 86400);
    return redirect(c, cn, "/", cookie);
}

static enum MHD_Result handle_ingest(srv_t *sv, struct MHD_Connection *c, conn_t *cn, const char *url,
                                     const char *method)
{
    const char *q = strchr(cn->uri ? cn->uri : "", '?');
    up_wire_req_t req = {
        .method = method,
        .path = url,
        .query = q ? q + 1 : NULL,
        .content_encoding = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding"),
        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
        .body = (const uint8_t *)cn->body.data,
        .body_len = cn->body.len,
        .received_ms = now_ms(),
        .group_type = sv->group_type,
    };
    up_wire_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return MHD_NO;
    up_wire_decode(&req, b);
    enum MHD_Result r;
    const char *ctype;
    const char *body;
    if (b->status == 404) {
        r = respond_json_error(c, cn, 404, "no such path; see docs/ingest-http.md");
        goto out;
    }
    if (b->status != 200) {
        body = up_wire_response(b, b->status, &ctype);
        r = respond(c, cn, b->status, ctype, body, strlen(body), NULL, NULL);
        goto out;
    }
    if (strcmp(method, "OPTIONS") == 0) {
        r = respond(c, cn, 200, "text/plain", "", 0, "Access-Control-Allow-Origin", "*");
        goto out;
    }
    int authorised = 0, read_token = 0;
    for (int i = 0; i < b->n_keys && !authorised; i++)
        authorised = key_ok(sv, UP_KEY_WRITE, b->keys[i], strlen(b->keys[i]));
    for (int i = 0; i < b->n_keys && !authorised && !read_token; i++)
        read_token = key_ok(sv, UP_KEY_READ, b->keys[i], strlen(b->keys[i]));
    if (!authorised) {
        body = up_wire_response(b, read_token ? 403 : 401, &ctype);
        r = respond(c, cn, read_token ? 403 : 401, ctype, body, strlen(body), NULL, NULL);
        goto out;
    }
    cn->events = b->n_msgs;
    int status = 200;
    if (b->n_msgs) {
        job_t job;
        memset(&job, 0, sizeof job);
        job.batch = b;
        snprintf(job.where, sizeof job.where, "%s %s", method, url);
        pthread_mutex_lock(&sv->q_mu);
        if (sv->queued_events + b->n_msgs > sv->cfg.queue_events && sv->queued_events > 0) {
            pthread_mutex_unlock(&sv->q_mu);
            body = up_wire_response(b, 429, &ctype);
            r = respond(c, cn, 429, ctype, body, strlen(body), "Retry-After", "1");
            goto out;
        }
        sv->queued_events += (uint32_t)b->n_msgs;
        if (sv->tail)
            sv->tail->next = &job;
        else
            sv->head = &job;
        sv->tail = &job;
        pthread_cond_signal(&sv->q_wake);
        while (!job.done)
            pthread_cond_wait(&sv->q_done, &sv->q_mu);
        pthread_mutex_unlock(&sv->q_mu);
        status = job.status;
    }
    body = up_wire_response(b, status, &ctype);
    r = respond(c, cn, status, ctype, body, strlen(body), "Access-Control-Allow-Origin", "*");
out:
    up_wire_batch_free(b);
    free(b);
    return r;
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
        return MHD_YES;
    }
    if (*upload_size) {
        if (cn->body.len + *upload_size > MAX_RAW_BODY)
            cn->too_big = 1;
        else if (up_buf_append(&cn->body, upload, *upload_size) < 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    slot_set(sv, c, INFINITY);    /* received in full: no deadline while it is answered */
    atomic_fetch_add(&sv->in_flight, 1);
    enum MHD_Result r;
    if (cn->too_big)
        r = respond_json_error(c, cn, 413, "request body larger than 20 MB");
    else if (strcmp(url, "/healthz") == 0)
        r = sv->store_broken ? respond(c, cn, 503, "text/plain", "store unavailable\n", 18, NULL, NULL)
                             : respond(c, cn, 200, "text/plain", "ok\n", 3, NULL, NULL);
    else if (strcmp(url, "/metrics") == 0) {
        up_buf_t b = {0};
        metrics_text(sv, &b);
        r = respond(c, cn, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len, NULL, NULL);
        up_buf_free(&b);
    } else if (strncmp(url, "/api/", 5) == 0)
        r = handle_api(sv, c, cn, url, method);
    else if ((strcmp(url, "/v1/nudges") == 0 || strcmp(url, "/v1/nudges/") == 0) && strcmp(method, "GET") == 0)
        r = handle_nudges(sv, c, cn);
    else if ((strcmp(url, "/login") == 0 || strcmp(url, "/logout") == 0) && strcmp(method, "POST") == 0)
        r = handle_login(sv, c, cn, strcmp(url, "/logout") == 0);
    else if (strcmp(url, "/") == 0 && strcmp(method, "GET") == 0)
        r = handle_asset(sv, c, cn, "index.html");
    else if (strncmp(url, "/assets/", 8) == 0 && strcmp(method, "GET") == 0)
        r = handle_asset(sv, c, cn, url + 8);
    else
        r = handle_ingest(sv, c, cn, url, method);
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
    pthread_mutex_lock(&sv->m_mu);
    int cls_i = cn->status >= 100 && cn->status < 600 ? cn->status / 100 : 0;
    sv->requests[cls_i]++;
    sv->lat_count++;
    sv->lat_sum += secs;
    for (int i = 0; i < N_BUCKETS; i++)
        if (secs <= BUCKETS[i]) {
            sv->lat_buckets[i]++;
            break;
        }
    pthread_mutex_unlock(&sv->m_mu);
    /* the path only: a query may carry a key */
    char path[256];
    snprintf(path, sizeof path, "%.*s", (int)strcspn(cn->uri ? cn->uri : "", "?"), cn->uri ? cn->uri : "");
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        logf_(sv, 1, "%s aborted (%s) after %.1f ms", path,
              toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout" : "connection closed", secs * 1000);
    else
        logf_(sv, cn->status >= 500 ? 0 : 2, "%d %s %zu events %.1f ms", cn->status, path, cn->events, secs * 1000);
    up_buf_free(&cn->body);
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
    int rc = up_store_open(&sv->store, cfg->data, UP_STORE_WRITE, err, errlen);
    if (rc < 0) {
        free(sv);
        return rc;
    }
    if (up_store_notice(sv->store))
        logf_(sv, 1, "%s", up_store_notice(sv->store));
    const char *gt = up_store_model(sv->store)->ingest.group_type;
    snprintf(sv->group_type, sizeof sv->group_type, "%s", gt ? gt : "company");
    char *dbpath = malloc(strlen(cfg->data) + 16);
    if (dbpath)
        sprintf(dbpath, "%s/uptake.db", cfg->data);
    if (!dbpath || sqlite3_open_v2(dbpath, &sv->key_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        up_keys_init(sv->key_db) < 0 || (rc = up_ingest_open(sv->store, &sv->ingest)) < 0) {
        snprintf(err, errlen, "%s: cannot open the keys table", cfg->data);
        free(dbpath);
        sqlite3_close(sv->key_db);
        up_store_close(sv->store);
        free(sv);
        return -UP_EDB;
    }
    free(dbpath);
    sqlite3_busy_timeout(sv->key_db, 5000);
    char *apath = malloc(strlen(cfg->data) + 16);
    if (apath)
        sprintf(apath, "%s/uptake.db", cfg->data);
    if (!apath || sqlite3_open_v2(apath, &sv->alerts_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        up_alerts_init(sv->alerts_db) < 0) {
        logf_(sv, 1, "alerts: cannot open uptake.db for the alert tables; alerts are off");
        sqlite3_close(sv->alerts_db);
        sv->alerts_db = NULL;
    }
    free(apath);
    if (sv->alerts_db)
        sqlite3_busy_timeout(sv->alerts_db, 5000);
    pthread_mutex_init(&sv->a_mu, NULL);
    pthread_cond_init(&sv->a_wake, NULL);
    sv->keys_checked_ms = INT64_MIN / 2;
    pthread_mutex_init(&sv->store_mu, NULL);
    pthread_mutex_init(&sv->read_mu, NULL);
    pthread_mutex_init(&sv->q_mu, NULL);
    pthread_mutex_init(&sv->key_mu, NULL);
    pthread_mutex_init(&sv->m_mu, NULL);
    pthread_cond_init(&sv->q_wake, NULL);
    pthread_cond_init(&sv->q_done, NULL);

    /* signals go to this thread only, through sigwait */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&sv->ck_mu, NULL);
    pthread_cond_init(&sv->ck_wake, NULL);
    pthread_t ct, at, kt;
    pthread_create(&ct, NULL, committer, sv);
    pthread_create(&at, NULL, alerts_loop, sv);
    pthread_create(&kt, NULL, checkpoint_loop, sv);
    pthread_mutex_init(&sv->dl_mu, NULL);
    pthread_cond_init(&sv->dl_wake, NULL);
    pthread_t dt;
    pthread_create(&dt, NULL, deadline_loop, sv);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
        0, NULL, NULL, handler, sv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_URI_LOG_CALLBACK, uri_cb, sv,
        MHD_OPTION_NOTIFY_COMPLETED, completed, sv,
        MHD_OPTION_NOTIFY_CONNECTION, notify_conn, sv,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
        MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, strerror(errno));
        rc = -UP_EIO;
    } else {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        char host[64];
        inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
        logf_(sv, 0 > sv->cfg.log_level ? 0 : sv->cfg.log_level >= 1 ? 1 : 0,
              "listening on http://%s:%u (store %s)", host, info ? info->port : 0, cfg->data);
        int sig = 0;
        sigwait(&sigs, &sig);
        logf_(sv, 1, "%s: draining requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        /* stop accepting; let the requests in flight finish (bounded) */
        MHD_quiesce_daemon(d);
        for (int i = 0; i < 300 && atomic_load(&sv->in_flight) > 0; i++) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
        MHD_stop_daemon(d);
    }
    pthread_mutex_lock(&sv->dl_mu);
    sv->dl_stop = 1;
    pthread_cond_signal(&sv->dl_wake);
    pthread_mutex_unlock(&sv->dl_mu);
    pthread_join(dt, NULL);
    pthread_mutex_lock(&sv->ck_mu);
    sv->ck_stop = 1;
    pthread_cond_signal(&sv->ck_wake);
    pthread_mutex_unlock(&sv->ck_mu);
    pthread_join(kt, NULL);
    pthread_mutex_lock(&sv->a_mu);
    sv->alerts_stop = 1;
    pthread_cond_signal(&sv->a_wake);
    pthread_mutex_unlock(&sv->a_mu);
    pthread_join(at, NULL);
    pthread_mutex_lock(&sv->q_mu);
    sv->stopping = 1;
    pthread_cond_signal(&sv->q_wake);
    pthread_mutex_unlock(&sv->q_mu);
    pthread_join(ct, NULL);
    up_store_close(sv->reader);
    up_ingest_close(sv->ingest);
    int crc = sv->store ? up_store_close(sv->store) : 0;   /* writes the snapshot */
    if (crc < 0 && rc == 0) {
        snprintf(err, errlen, "%s: cannot write the snapshot on close: %s", cfg->data, up_strerror(crc));
        rc = crc;
    }
    sqlite3_close(sv->key_db);
    sqlite3_close(sv->alerts_db);
    up_keyring_free(&sv->keys);
    if (rc == 0)
        logf_(sv, 1, "stopped; store closed cleanly");
    free(sv);
    return rc;
}
