/* store_log: block encoding of the event log.
 *
 * Block on disk: "UPB1" | u32 payload bytes | u32 raw bytes | u32 CRC-32C over
 * the two length words and the payload | payload (zstd). The raw payload is
 * columnar so that zstd sees runs of similar bytes: the new strings, the new
 * pairs, then the events sorted by time as delta-coded timestamps, pair ids and
 * event ids (LEB128 varints), then the message-id hashes when any are present.
 * Sorting by time inside a block costs nothing semantically (de-duplication
 * happens before a block is formed) and makes the timestamp deltas tiny. */
#include "store_log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define HDR 16
#define TS_LIMIT (1LL << 50)   /* ms: some 35,000 years either side of 1970; the rollup's days fit */
static const char MAGIC[4] = {'U', 'P', 'B', '1'};

static int header_at(int fd, uint64_t off, uint32_t *crc, uint32_t *clen);

static int put_varint(up_buf_t *b, uint64_t v)
{
    if (up_buf_reserve(b, 10) < 0)
        return -UP_ENOMEM;
    uint8_t *p = (uint8_t *)b->data + b->len, *start = p;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    b->len += (size_t)(p - start);
    b->data[b->len] = '\0';
    return 0;
}

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -UP_ECORRUPT;
        uint8_t c = *(*p)++;
        r |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -UP_ECORRUPT;
}

/* get_varint where at least 10 bytes are left (no check per byte); the
 * same value, or NULL where get_varint fails. */
static inline const uint8_t *varint10(const uint8_t *p, uint64_t *v)
{
    uint8_t c = *p++;
    if (c < 0x80) {
        *v = c;
        return p;
    }
    uint64_t r = c & 0x7f;
    for (int shift = 7; shift < 64; shift += 7) {
        c = *p++;
        r |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return p;
        }
    }
    return NULL;
}

/* The next varint of a column: the fast way while 10 bytes are left. */
static inline int next_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if (end - *p >= 10) {
        const uint8_t *q = varint10(*p, v);
        if (!q)
            return -UP_ECORRUPT;
        *p = q;
        return 0;
    }
    return get_varint(p, end, v);
}

typedef struct {
    int64_t ts;
    uint32_t i;
} ts_idx_t;

