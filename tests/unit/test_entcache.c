/* test_entcache: the entity tables' blob (src/entcache.c) decodes to the rows
 * it was made from, the window applied as up_entities_load applies it; and
 * a damaged blob is refused with its reason, never decoded into other rows.
 *
 * Fixture (by hand): accounts "a" (name "Acme", seats 30, arr 1200.5,
 * contract_start day 100, no renewal) and "b" (no name, arr NAN); NPS
 * answers a@1000 (9), a@2000 (7), b@3000 (10); a subscription of a (start
 * 500, open, 25 seats); outcomes a/"roi"@1500 (2.5, target 3) and
 * b/"roi"@2500; a churn of b at 4000. With the window [1500, 2500]: a's
 * answer at 2000 only; the outcomes with ts <= 2500: both. */
#include "testutil.h"

#include <math.h>

#include "entcache.h"

static void fixture(up_entities_t *e)
{
    static up_account_t acc[2];
    static up_survey_t sur[3];
    static up_subscription_t sub[1];
    static up_outcome_t out[2];
    static up_churn_t chu[1];
    memset(e, 0, sizeof *e);
    memset(acc, 0, sizeof acc);
    acc[0] = (up_account_t){.account_id = "a", .name = "Acme", .seats = 30, .contract_start = 100,
                            .renewal_date = UP_NO_DAY, .churned_at = UP_NO_DAY, .arr = 1200.5, .in_table = true};
    acc[1] = (up_account_t){.account_id = "b", .seats = 0, .contract_start = UP_NO_DAY, .renewal_date = UP_NO_DAY,
                            .churned_at = 40, .arr = NAN, .in_table = true};
    sur[0] = (up_survey_t){"a", 1000, 9};
    sur[1] = (up_survey_t){"a", 2000, 7};
    sur[2] = (up_survey_t){"b", 3000, 10};
    sub[0] = (up_subscription_t){"a", 500, UP_TS_NONE, 25, NAN};
    out[0] = (up_outcome_t){"a", "roi", 1500, UP_TS_NONE, 2.5, 3};
    out[1] = (up_outcome_t){"b", "roi", 2500, 9000, 1, NAN};
    chu[0] = (up_churn_t){"b", 4000};
    e->accounts = acc, e->n_accounts = 2;
    e->surveys = sur, e->n_surveys = 3;
    e->subscriptions = sub, e->n_subscriptions = 1;
    e->outcomes = out, e->n_outcomes = 2;
    e->churns = chu, e->n_churns = 1;
}

static void test_round_trip(void **state)
{
    (void)state;
    up_entities_t in, e;
    fixture(&in);
    uint8_t *b;
    size_t n;
    assert_int_equal(up_entcache_encode(&in, 42, &b, &n), 0);
    assert_int_equal(up_entcache_gen_of(b, n), 42);
    char why[128];
    assert_int_equal(up_entcache_decode(b, n, 1500, 2500, UP_ENT_ALL, &e, why, sizeof why), 0);
    assert_int_equal(e.n_accounts, 2);
    assert_string_equal(e.accounts[0].account_id, "a");
    assert_string_equal(e.accounts[0].name, "Acme");
    assert_null(e.accounts[0].segment);
    assert_int_equal(e.accounts[0].seats, 30);
    assert_int_equal(e.accounts[0].contract_start, 100);
    assert_int_equal(e.accounts[0].renewal_date, UP_NO_DAY);
    assert_true(e.accounts[0].arr == 1200.5);
    assert_null(e.accounts[1].name);
    assert_int_equal(e.accounts[1].churned_at, 40);
    assert_true(isnan(e.accounts[1].arr));
    assert_true(e.accounts[0].in_table && e.accounts[0].has_rows);
    /* the window: a's answer at 2000 alone */
    assert_int_equal(e.n_surveys, 1);
    assert_string_equal(e.surveys[0].account_id, "a");
    assert_int_equal(e.surveys[0].ts, 2000);
    assert_true(e.surveys[0].score == 7);
    assert_int_equal(e.n_subscriptions, 1);
    assert_int_equal(e.subscriptions[0].end, UP_TS_NONE);
    assert_int_equal(e.subscriptions[0].seats, 25);
    assert_int_equal(e.n_outcomes, 2);
    assert_string_equal(e.outcomes[1].account_id, "b");
    assert_string_equal(e.outcomes[1].metric, "roi");
    assert_int_equal(e.outcomes[1].due, 9000);
    assert_true(isnan(e.outcomes[1].target));
    assert_int_equal(e.n_churns, 1);
    assert_int_equal(e.churns[0].ts, 4000);
    /* each account's rows, as up_entities_load finds them */
    assert_int_equal(e.accounts[0].rows[UP_ROWS_SURVEYS][0], 0);
    assert_int_equal(e.accounts[0].rows[UP_ROWS_SURVEYS][1], 1);
    assert_int_equal(e.accounts[1].rows[UP_ROWS_SURVEYS][0], 1);
    assert_int_equal(e.accounts[1].rows[UP_ROWS_SURVEYS][1], 1);
    assert_int_equal(e.accounts[1].rows[UP_ROWS_CHURNS][0], 0);
    assert_int_equal(e.accounts[1].rows[UP_ROWS_CHURNS][1], 1);
    up_entities_free(&e);
    /* outcomes with ts <= 2000: a's; no parts: neither answers nor outcomes */
    assert_int_equal(up_entcache_decode(b, n, INT64_MIN, 2000, UP_ENT_OUTCOMES, &e, why, sizeof why), 0);
    assert_int_equal(e.n_surveys, 0);
    assert_int_equal(e.n_outcomes, 1);
    up_entities_free(&e);
    assert_int_equal(up_entcache_decode(b, n, INT64_MIN, INT64_MAX, 0, &e, why, sizeof why), 0);
    assert_int_equal(e.n_surveys + e.n_outcomes, 0);
    assert_int_equal(e.n_accounts + e.n_subscriptions + e.n_churns, 4);
    up_entities_free(&e);
    free(b);
}

