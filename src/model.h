/* model: the adoption model (one YAML or JSON file) that maps events to features
 * and holds every threshold and weight of spec/metrics.md. Invariant: a loaded
 * model is fully validated; every name is unique within its list; every numeric
 * setting is in range. Loading never keeps a reference to the input text. */
#ifndef UP_MODEL_H
#define UP_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "metric.h"
#include "model_builtin.h"

typedef struct {
    char *name;
    bool core;
    char **events;           /* events that mean "used" */
    size_t n_events;
    char **advanced_events;  /* also "used"; mark mastery */
    size_t n_advanced;
    char **exposure_events;  /* the user saw the feature; passive */
    size_t n_exposure;
} up_feature_t;

/* Health component weights: one per component of the catalog (metric.h
 * UP_HEALTH), named as the component; defaults up_health_default_weight. */
typedef struct {
#define UP_WEIGHT_FIELD_(ID, name, metric, weight) double name;
    UP_HEALTH(UP_WEIGHT_FIELD_)
#undef UP_WEIGHT_FIELD_
} up_health_weights_t;

typedef struct {
    /* levels (metrics.md "Account adoption level") */
    double level_breadth_min;      /* default 0.40 */
    double level_depth_min;        /* default 0.30 */
    /* stages */
    int stage_regular_blocks;      /* default 3 (of 4 seven-day blocks) */
    double stage_mastery_top;      /* default 0.10 (top decile) */
    /* nps */
    int nps_promoter_min;          /* default 9 */
    int nps_detractor_max;         /* default 6 */
    int nps_window_days;           /* default 90 */
    /* activation */
    int activation_days;           /* default 14 */
    int ttfv_history_gap_days;     /* default 0 (off): ttfv_days is null when the account's first
                                    * event comes more than this many days after contract_start */
    /* health */
    double intensity_target;       /* default 20: the intensity that scores 100 */
    up_health_weights_t weights;   /* defaults .30 .25 .15 .10 .10 .10 0 */
} up_settings_t;

/* What identify and group traits update (model key `ingest.traits`). */
enum { UP_TRAIT_CREATED_AT, UP_TRAIT_ROLE, UP_TRAIT_NAME, UP_TRAIT_SEATS, UP_TRAIT_PLAN, UP_TRAIT_SEGMENT,
       UP_TRAIT_OWNER, UP_TRAIT_ARR, UP_TRAIT_CONTRACT_START, UP_TRAIT_RENEWAL_DATE, UP_TRAITS };
extern const char *const up_trait_fields[UP_TRAITS];   /* "created_at", "role", … */

typedef struct {
    char *group_type;        /* PostHog/Mixpanel group type naming the account; NULL: "company" */
    struct {
        char **names;        /* trait names to read, first found wins; none: the field's own
                              * name and its camelCase form */
        size_t n;
    } traits[UP_TRAITS];
} up_ingest_cfg_t;

/* Alert rules (model key `rules`), their thresholds (`alert_settings`) and
 * playbooks (`playbooks`): see docs/alerts.md. */

typedef struct {
    char *name;
    char *when;              /* the condition (src/rules.h), validated at load */
    char *owner;             /* who gets it; NULL: the account's owner */
    int severity;            /* UP_SEV_*, or -1 when unset (a built-in's own, else medium) */
    int cooldown_days;       /* after a resolve, the rule stays quiet this long (default 7) */
    bool enabled;            /* default true */
    unsigned long line;
} up_rule_t;

/* The alert thresholds (model key `alert_settings`), one row each:
 * X(name, C type, min, max, range text, default). The struct's fields, the
 * model's parser, its defaults, `model show` and the API's
 * /api/v1/settings all come from these rows. */
#define UP_ALERT_SETTINGS(X)                                                            \
    X(usage_drop_wau_trend, double, -1, 0, "from -1 to 0", -0.30)                       \
    X(low_access_breadth, double, 0, HUGE_VAL, ">= 0", 0.40)                            \
    X(low_access_days, int, 0, 3650, "from 0 to 3650", 60)                              \
    X(avoidance_breadth, double, 0, HUGE_VAL, ">= 0", 0.60)                             \
    X(champion_quiet_share, double, 0, 1, "from 0 to 1", 0.5)                           \
    X(seats_removed_share, double, 0, 1, "from 0 to 1", 0.10)                           \
    X(milestone_overdue_days, int, 0, 3650, "from 0 to 3650", 7)                        \
    X(milestone_idle_days, int, 1, 3650, "from 1 to 3650", 14)                          \
    X(no_first_value_days, int, 0, 3650, "from 0 to 3650", 30)                          \
    X(health_drop_points, double, 0, 100, "from 0 to 100", 15)                          \
    X(health_drop_days, int, 1, 365, "from 1 to 365", 14)                               \
    X(renewal_days, int, 0, 3650, "from 0 to 3650", 90)                                 \
    X(renewal_risk_probability, double, 0, 1, "from 0 to 1", 0.2)                       \
    X(data_stale_hours, int, 0, 87600, "from 0 to 87600", 48)

