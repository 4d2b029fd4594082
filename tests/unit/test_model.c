/* test_model: the adoption model loader (src/model.c) against hand-written
 * expectations: defaults, every key, the JSON spelling, every error with its exact
 * line and key path, and dump/parse round trips. Fixtures: tests/fixtures/model/,
 * paths relative to the repository root (where make runs the tests). */
#include "testutil.h"

#include <yaml.h>

#include "model.h"
#include "util.h"

#define FIX "tests/fixtures/model/"

static up_model_t *parse_ok(const char *text)
{
    up_model_t *m = NULL;
    char err[512];
    int rc = up_model_parse(text, strlen(text), "m.yaml", &m, err, sizeof err);
    if (rc)
        fail_msg("unexpected error %d: %s", rc, err);
    assert_non_null(m);
    return m;
}

static void assert_list(char *const *got, size_t n_got, const char *const *want, size_t n_want)
{
    assert_int_equal(n_got, n_want);
    for (size_t i = 0; i < n_want; i++)
        assert_string_equal(got[i], want[i]);
}
#define LIST(got, n, ...)                                                                      \
    do {                                                                                       \
        static const char *const want_[] = {__VA_ARGS__};                                      \
        assert_list(got, n, want_, sizeof want_ / sizeof *want_);                              \
    } while (0)

static void assert_settings_equal(const up_settings_t *a, const up_settings_t *b)
{
    /* Exact comparison on purpose: parsing and dumping must not move a bit. */
    assert_true(a->level_breadth_min == b->level_breadth_min);
    assert_true(a->level_depth_min == b->level_depth_min);
    assert_int_equal(a->stage_regular_blocks, b->stage_regular_blocks);
    assert_true(a->stage_mastery_top == b->stage_mastery_top);
    assert_int_equal(a->nps_promoter_min, b->nps_promoter_min);
    assert_int_equal(a->nps_detractor_max, b->nps_detractor_max);
    assert_int_equal(a->nps_window_days, b->nps_window_days);
    assert_int_equal(a->activation_days, b->activation_days);
    assert_memory_equal(&a->weights, &b->weights, sizeof a->weights);
}

static void assert_model_equal(const up_model_t *a, const up_model_t *b)
{
    assert_int_equal(a->n_features, b->n_features);
    for (size_t i = 0; i < a->n_features; i++) {
        const up_feature_t *fa = &a->features[i], *fb = &b->features[i];
        assert_string_equal(fa->name, fb->name);
        assert_int_equal(fa->core, fb->core);
        assert_list(fa->events, fa->n_events, (const char *const *)fb->events, fb->n_events);
        assert_list(fa->advanced_events, fa->n_advanced, (const char *const *)fb->advanced_events,
                    fb->n_advanced);
        assert_list(fa->exposure_events, fa->n_exposure, (const char *const *)fb->exposure_events,
                    fb->n_exposure);
    }
    assert_list(a->passive_events, a->n_passive, (const char *const *)b->passive_events, b->n_passive);
    assert_list(a->key_actions, a->n_key_actions, (const char *const *)b->key_actions,
                b->n_key_actions);
    assert_settings_equal(&a->settings, &b->settings);
}

static void test_settings_default(void **state)
{
    (void)state;
    up_settings_t s;
    up_settings_default(&s);
    assert_true(s.level_breadth_min == 0.40);
    assert_true(s.level_depth_min == 0.30);
    assert_int_equal(s.stage_regular_blocks, 3);
    assert_true(s.stage_mastery_top == 0.10);
    assert_int_equal(s.nps_promoter_min, 9);
    assert_int_equal(s.nps_detractor_max, 6);
    assert_int_equal(s.nps_window_days, 90);
    assert_int_equal(s.activation_days, 14);
    assert_true(s.weights.breadth == 0.30 && s.weights.depth == 0.25 &&
                s.weights.stickiness == 0.15 && s.weights.consistency == 0.10 &&
                s.weights.trend == 0.10 && s.weights.nps == 0.10);
}

