/* report_settings: `report settings` (GET /api/v1/settings): the metric
 * catalog (name, kind, uses, meaning), the health weights, the level
 * thresholds and the alert settings of the store's model — what the
 * dashboard judges with. Table or JSON. */
#ifndef UP_REPORT_SETTINGS_H
#define UP_REPORT_SETTINGS_H

#include <stdio.h>

#include "fmt.h"
#include "model.h"

/* Returns 0 or -UP_ENOMEM. */
int up_report_settings(FILE *out, const up_model_t *m, up_format_t format);

#endif
