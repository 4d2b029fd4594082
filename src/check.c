/* check: `uptake check` and `uptake repair`.
 *
 * The check reads every file of the store and modifies none: each log block
 * (up_store_log_verify goes on past damage, so that every damaged block is
 * named), the mark, the snapshot (loaded as a report would, so its checksums
 * and bounds are checked, then compared with the log), SQLite's
 * integrity_check and the entity tables' cache in uptake.db (entcache.h: its
 * checksum and bounds), and the log grouped by account (events.acx: every
 * block read, its events counted against the log's). A finding is a problem
 * (counted; check exits non-zero) or a note (a torn tail, a snapshot of
 * another model, a cache of an earlier change: what the next open or
 * evaluation handles by itself). Repair acts on what the check found, in the
 * order that keeps the store consistent: a damaged entity cache removed, the
 * log (only with drop_damaged), the mark, then the snapshot and events.acx,
 * rebuilt by a writer's open. */
#include "check.h"
#include "acx.h"
#include "entcache.h"
#include "rollup.h"
#include "store.h"
#include "store_log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    FILE *out;                  /* NULL: find, do not print */
    int problems;
    /* events.log */
    uint64_t size, blocks, events, damaged;
    uint64_t first_bad;         /* offset of the first damaged block (UINT64_MAX: none) */
    const char *first_what;
    uint64_t lost_events, lost_uncounted;   /* events from first_bad on */
    uint64_t torn_off, torn_len;
    up_log_mark_t mark;
    /* rollup.bin */
    int snap_ok;                /* loaded, for this model */
    int snap_bad;               /* damaged or at odds with the log */
    uint64_t snap_off, snap_events, events_at_snap;
    int snap_on_block;          /* snap_off is the end of a block */
    /* events.acx */
    uint64_t acx_covered;       /* the log it covers, [0, acx_covered) (0: none) */
    uint64_t events_at_acx;     /* the log's events there */
    int acx_on_block;           /* acx_covered is the end of a block */
    /* uptake.db */
    int db_ok;
    int cache_bad;              /* its entity cache is damaged (entcache.h) */
    int clickhouse;             /* the events are in ClickHouse: the shards were checked */
} ck_t;

