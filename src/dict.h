/* dict: string interning. Each distinct string gets a dense id (0, 1, 2, …) in
 * order of first insertion; ids never change, so they can be written to disk.
 * Invariant: the table never holds two equal strings. */
#ifndef UP_DICT_H
#define UP_DICT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

typedef struct {
    uint64_t *slots;      /* hash >> 32 << 32 | id + 1, 0 = empty; open addressing: the
                             high half rejects most other strings without touching them */
    uint64_t *hashes;     /* per id */
    char **strs;          /* per id, NUL-terminated */
    uint32_t *lens;       /* per id */
    uint32_t n, cap_ids;
    uint32_t mask;        /* slots - 1 */
    up_arena_t arena;     /* the strings it copied */
    int lazy;             /* ids added by up_dict_add_borrowed; no hash index yet */
} up_dict_t;

void up_dict_init(up_dict_t *d);
void up_dict_free(up_dict_t *d);

/* Returns the id of s[0..n), or -1 when absent. */
int64_t up_dict_find(const up_dict_t *d, const char *s, size_t n);

/* Returns the id of s[0..n), adding it when absent (*added set to 1 then).
 * Returns -UP_ENOMEM on out-of-memory. */
int64_t up_dict_intern(up_dict_t *d, const char *s, size_t n, int *added);

/* Appends s (NUL-terminated, n bytes, owned by the caller and outliving the
 * dict) as the next id without checking for duplicates: for loading a
 * snapshot whose strings are known to be distinct. The hash index is built
 * on the first find or intern. Returns the id or -UP_ENOMEM. */
int64_t up_dict_add_borrowed(up_dict_t *d, const char *s, size_t n);
/* Room for n more ids added by up_dict_add_borrowed, in one allocation
 * (their hashes come when the index is built). */
int up_dict_reserve_borrowed(up_dict_t *d, uint32_t n);

static inline const char *up_dict_str(const up_dict_t *d, uint32_t id) { return d->strs[id]; }
/* Is id (or -1) the string s[0..n) of d? */
static inline int up_dict_is(const up_dict_t *d, int64_t id, const char *s, size_t n)
{
    return id >= 0 && d->lens[id] == n && memcmp(d->strs[id], s, n) == 0;
}

/* A map from 64-bit keys to 32-bit values, open addressing. Keys are kept
 * as key + 1 so that an empty slot is 0 and a new table comes from calloc
 * (fresh pages, touched only as they fill). Growing is incremental: the
 * previous table stays read-only and every later call moves a few of its
 * slots, so no single insert pays for rehashing millions of keys (a pause
 * the server would otherwise show as a p99 spike at each doubling). A big
 * table's successor is faulted in ahead by a short-lived thread. */
typedef struct {
    uint64_t *keys;
    uint32_t *vals;
    uint64_t n, mask;                /* n: keys in both tables */
    uint64_t *old_keys;              /* the previous table while it drains */
    uint32_t *old_vals;
    uint64_t old_mask, moved;        /* old slots below `moved` are drained */
    struct up_map64_pre *pre;        /* the next table, being faulted in (dict.c) */
} up_map64_t;

void up_map64_init(up_map64_t *m);
void up_map64_free(up_map64_t *m);
/* Returns a pointer to the value for key (inserted as 0xffffffff when absent,
 * *added set), or NULL on out-of-memory. key must not be UINT64_MAX. The
 * pointer is valid until the next call on the map. */
uint32_t *up_map64_slot(up_map64_t *m, uint64_t key, int *added);
/* Returns the value or UINT32_MAX when absent. */
uint32_t up_map64_get(const up_map64_t *m, uint64_t key);

#endif
