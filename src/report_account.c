/* report_account: the account page. */
#include "report_account.h"
#include "fmt.h"
#include "timeparse.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DASH "\xe2\x80\x93"

static void num(char *t, size_t n, double v)
{
    if (isnan(v))
        t[0] = '\0';
    else
        up_fmt_double(t, n, v);
}

/* ---- the account page -------------------------------------------------- */

static const char *status_name(int ok)
{
    return ok < 0 ? "no target" : ok ? "on track" : "off track";
}

static void pct_text(char *t, size_t n, double v)
{
    if (isnan(v))
        snprintf(t, n, DASH);
    else
        snprintf(t, n, "%.0f%%", 100 * v);
}

/* The account's workflows: completions in the last 4 weeks and the funnel. */
static int64_t wf_last4(const up_wf_account_t *a)
{
    int64_t n = 0;
    for (int k = UP_WF_WEEKS - 4; k < UP_WF_WEEKS; k++)
        n += a->completions[k];
    return n;
}

static void workflows_csv(FILE *out, const up_model_t *m, const up_wf_row_t *wf)
{
    for (size_t k = 0; k < m->n_workflows; k++) {
        fputs("workflows,", out);
        up_fmt_csv_field(out, m->workflows[k].name);
        fprintf(out, ",%lld\n", wf ? (long long)wf_last4(&wf->wf[k]) : 0LL);
    }
}

static void workflows_json(up_buf_t *b, const up_model_t *m, const up_wf_row_t *wf)
{
    up_buf_puts(b, ",\"workflows\":[");
    for (size_t k = 0; k < m->n_workflows; k++) {
        const up_workflow_t *w = &m->workflows[k];
        up_buf_puts(b, k ? ",{\"workflow\":" : "{\"workflow\":");
        up_fmt_json_str(b, w->name);
        up_buf_printf(b, ",\"core\":%s,\"completions_4w\":%lld,\"completions\":[", w->core ? "true" : "false",
                      wf ? (long long)wf_last4(&wf->wf[k]) : 0LL);
        for (int q = 0; q < UP_WF_WEEKS; q++)
            up_buf_printf(b, "%s%lld", q ? "," : "", wf ? (long long)wf->wf[k].completions[q] : 0LL);
        up_buf_puts(b, "],\"funnel\":[");
        for (size_t q = 0; q < w->n_steps; q++) {
            up_buf_puts(b, q ? ",{\"step\":" : "{\"step\":");
            up_fmt_json_str(b, w->steps[q]);
            up_buf_printf(b, ",\"users\":%lld}", wf ? (long long)wf->wf[k].funnel[q] : 0LL);
        }
        up_buf_puts(b, "]}");
    }
    up_buf_puts(b, "]");
}

static void targets_csv(FILE *out, const up_account_extras_t *x)
{
    for (uint32_t i = 0; i < x->n_targets; i++) {
        const up_target_eval_t *t = &x->targets[i];
        char v[40], d[16] = "";
        num(v, sizeof v, t->value);
        if (t->due != UP_NO_DAY)
            up_date_fmt(d, t->due);
        fprintf(out, "targets,");
        up_fmt_csv_field(out, t->target->name);
        fprintf(out, ",%s %s (%s >= ", t->status, v, t->target->metric);
        num(v, sizeof v, t->target->min);
        fprintf(out, "%s by %s)\n", v, d[0] ? d : "no contract");
    }
}

static void targets_json(up_buf_t *b, const up_account_extras_t *x)
{
    up_buf_puts(b, ",\"targets\":[");
    for (uint32_t i = 0; i < x->n_targets; i++) {
        const up_target_eval_t *t = &x->targets[i];
        up_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        up_fmt_json_str(b, t->target->name);
        up_buf_printf(b, ",\"metric\":\"%s\",\"min\":", t->target->metric);
        up_fmt_json_num(b, t->target->min);
        up_buf_printf(b, ",\"by_day\":%d,\"due\":", t->target->by_day);
        if (t->due == UP_NO_DAY)
            up_buf_puts(b, "null");
        else {
            char d[16];
            up_date_fmt(d, t->due);
            up_buf_printf(b, "\"%s\"", d);
        }
        up_buf_puts(b, ",\"value\":");
        up_fmt_json_num(b, t->value);
        up_buf_puts(b, ",\"progress\":");
        up_fmt_json_num(b, t->progress);
        up_buf_printf(b, ",\"status\":\"%s\"}", t->status);
    }
    up_buf_puts(b, "]");
}

