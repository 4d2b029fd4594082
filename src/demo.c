/* demo: generates a realistic B2B SaaS portfolio (accounts, users, events,
 * surveys, outcomes) and the adoption model that reads it, as plain files.
 * Invariant: the output depends only on the options. Randomness comes from our
 * own generators, dates and numbers are formatted by hand, and events are
 * streamed day by day, so memory stays flat whatever the event count. */
#include "demo.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the adoption model ------------------------------------------------ */

static const char model_yaml[] =
    "# uptake demo adoption model: eight features of an analytics product.\n"
    "features:\n"
    "  - name: reports\n"
    "    core: true\n"
    "    events: [report.create, report.view, report.share]\n"
    "    advanced_events: [report.schedule]\n"
    "    exposure_events: [tour.reports]\n"
    "  - name: dashboards\n"
    "    core: true\n"
    "    events: [dashboard.view, dashboard.edit]\n"
    "    advanced_events: [dashboard.embed]\n"
    "    exposure_events: [tour.dashboards]\n"
    "  - name: alerts\n"
    "    core: true\n"
    "    events: [alert.create, alert.ack]\n"
    "    advanced_events: [alert.escalation]\n"
    "  - name: integrations\n"
    "    core: true\n"
    "    events: [integration.connect, integration.sync]\n"
    "    advanced_events: [integration.api_key]\n"
    "    exposure_events: [promo.integrations]\n"
    "  - name: segments\n"
    "    core: true\n"
    "    events: [segment.create, segment.filter]\n"
    "  - name: automation\n"
    "    core: false\n"
    "    events: [workflow.create, workflow.run]\n"
    "    advanced_events: [workflow.branch]\n"
    "    exposure_events: [promo.automation]\n"
    "  - name: forecasting\n"
    "    core: false\n"
    "    events: [forecast.run]\n"
    "    advanced_events: [forecast.custom_model]\n"
    "    exposure_events: [tour.forecasting]\n"
    "  - name: exports\n"
    "    core: false\n"
    "    events: [export.csv, export.pdf]\n"
    "passive_events: [login, page_view]\n"
    "key_actions: [report.share, integration.connect]\n"
    "workflows:\n"
    "  - {name: share-a-report, steps: [report.create, report.share], within: 1d, core: true}\n"
    "  - {name: automate, steps: [workflow.create, workflow.run], within: 7d}\n"
    "targets:\n"
    "  - {name: seats-in-use, metric: breadth, min: 0.6, by_day: 120}\n"
    "  - {name: core-depth, metric: depth, min: 0.8, by_day: 90, segment: enterprise}\n"
    "nudges:\n"
    "  expansion: [reports, dashboards, integrations, automation]\n";

const char *up_demo_model_yaml(void)
{
    return model_yaml;
}

/* The same model as tables the generator draws from. Event ids index
 * event_names; they must agree with model_yaml (the unit test checks). */
enum { EV_LOGIN, EV_PAGE_VIEW, EV_REPORT_SHARE = 4, EV_INTEGRATION_CONNECT = 14 };

static const char *const event_names[] = {
    "login", "page_view",
    "report.create", "report.view", "report.share", "report.schedule", "tour.reports",
    "dashboard.view", "dashboard.edit", "dashboard.embed", "tour.dashboards",
    "alert.create", "alert.ack", "alert.escalation",
    "integration.connect", "integration.sync", "integration.api_key", "promo.integrations",
    "segment.create", "segment.filter",
    "workflow.create", "workflow.run", "workflow.branch", "promo.automation",
    "forecast.run", "forecast.custom_model", "tour.forecasting",
    "export.csv", "export.pdf",
};
#define N_EVENTS ((int)(sizeof event_names / sizeof event_names[0]))
#define N_FEATURES 8

/* Per feature: first use event and count, advanced event, exposure event (-1: none). */
static const struct { int use, n_use, adv, expo; } features[N_FEATURES] = {
    {2, 3, 5, 6}, {7, 2, 9, 10}, {11, 2, 13, -1}, {14, 2, 16, 17},
    {18, 2, -1, -1}, {20, 2, 22, 23}, {24, 1, 25, 26}, {27, 2, -1, -1},
};

/* Zipf-like popularity: feature i weighs 840 / (i + 1), in integers. */
static const uint32_t zipf_weight[N_FEATURES] = {840, 420, 280, 210, 168, 140, 120, 105};
/* Chance (percent) that a user of the account takes up feature i. */
static const uint32_t keep_pct[N_FEATURES] = {100, 85, 75, 65, 60, 45, 40, 35};

/* ---- archetypes ---------------------------------------------------------- */

enum { A_LOW, A_HIGH, A_EFFECTIVE, A_RAMPING, A_DECLINING, A_CHAMPION_LEAVES,
       A_SHELFWARE, N_ARCH };

static const struct {
    uint8_t mask;        /* features the account uses (high drops one core more) */
    uint8_t users_pct;   /* users provisioned, percent of seats */
    uint8_t engaged_pct; /* users who are not dormant */
    uint8_t adv_pct;     /* feature events that are advanced */
    uint8_t key_pct;     /* new users who reach a key action */
    uint8_t nps;         /* typical NPS answer */
    double extra;        /* events per active day beyond the login */
} arch[N_ARCH] = {
    [A_LOW] = {0x01, 50, 20, 0, 15, 6, 1.0},
    [A_HIGH] = {0xFF, 80, 92, 0, 50, 8, 2.5},
    [A_EFFECTIVE] = {0xFF, 90, 95, 12, 75, 9, 4.0},
    [A_RAMPING] = {0x3F, 75, 92, 4, 60, 8, 2.5},
    [A_DECLINING] = {0x9F, 80, 92, 4, 40, 6, 3.0},
    [A_CHAMPION_LEAVES] = {0xBF, 80, 92, 4, 50, 8, 3.0},
    [A_SHELFWARE] = {0x03, 50, 0, 2, 10, 6, 1.5},
};

