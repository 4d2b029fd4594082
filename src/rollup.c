/* rollup (store layer): folding events into per-pair day bitmaps, and the snapshot
 * file that lets a report open the store without re-reading the log.
 *
 * Bitmaps grow in 64-day words in either direction, so a pair costs a few
 * words whatever the store's date range. The snapshot is a flat little-endian
 * dump; it is only a cache of the log, so its format may change freely: a
 * mismatching header makes the caller rebuild from the log. */
#include "rollup.h"
#include "timeparse.h"
#include "util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int32_t floor64(int32_t day)
{
    return day >= 0 ? day / 64 * 64 : -((-day + 63) / 64) * 64;
}

int up_days_set(up_days_t *d, int32_t day)
{
    int32_t wbase = floor64(day);
    if (d->nw == 0) {
        d->w = calloc(1, sizeof *d->w);
        if (!d->w)
            return -UP_ENOMEM;
        d->base = wbase;
        d->nw = 1;
        d->borrowed = 0;
    } else if (d->borrowed) {
        /* copy out of the snapshot mapping before the first change */
        uint64_t *w = malloc(d->nw * sizeof *w);
        if (!w)
            return -UP_ENOMEM;
        memcpy(w, d->w, d->nw * sizeof *w);
        d->w = w;
        d->borrowed = 0;
        return up_days_set(d, day);
    } else if (wbase < d->base) {
        uint32_t extra = (uint32_t)((d->base - wbase) / 64);
        if (d->nw + extra > UINT16_MAX)
            return -UP_EINVAL;   /* a span of days no real data has */
        uint64_t *w = calloc(d->nw + extra, sizeof *w);
        if (!w)
            return -UP_ENOMEM;
        memcpy(w + extra, d->w, d->nw * sizeof *w);
        free(d->w);
        d->w = w;
        d->nw = (uint16_t)(d->nw + extra);
        d->base = wbase;
    } else if ((wbase - d->base) / 64 >= (int32_t)d->nw) {
        uint32_t nw = (uint32_t)((wbase - d->base) / 64) + 1;
        if (nw > UINT16_MAX)
            return -UP_EINVAL;
        uint64_t *w = realloc(d->w, nw * sizeof *w);
        if (!w)
            return -UP_ENOMEM;
        memset(w + d->nw, 0, (nw - d->nw) * sizeof *w);
        d->w = w;
        d->nw = (uint16_t)nw;
    }
    int32_t off = day - d->base;
    d->w[off / 64] |= 1ULL << (off % 64);
    return 0;
}

int up_days_count(const up_days_t *d, int32_t from, int32_t to)
{
    if (!d->nw)
        return 0;
    int32_t lo = from - d->base, hi = to - d->base;
    int32_t max = (int32_t)d->nw * 64 - 1;
    if (lo < 0)
        lo = 0;
    if (hi > max)
        hi = max;
    int count = 0;
    while (lo <= hi) {
        int32_t wi = lo / 64, bit = lo % 64;
        int32_t last = wi * 64 + 63 < hi ? 63 : hi - wi * 64;
        uint64_t mask = (last == 63 ? ~0ULL : ((1ULL << (last + 1)) - 1)) & (~0ULL << bit);
        count += __builtin_popcountll(d->w[wi] & mask);
        lo = wi * 64 + 64;
    }
    return count;
}

int up_days_any(const up_days_t *d, int32_t from, int32_t to)
{
    return up_days_count(d, from, to) > 0;
}

/* 64 bits of d starting at bit offset off (relative to base); zeros outside. */
static uint64_t get64(const up_days_t *d, int64_t off)
{
    int64_t wi = off >= 0 ? off / 64 : -((-off + 63) / 64);
    int sh = (int)(off - wi * 64);
    uint64_t lo = (wi >= 0 && wi < d->nw) ? d->w[wi] : 0;
    if (sh == 0)
        return lo;
    uint64_t hi = (wi + 1 >= 0 && wi + 1 < d->nw) ? d->w[wi + 1] : 0;
    return (lo >> sh) | (hi << (64 - sh));
}

void up_days_window128(const up_days_t *d, int32_t from, uint64_t out[2])
{
    if (!d->nw) {
        out[0] = out[1] = 0;
        return;
    }
    int64_t off = (int64_t)from - d->base;
    out[0] = get64(d, off);
    out[1] = get64(d, off + 64);
}

int up_rollup_bits128_count(const uint64_t w[2], int lo, int hi)
{
    int count = 0;
    for (int k = 0; k < 2; k++) {
        int a = lo - 64 * k, b = hi - 64 * k;
        if (b < 0 || a > 63)
            continue;
        if (a < 0)
            a = 0;
        if (b > 63)
            b = 63;
        uint64_t mask = (b == 63 ? ~0ULL : ((1ULL << (b + 1)) - 1)) & (~0ULL << a);
        count += __builtin_popcountll(w[k] & mask);
    }
    return count;
}

void up_days_free(up_days_t *d)
{
    if (!d->borrowed)
        free(d->w);
    d->w = NULL;
    d->nw = 0;
}

void up_rollup_init(up_rollup_t *r, const up_model_t *model, int64_t cutoff)
{
    memset(r, 0, sizeof *r);
    for (int k = 0; k < UP_KINDS; k++)
        up_dict_init(&r->dict[k]);
    up_map64_init(&r->pair_index);
    r->model = model;
    r->cutoff = cutoff;
    r->min_ts = UP_TS_NONE;
    r->max_ts = INT64_MIN;
    r->users_gen = -1;
}

