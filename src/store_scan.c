/* store_scan: reading the stream of events back (for what the rollup does
 * not keep: workflows, error events, use counts), and naming points of the
 * log for results kept across runs. The store's state: store_int.h. */
#include "store_int.h"
#include "acx.h"
#include "store_ch_scan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t T;
    const uint8_t *want;     /* NULL: every event name */
    uint32_t n_want;
    const uint64_t *pairs;   /* one account's pairs (bit per pair id), or NULL for every pair */
    uint32_t n_pairs;
    up_event_fn fn;
    void *ctx;
} scan_ctx_t;

static int scan_cb(void *ctx, const up_block_t *b)
{
    scan_ctx_t *c = ctx;
    for (uint32_t i = 0; i < b->n_events; i++) {
        const up_ev_t *ev = &b->events[i];
        if (ev->ts > c->T)
            break;   /* sorted within the block */
        if ((!c->want || (ev->event < c->n_want && c->want[ev->event])) &&
            (!c->pairs || (ev->pair < c->n_pairs && (c->pairs[ev->pair >> 6] >> (ev->pair & 63) & 1)))) {
            int rc = c->fn(c->ctx, ev);
            if (rc)
                return rc;
        }
    }
    return 0;
}

uint64_t up_store_model_hash(const up_store_t *s)
{
    return s->model_hash;
}

int up_store_point(up_store_t *s, up_store_point_t *p)
{
    memset(p, 0, sizeof *p);
    if (s->ch || !s->roll_ready)
        return -UP_EINVAL;
    p->end = s->log_end;
    if (!p->end)
        return 0;
    char *path = up_st_path_in(s, "events.idx");
    up_log_range_t *r = NULL;
    size_t n = 0;
    int rc = path ? up_store_log_ranges_read(path, &r, &n) : -UP_ENOMEM;
    free(path);
    rc = rc < 0 ? rc : -UP_EINVAL;   /* until the block that ends the log is found */
    for (size_t i = 0; i < n; i++)
        if (r[i].off + 16 + r[i].clen == p->end) {   /* the block that ends the log */
            p->last_off = r[i].off;
            p->last_crc = r[i].hdr_crc;
            rc = 0;
        }
    free(r);
    return rc;
}

int up_store_unchanged_to(up_store_t *s, const up_store_point_t *p, int64_t T)
{
    if (s->ch || !s->roll_ready || s->log_end < p->end)
        return 0;
    char *path = up_st_path_in(s, "events.idx");
    up_log_range_t *r = NULL;
    size_t n = 0;
    int ok = path && up_store_log_ranges_read(path, &r, &n) == 0 &&
             up_store_log_unchanged(s->log_fd, r, n, p->last_off, p->last_crc, p->end, s->log_end, T);
    free(path);
    free(r);
    return ok;
}

/* The block time ranges of events.idx into *out; 0 when there are none or
 * the file cannot be read (every block is read then). */
static size_t read_ranges(up_store_t *s, up_log_range_t **out)
{
    size_t n = 0;
    char *p = up_st_path_in(s, "events.idx");
    *out = NULL;
    if (p && up_store_log_ranges_read(p, out, &n) < 0)
        n = 0;
    free(p);
    return n;
}

/* The log's blocks from offset start through c's events: those that may
 * hold events of [from, T] when events.idx says which (every block when
 * from is INT64_MIN or it says nothing); damage goes to the notice. */
static int scan_from(up_store_t *s, uint64_t start, int64_t from, int64_t T, scan_ctx_t *c)
{
    up_log_scan_t sc;
    up_log_range_t *ranges = NULL;
    size_t n = from > INT64_MIN ? read_ranges(s, &ranges) : 0;
    int rc;
    if (!n)
        rc = up_st_scan_log(s, start, scan_cb, c, 0, &sc);
    else {
        memset(&sc, 0, sizeof sc);
        sc.acked = s->mark.acked;
        sc.limit = up_st_read_limit(s);
        rc = up_store_log_scan_window(s->log_fd, start, ranges, n, from, T, scan_cb, c, &sc);
        if (rc == -UP_ECORRUPT && sc.what)
            up_st_damage_notice(s, &sc);
    }
    free(ranges);
    return rc;
}