enum { SEG_ENTERPRISE, SEG_MID, SEG_SMB };
static const char *const segment_names[] = {"enterprise", "mid-market", "smb"};
static const int seg_lo[] = {200, 30, 5}, seg_hi[] = {2000, 300, 40};
static const int seg_price[] = {420, 540, 600};   /* ARR per seat */
enum { ROLE_USER, ROLE_CHAMPION, ROLE_SPONSOR, ROLE_ADMIN };
static const char *const role_names[] = {"user", "champion", "sponsor", "admin"};

static const char *const owners[] = {"Maya Chen", "Luis Ortega", "Priya Nair",
                                     "Tom Becker", "Aisha Bello", "Jonas Weber"};
#define N_PREFIX 30
#define N_SUFFIX 20
static const char *const name_prefix[N_PREFIX] = {
    "Acme", "Northwind", "Globex", "Initech", "Contoso", "Fabrikam", "Tailspin",
    "Wingtip", "Litware", "Proseware", "Lucerne", "Coho", "Alpine", "Summit",
    "Redwood", "Harbor", "Silverline", "Pinecrest", "Ironbridge", "Brightwater",
    "Bluefin", "Cedar", "Granite", "Maple", "Orion", "Quarry", "Riverside",
    "Sterling", "Vantage", "Willow"};
static const char *const name_suffix[N_SUFFIX] = {
    "Logistics", "Health", "Foods", "Bank", "Labs", "Energy", "Retail", "Media",
    "Systems", "Analytics", "Insurance", "Motors", "Pharma", "Capital", "Telecom",
    "Robotics", "Travel", "Education", "Manufacturing", "Software"};

/* ---- randomness ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A stateless hash of (seed, a, b): the same user-day always gets the same draw,
 * whichever pass asks, so counting and generating agree on who is active. */
static uint64_t mix3(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t s = seed ^ (a * 0xD6E8FEB86659FD93ULL) ^ (b * 0xA0761D6478BD642FULL);
    splitmix64(&s);
    return splitmix64(&s);
}

typedef struct { uint64_t s[4]; } rng_t;   /* xoshiro256** */

static void rng_seed(rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) (n > 0), by multiply-shift; bias is below 2^-32. */
static uint32_t below(rng_t *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static double unit_of(uint64_t x) { return (double)(x >> 11) * 0x1p-53; }

/* ---- dates and hand formatting ------------------------------------------ */

static int32_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

static void civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)yoe + era * 400 + (*m <= 2);
}

static int is_weekend(int32_t day)
{
    int wd = (int)(((int64_t)day + 4) % 7);   /* 1970-01-01 was a Thursday */
    if (wd < 0)
        wd += 7;
    return wd == 0 || wd == 6;
}

