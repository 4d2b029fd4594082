/* model: loads, validates and dumps the adoption model (docs/model.md).
 * Invariant: a model handed out is complete and valid (every key checked against
 * its map's table, every number in range, every name unique in its list) and owns
 * all of its strings; a failed parse frees everything it built and leaves exactly
 * one message "FILE:LINE: key.path: reason" in err. Each map of the format is a
 * table of known keys with one handler per key: a new key is a row and a handler. */
#include "model.h"

#include "fmt.h"
#include "model_builtin.h"
#include "model_yaml.h"
#include "rules.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* Names already taken in one scope, with the line each was first seen on. */
typedef struct {
    const char **names;        /* borrowed from the model being built */
    unsigned long *lines;
    size_t n, cap;
} seen_t;

typedef struct {
    yaml_document_t *doc;
    const char *file;
    char *err;
    size_t errlen;
    char path[256];            /* "features[2].core" while that value is handled */
    size_t path_len;
    seen_t *list_seen;         /* the current feature's events, all three lists */
    seen_t feature_names;
} ctx_t;

typedef int (*handler_fn)(ctx_t *c, yaml_node_t *value, void *obj, const void *arg);

typedef struct {
    const char *key;
    handler_fn fn;
    const void *arg;
} key_spec_t;

/* A numeric field at offset off of the object its map fills. */
typedef struct {
    size_t off;
    bool is_int;
    double min, max;           /* inclusive, except min when min_open */
    bool min_open;
    const char *range;         /* as the error message says it */
} num_spec_t;

/* A list of strings at list_off with its count at count_off. */
typedef struct {
    size_t list_off, count_off;
} list_spec_t;

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

/* ---- messages and paths ---- */

static unsigned long line_of(const yaml_node_t *n)
{
    return (unsigned long)n->start_mark.line + 1;
}

static int vfail(ctx_t *c, unsigned long line, const char *fmt, va_list ap)
{
    if (!c->err || !c->errlen)
        return -UP_EMODEL;
    int n = snprintf(c->err, c->errlen, "%s:%lu: %s%s", c->file, line, c->path,
                     c->path_len ? ": " : "");
    if (n >= 0 && (size_t)n < c->errlen)
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    return -UP_EMODEL;
}

static int fail_at(ctx_t *c, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(ctx_t *c, unsigned long line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(c, line, fmt, ap);
    va_end(ap);
    return rc;
}

static int nomem(ctx_t *c)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s: out of memory", c->file);
    return -UP_ENOMEM;
}

static size_t path_push(ctx_t *c, const char *key, size_t index, bool is_index)
{
    size_t saved = c->path_len;
    size_t room = sizeof c->path - saved;
    int n = is_index ? snprintf(c->path + saved, room, "[%zu]", index)
                     : snprintf(c->path + saved, room, "%s%s", saved ? "." : "", key);
    if (n > 0)
        c->path_len = saved + ((size_t)n < room ? (size_t)n : room - 1);
    return saved;
}

static void path_pop(ctx_t *c, size_t saved)
{
    c->path_len = saved;
    c->path[saved] = '\0';
}

/* ---- scalars ---- */

static const char *text_of(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_null(const yaml_node_t *n)
{
    if (!is_plain(n))
        return false;
    const char *s = text_of(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* What the user wrote, for "got ..." in messages. */
static const char *describe(const yaml_node_t *n, char *buf, size_t len)
{
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (n->type == YAML_MAPPING_NODE)
        return "a map";
    if (is_null(n))
        return *text_of(n) ? "null" : "nothing";
    size_t l = n->data.scalar.length;
    snprintf(buf, len, "%s'%.*s%s'", is_plain(n) ? "" : "quoted string ",
             (int)(l > 40 ? 40 : l), text_of(n), l > 40 ? "..." : "");
    return buf;
}

static int expected(ctx_t *c, const yaml_node_t *n, const char *what)
{
    char buf[80];
    return fail_at(c, line_of(n), "expected %s, got %s", what, describe(n, buf, sizeof buf));
}

/* A name: a non-null scalar with something other than blanks in it. */
static int get_name(ctx_t *c, const yaml_node_t *n, const char *what, char **out)
{
    if (n->type != YAML_SCALAR_NODE || is_null(n))
        return expected(c, n, what);
    const char *s = text_of(n);
    if (strlen(s) != n->data.scalar.length)
        return fail_at(c, line_of(n), "must not contain a NUL byte");
    if (!s[strspn(s, " \t\r\n")])
        return fail_at(c, line_of(n), "must not be empty");
    if (!(*out = up_strdup(s)))
        return nomem(c);
    return 0;
}

/* Only these characters may reach strtod: no hex, inf, nan or locale surprises. */
static bool parse_double(const char *s, double *out)
{
    if (!*s || s[strspn(s, "0123456789+-.eE")])
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool parse_long(const char *s, long *out)
{
    const char *digits = (*s == '+' || *s == '-') ? s + 1 : s;
    if (!*digits || digits[strspn(digits, "0123456789")])
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* ---- seen sets ---- */

static long seen_find(const seen_t *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name))
            return (long)i;
    return -1;
}

static int seen_add(ctx_t *c, seen_t *s, const char *name, unsigned long line)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        const char **names = realloc(s->names, cap * sizeof *names);
        if (!names)
            return nomem(c);
        s->names = names;
        unsigned long *lines = realloc(s->lines, cap * sizeof *lines);
        if (!lines)
            return nomem(c);
        s->lines = lines;
        s->cap = cap;
    }
    s->names[s->n] = name;
    s->lines[s->n++] = line;
    return 0;
}

static void seen_free(seen_t *s)
{
    free(s->names);
    free(s->lines);
    memset(s, 0, sizeof *s);
}

/* ---- maps ---- */

static yaml_node_t *node(ctx_t *c, int id)
{
    return yaml_document_get_node(c->doc, id);
}

static yaml_node_t *find_key(ctx_t *c, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key);
        if (k->type == YAML_SCALAR_NODE && !strcmp(text_of(k), key))
            return k;
    }
    return NULL;
}

/* Calls the handler of every key of map, in file order. Keys must be strings,
 * known to the table and not repeated. */
