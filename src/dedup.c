/* dedup: the message-id index (see dedup.h for the contract and invariant).
 *
 * The RAM table uses ordered linear probing: an id's home slot is the top
 * bits of h1, a cluster is kept sorted, and there is no wrap-around (an
 * overflow area follows the last slot). So the table is sorted in slot order,
 * a miss stops at the first greater id, and a merge reads it in order with no
 * sort. A run file is a 64-byte header and count records of (h1, h2), 16
 * bytes little-endian, strictly increasing:
 *   0 magic "UPMIDS1\n" | 8 count | 16 from | 24 to | 32 the log's 16 bytes
 *   before `to` | 48 CRC-32C of the records | 52 CRC-32C of bytes 0-51 | 56 0 */
#include "dedup.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN_HDR 64
#define REC 16
#define OVERFLOW_SLOTS 4096
#define MIN_SLOTS 1024
#define BLOOM_K 7
#define BLOOM_MIN_BITS (1u << 16)
#define IO_RECS 4096            /* records per buffered read or write (64 KB) */
#define WINDOW 256              /* records a disk lookup reads at a time (4 KB) */
#define LOG_HDR 16              /* a log block's header (store_log.c) */

static const char RUN_MAGIC[8] = {'U', 'P', 'M', 'I', 'D', 'S', '1', '\n'};

typedef struct {
    uint64_t h1, h2;
} mid_t;

typedef struct {
    int fd;
    uint64_t from, to, count;
} run_t;

struct up_dedup {
    char *dir;
    int log_fd;
    up_dedup_limits_t lim;
    mid_t *slots;               /* n_slots + OVERFLOW_SLOTS; {0, 0} is empty */
    uint64_t n_slots, ram_n;
    int shift;                  /* home = h1 >> shift */
    run_t *runs;                /* oldest first, chaining from offset 0 */
    size_t n_runs, cap_runs;
    uint64_t disk_n, covered, scan_off;
    uint64_t *bloom;
    uint64_t bloom_bits;        /* a power of two, or 0 while no run exists */
    int bloom_all;              /* no filter could be built: every id may be on disk */
    uint64_t disk_searches, merges, dropped;
};

static int mid_cmp(mid_t a, mid_t b)
{
    if (a.h1 != b.h1)
        return a.h1 < b.h1 ? -1 : 1;
    return a.h2 < b.h2 ? -1 : a.h2 > b.h2;
}

