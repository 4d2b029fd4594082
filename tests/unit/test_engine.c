/* test_engine: every account metric on a fixture small enough to work out by
 * hand. The working is in the comments; the numbers were not produced by the
 * code under test.
 *
 * As of T = 2026-03-31 (end of day), D0 = 2026-03-31. Model: features a (core;
 * events a.use, advanced a.adv, exposure a.tour), b (core; b.use), c (c.use);
 * passive: login; key action: key (in no feature, so it makes users active).
 *
 * Account X: seats 4, contract_start D0-30. Users table: u1 champion created
 * D0-60; u2 created D0-20 10:00; u3 created D0+5 (after T); u4 created D0-14
 * 08:00. u5 appears only in events.
 *   u1: a.use D0 12:00; a.use D0-7 (message id m1); a.use D0-13 (id m1 again:
 *       a duplicate, dropped); a.use D0+1 (after T, ignored)
 *   u2: login D0 (passive); key D0-6 10:00:00.000 (created + 14 days exactly:
 *       activated); a.tour D0-10 (exposure: passive)
 *   u4: key D0 08:00:00.001 (1 ms past created + 14 days: not activated)
 *   u5: c.use D0-27 00:00:00.000 (first instant of window(28));
 *       b.use D0-28 23:59:59 (one second before it)
 *   u6: a.use D0+2 (after T: known from D0+2 on)
 * DAU = {u1, u4} = 2; WAU (D0-6..D0) = {u1, u2, u4} = 3; WAU(T-7d) = {u1} = 1
 * (u2's tour on D0-10 is passive); MAU = {u1, u2, u4, u5} = 4.
 * known_users = u1, u2, u4 (u3 created after T) + u5 = 4; breadth = 4/4 = 1.
 * depth: a used (u1), b not in window → 1/2 = 0.5.
 * feature_adoption a = 1/4, b = 0/4, c = 1/4.
 * stickiness: active days in window(28): u1 2 (D0, D0-7; the duplicate would
 * add D0-13), u2 1, u4 1, u5 1 → (5/28)/4 = 0.044642857142857144.
 * wau_trend = (3 - 1)/1 = 2. ttfv: first key action D0-6, contract D0-30 → 24.
 * activation: cohort created D0-41..D0-14 = {u2, u4}; activated {u2} → 0.5.
 * consistency: blocks whose first day >= D0-30: k = 0..3. Active: k0 yes, k1
 * (D0-13..D0-7) yes via u1 D0-7, k2 (D0-20..D0-14) no, k3 (D0-27..D0-21) yes
 * via u5 → 3/4 = 0.75. champion_active: u1 active D0 → true.
 * nps: 10 at D0-89 00:00 (first instant of window(90)), 9 at D0, 3 at D0 12:00
 * in window; 6 at D0-90 23:59:59 out; a csat answer ignored → (2 - 1)·100/3 =
 * 33.333333333333336. health: scores 100, 50, 200·0.0446… = 8.928571428571429,
 * 75, 50+200 → 100, (33.3…+100)/2 = 66.66666666666667; weights sum to 1 →
 * 68.00595238095238 (Python: sum(w/W*s)).
 *
 * Account Y (not in the accounts table, seats 0): v1 b.use D0-3, login D0.
 * known 1, MAU 1, breadth 1/1 = 1, depth 1/2, stickiness (1/28)/1 =
 * 0.03571428571428571, wau_prev 0 → wau_trend null, consistency 1/12 (no
 * contract: all 12 blocks count), health over breadth, depth, stickiness,
 * consistency with W = 0.8 → 55.50595238095237.
 * Account Z (table, seats 0, no users, no events): breadth null, depth 0,
 * consistency 0/12 = 0, health over depth and consistency = 0.
 * Account W: only an event after T → not listed. */
#include "fixture.h"

#include <math.h>
#include <unistd.h>

#include "engine.h"
#include "store.h"
#include "timeparse.h"

