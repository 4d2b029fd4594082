/* test_rollup: the snapshot (rollup.bin) gives back exactly the rollup that
 * was saved, whether the reader maps it at the address it is laid out for
 * (used in place) or elsewhere (its pointers moved), and a loaded rollup
 * that folds in more events ends as the one that folded them all. */
#include "testutil.h"

#include <unistd.h>

#include "model.h"
#include "rollup.h"
#include "timeparse.h"
#include "util.h"

static const char MODEL[] = "features:\n"
                            "  - name: a\n    core: true\n    events: [a]\n    exposure_events: [tour]\n"
                            "  - name: b\n    events: [b]\n    advanced_events: [b2]\n"
                            "passive_events: [login]\n"
                            "key_actions: [k]\n";
static const char *const EVENTS[] = {"a", "b", "b2", "k", "login", "tour"};
#define DAY0 20454   /* 2026-01-01 */

static up_model_t *model;
static char path[96];

/* Event i of the fixture: a spread of pairs, names and days, some of them
 * years apart (bitmaps of several words) and some before day 0. */
static void event_of(uint32_t i, uint32_t *acc, uint32_t *user, uint32_t *name, int64_t *ts)
{
    *acc = i % 3;
    *user = (i * 7) % 11;
    *name = (i * 5) % 6;
    int32_t day = DAY0 + (int32_t)((i * 37) % 200) - 60 + (i % 29 == 0 ? 900 : 0);
    *ts = (int64_t)day * UP_MS_PER_DAY + (int64_t)((i * 7919) % UP_MS_PER_DAY);
}

/* Folds events [from, to) of the fixture into r. */
static void fold(up_rollup_t *r, uint32_t from, uint32_t to)
{
    char s[16];
    for (uint32_t i = from; i < to; i++) {
        uint32_t a, u, e;
        int64_t ts;
        int added;
        event_of(i, &a, &u, &e, &ts);
        int n = snprintf(s, sizeof s, "acct%u", a);
        int64_t aid = up_dict_intern(&r->dict[UP_KIND_ACCOUNT], s, (size_t)n, &added);
        n = snprintf(s, sizeof s, "u%u", u);
        int64_t uid = up_dict_intern(&r->dict[UP_KIND_USER], s, (size_t)n, &added);
        int64_t eid = up_dict_intern(&r->dict[UP_KIND_EVENT], EVENTS[e], strlen(EVENTS[e]), &added);
        assert_true(aid >= 0 && uid >= 0 && eid >= 0);
        int64_t pair = up_rollup_pair(r, (uint32_t)aid, (uint32_t)uid, &added);
        assert_true(pair >= 0);
        up_ev_t ev = {ts, (uint32_t)pair, (uint32_t)eid};
        assert_int_equal(up_rollup_add(r, &ev), 0);
    }
}

static void days_equal(const up_days_t *x, const up_days_t *y)
{
    /* the same days, whatever the words' extent */
    for (int32_t d = DAY0 - 200; d < DAY0 + 1200; d++)
        assert_int_equal(up_days_count(x, d, d), up_days_count(y, d, d));
}

/* x and y hold the same pairs with the same contents. */
static void rollups_equal(const up_rollup_t *x, const up_rollup_t *y)
{
    assert_int_equal(x->n_pairs, y->n_pairs);
    assert_int_equal(x->events, y->events);
    assert_true(x->min_ts == y->min_ts && x->max_ts == y->max_ts);
    for (int k = 0; k < UP_KINDS; k++) {
        assert_int_equal(x->dict[k].n, y->dict[k].n);
        for (uint32_t i = 0; i < x->dict[k].n; i++)
            assert_string_equal(up_dict_str(&x->dict[k], i), up_dict_str(&y->dict[k], i));
    }
    for (uint32_t i = 0; i < x->n_pairs; i++) {
        const up_pair_t *p = &x->pairs[i], *q = &y->pairs[i];
        assert_true(p->account == q->account && p->user == q->user && p->flags == q->flags);
        assert_true(p->first_ts == q->first_ts && p->last_ts == q->last_ts && p->first_ka_ts == q->first_ka_ts);
        days_equal(&p->active, &q->active);
        assert_int_equal(p->n_ka, q->n_ka);
        assert_memory_equal(p->ka, q->ka, p->n_ka * sizeof *p->ka);
        assert_int_equal(p->n_evd, q->n_evd);
        assert_memory_equal(p->evd, q->evd, p->n_evd * sizeof *p->evd);
        assert_int_equal(p->n_pf, q->n_pf);
        for (uint32_t j = 0; j < p->n_pf; j++) {
            assert_int_equal(p->pf[j].feature, q->pf[j].feature);
            assert_true(p->pf[j].first_use_ts == q->pf[j].first_use_ts &&
                        p->pf[j].first_exposure_ts == q->pf[j].first_exposure_ts);
            days_equal(&p->pf[j].used, &q->pf[j].used);
            days_equal(&p->pf[j].advanced, &q->pf[j].advanced);
        }
    }
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(up_model_parse(MODEL, strlen(MODEL), "t", &model, err, sizeof err), 0);
    snprintf(path, sizeof path, "/tmp/uptake-test-rollup-%d.bin", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    up_model_free(model);
    return 0;
}

static void save(const up_rollup_t *r)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(up_rollup_save(r, f, 42, 4242), 0);
    assert_int_equal(fclose(f), 0);
}

