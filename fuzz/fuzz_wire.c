/* fuzz_wire: the HTTP request decoder (src/wire.c) on arbitrary bytes.
 * Input: byte 0 picks the path, byte 1 the method and headers, then a query
 * string up to the first NUL byte, then the body. Built with libFuzzer by
 * `make fuzz`; `make test` replays the corpus through fuzz/replay.c. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {"/v1/batch", "/v1/track", "/v1/identify", "/v1/group", "/v1/page",
                                        "/v1/alias", "/batch/", "/capture/", "/i/v0/e/", "/e/",
                                        "/i/v1/analytics/events", "/track", "/engage", "/groups", "/import",
                                        "/nowhere"};
    if (size < 2)
        return 0;
    const char *path = paths[data[0] % (sizeof paths / sizeof paths[0])];
    uint8_t flags = data[1];
    data += 2;
    size -= 2;
    const uint8_t *nul = memchr(data, 0, size);
    size_t qlen = nul ? (size_t)(nul - data) : 0;
    char *query = malloc(qlen + 1);
    if (!query)
        return 0;
    memcpy(query, data, qlen);
    query[qlen] = '\0';
    const uint8_t *body = nul ? nul + 1 : data;
    size_t blen = nul ? size - qlen - 1 : size;
    up_wire_req_t req = {
        .method = flags & 1 ? "GET" : "POST",
        .path = path,
        .query = qlen ? query : NULL,
        .content_encoding = flags & 2 ? "gzip" : NULL,
        .authorization = flags & 4 ? "Basic dXB3X2tleTo=" : flags & 8 ? "Bearer upw_key" : NULL,
        .body = body,
        .body_len = blen,
        .received_ms = 1795331399839,
        .group_type = flags & 16 ? "organization" : NULL,
    };
    up_wire_batch_t b;
    up_wire_decode(&req, &b);
    const char *ctype;
    up_wire_response(&b, b.status, &ctype);
    for (size_t i = 0; i < b.n_msgs; i++)
        if (b.msgs[i].user_id && !b.msgs[i].user_id[0])
            abort();   /* an empty user id must never pass as one */
    up_wire_batch_free(&b);
    free(query);
    return 0;
}
