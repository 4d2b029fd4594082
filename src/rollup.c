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

/* The days [from, to] of d word by word: count them, or (any) stop at the
 * first word that has one. */
static int days_in(const up_days_t *d, int32_t from, int32_t to, int any)
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
        uint64_t v = d->w[wi] & mask;
        if (any && v)
            return 1;
        count += up_pop64(v);
        lo = wi * 64 + 64;
    }
    return count;
}

int up_days_count(const up_days_t *d, int32_t from, int32_t to)
{
    return days_in(d, from, to, 0);
}

int up_days_any(const up_days_t *d, int32_t from, int32_t to)
{
    return days_in(d, from, to, 1) > 0;
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

/* Frees what pair p owns and writes nothing: a snapshot's records are pages
 * of a private mapping, which a write would copy. */
static void pair_free(up_pair_t *p)
{
    if (!p->active.borrowed)
        free(p->active.w);
    for (uint32_t i = 0; i < p->n_pf; i++) {
        if (!p->pf[i].used.borrowed)
            free(p->pf[i].used.w);
        if (!p->pf[i].advanced.borrowed)
            free(p->pf[i].advanced.w);
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
    /* a snapshot's pairs own nothing until an event is folded into them:
     * then no need to walk them all */
    for (uint32_t i = 0; i < r->n_pairs && (!r->pairs_mapped || r->folded); i++)
        pair_free(&r->pairs[i]);
    if (!r->pairs_mapped)
        free(r->pairs);
    for (uint32_t i = 0; i < r->n_evclass; i++)
        free(r->evclass[i].roles);
    free(r->evclass);
    if (r->map)
        munmap(r->map, r->map_len);
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
        int rc = up_rollup_reserve_pairs(r, r->cap_pairs ? r->cap_pairs * 2 : 1024);
        if (rc < 0)
            return rc;
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
    up_pair_t *p;
    if (r->pairs_mapped) {   /* the snapshot's records: copied out (their arrays stay borrowed) */
        if ((p = malloc((size_t)n * sizeof *p)))
            memcpy(p, r->pairs, (size_t)r->n_pairs * sizeof *p);
    } else
        p = realloc(r->pairs, (size_t)n * sizeof *p);
    if (!p)
        return -UP_ENOMEM;
    r->pairs = p;
    r->cap_pairs = n;
    r->pairs_mapped = 0;
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
    /* the window is most often at the end of the days (the last 28 as of
     * a recent day): walk back to it from the end, a few entries in cache;
     * one far from the end is searched for */
    uint32_t i = p->n_evd, steps = 0;
    while (i > 0 && p->evd[i - 1].day > to && steps++ < 32)
        i--;
    if (i > 0 && p->evd[i - 1].day > to)
        i = evd_lower(p->evd, p->n_evd, to == INT32_MAX ? to : to + 1);
    uint64_t n = 0;
    for (; i > 0 && p->evd[i - 1].day >= from; i--)
        n += p->evd[i - 1].n;
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
    r->folded = 1;
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

/* ---- snapshot ---------------------------------------------------------- */

/* Layout (little-endian, native structs, every part 8-byte aligned):
 *   header:  magic, model hash, log offset, events, first and last ts, users
 *            generation (56 bytes); the dictionaries (length and
 *            NUL-terminated string each); the pair count
 *   pairs:   up_pair_t[n_pairs], the records as they are in memory
 *   pf:      up_pf_t[n_pf], each pair's feature records in one run, in pair
 *            order
 *   data:    per pair its active bitmap, its features' used and advanced
 *            bitmaps, its key-action days and its days of active events
 *   trailer: where the parts start, the address the file is laid out for,
 *            the record sizes, and a CRC-32C of the header and of each half
 *            of the rest (the two halves are checked on two threads), and of
 *            the trailer itself
 * The records' pointers hold the addresses their arrays have when the file
 * is mapped at that address. A reader maps it there and uses every record in
 * place: a report's open costs the checks, not a copy. When the address is
 * taken (a second snapshot in one process) the reader maps it elsewhere and
 * moves the pointers in its private mapping. Nothing is trusted before it is
 * checked: every section's CRC, and behind it every id, count and pointer the
 * reports follow; a file that fails any check is rebuilt from the log. */
#define SNAP_MAGIC "UPROLL10"
#define SNAP_HEAD 56                     /* magic and seven 8-byte fields */
#define TRAILER_MAGIC 0x54525055u        /* "UPRT" */
#define DAY_LIMIT (1 << 24)              /* |day| bound: far beyond any real date */
/* 48 TiB: above the sanitizers' shadow memory, below where Linux puts
 * programs, libraries and the heap */
#define SNAP_BASE 0x300000000000ull
#define SNAP_BASE_END 0x700000000000ull  /* a trailer's base must lie below */

typedef struct {
    uint64_t head_len;      /* bytes of the header and dictionaries: the pair records follow */
    uint64_t pf_off;        /* the feature records */
    uint64_t data_off;      /* the data region (it ends at the trailer) */
    uint64_t mid;           /* where the second checksummed half starts */
    uint64_t base;          /* the address the pointers assume the file is mapped at */
    uint64_t n_pf;          /* feature records */
    uint32_t crc[3];        /* [0, head_len), [head_len, mid), [mid, trailer) */
    uint16_t pair_size, pf_size;   /* sizeof up_pair_t and up_pf_t: another build's layout is another format */
    uint32_t magic;
    uint32_t crc_self;      /* over the bytes before it */
} snap_trailer_t;

_Static_assert(sizeof(snap_trailer_t) == 72, "the trailer is 72 bytes");
_Static_assert(sizeof(up_pair_t) % 8 == 0 && sizeof(up_pf_t) % 8 == 0, "records keep 8-byte alignment");

typedef struct {
    FILE *f;
    uint64_t pos;
    uint32_t crc;           /* of the bytes written since the last section boundary */
    uint64_t cut;           /* a section boundary inside a write: its CRC goes to *cut_crc */
    uint32_t *cut_crc;
    int rc;
} wr_t;

static void w_all(wr_t *w, const void *p, size_t n)
{
    const uint8_t *s = p;
    while (n) {
        size_t k = w->cut_crc && w->pos < w->cut && n > w->cut - w->pos ? (size_t)(w->cut - w->pos) : n;
        if (fwrite(s, 1, k, w->f) != k)
            w->rc = -UP_EIO;
        w->crc = up_crc32c(w->crc, s, k);
        w->pos += k;
        s += k;
        n -= k;
        if (w->cut_crc && w->pos == w->cut) {
            *w->cut_crc = w->crc;
            w->crc = 0;
            w->cut_crc = NULL;
        }
    }
}

static void w_align(wr_t *w)
{
    static const char zero[8] = {0};
    if (w->pos % 8)
        w_all(w, zero, 8 - w->pos % 8);
}

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

static uint64_t ka_bytes(const up_pair_t *p)
{
    return ((uint64_t)p->n_ka * sizeof *p->ka + 7) & ~(uint64_t)7;
}

/* Bytes of a pair's feature bitmaps (used and advanced) in the data region. */
static uint64_t pf_words_bytes(const up_pair_t *p)
{
    uint64_t n = 0;
    for (uint32_t j = 0; j < p->n_pf; j++)
        n += ((uint64_t)p->pf[j].used.nw + p->pf[j].advanced.nw) * 8;
    return n;
}

/* A pointer to file offset off, as the file is laid out (at SNAP_BASE). */
static void *laid(uint64_t off)
{
    return (void *)(uintptr_t)(SNAP_BASE + off);
}

/* A day set as written: its words at *at in the data region (moved past). */
static up_days_t w_days_at(const up_days_t *d, uint64_t *at)
{
    up_days_t o = {d->base, d->nw, d->nw > 0, d->nw ? laid(*at) : NULL};
    *at += (uint64_t)d->nw * 8;
    return o;
}

/* The pair records: pointers to where their arrays go, at *at (the data
 * region, in the order w_data writes it) and *pf (the feature records). */
static void w_pairs(wr_t *w, const up_rollup_t *r, uint64_t pf_off, uint64_t at)
{
    uint64_t pf = pf_off;
    for (uint32_t i = 0; i < r->n_pairs && !w->rc; i++) {
        const up_pair_t *p = &r->pairs[i];
        up_pair_t q;
        memset(&q, 0, sizeof q);   /* the padding too: the file's bytes depend on the rollup only */
        q.account = p->account;
        q.user = p->user;
        q.flags = p->flags;
        q.created_at = p->created_at;
        q.first_ts = p->first_ts;
        q.last_ts = p->last_ts;
        q.first_ka_ts = p->first_ka_ts;
        q.active = w_days_at(&p->active, &at);
        q.n_pf = p->n_pf;
        q.pf = p->n_pf ? laid(pf) : NULL;
        pf += (uint64_t)p->n_pf * sizeof *p->pf;
        at += pf_words_bytes(p);
        q.n_ka = p->n_ka;
        q.ka = p->n_ka ? laid(at) : NULL;
        at += ka_bytes(p);
        q.n_evd = p->n_evd;
        q.evd = p->n_evd ? laid(at) : NULL;
        at += (uint64_t)p->n_evd * sizeof *p->evd;
        w_all(w, &q, sizeof q);
    }
}

/* The feature records, their bitmaps where w_data writes them from at. */
static void w_pfs(wr_t *w, const up_rollup_t *r, uint64_t at)
{
    for (uint32_t i = 0; i < r->n_pairs && !w->rc; i++) {
        const up_pair_t *p = &r->pairs[i];
        at += (uint64_t)p->active.nw * 8;
        for (uint32_t j = 0; j < p->n_pf; j++) {
            up_pf_t f;
            memset(&f, 0, sizeof f);
            f.feature = p->pf[j].feature;
            f.first_exposure_ts = p->pf[j].first_exposure_ts;
            f.first_use_ts = p->pf[j].first_use_ts;
            f.used = w_days_at(&p->pf[j].used, &at);
            f.advanced = w_days_at(&p->pf[j].advanced, &at);
            w_all(w, &f, sizeof f);
        }
        at += ka_bytes(p) + (uint64_t)p->n_evd * sizeof *p->evd;
    }
}

static void w_data(wr_t *w, const up_rollup_t *r)
{
    static const char zero[8] = {0};
    for (uint32_t i = 0; i < r->n_pairs && !w->rc; i++) {
        const up_pair_t *p = &r->pairs[i];
        w_all(w, p->active.w, (size_t)p->active.nw * 8);
        for (uint32_t j = 0; j < p->n_pf; j++) {
            w_all(w, p->pf[j].used.w, (size_t)p->pf[j].used.nw * 8);
            w_all(w, p->pf[j].advanced.w, (size_t)p->pf[j].advanced.nw * 8);
        }
        w_all(w, p->ka, (size_t)p->n_ka * sizeof *p->ka);
        w_all(w, zero, (size_t)(ka_bytes(p) - (uint64_t)p->n_ka * sizeof *p->ka));
        w_all(w, p->evd, (size_t)p->n_evd * sizeof *p->evd);
    }
}

int up_rollup_save(const up_rollup_t *r, FILE *f, uint64_t model_hash, uint64_t log_offset)
{
    wr_t w = {f, 0, 0, 0, NULL, 0};
    snap_trailer_t t;
    memset(&t, 0, sizeof t);
    t.magic = TRAILER_MAGIC;
    t.base = SNAP_BASE;
    t.pair_size = sizeof(up_pair_t);
    t.pf_size = sizeof(up_pf_t);
    uint64_t data = 0;
    for (uint32_t i = 0; i < r->n_pairs; i++) {
        const up_pair_t *p = &r->pairs[i];
        t.n_pf += p->n_pf;
        data += (uint64_t)p->active.nw * 8 + pf_words_bytes(p) + ka_bytes(p) + (uint64_t)p->n_evd * sizeof *p->evd;
    }
    w_head(&w, r, model_hash, log_offset);
    t.head_len = w.pos;
    t.crc[0] = w.crc;
    w.crc = 0;
    t.pf_off = t.head_len + (uint64_t)r->n_pairs * sizeof(up_pair_t);
    t.data_off = t.pf_off + t.n_pf * sizeof(up_pf_t);
    t.mid = t.head_len + ((t.data_off + data - t.head_len) / 2 & ~(uint64_t)7);
    w.cut = t.mid;
    w.cut_crc = &t.crc[1];
    if (t.mid == t.head_len) {   /* nothing before the middle: an empty first half */
        t.crc[1] = 0;
        w.cut_crc = NULL;
    }
    w_pairs(&w, r, t.pf_off, t.data_off);
    w_pfs(&w, r, t.data_off);
    w_data(&w, r);
    if (!w.rc && w.pos != t.data_off + data)
        return -UP_EINVAL;   /* the three passes disagree: a bug, never a file */
    t.crc[2] = w.crc;
    t.crc_self = up_crc32c(0, &t, offsetof(snap_trailer_t, crc_self));
    w_all(&w, &t, sizeof t);
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

/* The mapped file, as the record checks see it. */
typedef struct {
    up_rollup_t *r;
    const snap_trailer_t *t;
    uint8_t *map;
    uint64_t data_end;      /* where the trailer starts */
    int moved;              /* not mapped at t->base: every pointer is moved */
    uint32_t n_features;
} snap_t;

/* One half of the load: the CRC of the file bytes [from, to) and the checks
 * of the pairs [first, end), each when asked for. */
typedef struct {
    const snap_t *s;
    const uint8_t *from, *to;
    uint32_t crc;           /* what [from, to) must sum to */
    int crc_bad;
    uint32_t first, end;
    int do_crc, do_records;
    uint64_t pf_first, pf_next;   /* the feature records its pairs hold (pf_first UINT64_MAX: none) */
    uint32_t *seen;         /* per feature: the last pair (+1) that had it */
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

/* Where pointer v of a record points once mapped, when its n bytes lie in
 * the file's bytes [lo, hi) at the alignment; NULL when they do not. */
static void *mapped_at(const snap_t *s, const void *v, uint64_t n, uint64_t lo, uint64_t hi, unsigned align)
{
    uint64_t off = (uint64_t)(uintptr_t)v - s->t->base;   /* wraps far out of range below base */
    if (off < lo || off > hi || n > hi - off || off % align)
        return NULL;
    return s->map + off;
}

/* A day set of a record: base and length in bounds, its words in the data
 * region (NULL when none), marked borrowed (never freed). */
static int days_check(const snap_t *s, up_days_t *d)
{
    if (!days_ok(d->base, d->nw) || d->borrowed != (d->nw > 0))
        return -1;
    if (!d->nw)
        return d->w ? -1 : 0;
    uint64_t *w = mapped_at(s, d->w, (uint64_t)d->nw * 8, s->t->data_off, s->data_end, 8);
    if (!w)
        return -1;
    if (s->moved)
        d->w = w;
    return 0;
}

/* Key-action days and event days sorted, strictly, with sane contents.
 * The loops look at every entry without branching (they run over a third of
 * a snapshot's bytes at every open), and say which array failed. */
static const char *cold_arrays_bad(const up_pair_t *p)
{
    const up_kaday_t *ka = p->ka;
    const up_evday_t *evd = p->evd;
    int32_t prev = -DAY_LIMIT;   /* every day must be above it: in range, in order */
    unsigned bad = 0;
    for (uint32_t i = 0; i < p->n_ka; i++) {
        bad |= (unsigned)(ka[i].day <= prev) | (unsigned)(ka[i].day >= DAY_LIMIT) | (unsigned)(ka[i].min_ms < 0) |
               (unsigned)(ka[i].min_ms > ka[i].max_ms) | (unsigned)(ka[i].max_ms >= (int32_t)UP_MS_PER_DAY);
        prev = ka[i].day;
    }
    if (bad)
        return "its key-action days are out of order or out of range";
    prev = -DAY_LIMIT;
    for (uint32_t i = 0; i < p->n_evd; i++) {
        bad |= (unsigned)(evd[i].day <= prev) | (unsigned)(evd[i].n == 0) | (unsigned)(evd[i].day >= DAY_LIMIT);
        prev = evd[i].day;
    }
    return bad ? "its days of active events are out of order or out of range" : NULL;
}

/* Pair record i in place: ids, flags and counts within bounds, nothing owned;
 * its arrays in their regions, the feature records the next ones in order. */
static int check_pair(load_part_t *lp, up_pair_t *p, uint32_t i)
{
    const snap_t *s = lp->s;
    const up_rollup_t *r = s->r;
    if (p->account >= r->dict[UP_KIND_ACCOUNT].n || p->user >= r->dict[UP_KIND_USER].n)
        return part_fail(lp, i, "its account or user id is out of range");
    if (p->flags & ~(uint32_t)(UP_PAIR_IN_TABLE | UP_PAIR_CHAMPION | UP_PAIR_SPONSOR) ||
        p->n_pf > s->n_features || p->cap_pf || p->cap_ka || p->cap_evd)
        return part_fail(lp, i, "its flags or counts are out of range");
    if (!(p->first_ts <= p->last_ts || (p->first_ts == UP_TS_NONE && p->last_ts == INT64_MIN)))
        return part_fail(lp, i, "its first event is after its last");
    if (days_check(s, &p->active) < 0)
        return part_fail(lp, i, "its active days are out of range");
    const snap_trailer_t *t = s->t;
    up_pf_t *pf = NULL;
    if (p->n_pf) {
        pf = mapped_at(s, p->pf, (uint64_t)p->n_pf * sizeof *pf, t->pf_off, t->data_off, 8);
        uint64_t off = pf ? (uint64_t)((uint8_t *)pf - (s->map + t->pf_off)) : 0, k = off / sizeof *pf;
        if (!pf || off % sizeof *pf || (lp->pf_first != UINT64_MAX && k != lp->pf_next))
            return part_fail(lp, i, "its feature records are not the next ones");
        if (lp->pf_first == UINT64_MAX)
            lp->pf_first = k;
        lp->pf_next = k + p->n_pf;
    } else if (p->pf)
        return part_fail(lp, i, "its feature records are not the next ones");
    up_kaday_t *ka = p->n_ka ? mapped_at(s, p->ka, (uint64_t)p->n_ka * sizeof *ka, t->data_off, s->data_end, 4)
                             : NULL;
    up_evday_t *evd = p->n_evd ? mapped_at(s, p->evd, (uint64_t)p->n_evd * sizeof *evd, t->data_off,
                                           s->data_end, 4) : NULL;
    if (p->n_ka ? !ka : p->ka != NULL)
        return part_fail(lp, i, "its key-action days lie outside the data region");
    if (p->n_evd ? !evd : p->evd != NULL)
        return part_fail(lp, i, "its days of active events lie outside the data region");
    if (s->moved) {
        p->pf = pf;
        p->ka = ka;
        p->evd = evd;
    }
    const char *why = cold_arrays_bad(p);
    if (why)
        return part_fail(lp, i, why);
    for (uint32_t j = 0; j < p->n_pf; j++) {
        if (pf[j].feature >= s->n_features || lp->seen[pf[j].feature] == i + 1)
            return part_fail(lp, i, "a feature id is out of range or repeated");
        lp->seen[pf[j].feature] = i + 1;
        if (days_check(s, &pf[j].used) < 0 || days_check(s, &pf[j].advanced) < 0)
            return part_fail(lp, i, "its used days are out of range");
    }
    return 0;
}

static void *load_part(void *arg)
{
    load_part_t *lp = arg;
    if (lp->do_crc)
        lp->crc_bad = up_crc32c(0, lp->from, (size_t)(lp->to - lp->from)) != lp->crc;
    if (!lp->do_records)
        return NULL;
    lp->seen = calloc((size_t)lp->s->n_features + 1, sizeof *lp->seen);
    lp->rc = lp->seen ? 0 : -UP_ENOMEM;
    up_pair_t *pairs = lp->s->r->pairs;
    for (uint32_t i = lp->first; i < lp->end && lp->rc == 0; i++)
        lp->rc = check_pair(lp, &pairs[i], i);
    free(lp->seen);
    lp->seen = NULL;
    return NULL;
}

/* Both halves, the second on a thread of its own when two is set. */
static void load_halves(load_part_t parts[2], int two)
{
    pthread_t tid;
    int threaded = two && pthread_create(&tid, NULL, load_part, &parts[1]) == 0;
    load_part(&parts[0]);
    if (threaded)
        pthread_join(tid, NULL);
    else
        load_part(&parts[1]);
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

/* The trailer's offsets in order within a file of size bytes. */
static int trailer_ok(const snap_trailer_t *t, uint64_t size)
{
    uint64_t end = size - sizeof *t;
    return t->head_len >= SNAP_HEAD && t->head_len % 8 == 0 && t->pf_off >= t->head_len &&
           (t->pf_off - t->head_len) % sizeof(up_pair_t) == 0 && t->data_off >= t->pf_off &&
           t->n_pf <= size / sizeof(up_pf_t) && t->data_off - t->pf_off == t->n_pf * sizeof(up_pf_t) &&
           t->data_off <= end && t->mid >= t->head_len && t->mid <= end && t->mid % 8 == 0 &&
           t->base % 4096 == 0 && t->base >= 4096 && t->base < SNAP_BASE_END;
}

/* The dictionaries, borrowed from the mapping. */
static int load_dicts(up_rollup_t *r, rd_t *c, char *why, size_t whylen)
{
    for (int k = 0; k < UP_KINDS; k++) {
        uint32_t n, len;
        if (r_copy(c, &n, 4))
            return bad(why, whylen, "its dictionaries run past their region");
        /* each string takes 5 bytes at least: no more room than the region holds */
        if ((uint64_t)n * 5 > (uint64_t)(c->end - c->p))
            return bad(why, whylen, "its dictionaries run past their region");
        if (up_dict_reserve_borrowed(&r->dict[k], n) < 0)
            return -UP_ENOMEM;
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

/* The records in two halves, the second on its own thread: each half checks
 * the CRC of its bytes and the records of its pairs. In place (not moved)
 * nothing is written, so both run at once; a moved file's pointers are
 * rewritten, so its records are checked after both CRCs, on one thread. */
static int load_pairs(const snap_t *s, uint32_t n_pairs, char *why, size_t whylen)
{
    const snap_trailer_t *t = s->t;
    const uint8_t *mid = s->map + t->mid;
    load_part_t parts[2] = {
        {s, s->map + t->head_len, mid, t->crc[1], 0, 0, n_pairs / 2, 1, !s->moved, UINT64_MAX, 0, NULL, NULL, 0, 0},
        {s, mid, s->map + s->data_end, t->crc[2], 0, n_pairs / 2, n_pairs, 1, !s->moved, UINT64_MAX, 0, NULL, NULL,
         0, 0},
    };
    load_halves(parts, s->data_end - t->head_len >= (1u << 20));
    for (int h = 0; h < 2; h++)
        if (parts[h].crc_bad)
            return bad(why, whylen, "the checksum of its records (bytes %llu-%llu) does not match",
                       (unsigned long long)(h ? t->mid : t->head_len), (unsigned long long)(h ? s->data_end : t->mid));
    if (s->moved) {
        /* its records are rewritten on one thread: a damaged file could
         * point both halves at the same feature records */
        for (int h = 0; h < 2; h++)
            parts[h].do_crc = 0, parts[h].do_records = 1;
        load_halves(parts, 0);
    }
    for (int h = 0; h < 2; h++) {
        const load_part_t *lp = &parts[h];
        if (lp->rc == -UP_ECORRUPT)
            return bad(why, whylen, "pair record %u: %s", lp->bad_pair, lp->why);
        if (lp->rc < 0)
            return lp->rc;
    }
    uint64_t next = 0;   /* the halves' feature records meet and fill their region */
    for (int h = 0; h < 2; h++)
        if (parts[h].pf_first != UINT64_MAX) {
            if (parts[h].pf_first != next)
                return bad(why, whylen, "pair record %u: its feature records are not the next ones",
                           h ? n_pairs / 2 : 0);
            next = parts[h].pf_next;
        }
    if (next != t->n_pf)
        return bad(why, whylen, "the feature records do not fill their region");
    return 0;
}

/* The mapped file: header, dictionaries and pairs, every section checked. */
static int load_mapped(up_rollup_t *r, uint8_t *base, uint64_t size, const snap_trailer_t *t,
                       uint64_t model_hash, uint64_t *log_offset, char *why, size_t whylen)
{
    if (up_crc32c(0, base, t->head_len) != t->crc[0])
        return bad(why, whylen, "the checksum of its header and dictionaries (bytes 0-%llu) does not match",
                   (unsigned long long)t->head_len);
    uint64_t hash;
    memcpy(&hash, base + 8, 8);
    if (hash != model_hash)
        return -UP_ENOTFOUND;
    rd_t c = {base + 16, base + t->head_len};
    r_copy(&c, log_offset, 8);
    r_copy(&c, &r->events, 8);
    r_copy(&c, &r->min_ts, 8);
    r_copy(&c, &r->max_ts, 8);
    r_copy(&c, &r->users_gen, 8);
#ifdef MADV_POPULATE_READ
    /* map the file's pages in one call rather than a fault per page (the
     * checksums read every byte of it anyway);
     * older kernels say EINVAL: then pages fault in as read */
    madvise(base, (size_t)size, MADV_POPULATE_READ);
#endif
    int rc = load_dicts(r, &c, why, whylen);
    if (rc < 0)
        return rc;
    uint32_t n_pairs;
    if (r_copy(&c, &n_pairs, 4) || (uint64_t)n_pairs * sizeof(up_pair_t) != t->pf_off - t->head_len)
        return bad(why, whylen, "its pair count does not fill the pair records");
    r_align(&c, base);
    if (c.p != base + t->head_len)
        return bad(why, whylen, "its dictionaries do not fill their region");
    snap_t s = {r, t, base, size - sizeof *t, (uint64_t)(uintptr_t)base != t->base,
                r->model ? (uint32_t)r->model->n_features : 0};
    r->pairs = (up_pair_t *)(void *)(base + t->head_len);
    r->pairs_mapped = 1;
    if ((rc = load_pairs(&s, n_pairs, why, whylen)) < 0)
        return rc;
    r->n_pairs = r->cap_pairs = n_pairs;
    return 0;
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
    snap_trailer_t t;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)(SNAP_HEAD + sizeof t)) {
        close(fd);
        return -UP_ECORRUPT;
    }
    uint64_t size = (uint64_t)st.st_size;
    /* at the address every snapshot is laid out for, when it is free; else
     * anywhere, and the pointers move. Private and writable: a report that
     * folds in newer events changes its own copy of a page. */
    void *map = MAP_FAILED;
#ifdef MAP_FIXED_NOREPLACE
    map = mmap((void *)(uintptr_t)SNAP_BASE, (size_t)size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
#endif
    if (map == MAP_FAILED)
        map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return -UP_EIO;
#ifdef MADV_HUGEPAGE
    /* 2 MiB mappings: a page of 4 KiB costs its first touch each time a
     * process maps it, which at a snapshot of hundreds of MB is most of a
     * report's open; the file is written in 2 MiB pieces so that the page
     * cache holds it in such pages (and a read from disk makes them) */
    madvise(map, (size_t)size, MADV_HUGEPAGE);
#endif
    r->map = map;
    r->map_len = (size_t)size;
    const uint8_t *b = map;
    memcpy(&t, b + size - sizeof t, sizeof t);
    int rc = 0;
    if (memcmp(b, SNAP_MAGIC, 8) != 0)
        rc = -UP_ECORRUPT;   /* another format, or not a snapshot: no reason to give */
    else if (t.magic != TRAILER_MAGIC || up_crc32c(0, &t, offsetof(snap_trailer_t, crc_self)) != t.crc_self)
        rc = bad(why, whylen, "its trailer (the last %zu bytes) fails its checksum", sizeof t);
    else if (t.pair_size != sizeof(up_pair_t) || t.pf_size != sizeof(up_pf_t))
        rc = -UP_ECORRUPT;   /* another build's record layout: another format */
    else if (!trailer_ok(&t, size))
        rc = bad(why, whylen, "its trailer's offsets are out of range");
    if (rc < 0 || (rc = load_mapped(r, map, size, &t, model_hash, log_offset, why, whylen)) < 0)
        return rc;
    r->index_stale = 1;
    for (uint32_t e = 0; e < r->dict[UP_KIND_EVENT].n; e++)
        if (classify(r, e) < 0)
            return -UP_ENOMEM;
    return 0;
}