static char *put_uint(char *p, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_date(char *p, int32_t day)
{
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    p = put_uint(p, (uint64_t)y, 4);
    *p++ = '-';
    p = put_uint(p, m, 2);
    *p++ = '-';
    return put_uint(p, d, 2);
}

static char *put_time(char *p, int32_t day, int32_t sec)
{
    p = put_date(p, day);
    *p++ = 'T';
    p = put_uint(p, (uint64_t)(sec / 3600), 2);
    *p++ = ':';
    p = put_uint(p, (uint64_t)(sec / 60 % 60), 2);
    *p++ = ':';
    p = put_uint(p, (uint64_t)(sec % 60), 2);
    *p++ = 'Z';
    return p;
}

/* ---- buffered output ----------------------------------------------------- */

#define OUT_CAP (1u << 22)

typedef struct {
    FILE *f;
    char *buf;
    size_t len;
    char path[4096];
} out_t;

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int out_open(out_t *o, const char *dir, const char *name, char *err, size_t errlen)
{
    o->len = 0;
    o->buf = NULL;
    snprintf(o->path, sizeof o->path, "%s/%s", dir, name);
    o->f = fopen(o->path, "wb");
    if (!o->f)
        return fail(err, errlen, -UP_EIO, "%s: %s", o->path, strerror(errno));
    o->buf = malloc(OUT_CAP);
    if (!o->buf) {
        fclose(o->f);
        o->f = NULL;
        return fail(err, errlen, -UP_ENOMEM, "%s: out of memory", o->path);
    }
    return 0;
}

static int out_flush(out_t *o, char *err, size_t errlen)
{
    if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
        return fail(err, errlen, -UP_EIO, "%s: write failed: %s", o->path, strerror(errno));
    o->len = 0;
    return 0;
}

/* Makes room for a row of at most 512 bytes; returns where to write it. */
static int out_room(out_t *o, char **at, char *err, size_t errlen)
{
    if (o->len + 512 > OUT_CAP) {
        int rc = out_flush(o, err, errlen);
        if (rc < 0)
            return rc;
    }
    *at = o->buf + o->len;
    return 0;
}

static int out_printf(out_t *o, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int out_printf(out_t *o, char *err, size_t errlen, const char *fmt, ...)
{
    char *at;
    int rc = out_room(o, &at, err, errlen);
    if (rc < 0)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(at, 512, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= 512)
        return fail(err, errlen, -UP_EINVAL, "%s: row too long", o->path);
    o->len += (size_t)n;
    return 0;
}

/* Flushes and closes; on an earlier error (rc < 0) just releases. */
static int out_close(out_t *o, int rc, char *err, size_t errlen)
{
    if (rc >= 0)
        rc = out_flush(o, err, errlen);
    if (o->f && fclose(o->f) != 0 && rc >= 0)
        rc = fail(err, errlen, -UP_EIO, "%s: %s", o->path, strerror(errno));
    o->f = NULL;
    free(o->buf);
    o->buf = NULL;
    return rc;
}

/* out_open with the CSV header line written; on failure the file is closed
 * and a negative code returned. */
static int csv_open(out_t *o, const char *dir, const char *name, const char *header, char *err, size_t errlen)
{
    int rc = out_open(o, dir, name, err, errlen);
    if (rc < 0)
        return rc;
    rc = out_printf(o, err, errlen, "%s", header);
    return rc < 0 ? out_close(o, rc, err, errlen) : rc;
}

/* ---- the portfolio ------------------------------------------------------- */

typedef struct {
    int archetype, segment, seats, owner;
    int32_t start_day, renewal_day;
    int32_t churn_day;          /* INT32_MAX when not churned; no activity from it on */
    int32_t decline_start;
    int64_t arr;
    uint32_t first_user, n_users;
    uint8_t mask;
    char id[24];
    char name[64];
} account_t;

typedef struct {
    uint32_t account;
    int32_t created_day, created_sec;
    int32_t deact_day;          /* INT32_MAX when never deactivated */
    double propensity;          /* chance of activity on a weekday */
    double extra;               /* events beyond the login on an active day */
    uint8_t role, mask, dormant;
    uint8_t prefix_len;
    char prefix[40];            /* "u0000123,acct0001," */
} user_t;

typedef struct {
    up_demo_opts_t o;
    int32_t first_day, end_day;
    double activity;            /* scales every daily probability (<= 1) */
    double intensity;           /* scales events per active day */
    account_t *acc;
    uint32_t n_acc;
    user_t *usr;
    uint32_t n_usr;
    int id_width;               /* digits of user ids */
} gen_t;

static void free_portfolio(gen_t *g)
{
    free(g->acc);
    free(g->usr);
    g->acc = NULL;
    g->usr = NULL;
    g->n_acc = g->n_usr = 0;
}

/* Each account draws from its own stream seeded by (seed, index), so account i
 * is the same whatever the portfolio size: a probe of 60 accounts predicts
 * the per-account volume of a larger run. */
static void make_account(gen_t *g, uint32_t i, account_t *a, rng_t *r)
{
    int32_t end = g->end_day, days = g->o.days;
    rng_seed(r, mix3(g->o.seed, 0xACC0, i));
    memset(a, 0, sizeof *a);
    a->archetype = (int)(i % N_ARCH);
    if (a->archetype == A_SHELFWARE) {
        a->seats = 150 + (int)below(r, 251);
        a->segment = a->seats >= 200 ? SEG_ENTERPRISE : SEG_MID;
    } else {
        uint32_t s = below(r, 100);   /* the first seven show their shape at mid size */
        a->segment = i < N_ARCH ? SEG_MID : s < 4 ? SEG_ENTERPRISE : s < 30 ? SEG_MID : SEG_SMB;
        uint64_t u = below(r, 1001);   /* skew toward the low end: u^3 */
        a->seats = seg_lo[a->segment] +
                   (int)((uint64_t)(seg_hi[a->segment] - seg_lo[a->segment]) * u * u * u / 1000000000u);
    }
    if (a->archetype == A_RAMPING) {
        a->start_day = g->first_day - 5 + (int32_t)below(r, (uint32_t)(days / 4 + 1));
    } else {
        /* contracts start at most a month before the data does, so that a
         * customer's history is in the data (a backtest reads it) */
        int32_t lo = g->first_day - 30 > end - 365 ? g->first_day - 30 : end - 365;
        int32_t hi = end - (days / 2 > 60 ? days / 2 : 60);
        if (hi < lo)
            hi = lo;
        a->start_day = lo + (int32_t)below(r, (uint32_t)(hi - lo + 1));
    }
    if (a->start_day > end)
        a->start_day = end;
    int y;
    unsigned m, d;
    civil_from_days(a->start_day, &y, &m, &d);
    /* a yearly term, or a half-yearly one for every other account; the
     * renewal is the next one after the data's last day */
    int term = i % 2 ? 6 : 12;
    for (int k = 1;; k++) {
        int mm = (int)m - 1 + k * term;
        unsigned rd = d > 28 ? 28 : d;
        a->renewal_day = days_from_civil(y + mm / 12, (unsigned)(mm % 12) + 1, rd);
        if (a->renewal_day > end || k > 100)
            break;
    }
    /* churn follows adoption, with noise: weak shapes leave more often (and
     * fade for six weeks first), yet some healthy accounts leave too and
     * most weak ones stay; any day from two months into the contract (and
     * five weeks into the data) to a week before its end */
    static const uint8_t churn_pct[N_ARCH] = {
        [A_LOW] = 30, [A_HIGH] = 8, [A_EFFECTIVE] = 4, [A_RAMPING] = 6, [A_DECLINING] = 30,
        [A_CHAMPION_LEAVES] = 25, [A_SHELFWARE] = 35};
    a->churn_day = INT32_MAX;
    uint32_t churn_draw = below(r, 100), churn_at = below(r, 1u << 30);
    int32_t c_lo = a->start_day + 60 > g->first_day + 35 ? a->start_day + 60 : g->first_day + 35;
    if (i >= N_ARCH && churn_draw < churn_pct[a->archetype] && c_lo <= end - 7)
        a->churn_day = c_lo + (int32_t)(churn_at % (uint32_t)(end - 7 - c_lo + 1));
    int32_t decline = days / 3 < 14 ? 14 : days / 3 > 35 ? 35 : days / 3;
    a->decline_start = end - decline;
    a->arr = (int64_t)a->seats * seg_price[a->segment] * (85 + below(r, 31)) / 100;
    a->owner = (int)below(r, 6);
    a->mask = arch[a->archetype].mask;
    if (a->archetype == A_LOW && below(r, 2))
        a->mask |= 0x02;
    if (a->archetype == A_HIGH)   /* broad, but one core feature never used */
        a->mask &= (uint8_t)~(1u << (1 + below(r, 4)));
    uint32_t off = (uint32_t)(g->o.seed % 600), k = i + off;
    uint32_t pi = k % N_PREFIX, si = (k / N_PREFIX + k) % N_SUFFIX;
    if (i < 600)
        snprintf(a->name, sizeof a->name, "%s %s", name_prefix[pi], name_suffix[si]);
    else
        snprintf(a->name, sizeof a->name, "%s %s %u", name_prefix[pi], name_suffix[si], i / 600 + 1);
    char *p = a->id;
    memcpy(p, "acct", 4);
    *put_uint(p + 4, i + 1, 4) = '\0';
}

static void make_user(gen_t *g, const account_t *a, uint32_t ai, uint32_t j,
                      uint32_t n_engaged, user_t *u, rng_t *r)
{
    int32_t end = g->end_day, start = a->start_day;
    memset(u, 0, sizeof *u);
    u->account = ai;
    u->role = ROLE_USER;
    if (j == 0 && (ai < N_ARCH || below(r, 10) != 0))
        u->role = ROLE_CHAMPION;
    else if (j == 1 && below(r, 2))
        u->role = ROLE_SPONSOR;
    else if (j == 2)
        u->role = ROLE_ADMIN;
    int32_t span = end - start + 1;
    if (j < 3) {
        u->created_day = start;
    } else if (a->archetype == A_RAMPING) {
        u->created_day = start + (int32_t)below(r, (uint32_t)span);
    } else {
        uint32_t c = below(r, 100);
        if (c < 12)
            u->created_day = end - (int32_t)below(r, 42);
        else if (c < 70)
            u->created_day = start + (int32_t)below(r, 30);
        else
            u->created_day = start + (int32_t)below(r, (uint32_t)span);
        if (u->created_day < start)
            u->created_day = start;
        if (u->created_day > end)
            u->created_day = end;
    }
    u->created_sec = 8 * 3600 + (int32_t)below(r, 9 * 3600);
    u->deact_day = INT32_MAX;
    if (u->role == ROLE_USER && below(r, 100) < 3 && u->created_day < end - 40)
        u->deact_day = u->created_day + 30 + (int32_t)below(r, (uint32_t)(end - u->created_day - 30));
    int engaged = a->archetype == A_SHELFWARE ? j < n_engaged
                  : j == 0 || below(r, 100) < arch[a->archetype].engaged_pct;
    int power = engaged && (below(r, 100) < 12 || u->role == ROLE_CHAMPION);
    u->dormant = (uint8_t)!engaged;
    u->propensity = !engaged ? 0.002 : power ? 0.6 + below(r, 30) / 100.0
                                              : 0.05 + below(r, 21) / 100.0;
    u->extra = arch[a->archetype].extra * (power ? 2.5 : 1.0);
    u->mask = 0x01;
    for (int f = 1; f < N_FEATURES; f++)
        if ((a->mask >> f & 1) && (power || below(r, 100) < keep_pct[f]))
            u->mask |= (uint8_t)(1u << f);
    char *p = u->prefix;
    *p++ = 'u';
    p = put_uint(p, j + a->first_user + 1, g->id_width);
    *p++ = ',';
    size_t n = strlen(a->id);
    memcpy(p, a->id, n);
    p += n;
    *p++ = ',';
    u->prefix_len = (uint8_t)(p - u->prefix);
}

/* Builds n accounts and their users. Returns 0 or -UP_ENOMEM. */
static int build_portfolio(gen_t *g, uint32_t n)
{
    free_portfolio(g);
    g->acc = calloc(n, sizeof *g->acc);
    if (!g->acc)
        return -UP_ENOMEM;
    rng_t r;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        account_t *a = &g->acc[i];
        make_account(g, i, a, &r);
        uint32_t users = (uint32_t)a->seats * arch[a->archetype].users_pct / 100;
        a->n_users = users < 3 ? 3 : users;
        a->first_user = (uint32_t)total;
        total += a->n_users;
    }
    if (total > UINT32_MAX / 2)
        return -UP_ENOMEM;
    g->n_acc = n;
    g->usr = calloc(total ? total : 1, sizeof *g->usr);
    if (!g->usr)
        return -UP_ENOMEM;
    g->n_usr = (uint32_t)total;
    g->id_width = 7;
    for (uint32_t i = 0; i < n; i++) {
        account_t *a = &g->acc[i];
        rng_seed(&r, mix3(g->o.seed, 0x05E5, i));
        uint32_t engaged = a->seats / 20 < 2 ? 2 : (uint32_t)a->seats / 20;
        for (uint32_t j = 0; j < a->n_users; j++)
            make_user(g, a, i, j, engaged, &g->usr[a->first_user + j], &r);
    }
    return 0;
}

/* ---- activity ------------------------------------------------------------ */

/* The account's factor on a day: 0 outside the contract, weekends at a fifth
 * of weekdays, and the archetype's shape over time. */
static double account_factor(const gen_t *g, const account_t *a, int32_t day)
{
    if (day < a->start_day || day >= a->churn_day)
        return 0.0;
    double f = is_weekend(day) ? 0.2 : 1.0;
    if (a->churn_day != INT32_MAX && a->churn_day - day <= 42)   /* fading before it leaves */
        f *= 0.25 + 0.75 * (double)(a->churn_day - day) / 42.0;
    if (a->archetype == A_RAMPING) {
        double prog = (double)(day - a->start_day + 1) / (double)(g->end_day - a->start_day + 1);
        f *= 0.12 + 0.88 * prog;
    } else if (a->archetype == A_DECLINING && day > a->decline_start) {
        f *= 1.0 - 0.93 * (double)(day - a->decline_start) / (double)(g->end_day - a->decline_start);
    }
    return f;
}

/* The chance that user u is active on day; shared by counting and generating. */
static double user_p(const gen_t *g, const account_t *a, const user_t *u,
                     int32_t day, double af)
{
    if (day < u->created_day || day >= u->deact_day)
        return 0.0;
    if (u->role == ROLE_CHAMPION && a->archetype == A_CHAMPION_LEAVES && day > g->end_day - 21)
        return 0.0;
    double p = u->propensity;
    if (!u->dormant && day - u->created_day < 14)   /* onboarding */
        p += (1.0 - p) * 0.35;
    return p * af * g->activity;
}

static int is_active(const gen_t *g, uint32_t uid, int32_t day, double p)
{
    return p > 0.0 && unit_of(mix3(g->o.seed ^ 0xAC71u, uid, (uint64_t)(int64_t)day)) < p;
}

/* Counts the active user-days (each one login) and the sum of their extra
 * events at intensity 1, with today's activity scale. */
static void count_activity(const gen_t *g, double *logins, double *extra)
{
    double l = 0, e = 0;
    for (uint32_t i = 0; i < g->n_acc; i++) {
        const account_t *a = &g->acc[i];
        for (int32_t day = g->first_day; day <= g->end_day; day++) {
            double af = account_factor(g, a, day);
            if (af == 0.0)
                continue;
            for (uint32_t j = 0; j < a->n_users; j++) {
                uint32_t uid = a->first_user + j;
                const user_t *u = &g->usr[uid];
                if (is_active(g, uid, day, user_p(g, a, u, day, af))) {
                    l += 1.0;
                    e += u->extra;
                }
            }
        }
    }
    *logins = l;
    *extra = e;
}

/* Sizing for a target event count. Volume per account is measured on a probe
 * of 60 accounts; up to 200 accounts the portfolio grows linearly, beyond that
 * as the 3/4 power, and intensity (events per active day) makes up the rest,
 * so 100M events need thousands of accounts, not millions. Too small a target
 * scales the daily activity down instead. The final intensity is solved from
 * the realised active days, so the count lands within a few per mille. */
static int size_for_target(gen_t *g)
{
    double target = (double)g->o.events, logins, extra;
    int rc = build_portfolio(g, 60);
    if (rc < 0)
        return rc;
    count_activity(g, &logins, &extra);
    double per_account = (logins + extra) / 60.0;
    if (per_account < 1.0)
        per_account = 1.0;
    double want = target / per_account, n = want;
    if (want > 200.0)
        n = 200.0 * sqrt(want / 200.0 * sqrt(want / 200.0));
    if (n < N_ARCH)
        n = N_ARCH;
    if (n > 1e6)
        n = 1e6;
    rc = build_portfolio(g, (uint32_t)(n + 0.5));
    if (rc < 0)
        return rc;
    count_activity(g, &logins, &extra);
    if (logins + 0.5 * extra > target && logins > 0) {
        g->activity = target / (logins + extra);
        count_activity(g, &logins, &extra);
    }
    g->intensity = extra > 0 ? (target - logins) / extra : 0.0;
    if (g->intensity < 0)
        g->intensity = 0;
    return 0;
}

/* ---- writers ------------------------------------------------------------- */

static int write_model(const char *dir, char *err, size_t errlen)
{
    out_t o;
    int rc = out_open(&o, dir, "model.yaml", err, errlen);
    if (rc < 0)
        return rc;
    size_t n = sizeof model_yaml - 1;
    memcpy(o.buf, model_yaml, n);
    o.len = n;
    return out_close(&o, 0, err, errlen);
}

static char *put_opt_date(char *p, int32_t day)
{
    return day == INT32_MAX ? p : put_date(p, day);
}

static int write_accounts(const gen_t *g, const char *dir, char *err, size_t errlen)
{
    out_t o;
    int rc = csv_open(&o, dir, "accounts.csv",
                      "account_id,name,seats,contract_start,renewal_date,arr,segment,owner,churned_at\n", err, errlen);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; rc >= 0 && i < g->n_acc; i++) {
        const account_t *a = &g->acc[i];
        char start[16], renew[16], churn[16];
        *put_date(start, a->start_day) = '\0';
        *put_date(renew, a->renewal_day) = '\0';
        *put_opt_date(churn, a->churn_day) = '\0';
        rc = out_printf(&o, err, errlen, "%s,%s,%d,%s,%s,%lld,%s,%s,%s\n", a->id, a->name,
                        a->seats, start, renew, (long long)a->arr,
                        segment_names[a->segment], owners[a->owner], churn);
    }
    return out_close(&o, rc, err, errlen);
}

