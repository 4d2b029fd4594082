/* test_stages: stages, levels, outcomes and subscription seats on fixtures
 * worked out by hand. As of T = 2026-03-31 end of day, D0 = 03-31; blocks:
 * k0 = D0-6..D0, k1 = D0-13..D0-7, k2 = D0-20..D0-14, k3 = D0-27..D0-21.
 * Model: f (core; use f.use, advanced f.adv, exposure f.tour), g (core; g.use).
 *
 * Account A, feature f:
 *   p1 f.use D0, D0-7, D0-14 (k0 k1 k2)            -> regular, 3 days
 *   p2 f.use D0, D0-7 (2 blocks)                    -> trial, 2 days
 *   p3 f.use D0-21 (last day of k3), D0-20 (first of k2), D0-13 (first of k1)
 *                                                   -> regular, 3 days
 *   p4 f.tour only                                  -> aware, 0 days
 *   p5 f.use D0-28 23:59:59 (a second before window(28)) -> trial, 0 days
 *   p6 f.use D0-1, D0-8, D0-15 and f.adv D0-3       -> mastery (advanced), 4 days
 *   p7 g.use only                                   -> none for f
 *   f's users in window(28): p1 3, p2 2, p3 3, p6 4 -> N = 4; for p1/p3 one
 *   pair has more days: 1 < 0.1 × 4 is false -> they stay regular.
 *   Funnel f over A: none 1 (p7), aware 1, trial 2, regular 2, mastery 1.
 * Account B, feature g, the exact top-decile edge (g's users are counted
 *   across accounts): 26 users on 3 days (one in each of k0 k1 k2), 3 users on
 *   4 days, and p7 of account A on 1 day -> N = 30; a 3-day user has 3 with
 *   more days: 3 < 0.1 × 30 is false (exactly 10%), so regular; the 4-day
 *   users have 0 more -> mastery. One more g user on 1 day (trial) makes
 *   N = 31: 3 < 3.1, so the 3-day users become mastery. */
#include "fixture.h"

#include <math.h>
#include <unistd.h>

#include "engine.h"
#include "engine_stages.h"
#include "store.h"
#include "timeparse.h"

static const char MODEL[] =
    "features:\n"
    "  - name: f\n    core: true\n    events: [f.use]\n    advanced_events: [f.adv]\n    exposure_events: [f.tour]\n"
    "  - name: g\n    core: true\n    events: [g.use]\n";

static int32_t D0;
static char dir[64];

static int64_t at(int day, int h, int m, int s)
{
    return fx_ms(D0 + day, h, m, s, 0);
}

