/* server_metrics: the server's counters (messages by client family,
 * rejects by field, requests by status class, latency histogram) and the
 * /metrics page in Prometheus text format. */
#include "server_int.h"
#include "alerts.h"
#include "timeparse.h"

#include "fmt.h"

#include <string.h>

static const double BUCKETS[N_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5};

void up_server_metrics_reject(srv_t *sv, const char *source, const char *field)
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

void up_server_metrics_commit(srv_t *sv, const job_t *jobs, int rc)
{
    pthread_mutex_lock(&sv->m_mu);
    for (const job_t *j = jobs; j; j = j->next) {
        int f = j->batch->family;
        sv->received[f] += j->batch->n_msgs;
        if (rc == 0) {
            sv->stored[f] += j->stored;
            sv->dups[f] += j->duplicates;
        }
    }
    pthread_mutex_unlock(&sv->m_mu);
}

void up_server_metrics_request(srv_t *sv, int status, double secs)
{
    pthread_mutex_lock(&sv->m_mu);
    int cls_i = status >= 100 && status < 600 ? status / 100 : 0;
    sv->requests[cls_i]++;
    sv->lat_count++;
    sv->lat_sum += secs;
    for (int i = 0; i < N_BUCKETS; i++)
        if (secs <= BUCKETS[i]) {
            sv->lat_buckets[i]++;
            break;
        }
    pthread_mutex_unlock(&sv->m_mu);
}

/* One counter per client family, with its HELP and TYPE lines. */
static void family_counter(up_buf_t *b, const char *name, const char *help, const uint64_t *counts)
{
    up_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (int f = 0; f < UP_WIRE_FAMILIES; f++)
        up_buf_printf(b, "%s{source=\"%s\"} %llu\n", name, up_wire_family_name(f), (unsigned long long)counts[f]);
}

void up_server_metrics_text(srv_t *sv, up_buf_t *b)
{
    pthread_mutex_lock(&sv->m_mu);
    family_counter(b, "uptake_events_received_total", "Messages received over HTTP, by client family.", sv->received);
    family_counter(b, "uptake_events_stored_total", "Messages stored (events, identify and group calls).", sv->stored);
    family_counter(b, "uptake_events_duplicate_total", "Messages whose id was already stored.", sv->dups);
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
    up_server_fresh_t f;
    up_server_freshness(sv, &st, &f);
    up_buf_printf(b, "# HELP uptake_last_event_timestamp_seconds The store's last event (0: none).\n"
                     "# TYPE uptake_last_event_timestamp_seconds gauge\nuptake_last_event_timestamp_seconds %lld\n"
                     "# HELP uptake_data_stale 1 when the last event is more than data_stale_hours old: data stopped"
                     " arriving and the per-account alert rules are held back.\n# TYPE uptake_data_stale gauge\n"
                     "uptake_data_stale %d\n", (long long)(f.last_event_ms / 1000), f.stale);
}

void up_server_freshness(srv_t *sv, const up_store_stats_t *st, up_server_fresh_t *f)
{
    const up_model_t *m = up_store_model(sv->store);
    f->hours_setting = m->alert_settings.data_stale_hours;
    f->last_event_ms = st->events ? st->max_ts : 0;
    f->now_ms = now_ms();
    f->stale = up_alerts_data_stale(m, f->last_event_ms, f->now_ms);
}

/* GET /healthz?detail=1: the store and the data's freshness as JSON (the
 * plain /healthz stays "ok" for load balancers). */
void up_server_health_detail(srv_t *sv, up_buf_t *b, const char *shard_down)
{
    up_store_stats_t st;
    pthread_mutex_lock(&sv->store_mu);
    int broken = sv->store_broken;
    if (!broken)
        up_store_stats(sv->store, &st);
    else
        memset(&st, 0, sizeof st);
    pthread_mutex_unlock(&sv->store_mu);
    up_server_fresh_t f;
    up_server_freshness(sv, &st, &f);
    up_buf_printf(b, "{\"status\":\"%s\",\"store\":\"%s\",", broken || shard_down ? "unavailable" : "ok",
                  broken || shard_down ? "unavailable" : "ok");
    if (shard_down) {
        up_buf_puts(b, "\"store_error\":");
        up_fmt_json_str(b, shard_down);
        up_buf_puts(b, ",");
    }
    up_buf_printf(b, "\"events\":%llu,\"last_event\":", (unsigned long long)st.events);
    if (f.last_event_ms > 0) {
        char t[40];
        up_time_fmt(t, f.last_event_ms);
        up_buf_printf(b, "\"%s\",\"hours_since_last_event\":%lld", t,
                      (long long)((f.now_ms - f.last_event_ms) / 3600000));
    } else
        up_buf_puts(b, "null,\"hours_since_last_event\":null");
    up_buf_printf(b, ",\"data_stale_hours\":%d,\"data\":\"%s\"}\n", f.hours_setting,
                  f.stale ? "stopped arriving: the per-account alert rules are held back" : "ok");
}
