/* test_demo: the demo generator is deterministic, writes the documented
 * headers, keeps every event inside its user's account and time span, gives
 * each archetype its signature (outcomes on track for the effective ones,
 * behind for the high ones), and meets an event target within 10%. */
#include "testutil.h"
#include "demo.h"
#include "util.h"

#include <unistd.h>

static const char *const files[] = {"model.yaml", "accounts.csv", "users.csv", "events.csv", "surveys.csv",
                                    "outcomes.csv", "subscriptions.csv", "tickets.csv", "milestones.csv"};
#define N_FILES 9

static char *read_all(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    up_buf_t b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(up_buf_append(&b, chunk, n), 0);
    fclose(f);
    if (!b.data)
        assert_int_equal(up_buf_append(&b, "", 0), 0);
    *len = b.len;
    return b.data;
}

static void generate(const char *dir, const up_demo_opts_t *o)
{
    char err[256];
    int rc = up_demo_write(dir, o, err, sizeof err);
    if (rc != 0)
        fail_msg("up_demo_write: %s", err);
}

static size_t count_lines(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    return n;
}

/* Days since 1970-01-01 of "YYYY-MM-DD" (Howard Hinnant's days_from_civil). */
static int32_t day_of(const char *s)
{
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    y -= m <= 2;
    int era = y / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void test_defaults(void **state)
{
    (void)state;
    up_demo_opts_t o;
    up_demo_defaults(&o);
    assert_int_equal(o.accounts, 60);
    assert_int_equal(o.days, 180);
    assert_int_equal(o.seed, 1);
    assert_int_equal(o.events, 0);
    assert_int_equal(o.end_day, day_of("2026-11-20"));   /* 20777 */
    assert_int_equal(o.progress, 0);
    const char *y = up_demo_model_yaml();
    assert_non_null(strstr(y, "features:\n  - name: reports\n    core: true\n"));
    assert_non_null(strstr(y, "passive_events: [login, page_view]\n"));
    assert_non_null(strstr(y, "key_actions: [report.share, integration.connect]\n"));
    assert_non_null(strstr(y, "targets:\n  - {name: seats-in-use, metric: breadth, min: 0.6, by_day: 120}\n"));
}

static void test_deterministic(void **state)
{
    (void)state;
    char d1[64], d2[64], d3[64];
    assert_int_equal(fx_mkdtemp(d1, sizeof d1, "demo"), 0);
    assert_int_equal(fx_mkdtemp(d2, sizeof d2, "demo"), 0);
    assert_int_equal(fx_mkdtemp(d3, sizeof d3, "demo"), 0);
    up_demo_opts_t o;
    up_demo_defaults(&o);
    o.accounts = 10;
    o.days = 30;
    o.seed = 5;
    generate(d1, &o);
    generate(d2, &o);
    o.seed = 6;
    generate(d3, &o);
    for (int i = 0; i < N_FILES; i++) {
        size_t n1, n2, n3;
        char *a = read_all(d1, files[i], &n1), *b = read_all(d2, files[i], &n2);
        char *c = read_all(d3, files[i], &n3);
        assert_true(n1 > 0);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, n1);
        if (strcmp(files[i], "events.csv") == 0 || strcmp(files[i], "users.csv") == 0)
            assert_true(n1 != n3 || memcmp(a, c, n1) != 0);
        free(a);
        free(b);
        free(c);
    }
    size_t n;
    char *model = read_all(d1, "model.yaml", &n);
    assert_string_equal(model, up_demo_model_yaml());
    free(model);
    assert_int_equal(fx_rmdir(d1), 0);
    assert_int_equal(fx_rmdir(d2), 0);
    assert_int_equal(fx_rmdir(d3), 0);
}

static void test_headers(void **state)
{
    (void)state;
    static const char *const headers[] = {
        NULL,
        "account_id,name,seats,contract_start,renewal_date,arr,segment,owner,churned_at\n",
        "user_id,account_id,created_at,role,deactivated_at\n",
        "ts,user_id,account_id,event\n",
        "account_id,user_id,ts,kind,score\n",
        "account_id,metric,ts,value,target,due\n",
        "account_id,subscription_id,start,end,seats,arr\n",
        "account_id,ticket_id,ts,priority,satisfaction\n",
        "account_id,name,due,done_at,owner\n",
    };
    char dir[64];
    assert_int_equal(fx_mkdtemp(dir, sizeof dir, "demo"), 0);
    up_demo_opts_t o;
    up_demo_defaults(&o);
    o.accounts = 8;
    o.days = 14;
    generate(dir, &o);
    for (int i = 1; i < N_FILES; i++) {
        size_t n;
        char *s = read_all(dir, files[i], &n);
        size_t h = strlen(headers[i]);
        assert_true(n > h);
        assert_memory_equal(s, headers[i], h);
        free(s);
    }
    assert_int_equal(fx_rmdir(dir), 0);
}

