/* fuzz_log: the event log's block reader (src/store_log.c) on arbitrary bytes.
 * Input: byte 0 picks the mode. Even: the rest is a block's raw payload,
 * which the harness compresses and frames with a valid header and CRC, so
 * that the columnar decoder and the rollup fold see every input. Odd: the
 * rest is a whole events.log as it lies on disk (headers, checksums, torn
 * tails), read with its second half taken as acknowledged. Both go through
 * the scan (folding into a rollup) and the verifier of `uptake check`.
 * Built with libFuzzer by `make fuzz`; `make test` replays the corpus. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "rollup.h"
#include "store_log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A block framed around raw: magic, lengths, CRC-32C, zstd payload. */
static uint8_t *frame(const uint8_t *raw, size_t len, size_t *out_len)
{
    /* one context for every input: creating one per call is most of the
     * harness's time under the sanitizers */
    static ZSTD_CCtx *cctx;
    if (!cctx && !(cctx = ZSTD_createCCtx()))
        return NULL;
    size_t bound = ZSTD_compressBound(len);
    uint8_t *b = malloc(16 + bound);
    if (!b)
        return NULL;
    size_t clen = ZSTD_compressCCtx(cctx, b + 16, bound, raw, len, 1);
    if (ZSTD_isError(clen)) {
        free(b);
        return NULL;
    }
    memcpy(b, "UPB1", 4);
    wr32(b + 4, (uint32_t)clen);
    wr32(b + 8, (uint32_t)len);
    wr32(b + 12, up_crc32c(up_crc32c(0, b + 4, 8), b + 16, clen));
    *out_len = 16 + clen;
    return b;
}

static int fold(void *ctx, const up_block_t *b)
{
    return up_rollup_apply_block(ctx, b);
}

static int visit(void *ctx, const up_log_blockinfo_t *bi)
{
    (void)ctx;
    if (bi->what == NULL && bi->events < 0)
        abort();   /* a good block always has a count */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int fd = memfd_create("log", 0);
    if (fd < 0)
        return 0;
    size_t len = size - 1;
    uint8_t *framed = NULL;
    const uint8_t *file = data + 1;
    if (!(data[0] & 1)) {
        framed = frame(data + 1, size - 1, &len);
        file = framed;
    }
    if (file && write(fd, file, len) == (ssize_t)len) {
        up_rollup_t r;
        up_rollup_init(&r, NULL, INT64_MAX);
        up_log_scan_t sc = {.acked = data[0] & 1 ? len / 2 : 0};
        up_store_log_scan(fd, 0, fold, &r, 0, &sc);
        if (sc.end > len || (sc.what == NULL && sc.end + sc.cut != len && sc.cut))
            abort();   /* the scan ends inside the file, and a cut runs to its end */
        up_rollup_free(&r);
        up_store_log_verify(fd, data[0] & 1 ? len / 2 : 0, visit, NULL);
    }
    free(framed);
    close(fd);
    return 0;
}
