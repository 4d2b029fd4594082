/* test_account: the account page's seats and revenue (engine_revenue),
 * targets, milestones and friction with error events (engine_account) on
 * fixtures worked out by hand; the working is in the comments, the numbers
 * were not produced by the code under test. As of T = 2026-03-31 end of day,
 * D0 = 2026-03-31; window(28) = D0-27 .. D0. Dates are 00:00 UTC.
 *
 * Seats and revenue (docs/metrics.md choice 19), account R (accounts.arr 99999,
 * ignored once it has subscriptions):
 *   s1 [D0-365, D0-200) 10 seats ARR 10000; s2 [D0-200, D0-2) 10 seats 12000
 *   (replaces s1: no seat change, ARR +2000); s3 [D0-100, D0-30) 10 seats 5000;
 *   s4 [D0-60, D0-10) 1 seat 500; s6 [D0-2, open) 9 seats 12000 (replaces s2).
 *   Seat changes: D0-365 0->10; D0-100 10->20; D0-60 20->21; D0-30 21->11
 *   (removal of 10/21 = 47.6%: overnight drop); D0-10 11->10 (removal of
 *   1/11 = 9.1% < 10%: not an overnight drop); D0-2 10->9 (exactly 10%:
 *   overnight drop).
 *   ARR at T = 12000 (s6); a year ago (end of D0-365) 10000 (s1). Changes in
 *   (D0-365, D0] (the start of s1 on D0-365 is not in it): D0-200 +2000,
 *   D0-100 +5000, D0-60 +500, D0-30 -5000, D0-10 -500 -> expansion 7500,
 *   contraction 5500 (10000 + 7500 - 5500 = 12000); NRR 12000/10000 = 1.2.
 *   Utilization at D0-77, -70, …, D0: u1, u2 active daily from D0-120, u3 once
 *   on D0-40 (in window(28) of the points D0-35 .. D0-14). Seats: 20 up to
 *   D0-63, 21 from D0-56 to D0-35, 11 from D0-28 to D0-14, 10 at D0-7, 9 at D0:
 *   2/20 = 0.1 (x3), 2/21 (x3), 3/21, 3/11 (x3), 2/10 = 0.2, 2/9.
 * Account Z: one subscription [D0-200, D0-50) 5 seats ARR 1000, one event of
 *   z1 on D0-60. Changes D0-200 0->5, D0-50 5->0 (overnight drop). ARR now 0
 *   (subscriptions, none active), a year ago 0 -> NRR null; expansion 1000,
 *   contraction 1000. Utilization: 0/5 at D0-77, -70, -63 (z1's event is
 *   after those windows), 1/5 = 0.2 at D0-56, null (0 seats) from D0-49 on.
 * Account P: no subscriptions, accounts.arr 5000 -> ARR 5000 now and a year
 *   ago, no changes.
 *
 * Error events (model error_events [err, never_seen]): account R, err at
 *   D0-27 00:00:00.000 (first instant of window(28)), D0 23:00 -> 2;
 *   D0-28 23:59:59.999 (before the window) and D0+1 (after T) not counted;
 *   Z err on D0-5 -> 1. */
#include "fixture.h"

#include <math.h>
#include <unistd.h>

#include "dict.h"
#include "engine.h"
#include "engine_account.h"
#include "engine_revenue.h"
#include "store.h"
#include "timeparse.h"

static const char MODEL[] =
    "features:\n"
    "  - name: f\n    core: true\n    events: [a]\n"
    "error_events: [err, never_seen]\n"
    "targets:\n"
    "  - {name: util, metric: seats_utilization, min: 0.5, by_day: 100}\n"
    "  - {name: fast, metric: ttfv_days, min: 10, by_day: 30, segment: ent}\n"
    "  - {name: trend, metric: wau_trend, min: 0, by_day: 90, account: A2}\n";

static int32_t D0;
static char dir[64];

static int64_t at(int day, int h, int m, int s, int ms)
{
    return fx_ms(D0 + day, h, m, s, ms);
}

