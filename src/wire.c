/* wire: request decoding for the four client families (see the header and
 * docs/ingest-http.md). The body goes through, in order: gunzip (bounded),
 * form/base64 unwrapping, JSON (object, array or NDJSON), then one
 * extractor per family that turns each event into a message with its user,
 * account, event name, id and skew-corrected time. */
#include "wire.h"

#include "fmt.h"
#include "timeparse.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

const char *up_wire_family_name(int family)
{
    static const char *const names[] = {"segment", "posthog", "mixpanel"};
    return family >= 0 && family < UP_WIRE_FAMILIES ? names[family] : "unknown";
}

/* ---- jansson's memory ---------------------------------------------------- */

/* A batch of 100 events is some 2,500 small jansson allocations (objects,
 * their tables, keys, strings), each freed again when the request ends:
 * malloc and free were a fifth of the server's time. While a body is
 * parsed, jansson's allocations come from a bump arena owned by the batch
 * and are released with it in one go. Every jansson allocation carries a
 * 16-byte header saying where it came from, so a node freed by jansson
 * (json_decref, a failed parse) is a no-op in the arena and free() outside
 * it. The hooks are installed before main, ahead of any jansson call, so
 * no allocation predates them. */
struct up_wire_chunk {
    struct up_wire_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

#define JHDR 16

static _Thread_local struct up_wire_chunk **json_arena;   /* the batch being parsed, or NULL */

static void *json_arena_alloc(struct up_wire_chunk **head, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct up_wire_chunk *c = *head;
    if (!c || c->used + n > c->cap) {
        size_t cap = c ? c->cap * 2 : 16384;
        while (cap < n)
            cap *= 2;
        if (cap > (8u << 20) && n <= (8u << 20))
            cap = 8u << 20;
        struct up_wire_chunk *nc = malloc(sizeof *nc + cap);
        if (!nc)
            return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        *head = c = nc;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void *json_hook_malloc(size_t n)
{
    unsigned char *p = json_arena ? json_arena_alloc(json_arena, n + JHDR) : malloc(n + JHDR);
    if (!p)
        return NULL;
    p[0] = json_arena != NULL;
    return p + JHDR;
}

static void json_hook_free(void *q)
{
    if (!q)
        return;
    unsigned char *p = (unsigned char *)q - JHDR;
    if (!p[0])
        free(p);
}

__attribute__((constructor)) static void json_hooks_install(void)
{
    json_set_alloc_funcs(json_hook_malloc, json_hook_free);
}

static void json_arena_free(struct up_wire_chunk *c)
{
    while (c) {
        struct up_wire_chunk *next = c->next;
        free(c);
        c = next;
    }
}

/* ---- endpoints ---------------------------------------------------------- */

enum {
    EP_NONE, EP_SEG_BATCH, EP_SEG_TRACK, EP_SEG_IDENTIFY, EP_SEG_GROUP, EP_SEG_PAGE, EP_SEG_SCREEN,
    EP_SEG_ALIAS, EP_PH_BATCH, EP_PH_CAPTURE, EP_PH_V1, EP_MP_TRACK, EP_MP_ENGAGE, EP_MP_GROUPS, EP_MP_IMPORT
};

static const struct {
    const char *path;
    int ep, family;
} ROUTES[] = {
    {"/v1/batch", EP_SEG_BATCH, UP_WIRE_SEGMENT}, {"/v1/import", EP_SEG_BATCH, UP_WIRE_SEGMENT},
    {"/v1/track", EP_SEG_TRACK, UP_WIRE_SEGMENT}, {"/v1/t", EP_SEG_TRACK, UP_WIRE_SEGMENT},
    {"/v1/identify", EP_SEG_IDENTIFY, UP_WIRE_SEGMENT}, {"/v1/i", EP_SEG_IDENTIFY, UP_WIRE_SEGMENT},
    {"/v1/group", EP_SEG_GROUP, UP_WIRE_SEGMENT}, {"/v1/g", EP_SEG_GROUP, UP_WIRE_SEGMENT},
    {"/v1/page", EP_SEG_PAGE, UP_WIRE_SEGMENT}, {"/v1/p", EP_SEG_PAGE, UP_WIRE_SEGMENT},
    {"/v1/screen", EP_SEG_SCREEN, UP_WIRE_SEGMENT},
    {"/v1/alias", EP_SEG_ALIAS, UP_WIRE_SEGMENT}, {"/v1/a", EP_SEG_ALIAS, UP_WIRE_SEGMENT},
    {"/batch", EP_PH_BATCH, UP_WIRE_POSTHOG}, {"/capture", EP_PH_CAPTURE, UP_WIRE_POSTHOG},
    {"/i/v0/e", EP_PH_CAPTURE, UP_WIRE_POSTHOG}, {"/e", EP_PH_CAPTURE, UP_WIRE_POSTHOG},
    {"/i/v1/analytics/events", EP_PH_V1, UP_WIRE_POSTHOG},
    {"/track", EP_MP_TRACK, UP_WIRE_MIXPANEL}, {"/engage", EP_MP_ENGAGE, UP_WIRE_MIXPANEL},
    {"/groups", EP_MP_GROUPS, UP_WIRE_MIXPANEL}, {"/import", EP_MP_IMPORT, UP_WIRE_MIXPANEL},
};

static int route(const char *path, int *family)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++)
        if (strlen(ROUTES[i].path) == n && memcmp(ROUTES[i].path, path, n) == 0) {
            *family = ROUTES[i].family;
            return ROUTES[i].ep;
        }
    return EP_NONE;
}

/* ---- small decoders ----------------------------------------------------- */

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new string. plus_is_space: form rules. */
static char *pct_decode(const char *s, size_t n, int plus_is_space, size_t *outlen)
{
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            o[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else
            o[k++] = plus_is_space && s[i] == '+' ? ' ' : s[i];
    }
    o[k] = '\0';
    *outlen = k;
    return o;
}

/* The raw value of key in a query or form string ("a=1&b=2"), or NULL. */
static const char *form_value(const char *q, size_t qlen, const char *key, size_t *vlen)
{
    size_t kl = strlen(key);
    const char *p = q, *end = q + qlen;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
            *vlen = (size_t)(stop - p - (ptrdiff_t)kl - 1);
            return p + kl + 1;
        }
        if ((size_t)(stop - p) == kl && memcmp(p, key, kl) == 0) {
            *vlen = 0;
            return stop;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* Standard or URL-safe base64, padding optional, whitespace skipped; a
 * space is taken as '+' (a form decoder's damage undone). */
static char *b64_decode(const char *s, size_t n, size_t *outlen)
{
    char *o = malloc(n / 4 * 3 + 4);
    if (!o)
        return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i], v;
        if (c == ' ')
            c = '+';
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+' || c == '-')
            v = 62;
        else if (c == '/' || c == '_')
            v = 63;
        else if (c == '=' || c == '\n' || c == '\r' || c == '\t')
            continue;
        else {
            free(o);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (char)(acc >> bits & 0xff);
        }
    }
    o[k] = '\0';
    *outlen = k;
    return o;
}

/* Inflates gzip (or zlib) data, refusing to grow past limit.
 * Returns 0, -1 on bad data, -2 over the limit. */
static int gunzip(const uint8_t *in, size_t n, size_t limit, char **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        return -1;
    size_t cap = n * 4 + 1024 < limit ? n * 4 + 1024 : limit + 1;
    char *buf = malloc(cap + 1);
    if (!buf) {
        inflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    size_t len = 0;
    int rc;
    for (;;) {
        if (len == cap) {
            if (cap > limit) {
                free(buf);
                inflateEnd(&z);
                return -2;
            }
            size_t nc = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
            char *nb = realloc(buf, nc + 1);
            if (!nb) {
                free(buf);
                inflateEnd(&z);
                return -1;
            }
            buf = nb;
            cap = nc;
        }
        z.next_out = (Bytef *)buf + len;
        z.avail_out = (uInt)(cap - len);
        rc = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_out == 0)) {
            free(buf);
            inflateEnd(&z);
            return -1;
        }
        if (z.avail_in == 0 && z.avail_out != 0) {   /* input ended before the stream did */
            free(buf);
            inflateEnd(&z);
            return -1;
        }
    }
    inflateEnd(&z);
    if (len > limit) {
        free(buf);
        return -2;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

/* ---- JSON helpers ------------------------------------------------------- */

static json_t *get(json_t *o, const char *k)
{
    return json_is_object(o) ? json_object_get(o, k) : NULL;
}

/* A string, or a number made into one (ids are often numbers); NULL else. */
static const char *str_of(up_wire_batch_t *b, json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v)[0] ? json_string_value(v) : NULL;
    char buf[40];
    if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        up_fmt_double(buf, sizeof buf, json_real_value(v));
    else
        return NULL;
    json_t *s = json_string(buf);
    if (!s || json_array_append_new(b->held, s) < 0)
        return NULL;
    return json_string_value(s);
}

static const char *hold(up_wire_batch_t *b, const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (!j || json_array_append_new(b->held, j) < 0)
        return NULL;
    return json_string_value(j);
}

/* A time value: ISO-8601 text, or a number of seconds or milliseconds
 * (told apart by magnitude: below 1e11 it is seconds). */
static int time_of(json_t *v, int64_t *ms)
{
    if (json_is_string(v))
        return up_time_parse(json_string_value(v), json_string_length(v), ms);
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (!(d > -1e15 && d < 1e15))
            return -1;
        *ms = d < 1e11 && d > -1e11 ? (int64_t)(d * 1000.0 + (d >= 0 ? 0.5 : -0.5)) : (int64_t)d;
        return 0;
    }
    return -1;
}

