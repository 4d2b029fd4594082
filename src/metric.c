/* metric: the catalog's table and its look-ups (see the header). */
#include "metric.h"

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

int up_metric_find(const char *name, unsigned uses)
{
    for (int i = 0; i < UP_M_N; i++)
        if ((up_metric_info[i].uses & uses) == uses && !strcmp(up_metric_info[i].name, name))
            return i;
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
