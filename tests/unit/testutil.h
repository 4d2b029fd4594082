/* testutil: the includes every cmocka test needs, in the order cmocka wants. */
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
#endif