static int walk_map(ctx_t *c, yaml_node_t *map, const key_spec_t *keys, size_t nkeys, void *obj)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
        if (k->type != YAML_SCALAR_NODE || is_null(k))
            return expected(c, k, "a key name");
        const char *key = text_of(k);
        size_t saved = path_push(c, key, 0, false);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *prev = node(c, q->key);
            if (prev->type == YAML_SCALAR_NODE && !strcmp(text_of(prev), key))
                return fail_at(c, line_of(k), "duplicate key (first at line %lu)", line_of(prev));
        }
        const key_spec_t *spec = NULL;
        for (size_t i = 0; i < nkeys && !spec; i++)
            if (!strcmp(keys[i].key, key))
                spec = &keys[i];
        if (!spec) {
            char known[256] = "";
            for (size_t i = 0; i < nkeys; i++) {
                size_t used = strlen(known);
                snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", keys[i].key);
            }
            return fail_at(c, line_of(k), "unknown key (expected one of: %s)", known);
        }
        int rc = spec->fn(c, v, obj, spec->arg);
        if (rc)
            return rc;
        path_pop(c, saved);
    }
    return 0;
}

/* ---- handlers ---- */

static int h_number(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    const num_spec_t *spec = arg;
    const char *kind = spec->is_int ? "an integer" : "a number";
    char what[64];
    snprintf(what, sizeof what, "%s %s", kind, spec->range);
    if (!is_plain(v) || is_null(v))
        return expected(c, v, what);
    double d = 0;
    long l = 0;
    bool ok = spec->is_int ? parse_long(text_of(v), &l) : parse_double(text_of(v), &d);
    if (spec->is_int)
        d = (double)l;
    if (!ok || d > spec->max || d < spec->min || (spec->min_open && d == spec->min))
        return expected(c, v, what);
    if (spec->is_int)
        *(int *)((char *)obj + spec->off) = (int)l;
    else
        *(double *)((char *)obj + spec->off) = d;
    return 0;
}

static int h_bool(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    bool *out = (bool *)((char *)obj + *(const size_t *)arg);
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (size_t i = 0; is_plain(v) && i < 3; i++) {
        if (!strcasecmp(text_of(v), yes[i]) || !strcasecmp(text_of(v), no[i])) {
            *out = !strcasecmp(text_of(v), yes[i]);
            return 0;
        }
    }
    return expected(c, v, "true or false");
}

/* A list of event names. Inside a feature the three lists share one seen set, so
 * an event may appear once per feature; passive_events and key_actions each have
 * their own. */
static int h_events(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    const list_spec_t *spec = arg;
    char ***list = (char ***)((char *)obj + spec->list_off);
    size_t *count = (size_t *)((char *)obj + spec->count_off);
    if (is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return expected(c, v, "a list of event names");
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (!n)
        return 0;
    if (!(*list = calloc(n, sizeof **list)))
        return nomem(c);
    seen_t local = {0};
    seen_t *seen = c->list_seen ? c->list_seen : &local;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        yaml_node_t *item = node(c, v->data.sequence.items.start[i]);
        size_t saved = path_push(c, NULL, i, true);
        char *name;
        if ((rc = get_name(c, item, "an event name", &name)))
            break;
        (*list)[(*count)++] = name;
        long first = seen_find(seen, name);
        if (first >= 0)
            rc = fail_at(c, line_of(item), "event '%s' is listed twice%s (first at line %lu)", name,
                         c->list_seen ? " in this feature" : "", seen->lines[first]);
        else
            rc = seen_add(c, seen, name, line_of(item));
        if (!rc)
            path_pop(c, saved);
    }
    seen_free(&local);
    return rc;
}

static int h_feature_name(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_feature_t *f = obj;
    int rc = get_name(c, v, "a feature name", &f->name);
    if (rc)
        return rc;
    long first = seen_find(&c->feature_names, f->name);
    if (first >= 0)
        return fail_at(c, line_of(v), "duplicate feature name '%s' (first at line %lu)", f->name,
                       c->feature_names.lines[first]);
    return seen_add(c, &c->feature_names, f->name, line_of(v));
}

static const size_t core_off = offsetof(up_feature_t, core);
static const list_spec_t feature_events = {offsetof(up_feature_t, events), offsetof(up_feature_t, n_events)};
static const list_spec_t feature_advanced = {offsetof(up_feature_t, advanced_events),
                                             offsetof(up_feature_t, n_advanced)};
static const list_spec_t feature_exposure = {offsetof(up_feature_t, exposure_events),
                                             offsetof(up_feature_t, n_exposure)};

static const key_spec_t feature_keys[] = {
    {"name", h_feature_name, NULL},
    {"core", h_bool, &core_off},
    {"events", h_events, &feature_events},
    {"advanced_events", h_events, &feature_advanced},
    {"exposure_events", h_events, &feature_exposure},
};

static int h_features(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_model_t *m = obj;
    if (is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return expected(c, v, "a list of features");
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (!n)
        return 0;
    if (!(m->features = calloc(n, sizeof *m->features)))
        return nomem(c);
    m->n_features = n;  /* zeroed entries free cleanly if we stop half-way */
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = node(c, v->data.sequence.items.start[i]);
        size_t saved = path_push(c, NULL, i, true);
        if (item->type != YAML_MAPPING_NODE)
            return expected(c, item, "a map with a 'name'");
        seen_t events = {0};
        c->list_seen = &events;
        int rc = walk_map(c, item, feature_keys, NKEYS(feature_keys), &m->features[i]);
        c->list_seen = NULL;
        seen_free(&events);
        if (rc)
            return rc;
        if (!m->features[i].name)
            return fail_at(c, line_of(item), "missing required key 'name'");
        path_pop(c, saved);
    }
    return 0;
}

#define WEIGHT_SPEC_(ID, name, metric, weight) {offsetof(up_health_weights_t, name), false, 0, HUGE_VAL, false, ">= 0"},
static const num_spec_t weight_specs[] = {UP_HEALTH(WEIGHT_SPEC_)};
#undef WEIGHT_SPEC_
static const key_spec_t weight_keys[] = {
#define WEIGHT_KEY_(ID, name, metric, weight) {#name, h_number, &weight_specs[UP_H_##ID]},
    UP_HEALTH(WEIGHT_KEY_)
#undef WEIGHT_KEY_
};

static int h_weights(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_health_weights_t *w = &((up_settings_t *)obj)->weights;
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return expected(c, v, "a map of weights");
    int rc = walk_map(c, v, weight_keys, NKEYS(weight_keys), w);
    if (rc)
        return rc;
    double sum = 0;
#define WEIGHT_SUM_(ID, name, metric, weight) sum += w->name;
    UP_HEALTH(WEIGHT_SUM_)
#undef WEIGHT_SUM_
    if (sum <= 0)
        return fail_at(c, line_of(v), "weights must not all be zero");
    return 0;
}

#define SETTING(field, is_int, min, max, open, range) \
    {offsetof(up_settings_t, field), is_int, min, max, open, range}
