/* test_backtest: the AUC with ties and its DeLong interval, the lift of the
 * lowest decile, the health bands, and suggested weights on data where one
 * component predicts churn perfectly; every value worked out by hand below. */
#include "testutil.h"

#include "backtest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 3 churned (1, 2, 3) x 4 retained (2, 3, 4, 5), plus a null row:
 *   c=1: below all four retained                      = 4
 *   c=2: tie with r=2 (1/2), below 3, 4, 5            = 3.5
 *   c=3: above r=2, tie with r=3 (1/2), below 4, 5    = 2.5
 *   AUC = 10 / 12 = 0.8333333333333334
 * DeLong: V(c) = 4/4, 3.5/4, 2.5/4 = 1, .875, .625: mean 5/6, sample variance
 *   ((1/6)^2 + (1/24)^2 + (5/24)^2) / 2 = (16 + 1 + 25) / 576 / 2 = 42/1152
 * W(r) = 1.5/3, 2.5/3, 3/3, 3/3 = .5, 5/6, 1, 1: mean 5/6, sample variance
 *   ((1/3)^2 + 0 + (1/6)^2 + (1/6)^2) / 3 = (4 + 1 + 1) / 36 / 3 = 6/108
 * var = 42/1152/3 + 6/108/4 = 0.012152777… + 0.013888… = 0.026041666…
 * se = 0.16137430609197573; lo = 5/6 - 1.959963984540054 se = 0.5170423…,
 * hi = 1.1496… clamped to 1. */
static void test_auc_ties(void **state)
{
    (void)state;
    const double v[] = {1, 2, 3, 2, 3, 4, 5, NAN};
    const uint8_t c[] = {1, 1, 1, 0, 0, 0, 0, 1};
    up_auc_t a;
    assert_int_equal(up_backtest_auc(v, c, 8, 1, &a), 0);
    assert_true(a.auc == 10.0 / 12.0);
    assert_int_equal(a.churned, 3);
    assert_int_equal(a.retained, 4);
    assert_int_equal(a.left_out, 1);
    double se = sqrt(42.0 / 1152.0 / 3.0 + 6.0 / 108.0 / 4.0);
    assert_true(fabs(se - 0.16137430609197573) < 1e-12);
    assert_true(fabs(a.lo - (10.0 / 12.0 - 1.959963984540054 * se)) < 1e-12);
    assert_true(a.hi == 1.0);
    /* the other way round: the score points the wrong way, 1 - 10/12 */
    const double w[] = {-1, -2, -3, -2, -3, -4, -5, NAN};
    assert_int_equal(up_backtest_auc(w, c, 8, 0, &a), 0);
    assert_true(fabs(a.auc - 2.0 / 12.0) < 1e-15);
    assert_true(isnan(a.lo));   /* not asked for */
}

/* No churned row, or a single one: AUC null / CI null. */
static void test_auc_degenerate(void **state)
{
    (void)state;
    const double v[] = {1, 2, 3};
    const uint8_t none[] = {0, 0, 0}, one[] = {1, 0, 0};
    up_auc_t a;
    assert_int_equal(up_backtest_auc(v, none, 3, 1, &a), 0);
    assert_true(isnan(a.auc));
    assert_int_equal(a.retained, 3);
    assert_int_equal(up_backtest_auc(v, one, 3, 1, &a), 0);
    assert_true(a.auc == 1.0);   /* 1 below 2 and 3 */
    assert_true(isnan(a.lo) && isnan(a.hi));   /* one churned row: no variance */
    /* all tied: 0.5 */
    const double t[] = {7, 7, 7, 7};
    const uint8_t c2[] = {1, 1, 0, 0};
    assert_int_equal(up_backtest_auc(t, c2, 4, 0, &a), 0);
    assert_true(a.auc == 0.5);
}

/* Lift: 10 rows valued 1..10, churned at 1 and 7: the lowest decile is the
 * row valued 1 (no row below it; the row valued 2 has 1 = 10% below) with
 * rate 1/1; overall 2/10 -> lift 5. Ties: values 1, 1, 2 … 9 (10 rows), the
 * two 1s both in the decile (0 below each), one churned of them, overall
 * 2/10 -> (1/2) / (2/10) = 2.5. */