int up_store_scan_events(up_store_t *s, int64_t from, int64_t T, const uint8_t *want, uint32_t n_want,
                         up_event_fn fn, void *ctx)
{
    int rc = up_store_sync(s);     /* pending events of a writer go first (no snapshot) */
    if (rc < 0)
        return rc;
    if (s->ch)   /* ids of s->roll, as the log's are */
        return (rc = up_st_ensure_rollup(s)) < 0
             ? rc : up_ch_scan_events(s->ch, &s->roll, NULL, from, T, want, n_want, fn, ctx);
    scan_ctx_t c = {T, want, n_want, NULL, 0, fn, ctx};
    return scan_from(s, 0, from, T, &c);
}

/* ---- one account's events ---------------------------------------------- */

typedef struct {
    up_ev_t *ev;
    size_t n, cap;
} evvec_t;

static int push_ev(void *ctx, const up_ev_t *ev)
{
    evvec_t *v = ctx;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        up_ev_t *e = realloc(v->ev, cap * sizeof *e);
        if (!e)
            return -UP_ENOMEM;
        v->ev = e;
        v->cap = cap;
    }
    v->ev[v->n++] = *ev;
    return 0;
}

/* One half of the log, scanned on a thread of its own into out. */
typedef struct {
    int fd;
    uint64_t start;
    const up_log_range_t *ranges;
    size_t n;
    int64_t from;
    scan_ctx_t c;
    evvec_t out;
    up_log_scan_t sc;
    int rc;
} half_t;

static void *scan_half(void *arg)
{
    half_t *h = arg;
    h->c.ctx = &h->out;
    h->rc = up_store_log_scan_window(h->fd, h->start, h->ranges, h->n, h->from, h->c.T, scan_cb, &h->c, &h->sc);
    return NULL;
}

/* The offset of the block that halves the compressed bytes of the blocks
 * holding events of [from, T], or 0 when there is no such split. */
static uint64_t split_at(const up_log_range_t *r, size_t n, int64_t from, int64_t T)
{
    uint64_t total = 0, sum = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].min_ts <= r[i].max_ts && r[i].max_ts >= from && r[i].min_ts <= T)
            total += r[i].clen;
    for (size_t i = 0; i < n; i++)
        if (r[i].min_ts <= r[i].max_ts && r[i].max_ts >= from && r[i].min_ts <= T) {
            if (sum && sum >= total / 2)
                return r[i].off;
            sum += r[i].clen;
        }
    return 0;
}

void up_store_acx_update(up_store_t *s)
{
    if (!s->ch && s->roll_ready && up_store_sync(s) == 0)
        up_st_acx_update(s);
}

void up_st_acx_update(up_store_t *s)
{
    /* zstd level 1: the log's own level (3) would double the time and save
     * little on blocks this size */
    int rc = up_acx_update(s->dir, s->log_fd, s->mark.acked, s->log_end, s->roll.pairs, s->roll.n_pairs,
                           up_acx_min_bytes(), 1);
    if (rc < 0) {
        up_st_notice(s, "cannot write events.acx (%s); the log is intact and readers read it instead",
                     up_strerror(rc));
    }
    if (rc > 0) {   /* a scan opens the new index */
        up_acx_close(s->acx);
        s->acx = NULL;
        s->acx_tried = 0;
    }
}

/* The store's log grouped by account, opened on first use: NULL when there
 * is none, it does not match the log (a notice says so), or a reader beside
 * an unfinished import may not read all it covers. */
