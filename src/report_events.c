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
    int64_t *first_ts;      /* per pair: its earliest event not in skip (model suggest), or NULL */
    uint32_t *first_ev;
    const uint8_t *skip;    /* per event id: not a first action (a visit) */
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
    if (c->first_ts && ev->ts < c->first_ts[ev->pair] && !c->skip[ev->event]) {
        c->first_ts[ev->pair] = ev->ts;
        c->first_ev[ev->pair] = ev->event;
    }
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

static void release(ctx_t *c)
{
    up_map64_free(&c->users);
    up_map64_free(&c->accounts);
    free(c->st);
    free(c->first_ts);
    free(c->first_ev);
}

/* One scan of the log up to T into c (with skip: each pair's earliest
 * event whose id skip does not mark, too). Returns 0 or a negative UP_E* code (c released). */
static int gather(up_store_t *s, const up_rollup_t *r, int64_t T, const uint8_t *skip, ctx_t *c)
{
    uint32_t n = r->dict[UP_KIND_EVENT].n;
    int firsts = skip != NULL;
    memset(c, 0, sizeof *c);
    c->r = r;
    c->skip = skip;
    c->st = calloc((size_t)n + 1, sizeof *c->st);
    uint8_t *want = malloc((size_t)n + 1);
    if (firsts) {
        c->first_ts = malloc(((size_t)r->n_pairs + 1) * sizeof *c->first_ts);
        c->first_ev = malloc(((size_t)r->n_pairs + 1) * sizeof *c->first_ev);
    }
    up_map64_init(&c->users);
    up_map64_init(&c->accounts);
    if (!c->st || !want || (firsts && (!c->first_ts || !c->first_ev))) {
        free(want);
        release(c);
        return -UP_ENOMEM;
    }
    for (uint32_t i = 0; firsts && i < r->n_pairs; i++)
        c->first_ts[i] = INT64_MAX;
    memset(want, 1, (size_t)n + 1);
    for (uint32_t e = 0; e < n; e++)
        c->st[e] = (stat_t){0, 0, 0, INT64_MAX, INT64_MIN};
    int rc = n ? up_store_scan_events(s, INT64_MIN, T, want, n, count, c) : 0;
    free(want);
    if (rc == 0)
        rc = c->rc;
    if (rc < 0)
        release(c);
    return rc;
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
    ctx_t c;
    order_t *ord = calloc((size_t)n + 1, sizeof *ord);
    int rc = ord ? gather(s, r, T, NULL, &c) : -UP_ENOMEM;
    if (rc < 0) {
        free(ord);
        snprintf(err, errlen, "%s", up_strerror(rc));
        return rc;
    }
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
    release(&c);
    free(ord);
    return rc;
}

/* ---- model suggest ---------------------------------------------------------- */

/* 1 when an event name reads as a visit rather than a use: logins, page and
 * screen views, sessions (case-insensitive). */
static int looks_passive(const char *name)
{
    static const char *const words[] = {"login", "log_in", "logout", "log_out", "signin", "sign_in", "signout",
                                        "sign_out", "page_view", "pageview", "page view", "screen_view",
                                        "screenview", "session_start", "session_end", "heartbeat"};
    char low[128];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof low; i++)
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    low[i] = '\0';
    if (!strcmp(low, "page") || !strcmp(low, "screen") || !strcmp(low, "$pageview") || !strcmp(low, "$screen"))
        return 1;
    for (size_t w = 0; w < sizeof words / sizeof *words; w++)
        if (strstr(low, words[w]))
            return 1;
    return 0;
}

/* The length of name's prefix before its first separator (. : / _ - or a
 * space), or 0 when it has none. */
static size_t prefix_len(const char *name)
{
    size_t n = strcspn(name, ".:/_- ");
    return name[n] && n > 0 ? n : 0;
}

/* name as a YAML double-quoted scalar. */
static void yaml_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\x%02x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

typedef struct {
    char name[96];
    int64_t events, accounts;   /* accounts: the most any of its event names reached */
    uint32_t *ev;               /* its event ids */
    uint32_t n_ev;
} sfeat_t;

static int cmp_sfeat(const void *pa, const void *pb)
{
    const sfeat_t *a = pa, *b = pb;
    if (a->events != b->events)
        return a->events > b->events ? -1 : 1;
    return strcmp(a->name, b->name);
}