static void revenue_csv(FILE *out, const up_revenue_t *v)
{
    char d[16], t[40];
    for (uint32_t i = 0; i < v->n_seat_changes; i++) {
        const up_seat_change_t *c = &v->seat_changes[i];
        up_date_fmt(d, c->day);
        fprintf(out, "seats,change_%s,%+lld\n", d, (long long)(c->to - c->from));
    }
    for (int k = 0; k < 12; k++) {
        up_date_fmt(d, v->util[k].day);
        num(t, sizeof t, v->util[k].utilization);
        fprintf(out, "seats,utilization_%s,%s\n", d, t);
    }
    static const char *const names[] = {"arr", "arr_365d_ago", "new_365d", "expansion_365d", "contraction_365d",
                                        "nrr_365d"};
    const double vals[] = {v->arr, v->arr_365d_ago, v->new_365d, v->expansion_365d, v->contraction_365d, v->nrr_365d};
    for (int k = 0; k < 6; k++) {
        num(t, sizeof t, vals[k]);
        fprintf(out, "revenue,%s,%s\n", names[k], t);
    }
    for (uint32_t i = 0; i < v->n_arr_changes; i++) {
        up_date_fmt(d, v->arr_changes[i].day);
        num(t, sizeof t, v->arr_changes[i].to - v->arr_changes[i].from);
        fprintf(out, "revenue,change_%s,%s\n", d, t);
    }
}

static void revenue_json(up_buf_t *b, const up_revenue_t *v)
{
    char d[16];
    up_buf_puts(b, ",\"seats_history\":{\"changes\":[");
    for (uint32_t i = 0; i < v->n_seat_changes; i++) {
        const up_seat_change_t *c = &v->seat_changes[i];
        up_date_fmt(d, c->day);
        up_buf_printf(b, "%s{\"date\":\"%s\",\"from\":%lld,\"to\":%lld,\"delta\":%lld,\"removal\":%s,"
                         "\"overnight_drop\":%s}", i ? "," : "", d, (long long)c->from, (long long)c->to,
                      (long long)(c->to - c->from), c->removal ? "true" : "false", c->overnight_drop ? "true" : "false");
    }
    up_buf_puts(b, "],\"utilization\":[");
    for (int k = 0; k < 12; k++) {
        up_date_fmt(d, v->util[k].day);
        up_buf_printf(b, "%s{\"date\":\"%s\",\"seats\":%lld,\"mau\":%lld,\"utilization\":", k ? "," : "", d,
                      (long long)v->util[k].seats, (long long)v->util[k].mau);
        up_fmt_json_num(b, v->util[k].utilization);
        up_buf_puts(b, "}");
    }
    up_buf_puts(b, "]},\"revenue\":{\"arr\":");
    up_fmt_json_num(b, v->arr);
    up_buf_puts(b, ",\"arr_365d_ago\":");
    up_fmt_json_num(b, v->arr_365d_ago);
    up_buf_puts(b, ",\"new_365d\":");
    up_fmt_json_num(b, v->new_365d);
    up_buf_puts(b, ",\"expansion_365d\":");
    up_fmt_json_num(b, v->expansion_365d);
    up_buf_puts(b, ",\"contraction_365d\":");
    up_fmt_json_num(b, v->contraction_365d);
    up_buf_puts(b, ",\"nrr_365d\":");
    up_fmt_json_num(b, v->nrr_365d);
    up_buf_puts(b, ",\"changes\":[");
    for (uint32_t i = 0; i < v->n_arr_changes; i++) {
        up_date_fmt(d, v->arr_changes[i].day);
        up_buf_printf(b, "%s{\"date\":\"%s\",\"from\":", i ? "," : "", d);
        up_fmt_json_num(b, v->arr_changes[i].from);
        up_buf_puts(b, ",\"to\":");
        up_fmt_json_num(b, v->arr_changes[i].to);
        up_buf_puts(b, "}");
    }
    up_buf_puts(b, "]}");
}

static void revenue_table(FILE *out, const up_revenue_t *v)
{
    char d[16];
    if (!v->has_subscriptions) {
        fprintf(out, "\nSeats and revenue: no subscriptions loaded (seats and ARR from the accounts table)\n");
        return;
    }
    fprintf(out, "\nSeat changes:%s\n", v->n_seat_changes ? "" : " none");
    for (uint32_t i = 0; i < v->n_seat_changes; i++) {
        const up_seat_change_t *c = &v->seat_changes[i];
        up_date_fmt(d, c->day);
        fprintf(out, "  %s  %lld -> %lld (%+lld)%s\n", d, (long long)c->from, (long long)c->to,
                (long long)(c->to - c->from), c->overnight_drop ? "  OVERNIGHT DROP" : c->removal ? "  removal" : "");
    }
    fprintf(out, "Seat utilization (MAU / seats), weekly:");
    for (int k = 0; k < 12; k++) {
        if (isnan(v->util[k].utilization))
            fprintf(out, " %s", DASH);
        else
            fprintf(out, " %.0f%%", 100 * v->util[k].utilization);
    }
    fprintf(out, "\nARR %.0f (a year ago %.0f): ", v->arr, v->arr_365d_ago);
    if (v->new_365d > 0)
        fprintf(out, "+%.0f new contract, ", v->new_365d);
    fprintf(out, "+%.0f expansion, -%.0f contraction in 365 days", v->expansion_365d, v->contraction_365d);
    if (!isnan(v->nrr_365d))
        fprintf(out, "; NRR %.0f%%", 100 * v->nrr_365d);
    fputc('\n', out);
}

