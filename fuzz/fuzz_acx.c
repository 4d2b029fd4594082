/* fuzz_acx: the index of events.acx (up_acx_parse in src/acx.c) and the
 * reads of its blocks (up_acx_verify, up_acx_scan) on arbitrary bytes. The
 * input is a u32 (little-endian) n, then n bytes of index, then the bytes of
 * events.acx. The harness recomputes the index's checksum, so that mutated
 * inputs reach the structural checks behind it; an index that parses is then
 * read whole and for four groups, against 300 pairs of accounts 0 .. 299.
 * Built with libFuzzer by `make fuzz`; `make test` replays the corpus. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "acx.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *ctx, const up_block_t *b)
{
    *(uint64_t *)ctx += b->n_events;
    for (uint32_t i = 0; i < b->n_events; i++)   /* every event in range, as the reader checked */
        if (b->events[i].pair >= 300)
            abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t n = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    if (n > size - 4)
        return 0;
    uint8_t *idx = malloc((size_t)n + 1);
    if (!idx)
        return 0;
    memcpy(idx, data + 4, n);
    if (n >= 8) {   /* the checksum made good */
        uint32_t crc = up_crc32c(0, idx, n - 8);
        for (int i = 0; i < 4; i++)
            idx[n - 8 + i] = (uint8_t)(crc >> (8 * i));
    }
    up_acx_index_t ix;
    char why[256];
    int rc = up_acx_parse(idx, n, &ix, why, sizeof why);
    free(idx);
    if (rc < 0)
        return 0;
    int fd = memfd_create("acx", 0);
    size_t len = size - 4 - n;
    if (fd < 0 || (len && write(fd, data + 4 + n, len) != (ssize_t)len)) {
        if (fd >= 0)
            close(fd);
        up_acx_index_free(&ix);
        return 0;
    }
    up_acx_t *x;
    if (up_acx_adopt(&ix, fd, &x) < 0)
        return 0;
    uint64_t events = 0;
    up_acx_verify(x, &events, why, sizeof why);
    up_pair_t pairs[300];
    memset(pairs, 0, sizeof pairs);
    for (uint32_t i = 0; i < 300; i++)
        pairs[i].account = i;
    for (uint32_t a = 0; a < 4; a++) {
        uint64_t got = 0;
        up_acx_scan(x, a * 37, INT64_MIN, INT64_MAX, pairs, 300, count, &got, why, sizeof why);
    }
    up_acx_close(x);
    return 0;
}
