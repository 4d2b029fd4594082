/* metric: the catalog's table and its look-ups (see the header). */
#include "metric.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

const up_metric_info_t up_metric_info[UP_M_N] = {
#define ROW_(ID, name, kind, uses, meaning) {#name, UP_MK_##kind, uses, meaning},
    UP_METRICS(ROW_)
#undef ROW_
};

const char *const up_health_names[UP_H_N] = {
#define NAME_(ID, name, metric, weight) #name,
    UP_HEALTH(NAME_)
#undef NAME_
};

const int up_health_metric[UP_H_N] = {
#define METRIC_(ID, name, metric, weight) metric,
    UP_HEALTH(METRIC_)
#undef METRIC_
};

const double up_health_default_weight[UP_H_N] = {
#define WEIGHT_(ID, name, metric, weight) weight,
    UP_HEALTH(WEIGHT_)
#undef WEIGHT_
};

/* The catalog's names hashed (FNV-1a) into a table of slots, built once:
 * the rules look a variable up for every account. */
#define NAME_SLOTS 512
_Static_assert(UP_M_N * 2 < NAME_SLOTS, "the name table stays at most half full");
static int16_t name_slot[NAME_SLOTS];   /* metric id + 1; 0: empty */
static pthread_once_t name_once = PTHREAD_ONCE_INIT;

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void names_init(void)
{
    for (int i = 0; i < UP_M_N; i++) {
        uint32_t k = name_hash(up_metric_info[i].name) & (NAME_SLOTS - 1);
        while (name_slot[k])
            k = (k + 1) & (NAME_SLOTS - 1);
        name_slot[k] = (int16_t)(i + 1);
    }
}

int up_metric_find(const char *name, unsigned uses)
{
    pthread_once(&name_once, names_init);
    /* the first id of that name that has the uses: the catalog's names are
     * distinct, but a probe goes on past a name without them all the same */
    for (uint32_t k = name_hash(name) & (NAME_SLOTS - 1); name_slot[k]; k = (k + 1) & (NAME_SLOTS - 1)) {
        int i = name_slot[k] - 1;
        if ((up_metric_info[i].uses & uses) == uses && !strcmp(up_metric_info[i].name, name))
            return i;
    }
    return -1;
}

int up_metric_var_known(const char *name)
{
    return up_metric_find(name, UP_MU_VAR) >= 0;
}

char *up_metric_names_join(unsigned uses, const char *sep, char *out, size_t outlen)
{
    size_t n = 0;
    if (outlen)
        out[0] = '\0';
    for (int i = 0; i < UP_M_N && n < outlen; i++)
        if ((up_metric_info[i].uses & uses) == uses)
            n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? sep : "", up_metric_info[i].name);
    return out;
}
