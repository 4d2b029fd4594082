/* server_int: the state the server's files share. Private to src/server*.c;
 * nothing else includes it. The files, one job each:
 *   server.c          HTTP: libmicrohttpd callbacks, routing, the API, nudges
 *                     and dashboard handlers, request deadlines, up_server_run
 *   server_config.c   the config file (up_server_cfg_*)
 *   server_commit.c   the committer thread: job queue, group commit, reopen
 *                     after a storage failure
 *   server_sched.c    the alert scheduler and the checkpoint loop
 *   server_session.c  write keys, read tokens, dashboard sessions, login/logout
 *   server_metrics.c  the counters and the /metrics text */
#ifndef UP_SERVER_INT_H
#define UP_SERVER_INT_H

#include "server.h"

#include "ingest.h"
#include "keys.h"
#include "store.h"
#include "util.h"
#include "wire.h"

#include "dynlib.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define CONN_LIMIT 1000            /* connections open at once */

/* One request's messages on the committer's queue. */
typedef struct job {
    up_wire_batch_t *batch;
    char where[96];
    int done, status;                 /* status: 200, or 503 when storage failed */
    uint64_t stored, duplicates, rejected;
    struct job *next;
} job_t;

enum { N_BUCKETS = 12 };

typedef struct {
    up_server_cfg_t cfg;
    FILE *log;
    up_store_t *store;
    up_ingest_t *ingest;
    char group_type[128];             /* the model's ingest.group_type (changed by a model
                                       * set through the admin socket, under m_mu) */
    pthread_mutex_t store_mu;         /* the store: the committer */
    pthread_mutex_t read_mu;          /* the reader: API and nudge requests, one at a time */
    up_store_t *reader;               /* a read-only handle, refreshed per request, so that
                                       * reports never hold up commits */
    atomic_int reader_stale;          /* the writer cut the log back: open the reader again */
    atomic_int reader_behind;         /* a ClickHouse store took events since the reader was
                                       * built: build another (up_server_reader_get) */
    int ch_building;                  /* a rebuild runs on ch_builder (under read_mu) */
    int ch_builder_started;           /* ch_builder is to be joined */
    pthread_t ch_builder;
    double ch_built_at;               /* monotonic s: the reader's rollup was asked for */
    int is_clickhouse;                /* the store's events are in ClickHouse */
    pthread_mutex_t sh_mu;            /* the shards' state below */
    double sh_at;                     /* monotonic s of the last look (0: never) */
    int sh_down;                      /* the first shard down, 1-based; 0: all answer */
    char sh_why[512];                 /* why it does not answer */
    int reader_epoch;                 /* readers dropped as stale (under read_mu): a build
                                       * begun before the last drop is thrown away */
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
    _Atomic size_t body_bytes;        /* request bodies held now (received, and the room
                                       * reserved for decompressing them): at most
                                       * cfg.body_memory_mb */
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
    /* the admin socket (server_admin.c): imports and model set from the CLI */
    int admin_fd, admin_stop;        /* admin_stop under a_mu */
    char *admin_path;
    char *vendor_logo;               /* cfg.vendor_logo as a data: URI, or NULL */
} srv_t;

/* One HTTP request in progress. */
typedef struct {
    char *uri;                /* the raw request target, query included */
    up_buf_t body;
    int started;              /* the first call (headers only) has been seen */
    int route;                /* what the path is (server.c's route_of) */
    int key_scope;            /* a header or query credential was a live write key:
                               * 1 for every call, 2 events-only (keyring lookup) */
    size_t body_limit;        /* bytes this route's body may have */
    size_t reserved;          /* bytes counted in sv->body_bytes for this request */
    int too_big;
    int over_budget;          /* sv->body_bytes was full: the body was not kept */
    int status;               /* answered status, for the log */
    size_t events;
    double start;
    char group_type[128];     /* sv->group_type when the request was decoded */
} conn_t;

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- server.c ---- */