static void add_key(up_wire_batch_t *b, const char *k)
{
    if (!k || !*k || b->n_keys == UP_WIRE_MAX_KEYS)
        return;
    for (int i = 0; i < b->n_keys; i++)
        if (strcmp(b->keys[i], k) == 0)
            return;
    b->keys[b->n_keys++] = k;
}

static up_wire_msg_t *new_msg(up_wire_batch_t *b, size_t *cap)
{
    if (b->n_msgs == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        up_wire_msg_t *m = realloc(b->msgs, nc * sizeof *m);
        if (!m)
            return NULL;
        b->msgs = m;
        *cap = nc;
    }
    up_wire_msg_t *m = &b->msgs[b->n_msgs++];
    memset(m, 0, sizeof *m);
    return m;
}

static void reject(up_wire_msg_t *m, json_t *ev, const char *field, const char *why)
{
    m->reject = why;
    m->reject_field = field;
    /* json_dumpb, not json_dumps: the record is freed with free() */
    size_t need = json_dumpb(ev, NULL, 0, JSON_COMPACT);
    char *txt = need ? malloc(need + 1) : NULL;
    if (txt && json_dumpb(ev, txt, need, JSON_COMPACT) == need) {
        txt[need] = '\0';
        if (need > 1000)
            memcpy(txt + 996, "...", 4);
    } else {
        free(txt);
        txt = NULL;
    }
    m->record = txt;
}

