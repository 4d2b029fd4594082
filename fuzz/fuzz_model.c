/* fuzz_model: the model YAML parser (src/model.c, src/model_yaml.c) on
 * arbitrary text. A text that parses must dump to a text that parses again
 * and dumps the same (the dump is a fixed point), however odd its strings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    up_model_t *m = NULL, *again = NULL;
    if (up_model_parse((const char *)data, size, "fuzz", &m, err, sizeof err) != 0)
        return 0;
    char *first = NULL, *second = NULL;
    if (up_model_dump(m, &first) == 0) {
        if (up_model_parse(first, strlen(first), "dump", &again, err, sizeof err) != 0)
            abort();   /* the dump of a valid model must read back */
        if (up_model_dump(again, &second) == 0 && strcmp(first, second) != 0)
            abort();
    }
    free(first);
    free(second);
    up_model_free(again);
    up_model_free(m);
    return 0;
}