static int write_users(const gen_t *g, const char *dir, char *err, size_t errlen)
{
    out_t o;
    int rc = csv_open(&o, dir, "users.csv", "user_id,account_id,created_at,role,deactivated_at\n", err, errlen);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; rc >= 0 && i < g->n_usr; i++) {
        const user_t *u = &g->usr[i];
        char *p;
        if ((rc = out_room(&o, &p, err, errlen)) < 0)
            break;
        char *s = p;
        memcpy(p, u->prefix, u->prefix_len);
        p = put_time(p + u->prefix_len, u->created_day, u->created_sec);
        *p++ = ',';
        size_t n = strlen(role_names[u->role]);
        memcpy(p, role_names[u->role], n);
        p += n;
        *p++ = ',';
        p = put_opt_date(p, u->deact_day);
        *p++ = '\n';
        o.len += (size_t)(p - s);
    }
    return out_close(&o, rc, err, errlen);
}

/* NPS from about a third of users and CSAT from a sixth, over the last six
 * months; answers follow the archetype, and a declining account's answers sour
 * once its usage falls. */
static int write_surveys(const gen_t *g, const char *dir, char *err, size_t errlen)
{
    out_t o;
    int rc = csv_open(&o, dir, "surveys.csv", "account_id,user_id,ts,kind,score\n", err, errlen);
    if (rc < 0)
        return rc;
    rng_t r;
    rng_seed(&r, mix3(g->o.seed, 0x5EB, 0));
    for (uint32_t i = 0; rc >= 0 && i < g->n_acc; i++) {
        const account_t *a = &g->acc[i];
        int32_t last = a->churn_day == INT32_MAX ? g->end_day : a->churn_day - 1;
        for (uint32_t j = 0; rc >= 0 && j < a->n_users; j++) {
            const user_t *u = &g->usr[a->first_user + j];
            int32_t from = g->end_day - 181;
            if (from < u->created_day)
                from = u->created_day;
            if (from < g->first_day)
                from = g->first_day;
            int32_t to = last < u->deact_day ? last : u->deact_day - 1;
            if (to < from)
                continue;
            for (int kind = 0; kind < 2 && rc >= 0; kind++) {
                if (below(&r, 100) >= (kind == 0 ? 35u : 17u))
                    continue;
                int32_t day = from + (int32_t)below(&r, (uint32_t)(to - from + 1));
                int32_t sec = 9 * 3600 + (int32_t)below(&r, 8 * 3600);
                if (day == u->created_day && sec <= u->created_sec)
                    sec = u->created_sec + 1;
                int base = arch[a->archetype].nps + (a->archetype == A_DECLINING && day > a->decline_start ? -2 : 0);
                int score = base + (int)below(&r, 5) - 2;
                if (kind == 1)
                    score = (score + 1) / 2;
                int hi = kind == 0 ? 10 : 5, lo = kind == 0 ? 0 : 1;
                score = score < lo ? lo : score > hi ? hi : score;
                char ts[32];
                *put_time(ts, day, sec) = '\0';
                int idlen = (int)(u->prefix_len - strlen(a->id) - 2);
                rc = out_printf(&o, err, errlen, "%s,%.*s,%s,%s,%d\n", a->id, idlen, u->prefix,
                                ts, kind == 0 ? "nps" : "csat", score);
            }
        }
    }
    return out_close(&o, rc, err, errlen);
}

