/* report_html: the HTML reports of the CLI. `report account ID --format html`
 * is a QBR a CSM can hand a customer: one self-contained file (styles and
 * charts inline, as SVG: no script, nothing fetched) that prints cleanly to
 * PDF, with adoption against targets, outcomes, gaps and a plan for the next
 * 90 days. `report accounts --format html` is the portfolio as a file. Every
 * value from the data is escaped. */
#include "report_html.h"

#include "fmt.h"
#include "timeparse.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void pct(FILE *out, double v)
{
    if (isnan(v))
        fputs("–", out);
    else
        fprintf(out, "%.0f%%", 100 * v);
}

static const char up_report_html_style[] =
    "<style>body{font:14px/1.45 system-ui,sans-serif;color:#1d2430;max-width:960px;margin:2rem auto;padding:0 1rem}"
    "h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;border-bottom:2px solid #d9dee7;padding-bottom:.2rem;"
    "margin-top:1.8rem;break-after:avoid}table{border-collapse:collapse;width:100%}th,td{padding:.3rem .5rem;"
    "border-bottom:1px solid #d9dee7;text-align:left}td.n,th.n{text-align:right}.muted{color:#5b6475}"
    ".tiles{display:flex;gap:.8rem;flex-wrap:wrap}.tile{border:1px solid #d9dee7;border-radius:6px;padding:.5rem .8rem;"
    "min-width:120px}.tile b{display:block;font-size:1.4rem}.low{color:#b42318}.effective{color:#067647}"
    ".high{color:#175cd3}section{break-inside:avoid}@media print{body{margin:0}a{color:inherit}}</style>";

void up_report_html_head(FILE *out, const char *title, const char *css)
{
    fputs("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>", out);
    up_fmt_html(out, title);
    fprintf(out, "</title>%s%s</head><body>", up_report_html_style, css ? css : "");
}

/* A line chart of one or two series as inline SVG (no script). */
static void svg_lines(FILE *out, const up_series_t *s, int which_a, int which_b, const char *label_a,
                      const char *label_b)
{
    const int W = 900, H = 180, P = 30;
    int64_t max = 1;
    for (int i = 0; i < s->n_days; i++) {
        int64_t v[4] = {s->days[i].dau, s->days[i].wau, s->days[i].mau, s->days[i].seats};
        if (v[which_a] > max)
            max = v[which_a];
        if (which_b >= 0 && v[which_b] > max)
            max = v[which_b];
    }
    fprintf(out, "<svg viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" aria-label=\"", W, H);
    up_fmt_html(out, label_a);
    if (which_b >= 0) {
        fputs(" and ", out);
        up_fmt_html(out, label_b);
    }
    fprintf(out, "\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d9dee7\"/>", P, H - P, W - 5, H - P);
    fprintf(out, "<text x=\"2\" y=\"14\" font-size=\"11\" fill=\"#5b6475\">%lld</text>", (long long)max);
    for (int k = 0; k < 2; k++) {
        int which = k ? which_b : which_a;
        if (which < 0)
            break;
        fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", k ? "#b54708" : "#175cd3",
                k ? " stroke-dasharray=\"5 3\"" : "");
        for (int i = 0; i < s->n_days; i++) {
            int64_t v[4] = {s->days[i].dau, s->days[i].wau, s->days[i].mau, s->days[i].seats};
            double x = P + (double)(W - P - 5) * i / (s->n_days > 1 ? s->n_days - 1 : 1);
            double y = (H - P) - (double)(H - P - 26) * (double)v[which] / (double)max;
            fprintf(out, "%.1f,%.1f ", x, y);
        }
        fputs("\"/>", out);
    }
    char d1[16], d2[16];
    up_date_fmt(d1, s->days[0].day);
    up_date_fmt(d2, s->days[s->n_days - 1].day);
    fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#5b6475\">%s</text>"
                 "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#5b6475\" text-anchor=\"end\">%s</text>",
            P, H - 10, d1, W - 5, H - 10, d2);
    fprintf(out, "<text x=\"%d\" y=\"14\" font-size=\"12\" fill=\"#175cd3\">— ", P + 10);
    up_fmt_html(out, label_a);
    fputs("</text>", out);
    if (which_b >= 0) {
        fprintf(out, "<text x=\"%d\" y=\"14\" font-size=\"12\" fill=\"#b54708\">- - ", P + 130);
        up_fmt_html(out, label_b);
        fputs("</text>", out);
    }
    fputs("</svg>", out);
}