/* Checks what every message needs; rejects it otherwise. */
static void finish(up_wire_msg_t *m, json_t *ev, int oversized)
{
    if (m->reject)
        return;
    if (oversized)
        reject(m, ev, "event", "larger than 32 KB");
    else if (!m->user_id && m->kind != UP_WIRE_GROUP)
        reject(m, ev, "user_id", "missing: needs userId or anonymousId (distinct_id)");
    else if (m->kind == UP_WIRE_TRACK && !m->event)
        reject(m, ev, "event", "missing: a track call needs an event name");
    else if (m->kind == UP_WIRE_GROUP && !m->account_id)
        reject(m, ev, "groupId", "missing: a group call needs the group id");
}

static int too_big(json_t *ev, size_t body_len)
{
    if (body_len <= UP_WIRE_MAX_EVENT)
        return 0;   /* a body this small cannot hold a bigger event */
    return json_dumpb(ev, NULL, 0, JSON_COMPACT) > UP_WIRE_MAX_EVENT;
}

/* ---- Segment and RudderStack ------------------------------------------- */

static void seg_msg(up_wire_batch_t *b, json_t *ev, int ep, json_t *batch_sent, int64_t now, size_t *cap, size_t body_len)
{
    up_wire_msg_t *m = new_msg(b, cap);
    if (!m)
        return;
    if (!json_is_object(ev)) {
        reject(m, ev, "record", "not a JSON object");
        return;
    }
    const char *type = json_string_value(get(ev, "type"));
    if (ep != EP_SEG_BATCH)
        type = ep == EP_SEG_TRACK ? "track" : ep == EP_SEG_IDENTIFY ? "identify" : ep == EP_SEG_GROUP ? "group"
             : ep == EP_SEG_PAGE ? "page" : ep == EP_SEG_SCREEN ? "screen" : "alias";
    if (!type) {
        reject(m, ev, "type", "missing (track, identify, group, page, screen or alias)");
        return;
    }
    add_key(b, json_string_value(get(ev, "writeKey")));
    m->user_id = str_of(b, get(ev, "userId"));
    if (!m->user_id)
        m->user_id = str_of(b, get(ev, "anonymousId"));
    m->message_id = str_of(b, get(ev, "messageId"));
    json_t *ctx = get(ev, "context");
    if (strcmp(type, "track") == 0) {
        m->kind = UP_WIRE_TRACK;
        m->event = str_of(b, get(ev, "event"));
    } else if (strcmp(type, "page") == 0 || strcmp(type, "screen") == 0) {
        m->kind = UP_WIRE_TRACK;
        m->event = type[0] == 'p' ? "page_view" : "screen_view";
    } else if (strcmp(type, "identify") == 0) {
        m->kind = UP_WIRE_IDENTIFY;
        m->traits = get(ev, "traits");
        if (!json_is_object(m->traits))
            m->traits = get(ctx, "traits");
    } else if (strcmp(type, "group") == 0) {
        m->kind = UP_WIRE_GROUP;
        m->account_id = str_of(b, get(ev, "groupId"));
        m->traits = get(ev, "traits");
    } else if (strcmp(type, "alias") == 0) {
        m->kind = UP_WIRE_ALIAS;
    } else {
        reject(m, ev, "type", "unknown message type (track, identify, group, page, screen or alias)");
        return;
    }
    if (!json_is_object(m->traits))
        m->traits = NULL;
    if (m->kind != UP_WIRE_GROUP)
        m->account_id = str_of(b, get(ctx, "groupId"));
    /* time: Rudder marks the call time as originalTimestamp and keeps an
     * explicit timestamp; Segment has timestamp only, corrected by sentAt */
    int64_t ts = now, t, sent;
    json_t *orig = get(ev, "originalTimestamp"), *stamp = get(ev, "timestamp");
    json_t *sent_at = get(ev, "sentAt") ? get(ev, "sentAt") : batch_sent;
    if (orig) {
        if (stamp) {
            if (time_of(stamp, &t) < 0)
                return reject(m, ev, "timestamp", "cannot parse as a time");
            ts = t;
        } else if (time_of(orig, &t) < 0)
            return reject(m, ev, "originalTimestamp", "cannot parse as a time");
        else
            ts = sent_at && time_of(sent_at, &sent) == 0 ? now - (sent - t) : t;
    } else if (stamp) {
        if (time_of(stamp, &t) < 0)
            return reject(m, ev, "timestamp", "cannot parse as a time");
        ts = sent_at && time_of(sent_at, &sent) == 0 ? now - (sent - t) : t;
    }
    m->ts = ts;
    finish(m, ev, too_big(ev, body_len));
}

