/* dict: string interning and 64-bit sets/maps with open addressing and linear
 * probing. Invariant: load factor stays at or below 1/2, so probes are short
 * and a free slot always exists. */
#include "dict.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void up_dict_init(up_dict_t *d)
{
    memset(d, 0, sizeof *d);
}

void up_dict_free(up_dict_t *d)
{
    up_arena_free(&d->arena);
    free(d->slots);
    free(d->hashes);
    free(d->strs);
    free(d->lens);
    memset(d, 0, sizeof *d);
}

/* Rebuilds the slot table with nslots slots (a power of two) from hashes[]. */
static int rehash(up_dict_t *d, uint32_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -UP_ENOMEM;
    for (uint32_t id = 0; id < d->n; id++) {
        uint32_t i = (uint32_t)d->hashes[id] & (nslots - 1);
        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = id + 1;
    }
    free(d->slots);
    d->slots = slots;
    d->mask = nslots - 1;
    return 0;
}

static int grow_ids(up_dict_t *d)
{
    uint32_t cap = d->cap_ids ? d->cap_ids * 2 : 256;
    uint64_t *hashes = realloc(d->hashes, cap * sizeof *hashes);
    if (!hashes)
        return -UP_ENOMEM;
    d->hashes = hashes;
    char **strs = realloc(d->strs, cap * sizeof *strs);
    if (!strs)
        return -UP_ENOMEM;
    d->strs = strs;
    uint32_t *lens = realloc(d->lens, cap * sizeof *lens);
    if (!lens)
        return -UP_ENOMEM;
    d->lens = lens;
    d->cap_ids = cap;
    return 0;
}

int64_t up_dict_add_borrowed(up_dict_t *d, const char *s, size_t n)
{
    if (d->n == d->cap_ids && grow_ids(d) < 0)
        return -UP_ENOMEM;
    d->strs[d->n] = (char *)(uintptr_t)s;
    d->lens[d->n] = (uint32_t)n;
    d->lazy = 1;
    return d->n++;
}

/* Builds the hash index of a dict filled by up_dict_add_borrowed. */
static int build_index(up_dict_t *d)
{
    for (uint32_t id = 0; id < d->n; id++)
        d->hashes[id] = up_hash64(d->strs[id], d->lens[id], 0);
    uint32_t nslots = 1024;
    while ((uint64_t)d->n * 2 + 2 > nslots)
        nslots *= 2;
    int rc = rehash(d, nslots);
    if (rc == 0)
        d->lazy = 0;
    return rc;
}

int64_t up_dict_find(const up_dict_t *d, const char *s, size_t n)
{
    if (d->lazy && build_index((up_dict_t *)(uintptr_t)d) < 0)
        return -1;
    if (!d->slots)
        return -1;
    uint64_t h = up_hash64(s, n, 0);
    uint32_t i = (uint32_t)h & d->mask;
    for (;;) {
        uint32_t v = d->slots[i];
        if (!v)
            return -1;
        uint32_t id = v - 1;
        if (d->hashes[id] == h && d->lens[id] == n && memcmp(d->strs[id], s, n) == 0)
            return id;
        i = (i + 1) & d->mask;
    }
}

int64_t up_dict_intern(up_dict_t *d, const char *s, size_t n, int *added)
{
    if (added)
        *added = 0;
    if (d->lazy && build_index(d) < 0)
        return -UP_ENOMEM;
    if (!d->slots || (uint64_t)(d->n + 1) * 2 > (uint64_t)d->mask + 1) {
        if (rehash(d, d->mask ? (d->mask + 1) * 2 : 1024) < 0)
            return -UP_ENOMEM;
    }
    uint64_t h = up_hash64(s, n, 0);
    uint32_t i = (uint32_t)h & d->mask;
    for (;;) {
        uint32_t v = d->slots[i];
        if (!v)
            break;
        uint32_t id = v - 1;
        if (d->hashes[id] == h && d->lens[id] == n && memcmp(d->strs[id], s, n) == 0)
            return id;
        i = (i + 1) & d->mask;
    }
    if (d->n == d->cap_ids && grow_ids(d) < 0)
        return -UP_ENOMEM;
    char *copy = up_arena_strndup(&d->arena, s, n);
    if (!copy)
        return -UP_ENOMEM;
    uint32_t id = d->n++;
    d->strs[id] = copy;
    d->lens[id] = (uint32_t)n;
    d->hashes[id] = h;
    d->slots[i] = id + 1;
    if (added)
        *added = 1;
    return id;
}

static inline uint64_t mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

void up_map64_init(up_map64_t *m)
{
    memset(m, 0, sizeof *m);
}

void up_map64_free(up_map64_t *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static int map64_grow(up_map64_t *m)
{
    uint64_t ncap = m->keys ? (m->mask + 1) * 2 : 1024;
    uint64_t *keys = malloc(ncap * sizeof *keys);
    uint32_t *vals = malloc(ncap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -UP_ENOMEM;
    }
    memset(keys, 0xff, ncap * sizeof *keys);
    if (m->keys) {
        for (uint64_t i = 0; i <= m->mask; i++) {
            uint64_t k = m->keys[i];
            if (k == UINT64_MAX)
                continue;
            uint64_t j = mix64(k) & (ncap - 1);
            while (keys[j] != UINT64_MAX)
                j = (j + 1) & (ncap - 1);
            keys[j] = k;
            vals[j] = m->vals[i];
        }
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->mask = ncap - 1;
    return 0;
}

uint32_t *up_map64_slot(up_map64_t *m, uint64_t key, int *added)
{
    *added = 0;
    if (!m->keys || (m->n + 1) * 2 > m->mask + 1) {
        if (map64_grow(m) < 0)
            return NULL;
    }
    uint64_t i = mix64(key) & m->mask;
    while (m->keys[i] != UINT64_MAX) {
        if (m->keys[i] == key)
            return &m->vals[i];
        i = (i + 1) & m->mask;
    }
    m->keys[i] = key;
    m->vals[i] = UINT32_MAX;
    m->n++;
    *added = 1;
    return &m->vals[i];
}

uint32_t up_map64_get(const up_map64_t *m, uint64_t key)
{
    if (!m->keys)
        return UINT32_MAX;
    uint64_t i = mix64(key) & m->mask;
    while (m->keys[i] != UINT64_MAX) {
        if (m->keys[i] == key)
            return m->vals[i];
        i = (i + 1) & m->mask;
    }
    return UINT32_MAX;
}