static const num_spec_t setting_specs[] = {
    SETTING(level_breadth_min, false, 0, HUGE_VAL, false, ">= 0"),
    SETTING(level_depth_min, false, 0, 1, false, "from 0 to 1"),
    SETTING(stage_regular_blocks, true, 1, 4, false, "from 1 to 4"),
    SETTING(stage_mastery_top, false, 0, 1, true, "> 0 and <= 1"),
    SETTING(nps_promoter_min, true, 0, 10, false, "from 0 to 10"),
    SETTING(nps_detractor_max, true, 0, 10, false, "from 0 to 10"),
    SETTING(nps_window_days, true, 1, 36500, false, "from 1 to 36500"),
    SETTING(activation_days, true, 1, 36500, false, "from 1 to 36500"),
    SETTING(intensity_target, false, 0, HUGE_VAL, true, "> 0"),
    SETTING(ttfv_history_gap_days, true, 0, 36500, false, "from 0 (off) to 36500"),
};
static const key_spec_t setting_keys[] = {
    {"level_breadth_min", h_number, &setting_specs[0]},
    {"level_depth_min", h_number, &setting_specs[1]},
    {"stage_regular_blocks", h_number, &setting_specs[2]},
    {"stage_mastery_top", h_number, &setting_specs[3]},
    {"nps_promoter_min", h_number, &setting_specs[4]},
    {"nps_detractor_max", h_number, &setting_specs[5]},
    {"nps_window_days", h_number, &setting_specs[6]},
    {"activation_days", h_number, &setting_specs[7]},
    {"intensity_target", h_number, &setting_specs[8]},
    {"ttfv_history_gap_days", h_number, &setting_specs[9]},
    {"health_weights", h_weights, NULL},
};

static int h_settings(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_settings_t *s = &((up_model_t *)obj)->settings;
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return expected(c, v, "a map of settings");
    int rc = walk_map(c, v, setting_keys, NKEYS(setting_keys), s);
    if (rc || s->nps_detractor_max < s->nps_promoter_min)
        return rc;
    /* Blame the detractor bound when it was written, else the promoter bound. */
    yaml_node_t *k = find_key(c, v, "nps_detractor_max");
    if (k) {
        path_push(c, "nps_detractor_max", 0, false);
        return fail_at(c, line_of(k), "must be less than nps_promoter_min (%d), got %d",
                       s->nps_promoter_min, s->nps_detractor_max);
    }
    k = find_key(c, v, "nps_promoter_min");
    path_push(c, "nps_promoter_min", 0, false);
    return fail_at(c, line_of(k), "must be greater than nps_detractor_max (%d), got %d",
                   s->nps_detractor_max, s->nps_promoter_min);
}

static int h_version(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)obj, (void)arg;
    long version;
    if (!is_plain(v) || !parse_long(text_of(v), &version))
        return expected(c, v, "an integer");
    if (version != 1)
        return fail_at(c, line_of(v), "unsupported version %ld (this uptake reads version 1)", version);
    return 0;
}

static const list_spec_t passive_list = {offsetof(up_model_t, passive_events), offsetof(up_model_t, n_passive)};
static const list_spec_t key_action_list = {offsetof(up_model_t, key_actions),
                                            offsetof(up_model_t, n_key_actions)};
static const list_spec_t error_event_list = {offsetof(up_model_t, error_events),
                                             offsetof(up_model_t, n_error_events)};

const char *const up_trait_fields[UP_TRAITS] = {"created_at", "role", "name", "seats", "plan", "segment",
                                                 "owner", "arr", "contract_start", "renewal_date"};

#define TRAIT(i) {offsetof(up_ingest_cfg_t, traits[i].names), offsetof(up_ingest_cfg_t, traits[i].n)}
static const list_spec_t trait_lists[UP_TRAITS] = {
    TRAIT(0), TRAIT(1), TRAIT(2), TRAIT(3), TRAIT(4), TRAIT(5), TRAIT(6), TRAIT(7), TRAIT(8), TRAIT(9),
};
static const key_spec_t trait_keys[UP_TRAITS] = {
    {"created_at", h_events, &trait_lists[0]}, {"role", h_events, &trait_lists[1]},
    {"name", h_events, &trait_lists[2]}, {"seats", h_events, &trait_lists[3]},
    {"plan", h_events, &trait_lists[4]}, {"segment", h_events, &trait_lists[5]},
    {"owner", h_events, &trait_lists[6]}, {"arr", h_events, &trait_lists[7]},
    {"contract_start", h_events, &trait_lists[8]}, {"renewal_date", h_events, &trait_lists[9]},
};

static int h_traits(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return expected(c, v, "a map from a field (role, seats, …) to a list of trait names");
    return walk_map(c, v, trait_keys, NKEYS(trait_keys), obj);
}

static int h_group_type(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_ingest_cfg_t *g = obj;
    return get_name(c, v, "a group type name", &g->group_type);
}

static const key_spec_t ingest_keys[] = {
    {"group_type", h_group_type, NULL},
    {"traits", h_traits, NULL},
};

static int h_ingest(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return expected(c, v, "a map with group_type and traits");
    return walk_map(c, v, ingest_keys, NKEYS(ingest_keys), &((up_model_t *)obj)->ingest);
}

/* ---- the conditions of the built-in rules, from alert_settings ---- */

void up_model_builtin_when(int i, const up_alert_settings_t *a, char *out, size_t len)
{
    char x[32];
    switch (i) {
    case 0: up_fmt_double(x, sizeof x, a->usage_drop_wau_trend); snprintf(out, len, "wau_trend < %s", x); break;
    case 1:
        up_fmt_double(x, sizeof x, a->low_access_breadth);
        snprintf(out, len, "breadth < %s and days_into_contract > %d", x, a->low_access_days);
        break;
    case 2:
        up_fmt_double(x, sizeof x, a->avoidance_breadth);
        snprintf(out, len, "breadth >= %s and core_unused_28d > 0", x);
        break;
    case 3: snprintf(out, len, "champion_quiet"); break;
    case 4: up_fmt_double(x, sizeof x, a->seats_removed_share); snprintf(out, len, "seats_removed_1d >= %s", x); break;
    case 5:
        snprintf(out, len, "milestone_overdue_days >= %d or (open_milestones > 0 and days_since_milestone_done >= %d)",
                 a->milestone_overdue_days, a->milestone_idle_days);
        break;
    case 6: snprintf(out, len, "not has_key_action and days_into_contract > %d", a->no_first_value_days); break;
    case 7: snprintf(out, len, "friction_flag"); break;
    case 8: up_fmt_double(x, sizeof x, -a->health_drop_points); snprintf(out, len, "health_change <= %s", x); break;
    case 9:
        up_fmt_double(x, sizeof x, a->renewal_risk_probability);
        snprintf(out, len, "days_to_renewal >= 0 and days_to_renewal <= %d and churn_probability > %s", a->renewal_days,
                 x);
        break;
    default: out[0] = '\0';
    }
}

