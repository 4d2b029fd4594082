/* report_events: every event name the store has seen, and what the model
 * makes of it (see the header). One scan of the log; distinct users and
 * accounts are counted as they are first added to two maps keyed by (event,
 * user) and (event, account). */
#include "report_events.h"

#include "table.h"
#include "timeparse.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t events, users, accounts, first, last;
} stat_t;

typedef struct {
    const up_rollup_t *r;
    stat_t *st;
    up_map64_t users, accounts;
    int rc;
} ctx_t;

static int count(void *arg, const up_ev_t *ev)
{
    ctx_t *c = arg;
    if (ev->event >= c->r->dict[UP_KIND_EVENT].n || ev->pair >= c->r->n_pairs)
        return 0;
    stat_t *s = &c->st[ev->event];
    const up_pair_t *p = &c->r->pairs[ev->pair];
    s->events++;
    if (ev->ts < s->first)
        s->first = ev->ts;
    if (ev->ts > s->last)
        s->last = ev->ts;
    int added;
    uint32_t *slot = up_map64_slot(&c->users, (uint64_t)ev->event << 32 | ev->pair, &added);   /* a user: a pair */
    if (!slot)
        return c->rc = -UP_ENOMEM;
    if (added) {
        *slot = 1;
        s->users++;
    }
    if (!(slot = up_map64_slot(&c->accounts, (uint64_t)ev->event << 32 | p->account, &added)))
        return c->rc = -UP_ENOMEM;
    if (added) {
        *slot = 1;
        s->accounts++;
    }
    return 0;
}

/* The kind and features of event e: use, advanced, exposure, passive or
 * unmapped; the features it belongs to joined by ';' into feat. */
static const char *kind_of(const up_rollup_t *r, const up_model_t *m, uint32_t e, char *feat, size_t n)
{
    feat[0] = '\0';
    if (e >= r->n_evclass)
        return "unmapped";
    const up_evclass_t *ec = &r->evclass[e];
    int kind = -1;   /* the strongest role: 1 advanced > 0 use > 2 exposure */
    size_t len = 0;
    for (uint16_t i = 0; i < ec->n_roles; i++) {
        uint32_t f = ec->roles[i] >> 2, role = ec->roles[i] & 3;
        if (f < m->n_features && len < n)
            len += (size_t)snprintf(feat + len, n - len, "%s%s", len ? ";" : "", m->features[f].name);
        if (kind < 0 || role == 1 || (role == 0 && kind == 2))
            kind = (int)role;
    }
    if (ec->passive && kind != 2)
        return "passive";
    return kind == 1 ? "advanced" : kind == 0 ? "use" : kind == 2 ? "exposure" : "unmapped";
}

enum { E_EVENT, E_EVENTS, E_USERS, E_ACCOUNTS, E_FIRST, E_LAST, E_FEATURE, E_KIND, E_N };
static const up_col_t COLS[E_N] = {
    [E_EVENT] = {"event", UP_COL_TEXT, "EVENT", 28, UP_SHOW_PLAIN, UP_COL_CLIP, NULL, NULL},
    [E_EVENTS] = {"events", UP_COL_INT, "EVENTS", 10, UP_SHOW_PLAIN, 0, NULL, NULL},
    [E_USERS] = {"users", UP_COL_INT, "USERS", 7, UP_SHOW_PLAIN, 0, NULL, NULL},
    [E_ACCOUNTS] = {"accounts", UP_COL_INT, "ACCOUNTS", 8, UP_SHOW_PLAIN, 0, NULL, NULL},
    [E_FIRST] = {"first_seen", UP_COL_TEXT, "FIRST SEEN", 20, UP_SHOW_PLAIN, 0, NULL, NULL},
    [E_LAST] = {"last_seen", UP_COL_TEXT, "LAST SEEN", 20, UP_SHOW_PLAIN, 0, NULL, NULL},
    [E_FEATURE] = {"feature", UP_COL_TEXT, "FEATURE", 16, UP_SHOW_PLAIN, UP_COL_LEFT | UP_COL_CLIP, "  ", NULL},
    [E_KIND] = {"kind", UP_COL_TEXT, "KIND", 0, UP_SHOW_PLAIN, UP_COL_LEFT, "  ", NULL},
};