static int setup(void **state)
{
    (void)state;
    D0 = up_days_from_civil(2026, 3, 31);
    assert_int_equal(fx_mkdtemp(dir, sizeof dir, "stages"), 0);
    up_store_t *s = fx_create(dir, MODEL, "t");
    const int p1[] = {0, -7, -14}, p2[] = {0, -7}, p3[] = {-21, -20, -13}, p6[] = {-1, -8, -15};
    for (int i = 0; i < 3; i++)
        fx_ev(s, at(p1[i], 10, 0, 0), "p1", "A", "f.use");
    for (int i = 0; i < 2; i++)
        fx_ev(s, at(p2[i], 10, 0, 0), "p2", "A", "f.use");
    for (int i = 0; i < 3; i++)
        fx_ev(s, at(p3[i], 10, 0, 0), "p3", "A", "f.use");
    fx_ev(s, at(-2, 10, 0, 0), "p4", "A", "f.tour");
    fx_ev(s, at(-28, 23, 59, 59), "p5", "A", "f.use");
    for (int i = 0; i < 3; i++)
        fx_ev(s, at(p6[i], 10, 0, 0), "p6", "A", "f.use");
    fx_ev(s, at(-3, 10, 0, 0), "p6", "A", "f.adv");
    fx_ev(s, at(-4, 10, 0, 0), "p7", "A", "g.use");
    char user[16];
    for (int u = 0; u < 29; u++) {
        snprintf(user, sizeof user, "b%02d", u);
        fx_ev(s, at(0, 9, 0, 0), user, "B", "g.use");
        fx_ev(s, at(-7, 9, 0, 0), user, "B", "g.use");
        fx_ev(s, at(-14, 9, 0, 0), user, "B", "g.use");
        if (u >= 26)
            fx_ev(s, at(-1, 9, 0, 0), user, "B", "g.use");
    }
    assert_int_equal(up_store_close(s), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fx_rmdir(dir);
}

typedef fx_run_t run_t;

static const up_stage_row_t *find(const up_rollup_t *r, const up_stages_t *st, const char *user, uint32_t f)
{
    for (uint32_t i = 0; i < st->n_rows; i++)
        if (st->rows[i].feature == f &&
            strcmp(up_dict_str(&r->dict[UP_KIND_USER], r->pairs[st->rows[i].pair].user), user) == 0)
            return &st->rows[i];
    return NULL;
}

static void test_stage_boundaries(void **state)
{
    (void)state;
    run_t x;
    fx_run_open(&x, dir, up_engine_end_of_day(D0));
    up_stages_t st;
    assert_int_equal(up_engine_stages(x.r, up_store_model(x.s), up_engine_end_of_day(D0), "A", NULL, &st), 0);
    const char *users[] = {"p1", "p2", "p3", "p4", "p5", "p6"};
    const up_stage_t want[] = {UP_STAGE_REGULAR, UP_STAGE_TRIAL, UP_STAGE_REGULAR, UP_STAGE_AWARE,
                               UP_STAGE_TRIAL, UP_STAGE_MASTERY};
    const int days[] = {3, 2, 3, 0, 0, 4};
    for (int i = 0; i < 6; i++) {
        const up_stage_row_t *row = find(x.r, &st, users[i], 0);
        assert_non_null(row);
        assert_int_equal(row->stage, want[i]);
        assert_int_equal(row->days_used_28d, days[i]);
    }
    assert_null(find(x.r, &st, "p7", 0));
    const int64_t funnel[UP_STAGES] = {1, 1, 2, 2, 1};
    for (int k = 0; k < UP_STAGES; k++)
        assert_int_equal(st.funnel[0][k], funnel[k]);
    /* rows come sorted by user: p1 f, p2 f, p3 f, p4 f, p5 f, p6 f, p7 g */
    assert_int_equal(st.n_rows, 7);
    assert_string_equal(up_dict_str(&x.r->dict[UP_KIND_USER], x.r->pairs[st.rows[6].pair].user), "p7");
    up_stages_free(&st);
    fx_run_close(&x);
}

static void test_top_decile_exact(void **state)
{
    (void)state;
    run_t x;
    int64_t T = up_engine_end_of_day(D0);
    fx_run_open(&x, dir, T);
    up_stages_t st;
    assert_int_equal(up_engine_stages(x.r, up_store_model(x.s), T, "B", NULL, &st), 0);
    assert_int_equal(find(x.r, &st, "b00", 1)->stage, UP_STAGE_REGULAR);   /* 3 of 30: not fewer */
    assert_int_equal(find(x.r, &st, "b26", 1)->stage, UP_STAGE_MASTERY);
    assert_int_equal(st.funnel[1][UP_STAGE_REGULAR], 26);
    assert_int_equal(st.funnel[1][UP_STAGE_MASTERY], 3);
    up_stages_free(&st);
    fx_run_close(&x);
    up_store_t *s = fx_open_w(dir);
    fx_ev(s, at(-2, 9, 0, 0), "b29", "B", "g.use");
    up_store_close(s);
    fx_run_open(&x, dir, T);
    assert_int_equal(up_engine_stages(x.r, up_store_model(x.s), T, "B", NULL, &st), 0);
    assert_int_equal(find(x.r, &st, "b00", 1)->stage, UP_STAGE_MASTERY);   /* 3 < 3.1 */
    assert_int_equal(find(x.r, &st, "b29", 1)->stage, UP_STAGE_TRIAL);
    assert_int_equal(st.funnel[1][UP_STAGE_MASTERY], 29);
    up_stages_free(&st);
    fx_run_close(&x);
}

/* Levels and seats. As of D0:
 *   L1: seats 5, active p 2 (q1 f.use, q2 g.use) -> breadth 0.4 (not below
 *       0.40), depth 1.0 -> high (no outcomes).
 *   L2: seats 6, the same two users -> breadth 0.333… -> low.
 *   O1: like L1, outcome m1 rows (start D0-60, value 10) and latest D0-1 with
 *       value 67.7777778, target 100, due D0+30: needed = 100 × (61 d − 1 ms)
 *       / 90 d = 67.7777777649177 -> on track; m2 has no target -> effective.
 *   O2: the same with value 67.7777777 -> off track -> high.
 *   S:  subscriptions [D0-10, D0) 5 seats (ends at D0 00:00: not active at T),
 *       [D0-5, open) 3, [D0+1, open) 7 (later) -> seats 3; its accounts-table
 *       seats (50) are ignored once it has subscriptions; breadth 2/3 -> high. */
static void test_levels_and_seats(void **state)
{
    (void)state;
    up_store_t *s = fx_open_w(dir);
    const char *accs[] = {"L1", "L2", "O1", "O2", "S"};
    char u[32], q[1024];
    for (int i = 0; i < 5; i++) {
        snprintf(u, sizeof u, "%s-q1", accs[i]);
        fx_ev(s, at(-1, 9, 0, 0), u, accs[i], "f.use");
        snprintf(u, sizeof u, "%s-q2", accs[i]);
        fx_ev(s, at(-1, 9, 0, 0), u, accs[i], "g.use");
    }
    snprintf(q, sizeof q,
             "INSERT INTO accounts(account_id, seats) VALUES ('L1',5),('L2',6),('O1',5),('O2',5),('S',50);"
             "INSERT INTO outcomes(account_id, metric, ts, value, target, due) VALUES"
             " ('O1','m1',%lld,10,100,%lld), ('O1','m1',%lld,67.7777778,100,%lld), ('O1','m2',%lld,5,NULL,NULL),"
             " ('O2','m1',%lld,10,100,%lld), ('O2','m1',%lld,67.7777777,100,%lld);"
             "INSERT INTO subscriptions(account_id, subscription_id, start, end, seats) VALUES"
             " ('S','a',%lld,%lld,5), ('S','b',%lld,NULL,3), ('S','c',%lld,NULL,7);",
             (long long)at(-60, 0, 0, 0), (long long)at(30, 0, 0, 0), (long long)at(-1, 0, 0, 0),
             (long long)at(30, 0, 0, 0), (long long)at(-2, 0, 0, 0), (long long)at(-60, 0, 0, 0),
             (long long)at(30, 0, 0, 0), (long long)at(-1, 0, 0, 0), (long long)at(30, 0, 0, 0),
             (long long)at(-10, 0, 0, 0), (long long)at(0, 0, 0, 0), (long long)at(-5, 0, 0, 0),
             (long long)at(1, 0, 0, 0));
    fx_sql(s, q);
    up_store_close(s);

    run_t x;
    int64_t T = up_engine_end_of_day(D0);
    fx_run_open(&x, dir, T);
    up_entities_t e;
    up_portfolio_t p;
    char err[512];
    assert_int_equal(up_entities_load(up_store_db(x.s), up_engine_nps_from(up_store_model(x.s), T), T, UP_ENT_ALL,
                                      NULL, &e, err, sizeof err), 0);
    assert_int_equal(up_engine_portfolio(x.r, up_store_model(x.s), &e, T, &p), 0);
    const up_level_t want[] = {UP_LEVEL_HIGH, UP_LEVEL_LOW, UP_LEVEL_EFFECTIVE, UP_LEVEL_HIGH, UP_LEVEL_HIGH};
    for (int i = 0; i < 5; i++) {
        const up_account_metrics_t *row = NULL;
        for (uint32_t j = 0; j < p.n_rows; j++)
            if (strcmp(p.rows[j].account->account_id, accs[i]) == 0)
                row = &p.rows[j];
        assert_non_null(row);
        assert_int_equal(row->level, want[i]);
        if (i == 0)
            assert_true(row->breadth == 0.4);
        if (i == 4) {
            assert_int_equal(row->seats, 3);
            assert_true(fabs(row->breadth - 2.0 / 3.0) < 1e-15);
        }
    }
    /* one account's row alone (an account page) is its row in the whole
     * portfolio, every metric of the catalog; an unknown id has none */
    for (uint32_t j = 0; j < p.n_rows; j++) {
        up_portfolio_t one;
        assert_int_equal(up_engine_portfolio_of(x.r, up_store_model(x.s), &e, T, p.rows[j].account->account_id, &one),
                         0);
        assert_int_equal(one.n_rows, 1);
        assert_string_equal(one.rows[0].account->account_id, p.rows[j].account->account_id);
        for (int id = 0; id < UP_M_N; id++) {
            double a = up_engine_metric(&p.rows[j], id), b = up_engine_metric(&one.rows[0], id);
            assert_true((isnan(a) && isnan(b)) || a == b);
        }
        up_portfolio_free(&one);
    }
    up_portfolio_t none;
    assert_int_equal(up_engine_portfolio_of(x.r, up_store_model(x.s), &e, T, "no-such-account", &none), 0);
    assert_int_equal(none.n_rows, 0);
    up_portfolio_free(&none);
    up_portfolio_free(&p);
    up_entities_free(&e);
    fx_run_close(&x);
}

/* The rows' order: account_id, then user_id by bytes, then feature, whatever
 * the order the pairs and their features were first seen in. A store of its
 * own: accounts "b" and "B" and "a", users "z", "Z", "y" and "\xc3\xa9"
 * (é, after every ASCII byte), g used before f. Expected (bytes: 'B' 0x42 <
 * 'a' 0x61 < 'b' 0x62; 'Z' < 'y' < 'z' < 0xc3):
 *   B/Z f, a/y g, b/Z f, b/Z g, b/z f, b/é g */
static void test_row_order(void **state)
{
    (void)state;
    char d2[64];
    assert_int_equal(fx_mkdtemp(d2, sizeof d2, "order"), 0);
    up_store_t *s = fx_create(d2, MODEL, "t");
    fx_ev(s, at(-1, 10, 0, 0), "z", "b", "f.use");
    fx_ev(s, at(-1, 11, 0, 0), "\xc3\xa9", "b", "g.use");
    fx_ev(s, at(-1, 12, 0, 0), "Z", "b", "g.use");
    fx_ev(s, at(-1, 13, 0, 0), "Z", "b", "f.use");
    fx_ev(s, at(-1, 14, 0, 0), "y", "a", "g.use");
    fx_ev(s, at(-1, 15, 0, 0), "Z", "B", "f.use");
    assert_int_equal(up_store_close(s), 0);
    fx_run_t x;
    fx_run_open(&x, d2, up_engine_end_of_day(D0));
    up_stages_t st;
    assert_int_equal(up_engine_stages(x.r, up_store_model(x.s), x.T, NULL, NULL, &st), 0);
    static const char *const want[][3] = {{"B", "Z", "f"}, {"a", "y", "g"}, {"b", "Z", "f"},
                                          {"b", "Z", "g"}, {"b", "z", "f"}, {"b", "\xc3\xa9", "g"}};
    assert_int_equal(st.n_rows, 6);
    for (uint32_t i = 0; i < st.n_rows; i++) {
        const up_pair_t *p = &x.r->pairs[st.rows[i].pair];
        assert_string_equal(up_dict_str(&x.r->dict[UP_KIND_ACCOUNT], p->account), want[i][0]);
        assert_string_equal(up_dict_str(&x.r->dict[UP_KIND_USER], p->user), want[i][1]);
        assert_string_equal(up_store_model(x.s)->features[st.rows[i].feature].name, want[i][2]);
    }
    up_stages_free(&st);
    fx_run_close(&x);
    assert_int_equal(fx_rmdir(d2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stage_boundaries),
        cmocka_unit_test(test_row_order),
        cmocka_unit_test(test_top_decile_exact),
        cmocka_unit_test(test_levels_and_seats),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