static void test_lift(void **state)
{
    (void)state;
    double v[10];
    uint8_t c[10] = {0};
    for (int i = 0; i < 10; i++)
        v[i] = i + 1;
    c[0] = c[6] = 1;
    assert_true(up_backtest_lift(v, c, 10) == 5.0);
    v[1] = 1;
    assert_true(up_backtest_lift(v, c, 10) == 2.5);
    memset(c, 0, sizeof c);
    assert_true(isnan(up_backtest_lift(v, c, 10)));
}

static void test_bands(void **state)
{
    (void)state;
    assert_int_equal(up_backtest_band(0), 0);
    assert_int_equal(up_backtest_band(19.999), 0);
    assert_int_equal(up_backtest_band(20), 1);   /* boundaries go up */
    assert_int_equal(up_backtest_band(80), 4);
    assert_int_equal(up_backtest_band(100), 4);  /* 100 in the top band */
    assert_int_equal(up_backtest_band(NAN), 5);
}

/* Suggested weights: 4 snapshots x 25 accounts; breadth (component 0)
 * scores churned rows 10 and retained rows 90, so it alone separates them
 * (AUC 1.0); every other component is noise that favours the churned rows
 * half the time. The search must give breadth the weight (all of it: no
 * mix beats 1.0), and the later half's AUC under it is 1.0. */
static void test_suggest_perfect_component(void **state)
{
    (void)state;
    enum { SNAPS = 4, PER = 25, N = SNAPS * PER };
    up_backtest_t bt;
    memset(&bt, 0, sizeof bt);
    bt.n_snaps = SNAPS;
    bt.n_rows = N;
    bt.n_scores = UP_BT_COMPONENT0 + UP_H_N;
    bt.row_snap = calloc(N, sizeof *bt.row_snap);
    bt.churned = calloc(N, 1);
    bt.values = calloc(bt.n_scores * N, sizeof *bt.values);
    assert_non_null(bt.row_snap && bt.churned && bt.values);
    for (int h = 0; h < UP_H_N; h++)
        bt.weights[h] = up_health_default_weight[h];
    unsigned seed = 7;
    for (size_t i = 0; i < N; i++) {
        bt.row_snap[i] = (uint32_t)(i / PER);
        bt.churned[i] = i % 5 == 0;   /* 5 churned per snapshot */
        for (int h = 0; h < UP_H_N; h++) {
            seed = seed * 1103515245u + 12345u;
            double noise = (double)((seed >> 16) % 100);
            bt.values[(UP_BT_COMPONENT0 + (size_t)h) * N + i] = noise;
        }
        bt.values[UP_BT_COMPONENT0 * N + i] = bt.churned[i] ? 10 : 90;
    }
    up_bt_suggestion_t sg;
    assert_int_equal(up_backtest_suggest(&bt, &sg), 0);
    assert_int_equal(sg.train_snaps, 2);
    assert_int_equal(sg.test_snaps, 2);
    assert_true(sg.weights[0] == 1.0);
    double sum = 0;
    for (int h = 0; h < UP_H_N; h++) {
        assert_true(sg.weights[h] >= 0);
        sum += sg.weights[h];
    }
    assert_true(fabs(sum - 1.0) < 1e-12);
    assert_true(sg.test_suggested.auc == 1.0);
    assert_true(sg.train_suggested.auc == 1.0);
    assert_int_equal(sg.test_suggested.churned, 10);
    assert_int_equal(sg.test_suggested.retained, 40);
    /* the current weights mix in the noise: below 1.0 on the later half */
    assert_true(sg.test_current.auc < 1.0);
    /* a single snapshot cannot be split */
    bt.n_snaps = 1;
    assert_int_equal(up_backtest_suggest(&bt, &sg), -UP_EINVAL);
    free(bt.row_snap);
    free(bt.churned);
    free(bt.values);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auc_ties),
        cmocka_unit_test(test_auc_degenerate),
        cmocka_unit_test(test_lift),
        cmocka_unit_test(test_bands),
        cmocka_unit_test(test_suggest_perfect_component),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
