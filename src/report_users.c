/* report_users: rendering of stages. The table of `report users` is a matrix
 * per account (one letter per stage), the CSV one row per account × user ×
 * feature with a stage. */
#include "report_users.h"
#include "fmt.h"
#include "table.h"
#include "timeparse.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char STAGE_LETTER[UP_STAGES] = {'.', 'A', 'T', 'R', 'M'};

static const char *acc_of(const up_rollup_t *r, uint32_t pair)
{
    return up_dict_str(&r->dict[UP_KIND_ACCOUNT], r->pairs[pair].account);
}

static const char *user_of(const up_rollup_t *r, uint32_t pair)
{
    return up_dict_str(&r->dict[UP_KIND_USER], r->pairs[pair].user);
}

static void table_users(FILE *out, const up_rollup_t *r, const up_model_t *m, int64_t T, const up_stages_t *s)
{
    char day[16], first[16], last[16];
    up_date_fmt(day, up_day_of(T));
    fprintf(out, "Users and their stage per feature as of %s\n", day);
    fprintf(out, "Stages: . none, A aware, T trial, R regular, M mastery. TTFV: days from the user's\n"
                 "created_at to their first key action.\n");
    const char *cur = NULL;
    for (uint32_t i = 0; i < s->n_rows;) {
        uint32_t pair = s->rows[i].pair;
        const char *acc = acc_of(r, pair);
        if (!cur || strcmp(cur, acc) != 0) {
            cur = acc;
            fprintf(out, "\n%s\n  %-20s %-8s", acc, "USER", "ROLE");
            for (size_t f = 0; f < m->n_features; f++)
                fprintf(out, " %c", m->features[f].name[0] ? m->features[f].name[0] : '?');
            fprintf(out, "  %-10s %-10s %5s\n", "FIRST SEEN", "LAST SEEN", "TTFV");
        }
        char stages[64];
        size_t nf = m->n_features < sizeof stages ? m->n_features : sizeof stages - 1;
        memset(stages, '.', nf);
        uint32_t j = i;
        for (; j < s->n_rows && s->rows[j].pair == pair; j++)
            if (s->rows[j].feature < nf)
                stages[s->rows[j].feature] = STAGE_LETTER[s->rows[j].stage];
        const up_pair_t *p = &r->pairs[pair];
        up_date_fmt(first, up_day_of(p->first_ts));
        up_date_fmt(last, up_day_of(p->last_ts > T ? T : p->last_ts));
        char ttfv[16] = "\xe2\x80\x93";
        if (p->created_at != UP_TS_NONE && p->first_ka_ts <= T) {
            int64_t d = (int64_t)up_day_of(p->first_ka_ts) - up_day_of(p->created_at);
            snprintf(ttfv, sizeof ttfv, "%lldd", (long long)(d < 0 ? 0 : d));
        }
        const char *role = (p->flags & UP_PAIR_CHAMPION) ? "champion" : (p->flags & UP_PAIR_SPONSOR) ? "sponsor" : "";
        fprintf(out, "  %-20.20s %-8s", user_of(r, pair), role);
        for (size_t f = 0; f < nf; f++)
            fprintf(out, " %c", stages[f]);
        fprintf(out, "  %-10s %-10s %5s\n", first, last, ttfv);
        i = j;
    }
    fprintf(out, "\nFeatures, in column order:");
    for (size_t f = 0; f < m->n_features; f++)
        fprintf(out, "%s %s", f ? "," : "", m->features[f].name);
    fprintf(out, ". Users without any stage are not listed.\n");
}