/* One outcome metric's rows: every 30 days from t0 to last, against a target
 * due after the data ends. Ahead, each row's value is at least 110% of the
 * pro-rated target at the next row's date (end of data for the last row), so
 * the metric is on track at every instant from t0 on, whatever the as-of day.
 * Behind, each value is at most 65% of the pro-rated target at its own date,
 * so from the end of t0's day on the metric is off track. */
static int write_outcome_rows(out_t *o, rng_t *r, const account_t *a, const char *metric,
                              int64_t target, int32_t from, int32_t last, int32_t end_day,
                              int ahead, char *err, size_t errlen)
{
    uint32_t lead = (uint32_t)(last - from + 1 < 14 ? last - from + 1 : 14);
    int32_t t0 = from + (int32_t)below(r, lead);
    int32_t due = end_day + 30 + (int32_t)below(r, 121);
    int64_t span = due - t0, prev = 0;
    char due_s[16];
    *put_date(due_s, due) = '\0';
    int rc = 0;
    for (int32_t t = t0; rc >= 0 && t <= last; t += 30) {
        int64_t v;
        if (ahead) {
            int64_t next = t + 30 <= last ? t + 30 : last + 1;
            v = (target * (next - t0) * 11 + 10 * span - 1) / (10 * span) +
                (int64_t)below(r, (uint32_t)(target / 50 + 1));
        } else {
            v = target * (t - t0) * (45 + (int64_t)below(r, 21)) / (100 * span);
        }
        if (v < prev)
            v = prev;
        prev = v;
        char ts[16];
        *put_date(ts, t) = '\0';
        rc = out_printf(o, err, errlen, "%s,%s,%s,%lld,%lld,%s\n", a->id, metric, ts,
                        (long long)v, (long long)target, due_s);
    }
    return rc;
}

