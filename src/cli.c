/* cli: option parsing, verbs and their output. Options may come before or
 * after the verb; each option says which verbs accept it, so --help and
 * error messages come from the same table as the parser. */
#include "cli.h"
#include "export.h"
#include "check.h"
#include "demo.h"
#include "engine.h"
#include "writeops.h"
#include "admin.h"
#include "ingest.h"
#include "model.h"
#include "report.h"
#include "report_users.h"
#include "report_account.h"
#include "report_run.h"
#include "report_retention.h"
#include "report_backtest.h"
#include "report_events.h"
#include "report_qbr.h"
#include "view.h"
#include "keys.h"
#include "alerts.h"
#include "playbook.h"
#include "server.h"
#include "engine_people.h"
#include "store_ch.h"
#include "store.h"
#include "timeparse.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define UPTAKE_VERSION "0.1.0"

enum {
    O_DATA, O_MODEL, O_MAP, O_MAP_FILE, O_STRICT, O_QUIET, O_AS_OF, O_FORMAT, O_ACCOUNT,
    O_SEGMENT, O_SORT, O_EXPLAIN, O_OUT, O_ACCOUNTS, O_DAYS, O_SEED, O_EVENTS, O_LAST_DAY, O_LIMIT,
    O_FEATURE, O_TOP, O_LISTEN, O_CONFIG, O_LOG_LEVEL, O_ASSETS_DIR, O_STATE, O_UNTIL, O_WAIT, O_ALL, O_WRITE, O_READ, O_NAME, O_EVENTS_ONLY, O_SERVER_SIDE, O_STATUS, O_AT, O_HORIZON, O_BY, O_FROM, O_TO, O_SUGGEST, O_AUDIENCE, O_VENDOR, O_LOGO, O_DROP_DAMAGED, O_AGAIN, O_ENGINE, O_CLICKHOUSE, O_CLUSTER, O_DATABASE, O_USER, O_PASSWORD_FILE, O_INSERT_QUORUM, O_HELP, O_N
};

/* verbs, as bits */
enum {
    V_INIT = 1, V_MODEL = 2, V_IMPORT = 4, V_REJECTS = 8, V_REPORT = 16, V_DEMO = 32,
    V_STATUS = 64, V_SERVE = 128, V_KEYS = 256, V_ALERTS = 512, V_TASKS = 1024, V_BACKTEST = 2048,
    V_CHECK = 4096, V_REPAIR = 8192, V_EXPORT = 16384, V_ALL = 32767
};

typedef struct {
    const char *name;
    char short_name;
    const char *arg;     /* NULL: a flag */
    int verbs;
    const char *help;
} opt_t;

static const opt_t OPTS[O_N] = {
    [O_DATA] = {"data", 'd', "DIR", V_ALL & ~V_DEMO, "the store's directory (default $UPTAKE_DATA, else ./uptake-data)"},
    [O_MODEL] = {"model", 0, "FILE", V_INIT, "adoption model to install; `demo` for the demo data's (default: an empty model)"},
    [O_MAP] = {"map", 0, "SPEC", V_IMPORT, "column mapping, e.g. user_id=subscription_id,ts=usage_date"},
    [O_MAP_FILE] = {"map-file", 0, "FILE", V_IMPORT, "column mapping file: one 'field = column' per line"},
    [O_STRICT] = {"strict", 0, NULL, V_IMPORT, "exit 1 when any record is rejected"},
    [O_AGAIN] = {"again", 0, NULL, V_IMPORT, "import an events file even when the same file was imported in full before"},
    [O_QUIET] = {"quiet", 'q', NULL, V_IMPORT | V_INIT, "no progress bar, no per-record messages"},
    [O_AS_OF] = {"as-of", 0, "DATE", V_REPORT | V_ALERTS | V_TASKS, "compute as of the end of this UTC day (default: now)"},
    [O_FORMAT] = {"format", 'f', "FMT", V_REPORT | V_REJECTS | V_KEYS | V_ALERTS | V_TASKS | V_BACKTEST | V_STATUS, "table, json or csv (default table)"},
    [O_ACCOUNT] = {"account", 'a', "ID", V_REPORT, "only this account"},
    [O_SEGMENT] = {"segment", 0, "S", V_REPORT, "only accounts of this segment"},
    [O_SORT] = {"sort", 0, "COL", V_REPORT, "sort by a column; -COL sorts descending"},
    [O_EXPLAIN] = {"explain", 0, NULL, V_REPORT, "say why each empty value is empty"},
    [O_OUT] = {"out", 'o', "DIR", V_DEMO | V_EXPORT, "demo: directory to write the demo data set into; export: the new store's directory"},
    [O_ACCOUNTS] = {"accounts", 0, "N", V_DEMO, "number of accounts (default 60)"},
    [O_DAYS] = {"days", 0, "D", V_DEMO | V_REPORT, "demo: days of history (default 180); report renewals: the window (default 90)"},
    [O_SEED] = {"seed", 0, "S", V_DEMO, "random seed; the same seed gives the same bytes (default 1)"},
    [O_LAST_DAY] = {"last-day", 0, "DATE", V_DEMO, "the data's last day (default: yesterday, UTC); the same seed and day give the same bytes"},
    [O_EVENTS] = {"events", 0, "N", V_DEMO, "scale to about N events (suffixes k, M)"},
    [O_LIMIT] = {"limit", 'n', "N", V_REJECTS, "show at most N records (default 50 in a table)"},
    [O_FEATURE] = {"feature", 0, "F", V_REPORT, "report stages: only this feature"},
    [O_TOP] = {"top", 0, "N", V_REPORT, "report gaps: the N accounts with the largest gaps (default 20)"},
    [O_LISTEN] = {"listen", 0, "HOST:PORT", V_SERVE, "address to listen on (default 127.0.0.1:8080; port 0 picks one)"},
    [O_CONFIG] = {"config", 0, "FILE", V_SERVE, "server settings (YAML; see docs/server.md); options override it"},
    [O_LOG_LEVEL] = {"log-level", 0, "L", V_SERVE, "error, warn, info (a line per request; default) or debug"},
    [O_ASSETS_DIR] = {"assets-dir", 0, "DIR", V_SERVE, "serve the dashboard from DIR (e.g. web/) instead of the binary"},
    [O_WRITE] = {"write", 0, NULL, V_KEYS, "keys create: a write key (ingestion only)"},
    [O_READ] = {"read", 0, NULL, V_KEYS, "keys create: a read token (API and dashboard only)"},
    [O_NAME] = {"name", 0, "N", V_KEYS, "keys create: a name to recognise the key by"},
    [O_EVENTS_ONLY] = {"events-only", 0, NULL, V_KEYS, "keys create --write: events only, no account traits or nudges (default)"},
    [O_SERVER_SIDE] = {"server-side", 0, NULL, V_KEYS, "keys create --write: also account traits (group) and /v1/nudges"},
    [O_STATUS] = {"status", 0, "S", V_REPORT, "accounts by status at T: customer (default), churned, prospect or all"},
    [O_AT] = {"at", 0, "DATE", V_REPORT, "report retention: the cohort's date D (the customers at its end)"},
    [O_HORIZON] = {"horizon", 0, "N", V_REPORT | V_BACKTEST, "report retention, backtest: days after D (N >= 1; backtest default 90)"},
    [O_FROM] = {"from", 0, "DATE", V_BACKTEST, "backtest: the first day a snapshot may fall on"},
    [O_TO] = {"to", 0, "DATE", V_BACKTEST | V_EXPORT, "backtest: the last day whose outcomes are known (default: today); export: clickhouse"},
    [O_SUGGEST] = {"suggest-weights", 0, NULL, V_BACKTEST, "backtest: fit health weights on the earlier half, judge them on the later"},
    [O_AUDIENCE] = {"audience", 0, "A", V_REPORT, "report account --format html: customer (the QBR to send, default) or internal"},
    [O_VENDOR] = {"vendor", 0, "NAME", V_REPORT, "report account --format html: your company's name atop the customer's QBR"},
    [O_LOGO] = {"logo", 0, "FILE", V_REPORT, "report account --format html: your logo atop the customer's QBR (PNG, JPEG, GIF or SVG, at most 512 KB)"},
    [O_BY] = {"by", 0, "G", V_REPORT, "report retention: level, segment, health_band, owner or a metric (quartiles)"},
    [O_STATE] = {"state", 0, "S", V_ALERTS, "alerts list: active (default), open, acknowledged, snoozed, resolved or all"},
    [O_UNTIL] = {"until", 0, "DATE", V_ALERTS, "alerts snooze: until this date"},
    [O_WAIT] = {"wait", 0, "SECONDS", V_ALERTS, "alerts evaluate: wait this long for webhook retries (default 30)"},
    [O_ALL] = {"all", 0, NULL, V_TASKS, "tasks list: done tasks too"},
    [O_DROP_DAMAGED] = {"drop-damaged", 0, NULL, V_REPAIR, "cut events.log at its first damaged block, losing the events from there on"},
    [O_ENGINE] = {"engine", 0, "E", V_INIT, "where the events go: embedded (events.log, default) or clickhouse (docs/scale-out.md)"},
    [O_CLICKHOUSE] = {"clickhouse", 0, "URL", V_INIT | V_EXPORT, "--engine clickhouse: the HTTP URL of each shard, comma-separated, in the cluster's order"},
    [O_CLUSTER] = {"cluster", 0, "NAME", V_INIT | V_EXPORT, "--engine clickhouse: the cluster of remote_servers to shard over (Distributed table)"},
    [O_DATABASE] = {"database", 0, "DB", V_INIT | V_EXPORT, "--engine clickhouse: the ClickHouse database (default uptake)"},
    [O_USER] = {"user", 0, "U", V_INIT | V_EXPORT, "--engine clickhouse: the ClickHouse user (default: ClickHouse's default)"},
    [O_PASSWORD_FILE] = {"password-file", 0, "FILE", V_INIT | V_EXPORT, "--engine clickhouse: the user's password is this file's first line (the store keeps the path, not the password)"},
    [O_INSERT_QUORUM] = {"insert-quorum", 0, "N", V_INIT | V_EXPORT, "--engine clickhouse: inserts wait until N replicas have the rows (replicated tables; default 0, none)"},
    [O_HELP] = {"help", 'h', NULL, V_ALL, "show help"},
};