static int cmp_ts_idx(const void *a, const void *b)
{
    const ts_idx_t *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* order = the indexes of ev by time, ties in arrival order. Events mostly
 * arrive in time order (an export, a live stream): then nothing is sorted. */
static int sort_by_ts(const up_ev_t *ev, uint32_t n, uint32_t *order)
{
    uint32_t i = 1;
    while (i < n && ev[i - 1].ts <= ev[i].ts)
        i++;
    for (uint32_t j = 0; j < n; j++)
        order[j] = j;
    if (i >= n)
        return 0;
    ts_idx_t *k = malloc((size_t)n * sizeof *k);
    if (!k)
        return -UP_ENOMEM;
    for (uint32_t j = 0; j < n; j++)
        k[j] = (ts_idx_t){ev[j].ts, j};
    qsort(k, n, sizeof *k, cmp_ts_idx);
    for (uint32_t j = 0; j < n; j++)
        order[j] = k[j].i;
    free(k);
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -UP_EIO;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int encode(up_buf_t *raw, const up_block_t *b, uint32_t *order)
{
    int rc = 0;
    rc |= put_varint(raw, b->n_strs);
    for (uint32_t i = 0; i < b->n_strs; i++) {
        rc |= up_buf_append(raw, &b->str_kind[i], 1);
        rc |= put_varint(raw, b->str_lens[i]);
        rc |= up_buf_append(raw, b->strs[i], b->str_lens[i]);
    }
    rc |= put_varint(raw, b->n_pairs);
    for (uint32_t i = 0; i < b->n_pairs; i++) {
        rc |= put_varint(raw, b->pair_account[i]);
        rc |= put_varint(raw, b->pair_user[i]);
    }
    rc |= put_varint(raw, b->n_events);
    int64_t prev = 0;
    for (uint32_t i = 0; i < b->n_events; i++) {
        int64_t ts = b->events[order[i]].ts;
        if (i == 0) {
            uint64_t zz = ((uint64_t)ts << 1) ^ (uint64_t)(ts >> 63);
            rc |= put_varint(raw, zz);
        } else {
            rc |= put_varint(raw, (uint64_t)(ts - prev));
        }
        prev = ts;
    }
    for (uint32_t i = 0; i < b->n_events; i++)
        rc |= put_varint(raw, b->events[order[i]].pair);
    for (uint32_t i = 0; i < b->n_events; i++)
        rc |= put_varint(raw, b->events[order[i]].event);
    uint8_t has_mids = b->mids != NULL;
    rc |= up_buf_append(raw, &has_mids, 1);
    if (has_mids) {
        for (uint32_t i = 0; i < b->n_events; i++)
            rc |= up_buf_append(raw, &b->mids[2 * (size_t)order[i]], 16);
    }
    return rc ? -UP_ENOMEM : 0;
}

int up_store_log_append(int fd, const up_block_t *b, int zstd_level, uint64_t *bytes_out)
{
    uint32_t *order = malloc(((size_t)b->n_events + 1) * sizeof *order);
    if (!order)
        return -UP_ENOMEM;
    if (sort_by_ts(b->events, b->n_events, order) < 0) {
        free(order);
        return -UP_ENOMEM;
    }

    up_buf_t raw = {0};
    int rc = encode(&raw, b, order);
    free(order);
    if (rc < 0) {
        up_buf_free(&raw);
        return rc;
    }
    size_t bound = ZSTD_compressBound(raw.len);
    uint8_t *out = malloc(HDR + bound);
    if (!out) {
        up_buf_free(&raw);
        return -UP_ENOMEM;
    }
    size_t clen = ZSTD_compress(out + HDR, bound, raw.data, raw.len, zstd_level);
    if (ZSTD_isError(clen)) {
        free(out);
        up_buf_free(&raw);
        return -UP_EIO;
    }
    memcpy(out, MAGIC, 4);
    up_wr32(out + 4, (uint32_t)clen);
    up_wr32(out + 8, (uint32_t)raw.len);
    uint32_t crc = up_crc32c(0, out + 4, 8);
    crc = up_crc32c(crc, out + HDR, clen);
    up_wr32(out + 12, crc);
    up_buf_free(&raw);
    rc = write_all(fd, out, HDR + clen);
    free(out);
    if (rc == 0 && bytes_out)
        *bytes_out = HDR + clen;
    return rc;
}

/* A count or a length: a varint no larger than the bytes left after it. */
static int get_count(const uint8_t **p, const uint8_t *end, uint32_t *n)
{
    uint64_t v;
    if (get_varint(p, end, &v) < 0 || v > (uint64_t)(end - *p))
        return -UP_ECORRUPT;
    *n = (uint32_t)v;
    return 0;
}

/* The arrays a payload decodes into; dec_free releases them. */
typedef struct {
    uint8_t *kinds;
    const char **strs;
    uint32_t *lens, *pacc, *puser;
    char **owned;
    uint32_t n_owned;
    up_ev_t *ev;
    uint64_t *mids;
} dec_t;

static void dec_free(dec_t *d)
{
    for (uint32_t i = 0; i < d->n_owned; i++)
        free(d->owned[i]);
    free(d->owned);
    free(d->kinds);
    free(d->strs);
    free(d->lens);
    free(d->pacc);
    free(d->puser);
    free(d->ev);
    free(d->mids);
}

/* The new strings: per string its kind, its length and its bytes. */
static int dec_strings(dec_t *d, const uint8_t **pp, const uint8_t *end, uint32_t n)
{
    const uint8_t *p = *pp;
    d->kinds = malloc(n + 1);
    d->strs = malloc((n + 1) * sizeof *d->strs);
    d->owned = malloc((n + 1) * sizeof *d->owned);
    d->lens = malloc((n + 1) * sizeof *d->lens);
    if (!d->kinds || !d->strs || !d->lens || !d->owned)
        return -UP_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if (p >= end)
            return -UP_ECORRUPT;
        d->kinds[i] = *p++;
        if (d->kinds[i] >= UP_KINDS || get_count(&p, end, &d->lens[i]) < 0)
            return -UP_ECORRUPT;
        /* strings are NUL-terminated copies so consumers may keep them */
        d->owned[i] = up_strndup((const char *)p, d->lens[i]);
        if (!d->owned[i])
            return -UP_ENOMEM;
        d->n_owned++;
        d->strs[i] = d->owned[i];
        p += d->lens[i];
    }
    *pp = p;
    return 0;
}

/* The new pairs: (account, user) ids. */
static int dec_pairs(dec_t *d, const uint8_t **p, const uint8_t *end, uint32_t n)
{
    d->pacc = malloc((n + 1) * sizeof *d->pacc);
    d->puser = malloc((n + 1) * sizeof *d->puser);
    if (!d->pacc || !d->puser)
        return -UP_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a, u;
        if (get_varint(p, end, &a) < 0 || get_varint(p, end, &u) < 0)
            return -UP_ECORRUPT;
        d->pacc[i] = (uint32_t)a;
        d->puser[i] = (uint32_t)u;
    }
    return 0;
}