/* Identify traits: $set_once, then $set over it ($set wins); NULL when neither is an object. */
static json_t *merged_traits(up_wire_batch_t *b, json_t *set, json_t *once)
{
    if (!json_is_object(set) && !json_is_object(once))
        return NULL;
    json_t *t = json_object();
    if (!t || json_array_append_new(b->held, t) != 0)
        return NULL;
    if (json_is_object(once))
        json_object_update(t, once);
    if (json_is_object(set))
        json_object_update(t, set);
    return t;
}

/* A group call (PostHog $groupidentify, Mixpanel /groups): kept when its
 * type is the model's group type, the account being id, with traits. */
static int group_call(up_wire_batch_t *b, up_wire_msg_t *m, json_t *ev, const char *type, const char *type_field,
                      const char *group_type, json_t *id, json_t *traits)
{
    m->kind = UP_WIRE_GROUP;
    if (!type || strcmp(type, group_type) != 0) {
        reject(m, ev, type_field, "not the model's account group type (ingest.group_type)");
        return -1;
    }
    m->account_id = str_of(b, id);
    m->traits = json_is_object(traits) ? traits : NULL;
    return 0;
}

/* ---- PostHog ------------------------------------------------------------ */

static void ph_msg(up_wire_batch_t *b, json_t *ev, const char *group_type, json_t *batch_sent, int64_t now,
                   size_t *cap, size_t body_len)
{
    up_wire_msg_t *m = new_msg(b, cap);
    if (!m)
        return;
    if (!json_is_object(ev)) {
        reject(m, ev, "record", "not a JSON object");
        return;
    }
    json_t *props = get(ev, "properties");
    add_key(b, json_string_value(get(ev, "api_key")));
    add_key(b, json_string_value(get(props, "token")));
    m->user_id = str_of(b, get(ev, "distinct_id"));
    if (!m->user_id)
        m->user_id = str_of(b, get(props, "distinct_id"));
    m->message_id = str_of(b, get(ev, "uuid"));
    const char *event = str_of(b, get(ev, "event"));
    m->kind = UP_WIRE_TRACK;
    m->event = event;
    m->account_id = str_of(b, get(get(props, "$groups"), group_type));
    if (event && strcmp(event, "$identify") == 0) {
        m->kind = UP_WIRE_IDENTIFY;
        m->traits = merged_traits(b, get(props, "$set"), get(props, "$set_once"));
    } else if (event && strcmp(event, "$groupidentify") == 0) {
        if (group_call(b, m, ev, json_string_value(get(props, "$group_type")), "$group_type", group_type,
                       get(props, "$group_key"), get(props, "$group_set")) < 0)
            return;
        m->user_id = NULL;   /* the distinct_id of a group call is not a person */
    } else if (event && strcmp(event, "$create_alias") == 0)
        m->kind = UP_WIRE_ALIAS;
    int64_t ts = now, t, sent;
    json_t *stamp = get(ev, "timestamp"), *sent_at = get(ev, "sent_at") ? get(ev, "sent_at") : batch_sent;
    json_t *offset = get(ev, "offset");
    if (stamp) {
        if (time_of(stamp, &t) < 0)
            return reject(m, ev, "timestamp", "cannot parse as a time");
        ts = sent_at && time_of(sent_at, &sent) == 0 ? now - (sent - t) : t;
    } else if (json_is_number(offset))
        ts = now - (int64_t)json_number_value(offset);
    m->ts = ts;
    finish(m, ev, too_big(ev, body_len));
}

/* ---- Mixpanel ----------------------------------------------------------- */