typedef struct {
    const char *name;
    int bit;
    const char *usage;
    const char *summary;
} verb_t;

static const verb_t VERBS[] = {
    {"init", V_INIT, "init [--model FILE] [--engine clickhouse --clickhouse URL[,URL...] [--cluster NAME] [--database DB] [--user U [--password-file F]] [--insert-quorum N]]", "create a store with an adoption model"},
    {"model", V_MODEL, "model set FILE | model check FILE | model show | model suggest",
     "replace, validate or print the model; draft one from the events seen"},
    {"import", V_IMPORT, "import events|accounts|users|surveys|subscriptions|outcomes|tickets|milestones|churn FILE...", "load CSV or JSONL files (.gz too)"},
    {"rejects", V_REJECTS, "rejects [--limit N] [--format F]", "list rejected input records"},
    {"report", V_REPORT, "report accounts|features|users|stages|gaps|workflows|renewals|events|account ID [--as-of DATE] [--status S] [--format F]"
               " | report retention --at DATE --horizon N --by G",
     "adoption metrics, stages, gaps, workflows, one account's page"},
    {"demo", V_DEMO, "demo --out DIR [--accounts N] [--days D] [--seed S] [--events N] [--last-day DATE]", "write a realistic demo data set"},
    {"status", V_STATUS, "status", "what the store holds"},
    {"serve", V_SERVE, "serve [--listen HOST:PORT] [--config FILE] [--log-level L]",
     "HTTP ingestion for Segment/RudderStack/PostHog/Mixpanel clients, and the JSON API"},
    {"alerts", V_ALERTS, "alerts evaluate [--as-of DATE] | list [--state S] | show ID | ack ID | snooze ID --until DATE | resolve ID",
     "adoption-risk alerts: evaluate the rules, work the alerts"},
    {"tasks", V_TASKS, "tasks list [--all] | tasks done ID", "tasks the playbooks gave account owners"},
    {"keys", V_KEYS, "keys create --write [--server-side]|--read [--name N] | keys list | keys revoke ID",
     "manage write keys and read tokens"},
    {"backtest", V_BACKTEST, "backtest --from DATE [--to DATE] [--horizon N] [--suggest-weights] [--format F]",
     "how well health and every metric predicted churn, on the store's own history"},
    {"check", V_CHECK, "check", "verify every file of the store (log blocks, snapshot, database)"},
    {"repair", V_REPAIR, "repair [--drop-damaged]", "rebuild what can be rebuilt; say what cannot"},
    {"export", V_EXPORT, "export --to clickhouse --clickhouse URL[,URL...] [--cluster NAME] [--database DB] [--user U [--password-file F]] [--insert-quorum N] --out DIR",
     "copy the store into a new one whose events are in ClickHouse (docs/scale-out.md)"},
};
#define NVERBS (sizeof VERBS / sizeof *VERBS)

typedef struct {
    const char *val[O_N];
    int set[O_N];
    const char *pos[64];
    int npos;
    const verb_t *verb;
} args_t;

static void usage_all(FILE *out)
{
    fprintf(out, "uptake %s: customer-adoption analytics\n\nUsage: uptake [--data DIR] <verb> [options]\n\n",
            UPTAKE_VERSION);
    for (size_t i = 0; i < NVERBS; i++)
        fprintf(out, "  %-62s %s\n", VERBS[i].usage, VERBS[i].summary);
    fprintf(out, "\n`uptake <verb> --help` lists a verb's options. See also man uptake.\n");
}

static void usage_verb(FILE *out, const verb_t *v)
{
    fprintf(out, "Usage: uptake %s\n%s.\n\nOptions:\n", v->usage, v->summary);
    for (int o = 0; o < O_N; o++) {
        if (!(OPTS[o].verbs & v->bit))
            continue;
        char left[64];
        if (OPTS[o].short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", OPTS[o].short_name, OPTS[o].name,
                     OPTS[o].arg ? " " : "", OPTS[o].arg ? OPTS[o].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", OPTS[o].name, OPTS[o].arg ? " " : "",
                     OPTS[o].arg ? OPTS[o].arg : "");
        fprintf(out, "  %-24s %s\n", left, OPTS[o].help);
    }
}

static int parse_args(int argc, char **argv, args_t *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int o = -1;
        const char *inline_val = NULL;
        if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (int k = 0; k < O_N; k++)
                if (strlen(OPTS[k].name) == len && strncmp(OPTS[k].name, name, len) == 0)
                    o = k;
            if (o < 0) {
                fprintf(stderr, "uptake: unknown option '%s'\n", arg);
                return -1;
            }
            if (eq)
                inline_val = eq + 1;
        } else if (arg[0] == '-' && arg[1] && arg[1] != '-' && !arg[2] && !(arg[1] >= '0' && arg[1] <= '9')) {
            for (int k = 0; k < O_N; k++)
                if (OPTS[k].short_name == arg[1])
                    o = k;
            if (o < 0) {
                fprintf(stderr, "uptake: unknown option '%s'\n", arg);
                return -1;
            }
        } else {
            if (a->npos == 64) {
                fprintf(stderr, "uptake: too many arguments\n");
                return -1;
            }
            a->pos[a->npos++] = arg;
            continue;
        }
        if (OPTS[o].arg) {
            if (!inline_val) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "uptake: option --%s needs a value (%s)\n", OPTS[o].name, OPTS[o].arg);
                    return -1;
                }
                inline_val = argv[++i];
            }
            a->val[o] = inline_val;
        } else if (inline_val) {
            fprintf(stderr, "uptake: option --%s takes no value\n", OPTS[o].name);
            return -1;
        }
        a->set[o] = 1;
    }
    if (a->npos == 0)
        return 0;
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(VERBS[i].name, a->pos[0]) == 0)
            a->verb = &VERBS[i];
    if (!a->verb) {
        if (strcmp(a->pos[0], "help") == 0)
            return 0;
        fprintf(stderr, "uptake: unknown verb '%s' (try uptake --help)\n", a->pos[0]);
        return -1;
    }
    for (int o = 0; o < O_N; o++)
        if (a->set[o] && !(OPTS[o].verbs & a->verb->bit)) {
            fprintf(stderr, "uptake %s: option --%s does not apply here (try uptake %s --help)\n",
                    a->verb->name, OPTS[o].name, a->verb->name);
            return -1;
        }
    return 0;
}

