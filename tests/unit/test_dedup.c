/* test_dedup: the message-id index stays exact across merges to disk,
 * lookups on disk, reopening, and run files that are damaged, left over or
 * of another log. A RAM budget of 1,000 ids makes the merges happen; the
 * log is a real events.log written with store_log. */
#include "fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dedup.h"
#include "store.h"

#define BLK 300                 /* new ids a test block holds */
#define N_IDS 20000

static char dir[64], logpath[96];
static int log_fd = -1;
static uint64_t log_end;
static const up_dedup_limits_t TINY = {1000, 1 << 20};

static uint64_t rng = 88172645463325252ull;
static uint64_t rand64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Appends a block of n events carrying the message ids mids (2 words each). */
static void log_block(const uint64_t *mids, uint32_t n)
{
    static const char *const strs[3] = {"u", "a", "e"};
    static const uint8_t kinds[3] = {UP_KIND_USER, UP_KIND_ACCOUNT, UP_KIND_EVENT};
    static const uint32_t lens[3] = {1, 1, 1}, zero = 0;
    up_ev_t *ev = calloc(n + 1, sizeof *ev);
    assert_non_null(ev);
    for (uint32_t i = 0; i < n; i++)
        ev[i].ts = 1767225600000LL + i;
    int first = log_end == 0;
    up_block_t b = {.n_strs = first ? 3 : 0, .str_kind = kinds, .strs = strs, .str_lens = lens,
                    .n_pairs = (uint32_t)first, .pair_account = &zero, .pair_user = &zero,
                    .n_events = n, .events = ev, .mids = mids};
    uint64_t bytes;
    assert_int_equal(up_store_log_append(log_fd, &b, 1, &bytes), 0);
    log_end += bytes;
    free(ev);
}

/* What a store does: new ids pend until a block is written; a full RAM
 * table writes the pending block, then goes to disk. */
typedef struct {
    up_dedup_t *d;
    uint64_t pend[2 * BLK];
    uint32_t n_pend;
} feed_t;

static void feed_flush(feed_t *f)
{
    if (f->n_pend)
        log_block(f->pend, f->n_pend);
    f->n_pend = 0;
}

static int feed(feed_t *f, uint64_t h1, uint64_t h2)
{
    if (up_dedup_full(f->d)) {
        feed_flush(f);
        assert_int_equal(up_dedup_persist(f->d, log_end), 0);
    }
    int rc = up_dedup_add(f->d, h1, h2);
    assert_true(rc == 0 || rc == 1);
    if (rc == 1) {
        f->pend[2 * f->n_pend] = h1;
        f->pend[2 * f->n_pend + 1] = h2;
        if (++f->n_pend == BLK)
            feed_flush(f);
    }
    return rc;
}

/* Opens the index as a store does: the runs, then the log after them. */
static up_dedup_t *open_index(void)
{
    up_dedup_t *d;
    assert_int_equal(up_dedup_open(&d, dir, log_fd, &TINY), 0);
    up_log_scan_t sc = {0};
    assert_int_equal(up_store_log_scan(log_fd, up_dedup_covered(d), up_dedup_scan_block, d, 0, &sc), 0);
    assert_int_equal(sc.end, log_end);
    return d;
}

static uint64_t merges_total;   /* runs written, over every reopen */

static void close_index(feed_t *f)
{
    feed_flush(f);
    assert_int_equal(up_dedup_persist(f->d, log_end), 0);
    up_dedup_stats_t st;
    up_dedup_stats(f->d, &st);
    merges_total += st.merges;
    up_dedup_close(f->d);
    f->d = NULL;
}

static up_dedup_stats_t stats_of(const up_dedup_t *d)
{
    up_dedup_stats_t st;
    up_dedup_stats(d, &st);
    return st;
}

/* How many run files dir holds. */
static int count_runs(void)
{
    DIR *dd = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dd));)
        n += strncmp(e->d_name, "mids.", 5) == 0 && strstr(e->d_name, ".idx") != NULL;
    closedir(dd);
    return n;
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(fx_mkdtemp(dir, sizeof dir, "dedup"), 0);
    snprintf(logpath, sizeof logpath, "%s/events.log", dir);
    log_fd = open(logpath, O_RDWR | O_CREAT | O_APPEND, 0644);
    assert_true(log_fd >= 0);
    log_end = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(log_fd);
    return fx_rmdir(dir);
}