static void say(ck_t *c, int problem, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(ck_t *c, int problem, const char *fmt, ...)
{
    c->problems += problem;
    if (!c->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->out, fmt, ap);
    va_end(ap);
    fputc('\n', c->out);
}

static void path_of(char *buf, size_t len, const char *dir, const char *name)
{
    size_t n = strlen(dir);
    if (n + strlen(name) + 2 > len)
        n = 0;   /* a directory too long for PATH_MAX: opening fails and says so */
    memcpy(buf, dir, n);
    buf[n] = '/';
    snprintf(buf + n + 1, len - n - 1, "%s", name);
}

/* "N events", or what is known when some blocks cannot be counted. */
static const char *events_phrase(char *buf, size_t len, uint64_t events, uint64_t uncounted)
{
    if (uncounted)
        snprintf(buf, len, "%llu events and those of %llu damaged block%s that cannot be counted",
                 (unsigned long long)events, (unsigned long long)uncounted, uncounted == 1 ? "" : "s");
    else
        snprintf(buf, len, "%llu events", (unsigned long long)events);
    return buf;
}

static int block_cb(void *ctx, const up_log_blockinfo_t *bi)
{
    ck_t *c = ctx;
    if (bi->torn) {
        c->torn_off = bi->off;
        c->torn_len = bi->len;
        say(c, 0, "events.log: offset %llu: a torn tail of %llu bytes (an interrupted write, never"
            " acknowledged); the next writer cuts it", (unsigned long long)bi->off, (unsigned long long)bi->len);
        return 0;
    }
    if (!bi->what) {
        c->blocks++;
        c->events += (uint64_t)bi->events;
        if (c->first_bad != UINT64_MAX)
            c->lost_events += (uint64_t)bi->events;
        if (c->snap_ok && bi->off + bi->len <= c->snap_off)
            c->events_at_snap += (uint64_t)bi->events;
        c->snap_on_block |= bi->off + bi->len == c->snap_off;
        if (bi->off + bi->len <= c->acx_covered)
            c->events_at_acx += (uint64_t)bi->events;
        c->acx_on_block |= bi->off + bi->len == c->acx_covered;
        return 0;
    }
    if (c->first_bad == UINT64_MAX) {
        c->first_bad = bi->off;
        c->first_what = bi->what;
    }
    if (bi->off >= c->size) {   /* the file ends below the mark */
        say(c, 1, "events.log: offset %llu: %llu acknowledged bytes are missing (the file ends before its"
            " acknowledged end, offset %llu)", (unsigned long long)bi->off, (unsigned long long)bi->len,
            (unsigned long long)c->mark.acked);
        return 0;
    }
    c->damaged++;
    if (bi->events >= 0)
        c->lost_events += (uint64_t)bi->events;
    else
        c->lost_uncounted++;
    char held[64];
    if (bi->events >= 0)
        snprintf(held, sizeof held, "holding %lld events", (long long)bi->events);
    else
        snprintf(held, sizeof held, "its events cannot be counted");
    say(c, 1, "events.log: offset %llu: %llu bytes: the block there %s (%s)", (unsigned long long)bi->off,
        (unsigned long long)bi->len, bi->what, held);
    return 0;
}

static void check_mark(ck_t *c, const char *dir)
{
    char p[4096];
    path_of(p, sizeof p, dir, "events.ack");
    if (up_store_log_mark_read(p, &c->mark) < 0)
        say(c, 1, "events.ack: cannot read it: %s", strerror(errno));
    else if (c->mark.state == UP_MARK_NONE)
        say(c, 0, "events.ack: none yet (the next writer writes it)");
    else if (c->mark.state == UP_MARK_DAMAGED)
        say(c, 1, "events.ack: damaged: no record in it passes its checksum");
    else if (c->mark.bad_slots)
        say(c, 1, "events.ack: one of its two records fails its checksum (the other says offset %llu)",
            (unsigned long long)c->mark.acked);
    else
        say(c, 0, "events.ack: ok (acknowledged up to offset %llu)", (unsigned long long)c->mark.acked);
}

static void check_log(ck_t *c, const char *dir)
{
    char p[4096];
    path_of(p, sizeof p, dir, "events.log");
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !c->mark.acked) {
        say(c, 0, "events.log: none yet (no events stored)");
        return;
    }
    if (fd < 0) {
        say(c, 1, "events.log: cannot open it: %s", strerror(errno));
        return;
    }
    struct stat st;
    c->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    int rc = up_store_log_verify(fd, c->mark.acked, block_cb, c);
    close(fd);
    char ev[128];
    if (rc < 0)
        say(c, 1, "events.log: cannot read it: %s", up_strerror(rc));
    else if (c->first_bad == UINT64_MAX)
        say(c, 0, "events.log: ok (%llu block%s, %llu events, %llu bytes)", (unsigned long long)c->blocks,
            c->blocks == 1 ? "" : "s", (unsigned long long)c->events, (unsigned long long)c->size);
    else
        say(c, 0, "events.log: %llu damaged of %llu blocks; cutting the log at offset %llu would lose %s",
            (unsigned long long)c->damaged, (unsigned long long)(c->blocks + c->damaged),
            (unsigned long long)c->first_bad, events_phrase(ev, sizeof ev, c->lost_events, c->lost_uncounted));
}

/* events.acx: its index loaded as a reader would (before the log's walk,
 * which counts the log's events in the part it covers), then every block
 * read; *x is left open for report_acx. */
static void load_acx(ck_t *c, const char *dir, up_acx_t **x, char *why, size_t whylen)
{
    char p[4096];
    path_of(p, sizeof p, dir, "events.log");
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    struct stat st;
    *x = NULL;
    why[0] = '\0';
    if (fd >= 0 && fstat(fd, &st) == 0 && up_acx_open(dir, fd, (uint64_t)st.st_size, x, why, whylen) == 0 && *x)
        c->acx_covered = up_acx_covered(*x);
    if (fd >= 0)
        close(fd);
}