static const char *data_dir(const args_t *a)
{
    if (a->val[O_DATA])
        return a->val[O_DATA];
    const char *env = getenv("UPTAKE_DATA");
    return env && *env ? env : "./uptake-data";
}

static int open_store(const args_t *a, int flags, up_store_t **s)
{
    char err[1024] = "";
    int rc = up_store_open(s, data_dir(a), flags, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "uptake: %s\n", err[0] ? err : up_strerror(rc));
        return -1;
    }
    const char *notice = up_store_notice(*s);
    if (notice)
        fprintf(stderr, "uptake: %s\n", notice);
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    up_buf_t b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (up_buf_append(&b, chunk, n) < 0) {
            fclose(f);
            up_buf_free(&b);
            return NULL;
        }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        up_buf_free(&b);
        return NULL;
    }
    if (!b.data)
        up_buf_append(&b, "", 0);
    *len = b.len;
    return b.data;
}

/* ---- init / model ------------------------------------------------------ */

/* The ClickHouse options of init and export; -1 (said on stderr) when
 * --insert-quorum is not a number. */
static int ch_conf(const args_t *a, up_ch_conf_t *c)
{
    *c = (up_ch_conf_t){a->val[O_CLICKHOUSE], a->val[O_CLUSTER], a->val[O_DATABASE], a->val[O_USER],
                        a->val[O_PASSWORD_FILE], 0};
    if (a->val[O_INSERT_QUORUM]) {
        char *end;
        long q = strtol(a->val[O_INSERT_QUORUM], &end, 10);
        if (*end || end == a->val[O_INSERT_QUORUM] || q < 0 || q > 64) {
            fprintf(stderr, "uptake %s: --insert-quorum: '%s' is not a number from 0 to 64\n", a->verb->name,
                    a->val[O_INSERT_QUORUM]);
            return -1;
        }
        c->insert_quorum = (int)q;
    }
    return 0;
}

/* --engine and its options: 1 for ClickHouse, 0 for the embedded store,
 * -1 (said on stderr) for a usage error. */
static int init_engine(const args_t *a)
{
    const char *engine = a->val[O_ENGINE] ? a->val[O_ENGINE] : "embedded";
    int ch = strcmp(engine, "clickhouse") == 0;
    if (!ch && strcmp(engine, "embedded") != 0) {
        fprintf(stderr, "uptake init: unknown --engine '%s' (embedded or clickhouse)\n", engine);
        return -1;
    }
    if (ch && !a->val[O_CLICKHOUSE]) {
        fprintf(stderr, "uptake init: --engine clickhouse needs --clickhouse URL\n");
        return -1;
    }
    if (!ch && (a->val[O_CLICKHOUSE] || a->val[O_CLUSTER] || a->val[O_DATABASE] || a->val[O_USER] ||
                a->val[O_PASSWORD_FILE] || a->val[O_INSERT_QUORUM])) {
        fprintf(stderr, "uptake init: --clickhouse, --cluster, --database, --user, --password-file and"
                " --insert-quorum go with --engine clickhouse\n");
        return -1;
    }
    return ch;
}

static int cmd_init(const args_t *a)
{
    if (a->npos > 1) {
        fprintf(stderr, "uptake init: unexpected argument '%s'\n", a->pos[1]);
        return UP_EXIT_USAGE;
    }
    int ch = init_engine(a);
    up_ch_conf_t conf;
    if (ch < 0 || (ch && ch_conf(a, &conf) < 0))
        return UP_EXIT_USAGE;
    const char *text, *name;
    char *owned = NULL;
    size_t len;
    int empty = !a->val[O_MODEL];
    struct stat st;
    if (a->val[O_MODEL] && strcmp(a->val[O_MODEL], "demo") == 0 && !(stat("demo", &st) == 0 && S_ISREG(st.st_mode))) {
        text = up_demo_model_yaml();   /* --model demo: the demo data's model */
        len = strlen(text);
        name = "demo model";
    } else if (a->val[O_MODEL]) {
        owned = read_file(a->val[O_MODEL], &len);
        if (!owned) {
            fprintf(stderr, "uptake init: %s: %s\n", a->val[O_MODEL], strerror(errno));
            return UP_EXIT_FAIL;
        }
        text = owned;
        name = a->val[O_MODEL];
    } else {
        /* no model: an empty one, said out loud (a team's own events would
         * match nothing in the demo's) */
        text = "# An empty adoption model: write yours (docs/model.md) and run `uptake model set FILE`.\n"
               "version: 1\nfeatures: []\n";
        len = strlen(text);
        name = "empty model";
    }
    char err[1024] = "";
    up_model_t *m;
    if (up_model_parse(text, len, name, &m, err, sizeof err) < 0) {
        fprintf(stderr, "uptake init: %s\n", err);
        free(owned);
        return UP_EXIT_FAIL;
    }
    up_model_free(m);
    up_store_t *s;
    if (open_store(a, UP_STORE_WRITE | UP_STORE_CREATE, &s) < 0) {
        free(owned);
        return UP_EXIT_STORE;
    }
    if (up_store_model(s)) {
        fprintf(stderr, "uptake init: %s already holds a store; use `uptake model set FILE` to change its model\n",
                data_dir(a));
        up_store_close(s);
        free(owned);
        return UP_EXIT_FAIL;
    }
    /* the engine first: a store whose schema could not be made has no model
     * yet, so init can be run again */
    int rc = ch ? up_ch_init(up_store_db(s), &conf, err, sizeof err) : 0;
    if (rc == 0)
        rc = up_store_set_model(s, text, len, name, err, sizeof err);
    free(owned);
    if (rc < 0) {
        fprintf(stderr, "uptake init: %s\n", err[0] ? err : up_strerror(rc));
        up_store_close(s);
        return UP_EXIT_STORE;
    }
    const up_model_t *mm = up_store_model(s);
    if (!a->set[O_QUIET])
        printf("Created a store in %s with the %s (%zu features)%s.\n", data_dir(a), name, mm->n_features,
               ch ? "; its events go to ClickHouse" : "");
    if (empty)
        fprintf(stderr, "uptake init: no --model: the model is empty, so no event counts as a feature yet. Import your"
                        " events, run `uptake report events` to see their names, then write a model (docs/model.md)"
                        " and `uptake model set FILE` (no re-import). `--model demo` installs the demo data's model.\n");
    if (up_store_close(s) < 0)
        return UP_EXIT_STORE;
    if (ch) {   /* the store was made embedded, then turned to ClickHouse: its empty snapshot is not used */
        char path[4096];
        snprintf(path, sizeof path, "%s/rollup.bin", data_dir(a));
        unlink(path);
    }
    return UP_EXIT_OK;
}