static const char MODEL[] =
    "features:\n"
    "  - name: a\n    core: true\n    events: [a.use]\n    advanced_events: [a.adv]\n    exposure_events: [a.tour]\n"
    "  - name: b\n    core: true\n    events: [b.use]\n"
    "  - name: c\n    events: [c.use]\n"
    "passive_events: [login]\nkey_actions: [key]\n";

static int32_t D0;
static char dir[64];

static int64_t at(int day_offset, int h, int m, int s, int ms)
{
    return fx_ms(D0 + day_offset, h, m, s, ms);
}

static void build(void)
{
    D0 = up_days_from_civil(2026, 3, 31);
    assert_int_equal(fx_mkdtemp(dir, sizeof dir, "engine"), 0);
    up_store_t *s = fx_create(dir, MODEL, "test");
    char q[1024];
    snprintf(q, sizeof q,
             "INSERT INTO accounts(account_id, seats, contract_start) VALUES ('X', 4, '2026-03-01'), ('Z', 0, NULL);"
             "INSERT INTO users(account_id, user_id, created_at, role) VALUES"
             " ('X','u1',%lld,' Champion '), ('X','u2',%lld,'user'), ('X','u3',%lld,NULL), ('X','u4',%lld,NULL);"
             "INSERT INTO surveys(account_id, user_id, ts, kind, score) VALUES"
             " ('X','u1',%lld,'nps',10), ('X','u2',%lld,'nps',9), ('X','u4',%lld,'nps',3),"
             " ('X','u1',%lld,'nps',6), ('X','u1',%lld,'csat',1);",
             (long long)at(-60, 9, 0, 0, 0), (long long)at(-20, 10, 0, 0, 0), (long long)at(5, 0, 0, 0, 0),
             (long long)at(-14, 8, 0, 0, 0), (long long)at(-89, 0, 0, 0, 0), (long long)at(0, 9, 0, 0, 0),
             (long long)at(0, 12, 0, 0, 0), (long long)at(-90, 23, 59, 59, 0), (long long)at(-1, 0, 0, 0, 0));
    fx_sql(s, q);
    fx_ev_id(s, at(0, 12, 0, 0, 0), "u1", "X", "a.use", NULL, 1);
    fx_ev_id(s, at(-7, 9, 0, 0, 0), "u1", "X", "a.use", "m1", 1);
    fx_ev_id(s, at(-13, 9, 0, 0, 0), "u1", "X", "a.use", "m1", 0);
    fx_ev_id(s, at(1, 9, 0, 0, 0), "u1", "X", "a.use", NULL, 1);
    fx_ev_id(s, at(0, 9, 0, 0, 0), "u2", "X", "login", NULL, 1);
    fx_ev_id(s, at(-6, 10, 0, 0, 0), "u2", "X", "key", NULL, 1);
    fx_ev_id(s, at(-10, 10, 0, 0, 0), "u2", "X", "a.tour", NULL, 1);
    fx_ev_id(s, at(0, 8, 0, 0, 1), "u4", "X", "key", NULL, 1);
    fx_ev_id(s, at(-27, 0, 0, 0, 0), "u5", "X", "c.use", NULL, 1);
    fx_ev_id(s, at(-28, 23, 59, 59, 0), "u5", "X", "b.use", NULL, 1);
    fx_ev_id(s, at(2, 9, 0, 0, 0), "u6", "X", "a.use", NULL, 1);
    fx_ev_id(s, at(-3, 9, 0, 0, 0), "v1", "Y", "b.use", NULL, 1);
    fx_ev_id(s, at(0, 9, 0, 0, 0), "v1", "Y", "login", NULL, 1);
    fx_ev_id(s, at(3, 9, 0, 0, 0), "w1", "W", "b.use", NULL, 1);
    assert_int_equal(up_store_close(s), 0);
}

typedef fx_run_t run_t;

static void compute(run_t *x, int64_t T)
{
    fx_run_open(x, dir, T);
    fx_run_entities(x);
    fx_run_portfolio(x);
}