/* The events, column by column: times (the first zigzag, then deltas), pairs,
 * event ids; then a flag and, when set, 16 bytes of message-id hash each. */
static int dec_events(dec_t *d, const uint8_t **pp, const uint8_t *end, uint32_t n)
{
    const uint8_t *p = *pp;
    uint64_t v;
    if (!(d->ev = malloc(((size_t)n + 1) * sizeof *d->ev)))
        return -UP_ENOMEM;
    int64_t ts = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (next_varint(&p, end, &v) < 0)
            return -UP_ECORRUPT;
        if (i == 0)
            ts = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        else
            ts = (int64_t)((uint64_t)ts + v);   /* wraps, then fails the range check */
        if (ts <= -TS_LIMIT || ts >= TS_LIMIT)
            return -UP_ECORRUPT;
        d->ev[i].ts = ts;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (next_varint(&p, end, &v) < 0)
            return -UP_ECORRUPT;
        d->ev[i].pair = (uint32_t)v;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (next_varint(&p, end, &v) < 0)
            return -UP_ECORRUPT;
        d->ev[i].event = (uint32_t)v;
    }
    if (p >= end)
        return -UP_ECORRUPT;
    if (*p++) {
        if ((uint64_t)(end - p) < (uint64_t)n * 16)
            return -UP_ECORRUPT;
        if (!(d->mids = malloc((size_t)n * 16 + 16)))
            return -UP_ENOMEM;
        memcpy(d->mids, p, (size_t)n * 16);
        p += (size_t)n * 16;
    }
    *pp = p;
    return 0;
}

/* Decodes one raw payload and hands it to fn. */
static int decode(const uint8_t *p, const uint8_t *end, up_log_block_fn fn, void *ctx)
{
    up_block_t b;
    memset(&b, 0, sizeof b);
    if (get_count(&p, end, &b.n_strs) < 0)
        return -UP_ECORRUPT;
    dec_t d = {0};
    int rc = dec_strings(&d, &p, end, b.n_strs);
    if (rc == 0)
        rc = get_count(&p, end, &b.n_pairs);
    if (rc == 0)
        rc = dec_pairs(&d, &p, end, b.n_pairs);
    if (rc == 0)
        rc = get_count(&p, end, &b.n_events);
    if (rc == 0)
        rc = dec_events(&d, &p, end, b.n_events);
    if (rc == 0) {
        b.str_kind = d.kinds;
        b.strs = d.strs;
        b.str_lens = d.lens;
        b.pair_account = d.pacc;
        b.pair_user = d.puser;
        b.events = d.ev;
        b.mids = d.mids;
        rc = fn(ctx, &b);
    }
    dec_free(&d);
    return rc;
}

