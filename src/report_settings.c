/* report_settings: the catalog and the model's thresholds (see the header). */
#include "report_settings.h"

#include "metric.h"

#include <string.h>

static const char *const KINDS[] = {"count", "days", "ratio", "score", "amount", "bool", "level", "status"};
static const char *const USES[] = {"column", "alert_variable", "target", "signal"};

static void json_metrics(up_buf_t *b)
{
    up_buf_puts(b, "{\"metrics\":[");
    for (int i = 0; i < UP_M_N; i++) {
        const up_metric_info_t *mi = &up_metric_info[i];
        up_buf_printf(b, "%s\n{\"name\":\"%s\",\"kind\":\"%s\",\"uses\":[", i ? "," : "", mi->name, KINDS[mi->kind]);
        for (int u = 0, n = 0; u < 4; u++)
            if (mi->uses & (1u << u))
                up_buf_printf(b, "%s\"%s\"", n++ ? "," : "", USES[u]);
        up_buf_puts(b, "],\"meaning\":");
        up_fmt_json_str(b, mi->meaning);
        up_buf_puts(b, "}");
    }
    up_buf_puts(b, "\n]");
}

/* name: value pairs of the health weights, the level thresholds and the
 * alert settings, with the separators of JSON (json) or of a list. */
static void thresholds(up_buf_t *b, const up_model_t *m, int json)
{
    const up_health_weights_t *w = &m->settings.weights;
    const double weights[UP_H_N] = {
#define W_(ID, name, metric, weight) w->name,
        UP_HEALTH(W_)
#undef W_
    };
    char t[40];
    up_buf_puts(b, json ? ",\"health_weights\":{" : "\nhealth weights\n");
    for (int h = 0; h < UP_H_N; h++) {
        up_fmt_double(t, sizeof t, weights[h]);
        up_buf_printf(b, json ? "%s\"%s\":%s" : "%s  %-28s %s\n", json && h ? "," : "", up_health_names[h], t);
    }
    up_fmt_double(t, sizeof t, m->settings.level_breadth_min);
    up_buf_printf(b, json ? "},\"level_breadth_min\":%s" : "\nlevels\n  %-28s %s\n", json ? t : "level_breadth_min", t);
    up_fmt_double(t, sizeof t, m->settings.level_depth_min);
    up_buf_printf(b, json ? ",\"level_depth_min\":%s" : "  %-28s %s\n", json ? t : "level_depth_min", t);
    up_buf_puts(b, json ? ",\"alert_settings\":{" : "\nalert settings\n");
    for (int i = 0; i < UP_ASET_N; i++) {
        double v = up_model_alert_setting(&m->alert_settings, i);
        if (up_alert_setting_info[i].is_int)
            snprintf(t, sizeof t, "%d", (int)v);
        else
            up_fmt_double(t, sizeof t, v);
        up_buf_printf(b, json ? "%s\"%s\":%s" : "%s  %-28s %s\n", json && i ? "," : "", up_alert_setting_info[i].name, t);
    }
    up_buf_puts(b, json ? "}}\n" : "");
}

int up_report_settings(FILE *out, const up_model_t *m, up_format_t format)
{
    up_buf_t b = {0};
    if (format == UP_FMT_JSON)
        json_metrics(&b);
    else {
        up_buf_printf(&b, "%-28s %-7s %-36s %s\n", "metric", "kind", "uses", "meaning");
        for (int i = 0; i < UP_M_N; i++) {
            const up_metric_info_t *mi = &up_metric_info[i];
            char uses[64] = "";
            for (int u = 0; u < 4; u++)
                if (mi->uses & (1u << u))
                    snprintf(uses + strlen(uses), sizeof uses - strlen(uses), "%s%s", uses[0] ? "," : "", USES[u]);
            up_buf_printf(&b, "%-28s %-7s %-36s %s\n", mi->name, KINDS[mi->kind], uses, mi->meaning);
        }
    }
    thresholds(&b, m, format == UP_FMT_JSON);
    int rc = b.data ? 0 : -UP_ENOMEM;
    if (rc == 0)
        fwrite(b.data, 1, b.len, out);
    up_buf_free(&b);
    return rc;
}
