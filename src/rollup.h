/* rollup (store layer): the compact state every metric is computed from. Per
 * (account, user) pair it keeps a bitmap of active days, the number of active
 * events per day, first and last event,
 * the days and times of key actions, and per feature the days used (and used
 * with an advanced event) and the first use and exposure. It also owns the
 * dictionaries that turn ids into names.
 * Invariant: the rollup equals a fold of every stored event (ts <= cutoff)
 * through the model it was built with; it is rebuilt when the model changes. */
#ifndef UP_ROLLUP_H
#define UP_ROLLUP_H

#include <stdint.h>
#include <stdio.h>

#include "dict.h"
#include "model.h"
#include "store_log.h"

#define UP_TS_NONE INT64_MAX

/* A set of UTC days: bit i of w[] is day base + i; base is a multiple of 64.
 * borrowed: w points into a mapped snapshot and is copied before it grows. */
typedef struct {
    int32_t base;
    uint16_t nw;
    uint16_t borrowed;
    uint64_t *w;
} up_days_t;

int up_days_set(up_days_t *d, int32_t day);
/* Number of set days in [from, to] (inclusive). */
int up_days_count(const up_days_t *d, int32_t from, int32_t to);
/* 1 when any day in [from, to] is set. */
int up_days_any(const up_days_t *d, int32_t from, int32_t to);
void up_days_free(up_days_t *d);
/* Bits of days from .. from + 127 into out[0] (days from .. from+63) and out[1]. */
void up_days_window128(const up_days_t *d, int32_t from, uint64_t out[2]);

/* Set bits of x: the CPU's instruction when the build targets it, else
 * a few shifts and adds (GCC's generic builtin is a library call). */
static inline int up_pop64(uint64_t x)
{
#ifdef __POPCNT__
    return __builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
#endif
}

/* The bits lo .. hi (inclusive, 0 <= lo <= hi < 128) of a 128-bit window,
 * as two masked words. */
static inline void up_bits128_mask(const uint64_t w[2], int lo, int hi, uint64_t out[2])
{
    for (int k = 0; k < 2; k++) {
        int a = lo - 64 * k, b = hi - 64 * k;
        if (b < 0 || a > 63) {
            out[k] = 0;
            continue;
        }
        if (a < 0)
            a = 0;
        if (b > 63)
            b = 63;
        out[k] = w[k] & (b == 63 ? ~0ULL : ((1ULL << (b + 1)) - 1)) & (~0ULL << a);
    }
}

/* Set bits of a 128-bit window in positions lo .. hi (inclusive, 0 <= lo <= hi < 128). */
static inline int up_rollup_bits128_count(const uint64_t w[2], int lo, int hi)
{
    uint64_t m[2];
    up_bits128_mask(w, lo, hi, m);
    return up_pop64(m[0]) + up_pop64(m[1]);
}

/* 1 when any bit lo .. hi of the window is set. */
static inline int up_rollup_bits128_any(const uint64_t w[2], int lo, int hi)
{
    uint64_t m[2];
    up_bits128_mask(w, lo, hi, m);
    return (m[0] | m[1]) != 0;
}

/* One pair × feature. */
typedef struct {
    uint32_t feature;
    int64_t first_exposure_ts; /* UP_TS_NONE when never exposed */
    int64_t first_use_ts;    /* UP_TS_NONE when never used */
    up_days_t used;          /* days used (any use event, advanced included) */
    up_days_t advanced;      /* days used with an advanced event */
} up_pf_t;

/* Days with a key action, with the first and last ms of that day. */
typedef struct {
    int32_t day;
    int32_t min_ms, max_ms;  /* ms since the day's 00:00 UTC */
} up_kaday_t;

/* Events that make their user active (not passive) on one day. */
typedef struct {
    int32_t day;
    uint32_t n;
} up_evday_t;

/* Pair flags from the users table (not from events). */
enum { UP_PAIR_IN_TABLE = 1, UP_PAIR_CHAMPION = 2, UP_PAIR_SPONSOR = 4 };