/* Hand-worked: six adds, one merge, lookups from disk. */
static void test_hand(void **state)
{
    (void)state;
    feed_t f = {.d = open_index()};
    assert_int_equal(up_dedup_add(f.d, 0, 0), -UP_EINVAL);   /* no id */
    assert_int_equal(feed(&f, 5, 1), 1);
    assert_int_equal(feed(&f, 5, 1), 0);                     /* the same id */
    assert_int_equal(feed(&f, 5, 2), 1);                     /* h1 equal, h2 not: another id */
    assert_int_equal(feed(&f, UINT64_MAX, 7), 1);            /* the last home slot */
    assert_int_equal(feed(&f, UINT64_MAX, 6), 1);            /* ... and the overflow area after it */
    assert_int_equal(feed(&f, 0, 1), 1);
    assert_int_equal(stats_of(f.d).ram_ids, 5);
    close_index(&f);
    /* one run: a 64-byte header and 5 records of 16 bytes, [0, log_end) */
    char name[160];
    snprintf(name, sizeof name, "%s/mids.%016llx-%016llx.idx", dir, 0ull, (unsigned long long)log_end);
    struct stat st;
    assert_int_equal(stat(name, &st), 0);
    assert_int_equal(st.st_size, 64 + 5 * 16);
    f.d = open_index();
    up_dedup_stats_t s = stats_of(f.d);
    assert_int_equal(s.runs, 1);
    assert_int_equal(s.disk_ids, 5);
    assert_int_equal(s.ram_ids, 0);
    assert_int_equal(up_dedup_covered(f.d), log_end);
    assert_int_equal(feed(&f, 5, 2), 0);                     /* found on disk */
    assert_int_equal(feed(&f, UINT64_MAX, 6), 0);
    assert_int_equal(feed(&f, 0, 1), 0);
    assert_int_equal(stats_of(f.d).disk_searches, 3);
    assert_int_equal(feed(&f, 5, 3), 1);
    assert_int_equal(feed(&f, 5, 3), 0);                     /* now in RAM */
    close_index(&f);
    /* the second run holds 1 id; the first (5 ids) joins a merge only when
     * it is at most twice as big (5 > 2 x 1): two runs */
    f.d = open_index();
    assert_int_equal(stats_of(f.d).runs, 2);
    assert_int_equal(stats_of(f.d).disk_ids, 6);
    up_dedup_close(f.d);
}

/* 20,000 random ids, each added twice in a shuffled order, with a reopen
 * every 7,000 adds: exactly one add of each is new. */
static uint64_t *ids_twice(void)
{
    uint64_t *ids = malloc(2 * N_IDS * 2 * sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N_IDS; i++) {
        ids[4 * i] = ids[4 * i + 2] = rand64();
        ids[4 * i + 1] = ids[4 * i + 3] = rand64() | 1;
    }
    for (int i = 2 * N_IDS - 1; i > 0; i--) {   /* Fisher-Yates on pairs of words */
        int j = (int)(rand64() % (uint64_t)(i + 1));
        uint64_t a = ids[2 * i], b = ids[2 * i + 1];
        ids[2 * i] = ids[2 * j];
        ids[2 * i + 1] = ids[2 * j + 1];
        ids[2 * j] = a;
        ids[2 * j + 1] = b;
    }
    return ids;
}

static feed_t *build(uint64_t **ids_out)
{
    uint64_t *ids = ids_twice();
    feed_t *f = calloc(1, sizeof *f);
    f->d = open_index();
    int news = 0, dups = 0;
    for (int i = 0; i < 2 * N_IDS; i++) {
        if (i % 7000 == 6999) {
            close_index(f);
            f->d = open_index();
        }
        int rc = feed(f, ids[2 * i], ids[2 * i + 1]);
        news += rc == 1;
        dups += rc == 0;
    }
    assert_int_equal(news, N_IDS);
    assert_int_equal(dups, N_IDS);
    *ids_out = ids;
    return f;
}