static int mid_empty(mid_t a) { return !(a.h1 | a.h2); }

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -UP_EIO;
        got += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t n)
{
    for (size_t put = 0; put < n;) {
        ssize_t w = write(fd, (const char *)buf + put, n - put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -UP_EIO;
        put += (size_t)w;
    }
    return 0;
}

/* ---- the RAM table ---- */

static int table_alloc(up_dedup_t *d, uint64_t n_slots)
{
    mid_t *s = calloc(n_slots + OVERFLOW_SLOTS, sizeof *s);
    if (!s)
        return -UP_ENOMEM;
    free(d->slots);
    d->slots = s;
    d->n_slots = n_slots;
    d->shift = 64 - __builtin_ctzll(n_slots);
    return 0;
}

/* The slot of id k, or of the first greater id or empty slot after its home. */
static uint64_t table_pos(const up_dedup_t *d, mid_t k)
{
    uint64_t i = k.h1 >> d->shift, end = d->n_slots + OVERFLOW_SLOTS;
    while (i < end && !mid_empty(d->slots[i]) && mid_cmp(d->slots[i], k) < 0)
        i++;
    return i;
}

/* Inserts k at pos (from table_pos), shifting the rest of its cluster: 0, or
 * -1 when the overflow area is used up. */
static int table_insert(up_dedup_t *d, uint64_t pos, mid_t k)
{
    uint64_t e = pos, end = d->n_slots + OVERFLOW_SLOTS;
    while (e < end && !mid_empty(d->slots[e]))
        e++;
    if (e == end)
        return -1;
    memmove(&d->slots[pos + 1], &d->slots[pos], (e - pos) * sizeof *d->slots);
    d->slots[pos] = k;
    d->ram_n++;
    return 0;
}

/* Doubles the table (more when the overflow area would not hold): the ids
 * are read in order and each placed at its home or after the previous one. */
static int table_grow(up_dedup_t *d)
{
    mid_t *old = d->slots;
    uint64_t old_end = d->n_slots + OVERFLOW_SLOTS;
    for (uint64_t n = d->n_slots * 2;; n *= 2) {
        mid_t *s = calloc(n + OVERFLOW_SLOTS, sizeof *s);
        if (!s)
            return -UP_ENOMEM;
        int shift = 64 - __builtin_ctzll(n);
        uint64_t next = 0;
        int fits = 1;
        for (uint64_t i = 0; i < old_end && fits; i++) {
            if (mid_empty(old[i]))
                continue;
            uint64_t home = old[i].h1 >> shift, at = home > next ? home : next;
            fits = at < n + OVERFLOW_SLOTS;
            if (fits)
                s[at] = old[i];
            next = at + 1;
        }
        if (fits) {
            free(old);
            d->slots = s;
            d->n_slots = n;
            d->shift = shift;
            return 0;
        }
        free(s);
    }
}

static int table_add(up_dedup_t *d, mid_t k)
{
    int rc;
    if ((d->ram_n + 1) * 8 > d->n_slots * 5 && (rc = table_grow(d)) < 0)
        return rc;
    while (table_insert(d, table_pos(d, k), k) < 0)
        if ((rc = table_grow(d)) < 0)
            return rc;
    return 0;
}

/* ---- the Bloom filter ---- */

static void bloom_add(uint64_t *bloom, uint64_t bits, mid_t k)
{
    uint64_t h = k.h1, step = k.h2 | 1;
    for (int i = 0; i < BLOOM_K; i++, h += step)
        bloom[(h & (bits - 1)) >> 6] |= 1ull << (h & 63);
}

static int bloom_maybe(const up_dedup_t *d, mid_t k)
{
    if (d->bloom_all || !d->bloom_bits)
        return d->bloom_all;
    uint64_t h = k.h1, step = k.h2 | 1, mask = d->bloom_bits - 1;
    for (int i = 0; i < BLOOM_K; i++, h += step)
        if (!(d->bloom[(h & mask) >> 6] & (1ull << (h & 63))))
            return 0;
    return 1;
}

/* The filter's size for n ids on disk: 16 bits an id (under 0.1% false
 * positives), a power of two, at most the limit. */
static uint64_t bloom_bits_for(const up_dedup_t *d, uint64_t n)
{
    if (!n)
        return 0;
    uint64_t max = BLOOM_MIN_BITS;
    while (max * 2 <= d->lim.bloom_bytes * 8)
        max *= 2;
    uint64_t bits = BLOOM_MIN_BITS;
    while (bits < n * 16 && bits < max)
        bits *= 2;
    return bits;
}

/* ---- run files ---- */

typedef struct {
    int fd;
    uint64_t off, left;         /* the next record's offset, records left */
    uint8_t buf[IO_RECS * REC];
    size_t pos, n;              /* bytes used, bytes held */
    uint32_t crc;
    mid_t head;                 /* the record last read */
} reader_t;

static void reader_init(reader_t *r, const run_t *run)
{
    r->fd = run->fd;
    r->off = RUN_HDR;
    r->left = run->count;
    r->pos = r->n = 0;
    r->crc = 0;
}

/* Reads the next record into r->head: 1, 0 at the end, or -UP_EIO. */
static int reader_next(reader_t *r)
{
    if (r->pos == r->n) {
        if (!r->left)
            return 0;
        uint64_t recs = r->left < IO_RECS ? r->left : IO_RECS;
        if (read_at(r->fd, r->buf, (size_t)recs * REC, r->off) < 0)
            return -UP_EIO;
        r->crc = up_crc32c(r->crc, r->buf, (size_t)recs * REC);
        r->off += recs * REC;
        r->left -= recs;
        r->pos = 0;
        r->n = (size_t)recs * REC;
    }
    r->head.h1 = up_rd64(r->buf + r->pos);
    r->head.h2 = up_rd64(r->buf + r->pos + 8);
    r->pos += REC;
    return 1;
}

static void run_name(char *buf, size_t n, uint64_t from, uint64_t to)
{
    snprintf(buf, n, "mids.%016llx-%016llx.idx", (unsigned long long)from, (unsigned long long)to);
}

static char *path_of(const up_dedup_t *d, const char *name)
{
    return up_path_join(d->dir, name);
}

static void unlink_name(const up_dedup_t *d, const char *name)
{
    char *p = path_of(d, name);
    if (p)
        unlink(p);
    free(p);
}

/* The log's 16 bytes before `to` (zeros before offset 16). */
static int log_anchor(const up_dedup_t *d, uint64_t to, uint8_t out[16])
{
    memset(out, 0, 16);
    return to < 16 ? 0 : read_at(d->log_fd, out, 16, to - 16);
}

/* Opens the run file name for [from, to) when its header is sound and it
 * belongs to this log (of log_size bytes): its fd, or -1. */
static int run_open(const up_dedup_t *d, const char *name, uint64_t from, uint64_t to, uint64_t log_size,
                    uint64_t *count)
{
    char *p = path_of(d, name);
    int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
    free(p);
    uint8_t h[RUN_HDR], anchor[16];
    struct stat st;
    if (fd < 0)
        return -1;
    int ok = to <= log_size && read_at(fd, h, RUN_HDR, 0) == 0 && fstat(fd, &st) == 0 &&
             memcmp(h, RUN_MAGIC, 8) == 0 && up_crc32c(0, h, 52) == up_rd32(h + 52) &&
             up_rd64(h + 16) == from && up_rd64(h + 24) == to && up_rd64(h + 8) <= (UINT64_MAX - RUN_HDR) / REC &&
             (uint64_t)st.st_size == RUN_HDR + up_rd64(h + 8) * REC &&
             log_anchor(d, to, anchor) == 0 && memcmp(anchor, h + 32, 16) == 0;
    if (!ok) {
        close(fd);
        return -1;
    }
    *count = up_rd64(h + 8);
    return fd;
}

/* Room for one more run. */
static int runs_reserve(up_dedup_t *d)
{
    if (d->n_runs < d->cap_runs)
        return 0;
    size_t cap = d->cap_runs ? d->cap_runs * 2 : 8;
    run_t *r = realloc(d->runs, cap * sizeof *r);
    if (!r)
        return -UP_ENOMEM;
    d->runs = r;
    d->cap_runs = cap;
    return 0;
}

static void runs_push(up_dedup_t *d, run_t run)
{
    d->runs[d->n_runs++] = run;
    d->disk_n += run.count;
}

/* Drops runs from index i on (closing them; removing their files). */
static void runs_drop(up_dedup_t *d, size_t i)
{
    for (size_t j = i; j < d->n_runs; j++) {
        char name[64];
        run_name(name, sizeof name, d->runs[j].from, d->runs[j].to);
        close(d->runs[j].fd);
        unlink_name(d, name);
        d->disk_n -= d->runs[j].count;
    }
    d->n_runs = i;
}

/* The records [at, at + n) of run r into buf: 0 or -UP_EIO. */
static int run_read(const run_t *r, uint64_t at, uint64_t n, mid_t *buf)
{
    uint8_t raw[WINDOW * REC];
    if (read_at(r->fd, raw, (size_t)n * REC, RUN_HDR + at * REC) < 0)
        return -UP_EIO;
    for (uint64_t i = 0; i < n; i++)
        buf[i] = (mid_t){up_rd64(raw + i * REC), up_rd64(raw + i * REC + 8)};
    return 0;
}

/* Exact lookup in one run: 1 present, 0 absent, or -UP_EIO. The ids are
 * uniform hashes, so interpolation guesses the place: each step reads a
 * window of records around the guess and narrows [lo, hi) to one side of it
 * (a few reads for a billion ids; bisection after 6 steps, whatever the
 * ids). */
static int run_has(const run_t *r, mid_t k)
{
    mid_t w[WINDOW];
    uint64_t lo = 0, hi = r->count, klo = 0, khi = UINT64_MAX;
    for (int step = 0;; step++) {
        uint64_t n = hi - lo, at = lo;
        if (n > WINDOW) {
            uint64_t span = khi - klo, off = k.h1 > klo ? k.h1 - klo : 0;
            uint64_t guess = step < 6 && span ? lo + (uint64_t)((unsigned __int128)off * n / ((unsigned __int128)span + 1))
                                              : lo + n / 2;
            at = guess < lo + WINDOW / 2 ? lo : guess - WINDOW / 2;
            at = at > hi - WINDOW ? hi - WINDOW : at;
            n = WINDOW;
        }
        if (!n || run_read(r, at, n, w) < 0)
            return n ? -UP_EIO : 0;
        if (mid_cmp(k, w[0]) < 0) {
            hi = at;
            khi = w[0].h1;
        } else if (mid_cmp(k, w[n - 1]) > 0) {
            lo = at + n;
            klo = w[n - 1].h1;
        } else {
            for (uint64_t a = 0, b = n; a < b;) {
                uint64_t m = a + (b - a) / 2;
                int c = mid_cmp(w[m], k);
                if (c == 0)
                    return 1;
                if (c < 0)
                    a = m + 1;
                else
                    b = m;
            }
            return 0;
        }
        if (lo >= hi)
            return 0;
    }
}

/* ---- opening: the chain of runs ---- */

typedef struct {
    char name[64];
    uint64_t from, to;
    int used;
} cand_t;

/* The run files in the directory (a left-over temporary file is removed). */
static int list_runs(up_dedup_t *d, cand_t **out, size_t *n_out)
{
    DIR *dir = opendir(d->dir);
    *out = NULL;
    *n_out = 0;
    if (!dir)
        return -UP_EIO;
    cand_t *c = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(dir));) {
        unsigned long long from, to;
        char check[64];
        if (strcmp(e->d_name, "mids.tmp") == 0)
            unlink_name(d, e->d_name);
        if (strlen(e->d_name) != 42 || sscanf(e->d_name, "mids.%16llx-%16llx.idx", &from, &to) != 2)
            continue;
        run_name(check, sizeof check, from, to);
        if (strcmp(check, e->d_name) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            cand_t *g = realloc(c, cap * sizeof *g);
            if (!g) {
                rc = -UP_ENOMEM;
                break;
            }
            c = g;
        }
        memcpy(c[n].name, e->d_name, 43);   /* 42 characters and the NUL */
        c[n].from = from;
        c[n].to = to;
        c[n++].used = 0;
    }
    closedir(dir);
    *out = c;
    *n_out = n;
    return rc;
}