/* A log line at level (0 error … 3 debug) when the configured level allows. */
void up_server_logf(srv_t *sv, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Queues a response with the usual headers (and one extra header when
 * extra_name is set); records status in cn for the log. */
enum MHD_Result up_server_respond(struct MHD_Connection *c, conn_t *cn, int status, const char *ctype,
                                  const char *body, size_t len, const char *extra_name, const char *extra_val);
/* {"error": msg} with status. */
enum MHD_Result up_server_respond_error(struct MHD_Connection *c, conn_t *cn, int status, const char *msg);

/* Locks read_mu and returns the reader, brought up to date with every
 * acknowledged event (opened on first use; reopened when a refresh fails),
 * or NULL (read_mu still held) when it cannot be opened. */
up_store_t *up_server_reader_get(srv_t *sv);
/* A ClickHouse store: 0 when every shard answers SELECT 1, else the first
 * that does not (1-based) with why (at least whylen 512). Looked at most
 * every 5 s; the answer is kept between. 0 for an embedded store. */
int up_server_shard_down(srv_t *sv, char *why, size_t whylen);
/* Waits for a rebuild of the reader that is under way (at shutdown). */
void up_server_reader_stop(srv_t *sv);

/* ---- server_commit.c ---- */

/* The committer thread (arg: srv_t). */
void *up_server_commit_thread(void *arg);
/* The admin socket: open (0, or a negative UP_E* code with err set: the
 * server then runs without it), its thread, and close (unlinks it). */
int up_server_admin_open(srv_t *sv, char *err, size_t errlen);
void *up_server_admin_thread(void *arg);
void up_server_admin_close(srv_t *sv);

/* Puts job on the queue and waits until it is committed: returns its status
 * (200, or 503 when storage failed), or 429 when the queue is full (then
 * nothing was queued). */
int up_server_commit_wait(srv_t *sv, job_t *job);

/* ---- server_sched.c ---- */

/* The alert evaluation and webhook delivery thread (arg: srv_t). */
void *up_server_sched_alerts(void *arg);
/* The snapshot thread: rollup.bin every checkpoint_s (arg: srv_t). */
void *up_server_sched_checkpoints(void *arg);

/* ---- server_session.c ---- */

/* The Bearer token of a request, or NULL. */
const char *up_server_session_bearer(struct MHD_Connection *c, size_t *len);
/* 0 when key is not a live key of kind; else 1, or 2 for an events-only
 * write key (up_keyring_lookup). */
int up_server_session_key_ok(srv_t *sv, up_key_kind_t kind, const char *key, size_t len);
/* 1 when a POST signed in by the dashboard's cookie may proceed: it carries
 * Sec-Fetch-Site: same-origin, or (without Sec-Fetch-Site) an Origin equal
 * to http:// or https:// and the request's Host, or neither header (not a
 * browser: browsers send Origin on every POST). 0 otherwise. */
int up_server_session_same_origin(struct MHD_Connection *c);
#define UP_SERVER_CROSS_ORIGIN "cross-origin request refused: a POST signed in with the dashboard's cookie must come" \
                               " from the dashboard's own origin (Origin or Sec-Fetch-Site: same-origin)"
/* The session id in the request's cookie, or NULL. */
const char *up_server_session_cookie(struct MHD_Connection *c, size_t *len);
/* 1 when id is a dashboard session that has not expired or ended and whose
 * read token is still live. */
int up_server_session_ok(srv_t *sv, const char *id, size_t len);
/* POST /login and POST /logout. */
enum MHD_Result up_server_session_login(srv_t *sv, struct MHD_Connection *c, conn_t *cn, int logout);

/* ---- server_metrics.c ---- */

/* A rejected message, by client family and field (NULL: "record"). */
void up_server_metrics_reject(srv_t *sv, const char *source, const char *field);
/* The counters of a committed group of jobs (rc: the commit's result). */
void up_server_metrics_commit(srv_t *sv, const job_t *jobs, int rc);
/* An answered request: its status and seconds. */
void up_server_metrics_request(srv_t *sv, int status, double secs);
/* The /metrics page (Prometheus text format). */
void up_server_metrics_text(srv_t *sv, up_buf_t *b);
/* Data freshness at the wall clock, from the store's counts (as alerts.h's
 * data_stopped rule judges it). */
typedef struct {
    int64_t last_event_ms, now_ms;   /* last_event_ms 0: no events */
    int hours_setting, stale;
} up_server_fresh_t;
void up_server_freshness(srv_t *sv, const up_store_stats_t *st, up_server_fresh_t *f);
/* shard_down: why a ClickHouse shard does not answer, or NULL. */
void up_server_health_detail(srv_t *sv, up_buf_t *b, const char *shard_down);

#endif
