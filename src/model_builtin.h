/* model_builtin: the alert rules every model has unless it disables them
 * (docs/alerts.md, "Built-in rules"). Each is a row here — name, severity,
 * one line for people — and a condition in the rule language written from
 * the model's alert_settings (up_model_builtin_when, model.h), so a built-in
 * explains itself like a rule of the model's own. A model rule of the same
 * name replaces or disables it. Depends on nothing: the model validates rule
 * names against this table. */
#ifndef UP_MODEL_BUILTIN_H
#define UP_MODEL_BUILTIN_H

#include <stddef.h>

/* Severities of alert rules. */
enum { UP_SEV_LOW, UP_SEV_MEDIUM, UP_SEV_HIGH, UP_SEV_CRITICAL, UP_SEVERITIES };
extern const char *const up_severity_names[UP_SEVERITIES];

/* The built-in rules. */
enum { UP_BUILTIN_N = 10 };
typedef struct {
    const char *name;
    int severity;            /* UP_SEV_* */
    const char *what;        /* one line for people */
} up_model_builtin_t;
extern const up_model_builtin_t up_model_builtins[UP_BUILTIN_N];
/* The index of the built-in rule name, or -1. */
int up_model_builtin(const char *name);

#endif
