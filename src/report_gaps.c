/* report_gaps: the gap rows of engine_gaps as one table (see report_gaps.h). */
#include "report_gaps.h"

#include "engine_gaps.h"
#include "table.h"
#include "timeparse.h"

#include <math.h>
#include <stdlib.h>

enum { G_ID, G_LABEL, G_NAME, G_SEATS, G_ACTIVE, G_UNUSED, G_SEAT_SHARE, G_CORE, G_CORE_USED, G_CORE_LABEL,
       G_CORE_SHARE, G_SCORE, G_ARR, G_STAKE, G_OWNER, G_N };

static const up_col_t COLS[G_N] = {
    [G_ID] = {"account_id", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [G_LABEL] = {NULL, UP_COL_TEXT, "ACCOUNT", 24, UP_SHOW_PLAIN, UP_COL_CLIP, NULL, NULL},
    [G_NAME] = {"name", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [G_SEATS] = {"seats", UP_COL_INT, "SEATS", 6, UP_SHOW_PLAIN, 0, NULL, NULL},
    [G_ACTIVE] = {"active_users", UP_COL_INT, "ACTIVE", 6, UP_SHOW_PLAIN, 0, NULL, NULL},
    [G_UNUSED] = {"unused_seats", UP_COL_INT, "UNUSED", 7, UP_SHOW_PLAIN, 0, NULL, NULL},
    [G_SEAT_SHARE] = {"unused_seat_share", UP_COL_NUM, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [G_CORE] = {"core_features", UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [G_CORE_USED] = {"core_features_used", UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [G_CORE_LABEL] = {NULL, UP_COL_TEXT, "CORE USED", 9, UP_SHOW_PLAIN, 0, NULL, NULL},
    [G_CORE_SHARE] = {"unused_core_share", UP_COL_NUM, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [G_SCORE] = {"gap_score", UP_COL_NUM, "GAP", 6, UP_SHOW_PCT0, 0, NULL, NULL},
    [G_ARR] = {"arr", UP_COL_NUM, "ARR", 10, UP_SHOW_FIX0, 0, NULL, NULL},
    [G_STAKE] = {"arr_at_stake", UP_COL_NUM, "AT STAKE", 10, UP_SHOW_FIX0, 0, NULL, NULL},
    [G_OWNER] = {"owner", UP_COL_TEXT, "OWNER", 0, UP_SHOW_PLAIN, UP_COL_LEFT, "  ", ""},
};

static int gap_row(up_table_t *t, const up_gap_t *g)
{
    const up_account_metrics_t *r = g->row;
    const up_account_t *a = r->account;
    if (up_table_row(t) < 0)
        return -UP_ENOMEM;
    up_table_text(t, G_ID, a->account_id);
    up_table_textf(t, G_LABEL, "%s %s", a->account_id, a->name ? a->name : "");
    up_table_text(t, G_NAME, a->name);
    up_table_int(t, G_SEATS, r->seats);
    up_table_int(t, G_ACTIVE, r->active_users);
    up_table_int(t, G_UNUSED, g->unused_seats);
    up_table_num(t, G_SEAT_SHARE, g->unused_seat_share);
    up_table_int(t, G_CORE, r->core_features);
    up_table_int(t, G_CORE_USED, r->core_used);
    up_table_textf(t, G_CORE_LABEL, "%lld/%lld", (long long)r->core_used, (long long)r->core_features);
    up_table_num(t, G_CORE_SHARE, g->unused_core_share);
    up_table_num(t, G_SCORE, g->gap_score);
    up_table_num(t, G_ARR, a->arr);
    up_table_num(t, G_STAKE, g->arr_at_stake);
    up_table_text(t, G_OWNER, a->owner);
    return 0;
}

int up_report_gaps(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o, int top)
{
    up_gap_t *g;
    uint32_t n;
    int rc = up_engine_gaps(p, o->segment, top, &g, &n);
    if (rc < 0)
        return rc;
    up_table_t t;
    up_table_init(&t, COLS, G_N);
    t.json_key = "gaps";
    up_time_fmt(t.json_as_of, p->T);
    t.header = 1;
    double stake = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rc = gap_row(&t, &g[i]);
        if (!isnan(g[i].arr_at_stake))
            stake += g[i].arr_at_stake;
    }
    char day[16], title[160];
    up_date_fmt(day, p->d0);
    snprintf(title, sizeof title, "Largest adoption gaps as of %s: %u account%s, ARR at stake %.0f\n\n", day, n,
             n == 1 ? "" : "s", stake);
    t.title = title;
    t.footer = "\nUNUSED: licensed seats without an active user in 28 days. GAP: the mean of the unused\n"
               "seat share and the unused core-feature share. AT STAKE: ARR \xc3\x97 unused seat share.\n";
    if (rc == 0)
        rc = up_table_write(out, &t, o->format);
    up_table_free(&t);
    free(g);
    return rc;
}