/* Business outcomes measured outside the product. Effective accounts are on
 * track on every metric (hours saved, and reports automated for about half);
 * high accounts are behind on hours saved (with an on-track second metric
 * for about half, which does not help); about half of the low accounts are
 * behind too; the other archetypes report no outcomes. Each account draws from
 * its own stream, so the other files do not change with this one. */
static int write_outcomes(const gen_t *g, const char *dir, char *err, size_t errlen)
{
    out_t o;
    int rc = csv_open(&o, dir, "outcomes.csv", "account_id,metric,ts,value,target,due\n", err, errlen);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; rc >= 0 && i < g->n_acc; i++) {
        const account_t *a = &g->acc[i];
        int ar = a->archetype;
        if (ar != A_EFFECTIVE && ar != A_HIGH && ar != A_LOW)
            continue;
        rng_t r;
        rng_seed(&r, mix3(g->o.seed, 0x0C7C, i));
        int32_t from = a->start_day > g->first_day ? a->start_day : g->first_day;
        int32_t last = a->churn_day == INT32_MAX ? g->end_day : a->churn_day - 1;
        int second = below(&r, 2) == 0;
        if (last < from || (ar == A_LOW && !second))
            continue;
        int64_t hours = 10 * (a->seats / 2 + 20 + (int64_t)below(&r, 40));
        int64_t reports = 5 * (4 + (int64_t)below(&r, 17));
        rc = write_outcome_rows(&o, &r, a, "hours_saved", hours, from, last, g->end_day,
                                ar == A_EFFECTIVE, err, errlen);
        if (rc >= 0 && second && ar != A_LOW)
            rc = write_outcome_rows(&o, &r, a, "reports_automated", reports, from, last,
                                    g->end_day, 1, err, errlen);
    }
    return out_close(&o, rc, err, errlen);
}

/* One event of a day: the user, and (second of day << 8 | event id). */
typedef struct { uint32_t user, sec_ev; } day_event_t;

typedef struct {
    day_event_t *v, *sorted;
    size_t len, cap;
    uint32_t *count;            /* 86401 counters for the counting sort */
} day_buf_t;

static int day_push(day_buf_t *b, uint32_t user, int32_t sec, int ev)
{
    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        day_event_t *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return -UP_ENOMEM;
        b->v = v;
        day_event_t *s = realloc(b->sorted, cap * sizeof *s);
        if (!s)
            return -UP_ENOMEM;
        b->sorted = s;
        b->cap = cap;
    }
    b->v[b->len++] = (day_event_t){user, (uint32_t)sec << 8 | (uint32_t)ev};
    return 0;
}

/* Picks the event of one action after the login: a page view, a look at a
 * feature the user does not use (exposure), or a use of one of the user's
 * features chosen by Zipf weight, sometimes its advanced event. */
static int pick_event(rng_t *r, const account_t *a, const user_t *u)
{
    uint32_t roll = below(r, 100);
    if (roll < 20)
        return EV_PAGE_VIEW;
    if (roll < 23) {
        int f = (int)below(r, N_FEATURES);
        if (!(u->mask >> f & 1) && features[f].expo >= 0)
            return features[f].expo;
        return EV_PAGE_VIEW;
    }
    uint32_t total = 0;
    for (int f = 0; f < N_FEATURES; f++)
        if (u->mask >> f & 1)
            total += zipf_weight[f];
    uint32_t x = below(r, total);
    int f = 0;
    for (; f < N_FEATURES - 1; f++) {
        if (!(u->mask >> f & 1))
            continue;
        if (x < zipf_weight[f])
            break;
        x -= zipf_weight[f];
    }
    if (features[f].adv >= 0 && below(r, 100) < arch[a->archetype].adv_pct)
        return features[f].adv;
    return features[f].use + (int)below(r, (uint32_t)features[f].n_use);
}

