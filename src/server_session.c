/* server_session: who may do what. Write keys (ingestion, nudges), read
 * tokens (the API) and dashboard sessions, checked against the keys table
 * (reloaded at most once a second, so `uptake keys` from another process
 * takes effect), the same-origin rule of cookie-signed POSTs, and the
 * POST /login and /logout handlers. */
#include "server_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *up_server_session_bearer(struct MHD_Connection *c, size_t *len)
{
    const char *h = up_mhd()->lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
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
            up_server_logf(sv, 1, "cannot read the keys table: %s", sqlite3_errmsg(sv->key_db));
        sv->keys_checked_ms = now;
    }
}

int up_server_session_key_ok(srv_t *sv, up_key_kind_t kind, const char *key, size_t len)
{
    pthread_mutex_lock(&sv->key_mu);
    keys_fresh(sv);
    int ok = up_keyring_lookup(&sv->keys, kind, key, len);
    pthread_mutex_unlock(&sv->key_mu);
    return ok;
}

int up_server_session_ok(srv_t *sv, const char *id, size_t len)
{
    uint8_t kh[32];
    pthread_mutex_lock(&sv->key_mu);
    keys_fresh(sv);
    int rc = up_keys_session_find(sv->key_db, id, len, now_ms() / 1000, kh);
    if (rc < 0)
        up_server_logf(sv, 1, "cannot read the sessions table: %s", sqlite3_errmsg(sv->key_db));
    int ok = rc == 1 && up_keyring_check_hash(&sv->keys, UP_KEY_READ, kh);
    pthread_mutex_unlock(&sv->key_mu);
    return ok;
}

const char *up_server_session_cookie(struct MHD_Connection *c, size_t *len)
{
    const char *id = up_mhd()->lookup_connection_value(c, MHD_COOKIE_KIND, SESSION_COOKIE);
    if (id)
        *len = strlen(id);
    return id;
}

int up_server_session_same_origin(struct MHD_Connection *c)
{
    const char *site = up_mhd()->lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    const char *origin = up_mhd()->lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *host = up_mhd()->lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (site)
        return strcmp(site, "same-origin") == 0;
    if (!origin)
        return 1;
    const char *rest = strncmp(origin, "http://", 7) == 0 ? origin + 7 : strncmp(origin, "https://", 8) == 0 ? origin + 8 : NULL;
    return rest && host && strcasecmp(rest, host) == 0;
}

static enum MHD_Result redirect(struct MHD_Connection *c, conn_t *cn, const char *to, const char *cookie)
{
    struct MHD_Response *r = up_mhd()->create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    up_mhd()->add_response_header(r, "Location", to);
    up_mhd()->add_response_header(r, "Cache-Control", "no-store");
    if (cookie)
        up_mhd()->add_response_header(r, "Set-Cookie", cookie);
    enum MHD_Result ret = up_mhd()->queue_response(c, 303, r);
    up_mhd()->destroy_response(r);
    cn->status = 303;
    return ret;
}

/* POST /login (form field token=…): a valid read token starts a session
 * (keys.h) whose id goes into an HttpOnly, SameSite=Strict cookie for
 * SESSION_DAYS; POST /logout ends the session and clears the cookie. */
#define SESSION_DAYS 30
enum MHD_Result up_server_session_login(srv_t *sv, struct MHD_Connection *c, conn_t *cn, int logout)
{
    if (!up_server_session_same_origin(c))
        return up_server_respond_error(c, cn, 403, UP_SERVER_CROSS_ORIGIN);
    if (logout) {
        size_t len = 0;
        const char *id = up_server_session_cookie(c, &len);
        pthread_mutex_lock(&sv->key_mu);
        int rc = id ? up_keys_session_end(sv->key_db, id, len) : 0;
        pthread_mutex_unlock(&sv->key_mu);
        if (rc < 0) {
            up_server_logf(sv, 0, "cannot end a session: %s", sqlite3_errmsg(sv->key_db));
            return up_server_respond_error(c, cn, 503, "cannot sign out now (the keys database failed); try again");
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
    if (!tl || strspn(token, "abcdefghijklmnopqrstuvwxyz0123456789_") != tl || !up_server_session_key_ok(sv, UP_KEY_READ, token, tl))
        return redirect(c, cn, "/?signin=failed", NULL);
    char id[64];
    pthread_mutex_lock(&sv->key_mu);
    int rc = up_keys_session_create(sv->key_db, token, tl, now_ms() / 1000, (int64_t)SESSION_DAYS * 86400, id, sizeof id);
    pthread_mutex_unlock(&sv->key_mu);
    if (rc < 0) {
        up_server_logf(sv, 0, "cannot start a session: %s", sqlite3_errmsg(sv->key_db));
        return up_server_respond_error(c, cn, 503, "cannot sign in now (the keys database failed); try again");
    }
    char cookie[256];
    snprintf(cookie, sizeof cookie, SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d", id,
             SESSION_DAYS * 86400);
    return redirect(c, cn, "/", cookie);
}
