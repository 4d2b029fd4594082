/* engine_rollup: folding events into per-pair day bitmaps, and the snapshot
 * file that lets a report open the store without re-reading the log.
 *
 * Bitmaps grow in 64-day words in either direction, so a pair costs a few
 * words whatever the store's date range. The snapshot is a flat little-endian
 * dump; it is only a cache of the log, so its format may change freely: a
 * mismatching header makes the caller rebuild from the log. */
#include "engine_rollup.h"
#include "timeparse.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

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
    } else if (wbase < d->base) {
        uint32_t extra = (uint32_t)((d->base - wbase) / 64);
        uint64_t *w = calloc(d->nw + extra, sizeof *w);
        if (!w)
            return -UP_ENOMEM;
        memcpy(w + extra, d->w, d->nw * sizeof *w);
        free(d->w);
        d->w = w;
        d->nw += extra;
        d->base = wbase;
    } else if ((wbase - d->base) / 64 >= (int32_t)d->nw) {
        uint32_t nw = (uint32_t)((wbase - d->base) / 64) + 1;
        uint64_t *w = realloc(d->w, nw * sizeof *w);
        if (!w)
            return -UP_ENOMEM;
        memset(w + d->nw, 0, (nw - d->nw) * sizeof *w);
        d->w = w;
        d->nw = nw;
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

void up_days_free(up_days_t *d)
{
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
}

static void pair_free(up_pair_t *p)
{
    up_days_free(&p->active);
    for (uint32_t i = 0; i < p->n_pf; i++) {
        up_days_free(&p->pf[i].used);
        up_days_free(&p->pf[i].advanced);
    }
    free(p->pf);
    free(p->ka);
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
    memset(r, 0, sizeof *r);
}

int64_t up_rollup_pair(up_rollup_t *r, uint32_t account, uint32_t user, int *added)
{
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
    p->first_ts = p->first_ka_ts = UP_TS_NONE;
    p->last_ts = INT64_MIN;
    *slot = r->n_pairs;
    return r->n_pairs++;
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

static up_pf_t *pair_feature(up_pair_t *p, uint32_t f)
{
    for (uint32_t i = 0; i < p->n_pf; i++)
        if (p->pf[i].feature == f)
            return &p->pf[i];
    if (p->n_pf == p->cap_pf) {
        uint32_t cap = p->cap_pf ? p->cap_pf * 2 : 2;
        up_pf_t *pf = realloc(p->pf, cap * sizeof *pf);
        if (!pf)
            return NULL;
        p->pf = pf;
        p->cap_pf = cap;
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
    if (lo < p->n_ka && p->ka[lo].day == day) {
        if (ms < p->ka[lo].min_ms)
            p->ka[lo].min_ms = ms;
        if (ms > p->ka[lo].max_ms)
            p->ka[lo].max_ms = ms;
        return 0;
    }
    if (p->n_ka == p->cap_ka) {
        uint32_t cap = p->cap_ka ? p->cap_ka * 2 : 4;
        up_kaday_t *k = realloc(p->ka, cap * sizeof *k);
        if (!k)
            return -UP_ENOMEM;
        p->ka = k;
        p->cap_ka = cap;
    }
    memmove(&p->ka[lo + 1], &p->ka[lo], (p->n_ka - lo) * sizeof *p->ka);
    p->ka[lo] = (up_kaday_t){day, ms, ms};
    p->n_ka++;
    return 0;
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
    if (!ec->passive && up_days_set(&p->active, day) < 0)
        return -UP_ENOMEM;
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
        if (up_days_set(&pf->used, day) < 0)
            return -UP_ENOMEM;
        if (role == 1 && up_days_set(&pf->advanced, day) < 0)
            return -UP_ENOMEM;
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

#define SNAP_MAGIC "UPROLL02"

static int w_all(FILE *f, const void *p, size_t n)
{
    return fwrite(p, 1, n, f) == n ? 0 : -UP_EIO;
}

static int w_days(FILE *f, const up_days_t *d)
{
    int rc = w_all(f, &d->base, 4);
    rc |= w_all(f, &d->nw, 4);
    if (d->nw)
        rc |= w_all(f, d->w, d->nw * 8);
    return rc;
}

int up_rollup_save(const up_rollup_t *r, FILE *f, uint64_t model_hash, uint64_t log_offset)
{
    int rc = w_all(f, SNAP_MAGIC, 8);
    rc |= w_all(f, &model_hash, 8);
    rc |= w_all(f, &log_offset, 8);
    rc |= w_all(f, &r->events, 8);
    rc |= w_all(f, &r->min_ts, 8);
    rc |= w_all(f, &r->max_ts, 8);
    for (int k = 0; k < UP_KINDS; k++) {
        const up_dict_t *d = &r->dict[k];
        rc |= w_all(f, &d->n, 4);
        for (uint32_t i = 0; i < d->n; i++) {
            rc |= w_all(f, &d->lens[i], 4);
            rc |= w_all(f, d->strs[i], d->lens[i]);
        }
    }
    rc |= w_all(f, &r->n_pairs, 4);
    for (uint32_t i = 0; i < r->n_pairs && !rc; i++) {
        const up_pair_t *p = &r->pairs[i];
        rc |= w_all(f, &p->account, 4);
        rc |= w_all(f, &p->user, 4);
        rc |= w_all(f, &p->first_ts, 8);
        rc |= w_all(f, &p->last_ts, 8);
        rc |= w_all(f, &p->first_ka_ts, 8);
        rc |= w_days(f, &p->active);
        rc |= w_all(f, &p->n_ka, 4);
        if (p->n_ka)
            rc |= w_all(f, p->ka, p->n_ka * sizeof *p->ka);
        rc |= w_all(f, &p->n_pf, 4);
        for (uint32_t j = 0; j < p->n_pf; j++) {
            const up_pf_t *pf = &p->pf[j];
            rc |= w_all(f, &pf->feature, 4);
            rc |= w_all(f, &pf->first_exposure_ts, 8);
            rc |= w_all(f, &pf->first_use_ts, 8);
            rc |= w_days(f, &pf->used);
            rc |= w_days(f, &pf->advanced);
        }
    }
    return rc ? -UP_EIO : 0;
}

static int r_all(FILE *f, void *p, size_t n)
{
    return fread(p, 1, n, f) == n ? 0 : -UP_ECORRUPT;
}

static int r_days(FILE *f, up_days_t *d)
{
    if (r_all(f, &d->base, 4) || r_all(f, &d->nw, 4) || d->nw > (1u << 20))
        return -UP_ECORRUPT;
    if (!d->nw)
        return 0;
    d->w = malloc(d->nw * 8);
    if (!d->w)
        return -UP_ENOMEM;
    return r_all(f, d->w, d->nw * 8);
}

int up_rollup_load(up_rollup_t *r, FILE *f, uint64_t model_hash, uint64_t *log_offset)
{
    char magic[8];
    uint64_t hash;
    if (r_all(f, magic, 8) || memcmp(magic, SNAP_MAGIC, 8) || r_all(f, &hash, 8))
        return -UP_ECORRUPT;
    if (hash != model_hash)
        return -UP_ENOTFOUND;
    if (r_all(f, log_offset, 8) || r_all(f, &r->events, 8) || r_all(f, &r->min_ts, 8) ||
        r_all(f, &r->max_ts, 8))
        return -UP_ECORRUPT;
    char *buf = NULL;
    for (int k = 0; k < UP_KINDS; k++) {
        uint32_t n, len;
        if (r_all(f, &n, 4))
            return -UP_ECORRUPT;
        for (uint32_t i = 0; i < n; i++) {
            if (r_all(f, &len, 4) || len > (1u << 24))
                goto corrupt;
            char *nb = realloc(buf, len + 1);
            if (!nb)
                goto nomem;
            buf = nb;
            if (r_all(f, buf, len))
                goto corrupt;
            int added;
            if (up_dict_intern(&r->dict[k], buf, len, &added) < 0)
                goto nomem;
            if (!added)
                goto corrupt;
        }
    }
    free(buf);
    buf = NULL;
    uint32_t n_pairs;
    if (r_all(f, &n_pairs, 4))
        return -UP_ECORRUPT;
    for (uint32_t i = 0; i < n_pairs; i++) {
        uint32_t account, user;
        int added, rc;
        if (r_all(f, &account, 4) || r_all(f, &user, 4))
            return -UP_ECORRUPT;
        int64_t id = up_rollup_pair(r, account, user, &added);
        if (id < 0)
            return (int)id;
        if (!added)
            return -UP_ECORRUPT;
        up_pair_t *p = &r->pairs[id];
        if (r_all(f, &p->first_ts, 8) || r_all(f, &p->last_ts, 8) || r_all(f, &p->first_ka_ts, 8))
            return -UP_ECORRUPT;
        if ((rc = r_days(f, &p->active)) < 0)
            return rc;
        if (r_all(f, &p->n_ka, 4) || p->n_ka > (1u << 24))
            return -UP_ECORRUPT;
        if (p->n_ka) {
            p->ka = malloc(p->n_ka * sizeof *p->ka);
            if (!p->ka)
                return -UP_ENOMEM;
            p->cap_ka = p->n_ka;
            if (r_all(f, p->ka, p->n_ka * sizeof *p->ka))
                return -UP_ECORRUPT;
        }
        uint32_t n_pf;
        if (r_all(f, &n_pf, 4) || n_pf > (1u << 16))
            return -UP_ECORRUPT;
        for (uint32_t j = 0; j < n_pf; j++) {
            uint32_t feature;
            if (r_all(f, &feature, 4))
                return -UP_ECORRUPT;
            up_pf_t *pf = pair_feature(p, feature);
            if (!pf)
                return -UP_ENOMEM;
            if (r_all(f, &pf->first_exposure_ts, 8) || r_all(f, &pf->first_use_ts, 8))
                return -UP_ECORRUPT;
            if ((rc = r_days(f, &pf->used)) < 0 || (rc = r_days(f, &pf->advanced)) < 0)
                return rc;
        }
    }
    for (uint32_t e = 0; e < r->dict[UP_KIND_EVENT].n; e++)
        if (classify(r, e) < 0)
            return -UP_ENOMEM;
    return 0;
corrupt:
    free(buf);
    return -UP_ECORRUPT;
nomem:
    free(buf);
    return -UP_ENOMEM;
}