static const up_account_metrics_t *row(const up_portfolio_t *p, const char *id)
{
    for (uint32_t i = 0; i < p->n_rows; i++)
        if (strcmp(p->rows[i].account->account_id, id) == 0)
            return &p->rows[i];
    return NULL;
}

static void test_account_x(void **state)
{
    (void)state;
    run_t x;
    compute(&x, up_engine_end_of_day(D0));
    assert_int_equal(x.p.n_rows, 3); /* X, Y, Z; W only after T */
    const up_account_metrics_t *r = row(&x.p, "X");
    assert_non_null(r);
    assert_int_equal(r->seats, 4);
    assert_int_equal(r->known_users, 4);
    assert_int_equal(r->dau, 2);
    assert_int_equal(r->wau, 3);
    assert_int_equal(r->wau_prev, 1);
    assert_int_equal(r->mau, 4);
    assert_int_equal(r->active_users, 4);
    assert_true(r->breadth == 1.0);
    assert_true(r->depth == 0.5);
    assert_true(r->stickiness == 0.044642857142857144);
    assert_true(r->wau_trend == 2.0);
    assert_int_equal(r->ttfv_days, 24);
    assert_true(r->activation_rate == 0.5);
    assert_true(r->consistency == 0.75);
    assert_int_equal(r->champion_active, 1);
    assert_true(r->nps == 33.333333333333336);
    assert_true(r->health == 68.00595238095238);
    assert_true(r->parts[UP_H_TREND].score == 100.0);
    assert_true(r->parts[UP_H_STICKINESS].score == 8.928571428571429);
    assert_true(r->feature_adoption[0] == 0.25);
    assert_true(r->feature_adoption[1] == 0.0);
    assert_true(r->feature_adoption[2] == 0.25);
    assert_int_equal(r->feature_users[0], 1);
    fx_run_close(&x);
}

static void test_accounts_y_z(void **state)
{
    (void)state;
    run_t x;
    compute(&x, up_engine_end_of_day(D0));
    const up_account_metrics_t *y = row(&x.p, "Y"), *z = row(&x.p, "Z");
    assert_non_null(y);
    assert_non_null(z);
    assert_null(row(&x.p, "W"));
    assert_int_equal(y->seats, 0);
    assert_int_equal(y->known_users, 1);
    assert_int_equal(y->mau, 1);
    assert_true(y->breadth == 1.0);
    assert_true(y->depth == 0.5);
    assert_true(y->stickiness == 0.03571428571428571);
    assert_true(isnan(y->wau_trend));
    assert_non_null(y->why_null[UP_M_WAU_TREND]);
    assert_true(y->consistency == 1.0 / 12.0);
    assert_true(y->health == 55.50595238095237);
    assert_true(isnan(z->breadth));
    assert_non_null(z->why_null[UP_M_BREADTH]);
    assert_true(z->depth == 0.0);
    assert_true(isnan(z->stickiness));
    assert_int_equal(z->ttfv_days, INT64_MIN);
    assert_true(isnan(z->activation_rate));
    assert_true(z->consistency == 0.0);
    assert_int_equal(z->champion_active, -1);
    assert_true(isnan(z->nps));
    assert_true(z->health == 0.0);
    assert_true(isnan(z->feature_adoption[0]));
    fx_run_close(&x);
}

/* T inside D0 before u1's 12:00 event: the store folds the log up to T.
 * DAU = {u4} (key at 08:00:00.001); WAU still {u1 (D0-7? no: D0-6..D0 only
 * u2's D0-6 key and u4)} = 2; MAU 4 (u1 via D0-7). */
static void test_midday_cutoff(void **state)
{
    (void)state;
    run_t x;
    compute(&x, at(0, 11, 59, 59, 0));
    const up_account_metrics_t *r = row(&x.p, "X");
    assert_true(x.owned);
    assert_int_equal(r->dau, 1);
    assert_int_equal(r->wau, 2);
    assert_int_equal(r->mau, 4);
    /* nps: the 12:00 answer is after T → 10 and 9 → 100 */
    assert_true(r->nps == 100.0);
    fx_run_close(&x);
}

