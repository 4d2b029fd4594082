/* test_acx: the log grouped by account (events.acx) gives one account's
 * events exactly as the log does, in the log's order for each user; the
 * part of the log it does not cover yet is read from the log; and anything
 * wrong with its files (a flipped byte in a block or in the index, an index
 * of another log, bytes a crash left after its blocks) gives the log's
 * events again, with a notice naming the file, never other events.
 *
 * Fixture: 300 accounts (a0 .. a299, so that most of the 128 groups hold
 * two or three), 4 users each, 6,000 events over 60 days in two writer
 * sessions; some events share a millisecond with the one before (the order
 * of a user's events at one instant is the log's). The first session builds
 * events.acx (UPTAKE_ACX_MIN_BYTES=0: every writer brings it up to date);
 * the second, with a large minimum, leaves its events to the log; a writer
 * that finds the file locked by another updater leaves it too. */
#include "fixture.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acx.h"
#include "timeparse.h"

static const char MODEL[] = "features:\n  - name: a\n    core: true\n    events: [x, y]\n"
                            "passive_events: [login]\n";
static char dir[64];
static int32_t D0;

static void add_events(uint32_t from, uint32_t to)
{
    up_store_t *s = fx_open_w(dir);
    static const char *const names[] = {"x", "y", "login"};
    for (uint32_t i = from; i < to; i++) {
        char acc[16], user[24];
        uint32_t a = (i * 7) % 300;
        snprintf(acc, sizeof acc, "a%u", a);
        snprintf(user, sizeof user, "a%u-u%u", a, (i / 300) % 4);
        /* every fifth event at the same instant as the one before */
        uint32_t t = i % 5 == 0 && i ? i - 1 : i;
        int64_t ts = fx_ms(D0 + (int32_t)(t * 60 / to), 0, 0, 0, 0) + (int64_t)(t * 7919 % 86400000);
        fx_ev(s, ts, user, acc, names[i % 3]);
    }
    assert_int_equal(up_store_close(s), 0);
}

typedef struct {
    up_ev_t *ev;
    size_t n, cap;
} evs_t;

static int collect(void *ctx, const up_ev_t *ev)
{
    evs_t *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 64;
        v->ev = realloc(v->ev, v->cap * sizeof *v->ev);
        assert_non_null(v->ev);
    }
    v->ev[v->n++] = *ev;
    return 0;
}

/* Each user's events in the order the scan gave them (a stable sort by
 * pair): what the page's readers depend on. */
static void by_pair(evs_t *v)
{
    for (size_t i = 1; i < v->n; i++)
        for (size_t j = i; j > 0 && v->ev[j - 1].pair > v->ev[j].pair; j--) {
            up_ev_t t = v->ev[j];
            v->ev[j] = v->ev[j - 1];
            v->ev[j - 1] = t;
        }
}

/* The events of account acc in [from, T] (and any before from in the blocks
 * read) from a fresh reader; its notice into notice. */
static evs_t scan(const char *acc, int64_t from, int64_t T, char *notice, size_t nlen)
{
    up_store_t *s;
    char err[512];
    assert_int_equal(up_store_open(&s, dir, UP_STORE_READ, err, sizeof err), 0);
    evs_t v = {NULL, 0, 0};
    static const uint8_t every[8] = {1, 1, 1, 1, 1, 1, 1, 1};   /* every event name (three) */
    assert_int_equal(up_store_scan_account_events(s, acc, from, T, every, 8, collect, &v), 0);
    const char *n = up_store_notice(s);
    snprintf(notice, nlen, "%s", n ? n : "");
    up_store_close(s);
    by_pair(&v);
    return v;
}

