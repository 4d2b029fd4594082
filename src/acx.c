/* acx: the event log grouped by account (see the header).
 *
 * events.acx.idx, little-endian:
 *   0  "UPACXI1\n"
 *   8  u64 covered, u64 last_off, u32 last_crc, u32 groups, u64 data_end, u64 n
 *   48 n records of 40 bytes: u64 off, i64 min_ts, i64 max_ts, u32 group,
 *      u32 clen, u32 hdr_crc, u32 n_events
 *   then u32 CRC-32C of every byte before it, u32 0. */
#include "acx.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_MAGIC "UPACXI1\n"
#define IDX_HEAD 48
#define IDX_REC 40
#define IDX_MAX (1u << 30)
#define BLK_HDR 16
#define TS_LIMIT (1LL << 50)

struct up_acx {
    int fd;                  /* events.acx */
    up_acx_index_t ix;
};

static int bad(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (whylen)
        vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -UP_ECORRUPT;
}

void up_acx_index_free(up_acx_index_t *x)
{
    free(x->e);
    memset(x, 0, sizeof *x);
}

int up_acx_parse(const uint8_t *p, size_t len, up_acx_index_t *x, char *why, size_t whylen)
{
    memset(x, 0, sizeof *x);
    if (len < IDX_HEAD + 8 || len > IDX_MAX || memcmp(p, IDX_MAGIC, 8) != 0)
        return bad(why, whylen, "it is not an index of events.acx");
    if ((len - IDX_HEAD - 8) % IDX_REC != 0 || up_rd64(p + 40) != (len - IDX_HEAD - 8) / IDX_REC)
        return bad(why, whylen, "its length does not match its %llu records", (unsigned long long)up_rd64(p + 40));
    if (up_crc32c(0, p, len - 8) != up_rd32(p + len - 8) || up_rd32(p + len - 4) != 0)
        return bad(why, whylen, "it fails its checksum");
    x->covered = up_rd64(p + 8);
    x->last_off = up_rd64(p + 16);
    x->last_crc = up_rd32(p + 24);
    x->data_end = up_rd64(p + 32);
    x->n = (size_t)up_rd64(p + 40);
    if (up_rd32(p + 28) != UP_ACX_GROUPS)
        return bad(why, whylen, "it groups the accounts in %u, not %u", up_rd32(p + 28), UP_ACX_GROUPS);
    if (x->covered == 0 ? x->n || x->data_end || x->last_off
                        : x->covered <= BLK_HDR || x->last_off > x->covered - BLK_HDR - 1) {
        x->n = 0;
        return bad(why, whylen, "the part of the log it covers is impossible");
    }
    if (!(x->e = malloc((x->n + 1) * sizeof *x->e)))
        return -UP_ENOMEM;
    uint64_t next = 0;
    for (size_t i = 0; i < x->n; i++) {
        const uint8_t *r = p + IDX_HEAD + i * IDX_REC;
        up_acx_entry_t *e = &x->e[i];
        e->off = up_rd64(r);
        e->min_ts = (int64_t)up_rd64(r + 8);
        e->max_ts = (int64_t)up_rd64(r + 16);
        e->group = up_rd32(r + 24);
        e->clen = up_rd32(r + 28);
        e->hdr_crc = up_rd32(r + 32);
        e->n_events = up_rd32(r + 36);
        if (e->off != next || e->group >= UP_ACX_GROUPS || e->clen == 0 || e->clen > IDX_MAX ||
            e->n_events == 0 || e->n_events > UP_ACX_BLOCK_EVENTS || e->min_ts > e->max_ts ||
            e->min_ts <= -TS_LIMIT || e->max_ts >= TS_LIMIT) {
            up_acx_index_free(x);
            return bad(why, whylen, "its record %zu is out of order or out of range", i);
        }
        next = e->off + BLK_HDR + e->clen;
    }
    if (next != x->data_end) {
        up_acx_index_free(x);
        return bad(why, whylen, "its records do not fill the %llu bytes it says", (unsigned long long)next);
    }
    return 0;
}

/* The whole file at path into *buf (at most IDX_MAX bytes): 0, -UP_ENOTFOUND,
 * -UP_ECORRUPT (too big), -UP_EIO or -UP_ENOMEM. */
static int slurp(const char *path, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -UP_ENOTFOUND : -UP_EIO;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -UP_EIO : st.st_size > IDX_MAX ? -UP_ECORRUPT : 0;
    if (rc == 0 && !(*buf = malloc((size_t)st.st_size + 1)))
        rc = -UP_ENOMEM;
    size_t got = 0;
    while (rc == 0 && got < (size_t)st.st_size) {
        ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = -UP_EIO;
        else
            got += (size_t)r;
    }
    close(fd);
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
    }
    *len = got;
    return rc;
}