static int cmd_model(const args_t *a)
{
    const char *sub = a->npos > 1 ? a->pos[1] : NULL;
    char err[1024] = "";
    if (sub && strcmp(sub, "show") == 0 && a->npos == 2) {
        up_store_t *s;
        if (open_store(a, UP_STORE_READ, &s) < 0)
            return UP_EXIT_STORE;
        fputs(up_store_model_text(s), stdout);
        size_t n = strlen(up_store_model_text(s));
        if (n && up_store_model_text(s)[n - 1] != '\n')
            putchar('\n');
        up_store_close(s);
        return UP_EXIT_OK;
    }
    if (sub && strcmp(sub, "suggest") == 0 && a->npos == 2) {
        up_store_t *s;
        if (open_store(a, UP_STORE_READ | UP_STORE_DEFER, &s) < 0)
            return UP_EXIT_STORE;
        up_view_t v;
        int64_t T = (int64_t)time(NULL) * 1000;
        int rc = up_view_open(s, T, UP_VIEW_ROLLUP, &v, err, sizeof err);
        if (rc == 0) {
            rc = up_model_suggest(stdout, s, v.rollup, T, err, sizeof err);
            up_view_close(&v);
        }
        if (rc < 0)
            fprintf(stderr, "uptake model suggest: %s\n", err);
        up_store_close(s);
        return rc < 0 ? UP_EXIT_FAIL : UP_EXIT_OK;
    }
    if (!sub || (strcmp(sub, "set") != 0 && strcmp(sub, "check") != 0) || a->npos != 3) {
        fprintf(stderr, "usage: uptake model set FILE | model check FILE | model show | model suggest\n");
        return UP_EXIT_USAGE;
    }
    size_t len;
    char *text = read_file(a->pos[2], &len);
    if (!text) {
        fprintf(stderr, "uptake model %s: %s: %s\n", sub, a->pos[2], strerror(errno));
        return UP_EXIT_FAIL;
    }
    up_model_t *m;
    if (up_model_parse(text, len, a->pos[2], &m, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        free(text);
        return UP_EXIT_FAIL;
    }
    if (strcmp(sub, "check") == 0) {
        up_model_describe(stdout, m, a->pos[2]);
        up_model_free(m);
        free(text);
        return UP_EXIT_OK;
    }
    up_model_free(m);
    int sock = up_admin_connect(data_dir(a));
    if (sock >= 0) {   /* a server holds the store: it installs the model */
        fprintf(stderr, "uptake: a server holds %s; it installs the model\n", data_dir(a));
        int code = up_admin_model_set(sock, a->pos[2], text, len, stdout, stderr);
        free(text);
        return code;
    }
    up_store_t *s;
    if (open_store(a, UP_STORE_WRITE, &s) < 0) {
        free(text);
        return UP_EXIT_STORE;
    }
    int code = up_model_set_run(s, text, len, a->pos[2], stdout, stderr);
    free(text);
    return up_store_close(s) < 0 ? UP_EXIT_STORE : code;
}

/* ---- import ------------------------------------------------------------ */

typedef struct {
    const char *file;
    double start;
    double last;
    int shown;
} progress_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress_cb(void *ctx, uint64_t pos, uint64_t size)
{
    progress_t *p = ctx;
    double t = now_s();
    if (t - p->start < 1.0 || (t - p->last < 0.2 && pos < size))
        return;
    p->last = t;
    p->shown = 1;
    int width = 30;
    double frac = size ? (double)pos / (double)size : 0;
    if (frac > 1)
        frac = 1;
    int fill = (int)(frac * width);
    fprintf(stderr, "\r%-20.20s [", p->file);
    for (int i = 0; i < width; i++)
        fputc(i < fill ? '#' : ' ', stderr);
    fprintf(stderr, "] %3.0f%%  %.0f MB/s ", frac * 100, (double)pos / 1e6 / (t - p->start));
}

/* `uptake import` while `uptake serve` holds the store: each file is opened
 * here and handed to the server (admin.h), which imports it as the CLI
 * would; same output, same exit code. */
static int import_through_server(const args_t *a, const up_mapping_t *map)
{
    if (!a->set[O_QUIET])
        fprintf(stderr, "uptake: a server holds %s; it does the import\n", data_dir(a));
    int exit_code = UP_EXIT_OK;
    for (int i = 2; i < a->npos; i++) {
        int fd = open(a->pos[i], O_RDONLY | O_CLOEXEC), sock = -1;
        if (fd < 0) {
            fprintf(stderr, "uptake import: %s: %s\n", a->pos[i], strerror(errno));
            exit_code = up_import_exit_worse(exit_code, UP_EXIT_FAIL);
            continue;
        }
        if ((sock = up_admin_connect(data_dir(a))) < 0) {
            fprintf(stderr, "uptake import: %s: the server stopped answering; run the import again\n", a->pos[i]);
            close(fd);
            return up_import_exit_worse(exit_code, UP_EXIT_STORE);
        }
        int code = up_admin_import(sock, a->pos[1], a->pos[i], fd, map, a->set[O_QUIET], a->set[O_STRICT], a->set[O_AGAIN], stdout,
                                   stderr);
        close(fd);
        exit_code = up_import_exit_worse(exit_code, code);
        if (code == UP_EXIT_STORE || code == UP_EXIT_USAGE)
            break;
    }
    return exit_code;
}

static void progress_end(void *ctx)
{
    if (((progress_t *)ctx)->shown)
        fputc('\n', stderr);
}

static int cmd_import(const args_t *a)
{
    if (a->npos < 3) {
        fprintf(stderr, "usage: uptake import events|accounts|users|surveys|subscriptions|outcomes|tickets|milestones|churn FILE...\n");
        return UP_EXIT_USAGE;
    }
    int kind = up_import_kind_parse(a->pos[1]);
    if (kind < 0) {
        fprintf(stderr, "uptake import: unknown table '%s' (events, accounts, users, surveys, subscriptions, outcomes, tickets, milestones or churn)\n", a->pos[1]);
        return UP_EXIT_USAGE;
    }
    up_mapping_t map;
    memset(&map, 0, sizeof map);
    char err[1024] = "";
    if (a->val[O_MAP_FILE] && up_mapping_load(&map, a->val[O_MAP_FILE], err, sizeof err) < 0) {
        fprintf(stderr, "uptake import: %s\n", err);
        up_mapping_free(&map);
        return UP_EXIT_USAGE;
    }
    if (a->val[O_MAP] && up_mapping_parse(&map, a->val[O_MAP], err, sizeof err) < 0) {
        fprintf(stderr, "uptake import: --map: %s\n", err);
        up_mapping_free(&map);
        return UP_EXIT_USAGE;
    }
    int sock = up_admin_connect(data_dir(a));
    if (sock >= 0) {   /* a server holds the store: it does the import */
        close(sock);
        int code = import_through_server(a, &map);
        up_mapping_free(&map);
        return code;
    }
    up_store_t *s;
    if (open_store(a, UP_STORE_WRITE, &s) < 0) {
        up_mapping_free(&map);
        return UP_EXIT_STORE;
    }
    int exit_code = UP_EXIT_OK;
    int tty = isatty(2) && !a->set[O_QUIET];
    for (int i = 2; i < a->npos; i++) {
        progress_t pg = {a->pos[i], now_s(), 0, 0};
        up_import_opts_t o = {a->set[O_QUIET], a->set[O_STRICT], a->set[O_AGAIN], tty ? progress_cb : NULL, &pg,
                              progress_end};
        int stop;
        exit_code = up_import_exit_worse(exit_code, up_import_run(s, (up_import_kind_t)kind, a->pos[i], -1,
                                                                  map.n ? &map : NULL, &o, stdout, stderr, &stop));
        if (stop)
            break;
    }
    up_mapping_free(&map);
    if (up_store_close(s) < 0) {
        fprintf(stderr, "uptake import: could not write the store\n");
        return UP_EXIT_STORE;
    }
    return exit_code;
}

/* ---- rejects ----------------------------------------------------------- */

static int cmd_rejects(const args_t *a)
{
    int fmt = a->val[O_FORMAT] ? up_fmt_parse(a->val[O_FORMAT]) : UP_FMT_TABLE;
    if (fmt < 0) {
        fprintf(stderr, "uptake rejects: unknown format '%s' (table, json or csv)\n", a->val[O_FORMAT]);
        return UP_EXIT_USAGE;
    }
    long limit = a->val[O_LIMIT] ? strtol(a->val[O_LIMIT], NULL, 10) : (fmt == UP_FMT_TABLE ? 50 : -1);
    up_store_t *s;
    if (open_store(a, UP_STORE_READ, &s) < 0)
        return UP_EXIT_STORE;
    int rc = up_report_run_rejects(up_store_db(s), stdout, (up_format_t)fmt, limit);
    if (rc < 0)
        fprintf(stderr, "uptake rejects: %s\n", sqlite3_errmsg(up_store_db(s)));
    up_store_close(s);
    return rc < 0 ? UP_EXIT_STORE : UP_EXIT_OK;
}

/* ---- report ------------------------------------------------------------ */

/* report retention's options (--at, --horizon, --by) into q; a usage error
 * is written and UP_EXIT_USAGE returned, else 0. */
static int retention_opts(const args_t *a, up_report_req_t *q)
{
    char *end = NULL;
    long h = a->val[O_HORIZON] ? strtol(a->val[O_HORIZON], &end, 10) : 0;
    int grid = a->val[O_BY] && up_report_retention_is_grid(a->val[O_BY]);
    if (!a->val[O_AT] || (!a->val[O_HORIZON] && !grid) || !a->val[O_BY]) {
        fprintf(stderr, "usage: uptake report retention --at DATE --horizon N --by level|segment|health_band|owner|METRIC"
                        " [--format table|csv|json]\n"
                        "       uptake report retention --at DATE --by start_month [--format table|csv|json]\n");
        return UP_EXIT_USAGE;
    }
    if (grid && a->val[O_HORIZON]) {
        fprintf(stderr, "uptake report retention: --by start_month measures at months 3, 6, 12 …: no --horizon\n");
        return UP_EXIT_USAGE;
    }
    if (!grid && (*end || h < 1 || h > 36600)) {
        fprintf(stderr, "uptake report retention: --horizon: expected a whole number of days >= 1, got '%s'\n",
                a->val[O_HORIZON]);
        return UP_EXIT_USAGE;
    }
    if (!up_report_retention_by_valid(a->val[O_BY])) {
        fprintf(stderr, "uptake report retention: --by: '%s' is not level, segment, health_band, owner, start_month"
                        " or a metric (uptake report accounts --explain lists them)\n", a->val[O_BY]);
        return UP_EXIT_USAGE;
    }
    int32_t day;
    if (up_date_parse(a->val[O_AT], strlen(a->val[O_AT]), &day) < 0) {
        fprintf(stderr, "uptake report retention: --at: cannot parse '%s' as a date (YYYY-MM-DD)\n", a->val[O_AT]);
        return UP_EXIT_USAGE;
    }
    if (a->val[O_AS_OF]) {
        fprintf(stderr, "uptake report retention: use --at DATE, not --as-of\n");
        return UP_EXIT_USAGE;
    }
    q->horizon = (int)h;
    q->by = a->val[O_BY];
    q->T = up_engine_end_of_day(day);
    return 0;
}

static int cmd_report(const args_t *a)
{
    const char *what = a->npos > 1 ? a->pos[1] : NULL;
    int is_account = what && strcmp(what, "account") == 0;
    if (!what || a->npos != (is_account ? 3 : 2) || !up_report_run_known(what)) {
        if (what && !up_report_run_known(what))
            fprintf(stderr, "uptake report: unknown report '%s'\n", what);
        fprintf(stderr, "usage: uptake report accounts|features|users|stages|gaps|workflows|events|account ID [--as-of DATE]"
                        " [--status S] [--format table|json|csv]\n"
                        "       uptake report renewals [--as-of DATE] [--days N] [--format table|json|csv]\n"
                        "       uptake report retention --at DATE --horizon N --by level|segment|health_band|owner|METRIC"
                        " [--format table|json|csv]\n");
        return UP_EXIT_USAGE;
    }
    up_report_req_t q = {what, is_account ? a->pos[2] : NULL, 0,
                         {UP_FMT_TABLE, a->val[O_ACCOUNT], a->val[O_SEGMENT], a->val[O_SORT], a->set[O_EXPLAIN], 0},
                         a->val[O_FEATURE], 20, 0, 0, NULL, 0, a->val[O_VENDOR], NULL};
    int retention = strcmp(what, "retention") == 0;
    if (a->val[O_AUDIENCE] || a->val[O_VENDOR] || a->val[O_LOGO]) {
        const char *au = a->val[O_AUDIENCE];
        if (!is_account || !a->val[O_FORMAT] || strcmp(a->val[O_FORMAT], "html") != 0 ||
            (au && strcmp(au, "customer") != 0 && strcmp(au, "internal") != 0)) {
            fprintf(stderr, "uptake report: --audience customer|internal, --vendor NAME and --logo FILE apply to"
                            " report account ID --format html\n");
            return UP_EXIT_USAGE;
        }
        q.internal = au && strcmp(au, "internal") == 0;
    }
    if (a->val[O_STATUS]) {
        q.status = up_view_status_bits(a->val[O_STATUS]);
        if (!q.status || retention || is_account || !strcmp(what, "workflows") || !strcmp(what, "renewals") ||
            !strcmp(what, "events")) {
            fprintf(stderr, "uptake report: --status customer|churned|prospect|all (or several joined by commas)"
                            " applies to report accounts, features, users, stages, gaps and signals\n");
            return UP_EXIT_USAGE;
        }
    }
    if (!retention && (a->val[O_AT] || a->val[O_HORIZON] || a->val[O_BY])) {
        fprintf(stderr, "uptake report: --at, --horizon and --by apply to report retention\n");
        return UP_EXIT_USAGE;
    }
    if (retention && retention_opts(a, &q) != 0)
        return UP_EXIT_USAGE;
    if (a->val[O_DAYS] && strcmp(what, "renewals") != 0) {
        fprintf(stderr, "uptake report: --days applies to report renewals\n");
        return UP_EXIT_USAGE;
    }
    if (strcmp(what, "renewals") == 0) {
        char *end = NULL;
        long d = a->val[O_DAYS] ? strtol(a->val[O_DAYS], &end, 10) : 90;
        if (a->val[O_DAYS] && (*end || d < 1 || d > 3650)) {
            fprintf(stderr, "uptake report renewals: --days: expected a whole number of days from 1 to 3650, got '%s'\n",
                    a->val[O_DAYS]);
            return UP_EXIT_USAGE;
        }
        q.horizon = (int)d;
    }
    if (a->val[O_TOP]) {
        char *end;
        long top = strtol(a->val[O_TOP], &end, 10);
        if (*end || top < 1 || top > 1000000 || strcmp(what, "gaps") != 0) {
            fprintf(stderr, "uptake report: --top N (N >= 1) applies to report gaps\n");
            return UP_EXIT_USAGE;
        }
        q.top = (int)top;
    }
    if (a->val[O_FEATURE] && strcmp(what, "stages") != 0) {
        fprintf(stderr, "uptake report: --feature applies to report stages\n");
        return UP_EXIT_USAGE;
    }
    if (a->val[O_FORMAT] && strcmp(a->val[O_FORMAT], "html") == 0) {
        if (strcmp(what, "account") != 0 && strcmp(what, "accounts") != 0) {
            fprintf(stderr, "uptake report: --format html applies to report account ID (a QBR) and report accounts\n");
            return UP_EXIT_USAGE;
        }
        q.o.format = UP_FMT_HTML;
    } else if (a->val[O_FORMAT]) {
        int f = up_fmt_parse(a->val[O_FORMAT]);
        if (f < 0) {
            fprintf(stderr, "uptake report: unknown format '%s' (table, json, csv; html for account and accounts)\n",
                    a->val[O_FORMAT]);
            return UP_EXIT_USAGE;
        }
        q.o.format = (up_format_t)f;
    }
    if (up_report_sort_valid(q.o.sort) < 0) {
        fprintf(stderr, "uptake report: cannot sort by '%s' (a column of the CSV, or name, segment, owner, arr)\n", q.o.sort);
        return UP_EXIT_USAGE;
    }
    if (retention) {
        /* q.T is the end of --at's day */
    } else if (a->val[O_AS_OF]) {
        if (up_report_run_parse_as_of(a->val[O_AS_OF], &q.T) < 0) {
            fprintf(stderr, "uptake report: --as-of: cannot parse '%s' as a date (YYYY-MM-DD)\n", a->val[O_AS_OF]);
            return UP_EXIT_USAGE;
        }
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        q.T = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    }
    char err[1024];
    char *logo = NULL;
    if (a->val[O_LOGO] && up_report_qbr_logo(a->val[O_LOGO], &logo, err, sizeof err) < 0) {
        fprintf(stderr, "uptake report: --logo: %s\n", err);
        return UP_EXIT_USAGE;
    }
    q.logo = logo;
    up_store_t *s;
    if (open_store(a, UP_STORE_READ | UP_STORE_DEFER, &s) < 0) {
        free(logo);
        return UP_EXIT_STORE;
    }
    int rc = up_report_run(s, &q, stdout, err, sizeof err);
    free(logo);
    if (rc < 0)
        fprintf(stderr, "uptake report: %s\n", err);
    else if (up_store_notice(s))   /* what building the rollup recovered */
        fprintf(stderr, "uptake: %s\n", up_store_notice(s));
    up_store_close(s);
    if (fflush(stdout) != 0)
        return UP_EXIT_FAIL;
    if (rc == -UP_EIO || rc == -UP_ECORRUPT)
        return UP_EXIT_STORE;
    return rc < 0 ? UP_EXIT_FAIL : UP_EXIT_OK;
}

/* ---- backtest ---------------------------------------------------------- */

static int cmd_backtest(const args_t *a)
{
    up_backtest_req_t q = {0, 0, 90, a->set[O_SUGGEST], UP_FMT_TABLE};
    if (!a->val[O_FROM] || a->npos != 1) {
        fprintf(stderr, "usage: uptake backtest --from DATE [--to DATE] [--horizon N] [--suggest-weights]"
                        " [--format table|csv|json|html]\n");
        return UP_EXIT_USAGE;
    }
    if (up_date_parse(a->val[O_FROM], strlen(a->val[O_FROM]), &q.d1) < 0) {
        fprintf(stderr, "uptake backtest: --from: cannot parse '%s' as a date (YYYY-MM-DD)\n", a->val[O_FROM]);
        return UP_EXIT_USAGE;
    }
    if (a->val[O_TO]) {
        if (up_date_parse(a->val[O_TO], strlen(a->val[O_TO]), &q.d2) < 0) {
            fprintf(stderr, "uptake backtest: --to: cannot parse '%s' as a date (YYYY-MM-DD)\n", a->val[O_TO]);
            return UP_EXIT_USAGE;
        }
    } else
        q.d2 = up_day_of((int64_t)time(NULL) * 1000);
    if (a->val[O_HORIZON]) {
        char *end;
        long h = strtol(a->val[O_HORIZON], &end, 10);
        if (*end || h < 1 || h > 36600) {
            fprintf(stderr, "uptake backtest: --horizon: expected a whole number of days >= 1, got '%s'\n",
                    a->val[O_HORIZON]);
            return UP_EXIT_USAGE;
        }
        q.horizon = (int)h;
    }
    if (a->val[O_FORMAT]) {
        int f = strcmp(a->val[O_FORMAT], "html") == 0 ? UP_FMT_HTML : up_fmt_parse(a->val[O_FORMAT]);
        if (f < 0) {
            fprintf(stderr, "uptake backtest: unknown format '%s' (table, csv, json or html)\n", a->val[O_FORMAT]);
            return UP_EXIT_USAGE;
        }
        q.format = (up_format_t)f;
    }
    up_store_t *s;
    if (open_store(a, UP_STORE_READ | UP_STORE_DEFER, &s) < 0)
        return UP_EXIT_STORE;
    char err[1024];
    int rc = up_report_backtest(s, &q, stdout, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "uptake backtest: %s\n", err);
    up_store_close(s);
    if (fflush(stdout) != 0)
        return UP_EXIT_FAIL;
    return rc == -UP_EINVAL ? UP_EXIT_USAGE : rc == -UP_EIO || rc == -UP_ECORRUPT ? UP_EXIT_STORE
         : rc < 0 ? UP_EXIT_FAIL : UP_EXIT_OK;
}

/* ---- demo / status ----------------------------------------------------- */

static int parse_count(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno)
        return -1;
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1e6, end++;
    if (*end || v < 0 || v > 1e12)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int cmd_demo(const args_t *a)
{
    if (!a->val[O_OUT] || a->npos != 1) {
        fprintf(stderr, "usage: uptake demo --out DIR [--accounts N] [--days D] [--seed S] [--events N] [--last-day DATE]\n");
        return UP_EXIT_USAGE;
    }
    up_demo_opts_t o;
    up_demo_defaults(&o);
    int64_t v;
    const int ids[] = {O_ACCOUNTS, O_DAYS, O_SEED, O_EVENTS};
    for (int i = 0; i < 4; i++) {
        if (!a->val[ids[i]])
            continue;
        if (parse_count(a->val[ids[i]], &v) < 0 || (ids[i] != O_SEED && ids[i] != O_EVENTS && (v < 1 || v > 10000000))) {
            fprintf(stderr, "uptake demo: --%s: expected a positive number, got '%s'\n", OPTS[ids[i]].name, a->val[ids[i]]);
            return UP_EXIT_USAGE;
        }
        if (ids[i] == O_ACCOUNTS)
            o.accounts = (int)v;
        else if (ids[i] == O_DAYS)
            o.days = (int)v;
        else if (ids[i] == O_SEED)
            o.seed = (uint64_t)v;
        else
            o.events = v;
    }
    o.end_day = up_day_of((int64_t)time(NULL) * 1000) - 1;   /* yesterday, UTC */
    if (a->val[O_LAST_DAY] && up_date_parse(a->val[O_LAST_DAY], strlen(a->val[O_LAST_DAY]), &o.end_day) < 0) {
        fprintf(stderr, "uptake demo: --last-day: cannot parse '%s' as a date (YYYY-MM-DD)\n", a->val[O_LAST_DAY]);
        return UP_EXIT_USAGE;
    }
    o.progress = isatty(2);
    char err[1024] = "";
    int rc = up_demo_write(a->val[O_OUT], &o, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "uptake demo: %s\n", err[0] ? err : up_strerror(rc));
        return UP_EXIT_FAIL;
    }
    char last[16];
    up_date_fmt(last, o.end_day);
    printf("Wrote the demo data set to %s, data through %s (model.yaml, accounts.csv, users.csv, events.csv, surveys.csv, outcomes.csv, subscriptions.csv, tickets.csv, milestones.csv).\n",
           a->val[O_OUT], last);
    return UP_EXIT_OK;
}