/* CSV: the account, its level history, metrics and feature adoption. */
static void csv_account(FILE *out, const up_account_page_t *pg)
{
    const up_model_t *m = pg->model;
    const up_account_metrics_t *row = pg->row;
    const up_account_t *acc = pg->row->account;
    const up_level_t *history = pg->history;
    int32_t history_from = pg->history_from;
    int32_t n_hist = pg->n_history;
    const up_portfolio_t *p = pg->portfolio;
    char t1[48];
    fputs("section,key,value\n", out);
    fprintf(out, "account,account_id,");
    up_fmt_csv_field(out, acc->account_id);
    fprintf(out, "\naccount,name,");
    up_fmt_csv_field(out, acc->name);
    const char *texts[] = {acc->segment, acc->owner, acc->plan};
    static const char *const tnames[] = {"segment", "owner", "plan"};
    for (int k = 0; k < 3; k++) {
        fprintf(out, "\naccount,%s,", tnames[k]);
        up_fmt_csv_field(out, texts[k]);
    }
    const int32_t dates[] = {acc->contract_start, acc->renewal_date, acc->churned_at};
    static const char *const dnames[] = {"contract_start", "renewal_date", "churned_at"};
    for (int k = 0; k < 3; k++) {
        t1[0] = '\0';
        if (dates[k] != UP_NO_DAY && (k != 2 || dates[k] <= p->d0))
            up_date_fmt(t1, dates[k]);
        fprintf(out, "\naccount,%s,%s", dnames[k], t1);
    }
    fprintf(out, "\naccount,level,%s\n", up_level_names[row->level]);
    fprintf(out, "account,status,%s\n", up_status_names[row->status]);
    for (uint32_t i = 0; i < pg->n_lifecycle; i++) {
        up_time_fmt(t1, pg->lifecycle[i].ts);
        fprintf(out, "lifecycle,%s,%s\n", t1, pg->lifecycle[i].event);
    }
    for (int32_t i = 0; i < n_hist; i++)
        if (i == 0 || history[i] != history[i - 1]) {
            up_date_fmt(t1, history_from + i);
            fprintf(out, "level_history,%s,%s\n", t1, up_level_names[history[i]]);
        }
    const double nums[] = {row->breadth, row->depth, row->stickiness, row->wau_trend, row->activation_rate,
                           row->consistency, row->nps, row->health};
    static const char *const names[] = {"breadth", "depth", "stickiness", "wau_trend", "activation_rate",
                                        "consistency", "nps", "health"};
    fprintf(out, "metrics,seats,%lld\nmetrics,active_users,%lld\nmetrics,known_users,%lld\n",
            (long long)row->seats, (long long)row->active_users, (long long)row->known_users);
    for (int i = 0; i < 8; i++) {
        num(t1, sizeof t1, nums[i]);
        fprintf(out, "metrics,%s,%s\n", names[i], t1);
    }
    num(t1, sizeof t1, row->intensity);
    fprintf(out, "metrics,events_28d,%lld\nmetrics,intensity,%s\n", (long long)row->events_28d, t1);
    for (size_t f = 0; f < m->n_features; f++) {
        num(t1, sizeof t1, row->feature_adoption[f]);
        fprintf(out, "feature_adoption,");
        up_fmt_csv_field(out, m->features[f].name);
        fprintf(out, ",%s\n", t1);
    }
    for (size_t f = 0; f < m->n_features; f++) {
        fprintf(out, "feature_uses_28d,");
        up_fmt_csv_field(out, m->features[f].name);
        fprintf(out, ",%lld\n", (long long)pg->feature_uses[f]);
    }
}

/* CSV: people, outcomes, support, milestones, surveys, revenue, targets, workflows. */
static void csv_activity(FILE *out, const up_account_page_t *pg)
{
    const up_people_t *people = &pg->people;
    const up_entities_t *e = pg->entities;
    const up_account_extras_t *x = &pg->extras;
    const up_revenue_t *rev = &pg->revenue;
    const up_wf_row_t *wf = pg->wf_row;
    const up_portfolio_t *p = pg->portfolio;
    int64_t T = pg->T;
    uint32_t o_lo = pg->o_lo;
    uint32_t o_hi = pg->o_hi;
    char t1[48];
    char t2[48];
    fprintf(out, "people,engaged_stakeholders,%lld\npeople,single_threaded,%s\npeople,new_stakeholders,%lld\n",
            (long long)people->engaged, people->single_threaded ? "true" : "false",
            (long long)people->new_stakeholders);
    for (uint32_t i = o_lo; i < o_hi;) {
        uint32_t j = i;
        while (j < o_hi && strcmp(e->outcomes[j].metric, e->outcomes[i].metric) == 0)
            j++;
        fprintf(out, "outcomes,");
        up_fmt_csv_field(out, e->outcomes[i].metric);
        fprintf(out, ",%s\n", status_name(up_engine_outcome_on_track(&e->outcomes[i], &e->outcomes[j - 1], T)));
        i = j;
    }
    num(t1, sizeof t1, x->satisfaction_90d);
    num(t2, sizeof t2, x->friction);
    char t3[24] = "";
    if (x->error_events_28d >= 0)
        snprintf(t3, sizeof t3, "%lld", (long long)x->error_events_28d);
    fprintf(out, "support,tickets_28d,%lld\nsupport,tickets_90d,%lld\nsupport,urgent_90d,%lld\n"
                 "support,satisfaction_90d,%s\nsupport,error_events_28d,%s\nsupport,friction,%s\n"
                 "support,friction_flag,%s\n",
            (long long)x->tickets_28d, (long long)x->tickets_90d, (long long)x->urgent_90d, t1, t3, t2,
            x->friction_flag ? "true" : "false");
    num(t1, sizeof t1, x->done_per_week);
    num(t2, sizeof t2, x->planned_per_week);
    fprintf(out, "milestones,total,%u\nmilestones,done,%lld\nmilestones,overdue,%lld\nmilestones,stalled,%lld\n"
                 "milestones,done_per_week,%s\nmilestones,planned_per_week,%s\n",
            x->n_milestones, (long long)x->done, (long long)x->overdue, (long long)x->stalled, t1, t2);
    for (int k = 0; k < UP_SURVEY_MONTHS; k++) {
        up_date_fmt(t3, x->months[k].first_day);
        num(t1, sizeof t1, x->months[k].nps);
        num(t2, sizeof t2, x->months[k].csat);
        fprintf(out, "surveys,nps_%.7s,%s\nsurveys,csat_%.7s,%s\n", t3, t1, t3, t2);
    }
    revenue_csv(out, rev);
    targets_csv(out, x);
    workflows_csv(out, p->model, wf);
}

