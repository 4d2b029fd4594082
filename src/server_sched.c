/* server_sched: the server's background loops. The alert scheduler
 * evaluates the alert rules every alerts_every_s on a reader of its own and
 * retries webhook deliveries every 10 s; the checkpoint loop writes the
 * rollup snapshot from the API's reader every checkpoint_s. */
#include "server_int.h"

#include "alerts.h"
#include "playbook.h"

#include <string.h>

/* ---- alerts on a schedule ----------------------------------------------- */

void *up_server_sched_alerts(void *arg)
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
                up_server_logf(sv, 1, "alerts: %s", err[0] ? err : up_strerror(rc));
            else
                up_server_logf(sv, 2, "alerts: %d opened, %d still open, %d resolved, %d tasks, %d webhooks queued", st.opened,
                      st.still_open, st.resolved, st.tasks, st.deliveries_queued);
        }
        /* the model cannot change while the server holds the store */
        if (sv->alerts_db && !sv->store_broken &&
            up_playbook_deliver(sv->alerts_db, up_store_model(sv->store), 0, &st) == 0 &&
            (st.delivered || st.delivery_failures))
            up_server_logf(sv, 2, "webhooks: %d delivered, %d failed attempts, %d given up", st.delivered,
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

/* The snapshot (rollup.bin), every checkpoint_s, written from the reader:
 * on a big store it takes a second, which the committer would otherwise
 * spend not committing. The rename happens under the store lock and only
 * if the writer has not been reopened meanwhile (after a storage failure the
 * log is cut back, and the reader may have read the block that failed). */
void *up_server_sched_checkpoints(void *arg)
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
        up_store_t *rd = up_server_reader_get(sv);
        int rc = rd ? up_store_snapshot_write(rd, "rollup.bin.reader") : -UP_EIO;
        if (rc == 1) {
            pthread_mutex_lock(&sv->store_mu);
            rc = sv->store_gen == gen && !sv->store_broken ? up_store_snapshot_install(rd, "rollup.bin.reader") : 0;
            pthread_mutex_unlock(&sv->store_mu);
            if (rc == 0)
                up_server_logf(sv, 3, "checkpoint: rollup.bin written from the reader in %.2f s", mono_s() - t0);
        }
        /* the log grouped by account, from the same reader (it writes only
         * once enough of the log is not in it yet) */
        if (rd && rc >= 0) {
            double t1 = mono_s();
            up_store_acx_update(rd);
            up_server_logf(sv, 3, "checkpoint: events.acx brought up to date in %.2f s", mono_s() - t1);
        }
        pthread_mutex_unlock(&sv->read_mu);
        if (rc < 0)
            up_server_logf(sv, 1, "cannot write rollup.bin (the log is intact; will retry)");
    }
    return NULL;
}