/* A model with no settings, and one where every key is present but null, get
 * the defaults and empty lists. */
static void test_defaults_applied(void **state)
{
    (void)state;
    up_settings_t def;
    up_settings_default(&def);
    static const char *const texts[] = {
        "features:\n  - name: Reports\n",
        "{}\n",
        "version: 1\nfeatures:\npassive_events: ~\nkey_actions: null\nsettings:\n",
        "settings:\n  health_weights: {}\n",
    };
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        up_model_t *m = parse_ok(texts[t]);
        assert_settings_equal(&m->settings, &def);
        assert_int_equal(m->n_passive, 0);
        assert_null(m->passive_events);
        assert_int_equal(m->n_key_actions, 0);
        if (t == 0) {
            assert_int_equal(m->n_features, 1);
            assert_string_equal(m->features[0].name, "Reports");
            assert_false(m->features[0].core);
            assert_int_equal(m->features[0].n_events, 0);
            assert_int_equal(m->features[0].n_advanced, 0);
            assert_int_equal(m->features[0].n_exposure, 0);
        } else {
            assert_int_equal(m->n_features, 0);
        }
        up_model_free(m);
    }
}

/* full.yaml by hand: three features, Reports and Dashboards core ("yes", "ON"),
 * report_viewed in two features (allowed); health_weights sets breadth and nps,
 * the other four keep .25 .15 .10 .10. */
static void check_full(const up_model_t *m)
{
    assert_int_equal(m->n_features, 3);
    const up_feature_t *f = m->features;
    assert_string_equal(f[0].name, "Reports");
    assert_true(f[0].core);
    LIST(f[0].events, f[0].n_events, "report_viewed", "report_created");
    LIST(f[0].advanced_events, f[0].n_advanced, "report_scheduled");
    LIST(f[0].exposure_events, f[0].n_exposure, "reports_tour");
    assert_string_equal(f[1].name, "Sharing & export");
    assert_false(f[1].core);
    LIST(f[1].events, f[1].n_events, "share_link", "report_viewed");
    assert_int_equal(f[1].n_advanced, 0);
    assert_int_equal(f[1].n_exposure, 0);
    assert_string_equal(f[2].name, "Dashboards");
    assert_true(f[2].core);
    assert_int_equal(f[2].n_events, 0);
    LIST(m->passive_events, m->n_passive, "login", "page_view");
    LIST(m->key_actions, m->n_key_actions, "report_created");
    const up_settings_t *s = &m->settings;
    assert_true(s->level_breadth_min == 0.5);
    assert_true(s->level_depth_min == 0.25);
    assert_int_equal(s->stage_regular_blocks, 2);
    assert_true(s->stage_mastery_top == 0.2);
    assert_int_equal(s->nps_promoter_min, 8);
    assert_int_equal(s->nps_detractor_max, 5);
    assert_int_equal(s->nps_window_days, 30);
    assert_int_equal(s->activation_days, 7);
    assert_true(s->weights.breadth == 0.4);
    assert_true(s->weights.depth == 0.25);
    assert_true(s->weights.stickiness == 0.15);
    assert_true(s->weights.consistency == 0.10);
    assert_true(s->weights.trend == 0.10);
    assert_true(s->weights.nps == 0.0);
}

static void test_every_key_yaml(void **state)
{
    (void)state;
    up_model_t *m = NULL;
    char err[512];
    assert_int_equal(up_model_load(FIX "full.yaml", &m, err, sizeof err), 0);
    check_full(m);
    /* ingest: the group type and the traits listed; the rest stay default */
    assert_string_equal(m->ingest.group_type, "organization");
    LIST(m->ingest.traits[UP_TRAIT_ROLE].names, m->ingest.traits[UP_TRAIT_ROLE].n, "title", "role");
    LIST(m->ingest.traits[UP_TRAIT_SEATS].names, m->ingest.traits[UP_TRAIT_SEATS].n, "licensed_seats");
    assert_int_equal(m->ingest.traits[UP_TRAIT_NAME].n, 0);
    up_model_free(m);
}