/* JSON: the account, its metrics and features. */
static void json_account(up_buf_t *b, const up_account_page_t *pg)
{
    const up_model_t *m = pg->model;
    const up_account_metrics_t *row = pg->row;
    const up_account_t *acc = pg->row->account;
    const up_stages_t *st = &pg->stages;
    const up_portfolio_t *p = pg->portfolio;
    int64_t T = pg->T;
    char t1[48];
    up_time_fmt(t1, T);
    up_buf_puts(b, "{\"as_of\":");
    up_fmt_json_str(b, t1);
    up_buf_puts(b, ",\"account_id\":");
    up_fmt_json_str(b, acc->account_id);
    up_buf_puts(b, ",\"name\":");
    up_fmt_json_opt_str(b, acc->name);
    up_buf_puts(b, ",\"segment\":");
    up_fmt_json_opt_str(b, acc->segment);
    up_buf_puts(b, ",\"owner\":");
    up_fmt_json_opt_str(b, acc->owner);
    up_buf_puts(b, ",\"plan\":");
    up_fmt_json_opt_str(b, acc->plan);
    up_buf_puts(b, ",\"arr\":");
    up_fmt_json_num(b, acc->arr);
    {
        const int32_t dates[] = {acc->contract_start, acc->renewal_date, acc->churned_at};
        static const char *const dnames[] = {"contract_start", "renewal_date", "churned_at"};
        for (int k = 0; k < 3; k++) {
            up_buf_printf(b, ",\"%s\":", dnames[k]);
            if (dates[k] == UP_NO_DAY || (k == 2 && dates[k] > p->d0))
                up_buf_puts(b, "null");
            else {
                up_date_fmt(t1, dates[k]);
                up_buf_printf(b, "\"%s\"", t1);
            }
        }
    }
    up_buf_printf(b, ",\"status\":\"%s\",\"lifecycle\":[", up_status_names[row->status]);
    for (uint32_t i = 0; i < pg->n_lifecycle; i++) {
        up_time_fmt(t1, pg->lifecycle[i].ts);
        up_buf_printf(b, "%s{\"at\":\"%s\",\"event\":\"%s\",\"source\":\"%s\"}", i ? "," : "", t1,
                      pg->lifecycle[i].event, pg->lifecycle[i].source);
    }
    up_buf_puts(b, "]");
    up_buf_printf(b, ",\"level\":\"%s\",\"level_reason\":", up_level_names[row->level]);
    up_fmt_json_str(b, row->level_why);
    up_buf_printf(b, ",\"seats\":%lld,\"known_users\":%lld,\"active_users\":%lld,\"dau\":%lld,\"wau\":%lld,"
                      "\"wau_prev\":%lld", (long long)row->seats, (long long)row->known_users,
                  (long long)row->active_users, (long long)row->dau, (long long)row->wau, (long long)row->wau_prev);
    const double nums[] = {row->breadth, row->depth, row->stickiness, row->wau_trend, row->activation_rate,
                           row->consistency, row->nps, row->health};
    static const char *const names[] = {"breadth", "depth", "stickiness", "wau_trend", "activation_rate",
                                        "consistency", "nps", "health"};
    for (int i = 0; i < 8; i++) {
        up_buf_printf(b, ",\"%s\":", names[i]);
        up_fmt_json_num(b, nums[i]);
    }
    up_buf_printf(b, ",\"events_28d\":%lld,\"intensity\":", (long long)row->events_28d);
    up_fmt_json_num(b, row->intensity);
    up_buf_puts(b, ",\"features\":[");
    for (size_t f = 0; f < m->n_features; f++) {
        up_buf_puts(b, f ? ",{\"feature\":" : "{\"feature\":");
        up_fmt_json_str(b, m->features[f].name);
        up_buf_printf(b, ",\"core\":%s,\"users\":%lld,\"feature_adoption\":", m->features[f].core ? "true" : "false",
                      (long long)row->feature_users[f]);
        up_fmt_json_num(b, row->feature_adoption[f]);
        up_buf_printf(b, ",\"uses_28d\":%lld", (long long)pg->feature_uses[f]);
        for (int k = 0; k < UP_STAGES; k++)
            up_buf_printf(b, ",\"%s\":%lld", up_stage_names[k], (long long)st->funnel[f][k]);
        up_buf_puts(b, "}");
    }
}

