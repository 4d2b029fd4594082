/* engine_stages: where each user stands per feature (spec/metrics.md "User ×
 * feature adoption stage"): none → aware → trial → regular → mastery, and the
 * funnel per feature. Invariant: a pair × feature has a stage other than none
 * only when it has a use or exposure event of the feature at or before T. */
#ifndef UP_ENGINE_STAGES_H
#define UP_ENGINE_STAGES_H

#include <stdint.h>

#include "rollup.h"
#include "model.h"

typedef enum {
    UP_STAGE_NONE, UP_STAGE_AWARE, UP_STAGE_TRIAL, UP_STAGE_REGULAR, UP_STAGE_MASTERY, UP_STAGES
} up_stage_t;
extern const char *const up_stage_names[UP_STAGES];

typedef struct {
    uint32_t pair;           /* rollup pair id */
    uint32_t feature;        /* model feature index */
    up_stage_t stage;        /* never UP_STAGE_NONE */
    int days_used_28d;
} up_stage_row_t;

typedef struct {
    up_stage_row_t *rows;    /* sorted by account_id, user_id (bytes), then feature */
    uint32_t n_rows;
    /* funnel[f][stage]: pairs per stage; none counts the known pairs (an
     * event by T, or a users-table row created by T or undated) without a
     * stage for f */
    int64_t (*funnel)[UP_STAGES];
    uint32_t n_features;
} up_stages_t;

/* Computes every stage as of T. account, when not NULL, keeps only that
 * account's rows and funnel; listed, when not NULL, only the accounts whose
 * rollup id a has listed[a] set (the top decile is always taken across all
 * accounts, as metrics.md says). Returns 0 or -UP_ENOMEM. */
int up_engine_stages(const up_rollup_t *r, const up_model_t *m, int64_t T, const char *account,
                     const uint8_t *listed, up_stages_t *out);
/* The same funnel without the rows (n_rows 0): what `report stages` shows. */
int up_engine_stage_funnel(const up_rollup_t *r, const up_model_t *m, int64_t T, const char *account,
                           const uint8_t *listed, up_stages_t *out);
void up_stages_free(up_stages_t *s);

#endif