static int cmd_status(const args_t *a)
{
    up_store_t *s;
    if (a->val[O_FORMAT] && strcmp(a->val[O_FORMAT], "json") != 0 && strcmp(a->val[O_FORMAT], "table") != 0) {
        fprintf(stderr, "uptake status: --format table or json\n");
        return UP_EXIT_USAGE;
    }
    if (open_store(a, UP_STORE_READ, &s) < 0)
        return UP_EXIT_STORE;
    if (a->val[O_FORMAT] && strcmp(a->val[O_FORMAT], "json") == 0) {
        int rc = up_report_run_status(s, stdout);
        up_store_close(s);
        return rc < 0 ? UP_EXIT_FAIL : UP_EXIT_OK;
    }
    up_store_stats_t st;
    up_store_stats(s, &st);
    char from[40] = "-", to[40] = "-";
    if (st.events) {
        up_time_fmt(from, st.min_ts);
        up_time_fmt(to, st.max_ts);
    }
    printf("store       %s\nevents      %llu (%s .. %s)\nusers       %u in events, %u (account, user) pairs\n"
           "accounts    %u in events\nevent names %u\nlog         %llu bytes (%.2f bytes/event)\nsnapshot    %llu bytes\n",
           up_store_dir(s), (unsigned long long)st.events, from, to, st.users, st.pairs, st.accounts,
           st.event_names, (unsigned long long)st.log_bytes, st.events ? (double)st.log_bytes / (double)st.events : 0.0,
           (unsigned long long)st.snapshot_bytes);
    sqlite3_stmt *q;
    static const char *const tables[] = {"accounts", "users", "surveys", "subscriptions", "outcomes",
                                         "tickets", "milestones", "rejects"};
    up_buf_t line = {0};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]);
        if (sqlite3_prepare_v2(up_store_db(s), sql, -1, &q, NULL) != SQLITE_OK)
            continue;
        if (sqlite3_step(q) == SQLITE_ROW)
            up_buf_printf(&line, "%s%lld %s", line.len ? ", " : "", (long long)sqlite3_column_int64(q, 0), tables[i]);
        sqlite3_finalize(q);
    }
    if (line.len)
        printf("tables      %s\n", line.data);
    up_buf_free(&line);
    up_store_close(s);
    return UP_EXIT_OK;
}