/* JSON: people, outcomes, support and milestones. */
static void json_activity(up_buf_t *b, const up_account_page_t *pg)
{
    const up_rollup_t *r = pg->rollup;
    const up_people_t *people = &pg->people;
    const up_entities_t *e = pg->entities;
    const up_account_extras_t *x = &pg->extras;
    int64_t T = pg->T;
    uint32_t o_lo = pg->o_lo;
    uint32_t o_hi = pg->o_hi;
    char t1[48];
    up_buf_printf(b, "],\"people\":{\"engaged_stakeholders\":%lld,\"single_threaded\":%s,\"new_stakeholders\":%lld,"
                      "\"champions_and_sponsors\":[", (long long)people->engaged,
                  people->single_threaded ? "true" : "false", (long long)people->new_stakeholders);
    for (uint32_t i = 0; i < people->n_people; i++) {
        const up_person_t *h = &people->people[i];
        up_buf_puts(b, i ? ",{\"user_id\":" : "{\"user_id\":");
        up_fmt_json_str(b, up_dict_str(&r->dict[UP_KIND_USER], r->pairs[h->pair].user));
        up_buf_printf(b, ",\"role\":\"%s\",\"active_days_14d\":%d,\"active_days_prev_28d\":%d,\"trend\":",
                      h->champion ? "champion" : "sponsor", h->days_14, h->days_prev_28);
        up_fmt_json_num(b, h->trend);
        up_buf_puts(b, "}");
    }
    up_buf_puts(b, "]},\"outcomes\":[");
    int first = 1;
    for (uint32_t i = o_lo; i < o_hi;) {
        uint32_t j = i;
        while (j < o_hi && strcmp(e->outcomes[j].metric, e->outcomes[i].metric) == 0)
            j++;
        const up_outcome_t *last = &e->outcomes[j - 1];
        up_buf_puts(b, first ? "{\"metric\":" : ",{\"metric\":");
        first = 0;
        up_fmt_json_str(b, last->metric);
        up_buf_puts(b, ",\"value\":");
        up_fmt_json_num(b, last->value);
        up_buf_puts(b, ",\"target\":");
        up_fmt_json_num(b, last->target);
        up_buf_printf(b, ",\"status\":\"%s\"}", status_name(up_engine_outcome_on_track(&e->outcomes[i], last, T)));
        i = j;
    }
    up_buf_printf(b, "],\"support\":{\"tickets_28d\":%lld,\"tickets_90d\":%lld,\"urgent_90d\":%lld,"
                      "\"satisfaction_90d\":", (long long)x->tickets_28d, (long long)x->tickets_90d,
                  (long long)x->urgent_90d);
    up_fmt_json_num(b, x->satisfaction_90d);
    if (x->error_events_28d >= 0)
        up_buf_printf(b, ",\"error_events_28d\":%lld", (long long)x->error_events_28d);
    else
        up_buf_puts(b, ",\"error_events_28d\":null");
    up_buf_puts(b, ",\"friction\":");
    up_fmt_json_num(b, x->friction);
    up_buf_printf(b, ",\"friction_flag\":%s},\"milestones\":{\"total\":%u,\"done\":%lld,\"overdue\":%lld,"
                      "\"stalled\":%lld,\"done_per_week\":", x->friction_flag ? "true" : "false",
                  x->n_milestones, (long long)x->done, (long long)x->overdue, (long long)x->stalled);
    up_fmt_json_num(b, x->done_per_week);
    up_buf_puts(b, ",\"planned_per_week\":");
    up_fmt_json_num(b, x->planned_per_week);
    up_buf_puts(b, ",\"items\":[");
    for (uint32_t i = 0; i < x->n_milestones; i++) {
        const up_milestone_t *ms = &x->milestones[i];
        up_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        up_fmt_json_str(b, ms->name);
        up_buf_puts(b, ",\"due\":");
        if (ms->due == UP_TS_NONE)
            up_buf_puts(b, "null");
        else {
            up_date_fmt(t1, up_day_of(ms->due));
            up_fmt_json_str(b, t1);
        }
        up_buf_puts(b, ",\"done_at\":");
        if (ms->done_at == UP_TS_NONE || ms->done_at > T)
            up_buf_puts(b, "null");
        else {
            up_date_fmt(t1, up_day_of(ms->done_at));
            up_fmt_json_str(b, t1);
        }
        up_buf_printf(b, ",\"overdue_days\":%d}", ms->overdue_days);
    }
}