static void pair_free(up_pair_t *p)
{
    up_days_free(&p->active);
    for (uint32_t i = 0; i < p->n_pf; i++) {
        up_days_free(&p->pf[i].used);
        up_days_free(&p->pf[i].advanced);
    }
    if (p->cap_pf)
        free(p->pf);
    if (p->cap_ka)
        free(p->ka);
    if (p->cap_evd)
        free(p->evd);
}

void up_rollup_free(up_rollup_t *r)
{
    for (int k = 0; k < UP_KINDS; k++)
        up_dict_free(&r->dict[k]);
    up_map64_free(&r->pair_index);
    for (uint32_t i = 0; i < r->n_pairs; i++)
        pair_free(&r->pairs[i]);
    free(r->pairs);
    for (uint32_t i = 0; i < r->n_evclass; i++)
        free(r->evclass[i].roles);
    free(r->evclass);
    if (r->map)
        munmap(r->map, r->map_len);
    if (r->pf_pool)
        munmap(r->pf_pool, r->pf_pool_len);
    memset(r, 0, sizeof *r);
}

/* Builds pair_index for pairs appended by a snapshot load; a report never
 * needs it, so a load does not pay for it. */
static int build_pair_index(up_rollup_t *r)
{
    r->index_stale = 0;
    for (uint32_t i = 0; i < r->n_pairs; i++) {
        int added;
        uint32_t *slot = up_map64_slot(&r->pair_index, (uint64_t)r->pairs[i].account << 32 | r->pairs[i].user, &added);
        if (!slot)
            return -UP_ENOMEM;
        if (!added)
            return -UP_ECORRUPT;
        *slot = i;
    }
    return 0;
}

int64_t up_rollup_pair(up_rollup_t *r, uint32_t account, uint32_t user, int *added)
{
    *added = 0;
    if (r->index_stale) {
        int rc = build_pair_index(r);
        if (rc < 0)
            return rc;
    }
    uint32_t *slot = up_map64_slot(&r->pair_index, (uint64_t)account << 32 | user, added);
    if (!slot)
        return -UP_ENOMEM;
    if (!*added)
        return *slot;
    if (r->n_pairs == r->cap_pairs) {
        uint32_t cap = r->cap_pairs ? r->cap_pairs * 2 : 1024;
        up_pair_t *p = realloc(r->pairs, cap * sizeof *p);
        if (!p)
            return -UP_ENOMEM;
        r->pairs = p;
        r->cap_pairs = cap;
    }
    up_pair_t *p = &r->pairs[r->n_pairs];
    memset(p, 0, sizeof *p);
    p->account = account;
    p->user = user;
    p->first_ts = p->first_ka_ts = p->created_at = UP_TS_NONE;
    p->last_ts = INT64_MIN;
    *slot = r->n_pairs;
    return r->n_pairs++;
}

int up_rollup_reserve_pairs(up_rollup_t *r, uint32_t n)
{
    if (n <= r->cap_pairs)
        return 0;
    up_pair_t *p = realloc(r->pairs, n * sizeof *p);
    if (!p)
        return -UP_ENOMEM;
    r->pairs = p;
    r->cap_pairs = n;
    return 0;
}