/* ---- serve / keys ------------------------------------------------------ */

static int cmd_serve(const args_t *a)
{
    if (a->npos != 1) {
        fprintf(stderr, "usage: uptake serve [--listen HOST:PORT] [--config FILE] [--log-level L]\n");
        return UP_EXIT_USAGE;
    }
    up_server_cfg_t cfg;
    char err[1024];
    up_server_cfg_default(&cfg, data_dir(a));
    if (a->val[O_CONFIG] && up_server_cfg_load(&cfg, a->val[O_CONFIG], err, sizeof err) < 0) {
        fprintf(stderr, "uptake serve: %s\n", err);
        return UP_EXIT_USAGE;
    }
    if (a->val[O_DATA])
        snprintf(cfg.data, sizeof cfg.data, "%s", a->val[O_DATA]);
    if (a->val[O_LISTEN])
        snprintf(cfg.listen, sizeof cfg.listen, "%s", a->val[O_LISTEN]);
    if (a->val[O_ASSETS_DIR])
        snprintf(cfg.assets_dir, sizeof cfg.assets_dir, "%s", a->val[O_ASSETS_DIR]);
    if (a->val[O_LOG_LEVEL] && (cfg.log_level = up_server_log_level(a->val[O_LOG_LEVEL])) < 0) {
        fprintf(stderr, "uptake serve: --log-level: expected error, warn, info or debug\n");
        return UP_EXIT_USAGE;
    }
    int rc = up_server_run(&cfg, stderr, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "uptake serve: %s\n", err);
        return rc == -UP_EUSAGE ? UP_EXIT_USAGE : UP_EXIT_STORE;
    }
    return UP_EXIT_OK;
}

