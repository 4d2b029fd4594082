/* demo: a deterministic generator of a realistic B2B SaaS data set and its
 * adoption model. Invariant: the same options give the same bytes, on any
 * machine (own PRNG, no floating point formatting that depends on locale). */
#ifndef UP_DEMO_H
#define UP_DEMO_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int accounts;          /* default 60 */
    int days;              /* default 180: the data ends on end_day */
    uint64_t seed;         /* default 1 */
    int64_t events;        /* target event count; 0 = whatever accounts/days give */
    int32_t end_day;       /* last day of data (days since epoch); default 2026-11-20
                            * (`uptake demo`'s default is yesterday, UTC) */
    int progress;          /* print progress to stderr when non-zero */
} up_demo_opts_t;

void up_demo_defaults(up_demo_opts_t *o);

/* Writes into directory dir (created with its missing parents): model.yaml, accounts.csv,
 * users.csv, events.csv, surveys.csv, outcomes.csv. Returns 0, or a negative UP_E* code
 * with a message in err. */
int up_demo_write(const char *dir, const up_demo_opts_t *o, char *err, size_t errlen);

/* The demo adoption model as YAML text (static storage); `uptake init`
 * installs it when no --model is given. */
const char *up_demo_model_yaml(void);

#endif
