/* nudges: in-app messages for one user, for the product's front end
 * (GET /v1/nudges?user_id=…): a tip for a core feature the user has been
 * trying (stage trial) for the model's nudges.trial_days or more, and, along
 * the model's nudges.expansion sequence, a suggestion of the next feature
 * once the user uses the one before it regularly (stage regular or mastery)
 * and has not started the next (stage none or aware). Impressions and
 * clicks come back as ordinary events (docs/alerts.md#nudges). */
#ifndef UP_NUDGES_H
#define UP_NUDGES_H

#include <stdint.h>

#include "engine.h"
#include "rollup.h"
#include "model.h"
#include "util.h"

/* Writes {"user_id":…,"as_of":…,"nudges":[…]} for user (in account, or in
 * every account the user is in when account is NULL) as of T, leaving out
 * the accounts that are not customers at T by the entity tables e (NULL:
 * every account). Returns 0 or -UP_ENOMEM. */
int up_nudges_json(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e, int64_t T, const char *user,
                   const char *account,
                   up_buf_t *out);

#endif
