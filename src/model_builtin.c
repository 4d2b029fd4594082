/* model_builtin: the built-in alert rules (see the header). */
#include "model_builtin.h"

#include <string.h>

const up_model_builtin_t up_model_builtins[UP_BUILTIN_N] = {
    {"usage_drop", UP_SEV_HIGH, "weekly active users fell"},
    {"low_platform_access", UP_SEV_MEDIUM, "few licensed seats in use, well into the contract"},
    {"feature_avoidance", UP_SEV_LOW, "broad use, but a core feature unused for 28 days"},
    {"champion_quiet", UP_SEV_HIGH, "a champion went quiet"},
    {"seats_removed", UP_SEV_HIGH, "licensed seats removed overnight"},
    {"onboarding_stalled", UP_SEV_MEDIUM, "onboarding milestones overdue or idle"},
    {"no_first_value", UP_SEV_HIGH, "no key action yet, well into the contract"},
    {"friction_loop", UP_SEV_MEDIUM, "many tickets and errors while activity is high"},
    {"health_drop", UP_SEV_HIGH, "health score dropped"},
    {"renewal_at_risk", UP_SEV_CRITICAL, "renewal soon and its health band churns often"},
};

int up_model_builtin(const char *name)
{
    for (int i = 0; i < UP_BUILTIN_N; i++)
        if (!strcmp(up_model_builtins[i].name, name))
            return i;
    return -1;
}

const char *const up_severity_names[UP_SEVERITIES] = {"low", "medium", "high", "critical"};