static int in_list(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* Classifies event-name id e from the model (once per name). */
static int classify(up_rollup_t *r, uint32_t e)
{
    if (e < r->n_evclass)
        return 0;
    up_evclass_t *c = realloc(r->evclass, (e + 1) * sizeof *c);
    if (!c)
        return -UP_ENOMEM;
    r->evclass = c;
    for (uint32_t id = r->n_evclass; id <= e; id++) {
        up_evclass_t *ec = &c[id];
        memset(ec, 0, sizeof *ec);
        const char *name = up_dict_str(&r->dict[UP_KIND_EVENT], id);
        const up_model_t *m = r->model;
        if (!m)
            continue;
        ec->passive = (uint8_t)in_list(m->passive_events, m->n_passive, name);
        ec->key_action = (uint8_t)in_list(m->key_actions, m->n_key_actions, name);
        for (size_t f = 0; f < m->n_features; f++) {
            const up_feature_t *ft = &m->features[f];
            int role = -1;
            if (in_list(ft->exposure_events, ft->n_exposure, name))
                role = 2;
            else if (in_list(ft->advanced_events, ft->n_advanced, name))
                role = 1;
            else if (in_list(ft->events, ft->n_events, name))
                role = 0;
            if (role < 0)
                continue;
            if (role == 2)
                ec->passive = 1; /* exposure events are passive */
            uint32_t *roles = realloc(ec->roles, (ec->n_roles + 1u) * sizeof *roles);
            if (!roles)
                return -UP_ENOMEM;
            ec->roles = roles;
            ec->roles[ec->n_roles++] = (uint32_t)f << 2 | (uint32_t)role;
        }
        r->n_evclass = id + 1;
    }
    return 0;
}

/* A pair's array of n items with capacity *cap doubled (to first when empty);
 * with *cap 0 and n items the array is borrowed (from a mapped snapshot) and
 * is copied out. Returns the new array with *cap set, or NULL (both kept). */
static void *grow_pair_array(void *items, uint32_t n, uint32_t *cap, uint32_t first, size_t size)
{
    uint32_t c = *cap ? *cap * 2 : n ? n * 2 : first;
    void *p;
    if (*cap == 0 && n) {   /* borrowed: copy out */
        p = malloc(c * size);
        if (p)
            memcpy(p, items, n * size);
    } else
        p = realloc(items, c * size);
    if (p)
        *cap = c;
    return p;
}

static up_pf_t *pair_feature(up_pair_t *p, uint32_t f)
{
    for (uint32_t i = 0; i < p->n_pf; i++)
        if (p->pf[i].feature == f)
            return &p->pf[i];
    if (p->n_pf == p->cap_pf || (p->cap_pf == 0 && p->n_pf)) {
        up_pf_t *pf = grow_pair_array(p->pf, p->n_pf, &p->cap_pf, 2, sizeof *pf);
        if (!pf)
            return NULL;
        p->pf = pf;
    }
    up_pf_t *pf = &p->pf[p->n_pf++];
    memset(pf, 0, sizeof *pf);
    pf->feature = f;
    pf->first_exposure_ts = pf->first_use_ts = UP_TS_NONE;
    return pf;
}

static int add_ka(up_pair_t *p, int32_t day, int32_t ms)
{
    /* usually appended in order; otherwise binary search for the day */
    uint32_t lo = 0, hi = p->n_ka;
    if (p->n_ka && p->ka[p->n_ka - 1].day < day)
        lo = p->n_ka;
    else {
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (p->ka[mid].day < day)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    if (lo < p->n_ka && p->ka[lo].day == day && p->cap_ka == 0 &&
        !(ms < p->ka[lo].min_ms || ms > p->ka[lo].max_ms))
        return 0;   /* nothing changes in the snapshot's (read-only) array */
    if (lo < p->n_ka && p->ka[lo].day == day && p->cap_ka == 0) {   /* borrowed: copy out first */
        up_kaday_t *k = grow_pair_array(p->ka, p->n_ka, &p->cap_ka, 4, sizeof *k);
        if (!k)
            return -UP_ENOMEM;
        p->ka = k;
    }
    if (lo < p->n_ka && p->ka[lo].day == day) {
        if (ms < p->ka[lo].min_ms)
            p->ka[lo].min_ms = ms;
        if (ms > p->ka[lo].max_ms)
            p->ka[lo].max_ms = ms;
        return 0;
    }
    if (p->n_ka == p->cap_ka || (p->cap_ka == 0 && p->n_ka)) {
        up_kaday_t *k = grow_pair_array(p->ka, p->n_ka, &p->cap_ka, 4, sizeof *k);
        if (!k)
            return -UP_ENOMEM;
        p->ka = k;
    }
    memmove(&p->ka[lo + 1], &p->ka[lo], (p->n_ka - lo) * sizeof *p->ka);
    p->ka[lo] = (up_kaday_t){day, ms, ms};
    p->n_ka++;
    return 0;
}

/* The index of the first evd entry with day >= day. */
static uint32_t evd_lower(const up_evday_t *d, uint32_t n, int32_t day)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (d[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int add_evd(up_pair_t *p, int32_t day)
{
    /* usually the last day or a new last day */
    uint32_t lo;
    if (p->n_evd && p->evd[p->n_evd - 1].day == day && p->cap_evd) {
        p->evd[p->n_evd - 1].n++;
        return 0;
    }
    lo = p->n_evd && p->evd[p->n_evd - 1].day < day ? p->n_evd : evd_lower(p->evd, p->n_evd, day);
    if (lo < p->n_evd && p->evd[lo].day == day && p->cap_evd) {
        p->evd[lo].n++;
        return 0;
    }
    if (p->n_evd == p->cap_evd || p->cap_evd == 0) {   /* full, or borrowed: copy out */
        up_evday_t *d = grow_pair_array(p->evd, p->n_evd, &p->cap_evd, 4, sizeof *d);
        if (!d)
            return -UP_ENOMEM;
        p->evd = d;
    }
    if (lo < p->n_evd && p->evd[lo].day == day) {
        p->evd[lo].n++;
        return 0;
    }
    memmove(&p->evd[lo + 1], &p->evd[lo], (p->n_evd - lo) * sizeof *p->evd);
    p->evd[lo] = (up_evday_t){day, 1};
    p->n_evd++;
    return 0;
}

uint64_t up_rollup_events_between(const up_pair_t *p, int32_t from, int32_t to)
{
    uint64_t n = 0;
    for (uint32_t i = evd_lower(p->evd, p->n_evd, from); i < p->n_evd && p->evd[i].day <= to; i++)
        n += p->evd[i].n;
    return n;
}

int up_rollup_classify(up_rollup_t *r, uint32_t e)
{
    return classify(r, e);
}

int up_rollup_add(up_rollup_t *r, const up_ev_t *ev)
{
    if (ev->ts > r->cutoff)
        return 0;
    if (ev->event >= r->n_evclass && classify(r, ev->event) < 0)
        return -UP_ENOMEM;
    const up_evclass_t *ec = &r->evclass[ev->event];
    up_pair_t *p = &r->pairs[ev->pair];
    int32_t day = up_day_of(ev->ts);
    r->events++;
    if (ev->ts < r->min_ts)
        r->min_ts = ev->ts;
    if (ev->ts > r->max_ts)
        r->max_ts = ev->ts;
    if (ev->ts < p->first_ts)
        p->first_ts = ev->ts;
    if (ev->ts > p->last_ts)
        p->last_ts = ev->ts;
    int rc;
    if (!ec->passive && ((rc = up_days_set(&p->active, day)) < 0 || (rc = add_evd(p, day)) < 0))
        return rc;
    if (ec->key_action) {
        if (ev->ts < p->first_ka_ts)
            p->first_ka_ts = ev->ts;
        if (add_ka(p, day, (int32_t)(ev->ts - (int64_t)day * UP_MS_PER_DAY)) < 0)
            return -UP_ENOMEM;
    }
    for (uint16_t i = 0; i < ec->n_roles; i++) {
        uint32_t f = ec->roles[i] >> 2, role = ec->roles[i] & 3;
        up_pf_t *pf = pair_feature(p, f);
        if (!pf)
            return -UP_ENOMEM;
        if (role == 2) {
            if (ev->ts < pf->first_exposure_ts)
                pf->first_exposure_ts = ev->ts;
            continue;
        }
        if (ec->passive)
            continue; /* a feature event the model also lists as passive */
        if (ev->ts < pf->first_use_ts)
            pf->first_use_ts = ev->ts;
        if ((rc = up_days_set(&pf->used, day)) < 0 || (role == 1 && (rc = up_days_set(&pf->advanced, day)) < 0))
            return rc;
    }
    return 0;
}

int up_rollup_apply_block(up_rollup_t *r, const up_block_t *b)
{
    for (uint32_t i = 0; i < b->n_strs; i++) {
        int added;
        int64_t id = up_dict_intern(&r->dict[b->str_kind[i]], b->strs[i], b->str_lens[i], &added);
        if (id < 0)
            return (int)id;
        if (!added)
            return -UP_ECORRUPT;
    }
    for (uint32_t i = 0; i < b->n_pairs; i++) {
        if (b->pair_account[i] >= r->dict[UP_KIND_ACCOUNT].n || b->pair_user[i] >= r->dict[UP_KIND_USER].n)
            return -UP_ECORRUPT;
        int added;
        int64_t id = up_rollup_pair(r, b->pair_account[i], b->pair_user[i], &added);
        if (id < 0)
            return (int)id;
        if (!added)
            return -UP_ECORRUPT;
    }
    for (uint32_t i = 0; i < b->n_events; i++) {
        const up_ev_t *ev = &b->events[i];
        if (ev->pair >= r->n_pairs || ev->event >= r->dict[UP_KIND_EVENT].n)
            return -UP_ECORRUPT;
        int rc = up_rollup_add(r, ev);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Allocates a large array for a snapshot load: anonymous memory with
 * transparent huge pages requested, so that filling it costs a page fault per
 * 2 MiB instead of per 4 KiB. Freed with big_free. */
static void *big_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, n, MADV_HUGEPAGE);
    return p;
}

/* ---- snapshot ---------------------------------------------------------- */

/* Layout (little-endian, native structs), in two regions so that a report
 * touches only what it reads:
 *   hot:  header; dictionaries (NUL-terminated strings); pair count; per pair
 *         a fixed record and its active bitmap, then per feature a record and
 *         its used bitmap; every array 8-byte aligned
 *   cold: key-action days, active events per day and advanced-use bitmaps,
 *         referenced by offset
 *   trailer: where the sections start, and a CRC-32C of each section (the
 *         header and dictionaries, each half of the pair records, the cold
 *         region) and of the trailer itself
 * The reader maps the file, checks every section's CRC and the bounds of
 * every index and offset it loads, and uses the bitmaps and arrays in place:
 * a file that fails any check is rebuilt from the log, never trusted. */
#define SNAP_MAGIC "UPROLL09"
#define SNAP_HEAD 56                     /* magic and seven 8-byte fields */
#define TRAILER_MAGIC 0x54525055u        /* "UPRT" */
#define DAY_LIMIT (1 << 24)              /* |day| bound: far beyond any real date */

typedef struct {
    uint64_t head_len;      /* bytes of the header and dictionaries (the pair records follow) */
    uint64_t cold_off;      /* the cold region (its length is the 8 bytes before it) */
    uint64_t split[4];      /* second half: first pair, file offset, pf index; pf total */
    uint32_t crc[4];        /* head, first half of the pairs, second half, cold (with its length) */
    uint32_t magic;
    uint32_t crc_self;      /* over the bytes before it */
} snap_trailer_t;

typedef struct {
    FILE *f;
    uint64_t pos;
    uint32_t crc;           /* of the bytes written since the last section boundary */
    int rc;
} wr_t;

static void w_all(wr_t *w, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, w->f) != n)
        w->rc = -UP_EIO;
    w->crc = up_crc32c(w->crc, p, n);
    w->pos += n;
}

static void w_align(wr_t *w)
{
    static const char zero[8] = {0};
    if (w->pos % 8)
        w_all(w, zero, 8 - w->pos % 8);
}

/* Ends a section at the current position: its CRC goes to *crc. */
static void w_section(wr_t *w, uint32_t *crc)
{
    *crc = w->crc;
    w->crc = 0;
}

static void w_days(wr_t *w, const up_days_t *d)
{
    uint32_t nw = d->nw;
    w_all(w, &d->base, 4);
    w_all(w, &nw, 4);
    w_all(w, d->w, (size_t)nw * 8);   /* at 8 alignment: the record before keeps it */
}

typedef struct {
    uint32_t account, user, flags, n_ka, n_pf, n_evd;
    int64_t created_at, first_ts, last_ts, first_ka_ts;
    uint64_t ka_off;        /* into the cold region: n_ka key-action days, then n_evd event days */
} snap_pair_t;

typedef struct {
    uint32_t feature;
    int32_t adv_base;
    uint32_t adv_nw, pad;
    int64_t first_exposure_ts, first_use_ts;
    uint64_t adv_off;       /* into the cold region */
} snap_pf_t;

static void w_head(wr_t *w, const up_rollup_t *r, uint64_t model_hash, uint64_t log_offset)
{
    w_all(w, SNAP_MAGIC, 8);
    w_all(w, &model_hash, 8);
    w_all(w, &log_offset, 8);
    w_all(w, &r->events, 8);
    w_all(w, &r->min_ts, 8);
    w_all(w, &r->max_ts, 8);
    w_all(w, &r->users_gen, 8);
    for (int k = 0; k < UP_KINDS; k++) {
        const up_dict_t *d = &r->dict[k];
        w_all(w, &d->n, 4);
        for (uint32_t i = 0; i < d->n; i++) {
            w_all(w, &d->lens[i], 4);
            w_all(w, d->strs[i], d->lens[i] + 1);
        }
    }
    w_all(w, &r->n_pairs, 4);
    w_align(w);
}

/* One pair's hot records to w, its cold arrays to cold. */
static int w_pair(wr_t *w, up_buf_t *cold, const up_pair_t *p)
{
    int rc = 0;
    snap_pair_t sp = {p->account, p->user, p->flags, p->n_ka, p->n_pf, p->n_evd, p->created_at,
                      p->first_ts, p->last_ts, p->first_ka_ts, cold->len};
    rc |= up_buf_append(cold, p->ka, p->n_ka * sizeof *p->ka);
    rc |= up_buf_append(cold, p->evd, p->n_evd * sizeof *p->evd);
    rc |= up_buf_reserve(cold, 8);
    while (rc == 0 && cold->len % 8)
        cold->data[cold->len++] = 0;
    w_align(w);
    w_all(w, &sp, sizeof sp);
    w_days(w, &p->active);
    for (uint32_t j = 0; j < p->n_pf; j++) {
        const up_pf_t *pf = &p->pf[j];
        snap_pf_t sf = {pf->feature, pf->advanced.base, pf->advanced.nw, 0, pf->first_exposure_ts,
                        pf->first_use_ts, cold->len};
        rc |= up_buf_append(cold, pf->advanced.w, (size_t)pf->advanced.nw * 8);
        w_all(w, &sf, sizeof sf);
        w_days(w, &pf->used);
    }
    return rc;
}

int up_rollup_save(const up_rollup_t *r, FILE *f, uint64_t model_hash, uint64_t log_offset)
{
    wr_t w = {f, 0, 0, 0};
    up_buf_t cold = {0};
    int rc = 0;
    snap_trailer_t t = {.split = {r->n_pairs / 2, 0, 0, 0}, .magic = TRAILER_MAGIC};
    w_head(&w, r, model_hash, log_offset);
    t.head_len = w.pos;
    w_section(&w, &t.crc[0]);
    uint64_t n_pf_total = 0;
    int split_done = 0;
    for (uint32_t i = 0; i < r->n_pairs && !w.rc && !rc; i++) {
        if (i == t.split[0]) {   /* where the second half starts, so two threads can load */
            w_align(&w);
            t.split[1] = w.pos;
            t.split[2] = n_pf_total;
            w_section(&w, &t.crc[1]);
            split_done = 1;
        }
        n_pf_total += r->pairs[i].n_pf;
        rc |= w_pair(&w, &cold, &r->pairs[i]);
    }
    w_align(&w);
    if (!split_done) {           /* no pairs: the first half is empty, the second too */
        t.split[1] = w.pos;
        t.split[2] = 0;
        w_section(&w, &t.crc[1]);
    }
    w_section(&w, &t.crc[2]);
    uint64_t cold_len = cold.len;
    w_all(&w, &cold_len, 8);
    t.cold_off = w.pos;
    w_all(&w, cold.data, cold.len);
    up_buf_free(&cold);
    w_section(&w, &t.crc[3]);
    t.split[3] = n_pf_total;
    t.crc_self = up_crc32c(0, &t, offsetof(snap_trailer_t, crc_self));
    w_all(&w, &t, sizeof t);
    if (rc)
        return -UP_ENOMEM;
    return w.rc;
}

typedef struct {
    const uint8_t *p, *end;
} rd_t;

static const void *r_take(rd_t *c, size_t n)
{
    if ((size_t)(c->end - c->p) < n)
        return NULL;
    const void *q = c->p;
    c->p += n;
    return q;
}

static int r_copy(rd_t *c, void *dst, size_t n)
{
    const void *q = r_take(c, n);
    if (!q)
        return -1;
    memcpy(dst, q, n);
    return 0;
}

static void r_align(rd_t *c, const uint8_t *base)
{
    size_t off = (size_t)(c->p - base);
    if (off % 8)
        c->p += (size_t)(c->end - c->p) < 8 - off % 8 ? (size_t)(c->end - c->p) : 8 - off % 8;
}

/* A day set's base and length within bounds: base a multiple of 64, every
 * day far from overflowing. */
static int days_ok(int32_t base, uint32_t nw)
{
    return nw <= UINT16_MAX && base % 64 == 0 && base > -DAY_LIMIT && base < DAY_LIMIT;
}

static int r_days(rd_t *c, up_days_t *d)
{
    uint32_t nw;
    if (r_copy(c, &d->base, 4) || r_copy(c, &nw, 4) || !days_ok(d->base, nw))
        return -UP_ECORRUPT;
    d->nw = (uint16_t)nw;
    d->w = nw ? (uint64_t *)(uintptr_t)r_take(c, (size_t)nw * 8) : NULL;
    if (nw && !d->w)
        return -UP_ECORRUPT;
    d->borrowed = nw > 0;
    return 0;
}

/* One contiguous run of pair records [first, end) in the file bytes
 * [from, to), whose feature records fill pf_pool[pf_first, pf_end). */
typedef struct {
    up_rollup_t *r;
    const uint8_t *base, *from, *to, *cold;
    uint64_t cold_len;
    uint32_t first, end;
    uint64_t pf_first, pf_end;
    uint32_t crc;           /* what [from, to) must sum to */
    uint32_t *seen;         /* per feature: the last pair (+1) that had it */
    uint32_t n_features;
    const char *why;        /* with rc: what was wrong */
    uint32_t bad_pair;
    int rc;
} load_part_t;

static int part_fail(load_part_t *lp, uint32_t pair, const char *why)
{
    lp->why = why;
    lp->bad_pair = pair;
    return -UP_ECORRUPT;
}

/* Key-action days and event days sorted, strictly, with sane contents. */
static const char *cold_arrays_bad(const up_pair_t *p)
{
    for (uint32_t i = 0; i < p->n_ka; i++)
        if ((i && p->ka[i].day <= p->ka[i - 1].day) || p->ka[i].day <= -DAY_LIMIT || p->ka[i].day >= DAY_LIMIT ||
            p->ka[i].min_ms < 0 || p->ka[i].min_ms > p->ka[i].max_ms || p->ka[i].max_ms >= UP_MS_PER_DAY)
            return "its key-action days are out of order or out of range";
    for (uint32_t i = 0; i < p->n_evd; i++)
        if ((i && p->evd[i].day <= p->evd[i - 1].day) || p->evd[i].n == 0 || p->evd[i].day <= -DAY_LIMIT ||
            p->evd[i].day >= DAY_LIMIT)
            return "its days of active events are out of order or out of range";
    return NULL;
}

/* The fixed record of pair i: ids, flags and counts within bounds; its cold
 * arrays mapped and checked. */
static int parse_pair(load_part_t *lp, const snap_pair_t *sp, uint32_t i, uint64_t pool_used)
{
    const up_rollup_t *r = lp->r;
    if (sp->account >= r->dict[UP_KIND_ACCOUNT].n || sp->user >= r->dict[UP_KIND_USER].n)
        return part_fail(lp, i, "its account or user id is out of range");
    if (sp->flags & ~(uint32_t)(UP_PAIR_IN_TABLE | UP_PAIR_CHAMPION | UP_PAIR_SPONSOR) ||
        sp->n_pf > lp->n_features || pool_used + sp->n_pf > lp->pf_end)
        return part_fail(lp, i, "its flags or feature count are out of range");
    if (!(sp->first_ts <= sp->last_ts || (sp->first_ts == UP_TS_NONE && sp->last_ts == INT64_MIN)))
        return part_fail(lp, i, "its first event is after its last");
    uint64_t evd_off = sp->ka_off + (uint64_t)sp->n_ka * sizeof(up_kaday_t);
    if (sp->ka_off % 8 || sp->n_ka > lp->cold_len || sp->n_evd > lp->cold_len ||
        evd_off + (uint64_t)sp->n_evd * sizeof(up_evday_t) > lp->cold_len)
        return part_fail(lp, i, "its key-action days lie outside the cold region");
    up_pair_t *p = &lp->r->pairs[i];
    memset(p, 0, sizeof *p);
    p->account = sp->account;
    p->user = sp->user;
    p->flags = sp->flags;
    p->created_at = sp->created_at;
    p->first_ts = sp->first_ts;
    p->last_ts = sp->last_ts;
    p->first_ka_ts = sp->first_ka_ts;
    p->n_ka = sp->n_ka;
    p->n_evd = sp->n_evd;
    p->ka = sp->n_ka ? (up_kaday_t *)(uintptr_t)(lp->cold + sp->ka_off) : NULL;
    p->evd = sp->n_evd ? (up_evday_t *)(uintptr_t)(lp->cold + evd_off) : NULL;
    const char *why = cold_arrays_bad(p);
    return why ? part_fail(lp, i, why) : 0;
}

/* Feature record j of pair i. */
static int parse_pf(load_part_t *lp, rd_t *c, up_pf_t *pf, uint32_t i)
{
    snap_pf_t sf;
    if (r_copy(c, &sf, sizeof sf))
        return part_fail(lp, i, "its feature records run past their region");
    if (sf.feature >= lp->n_features || lp->seen[sf.feature] == i + 1)
        return part_fail(lp, i, "a feature id is out of range or repeated");
    lp->seen[sf.feature] = i + 1;
    if (!days_ok(sf.adv_base, sf.adv_nw) || sf.adv_off % 8 || sf.adv_off > lp->cold_len ||
        (uint64_t)sf.adv_nw * 8 > lp->cold_len - sf.adv_off)
        return part_fail(lp, i, "its advanced-use days lie outside the cold region");
    memset(pf, 0, sizeof *pf);
    pf->feature = sf.feature;
    pf->first_exposure_ts = sf.first_exposure_ts;
    pf->first_use_ts = sf.first_use_ts;
    pf->advanced.base = sf.adv_base;
    pf->advanced.nw = (uint16_t)sf.adv_nw;
    pf->advanced.borrowed = sf.adv_nw > 0;
    pf->advanced.w = sf.adv_nw ? (uint64_t *)(uintptr_t)(lp->cold + sf.adv_off) : NULL;
    if (r_days(c, &pf->used) < 0)
        return part_fail(lp, i, "its used days are out of range");
    return 0;
}

static int parse_part(load_part_t *lp)
{
    up_rollup_t *r = lp->r;
    if (up_crc32c(0, lp->from, (size_t)(lp->to - lp->from)) != lp->crc)
        return part_fail(lp, lp->first, NULL);
    rd_t c = {lp->from, lp->to};
    uint64_t pool_used = lp->pf_first;
    for (uint32_t i = lp->first; i < lp->end; i++) {
        snap_pair_t sp;
        int rc;
        r_align(&c, lp->base);
        if (r_copy(&c, &sp, sizeof sp))
            return part_fail(lp, i, "its record runs past its region");
        if ((rc = parse_pair(lp, &sp, i, pool_used)) < 0)
            return rc;
        up_pair_t *p = &r->pairs[i];
        if (r_days(&c, &p->active) < 0)
            return part_fail(lp, i, "its active days are out of range");
        p->pf = sp.n_pf ? r->pf_pool + pool_used : NULL;   /* borrowed: cap_pf stays 0 */
        pool_used += sp.n_pf;
        for (uint32_t j = 0; j < sp.n_pf; j++, p->n_pf++)
            if ((rc = parse_pf(lp, &c, &p->pf[j], i)) < 0)
                return rc;
    }
    r_align(&c, lp->base);
    if (c.p != lp->to || pool_used != lp->pf_end)
        return part_fail(lp, lp->end, "the pair records do not fill their region");
    return 0;
}

static void *load_part(void *arg)
{
    load_part_t *lp = arg;
    lp->seen = calloc((size_t)lp->n_features + 1, sizeof *lp->seen);
    lp->rc = lp->seen ? parse_part(lp) : -UP_ENOMEM;
    free(lp->seen);
    lp->seen = NULL;
    return NULL;
}

/* A load failure: -UP_ECORRUPT with what was wrong in why. */
static int bad(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -UP_ECORRUPT;
}

/* The trailer, checked: its own CRC and section offsets in order within the
 * file of size bytes. */
static int read_trailer(const uint8_t *base, uint64_t size, snap_trailer_t *t, char *why, size_t whylen)
{
    memcpy(t, base + size - sizeof *t, sizeof *t);
    if (t->magic != TRAILER_MAGIC || up_crc32c(0, t, offsetof(snap_trailer_t, crc_self)) != t->crc_self)
        return bad(why, whylen, "its trailer (the last %zu bytes) fails its checksum", sizeof *t);
    uint64_t cold_end = size - sizeof *t;
    if (t->head_len < SNAP_HEAD || t->head_len % 8 || t->split[1] < t->head_len || t->split[1] % 8 ||
        t->cold_off < 8 || t->split[1] > t->cold_off - 8 || t->cold_off % 8 || t->cold_off > cold_end ||
        t->split[2] > t->split[3] || t->split[3] > size / sizeof(snap_pf_t))
        return bad(why, whylen, "its trailer's offsets are out of range");
    if (up_crc32c(0, base, t->head_len) != t->crc[0])
        return bad(why, whylen, "the checksum of its header and dictionaries (bytes 0-%llu) does not match",
                   (unsigned long long)t->head_len);
    return 0;
}

/* The dictionaries, borrowed from the mapping. */
static int load_dicts(up_rollup_t *r, rd_t *c, char *why, size_t whylen)
{
    for (int k = 0; k < UP_KINDS; k++) {
        uint32_t n, len;
        if (r_copy(c, &n, 4))
            return bad(why, whylen, "its dictionaries run past their region");
        for (uint32_t i = 0; i < n; i++) {
            const char *str;
            if (r_copy(c, &len, 4) || !(str = r_take(c, (size_t)len + 1)) || str[len] != '\0')
                return bad(why, whylen, "its dictionaries run past their region");
            if (up_dict_add_borrowed(&r->dict[k], str, len) < 0)
                return -UP_ENOMEM;
        }
    }
    return 0;
}

/* The pair records in two halves, the second on its own thread; each must
 * end exactly where the next part begins. */
static int load_pairs(up_rollup_t *r, const uint8_t *base, uint64_t size, const snap_trailer_t *t,
                      uint32_t n_pairs, char *why, size_t whylen)
{
    size_t pairs_len = ((size_t)n_pairs + 1) * sizeof *r->pairs;
    r->pairs = malloc(pairs_len);
#ifdef MADV_HUGEPAGE
    /* a large array comes from its own mapping: huge pages for its whole
     * 2 MiB stretches, so that filling it faults once per 2 MiB, not 4 KiB
     * (realloc and free treat it as before) */
    uintptr_t lo = ((uintptr_t)r->pairs + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
    uintptr_t hi = ((uintptr_t)r->pairs + pairs_len) & ~(uintptr_t)((2u << 20) - 1);
    if (r->pairs && hi > lo)
        madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#endif
    r->pf_pool_len = ((size_t)t->split[3] + 1) * sizeof *r->pf_pool;
    r->pf_pool = big_alloc(r->pf_pool_len);
    if (!r->pairs || !r->pf_pool)
        return -UP_ENOMEM;
    r->cap_pairs = n_pairs + 1;
    const uint8_t *cold = base + t->cold_off;
    uint64_t cold_len = size - sizeof *t - t->cold_off;
    uint32_t nf = r->model ? (uint32_t)r->model->n_features : 0;
    load_part_t parts[2] = {
        {r, base, base + t->head_len, base + t->split[1], cold, cold_len, 0, (uint32_t)t->split[0], 0,
         t->split[2], t->crc[1], NULL, nf, NULL, 0, 0},
        {r, base, base + t->split[1], cold - 8, cold, cold_len, (uint32_t)t->split[0], n_pairs, t->split[2],
         t->split[3], t->crc[2], NULL, nf, NULL, 0, 0},
    };
    pthread_t tid;
    int threaded = n_pairs >= 4096 && pthread_create(&tid, NULL, load_part, &parts[1]) == 0;
    int cold_ok = up_crc32c(0, cold - 8, (size_t)cold_len + 8) == t->crc[3];
    load_part(&parts[0]);
    if (threaded)
        pthread_join(tid, NULL);
    else
        load_part(&parts[1]);
    if (!cold_ok)
        return bad(why, whylen, "the checksum of its cold region (bytes %llu-%llu) does not match",
                   (unsigned long long)t->cold_off - 8, (unsigned long long)(size - sizeof *t));
    for (int h = 0; h < 2; h++) {
        const load_part_t *lp = &parts[h];
        if (lp->rc == -UP_ECORRUPT && !lp->why)
            return bad(why, whylen, "the checksum of its pair records (bytes %llu-%llu) does not match",
                       (unsigned long long)(lp->from - base), (unsigned long long)(lp->to - base));
        if (lp->rc == -UP_ECORRUPT)
            return bad(why, whylen, "pair record %u: %s", lp->bad_pair, lp->why);
        if (lp->rc < 0)
            return lp->rc;
    }
    r->n_pairs = n_pairs;
    uint64_t stored_len;
    memcpy(&stored_len, cold - 8, 8);
    if (stored_len != cold_len)
        return bad(why, whylen, "its cold region's length does not match the file");
    return 0;
}

/* The mapped file: header, dictionaries and pairs, every section checked. */
static int load_mapped(up_rollup_t *r, const uint8_t *base, uint64_t size, uint64_t model_hash,
                       uint64_t *log_offset, char *why, size_t whylen)
{
    snap_trailer_t t;
    if (size < SNAP_HEAD + sizeof t || memcmp(base, SNAP_MAGIC, 8) != 0)
        return -UP_ECORRUPT;            /* another format, or not a snapshot: no reason to give */
    int rc = read_trailer(base, size, &t, why, whylen);
    if (rc < 0)
        return rc;
    uint64_t hash;
    memcpy(&hash, base + 8, 8);
    if (hash != model_hash)
        return -UP_ENOTFOUND;
    rd_t c = {base + 16, base + t.head_len};
    r_copy(&c, log_offset, 8);
    r_copy(&c, &r->events, 8);
    r_copy(&c, &r->min_ts, 8);
    r_copy(&c, &r->max_ts, 8);
    r_copy(&c, &r->users_gen, 8);
#ifdef MADV_POPULATE_READ
    /* map the file's pages in one call rather than a fault per page (the
     * checksums read every byte of it anyway);
     * older kernels say EINVAL: then pages fault in as read */
    madvise((void *)(uintptr_t)base, (size_t)size, MADV_POPULATE_READ);
#endif
    if ((rc = load_dicts(r, &c, why, whylen)) < 0)
        return rc;
    uint32_t n_pairs;
    if (r_copy(&c, &n_pairs, 4) || n_pairs > size / sizeof(snap_pair_t) || t.split[0] > n_pairs)
        return bad(why, whylen, "its pair count is out of range");
    r_align(&c, base);
    if (c.p != base + t.head_len)
        return bad(why, whylen, "its dictionaries do not fill their region");
    return load_pairs(r, base, size, &t, n_pairs, why, whylen);
}

int up_rollup_load(up_rollup_t *r, const char *path, uint64_t model_hash, uint64_t *log_offset,
                   char *why, size_t whylen)
{
    if (whylen)
        why[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -UP_ENOTFOUND;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 64) {
        close(fd);
        return -UP_ECORRUPT;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return -UP_EIO;
    r->map = map;
    r->map_len = (size_t)st.st_size;
    int rc = load_mapped(r, map, (uint64_t)st.st_size, model_hash, log_offset, why, whylen);
    if (rc < 0)
        return rc;
    r->index_stale = 1;
    for (uint32_t e = 0; e < r->dict[UP_KIND_EVENT].n; e++)
        if (classify(r, e) < 0)
            return -UP_ENOMEM;
    return 0;
}
