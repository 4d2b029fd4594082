/* engine_people: who is engaged in an account (issue "people"): champions and
 * sponsors from roles, engaged stakeholders (active in window(14)), a
 * single-threaded flag, each champion's activity trend (active days in the
 * last 14 against the 28 before) and new stakeholders (first seen in the last
 * 14 days). Invariant: every figure is read from the rollup's pairs. */
#ifndef UP_ENGINE_PEOPLE_H
#define UP_ENGINE_PEOPLE_H

#include <stdint.h>

#include "rollup.h"

typedef struct {
    uint32_t pair;
    int champion, sponsor;
    int days_14;            /* active days in D0-13 .. D0 */
    int days_prev_28;       /* active days in D0-41 .. D0-14 */
    double trend;           /* (days_14/14 - days_prev_28/28) / (days_prev_28/28); NAN when no earlier activity */
    int64_t last_active;    /* last event (any) at or before T; UP_TS_NONE when none */
} up_person_t;

typedef struct {
    up_person_t *people;    /* champions and sponsors, by user id */
    uint32_t n_people;
    int64_t engaged;        /* users active in window(14) */
    int64_t new_stakeholders;   /* users whose first event is in window(14) */
    int single_threaded;    /* engaged <= 1 */
} up_people_t;

/* Computes the people view of one account (its dictionary id) as of T. */
int up_engine_people(const up_rollup_t *r, uint32_t account, int64_t T, up_people_t *out);
void up_people_free(up_people_t *p);

/* For every account (by dictionary id, out has one entry per account id):
 * 1 when one of its champions is quiet as of T — inactive in window(14), or
 * active on fewer days per day in the last 14 than share × their pace in the
 * 28 before — 0 when it has champions and none is quiet, -1 when it has
 * none. One pass over the pairs (alerts need it for every account). */
int up_engine_people_champions_quiet(const up_rollup_t *r, int64_t T, double share, int8_t *out);

#endif