static void report_acx(ck_t *c, up_acx_t *x, const char *why)
{
    if (!x && why[0]) {
        if (c->first_bad != UINT64_MAX)   /* the log's damage is the problem */
            say(c, 0, "%s; `uptake repair` rebuilds it once the log is whole", why);
        else
            say(c, 1, "%s (readers read events.log instead; `uptake repair` rebuilds it)", why);
        return;
    }
    if (!x) {
        say(c, 0, "events.acx: none yet (a writer builds it once %llu bytes of the log are not in it)",
            (unsigned long long)up_acx_min_bytes());
        return;
    }
    uint64_t events;
    char bwhy[256];
    int rc = up_acx_verify(x, &events, bwhy, sizeof bwhy);
    if (rc == -UP_ECORRUPT)
        say(c, 1, "events.acx: %s (readers read events.log instead; `uptake repair` rebuilds it)", bwhy);
    else if (rc < 0)
        say(c, 1, "events.acx: cannot read it: %s", up_strerror(rc));
    else if (c->first_bad != UINT64_MAX && c->first_bad < c->acx_covered)
        say(c, 0, "events.acx: checksums ok (%llu events through offset %llu; the damaged log cannot be"
            " compared with it)", (unsigned long long)events, (unsigned long long)c->acx_covered);
    else if (!c->acx_on_block || events != c->events_at_acx)
        say(c, 1, "events.acx: it holds %llu events through offset %llu, but events.log holds %llu there"
            " (`uptake repair` rebuilds it)", (unsigned long long)events, (unsigned long long)c->acx_covered,
            (unsigned long long)c->events_at_acx);
    else
        say(c, 0, "events.acx: ok (%zu blocks, %llu events through offset %llu)", up_acx_blocks(x),
            (unsigned long long)events, (unsigned long long)c->acx_covered);
}

/* Loads rollup.bin as an open would, before the log's walk (which counts the
 * events it covers). */
static void load_snapshot(ck_t *c, const char *dir, const up_store_t *s, char *why, size_t whylen, int *rc)
{
    char p[4096];
    path_of(p, sizeof p, dir, "rollup.bin");
    up_rollup_t r;
    up_rollup_init(&r, up_store_model(s), INT64_MAX);
    const char *text = up_store_model_text(s);
    *rc = up_rollup_load(&r, p, up_hash64(text ? text : "", text ? strlen(text) : 0, 0), &c->snap_off, why, whylen);
    c->snap_ok = *rc == 0;
    c->snap_events = r.events;
    up_rollup_free(&r);
}

static void report_snapshot(ck_t *c, int rc, const char *why)
{
    int problems = c->problems;
    if (rc == -UP_ENOTFOUND)
        say(c, 0, "rollup.bin: missing or built with another model (the next open rebuilds it)");
    else if (rc == -UP_ECORRUPT && !why[0])
        say(c, 0, "rollup.bin: of another format (the next open rebuilds it)");
    else if (rc == -UP_ECORRUPT)
        say(c, 1, "rollup.bin: %s", why);
    else if (rc < 0)
        say(c, 1, "rollup.bin: cannot read it: %s", up_strerror(rc));
    else if (c->first_bad < c->snap_off)
        say(c, 0, "rollup.bin: checksums and bounds ok (%llu events through offset %llu; the damaged log"
            " cannot confirm them)", (unsigned long long)c->snap_events, (unsigned long long)c->snap_off);
    else if (c->snap_off && !c->snap_on_block)
        say(c, 1, "rollup.bin: it covers events.log through offset %llu, which is not the end of a block",
            (unsigned long long)c->snap_off);
    else if (c->events_at_snap != c->snap_events)
        say(c, 1, "rollup.bin: it holds %llu events through offset %llu, but events.log holds %llu there",
            (unsigned long long)c->snap_events, (unsigned long long)c->snap_off,
            (unsigned long long)c->events_at_snap);
    else
        say(c, 0, "rollup.bin: ok (%llu events through offset %llu)", (unsigned long long)c->snap_events,
            (unsigned long long)c->snap_off);
    c->snap_bad = c->problems > problems;
}