/* ---- alerts: rules, alert_settings, playbooks ---- */

static int h_str(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    return get_name(c, v, "a string", (char **)((char *)obj + *(const size_t *)arg));
}

static int h_severity(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    for (int i = 0; v->type == YAML_SCALAR_NODE && i < UP_SEVERITIES; i++)
        if (!strcmp(text_of(v), up_severity_names[i])) {
            ((up_rule_t *)obj)->severity = i;
            return 0;
        }
    return expected(c, v, "low, medium, high or critical");
}

static int h_when(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_rule_t *r = obj;
    int rc = get_name(c, v, "a condition, e.g. 'wau_trend < -0.3'", &r->when);
    if (rc)
        return rc;
    up_cond_t *cond;
    char why[200];
    if (up_cond_compile(r->when, up_metric_var_known, &cond, why, sizeof why) < 0)
        return fail_at(c, line_of(v), "%s (in '%s'; names: see docs/alerts.md)", why, r->when);
    up_cond_free(cond);
    return 0;
}

static const size_t rule_name_off = offsetof(up_rule_t, name), rule_owner_off = offsetof(up_rule_t, owner),
                    rule_enabled_off = offsetof(up_rule_t, enabled);
static const num_spec_t rule_cooldown = {offsetof(up_rule_t, cooldown_days), true, 0, 3650, false, "from 0 to 3650"};
static const key_spec_t rule_keys[] = {
    {"name", h_str, &rule_name_off},
    {"when", h_when, NULL},
    {"severity", h_severity, NULL},
    {"owner", h_str, &rule_owner_off},
    {"cooldown_days", h_number, &rule_cooldown},
    {"enabled", h_bool, &rule_enabled_off},
};

/* A list of maps parsed with keys into n items of size bytes; init sets
 * each item's defaults; need names the required key. */
