/* testutil: the includes every cmocka test needs, in the order cmocka wants,
 * and a temporary directory for tests that write files (fixture.h has the
 * store fixtures). */
#ifndef UP_TESTUTIL_H
#define UP_TESTUTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

/* Makes a fresh /tmp/uptake-test-<name>-XXXXXX into dir (64 bytes or more);
 * 0, or -1 when mkdtemp fails. */
static inline int fx_mkdtemp(char *dir, size_t n, const char *name)
{
    snprintf(dir, n, "/tmp/uptake-test-%s-XXXXXX", name);
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and all below it: 0, or -1. */
static inline int fx_rmdir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}
#endif
