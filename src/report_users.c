/* report_users: rendering of stages. The table of `report users` is a matrix
 * per account (one letter per stage), the CSV one row per account × user ×
 * feature with a stage. */
#include "report_users.h"
#include "fmt.h"
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
    up_fmt_date(day, up_day_of(T));
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
        up_fmt_date(first, up_day_of(p->first_ts));
        up_fmt_date(last, up_day_of(p->last_ts > T ? T : p->last_ts));
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

int up_report_users(FILE *out, const up_rollup_t *r, const up_model_t *m, int64_t T,
                    const up_stages_t *s, up_format_t format)
{
    if (format == UP_FMT_CSV) {
        fputs("account_id,user_id,feature,stage,days_used_28d\n", out);
        for (uint32_t i = 0; i < s->n_rows; i++) {
            const up_stage_row_t *row = &s->rows[i];
            up_fmt_csv_field(out, acc_of(r, row->pair));
            fputc(',', out);
            up_fmt_csv_field(out, user_of(r, row->pair));
            fputc(',', out);
            up_fmt_csv_field(out, m->features[row->feature].name);
            fprintf(out, ",%s,%d\n", up_stage_names[row->stage], row->days_used_28d);
        }
        return 0;
    }
    if (format == UP_FMT_JSON) {
        up_buf_t b = {0};
        char t[40];
        up_fmt_time(t, T);
        up_buf_puts(&b, "{\"as_of\":");
        up_fmt_json_str(&b, t);
        up_buf_puts(&b, ",\"users\":[");
        for (uint32_t i = 0; i < s->n_rows; i++) {
            const up_stage_row_t *row = &s->rows[i];
            up_buf_puts(&b, i ? ",\n{\"account_id\":" : "\n{\"account_id\":");
            up_fmt_json_str(&b, acc_of(r, row->pair));
            up_buf_puts(&b, ",\"user_id\":");
            up_fmt_json_str(&b, user_of(r, row->pair));
            up_buf_puts(&b, ",\"feature\":");
            up_fmt_json_str(&b, m->features[row->feature].name);
            up_buf_printf(&b, ",\"stage\":\"%s\",\"days_used_28d\":%d}", up_stage_names[row->stage],
                          row->days_used_28d);
        }
        up_buf_puts(&b, "\n]}\n");
        fwrite(b.data, 1, b.len, out);
        up_buf_free(&b);
        return 0;
    }
    table_users(out, r, m, T, s);
    return 0;
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

int up_report_stages(FILE *out, const up_model_t *m, int64_t T, const up_stages_t *s,
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
    char t[40];
    if (format == UP_FMT_CSV) {
        fputs("feature,none,aware,trial,regular,mastery\n", out);
        for (size_t f = 0; f < m->n_features; f++) {
            if (only != SIZE_MAX && f != only)
                continue;
            up_fmt_csv_field(out, m->features[f].name);
            for (int k = 0; k < UP_STAGES; k++)
                fprintf(out, ",%lld", (long long)s->funnel[f][k]);
            fputc('\n', out);
        }
        return 0;
    }
    if (format == UP_FMT_JSON) {
        up_buf_t b = {0};
        up_fmt_time(t, T);
        up_buf_puts(&b, "{\"as_of\":");
        up_fmt_json_str(&b, t);
        up_buf_puts(&b, ",\"stages\":[");
        int first = 1;
        for (size_t f = 0; f < m->n_features; f++) {
            if (only != SIZE_MAX && f != only)
                continue;
            up_buf_puts(&b, first ? "\n{\"feature\":" : ",\n{\"feature\":");
            first = 0;
            up_fmt_json_str(&b, m->features[f].name);
            for (int k = 0; k < UP_STAGES; k++)
                up_buf_printf(&b, ",\"%s\":%lld", up_stage_names[k], (long long)s->funnel[f][k]);
            const int from[3] = {UP_STAGE_AWARE, UP_STAGE_TRIAL, UP_STAGE_REGULAR};
            static const char *const names[3] = {"aware_to_trial", "trial_to_regular", "regular_to_mastery"};
            for (int k = 0; k < 3; k++) {
                double v = conversion(s->funnel[f], from[k], from[k] + 1);
                if (isnan(v))
                    up_buf_printf(&b, ",\"%s\":null", names[k]);
                else {
                    up_fmt_double(t, sizeof t, v);
                    up_buf_printf(&b, ",\"%s\":%s", names[k], t);
                }
            }
            up_buf_puts(&b, ",\"diagnosis\":");
            up_fmt_json_str(&b, diagnosis(s->funnel[f]));
            up_buf_puts(&b, "}");
        }
        up_buf_puts(&b, "\n]}\n");
        fwrite(b.data, 1, b.len, out);
        up_buf_free(&b);
        return 0;
    }
    up_fmt_date(t, up_day_of(T));
    fprintf(out, "Adoption stages as of %s: users per stage, and the share that moved on\n\n", t);
    fprintf(out, "%-16s %7s %7s %7s %7s %7s  %6s  %6s  %6s\n", "FEATURE", "NONE", "AWARE", "TRIAL", "REGULAR",
            "MASTERY", "A>T", "T>R", "R>M");
    for (size_t f = 0; f < m->n_features; f++) {
        if (only != SIZE_MAX && f != only)
            continue;
        const int64_t *c = s->funnel[f];
        fprintf(out, "%-16.16s %7lld %7lld %7lld %7lld %7lld", m->features[f].name, (long long)c[0],
                (long long)c[1], (long long)c[2], (long long)c[3], (long long)c[4]);
        for (int k = 1; k <= 3; k++) {
            double v = conversion(c, k, k + 1);
            if (isnan(v))
                fprintf(out, "  %6s", "-");
            else
                fprintf(out, "  %5.0f%%", 100 * v);
        }
        fprintf(out, "\n  %s\n", diagnosis(c));
    }
    fprintf(out, "\nA>T: users who tried it of those who at least saw it; T>R: regular (3 of the last 4\n"
                 "weeks) of those who tried; R>M: mastery (advanced use or top 10%% by days) of regulars.\n");
    return 0;
}
