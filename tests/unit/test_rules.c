/* rules: the alert condition language. Every expected value below is worked
 * out by hand from the grammar and the null rules in src/rules.h. */
#include "testutil.h"

#include "rules.h"
#include "util.h"

/* breadth 0.35, depth 0.5, wau_trend -0.4, days_into_contract 61,
 * champion_active false, nps null (unset), anything else unknown (null) */
static up_val_t lookup(void *ctx, const char *name)
{
    (void)ctx;
    up_val_t v = {UP_VAL_NULL, 0, 0};
    if (!strcmp(name, "breadth"))
        v.kind = UP_VAL_NUM, v.num = 0.35;
    else if (!strcmp(name, "depth"))
        v.kind = UP_VAL_NUM, v.num = 0.5;
    else if (!strcmp(name, "wau_trend"))
        v.kind = UP_VAL_NUM, v.num = -0.4;
    else if (!strcmp(name, "days_into_contract"))
        v.kind = UP_VAL_NUM, v.num = 61;
    else if (!strcmp(name, "champion_active"))
        v.kind = UP_VAL_BOOL, v.b = 0;
    return v;
}

static int known(const char *name)
{
    return strcmp(name, "colour") != 0;
}

/* -1 null, 0 false, 1 true, 2 a number */
static int outcome(const char *text, double *num)
{
    up_cond_t *c;
    char err[128];
    if (up_cond_compile(text, known, &c, err, sizeof err) != 0)
        fail_msg("'%s' did not compile: %s", text, err);
    up_val_t v = up_cond_eval(c, lookup, NULL);
    up_cond_free(c);
    if (v.kind == UP_VAL_NUM) {
        if (num)
            *num = v.num;
        return 2;
    }
    return v.kind == UP_VAL_NULL ? -1 : v.b;
}

static void test_built_in_shapes(void **state)
{
    (void)state;
    /* 0.35 < 0.40 and 61 > 60 */
    assert_int_equal(outcome("breadth < 0.40 and days_into_contract > 60", NULL), 1);
    /* -0.4 <= -0.30 */
    assert_int_equal(outcome("wau_trend <= -0.30", NULL), 1);
    /* breadth >= 0.60 is false, so the and is false whatever follows */
    assert_int_equal(outcome("breadth >= 0.60 and depth < 1", NULL), 0);
    assert_int_equal(outcome("not champion_active", NULL), 1);
    assert_int_equal(outcome("champion_active == false", NULL), 1);
}

static void test_null_logic(void **state)
{
    (void)state;
    assert_int_equal(outcome("nps < 0", NULL), -1);               /* null compared: null */
    assert_int_equal(outcome("not (nps < 0)", NULL), -1);         /* not null: null */
    assert_int_equal(outcome("nps < 0 and breadth > 1", NULL), 0); /* null and false: false */
    assert_int_equal(outcome("nps < 0 and breadth < 1", NULL), -1); /* null and true: null */
    assert_int_equal(outcome("nps < 0 or breadth < 1", NULL), 1);  /* null or true: true */
    assert_int_equal(outcome("nps < 0 or breadth > 1", NULL), -1); /* null or false: null */
    assert_int_equal(outcome("nps == null", NULL), -1);            /* null is not comparable, even to null */
    assert_int_equal(outcome("breadth / 0 > 1", NULL), -1);        /* division by zero: null */
    assert_int_equal(outcome("breadth and true", NULL), -1);       /* a number is not a truth value */
}

static void test_arithmetic_and_precedence(void **state)
{
    (void)state;
    double v = 0;
    /* 1 + 2 * 3 = 7; (1 + 2) * 3 = 9; - - 2 = 2; 10 - 4 - 3 = 3 (left to right) */
    assert_int_equal(outcome("1 + 2 * 3", &v), 2);
    assert_true(v == 7);
    assert_int_equal(outcome("(1 + 2) * 3", &v), 2);
    assert_true(v == 9);
    assert_int_equal(outcome("- -2", &v), 2);
    assert_true(v == 2);
    assert_int_equal(outcome("10 - 4 - 3", &v), 2);
    assert_true(v == 3);
    /* and binds tighter than or: true or (false and null) = true */
    assert_int_equal(outcome("breadth < 1 or breadth > 1 and nps > 0", NULL), 1);
    /* 0.35 * 100 = 35.0 exactly? 0.35*100 = 35.00000000000001 in doubles, so >= 35 */
    assert_int_equal(outcome("breadth * 100 >= 35", NULL), 1);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct { const char *text, *err; } cases[] = {
        {"breadth <", "column 10: unexpected end of the condition"},
        {"breadth < 0.4 and", "column 18: unexpected end of the condition"},
        {"colour == 1", "column 1: unknown name 'colour'"},
        {"breadth = 1", "column 9: '=' is not an operator: use '=='"},
        {"0 < breadth < 1", "column 13: comparisons do not chain: use 'and'"},
        {"(breadth < 1", "column 13: expected ')'"},
        {"breadth < 1)", "column 12: unexpected ')'"},
        {"system(\"rm\")", "column 7: unexpected '(\"rm\")'"},
        {"", "column 1: unexpected end of the condition"},
        {"and", "column 1: expected a value, got 'and'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        up_cond_t *c = NULL;
        char err[128] = "";
        int rc = up_cond_compile(cases[i].text, known, &c, err, sizeof err);
        if (rc != -UP_EPARSE || strcmp(err, cases[i].err) != 0)
            fail_msg("'%s': rc %d, err '%s', want '%s'", cases[i].text, rc, err, cases[i].err);
        assert_null(c);
    }
}

static void collect(void *ctx, const char *name)
{
    up_buf_t *b = ctx;
    up_buf_printf(b, "%s;", name);
}

static void test_names(void **state)
{
    (void)state;
    up_cond_t *c;
    char err[64];
    assert_int_equal(up_cond_compile("breadth < 0.4 and (depth < breadth or not champion_active)", NULL, &c, err,
                                     sizeof err), 0);
    up_buf_t b = {0};
    up_cond_names(c, collect, &b);
    assert_string_equal(b.data, "breadth;depth;champion_active;");   /* each once, in order of appearance */
    up_buf_free(&b);
    up_cond_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_built_in_shapes),
        cmocka_unit_test(test_null_logic),
        cmocka_unit_test(test_arithmetic_and_precedence),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