static int setup(void **state)
{
    (void)state;
    D0 = up_days_from_civil(2026, 3, 31);
    assert_int_equal(fx_mkdtemp(dir, sizeof dir, "account"), 0);
    up_store_t *s = fx_create(dir, MODEL, "test");
    char q[2048];
    snprintf(q, sizeof q,
             "INSERT INTO accounts(account_id, seats, arr) VALUES ('R', 3, 99999), ('Z', 5, NULL), ('P', 4, 5000);"
             "INSERT INTO subscriptions(account_id, subscription_id, start, end, seats, arr) VALUES"
             " ('R','s1',%lld,%lld,10,10000), ('R','s2',%lld,%lld,10,12000), ('R','s3',%lld,%lld,10,5000),"
             " ('R','s4',%lld,%lld,1,500), ('R','s6',%lld,NULL,9,12000), ('Z','z',%lld,%lld,5,1000);"
             "INSERT INTO milestones(account_id, name, due, done_at) VALUES"
             " ('M','today',%lld,NULL), ('M','yesterday',%lld,NULL), ('M','week',%lld,NULL),"
             " ('M','six',%lld,%lld), ('M','tomorrow',%lld,NULL);"
             "INSERT INTO tickets(account_id, ticket_id, ts) VALUES ('R','t1',%lld), ('R','t0',%lld);",
             (long long)at(-365, 0, 0, 0, 0), (long long)at(-200, 0, 0, 0, 0), (long long)at(-200, 0, 0, 0, 0),
             (long long)at(-2, 0, 0, 0, 0), (long long)at(-100, 0, 0, 0, 0), (long long)at(-30, 0, 0, 0, 0),
             (long long)at(-60, 0, 0, 0, 0), (long long)at(-10, 0, 0, 0, 0), (long long)at(-2, 0, 0, 0, 0),
             (long long)at(-200, 0, 0, 0, 0), (long long)at(-50, 0, 0, 0, 0),
             (long long)at(0, 0, 0, 0, 0), (long long)at(-1, 0, 0, 0, 0), (long long)at(-7, 0, 0, 0, 0),
             (long long)at(-6, 0, 0, 0, 0), (long long)at(0, 10, 0, 0, 0), (long long)at(1, 0, 0, 0, 0),
             (long long)at(-3, 9, 0, 0, 0), (long long)at(-28, 9, 0, 0, 0));
    fx_sql(s, q);
    for (int d = -120; d <= 0; d++) {
        fx_ev(s, at(d, 10, 0, 0, 0), "u1", "R", "a");
        fx_ev(s, at(d, 11, 0, 0, 0), "u2", "R", "a");
    }
    fx_ev(s, at(-40, 10, 0, 0, 0), "u3", "R", "a");
    fx_ev(s, at(-60, 10, 0, 0, 0), "z1", "Z", "a");
    fx_ev(s, at(-27, 0, 0, 0, 0), "u1", "R", "err");
    fx_ev(s, at(0, 23, 0, 0, 0), "u2", "R", "err");
    fx_ev(s, at(-28, 23, 59, 59, 999), "u1", "R", "err");
    fx_ev(s, at(1, 9, 0, 0, 0), "u1", "R", "err");
    fx_ev(s, at(-5, 9, 0, 0, 0), "z1", "Z", "err");
    assert_int_equal(up_store_close(s), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fx_rmdir(dir);
}

typedef fx_run_t run_t;

static void open_r(run_t *x)
{
    fx_run_open(x, dir, up_engine_end_of_day(D0));
    fx_run_entities(x);
}

static const up_account_t *account(const up_entities_t *e, const char *id)
{
    for (uint32_t i = 0; i < e->n_accounts; i++)
        if (!strcmp(e->accounts[i].account_id, id))
            return &e->accounts[i];
    fail_msg("no account %s", id);
    return NULL;
}

static void revenue(run_t *x, const char *id, up_revenue_t *v)
{
    const up_model_t *m = up_store_model(x->s);
    assert_int_equal(up_engine_revenue(x->r, m, &x->e, account(&x->e, id), x->T, m->alert_settings.seats_removed_share,
                                       v), 0);
}

static void test_seat_changes(void **state)
{
    (void)state;
    run_t x;
    open_r(&x);
    up_revenue_t v;
    revenue(&x, "R", &v);
    assert_true(v.has_subscriptions);
    static const struct {
        int day;
        int64_t from, to;
        int removal, drop;
    } want[] = {{-365, 0, 10, 0, 0}, {-100, 10, 20, 0, 0}, {-60, 20, 21, 0, 0},
                {-30, 21, 11, 1, 1}, {-10, 11, 10, 1, 0}, {-2, 10, 9, 1, 1}};
    assert_int_equal(v.n_seat_changes, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(v.seat_changes[i].day, D0 + want[i].day);
        assert_int_equal(v.seat_changes[i].from, want[i].from);
        assert_int_equal(v.seat_changes[i].to, want[i].to);
        assert_int_equal(v.seat_changes[i].removal, want[i].removal);
        assert_int_equal(v.seat_changes[i].overnight_drop, want[i].drop);
    }
    up_revenue_free(&v);

    revenue(&x, "Z", &v);
    assert_int_equal(v.n_seat_changes, 2);
    assert_int_equal(v.seat_changes[0].day, D0 - 200);
    assert_int_equal(v.seat_changes[1].day, D0 - 50);
    assert_int_equal(v.seat_changes[1].from, 5);
    assert_int_equal(v.seat_changes[1].to, 0);
    assert_true(v.seat_changes[1].removal && v.seat_changes[1].overnight_drop);
    up_revenue_free(&v);
    fx_run_close(&x);
}

static void test_utilization(void **state)
{
    (void)state;
    run_t x;
    open_r(&x);
    up_revenue_t v;
    revenue(&x, "R", &v);
    static const int64_t seats[12] = {20, 20, 20, 21, 21, 21, 21, 11, 11, 11, 10, 9};
    static const int64_t mau[12] = {2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 2, 2};
    for (int k = 0; k < 12; k++) {
        assert_int_equal(v.util[k].day, D0 - 7 * (11 - k));
        assert_int_equal(v.util[k].seats, seats[k]);
        assert_int_equal(v.util[k].mau, mau[k]);
        assert_true(v.util[k].utilization == (double)mau[k] / (double)seats[k]);
    }
    assert_true(v.util[0].utilization == 0.1 && v.util[10].utilization == 0.2);
    up_revenue_free(&v);

    revenue(&x, "Z", &v);
    for (int k = 0; k < 3; k++)
        assert_true(v.util[k].seats == 5 && v.util[k].mau == 0 && v.util[k].utilization == 0.0);
    assert_true(v.util[3].seats == 5 && v.util[3].mau == 1 && v.util[3].utilization == 0.2);
    for (int k = 4; k < 12; k++)
        assert_true(v.util[k].seats == 0 && isnan(v.util[k].utilization));
    up_revenue_free(&v);
    fx_run_close(&x);
}

static void test_arr(void **state)
{
    (void)state;
    run_t x;
    open_r(&x);
    up_revenue_t v;
    revenue(&x, "R", &v);
    assert_true(v.arr == 12000.0 && v.arr_365d_ago == 10000.0);
    assert_true(v.expansion_365d == 7500.0 && v.contraction_365d == 5500.0 && v.new_365d == 0.0);
    assert_true(v.nrr_365d == 1.2);
    static const struct {
        int day;
        double from, to;
    } want[] = {{-200, 10000, 12000}, {-100, 12000, 17000}, {-60, 17000, 17500}, {-30, 17500, 12500},
                {-10, 12500, 12000}};
    assert_int_equal(v.n_arr_changes, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(v.arr_changes[i].day, D0 + want[i].day);
        assert_true(v.arr_changes[i].from == want[i].from && v.arr_changes[i].to == want[i].to);
    }
    up_revenue_free(&v);

    revenue(&x, "Z", &v);
    assert_true(v.arr == 0.0 && v.arr_365d_ago == 0.0 && isnan(v.nrr_365d));
    /* 0 -> 1000 is a new contract, not expansion; then 1000 -> 0 */
    assert_true(v.new_365d == 1000.0 && v.expansion_365d == 0.0 && v.contraction_365d == 1000.0);
    up_revenue_free(&v);

    revenue(&x, "P", &v);
    assert_false(v.has_subscriptions);
    assert_true(v.arr == 5000.0 && v.arr_365d_ago == 5000.0 && v.nrr_365d == 1.0);
    assert_int_equal(v.n_seat_changes, 0);
    assert_int_equal(v.n_arr_changes, 0);
    up_revenue_free(&v);
    fx_run_close(&x);
}

/* An account row built by hand: only what a target or friction reads. */
static up_account_metrics_t row_of(up_account_t *acc, const char *id, const char *segment, int contract_day,
                                   int64_t seats, int64_t mau)
{
    memset(acc, 0, sizeof *acc);
    acc->account_id = (char *)id;
    acc->segment = (char *)segment;
    acc->contract_start = contract_day == INT32_MIN ? UP_NO_DAY : D0 + contract_day;
    acc->renewal_date = acc->churned_at = UP_NO_DAY;
    acc->arr = NAN;
    up_account_metrics_t row;
    memset(&row, 0, sizeof row);
    row.account = acc;
    row.seats = seats;
    row.mau = row.active_users = mau;
    row.breadth = seats ? (double)mau / (double)seats : NAN;
    row.seats_utilization = seats ? (double)mau / (double)seats : NAN;   /* as the engine sets it */
    row.ttfv_days = INT64_MIN;
    row.wau_trend = NAN;
    return row;
}

static void extras(run_t *x, const up_account_metrics_t *row, int64_t errors, up_account_extras_t *out)
{
    assert_int_equal(up_engine_account_extras(NULL, up_store_db(x->s), up_store_model(x->s), row, x->T, errors, NULL, out), 0);
}

/* Targets (docs/metrics.md choice 20). util: seats_utilization (MAU / seats)
 * >= 0.5 by day 100 of the contract, for every account.
 *   A1 contract D0-50 (due D0+50), 5 of 20 = 0.25; the line is 0.5 x 50/100 =
 *      0.25: on_track (exactly on it); progress 0.25 / 0.5 = 0.5. A1 is in
 *      segment ent: fast (ttfv_days >= 10 by day 30, due D0-20): ttfv 12: met.
 *   A2 contract D0-50, 4/20 = 0.2 < 0.25: behind. trend (A2 only; wau_trend
 *      >= 0 by day 90, due D0+40): -0.5 < 0: behind (the line is 0).
 *   A3 contract D0-50, 10/20 = 0.5: met.
 *   A4 contract D0-100: due D0, 9/20 = 0.45: missed on its due day; with
 *      contract D0-99 (due D0+1, the day before due) the line is 0.5 x 99/100
 *      = 0.495: behind.
 *   A5 no contract, 1/20: no_contract, no due day; A6 0 seats: no_data.
 *   A7 segment ent, ttfv null: fast is no_data. */
static void test_targets(void **state)
{
    (void)state;
    run_t x;
    open_r(&x);
    up_account_t acc;
    up_account_extras_t ex;
    up_account_metrics_t row = row_of(&acc, "A1", "ent", -50, 20, 5);
    row.ttfv_days = 12;
    extras(&x, &row, -1, &ex);
    assert_int_equal(ex.n_targets, 2);
    assert_string_equal(ex.targets[0].target->name, "util");
    assert_string_equal(ex.targets[0].status, "on_track");
    assert_true(ex.targets[0].value == 0.25 && ex.targets[0].progress == 0.5);
    assert_int_equal(ex.targets[0].due, D0 + 50);
    assert_string_equal(ex.targets[1].target->name, "fast");
    assert_string_equal(ex.targets[1].status, "met");
    assert_true(ex.targets[1].value == 12.0 && ex.targets[1].due == D0 - 20);
    up_account_extras_free(&ex);

    row = row_of(&acc, "A2", NULL, -50, 20, 4);
    row.wau_trend = -0.5;
    extras(&x, &row, -1, &ex);
    assert_int_equal(ex.n_targets, 2);
    assert_string_equal(ex.targets[0].status, "behind");
    assert_string_equal(ex.targets[1].target->name, "trend");
    assert_string_equal(ex.targets[1].status, "behind");
    assert_true(ex.targets[1].value == -0.5 && isnan(ex.targets[1].progress));   /* min 0 */
    up_account_extras_free(&ex);

    static const struct {
        const char *id;
        int contract;
        int64_t seats, mau;
        const char *status;
    } one[] = {{"A3", -50, 20, 10, "met"}, {"A4", -100, 20, 9, "missed"}, {"A4", -99, 20, 9, "behind"},
               {"A5", INT32_MIN, 20, 1, "no_contract"}, {"A6", -50, 0, 0, "no_data"}};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        row = row_of(&acc, one[i].id, NULL, one[i].contract, one[i].seats, one[i].mau);
        extras(&x, &row, -1, &ex);
        assert_int_equal(ex.n_targets, 1);
        assert_string_equal(ex.targets[0].status, one[i].status);
        assert_int_equal(ex.targets[0].due, one[i].contract == INT32_MIN ? UP_NO_DAY : D0 + one[i].contract + 100);
        up_account_extras_free(&ex);
    }

    row = row_of(&acc, "A7", "ent", -50, 20, 10);
    extras(&x, &row, -1, &ex);
    assert_int_equal(ex.n_targets, 2);
    assert_string_equal(ex.targets[1].status, "no_data");
    up_account_extras_free(&ex);
    fx_run_close(&x);
}