static int read_at(int fd, void *p, size_t n, uint64_t off)
{
    char *s = p;
    while (n) {
        ssize_t r = pread(fd, s, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -UP_EIO;
        }
        if (r == 0)
            return 1; /* short */
        s += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Whether every byte of fd from off to size is zero. */
static int all_zero(int fd, uint64_t off, uint64_t size)
{
    uint8_t buf[4096];
    while (off < size) {
        size_t n = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
        if (read_at(fd, buf, n, off) != 0)
            return 0;
        for (size_t i = 0; i < n; i++)
            if (buf[i])
                return 0;
        off += n;
    }
    return 1;
}

/* One block read from the file: its header, and its raw payload when good. */
typedef struct {
    int fd;
    uint64_t size;               /* of the file */
    uint32_t clen, rlen;         /* from the header */
    uint8_t *cbuf, *rbuf;
    size_t ccap, rcap;
    ZSTD_DCtx *dctx;
} blk_t;

enum { BLK_OK, BLK_SHORT, BLK_NO_MAGIC, BLK_PAST_END, BLK_BAD_LEN, BLK_BAD_CRC, BLK_BAD_ZSTD, BLK_BAD_DECODE };

static const char *const BLK_WHAT[] = {
    [BLK_OK] = NULL,
    [BLK_SHORT] = "is cut short (the file ends inside its header)",
    [BLK_NO_MAGIC] = "lacks the block magic UPB1",
    [BLK_PAST_END] = "runs past the end of the file",
    [BLK_BAD_LEN] = "has an impossible length",
    [BLK_BAD_CRC] = "fails its checksum",
    [BLK_BAD_ZSTD] = "does not decompress",
    [BLK_BAD_DECODE] = "does not decode",
};

static int blk_init(blk_t *k, int fd)
{
    memset(k, 0, sizeof *k);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -UP_EIO;
    k->fd = fd;
    k->size = (uint64_t)st.st_size;
    k->dctx = ZSTD_createDCtx();
    return k->dctx ? 0 : -UP_ENOMEM;
}

static void blk_free(blk_t *k)
{
    ZSTD_freeDCtx(k->dctx);
    free(k->cbuf);
    free(k->rbuf);
}

/* Grows *buf to hold n bytes (one spare). */
static int ensure(uint8_t **buf, size_t *cap, size_t n)
{
    if (n < *cap)
        return 0;
    free(*buf);
    *cap = n + 1;
    *buf = malloc(*cap);
    return *buf ? 0 : -UP_ENOMEM;
}

static int blk_decompress(blk_t *k)
{
    /* the frame names its size: a header that disagrees is damage, found
     * before allocating what a damaged length asks for */
    if (ZSTD_getFrameContentSize(k->cbuf, k->clen) != k->rlen)
        return BLK_BAD_ZSTD;
    if (ensure(&k->rbuf, &k->rcap, k->rlen) < 0)
        return -UP_ENOMEM;
    size_t got = ZSTD_decompressDCtx(k->dctx, k->rbuf, k->rlen, k->cbuf, k->clen);
    return ZSTD_isError(got) || got != k->rlen ? BLK_BAD_ZSTD : BLK_OK;
}

/* Reads the block at off: BLK_OK with the raw payload in k->rbuf, another
 * BLK_* saying what is wrong, or a negative UP_E* code. */
static int blk_read(blk_t *k, uint64_t off)
{
    uint8_t hdr[HDR];
    k->clen = k->rlen = 0;
    if (k->size - off < HDR || read_at(k->fd, hdr, HDR, off) != 0)
        return BLK_SHORT;
    if (memcmp(hdr, MAGIC, 4) != 0)
        return BLK_NO_MAGIC;
    k->clen = up_rd32(hdr + 4);
    k->rlen = up_rd32(hdr + 8);
    if (k->size - off - HDR < k->clen)
        return BLK_PAST_END;
    if (k->rlen > (1u << 30))
        return BLK_BAD_LEN;
    if (ensure(&k->cbuf, &k->ccap, k->clen) < 0)
        return -UP_ENOMEM;
    int r = read_at(k->fd, k->cbuf, k->clen, off + HDR);
    if (r != 0)
        return r < 0 ? r : BLK_SHORT;
    uint32_t c = up_crc32c(0, hdr + 4, 8);
    if (up_crc32c(c, k->cbuf, k->clen) != up_rd32(hdr + 12))
        return BLK_BAD_CRC;
    return blk_decompress(k);
}

static int count_fn(void *ctx, const up_block_t *b)
{
    *(int64_t *)ctx = b->n_events;
    return 0;
}

/* The events of the block just read (decompressing it when its checksum
 * failed, since the damage may lie elsewhere), or -1 when it does not decode. */
static int64_t blk_events(blk_t *k, int status)
{
    int64_t n = -1;
    /* a damaged length may ask for much memory: count only plausible ones */
    if (status == BLK_BAD_CRC && (k->rlen > (1u << 26) || blk_decompress(k) != BLK_OK))
        return -1;
    if (status != BLK_OK && status != BLK_BAD_CRC)
        return -1;
    if (decode(k->rbuf, k->rbuf + k->rlen, count_fn, &n) != 0)
        return -1;
    return n;
}

/* Whether the problem at off, above the mark, is what a crash leaves. */
static int torn(blk_t *k, int status, uint64_t off)
{
    switch (status) {
    case BLK_SHORT:
    case BLK_PAST_END:
        return 1;
    case BLK_NO_MAGIC:
        return all_zero(k->fd, off, k->size);   /* space allocated, never written */
    case BLK_BAD_CRC:
        return off + HDR + k->clen == k->size;  /* the last block, written out of order by a crash */
    default:
        return 0;
    }
}

static void damaged(blk_t *k, int status, uint64_t off, up_log_scan_t *sc)
{
    sc->end = off;
    sc->what = BLK_WHAT[status];
    sc->bad_len = status > BLK_NO_MAGIC ? HDR + (uint64_t)k->clen : 0;
    sc->bad_events = blk_events(k, status);
}

/* The record of ranges for the block at off whose header says (crc, clen),
 * or NULL. */
static const up_log_range_t *range_of(const up_log_range_t *r, size_t n, uint64_t off, uint32_t crc, uint32_t clen)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && r[lo].off == off && r[lo].hdr_crc == crc && r[lo].clen == clen ? &r[lo] : NULL;
}

/* Whether the block at off may be skipped: its header reads, and its range
 * record says no event lies in [from, to]; *next is the offset after it. */
static int skippable(blk_t *k, uint64_t off, const up_log_range_t *r, size_t n, int64_t from, int64_t to,
                     uint64_t *next)
{
    uint8_t hdr[HDR];
    if (!n || k->size - off < HDR || read_at(k->fd, hdr, HDR, off) != 0 || memcmp(hdr, MAGIC, 4) != 0)
        return 0;
    uint32_t clen = up_rd32(hdr + 4);
    if (k->size - off - HDR < clen)
        return 0;
    const up_log_range_t *x = range_of(r, n, off, up_rd32(hdr + 12), clen);
    if (!x || (x->min_ts <= x->max_ts && x->max_ts >= from && x->min_ts <= to))
        return 0;
    *next = off + HDR + clen;
    return 1;
}

typedef struct {
    const up_log_range_t *ranges;
    size_t n;
    int64_t from, to;
} skip_t;

static int scan_impl(int fd, uint64_t start, up_log_block_fn fn, void *ctx, int truncate, up_log_scan_t *sc,
                     const skip_t *skip);

int up_store_log_scan(int fd, uint64_t start, up_log_block_fn fn, void *ctx,
                int truncate, up_log_scan_t *sc)
{
    return scan_impl(fd, start, fn, ctx, truncate, sc, NULL);
}

int up_store_log_scan_window(int fd, uint64_t start, const up_log_range_t *ranges, size_t n, int64_t from, int64_t to,
                             up_log_block_fn fn, void *ctx, up_log_scan_t *sc)
{
    skip_t sk = {ranges, n, from, to};
    return scan_impl(fd, start, fn, ctx, 0, sc, &sk);
}

static int scan_impl(int fd, uint64_t start, up_log_block_fn fn, void *ctx, int truncate, up_log_scan_t *sc,
                     const skip_t *skip)
{
    blk_t k;
    uint64_t off = start;
    /* with a limit, what lies past it was never reported stored (an events
     * import that has not finished: its last step moves the mark just
     * before its transaction), so the acknowledged end ends there too */
    uint64_t acked = sc->limit && sc->acked > sc->limit - 1 ? sc->limit - 1 : sc->acked;
    sc->cut = sc->bad_len = 0;
    sc->bad_events = -1;
    sc->what = NULL;
    sc->short_log = 0;
    int rc = blk_init(&k, fd);
    while (rc == 0 && off < k.size && !(sc->limit && off + 1 >= sc->limit)) {
        uint64_t next;
        if (skip && skippable(&k, off, skip->ranges, skip->n, skip->from, skip->to, &next)) {
            off = next;
            continue;
        }
        int status = blk_read(&k, off);
        if (status < 0) {
            rc = status;
            break;
        }
        if (status == BLK_OK && fn && (rc = decode(k.rbuf, k.rbuf + k.rlen, fn, ctx)) != 0) {
            if (rc == -UP_ECORRUPT)
                damaged(&k, BLK_BAD_DECODE, off, sc);
            break;
        }
        if (status == BLK_OK) {
            off += HDR + k.clen;
            continue;
        }
        /* below the mark every block was acknowledged: whatever is wrong is
         * damage, and cutting there would destroy acknowledged events */
        if (off >= acked && torn(&k, status, off))
            break;
        damaged(&k, status, off, sc);
        rc = -UP_ECORRUPT;
    }
    if (rc == 0 && off < acked) {
        sc->what = "is missing: the file ends before its acknowledged end";
        sc->bad_len = acked - off;
        sc->end = off;
        sc->short_log = 1;
        rc = -UP_ECORRUPT;
    }
    if (rc == 0 && off < k.size && !(sc->limit && off + 1 >= sc->limit)) {
        if (truncate && (ftruncate(fd, (off_t)off) < 0 || fsync(fd) < 0))
            rc = -UP_EIO;
        else
            sc->cut = k.size - off;
    }
    if (!sc->what)
        sc->end = off;
    blk_free(&k);
    return rc;
}

/* The first offset after off that holds a good block, or the file's size. */
static uint64_t resync(blk_t *k, uint64_t off)
{
    uint8_t buf[4096];
    for (uint64_t at = off + 1; at < k->size;) {
        size_t n = k->size - at < sizeof buf ? (size_t)(k->size - at) : sizeof buf;
        if (read_at(k->fd, buf, n, at) != 0)
            break;
        for (size_t i = 0; i + 4 <= n; i++)
            if (memcmp(buf + i, MAGIC, 4) == 0 && blk_read(k, at + i) == BLK_OK)
                return at + i;
        at += n > 3 ? n - 3 : n;
    }
    return k->size;
}

int up_store_log_verify(int fd, uint64_t acked, up_log_verify_fn fn, void *ctx)
{
    blk_t k;
    int rc = blk_init(&k, fd);
    uint64_t off = 0;
    while (rc == 0 && off < k.size) {
        int status = blk_read(&k, off);
        if (status < 0) {
            rc = status;
            break;
        }
        up_log_blockinfo_t bi = {off, HDR + (uint64_t)k.clen, -1, NULL, 0};
        if (status == BLK_OK && (bi.events = blk_events(&k, status)) < 0)
            status = BLK_BAD_DECODE;
        bi.what = BLK_WHAT[status];
        if (status != BLK_OK && off >= acked && torn(&k, status, off)) {
            bi.len = k.size - off;
            bi.torn = 1;
            rc = fn(ctx, &bi);
            off = k.size;
            break;
        }
        uint64_t next = off + bi.len;
        if (status != BLK_OK) {
            bi.events = blk_events(&k, status);
            next = status >= BLK_BAD_LEN && next < k.size && blk_read(&k, next) == BLK_OK ? next : resync(&k, off);
            bi.len = next - off;
        }
        rc = fn(ctx, &bi);
        off = next;
    }
    if (rc == 0 && off < acked) {
        up_log_blockinfo_t bi = {off, acked - off, -1, "is missing: the file ends before its acknowledged end", 0};
        rc = fn(ctx, &bi);
    }
    blk_free(&k);
    return rc;
}

int up_store_log_read_blocks(int fd, const up_log_blockref_t *refs, size_t n, up_log_block_fn fn, void *ctx,
                             const char **what, size_t *bad)
{
    blk_t k;
    int rc = blk_init(&k, fd);
    *what = NULL;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint8_t hdr[HDR];
        int status = k.size < HDR || refs[i].off > k.size - HDR || read_at(fd, hdr, HDR, refs[i].off) != 0
                         ? BLK_SHORT : BLK_OK;
        if (status == BLK_OK && (memcmp(hdr, MAGIC, 4) != 0 || up_rd32(hdr + 4) != refs[i].clen ||
                                 up_rd32(hdr + 12) != refs[i].hdr_crc)) {
            *what = "does not carry the header its record says";
            rc = -UP_ECORRUPT;
        } else if (status == BLK_OK && (status = blk_read(&k, refs[i].off)) < 0)
            rc = status;
        if (rc == 0 && status != BLK_OK) {
            *what = BLK_WHAT[status];
            rc = -UP_ECORRUPT;
        }
        if (rc == 0 && (rc = decode(k.rbuf, k.rbuf + k.rlen, fn, ctx)) == -UP_ECORRUPT && !*what)
            *what = BLK_WHAT[BLK_BAD_DECODE];
        if (rc == -UP_ECORRUPT)
            *bad = i;
    }
    blk_free(&k);
    return rc;
}

