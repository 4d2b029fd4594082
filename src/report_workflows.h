/* report_workflows: `uptake report workflows` (see report_workflows.c). */
#ifndef UP_REPORT_WORKFLOWS_H
#define UP_REPORT_WORKFLOWS_H

#include <stdio.h>

#include "engine_workflow.h"
#include "report.h"

/* Writes the workflows of w (sorted here by account id) in format. */
int up_report_workflows(FILE *out, const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                        up_workflows_t *w, int64_t T, up_format_t format);

#endif