/* Milestones of M: today (due D0, open) is overdue from its due day on with 0
 * whole days past; yesterday (due D0-1) overdue by exactly 1 day; week (due
 * D0-7) 7 days -> stalled; six (due D0-6, done D0 10:00) done; tomorrow (due
 * D0+1) not yet. done 1, overdue 3, stalled 1; done in window(28) 1 -> 0.25
 * per week; due in it (today, yesterday, week, six) 4 -> 1.0 per week. */
static void test_milestones(void **state)
{
    (void)state;
    run_t x;
    open_r(&x);
    up_account_t acc;
    up_account_extras_t ex;
    up_account_metrics_t row = row_of(&acc, "M", NULL, INT32_MIN, 0, 0);
    extras(&x, &row, -1, &ex);
    assert_int_equal(ex.n_milestones, 5);
    static const char *const names[] = {"week", "six", "yesterday", "today", "tomorrow"};
    static const int overdue[] = {7, 0, 1, 0, 0};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(ex.milestones[i].name, names[i]);
        assert_int_equal(ex.milestones[i].overdue_days, overdue[i]);
    }
    assert_int_equal(ex.done, 1);
    assert_int_equal(ex.overdue, 3);
    assert_int_equal(ex.stalled, 1);
    assert_true(ex.done_per_week == 0.25 && ex.planned_per_week == 1.0);
    up_account_extras_free(&ex);

    /* the day before: yesterday is due today (overdue, 0 days), week is 6 days past: not stalled */
    x.T = up_engine_end_of_day(D0 - 1);
    extras(&x, &row, -1, &ex);
    assert_int_equal(ex.milestones[0].overdue_days, 6);
    assert_int_equal(ex.milestones[2].overdue_days, 0);
    assert_int_equal(ex.overdue, 3);   /* week, six (done only on D0), yesterday */
    assert_int_equal(ex.stalled, 0);
    up_account_extras_free(&ex);
    fx_run_close(&x);
}