int up_store_log_header(int fd, uint64_t off, uint32_t *hdr_crc, uint32_t *clen)
{
    return header_at(fd, off, hdr_crc, clen);
}

/* ---- the mark ------------------------------------------------------------ */

#define SLOT 32
static const char MARK_MAGIC[4] = {'U', 'P', 'A', 'K'};

static int slot_read(const uint8_t *p, uint64_t *seq, uint64_t *acked)
{
    if (memcmp(p, MARK_MAGIC, 4) != 0 || up_crc32c(0, p + 8, SLOT - 8) != up_rd32(p + 4))
        return -1;
    memcpy(seq, p + 8, 8);
    memcpy(acked, p + 16, 8);
    return 0;
}

int up_store_log_mark_read(const char *path, up_log_mark_t *m)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -UP_EIO;
    uint8_t buf[2 * SLOT] = {0};
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    close(fd);
    if (n < 0)
        return -UP_EIO;
    m->state = UP_MARK_DAMAGED;
    static const uint8_t empty[SLOT];
    for (int i = 0; i < 2; i++) {
        uint64_t seq, acked;
        if (memcmp(buf + i * SLOT, empty, SLOT) == 0)
            continue;   /* never written (a short file reads as zeros) */
        if (slot_read(buf + i * SLOT, &seq, &acked) < 0) {
            m->bad_slots++;
            continue;
        }
        if (m->state != UP_MARK_OK || seq > m->seq) {
            m->seq = seq;
            m->acked = acked;
            m->state = UP_MARK_OK;
        }
    }
    if (m->state != UP_MARK_OK)
        m->acked = 0;
    if (m->state != UP_MARK_OK && !m->bad_slots)
        m->state = UP_MARK_NONE;   /* an empty file */
    return 0;
}