static void test_twice(void **state)
{
    (void)state;
    uint64_t *ids;
    feed_t *f = build(&ids);
    up_dedup_stats_t s = stats_of(f->d);
    assert_true(merges_total + s.merges >= N_IDS / 1000);
    assert_true(s.disk_searches > 0);
    assert_true(s.runs <= 6);   /* sizes more than double: log2(20000 / 1000) + 1 */
    assert_int_equal(s.ram_ids + s.disk_ids, N_IDS);
    close_index(f);
    assert_int_equal((int)count_runs(), (int)s.runs + (s.ram_ids > 0 && s.runs == 0));
    /* reopened: every id is a duplicate, a fresh one is new */
    f->d = open_index();
    assert_int_equal(stats_of(f->d).dropped, 0);
    for (int i = 0; i < 2 * N_IDS; i++)
        assert_int_equal(up_dedup_add(f->d, ids[2 * i], ids[2 * i + 1]), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(feed(f, rand64(), 2), 1);
    close_index(f);
    free(ids);
    free(f);
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x40;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

/* The oldest run (the one starting at offset 0) */
static void oldest_run(char *path, size_t n)
{
    DIR *dd = opendir(dir);
    path[0] = 0;
    for (struct dirent *e; (e = readdir(dd));)
        if (strncmp(e->d_name, "mids.0000000000000000-", 22) == 0)
            snprintf(path, n, "%s/%.60s", dir, e->d_name);
    closedir(dd);
    assert_true(path[0]);
}

/* A damaged run (a record, then the header) is dropped and rebuilt from the
 * log; left-over files are removed; every answer stays exact. */
static void test_damaged(void **state)
{
    (void)state;
    uint64_t *ids;
    feed_t *f = build(&ids);
    close_index(f);
    for (int round = 0; round < 2; round++) {
        char path[160];
        oldest_run(path, sizeof path);
        flip_byte(path, round == 0 ? 64 + 16 * 100 + 3 : 9);
        f->d = open_index();
        up_dedup_stats_t s = stats_of(f->d);
        assert_true(s.dropped >= 1);
        for (int i = 0; i < 2 * N_IDS; i++)
            assert_int_equal(up_dedup_add(f->d, ids[2 * i], ids[2 * i + 1]), 0);
        assert_int_equal(feed(f, 12345, 678 + (uint64_t)round), 1);
        close_index(f);
    }
    /* a left-over temporary file and a run of another range: removed */
    char junk[160];
    snprintf(junk, sizeof junk, "%s/mids.tmp", dir);
    FILE *fp = fopen(junk, "w");
    fputs("junk", fp);
    fclose(fp);
    snprintf(junk, sizeof junk, "%s/mids.%016llx-%016llx.idx", dir, 16ull, 32ull);
    fp = fopen(junk, "w");
    fputs("junk", fp);
    fclose(fp);
    int before = count_runs();
    f->d = open_index();
    assert_int_equal(count_runs(), before - 1);
    assert_int_equal(access(junk, F_OK), -1);
    assert_int_equal(feed(f, 12345, 679), 0);
    up_dedup_close(f->d);
    free(ids);
    free(f);
}

/* The log cut back (as `uptake repair --drop-damaged` does) and written
 * again: runs past its end, or whose end no longer matches the log's bytes,
 * are dropped, and the ids of the cut blocks are new again. */
static void test_stale(void **state)
{
    (void)state;
    feed_t f = {.d = open_index()};
    uint64_t cut_at = 0;
    for (uint64_t i = 1; i <= 3000; i++) {
        if (i == 2001) {
            close_index(&f);            /* a run ends at the end of id 2000's block */
            cut_at = log_end;
            f.d = open_index();
        }
        assert_int_equal(feed(&f, i << 40, i), 1);
    }
    close_index(&f);
    assert_int_equal(ftruncate(log_fd, (off_t)cut_at), 0);
    log_end = cut_at;
    f.d = open_index();
    assert_true(stats_of(f.d).dropped >= 1);
    assert_int_equal(up_dedup_covered(f.d), cut_at);
    assert_int_equal(feed(&f, 2000ull << 40, 2000), 0);   /* below the cut */
    assert_int_equal(feed(&f, 2001ull << 40, 2001), 1);   /* cut: new again */
    /* other blocks make the log longer than before, so a run that ended
     * past the cut would lie within the log: its end's bytes tell */
    for (uint64_t i = 5000; i < 7000; i++)
        assert_int_equal(feed(&f, i << 40, i), 1);
    close_index(&f);
    f.d = open_index();
    assert_int_equal(stats_of(f.d).dropped, 0);
    assert_int_equal(feed(&f, 2500ull << 40, 2500), 1);
    assert_int_equal(feed(&f, 6000ull << 40, 6000), 0);
    close_index(&f);
    /* the same files over a log rewritten with other bytes: all dropped */
    assert_int_equal(ftruncate(log_fd, 0), 0);
    log_end = 0;
    uint64_t other[2 * 10];
    for (int i = 0; i < 10; i++)
        other[2 * i] = other[2 * i + 1] = 99 + (uint64_t)i;
    while (log_end < cut_at + 4096)
        log_block(other, 10);
    f.d = open_index();
    assert_true(stats_of(f.d).dropped >= 1);
    assert_int_equal(stats_of(f.d).runs, 0);
    assert_int_equal(feed(&f, 2000ull << 40, 2000), 1);
    assert_int_equal(feed(&f, 99, 99), 0);                  /* from the log's scan */
    up_dedup_close(f.d);
}

/* Through the store, with UPTAKE_DEDUP_RAM_IDS=1000: 5,000 ids stored,
 * re-sent after a reopen, all duplicates. */
static void test_store(void **state)
{
    (void)state;
    static const char MODEL[] = "features:\n  - name: a\n    core: true\n    events: [a]\n";
    setenv("UPTAKE_DEDUP_RAM_IDS", "1000", 1);
    up_store_t *s = fx_create(dir, MODEL, "t");
    char mid[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 5000; i++) {
            snprintf(mid, sizeof mid, "m%d", i);
            fx_ev_id(s, 1767225600000LL + i, "u", "acc", "a", mid, round == 0);
            fx_ev_id(s, 1767225600000LL + i, "u", "acc", "a", mid, 0);
        }
        assert_true(count_runs() >= 1);   /* written while appending, not only at close */
        assert_int_equal(up_store_close(s), 0);
        s = fx_open_w(dir);
    }
    uint64_t ids;
    assert_int_equal(up_store_warm(s, &ids), 0);
    assert_int_equal(ids, 5000);
    up_store_stats_t st;
    up_store_stats(s, &st);
    assert_int_equal(st.events, 5000);
    assert_int_equal(up_store_close(s), 0);
    unsetenv("UPTAKE_DEDUP_RAM_IDS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