/* One second before a window and its first instant, seen from D0 + 1:
 * window(28) is D0-26..D0+1, so u5's c.use at D0-27 00:00 drops out. */
static void test_window_edges(void **state)
{
    (void)state;
    run_t x;
    compute(&x, up_engine_end_of_day(D0 + 1));
    const up_account_metrics_t *r = row(&x.p, "X");
    /* active in D0-26..D0+1: u1 (D0-7, D0, D0+1), u2 (D0-6), u4 (D0) → 3 */
    assert_int_equal(r->mau, 3);
    assert_int_equal(r->dau, 1);
    assert_true(r->feature_adoption[2] == 0.0);
    /* W's event on D0+3 is still after T */
    assert_null(row(&x.p, "W"));
    fx_run_close(&x);
}

/* Both instants in one pass (the signals' portfolio and the one
 * health_drop_days before it): as of T = end of D0+3 and T2 = end of D0.
 * At T2 the rows are X, Y, Z with the values worked out above (X: WAU 3,
 * MAU 4, known users 4, health 68.00595238095238); at T W is known from its
 * b.use on D0+3 too (4 rows), and X has a fifth known user, u6 (first event
 * D0+2; u3 is created on D0+5, after T). Every metric of every row equals the one-instant portfolio's
 * at the same instant. The entity tables hold the NPS answers from T2's
 * window on, as the signals load them. */
static void test_two_instants(void **state)
{
    (void)state;
    int64_t T = up_engine_end_of_day(D0 + 3), T2 = up_engine_end_of_day(D0);
    run_t x;
    fx_run_open(&x, dir, T);
    char err[512];
    const up_model_t *m = up_store_model(x.s);
    assert_int_equal(up_entities_load(up_store_db(x.s), up_engine_nps_from(m, T2), T, UP_ENT_ALL, NULL, &x.e, err,
                                      sizeof err), 0);
    x.has_e = 1;
    up_portfolio_t two[2], one[2];
    assert_int_equal(up_engine_portfolio_two(x.r, m, &x.e, T, T2, &two[0], &two[1]), 0);
    assert_int_equal(up_engine_portfolio(x.r, m, &x.e, T, &one[0]), 0);
    assert_int_equal(up_engine_portfolio(x.r, m, &x.e, T2, &one[1]), 0);
    assert_int_equal(two[0].n_rows, 4);
    assert_int_equal(two[1].n_rows, 3);
    assert_non_null(row(&two[0], "W"));
    assert_null(row(&two[1], "W"));
    const up_account_metrics_t *r = row(&two[1], "X");
    assert_non_null(r);
    assert_int_equal(r->wau, 3);
    assert_int_equal(r->mau, 4);
    assert_int_equal(r->known_users, 4);
    assert_true(r->health == 68.00595238095238);
    assert_int_equal(row(&two[0], "X")->known_users, 5);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(two[k].n_rows, one[k].n_rows);
        for (uint32_t i = 0; i < one[k].n_rows; i++) {
            const up_account_metrics_t *a = &two[k].rows[i], *b = &one[k].rows[i];
            assert_string_equal(a->account->account_id, b->account->account_id);
            assert_int_equal(a->known_users, b->known_users);
            for (int id = 0; id < UP_M_N; id++) {
                double va = up_engine_metric(a, id), vb = up_engine_metric(b, id);
                if (!(va == vb || (isnan(va) && isnan(vb))))
                    fail_msg("%s as of %s: metric %s is %.17g in one pass, %.17g alone",
                             a->account->account_id, k ? "T2" : "T", up_metric_info[id].name, va, vb);
            }
            for (size_t f = 0; f < m->n_features; f++)
                assert_int_equal(a->feature_users[f], b->feature_users[f]);
        }
    }
    /* the signals' variant: as of T2 only health and the metrics it scores,
     * each the whole row's (X's health 68.00595238095238 above) */
    up_portfolio_t lean[2];
    static const int scored[] = {UP_M_HEALTH, UP_M_BREADTH, UP_M_DEPTH, UP_M_STICKINESS, UP_M_CONSISTENCY,
                                 UP_M_WAU_TREND, UP_M_NPS, UP_M_INTENSITY};
    assert_int_equal(up_engine_portfolio_two_grouped(x.r, NULL, m, &x.e, T, T2, UP_PORTFOLIO_SECOND_HEALTH, &lean[0],
                                                     &lean[1]), 0);
    assert_int_equal(lean[1].n_rows, one[1].n_rows);
    assert_true(row(&lean[1], "X")->health == 68.00595238095238);
    for (uint32_t i = 0; i < one[1].n_rows; i++) {
        const up_account_metrics_t *a = &lean[1].rows[i], *b = &one[1].rows[i];
        assert_string_equal(a->account->account_id, b->account->account_id);
        assert_null(a->feature_users);
        for (size_t j = 0; j < sizeof scored / sizeof *scored; j++) {
            double va = up_engine_metric(a, scored[j]), vb = up_engine_metric(b, scored[j]);
            if (!(va == vb || (isnan(va) && isnan(vb))))
                fail_msg("%s as of T2: %s is %.17g in the health-only pass, %.17g alone", a->account->account_id,
                         up_metric_info[scored[j]].name, va, vb);
        }
    }
    for (uint32_t i = 0; i < one[0].n_rows; i++)   /* as of T every metric, as above */
        for (int id = 0; id < UP_M_N; id++) {
            double va = up_engine_metric(&lean[0].rows[i], id), vb = up_engine_metric(&one[0].rows[i], id);
            assert_true(va == vb || (isnan(va) && isnan(vb)));
        }
    up_portfolio_free(&lean[0]);
    up_portfolio_free(&lean[1]);
    /* a second instant after the first is refused */
    up_portfolio_t bad[2];
    assert_int_equal(up_engine_portfolio_two(x.r, m, &x.e, T2, T, &bad[0], &bad[1]), -UP_EINVAL);
    for (int k = 0; k < 2; k++) {
        up_portfolio_free(&two[k]);
        up_portfolio_free(&one[k]);
    }
    fx_run_close(&x);
}