int up_acx_open(const char *dir, int log_fd, uint64_t log_end, up_acx_t **out, char *why, size_t whylen)
{
    *out = NULL;
    if (whylen)
        why[0] = '\0';
    char *ip = up_path_join(dir, "events.acx.idx"), *dp = up_path_join(dir, "events.acx");
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = ip && dp ? slurp(ip, &buf, &len) : -UP_ENOMEM;
    up_acx_t *x = rc == 0 ? calloc(1, sizeof *x) : NULL;
    if (rc == 0 && !x)
        rc = -UP_ENOMEM;
    if (x)
        x->fd = -1;
    if (rc == 0)
        rc = up_acx_parse(buf, len, &x->ix, why, whylen);
    free(buf);
    if (rc == -UP_EIO)
        bad(why, whylen, "events.acx.idx cannot be read");
    else if (rc == -UP_ECORRUPT && whylen) {   /* name the file */
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", why);
        snprintf(why, whylen, "events.acx.idx is damaged: %s", tmp);
    }
    if (rc == 0) {
        struct stat st;
        x->fd = open(dp, O_RDONLY | O_CLOEXEC);
        uint32_t crc, clen;
        if (x->fd < 0 || fstat(x->fd, &st) < 0 || (uint64_t)st.st_size < x->ix.data_end)
            rc = bad(why, whylen, "events.acx is missing or shorter than its index says");
        else if (x->ix.covered > log_end)
            rc = bad(why, whylen, "events.acx does not match events.log (it covers the log to offset %llu, past"
                     " its end)", (unsigned long long)x->ix.covered);
        else if (x->ix.covered && (up_store_log_header(log_fd, x->ix.last_off, &crc, &clen) < 0 ||
                                   crc != x->ix.last_crc || x->ix.last_off + BLK_HDR + clen != x->ix.covered))
            rc = bad(why, whylen, "events.acx does not match events.log (its block at byte %llu is not the one"
                     " the index names)", (unsigned long long)x->ix.last_off);
    }
    free(ip);
    free(dp);
    if (rc == -UP_ENOMEM) {
        up_acx_close(x);
        return rc;
    }
    if (rc < 0) {
        up_acx_close(x);
        return 0;
    }
    *out = x;
    return 0;
}

int up_acx_adopt(up_acx_index_t *ix, int fd, up_acx_t **out)
{
    up_acx_t *x = calloc(1, sizeof *x);
    *out = x;
    if (!x) {
        close(fd);
        up_acx_index_free(ix);
        return -UP_ENOMEM;
    }
    x->fd = fd;
    x->ix = *ix;
    memset(ix, 0, sizeof *ix);
    return 0;
}

void up_acx_close(up_acx_t *x)
{
    if (!x)
        return;
    if (x->fd >= 0)
        close(x->fd);
    up_acx_index_free(&x->ix);
    free(x);
}

uint64_t up_acx_covered(const up_acx_t *x)
{
    return x->ix.covered;
}

/* The checks on each block read: the events its record says, of its
 * times, and (with pairs) of accounts of its group; then fn, if any. */
typedef struct {
    const up_acx_entry_t *const *sel;   /* the records read, in order */
    size_t i;
    const up_pair_t *pairs;             /* NULL: the groups are not checked */
    uint32_t n_pairs;
    up_log_block_fn fn;
    void *ctx;
    uint64_t events;
    const char *why;
} check_t;

static int check_block(void *ctx, const up_block_t *b)
{
    check_t *c = ctx;
    const up_acx_entry_t *e = c->sel[c->i++];
    if (b->n_strs || b->n_pairs || b->n_events != e->n_events) {
        c->why = "it holds other than the events its record says";
        return -UP_ECORRUPT;
    }
    for (uint32_t k = 0; k < b->n_events; k++) {
        const up_ev_t *ev = &b->events[k];
        if (ev->ts < e->min_ts || ev->ts > e->max_ts) {
            c->why = "an event lies outside the times its record says";
            return -UP_ECORRUPT;
        }
        if (c->pairs && (ev->pair >= c->n_pairs || c->pairs[ev->pair].account % UP_ACX_GROUPS != e->group)) {
            c->why = "an event is of an account of another group";
            return -UP_ECORRUPT;
        }
    }
    c->events += b->n_events;
    return c->fn ? c->fn(c->ctx, b) : 0;
}

