/* report_qbr: the QBR a CSM sends the customer (see the header). What the
 * customer cares about, in their words: people using the product against
 * seats, the features in use, workflows completed, outcomes against their
 * targets, what changed over the quarter, and a 90-day plan whose goals a
 * similar customer actually reached. No health score, no adoption level, no
 * setting or file names. Every value from the data is escaped. */
#include "report_qbr.h"

#include "report_html.h"

#include "fmt.h"
#include "timeparse.h"

#include <math.h>
#include <stdlib.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

/* on top of report_html's style: wider tiles, the quarter's arrows */
static const char STYLE[] = "<style>.tile{min-width:150px}.up{color:#067647}.down{color:#b42318}"
                            ".vendor{display:flex;align-items:center;gap:12px}.logo{max-height:48px;max-width:200px}</style>";

/* "▲ 4 since the last quarter" (or ▼, or "no change"), against then; nothing
 * when then is unknown (negative). */
static void arrow(FILE *out, int64_t now, int64_t then, const char *since)
{
    if (then < 0)
        return;
    if (now > then)
        fprintf(out, "<span class=\"up\">▲ %lld</span> %s", (long long)(now - then), since);
    else if (now < then)
        fprintf(out, "<span class=\"down\">▼ %lld</span> %s", (long long)(then - now), since);
    else
        fprintf(out, "no change %s", since);
}

/* A line chart with its axes: y from 0 to a round maximum with three ticks
 * and a title, x with the first, middle and last dates. */
static void chart(FILE *out, const up_series_t *s, const char *title, const char *y_title)
{
    const int W = 900, H = 220, L = 60, R = 10, T = 24, B = 34;
    int64_t max = 1;
    for (int i = 0; i < s->n_days; i++) {
        if (s->days[i].mau > max)
            max = s->days[i].mau;
        if (s->days[i].seats > max)
            max = s->days[i].seats;
    }
    int64_t step = 1;   /* a round maximum: 1, 2 or 5 times a power of ten */
    while (step * 10 < max)
        step *= 10;
    int64_t top = max <= step ? step : max <= 2 * step ? 2 * step : max <= 5 * step ? 5 * step : 10 * step;
    fprintf(out, "<svg viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" aria-label=\"", W, H);
    up_fmt_html(out, title);
    fprintf(out, "\"><text x=\"%d\" y=\"14\" font-size=\"12\" font-weight=\"600\">", L);
    up_fmt_html(out, title);
    fputs("</text>", out);
    for (int k = 0; k <= 2; k++) {   /* y ticks and grid */
        double y = (H - B) - (double)(H - B - T) * k / 2;
        fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>"
                     "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"#5b6475\" text-anchor=\"end\">%lld</text>",
                L, y, W - R, y, k ? "#eef1f5" : "#9aa3b2", L - 6, y + 4, (long long)(top * k / 2));
    }
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9aa3b2\"/>", L, T, L, H - B);
    fprintf(out, "<text transform=\"translate(14 %d) rotate(-90)\" font-size=\"11\" fill=\"#5b6475\" "
                 "text-anchor=\"middle\">", (H - B + T) / 2);
    up_fmt_html(out, y_title);
    fputs("</text>", out);
    for (int k = 0; k < 2; k++) {
        fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", k ? "#b54708" : "#175cd3",
                k ? " stroke-dasharray=\"5 3\"" : "");
        for (int i = 0; i < s->n_days; i++) {
            double x = L + (double)(W - L - R) * i / (s->n_days > 1 ? s->n_days - 1 : 1);
            double v = (double)(k ? s->days[i].seats : s->days[i].mau);
            fprintf(out, "%.1f,%.1f ", x, (H - B) - (double)(H - B - T) * v / (double)top);
        }
        fputs("\"/>", out);
    }
    int idx[3] = {0, s->n_days / 2, s->n_days - 1};
    const char *anchor[3] = {"start", "middle", "end"};
    for (int k = 0; k < 3; k++) {
        char d[16];
        up_date_fmt(d, s->days[idx[k]].day);
        double x = L + (double)(W - L - R) * idx[k] / (s->n_days > 1 ? s->n_days - 1 : 1);
        fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#5b6475\" text-anchor=\"%s\">%s</text>", x,
                H - B + 16, anchor[k], d);
    }
    fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#175cd3\" text-anchor=\"end\">— people active in the"
                 " past 28 days</text><text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#b54708\" text-anchor=\"end\">"
                 "- - seats</text></svg>", W - R - 70, 14, W - R, 14);
}