/* JSON: surveys, revenue, targets, workflows and the level history. */
static void json_history(up_buf_t *b, const up_account_page_t *pg)
{
    const up_level_t *history = pg->history;
    int32_t history_from = pg->history_from;
    int32_t n_hist = pg->n_history;
    const up_account_extras_t *x = &pg->extras;
    const up_revenue_t *rev = &pg->revenue;
    const up_wf_row_t *wf = pg->wf_row;
    const up_portfolio_t *p = pg->portfolio;
    char t1[48];
    up_buf_puts(b, "]},\"surveys_by_month\":[");
    for (int k = 0; k < UP_SURVEY_MONTHS; k++) {
        up_date_fmt(t1, x->months[k].first_day);
        up_buf_printf(b, "%s{\"month\":\"%.7s\",\"nps_answers\":%lld,\"nps\":", k ? "," : "", t1,
                      (long long)x->months[k].nps_answers);
        up_fmt_json_num(b, x->months[k].nps);
        up_buf_printf(b, ",\"csat_answers\":%lld,\"csat\":", (long long)x->months[k].csat_answers);
        up_fmt_json_num(b, x->months[k].csat);
        up_buf_puts(b, "}");
    }
    up_buf_puts(b, "]");
    revenue_json(b, rev);
    targets_json(b, x);
    workflows_json(b, p->model, wf);
    up_buf_puts(b, ",\"level_history\":[");
    for (int32_t i = 0, n = 0; i < n_hist; i++) {
        if (i > 0 && history[i] == history[i - 1])
            continue;
        up_date_fmt(t1, history_from + i);
        up_buf_printf(b, "%s{\"date\":\"%s\",\"level\":\"%s\"}", n++ ? "," : "", t1, up_level_names[history[i]]);
    }
}

/* Text: the account, its level, health and metrics. */
static void text_account(FILE *out, const up_account_page_t *pg)
{
    const up_account_metrics_t *row = pg->row;
    const up_account_t *acc = pg->row->account;
    const up_level_t *history = pg->history;
    int32_t history_from = pg->history_from;
    int32_t n_hist = pg->n_history;
    const up_portfolio_t *p = pg->portfolio;
    char t1[48];
    char t2[48];
    char t3[48];
    char t4[48];
    up_date_fmt(t1, p->d0);
    fprintf(out, "%s %s\n", acc->account_id, acc->name ? acc->name : "");
    fprintf(out, "%s%s%s, as of %s\n", acc->segment ? acc->segment : "no segment",
            acc->owner ? ", owner " : "", acc->owner ? acc->owner : "", t1);
    if (acc->contract_start != UP_NO_DAY) {
        up_date_fmt(t2, acc->contract_start);
        fprintf(out, "Contract since %s", t2);
        if (acc->renewal_date != UP_NO_DAY) {
            up_date_fmt(t3, acc->renewal_date);
            fprintf(out, ", renewal %s (%d days)", t3, acc->renewal_date - p->d0);
        }
        if (!isnan(acc->arr))
            fprintf(out, ", ARR %.0f", acc->arr);
        fputc('\n', out);
    }
    if (acc->churned_at != UP_NO_DAY && acc->churned_at <= p->d0) {
        up_date_fmt(t2, acc->churned_at);
        fprintf(out, "CHURNED on %s\n", t2);
    }
    if (row->status != UP_STATUS_CUSTOMER)
        fprintf(out, "STATUS %s at %s\n", up_status_names[row->status], t1);
    if (pg->n_lifecycle) {
        fprintf(out, "Lifecycle:");
        for (uint32_t i = 0; i < pg->n_lifecycle; i++) {
            up_date_fmt(t2, up_day_of(pg->lifecycle[i].ts));
            fprintf(out, "%s %s %s", i ? " →" : "", pg->lifecycle[i].event, t2);
        }
        fputc('\n', out);
    }
    fprintf(out, "\nLEVEL %s: %s\n", up_level_names[row->level], row->level_why);
    if (n_hist > 0) {
        up_date_fmt(t1, history_from);
        fprintf(out, "Level since %s:", t1);
        for (int32_t i = 0; i < n_hist; i++)
            if (i == 0 || history[i] != history[i - 1]) {
                up_date_fmt(t2, history_from + i);
                fprintf(out, " %s%s %s", i ? "→ " : "", t2, up_level_names[history[i]]);
            }
        fputc('\n', out);
    }
    if (!isnan(row->health)) {
        fprintf(out, "HEALTH %.1f =", row->health);
        for (int h = 0; h < UP_H_N; h++)
            if (!isnan(row->parts[h].score))
                fprintf(out, " %s%s %.1f", h ? "+ " : "", up_health_names[h], row->parts[h].contribution);
        fputc('\n', out);
    }
    pct_text(t1, sizeof t1, row->breadth);
    pct_text(t2, sizeof t2, row->depth);
    pct_text(t3, sizeof t3, row->stickiness);
    fprintf(out, "\nSeats %lld, active in 28 days %lld (breadth %s), core features used %lld of %lld (depth %s)\n",
            (long long)row->seats, (long long)row->active_users, t1, (long long)row->core_used,
            (long long)row->core_features, t2);
    pct_text(t1, sizeof t1, row->wau_trend);
    pct_text(t4, sizeof t4, row->consistency);
    fprintf(out, "DAU %lld, WAU %lld (week before %lld, trend %s), stickiness %s, consistency %s\n",
            (long long)row->dau, (long long)row->wau, (long long)row->wau_prev, t1, t3, t4);
    pct_text(t1, sizeof t1, row->activation_rate);
    if (row->ttfv_days == INT64_MIN)
        snprintf(t2, sizeof t2, DASH);
    else
        snprintf(t2, sizeof t2, "%lld days", (long long)row->ttfv_days);
    if (isnan(row->nps))
        snprintf(t3, sizeof t3, DASH);
    else
        snprintf(t3, sizeof t3, "%.0f", row->nps);
    fprintf(out, "Time to first value %s, activation %s, NPS %s\n", t2, t1, t3);
    if (isnan(row->intensity))
        snprintf(t1, sizeof t1, DASH);
    else
        snprintf(t1, sizeof t1, "%.1f", row->intensity);
    fprintf(out, "Events in 28 days %lld, intensity %s per active user-day\n", (long long)row->events_28d, t1);
}

