/* model_builtin: the alert rules every model has unless it disables them
 * (docs/alerts.md, "Built-in rules"). Each is a row here — name, severity,
 * one line for people — and a condition in the rule language written from
 * the model's alert_settings, so a built-in explains itself like a rule of
 * the model's own. A model rule of the same name replaces or disables it. */
#ifndef UP_MODEL_BUILTIN_H
#define UP_MODEL_BUILTIN_H

#include <stddef.h>

#include "model.h"

/* The built-in alert rules: on unless the model disables them, replaced by
 * a model rule of the same name; their conditions are written from
 * alert_settings (docs/alerts.md). */
enum { UP_BUILTIN_N = 10 };
typedef struct {
    const char *name;
    int severity;            /* UP_SEV_* */
    const char *what;        /* one line for people */
} up_model_builtin_t;
extern const up_model_builtin_t up_model_builtins[UP_BUILTIN_N];
/* The index of the built-in rule name, or -1. */
int up_model_builtin(const char *name);
/* Writes built-in i's condition with the thresholds of a into out. */
void up_model_builtin_when(int i, const up_alert_settings_t *a, char *out, size_t len);

#endif
