/* report_backtest: the backtest's tables in each format (see the header). */
#include "report_backtest.h"

#include "engine.h"
#include "table.h"
#include "timeparse.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void up_report_backtest_direction(const char *name, double auc, char *out, size_t n)
{
    if (isnan(auc))
        snprintf(out, n, "%s", "");
    else if (auc == 0.5)
        snprintf(out, n, "no signal");
    else
        snprintf(out, n, "%s %s, more churn", auc > 0.5 ? "lower" : "higher", name);
}

enum { S_SCORE, S_AUC, S_LO, S_HI, S_CI, S_CHURNED, S_RETAINED, S_LEFT, S_LIFT, S_DIR, S_N };
static const up_col_t SCORE_COLS[S_N] = {
    [S_SCORE] = {"score", UP_COL_TEXT, "SCORE", 28, UP_SHOW_PLAIN, UP_COL_CLIP, NULL, NULL},
    [S_AUC] = {"auc", UP_COL_NUM, "AUC", 6, UP_SHOW_PLAIN, 0, NULL, NULL},
    [S_LO] = {"auc_low", UP_COL_NUM, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [S_HI] = {"auc_high", UP_COL_NUM, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [S_CI] = {NULL, UP_COL_TEXT, "95% CI", 13, UP_SHOW_PLAIN, UP_COL_NOCSV | UP_COL_NOJSON, NULL, NULL},
    [S_CHURNED] = {"churned", UP_COL_INT, "CHURNED", 7, UP_SHOW_PLAIN, 0, NULL, NULL},
    [S_RETAINED] = {"retained", UP_COL_INT, "RETAINED", 8, UP_SHOW_PLAIN, 0, NULL, NULL},
    [S_LEFT] = {"left_out", UP_COL_INT, "NULL", 6, UP_SHOW_PLAIN, 0, NULL, NULL},
    [S_LIFT] = {"lift", UP_COL_NUM, "LIFT", 5, UP_SHOW_PLAIN, 0, NULL, NULL},
    [S_DIR] = {"direction", UP_COL_TEXT, "DIRECTION", 0, UP_SHOW_PLAIN, UP_COL_LEFT, "  ", NULL},
};

enum { C_GROUP, C_ROWS, C_CHURNED, C_RATE, C_N };
static const up_col_t CAL_COLS[C_N] = {
    [C_GROUP] = {"group", UP_COL_TEXT, "GROUP", 16, UP_SHOW_PLAIN, 0, NULL, NULL},
    [C_ROWS] = {"rows", UP_COL_INT, "ROWS", 8, UP_SHOW_PLAIN, 0, NULL, NULL},
    [C_CHURNED] = {"churned", UP_COL_INT, "CHURNED", 8, UP_SHOW_PLAIN, 0, NULL, NULL},
    [C_RATE] = {"rate", UP_COL_NUM, "RATE", 7, UP_SHOW_PCT1, 0, NULL, NULL},
};

enum { W_NAME, W_CURRENT, W_SUGGESTED, W_N };
static const up_col_t WEIGHT_COLS[W_N] = {
    [W_NAME] = {"component", UP_COL_TEXT, "COMPONENT", 12, UP_SHOW_PLAIN, 0, NULL, NULL},
    [W_CURRENT] = {"current", UP_COL_NUM, "CURRENT", 8, UP_SHOW_PLAIN, 0, NULL, NULL},
    [W_SUGGESTED] = {"suggested", UP_COL_NUM, "SUGGESTED", 9, UP_SHOW_PLAIN, 0, NULL, NULL},
};

/* 4-digit rounding for the text table (CSV and JSON keep every digit). */
static double r4(double x)
{
    return isnan(x) ? x : round(x * 10000) / 10000;
}

static int score_table(up_table_t *t, const up_backtest_t *bt, int text)
{
    up_table_init(t, SCORE_COLS, S_N);
    t->json_key = "scores";
    t->header = 1;
    t->utf8 = 1;
    for (size_t j = 0; j < bt->n_scores; j++) {
        const up_bt_score_t *sc = &bt->scores[bt->ranked[j]];
        char dir[160];
        up_report_backtest_direction(sc->name, sc->auc.auc, dir, sizeof dir);
        if (up_table_row(t) < 0)
            return -UP_ENOMEM;
        up_table_ref(t, S_SCORE, sc->name);
        up_table_num(t, S_AUC, text ? r4(sc->auc.auc) : sc->auc.auc);
        up_table_num(t, S_LO, text ? r4(sc->auc.lo) : sc->auc.lo);
        up_table_num(t, S_HI, text ? r4(sc->auc.hi) : sc->auc.hi);
        if (text && !isnan(sc->auc.lo))
            up_table_textf(t, S_CI, "%.3f–%.3f", sc->auc.lo, sc->auc.hi);
        up_table_int(t, S_CHURNED, sc->auc.churned);
        up_table_int(t, S_RETAINED, sc->auc.retained);
        up_table_int(t, S_LEFT, sc->auc.left_out);
        up_table_num(t, S_LIFT, text ? round(sc->lift * 100) / 100 : sc->lift);
        up_table_text(t, S_DIR, dir);
    }
    return 0;
}

static double rate(const up_bt_cell_t *c)
{
    return c->rows ? (double)c->churned / (double)c->rows : NAN;
}

static int cal_row(up_table_t *t, const char *name, const up_bt_cell_t *c)
{
    if (up_table_row(t) < 0)
        return -UP_ENOMEM;
    up_table_ref(t, C_GROUP, name);
    up_table_int(t, C_ROWS, c->rows);
    up_table_int(t, C_CHURNED, c->churned);
    up_table_num(t, C_RATE, rate(c));
    return 0;
}

static int cal_tables(up_table_t *lv, up_table_t *bd, const up_backtest_t *bt)
{
    up_table_init(lv, CAL_COLS, C_N);
    up_table_init(bd, CAL_COLS, C_N);
    lv->header = bd->header = 1;
    int rc = 0;
    for (int l = 0; l < 3; l++)
        rc |= cal_row(lv, up_level_names[l], &bt->by_level[l]);
    rc |= cal_row(lv, "all", &bt->all);
    for (int b = 0; b < UP_BT_BANDS; b++)
        rc |= cal_row(bd, up_bt_band_names[b], &bt->by_band[b]);
    return rc ? -UP_ENOMEM : 0;
}

static int weight_table(up_table_t *t, const up_backtest_t *bt, const up_bt_suggestion_t *sg)
{
    up_table_init(t, WEIGHT_COLS, W_N);
    t->json_key = "weights";
    t->header = 1;
    for (int h = 0; h < UP_H_N; h++) {
        if (up_table_row(t) < 0)
            return -UP_ENOMEM;
        up_table_ref(t, W_NAME, up_health_names[h]);
        up_table_num(t, W_CURRENT, bt->weights[h]);
        up_table_num(t, W_SUGGESTED, sg->weights[h]);
    }
    return 0;
}

static void auc_text(char *out, size_t n, const up_auc_t *a)
{
    if (isnan(a->auc))
        snprintf(out, n, "– (%lld churned, %lld retained)", (long long)a->churned, (long long)a->retained);
    else
        snprintf(out, n, "%.4f (%lld churned, %lld retained)", a->auc, (long long)a->churned, (long long)a->retained);
}

static void json_auc(up_buf_t *b, const char *key, const up_auc_t *a)
{
    up_buf_printf(b, "\"%s\":{\"auc\":", key);
    up_fmt_json_num(b, a->auc);
    up_buf_puts(b, ",\"auc_low\":");
    up_fmt_json_num(b, a->lo);
    up_buf_puts(b, ",\"auc_high\":");
    up_fmt_json_num(b, a->hi);
    up_buf_printf(b, ",\"churned\":%lld,\"retained\":%lld,\"left_out\":%lld}", (long long)a->churned,
                  (long long)a->retained, (long long)a->left_out);
}

/* The model snippet of the suggested weights, for `uptake model set`. */
static void snippet(FILE *out, const up_bt_suggestion_t *sg, const char *indent)
{
    fprintf(out, "%ssettings:\n%s  health_weights:\n", indent, indent);
    for (int h = 0; h < UP_H_N; h++)
        fprintf(out, "%s    %s: %.2f\n", indent, up_health_names[h], sg->weights[h]);
}

static void text_head(FILE *out, const up_backtest_t *bt)
{
    char a[16], b[16], d[16];
    up_date_fmt(a, bt->d1);
    up_date_fmt(b, bt->d2);
    fprintf(out, "Backtest %s .. %s, horizon %d days: %u month-end snapshot%s, %lld customer rows, %lld churned (%.1f%%)\n",
            a, b, bt->horizon, bt->n_snaps, bt->n_snaps == 1 ? "" : "s", (long long)bt->all.rows,
            (long long)bt->all.churned, bt->all.rows ? 100.0 * (double)bt->all.churned / (double)bt->all.rows : 0.0);
    fputs("Snapshots:", out);
    for (uint32_t i = 0; i < bt->n_snaps; i++) {
        up_date_fmt(d, bt->snaps[i].day);
        fprintf(out, " %s (%lld, %lld churned)%s", d, (long long)bt->snaps[i].customers,
                (long long)bt->snaps[i].churned, i + 1 < bt->n_snaps ? "," : "\n\n");
    }
}

static const char FOOT[] =
    "\nAUC: the share of (churned, retained) pairs in which the churned row scored lower (ties half):\n"
    "1.0 separates perfectly, 0.5 is chance, below 0.5 the score points the other way. 95% CI by DeLong.\n"
    "LIFT: churn rate of the score's lowest decile / the overall churn rate.\n";

static int write_text(FILE *out, const up_backtest_t *bt, const up_bt_suggestion_t *sg, int html)
{
    up_table_t sc, lv, bd, wt;
    int rc = score_table(&sc, bt, 1);
    if (rc == 0)
        rc = cal_tables(&lv, &bd, bt);
    if (rc == 0 && sg)
        rc = weight_table(&wt, bt, sg);
    up_format_t f = html ? UP_FMT_HTML : UP_FMT_TABLE;
    if (rc == 0) {
        if (html) {
            fputs("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>uptake backtest</title>"
                  "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
                  "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
                  "td:first-child,th:first-child{text-align:left}</style></head><body><h1>Backtest</h1><pre>", out);
            text_head(out, bt);
            fputs("</pre><h2>Scores, ranked</h2>", out);
        } else
            text_head(out, bt);
        rc = up_table_write(out, &sc, f);
        fputs(html ? "<h2>Churn rate by level</h2>" : "\nChurn rate by adoption level at the snapshots\n", out);
        if (rc == 0)
            rc = up_table_write(out, &lv, f);
        fputs(html ? "<h2>Churn rate by health band</h2>" : "\nChurn rate by health band (the calibration table)\n", out);
        if (rc == 0)
            rc = up_table_write(out, &bd, f);
        const up_bt_score_t *h = &bt->scores[0];
        if (isnan(h->lift))
            fprintf(out, "%sLift of health's lowest decile: – (no churn)%s", html ? "<p>" : "\n", html ? "</p>" : "\n");
        else
            fprintf(out, "%sLift of health's lowest decile: %.2f× the overall churn rate%s", html ? "<p>" : "\n",
                    h->lift, html ? "</p>" : "\n");
        if (sg && rc == 0) {
            char c1[96], c2[96];
            fprintf(out, "%sSuggested health weights: fitted on the first %u snapshot%s, judged on the last %u%s",
                    html ? "<h2>" : "\n", sg->train_snaps, sg->train_snaps == 1 ? "" : "s", sg->test_snaps,
                    html ? "</h2>" : "\n");
            rc = up_table_write(out, &wt, f);
            auc_text(c1, sizeof c1, &sg->test_current);
            auc_text(c2, sizeof c2, &sg->test_suggested);
            fprintf(out, "%sHeld-out AUC of health: current weights %s, suggested %s%s", html ? "<p>" : "\n", c1, c2,
                    html ? "</p>" : "\n");
            fputs(html ? "<p>Not applied. To use them, add to the model and run uptake model set:</p><pre>"
                       : "Not applied. To use them, add this to the model and run `uptake model set FILE`:\n\n", out);
            snippet(out, sg, html ? "" : "  ");
            if (html)
                fputs("</pre>", out);
        }
        if (html)
            fputs("<p>AUC: the share of (churned, retained) pairs in which the churned row scored lower (ties "
                  "half). 95% CI by DeLong. Lift: churn rate of the lowest decile / overall.</p></body></html>\n", out);
        else
            fputs(FOOT, out);
    }
    up_table_free(&sc);
    up_table_free(&lv);
    up_table_free(&bd);
    if (sg)
        up_table_free(&wt);
    return rc;
}

static int write_json(FILE *out, const up_backtest_t *bt, const up_bt_suggestion_t *sg)
{
    up_table_t sc, lv, bd;
    up_buf_t b = {0};
    int rc = score_table(&sc, bt, 0);
    if (rc == 0)
        rc = cal_tables(&lv, &bd, bt);
    if (rc == 0) {
        char a[16], d[16];
        up_date_fmt(a, bt->d1);
        up_date_fmt(d, bt->d2);
        up_buf_printf(&b, "{\"from\":\"%s\",\"to\":\"%s\",\"horizon\":%d,\"rows\":%lld,\"churned\":%lld,\"snapshots\":[",
                      a, d, bt->horizon, (long long)bt->all.rows, (long long)bt->all.churned);
        for (uint32_t i = 0; i < bt->n_snaps; i++) {
            up_date_fmt(a, bt->snaps[i].day);
            up_buf_printf(&b, "%s{\"date\":\"%s\",\"customers\":%lld,\"churned\":%lld}", i ? "," : "", a,
                          (long long)bt->snaps[i].customers, (long long)bt->snaps[i].churned);
        }
        up_buf_puts(&b, "],\"scores\":[");
        for (size_t r = 0; r < sc.nrows; r++) {
            if (r)
                up_buf_puts(&b, ",");
            up_table_json_row(&b, &sc, r);
        }
        up_buf_puts(&b, "],\"calibration\":{\"level\":");
        up_table_json_rows(&b, &lv);
        up_buf_puts(&b, ",\"health_band\":");
        up_table_json_rows(&b, &bd);
        up_buf_puts(&b, "},\"lift\":");
        up_fmt_json_num(&b, bt->scores[0].lift);
        if (sg) {
            up_buf_puts(&b, ",\"suggestion\":{\"train_snapshots\":");
            up_buf_printf(&b, "%u,\"test_snapshots\":%u,\"weights\":{", sg->train_snaps, sg->test_snaps);
            for (int h = 0; h < UP_H_N; h++) {
                up_buf_printf(&b, "%s\"%s\":", h ? "," : "", up_health_names[h]);
                up_fmt_json_num(&b, sg->weights[h]);
            }
            up_buf_puts(&b, "},\"current_weights\":{");
            for (int h = 0; h < UP_H_N; h++) {
                up_buf_printf(&b, "%s\"%s\":", h ? "," : "", up_health_names[h]);
                up_fmt_json_num(&b, bt->weights[h]);
            }
            up_buf_puts(&b, "},");
            json_auc(&b, "train_current", &sg->train_current);
            up_buf_puts(&b, ",");
            json_auc(&b, "train_suggested", &sg->train_suggested);
            up_buf_puts(&b, ",");
            json_auc(&b, "test_current", &sg->test_current);
            up_buf_puts(&b, ",");
            json_auc(&b, "test_suggested", &sg->test_suggested);
            up_buf_puts(&b, "}");
        }
        if (up_buf_puts(&b, "}\n") < 0)   /* memory that ran out earlier runs out here too */
            rc = -UP_ENOMEM;
        else if (fwrite(b.data, 1, b.len, out) != b.len)
            rc = -UP_EIO;
        up_table_free(&lv);
        up_table_free(&bd);
    }
    up_table_free(&sc);
    up_buf_free(&b);
    return rc;
}

int up_report_backtest(up_store_t *s, const up_backtest_req_t *q, FILE *out, char *err, size_t errlen)
{
    up_backtest_t bt;
    int rc = up_backtest_run(s, q->d1, q->d2, q->horizon, &bt, err, errlen);
    if (rc < 0)
        return rc;
    up_bt_suggestion_t sg, *sgp = NULL;
    if (q->suggest) {
        rc = up_backtest_suggest(&bt, &sg);
        if (rc == -UP_EINVAL)
            snprintf(err, errlen, "--suggest-weights needs at least 2 snapshots (month ends) to fit on the earlier "
                                  "half and judge on the later; this range has %u", bt.n_snaps);
        else if (rc < 0)
            snprintf(err, errlen, "%s", up_strerror(rc));
        sgp = &sg;
    }
    if (rc == 0) {
        if (q->format == UP_FMT_JSON)
            rc = write_json(out, &bt, sgp);
        else if (q->format == UP_FMT_CSV && sgp) {
            up_table_t wt;
            rc = weight_table(&wt, &bt, sgp);
            if (rc == 0)
                rc = up_table_write(out, &wt, UP_FMT_CSV);
            up_table_free(&wt);
        } else if (q->format == UP_FMT_CSV) {
            up_table_t sc;
            rc = score_table(&sc, &bt, 0);
            if (rc == 0)
                rc = up_table_write(out, &sc, UP_FMT_CSV);
            up_table_free(&sc);
        } else
            rc = write_text(out, &bt, sgp, q->format == UP_FMT_HTML);
        if (rc < 0)
            snprintf(err, errlen, "%s", up_strerror(rc));
    }
    up_backtest_free(&bt);
    return rc;
}