/* Reads the blocks of the records asked for (all when group < 0; else
 * group's that meet [from, to]), each checked by check_block with c; what
 * failed into why with prefix. */
static int read_records(up_acx_t *x, int64_t group, int64_t from, int64_t to, check_t *c, const char *prefix,
                        char *why, size_t whylen)
{
    const up_acx_entry_t **sel = malloc((x->ix.n + 1) * sizeof *sel);
    up_log_blockref_t *refs = malloc((x->ix.n + 1) * sizeof *refs);
    int rc = sel && refs ? 0 : -UP_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; rc == 0 && i < x->ix.n; i++) {
        const up_acx_entry_t *e = &x->ix.e[i];
        if (group < 0 || (e->group == group && e->max_ts >= from && e->min_ts <= to)) {
            sel[n] = e;
            refs[n++] = (up_log_blockref_t){e->off, e->hdr_crc, e->clen};
        }
    }
    c->sel = sel;
    const char *what = NULL;
    size_t at = 0;
    if (rc == 0)
        rc = up_store_log_read_blocks(x->fd, refs, n, check_block, c, &what, &at);
    if (rc == -UP_ECORRUPT)
        bad(why, whylen, "%sits block at byte %llu %s", prefix, (unsigned long long)refs[at].off,
            c->why ? c->why : what ? what : "fails a check");
    free(sel);
    free(refs);
    return rc;
}

int up_acx_scan(up_acx_t *x, uint32_t account, int64_t from, int64_t to, const up_pair_t *pairs, uint32_t n_pairs,
                up_log_block_fn fn, void *ctx, char *why, size_t whylen)
{
    check_t c = {NULL, 0, pairs, n_pairs, fn, ctx, 0, NULL};
    return read_records(x, account % UP_ACX_GROUPS, from, to, &c, "events.acx is damaged: ", why, whylen);
}

int up_acx_verify(up_acx_t *x, uint64_t *events, char *why, size_t whylen)
{
    check_t c = {NULL, 0, NULL, 0, NULL, NULL, 0, NULL};
    int rc = read_records(x, -1, INT64_MIN, INT64_MAX, &c, "", why, whylen);
    *events = c.events;
    return rc;
}

size_t up_acx_blocks(const up_acx_t *x)
{
    return x->ix.n;
}

uint64_t up_acx_min_bytes(void)
{
    const char *v = getenv("UPTAKE_ACX_MIN_BYTES");
    char *end;
    unsigned long long n = v && *v ? strtoull(v, &end, 10) : 0;
    return v && *v && !*end ? (uint64_t)n : UP_ACX_MIN_BYTES;
}

/* ---- the writer ---------------------------------------------------------- */

/* A full group's events on their way to the writing thread. */
typedef struct {
    uint32_t group, n;
    up_ev_t *ev;
} job_t;

#define QUEUE 8

typedef struct {
    int fd;                  /* events.acx, open for appending */
    int level;
    uint8_t *group;          /* per pair id: its account's group (read for every event: a byte each
                              * stays in the cache, the pair records would not) */
    uint32_t n_pairs;
    up_ev_t *buf[UP_ACX_GROUPS];
    uint32_t n[UP_ACX_GROUPS];
    /* the writing thread's: the records (the old ones, then the new) and the file's end */
    up_acx_entry_t *e;
    size_t n_e, cap_e;
    uint64_t end;
    /* the queue between the two: the partitioning thread fills a group's
     * buffer, the writing thread encodes, compresses and appends it */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_t q[QUEUE];
    size_t head, count;
    int done, rc;            /* rc: the writing thread's failure */
} build_t;

/* Appends the events of one group as a block, and its record. */
static int write_block(build_t *b, const job_t *j)
{
    if (b->n_e == b->cap_e) {
        size_t cap = b->cap_e ? b->cap_e * 2 : 256;
        up_acx_entry_t *e = realloc(b->e, cap * sizeof *e);
        if (!e)
            return -UP_ENOMEM;
        b->e = e;
        b->cap_e = cap;
    }
    up_block_t blk;
    memset(&blk, 0, sizeof blk);
    blk.n_events = j->n;
    blk.events = j->ev;
    uint64_t bytes = 0;
    int rc = up_store_log_append(b->fd, &blk, b->level, &bytes);
    up_acx_entry_t *e = &b->e[b->n_e];
    if (rc == 0 && (bytes <= BLK_HDR || up_store_log_header(b->fd, b->end, &e->hdr_crc, &e->clen) < 0 ||
                    e->clen != bytes - BLK_HDR))
        rc = -UP_EIO;
    if (rc < 0)
        return rc;
    e->off = b->end;
    e->group = j->group;
    e->n_events = j->n;
    e->min_ts = INT64_MAX;
    e->max_ts = INT64_MIN;
    for (uint32_t k = 0; k < j->n; k++) {
        int64_t ts = j->ev[k].ts;
        if (ts < e->min_ts)
            e->min_ts = ts;
        if (ts > e->max_ts)
            e->max_ts = ts;
    }
    b->n_e++;
    b->end += bytes;
    return 0;
}

