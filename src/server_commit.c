/* server_commit: the committer, the one thread that writes to the store.
 *
 * Why one committer: the store is single-writer, and fsync is the cost that
 * matters. A request decodes its body on its own thread, puts its messages
 * on the queue and waits; the committer takes everything queued, stores it
 * in one log block and one SQLite transaction, fsyncs once, then wakes all
 * those requests. Under load many requests share one fsync (group commit);
 * alone, a request pays one. The queue is bounded in events: beyond it a
 * request is answered 429 with Retry-After, before anything is stored. */
#include "server_int.h"

#include <string.h>

typedef struct {
    srv_t *sv;
    const char *source;   /* the client family */
} reject_ctx_t;

static void on_reject(void *ctx, const char *field)
{
    reject_ctx_t *rc = ctx;
    up_server_metrics_reject(rc->sv, rc->source, field);
}

/* Stores every message of the jobs in one transaction and one fsync, in
 * ingest's one commit order (up_ingest_commit: the log, then the tables).
 * Returns 0 or a negative UP_E* code (nothing of these jobs is then
 * acknowledged, and nothing of them is in the tables). */
static int commit_jobs(srv_t *sv, job_t *jobs)
{
    if (up_ingest_begin(sv->store) < 0)
        return -UP_EDB;
    int rc = 0;
    for (job_t *j = jobs; j && rc == 0; j = j->next) {
        up_import_stats_t st = {0};
        reject_ctx_t ctx = {sv, up_wire_family_name(j->batch->family)};
        rc = up_ingest_batch(sv->ingest, j->batch, j->where, &st, on_reject, &ctx);
        j->stored += st.stored;
        j->duplicates += st.duplicates;
        j->rejected += st.rejected;
    }
    int crc = up_ingest_commit(sv->store, rc == 0, 0, NULL);
    return rc < 0 ? rc : crc;
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
        up_server_logf(sv, 0, "cannot reopen the store after a storage failure: %s; answering 503 and retrying"
              " with the next request", err);
        sv->store_broken = 1;
        return;
    }
    up_server_logf(sv, 1, "store reopened after a storage failure%s%s", up_store_notice(sv->store) ? ": " : "",
          up_store_notice(sv->store) ? up_store_notice(sv->store) : "");
}

void *up_server_commit_thread(void *arg)
{
    srv_t *sv = arg;
    /* the indexes first, while the first requests queue: built on the first
     * request instead, they made that request wait seconds */
    pthread_mutex_lock(&sv->store_mu);
    double t0 = mono_s();
    uint64_t ids = 0;
    int lrc = sv->store_broken ? 0 : up_store_warm(sv->store, &ids);
    if (lrc < 0)
        up_server_logf(sv, 1, "cannot build the message-id index now (%s); the first request will", up_strerror(lrc));
    else
        up_server_logf(sv, 2, "message-id index: %llu ids in %.2f s", (unsigned long long)ids, mono_s() - t0);
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
        /* events in ClickHouse: the API's reader has no log to catch up
         * with, so another is built (its rollup asked of ClickHouse):
         * up_server_reader_get says when */
        if (rc == 0 && up_store_is_clickhouse(sv->store))
            atomic_store(&sv->reader_behind, 1);
        if (sv->cfg.log_level >= 3) {
            size_t nj = 0, ne = 0;
            for (job_t *j = jobs; j; j = j->next)
                nj++, ne += j->batch->n_msgs;
            up_server_logf(sv, 3, "commit: %zu requests, %zu messages, %.2f ms", nj, ne, (mono_s() - t0) * 1000);
        }
        if (rc < 0 && !sv->store_broken) {
            const char *why = up_store_engine_error(sv->store);   /* ClickHouse: the shard and its words */
            up_server_logf(sv, 0, "storage failure: %s%s%s; the requests waiting get 503", up_strerror(rc),
                           why[0] ? ": " : "", why);
            reopen_store(sv);
        }
        pthread_mutex_unlock(&sv->store_mu);
        up_server_metrics_commit(sv, jobs, rc);
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

int up_server_commit_wait(srv_t *sv, job_t *job)
{
    up_wire_batch_t *b = job->batch;
    pthread_mutex_lock(&sv->q_mu);
    if (sv->queued_events + b->n_msgs > sv->cfg.queue_events && sv->queued_events > 0) {
        pthread_mutex_unlock(&sv->q_mu);
        return 429;
    }
    sv->queued_events += (uint32_t)b->n_msgs;
    if (sv->tail)
        sv->tail->next = job;
    else
        sv->head = job;
    sv->tail = job;
    pthread_cond_signal(&sv->q_wake);
    while (!job->done)
        pthread_cond_wait(&sv->q_done, &sv->q_mu);
    pthread_mutex_unlock(&sv->q_mu);
    return job->status;
}