/* Features with a user in blocks [from, to] of the series' 12 weeks. */
static int64_t features_used(const up_account_page_t *pg, int from, int to)
{
    int64_t n = 0;
    for (uint32_t f = 0; f < pg->series.n_features && f < pg->model->n_features; f++) {
        int used = 0;
        for (int k = from; k <= to; k++)
            used |= pg->series.feature_weeks[f][k] > 0;
        n += used;
    }
    return n;
}

int up_report_qbr_logo(const char *path, char **data_uri, char *err, size_t errlen)
{
    *data_uri = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -UP_EIO;
    }
    unsigned char *raw = malloc(UP_QBR_LOGO_MAX + 1);
    size_t n = raw ? fread(raw, 1, UP_QBR_LOGO_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    const char *type = NULL;
    if (raw && n >= 8 && !memcmp(raw, "\x89PNG\r\n\x1a\n", 8))
        type = "image/png";
    else if (raw && n >= 3 && !memcmp(raw, "\xff\xd8\xff", 3))
        type = "image/jpeg";
    else if (raw && n >= 6 && (!memcmp(raw, "GIF87a", 6) || !memcmp(raw, "GIF89a", 6)))
        type = "image/gif";
    else if (raw && n >= 4 && memmem(raw, n < 1024 ? n : 1024, "<svg", 4))
        type = "image/svg+xml";
    int rc = 0;
    if (!raw)
        rc = -UP_ENOMEM, snprintf(err, errlen, "%s: out of memory", path);
    else if (bad)
        rc = -UP_EIO, snprintf(err, errlen, "%s: cannot read it", path);
    else if (n > UP_QBR_LOGO_MAX)
        rc = -UP_EINVAL, snprintf(err, errlen, "%s: larger than %d KB; a logo of a few KB prints as well", path,
                                  UP_QBR_LOGO_MAX / 1024);
    else if (!type)
        rc = -UP_EINVAL, snprintf(err, errlen, "%s: not a PNG, JPEG, GIF or SVG image", path);
    else {
        size_t cap = strlen("data:;base64,") + strlen(type) + 4 * ((n + 2) / 3) + 1;
        char *uri = malloc(cap);
        if (!uri)
            rc = -UP_ENOMEM, snprintf(err, errlen, "%s: out of memory", path);
        else {
            int k = snprintf(uri, cap, "data:%s;base64,", type);
            EVP_EncodeBlock((unsigned char *)uri + k, raw, (int)n);
            *data_uri = uri;
        }
    }
    free(raw);
    return rc;
}