/* The title and where adoption stands: tiles, the level, the charts. */
static void html_intro(FILE *out, const up_account_page_t *pg)
{
    const up_account_metrics_t *row = pg->row;
    const up_account_t *acc = pg->row->account;
    const up_series_t *series = pg->has_series ? &pg->series : NULL;
    const up_portfolio_t *p = pg->portfolio;
    char d[16];
    char today[16];
    up_date_fmt(today, p->d0);
    char title[256];
    snprintf(title, sizeof title, "Adoption review: %s, %s", acc->name ? acc->name : acc->account_id, today);
    up_report_html_head(out, title, NULL);
    fputs("<h1>Adoption review: ", out);
    up_fmt_html(out, acc->name ? acc->name : acc->account_id);
    fprintf(out, "</h1><p class=\"muted\">As of %s", today);
    if (acc->contract_start != UP_NO_DAY) {
        up_date_fmt(d, acc->contract_start);
        fprintf(out, " · customer since %s", d);
    }
    if (acc->renewal_date != UP_NO_DAY) {
        up_date_fmt(d, acc->renewal_date);
        fprintf(out, " · renewal %s", d);
    }
    fputs("</p>", out);
    if (row->status != UP_STATUS_CUSTOMER || pg->n_lifecycle > 1) {
        /* the lifecycle: started, churned, came back, with dates */
        fprintf(out, "<p class=\"muted\">Status at %s: <b>%s</b>", today, up_status_names[row->status]);
        for (uint32_t i = 0; i < pg->n_lifecycle; i++) {
            up_date_fmt(d, up_day_of(pg->lifecycle[i].ts));
            fprintf(out, "%s%s %s", i ? " → " : " · ", pg->lifecycle[i].event, d);
        }
        fputs("</p>", out);
    }

    fputs("<section><h2>Where adoption stands</h2><div class=\"tiles\">", out);
    fprintf(out, "<div class=\"tile\">Adoption level<b class=\"%s\">%s</b></div>", up_level_names[row->level],
            up_level_names[row->level]);
    fprintf(out, "<div class=\"tile\">Seats in use<b>%lld / %lld</b></div>", (long long)row->active_users,
            (long long)row->seats);
    fputs("<div class=\"tile\">Breadth<b>", out);
    pct(out, row->breadth);
    fputs("</b></div><div class=\"tile\">Core features used<b>", out);
    fprintf(out, "%lld / %lld</b></div><div class=\"tile\">Health<b>", (long long)row->core_used, (long long)row->core_features);
    if (isnan(row->health))
        fputs("–", out);
    else
        fprintf(out, "%.0f", row->health);
    fputs("</b></div></div><p>", out);
    up_fmt_html(out, row->level_why);
    fputs(".</p>", out);
    if (series && series->n_days > 1) {
        fputs("<p class=\"muted\">Daily and weekly active users, 90 days</p>", out);
        svg_lines(out, series, 0, 1, "daily active", "weekly active");
        fputs("<p class=\"muted\">Licensed seats and monthly active users</p>", out);
        svg_lines(out, series, 3, 2, "seats", "monthly active");
    }
    fputs("</section>", out);
}

/* Adoption against targets, and feature adoption. */
static void html_targets(FILE *out, const up_account_page_t *pg)
{
    const up_model_t *m = pg->model;
    const up_account_metrics_t *row = pg->row;
    const up_account_extras_t *x = &pg->extras;
    char d[16];
    fputs("<section><h2>Adoption against targets</h2>", out);
    if (!x->n_targets)
        fputs("<p class=\"muted\">No adoption target applies to this account yet.</p>", out);
    else {
        fputs("<table><tr><th>Target</th><th>Metric</th><th class=\"n\">Now</th><th class=\"n\">Goal</th><th>Due</th>"
              "<th>Status</th></tr>", out);
        for (uint32_t i = 0; i < x->n_targets; i++) {
            const up_target_eval_t *t = &x->targets[i];
            fputs("<tr><td>", out);
            up_fmt_html(out, t->target->name);
            fputs("</td><td>", out);
            up_fmt_html(out, t->target->metric);
            fprintf(out, "</td><td class=\"n\">%.3g</td><td class=\"n\">%.3g</td><td>", t->value, t->target->min);
            if (t->due != UP_NO_DAY) {
                up_date_fmt(d, t->due);
                fputs(d, out);
            } else
                fputs("–", out);
            fprintf(out, "</td><td>%s</td></tr>", t->status);
        }
        fputs("</table>", out);
    }
    fputs("<p>Feature adoption (users who used it in the last 28 days / active users) and uses in those 28 days:</p>"
          "<table>", out);
    for (size_t f = 0; f < m->n_features; f++) {
        fputs("<tr><td>", out);
        up_fmt_html(out, m->features[f].name);
        fprintf(out, "%s</td><td class=\"n\">", m->features[f].core ? " (core)" : "");
        pct(out, row->feature_adoption[f]);
        fprintf(out, "</td><td class=\"n\">%lld uses</td></tr>", (long long)pg->feature_uses[f]);
    }
    fputs("</table></section>", out);
}

