/* fuzz_rules: the alert condition language (src/rules.c) on arbitrary text:
 * compile it against the real variable names and, when it compiles,
 * evaluate it with every variable null, then with every variable 1. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metric.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static up_val_t all_null(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    up_val_t v = {UP_VAL_NULL, 0, 0};
    return v;
}

static up_val_t all_one(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    up_val_t v = {UP_VAL_NUM, 1, 0};
    return v;
}

static void ignore(void *ctx, const char *name)
{
    (void)ctx;
    if (!*name)
        abort();   /* a name is never empty */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    up_cond_t *c = NULL;
    char err[256];
    if (up_cond_compile(text, up_metric_var_known, &c, err, sizeof err) == 0) {
        up_val_t a = up_cond_eval(c, all_null, NULL), b = up_cond_eval(c, all_one, NULL);
        if (a.kind > UP_VAL_BOOL || b.kind > UP_VAL_BOOL)
            abort();
        up_cond_names(c, ignore, NULL);
        up_cond_free(c);
    } else if (!err[0] || strncmp(err, "column ", 7) != 0) {
        if (strcmp(err, "out of memory"))
            abort();   /* every error says where */
    }
    free(text);
    return 0;
}