/* What the checks below need to know about each account. */
typedef struct {
    int seats;
    char start[11], churned[11];
    int day_events[64];          /* events per day of the window */
    unsigned used;               /* feature prefixes used in the last 28 days */
    int champion;                /* user number of the champion, 0 if none */
    int champion_last;           /* champion's last event day index, -1 if none */
    int others_late;             /* events of non-champions in the last 21 days */
} acct_t;

typedef struct {
    int account;                 /* index into acct_t[] */
    char created[21];
    int last_active, last_any;   /* day index, -1 when none */
} user_t;

static const char *const feature_prefix[] = {"report.", "dashboard.", "alert.", "integration.",
                                             "segment.", "workflow.", "forecast.", "export."};
#define CORE_MASK 0x1Fu

static int feature_of(const char *ev, size_t n)
{
    for (int f = 0; f < 8; f++) {
        size_t k = strlen(feature_prefix[f]);
        if (n > k && memcmp(ev, feature_prefix[f], k) == 0)
            return f;
    }
    return -1;
}

static int popcount(unsigned x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* Users (of the account) with an event in the last 28 days: all of them, or
 * only those with a non-passive one when active_only. */
static int users_in_last28(const user_t *u, int n_users, int account, int days, int active_only)
{
    int n = 0;
    for (int i = 1; i <= n_users; i++)
        if (u[i].account == account && (active_only ? u[i].last_active : u[i].last_any) >= days - 28)
            n++;
    return n;
}

static void test_small_run(void **state)
{
    (void)state;
    enum { N_ACC = 10, DAYS = 30 };
    for (uint64_t seed = 1; seed <= 3; seed++) {
        char dir[64];
        assert_int_equal(fx_mkdtemp(dir, sizeof dir, "demo"), 0);
        up_demo_opts_t o;
        up_demo_defaults(&o);
        o.accounts = N_ACC;
        o.days = DAYS;
        o.seed = seed;
        generate(dir, &o);
        int32_t first = o.end_day - DAYS + 1;
        acct_t acc[N_ACC];
        memset(acc, 0, sizeof acc);
        size_t len;
        char *text = read_all(dir, "accounts.csv", &len), *line = strchr(text, '\n') + 1;
        int n_acc = 0;
        for (; *line; line = strchr(line, '\n') + 1, n_acc++) {
            assert_true(n_acc < N_ACC);
            char id[16], name[64];
            acct_t *a = &acc[n_acc];
            assert_int_equal(sscanf(line, "%15[^,],%63[^,],%d,%10[^,]", id, name, &a->seats, a->start), 4);
            char expect[16];
            snprintf(expect, sizeof expect, "acct%04d", n_acc + 1);
            assert_string_equal(id, expect);
            const char *c = line;
            for (int k = 0; k < 8; k++)
                c = strchr(c, ',') + 1;
            if (*c != '\n')
                memcpy(a->churned, c, 10);
            a->champion_last = -1;
        }
        assert_int_equal(n_acc, N_ACC);
        free(text);

        text = read_all(dir, "users.csv", &len);
        size_t max_users = count_lines(text, len);
        user_t *users = calloc(max_users + 1, sizeof *users);
        int n_users = 0;
        for (line = strchr(text, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
            int uid, aid;
            char role[16];
            user_t *u = &users[++n_users];
            assert_int_equal(sscanf(line, "u%d,acct%d,%20[^,],%15[^,\n]", &uid, &aid, u->created, role), 4);
            assert_int_equal(uid, n_users);   /* globally unique, in order */
            assert_true(aid >= 1 && aid <= N_ACC);
            u->account = aid - 1;
            u->last_active = u->last_any = -1;
            if (strcmp(role, "champion") == 0)
                acc[u->account].champion = uid;
        }
        free(text);

        const char *yaml = up_demo_model_yaml();
        text = read_all(dir, "events.csv", &len);
        char prev[21] = "";
        long events = 0;
        for (line = strchr(text, '\n') + 1; *line; line = strchr(line, '\n') + 1, events++) {
            int uid, aid;
            char ts[21], ev[64];
            assert_int_equal(sscanf(line, "%20[^,],u%d,acct%d,%63[^\n]", ts, &uid, &aid, ev), 4);
            assert_int_equal(strlen(ts), 20);
            assert_true(strcmp(prev, ts) <= 0);
            memcpy(prev, ts, sizeof ts);
            assert_true(uid >= 1 && uid <= n_users);
            user_t *u = &users[uid];
            assert_int_equal(u->account, aid - 1);
            acct_t *a = &acc[u->account];
            assert_true(strcmp(ts, u->created) >= 0);
            assert_true(memcmp(ts, a->start, 10) >= 0);
            if (a->churned[0])
                assert_true(memcmp(ts, a->churned, 10) < 0);
            int day = day_of(ts) - first;
            assert_true(day >= 0 && day < DAYS);
            size_t evlen = strlen(ev);
            int passive = strcmp(ev, "login") == 0 || strcmp(ev, "page_view") == 0 ||
                          strncmp(ev, "tour.", 5) == 0 || strncmp(ev, "promo.", 6) == 0;
            if (strcmp(ev, "login") != 0 && strcmp(ev, "page_view") != 0)
                assert_non_null(strstr(yaml, ev));   /* the model knows every event */
            a->day_events[day]++;
            u->last_any = day;
            if (!passive) {
                u->last_active = day;
                int f = feature_of(ev, evlen);
                assert_true(f >= 0);
                if (day >= DAYS - 28)
                    a->used |= 1u << f;
            }
            if (uid == a->champion)
                a->champion_last = day;
            else if (day >= DAYS - 21)
                a->others_late++;
        }
        free(text);
        assert_true(events > 1000);

        /* Archetypes by account index: low, high, effective, ramping,
         * declining, champion_leaves, shelfware. */
        acct_t *low = &acc[0], *high = &acc[1], *eff = &acc[2], *ramp = &acc[3];
        acct_t *decl = &acc[4], *champ = &acc[5], *shelf = &acc[6];
        /* low: few active of seats, one or two features */
        assert_true(users_in_last28(users, n_users, 0, DAYS, 1) < 0.4 * low->seats);
        assert_true(popcount(low->used) >= 1 && popcount(low->used) <= 2);
        /* high: broad, but a core feature unused */
        assert_true(users_in_last28(users, n_users, 1, DAYS, 1) >= 0.4 * high->seats);
        assert_true(popcount(high->used) >= 4);
        assert_true((high->used & CORE_MASK) != CORE_MASK);
        /* effective: broad and every core feature in use */
        assert_true(users_in_last28(users, n_users, 2, DAYS, 1) >= 0.4 * eff->seats);
        assert_int_equal(eff->used & CORE_MASK, CORE_MASK);
        /* ramping: the last ten days busier than its first ten */
        int start = day_of(ramp->start) - first, early = 0, late = 0;
        if (start < 0)
            start = 0;
        for (int d = start; d < start + 10 && d < DAYS; d++)
            early += ramp->day_events[d];
        for (int d = DAYS - 10; d < DAYS; d++)
            late += ramp->day_events[d];
        assert_true(late > early * 3 / 2);
        /* declining: the last week well below the week before */
        int last7 = 0, prev7 = 0;
        for (int d = DAYS - 7; d < DAYS; d++)
            last7 += decl->day_events[d];
        for (int d = DAYS - 14; d < DAYS - 7; d++)
            prev7 += decl->day_events[d];
        assert_true(last7 * 10 < prev7 * 7);
        /* champion_leaves: the champion goes quiet three weeks out; others go on */
        assert_true(champ->champion != 0);
        assert_true(champ->champion_last >= 0 && champ->champion_last < DAYS - 21);
        assert_true(champ->others_late > 0);
        /* shelfware: many seats, few users */
        assert_true(shelf->seats >= 150);
        assert_true(users_in_last28(users, n_users, 6, DAYS, 0) < 0.2 * shelf->seats);

        free(users);
        assert_int_equal(fx_rmdir(dir), 0);
    }
}

/* One row of outcomes.csv. */
typedef struct {
    int account;                 /* 0-based */
    char metric[32];
    int32_t day, due;            /* ts and due, days since epoch (dates only) */
    double value, target;
} outcome_t;

/* The rule of the spec, worked on its own: the metric's latest row with ts <= T
 * is on track when value >= target, or when T < due, due > start and value >=
 * target * (T - start) / (due - start), start being the metric's first ts.
 * Rows are grouped by metric and in ts order. T in ms. Returns 1 on track,
 * 0 behind, -1 when the metric has no row by T. */
static int on_track_at(const outcome_t *rows, int n, int first, double t_ms)
{
    int latest = -1;
    for (int k = first; k < n && rows[k].account == rows[first].account &&
                        strcmp(rows[k].metric, rows[first].metric) == 0; k++)
        if (rows[k].day * 86400000.0 <= t_ms)
            latest = k;
    if (latest < 0)
        return -1;
    const outcome_t *r = &rows[latest];
    double start = rows[first].day * 86400000.0, due = r->due * 86400000.0;
    if (r->value >= r->target)
        return 1;
    return t_ms < due && due > start && r->value >= r->target * (t_ms - start) / (due - start);
}

static void test_outcomes(void **state)
{
    (void)state;
    enum { N_ACC = 28 };
    for (uint64_t seed = 1; seed <= 3; seed++) {
        char dir[64];
        assert_int_equal(fx_mkdtemp(dir, sizeof dir, "demo"), 0);
        up_demo_opts_t o;
        up_demo_defaults(&o);
        o.accounts = N_ACC;
        o.days = seed == 3 ? 20 : 180;
        o.seed = seed;
        generate(dir, &o);
        int32_t first_day = o.end_day - o.days + 1;
        size_t len;
        char *text = read_all(dir, "outcomes.csv", &len);
        int cap = (int)count_lines(text, len), n = 0;
        outcome_t *rows = calloc((size_t)cap + 1, sizeof *rows);
        for (char *line = strchr(text, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
            outcome_t *r = &rows[n];
            char ts[16], due[16];
            int aid;
            assert_int_equal(sscanf(line, "acct%d,%31[^,],%15[^,],%lf,%lf,%15[^,\n]", &aid,
                                    r->metric, ts, &r->value, &r->target, due), 6);
            assert_int_equal(strlen(ts), 10);
            assert_int_equal(strlen(due), 10);
            r->account = aid - 1;
            r->day = day_of(ts);
            r->due = day_of(due);
            assert_true(r->account >= 0 && r->account < N_ACC);
            assert_true(r->day >= first_day && r->day <= o.end_day);
            assert_true(r->target > 0 && r->value >= 0);
            if (n > 0 && rows[n - 1].account == r->account &&
                strcmp(rows[n - 1].metric, r->metric) == 0) {
                assert_true(r->day > rows[n - 1].day);       /* in ts order */
                assert_true(r->value >= rows[n - 1].value);  /* and never falling */
            } else if (n > 0) {
                assert_true(r->account >= rows[n - 1].account);
            }
            n++;
        }
        free(text);
        int metrics[N_ACC] = {0}, behind_at_end[N_ACC] = {0};
        for (int k = 0; k < n; k++) {
            if (k > 0 && rows[k].account == rows[k - 1].account &&
                strcmp(rows[k].metric, rows[k - 1].metric) == 0)
                continue;   /* not a metric's first row */
            int a = rows[k].account, arch = a % 7;
            metrics[a]++;
            /* only low (0), high (1) and effective (2) accounts report outcomes */
            assert_true(arch <= 2);
            double end_t = (o.end_day + 1) * 86400000.0 - 1;
            if (on_track_at(rows, n, k, end_t) == 0)
                behind_at_end[a]++;
            if (arch != 2)
                continue;
            /* effective: on track at the end of every day from the first row on */
            for (int32_t d = rows[k].day; d <= o.end_day; d++) {
                double t = (d + 1) * 86400000.0 - 1;
                assert_int_equal(on_track_at(rows, n, k, t), 1);
            }
        }
        for (int a = 0; a < N_ACC; a++) {
            if (a % 7 == 2)
                assert_true(metrics[a] >= 1);         /* effective: something on track */
            else if (a % 7 == 1)   /* high: behind on something (unless churned before the data) */
                assert_true(behind_at_end[a] >= 1 || (a >= 7 && metrics[a] == 0));
            else if (a % 7 > 2)
                assert_int_equal(metrics[a], 0);
        }
        free(rows);
        assert_int_equal(fx_rmdir(dir), 0);
    }
}

static void test_event_target(void **state)
{
    (void)state;
    static const int64_t targets[] = {1000, 20000, 200000};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char dir[64];
        assert_int_equal(fx_mkdtemp(dir, sizeof dir, "demo"), 0);
        up_demo_opts_t o;
        up_demo_defaults(&o);
        o.events = targets[i];
        generate(dir, &o);
        size_t len;
        char *s = read_all(dir, "events.csv", &len);
        int64_t events = (int64_t)count_lines(s, len) - 1;
        free(s);
        assert_true(events >= targets[i] * 9 / 10);
        assert_true(events <= targets[i] * 11 / 10);
        assert_int_equal(fx_rmdir(dir), 0);
    }
}

/* The comma-separated fields of one line (empty ones included), in place. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *c = line; *c && *c != '\n'; c++)
        if (*c == ',' && n < max) {
            *c = '\0';
            f[n++] = c + 1;
        }
    char *nl = strchr(f[n - 1], '\n');
    if (nl)
        *nl = '\0';
    return n;
}

/* Subscriptions agree with accounts.csv at the as-of date (seats and ARR:
 * the sum over the subscriptions with start <= 2026-11-20 < end), every
 * shelfware account (i % 7 = 6) held 50% more seats until 20 days before it
 * (a removal of a third: an overnight drop), every ramping one (i % 7 = 3)
 * 40% fewer until 45 days before it (an expansion), and the others have one
 * open subscription. Over 180 days every ramping and shelfware account
 * started before its change. */
static void test_subscriptions(void **state)
{
    (void)state;
    enum { N_ACC = 14 };
    for (uint64_t seed = 1; seed <= 2; seed++) {
        char dir[64];
        assert_int_equal(fx_mkdtemp(dir, sizeof dir, "demo"), 0);
        up_demo_opts_t o;
        up_demo_defaults(&o);
        o.accounts = N_ACC;
        o.seed = seed;
        generate(dir, &o);
        const int32_t end = o.end_day;
        long long seats[N_ACC], arr[N_ACC], sum_seats[N_ACC] = {0}, sum_arr[N_ACC] = {0};
        int rows[N_ACC] = {0}, changed[N_ACC] = {0};
        size_t len;
        char *text = read_all(dir, "accounts.csv", &len), *f[16];
        int n = 0;
        for (char *line = strchr(text, '\n') + 1; *line; n++) {
            char *next = strchr(line, '\n') + 1;
            assert_int_equal(split(line, f, 16), 9);
            seats[n] = atoll(f[2]);
            arr[n] = atoll(f[5]);
            line = next;
        }
        assert_int_equal(n, N_ACC);
        free(text);
        text = read_all(dir, "subscriptions.csv", &len);
        for (char *line = strchr(text, '\n') + 1; *line;) {
            char *next = strchr(line, '\n') + 1;
            assert_int_equal(split(line, f, 16), 6);
            int i = atoi(f[0] + 4) - 1;
            assert_true(i >= 0 && i < N_ACC);
            rows[i]++;
            int32_t from = day_of(f[2]), to = *f[3] ? day_of(f[3]) : INT32_MAX;
            long long s = atoll(f[4]), a = atoll(f[5]);
            if (from <= end && end < to) {
                sum_seats[i] += s;
                sum_arr[i] += a;
            } else {   /* the subscription before the change */
                int want_day = i % 7 == 6 ? end - 20 : end - 45;
                assert_true(i % 7 == 6 || i % 7 == 3);
                assert_int_equal(to, want_day);
                if (i % 7 == 6)
                    assert_true(s == (seats[i] * 3 + 1) / 2 && (double)(s - seats[i]) / (double)s >= 0.10);
                else
                    assert_true(s < seats[i]);
                changed[i] = 1;
            }
            line = next;
        }
        free(text);
        for (int i = 0; i < N_ACC; i++) {
            assert_int_equal(sum_seats[i], seats[i]);
            assert_int_equal(sum_arr[i], arr[i]);
            assert_int_equal(changed[i], i % 7 == 6 || i % 7 == 3);
            assert_int_equal(rows[i], 1 + changed[i]);
        }
        assert_int_equal(fx_rmdir(dir), 0);
    }
}

static void test_errors(void **state)
{
    (void)state;
    char dir[64], path[128], err[256];
    assert_int_equal(fx_mkdtemp(dir, sizeof dir, "demo"), 0);
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    up_demo_opts_t o;
    up_demo_defaults(&o);
    o.accounts = 2;
    o.days = 3;
    assert_int_equal(up_demo_write(path, &o, err, sizeof err), -UP_EIO);
    assert_non_null(strstr(err, path));
    o.days = 0;
    assert_int_equal(up_demo_write(dir, &o, err, sizeof err), -UP_EINVAL);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_small_run),
        cmocka_unit_test(test_outcomes),
        cmocka_unit_test(test_event_target),
        cmocka_unit_test(test_subscriptions),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
