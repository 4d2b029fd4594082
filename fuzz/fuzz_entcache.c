/* fuzz_entcache: the entity tables' blob (up_entcache_decode in
 * src/entcache.c) on arbitrary bytes. The harness makes the trailing
 * checksum good, so that mutated inputs reach the structural checks behind
 * it; a blob that decodes is decoded again with a window, and every string
 * of both is read to its end (the sanitizers see a read past it).
 * Built with libFuzzer by `make fuzz`; `make test` replays the corpus. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entcache.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touch(const up_entities_t *e)
{
    size_t n = 0;
    for (uint32_t i = 0; i < e->n_accounts; i++) {
        const up_account_t *a = &e->accounts[i];
        n += strlen(a->account_id);
        const char *s[] = {a->name, a->segment, a->owner, a->plan};
        for (int k = 0; k < 4; k++)
            n += s[k] ? strlen(s[k]) : 0;
        for (int t = 0; t < UP_ROWS_N; t++)
            if (a->has_rows && a->rows[t][0] > a->rows[t][1])
                abort();
    }
    for (uint32_t i = 0; i < e->n_surveys; i++)
        n += strlen(e->surveys[i].account_id);
    for (uint32_t i = 0; i < e->n_subscriptions; i++)
        n += strlen(e->subscriptions[i].account_id);
    for (uint32_t i = 0; i < e->n_outcomes; i++)
        n += strlen(e->outcomes[i].account_id) + strlen(e->outcomes[i].metric);
    for (uint32_t i = 0; i < e->n_churns; i++)
        n += strlen(e->churns[i].account_id);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size + 1);
    if (!b)
        return 0;
    memcpy(b, data, size);
    if (size >= 4) {   /* the checksum made good */
        uint32_t crc = up_crc32c(0, b, size - 4);
        memcpy(b + size - 4, &crc, 4);
    }
    up_entities_t e;
    char why[128];
    if (up_entcache_decode(b, size, INT64_MIN, INT64_MAX, UP_ENT_ALL, &e, why, sizeof why) == 0) {
        volatile size_t n = touch(&e);
        (void)n;
        up_entities_free(&e);
        if (up_entcache_decode(b, size, 1000, 5000, UP_ENT_SURVEYS, &e, why, sizeof why) == 0) {
            n = touch(&e);
            up_entities_free(&e);
        }
    }
    free(b);
    return 0;
}