/* keys live in uptake.db but need no store lock: a running server picks up
 * a new or revoked key within a second */
static int cmd_keys(const args_t *a)
{
    const char *sub = a->npos > 1 ? a->pos[1] : "";
    int create = strcmp(sub, "create") == 0, list = strcmp(sub, "list") == 0, revoke = strcmp(sub, "revoke") == 0;
    if ((!create && !list && !revoke) || a->npos != (revoke ? 3 : 2) ||
        (create && a->set[O_WRITE] == a->set[O_READ]) || (!create && (a->set[O_WRITE] || a->set[O_READ] || a->val[O_NAME])) ||
        ((a->set[O_EVENTS_ONLY] || a->set[O_SERVER_SIDE]) && !(create && a->set[O_WRITE])) ||
        (a->set[O_EVENTS_ONLY] && a->set[O_SERVER_SIDE])) {
        fprintf(stderr, "usage: uptake keys create --write [--events-only|--server-side]|--read [--name N] |"
                        " keys list [--format json] | keys revoke ID\n");
        return UP_EXIT_USAGE;
    }
    char *path = up_store_db_path(data_dir(a));
    sqlite3 *db = NULL;
    if (!path || access(path, F_OK) != 0 || sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "uptake keys: %s: no store here (run `uptake init --data %s` first)\n", data_dir(a), data_dir(a));
        sqlite3_close(db);
        free(path);
        return UP_EXIT_STORE;
    }
    free(path);
    sqlite3_busy_timeout(db, 10000);
    int rc, exit_code = UP_EXIT_OK;
    if (create) {
        char key[64];
        rc = up_keys_create(db, a->set[O_WRITE] ? UP_KEY_WRITE : UP_KEY_READ, a->val[O_NAME], !a->set[O_SERVER_SIDE],
                            key, sizeof key);
        if (rc == 0) {
            printf("%s\n", key);
            fprintf(stderr, "uptake keys: a %s (id %.12s); it is shown only this once: keep it somewhere safe\n",
                    !a->set[O_WRITE] ? "read token for the API and dashboard"
                    : a->set[O_SERVER_SIDE] ? "server-side write key (events, account traits, nudges)"
                                            : "events-only write key (no account traits, no nudges)", key);
        }
    } else if (list) {
        int json = a->val[O_FORMAT] && strcmp(a->val[O_FORMAT], "json") == 0;
        rc = up_keys_list(db, stdout, json);
    } else {
        rc = up_keys_revoke(db, a->pos[2]);
        if (rc == -UP_ENOTFOUND) {
            fprintf(stderr, "uptake keys: no live key with id '%s' (see `uptake keys list`)\n", a->pos[2]);
            exit_code = UP_EXIT_FAIL;
        } else if (rc == 0)
            fprintf(stderr, "uptake keys: revoked %.12s\n", a->pos[2]);
    }
    if (rc < 0 && rc != -UP_ENOTFOUND) {
        fprintf(stderr, "uptake keys: %s: %s\n", up_strerror(rc), sqlite3_errmsg(db));
        exit_code = UP_EXIT_STORE;
    }
    sqlite3_close(db);
    return exit_code;
}

/* ---- alerts / tasks ------------------------------------------------------ */

/* A read-write connection to the store's uptake.db beside any running
 * writer (alerts and tasks need no store lock). */
static sqlite3 *open_db_rw(const args_t *a, const char *verb)
{
    char *path = up_store_db_path(data_dir(a));
    sqlite3 *db = NULL;
    if (!path || access(path, F_OK) != 0 || sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "uptake %s: %s: no store here (run `uptake init --data %s` first)\n", verb, data_dir(a),
                data_dir(a));
        sqlite3_close(db);
        free(path);
        return NULL;
    }
    free(path);
    sqlite3_busy_timeout(db, 10000);
    /* reads through a mapping, as the store's own connection: a page read by
     * pread costs a system call, and an evaluation reads every live alert */
    sqlite3_exec(db, "PRAGMA mmap_size = 1073741824", NULL, NULL, NULL);
    return db;
}

static int64_t now_or_as_of(const args_t *a, int *bad)
{
    int64_t T;
    *bad = 0;
    if (a->val[O_AS_OF]) {
        if (up_report_run_parse_as_of(a->val[O_AS_OF], &T) < 0)
            *bad = 1;
        return T;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int parse_id(const char *s, int64_t *id)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '#')
        v = strtoll(s + 1, &end, 10);
    if (*end || v <= 0)
        return -1;
    *id = v;
    return 0;
}