/* Business outcomes: the latest value of each. */
static void html_outcomes(FILE *out, const up_account_page_t *pg)
{
    const up_entities_t *e = pg->entities;
    const up_portfolio_t *p = pg->portfolio;
    uint32_t o_lo = pg->o_lo;
    uint32_t o_hi = pg->o_hi;
    fputs("<section><h2>Business outcomes</h2>", out);
    if (o_hi == o_lo)
        fputs("<p class=\"muted\">No outcome measured yet: agree on one (hours saved, a cost, a revenue figure) to"
              " show the value of the product.</p>", out);
    else {
        fputs("<table><tr><th>Outcome</th><th class=\"n\">Latest</th><th class=\"n\">Target</th><th>Status</th></tr>",
              out);
        for (uint32_t i = o_lo; i < o_hi;) {
            uint32_t j = i;
            while (j < o_hi && strcmp(e->outcomes[j].metric, e->outcomes[i].metric) == 0)
                j++;
            const up_outcome_t *last = &e->outcomes[j - 1];
            fputs("<tr><td>", out);
            up_fmt_html(out, last->metric);
            fprintf(out, "</td><td class=\"n\">%.4g</td><td class=\"n\">", last->value);
            if (isnan(last->target))
                fputs("–", out);
            else
                fprintf(out, "%.4g", last->target);
            fprintf(out, "</td><td>%s</td></tr>",
                    up_engine_outcome_on_track(&e->outcomes[i], last, p->T) ? "on track" : "off track");
            i = j;
        }
        fputs("</table>", out);
    }
    fputs("</section>", out);
}

/* Gaps: unused seats, core features, overdue milestones, seat cuts. */
static void html_gaps(FILE *out, const up_account_page_t *pg)
{
    const up_model_t *m = pg->model;
    const up_account_metrics_t *row = pg->row;
    const up_account_extras_t *x = &pg->extras;
    const up_revenue_t *rev = &pg->revenue;
    char d[16];
    fputs("<section><h2>Gaps</h2><ul>", out);
    int64_t unused = row->seats - row->active_users;
    if (row->seats > 0 && unused > 0)
        fprintf(out, "<li>%lld of %lld licensed seats were not used in the last 28 days.</li>", (long long)unused,
                (long long)row->seats);
    for (size_t f = 0; f < m->n_features; f++)
        if (m->features[f].core && (isnan(row->feature_adoption[f]) || row->feature_adoption[f] < 0.3)) {
            fputs("<li>", out);
            up_fmt_html(out, m->features[f].name);
            fputs(" (a core feature) reaches ", out);
            pct(out, row->feature_adoption[f]);
            fputs(" of active users.</li>", out);
        }
    if (x->overdue)
        fprintf(out, "<li>%lld onboarding milestone%s overdue.</li>", (long long)x->overdue, x->overdue == 1 ? " is" : "s are");
    if (rev->n_seat_changes && rev->seat_changes[rev->n_seat_changes - 1].removal) {
        up_date_fmt(d, rev->seat_changes[rev->n_seat_changes - 1].day);
        fprintf(out, "<li>Seats were reduced on %s.</li>", d);
    }
    fputs("</ul></section>", out);
}