static int integrity_row(void *ctx, int n, char **vals, char **names)
{
    (void)names;
    ck_t *c = ctx;
    if (n > 0 && vals[0] && strcmp(vals[0], "ok") != 0) {
        c->db_ok = 0;
        say(c, 1, "uptake.db: %s", vals[0]);
    }
    return 0;
}

static void check_db(ck_t *c, const char *dir)
{
    char *p = up_store_db_path(dir);
    sqlite3 *db = NULL;
    char *msg = NULL;
    c->db_ok = 1;
    if (!p || sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA integrity_check", integrity_row, c, &msg) != SQLITE_OK) {
        c->db_ok = 0;
        say(c, 1, "uptake.db: cannot check it: %s", msg ? msg : db ? sqlite3_errmsg(db) : "out of memory");
    } else if (c->db_ok) {
        say(c, 0, "uptake.db: ok (SQLite's integrity_check)");
        /* the entity tables' cache, when there is one: checksum and bounds */
        int stale;
        int64_t gen;
        char why[256];
        int rc = up_entcache_check(db, &stale, &gen, why, sizeof why);
        if (rc < 0) {
            c->cache_bad = 1;
            say(c, 1, "uptake.db: its entity cache is damaged: %s (views read the tables instead; `uptake repair`"
                " removes it)", why);
        } else if (rc == 1)
            say(c, 0, "uptake.db: entity cache ok (the tables as of change %lld)", (long long)gen);
        else if (stale)
            say(c, 0, "uptake.db: entity cache of an earlier change (%lld) of the tables: views read the tables"
                " until `alerts evaluate` writes it again", (long long)gen);
    }
    sqlite3_free(msg);
    sqlite3_close(db);
    free(p);
}

/* Every check, printing to out when it is set. */
static int run_checks(ck_t *c, const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: no store here", dir);
        return -UP_ENOTFOUND;
    }
    c->first_bad = UINT64_MAX;
    up_store_t *s = NULL;
    char why[256] = "", oerr[512] = "";
    int snap_rc = -UP_ENOTFOUND;
    /* a deferred reader: the model, without replaying the log */
    int open_rc = up_store_open(&s, dir, UP_STORE_READ | UP_STORE_DEFER, oerr, sizeof oerr);
    if (open_rc == 0 && up_store_is_clickhouse(s)) {   /* no log, no snapshot: the shards */
        say(c, 0, "events: in ClickHouse (events.log and rollup.bin are not used)");
        c->problems += up_store_check_clickhouse(s, c->out);
        c->clickhouse = 1;
        up_store_close(s);
        check_db(c, dir);
        return 0;
    }
    if (open_rc == 0)
        load_snapshot(c, dir, s, why, sizeof why, &snap_rc);
    up_acx_t *acx = NULL;
    char acx_why[256];
    load_acx(c, dir, &acx, acx_why, sizeof acx_why);
    check_mark(c, dir);
    check_log(c, dir);
    if (open_rc == 0)
        report_snapshot(c, snap_rc, why);
    else {
        say(c, 1, "rollup.bin: not checked: %s", oerr[0] ? oerr : up_strerror(open_rc));
        c->snap_bad = 1;
    }
    report_acx(c, acx, acx_why);
    up_acx_close(acx);
    up_store_close(s);
    check_db(c, dir);
    return 0;
}

int up_check_store(const char *dir, FILE *out, char *err, size_t errlen)
{
    ck_t c = {.out = out};
    int rc = run_checks(&c, dir, err, errlen);
    if (rc < 0)
        return rc;
    if (c.problems && c.clickhouse)
        fprintf(out, "%d problem%s found: what the lines above say is for ClickHouse's operator to fix; uptake does"
                " not change its tables (see docs/scale-out.md)\n", c.problems, c.problems == 1 ? "" : "s");
    else if (c.problems)
        fprintf(out, "%d problem%s found: `uptake repair` rebuilds what can be rebuilt (see docs/store.md)\n",
                c.problems, c.problems == 1 ? "" : "s");
    else
        fprintf(out, "no problems found\n");
    return c.problems;
}

/* ---- repair ------------------------------------------------------------ */

