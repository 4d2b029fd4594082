/* playbook: delivery of the webhooks that alerts queue (table deliveries).
 * Each attempt is a JSON POST signed with HMAC-SHA256 of the body under the
 * playbook's secret (header X-Uptake-Signature: sha256=<hex>), with a
 * timeout; a non-2xx answer or a network error schedules a retry after
 * 1, 2, 4, … seconds (capped at an hour) until the playbook's attempts are
 * spent, when the delivery is marked failed (given up). Every attempt's
 * outcome stays in the row (attempts, last_code, last_error). */
#include "playbook.h"

#include "util.h"

#include "dynlib.h"
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

/* One POST; returns the HTTP status, or 0 with err set on a network error. */
static long post(const char *url, const char *body, const char *secret, int64_t id, const char *event, int timeout_s,
                 char *err, size_t errlen)
{
    CURL *c = up_curl()->easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot start libcurl%s%s", up_curl_missing() ? ": " : "",
                 up_curl_missing() ? up_curl_missing() : "");
        return 0;
    }
    struct curl_slist *h = NULL;
    char line[160];
    h = up_curl()->slist_append(h, "Content-Type: application/json");
    h = up_curl()->slist_append(h, "User-Agent: uptake-playbook/1");
    snprintf(line, sizeof line, "X-Uptake-Delivery: %lld", (long long)id);
    h = up_curl()->slist_append(h, line);
    snprintf(line, sizeof line, "X-Uptake-Event: alert.%s", !strcmp(event, "open") ? "opened" : "resolved");
    h = up_curl()->slist_append(h, line);
    if (secret && *secret) {
        unsigned char mac[32];
        unsigned int maclen = 0;
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body), mac, &maclen);
        int n = snprintf(line, sizeof line, "X-Uptake-Signature: sha256=");
        for (unsigned i = 0; i < maclen; i++)
            n += snprintf(line + n, sizeof line - (size_t)n, "%02x", mac[i]);
        h = up_curl()->slist_append(h, line);
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    up_curl()->easy_setopt(c, CURLOPT_URL, url);
    up_curl()->easy_setopt(c, CURLOPT_HTTPHEADER, h);
    up_curl()->easy_setopt(c, CURLOPT_POSTFIELDS, body);
    up_curl()->easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
    up_curl()->easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)timeout_s);
    up_curl()->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    up_curl()->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    up_curl()->easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    up_curl()->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    long status = 0;
    CURLcode rc = up_curl()->easy_perform(c);
    if (rc == CURLE_OK)
        up_curl()->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(err, errlen, "%s", curl_err[0] ? curl_err : up_curl()->easy_strerror(rc));
    up_curl()->slist_free_all(h);
    up_curl()->easy_cleanup(c);
    return status;
}

static const up_playbook_t *playbook(const up_model_t *m, const char *name)
{
    for (size_t i = 0; m && i < m->n_playbooks; i++)
        if (!strcmp(m->playbooks[i].name, name))
            return &m->playbooks[i];
    return NULL;
}