typedef struct {
    uint32_t id;
    int64_t events;
    const char *name;
} order_t;

static int cmp_order(const void *pa, const void *pb)
{
    const order_t *a = pa, *b = pb;
    if (a->events != b->events)
        return a->events > b->events ? -1 : 1;
    return strcmp(a->name, b->name);
}

int up_report_events(FILE *out, up_store_t *s, const up_rollup_t *r, int64_t T, up_format_t format, char *err,
                     size_t errlen)
{
    const up_model_t *m = up_store_model(s);
    uint32_t n = r->dict[UP_KIND_EVENT].n;
    ctx_t c = {r, calloc((size_t)n + 1, sizeof *c.st), {0}, {0}, 0};
    uint8_t *want = malloc((size_t)n + 1);
    order_t *ord = calloc((size_t)n + 1, sizeof *ord);
    if (!c.st || !want || !ord) {
        free(c.st);
        free(want);
        free(ord);
        snprintf(err, errlen, "out of memory");
        return -UP_ENOMEM;
    }
    up_map64_init(&c.users);
    up_map64_init(&c.accounts);
    memset(want, 1, (size_t)n + 1);
    for (uint32_t e = 0; e < n; e++)
        c.st[e] = (stat_t){0, 0, 0, INT64_MAX, INT64_MIN};
    int rc = n ? up_store_scan_events(s, T, want, n, count, &c) : 0;
    if (rc == 0)
        rc = c.rc;
    up_table_t t;
    up_table_init(&t, COLS, E_N);
    t.json_key = "events";
    t.header = 1;
    t.utf8 = 1;
    up_time_fmt(t.json_as_of, T);
    t.empty = "No events yet.";
    uint32_t k = 0;
    for (uint32_t e = 0; e < n; e++)
        if (c.st[e].events)
            ord[k++] = (order_t){e, c.st[e].events, up_dict_str(&r->dict[UP_KIND_EVENT], e)};
    qsort(ord, k, sizeof *ord, cmp_order);
    int64_t total = 0, unmapped = 0;
    for (uint32_t i = 0; rc == 0 && i < k; i++) {
        const stat_t *st = &c.st[ord[i].id];
        char feat[256], d1[40], d2[40];
        const char *kind = kind_of(r, m, ord[i].id, feat, sizeof feat);
        total += st->events;
        if (!strcmp(kind, "unmapped"))
            unmapped += st->events;
        up_time_fmt(d1, st->first);
        up_time_fmt(d2, st->last);
        if ((rc = up_table_row(&t)) < 0)
            break;
        up_table_ref(&t, E_EVENT, ord[i].name);
        up_table_int(&t, E_EVENTS, st->events);
        up_table_int(&t, E_USERS, st->users);
        up_table_int(&t, E_ACCOUNTS, st->accounts);
        up_table_text(&t, E_FIRST, d1);
        up_table_text(&t, E_LAST, d2);
        up_table_text(&t, E_FEATURE, feat[0] ? feat : NULL);
        up_table_text(&t, E_KIND, kind);
    }
    char footer[256];
    snprintf(footer, sizeof footer,
             "\n%lld events, %lld of them (%.0f%%) of names the model does not map to a feature or mark passive.\n",
             (long long)total, (long long)unmapped, total ? 100.0 * (double)unmapped / (double)total : 0.0);
    t.footer = footer;
    if (rc == 0)
        rc = up_table_write(out, &t, format);
    if (rc < 0)
        snprintf(err, errlen, "%s", up_strerror(rc));
    up_table_free(&t);
    up_map64_free(&c.users);
    up_map64_free(&c.accounts);
    free(c.st);
    free(want);
    free(ord);
    return rc;
}