typedef struct {
#define UP_ASET_FIELD_(name, type, min, max, range, def) type name;
    UP_ALERT_SETTINGS(UP_ASET_FIELD_)
#undef UP_ASET_FIELD_
} up_alert_settings_t;

/* The rows of UP_ALERT_SETTINGS as data, for writers (the API). */
typedef struct {
    const char *name;
    size_t offset;     /* in up_alert_settings_t */
    int is_int;        /* int, else double */
} up_alert_setting_info_t;
enum {
#define UP_ASET_ENUM_(name, type, min, max, range, def) UP_ASET_##name,
    UP_ALERT_SETTINGS(UP_ASET_ENUM_)
#undef UP_ASET_ENUM_
    UP_ASET_N
};
extern const up_alert_setting_info_t up_alert_setting_info[UP_ASET_N];
/* An alert setting's value as a double. */
double up_model_alert_setting(const up_alert_settings_t *a, int i);
/* Writes built-in i's condition with the thresholds of a into out. */
void up_model_builtin_when(int i, const up_alert_settings_t *a, char *out, size_t len);


typedef struct {
    char *name;
    bool on_open, on_resolve;           /* default: open only */
    char **rules;                       /* the rules it answers; none: every rule */
    size_t n_rules;
    char *webhook_url, *webhook_secret;
    bool slack;                         /* send a Slack-compatible {"text": …} payload */
    int timeout_s, retries;             /* default 10 s, 5 attempts */
    char *task_title;                   /* a task for the owner; NULL: none */
    int task_due_days;                  /* default 3 */
} up_playbook_t;

/* A workflow (model key `workflows`): its steps, in order, by one user
 * within within_ms of the first (docs/metrics.md choice 21). */
typedef struct {
    char *name;
    char **steps;            /* event names, >= 2 */
    size_t n_steps;
    int64_t within_ms;
    bool core;
} up_workflow_t;

/* An adoption target (model key `targets`): metric >= min by day by_day of
 * the contract, for the accounts of a segment, one account, or all. */
typedef struct {
    char *name;
    char *metric;            /* a catalog metric used as UP_MU_TGT, or workflow:NAME */
    double min;
    int by_day;
    char *segment, *account; /* NULL: any */
} up_target_t;

/* In-app nudges (model key `nudges`, docs/alerts.md#nudges). */
typedef struct {
    int trial_days;          /* a core feature in trial this long gets a tip (default 14) */
    char **expansion;        /* features in the order customers should adopt them */
    size_t n_expansion;
    unsigned long expansion_line;
} up_nudge_cfg_t;

typedef struct {
    up_feature_t *features;
    size_t n_features;
    char **passive_events;
    size_t n_passive;
    char **key_actions;
    size_t n_key_actions;
    char **error_events;         /* errors users hit: counted in friction (docs/metrics.md) */
    size_t n_error_events;
    up_settings_t settings;
    up_ingest_cfg_t ingest;
    up_rule_t *rules;                   /* custom rules; a built-in of the same name is replaced */
    size_t n_rules;
    up_alert_settings_t alert_settings;
    up_playbook_t *playbooks;
    size_t n_playbooks;
    up_nudge_cfg_t nudges;
    up_target_t *targets;
    size_t n_targets;
    up_workflow_t *workflows;
    size_t n_workflows;
} up_model_t;

/* The camelCase form of a trait field with an underscore ("createdAt")
 * into camel; returns 0 when the field has none. */
int up_model_trait_default(int field, char *camel, size_t len);

/* Fills a with the built-in rules' default thresholds. */
void up_alert_settings_default(up_alert_settings_t *a);

/* Fills s with the defaults of metrics.md. */
void up_settings_default(up_settings_t *s);

/* Parses a model from text (YAML 1.1, so JSON too). name is used in messages
 * (a file path or "<string>"). On success returns 0 and *out owns a new model
 * (free with up_model_free). On failure returns -UP_EMODEL and writes into err
 * a message naming the file, the line and the key, e.g.
 *   "model.yaml:12: features[2].core: expected true or false, got 'yes please'".
 * Unknown keys, wrong types, duplicate names, empty feature names, weights that
 * are negative or all zero, and thresholds out of range are all errors. */
int up_model_parse(const char *text, size_t len, const char *name,
                   up_model_t **out, char *err, size_t errlen);

/* Reads a file and parses it as above. */
int up_model_load(const char *path, up_model_t **out, char *err, size_t errlen);

/* Writes the model as canonical YAML (every key, defaults included) to a
 * malloc'd NUL-terminated string in *out. Returns 0 or -UP_ENOMEM. */
int up_model_dump(const up_model_t *m, char **out);

void up_model_free(up_model_t *m);

#endif