static int parse_list(ctx_t *c, yaml_node_t *v, void **items, size_t *n, size_t size, const key_spec_t *keys,
                      size_t nkeys, void (*init)(void *), const char *need, const char *what)
{
    if (is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return expected(c, v, what);
    size_t count = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (!count)
        return 0;
    char *arr = calloc(count, size);
    if (!arr)
        return nomem(c);
    *items = arr;
    seen_t names = {0};
    int rc = 0;
    for (size_t i = 0; i < count && !rc; i++) {
        yaml_node_t *item = node(c, v->data.sequence.items.start[i]);
        size_t saved = path_push(c, NULL, i, true);
        void *obj = arr + i * size;
        init(obj);
        *n = i + 1;
        if (item->type != YAML_MAPPING_NODE) {
            rc = expected(c, item, "a map with a 'name'");
            break;
        }
        if ((rc = walk_map(c, item, keys, nkeys, obj)))
            break;
        const char *name = *(char **)obj;   /* name is each struct's first member */
        if (!name) {
            rc = fail_at(c, line_of(item), "missing required key 'name'");
            break;
        }
        if (need && !find_key(c, item, need)) {
            rc = fail_at(c, line_of(item), "missing required key '%s'", need);
            break;
        }
        long first = seen_find(&names, name);
        if (first >= 0) {
            rc = fail_at(c, line_of(item), "duplicate name '%s' (first at line %lu)", name, names.lines[first]);
            break;
        }
        if ((rc = seen_add(c, &names, name, line_of(item))))
            break;
        path_pop(c, saved);
    }
    seen_free(&names);
    return rc;
}

static void rule_init(void *obj)
{
    up_rule_t *r = obj;
    r->severity = -1;   /* unset: the built-in's, else medium */
    r->cooldown_days = 7;
    r->enabled = true;
}

static int h_rules(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_model_t *m = obj;
    int rc = parse_list(c, v, (void **)&m->rules, &m->n_rules, sizeof *m->rules, rule_keys, NKEYS(rule_keys),
                        rule_init, NULL, "a list of rules");
    for (size_t i = 0; !rc && i < m->n_rules; i++)
        if (!m->rules[i].when && up_model_builtin(m->rules[i].name) < 0)
            rc = fail_at(c, line_of(v), "rules[%zu] '%s': missing 'when' (only a built-in rule may omit it)", i,
                         m->rules[i].name);
    return rc;
}

#define ASET_IS_INT_double false
#define ASET_IS_INT_int true
#define ASET_SPEC_(name, type, min, max, range, def) \
    {offsetof(up_alert_settings_t, name), ASET_IS_INT_##type, min, max, false, range},
static const num_spec_t aset_specs[] = {UP_ALERT_SETTINGS(ASET_SPEC_)};
#undef ASET_SPEC_
static const key_spec_t aset_keys[] = {
#define ASET_KEY_(name, type, min, max, range, def) {#name, h_number, &aset_specs[UP_ASET_##name]},
    UP_ALERT_SETTINGS(ASET_KEY_)
#undef ASET_KEY_
};
const up_alert_setting_info_t up_alert_setting_info[UP_ASET_N] = {
#define ASET_INFO_(name, type, min, max, range, def) {#name, offsetof(up_alert_settings_t, name), ASET_IS_INT_##type},
    UP_ALERT_SETTINGS(ASET_INFO_)
#undef ASET_INFO_
};

double up_model_alert_setting(const up_alert_settings_t *a, int i)
{
    const char *p = (const char *)a + up_alert_setting_info[i].offset;
    if (up_alert_setting_info[i].is_int) {
        int v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    double d;
    memcpy(&d, p, sizeof d);
    return d;
}

static int h_alert_settings(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return expected(c, v, "a map of alert thresholds");
    return walk_map(c, v, aset_keys, NKEYS(aset_keys), &((up_model_t *)obj)->alert_settings);
}

static int h_on(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_playbook_t *p = obj;
    p->on_open = p->on_resolve = false;
    yaml_node_item_t *it = NULL, *end = NULL;
    yaml_node_item_t one = 0;
    if (v->type == YAML_SEQUENCE_NODE) {
        it = v->data.sequence.items.start;
        end = v->data.sequence.items.top;
    } else if (v->type == YAML_SCALAR_NODE) {
        one = 0;
        it = &one;
        end = &one + 1;
    }
    for (; it && it < end; it++) {
        yaml_node_t *x = v->type == YAML_SEQUENCE_NODE ? node(c, *it) : v;
        if (x->type == YAML_SCALAR_NODE && !strcmp(text_of(x), "open"))
            p->on_open = true;
        else if (x->type == YAML_SCALAR_NODE && !strcmp(text_of(x), "resolve"))
            p->on_resolve = true;
        else
            return expected(c, x, "open or resolve (or a list of both)");
    }
    if (!p->on_open && !p->on_resolve)
        return expected(c, v, "open or resolve (or a list of both)");
    return 0;
}

static const size_t pb_name_off = offsetof(up_playbook_t, name), pb_url_off = offsetof(up_playbook_t, webhook_url),
                    pb_secret_off = offsetof(up_playbook_t, webhook_secret),
                    pb_slack_off = offsetof(up_playbook_t, slack), pb_task_off = offsetof(up_playbook_t, task_title);
static const list_spec_t pb_rules = {offsetof(up_playbook_t, rules), offsetof(up_playbook_t, n_rules)};
static const num_spec_t pb_timeout = {offsetof(up_playbook_t, timeout_s), true, 1, 300, false, "from 1 to 300"};
static const num_spec_t pb_retries = {offsetof(up_playbook_t, retries), true, 1, 20, false, "from 1 to 20"};
static const num_spec_t pb_due = {offsetof(up_playbook_t, task_due_days), true, 0, 365, false, "from 0 to 365"};
static const key_spec_t playbook_keys[] = {
    {"name", h_str, &pb_name_off},
    {"on", h_on, NULL},
    {"rules", h_events, &pb_rules},
    {"webhook", h_str, &pb_url_off},
    {"secret", h_str, &pb_secret_off},
    {"slack", h_bool, &pb_slack_off},
    {"timeout", h_number, &pb_timeout},
    {"attempts", h_number, &pb_retries},
    {"task", h_str, &pb_task_off},
    {"task_due_days", h_number, &pb_due},
};

static void playbook_init(void *obj)
{
    up_playbook_t *p = obj;
    p->on_open = true;
    p->timeout_s = 10;
    p->retries = 5;
    p->task_due_days = 3;
}

static int h_playbooks(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_model_t *m = obj;
    int rc = parse_list(c, v, (void **)&m->playbooks, &m->n_playbooks, sizeof *m->playbooks, playbook_keys,
                        NKEYS(playbook_keys), playbook_init, NULL, "a list of playbooks");
    for (size_t i = 0; !rc && i < m->n_playbooks; i++) {
        up_playbook_t *p = &m->playbooks[i];
        if (!p->webhook_url && !p->task_title)
            rc = fail_at(c, line_of(v), "playbooks[%zu] '%s': needs a 'webhook' or a 'task'", i, p->name);
        else if (p->webhook_url && strncmp(p->webhook_url, "http://", 7) && strncmp(p->webhook_url, "https://", 8))
            rc = fail_at(c, line_of(v), "playbooks[%zu] '%s': webhook must be an http:// or https:// URL", i, p->name);
    }
    return rc;
}

/* ---- nudges ---- */

static const list_spec_t nudge_expansion = {offsetof(up_nudge_cfg_t, expansion), offsetof(up_nudge_cfg_t, n_expansion)};
static const num_spec_t nudge_trial = {offsetof(up_nudge_cfg_t, trial_days), true, 1, 365, false, "from 1 to 365"};

static int h_expansion(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    ((up_nudge_cfg_t *)obj)->expansion_line = line_of(v);
    return h_events(c, v, obj, arg);
}

static const key_spec_t nudge_keys[] = {
    {"trial_days", h_number, &nudge_trial},
    {"expansion", h_expansion, &nudge_expansion},
};

static int h_nudges(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return expected(c, v, "a map with trial_days and expansion");
    return walk_map(c, v, nudge_keys, NKEYS(nudge_keys), &((up_model_t *)obj)->nudges);
}

/* ---- targets ---- */

static int h_target_metric(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_target_t *t = obj;
    int rc = get_name(c, v, "a metric name", &t->metric);
    if (rc)
        return rc;
    if (up_metric_find(t->metric, UP_MU_TGT) >= 0)
        return 0;
    if (!strncmp(t->metric, "workflow:", 9) && t->metric[9])
        return 0;   /* checked against the workflows once the whole model is read */
    char known[512];
    up_metric_names_join(UP_MU_TGT, ", ", known, sizeof known);
    return fail_at(c, line_of(v), "'%s' is not a target metric (%s, workflow:NAME)", t->metric, known);
}

static const size_t tgt_name_off = offsetof(up_target_t, name), tgt_seg_off = offsetof(up_target_t, segment),
                    tgt_acc_off = offsetof(up_target_t, account);
static const num_spec_t tgt_min = {offsetof(up_target_t, min), false, -HUGE_VAL, HUGE_VAL, false, "(any number)"};
static const num_spec_t tgt_by = {offsetof(up_target_t, by_day), true, 1, 3650, false, "from 1 to 3650"};
static const key_spec_t target_keys[] = {
    {"name", h_str, &tgt_name_off},
    {"metric", h_target_metric, NULL},
    {"min", h_number, &tgt_min},
    {"by_day", h_number, &tgt_by},
    {"segment", h_str, &tgt_seg_off},
    {"account", h_str, &tgt_acc_off},
};

static void target_init(void *obj)
{
    ((up_target_t *)obj)->by_day = 90;
}

static int h_targets(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_model_t *m = obj;
    int rc = parse_list(c, v, (void **)&m->targets, &m->n_targets, sizeof *m->targets, target_keys,
                        NKEYS(target_keys), target_init, "min", "a list of targets");
    for (size_t i = 0; !rc && i < m->n_targets; i++)
        if (!m->targets[i].metric)
            rc = fail_at(c, line_of(v), "targets[%zu] '%s': missing required key 'metric'", i, m->targets[i].name);
    return rc;
}

/* ---- workflows ---- */

/* "90s", "30m", "2h", "1d" or a number of seconds. */
static int h_within(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_workflow_t *w = obj;
    const char *t = v->type == YAML_SCALAR_NODE ? text_of(v) : "";
    char *end;
    double n = strtod(t, &end);
    double unit = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600
                : !strcmp(end, "d") ? 86400 : -1;
    if (end == t || unit < 0 || !(n > 0) || n * unit > 3650.0 * 86400)
        return expected(c, v, "a duration like 90s, 30m, 2h, 1d or seconds (more than 0, at most 3650d)");
    w->within_ms = (int64_t)(n * unit * 1000 + 0.5);
    return 0;
}

static const size_t wf_name_off = offsetof(up_workflow_t, name), wf_core_off = offsetof(up_workflow_t, core);
static const list_spec_t wf_steps = {offsetof(up_workflow_t, steps), offsetof(up_workflow_t, n_steps)};

/* Steps may repeat an event (a -> b -> a), so they are not checked for
 * duplicates the way feature events are. */
static int h_steps(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    up_workflow_t *w = obj;
    if (v->type != YAML_SEQUENCE_NODE)
        return expected(c, v, "a list of two or more event names");
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n < 2)
        return fail_at(c, line_of(v), "a workflow needs two steps or more, got %zu", n);
    (void)arg;
    if (!(w->steps = calloc(n, sizeof *w->steps)))
        return nomem(c);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = node(c, v->data.sequence.items.start[i]);
        size_t saved = path_push(c, NULL, i, true);
        int rc = get_name(c, item, "an event name", &w->steps[i]);
        w->n_steps = i + (w->steps[i] != NULL);
        if (rc)
            return rc;
        path_pop(c, saved);
    }
    return 0;
}

static const key_spec_t workflow_keys[] = {
    {"name", h_str, &wf_name_off},
    {"steps", h_steps, &wf_steps},
    {"within", h_within, NULL},
    {"core", h_bool, &wf_core_off},
};

static void workflow_init(void *obj)
{
    ((up_workflow_t *)obj)->within_ms = 86400000;   /* 1d */
}

static int h_workflows(ctx_t *c, yaml_node_t *v, void *obj, const void *arg)
{
    (void)arg;
    up_model_t *m = obj;
    int rc = parse_list(c, v, (void **)&m->workflows, &m->n_workflows, sizeof *m->workflows, workflow_keys,
                        NKEYS(workflow_keys), workflow_init, "steps", "a list of workflows");
    return rc;
}

/* Top-level keys; an unknown key is an error. */
static const key_spec_t top_keys[] = {
    {"version", h_version, NULL},
    {"features", h_features, NULL},
    {"passive_events", h_events, &passive_list},
    {"key_actions", h_events, &key_action_list},
    {"error_events", h_events, &error_event_list},
    {"settings", h_settings, NULL},
    {"ingest", h_ingest, NULL},
    {"rules", h_rules, NULL},
    {"alert_settings", h_alert_settings, NULL},
    {"playbooks", h_playbooks, NULL},
    {"nudges", h_nudges, NULL},
    {"targets", h_targets, NULL},
    {"workflows", h_workflows, NULL},
};

/* ---- public ---- */

int up_model_trait_default(int field, char *camel, size_t len)
{
    const char *f = up_trait_fields[field];
    if (!strchr(f, '_') || strlen(f) >= len)
        return 0;
    size_t k = 0;
    for (size_t i = 0; f[i]; i++)
        camel[k++] = f[i] == '_' && f[i + 1] ? (char)(f[++i] - 'a' + 'A') : f[i];
    camel[k] = '\0';
    return 1;
}

void up_alert_settings_default(up_alert_settings_t *a)
{
#define ASET_DEFAULT_(name, type, min, max, range, def) a->name = def;
    UP_ALERT_SETTINGS(ASET_DEFAULT_)
#undef ASET_DEFAULT_
}

void up_settings_default(up_settings_t *s)
{
    s->level_breadth_min = 0.40;
    s->level_depth_min = 0.30;
    s->stage_regular_blocks = 3;
    s->stage_mastery_top = 0.10;
    s->nps_promoter_min = 9;
    s->nps_detractor_max = 6;
    s->nps_window_days = 90;
    s->activation_days = 14;
    s->intensity_target = 20;
#define WEIGHT_DEFAULT_(ID, name, metric, weight) s->weights.name = up_health_default_weight[UP_H_##ID];
    UP_HEALTH(WEIGHT_DEFAULT_)
#undef WEIGHT_DEFAULT_
}

/* Counts the lines before byte offset off, for reader errors that have no mark. */
static unsigned long line_at(const char *text, size_t len, size_t off)
{
    unsigned long line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        line += text[i] == '\n';
    return line;
}

static int syntax_error(ctx_t *c, const yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR)
        return nomem(c);
    if (p->error == YAML_READER_ERROR)
        return fail_at(c, line_at(text, len, p->problem_offset), "invalid input: %s",
                       p->problem ? p->problem : "unreadable text");
    unsigned long line = (unsigned long)p->problem_mark.line + 1;
    if (p->context)
        return fail_at(c, line, "YAML syntax error: %s (%s at line %lu)", p->problem, p->context,
                       (unsigned long)p->context_mark.line + 1);
    return fail_at(c, line, "YAML syntax error: %s", p->problem ? p->problem : "unknown problem");
}