int up_store_log_mark_write(int fd, up_log_mark_t *m, uint64_t acked)
{
    uint8_t slot[SLOT] = {0};
    uint64_t seq = m->seq + 1;
    memcpy(slot, MARK_MAGIC, 4);
    memcpy(slot + 8, &seq, 8);
    memcpy(slot + 16, &acked, 8);
    up_wr32(slot + 4, up_crc32c(0, slot + 8, SLOT - 8));
    off_t at = (off_t)(seq % 2) * SLOT;
    if (pwrite(fd, slot, SLOT, at) != SLOT || fdatasync(fd) != 0)
        return -UP_EIO;
    m->seq = seq;
    m->acked = acked;
    m->state = UP_MARK_OK;
    return 0;
}

/* ---- the block ranges (DIR/events.idx) ----------------------------------- */

#define RANGE_REC 40

int up_store_log_range_append(int idx_fd, int log_fd, uint64_t off, int64_t min_ts, int64_t max_ts)
{
    uint8_t hdr[HDR], rec[RANGE_REC];
    if (read_at(log_fd, hdr, HDR, off) != 0)
        return -UP_EIO;
    memset(rec, 0, sizeof rec);
    memcpy(rec, &off, 8);
    memcpy(rec + 8, &min_ts, 8);
    memcpy(rec + 16, &max_ts, 8);
    memcpy(rec + 24, hdr + 12, 4);   /* the block's CRC */
    memcpy(rec + 28, hdr + 4, 4);    /* its compressed length */
    uint32_t c = up_crc32c(0, rec, 32);
    memcpy(rec + 32, &c, 4);
    return write_all(idx_fd, rec, sizeof rec) == 0 ? 0 : -UP_EIO;
}