static int write_events(gen_t *g, const char *dir, char *err, size_t errlen)
{
    out_t o;
    int rc = csv_open(&o, dir, "events.csv", "ts,user_id,account_id,event\n", err, errlen);
    if (rc < 0)
        return rc;
    day_buf_t b = {0};
    b.count = calloc(86401, sizeof *b.count);
    if (!b.count && rc >= 0)
        rc = fail(err, errlen, -UP_ENOMEM, "%s: out of memory", o.path);
    size_t name_len[N_EVENTS];
    for (int e = 0; e < N_EVENTS; e++)
        name_len[e] = strlen(event_names[e]);
    rng_t r;
    rng_seed(&r, mix3(g->o.seed, 0xE7E7, 0));
    uint64_t written = 0;
    int step = g->o.days / 20 > 0 ? g->o.days / 20 : 1;
    for (int32_t day = g->first_day; rc >= 0 && day <= g->end_day; day++) {
        b.len = 0;
        for (uint32_t i = 0; rc >= 0 && i < g->n_acc; i++) {
            const account_t *a = &g->acc[i];
            double af = account_factor(g, a, day);
            if (af == 0.0)
                continue;
            for (uint32_t j = 0; rc >= 0 && j < a->n_users; j++) {
                uint32_t uid = a->first_user + j;
                const user_t *u = &g->usr[uid];
                if (!is_active(g, uid, day, user_p(g, a, u, day, af)))
                    continue;
                uint32_t extra = (uint32_t)(u->extra * g->intensity + unit_of(rng_next(&r)));
                int32_t sec = 7 * 3600 + (int32_t)below(&r, 19800) + (int32_t)below(&r, 19800);
                if (day == u->created_day && sec <= u->created_sec)
                    sec = u->created_sec + 1 + (int32_t)below(&r, 600);
                rc = day_push(&b, uid, sec, EV_LOGIN);
                int key = day - u->created_day < 14 &&
                          below(&r, 100) < arch[a->archetype].key_pct;
                for (uint32_t k = 0; rc >= 0 && k < extra; k++) {
                    sec += 4 + (int32_t)below(&r, 180);
                    if (sec > 86399)
                        sec = 86399;
                    int ev = pick_event(&r, a, u);
                    if (k == 0 && key)
                        ev = (u->mask & 0x08) && below(&r, 3) == 0 ? EV_INTEGRATION_CONNECT
                                                                   : EV_REPORT_SHARE;
                    rc = day_push(&b, uid, sec, ev);
                }
            }
        }
        if (rc < 0) {
            fail(err, errlen, rc, "%s: out of memory", o.path);
            break;
        }
        /* Stable counting sort by second: ties keep generation order. */
        memset(b.count, 0, 86401 * sizeof *b.count);
        for (size_t k = 0; k < b.len; k++)
            b.count[(b.v[k].sec_ev >> 8) + 1]++;
        for (int s = 1; s <= 86400; s++)
            b.count[s] += b.count[s - 1];
        for (size_t k = 0; k < b.len; k++)
            b.sorted[b.count[b.v[k].sec_ev >> 8]++] = b.v[k];
        char prefix[16];
        put_date(prefix, day);
        prefix[10] = 'T';
        for (size_t k = 0; k < b.len; k++) {
            char *p;
            if ((rc = out_room(&o, &p, err, errlen)) < 0)
                break;
            char *s = p;
            const user_t *u = &g->usr[b.sorted[k].user];
            uint32_t sec = b.sorted[k].sec_ev >> 8, ev = b.sorted[k].sec_ev & 0xFF;
            uint32_t hh = sec / 3600, mm = sec / 60 % 60, ss = sec % 60;
            memcpy(p, prefix, 11);
            p += 11;
            *p++ = (char)('0' + hh / 10); *p++ = (char)('0' + hh % 10); *p++ = ':';
            *p++ = (char)('0' + mm / 10); *p++ = (char)('0' + mm % 10); *p++ = ':';
            *p++ = (char)('0' + ss / 10); *p++ = (char)('0' + ss % 10);
            *p++ = 'Z'; *p++ = ',';
            memcpy(p, u->prefix, u->prefix_len);
            p += u->prefix_len;
            memcpy(p, event_names[ev], name_len[ev]);
            p += name_len[ev];
            *p++ = '\n';
            o.len += (size_t)(p - s);
        }
        written += b.len;
        int day_index = day - g->first_day + 1;
        if (g->o.progress && (day_index % step == 0 || day == g->end_day))
            fprintf(stderr, "demo: day %d/%d, %llu events\n", day_index, g->o.days,
                    (unsigned long long)written);
    }
    free(b.v);
    free(b.sorted);
    free(b.count);
    return out_close(&o, rc, err, errlen);
}

/* ---- entry points -------------------------------------------------------- */

void up_demo_defaults(up_demo_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->accounts = 60;
    o->days = 180;
    o->seed = 1;
    o->events = 0;
    o->end_day = days_from_civil(2026, 11, 20);
    o->progress = 0;
}

/* Contract as in demo.h. With opts->events > 0 the portfolio size is derived
 * from the target and opts->accounts is ignored. Account i (0-based) has
 * archetype i % 7: low, high, effective, ramping, declining, champion_leaves,
 * shelfware, so acct0001..acct0007 show one of each whatever the seed. */
/* Subscriptions: one per account, with the account's seats and ARR from its
 * start, so seats at the as-of date are accounts.csv's; shelfware accounts
 * held 50% more seats until 20 days before the end (a removal, overnight),
 * ramping ones 40% fewer until 45 days before it (an expansion). */