static up_acx_t *acx_of(up_store_t *s)
{
    if (!s->acx_tried) {
        s->acx_tried = 1;
        char why[256] = "";
        if (up_acx_open(s->dir, s->log_fd, s->log_end, &s->acx, why, sizeof why) == 0 && !s->acx && why[0])
            up_st_notice(s, "%s; read events.log instead", why);
    }
    uint64_t limit = up_st_read_limit(s);
    return s->acx && !(limit && up_acx_covered(s->acx) >= limit) ? s->acx : NULL;
}

/* account_scan from the log grouped by account: the account's group's
 * blocks of [from, T], then the log after the part they cover. Returns
 * -UP_ENOTFOUND when there is no such log (or it fails a check: a notice
 * says which, and the caller reads the log). */
static int acx_scan(up_store_t *s, int64_t from, int64_t T, uint32_t aid, const uint64_t *pairs, uint32_t n_pairs,
                    evvec_t *out)
{
    up_acx_t *x = acx_of(s);
    if (!x)
        return -UP_ENOTFOUND;
    scan_ctx_t c = {T, NULL, 0, pairs, n_pairs, push_ev, out};
    char why[256] = "";
    int rc = up_acx_scan(x, aid, from, T, s->roll.pairs, s->roll.n_pairs, scan_cb, &c, why, sizeof why);
    if (rc == 0)
        return scan_from(s, up_acx_covered(x), from, T, &c);
    if (rc == -UP_ECORRUPT) {
        up_st_notice(s, "%s; read events.log instead", why);
        up_acx_close(s->acx);
        s->acx = NULL;
        free(out->ev);
        *out = (evvec_t){NULL, 0, 0};
        return -UP_ENOTFOUND;
    }
    return rc;
}

/* Every event of the pairs set in pairs with ts <= T, from the blocks that
 * may hold events of [from, T], into out in log order: the blocks before
 * the split on this thread and those after it on another, each decoding
 * its own half (the decoding is what a scan costs). When the first half
 * does not end exactly where the second began (events.idx out of step with
 * the log), the log is read again on one thread. */
static int account_scan(up_store_t *s, int64_t from, int64_t T, const uint64_t *pairs, uint32_t n_pairs,
                        evvec_t *out)
{
    up_log_range_t *ranges;
    size_t n = read_ranges(s, &ranges);
    uint64_t limit = up_st_read_limit(s);
    uint64_t mid = split_at(ranges, n, from, T);
    if (limit && mid + 1 >= limit)
        mid = 0;
    half_t h[2];
    memset(h, 0, sizeof h);
    for (int k = 0; k < 2; k++) {
        h[k] = (half_t){s->log_fd, k ? mid : 0, ranges, n, n ? from : INT64_MIN,
                        {T, NULL, 0, pairs, n_pairs, push_ev, NULL}, {NULL, 0, 0}, {0}, 0};
        h[k].sc.acked = s->mark.acked;
        h[k].sc.limit = limit;
    }
    pthread_t tid;
    int two = mid && pthread_create(&tid, NULL, scan_half, &h[1]) == 0;
    if (two) {
        h[0].sc.limit = mid + 1;   /* stop at the block the other thread starts with */
        if (h[0].sc.acked > mid)
            h[0].sc.acked = mid;
    }
    scan_half(&h[0]);
    if (two)
        pthread_join(tid, NULL);
    if (two && h[0].rc == 0 && h[0].sc.end != mid) {   /* the halves do not meet: read it all here */
        free(h[0].out.ev);
        free(h[1].out.ev);
        memset(&h[0].out, 0, sizeof h[0].out);
        memset(&h[1].out, 0, sizeof h[1].out);
        h[0].sc.limit = limit;
        h[0].sc.acked = s->mark.acked;
        scan_half(&h[0]);
        two = 0;
    }
    free(ranges);
    int rc = h[0].rc ? h[0].rc : two ? h[1].rc : 0;
    const half_t *bad = h[0].rc ? &h[0] : &h[1];
    if (rc == -UP_ECORRUPT && bad->sc.what)
        up_st_damage_notice(s, &bad->sc);
    if (rc == 0 && two && h[1].out.n) {   /* the second half after the first */
        size_t total = h[0].out.n + h[1].out.n;
        up_ev_t *ev = realloc(h[0].out.ev, total * sizeof *ev);
        if (!ev)
            rc = -UP_ENOMEM;
        else {
            memcpy(ev + h[0].out.n, h[1].out.ev, h[1].out.n * sizeof *ev);
            h[0].out = (evvec_t){ev, total, total};
        }
    }
    free(h[1].out.ev);
    if (rc < 0) {
        free(h[0].out.ev);
        return rc;
    }
    *out = h[0].out;
    return 0;
}

