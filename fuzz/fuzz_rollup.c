/* fuzz_rollup: the snapshot loader (up_rollup_load in src/rollup.c) on
 * arbitrary bytes. The harness sets the model hash and recomputes the
 * section checksums the input's trailer describes, so that mutated inputs
 * reach the bounds checks behind the checksums instead of stopping at them;
 * a snapshot that loads is then read the way reports read it, and every index
 * must be in range. Built with libFuzzer by `make fuzz`; `make test` replays
 * the corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"
#include "rollup.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char MODEL[] = "features:\n  - name: a\n    core: true\n    events: [a]\n"
                            "  - name: b\n    events: [b]\n    advanced_events: [b2]\n";
#define TRAILER 72
#define HEAD 56

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* The trailer's sections, their CRCs recomputed when its offsets are in
 * order, and the record sizes of this build (else the file is another
 * format and stops there). */
static void fix_checksums(uint8_t *b, size_t size, uint64_t hash)
{
    memcpy(b + 8, &hash, 8);
    uint8_t *t = b + size - TRAILER;
    uint64_t head = rd64(t), mid = rd64(t + 24);
    if (head >= HEAD && head <= mid && mid <= size - TRAILER) {
        put32(t + 48, up_crc32c(0, b, head));
        put32(t + 52, up_crc32c(0, b + head, mid - head));
        put32(t + 56, up_crc32c(0, b + mid, size - TRAILER - mid));
    }
    uint16_t sizes[2] = {sizeof(up_pair_t), sizeof(up_pf_t)};
    memcpy(t + 60, sizes, 4);
    put32(t + 68, up_crc32c(0, t, 68));
}

/* What reports do with a loaded snapshot: every index must be in range. */
static void use(up_rollup_t *r, const up_model_t *m)
{
    for (uint32_t i = 0; i < r->n_pairs; i++) {
        const up_pair_t *p = &r->pairs[i];
        if (p->account >= r->dict[UP_KIND_ACCOUNT].n || p->user >= r->dict[UP_KIND_USER].n)
            abort();
        up_days_count(&p->active, -100000, 100000);
        up_rollup_events_between(p, -100000, 100000);
        for (uint32_t j = 0; j < p->n_pf; j++) {
            if (p->pf[j].feature >= m->n_features)
                abort();
            up_days_count(&p->pf[j].used, -100000, 100000);
            up_days_count(&p->pf[j].advanced, -100000, 100000);
        }
    }
    int added;
    if (r->n_pairs)
        up_rollup_pair(r, r->pairs[0].account, r->pairs[0].user, &added);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static up_model_t *model;
    char err[256], why[256], path[64];
    if (!model && up_model_parse(MODEL, strlen(MODEL), "fuzz", &model, err, sizeof err) < 0)
        abort();
    uint64_t hash = up_hash64(MODEL, strlen(MODEL), 0);
    uint8_t *b = malloc(size + 1);
    int fd = memfd_create("rollup", 0);
    if (b && fd >= 0) {
        memcpy(b, data, size);
        if (size >= HEAD + TRAILER)
            fix_checksums(b, size, hash);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (write(fd, b, size) == (ssize_t)size) {
            up_rollup_t r;
            uint64_t off;
            up_rollup_init(&r, model, INT64_MAX);
            if (up_rollup_load(&r, path, hash, &off, why, sizeof why) == 0)
                use(&r, model);
            up_rollup_free(&r);
        }
    }
    if (fd >= 0)
        close(fd);
    free(b);
    return 0;
}