static int write_subscriptions(const gen_t *g, const char *dir, char *err, size_t errlen)
{
    out_t o;
    int rc = csv_open(&o, dir, "subscriptions.csv", "account_id,subscription_id,start,end,seats,arr\n", err, errlen);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; rc >= 0 && i < g->n_acc; i++) {
        const account_t *a = &g->acc[i];
        char start[16], change[16];
        *put_date(start, a->start_day) = '\0';
        int32_t change_day = a->archetype == A_SHELFWARE ? g->end_day - 20 : a->archetype == A_RAMPING ? g->end_day - 45
                                                                                                      : INT32_MAX;
        if (change_day == INT32_MAX || change_day <= a->start_day) {
            rc = out_printf(&o, err, errlen, "%s,%s-1,%s,,%d,%lld\n", a->id, a->id, start, a->seats, (long long)a->arr);
            continue;
        }
        *put_date(change, change_day) = '\0';
        double f = a->archetype == A_SHELFWARE ? 1.5 : 0.6;
        int before = (int)(a->seats * f + 0.5);
        if (before < 1)
            before = 1;
        rc = out_printf(&o, err, errlen, "%s,%s-1,%s,%s,%d,%lld\n%s,%s-2,%s,,%d,%lld\n", a->id, a->id, start, change,
                        before, (long long)(a->arr * f + 0.5), a->id, a->id, change, a->seats, (long long)a->arr);
    }
    return out_close(&o, rc, err, errlen);
}

/* Tickets: declining accounts ask for help most in the last weeks. */
static int write_tickets(const gen_t *g, const char *dir, char *err, size_t errlen)
{
    static const char *const prio[] = {"normal", "high", "low", "urgent"};
    out_t o;
    int rc = csv_open(&o, dir, "tickets.csv", "account_id,ticket_id,ts,priority,satisfaction\n", err, errlen);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; rc >= 0 && i < g->n_acc; i++) {
        const account_t *a = &g->acc[i];
        int n = a->archetype == A_DECLINING ? 8 : a->archetype == A_LOW ? 3 : 1;
        for (int k = 0; rc >= 0 && k < n; k++) {
            uint64_t h = mix3(g->o.seed ^ 0x71C4u, i, (uint64_t)k);
            int32_t day = g->end_day - (a->archetype == A_DECLINING ? (int32_t)(h % 25) : (int32_t)(h % 80));
            if (day < a->start_day || day < g->first_day)
                continue;
            char ts[16];
            *put_date(ts, day) = '\0';
            rc = out_printf(&o, err, errlen, "%s,%s-t%d,%sT%02d:%02d:00Z,%s,%d\n", a->id, a->id, k, ts,
                            (int)(9 + (h >> 8) % 8), (int)((h >> 16) % 60), prio[(h >> 24) % 4],
                            a->archetype == A_DECLINING ? 1 + (int)((h >> 32) % 3) : 3 + (int)((h >> 32) % 3));
        }
    }
    return out_close(&o, rc, err, errlen);
}

/* Milestones: kickoff, first report, rollout; the low and shelfware
 * accounts stall after the kickoff. */
static int write_milestones(const gen_t *g, const char *dir, char *err, size_t errlen)
{
    static const char *const names[] = {"kickoff", "first report shared", "team rollout"};
    static const int due[] = {7, 30, 60}, took[] = {5, 26, 55};
    out_t o;
    int rc = csv_open(&o, dir, "milestones.csv", "account_id,name,due,done_at,owner\n", err, errlen);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; rc >= 0 && i < g->n_acc; i++) {
        const account_t *a = &g->acc[i];
        int stalls = a->archetype == A_LOW || a->archetype == A_SHELFWARE;
        for (int k = 0; rc >= 0 && k < 3; k++) {
            char d1[16], d2[16] = "";
            *put_date(d1, a->start_day + due[k]) = '\0';
            int32_t done = a->start_day + took[k];
            if ((k == 0 || !stalls) && done <= g->end_day)
                *put_date(d2, done) = '\0';
            rc = out_printf(&o, err, errlen, "%s,%s,%s,%s,%s\n", a->id, names[k], d1, d2, owners[a->owner]);
        }
    }
    return out_close(&o, rc, err, errlen);
}

int up_demo_write(const char *dir, const up_demo_opts_t *opts, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!dir || !opts)
        return fail(err, errlen, -UP_EINVAL, "demo: no directory or options");
    if (opts->accounts < 1 || opts->accounts > 1000000)
        return fail(err, errlen, -UP_EINVAL, "demo: accounts must be 1 to 1000000, got %d", opts->accounts);
    if (opts->days < 1 || opts->days > 3660)
        return fail(err, errlen, -UP_EINVAL, "demo: days must be 1 to 3660, got %d", opts->days);
    if (opts->events < 0 || opts->events > 10000000000LL)
        return fail(err, errlen, -UP_EINVAL, "demo: events must be 0 to 1e10, got %lld",
                    (long long)opts->events);
    if (up_mkdir_p(dir, err, errlen) < 0)
        return -UP_EIO;
    gen_t g;
    memset(&g, 0, sizeof g);
    g.o = *opts;
    g.end_day = opts->end_day;
    g.first_day = opts->end_day - opts->days + 1;
    g.activity = 1.0;
    g.intensity = 1.0;
    int rc = opts->events > 0 ? size_for_target(&g) : build_portfolio(&g, (uint32_t)opts->accounts);
    if (rc < 0) {
        free_portfolio(&g);
        return fail(err, errlen, rc, "demo: out of memory building the portfolio");
    }
    if (opts->progress)
        fprintf(stderr, "demo: %u accounts, %u users, %d days\n", g.n_acc, g.n_usr, opts->days);
    if ((rc = write_model(dir, err, errlen)) >= 0 &&
        (rc = write_accounts(&g, dir, err, errlen)) >= 0 &&
        (rc = write_users(&g, dir, err, errlen)) >= 0 &&
        (rc = write_surveys(&g, dir, err, errlen)) >= 0 &&
        (rc = write_outcomes(&g, dir, err, errlen)) >= 0 &&
        (rc = write_subscriptions(&g, dir, err, errlen)) >= 0 &&
        (rc = write_tickets(&g, dir, err, errlen)) >= 0 &&
        (rc = write_milestones(&g, dir, err, errlen)) >= 0)
        rc = write_events(&g, dir, err, errlen);
    free_portfolio(&g);
    return rc < 0 ? rc : 0;
}