/* Sets *root to the root of doc, the one document of parser's input: fails
 * when it is empty, when a second document (or a syntax error) follows, or
 * when it is not a map. */
static int only_document(ctx_t *c, yaml_parser_t *parser, yaml_document_t *doc, const char *text, size_t len,
                         yaml_node_t **root)
{
    *root = yaml_document_get_root_node(doc);
    if (!*root || is_null(*root))
        return fail_at(c, (unsigned long)doc->start_mark.line + 1, "the model is empty (expected a map of keys)");
    /* A second document is an error, and so is a syntax error anywhere after the first. */
    yaml_document_t next;
    if (!yaml_parser_load(parser, &next))
        return syntax_error(c, parser, text, len);
    int rc = 0;
    if (yaml_document_get_root_node(&next))
        rc = fail_at(c, (unsigned long)next.start_mark.line + 1, "expected one YAML document, found a second");
    yaml_document_delete(&next);
    if (rc)
        return rc;
    if ((*root)->type != YAML_MAPPING_NODE)
        return expected(c, *root, "a map of keys at the top level");
    return 0;
}

/* Resets the error path to key (and index i when is_index). */
static void path_reset(ctx_t *c, const char *key, size_t i, bool is_index)
{
    c->path_len = 0;
    c->path[0] = '\0';
    path_push(c, key, 0, false);
    if (is_index)
        path_push(c, NULL, i, true);
}

/* ref, item i of the list under key, is fine unless it is "workflow:NAME" and
 * the model has no workflow NAME; what prefixes the quoted ref in the error. */
static int check_workflow_ref(ctx_t *c, yaml_node_t *root, const up_model_t *m, const char *key, size_t i,
                              const char *ref, const char *what)
{
    if (strncmp(ref, "workflow:", 9))
        return 0;
    for (size_t w = 0; w < m->n_workflows; w++)
        if (!strcmp(m->workflows[w].name, ref + 9))
            return 0;
    path_reset(c, key, i, true);
    yaml_node_t *kn = find_key(c, root, key);
    return fail_at(c, kn ? line_of(kn) : 1, "%s'%s' names no workflow of the model", what, ref);
}

