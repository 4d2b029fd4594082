/* bench/dedup: the message-id index under N unique random ids, then 100,000
 * re-sent ones, as a store's writer drives it (a block of 65,536 events to
 * the log, then the index to disk when its RAM part is full). Prints the
 * inserts per second, the duplicates found per second and the peak RSS.
 *   dedup index N DIR    the index of src/dedup.c (its files in DIR)
 *   dedup map N DIR      its predecessor: every id in an in-memory hash map
 *                        (up_map64_t of h1, and an array of h2)
 * One mode per process, so that ru_maxrss is the mode's own. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dedup.h"
#include "dict.h"
#include "util.h"

#define BLOCK 65536
#define RESENT 100000

static uint64_t rng = 88172645463325252ull;
static uint64_t rand64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the old store.c index: h1 -> index of h2 */
typedef struct {
    up_map64_t map;
    uint64_t *h2;
    uint32_t n, cap;
} old_t;

static int old_add(old_t *o, uint64_t h1, uint64_t h2)
{
    int added;
    uint32_t *slot = up_map64_slot(&o->map, h1 == UINT64_MAX ? h1 - 1 : h1, &added);
    if (!slot)
        return -UP_ENOMEM;
    if (!added)
        return o->h2[*slot] == h2 ? 0 : 1;
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 4096;
        uint64_t *h = realloc(o->h2, o->cap * sizeof *h);
        if (!h)
            return -UP_ENOMEM;
        o->h2 = h;
    }
    o->h2[o->n] = h2;
    *slot = o->n++;
    return 1;
}

/* the store's part: a block written to the "log" (a sparse file here; the
 * index reads its last 16 bytes), then the index to disk when it is full */
typedef struct {
    up_dedup_t *d;
    int log_fd;
    uint64_t log_end, pending;
} store_t;

static int store_add(store_t *s, uint64_t h1, uint64_t h2)
{
    if (up_dedup_full(s->d) || s->pending == BLOCK) {
        s->log_end += 4096;
        s->pending = 0;
        if (ftruncate(s->log_fd, (off_t)s->log_end) != 0)
            return -UP_EIO;
    }
    int rc;
    if (up_dedup_full(s->d) && (rc = up_dedup_persist(s->d, s->log_end)) < 0)
        return rc;
    rc = up_dedup_add(s->d, h1, h2);
    s->pending += rc == 1;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "index") && strcmp(argv[1], "map"))) {
        fprintf(stderr, "usage: dedup index|map N DIR\n");
        return 2;
    }
    int index = strcmp(argv[1], "index") == 0;
    uint64_t n = strtoull(argv[2], NULL, 10);
    old_t old = {0};
    store_t st = {0};
    up_map64_init(&old.map);
    if (index) {
        char path[4096];
        snprintf(path, sizeof path, "%s/events.log", argv[3]);
        st.log_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        up_dedup_limits_t lim;
        up_dedup_limits(&lim);
        if (st.log_fd < 0 || up_dedup_open(&st.d, argv[3], st.log_fd, &lim) < 0) {
            fprintf(stderr, "dedup: cannot open the index in %s\n", argv[3]);
            return 1;
        }
    }
    uint64_t seed = rng, news = 0, dups = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t h1 = rand64(), h2 = rand64() | 1;
        int rc = index ? store_add(&st, h1, h2) : old_add(&old, h1, h2);
        if (rc < 0) {
            fprintf(stderr, "dedup: %s after %llu ids\n", up_strerror(rc), (unsigned long long)i);
            return 1;
        }
        news += rc == 1;
    }
    double t1 = now_s();
    rng = seed;   /* the first RESENT ids again: all duplicates */
    for (uint64_t i = 0; i < RESENT && i < n; i++) {
        uint64_t h1 = rand64(), h2 = rand64() | 1;
        dups += (index ? store_add(&st, h1, h2) : old_add(&old, h1, h2)) == 0;
    }
    double t2 = now_s();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%-5s %11llu ids: %6.1f s, %9.0f inserts/s; %llu re-sent found in %.2f s (%.0f/s); peak RSS %ld MB",
           argv[1], (unsigned long long)n, t1 - t0, n / (t1 - t0), (unsigned long long)dups, t2 - t1,
           dups / (t2 - t1), ru.ru_maxrss / 1024);
    if (index) {
        up_dedup_stats_t s;
        up_dedup_stats(st.d, &s);
        printf("; %llu runs, %llu disk searches, table %llu MB, Bloom %llu MB",
               (unsigned long long)s.runs, (unsigned long long)s.disk_searches,
               (unsigned long long)(s.ram_bytes >> 20), (unsigned long long)(s.bloom_bytes >> 20));
        up_dedup_close(st.d);
        close(st.log_fd);
    }
    printf("\n");
    return news == n && dups == (n < RESENT ? n : RESENT) ? 0 : 1;
}