typedef struct {
    uint32_t account, user;  /* dictionary ids */
    uint32_t flags;          /* UP_PAIR_*: the users table's view of this pair */
    int64_t created_at;      /* from the users table; UP_TS_NONE when unset */
    int64_t first_ts, last_ts;   /* UP_TS_NONE / INT64_MIN for a pair only in the users table */
    int64_t first_ka_ts;     /* UP_TS_NONE when none */
    up_days_t active;
    up_pf_t *pf;             /* cap_pf == 0 with n_pf > 0: borrowed from the snapshot */
    uint32_t n_pf, cap_pf;
    up_kaday_t *ka;          /* sorted by day; cap_ka == 0: borrowed likewise */
    uint32_t n_ka, cap_ka;
    up_evday_t *evd;         /* active events per day, sorted by day; cap_evd == 0: borrowed likewise */
    uint32_t n_evd, cap_evd;
} up_pair_t;

/* Active events of pair p on the days [from, to] (inclusive). */
uint64_t up_rollup_events_between(const up_pair_t *p, int32_t from, int32_t to);

/* How the model classifies one event name. */
typedef struct {
    uint8_t passive;         /* does not make the user active */
    uint8_t key_action;
    uint16_t n_roles;
    uint32_t *roles;         /* feature << 2 | role (0 use, 1 advanced, 2 exposure) */
} up_evclass_t;

typedef struct {
    up_dict_t dict[UP_KINDS];        /* users, accounts, event names */
    up_map64_t pair_index;           /* account << 32 | user -> pair id */
    int index_stale;                 /* pair_index not built yet (after a load) */
    up_pair_t *pairs;
    uint32_t n_pairs, cap_pairs;
    up_evclass_t *evclass;           /* per event-name id */
    uint32_t n_evclass;
    const up_model_t *model;         /* borrowed */
    int64_t cutoff;                  /* events with ts > cutoff are ignored */
    uint64_t events;                 /* events folded in */
    int64_t min_ts, max_ts;          /* over all folded events */
    int64_t users_gen;               /* the users table generation folded in (-1: none) */
    void *map;                       /* the mapped snapshot, or NULL */
    size_t map_len;
    int pairs_mapped;                /* pairs lies in map (copied out before it grows) */
    int folded;                      /* up_rollup_add has run: pairs may own arrays */
} up_rollup_t;

/* Initialises an empty rollup over model (borrowed; must outlive it). */
void up_rollup_init(up_rollup_t *r, const up_model_t *model, int64_t cutoff);
void up_rollup_free(up_rollup_t *r);

/* Interns a pair; returns its id or a negative UP_E* code. *added set to 1
 * when new. */
int64_t up_rollup_pair(up_rollup_t *r, uint32_t account, uint32_t user, int *added);

/* Grows r->pairs to hold n pairs (a no-op when it does). 0 or -UP_ENOMEM. */
int up_rollup_reserve_pairs(up_rollup_t *r, uint32_t n);
/* Classifies event-name ids up to e from the model, when not yet done
 * (up_rollup_add does it on first sight; a rollpipe producer does it first). */
int up_rollup_classify(up_rollup_t *r, uint32_t e);

/* Folds one event (ids already interned) into the rollup. */
int up_rollup_add(up_rollup_t *r, const up_ev_t *ev);

/* Applies a decoded log block: interns its strings and pairs (checking that
 * their ids continue the sequences) and folds its events. */
int up_rollup_apply_block(up_rollup_t *r, const up_block_t *b);

/* Writes the whole rollup (dictionaries included) to f, with model_hash and
 * log_offset alongside. Bitmaps are 8-byte aligned in the file so that a
 * reader can map it and use them in place. */
int up_rollup_save(const up_rollup_t *r, FILE *f, uint64_t model_hash, uint64_t log_offset);

/* Maps the snapshot at path into an initialised, empty r; its pair and
 * feature records, bitmaps and arrays are used in place in the (private)
 * mapping, unmapped by up_rollup_free. Every section's CRC-32C and every
 * index, pointer, offset and order it loads is checked. Returns 0, -UP_ENOTFOUND when
 * the file is missing or was built with another model (the caller rebuilds),
 * or -UP_ECORRUPT with what failed in why (empty when the file is of another
 * format, which is no damage). */
int up_rollup_load(up_rollup_t *r, const char *path, uint64_t model_hash, uint64_t *log_offset,
                   char *why, size_t whylen);

#endif
