/* fuzz_reader: the CSV / JSON-lines reader (src/reader.c) on arbitrary
 * bytes, read from an in-memory file (memfd) so that the format is sniffed
 * as for a file without an extension ('{' first: JSON lines, else CSV).
 * Checks the reader's contract: every value handed out is well-formed UTF-8
 * without NUL bytes, of the length it claims, and line numbers only grow. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reader.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fields[] = {"ts", "user_id", "account_id", "event", "message_id", "name", "arr",
                                     "contract_start"};

static void check_record(const up_record_t *rec, long *last_line)
{
    if (rec->line < *last_line)
        abort();
    *last_line = rec->line;
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        if (!rec->val[i])
            continue;
        if (up_utf8_check(rec->val[i], rec->len[i]) != rec->len[i] || rec->val[i][rec->len[i]] != '\0')
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_reader", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    up_mapping_t map = {0};
    up_mapping_parse(&map, "arr=arr:money,contract_start=contract_start:date:%d/%m/%Y", err, sizeof err);
    up_reader_t *r;
    if (up_reader_open(&r, path, fields, sizeof fields / sizeof *fields, &map, err, sizeof err) == 0) {
        if (up_reader_require(r, "ts user_id event", err, sizeof err) == 0) {
            up_record_t rec;
            long last_line = 0;
            int rc;
            for (int n = 0; n < 100000 && (rc = up_reader_next(r, &rec, err, sizeof err)) != 0; n++) {
                if (rc == -UP_EIO)
                    break;
                if (rc == 1)
                    check_record(&rec, &last_line);
            }
        }
        up_reader_close(r);
    }
    up_mapping_free(&map);
    close(fd);
    return 0;
}
