/* model_builtin: the built-in alert rules (see the header). */
#include "model_builtin.h"

#include "fmt.h"

#include <stdio.h>
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
    {"renewal_at_risk", UP_SEV_CRITICAL, "renewal soon at low adoption"},
};

int up_model_builtin(const char *name)
{
    for (int i = 0; i < UP_BUILTIN_N; i++)
        if (!strcmp(up_model_builtins[i].name, name))
            return i;
    return -1;
}

void up_model_builtin_when(int i, const up_alert_settings_t *a, char *out, size_t len)
{
    char x[32];
    switch (i) {
    case 0: up_fmt_double(x, sizeof x, a->usage_drop_wau_trend); snprintf(out, len, "wau_trend < %s", x); break;
    case 1:
        up_fmt_double(x, sizeof x, a->low_access_breadth);
        snprintf(out, len, "breadth < %s and days_into_contract > %d", x, a->low_access_days);
        break;
    case 2:
        up_fmt_double(x, sizeof x, a->avoidance_breadth);
        snprintf(out, len, "breadth >= %s and core_unused_28d > 0", x);
        break;
    case 3: snprintf(out, len, "champion_quiet"); break;
    case 4: up_fmt_double(x, sizeof x, a->seats_removed_share); snprintf(out, len, "seats_removed_1d >= %s", x); break;
    case 5:
        snprintf(out, len, "milestone_overdue_days >= %d or (open_milestones > 0 and days_since_milestone_done >= %d)",
                 a->milestone_overdue_days, a->milestone_idle_days);
        break;
    case 6: snprintf(out, len, "not has_key_action and days_into_contract > %d", a->no_first_value_days); break;
    case 7: snprintf(out, len, "friction_flag"); break;
    case 8: up_fmt_double(x, sizeof x, -a->health_drop_points); snprintf(out, len, "health_change <= %s", x); break;
    case 9:
        snprintf(out, len, "days_to_renewal >= 0 and days_to_renewal <= %d and level_low", a->renewal_days);
        break;
    default: out[0] = '\0';
    }
}