/* The model changes without re-import: c becomes core → depth 2/3 for X
 * (a and c used in window, b not). */
static void test_model_change(void **state)
{
    (void)state;
    up_store_t *s;
    char err[512];
    assert_int_equal(up_store_open(&s, dir, UP_STORE_WRITE, err, sizeof err), 0);
    const char *m2 =
        "features:\n"
        "  - name: a\n    core: true\n    events: [a.use]\n    exposure_events: [a.tour]\n"
        "  - name: b\n    core: true\n    events: [b.use]\n"
        "  - name: c\n    core: true\n    events: [c.use]\n"
        "passive_events: [login]\nkey_actions: [key]\n";
    assert_int_equal(up_store_set_model(s, m2, strlen(m2), "m2", err, sizeof err), 0);
    up_store_close(s);
    run_t x;
    compute(&x, up_engine_end_of_day(D0));
    const up_account_metrics_t *r = row(&x.p, "X");
    assert_true(r->depth == 2.0 / 3.0);
    assert_int_equal(r->mau, 4);
    fx_run_close(&x);
    assert_int_equal(up_store_open(&s, dir, UP_STORE_WRITE, err, sizeof err), 0);
    assert_int_equal(up_store_set_model(s, MODEL, strlen(MODEL), "test", err, sizeof err), 0);
    up_store_close(s);
}

static int setup(void **state)
{
    (void)state;
    build();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(fx_rmdir(dir), 0);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_x),
        cmocka_unit_test(test_accounts_y_z),
        cmocka_unit_test(test_midday_cutoff),
        cmocka_unit_test(test_window_edges),
        cmocka_unit_test(test_two_instants),
        cmocka_unit_test(test_model_change),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