void up_st_acct_scan_free(up_store_t *s)
{
    free(s->acct_scan.account);
    free(s->acct_scan.ev);
    memset(&s->acct_scan, 0, sizeof s->acct_scan);
}

/* An account's events kept for a later scan at most this many (16 bytes each). */
#define ACCT_SCAN_KEEP (1u << 22)

int up_store_scan_account_events(up_store_t *s, const char *account, int64_t from, int64_t T, const uint8_t *want,
                                 uint32_t n_want, up_event_fn fn, void *ctx)
{
    int rc;
    if ((rc = up_store_sync(s)) < 0 || (rc = up_st_ensure_rollup(s)) < 0)
        return rc;
    if (s->ch)
        return up_ch_scan_events(s->ch, &s->roll, account, from, T, want, n_want, fn, ctx);
    /* the account's pairs as a bitmap: the scan hands on only their events
     * (looking each event's pair up in the pair records missed the cache
     * for every event of the window) */
    const up_rollup_t *r = &s->roll;
    int64_t aid = up_dict_find(&r->dict[UP_KIND_ACCOUNT], account, strlen(account));
    if (aid < 0)
        return 0;   /* no event of this account */
    int same = s->acct_scan.account && !strcmp(s->acct_scan.account, account) && s->acct_scan.log_end == s->log_end;
    if (!same || from < s->acct_scan.from || T > s->acct_scan.T) {
        /* the account's events of the window, and of the kept one's when it
         * was the same account's (the page's second scan then reads them) */
        int64_t f = same && s->acct_scan.from < from ? s->acct_scan.from : from;
        int64_t t = same && s->acct_scan.T > T ? s->acct_scan.T : T;
        uint64_t *pairs = calloc((size_t)r->n_pairs / 64 + 1, sizeof *pairs);
        if (!pairs)
            return -UP_ENOMEM;
        for (uint32_t i = 0; i < r->n_pairs; i++)
            if (r->pairs[i].account == (uint32_t)aid)
                pairs[i >> 6] |= 1ULL << (i & 63);
        evvec_t v = {NULL, 0, 0};
        rc = acx_scan(s, f, t, (uint32_t)aid, pairs, r->n_pairs, &v);
        if (rc == -UP_ENOTFOUND)
            rc = account_scan(s, f, t, pairs, r->n_pairs, &v);
        free(pairs);
        up_st_acct_scan_free(s);
        if (rc < 0)
            return rc;
        s->acct_scan.ev = v.ev;
        s->acct_scan.n = v.n;
        s->acct_scan.from = f;
        s->acct_scan.T = t;
        s->acct_scan.log_end = s->log_end;
        s->acct_scan.account = v.n <= ACCT_SCAN_KEEP ? up_strdup(account) : NULL;
    }
    /* the kept events hold every name up to the kept T: those of this call */
    const up_ev_t *ev = s->acct_scan.ev;
    for (size_t i = 0; rc == 0 && i < s->acct_scan.n; i++)
        if (ev[i].ts <= T && ev[i].event < n_want && want[ev[i].event])
            rc = fn(ctx, &ev[i]);
    if (!s->acct_scan.account)   /* too many to keep */
        up_st_acct_scan_free(s);
    return rc;
}