int up_playbook_deliver(sqlite3 *db, const up_model_t *m, int wait_s, up_alerts_stats_t *st)
{
    if (up_alerts_init(db) < 0)
        return -UP_EDB;
    int64_t deadline = now_ms() + (int64_t)wait_s * 1000;
    for (;;) {
        int64_t now = now_ms();
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, "SELECT id, playbook, event, url, payload, attempts FROM deliveries"
                                   " WHERE status = 'pending' AND next_attempt_ms <= ? ORDER BY id", -1, &q,
                               NULL) != SQLITE_OK)
            return -UP_EDB;
        sqlite3_bind_int64(q, 1, now);
        /* collect first: the POSTs must not run inside the read */
        typedef struct { int64_t id; char *pb, *event, *url, *payload; int attempts; } due_t;
        due_t *due = NULL;
        size_t n = 0, cap = 0;
        while (sqlite3_step(q) == SQLITE_ROW) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                due_t *d = realloc(due, cap * sizeof *due);
                if (!d)
                    break;
                due = d;
            }
            due[n].id = sqlite3_column_int64(q, 0);
            due[n].pb = up_strndup((const char *)sqlite3_column_text(q, 1), (size_t)sqlite3_column_bytes(q, 1));
            due[n].event = up_strndup((const char *)sqlite3_column_text(q, 2), (size_t)sqlite3_column_bytes(q, 2));
            due[n].url = up_strndup((const char *)sqlite3_column_text(q, 3), (size_t)sqlite3_column_bytes(q, 3));
            due[n].payload = up_strndup((const char *)sqlite3_column_text(q, 4), (size_t)sqlite3_column_bytes(q, 4));
            due[n].attempts = sqlite3_column_int(q, 5);
            n++;
        }
        sqlite3_finalize(q);
        for (size_t i = 0; i < n; i++) {
            const up_playbook_t *p = playbook(m, due[i].pb);
            int timeout = p ? p->timeout_s : 10, max = p ? p->retries : 5;
            char err[256] = "";
            long code = due[i].url && due[i].payload
                ? post(due[i].url, due[i].payload, p ? p->webhook_secret : NULL, due[i].id, due[i].event, timeout,
                       err, sizeof err)
                : 0;
            int attempts = due[i].attempts + 1;
            sqlite3_stmt *u;
            if (code >= 200 && code < 300) {
                st->delivered++;
                if (sqlite3_prepare_v2(db, "UPDATE deliveries SET status = 'delivered', attempts = ?, last_code = ?,"
                                           " last_error = NULL, delivered_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')"
                                           " WHERE id = ?", -1, &u, NULL) == SQLITE_OK) {
                    sqlite3_bind_int(u, 1, attempts);
                    sqlite3_bind_int64(u, 2, code);
                    sqlite3_bind_int64(u, 3, due[i].id);
                    sqlite3_step(u);
                    sqlite3_finalize(u);
                }
            } else {
                int give_up = attempts >= max;
                st->delivery_failures++;
                if (give_up)
                    st->given_up++;
                int64_t backoff = 1000LL << (attempts - 1 < 12 ? attempts - 1 : 12);
                if (backoff > 3600000)
                    backoff = 3600000;
                if (!err[0])
                    snprintf(err, sizeof err, "HTTP %ld", code);
                if (sqlite3_prepare_v2(db, "UPDATE deliveries SET status = ?, attempts = ?, last_code = ?,"
                                           " last_error = ?, next_attempt_ms = ? WHERE id = ?", -1, &u,
                                       NULL) == SQLITE_OK) {
                    sqlite3_bind_text(u, 1, give_up ? "failed" : "pending", -1, SQLITE_STATIC);
                    sqlite3_bind_int(u, 2, attempts);
                    if (code)
                        sqlite3_bind_int64(u, 3, code);
                    else
                        sqlite3_bind_null(u, 3);
                    sqlite3_bind_text(u, 4, err, -1, SQLITE_TRANSIENT);
                    sqlite3_bind_int64(u, 5, now_ms() + backoff);
                    sqlite3_bind_int64(u, 6, due[i].id);
                    sqlite3_step(u);
                    sqlite3_finalize(u);
                }
            }
            free(due[i].pb);
            free(due[i].event);
            free(due[i].url);
            free(due[i].payload);
        }
        free(due);
        if (wait_s <= 0)
            return 0;
        /* the next retry, if it falls before the deadline */
        int64_t next = -1;
        if (sqlite3_prepare_v2(db, "SELECT min(next_attempt_ms) FROM deliveries WHERE status = 'pending'", -1, &q,
                               NULL) == SQLITE_OK) {
            if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
                next = sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
        if (next < 0 || next > deadline)
            return 0;
        int64_t sleep_ms = next - now_ms();
        if (sleep_ms > 0) {
            struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}