enum { U_ACCOUNT, U_USER, U_FEATURE, U_STAGE, U_DAYS, U_N };
static const up_col_t USER_COLS[U_N] = {
    [U_ACCOUNT] = {"account_id", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [U_USER] = {"user_id", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [U_FEATURE] = {"feature", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [U_STAGE] = {"stage", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [U_DAYS] = {"days_used_28d", UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
};

int up_report_users(FILE *out, const up_rollup_t *r, const up_model_t *m, int64_t T,
                    const up_stages_t *s, up_format_t format)
{
    if (format == UP_FMT_TABLE) {   /* a matrix per account: one letter per stage */
        table_users(out, r, m, T, s);
        return 0;
    }
    up_table_t t;
    up_table_init(&t, USER_COLS, U_N);
    t.json_key = "users";
    up_time_fmt(t.json_as_of, T);
    up_table_stream(&t, out, format);   /* one row per user × feature: millions on a large store */
    for (uint32_t i = 0; i < s->n_rows && up_table_row(&t) == 0; i++) {
        const up_stage_row_t *row = &s->rows[i];
        up_table_ref(&t, U_ACCOUNT, acc_of(r, row->pair));
        up_table_ref(&t, U_USER, user_of(r, row->pair));
        up_table_ref(&t, U_FEATURE, m->features[row->feature].name);
        up_table_ref(&t, U_STAGE, up_stage_names[row->stage]);
        up_table_int(&t, U_DAYS, row->days_used_28d);
    }
    int rc = up_table_end(&t, out, format);
    up_table_free(&t);
    return rc;
}

/* Share of those who reached stage `from` or beyond that reached `to` or beyond. */
static double conversion(const int64_t *c, int from, int to)
{
    int64_t reached_from = 0, reached_to = 0;
    for (int k = from; k < UP_STAGES; k++)
        reached_from += c[k];
    for (int k = to; k < UP_STAGES; k++)
        reached_to += c[k];
    return reached_from ? (double)reached_to / (double)reached_from : NAN;
}

/* Where the feature's users cluster, as a sentence. */
static const char *diagnosis(const int64_t *c)
{
    int64_t trying = c[UP_STAGE_TRIAL] + c[UP_STAGE_REGULAR] + c[UP_STAGE_MASTERY];
    if (trying == 0)
        return c[UP_STAGE_AWARE] ? "seen but never used: an awareness-to-trial problem" : "no users yet";
    if (c[UP_STAGE_TRIAL] >= c[UP_STAGE_REGULAR] + c[UP_STAGE_MASTERY])
        return "stuck between trial and regular: a workflow friction problem";
    if (c[UP_STAGE_REGULAR] > c[UP_STAGE_MASTERY])
        return "stuck between regular and mastery: an education problem";
    return "most regular users reach mastery";
}

enum { ST_FEATURE, ST_NONE, ST_AWARE, ST_TRIAL, ST_REGULAR, ST_MASTERY, ST_A_T, ST_T_R, ST_R_M, ST_WHY, ST_N };
#define STAGE_COL_(name) {name, UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL}
#define CONV_COL_(name) {name, UP_COL_NUM, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL}
static const up_col_t STAGE_COLS[ST_N] = {
    [ST_FEATURE] = {"feature", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [ST_NONE] = STAGE_COL_("none"), [ST_AWARE] = STAGE_COL_("aware"), [ST_TRIAL] = STAGE_COL_("trial"),
    [ST_REGULAR] = STAGE_COL_("regular"), [ST_MASTERY] = STAGE_COL_("mastery"),
    [ST_A_T] = CONV_COL_("aware_to_trial"), [ST_T_R] = CONV_COL_("trial_to_regular"),
    [ST_R_M] = CONV_COL_("regular_to_mastery"),
    [ST_WHY] = {"diagnosis", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
};

/* The text table: a line per feature with its diagnosis under it. */
static void table_stages(FILE *out, const up_table_t *t, int64_t T)
{
    char day[16];
    up_date_fmt(day, up_day_of(T));
    fprintf(out, "Adoption stages as of %s: users per stage, and the share that moved on\n\n", day);
    fprintf(out, "%-16s %7s %7s %7s %7s %7s  %6s  %6s  %6s\n", "FEATURE", "NONE", "AWARE", "TRIAL", "REGULAR",
            "MASTERY", "A>T", "T>R", "R>M");
    for (size_t i = 0; i < t->nrows; i++) {
        fprintf(out, "%-16.16s", up_table_get(t, i, ST_FEATURE));
        for (int k = ST_NONE; k <= ST_MASTERY; k++)
            fprintf(out, " %7s", up_table_get(t, i, k));
        for (int k = ST_A_T; k <= ST_R_M; k++) {
            double v = up_table_getnum(t, i, k);
            if (isnan(v))
                fprintf(out, "  %6s", "-");
            else
                fprintf(out, "  %5.0f%%", 100 * v);
        }
        fprintf(out, "\n  %s\n", up_table_get(t, i, ST_WHY));
    }
    fprintf(out, "\nA>T: users who tried it of those who at least saw it; T>R: regular (3 of the last 4\n"
                 "weeks) of those who tried; R>M: mastery (advanced use or top 10%% by days) of regulars.\n");
}

int up_report_users_stages(FILE *out, const up_model_t *m, int64_t T, const up_stages_t *s,
                     const char *feature, up_format_t format)
{
    size_t only = SIZE_MAX;
    if (feature) {
        for (size_t f = 0; f < m->n_features; f++)
            if (strcmp(m->features[f].name, feature) == 0)
                only = f;
        if (only == SIZE_MAX)
            return -UP_ENOTFOUND;
    }
    up_table_t t;
    up_table_init(&t, STAGE_COLS, ST_N);
    t.json_key = "stages";
    up_time_fmt(t.json_as_of, T);
    for (size_t f = 0; f < m->n_features; f++) {
        if ((only != SIZE_MAX && f != only) || up_table_row(&t) < 0)
            continue;
        up_table_text(&t, ST_FEATURE, m->features[f].name);
        for (int k = 0; k < UP_STAGES; k++)
            up_table_int(&t, ST_NONE + (size_t)k, s->funnel[f][k]);
        for (int k = 0; k < 3; k++)   /* aware → trial, trial → regular, regular → mastery */
            up_table_num(&t, ST_A_T + (size_t)k, conversion(s->funnel[f], UP_STAGE_AWARE + k, UP_STAGE_AWARE + k + 1));
        up_table_text(&t, ST_WHY, diagnosis(s->funnel[f]));
    }
    int rc = t.oom ? -UP_ENOMEM : 0;
    if (rc == 0 && format == UP_FMT_TABLE)
        table_stages(out, &t, T);
    else if (rc == 0)
        rc = up_table_write(out, &t, format);
    up_table_free(&t);
    return rc;
}