static void mp_msg(up_wire_batch_t *b, json_t *ev, int ep, const char *group_type, int64_t now, size_t *cap,
                   size_t body_len)
{
    up_wire_msg_t *m = new_msg(b, cap);
    if (!m)
        return;
    if (!json_is_object(ev)) {
        reject(m, ev, "record", "not a JSON object");
        return;
    }
    m->ts = now;
    if (ep == EP_MP_ENGAGE) {
        add_key(b, json_string_value(get(ev, "$token")));
        m->kind = UP_WIRE_IDENTIFY;
        m->user_id = str_of(b, get(ev, "$distinct_id"));
        m->traits = merged_traits(b, get(ev, "$set"), get(ev, "$set_once"));
        json_t *tm = get(ev, "$time");
        int64_t ms;
        if (tm && time_of(tm, &ms) == 0)
            m->ts = ms;
    } else if (ep == EP_MP_GROUPS) {
        add_key(b, json_string_value(get(ev, "$token")));
        if (group_call(b, m, ev, json_string_value(get(ev, "$group_key")), "$group_key", group_type,
                       get(ev, "$group_id"), get(ev, "$set")) < 0)
            return;
    } else {
        json_t *props = get(ev, "properties");
        add_key(b, json_string_value(get(props, "token")));
        m->kind = UP_WIRE_TRACK;
        m->event = str_of(b, get(ev, "event"));
        m->user_id = str_of(b, get(props, "distinct_id"));
        if (!m->user_id)
            m->user_id = str_of(b, get(props, "$user_id"));
        m->message_id = str_of(b, get(props, "$insert_id"));
        json_t *acc = get(props, group_type);
        if (json_is_array(acc))
            acc = json_array_get(acc, 0);
        m->account_id = str_of(b, acc);
        json_t *tm = get(props, "time");
        int64_t ms;
        if (tm) {
            if (time_of(tm, &ms) < 0)
                return reject(m, ev, "properties.time", "cannot parse as a time");
            m->ts = ms;
        }
    }
    finish(m, ev, too_big(ev, body_len));
}

/* ---- the body's text, before it is parsed ------------------------------- */

/* The value of four hex digits at p (avail bytes there), or -1. */
static long hex4(const char *p, size_t avail)
{
    long v = 0;
    for (size_t i = 0; i < 4; i++) {
        int h = i < avail ? hexval((unsigned char)p[i]) : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* jansson refuses "\u0000" and a surrogate escape that is not half of a
 * pair (what JSON.stringify makes of a truncated emoji), and the whole
 * batch was then 400. Each such escape in in[0..n) is counted and, when out
 * (a copy of in) is given, rewritten there as "\uFFFD": the same six bytes,
 * so nothing moves. Escapes are only looked for inside strings. */
static size_t repair_escapes(const char *in, size_t n, char *out)
{
    size_t fixes = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '"')
            in_str = !in_str;
        if (!in_str || in[i] != '\\' || i + 1 >= n)
            continue;
        long v = in[i + 1] == 'u' ? hex4(in + i + 2, n - i - 2) : -1;
        if (v < 0) {
            i++;   /* a two-character escape, \" among them */
            continue;
        }
        int bad = v == 0 || (v >= 0xDC00 && v <= 0xDFFF);
        if (v >= 0xD800 && v <= 0xDBFF) {
            long low = i + 11 < n && in[i + 6] == '\\' && in[i + 7] == 'u' ? hex4(in + i + 8, n - i - 8) : -1;
            if (low >= 0xDC00 && low <= 0xDFFF) {
                i += 11;   /* a pair */
                continue;
            }
            bad = 1;
        }
        if (bad) {
            fixes++;
            if (out)
                memcpy(out + i + 2, "FFFD", 4);
        }
        i += 5;
    }
    return fixes;
}

/* An upper bound of the messages messages() would find in the text s: a
 * count of its documents (NDJSON has several), plus the commas between the
 * elements of a top-level array, or of an array directly in a top-level
 * object (batch, data). One pass, no allocation. */
static size_t count_messages(const char *s, size_t n)
{
    size_t count = 0, depth = 0;
    char outer[2] = {0, 0};   /* the containers at depth 0 and 1 */
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[') {
            if (depth == 0 || (depth == 1 && outer[0] == '{' && c == '['))
                count++;
            if (depth < 2)
                outer[depth] = c;
            depth++;
        } else if ((c == '}' || c == ']') && depth)
            depth--;
        else if (c == ',' && ((depth == 1 && outer[0] == '[') || (depth == 2 && outer[0] == '{' && outer[1] == '[')))
            count++;
    }
    return count;
}

/* The string value of the JSON member whose name ends at p (just past its
 * closing quote) in [p, end): its length with *val set, or 0 when what
 * follows is not ':' and a short string without escapes. */
static size_t member_value(const char *p, const char *end, const char **val)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p >= end || *p++ != ':')
        return 0;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p >= end || *p++ != '"')
        return 0;
    const char *v = p;
    while (p < end && *p != '"' && *p != '\\' && p - v < 256)
        p++;
    if (p >= end || *p != '"' || p == v)
        return 0;
    *val = v;
    return (size_t)(p - v);
}

/* The request carried no credential in its headers: is a live write key
 * in its body? The values of the members named writeKey, api_key, token
 * and $token, wherever they are, are read off the text without parsing it
 * (a value written with escapes is not seen); up to 16 are checked.
 * Returns 0 when one is live; else sets 401 (403 when one was a read
 * token) and returns -1. b->error stays empty: up_wire_response words it. */