static int lock_store(const char *dir, char *err, size_t errlen)
{
    char p[4096];
    path_of(p, sizeof p, dir, "lock");
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen, "%s: cannot lock the store: %s", dir,
                 errno == EWOULDBLOCK ? "another uptake process (an import, or `uptake serve`) holds it; stop it"
                                        " and run repair again" : strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Copies bytes [from, end) of fd into a new file at path, synced. */
static int copy_tail(int fd, uint64_t from, uint64_t end, const char *path)
{
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        return -UP_EIO;
    char buf[65536];
    int rc = 0;
    while (rc == 0 && from < end) {
        size_t want = end - from < sizeof buf ? (size_t)(end - from) : sizeof buf;
        ssize_t n = pread(fd, buf, want, (off_t)from);
        if (n <= 0 || write(out, buf, (size_t)n) != n)
            rc = -UP_EIO;
        from += n > 0 ? (uint64_t)n : 0;
    }
    if (fsync(out) != 0)
        rc = -UP_EIO;
    close(out);
    return rc;
}

/* The mark written twice, so that both its records are whole. */
static int rewrite_mark(const char *dir, uint64_t acked)
{
    char p[4096];
    path_of(p, sizeof p, dir, "events.ack");
    up_log_mark_t m;
    if (up_store_log_mark_read(p, &m) < 0)
        return -UP_EIO;
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -UP_EIO;
    int rc = up_store_log_mark_write(fd, &m, acked);
    if (rc == 0)
        rc = up_store_log_mark_write(fd, &m, acked);
    close(fd);
    return rc;
}

/* Cuts the log at its first damaged block, keeping the bytes cut aside. */
static int drop_damaged(ck_t *c, const char *dir, FILE *out)
{
    char p[4096], name[64], kept[4096];
    path_of(p, sizeof p, dir, "events.log");
    snprintf(name, sizeof name, "events.log.dropped-%llu", (unsigned long long)c->first_bad);
    path_of(kept, sizeof kept, dir, name);
    int fd = open(p, O_RDWR | O_CLOEXEC);
    int rc = fd < 0 ? -UP_EIO : copy_tail(fd, c->first_bad, c->size, kept);
    if (rc == 0 && (ftruncate(fd, (off_t)c->first_bad) != 0 || fsync(fd) != 0))
        rc = -UP_EIO;
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        rc = rewrite_mark(dir, c->first_bad);
    char ev[128];
    if (rc == 0)
        fprintf(out, "events.log: cut at offset %llu: dropped %s; the bytes cut are kept in"
                " events.log.dropped-%llu\n", (unsigned long long)c->first_bad,
                events_phrase(ev, sizeof ev, c->lost_events, c->lost_uncounted), (unsigned long long)c->first_bad);
    return rc;
}

/* The log and the mark, under the store's lock. Returns the problems left. */
static int repair_log(ck_t *c, const char *dir, int drop, FILE *out, char *err, size_t errlen)
{
    char ev[128];
    if (c->first_bad != UINT64_MAX && !drop) {
        fprintf(out, "events.log: not repaired: the block at offset %llu %s; `uptake repair --drop-damaged`"
                " cuts the log there, losing %s\n", (unsigned long long)c->first_bad, c->first_what,
                events_phrase(ev, sizeof ev, c->lost_events, c->lost_uncounted));
        return 1;
    }
    int lock = lock_store(dir, err, errlen);
    if (lock < 0)
        return -UP_EIO;
    int rc = 0;
    if (c->first_bad != UINT64_MAX)
        rc = drop_damaged(c, dir, out);
    else if (c->mark.state == UP_MARK_DAMAGED || c->mark.bad_slots) {
        uint64_t end = c->torn_len ? c->torn_off : c->size;
        if ((rc = rewrite_mark(dir, end)) == 0)
            fprintf(out, "events.ack: rewritten (acknowledged up to offset %llu)\n", (unsigned long long)end);
    }
    close(lock);
    if (rc < 0)
        snprintf(err, errlen, "%s: cannot repair events.log: %s", dir, strerror(errno));
    return rc;
}

/* rollup.bin and events.acx rebuilt by a writer's open and close (which
 * also cuts a torn tail). */
static int rebuild_snapshot(const char *dir, FILE *out, char *err, size_t errlen)
{
    char p[4096];
    static const char *const caches[] = {"rollup.bin", "events.acx.idx", "events.acx"};
    for (size_t i = 0; i < sizeof caches / sizeof *caches; i++) {
        path_of(p, sizeof p, dir, caches[i]);
        if (unlink(p) != 0 && errno != ENOENT) {
            snprintf(err, errlen, "%s: cannot remove %s: %s", dir, caches[i], strerror(errno));
            return -UP_EIO;
        }
    }
    up_store_t *s;
    int rc = up_store_open(&s, dir, UP_STORE_WRITE, err, errlen);
    if (rc < 0)
        return rc;
    if (up_store_notice(s))
        fprintf(out, "note: %s\n", up_store_notice(s));
    up_store_stats_t st;
    up_store_stats(s, &st);
    if ((rc = up_store_close(s)) < 0) {
        snprintf(err, errlen, "%s: cannot write rollup.bin: %s", dir, up_strerror(rc));
        return rc;
    }
    fprintf(out, "rollup.bin: rebuilt from events.log (%llu events)\n", (unsigned long long)st.events);
    path_of(p, sizeof p, dir, "events.acx.idx");
    struct stat sb;
    if (stat(p, &sb) == 0)
        fprintf(out, "events.acx: rebuilt from events.log\n");
    else
        fprintf(out, "events.acx: removed; a writer builds it again once %llu bytes of the log are not in it\n",
                (unsigned long long)up_acx_min_bytes());
    return 0;
}

/* A damaged entity cache: removed (a cache; the next evaluation writes it). */
static int drop_entity_cache(const char *dir, FILE *out, char *err, size_t errlen)
{
    char *p = up_store_db_path(dir);
    sqlite3 *db = NULL;
    int ok = p && sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
             sqlite3_busy_timeout(db, 10000) == SQLITE_OK &&
             sqlite3_exec(db, "DELETE FROM entities_cache", NULL, NULL, NULL) == SQLITE_OK;
    if (!ok)
        snprintf(err, errlen, "%s: cannot remove the entity cache: %s", dir,
                 db ? sqlite3_errmsg(db) : "out of memory");
    else
        fprintf(out, "uptake.db: the damaged entity cache removed (`alerts evaluate` writes it again)\n");
    sqlite3_close(db);
    free(p);
    return ok ? 0 : -UP_EDB;
}

int up_check_repair(const char *dir, int drop, FILE *out, char *err, size_t errlen)
{
    ck_t c = {0};
    int rc = run_checks(&c, dir, err, errlen);
    if (rc < 0)
        return rc;
    int left = 0;
    if (c.clickhouse) {   /* what is wrong in ClickHouse is for its operator */
        run_checks(&(ck_t){.out = out}, dir, err, errlen);
        left = c.problems;
        if (left)
            fprintf(out, "not repaired: uptake does not change the ClickHouse tables; fix what the lines above say"
                     " (docs/scale-out.md)\n");
        fprintf(out, left ? "%d problem%s left\n" : "the store is whole\n", left, left == 1 ? "" : "s");
        return left;
    }
    if (!c.db_ok) {
        fprintf(out, "uptake.db: not repaired: SQLite's integrity check fails; restore uptake.db from a backup"
                " (see docs/store.md)\n");
        left++;
    }
    if (c.db_ok && c.cache_bad && (rc = drop_entity_cache(dir, out, err, errlen)) < 0)
        return rc;
    if ((rc = repair_log(&c, dir, drop, out, err, errlen)) < 0)
        return rc;
    left += rc;
    if (rc == 0 && c.db_ok && (rc = rebuild_snapshot(dir, out, err, errlen)) < 0)
        return rc;
    if (left && c.snap_bad) {
        fprintf(out, "rollup.bin: not rebuilt: it is rebuilt from events.log and uptake.db once they are whole\n");
        left++;
    }
    if (left)
        fprintf(out, "%d problem%s left\n", left, left == 1 ? "" : "s");
    else
        fprintf(out, "the store is whole\n");
    return left;
}
