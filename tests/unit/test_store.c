/* test_store: the event log survives reopen, a torn tail, a lost snapshot and
 * re-sent message ids. Block size is 65,536 events, so 100,000 events make
 * one full block plus one of 34,464. */
#include "fixture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static const char MODEL[] = "features:\n  - name: a\n    core: true\n    events: [a]\n";
static char dir[64], logpath[96], snappath[96], ackpath[96];

static uint64_t events_of(up_store_t *s)
{
    up_store_stats_t st;
    up_store_stats(s, &st);
    return st.events;
}

static off_t size_of(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_size;
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(fx_mkdtemp(dir, sizeof dir, "store"), 0);
    snprintf(logpath, sizeof logpath, "%s/events.log", dir);
    snprintf(snappath, sizeof snappath, "%s/rollup.bin", dir);
    snprintf(ackpath, sizeof ackpath, "%s/events.ack", dir);
    up_store_t *s = fx_create(dir, MODEL, "t");
    char user[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(user, sizeof user, "u%d", i % 1000);
        assert_int_equal(up_store_append(s, 1767225600000LL + (int64_t)i * 60000, user, (size_t)n, "acc", 3,
                                         "a", 1, NULL, 0), 1);
    }
    assert_int_equal(up_store_close(s), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fx_rmdir(dir);
}

static void test_reopen(void **state)
{
    (void)state;
    up_store_t *s;
    char err[512];
    assert_int_equal(up_store_open(&s, dir, UP_STORE_READ, err, sizeof err), 0);
    assert_int_equal(events_of(s), 100000);
    assert_null(up_store_notice(s));
    up_store_close(s);
}

static void test_torn_tail(void **state)
{
    (void)state;
    off_t good = size_of(logpath);
    int fd = open(logpath, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "UPB1\x10\x00", 6), 6);   /* a header cut short */
    close(fd);
    /* a reader ignores it and leaves the file alone */
    up_store_t *s;
    char err[512];
    assert_int_equal(up_store_open(&s, dir, UP_STORE_READ, err, sizeof err), 0);
    assert_int_equal(events_of(s), 100000);
    assert_non_null(up_store_notice(s));
    up_store_close(s);
    assert_int_equal(size_of(logpath), good + 6);
    /* a writer cuts it and says so */
    s = fx_open_w(dir);
    assert_non_null(strstr(up_store_notice(s), "torn tail of 6 bytes"));
    assert_int_equal(events_of(s), 100000);
    up_store_close(s);
    assert_int_equal(size_of(logpath), good);
}

static int last_block_cb(void *ctx, const up_log_blockinfo_t *bi)
{
    *(uint64_t *)ctx = bi->off;
    return 0;
}

/* Moves the acknowledged mark back to the start of the log's last block:
 * what a crash during that block's write leaves. */