/* By offset, then by position in the file. */
static int cmp_range(const void *a, const void *b)
{
    const up_log_range_t *x = a, *y = b;
    return x->off != y->off ? (x->off < y->off ? -1 : 1) : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

int up_store_log_ranges_read(const char *path, up_log_range_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 0 : -UP_EIO;
    size_t cap = 0;
    uint8_t rec[RANGE_REC];
    /* bounded: 4M blocks of up to 65,536 events is far beyond any log */
    while (*n < (4u << 20) && fread(rec, 1, sizeof rec, f) == sizeof rec) {
        uint32_t c;
        memcpy(&c, rec + 32, 4);
        if (up_crc32c(0, rec, 32) != c)
            continue;   /* a damaged record: that block is read */
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            up_log_range_t *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                fclose(f);
                return -UP_ENOMEM;
            }
            *out = p;
        }
        up_log_range_t *r = &(*out)[*n];
        r->seq = (*n)++;
        memcpy(&r->off, rec, 8);
        memcpy(&r->min_ts, rec + 8, 8);
        memcpy(&r->max_ts, rec + 16, 8);
        memcpy(&r->hdr_crc, rec + 24, 4);
        memcpy(&r->clen, rec + 28, 4);
    }
    fclose(f);
    /* by offset, and of the records of one offset (a log cut back and
     * written again) the last written only */
    up_log_range_t *r = *out;
    if (*n)   /* none (all damaged): r is NULL, which qsort may not take */
        qsort(r, *n, sizeof *r, cmp_range);
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (k && r[k - 1].off == r[i].off)
            r[k - 1] = r[i];
        else
            r[k++] = r[i];
    }
    *n = k;
    return 0;
}