/* From offset 0, takes at each step the sound run that reaches furthest;
 * removes the files not taken (runs a merge replaced, or unsound ones). */
static int build_chain(up_dedup_t *d, uint64_t log_size)
{
    cand_t *c = NULL;
    size_t n = 0;
    int rc = list_runs(d, &c, &n);
    for (uint64_t at = 0; rc == 0;) {
        size_t best = n;
        int fd = -1;
        uint64_t count = 0;
        for (;;) {
            best = n;
            for (size_t i = 0; i < n; i++)
                if (!c[i].used && c[i].from == at && c[i].to > at && (best == n || c[i].to > c[best].to))
                    best = i;
            if (best == n)
                break;
            c[best].used = 2;   /* tried */
            if ((fd = run_open(d, c[best].name, c[best].from, c[best].to, log_size, &count)) >= 0)
                break;
            d->dropped++;
        }
        if (best == n)
            break;
        c[best].used = 1;
        if ((rc = runs_reserve(d)) < 0)
            close(fd);
        else
            runs_push(d, (run_t){fd, at, c[best].to, count});
        at = c[best].to;
    }
    for (size_t i = 0; i < n; i++)
        if (c[i].used != 1)
            unlink_name(d, c[i].name);
    free(c);
    return rc;
}

/* Reads run i through r, adding its ids to bloom (bits): 0, 1 when it fails
 * its CRC-32C or is out of order, or -UP_EIO. */