/* Friction of R: tickets in window(28): t1 (D0-3); t0 (D0-28) is before it.
 * Error events 2 (see the top). MAU 2 (u1, u2): (1 + 2) / 2 = 1.5, flagged
 * with breadth 0.5 >= 0.40, not with breadth 0.3. Without error events in the
 * model: 1 / 2 = 0.5, still flagged (0.5 or more). */
static void test_friction_error_events(void **state)
{
    (void)state;
    run_t x;
    open_r(&x);
    const up_model_t *m = up_store_model(x.s);
    int64_t *counts;
    assert_int_equal(up_engine_account_error_counts(x.s, x.r, m, x.T, &counts), 0);
    assert_non_null(counts);
    const up_dict_t *accs = &x.r->dict[UP_KIND_ACCOUNT];
    assert_int_equal(counts[up_dict_find(accs, "R", 1)], 2);
    assert_int_equal(counts[up_dict_find(accs, "Z", 1)], 1);

    up_account_t acc;
    up_account_extras_t ex;
    up_account_metrics_t row = row_of(&acc, "R", NULL, INT32_MIN, 4, 2);
    extras(&x, &row, counts[up_dict_find(accs, "R", 1)], &ex);
    assert_int_equal(ex.tickets_28d, 1);
    assert_int_equal(ex.error_events_28d, 2);
    assert_true(ex.friction == 1.5 && ex.friction_flag);
    up_account_extras_free(&ex);
    row.breadth = 0.3;
    extras(&x, &row, 2, &ex);
    assert_true(ex.friction == 1.5 && !ex.friction_flag);
    up_account_extras_free(&ex);
    free(counts);

    /* a model without error events: no counts and no scan */
    up_model_t none = *m;
    none.n_error_events = 0;
    assert_int_equal(up_engine_account_error_counts(x.s, x.r, &none, x.T, &counts), 0);
    assert_null(counts);
    row.breadth = 0.5;
    extras(&x, &row, -1, &ex);
    assert_int_equal(ex.error_events_28d, -1);
    assert_true(ex.friction == 0.5 && ex.friction_flag);
    up_account_extras_free(&ex);
    fx_run_close(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seat_changes),
        cmocka_unit_test(test_utilization),
        cmocka_unit_test(test_arr),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_milestones),
        cmocka_unit_test(test_friction_error_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