static void load(up_rollup_t *r)
{
    char why[256];
    uint64_t off = 0;
    up_rollup_init(r, model, INT64_MAX);
    int rc = up_rollup_load(r, path, 42, &off, why, sizeof why);
    if (rc != 0)
        fail_msg("load: %d %s", rc, why);
    assert_int_equal(off, 4242);
}

/* In place and moved: the same rollup as saved; the second snapshot of a
 * process cannot have the address the first holds. */
static void test_round_trip(void **state)
{
    (void)state;
    up_rollup_t built, first, second;
    up_rollup_init(&built, model, INT64_MAX);
    fold(&built, 0, 3000);
    assert_int_equal(built.n_pairs, 33);   /* 3 accounts × 11 users: i % 3 and 7i % 11 cover every pair */
    save(&built);
    load(&first);
    load(&second);
    assert_true(first.pairs_mapped && second.pairs_mapped);
    /* one of the two is not where the file was laid out for: its pointers moved */
    assert_true(first.map != second.map);
    rollups_equal(&built, &first);
    rollups_equal(&built, &second);
    /* every array of the moved one lies in its own mapping */
    for (uint32_t i = 0; i < second.n_pairs; i++) {
        const up_pair_t *p = &second.pairs[i];
        uintptr_t lo = (uintptr_t)second.map, hi = lo + second.map_len;
        assert_true(!p->n_pf || ((uintptr_t)p->pf >= lo && (uintptr_t)p->pf < hi));
        assert_true(!p->active.nw || ((uintptr_t)p->active.w >= lo && (uintptr_t)p->active.w < hi));
        assert_true(!p->n_evd || ((uintptr_t)p->evd >= lo && (uintptr_t)p->evd < hi));
    }
    up_rollup_free(&second);
    up_rollup_free(&first);
    up_rollup_free(&built);
}

/* A loaded rollup folds in more events (new pairs, new days, new features of
 * old pairs) and ends as the rollup that folded every event; the file is
 * not changed by it. */
static void test_fold_after_load(void **state)
{
    (void)state;
    up_rollup_t all, part, loaded;
    up_rollup_init(&all, model, INT64_MAX);
    fold(&all, 0, 5000);
    up_rollup_init(&part, model, INT64_MAX);
    fold(&part, 0, 20);   /* 20 of the 33 pairs: the pairs repeat every 33 events */
    save(&part);
    assert_true(part.n_pairs < all.n_pairs);
    load(&loaded);
    fold(&loaded, 20, 5000);
    assert_false(loaded.pairs_mapped);   /* new pairs: the records were copied out */
    rollups_equal(&all, &loaded);
    up_rollup_free(&loaded);
    load(&loaded);   /* the file still holds the 20 events */
    rollups_equal(&part, &loaded);
    up_rollup_free(&loaded);
    up_rollup_free(&part);
    up_rollup_free(&all);
}

/* A record whose pointer leaves its region, with its checksums made good
 * again, is refused with the pair named: the checks behind the checksums. */
static void test_bad_pointer_refused(void **state)
{
    (void)state;
    up_rollup_t built, r;
    up_rollup_init(&built, model, INT64_MAX);
    fold(&built, 0, 300);
    save(&built);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    uint8_t *b = malloc((size_t)size);
    assert_non_null(b);
    rewind(f);
    assert_int_equal(fread(b, 1, (size_t)size, f), (size_t)size);
    uint64_t head, mid;
    memcpy(&head, b + size - 72, 8);
    memcpy(&mid, b + size - 72 + 24, 8);
    up_pair_t p;
    memcpy(&p, b + head, sizeof p);
    p.evd = (up_evday_t *)(uintptr_t)((uintptr_t)p.evd + (uintptr_t)size);   /* past the end of the file */
    memcpy(b + head, &p, sizeof p);
    /* the section sums again: bytes [head, mid) and the trailer */
    uint32_t crc = up_crc32c(0, b + head, (size_t)(mid - head));
    memcpy(b + size - 72 + 52, &crc, 4);
    crc = up_crc32c(0, b + size - 72, 68);
    memcpy(b + size - 72 + 68, &crc, 4);
    rewind(f);
    assert_int_equal(fwrite(b, 1, (size_t)size, f), (size_t)size);
    assert_int_equal(fclose(f), 0);
    free(b);
    char why[256];
    uint64_t off;
    up_rollup_init(&r, model, INT64_MAX);
    assert_int_equal(up_rollup_load(&r, path, 42, &off, why, sizeof why), -UP_ECORRUPT);
    assert_string_equal(why, "pair record 0: its days of active events lie outside the data region");
    up_rollup_free(&r);
    up_rollup_free(&built);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_fold_after_load),
        cmocka_unit_test(test_bad_pointer_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