static char *path(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void move(const char *from, const char *to)
{
    char a[128];
    snprintf(a, sizeof a, "%s", path(from));
    assert_int_equal(rename(a, path(to)), 0);
}

/* The same events for every account tried, with the acx files in place and
 * without them; the first scan's notice into notice. Only the events of
 * [from, T] are compared: the blocks read decide which earlier ones come
 * too. Returns how many events were compared. */
static size_t same_as_log(int64_t from, int64_t T, char *notice, size_t nlen)
{
    static const char *const accs[] = {"a0", "a1", "a128", "a256", "a77", "a299"};
    size_t total = 0;
    notice[0] = '\0';
    for (size_t k = 0; k < sizeof accs / sizeof *accs; k++) {
        char n1[512], n2[512];
        evs_t x = scan(accs[k], from, T, n1, sizeof n1);
        move("events.acx.idx", "hidden.idx");
        evs_t y = scan(accs[k], from, T, n2, sizeof n2);
        move("hidden.idx", "events.acx.idx");
        if (!k)
            snprintf(notice, nlen, "%s", n1);
        size_t i = 0, j = 0;
        for (;;) {
            while (i < x.n && x.ev[i].ts < from)
                i++;
            while (j < y.n && y.ev[j].ts < from)
                j++;
            if (i == x.n || j == y.n)
                break;
            assert_int_equal(x.ev[i].pair, y.ev[j].pair);
            assert_int_equal(x.ev[i].ts, y.ev[j].ts);
            assert_int_equal(x.ev[i].event, y.ev[j].event);
            i++, j++, total++;
        }
        assert_int_equal(i, x.n);
        assert_int_equal(j, y.n);
        free(x.ev);
        free(y.ev);
    }
    return total;
}

static off_t size_of(const char *name)
{
    struct stat st;
    return stat(path(name), &st) == 0 ? st.st_size : -1;
}

static void flip(const char *name, off_t at)
{
    int fd = open(path(name), O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x10;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

static void test_acx(void **state)
{
    (void)state;
    char notice[512];
    int64_t all_from = fx_ms(D0 - 1, 0, 0, 0, 0), T = fx_ms(D0 + 61, 0, 0, 0, 0);
    /* the first session's events: every one of them from events.acx */
    size_t n = same_as_log(all_from, T, notice, sizeof notice);
    assert_true(n > 60);   /* 6 accounts of 300, 4,000 events: about 80 */
    assert_string_equal(notice, "");
    off_t data = size_of("events.acx");
    assert_true(data > 0);
    /* a window: the blocks of [D0+20, D0+40] */
    assert_true(same_as_log(fx_ms(D0 + 20, 0, 0, 0, 0), fx_ms(D0 + 40, 0, 0, 0, 0), notice, sizeof notice) > 10);
    assert_string_equal(notice, "");

    /* the second session's events stay in the log: read after the covered part */
    setenv("UPTAKE_ACX_MIN_BYTES", "1000000000", 1);
    add_events(4000, 6000);
    setenv("UPTAKE_ACX_MIN_BYTES", "0", 1);
    assert_int_equal(size_of("events.acx"), data);
    assert_true(same_as_log(all_from, T, notice, sizeof notice) > n);
    assert_string_equal(notice, "");

    /* a flipped byte in the first block's payload: the log's events again */
    flip("events.acx", 40);
    same_as_log(all_from, T, notice, sizeof notice);
    assert_non_null(strstr(notice, "events.acx is damaged: its block at byte 0"));
    assert_non_null(strstr(notice, "read events.log instead"));
    flip("events.acx", 40);
    /* a flipped byte in the index */
    flip("events.acx.idx", 60);
    same_as_log(all_from, T, notice, sizeof notice);
    assert_non_null(strstr(notice, "events.acx.idx is damaged: it fails its checksum"));
    flip("events.acx.idx", 60);
    same_as_log(all_from, T, notice, sizeof notice);
    assert_string_equal(notice, "");
    /* an index that passes its checksum but names another log's last block
     * (its header checksum changed, the index's own checksum made good) */
    {
        static uint8_t orig[1 << 16], buf[1 << 16];
        int fd = open(path("events.acx.idx"), O_RDWR);
        ssize_t len = read(fd, orig, sizeof orig);
        assert_true(len > 56);
        memcpy(buf, orig, (size_t)len);
        buf[24] ^= 1;
        uint32_t crc = up_crc32c(0, buf, (size_t)len - 8);
        for (int i = 0; i < 4; i++)
            buf[len - 8 + i] = (uint8_t)(crc >> (8 * i));
        assert_int_equal(pwrite(fd, buf, (size_t)len, 0), len);
        same_as_log(all_from, T, notice, sizeof notice);
        assert_non_null(strstr(notice, "events.acx does not match events.log"));
        assert_int_equal(pwrite(fd, orig, (size_t)len, 0), len);
        close(fd);
    }
    same_as_log(all_from, T, notice, sizeof notice);
    assert_string_equal(notice, "");

    /* bytes a crash left after the blocks: ignored, then cut by the next writer */
    int fd = open(path("events.acx"), O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "torn block", 10), 10);
    close(fd);
    same_as_log(all_from, T, notice, sizeof notice);
    assert_string_equal(notice, "");
    add_events(6000, 6010);   /* brings events.acx up to date: from data on */
    same_as_log(all_from, T, notice, sizeof notice);
    assert_string_equal(notice, "");
    assert_true(size_of("events.acx") > data);
    /* another updater holds events.acx (a server's committer and its
     * checkpoint): this writer leaves it alone, the next one catches up */
    off_t before = size_of("events.acx");
    int held = open(path("events.acx"), O_RDONLY);
    assert_true(held >= 0);
    assert_int_equal(flock(held, LOCK_EX), 0);
    add_events(6010, 6020);
    assert_int_equal(size_of("events.acx"), before);
    close(held);
    add_events(6020, 6030);
    assert_true(size_of("events.acx") > before);
    same_as_log(all_from, T, notice, sizeof notice);
    assert_string_equal(notice, "");
    /* and it covers the whole log again */
    char why[256];
    up_acx_t *x;
    int lfd = open(path("events.log"), O_RDONLY);
    assert_true(lfd >= 0);
    uint64_t end = (uint64_t)size_of("events.log");
    assert_int_equal(up_acx_open(dir, lfd, end, &x, why, sizeof why), 0);
    assert_non_null(x);
    assert_int_equal(up_acx_covered(x), end);
    up_acx_close(x);
    close(lfd);
}

/* The index parser refuses what does not hold together. */
static void test_parse(void **state)
{
    (void)state;
    int fd = open(path("events.acx.idx"), O_RDONLY);
    assert_true(fd >= 0);
    static uint8_t buf[1 << 20];
    ssize_t len = read(fd, buf, sizeof buf);
    close(fd);
    assert_true(len > 48 + 40);
    up_acx_index_t ix;
    char why[256];
    assert_int_equal(up_acx_parse(buf, (size_t)len, &ix, why, sizeof why), 0);
    assert_true(ix.n > 128);
    /* each record's offset follows the one before */
    for (size_t i = 1; i < ix.n; i++)
        assert_int_equal(ix.e[i].off, ix.e[i - 1].off + 16 + ix.e[i - 1].clen);
    up_acx_index_free(&ix);
    assert_int_equal(up_acx_parse(buf, (size_t)len - 40, &ix, why, sizeof why), -UP_ECORRUPT);
    assert_non_null(strstr(why, "its length does not match its"));
    assert_int_equal(up_acx_parse(buf, 20, &ix, why, sizeof why), -UP_ECORRUPT);
    assert_string_equal(why, "it is not an index of events.acx");
}

static int setup(void **state)
{
    (void)state;
    D0 = up_days_from_civil(2026, 1, 1);
    setenv("UPTAKE_ACX_MIN_BYTES", "0", 1);
    assert_int_equal(fx_mkdtemp(dir, sizeof dir, "acx"), 0);
    up_store_t *s = fx_create(dir, MODEL, "test");
    assert_int_equal(up_store_close(s), 0);
    add_events(0, 4000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(fx_rmdir(dir), 0);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acx),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