/* The names one part of the model gives to another, checked once all is read:
 * key actions and target metrics "workflow:NAME" name a workflow; the
 * expansion sequence names features, wherever in the file they are. */
static int check_references(ctx_t *c, yaml_node_t *root, const up_model_t *m)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->n_key_actions; i++)
        rc = check_workflow_ref(c, root, m, "key_actions", i, m->key_actions[i], "");
    for (size_t i = 0; rc == 0 && i < m->n_targets; i++)
        rc = check_workflow_ref(c, root, m, "targets", i, m->targets[i].metric, "metric ");
    for (size_t i = 0; rc == 0 && i < m->nudges.n_expansion; i++) {
        size_t f = 0;
        while (f < m->n_features && strcmp(m->features[f].name, m->nudges.expansion[i]))
            f++;
        if (f == m->n_features) {
            path_reset(c, "nudges", 0, false);
            path_push(c, "expansion", 0, false);
            rc = fail_at(c, m->nudges.expansion_line, "'%s' is not a feature of the model", m->nudges.expansion[i]);
        }
    }
    return rc;
}

/* Returns 0 with *out set, or -UP_EMODEL / -UP_ENOMEM with err set; *out is
 * untouched on failure. text need not be NUL-terminated and is not kept. */
int up_model_parse(const char *text, size_t len, const char *name,
                   up_model_t **out, char *err, size_t errlen)
{
    ctx_t c = {.file = name ? name : "<string>", .err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return nomem(&c);
    unsigned long deep = up_model_yaml_too_deep(text, len);
    if (deep) {
        yaml_parser_delete(&parser);
        return fail_at(&c, deep, "lists and maps nested more than %d deep", UP_MODEL_MAX_DEPTH);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = syntax_error(&c, &parser, text, len);
        yaml_parser_delete(&parser);
        return rc;
    }
    c.doc = &doc;
    up_model_t *m = NULL;
    yaml_node_t *root;
    int rc = only_document(&c, &parser, &doc, text, len, &root);
    if (!rc && !(m = calloc(1, sizeof *m)))
        rc = nomem(&c);
    if (!rc) {
        up_settings_default(&m->settings);
        up_alert_settings_default(&m->alert_settings);
        m->nudges.trial_days = 14;
        rc = walk_map(&c, root, top_keys, NKEYS(top_keys), m);
    }
    if (!rc)
        rc = check_references(&c, root, m);
    seen_free(&c.feature_names);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc) {
        up_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* As up_model_parse, naming path in messages. A file that cannot be read
 * returns -UP_EIO with "PATH: cannot read: REASON" in err. */
int up_model_load(const char *path, up_model_t **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -UP_EIO;
    }
    up_buf_t text = {0};
    char chunk[8192];
    size_t got;
    int rc = 0;
    while (!rc && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = up_buf_append(&text, chunk, got);
    if (!rc && ferror(f)) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        rc = -UP_EIO;
    } else if (rc && err && errlen) {
        snprintf(err, errlen, "%s: out of memory", path);
    }
    fclose(f);
    if (!rc)
        rc = up_model_parse(text.data ? text.data : "", text.len, path, out, err, errlen);
    up_buf_free(&text);
    return rc;
}

/* ---- dump ---- */

typedef struct {
    up_buf_t buf;
    int rc;
} dump_t;

static void put(dump_t *d, const char *s)
{
    if (!d->rc)
        d->rc = up_buf_puts(&d->buf, s);
}

static void put_string(dump_t *d, const char *s)
{
    if (!d->rc)
        d->rc = up_model_yaml_string(&d->buf, s);
}

static void put_list(dump_t *d, const char *indent, const char *key, char *const *items, size_t n)
{
    put(d, indent);
    put(d, key);
    put(d, n ? ":\n" : ": []\n");
    for (size_t i = 0; i < n; i++) {
        put(d, indent);
        put(d, "  - ");
        put_string(d, items[i]);
        put(d, "\n");
    }
}

static void put_numbers(dump_t *d, const char *indent, const key_spec_t *keys, size_t nkeys,
                        const void *obj)
{
    for (size_t i = 0; i < nkeys; i++) {
        const num_spec_t *spec = keys[i].arg;
        if (keys[i].fn != h_number)
            continue;
        char num[40];
        if (spec->is_int)
            snprintf(num, sizeof num, "%d", *(const int *)((const char *)obj + spec->off));
        else
            up_fmt_double(num, sizeof num, *(const double *)((const char *)obj + spec->off));
        put(d, indent);
        put(d, keys[i].key);
        put(d, ": ");
        put(d, num);
        put(d, "\n");
    }
}

/* "PREFIXn" with n an int. */
static void put_int(dump_t *d, const char *prefix, int n)
{
    char num[16];
    snprintf(num, sizeof num, "%d", n);
    put(d, prefix);
    put(d, num);
}

/* "PREFIXs\n" with s as put_string writes it, or nothing when s is NULL. */
static void put_opt_line(dump_t *d, const char *prefix, const char *s)
{
    if (!s)
        return;
    put(d, prefix);
    put_string(d, s);
    put(d, "\n");
}

static void dump_features(dump_t *d, const up_model_t *m)
{
    put(d, "version: 1\nfeatures:");
    put(d, m->n_features ? "\n" : " []\n");
    for (size_t i = 0; i < m->n_features; i++) {
        const up_feature_t *f = &m->features[i];
        put(d, "  - name: ");
        put_string(d, f->name);
        put(d, f->core ? "\n    core: true\n" : "\n    core: false\n");
        put_list(d, "    ", "events", f->events, f->n_events);
        put_list(d, "    ", "advanced_events", f->advanced_events, f->n_advanced);
        put_list(d, "    ", "exposure_events", f->exposure_events, f->n_exposure);
    }
    put_list(d, "", "passive_events", m->passive_events, m->n_passive);
    put_list(d, "", "key_actions", m->key_actions, m->n_key_actions);
    put_list(d, "", "error_events", m->error_events, m->n_error_events);
}

static void dump_settings(dump_t *d, const up_model_t *m)
{
    put(d, "settings:\n");
    put_numbers(d, "  ", setting_keys, NKEYS(setting_keys), &m->settings);
    put(d, "  health_weights:\n");
    put_numbers(d, "    ", weight_keys, NKEYS(weight_keys), &m->settings.weights);
    put(d, "alert_settings:\n");
    put_numbers(d, "  ", aset_keys, NKEYS(aset_keys), &m->alert_settings);
}

static void dump_rules(dump_t *d, const up_model_t *m)
{
    if (!m->n_rules)
        return;
    put(d, "rules:\n");
    for (size_t i = 0; i < m->n_rules; i++) {
        const up_rule_t *r = &m->rules[i];
        put(d, "  - name: ");
        put_string(d, r->name);
        if (r->when) {
            put(d, "\n    when: ");
            put_string(d, r->when);
        }
        if (r->severity >= 0) {
            put(d, "\n    severity: ");
            put(d, up_severity_names[r->severity]);
        }
        if (r->owner) {
            put(d, "\n    owner: ");
            put_string(d, r->owner);
        }
        put_int(d, "\n    cooldown_days: ", r->cooldown_days);
        put(d, r->enabled ? "\n    enabled: true\n" : "\n    enabled: false\n");
    }
}

static void dump_playbooks(dump_t *d, const up_model_t *m)
{
    if (!m->n_playbooks)
        return;
    put(d, "playbooks:\n");
    for (size_t i = 0; i < m->n_playbooks; i++) {
        const up_playbook_t *p = &m->playbooks[i];
        put(d, "  - name: ");
        put_string(d, p->name);
        put(d, p->on_open && p->on_resolve ? "\n    on: [open, resolve]\n" : p->on_open ? "\n    on: open\n"
                                                                                : "\n    on: resolve\n");
        put_list(d, "    ", "rules", p->rules, p->n_rules);
        put_opt_line(d, "    webhook: ", p->webhook_url);
        put_opt_line(d, "    secret: ", p->webhook_secret);
        put(d, p->slack ? "    slack: true\n" : "    slack: false\n");
        put_int(d, "    timeout: ", p->timeout_s);
        put_int(d, "\n    attempts: ", p->retries);
        put(d, "\n");
        if (p->task_title) {
            put(d, "    task: ");
            put_string(d, p->task_title);
            put_int(d, "\n    task_due_days: ", p->task_due_days);
            put(d, "\n");
        }
    }
}

static void dump_workflows(dump_t *d, const up_model_t *m)
{
    if (!m->n_workflows)
        return;
    put(d, "workflows:\n");
    for (size_t i = 0; i < m->n_workflows; i++) {
        const up_workflow_t *w = &m->workflows[i];
        char num[40];
        put(d, "  - name: ");
        put_string(d, w->name);
        put(d, "\n");
        put_list(d, "    ", "steps", w->steps, w->n_steps);
        snprintf(num, sizeof num, "%llds", (long long)(w->within_ms / 1000));
        put(d, "    within: ");
        put(d, num);
        put(d, w->core ? "\n    core: true\n" : "\n    core: false\n");
    }
}

static void dump_targets(dump_t *d, const up_model_t *m)
{
    if (!m->n_targets)
        return;
    put(d, "targets:\n");
    for (size_t i = 0; i < m->n_targets; i++) {
        const up_target_t *t = &m->targets[i];
        char num[40];
        put(d, "  - name: ");
        put_string(d, t->name);
        put(d, "\n    metric: ");
        put(d, t->metric);
        up_fmt_double(num, sizeof num, t->min);
        put(d, "\n    min: ");
        put(d, num);
        put_int(d, "\n    by_day: ", t->by_day);
        put(d, "\n");
        put_opt_line(d, "    segment: ", t->segment);
        put_opt_line(d, "    account: ", t->account);
    }
}

static void dump_nudges_ingest(dump_t *d, const up_model_t *m)
{
    put_int(d, "nudges:\n  trial_days: ", m->nudges.trial_days);
    put(d, "\n");
    put_list(d, "  ", "expansion", m->nudges.expansion, m->nudges.n_expansion);
    put(d, "ingest:\n  group_type: ");
    put_string(d, m->ingest.group_type ? m->ingest.group_type : "company");
    put(d, "\n  traits:\n");
    for (int t = 0; t < UP_TRAITS; t++) {
        const char *dflt[2] = {up_trait_fields[t], NULL};
        char camel[32];
        if (!m->ingest.traits[t].n && up_model_trait_default(t, camel, sizeof camel))
            dflt[1] = camel;
        put_list(d, "    ", up_trait_fields[t], m->ingest.traits[t].n ? m->ingest.traits[t].names : (char **)dflt,
                 m->ingest.traits[t].n ? m->ingest.traits[t].n : (dflt[1] ? 2 : 1));
    }
}

/* Returns 0 with *out a malloc'd string the caller frees, or -UP_ENOMEM. The
 * output parses back to an equal model; keys come in the order of the tables. */
int up_model_dump(const up_model_t *m, char **out)
{
    dump_t d = {{0}, 0};
    dump_features(&d, m);
    dump_settings(&d, m);
    dump_rules(&d, m);
    dump_playbooks(&d, m);
    dump_workflows(&d, m);
    dump_targets(&d, m);
    dump_nudges_ingest(&d, m);
    if (d.rc) {
        up_buf_free(&d.buf);
        return -UP_ENOMEM;
    }
    *out = d.buf.data;
    return 0;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

/* Frees m and everything it owns; m may be NULL or partly built. */
void up_model_free(up_model_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_features; i++) {
        up_feature_t *f = &m->features[i];
        free(f->name);
        free_list(f->events, f->n_events);
        free_list(f->advanced_events, f->n_advanced);
        free_list(f->exposure_events, f->n_exposure);
    }
    free(m->features);
    free_list(m->passive_events, m->n_passive);
    free_list(m->key_actions, m->n_key_actions);
    free_list(m->error_events, m->n_error_events);
    free(m->ingest.group_type);
    for (size_t i = 0; i < m->n_rules; i++) {
        free(m->rules[i].name);
        free(m->rules[i].when);
        free(m->rules[i].owner);
    }
    free(m->rules);
    for (size_t i = 0; i < m->n_playbooks; i++) {
        up_playbook_t *p = &m->playbooks[i];
        free(p->name);
        free_list(p->rules, p->n_rules);
        free(p->webhook_url);
        free(p->webhook_secret);
        free(p->task_title);
    }
    free(m->playbooks);
    free_list(m->nudges.expansion, m->nudges.n_expansion);
    for (size_t i = 0; i < m->n_targets; i++) {
        free(m->targets[i].name);
        free(m->targets[i].metric);
        free(m->targets[i].segment);
        free(m->targets[i].account);
    }
    free(m->targets);
    for (size_t i = 0; i < m->n_workflows; i++) {
        free(m->workflows[i].name);
        free_list(m->workflows[i].steps, m->workflows[i].n_steps);
    }
    free(m->workflows);
    for (int t = 0; t < UP_TRAITS; t++)
        free_list(m->ingest.traits[t].names, m->ingest.traits[t].n);
    free(m);
}
