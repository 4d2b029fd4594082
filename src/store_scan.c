/* store_scan: reading the stream of events back (for what the rollup does
 * not keep: workflows, error events, use counts), and naming points of the
 * log for results kept across runs. The store's state: store_int.h. */
#include "store_int.h"
#include "store_ch_scan.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t T;
    const uint8_t *want;
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
        if (ev->event < c->n_want && c->want[ev->event] &&
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

static int scan_events(up_store_t *s, int64_t from, int64_t T, const uint8_t *want, uint32_t n_want,
                       const uint64_t *pairs, uint32_t n_pairs, up_event_fn fn, void *ctx)
{
    int rc = up_store_sync(s);     /* pending events of a writer go first (no snapshot) */
    if (rc < 0)
        return rc;
    if (s->ch)   /* ids of s->roll, as the log's are */
        return (rc = up_st_ensure_rollup(s)) < 0 ? rc : up_ch_scan_events(s->ch, &s->roll, NULL, from, T, want, n_want, fn, ctx);
    scan_ctx_t c = {T, want, n_want, pairs, n_pairs, fn, ctx};
    up_log_scan_t sc;
    up_log_range_t *ranges = NULL;
    size_t n = 0;
    char *p = from > INT64_MIN ? up_st_path_in(s, "events.idx") : NULL;
    if (p && up_store_log_ranges_read(p, &ranges, &n) < 0)
        n = 0;   /* unreadable: every block is read */
    free(p);
    if (!n)
        rc = up_st_scan_log(s, 0, scan_cb, &c, 0, &sc);
    else {
        memset(&sc, 0, sizeof sc);
        sc.acked = s->mark.acked;
        sc.limit = up_st_read_limit(s);
        rc = up_store_log_scan_window(s->log_fd, 0, ranges, n, from, T, scan_cb, &c, &sc);
        if (rc == -UP_ECORRUPT && sc.what)
            up_st_damage_notice(s, &sc);
    }
    free(ranges);
    return rc;
}

int up_store_scan_events(up_store_t *s, int64_t from, int64_t T, const uint8_t *want, uint32_t n_want,
                         up_event_fn fn, void *ctx)
{
    return scan_events(s, from, T, want, n_want, NULL, 0, fn, ctx);
}

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
    uint64_t *pairs = calloc((size_t)r->n_pairs / 64 + 1, sizeof *pairs);
    if (!pairs)
        return -UP_ENOMEM;
    for (uint32_t i = 0; i < r->n_pairs; i++)
        if (r->pairs[i].account == (uint32_t)aid)
            pairs[i >> 6] |= 1ULL << (i & 63);
    rc = scan_events(s, from, T, want, n_want, pairs, r->n_pairs, fn, ctx);
    free(pairs);
    return rc;
}