static void unacknowledge_last_block(void)
{
    uint64_t last = 0;
    int fd = open(logpath, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(up_store_log_verify(fd, 0, last_block_cb, &last), 0);
    close(fd);
    up_log_mark_t m;
    assert_int_equal(up_store_log_mark_read(ackpath, &m), 0);
    assert_int_equal(m.state, UP_MARK_OK);
    assert_int_equal(m.acked, (uint64_t)size_of(logpath));
    fd = open(ackpath, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(up_store_log_mark_write(fd, &m, last), 0);
    close(fd);
}

/* Cutting into the last block loses exactly that block (never acknowledged
 * in a real crash, so above the mark); the snapshot, which covers it, is
 * discarded and rebuilt. */
static void test_cut_last_block(void **state)
{
    (void)state;
    off_t good = size_of(logpath);
    unacknowledge_last_block();
    assert_int_equal(truncate(logpath, good - 10), 0);
    up_store_t *s = fx_open_w(dir);
    assert_non_null(up_store_notice(s));
    assert_int_equal(events_of(s), 65536);
    up_store_close(s);
    /* put the lost events back for the next tests */
    s = fx_open_w(dir);
    char user[32];
    for (int i = 65536; i < 100000; i++) {
        int n = snprintf(user, sizeof user, "u%d", i % 1000);
        assert_int_equal(up_store_append(s, 1767225600000LL + (int64_t)i * 60000, user, (size_t)n, "acc", 3,
                                         "a", 1, NULL, 0), 1);
    }
    up_store_close(s);
}

static void test_lost_snapshot(void **state)
{
    (void)state;
    assert_int_equal(unlink(snappath), 0);
    up_store_t *s = fx_open_w(dir);
    assert_int_equal(events_of(s), 100000);
    up_store_stats_t st;
    up_store_stats(s, &st);
    assert_int_equal(st.users, 1000);
    assert_int_equal(st.pairs, 1000);
    up_store_close(s);
    assert_true(size_of(snappath) > 0);
}

static void test_dedup_across_reopen(void **state)
{
    (void)state;
    up_store_t *s = fx_open_w(dir);
    assert_int_equal(up_store_append(s, 1767225600000LL, "u1", 2, "acc", 3, "a", 1, "msg-1", 5), 1);
    assert_int_equal(up_store_append(s, 1767225600001LL, "u1", 2, "acc", 3, "a", 1, "msg-1", 5), 0);
    assert_int_equal(up_store_append(s, 1767225600000LL, "u1", 2, "acc", 3, "a", 1, "msg-2", 5), 1);
    up_store_close(s);
    s = fx_open_w(dir);
    assert_int_equal(up_store_append(s, 1767225600000LL, "u9", 2, "acc", 3, "a", 1, "msg-1", 5), 0);
    assert_int_equal(up_store_append(s, 1767225600000LL, "u9", 2, "acc", 3, "a", 1, "msg-3", 5), 1);
    assert_int_equal(events_of(s), 100003);
    up_store_close(s);
}

static void flip_byte(off_t at)
{
    int fd = open(logpath, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

/* A damaged byte in the first of several blocks is not a torn tail: the
 * store refuses to open rather than cut acknowledged events. Flipping it back
 * restores everything. */
static void test_damage_is_not_cut(void **state)
{
    (void)state;
    off_t size = size_of(logpath);
    assert_int_equal(unlink(snappath), 0);
    flip_byte(100);
    up_store_t *s;
    char err[512] = "";
    assert_int_equal(up_store_open(&s, dir, UP_STORE_WRITE, err, sizeof err), -UP_ECORRUPT);
    assert_non_null(strstr(err, "events.log is damaged: the block at offset 0 ("));
    assert_non_null(strstr(err, ") fails its checksum and lies below the acknowledged end of the log"));
    assert_int_equal(size_of(logpath), size);
    flip_byte(100);
    s = fx_open_w(dir);
    assert_int_equal(events_of(s), 100003);
    up_store_close(s);
}

/* The same damage in the last block, acknowledged: not cut either. */
static void test_bad_acknowledged_last_block_is_kept(void **state)
{
    (void)state;
    off_t size = size_of(logpath);
    assert_int_equal(unlink(snappath), 0);
    flip_byte(size - 3);
    up_store_t *s;
    char err[512] = "";
    assert_int_equal(up_store_open(&s, dir, UP_STORE_WRITE, err, sizeof err), -UP_ECORRUPT);
    assert_non_null(strstr(err, "lies below the acknowledged end of the log"));
    assert_int_equal(size_of(logpath), size);
    flip_byte(size - 3);
    s = fx_open_w(dir);
    assert_int_equal(events_of(s), 100003);
    up_store_close(s);
}

/* Damage in a last block above the mark is what a crash mid-write leaves
 * (before the snapshot covers it, hence no snapshot here): cut. */
static void test_bad_last_block_is_cut(void **state)
{
    (void)state;
    off_t size = size_of(logpath);
    assert_int_equal(unlink(snappath), 0);
    unacknowledge_last_block();
    flip_byte(size - 3);
    up_store_t *s = fx_open_w(dir);
    assert_non_null(up_store_notice(s));
    assert_true(events_of(s) < 100003);
    up_store_close(s);
    assert_true(size_of(logpath) < size);
}

typedef struct {
    int64_t ts[64];
    int n;
} seen_t;

static int seen_cb(void *ctx, const up_ev_t *ev)
{
    seen_t *c = ctx;
    assert_true(c->n < 64);
    c->ts[c->n++] = ev->ts;
    return 0;
}

/* Days (since the first event) of the events seen at or after day `from`. */
static int days_from(const seen_t *c, int from, int *days)
{
    int n = 0;
    for (int i = 0; i < c->n; i++)
        if ((c->ts[i] - 1767225600000LL) / 86400000 >= from)
            days[n++] = (int)((c->ts[i] - 1767225600000LL) / 86400000);
    return n;
}

/* One account's events: four blocks of ten days (one event a day, account
 * a on the even days, b on the odd ones). A window of two blocks is read on
 * two threads, one half each, and comes out in log order; a second scan
 * of the same account within the first one's window reads the kept events
 * (it may see earlier ones too, which the contract lets fn ignore); a
 * wider one reads the log again. */
static void test_account_scan(void **state)
{
    (void)state;
    char d2[64];
    assert_int_equal(fx_mkdtemp(d2, sizeof d2, "acscan"), 0);
    up_store_t *s = fx_create(d2, MODEL, "t");
    for (int k = 0; k < 4; k++) {
        for (int j = 0; j < 10; j++) {
            char user[8];
            int n = snprintf(user, sizeof user, "u%d", j % 3);
            assert_int_equal(up_store_append(s, 1767225600000LL + (int64_t)(k * 10 + j) * 86400000 + 3600000, user,
                                             (size_t)n, j % 2 ? "b" : "a", 1, "a", 1, NULL, 0), 1);
        }
        assert_int_equal(up_store_commit(s), 0);   /* a block each */
    }
    assert_int_equal(up_store_close(s), 0);
    char err[512];
    assert_int_equal(up_store_open(&s, d2, UP_STORE_READ, err, sizeof err), 0);
    const uint8_t want[1] = {1};
    int64_t day0 = 1767225600000LL;
    /* days 20-35: blocks 2 and 3, a's even days up to 34, in order */
    seen_t c = {{0}, 0};
    assert_int_equal(up_store_scan_account_events(s, "a", day0 + 20 * 86400000LL, day0 + 36 * 86400000LL - 1, want, 1,
                                                  seen_cb, &c), 0);
    int days[64], n = days_from(&c, 20, days);
    int expect1[] = {20, 22, 24, 26, 28, 30, 32, 34};
    assert_int_equal(n, 8);
    assert_int_equal(c.n, 8);
    for (int i = 0; i < n; i++)
        assert_int_equal(days[i], expect1[i]);
    /* days 30-33 from the kept events: 30 and 32 at or after day 30 */
    memset(&c, 0, sizeof c);
    assert_int_equal(up_store_scan_account_events(s, "a", day0 + 30 * 86400000LL, day0 + 34 * 86400000LL - 1, want, 1,
                                                  seen_cb, &c), 0);
    n = days_from(&c, 30, days);
    assert_int_equal(n, 2);
    assert_int_equal(days[0], 30);
    assert_int_equal(days[1], 32);
    /* every day: a's twenty, in order; b's none */
    memset(&c, 0, sizeof c);
    assert_int_equal(up_store_scan_account_events(s, "a", day0, day0 + 40 * 86400000LL, want, 1, seen_cb, &c), 0);
    assert_int_equal(c.n, 20);
    for (int i = 0; i < c.n; i++)
        assert_int_equal((c.ts[i] - day0) / 86400000, 2 * i);
    /* events.idx out of step with the log: a record (its own checksum good)
     * for an offset inside the last block. The scan may split there; the
     * first half then ends past it, and the window is read again on one
     * thread: the same events. */
    up_store_close(s);
    char idx[96], lg[96];
    snprintf(idx, sizeof idx, "%s/events.idx", d2);
    snprintf(lg, sizeof lg, "%s/events.log", d2);
    up_log_range_t *rg = NULL;
    size_t nr = 0;
    assert_int_equal(up_store_log_ranges_read(idx, &rg, &nr), 0);
    assert_int_equal(nr, 4);
    int ifd = open(idx, O_WRONLY | O_APPEND), lfd = open(lg, O_RDONLY);
    assert_true(ifd >= 0 && lfd >= 0);
    for (int k = 4; k < 200; k += 4)   /* many, so that one of them halves the window */
        up_store_log_range_append(ifd, lfd, rg[3].off + (uint64_t)k, rg[3].min_ts, rg[3].max_ts);
    close(ifd);
    close(lfd);
    free(rg);
    assert_int_equal(up_store_open(&s, d2, UP_STORE_READ, err, sizeof err), 0);
    memset(&c, 0, sizeof c);
    assert_int_equal(up_store_scan_account_events(s, "a", day0 + 20 * 86400000LL, day0 + 36 * 86400000LL - 1, want, 1,
                                                  seen_cb, &c), 0);
    n = days_from(&c, 20, days);
    assert_int_equal(n, 8);
    for (int i = 0; i < n; i++)
        assert_int_equal(days[i], expect1[i]);
    /* another account: its own events only (b, days 21-39 odd: 21..29 in block 2, 31..39 in block 3) */
    memset(&c, 0, sizeof c);
    assert_int_equal(up_store_scan_account_events(s, "b", day0 + 20 * 86400000LL, day0 + 40 * 86400000LL, want, 1,
                                                  seen_cb, &c), 0);
    assert_int_equal(c.n, 10);
    for (int i = 0; i < c.n; i++)
        assert_int_equal((c.ts[i] - day0) / 86400000, 21 + 2 * i);
    up_store_close(s);
    assert_int_equal(fx_rmdir(d2), 0);
}

/* An import's shortcuts (store.c: recent users by hash, with their last
 * account and pair; event names by length and end bytes) give the ids the
 * dictionaries give: one user in two accounts alternating, 70,000 users (more
 * than the 65,536 slots, so entries are replaced), a user id too long for a
 * slot, and two names of equal length and ends ("axb", "ayb"). Each pair
 * gets exactly its own events: every user 2 in each account it is in. */
static void test_import_shortcuts(void **state)
{
    (void)state;
    static const char M2[] = "features:\n  - name: f\n    core: true\n    events: [axb]\n"
                             "  - name: g\n    core: true\n    events: [ayb]\n";
    char d2[64];
    assert_int_equal(fx_mkdtemp(d2, sizeof d2, "hot"), 0);
    up_store_t *s = fx_create(d2, M2, "t");
    assert_int_equal(up_store_import_begin(s), 0);
    int64_t t0 = 1767225600000LL;
    const char *acc[] = {"A", "B", "A", "B"}, *ev[] = {"axb", "ayb", "ayb", "axb"};
    for (int k = 0; k < 4; k++)   /* u1 in A and B, alternating */
        assert_int_equal(up_store_append(s, t0 + k, "u1", 2, acc[k], 1, ev[k], 3, NULL, 0), 1);
    const char *longu = "a-user-id-longer-than-any-slot-holds-0123456789";
    for (int k = 0; k < 4; k++)
        assert_int_equal(up_store_append(s, t0 + 10 + k, longu, strlen(longu), acc[k], 1, ev[k], 3, NULL, 0), 1);
    char user[16];
    for (int round = 0; round < 2; round++)   /* 70,000 users twice, in A, the second time in reverse */
        for (int i = 0; i < 70000; i++) {
            int u = round ? 69999 - i : i;
            int n = snprintf(user, sizeof user, "v%d", u);
            assert_int_equal(up_store_append(s, t0 + 100 + round * 70000 + i, user, (size_t)n, "A", 1,
                                             (u + round) % 2 ? "ayb" : "axb", 3, NULL, 0), 1);
        }
    assert_int_equal(up_store_import_done(s), 0);
    assert_int_equal(up_store_close(s), 0);
    char err[512];
    assert_int_equal(up_store_open(&s, d2, UP_STORE_READ, err, sizeof err), 0);
    up_rollup_t *r;
    int owned;
    assert_int_equal(up_store_rollup(s, t0 + 86400000LL, &r, &owned), 0);
    assert_int_equal(r->n_pairs, 70004);   /* u1 and the long one in A and B, 70,000 in A */
    assert_int_equal(r->dict[UP_KIND_EVENT].n, 2);
    for (uint32_t i = 0; i < r->n_pairs; i++) {
        const up_pair_t *p = &r->pairs[i];
        assert_int_equal(up_rollup_events_between(p, -100000, 100000), 2);
        /* each pair used both features: u1 and the long one once each per
         * account, the v users once in each round (the name alternates) */
        assert_int_equal(p->n_pf, 2);
    }
    if (owned) {
        up_rollup_free(r);
        free(r);
    }
    up_store_close(s);
    assert_int_equal(fx_rmdir(d2), 0);
}

static void test_missing_store(void **state)
{
    (void)state;
    up_store_t *s;
    char err[512] = "";
    assert_int_equal(up_store_open(&s, "/tmp/uptake-no-such-store", UP_STORE_READ, err, sizeof err), -UP_ENOTFOUND);
    assert_non_null(strstr(err, "uptake init"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_cut_last_block),
        cmocka_unit_test(test_lost_snapshot),
        cmocka_unit_test(test_dedup_across_reopen),
        cmocka_unit_test(test_damage_is_not_cut),
        cmocka_unit_test(test_bad_acknowledged_last_block_is_kept),
        cmocka_unit_test(test_bad_last_block_is_cut),
        cmocka_unit_test(test_account_scan),
        cmocka_unit_test(test_import_shortcuts),
        cmocka_unit_test(test_missing_store),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