/* The plan: suggested targets from the gaps, 90 days out. */
static void html_plan(FILE *out, const up_account_page_t *pg)
{
    const up_model_t *m = pg->model;
    const up_account_metrics_t *row = pg->row;
    const up_account_extras_t *x = &pg->extras;
    const up_portfolio_t *p = pg->portfolio;
    char later[16];
    up_date_fmt(later, p->d0 + 90);
    fprintf(out, "<section><h2>Plan for the next 90 days (to %s)</h2><table><tr><th>Goal</th><th>From</th><th>To</th>"
                 "</tr>", later);
    if (row->seats > 0 && !isnan(row->breadth) && row->breadth < 0.85) {
        /* halfway to every seat, rounded up to 5 points (the epsilon keeps 0.6 at 0.6) */
        double goal = ceil(20 * (row->breadth + (1 - row->breadth) / 2) - 1e-9) / 20;
        if (goal > 1)
            goal = 1;
        fputs("<tr><td>Seats in use (breadth)</td><td>", out);
        pct(out, row->breadth);
        fputs("</td><td>", out);
        pct(out, goal);
        fprintf(out, " (%lld more active users)</td></tr>",
                (long long)ceil(goal * (double)row->seats) - (long long)row->active_users);
    }
    for (size_t f = 0; f < m->n_features; f++)
        if (m->features[f].core && (isnan(row->feature_adoption[f]) || row->feature_adoption[f] < 0.3)) {
            fputs("<tr><td>Adopt ", out);
            up_fmt_html(out, m->features[f].name);
            fputs("</td><td>", out);
            pct(out, row->feature_adoption[f]);
            fputs("</td><td>50% of active users</td></tr>", out);
        }
    if (!isnan(row->stickiness) && row->stickiness < 0.2) {
        fputs("<tr><td>Use it as a habit (stickiness)</td><td>", out);
        pct(out, row->stickiness);
        fputs("</td><td>20%</td></tr>", out);
    }
    for (uint32_t i = 0; i < x->n_milestones; i++)
        if (x->milestones[i].done_at == UP_TS_NONE || x->milestones[i].done_at > p->T) {
            fputs("<tr><td>Milestone: ", out);
            up_fmt_html(out, x->milestones[i].name);
            fputs("</td><td>open</td><td>done</td></tr>", out);
        }
    fputs("</table><p class=\"muted\">Generated by uptake from product usage and account data; definitions in"
          " docs/metrics.md.</p></section></body></html>\n", out);
}

int up_report_html_account(FILE *out, const up_account_page_t *pg)
{
    html_intro(out, pg);
    html_targets(out, pg);
    html_outcomes(out, pg);
    html_gaps(out, pg);
    html_plan(out, pg);
    return ferror(out) ? -UP_EIO : 0;
}

int up_report_html_accounts(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o)
{
    char today[16];
    up_date_fmt(today, p->d0);
    char title[64];
    snprintf(title, sizeof title, "Portfolio, %s", today);
    up_report_html_head(out, title, NULL);
    fprintf(out, "<h1>Portfolio</h1><p class=\"muted\">As of %s</p><table><tr><th>Account</th><th>Level</th>"
                 "<th class=\"n\">Health</th><th class=\"n\">Breadth</th><th class=\"n\">Depth</th>"
                 "<th class=\"n\">Stickiness</th><th class=\"n\">WAU trend</th><th class=\"n\">Seats used</th>"
                 "<th class=\"n\">ARR</th><th>Renewal</th><th>Owner</th></tr>", today);
    for (uint32_t i = 0; i < p->n_rows; i++) {
        const up_account_metrics_t *r = &p->rows[i];
        const up_account_t *a = r->account;
        if ((o->account && strcmp(o->account, a->account_id)) || (o->segment && (!a->segment || strcmp(o->segment, a->segment))))
            continue;
        fputs("<tr><td>", out);
        up_fmt_html(out, a->name ? a->name : a->account_id);
        fprintf(out, "</td><td class=\"%s\">%s</td><td class=\"n\">", up_level_names[r->level], up_level_names[r->level]);
        if (isnan(r->health))
            fputs("–", out);
        else
            fprintf(out, "%.1f", r->health);
        const double v[] = {r->breadth, r->depth, r->stickiness, r->wau_trend};
        for (int k = 0; k < 4; k++) {
            fputs("</td><td class=\"n\">", out);
            pct(out, v[k]);
        }
        fprintf(out, "</td><td class=\"n\">%lld / %lld</td><td class=\"n\">", (long long)r->active_users,
                (long long)r->seats);
        if (isnan(a->arr))
            fputs("–", out);
        else
            fprintf(out, "%.0f", a->arr);
        fputs("</td><td>", out);
        if (a->renewal_date != UP_NO_DAY) {
            char d[16];
            up_date_fmt(d, a->renewal_date);
            fputs(d, out);
        }
        fputs("</td><td>", out);
        up_fmt_html(out, a->owner);
        fputs("</td></tr>", out);
    }
    fputs("</table></body></html>\n", out);
    return ferror(out) ? -UP_EIO : 0;
}
