/* report_signals: the signal metrics per account (see the header). */
#include "report_signals.h"

#include "fmt.h"
#include "metric.h"
#include "timeparse.h"

#include <math.h>
#include <string.h>

void up_report_signals_json_value(up_buf_t *b, const up_account_metrics_t *row, int id)
{
    double v = up_engine_metric(row, id);
    up_metric_kind_t k = up_metric_info[id].kind;
    if (isnan(v))
        up_buf_puts(b, "null");
    else if (k == UP_MK_BOOL)
        up_buf_puts(b, v != 0 ? "true" : "false");
    else if (k == UP_MK_LEVEL)
        up_fmt_json_str(b, up_level_names[(int)v]);
    else if (k == UP_MK_STATUS)
        up_fmt_json_str(b, up_status_names[(int)v]);
    else if (k == UP_MK_COUNT || k == UP_MK_DAYS)
        up_buf_printf(b, "%lld", (long long)v);
    else
        up_fmt_json_num(b, v);
}

static int selected(const up_account_metrics_t *r, const up_report_opts_t *o)
{
    return (!o->account || !strcmp(r->account->account_id, o->account)) &&
           (!o->segment || (r->account->segment && !strcmp(r->account->segment, o->segment)));
}

/* One cell as text: empty (CSV) or "–" (table) when null. */
static void cell_text(char *t, size_t n, const up_account_metrics_t *row, int id, const char *null)
{
    up_buf_t b = {0};
    up_report_signals_json_value(&b, row, id);
    snprintf(t, n, "%s", !b.data ? "" : strcmp(b.data, "null") ? b.data : null);
    up_buf_free(&b);
}

int up_report_signals(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o)
{
    up_buf_t b = {0};
    char t[64];
    uint32_t n = 0;
    if (o->format == UP_FMT_JSON) {
        up_time_fmt(t, p->T);
        up_buf_printf(&b, "{\"as_of\":\"%s\",\"accounts\":[", t);
    } else {
        up_buf_puts(&b, o->format == UP_FMT_CSV ? "account_id" : "account");
        for (int m = 0; m < UP_M_N; m++)
            if (up_metric_info[m].uses & UP_MU_SIGNAL)
                up_buf_printf(&b, "%s%s", o->format == UP_FMT_CSV ? "," : "  ", up_metric_info[m].name);
        up_buf_puts(&b, "\n");
    }
    for (uint32_t i = 0; i < p->n_rows; i++) {
        const up_account_metrics_t *row = &p->rows[i];
        if (!selected(row, o))
            continue;
        if (o->format == UP_FMT_JSON) {
            up_buf_puts(&b, n ? ",\n{\"account_id\":" : "\n{\"account_id\":");
            up_fmt_json_str(&b, row->account->account_id);
        } else
            up_buf_puts(&b, row->account->account_id);
        for (int m = 0; m < UP_M_N; m++) {
            if (!(up_metric_info[m].uses & UP_MU_SIGNAL))
                continue;
            if (o->format == UP_FMT_JSON) {
                up_buf_printf(&b, ",\"%s\":", up_metric_info[m].name);
                up_report_signals_json_value(&b, row, m);
            } else {
                cell_text(t, sizeof t, row, m, o->format == UP_FMT_CSV ? "" : "–");
                up_buf_printf(&b, "%s%*s", o->format == UP_FMT_CSV ? "," : "  ",
                              o->format == UP_FMT_CSV ? 0 : -(int)strlen(up_metric_info[m].name), t);
            }
        }
        up_buf_puts(&b, o->format == UP_FMT_JSON ? "}" : "\n");
        n++;
    }
    if (o->format == UP_FMT_JSON)
        up_buf_puts(&b, "\n]}\n");
    int rc = !b.data ? -UP_ENOMEM : o->account && !n ? -UP_ENOTFOUND : 0;
    if (rc == 0)
        fwrite(b.data, 1, b.len, out);
    up_buf_free(&b);
    return rc;
}