int up_report_qbr_customer(FILE *out, const up_account_page_t *pg, const up_qbr_pace_t *pace, const char *vendor,
                           const char *logo)
{
    const up_account_metrics_t *row = pg->row;
    const up_account_t *acc = row->account;
    const up_model_t *m = pg->model;
    const up_series_t *s = pg->has_series ? &pg->series : NULL;
    const char *name = acc->name ? acc->name : acc->account_id;
    char today[16], d[16];
    up_date_fmt(today, pg->d0);
    char title[320];
    snprintf(title, sizeof title, "%s: quarterly review", name);
    up_report_html_head(out, title, STYLE);
    if ((vendor && *vendor) || logo) {
        fputs("<p class=\"vendor\">", out);
        if (logo) {   /* a data: URI of base64 (up_report_qbr_logo): nothing to escape */
            fputs("<img class=\"logo\" alt=\"", out);
            up_fmt_html(out, vendor && *vendor ? vendor : "logo");
            fprintf(out, "\" src=\"%s\">", logo);
        }
        if (vendor && *vendor) {
            fputs("<span class=\"muted\">", out);
            up_fmt_html(out, vendor);
            fputs("</span>", out);
        }
        fputs("</p>", out);
    }
    fputs("<h1>", out);
    up_fmt_html(out, name);
    fprintf(out, ": quarterly review</h1><p class=\"muted\">%s", today);
    if (acc->contract_start != UP_NO_DAY) {
        up_date_fmt(d, acc->contract_start);
        fprintf(out, " · working together since %s", d);
    }
    if (acc->renewal_date != UP_NO_DAY) {
        up_date_fmt(d, acc->renewal_date);
        fprintf(out, " · next renewal %s", d);
    }
    fputs("</p>", out);

    /* the quarter: people, features, workflows, each against before */
    int64_t mau_then = s && s->n_days >= 91 ? s->days[0].mau : -1;
    int64_t feat_now = s ? features_used(pg, 8, 11) : -1, feat_then = s ? features_used(pg, 0, 3) : -1;
    fputs("<section><h2>This quarter</h2><div class=\"tiles\"><div class=\"tile\">People using it<b>", out);
    fprintf(out, "%lld of %lld seats</b>", (long long)row->active_users, (long long)row->seats);
    arrow(out, row->active_users, mau_then, "since 90 days ago");
    fprintf(out, "</div><div class=\"tile\">Features in use<b>%lld of %zu</b>", (long long)(feat_now < 0 ? 0 : feat_now),
            m->n_features);
    arrow(out, feat_now, feat_then, "against 8 weeks earlier");
    fputs("</div>", out);
    if (m->n_workflows) {   /* no row: no completion in the weeks shown */
        int64_t wf = 0;
        for (size_t k = 0; pg->wf_row && k < m->n_workflows; k++)
            for (int w = UP_WF_WEEKS - 4; w < UP_WF_WEEKS; w++)
                wf += pg->wf_row->wf[k].completions[w];
        fprintf(out, "<div class=\"tile\">Workflows completed in 4 weeks<b>%lld</b></div>", (long long)wf);
    }
    fputs("</div>", out);
    if (s && s->n_days > 1)
        chart(out, s, "People using it and seats, the past 90 days", "people");
    fputs("</section>", out);

    /* features: who uses what */
    fputs("<section><h2>Features in use</h2><table><tr><th>Feature</th><th class=\"n\">People using it"
          " (past 28 days)</th><th class=\"n\">Share of active people</th></tr>", out);
    for (size_t f = 0; f < m->n_features; f++) {
        fputs("<tr><td>", out);
        up_fmt_html(out, m->features[f].name);
        fprintf(out, "</td><td class=\"n\">%lld</td><td class=\"n\">", (long long)row->feature_users[f]);
        if (isnan(row->feature_adoption[f]))
            fputs("–", out);
        else
            fprintf(out, "%.0f%%", 100 * row->feature_adoption[f]);
        fputs("</td></tr>", out);
    }
    fputs("</table></section>", out);

    /* outcomes against the customer's own targets */
    fputs("<section><h2>Results</h2>", out);
    if (pg->o_hi == pg->o_lo)
        fputs("<p class=\"muted\">No result measured yet: let us agree on one (time saved, a cost, a revenue figure)"
              " for next quarter.</p>", out);
    else {
        fputs("<table><tr><th>Result</th><th class=\"n\">Latest</th><th class=\"n\">Target</th><th></th></tr>", out);
        const up_entities_t *e = pg->entities;
        for (uint32_t i = pg->o_lo; i < pg->o_hi;) {
            uint32_t j = i;
            while (j < pg->o_hi && strcmp(e->outcomes[j].metric, e->outcomes[i].metric) == 0)
                j++;
            const up_outcome_t *last = &e->outcomes[j - 1];
            char label[128];   /* hours_saved -> hours saved */
            snprintf(label, sizeof label, "%s", last->metric);
            for (char *c = label; *c; c++)
                if (*c == '_')
                    *c = ' ';
            fputs("<tr><td>", out);
            up_fmt_html(out, label);
            fprintf(out, "</td><td class=\"n\">%.4g</td><td class=\"n\">", last->value);
            if (isnan(last->target))
                fputs("–", out);
            else
                fprintf(out, "%.4g", last->target);
            fprintf(out, "</td><td>%s</td></tr>",
                    isnan(last->target) ? ""
                    : up_engine_outcome_on_track(&e->outcomes[i], last, pg->T) ? "on track" : "needs attention");
            i = j;
        }
        fputs("</table>", out);
    }
    fputs("</section>", out);

    /* the plan: goals a similar customer reached in a quarter */
    char later[16];
    up_date_fmt(later, pg->d0 + 90);
    fprintf(out, "<section><h2>Our plan for the next 90 days (to %s)</h2><table><tr><th>Goal</th><th>Today</th>"
                 "<th>By %s</th></tr>", later, later);
    if (row->seats > 0 && !isnan(row->breadth) && pace && pace->n > 0 && row->breadth < 1) {
        double goal = row->breadth + (pace->gain > 0 ? pace->gain : 0);
        if (goal > 1)
            goal = 1;
        int64_t people = (int64_t)ceil(goal * (double)row->seats - 1e-9);
        if (people > row->active_users)
            fprintf(out, "<tr><td>People using it</td><td>%lld of %lld seats</td><td>%lld of %lld seats</td></tr>",
                    (long long)row->active_users, (long long)row->seats, (long long)people, (long long)row->seats);
    }
    for (size_t f = 0; f < m->n_features; f++)
        if (m->features[f].core && (isnan(row->feature_adoption[f]) || row->feature_adoption[f] < 0.3)) {
            fputs("<tr><td>Start using ", out);
            up_fmt_html(out, m->features[f].name);
            fprintf(out, "</td><td>%lld people</td><td>a first team using it every week</td></tr>",
                    (long long)row->feature_users[f]);
        }
    for (uint32_t i = 0; i < pg->extras.n_milestones; i++)
        if (pg->extras.milestones[i].done_at == UP_TS_NONE || pg->extras.milestones[i].done_at > pg->T) {
            fputs("<tr><td>", out);
            up_fmt_html(out, pg->extras.milestones[i].name);
            fputs("</td><td>open</td><td>done</td></tr>", out);
        }
    fputs("</table>", out);
    if (pace && pace->n > 0)
        fprintf(out, "<p class=\"muted\">The goal for people using it is a pace customers like you reached: a quarter"
                     " of the %lld similar customers added this many or more in their last 90 days.</p>",
                (long long)pace->n);
    fputs("</section></body></html>\n", out);
    return ferror(out) ? -UP_EIO : 0;
}