/* Text: features, people and outcomes. */
static void text_people(FILE *out, const up_account_page_t *pg)
{
    const up_model_t *m = pg->model;
    const up_account_metrics_t *row = pg->row;
    const up_rollup_t *r = pg->rollup;
    const up_stages_t *st = &pg->stages;
    const up_people_t *people = &pg->people;
    const up_entities_t *e = pg->entities;
    int64_t T = pg->T;
    uint32_t o_lo = pg->o_lo;
    uint32_t o_hi = pg->o_hi;
    char t1[48];
    char t2[48];
    char t3[48];
    fprintf(out, "\n%-18s %-4s %6s %6s %8s %6s %6s %7s %7s\n", "FEATURE", "CORE", "USERS", "ADOPT", "USES 28d",
            "AWARE", "TRIAL", "REGULAR", "MASTERY");
    for (size_t f = 0; f < m->n_features; f++) {
        pct_text(t1, sizeof t1, row->feature_adoption[f]);
        fprintf(out, "%-18.18s %-4s %6lld %6s %8lld %6lld %6lld %7lld %7lld\n", m->features[f].name,
                m->features[f].core ? "yes" : "no", (long long)row->feature_users[f], t1,
                (long long)pg->feature_uses[f],
                (long long)st->funnel[f][UP_STAGE_AWARE], (long long)st->funnel[f][UP_STAGE_TRIAL],
                (long long)st->funnel[f][UP_STAGE_REGULAR], (long long)st->funnel[f][UP_STAGE_MASTERY]);
    }

    fprintf(out, "\nPeople: %lld engaged in 14 days%s, %lld new in 14 days\n", (long long)people->engaged,
            people->single_threaded ? " (single-threaded: one contact or none)" : "",
            (long long)people->new_stakeholders);
    if (people->n_people) {
        fprintf(out, "%-20s %-9s %8s %11s %7s  %s\n", "USER", "ROLE", "DAYS 14d", "DAYS 28 BEF", "TREND", "LAST ACTIVE");
        for (uint32_t i = 0; i < people->n_people; i++) {
            const up_person_t *h = &people->people[i];
            pct_text(t1, sizeof t1, h->trend);
            if (h->last_active == UP_TS_NONE)
                snprintf(t2, sizeof t2, "never");
            else
                up_date_fmt(t2, up_day_of(h->last_active));
            fprintf(out, "%-20.20s %-9s %8d %11d %7s  %s\n",
                    up_dict_str(&r->dict[UP_KIND_USER], r->pairs[h->pair].user),
                    h->champion ? "champion" : "sponsor", h->days_14, h->days_prev_28, t1, t2);
        }
    } else
        fprintf(out, "No champion or sponsor in the users table.\n");

    if (o_hi > o_lo) {
        fprintf(out, "\n%-22s %12s %12s %-10s  %s\n", "OUTCOME", "VALUE", "TARGET", "DUE", "STATUS");
        for (uint32_t i = o_lo; i < o_hi;) {
            uint32_t j = i;
            while (j < o_hi && strcmp(e->outcomes[j].metric, e->outcomes[i].metric) == 0)
                j++;
            const up_outcome_t *last = &e->outcomes[j - 1];
            num(t1, sizeof t1, last->value);
            num(t2, sizeof t2, last->target);
            if (last->due == UP_TS_NONE)
                snprintf(t3, sizeof t3, DASH);
            else
                up_date_fmt(t3, up_day_of(last->due));
            fprintf(out, "%-22.22s %12s %12s %-10s  %s\n", last->metric, t1, t2[0] ? t2 : DASH, t3,
                    status_name(up_engine_outcome_on_track(&e->outcomes[i], last, T)));
            i = j;
        }
    } else
        fprintf(out, "\nNo business outcome recorded (uptake import outcomes): the level cannot be effective.\n");

}