/* The checksum and length in the block header at off; 0, or -1 when
 * there is no block header there. */
static int header_at(int fd, uint64_t off, uint32_t *crc, uint32_t *clen)
{
    uint8_t hdr[HDR];
    if (read_at(fd, hdr, HDR, off) != 0 || memcmp(hdr, MAGIC, 4) != 0)
        return -1;
    *crc = up_rd32(hdr + 12);
    *clen = up_rd32(hdr + 4);
    return 0;
}

int up_store_log_unchanged(int fd, const up_log_range_t *ranges, size_t n, uint64_t last_off, uint32_t last_crc,
                           uint64_t from, uint64_t end, int64_t T)
{
    if (end < from)
        return 0;
    if (from > 0) {   /* the block that ended the log then is still there, unchanged */
        if (from <= last_off + HDR)
            return 0;
        uint32_t crc, clen;
        if (header_at(fd, last_off, &crc, &clen) < 0 || crc != last_crc || last_off + HDR + clen != from)
            return 0;
    }
    for (uint64_t off = from; off < end;) {
        uint32_t crc, clen;
        const up_log_range_t *r = header_at(fd, off, &crc, &clen) == 0 ? range_of(ranges, n, off, crc, clen) : NULL;
        if (!r)
            return 0;   /* a block without its record: not known */
        if (r->min_ts <= r->max_ts && r->min_ts <= T)
            return 0;
        off += HDR + (uint64_t)r->clen;
    }
    return 1;
}