static void test_every_key_json(void **state)
{
    (void)state;
    up_model_t *y = NULL, *j = NULL;
    char err[512];
    assert_int_equal(up_model_load(FIX "full.json", &j, err, sizeof err), 0);
    check_full(j);
    assert_int_equal(up_model_load(FIX "full.yaml", &y, err, sizeof err), 0);
    assert_model_equal(j, y);
    up_model_free(j);
    up_model_free(y);
}

static void test_json_error_line(void **state)
{
    (void)state;
    up_model_t *m = NULL;
    char err[512];
    assert_int_equal(up_model_load(FIX "bad_core.json", &m, err, sizeof err), -UP_EMODEL);
    assert_null(m);
    assert_string_equal(err, FIX "bad_core.json:4: features[0].core: "
                             "expected true or false, got quoted string 'true'");
}

static void test_bools(void **state)
{
    (void)state;
    static const struct { const char *word; bool value; } cases[] = {
        {"true", true}, {"True", true}, {"YES", true}, {"on", true}, {"On", true},
        {"false", false}, {"FALSE", false}, {"no", false}, {"No", false}, {"off", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[80];
        snprintf(text, sizeof text, "features:\n  - name: a\n    core: %s\n", cases[i].word);
        up_model_t *m = parse_ok(text);
        assert_int_equal(m->features[0].core, cases[i].value);
        up_model_free(m);
    }
}

/* strtod, whole text consumed: each spelling gives the double C gives the literal. */
static void test_numbers_exact(void **state)
{
    (void)state;
    static const struct { const char *text; double value; } cases[] = {
        {"0.1", 0.1}, {"1e-1", 0.1}, {"+.5", 0.5}, {"4E-1", 0.4}, {"1", 1.0},
        {"0.30000000000000004", 0.30000000000000004}, {"0.3", 0.3}, {"7", 7.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[120];
        snprintf(text, sizeof text, "settings:\n  level_breadth_min: %s\n", cases[i].text);
        up_model_t *m = parse_ok(text);
        assert_true(m->settings.level_breadth_min == cases[i].value);
        up_model_free(m);
    }
    up_model_t *m = parse_ok("settings:\n  stage_regular_blocks: +4\n  nps_detractor_max: 0\n"
                             "  nps_promoter_min: 1\n  stage_mastery_top: 1\n");
    assert_int_equal(m->settings.stage_regular_blocks, 4);
    assert_int_equal(m->settings.nps_detractor_max, 0);
    assert_int_equal(m->settings.nps_promoter_min, 1);
    assert_true(m->settings.stage_mastery_top == 1.0);
    up_model_free(m);
}

/* Documented choices: an event may sit in several features, and in
 * passive_events as well as a feature's events; a key action need not be mapped. */
static void test_overlaps_allowed(void **state)
{
    (void)state;
    up_model_t *m = parse_ok("features:\n"
                             "  - {name: a, events: [login, x]}\n"
                             "  - {name: b, events: [x], exposure_events: [tour]}\n"
                             "  - {name: c, events: [tour]}\n"
                             "passive_events: [login]\n"
                             "key_actions: [unmapped, login]\n");
    assert_int_equal(m->n_features, 3);
    LIST(m->features[1].events, m->features[1].n_events, "x");
    LIST(m->key_actions, m->n_key_actions, "unmapped", "login");
    up_model_free(m);
}

/* Each case: the text, and the whole message, line and key path worked out by hand. */
static const struct {
    const char *text, *want;
} error_cases[] = {
    {"features:\n  - name: a\n  - name: b\n  - name: c\n    core: yes please\n",
     "m.yaml:5: features[2].core: expected true or false, got 'yes please'"},
    {"features:\n  - name: a\n    core:\n",
     "m.yaml:3: features[0].core: expected true or false, got nothing"},
    {"version: 1\nwidgets: []\n",
     "m.yaml:2: widgets: unknown key (expected one of: version, features, passive_events, "
     "key_actions, error_events, settings, ingest, rules, alert_settings, playbooks, nudges, targets, workflows)"},
    {"workflows:\n  - name: w\n    steps: [a]\n",
     "m.yaml:3: workflows[0].steps: a workflow needs two steps or more, got 1"},
    {"workflows:\n  - name: w\n    steps: [a, b]\n    within: soon\n",
     "m.yaml:4: workflows[0].within: expected a duration like 90s, 30m, 2h, 1d or seconds (more than 0, at most"
     " 3650d), got 'soon'"},
    {"targets:\n  - name: t\n    metric: logins\n    min: 3\n",
     "m.yaml:3: targets[0].metric: 'logins' is not a target metric (seats, known_users, dau, wau, wau_prev, mau,"
     " active_users, breadth, depth, stickiness, wau_trend, ttfv_days, activation_rate, consistency, nps, health,"
     " seats_utilization, days_since_last_active, events_28d, intensity, workflow:NAME)"},
    {"targets:\n  - name: t\n    metric: breadth\n",
     "m.yaml:2: targets[0]: missing required key 'min'"},
    {"nudges:\n  expansion: [a, b]\nfeatures:\n  - name: a\n",
     "m.yaml:2: nudges.expansion: 'b' is not a feature of the model"},
    {"rules:\n  - name: r1\n    when: breadth < 0.4 and colour == 1\n",
     "m.yaml:3: rules[0].when: column 19: unknown name 'colour' (in 'breadth < 0.4 and colour == 1';"
     " names: see docs/alerts.md)"},
    {"rules:\n  - name: r1\n    when: breadth <\n",
     "m.yaml:3: rules[0].when: column 10: unexpected end of the condition (in 'breadth <'; names: see"
     " docs/alerts.md)"},
    {"rules:\n  - name: r1\n    when: breadth < 1\n    severity: urgent\n",
     "m.yaml:4: rules[0].severity: expected low, medium, high or critical, got 'urgent'"},
    {"rules:\n  - name: r1\n    when: dau > 1\n  - name: r1\n    when: dau > 2\n",
     "m.yaml:4: rules[1]: duplicate name 'r1' (first at line 2)"},
    {"rules:\n  - name: mine\n",
     "m.yaml:2: rules: rules[0] 'mine': missing 'when' (only a built-in rule may omit it)"},
    {"playbooks:\n  - name: p\n    webhook: ftp://x\n",
     "m.yaml:2: playbooks: playbooks[0] 'p': webhook must be an http:// or https:// URL"},
    {"alert_settings:\n  renewal_days: -1\n",
     "m.yaml:2: alert_settings.renewal_days: expected an integer from 0 to 3650, got '-1'"},
    {"ingest:\n  traits:\n    role: title\n",
     "m.yaml:3: ingest.traits.role: expected a list of event names, got 'title'"},
    {"ingest:\n  traits:\n    colour: [c]\n",
     "m.yaml:3: ingest.traits.colour: unknown key (expected one of: created_at, role, name, seats, plan, "
     "segment, owner, arr, contract_start, renewal_date)"},
    {"ingest:\n  group_type: \"\"\n",
     "m.yaml:2: ingest.group_type: must not be empty"},
    {"features:\n  - name: a\n    colour: red\n",
     "m.yaml:3: features[0].colour: unknown key (expected one of: name, core, events, "
     "advanced_events, exposure_events)"},
    {"settings:\n  health_weights:\n    nps: 0.1\n    churn: 0.2\n",
     "m.yaml:4: settings.health_weights.churn: unknown key (expected one of: breadth, depth, "
     "stickiness, consistency, trend, nps, intensity)"},
    {"settings:\n  level_min: 1\n",
     "m.yaml:2: settings.level_min: unknown key (expected one of: level_breadth_min, "
     "level_depth_min, stage_regular_blocks, stage_mastery_top, nps_promoter_min, "
     "nps_detractor_max, nps_window_days, activation_days, intensity_target, ttfv_history_gap_days, health_weights)"},
    {"passive_events:\n  login: true\n",
     "m.yaml:2: passive_events: expected a list of event names, got a map"},
    {"features: {name: a}\n", "m.yaml:1: features: expected a list of features, got a map"},
    {"features:\n  - reports\n", "m.yaml:2: features[0]: expected a map with a 'name', got 'reports'"},
    {"features:\n  - core: true\n", "m.yaml:2: features[0]: missing required key 'name'"},
    {"features:\n  - name: \"\"\n", "m.yaml:2: features[0].name: must not be empty"},
    {"features:\n  - name: '  '\n", "m.yaml:2: features[0].name: must not be empty"},
    {"features:\n  - name:\n", "m.yaml:2: features[0].name: expected a feature name, got nothing"},
    {"features:\n  - name: [a]\n", "m.yaml:2: features[0].name: expected a feature name, got a list"},
    {"features:\n  - name: a\n  - name: b\n  - name: a\n",
     "m.yaml:4: features[2].name: duplicate feature name 'a' (first at line 2)"},
    {"features:\n  - name: a\n    events: [x, y]\n    advanced_events:\n      - z\n      - x\n",
     "m.yaml:6: features[0].advanced_events[1]: event 'x' is listed twice in this feature "
     "(first at line 3)"},
    {"features:\n  - name: a\n    exposure_events: [t, t]\n",
     "m.yaml:3: features[0].exposure_events[1]: event 't' is listed twice in this feature "
     "(first at line 3)"},
    {"passive_events: [login, login]\n",
     "m.yaml:1: passive_events[1]: event 'login' is listed twice (first at line 1)"},
    {"key_actions:\n  - a\n  - {b: 1}\n", "m.yaml:3: key_actions[1]: expected an event name, got a map"},
    {"key_actions:\n  - \"\"\n", "m.yaml:2: key_actions[0]: must not be empty"},
    {"key_actions: [~]\n", "m.yaml:1: key_actions[0]: expected an event name, got null"},
    {"settings:\n  level_breadth_min: 0.4x\n",
     "m.yaml:2: settings.level_breadth_min: expected a number >= 0, got '0.4x'"},
    {"settings:\n  level_depth_min: 1.5\n",
     "m.yaml:2: settings.level_depth_min: expected a number from 0 to 1, got '1.5'"},
    {"settings:\n  level_depth_min: 0x1p-2\n",
     "m.yaml:2: settings.level_depth_min: expected a number from 0 to 1, got '0x1p-2'"},
    {"settings:\n  level_depth_min: .nan\n",
     "m.yaml:2: settings.level_depth_min: expected a number from 0 to 1, got '.nan'"},
    {"settings:\n  level_breadth_min: 1e999\n",
     "m.yaml:2: settings.level_breadth_min: expected a number >= 0, got '1e999'"},
    {"settings:\n  level_breadth_min: 1e-999\n",
     "m.yaml:2: settings.level_breadth_min: expected a number >= 0, got '1e-999'"},
    {"settings:\n  stage_regular_blocks: 5\n",
     "m.yaml:2: settings.stage_regular_blocks: expected an integer from 1 to 4, got '5'"},
    {"settings:\n  stage_regular_blocks: 3.0\n",
     "m.yaml:2: settings.stage_regular_blocks: expected an integer from 1 to 4, got '3.0'"},
    {"settings:\n  stage_mastery_top: 0\n",
     "m.yaml:2: settings.stage_mastery_top: expected a number > 0 and <= 1, got '0'"},
    {"settings:\n  nps_promoter_min: 11\n",
     "m.yaml:2: settings.nps_promoter_min: expected an integer from 0 to 10, got '11'"},
    {"settings:\n  nps_window_days: 0\n",
     "m.yaml:2: settings.nps_window_days: expected an integer from 1 to 36500, got '0'"},
    {"settings:\n  activation_days: 99999999999999999999\n",
     "m.yaml:2: settings.activation_days: expected an integer from 1 to 36500, "
     "got '99999999999999999999'"},
    {"settings:\n  nps_window_days: \"90\"\n",
     "m.yaml:2: settings.nps_window_days: expected an integer from 1 to 36500, got quoted string '90'"},
    {"settings:\n  nps_promoter_min: 7\n  nps_detractor_max: 7\n",
     "m.yaml:3: settings.nps_detractor_max: must be less than nps_promoter_min (7), got 7"},
    {"settings:\n  nps_promoter_min: 6\n",
     "m.yaml:2: settings.nps_promoter_min: must be greater than nps_detractor_max (6), got 6"},
    {"settings:\n  health_weights:\n    trend: -0.1\n",
     "m.yaml:3: settings.health_weights.trend: expected a number >= 0, got '-0.1'"},
    {"settings:\n  health_weights: {breadth: 0, depth: 0, stickiness: 0,\n"
     "    consistency: 0, trend: 0, nps: 0}\n",
     "m.yaml:2: settings.health_weights: weights must not all be zero"},
    {"settings:\n  health_weights: [0.3]\n",
     "m.yaml:2: settings.health_weights: expected a map of weights, got a list"},
    {"settings: [1]\n", "m.yaml:1: settings: expected a map of settings, got a list"},
    {"settings:\n  activation_days: 7\n  activation_days: 8\n",
     "m.yaml:3: settings.activation_days: duplicate key (first at line 2)"},
    {"version: 2\n", "m.yaml:1: version: unsupported version 2 (this uptake reads version 1)"},
    {"version: one\n", "m.yaml:1: version: expected an integer, got 'one'"},
    {"", "m.yaml:1: the model is empty (expected a map of keys)"},
    {"# nothing here\n\n", "m.yaml:1: the model is empty (expected a map of keys)"},
    {"---\n", "m.yaml:1: the model is empty (expected a map of keys)"},
    {"\n\n--- ~\n", "m.yaml:3: the model is empty (expected a map of keys)"},
    {"features:\n  - name: a\n    bad: caf\xc3\n", "m.yaml:3: invalid input: invalid trailing UTF-8 octet"},
    {"- a\n- b\n", "m.yaml:1: expected a map of keys at the top level, got a list"},
    {"features: []\n---\nfeatures: []\n", "m.yaml:2: expected one YAML document, found a second"},
    {"features:\n  - name: a\n    events: [x, y\n",
     "m.yaml:4: YAML syntax error: did not find expected ',' or ']' "
     "(while parsing a flow sequence at line 3)"},
    {"features:\n  - name: a\n   core: true\n",
     "m.yaml:3: YAML syntax error: did not find expected '-' indicator "
     "(while parsing a block collection at line 2)"},
    {"features:\n  - name: caf\xe9\n", "m.yaml:2: invalid input: incomplete UTF-8 octet sequence"},
    {"{\"features\": [{\"name\": \"a\"},\n  {\"name\": \"a\"}]}\n",
     "m.yaml:2: features[1].name: duplicate feature name 'a' (first at line 1)"},
};

static void test_errors(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof error_cases / sizeof *error_cases; i++) {
        up_model_t *m = NULL;
        char err[512];
        int rc = up_model_parse(error_cases[i].text, strlen(error_cases[i].text), "m.yaml", &m, err,
                                sizeof err);
        if (rc != -UP_EMODEL || strcmp(err, error_cases[i].want)) {
            print_error("case %zu: rc %d\n  got  %s\n  want %s\n", i, rc, err, error_cases[i].want);
            failures++;
        }
        assert_null(m);
    }
    assert_int_equal(failures, 0);
}

/* The error buffer is optional, and a short one truncates without overflowing. */
static void test_error_buffers(void **state)
{
    (void)state;
    up_model_t *m = NULL;
    const char *text = "settings: [1]\n";
    assert_int_equal(up_model_parse(text, strlen(text), NULL, &m, NULL, 0), -UP_EMODEL);
    char small[12];
    assert_int_equal(up_model_parse(text, strlen(text), NULL, &m, small, sizeof small), -UP_EMODEL);
    assert_string_equal(small, "<string>:1:");
    assert_null(m);
    /* Only len bytes are read: the tail after it is not part of the model. */
    text = "features: []\nbogus: 1\n";
    assert_int_equal(up_model_parse(text, 13, NULL, &m, NULL, 0), 0);
    up_model_free(m);
    up_model_free(NULL);
}

static void test_load_missing_file(void **state)
{
    (void)state;
    up_model_t *m = NULL;
    char err[512];
    assert_int_equal(up_model_load(FIX "no-such-file.yaml", &m, err, sizeof err), -UP_EIO);
    assert_string_equal(err, FIX "no-such-file.yaml: cannot read: No such file or directory");
    assert_null(m);
}

/* The canonical text of a small model, written out by hand: every key, the
 * settings defaults included, keys in table order, empty lists as []. */
static void test_dump_exact(void **state)
{
    (void)state;
    up_model_t *m = parse_ok("features:\n  - {name: Reports, core: on, events: [report_viewed]}\n"
                             "passive_events: [login]\n");
    char *text = NULL;
    assert_int_equal(up_model_dump(m, &text), 0);
    assert_string_equal(text,
                        "version: 1\n"
                        "features:\n"
                        "  - name: Reports\n"
                        "    core: true\n"
                        "    events:\n"
                        "      - report_viewed\n"
                        "    advanced_events: []\n"
                        "    exposure_events: []\n"
                        "passive_events:\n"
                        "  - login\n"
                        "key_actions: []\n"
                        "error_events: []\n"
                        "settings:\n"
                        "  level_breadth_min: 0.4\n"
                        "  level_depth_min: 0.3\n"
                        "  stage_regular_blocks: 3\n"
                        "  stage_mastery_top: 0.1\n"
                        "  nps_promoter_min: 9\n"
                        "  nps_detractor_max: 6\n"
                        "  nps_window_days: 90\n"
                        "  activation_days: 14\n"
                        "  intensity_target: 20.0\n"
                        "  ttfv_history_gap_days: 0\n"
                        "  health_weights:\n"
                        "    breadth: 0.3\n"
                        "    depth: 0.25\n"
                        "    stickiness: 0.15\n"
                        "    consistency: 0.1\n"
                        "    trend: 0.1\n"
                        "    nps: 0.1\n"
                        "    intensity: 0.0\n"
                        "alert_settings:\n"
                        "  usage_drop_wau_trend: -0.3\n"
                        "  low_access_breadth: 0.4\n"
                        "  low_access_days: 60\n"
                        "  avoidance_breadth: 0.6\n"
                        "  champion_quiet_share: 0.5\n"
                        "  seats_removed_share: 0.1\n"
                        "  milestone_overdue_days: 7\n"
                        "  milestone_idle_days: 14\n"
                        "  no_first_value_days: 30\n"
                        "  health_drop_points: 15.0\n"
                        "  health_drop_days: 14\n"
                        "  renewal_days: 90\n"
                        "  renewal_risk_probability: 0.2\n"
                        "  data_stale_hours: 48\n"
                        "nudges:\n"
                        "  trial_days: 14\n"
                        "  expansion: []\n"
                        "ingest:\n"
                        "  group_type: company\n"
                        "  traits:\n"
                        "    created_at:\n      - created_at\n      - createdAt\n"
                        "    role:\n      - role\n"
                        "    name:\n      - name\n"
                        "    seats:\n      - seats\n"
                        "    plan:\n      - plan\n"
                        "    segment:\n      - segment\n"
                        "    owner:\n      - owner\n"
                        "    arr:\n      - arr\n"
                        "    contract_start:\n      - contract_start\n      - contractStart\n"
                        "    renewal_date:\n      - renewal_date\n      - renewalDate\n");
    free(text);
    up_model_free(m);
    m = parse_ok("{}");
    assert_int_equal(up_model_dump(m, &text), 0);
    assert_non_null(strstr(text, "version: 1\nfeatures: []\npassive_events: []\nkey_actions: []\n"));
    free(text);
    up_model_free(m);
}

/* parse(dump(m)) == m, and dump is a fixed point: dump(parse(dump(m))) == dump(m). */
static void round_trip(const char *path)
{
    up_model_t *m = NULL, *again = NULL;
    char err[512], *first = NULL, *second = NULL;
    if (up_model_load(path, &m, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(up_model_dump(m, &first), 0);
    if (up_model_parse(first, strlen(first), "dump", &again, err, sizeof err))
        fail_msg("%s\n%s", err, first);
    assert_model_equal(m, again);
    assert_int_equal(up_model_dump(again, &second), 0);
    assert_string_equal(first, second);
    free(first);
    free(second);
    up_model_free(m);
    up_model_free(again);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

/* full.canonical.yaml is the dump of full.yaml, checked line by line against
 * full.yaml by hand (and quoted in docs/model.md): defaults filled in for
 * core, the empty lists and the four unset weights. */
static void test_round_trip(void **state)
{
    (void)state;
    round_trip(FIX "full.yaml");
    round_trip(FIX "full.json");
    round_trip(FIX "full.canonical.yaml");
    up_model_t *m = NULL;
    char err[512], *text = NULL;
    assert_int_equal(up_model_load(FIX "full.json", &m, err, sizeof err), 0);
    assert_int_equal(up_model_dump(m, &text), 0);
    assert_string_equal(text, slurp(FIX "full.canonical.yaml"));
    free(text);
    up_model_free(m);
}

/* Names a YAML reader could take for a bool, null, number or syntax come out
 * double-quoted; plain-safe ones stay plain. */
static void test_round_trip_quoting(void **state)
{
    (void)state;
    round_trip(FIX "weird.yaml");
    up_model_t *m = NULL;
    char err[512], *text = NULL;
    assert_int_equal(up_model_load(FIX "weird.yaml", &m, err, sizeof err), 0);
    assert_string_equal(m->features[0].name, "quote \" backslash \\ tab \t");
    LIST(m->features[0].events, m->features[0].n_events, "yes", "Off", "null", "~", "123", "-x",
         "a: b", "#tag", "[x]", "\xc3\x89xport", " lead", "trail ", "ok_plain.v1/x");
    assert_int_equal(up_model_dump(m, &text), 0);
    assert_non_null(strstr(text, "  - name: \"quote \\\" backslash \\\\ tab \\x09\"\n"));
    assert_non_null(strstr(text, "      - \"yes\"\n      - \"Off\"\n      - \"null\"\n"
                                 "      - \"~\"\n      - \"123\"\n      - \"-x\"\n"
                                 "      - \"a: b\"\n      - \"#tag\"\n      - \"[x]\"\n"
                                 "      - \"\xc3\x89xport\"\n      - \" lead\"\n"
                                 "      - \"trail \"\n      - ok_plain.v1/x\n"));
    free(text);
    up_model_free(m);
}

/* U+2028 written raw inside double quotes reads back as a space (YAML
 * folds line breaks): the dump writes it \L, and the model reads back equal. */
static void test_round_trip_line_separator(void **state)
{
    (void)state;
    const char *path = "tests/fixtures/hardening/model_roundtrip_u2028.yaml";
    round_trip(path);
    up_model_t *m = NULL;
    char err[512], *text = NULL;
    assert_int_equal(up_model_load(path, &m, err, sizeof err), 0);
    assert_string_equal(m->features[0].name, "quote \" backslash \xe2\x80\xa8 tab \t");
    assert_int_equal(up_model_dump(m, &text), 0);
    assert_non_null(strstr(text, "  - name: \"quote \\\" backslash \\L tab \\x09\"\n"));
    free(text);
    up_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_default),
        cmocka_unit_test(test_defaults_applied),
        cmocka_unit_test(test_every_key_yaml),
        cmocka_unit_test(test_every_key_json),
        cmocka_unit_test(test_json_error_line),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_numbers_exact),
        cmocka_unit_test(test_overlaps_allowed),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_buffers),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_dump_exact),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_quoting),
        cmocka_unit_test(test_round_trip_line_separator),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