/* CRC-32C of the bytes before the last 4, written into them */
static void reseal(uint8_t *b, size_t n)
{
    uint32_t c = up_crc32c(0, b, n - 4);
    memcpy(b + n - 4, &c, 4);
}

static void test_damage(void **state)
{
    (void)state;
    up_entities_t in, e;
    fixture(&in);
    uint8_t *b;
    size_t n;
    char why[128];
    assert_int_equal(up_entcache_encode(&in, 42, &b, &n), 0);
    /* every single-bit flip anywhere is refused */
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(up_entcache_decode(b, n, INT64_MIN, INT64_MAX, UP_ENT_ALL, &e, why, sizeof why),
                             -UP_ECORRUPT);
            assert_null(e.accounts);
            b[i] ^= (uint8_t)(1u << bit);
        }
    /* cut short by one byte, and one byte more */
    assert_int_equal(up_entcache_decode(b, n - 1, INT64_MIN, INT64_MAX, UP_ENT_ALL, &e, why, sizeof why),
                     -UP_ECORRUPT);
    assert_string_equal(why, "its counts do not match its length");
    /* with the checksum made good: the first account's name offset (the
     * second u32 of its record, which follows the 44-byte header and the
     * strings) one past the strings' last byte */
    uint32_t slen;
    memcpy(&slen, b + 32, 4);
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    uint32_t off = slen;   /* one past the last byte */
    memcpy(c + 44 + slen + 4, &off, 4);
    reseal(c, n);
    assert_int_equal(up_entcache_decode(c, n, INT64_MIN, INT64_MAX, UP_ENT_ALL, &e, why, sizeof why), -UP_ECORRUPT);
    assert_string_equal(why, "an account's string is out of range");
    /* an account id of NULL (the NONE offset) */
    memcpy(c, b, n);
    off = UINT32_MAX;
    memcpy(c + 44 + slen, &off, 4);
    reseal(c, n);
    assert_int_equal(up_entcache_decode(c, n, INT64_MIN, INT64_MAX, UP_ENT_ALL, &e, why, sizeof why), -UP_ECORRUPT);
    /* the strings' last byte not a NUL */
    memcpy(c, b, n);
    c[44 + slen - 1] = 'x';
    reseal(c, n);
    assert_int_equal(up_entcache_decode(c, n, INT64_MIN, INT64_MAX, UP_ENT_ALL, &e, why, sizeof why), -UP_ECORRUPT);
    assert_string_equal(why, "its last string is not terminated");
    /* a count one higher (the length then disagrees) */
    memcpy(c, b, n);
    c[16]++;   /* surveys */
    reseal(c, n);
    assert_int_equal(up_entcache_decode(c, n, INT64_MIN, INT64_MAX, UP_ENT_ALL, &e, why, sizeof why), -UP_ECORRUPT);
    assert_string_equal(why, "its counts do not match its length");
    free(c);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
