/* report_signals: the signal metrics per account (see the header), as one
 * table: account_id, then each catalog metric used as a signal. */
#include "report_signals.h"

#include "fmt.h"
#include "metric.h"
#include "table.h"
#include "timeparse.h"

#include <math.h>
#include <string.h>

static int selected(const up_account_metrics_t *r, const up_report_opts_t *o)
{
    return (!o->account || !strcmp(r->account->account_id, o->account)) &&
           (!o->segment || (r->account->segment && !strcmp(r->account->segment, o->segment)));
}

/* A metric into the last row of t, by its kind. */
static void put(up_table_t *t, size_t col, const up_account_metrics_t *row, int id)
{
    double v = up_engine_metric(row, id);
    if (isnan(v))
        return;   /* null */
    switch (up_metric_info[id].kind) {
    case UP_MK_BOOL: up_table_bool(t, col, v != 0); break;
    case UP_MK_COUNT:
    case UP_MK_DAYS: up_table_int(t, col, (int64_t)v); break;
    default: up_table_num(t, col, v); break;
    }
}

int up_report_signals(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o)
{
    up_col_t cols[UP_M_N + 1];
    int ids[UP_M_N + 1];
    size_t n = 0;
    cols[n++] = (up_col_t){"account_id", UP_COL_TEXT, "ACCOUNT", 10, UP_SHOW_PLAIN, UP_COL_LEFT, NULL, NULL};
    for (int m = 0; m < UP_M_N; m++)
        if (up_metric_info[m].uses & UP_MU_SIGNAL) {
            up_metric_kind_t k = up_metric_info[m].kind;
            int w = (int)strlen(up_metric_info[m].name);
            ids[n] = m;
            cols[n++] = (up_col_t){up_metric_info[m].name,
                                   k == UP_MK_BOOL ? UP_COL_BOOL : k == UP_MK_COUNT || k == UP_MK_DAYS ? UP_COL_INT
                                                                                                     : UP_COL_NUM,
                                   up_metric_info[m].name, w, k == UP_MK_RATIO || k == UP_MK_SCORE ? UP_SHOW_FIX1
                                                                                                 : UP_SHOW_PLAIN,
                                   0, "  ", NULL};
        }
    up_table_t t;
    up_table_init(&t, cols, n);
    t.json_key = "accounts";
    up_time_fmt(t.json_as_of, p->T);
    t.header = 1;
    if (!o->account)   /* one account: nothing is written unless it exists */
        up_table_stream(&t, out, o->format);
    uint32_t shown = 0;
    for (uint32_t i = 0; i < p->n_rows; i++) {
        const up_account_metrics_t *row = &p->rows[i];
        if (!selected(row, o) || up_table_row(&t) < 0)
            continue;
        shown++;
        up_table_text(&t, 0, row->account->account_id);
        for (size_t c = 1; c < n; c++)
            put(&t, c, row, ids[c]);
    }
    int rc = o->account && !shown ? -UP_ENOTFOUND : up_table_end(&t, out, o->format);
    up_table_free(&t);
    return rc;
}