static int read_run(const up_dedup_t *d, size_t i, reader_t *r, uint64_t *bloom, uint64_t bits)
{
    uint8_t h[RUN_HDR];
    reader_init(r, &d->runs[i]);
    mid_t prev = {0, 0};
    int got, sorted = 1;
    while (sorted && (got = reader_next(r)) == 1) {
        sorted = mid_cmp(prev, r->head) < 0;
        prev = r->head;
        bloom_add(bloom, bits, r->head);
    }
    if (sorted && got < 0)
        return got;
    if (read_at(d->runs[i].fd, h, RUN_HDR, 0) < 0)
        return -UP_EIO;
    return !sorted || up_rd32(h + 48) != r->crc;
}

/* A new Bloom filter over every run, of the size for the ids on disk. A run
 * that fails its check is dropped with those after it when drop_bad is set
 * (the log is scanned from its start instead; the filter keeps its ids, which
 * only costs a few disk searches), else it fails with -UP_ECORRUPT. */
static int bloom_build(up_dedup_t *d, int drop_bad)
{
    /* the old filter goes first, so that two are never held at once; until
     * the new one is built every lookup searches the runs */
    free(d->bloom);
    d->bloom = NULL;
    d->bloom_bits = 0;
    d->bloom_all = d->disk_n > 0;
    uint64_t bits = bloom_bits_for(d, d->disk_n);
    uint64_t *bloom = bits ? calloc(bits / 64, sizeof *bloom) : NULL;
    reader_t *r = malloc(sizeof *r);
    int rc = (bits && !bloom) || !r ? -UP_ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < d->n_runs; i++) {
        rc = read_run(d, i, r, bloom, bits);
        if (rc == 1 && drop_bad) {
            d->dropped += d->n_runs - i;
            runs_drop(d, i);
            rc = 0;
        } else if (rc == 1) {
            rc = -UP_ECORRUPT;
        }
    }
    free(r);
    if (rc < 0) {
        free(bloom);
        return rc;
    }
    d->bloom = bloom;
    d->bloom_bits = bits;
    d->bloom_all = 0;
    return 0;
}