int up_model_suggest(FILE *out, up_store_t *s, const up_rollup_t *r, int64_t T, char *err, size_t errlen)
{
    const up_dict_t *d = &r->dict[UP_KIND_EVENT];
    uint32_t n = d->n;
    ctx_t c;
    uint8_t *skip = calloc((size_t)n + 1, 1);
    if (!skip) {
        snprintf(err, errlen, "%s", up_strerror(-UP_ENOMEM));
        return -UP_ENOMEM;
    }
    for (uint32_t e = 0; e < n; e++)
        skip[e] = (uint8_t)looks_passive(up_dict_str(d, e));
    int rc = gather(s, r, T, skip, &c);
    sfeat_t *f = calloc((size_t)n + 1, sizeof *f);
    uint32_t *evs = calloc((size_t)n + 1, sizeof *evs);
    int64_t *firsts = calloc((size_t)n + 1, sizeof *firsts);
    if (rc == 0 && (!f || !evs || !firsts))
        rc = -UP_ENOMEM;
    if (rc < 0) {
        free(f), free(evs), free(firsts), free(skip);
        if (c.st)
            release(&c);
        snprintf(err, errlen, "%s", up_strerror(rc));
        return rc;
    }
    /* features: the names grouped by their prefix when two or more share
     * one, else each name alone; passive-looking names apart */
    uint32_t nf = 0, ne = 0, np = 0;
    int64_t accounts_seen = 0, total = 0;
    for (uint32_t e = 0; e < n; e++)
        if (c.st[e].accounts > accounts_seen)
            accounts_seen = c.st[e].accounts;
    for (uint32_t e = 0; e < n; e++) {
        const char *name = up_dict_str(d, e);
        if (!c.st[e].events)
            continue;
        total += c.st[e].events;
        if (looks_passive(name)) {
            np++;
            continue;
        }
        size_t pl = prefix_len(name);
        int shared = 0;
        for (uint32_t o = 0; pl && o < n && !shared; o++)
            shared = o != e && c.st[o].events && !looks_passive(up_dict_str(d, o)) &&
                     prefix_len(up_dict_str(d, o)) == pl && !strncmp(up_dict_str(d, o), name, pl);
        size_t len = shared ? pl : strlen(name);
        if (len >= sizeof f[0].name)
            len = sizeof f[0].name - 1;
        uint32_t k = 0;
        while (k < nf && !(strlen(f[k].name) == len && !strncmp(f[k].name, name, len)))
            k++;
        if (k == nf) {
            memcpy(f[nf].name, name, len);
            f[nf].name[len] = '\0';
            f[nf].ev = evs + ne;   /* filled below, feature by feature */
            nf++;
        }
        f[k].events += c.st[e].events;
        if (c.st[e].accounts > f[k].accounts)
            f[k].accounts = c.st[e].accounts;
    }
    /* the event ids of each feature, contiguous in evs */
    for (uint32_t k = 0; k < nf; k++) {
        f[k].ev = evs + ne;
        for (uint32_t e = 0; e < n; e++) {
            const char *name = up_dict_str(d, e);
            if (!c.st[e].events || looks_passive(name))
                continue;
            size_t pl = strlen(f[k].name);
            if ((!strcmp(name, f[k].name)) || (prefix_len(name) == pl && !strncmp(name, f[k].name, pl) &&
                                                strcmp(name, f[k].name) != 0 && pl < strlen(name)))
                f[k].ev[f[k].n_ev++] = e, ne++;
        }
    }
    qsort(f, nf, sizeof *f, cmp_sfeat);
    /* the most frequent first action of a user: the key action candidate */
    for (uint32_t i = 0; i < r->n_pairs; i++)
        if (c.first_ts[i] != INT64_MAX)
            firsts[c.first_ev[i]]++;
    uint32_t key = UINT32_MAX;
    for (uint32_t e = 0; e < n; e++)
        if (firsts[e] && !looks_passive(up_dict_str(d, e)) && (key == UINT32_MAX || firsts[e] > firsts[key]))
            key = e;
    fprintf(out, "# A draft adoption model from the %lld events seen, by `uptake model suggest`.\n"
                 "# Edit it (docs/model.md): name the features, keep as core the ones every customer\n"
                 "# should use, then `uptake model set FILE` (no re-import).\n"
                 "# Features: event names grouped by their prefix (before . : / _ - or a space);\n"
                 "# core: the features reached by at least half the accounts of the most used name.\n"
                 "version: 1\nfeatures:\n", (long long)total);
    if (!nf)
        fputs("  []\n", out);
    for (uint32_t k = 0; k < nf; k++) {
        fputs("  - name: ", out);
        yaml_str(out, f[k].name);
        fprintf(out, "\n    core: %s\n    events: [", 2 * f[k].accounts >= accounts_seen ? "true" : "false");
        for (uint32_t j = 0; j < f[k].n_ev; j++) {
            fputs(j ? ", " : "", out);
            yaml_str(out, up_dict_str(d, f[k].ev[j]));
        }
        fprintf(out, "]   # %lld events, up to %lld accounts\n", (long long)f[k].events, (long long)f[k].accounts);
    }
    fputs("# visits, not uses: they do not make a user active\npassive_events: [", out);
    uint32_t j = 0;
    for (uint32_t e = 0; e < n; e++)
        if (c.st[e].events && looks_passive(up_dict_str(d, e))) {
            fputs(j++ ? ", " : "", out);
            yaml_str(out, up_dict_str(d, e));
        }
    fputs("]\n", out);
    if (key != UINT32_MAX) {
        fprintf(out, "# the first action of %lld users (the most frequent first action): a candidate for first value\n"
                     "key_actions: [", (long long)firsts[key]);
        yaml_str(out, up_dict_str(d, key));
        fputs("]\n", out);
    } else
        fputs("key_actions: []\n", out);
    (void)np;
    release(&c);
    free(f), free(evs), free(firsts), free(skip);
    return 0;
}