static int cmd_alerts(const args_t *a)
{
    const char *sub = a->npos > 1 ? a->pos[1] : "";
    int needs_id = !strcmp(sub, "show") || !strcmp(sub, "ack") || !strcmp(sub, "snooze") || !strcmp(sub, "resolve");
    if ((!needs_id && strcmp(sub, "evaluate") && strcmp(sub, "list")) || a->npos != (needs_id ? 3 : 2) ||
        (!strcmp(sub, "snooze") != !!a->val[O_UNTIL])) {
        fprintf(stderr, "usage: uptake alerts evaluate [--as-of DATE] | list [--state S] [--format F] | show ID |"
                        " ack ID | snooze ID --until DATE | resolve ID\n");
        return UP_EXIT_USAGE;
    }
    int fmt = a->val[O_FORMAT] ? up_fmt_parse(a->val[O_FORMAT]) : UP_FMT_TABLE;
    int bad;
    int64_t T = now_or_as_of(a, &bad);
    if (fmt < 0 || bad) {
        fprintf(stderr, "uptake alerts: %s\n", bad ? "--as-of: expected a date (YYYY-MM-DD)" : "unknown format");
        return UP_EXIT_USAGE;
    }
    char today[16];
    up_date_fmt(today, up_day_of(T));
    int64_t id = 0;
    if (needs_id && parse_id(a->pos[2], &id) < 0) {
        fprintf(stderr, "uptake alerts: '%s' is not an alert id (see `uptake alerts list`)\n", a->pos[2]);
        return UP_EXIT_USAGE;
    }
    int32_t until_day;
    if (a->val[O_UNTIL] && up_date_parse(a->val[O_UNTIL], strlen(a->val[O_UNTIL]), &until_day) < 0) {
        fprintf(stderr, "uptake alerts: --until: expected a date (YYYY-MM-DD)\n");
        return UP_EXIT_USAGE;
    }
    sqlite3 *db = open_db_rw(a, "alerts");
    if (!db)
        return UP_EXIT_STORE;
    int rc = 0, exit_code = UP_EXIT_OK;
    if (!strcmp(sub, "evaluate")) {
        up_store_t *s;
        if (open_store(a, UP_STORE_READ | UP_STORE_DEFER, &s) < 0) {
            sqlite3_close(db);
            return UP_EXIT_STORE;
        }
        up_alerts_stats_t st;
        char err[512];
        rc = up_alerts_evaluate(s, db, T, &st, err, sizeof err);
        long wait = a->val[O_WAIT] ? strtol(a->val[O_WAIT], NULL, 10) : 30;
        if (rc == 0)
            rc = up_playbook_deliver(db, up_store_model(s), (int)wait, &st);
        if (rc < 0)
            fprintf(stderr, "uptake alerts: %s\n", err[0] ? err : up_strerror(rc));
        else
            printf("alerts as of %s: %d accounts x %d rules; %d opened, %d still open, %d resolved, %d reopened after"
                   " a snooze, %d held back by a cooldown; %d tasks; webhooks: %d queued, %d delivered, %d failed"
                   " attempts, %d given up\n", today, st.accounts, st.rules, st.opened, st.still_open, st.resolved,
                   st.reopened, st.cooled_down, st.tasks, st.deliveries_queued, st.delivered, st.delivery_failures,
                   st.given_up);
        if (rc >= 0 && st.data_stale) {
            char last[40];
            up_time_fmt(last, st.last_event_ms);
            printf("data stopped arriving: the last event is at %s, more than data_stale_hours (%d) before %s;"
                   " the per-account rules are held back until data arrives again (alert %s)\n", last,
                   up_store_model(s)->alert_settings.data_stale_hours, today, UP_ALERT_DATA_STOPPED);
        }
        up_store_close(s);
    } else if (!strcmp(sub, "list")) {
        rc = up_alerts_list(db, stdout, a->val[O_STATE], fmt);
    } else if (!strcmp(sub, "show")) {
        rc = up_alerts_show(db, stdout, id, fmt);
    } else {
        rc = up_alerts_set_state(db, id, sub, a->val[O_UNTIL], today);
        if (rc == 0)
            printf("alert #%lld: %s\n", (long long)id, !strcmp(sub, "ack") ? "acknowledged"
                                                    : !strcmp(sub, "snooze") ? "snoozed" : "resolved");
    }
    if (rc == -UP_ENOTFOUND) {
        fprintf(stderr, "uptake alerts: no alert #%lld\n", (long long)id);
        exit_code = UP_EXIT_FAIL;
    } else if (rc == -UP_EINVAL) {
        fprintf(stderr, "uptake alerts: alert #%lld is resolved already\n", (long long)id);
        exit_code = UP_EXIT_FAIL;
    } else if (rc < 0)
        exit_code = UP_EXIT_STORE;
    sqlite3_close(db);
    return exit_code;
}

static int cmd_tasks(const args_t *a)
{
    const char *sub = a->npos > 1 ? a->pos[1] : "";
    int done = !strcmp(sub, "done");
    if ((!done && strcmp(sub, "list")) || a->npos != (done ? 3 : 2)) {
        fprintf(stderr, "usage: uptake tasks list [--all] [--format F] | tasks done ID\n");
        return UP_EXIT_USAGE;
    }
    int fmt = a->val[O_FORMAT] ? up_fmt_parse(a->val[O_FORMAT]) : UP_FMT_TABLE;
    int bad;
    int64_t T = now_or_as_of(a, &bad);
    int64_t id = 0;
    if (fmt < 0 || bad || (done && parse_id(a->pos[2], &id) < 0)) {
        fprintf(stderr, "usage: uptake tasks list [--all] [--format F] | tasks done ID\n");
        return UP_EXIT_USAGE;
    }
    sqlite3 *db = open_db_rw(a, "tasks");
    if (!db)
        return UP_EXIT_STORE;
    char today[16];
    up_date_fmt(today, up_day_of(T));
    int rc = done ? up_alerts_task_done(db, id, today) : up_alerts_tasks_list(db, stdout, a->set[O_ALL], fmt);
    if (done && rc == 0)
        printf("task #%lld: done\n", (long long)id);
    int exit_code = rc == 0 ? UP_EXIT_OK : rc == -UP_ENOTFOUND ? UP_EXIT_FAIL : UP_EXIT_STORE;
    if (rc == -UP_ENOTFOUND)
        fprintf(stderr, "uptake tasks: no open task #%lld\n", (long long)id);
    sqlite3_close(db);
    return exit_code;
}

/* check and repair: 0 when the store is whole, 1 when problems are (left),
 * 3 when it cannot be read. */
static int cmd_check(const args_t *a, int repair)
{
    if (a->npos != 1) {
        fprintf(stderr, "usage: uptake %s\n", repair ? "repair [--drop-damaged]" : "check");
        return UP_EXIT_USAGE;
    }
    char err[1024] = "";
    int rc = repair ? up_check_repair(data_dir(a), a->set[O_DROP_DAMAGED], stdout, err, sizeof err)
                    : up_check_store(data_dir(a), stdout, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "uptake %s: %s\n", a->verb->name, err[0] ? err : up_strerror(rc));
    return rc < 0 ? UP_EXIT_STORE : rc > 0 ? UP_EXIT_FAIL : UP_EXIT_OK;
}

/* export: the store of --data into a new ClickHouse store at --out. */
static int cmd_export(const args_t *a)
{
    if (a->npos != 1 || !a->val[O_TO] || strcmp(a->val[O_TO], "clickhouse") || !a->val[O_CLICKHOUSE] ||
        !a->val[O_OUT]) {
        fprintf(stderr, "usage: uptake %s\n", VERBS[NVERBS - 1].usage);
        return UP_EXIT_USAGE;
    }
    char err[1024] = "";
    uint64_t n = 0;
    double t0 = now_s();
    up_ch_conf_t conf;
    if (ch_conf(a, &conf) < 0)
        return UP_EXIT_USAGE;
    int rc = up_export_clickhouse(data_dir(a), a->val[O_OUT], &conf, stderr, &n, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "uptake export: %s\n", err[0] ? err : up_strerror(rc));
        return rc == -UP_EUSAGE ? UP_EXIT_USAGE : UP_EXIT_STORE;
    }
    printf("%s: %llu events sent to ClickHouse (%.2f s); the store at %s reads them\n", data_dir(a),
           (unsigned long long)n, now_s() - t0, a->val[O_OUT]);
    return UP_EXIT_OK;
}

int up_cli_main(int argc, char **argv)
{
    args_t a;
    /* a file-size limit (ulimit -f) is a write error with its own message,
     * not death between the fsync and the summary */
    signal(SIGXFSZ, SIG_IGN);
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("uptake %s\n", UPTAKE_VERSION);
        return UP_EXIT_OK;
    }
    if (parse_args(argc, argv, &a) < 0)
        return UP_EXIT_USAGE;
    if (!a.verb) {
        usage_all(a.set[O_HELP] || a.npos ? stdout : stderr);
        return a.set[O_HELP] || a.npos ? UP_EXIT_OK : UP_EXIT_USAGE;
    }
    if (a.set[O_HELP]) {
        usage_verb(stdout, a.verb);
        return UP_EXIT_OK;
    }
    switch (a.verb->bit) {
    case V_INIT: return cmd_init(&a);
    case V_MODEL: return cmd_model(&a);
    case V_IMPORT: return cmd_import(&a);
    case V_REJECTS: return cmd_rejects(&a);
    case V_REPORT: return cmd_report(&a);
    case V_DEMO: return cmd_demo(&a);
    case V_STATUS: return cmd_status(&a);
    case V_SERVE: return cmd_serve(&a);
    case V_KEYS: return cmd_keys(&a);
    case V_ALERTS: return cmd_alerts(&a);
    case V_TASKS: return cmd_tasks(&a);
    case V_BACKTEST: return cmd_backtest(&a);
    case V_CHECK: return cmd_check(&a, 0);
    case V_REPAIR: return cmd_check(&a, 1);
    case V_EXPORT: return cmd_export(&a);
    }
    return UP_EXIT_USAGE;
}
