/* dict: string interning and 64-bit sets/maps with open addressing and linear
 * probing. Invariant: load factor stays at or below 1/2, so probes are short
 * and a free slot always exists. */
#include "dict.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

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

static inline uint64_t slot_of(uint64_t h, uint32_t id)
{
    return (h >> 32) << 32 | ((uint64_t)id + 1);
}

/* Rebuilds the slot table with nslots slots (a power of two) from hashes[]. */
static int rehash(up_dict_t *d, uint32_t nslots)
{
    uint64_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -UP_ENOMEM;
    for (uint32_t id = 0; id < d->n; id++) {
        uint32_t i = (uint32_t)d->hashes[id] & (nslots - 1);
        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = slot_of(d->hashes[id], id);
    }
    free(d->slots);
    d->slots = slots;
    d->mask = nslots - 1;
    return 0;
}

/* Room for cap ids: their strings and lengths, and their hashes when the
 * dict has its index (a lazy one gets them in build_index). */
static int grow_to(up_dict_t *d, uint32_t cap)
{
    if (!d->lazy || d->hashes) {
        uint64_t *hashes = realloc(d->hashes, cap * sizeof *hashes);
        if (!hashes)
            return -UP_ENOMEM;
        d->hashes = hashes;
    }
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

static int grow_ids(up_dict_t *d)
{
    return grow_to(d, d->cap_ids ? d->cap_ids * 2 : 256);
}

int up_dict_reserve_borrowed(up_dict_t *d, uint32_t n)
{
    if (n <= d->cap_ids - d->n)
        return 0;
    if (d->n == 0 && !d->hashes)
        d->lazy = 1;   /* only borrowed ids follow: no hashes until the index is built */
    uint64_t cap = (uint64_t)d->n + n;
    if (cap > UINT32_MAX - 1)
        return -UP_ENOMEM;
    int rc = grow_to(d, (uint32_t)cap);
    if (rc == 0) {
        up_prefault(d->strs, cap * sizeof *d->strs);
        up_prefault(d->lens, cap * sizeof *d->lens);
    }
    return rc;
}

int64_t up_dict_add_borrowed(up_dict_t *d, const char *s, size_t n)
{
    d->lazy = 1;   /* (before growing: a dict without hashes gets them with its index) */
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
    if (!d->hashes && d->cap_ids && !(d->hashes = malloc(d->cap_ids * sizeof *d->hashes)))
        return -UP_ENOMEM;
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
        uint64_t v = d->slots[i];
        if (!v)
            return -1;
        uint32_t id = (uint32_t)v - 1;
        if ((v >> 32) == (h >> 32) && d->lens[id] == n && memcmp(d->strs[id], s, n) == 0)
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
        uint64_t v = d->slots[i];
        if (!v)
            break;
        uint32_t id = (uint32_t)v - 1;
        if ((v >> 32) == (h >> 32) && d->lens[id] == n && memcmp(d->strs[id], s, n) == 0)
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
    d->slots[i] = slot_of(h, id);
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

/* Tables of 2 MB and more come straight from mmap: zero pages, faulted in
 * as they are first written. A doubling of a big table would fault in all
 * of the new one within the first few thousand inserts of its drain (tens
 * of milliseconds on a virtual machine); so when a big table passes 3/8
 * full, a thread maps the next one and touches each of its pages, and the
 * doubling at 1/2 finds it ready. */
#define MAP64_MMAP_BYTES (2u << 20)

static void *map64_alloc(size_t bytes)
{
    if (bytes < MAP64_MMAP_BYTES)
        return calloc(1, bytes);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void map64_release(void *p, size_t bytes)
{
    if (!p)
        return;
    if (bytes < MAP64_MMAP_BYTES)
        free(p);
    else
        munmap(p, bytes);
}

struct up_map64_pre {
    pthread_t thread;
    int started;
    uint64_t cap;
    uint64_t *keys;
    uint32_t *vals;
};

static void *map64_prefault(void *arg)
{
    struct up_map64_pre *pre = arg;
    long page = sysconf(_SC_PAGESIZE);
    size_t step = page > 0 ? (size_t)page : 4096;
    volatile unsigned char *k = (unsigned char *)pre->keys, *v = (unsigned char *)pre->vals;
    for (size_t i = 0; i < pre->cap * sizeof *pre->keys; i += step)
        k[i] = 0;
    for (size_t i = 0; i < pre->cap * sizeof *pre->vals; i += step)
        v[i] = 0;
    return NULL;
}

/* Starts faulting in the table of the next doubling (a failure only means
 * the doubling maps its own). */
static void map64_prepare(up_map64_t *m)
{
    uint64_t ncap = (m->mask + 1) * 2;
    struct up_map64_pre *pre = calloc(1, sizeof *pre);
    if (!pre)
        return;
    pre->cap = ncap;
    pre->keys = map64_alloc(ncap * sizeof *pre->keys);
    pre->vals = map64_alloc(ncap * sizeof *pre->vals);
    if (!pre->keys || !pre->vals) {
        map64_release(pre->keys, ncap * sizeof *pre->keys);
        map64_release(pre->vals, ncap * sizeof *pre->vals);
        free(pre);
        return;
    }
    pre->started = pthread_create(&pre->thread, NULL, map64_prefault, pre) == 0;
    m->pre = pre;
}

/* The prepared table, once its thread is done; NULL if none. */
static struct up_map64_pre *map64_take_pre(up_map64_t *m)
{
    struct up_map64_pre *pre = m->pre;
    if (pre && pre->started)
        pthread_join(pre->thread, NULL);
    m->pre = NULL;
    return pre;
}

void up_map64_init(up_map64_t *m)
{
    memset(m, 0, sizeof *m);
}

void up_map64_free(up_map64_t *m)
{
    struct up_map64_pre *pre = map64_take_pre(m);
    if (pre) {
        map64_release(pre->keys, pre->cap * sizeof *pre->keys);
        map64_release(pre->vals, pre->cap * sizeof *pre->vals);
        free(pre);
    }
    if (m->keys) {
        map64_release(m->keys, (m->mask + 1) * sizeof *m->keys);
        map64_release(m->vals, (m->mask + 1) * sizeof *m->vals);
    }
    if (m->old_keys) {
        map64_release(m->old_keys, (m->old_mask + 1) * sizeof *m->old_keys);
        map64_release(m->old_vals, (m->old_mask + 1) * sizeof *m->old_vals);
    }
    memset(m, 0, sizeof *m);
}

/* Places a stored key (key + 1) known to be absent into the current table. */
static uint32_t *map64_place(up_map64_t *m, uint64_t k1, uint32_t v)
{
    uint64_t i = mix64(k1 - 1) & m->mask;
    while (m->keys[i])
        i = (i + 1) & m->mask;
    m->keys[i] = k1;
    m->vals[i] = v;
    return &m->vals[i];
}

/* Moves up to `steps` slots of the previous table into the current one. */
static void map64_drain(up_map64_t *m, uint64_t steps)
{
    if (!m->old_keys)
        return;
    uint64_t end = m->moved + steps;
    if (end > m->old_mask + 1)
        end = m->old_mask + 1;
    for (uint64_t i = m->moved; i < end; i++)
        if (m->old_keys[i])
            map64_place(m, m->old_keys[i], m->old_vals[i]);
    m->moved = end;
    if (m->moved > m->old_mask) {
        map64_release(m->old_keys, (m->old_mask + 1) * sizeof *m->old_keys);
        map64_release(m->old_vals, (m->old_mask + 1) * sizeof *m->old_vals);
        m->old_keys = NULL;
        m->old_vals = NULL;
    }
}

static int map64_grow(up_map64_t *m)
{
    /* a drain still under way ends first (it cannot with the rates below:
     * it needs a quarter of the inserts the larger table allows) */
    map64_drain(m, UINT64_MAX);
    uint64_t ncap = m->keys ? (m->mask + 1) * 2 : 1024;
    uint64_t *keys = NULL;
    uint32_t *vals = NULL;
    struct up_map64_pre *pre = map64_take_pre(m);
    if (pre && pre->cap == ncap) {
        keys = pre->keys;
        vals = pre->vals;
    } else if (pre) {
        map64_release(pre->keys, pre->cap * sizeof *pre->keys);
        map64_release(pre->vals, pre->cap * sizeof *pre->vals);
    }
    free(pre);
    if (!keys)
        keys = map64_alloc(ncap * sizeof *keys);
    if (!vals)
        vals = map64_alloc(ncap * sizeof *vals);
    if (!keys || !vals) {
        map64_release(keys, ncap * sizeof *keys);
        map64_release(vals, ncap * sizeof *vals);
        return -UP_ENOMEM;
    }
    m->old_keys = m->keys;
    m->old_vals = m->vals;
    m->old_mask = m->mask;
    m->moved = 0;
    m->keys = keys;
    m->vals = vals;
    m->mask = ncap - 1;
    return 0;
}

/* The slot of a stored key in the previous table, or NULL. Slots below
 * `moved` are in the current table, which is searched first. */
static uint32_t *map64_old_find(const up_map64_t *m, uint64_t k1)
{
    if (!m->old_keys)
        return NULL;
    uint64_t i = mix64(k1 - 1) & m->old_mask;
    while (m->old_keys[i]) {
        if (m->old_keys[i] == k1)
            return i >= m->moved ? &m->old_vals[i] : NULL;
        i = (i + 1) & m->old_mask;
    }
    return NULL;
}

uint32_t *up_map64_slot(up_map64_t *m, uint64_t key, int *added)
{
    *added = 0;
    if (!m->keys || (m->n + 1) * 2 > m->mask + 1) {
        if (map64_grow(m) < 0)
            return NULL;
    }
    map64_drain(m, 8);
    uint64_t k1 = key + 1;
    uint64_t i = mix64(key) & m->mask;
    while (m->keys[i]) {
        if (m->keys[i] == k1)
            return &m->vals[i];
        i = (i + 1) & m->mask;
    }
    uint32_t *old = map64_old_find(m, k1);
    if (old)
        return old;
    m->keys[i] = k1;
    m->vals[i] = UINT32_MAX;
    m->n++;
    *added = 1;
    if (!m->pre && m->n * 8 >= (m->mask + 1) * 3 && (m->mask + 1) * 2 * sizeof *m->vals >= MAP64_MMAP_BYTES)
        map64_prepare(m);
    return &m->vals[i];
}

uint32_t up_map64_get(const up_map64_t *m, uint64_t key)
{
    if (!m->keys)
        return UINT32_MAX;
    uint64_t k1 = key + 1;
    uint64_t i = mix64(key) & m->mask;
    while (m->keys[i]) {
        if (m->keys[i] == k1)
            return m->vals[i];
        i = (i + 1) & m->mask;
    }
    const uint32_t *old = map64_old_find(m, k1);
    return old ? *old : UINT32_MAX;
}
