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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define HDR 16
static const char MAGIC[4] = {'U', 'P', 'B', '1'};

static int put_varint(up_buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return up_buf_append(b, tmp, (size_t)n);
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

static const up_ev_t *sort_base;
static int cmp_idx(const void *a, const void *b)
{
    int64_t x = sort_base[*(const uint32_t *)a].ts, y = sort_base[*(const uint32_t *)b].ts;
    if (x != y)
        return x < y ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
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
    for (uint32_t i = 0; i < b->n_events; i++)
        order[i] = i;
    sort_base = b->events;
    qsort(order, b->n_events, sizeof *order, cmp_idx);

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
    wr32(out + 4, (uint32_t)clen);
    wr32(out + 8, (uint32_t)raw.len);
    uint32_t crc = up_crc32c(0, out + 4, 8);
    crc = up_crc32c(crc, out + HDR, clen);
    wr32(out + 12, crc);
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
        if (get_varint(&p, end, &v) < 0)
            return -UP_ECORRUPT;
        if (i == 0)
            ts = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        else
            ts += (int64_t)v;
        d->ev[i].ts = ts;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (get_varint(&p, end, &v) < 0)
            return -UP_ECORRUPT;
        d->ev[i].pair = (uint32_t)v;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (get_varint(&p, end, &v) < 0)
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

int up_store_log_scan(int fd, uint64_t start, up_log_block_fn fn, void *ctx,
                int truncate, uint64_t *end, uint64_t *cut)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -UP_EIO;
    uint64_t size = (uint64_t)st.st_size, off = start;
    *cut = 0;
    uint8_t *cbuf = NULL, *rbuf = NULL;
    size_t ccap = 0, rcap = 0;
    int rc = 0;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx)
        return -UP_ENOMEM;
    while (off < size) {
        uint8_t hdr[HDR];
        if (size - off < HDR || read_at(fd, hdr, HDR, off) != 0)
            break;                          /* a header cut short: torn */
        if (memcmp(hdr, MAGIC, 4) != 0) {
            if (all_zero(fd, off, size))
                break;                      /* space allocated, never written: torn */
            rc = -UP_ECORRUPT;              /* damage with data after it */
            goto done;
        }
        uint32_t clen = rd32(hdr + 4), rlen = rd32(hdr + 8), crc = rd32(hdr + 12);
        if (size - off - HDR < clen)
            break;                          /* the block's bytes run past the end: torn */
        if (rlen > (1u << 30)) {
            rc = -UP_ECORRUPT;
            goto done;
        }
        if (clen > ccap) {
            free(cbuf);
            ccap = clen;
            cbuf = malloc(ccap);
            if (!cbuf) {
                rc = -UP_ENOMEM;
                goto done;
            }
        }
        if (read_at(fd, cbuf, clen, off + HDR) != 0)
            break;
        uint32_t c = up_crc32c(0, hdr + 4, 8);
        if (up_crc32c(c, cbuf, clen) != crc) {
            /* the last block, written out of order by a crash, is a torn
             * tail; a bad block with blocks after it is damage, and cutting
             * there would destroy acknowledged events */
            if (off + HDR + clen == size)
                break;
            rc = -UP_ECORRUPT;
            goto done;
        }
        if (rlen > rcap) {
            free(rbuf);
            rcap = rlen;
            rbuf = malloc(rcap + 1);
            if (!rbuf) {
                rc = -UP_ENOMEM;
                goto done;
            }
        }
        size_t got = ZSTD_decompressDCtx(dctx, rbuf, rlen, cbuf, clen);
        if (ZSTD_isError(got) || got != rlen) {
            rc = -UP_ECORRUPT;
            goto done;
        }
        if (fn) {
            rc = decode(rbuf, rbuf + rlen, fn, ctx);
            if (rc != 0)
                goto done;
        }
        off += HDR + clen;
    }
    if (off < size) {
        if (truncate && (ftruncate(fd, (off_t)off) < 0 || fsync(fd) < 0)) {
            rc = -UP_EIO;
            goto done;
        }
        *cut = size - off;
    }
done:
    *end = off;
    ZSTD_freeDCtx(dctx);
    free(cbuf);
    free(rbuf);
    return rc;
}