static uint64_t env_u64(const char *name, uint64_t lo, uint64_t hi, uint64_t dflt)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v || *v < '0' || *v > '9')
        return dflt;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    return errno || *end || x < lo || x > hi ? dflt : (uint64_t)x;
}

void up_dedup_limits(up_dedup_limits_t *lim)
{
    lim->ram_ids = env_u64("UPTAKE_DEDUP_RAM_IDS", 1000, 1ull << 30, UP_DEDUP_RAM_IDS);
    lim->bloom_bytes = env_u64("UPTAKE_DEDUP_BLOOM_MB", 1, 4096, UP_DEDUP_BLOOM_BYTES >> 20) << 20;
}

int up_dedup_open(up_dedup_t **out, const char *dir, int log_fd, const up_dedup_limits_t *lim)
{
    *out = NULL;
    up_dedup_t *d = calloc(1, sizeof *d);
    struct stat st;
    if (!d || !(d->dir = up_strdup(dir)) || table_alloc(d, MIN_SLOTS) < 0) {
        up_dedup_close(d);
        return -UP_ENOMEM;
    }
    d->log_fd = log_fd;
    d->lim = *lim;
    int rc = fstat(log_fd, &st) < 0 ? -UP_EIO : build_chain(d, (uint64_t)st.st_size);
    if (rc == 0)
        rc = bloom_build(d, 1);
    d->covered = d->scan_off = d->n_runs ? d->runs[d->n_runs - 1].to : 0;
    if (rc < 0) {
        up_dedup_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

uint64_t up_dedup_covered(const up_dedup_t *d) { return d->covered; }

int up_dedup_full(const up_dedup_t *d) { return d->ram_n >= d->lim.ram_ids; }

int up_dedup_add(up_dedup_t *d, uint64_t h1, uint64_t h2)
{
    mid_t k = {h1, h2};
    if (mid_empty(k))
        return -UP_EINVAL;
    uint64_t pos = table_pos(d, k);
    if (pos < d->n_slots + OVERFLOW_SLOTS && mid_cmp(d->slots[pos], k) == 0)
        return 0;
    if (bloom_maybe(d, k)) {
        d->disk_searches++;
        for (size_t i = d->n_runs; i-- > 0;) {
            int rc = run_has(&d->runs[i], k);
            if (rc != 0)
                return rc > 0 ? 0 : rc;
        }
    }
    int rc = table_add(d, k);
    return rc < 0 ? rc : 1;
}

int up_dedup_scan_block(void *ctx, const up_block_t *b)
{
    up_dedup_t *d = ctx;
    for (uint32_t i = 0; b->mids && i < b->n_events; i++) {
        uint64_t h1 = b->mids[2 * (size_t)i], h2 = b->mids[2 * (size_t)i + 1];
        int rc = (h1 | h2) ? up_dedup_add(d, h1, h2) : 0;
        if (rc < 0)
            return rc;
    }
    /* the block's end: the scan calls back for each block in turn */
    uint8_t hdr[LOG_HDR];
    if (read_at(d->log_fd, hdr, LOG_HDR, d->scan_off) < 0 || memcmp(hdr, "UPB1", 4) != 0)
        return -UP_EIO;
    d->scan_off += LOG_HDR + up_rd32(hdr + 4);
    return up_dedup_full(d) ? up_dedup_persist(d, d->scan_off) : 0;
}

/* ---- merging ---- */

typedef struct {
    int fd;
    uint8_t buf[IO_RECS * REC];
    size_t n;
    uint32_t crc;
    uint64_t count;
} writer_t;

static int writer_put(writer_t *w, mid_t k)
{
    if (w->n == sizeof w->buf) {
        if (write_all(w->fd, w->buf, w->n) < 0)
            return -UP_EIO;
        w->crc = up_crc32c(w->crc, w->buf, w->n);
        w->n = 0;
    }
    up_wr64(w->buf + w->n, k.h1);
    up_wr64(w->buf + w->n + 8, k.h2);
    w->n += REC;
    w->count++;
    return 0;
}

/* Writes the merge of the RAM table and runs [first, n_runs) through w. */
static int merge_into(up_dedup_t *d, size_t first, writer_t *w)
{
    size_t k = d->n_runs - first;
    reader_t *r = calloc(k + 1, sizeof *r);
    int *live = calloc(k + 1, sizeof *live);
    int rc = r && live ? 0 : -UP_ENOMEM;
    uint64_t slot = 0, end = d->n_slots + OVERFLOW_SLOTS;
    for (size_t i = 0; rc == 0 && i < k; i++) {
        reader_init(&r[i], &d->runs[first + i]);
        if ((live[i] = reader_next(&r[i])) < 0)
            rc = live[i];
    }
    mid_t last = {0, 0};
    while (rc == 0) {
        while (slot < end && mid_empty(d->slots[slot]))
            slot++;
        size_t best = k;     /* k: the RAM table */
        for (size_t i = 0; i < k; i++)
            if (live[i] > 0 && (best < k ? mid_cmp(r[i].head, r[best].head) < 0
                                         : slot == end || mid_cmp(r[i].head, d->slots[slot]) < 0))
                best = i;
        if (best == k && slot == end)
            break;
        mid_t next = best == k ? d->slots[slot++] : r[best].head;
        if (mid_cmp(next, last) != 0)
            rc = writer_put(w, next);
        last = next;
        if (rc == 0 && best < k && (live[best] = reader_next(&r[best])) < 0)
            rc = live[best];
    }
    free(r);
    free(live);
    if (rc == 0 && w->n) {
        rc = write_all(w->fd, w->buf, w->n);
        w->crc = up_crc32c(w->crc, w->buf, w->n);
    }
    return rc;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -UP_EIO;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Writes the header and the records of run [from, to) through w (open on
 * mids.tmp), fsynced. */
static int write_run_file(up_dedup_t *d, size_t first, uint64_t from, uint64_t to, writer_t *w)
{
    uint8_t h[RUN_HDR] = {0};
    int rc = write_all(w->fd, h, RUN_HDR);
    if (rc == 0)
        rc = merge_into(d, first, w);
    if (rc == 0)
        rc = log_anchor(d, to, h + 32);
    if (rc < 0)
        return rc;
    memcpy(h, RUN_MAGIC, 8);
    up_wr64(h + 8, w->count);
    up_wr64(h + 16, from);
    up_wr64(h + 24, to);
    up_wr32(h + 48, w->crc);
    up_wr32(h + 52, up_crc32c(0, h, 52));
    return pwrite(w->fd, h, RUN_HDR, 0) == RUN_HDR && fsync(w->fd) == 0 ? 0 : -UP_EIO;
}

/* Writes the merged run for [from, to) to mids.tmp and renames it to its
 * name: 0 with run filled in (its fd open for reading), or a negative UP_E*
 * code (nothing changed). */
static int write_run(up_dedup_t *d, size_t first, uint64_t from, uint64_t to, run_t *run)
{
    char name[64];
    run_name(name, sizeof name, from, to);
    char *tmp = path_of(d, "mids.tmp"), *dst = path_of(d, name);
    writer_t *w = calloc(1, sizeof *w);
    int rc = tmp && dst && w ? 0 : -UP_ENOMEM;
    if (rc == 0 && (w->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        rc = -UP_EIO;
    else if (rc == 0) {
        rc = write_run_file(d, first, from, to, w);
        close(w->fd);
        if (rc == 0 && (rename(tmp, dst) != 0 || fsync_dir(d->dir) < 0))
            rc = -UP_EIO;
        if (rc < 0)
            unlink(tmp);
    }
    *run = (run_t){-1, from, to, w ? w->count : 0};
    if (rc == 0 && (run->fd = open(dst, O_RDONLY | O_CLOEXEC)) < 0)
        rc = -UP_EIO;
    free(w);
    free(tmp);
    free(dst);
    return rc;
}

int up_dedup_persist(up_dedup_t *d, uint64_t log_end)
{
    if (log_end <= d->covered)
        return d->ram_n || log_end < d->covered ? -UP_EINVAL : 0;
    if (fsync(d->log_fd) != 0)
        return -UP_EIO;
    /* the newest runs not at least twice the size of what is merged so far
     * join the merge, so sizes more than double from newest to oldest */
    size_t first = d->n_runs;
    uint64_t merged = d->ram_n;
    while (first > 0 && d->runs[first - 1].count <= 2 * merged) {
        first--;
        merged += d->runs[first].count;
    }
    run_t run;
    int rc = runs_reserve(d);
    if (rc == 0)
        rc = write_run(d, first, first < d->n_runs ? d->runs[first].from : d->covered, log_end, &run);
    if (rc < 0)
        return rc;
    runs_drop(d, first);
    runs_push(d, run);
    d->merges++;
    d->covered = d->scan_off = log_end;
    /* a bigger filter reads every run again (without memory or on a read
     * error there is none, and every lookup searches the runs) */
    int rebuilt = bloom_bits_for(d, d->disk_n) != d->bloom_bits;
    if (rebuilt)
        bloom_build(d, 0);
    for (uint64_t i = 0; !rebuilt && d->bloom_bits && i < d->n_slots + OVERFLOW_SLOTS; i++)
        if (!mid_empty(d->slots[i]))
            bloom_add(d->bloom, d->bloom_bits, d->slots[i]);
    memset(d->slots, 0, (d->n_slots + OVERFLOW_SLOTS) * sizeof *d->slots);
    d->ram_n = 0;
    return 0;
}

void up_dedup_stats(const up_dedup_t *d, up_dedup_stats_t *st)
{
    memset(st, 0, sizeof *st);
    st->ram_ids = d->ram_n;
    st->disk_ids = d->disk_n;
    st->runs = d->n_runs;
    st->ram_bytes = (d->n_slots + OVERFLOW_SLOTS) * sizeof *d->slots;
    st->bloom_bytes = d->bloom_bits / 8;
    st->disk_searches = d->disk_searches;
    st->merges = d->merges;
    st->dropped = d->dropped;
}

void up_dedup_close(up_dedup_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_runs; i++)
        close(d->runs[i].fd);
    free(d->runs);
    free(d->slots);
    free(d->bloom);
    free(d->dir);
    free(d);
}