static int body_key_check(up_wire_key_fn key_check, void *key_ctx, up_wire_batch_t *b, const char *s, size_t n)
{
    static const char *const names[] = {"\"writeKey\"", "\"api_key\"", "\"token\"", "\"$token\""};
    int read_token = 0, tried = 0;
    const char *end = s + n;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t nl = strlen(names[k]);
        for (const char *p = s; tried < 16 && p < end && (p = memmem(p, (size_t)(end - p), names[k], nl)); p += nl) {
            const char *val;
            size_t vl = member_value(p + nl, end, &val);
            if (!vl)
                continue;
            tried++;
            int kind = key_check(key_ctx, val, vl);
            if (kind == 1)
                return 0;
            read_token |= kind == 2;
        }
    }
    b->status = read_token ? 403 : 401;
    return -1;
}

/* Ids cannot hold what repair_escapes replaced: such a message is rejected
 * alone (a genuine U+FFFD in an id of the same batch is taken for one). */
static void check_repaired_ids(up_wire_msg_t *m, json_t *ev)
{
    static const char *const fields[] = {"user_id", "account_id", "message_id"};
    const char *ids[] = {m->user_id, m->account_id, m->message_id};
    for (int i = 0; i < 3 && !m->reject; i++)
        if (ids[i] && strstr(ids[i], "\xEF\xBF\xBD"))
            reject(m, ev, fields[i], "contains \\u0000 or an unpaired surrogate (\\uD800-\\uDFFF), which an id"
                                     " cannot hold");
}

/* ---- the request -------------------------------------------------------- */

static void fail(up_wire_batch_t *b, int status, const char *msg)
{
    b->status = status;
    snprintf(b->error, sizeof b->error, "%s", msg);
}

