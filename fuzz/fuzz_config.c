/* fuzz_config: the server's config file parser (src/server_config.c) on
 * arbitrary bytes, read through a memory stream. Whatever it accepts must
 * leave every setting in its documented range and every string
 * NUL-terminated within its field; whatever it refuses must say why, with
 * the file's name and a line. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;   /* fmemopen refuses an empty buffer */
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    up_server_cfg_t c;
    up_server_cfg_default(&c, "/nonexistent");
    char err[512] = "";
    int rc = up_server_cfg_parse(&c, f, "server.yaml", err, sizeof err);
    fclose(f);
    if (rc < 0) {
        if (strncmp(err, "server.yaml:", 12) != 0)
            abort();   /* a refusal names the file and line */
        return 0;
    }
    if (c.log_level < 0 || c.log_level > 3 || c.queue_events < 100 || c.queue_events > 100000000 ||
        c.timeout_s < 1 || c.timeout_s > 86400 || c.request_timeout_s < 1 || c.request_timeout_s > 86400 ||
        c.checkpoint_s < 1 || c.checkpoint_s > 86400 || c.alerts_every_s < 0 || c.alerts_every_s > 604800 ||
        c.clickhouse_refresh_s < 0 || c.clickhouse_refresh_s > 86400 || c.connections_per_ip > 1000 ||
        c.body_memory_mb < 48 || c.body_memory_mb > 65536)
        abort();   /* an accepted value out of its range */
    if (!memchr(c.data, 0, sizeof c.data) || !memchr(c.listen, 0, sizeof c.listen) ||
        !memchr(c.vendor_name, 0, sizeof c.vendor_name) || !memchr(c.vendor_logo, 0, sizeof c.vendor_logo))
        abort();
    return 0;
}