static void *writer_run(void *arg)
{
    build_t *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->count && !b->done)
            pthread_cond_wait(&b->cv, &b->mu);
        if (!b->count)
            break;
        job_t j = b->q[b->head];
        pthread_mutex_unlock(&b->mu);
        int rc = b->rc ? 0 : write_block(b, &j);   /* after a failure: drain only */
        free(j.ev);
        pthread_mutex_lock(&b->mu);
        if (rc < 0 && !b->rc)
            b->rc = rc;
        b->head = (b->head + 1) % QUEUE;
        b->count--;
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* Hands group g's buffer to the writing thread (waiting while the queue is
 * full); the group starts a new one. */
static int flush(build_t *b, uint32_t g)
{
    if (!b->n[g])
        return 0;
    pthread_mutex_lock(&b->mu);
    while (b->count == QUEUE)
        pthread_cond_wait(&b->cv, &b->mu);
    int rc = b->rc;
    if (rc == 0) {
        b->q[(b->head + b->count) % QUEUE] = (job_t){g, b->n[g], b->buf[g]};
        b->count++;
        b->buf[g] = NULL;
        b->n[g] = 0;
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static int partition(void *ctx, const up_block_t *blk)
{
    build_t *b = ctx;
    for (uint32_t k = 0; k < blk->n_events; k++) {
        const up_ev_t *ev = &blk->events[k];
        if (ev->pair >= b->n_pairs)
            return -UP_ECORRUPT;   /* the rollup does not know the pair: not the log it was built from */
        uint32_t g = b->group[ev->pair];
        if (!b->buf[g] && !(b->buf[g] = malloc(UP_ACX_BLOCK_EVENTS * sizeof *b->buf[g])))
            return -UP_ENOMEM;
        b->buf[g][b->n[g]++] = *ev;
        int rc = b->n[g] == UP_ACX_BLOCK_EVENTS ? flush(b, g) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The index's bytes for the records of b. */
static int write_index(const char *dir, const build_t *b, uint64_t covered, uint64_t last_off, uint32_t last_crc)
{
    size_t len = IDX_HEAD + b->n_e * IDX_REC + 8;
    uint8_t *p = calloc(1, len);
    char *tmp = up_path_join(dir, "events.acx.idx.tmp"), *dst = up_path_join(dir, "events.acx.idx");
    int rc = p && tmp && dst ? 0 : -UP_ENOMEM;
    if (rc == 0) {
        memcpy(p, IDX_MAGIC, 8);
        up_wr64(p + 8, covered);
        up_wr64(p + 16, last_off);
        up_wr32(p + 24, last_crc);
        up_wr32(p + 28, UP_ACX_GROUPS);
        up_wr64(p + 32, b->end);
        up_wr64(p + 40, b->n_e);
        for (size_t i = 0; i < b->n_e; i++) {
            uint8_t *r = p + IDX_HEAD + i * IDX_REC;
            const up_acx_entry_t *e = &b->e[i];
            up_wr64(r, e->off);
            up_wr64(r + 8, (uint64_t)e->min_ts);
            up_wr64(r + 16, (uint64_t)e->max_ts);
            up_wr32(r + 24, e->group);
            up_wr32(r + 28, e->clen);
            up_wr32(r + 32, e->hdr_crc);
            up_wr32(r + 36, e->n_events);
        }
        up_wr32(p + len - 8, up_crc32c(0, p, len - 8));
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t done = 0;
        while (fd >= 0 && done < len) {
            ssize_t w = write(fd, p + done, len - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        if (fd < 0 || done < len || fsync(fd) != 0)
            rc = -UP_EIO;
        if (fd >= 0 && close(fd) != 0)
            rc = -UP_EIO;
        if (rc == 0 && rename(tmp, dst) != 0)
            rc = -UP_EIO;
        if (rc < 0)
            unlink(tmp);
    }
    free(p);
    free(tmp);
    free(dst);
    return rc;
}

/* The index as it stands and how much of the log it covers: 1 when at
 * least min_bytes of the log are not covered (*old then holds it, or NULL
 * when there is none), 0 when not, or a negative UP_E* code. */
static int needs_update(const char *dir, int log_fd, uint64_t log_end, uint64_t min_bytes, up_acx_t **old)
{
    char why[256];
    int rc = up_acx_open(dir, log_fd, log_end, old, why, sizeof why);
    if (rc < 0)
        return rc;
    uint64_t covered = *old ? (*old)->ix.covered : 0;
    if (log_end <= covered || log_end - covered < min_bytes || log_end - covered < BLK_HDR) {
        up_acx_close(*old);
        *old = NULL;
        return 0;
    }
    return 1;
}

int up_acx_update(const char *dir, int log_fd, uint64_t acked, uint64_t log_end, const up_pair_t *pairs,
                  uint32_t n_pairs, uint64_t min_bytes, int zstd_level)
{
    up_acx_t *old = NULL;
    int rc = needs_update(dir, log_fd, log_end, min_bytes, &old);
    up_acx_close(old);
    if (rc <= 0)
        return rc;
    build_t b;
    memset(&b, 0, sizeof b);
    char *dp = up_path_join(dir, "events.acx");
    b.fd = dp ? open(dp, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
    free(dp);
    if (b.fd < 0)
        return -UP_EIO;
    /* one updater at a time: a server's committer and its checkpoint may
     * both try; the one that finds the file locked leaves it to the other */
    if (flock(b.fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(b.fd);
        return busy ? 0 : -UP_EIO;
    }
    /* under the lock, the index again: the other may have just written it */
    old = NULL;
    if ((rc = needs_update(dir, log_fd, log_end, min_bytes, &old)) <= 0) {
        close(b.fd);
        return rc;
    }
    uint64_t covered = old ? old->ix.covered : 0;
    b.level = zstd_level;
    b.n_pairs = n_pairs;
    if (!(b.group = malloc((size_t)n_pairs + 1))) {
        up_acx_close(old);
        close(b.fd);
        return -UP_ENOMEM;
    }
    for (uint32_t i = 0; i < n_pairs; i++)
        b.group[i] = (uint8_t)(pairs[i].account % UP_ACX_GROUPS);
    if (old) {   /* its records stay, the new ones follow */
        b.e = old->ix.e;
        b.n_e = b.cap_e = old->ix.n;
        b.end = old->ix.data_end;
        old->ix.e = NULL;
        old->ix.n = 0;
    }
    up_acx_close(old);
    /* blocks past the index's end are what a crash left: cut them */
    rc = ftruncate(b.fd, (off_t)b.end) != 0 ? -UP_EIO : 0;
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    pthread_t tid;
    int threaded = rc == 0 && pthread_create(&tid, NULL, writer_run, &b) == 0;
    if (rc == 0 && !threaded)
        rc = -UP_ENOMEM;
    up_log_scan_t sc;
    memset(&sc, 0, sizeof sc);
    sc.acked = acked;
    sc.limit = log_end + 1;
    if (rc == 0 && (rc = up_store_log_scan(log_fd, covered, partition, &b, 0, &sc)) == 0 && sc.end != log_end)
        rc = -UP_EIO;   /* the log does not end where the writer says */
    for (uint32_t g = 0; rc == 0 && g < UP_ACX_GROUPS; g++)
        rc = flush(&b, g);
    if (threaded) {
        pthread_mutex_lock(&b.mu);
        b.done = 1;
        pthread_cond_broadcast(&b.cv);
        pthread_mutex_unlock(&b.mu);
        pthread_join(tid, NULL);
        if (rc == 0)
            rc = b.rc;
    }
    pthread_cond_destroy(&b.cv);
    pthread_mutex_destroy(&b.mu);
    if (rc == 0 && fsync(b.fd) != 0)
        rc = -UP_EIO;
    /* the log block that ends at log_end, for readers to find it again */
    uint64_t off = covered, last = 0;
    uint32_t last_crc = 0, crc = 0, clen = 0;
    while (rc == 0 && off < log_end) {
        if (up_store_log_header(log_fd, off, &crc, &clen) < 0)
            rc = -UP_EIO;
        last = off;
        last_crc = crc;
        off += BLK_HDR + (uint64_t)clen;
    }
    if (rc == 0 && off != log_end)
        rc = -UP_EIO;
    if (rc == 0)
        rc = write_index(dir, &b, log_end, last, last_crc);
    close(b.fd);
    for (uint32_t g = 0; g < UP_ACX_GROUPS; g++)
        free(b.buf[g]);
    free(b.group);
    free(b.e);
    return rc < 0 ? rc : 1;
}