/* ---- the pace ------------------------------------------------------------- */

static int cmp_double(const void *pa, const void *pb)
{
    double x = *(const double *)pa, y = *(const double *)pb;
    return (x > y) - (x < y);
}

void up_report_qbr_pace(const up_portfolio_t *now, const up_portfolio_t *then, const up_account_t *acc,
                        up_qbr_pace_t *out)
{
    memset(out, 0, sizeof *out);
    double *g = malloc(((size_t)now->n_rows + 1) * sizeof *g);
    if (!g)
        return;
    for (int pass = 0; pass < 2; pass++) {   /* the account's segment, else every customer */
        size_t n = 0;
        for (uint32_t i = 0; i < now->n_rows; i++) {
            const up_account_metrics_t *a = &now->rows[i];
            if (a->status != UP_STATUS_CUSTOMER || isnan(a->breadth))
                continue;
            if (pass == 0 && (!acc->segment || !a->account->segment || strcmp(acc->segment, a->account->segment)))
                continue;
            /* its row 90 days before: the rows are in account_id order in both */
            uint32_t lo = 0, hi = then->n_rows;
            while (lo < hi) {
                uint32_t mid = (lo + hi) / 2;
                if (strcmp(then->rows[mid].account->account_id, a->account->account_id) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo == then->n_rows || strcmp(then->rows[lo].account->account_id, a->account->account_id) ||
                then->rows[lo].status != UP_STATUS_CUSTOMER || isnan(then->rows[lo].breadth))
                continue;
            g[n++] = a->breadth - then->rows[lo].breadth;
        }
        if (n >= 4 || (pass == 1 && n > 0)) {
            qsort(g, n, sizeof *g, cmp_double);
            size_t k = (size_t)ceil(0.75 * (double)n);   /* the 75th percentile, nearest rank */
            out->gain = g[k ? k - 1 : 0];
            out->n = (int64_t)n;
            out->segment_only = pass == 0;
            break;
        }
    }
    free(g);
}