/* Text: support and milestones. */
static void text_support(FILE *out, const up_account_page_t *pg)
{
    const up_account_extras_t *x = &pg->extras;
    int64_t T = pg->T;
    char t1[48];
    char t2[48];
    char t3[48];
    if (isnan(x->satisfaction_90d))
        snprintf(t1, sizeof t1, DASH);
    else
        snprintf(t1, sizeof t1, "%.1f", x->satisfaction_90d);
    if (isnan(x->friction))
        snprintf(t2, sizeof t2, DASH);
    else
        snprintf(t2, sizeof t2, "%.2f", x->friction);
    char errs[64] = "";
    if (x->error_events_28d >= 0)
        snprintf(errs, sizeof errs, ", %lld error events in 28 days", (long long)x->error_events_28d);
    fprintf(out, "\nSupport: %lld tickets in 28 days, %lld in 90 (%lld urgent), satisfaction %s%s; friction %s"
                 " per active user%s\n", (long long)x->tickets_28d, (long long)x->tickets_90d,
            (long long)x->urgent_90d, t1, errs, t2,
            x->friction_flag ? " - FLAG: users are active but keep asking for help (stuck in a loop?)" : "");
    if (x->n_milestones) {
        fprintf(out, "\nMilestones: %lld of %u done, %lld overdue (%lld stalled 7+ days); last 28 days %.2f done"
                     " per week vs %.2f planned\n", (long long)x->done, x->n_milestones, (long long)x->overdue,
                (long long)x->stalled, x->done_per_week, x->planned_per_week);
        for (uint32_t i = 0; i < x->n_milestones; i++) {
            const up_milestone_t *ms = &x->milestones[i];
            if (ms->due == UP_TS_NONE)
                snprintf(t1, sizeof t1, DASH);
            else
                up_date_fmt(t1, up_day_of(ms->due));
            if (ms->done_at != UP_TS_NONE && ms->done_at <= T) {
                up_date_fmt(t2, up_day_of(ms->done_at));
                snprintf(t3, sizeof t3, "done %.10s", t2);
            } else if (ms->overdue_days)
                snprintf(t3, sizeof t3, "OVERDUE %d day%s", ms->overdue_days, ms->overdue_days == 1 ? "" : "s");
            else if (ms->due != UP_TS_NONE && ms->due < T)   /* overdue from its due day on */
                snprintf(t3, sizeof t3, "OVERDUE today");
            else
                snprintf(t3, sizeof t3, "open");
            fprintf(out, "  %-28.28s due %-10s  %-18s %s\n", ms->name, t1, t3, ms->owner);
        }
    }
}

/* Text: revenue, workflows, targets and surveys. */
static void text_history(FILE *out, const up_account_page_t *pg)
{
    const up_account_extras_t *x = &pg->extras;
    const up_revenue_t *rev = &pg->revenue;
    const up_wf_row_t *wf = pg->wf_row;
    const up_portfolio_t *p = pg->portfolio;
    char t1[48];
    char t2[48];
    char t3[48];
    revenue_table(out, rev);
    if (p->model->n_workflows)
        fprintf(out, "\nWorkflows (completions in 4 weeks; funnel over 28 days):\n");
    for (size_t k = 0; k < p->model->n_workflows; k++) {
        const up_workflow_t *w = &p->model->workflows[k];
        fprintf(out, "  %-24.24s%s %lld:", w->name, w->core ? " (core)" : "       ", wf ? (long long)wf_last4(&wf->wf[k]) : 0LL);
        for (size_t q = 0; q < w->n_steps; q++)
            fprintf(out, "%s %s %lld", q ? " ->" : "", w->steps[q], wf ? (long long)wf->wf[k].funnel[q] : 0LL);
        fputc('\n', out);
    }
    if (x->n_targets)
        fprintf(out, "\nAdoption targets:\n");
    for (uint32_t i = 0; i < x->n_targets; i++) {
        const up_target_eval_t *t = &x->targets[i];
        char d[16] = "no contract";
        if (t->due != UP_NO_DAY)
            up_date_fmt(d, t->due);
        fprintf(out, "  %-24.24s %s %.3g by %s (day %d): now %.3g, %.0f%% - %s\n", t->target->name,
                t->target->metric, t->target->min, d, t->target->by_day, t->value,
                isnan(t->progress) ? 0.0 : 100 * t->progress, t->status);
    }
    fprintf(out, "\nSurveys by month:");
    for (int k = 0; k < UP_SURVEY_MONTHS; k++) {
        up_date_fmt(t1, x->months[k].first_day);
        if (isnan(x->months[k].nps))
            snprintf(t2, sizeof t2, DASH);
        else
            snprintf(t2, sizeof t2, "%.0f", x->months[k].nps);
        if (isnan(x->months[k].csat))
            snprintf(t3, sizeof t3, DASH);
        else
            snprintf(t3, sizeof t3, "%.1f", x->months[k].csat);
        fprintf(out, "%s %.7s NPS %s CSAT %s", k ? " |" : "", t1, t2, t3);
    }
    fputc('\n', out);
}

int up_report_account(FILE *out, const up_account_page_t *pg, up_format_t format)
{
    if (format == UP_FMT_CSV) {
        /* one "section,key,value" row per fact */
        csv_account(out, pg);
        csv_activity(out, pg);
    } else if (format == UP_FMT_JSON) {
        up_buf_t b = {0};
        json_account(&b, pg);
        json_activity(&b, pg);
        json_history(&b, pg);
        up_buf_puts(&b, "]}\n");
        fwrite(b.data, 1, b.len, out);
        up_buf_free(&b);
    } else {
        text_account(out, pg);
        text_people(out, pg);
        text_support(out, pg);
        text_history(out, pg);
    }
    return 0;
}