/* JSON: one document, or NDJSON (one per line) gathered into an array. */
static json_t *parse_json(const char *s, size_t n)
{
    json_t *j = json_loadb(s, n, JSON_DECODE_ANY, NULL);
    if (j)
        return j;
    json_t *arr = json_array();
    const char *p = s, *end = s + n;
    while (arr && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        const char *q = p;
        while (q < stop && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < stop) {
            json_t *line = json_loadb(q, (size_t)(stop - q), 0, NULL);
            if (!line) {
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, line);
        }
        p = stop + 1;
    }
    if (arr && json_array_size(arr) == 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static void basic_auth(up_wire_batch_t *b, const char *h, int also_password)
{
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return;
    size_t n;
    char *dec = b64_decode(h + 6, strlen(h + 6), &n);
    if (!dec)
        return;
    char *colon = memchr(dec, ':', n);
    size_t ul = colon ? (size_t)(colon - dec) : n;
    if (ul)
        add_key(b, hold(b, dec, ul));
    if (colon && also_password && n - ul - 1 > 0)
        add_key(b, hold(b, colon + 1, n - ul - 1));
    free(dec);
}

/* The bytes a body of ep may have after decompression. */
static size_t body_limit(int ep)
{
    return ep == EP_PH_BATCH ? UP_WIRE_MAX_BODY_POSTHOG_BATCH : UP_WIRE_MAX_BODY;
}

/* 1 when req's body is gzip: by header, magic bytes or compression=. */
static int gzipped(const up_wire_req_t *req)
{
    const char *q = req->query ? req->query : "";
    size_t vlen;
    const char *comp = form_value(q, strlen(q), "compression", &vlen);
    return (req->content_encoding && strstr(req->content_encoding, "gzip")) ||
           (req->body_len >= 2 && req->body[0] == 0x1f && req->body[1] == 0x8b) ||
           (comp && ((vlen == 4 && memcmp(comp, "gzip", 4) == 0) || (vlen == 7 && memcmp(comp, "gzip-js", 7) == 0)));
}

size_t up_wire_inflate_bound(const up_wire_req_t *req)
{
    int family;
    int ep = route(req->path, &family);
    if (ep == EP_NONE || !gzipped(req))
        return 0;
    return body_limit(ep);
}

/* The request's body as JSON text: gunzipped (by header, magic bytes or
 * compression=), unwrapped from data= (query or form, base64) or from a
 * legacy base64 PostHog body. *buf receives what to free. Returns the length,
 * or 0 after fail(). */
static size_t payload(const up_wire_req_t *req, up_wire_batch_t *b, int ep, const char **out, char **buf)
{
    const char *q = req->query ? req->query : "";
    size_t qlen = strlen(q), vlen;
    size_t limit = body_limit(ep);
    const char *body = (const char *)req->body;
    size_t blen = req->body_len;
    char *inflated = NULL, *unwrapped = NULL;
    *buf = NULL;
    const char *comp = form_value(q, qlen, "compression", &vlen);
    int gz = gzipped(req);
    if (comp && vlen == 4 && memcmp(comp, "lz64", 4) == 0)
        return fail(b, 400, "compression=lz64 is not supported; send gzip or plain JSON"), 0;
    if (gz && blen) {
        int rc = gunzip(req->body, blen, limit, &inflated, &blen);
        if (rc == -2)
            return fail(b, 413, "body larger than the limit after decompression"), 0;
        if (rc < 0)
            return fail(b, 400, "body is not valid gzip"), 0;
        body = inflated;
    } else if (blen > limit)
        return fail(b, 413, "body larger than the limit"), 0;
    /* data= in the query (Mixpanel GET) or as a form body */
    const char *data = NULL;
    size_t dlen = 0;
    if (blen > 5 && memcmp(body, "data=", 5) == 0) {
        data = form_value(body, blen, "data", &dlen);
    } else if (blen == 0)
        data = form_value(q, qlen, "data", &dlen);
    if (data) {
        size_t pl, bl;
        char *pct = pct_decode(data, dlen, 0, &pl);   /* '+' stays '+': it is base64 */
        unwrapped = pct ? b64_decode(pct, pl, &bl) : NULL;
        if (!unwrapped && pct && pl && (pct[0] == '{' || pct[0] == '[')) {
            unwrapped = pct;   /* data= holding plain JSON */
            pct = NULL;
            bl = pl;
        }
        free(pct);
        if (!unwrapped) {
            free(inflated);
            return fail(b, 400, "data= is not valid base64"), 0;
        }
        body = unwrapped;
        blen = bl;
    } else if (b->family == UP_WIRE_POSTHOG && blen && body[0] != '{' && body[0] != '[') {
        /* a legacy still-base64 body */
        size_t bl;
        unwrapped = b64_decode(body, blen, &bl);
        if (unwrapped) {
            body = unwrapped;
            blen = bl;
        }
    }
    if (unwrapped) {   /* the unwrapped text is all that is needed from here */
        free(inflated);
        *buf = unwrapped;
    } else
        *buf = inflated;
    if (blen == 0) {
        free(*buf);
        *buf = NULL;
        return fail(b, 400, "empty body"), 0;
    }
    *out = body;
    return blen;
}

static void bearer_key(const up_wire_req_t *req, up_wire_batch_t *b)
{
    const char *auth = req->authorization;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        add_key(b, auth + 7);
}

/* the legacy Mixpanel key in the query: it comes last */
static void query_key(const up_wire_req_t *req, up_wire_batch_t *b)
{
    size_t vlen;
    const char *q = req->query ? req->query : "";
    const char *ak = form_value(q, strlen(q), "api_key", &vlen);
    if (ak && vlen)
        add_key(b, hold(b, ak, vlen));
}

/* The messages of the parsed body, by client family, and the keys it carries. */
static void messages(const up_wire_req_t *req, up_wire_batch_t *b, int ep, const char *group_type, size_t blen)
{
    json_t *root = b->root;
    add_key(b, json_string_value(get(root, "writeKey")));
    add_key(b, json_string_value(get(root, "api_key")));
    bearer_key(req, b);
    json_t *list = root;
    json_t *batch = get(root, "batch");
    if (json_is_array(batch))
        list = batch;
    else if (json_is_object(root) && (ep == EP_PH_BATCH || ep == EP_SEG_BATCH) && json_is_array(get(root, "data")))
        list = get(root, "data");
    size_t cap = 0, n = json_is_array(list) ? json_array_size(list) : 1;
    int64_t now = req->received_ms;
    json_t *sent = get(root, "sentAt");
    if (!sent)
        sent = get(root, "sent_at");
    if (!sent)
        sent = get(root, "created_at");
    for (size_t i = 0; i < n; i++) {
        json_t *ev = json_is_array(list) ? json_array_get(list, i) : list;
        size_t before = b->n_msgs;
        if (b->family == UP_WIRE_SEGMENT)
            seg_msg(b, ev, ep, sent, now, &cap, blen);
        else if (b->family == UP_WIRE_POSTHOG)
            ph_msg(b, ev, group_type, sent, now, &cap, blen);
        else
            mp_msg(b, ev, ep, group_type, now, &cap, blen);
        if (b->repaired && b->n_msgs > before)
            check_repaired_ids(&b->msgs[before], ev);
    }
    query_key(req, b);
    if (b->n_msgs < n)
        fail(b, 400, "out of memory");
}

/* Resets b and routes req: the endpoint, or EP_NONE after fail(). */
static int start(const up_wire_req_t *req, up_wire_batch_t *b)
{
    memset(b, 0, sizeof *b);
    b->held = json_array();
    b->status = 200;
    int ep = route(req->path, &b->family);
    if (ep == EP_NONE)
        return fail(b, 404, "no such path"), EP_NONE;
    b->v1 = ep == EP_PH_V1;
    const char *q = req->query ? req->query : "";
    size_t vlen;
    const char *v = form_value(q, strlen(q), "verbose", &vlen);
    b->verbose = v && vlen == 1 && v[0] == '1';
    if (!b->held)
        return fail(b, 400, "out of memory"), EP_NONE;
    return ep;
}

void up_wire_header_keys(const up_wire_req_t *req, up_wire_batch_t *b)
{
    int ep = start(req, b);
    if (ep == EP_NONE)
        return;
    basic_auth(b, req->authorization, ep == EP_MP_IMPORT);
    bearer_key(req, b);
    query_key(req, b);
}

/* What is done to the body's text before it is parsed: the key check of a
 * request without credentials in its headers, the bound on its messages,
 * and the repair of the escapes jansson refuses (into *buf, a copy made
 * when the text was still the request's own). Returns 0, or -1 after
 * setting b->status. */
static int before_parse(up_wire_key_fn key_check, void *key_ctx, up_wire_batch_t *b, const char **body, char **buf,
                        size_t blen)
{
    if (key_check && body_key_check(key_check, key_ctx, b, *body, blen) < 0)
        return -1;
    if (count_messages(*body, blen) > UP_WIRE_MAX_MESSAGES) {
        snprintf(b->error, sizeof b->error, "more than %d messages in one request; send at most %d per request",
                 UP_WIRE_MAX_MESSAGES, UP_WIRE_MAX_MESSAGES);
        b->status = 413;
        return -1;
    }
    b->repaired = repair_escapes(*body, blen, NULL);
    if (!b->repaired)
        return 0;
    if (!*buf) {
        if (!(*buf = malloc(blen)))
            return fail(b, 400, "out of memory"), -1;
        memcpy(*buf, *body, blen);
    }
    repair_escapes(*body, blen, *buf);
    *body = *buf;
    return 0;
}

void up_wire_decode_keyed(const up_wire_req_t *req, up_wire_key_fn key_check, void *key_ctx, up_wire_batch_t *b)
{
    const char *group_type = req->group_type && *req->group_type ? req->group_type : "company";
    int ep = start(req, b);
    if (ep == EP_NONE || strcmp(req->method, "OPTIONS") == 0)
        return;
    /* credentials that do not depend on the body */
    basic_auth(b, req->authorization, ep == EP_MP_IMPORT);
    /* a plain body too large to decode: 401 without a key in it, like any other */
    if (key_check && !gzipped(req) && req->body_len > body_limit(ep) &&
        body_key_check(key_check, key_ctx, b, (const char *)req->body, req->body_len) < 0)
        return;
    const char *body;
    char *buf;
    size_t blen = payload(req, b, ep, &body, &buf);
    if (!blen)
        return;
    if (before_parse(key_check, key_ctx, b, &body, &buf, blen) < 0) {
        free(buf);
        return;
    }
    json_arena = &b->arena;
    b->root = parse_json(body, blen);
    json_arena = NULL;
    free(buf);
    if (!b->root)
        return fail(b, 400, "body is not valid JSON (an object, an array or NDJSON)");
    messages(req, b, ep, group_type, blen);
}

void up_wire_decode(const up_wire_req_t *req, up_wire_batch_t *b)
{
    up_wire_decode_keyed(req, NULL, NULL, b);
}

void up_wire_batch_free(up_wire_batch_t *b)
{
    for (size_t i = 0; i < b->n_msgs; i++)
        free(b->msgs[i].record);
    free(b->msgs);
    json_decref(b->root);
    json_decref(b->held);
    json_arena_free(b->arena);
    b->arena = NULL;
    memset(b, 0, sizeof *b);
}

const char *up_wire_response(up_wire_batch_t *b, int status, const char **ctype)
{
    const char *msg = b->error[0] ? b->error
                    : status == 401 ? "unknown or missing write key (create one with `uptake keys create --write`)"
                    : status == 403 ? "this is a read token; sending events needs a write key"
                    : status == 429 ? "busy: retry after the time in Retry-After"
                    : status == 503 ? "storage unavailable; retry later"
                    : "error";
    up_buf_t j = {0};
    up_fmt_json_str(&j, msg);
    const char *quoted = j.data ? j.data : "\"error\"";
    if (b->family == UP_WIRE_MIXPANEL) {
        *ctype = b->verbose ? "application/json" : "text/plain";
        if (status == 200)
            snprintf(b->response, sizeof b->response, "%s", b->verbose ? "{\"status\":1,\"error\":null}" : "1");
        else if (b->verbose)
            snprintf(b->response, sizeof b->response, "{\"status\":0,\"error\":%.280s}", quoted);
        else
            snprintf(b->response, sizeof b->response, "0");
    } else {
        *ctype = "application/json";
        if (status == 200)
            snprintf(b->response, sizeof b->response, "%s",
                     b->family == UP_WIRE_POSTHOG ? (b->v1 ? "{\"results\":{}}" : "{\"status\":1}") : "{\"success\":true}");
        else
            snprintf(b->response, sizeof b->response, "{\"error\":%.290s}", quoted);
    }
    up_buf_free(&j);
    return b->response;
}
