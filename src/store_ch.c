/* store_ch: events in ClickHouse (store_ch.h has the contract).
 * Writes go in TabSeparated batches to the events table (Distributed with
 * a cluster, sharded by cityHash64(account_id)); reads ask every shard's
 * local table for the rollup's groups, de-duplicated by message id on the
 * shard, and fold them on this side in one global order of first use so
 * that dictionary ids do not depend on which shard answered first. */
#include "store_ch.h"
#include "store_ch_scan.h"
#include "timeparse.h"
#include "util.h"

#include "dynlib.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SHARDS 64

struct up_ch {
    char *urls[MAX_SHARDS];
    int n_urls;
    char cluster[128];
    char db[128];
    char user[128];
    char *password;          /* read from password_file at open */
    char *password_file;     /* absolute, or NULL */
    int insert_quorum;
    up_buf_t gdup;           /* "(h, h, …)": hashes of client ids with copies on two shards */
    int gdup_ready;          /* gdup holds the answer of the current read */
    up_buf_t batch;
    size_t rows;
    uint64_t last_seq;
    char err[1024];
};

/* ---- settings ------------------------------------------------------------ */

static int name_ok(const char *s)
{
    if (!s || !*s || strlen(s) >= 128)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* Splits urls at commas into ch->urls (each without a trailing slash). */
static int parse_urls(up_ch_t *ch, const char *urls, char *err, size_t errlen)
{
    const char *p = urls;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && p[n - 1] == '/')
            n--;
        if (ch->n_urls == MAX_SHARDS)
            return up_errf(err, errlen, -UP_EUSAGE, "--clickhouse: more than %d URLs", MAX_SHARDS);
        if (!((n > 7 && !strncmp(p, "http://", 7)) || (n > 8 && !strncmp(p, "https://", 8))))
            return up_errf(err, errlen, -UP_EUSAGE, "--clickhouse: '%.*s' is not an http:// or https:// URL",
                           (int)n, p);
        if (!(ch->urls[ch->n_urls++] = up_strndup(p, n)))
            return -UP_ENOMEM;
        p = e ? e + 1 : NULL;
    }
    return ch->n_urls ? 0 : up_errf(err, errlen, -UP_EUSAGE, "--clickhouse: no URL given");
}

/* The first line of path (at most 1 KiB, no NUL): the password. */
static char *read_password(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        up_errf(err, errlen, -UP_EUSAGE, "--password-file %s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[1026];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t len = strcspn(buf, "\r\n");
    if (len > 1024 || memchr(buf, '\0', len) != NULL || strlen(buf) < len) {
        up_errf(err, errlen, -UP_EUSAGE, "--password-file %s: the first line is not a password of at most 1024"
                " bytes", path);
        return NULL;
    }
    buf[len] = '\0';
    char *p = up_strdup(buf);
    if (!p)
        up_errf(err, errlen, -UP_ENOMEM, "out of memory");
    return p;
}

static int settings_make(up_ch_t *ch, const up_ch_conf_t *c, char *err, size_t errlen)
{
    int rc = parse_urls(ch, c->urls ? c->urls : "", err, errlen);
    if (rc < 0)
        return rc;
    const char *database = c->database && c->database[0] ? c->database : "uptake";
    const char *cluster = c->cluster && c->cluster[0] ? c->cluster : NULL;
    if (!name_ok(database))
        return up_errf(err, errlen, -UP_EUSAGE, "--database: '%s' is not a name of letters, digits and _", database);
    if (cluster && !name_ok(cluster))
        return up_errf(err, errlen, -UP_EUSAGE, "--cluster: '%s' is not a name of letters, digits and _", cluster);
    if (!cluster && ch->n_urls > 1)
        return up_errf(err, errlen, -UP_EUSAGE, "--clickhouse names %d servers: name their cluster with --cluster",
                       ch->n_urls);
    if (c->user && c->user[0] && (strlen(c->user) >= sizeof ch->user || strpbrk(c->user, ":\r\n")))
        return up_errf(err, errlen, -UP_EUSAGE, "--user: '%s' is not a ClickHouse user name", c->user);
    if (c->password_file && c->password_file[0] && !(c->user && c->user[0]))
        return up_errf(err, errlen, -UP_EUSAGE, "--password-file goes with --user");
    if (c->insert_quorum < 0 || c->insert_quorum > 64)
        return up_errf(err, errlen, -UP_EUSAGE, "--insert-quorum: %d is not 0 to 64", c->insert_quorum);
    snprintf(ch->db, sizeof ch->db, "%s", database);
    snprintf(ch->cluster, sizeof ch->cluster, "%s", cluster ? cluster : "");
    snprintf(ch->user, sizeof ch->user, "%s", c->user ? c->user : "");
    ch->insert_quorum = c->insert_quorum;
    if (c->password_file && c->password_file[0]) {
        if (!(ch->password_file = realpath(c->password_file, NULL)))
            return up_errf(err, errlen, -UP_EUSAGE, "--password-file %s: %s", c->password_file, strerror(errno));
        if (!(ch->password = read_password(ch->password_file, err, errlen)))
            return -UP_EUSAGE;
    }
    return 0;
}

void up_ch_free(up_ch_t *ch)
{
    if (!ch)
        return;
    for (int i = 0; i < ch->n_urls; i++)
        free(ch->urls[i]);
    if (ch->password)
        memset(ch->password, 0, strlen(ch->password));
    free(ch->password);
    free(ch->password_file);
    up_buf_free(&ch->batch);
    up_buf_free(&ch->gdup);
    free(ch);
}

int up_ch_unsupported(up_ch_t *ch, const char *what)
{
    return up_errf(ch->err, sizeof ch->err, -UP_EINVAL, "this report needs %s, which a ClickHouse store does not"
                   " serve yet (see docs/scale-out.md)", what);
}

const char *up_ch_error(const up_ch_t *ch)
{
    return ch ? ch->err : "";
}

/* ---- what store_ch_scan.c reads (store_ch_scan.h) ------------------------ */

int up_ch_shards(const up_ch_t *ch)
{
    return ch->n_urls;
}

const char *up_ch_url(const up_ch_t *ch, int i)
{
    return ch->urls[i];
}

const char *up_ch_database(const up_ch_t *ch)
{
    return ch->db;
}

char *up_ch_errbuf(up_ch_t *ch, size_t *len)
{
    *len = sizeof ch->err;
    return ch->err;
}

static const char *local_table(const up_ch_t *ch);
static size_t unescape(char *s, size_t n);

const char *up_ch_local_table(const up_ch_t *ch)
{
    return local_table(ch);
}

size_t up_ch_tsv_unescape(char *s, size_t n)
{
    return unescape(s, n);
}

/* ---- HTTP ---------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    return up_buf_append(ctx, p, size * n) < 0 ? 0 : size * n;
}

/* ClickHouse's answer says the user or password is wrong: HTTP 401 or
 * 403, or (18.16 answers 500) its codes 192-195 (unknown user, wrong or
 * missing password, address not allowed) or 516 (authentication failed,
 * the code of newer versions). */
static int refused_user(long status, const up_buf_t *out)
{
    if (status == 401 || status == 403)
        return 1;
    static const char *codes[] = {"Code: 192,", "Code: 193,", "Code: 194,", "Code: 195,", "Code: 516,"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (out->data && out->len >= strlen(codes[i]) && !memcmp(out->data, codes[i], strlen(codes[i])))
            return 1;
    return 0;
}

void up_ch_query_params(size_t sql_len, char *out, size_t outlen)
{
    size_t need = sql_len + 4096;
    snprintf(out, outlen, "max_query_size=%zu", need > 262144 ? need : (size_t)262144);
}

void up_ch_curl_auth(const up_ch_t *ch, void *curl)
{
    if (!curl || !ch->user[0])
        return;
    up_curl()->easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    up_curl()->easy_setopt(curl, CURLOPT_USERNAME, ch->user);
    up_curl()->easy_setopt(curl, CURLOPT_PASSWORD, ch->password ? ch->password : "");
}

/* POSTs body to url with the URL parameters params (already escaped);
 * the answer's body goes to out. A failure writes to err (errlen bytes)
 * naming url. Gives up connecting after connect_s seconds, and on the
 * whole request after total_s. Safe to call from several threads at once. */
static int post_to(const up_ch_t *ch, const char *url, const char *params, const char *body, size_t len,
                   up_buf_t *out, char *err, size_t errlen, long connect_s, long total_s)
{
    char full[2048];
    snprintf(full, sizeof full, "%s/?%s", url, params);
    CURL *c = up_curl()->easy_init();
    if (!c)
        return up_curl_missing() ? up_errf(err, errlen, -UP_EIO, "cannot reach ClickHouse at %s: %s", url,
                                           up_curl_missing())
                                 : -UP_ENOMEM;
    up_buf_reset(out);
    up_ch_curl_auth(ch, c);
    up_curl()->easy_setopt(c, CURLOPT_URL, full);
    up_curl()->easy_setopt(c, CURLOPT_POST, 1L);
    up_curl()->easy_setopt(c, CURLOPT_POSTFIELDS, body);
    up_curl()->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    up_curl()->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    up_curl()->easy_setopt(c, CURLOPT_WRITEDATA, out);
    up_curl()->easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_s);
    up_curl()->easy_setopt(c, CURLOPT_TIMEOUT, total_s);
    up_curl()->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = up_curl()->easy_perform(c);
    long status = 0;
    up_curl()->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    up_curl()->easy_cleanup(c);
    if (cc != CURLE_OK)
        return up_errf(err, errlen, -UP_EIO, "cannot reach ClickHouse at %s: %s", url, up_curl()->easy_strerror(cc));
    if (status != 200 && refused_user(status, out))
        return up_errf(err, errlen, -UP_EIO, "ClickHouse at %s refused the user '%s' (HTTP %ld): check --user and"
                       " --password-file against the server's users.xml", url, ch->user[0] ? ch->user : "default",
                       status);
    if (status != 200) {
        size_t n = out->len;
        while (n && (out->data[n - 1] == '\n' || out->data[n - 1] == ' '))
            n--;
        return up_errf(err, errlen, -UP_EIO, "ClickHouse at %s answered HTTP %ld: %.*s", url, status,
                       (int)(n > 600 ? 600 : n), out->data ? out->data : "");
    }
    return 0;
}

int up_ch_ping(const up_ch_t *ch, int i, char *err, size_t errlen)
{
    up_buf_t out = {0};
    int rc = post_to(ch, ch->urls[i], "", "SELECT 1", 8, &out, err, errlen, 2, 3);
    up_buf_free(&out);
    return rc;
}

static int post(up_ch_t *ch, const char *url, const char *params, const char *body, size_t len, up_buf_t *out)
{
    return post_to(ch, url, params, body, len, out, ch->err, sizeof ch->err, 5, 600);
}

/* Runs one statement (DDL or a SELECT) on shard i; the answer in out. */
static int run(up_ch_t *ch, int i, const char *sql, up_buf_t *out)
{
    char params[64];
    up_ch_query_params(strlen(sql), params, sizeof params);
    return post(ch, ch->urls[i], params, sql, strlen(sql), out);
}

/* ---- schema -------------------------------------------------------------- */

/* The table that holds a shard's own events. */
static const char *local_table(const up_ch_t *ch)
{
    return ch->cluster[0] ? "events_local" : "events";
}

/* The number of shards of the cluster as every server sees it must be the
 * number of URLs given, so that reads ask each shard once. */
static int check_cluster(up_ch_t *ch, up_buf_t *out)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT shard_num) FROM system.clusters WHERE cluster = '%s'",
             ch->cluster);
    for (int i = 0; i < ch->n_urls; i++) {
        int rc = run(ch, i, sql, out);
        if (rc < 0)
            return rc;
        long shards = strtol(out->data ? out->data : "0", NULL, 10);
        if (shards != ch->n_urls)
            return up_errf(ch->err, sizeof ch->err, -UP_EUSAGE,
                           "ClickHouse at %s has %ld shards in cluster '%s', but --clickhouse names %d URLs"
                           " (give one HTTP URL per shard, in the order of its remote_servers)",
                           ch->urls[i], shards, ch->cluster, ch->n_urls);
    }
    return 0;
}

/* ts: ms since the epoch (UTC) as Int64, since 18.16 has no DateTime64;
 * seq: the order of storing, for "the first stored wins". */
static int create_schema(up_ch_t *ch)
{
    up_buf_t out = {0}, sql = {0};
    int rc = ch->cluster[0] ? check_cluster(ch, &out) : 0;
    for (int i = 0; rc == 0 && i < ch->n_urls; i++) {
        up_buf_reset(&sql);
        up_buf_printf(&sql, "CREATE DATABASE IF NOT EXISTS %s", ch->db);
        if ((rc = run(ch, i, sql.data, &out)) < 0)
            break;
        up_buf_reset(&sql);
        up_buf_printf(&sql, "CREATE TABLE IF NOT EXISTS %s.%s (ts Int64, user_id String, account_id String,"
                      " event String, message_id String, seq UInt64) ENGINE = MergeTree"
                      " PARTITION BY toYYYYMM(toDate(toDateTime(intDiv(ts, 1000))))"
                      " ORDER BY (account_id, user_id, ts)", ch->db, local_table(ch));
        if ((rc = run(ch, i, sql.data, &out)) < 0 || !ch->cluster[0])
            continue;
        up_buf_reset(&sql);
        up_buf_printf(&sql, "CREATE TABLE IF NOT EXISTS %s.events AS %s.events_local"
                      " ENGINE = Distributed(%s, %s, events_local, cityHash64(account_id))",
                      ch->db, ch->db, ch->cluster, ch->db);
        rc = run(ch, i, sql.data, &out);
    }
    up_buf_free(&out);
    up_buf_free(&sql);
    return rc;
}

static const char SETTINGS_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS engine_settings(key TEXT PRIMARY KEY, value TEXT NOT NULL)";

static int save_settings(sqlite3 *db, const up_ch_t *ch, const char *urls, char *err, size_t errlen)
{
    char quorum[16];
    snprintf(quorum, sizeof quorum, "%d", ch->insert_quorum);
    const char *kv[][2] = {{"engine", "clickhouse"}, {"clickhouse", urls}, {"cluster", ch->cluster},
                           {"database", ch->db}, {"user", ch->user},
                           {"password_file", ch->password_file ? ch->password_file : ""},
                           {"insert_quorum", quorum}};
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_exec(db, SETTINGS_SCHEMA, NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO engine_settings(key, value) VALUES (?, ?)", -1, &st,
                                NULL) == SQLITE_OK ? 0 : -UP_EDB;
    for (size_t i = 0; rc == 0 && i < sizeof kv / sizeof *kv; i++) {
        sqlite3_bind_text(st, 1, kv[i][0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kv[i][1], -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -UP_EDB;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc < 0 ? up_errf(err, errlen, rc, "cannot store the engine settings: %s", sqlite3_errmsg(db)) : 0;
}

int up_ch_init(sqlite3 *db, const up_ch_conf_t *conf, char *err, size_t errlen)
{
    up_ch_t *ch = calloc(1, sizeof *ch);
    if (!ch)
        return -UP_ENOMEM;
    int rc = settings_make(ch, conf, err, errlen);
    if (rc == 0 && (rc = create_schema(ch)) < 0)
        snprintf(err, errlen, "%s", ch->err);
    if (rc == 0)
        rc = save_settings(db, ch, conf->urls, err, errlen);
    up_ch_free(ch);
    return rc;
}

int up_ch_open(sqlite3 *db, up_ch_t **out, char *err, size_t errlen)
{
    *out = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT key, value FROM engine_settings", -1, &st, NULL) != SQLITE_OK)
        return 0;   /* no such table: an embedded store */
    enum { ENGINE, URLS, CLUSTER, DATABASE, USER, PASSWORD_FILE, QUORUM, NKEYS };
    const char *keys[NKEYS] = {"engine", "clickhouse", "cluster", "database", "user", "password_file",
                               "insert_quorum"};
    char *vals[NKEYS] = {0};
    while (sqlite3_step(st) == SQLITE_ROW)
        for (int i = 0; i < NKEYS; i++)
            if (!vals[i] && sqlite3_column_text(st, 0) && sqlite3_column_text(st, 1) &&
                !strcmp((const char *)sqlite3_column_text(st, 0), keys[i]))
                vals[i] = up_strdup((const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    int rc = 0;
    if (vals[ENGINE] && !strcmp(vals[ENGINE], "clickhouse")) {
        up_ch_t *ch = calloc(1, sizeof *ch);
        up_ch_conf_t c = {vals[URLS] ? vals[URLS] : "", vals[CLUSTER], vals[DATABASE], vals[USER],
                          vals[PASSWORD_FILE], vals[QUORUM] ? atoi(vals[QUORUM]) : 0};
        rc = !ch ? -UP_ENOMEM : settings_make(ch, &c, err, errlen);
        if (rc == 0)
            *out = ch;
        else
            up_ch_free(ch);
    }
    for (int i = 0; i < NKEYS; i++)
        free(vals[i]);
    return rc;
}

/* ---- check ---------------------------------------------------------------- */

/* The first line of shard i's answer to sql, in buf: 0, or -UP_EIO with
 * ch->err set. */
static int ask(up_ch_t *ch, int i, const char *sql, char *buf, size_t len)
{
    up_buf_t out = {0};
    int rc = run(ch, i, sql, &out);
    size_t n = 0;
    while (rc == 0 && out.data && n < out.len && out.data[n] != '\n' && n + 1 < len)
        n++;
    if (len) {
        if (rc == 0 && n)
            memcpy(buf, out.data, n);
        buf[n] = '\0';
    }
    up_buf_free(&out);
    return rc;
}

/* The slots [lo, hi) of cityHash64(account_id) % *total that shard i owns,
 * from the shards' weights in order ("1,1", as system.clusters lists them). */
static int shard_slots(const char *weights, int i, uint64_t *lo, uint64_t *hi, uint64_t *total)
{
    uint64_t sum = 0;
    int k = 0;
    for (const char *p = weights; *p; k++) {
        char *end;
        uint64_t w = strtoull(p, &end, 10);
        if (k == i)
            *lo = sum, *hi = sum + w;
        sum += w;
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p)
            break;   /* not a number: the caller refuses the list */
    }
    *total = sum;
    return k > i && sum ? 0 : -UP_EINVAL;
}

int up_ch_check(up_ch_t *ch, FILE *out)
{
    static const char want[] = "ts Int64,user_id String,account_id String,event String,message_id String,seq UInt64";
    const char *t = local_table(ch);
    int problems = 0;
    char weights[4096] = "";   /* the shards' weights, asked once of the first shard that gets that far */
    for (int i = 0; i < ch->n_urls; i++) {
        char sql[1024], got[1024], head[300];
        snprintf(head, sizeof head, "clickhouse shard %d of %d (%s)", i + 1, ch->n_urls, ch->urls[i]);
        if (ask(ch, i, "SELECT 1", got, sizeof got) < 0) {
            problems++;
            if (out)
                fprintf(out, "%s: %s\n", head, ch->err);
            continue;
        }
        snprintf(sql, sizeof sql, "SELECT arrayStringConcat(groupArray(concat(name, ' ', type)), ',') FROM"
                 " (SELECT name, type FROM system.columns WHERE database = '%s' AND table = '%s')",
                 ch->db, t);
        if (ask(ch, i, sql, got, sizeof got) < 0 || strcmp(got, want) != 0) {
            problems++;
            if (out)
                fprintf(out, "%s: the table %s.%s%s%s\n", head, ch->db, t, ch->err[0] ? ": " : " ", ch->err[0] ? ch->err :
                        !got[0] ? "is missing (`uptake init` with the same settings creates it)" :
                        "has other columns than uptake writes");
            continue;
        }
        if (ch->cluster[0]) {
            snprintf(sql, sizeof sql, "SELECT engine FROM system.tables WHERE database = '%s' AND name = 'events'",
                     ch->db);
            if (ask(ch, i, sql, got, sizeof got) < 0 || strcmp(got, "Distributed") != 0) {
                problems++;
                if (out)
                    fprintf(out, "%s: %s\n", head, ch->err[0] ? ch->err : "the Distributed table events is missing"
                            " (`uptake init` with the same settings creates it)");
                continue;
            }
        }
        char rows[64] = "?";
        snprintf(sql, sizeof sql, "SELECT count() FROM %s.%s", ch->db, t);
        if (ask(ch, i, sql, rows, sizeof rows) < 0) {
            problems++;
            if (out)
                fprintf(out, "%s: %s\n", head, ch->err);
            continue;
        }
        uint64_t lo = 0, hi = 0, total = 0;
        if (ch->cluster[0]) {
            if (!weights[0]) {
                snprintf(sql, sizeof sql, "SELECT arrayStringConcat(groupArray(toString(w)), ',') FROM (SELECT"
                         " shard_num, any(shard_weight) AS w FROM system.clusters WHERE cluster = '%s'"
                         " GROUP BY shard_num ORDER BY shard_num)", ch->cluster);
                if (ask(ch, i, sql, weights, sizeof weights) < 0)
                    weights[0] = '\0';
            }
            if (!weights[0] || shard_slots(weights, i, &lo, &hi, &total) < 0) {
                problems++;
                if (out)
                    fprintf(out, "%s: cannot read the shards' weights of cluster '%s'%s%s\n", head, ch->cluster,
                            ch->err[0] ? ": " : "", ch->err);
                continue;
            }
            snprintf(sql, sizeof sql, "SELECT count() FROM %s.%s WHERE NOT (cityHash64(account_id) %% %llu >= %llu"
                     " AND cityHash64(account_id) %% %llu < %llu)", ch->db, t, (unsigned long long)total,
                     (unsigned long long)lo, (unsigned long long)total, (unsigned long long)hi);
            if (ask(ch, i, sql, got, sizeof got) < 0 || strcmp(got, "0") != 0) {
                problems++;
                if (out)
                    fprintf(out, "%s: %s%s%s\n", head, ch->err[0] ? ch->err : got,
                            ch->err[0] ? "" : strcmp(got, "1") ? " rows" : " row",
                            ch->err[0] ? "" : " of accounts another shard owns (written around the Distributed"
                            " table?): reports would count them apart from their account's other events");
                continue;
            }
        }
        if (out)
            fprintf(out, "%s: ok (%s rows in %s.%s%s)\n", head, rows, ch->db, t,
                    ch->cluster[0] ? ", each on the shard of its account" : "");
    }
    ch->err[0] = '\0';
    return problems;
}

/* ---- writes -------------------------------------------------------------- */

/* A TabSeparated field: backslash, tab and newline escaped. */
static int put_field(up_buf_t *b, const char *s, size_t n, char sep)
{
    for (size_t i = 0; i < n; i++) {
        const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '\t' ? "\\t" : s[i] == '\n' ? "\\n"
                        : s[i] == '\r' ? "\\r" : s[i] == '\0' ? "\\0" : NULL;
        if (esc ? up_buf_puts(b, esc) < 0 : up_buf_append(b, &s[i], 1) < 0)
            return -UP_ENOMEM;
    }
    return up_buf_append(b, &sep, 1);
}

/* Strictly increasing within the process and across runs: the wall clock
 * in µs, or one more than the last. */
static uint64_t next_seq(up_ch_t *ch)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    uint64_t us = (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
    ch->last_seq = us > ch->last_seq ? us : ch->last_seq + 1;
    return ch->last_seq;
}

/* Rows per INSERT: UP_CH_BATCH_ROWS, or UPTAKE_CH_BATCH_ROWS from the
 * environment (1 to 1,000,000: above ClickHouse's max_insert_block_size a
 * batch would no longer be one part per shard, written whole or not). */
static size_t batch_rows(void)
{
    static size_t n;
    if (!n) {
        const char *e = getenv("UPTAKE_CH_BATCH_ROWS");
        long v = e ? strtol(e, NULL, 10) : 0;
        n = v >= 1 && v <= 1000000 ? (size_t)v : UP_CH_BATCH_ROWS;
    }
    return n;
}

int up_ch_append(up_ch_t *ch, int64_t ts, const char *user, size_t user_len, const char *account,
                 size_t account_len, const char *event, size_t event_len, const char *msgid,
                 size_t msgid_len)
{
    up_buf_t *b = &ch->batch;
    if (up_buf_printf(b, "%lld\t", (long long)ts) < 0 || put_field(b, user, user_len, '\t') < 0 ||
        put_field(b, account, account_len, '\t') < 0 || put_field(b, event, event_len, '\t') < 0 ||
        put_field(b, msgid ? msgid : "", msgid ? msgid_len : 0, '\t') < 0 ||
        up_buf_printf(b, "%llu\n", (unsigned long long)next_seq(ch)) < 0)
        return -UP_ENOMEM;
    return ++ch->rows >= batch_rows() ? up_ch_flush(ch) : 0;
}

/* The first line of s, at most max bytes, without a trailing ':' or space. */
static int first_line(const char *s, int max)
{
    int n = 0;
    while (n < max && s[n] && s[n] != '\n')
        n++;
    while (n && (s[n - 1] == ':' || s[n - 1] == ' '))
        n--;
    return n;
}

/* After a failed insert: the first URL forwards each shard's rows, so its
 * answer names a shard only by its TCP address. Asks every shard for
 * SELECT 1 (5 s at most each) and, when one does not answer, puts its URL
 * and number first in the error, the forwarder's words after. */
static void blame_shard(up_ch_t *ch)
{
    char why[1024];
    snprintf(why, sizeof why, "%s", ch->err);
    up_buf_t out = {0};
    for (int i = 0; i < ch->n_urls; i++) {
        if (run(ch, i, "SELECT 1", &out) == 0)
            continue;
        char down[1024];
        snprintf(down, sizeof down, "%s", ch->err);
        if (i == 0)   /* the forwarder itself: its error says it */
            snprintf(ch->err, sizeof ch->err, "ClickHouse shard 1 of %d is down: %.900s", ch->n_urls, why);
        else
            snprintf(ch->err, sizeof ch->err, "ClickHouse shard %d of %d is down: %.300s; the insert through %.200s"
                     " failed: %.*s", i + 1, ch->n_urls, down, ch->urls[0], first_line(why, 400), why);
        break;
    }
    up_buf_free(&out);   /* every shard answers: ch->err is still the insert's own error */
}

int up_ch_flush(up_ch_t *ch)
{
    ch->err[0] = '\0';
    if (!ch->rows)
        return 0;
    char q[512], params[1024];
    snprintf(q, sizeof q, "INSERT INTO %s.events (ts, user_id, account_id, event, message_id, seq) FORMAT TabSeparated",
             ch->db);
    char *esc = up_curl()->easy_escape(NULL, q, 0);
    if (!esc)
        return -UP_ENOMEM;
    int k = snprintf(params, sizeof params, "insert_distributed_sync=1");
    if (ch->insert_quorum > 0)
        k += snprintf(params + k, sizeof params - (size_t)k, "&insert_quorum=%d", ch->insert_quorum);
    snprintf(params + k, sizeof params - (size_t)k, "&query=%s", esc);
    up_curl()->free(esc);
    up_buf_t out = {0};
    int rc = post(ch, ch->urls[0], params, ch->batch.data, ch->batch.len, &out);
    up_buf_free(&out);
    if (rc < 0)
        blame_shard(ch);
    if (rc == 0) {
        up_buf_reset(&ch->batch);
        ch->rows = 0;
    }
    return rc;
}

/* ---- reads --------------------------------------------------------------- */

/* One row of a shard's answer: an (account, user, event) with, for the
 * days it has events in the cutoff, the day, the count and (a key
 * action's only) the first and last ts of the day. Its strings point into
 * the answer; its numbers are at off in the pool: days[nd], counts[nd],
 * then firsts[nka] and lasts[nka] (nka is 0 or nd). */
typedef struct {
    char *acc, *user, *event;
    size_t alen, ulen, elen;
    int64_t first;            /* the first ts, in or after the cutoff: the order of first use */
    int64_t min_in, max_in;   /* the first and last ts in the cutoff (when nd > 0) */
    size_t off;
    uint32_t nd, nka;
} group_t;

typedef struct {
    group_t *g;
    size_t n, cap;
    int64_t *pool;
    size_t pn, pcap;
} groups_t;

/* Undoes TabSeparated escaping in place; returns the new length. */
static size_t unescape(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            c = s[++i];
            c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == '0' ? '\0' : c == 'b' ? '\b'
              : c == 'f' ? '\f' : c;
        }
        s[o++] = c;
    }
    return o;
}

/* A ClickHouse array of whole numbers ("[1,2,3]", "[]") appended to the
 * pool; *n its length. */
static int parse_array(const char *f, size_t len, groups_t *gs, uint32_t *n)
{
    if (len < 2 || f[0] != '[' || f[len - 1] != ']')
        return -UP_EPARSE;
    *n = 0;
    const char *p = f + 1, *end = f + len - 1;
    while (p < end) {
        char *q;
        errno = 0;
        long long v = strtoll(p, &q, 10);
        if (q == p || q > end || errno || (q < end && *q != ','))
            return -UP_EPARSE;
        if (gs->pn == gs->pcap) {
            size_t cap = gs->pcap ? gs->pcap * 2 : 4096;
            int64_t *np = realloc(gs->pool, cap * sizeof *np);
            if (!np)
                return -UP_ENOMEM;
            gs->pool = np, gs->pcap = cap;
        }
        gs->pool[gs->pn++] = v;
        ++*n;
        p = q < end ? q + 1 : q;
    }
    return 0;
}

/* One answer line: account, user, event, first, first and last in the
 * cutoff, then the arrays of days, counts, firsts and lasts. */
static int parse_group(char *line, groups_t *gs, group_t *g)
{
    char *f[10];
    size_t len[10];
    for (int i = 0; i < 10; i++) {
        char *e = strchr(line, i < 9 ? '\t' : '\0');
        if (!e)
            return -UP_EPARSE;
        f[i] = line;
        len[i] = (size_t)(e - line);
        *e = '\0';
        line = e + 1;
    }
    g->acc = f[0], g->alen = unescape(f[0], len[0]);
    g->user = f[1], g->ulen = unescape(f[1], len[1]);
    g->event = f[2], g->elen = unescape(f[2], len[2]);
    char *end;
    int64_t *v[3] = {&g->first, &g->min_in, &g->max_in};
    for (int i = 0; i < 3; i++) {
        errno = 0;
        *v[i] = strtoll(f[3 + i], &end, 10);
        if (end == f[3 + i] || *end || errno)
            return -UP_EPARSE;
    }
    g->off = gs->pn;
    uint32_t nd, nn, nmin, nmax;
    int rc;
    if ((rc = parse_array(f[6], len[6], gs, &nd)) < 0 || (rc = parse_array(f[7], len[7], gs, &nn)) < 0 ||
        (rc = parse_array(f[8], len[8], gs, &nmin)) < 0 || (rc = parse_array(f[9], len[9], gs, &nmax)) < 0)
        return rc;
    if (nn != nd || nmin != nmax || (nmin && nmin != nd))
        return -UP_EPARSE;
    for (uint32_t i = 0; i < nd; i++)   /* days that up_day_of can give, counts of at least 1 */
        if (gs->pool[g->off + i] < -1000000 || gs->pool[g->off + i] > 1000000 || gs->pool[g->off + nd + i] < 1)
            return -UP_EPARSE;
    g->nd = nd, g->nka = nmin;
    return 0;
}

static int parse_groups(char *data, size_t len, groups_t *gs)
{
    char *p = data, *end = data + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return -UP_EPARSE;
        *nl = '\0';
        if (gs->n == gs->cap) {
            size_t cap = gs->cap ? gs->cap * 2 : 1024;
            group_t *g = realloc(gs->g, cap * sizeof *g);
            if (!g)
                return -UP_ENOMEM;
            gs->g = g, gs->cap = cap;
        }
        int rc = parse_group(p, gs, &gs->g[gs->n]);
        if (rc < 0)
            return rc;
        gs->n++;
        p = nl + 1;
    }
    return 0;
}

static int fetch_gdup(up_ch_t *ch);

/* The de-duplicated events of one shard as a subquery with the columns a,
 * u, e, t (ts) and s (seq): events without a message id are all kept; of the
 * rows that share one, the first stored (the least seq).
 *
 * Only ids that occur more than once need grouping, so the shard first
 * finds those, by a 64-bit hash (a GROUP BY over numbers, several times
 * cheaper than over strings): L, the hashes that occur more than once on
 * this shard, and G (fetch_gdup), those of client ids with rows on more
 * than one shard. A row whose hash is in neither is the only row of its id
 * and goes through as it is. The rows of a hash in L only (all copies here)
 * are grouped by the id itself, argMin(…, seq) picking the first stored. A
 * row of a hash in G is kept when its (id, seq) is the id's first stored in
 * the whole cluster, which a GLOBAL IN over the Distributed table says. A
 * hash that two different ids share only sends their rows the long way:
 * every step that decides compares the ids themselves, so the answer is
 * exact either way.
 *
 * raw_where filters the rows that go through as they are, out_where the
 * first-stored rows of the other ids (the row stored first decides the
 * event's time, name and account); acc_narrow (or "") narrows the ids of L
 * (for one account: those with a row of it). */
int up_ch_dedup_sql(up_ch_t *ch, up_buf_t *b, const char *raw_where, const char *acc_narrow, const char *out_where)
{
    int rc = ch->gdup_ready ? 0 : fetch_gdup(ch);
    if (rc < 0)
        return rc;
    const char *db = ch->db, *t = local_table(ch), *g = ch->gdup.len ? ch->gdup.data : NULL;
    char dup[512];
    snprintf(dup, sizeof dup, "SELECT h FROM (SELECT cityHash64(message_id) AS h FROM %s.%s WHERE message_id != ''"
             " GROUP BY h HAVING count() > 1)", db, t);
    if (up_buf_printf(b, "SELECT account_id AS a, user_id AS u, event AS e, ts AS t, seq AS s FROM %s.%s"
                      " WHERE (message_id = '' OR (cityHash64(message_id) NOT IN (%s)", db, t, dup) < 0 ||
        (g && (up_buf_puts(b, " AND cityHash64(message_id) NOT IN ") < 0 || up_buf_puts(b, g) < 0)) ||
        up_buf_printf(b, ")) AND %s UNION ALL SELECT a, u, e, t, s FROM (SELECT argMin(account_id, seq) AS a,"
                      " argMin(user_id, seq) AS u, argMin(event, seq) AS e, argMin(ts, seq) AS t, min(seq) AS s"
                      " FROM %s.%s WHERE message_id != '' AND cityHash64(message_id) IN (%s)", raw_where, db, t, dup) < 0 ||
        (g && (up_buf_puts(b, " AND cityHash64(message_id) NOT IN ") < 0 || up_buf_puts(b, g) < 0)) ||
        up_buf_printf(b, "%s GROUP BY message_id) WHERE %s", acc_narrow, out_where) < 0)
        return -UP_ENOMEM;
    if (g && (up_buf_printf(b, " UNION ALL SELECT a, u, e, t, s FROM (SELECT account_id AS a, user_id AS u,"
                            " event AS e, ts AS t, seq AS s FROM %s.%s WHERE cityHash64(message_id) IN %s"
                            " AND (message_id, seq) GLOBAL IN (SELECT message_id, min(seq) FROM %s.events"
                            " WHERE cityHash64(message_id) IN %s GROUP BY message_id)) WHERE %s",
                            db, t, g, db, g, out_where) < 0))
        return -UP_ENOMEM;
    return 0;
}

/* The rollup's rows of one shard: its de-duplicated events grouped per
 * (account, user, event, UTC day, ts <= cutoff, key action), then per
 * (account, user, event): the first ts of all, the first and last ts in
 * the cutoff, and for the days in the cutoff the day and count, and the
 * day's first and last ts for a key action (which the rollup keeps per
 * day), none for another event (the rollup keeps only its days, counts and
 * first and last use). So what crosses the network is a row per account ×
 * user × event name, with numbers for its active days. */
static int groups_sql(up_ch_t *ch, const up_rollup_t *r, int64_t cutoff, up_buf_t *sql)
{
    int rc;
    up_buf_t ka = {0};
    const up_model_t *m = r->model;
    for (size_t i = 0; m && i < m->n_key_actions; i++)
        if (up_buf_puts(&ka, ka.len ? ", " : "e IN (") < 0 ||
            up_ch_put_literal(&ka, m->key_actions[i], strlen(m->key_actions[i])) < 0) {
            up_buf_free(&ka);
            return -UP_ENOMEM;
        }
    if (ka.len ? up_buf_puts(&ka, ")") < 0 : up_buf_puts(&ka, "0") < 0) {
        up_buf_free(&ka);
        return -UP_ENOMEM;
    }
    rc = up_buf_printf(sql, "SELECT a, u, e, min(mn), minIf(mn, inw), maxIf(mx, inw), groupArrayIf(day, inw),"
                       " groupArrayIf(n, inw), groupArrayIf(mn, inw AND ka), groupArrayIf(mx, inw AND ka) FROM"
                       " (SELECT a, u, e, toInt64(floor(t / 86400000)) AS day, t <= %lld AS inw, %s AS ka,"
                       " count() AS n, min(t) AS mn, max(t) AS mx FROM (", (long long)cutoff, ka.data) < 0
       ? -UP_ENOMEM : 0;
    up_buf_free(&ka);
    if (rc == 0)
        rc = up_ch_dedup_sql(ch, sql, "1", "", "1");
    if (rc == 0 && up_buf_puts(sql, ") GROUP BY a, u, e, day, inw, ka) GROUP BY a, u, e FORMAT TabSeparated") < 0)
        rc = -UP_ENOMEM;
    return rc;
}

static int cmp_str(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* The order of first use: by first ts, ties by account, user, event. */
static int cmp_group(const void *pa, const void *pb)
{
    const group_t *a = pa, *b = pb;
    int c;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    if ((c = cmp_str(a->acc, a->alen, b->acc, b->alen)) || (c = cmp_str(a->user, a->ulen, b->user, b->ulen)))
        return c;
    return cmp_str(a->event, a->elen, b->event, b->elen);
}

/* Adds k events to the active-event count of pair p on day (an entry
 * up_rollup_add has just made). */
static void add_evd_count(up_pair_t *p, int32_t day, uint64_t k)
{
    for (uint32_t i = p->n_evd; i-- > 0;)
        if (p->evd[i].day == day) {
            p->evd[i].n += (uint32_t)k;
            return;
        }
}

/* Folds the events of one day through up_rollup_add: at t1, and at t2
 * when two is set and there are more (t2 may equal t1), then the count of
 * the others onto the events and the day's active-event count. */
static int fold_day(up_rollup_t *r, uint32_t pid, uint32_t eid, int64_t t1, int64_t t2, int two, uint64_t n)
{
    up_ev_t ev = {t1, pid, eid};
    int rc = up_rollup_add(r, &ev);
    uint64_t folded = 1;
    if (rc == 0 && two && n > 1) {
        ev.ts = t2;
        rc = up_rollup_add(r, &ev);
        folded = 2;
    }
    if (rc < 0 || n <= folded)
        return rc;
    r->events += n - folded;
    if (!r->evclass[eid].passive)
        add_evd_count(&r->pairs[pid], up_day_of(t1), n - folded);
    return 0;
}

/* One row folded: its strings and pair interned (also for a row with no
 * day in the cutoff, so that rollups of two cutoffs share their ids), then
 * each day in the cutoff. What up_rollup_add keeps of an event is its day
 * (the day sets and counts), the first and last ts of the pair, the first
 * use and exposure of a feature, and for a key action the first and last
 * time of each day: so a key action's day is folded at its first and last
 * ts; another event's at its first ts in the cutoff on that day, its last
 * on the last day, and any instant of the day between (the day's start). */
static int fold_group(up_rollup_t *r, const groups_t *gs, const group_t *g)
{
    int added;
    int64_t uid = up_dict_intern(&r->dict[UP_KIND_USER], g->user, g->ulen, &added);
    int64_t aid = up_dict_intern(&r->dict[UP_KIND_ACCOUNT], g->acc, g->alen, &added);
    int64_t eid = up_dict_intern(&r->dict[UP_KIND_EVENT], g->event, g->elen, &added);
    if (uid < 0 || aid < 0 || eid < 0)
        return -UP_ENOMEM;
    int64_t pid = up_rollup_pair(r, (uint32_t)aid, (uint32_t)uid, &added);
    if (pid < 0 || !g->nd)
        return pid < 0 ? (int)pid : 0;
    const int64_t *days = gs->pool + g->off, *ns = days + g->nd, *mins = ns + g->nd, *maxs = mins + g->nka;
    int32_t dmin = up_day_of(g->min_in), dmax = up_day_of(g->max_in);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < g->nd; i++) {
        int32_t d = (int32_t)days[i];
        uint64_t n = (uint64_t)ns[i];
        if (g->nka)
            rc = fold_day(r, (uint32_t)pid, (uint32_t)eid, mins[i], maxs[i], 1, n);
        else if (d == dmin)
            rc = fold_day(r, (uint32_t)pid, (uint32_t)eid, g->min_in, g->max_in, d == dmax, n);
        else if (d == dmax)
            rc = fold_day(r, (uint32_t)pid, (uint32_t)eid, g->max_in, g->max_in, 0, n);
        else
            rc = fold_day(r, (uint32_t)pid, (uint32_t)eid, (int64_t)d * UP_MS_PER_DAY, 0, 0, n);
    }
    return rc;
}

/* One shard's part of a read of every shard, on a thread of its own. */
typedef struct {
    const up_ch_t *ch;
    int shard;
    const char *sql;
    up_buf_t ans;
    int rc;
    char err[1024];
} shard_read_t;

static void *read_shard(void *arg)
{
    shard_read_t *sr = arg;
    const char *url = sr->ch->urls[sr->shard];
    char params[64];
    up_ch_query_params(strlen(sr->sql), params, sizeof params);
    sr->rc = post_to(sr->ch, url, params, sr->sql, strlen(sr->sql), &sr->ans, sr->err, sizeof sr->err, 5, 600);
    return NULL;
}

/* Runs sql on every shard at once (a thread each: the wait is the slowest
 * shard's, not the sum), the answers in sr[i].ans (the caller frees them).
 * Returns 0, or the first failing shard's error in ch->err. */
static int run_all(up_ch_t *ch, const char *sql, shard_read_t *sr)
{
    pthread_t *th = calloc((size_t)ch->n_urls, sizeof *th);
    char *started = calloc((size_t)ch->n_urls, 1);
    int rc = th && started ? 0 : -UP_ENOMEM;
    for (int i = 0; rc == 0 && i < ch->n_urls; i++) {
        up_buf_free(&sr[i].ans);
        sr[i] = (shard_read_t){.ch = ch, .shard = i, .sql = sql};
        started[i] = pthread_create(&th[i], NULL, read_shard, &sr[i]) == 0;
        if (!started[i])
            read_shard(&sr[i]);
    }
    for (int i = 0; th && started && i < ch->n_urls; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    for (int i = 0; rc == 0 && i < ch->n_urls; i++)
        if ((rc = sr[i].rc) < 0)
            snprintf(ch->err, sizeof ch->err, "%s", sr[i].err);
    free(th);
    free(started);
    return rc;
}

/* A RowBinary UInt64: little-endian. */
static uint64_t le64(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | u[i];
    return v;
}

/* Rows of client ids a shard sends per pass of fetch_gdup at most (8 bytes
 * each): a store with more asks in several passes over ranges of the hash,
 * so that memory stays bounded whatever the number of ids. */
#define GDUP_PASS_ROWS (8u << 20)

/* The hashes of the client message ids that have rows on more than one
 * shard, into ch->gdup as "(h, h, …)" (empty when there are none, or
 * without a cluster). Copies on one shard are the shard's own grouping's
 * (L in up_ch_dedup_sql), and the ids uptake made up (UP_CH_SYNTH_PREFIX)
 * always stand for one account, on one shard, so only client ids are
 * asked for. Each shard sends the sorted hashes of its client ids
 * (RowBinary, 8 bytes each), every shard at once; uptake merges the sorted
 * lists and keeps the hashes found on two shards or more. A store with
 * more than GDUP_PASS_ROWS such rows on a shard is asked in passes over
 * ranges of the hash. A sorted list costs each shard a sort, where a
 * GROUP BY through the Distributed table would merge every id's state on
 * one server (10 s and more at 10M ids, measured). */
static int fetch_gdup(up_ch_t *ch)
{
    up_buf_reset(&ch->gdup);
    ch->gdup_ready = 1;
    if (!ch->cluster[0])
        return 0;
    const char *t = local_table(ch);
    char sql[768];
    static const char client[] = "message_id != '' AND substring(message_id, 1, 1) != '\\xFF'";
    shard_read_t *sr = calloc((size_t)ch->n_urls, sizeof *sr);
    size_t *pos = calloc((size_t)ch->n_urls, sizeof *pos);
    int rc = sr && pos ? 0 : -UP_ENOMEM;
    uint64_t most = 0, passes = 1, found = 0;
    snprintf(sql, sizeof sql, "SELECT count() FROM %s.%s WHERE %s", ch->db, t, client);
    if (rc == 0)
        rc = run_all(ch, sql, sr);
    for (int i = 0; rc == 0 && i < ch->n_urls; i++) {
        uint64_t n = strtoull(sr[i].ans.data ? sr[i].ans.data : "0", NULL, 10);
        most = n > most ? n : most;
    }
    passes = most / GDUP_PASS_ROWS + 1;
    for (uint64_t p = 0; rc == 0 && p < passes; p++) {
        uint64_t width = UINT64_MAX / passes, lo = p * width, hi = p == passes - 1 ? UINT64_MAX : lo + width - 1;
        snprintf(sql, sizeof sql, "SELECT h FROM (SELECT cityHash64(message_id) AS h FROM %s.%s WHERE %s)"
                 " WHERE h >= %llu AND h <= %llu ORDER BY h FORMAT RowBinary", ch->db, t, client,
                 (unsigned long long)lo, (unsigned long long)hi);
        if ((rc = run_all(ch, sql, sr)) < 0)
            break;
        for (int i = 0; rc == 0 && i < ch->n_urls; i++) {
            pos[i] = 0;
            if (sr[i].ans.len % 8)
                rc = up_errf(ch->err, sizeof ch->err, -UP_EIO, "ClickHouse at %s: cannot read its answer (%zu bytes"
                             " of 8-byte hashes)", ch->urls[i], sr[i].ans.len);
        }
        /* the merge: the least hash at the heads, on how many shards */
        for (;;) {
            uint64_t least = UINT64_MAX;
            int any = 0;
            for (int i = 0; rc == 0 && i < ch->n_urls; i++)
                if (pos[i] < sr[i].ans.len) {
                    uint64_t h = le64(sr[i].ans.data + pos[i]);
                    least = !any || h < least ? h : least;
                    any = 1;
                }
            if (rc < 0 || !any)
                break;
            int shards = 0;
            for (int i = 0; i < ch->n_urls; i++) {
                int here = 0;
                while (pos[i] < sr[i].ans.len) {
                    if (le64(sr[i].ans.data + pos[i]) != least)
                        break;
                    here = 1;
                    pos[i] += 8;
                }
                shards += here;
                /* each list is sorted: a shard that says otherwise is not believed */
                if (pos[i] < sr[i].ans.len && le64(sr[i].ans.data + pos[i]) < least)
                    rc = up_errf(ch->err, sizeof ch->err, -UP_EIO, "ClickHouse at %s: its hashes are not in order",
                                 ch->urls[i]);
            }
            if (rc == 0 && shards > 1 &&
                (up_buf_printf(&ch->gdup, "%s%llu", found++ ? ", " : "(", (unsigned long long)least) < 0))
                rc = -UP_ENOMEM;
        }
    }
    if (rc == 0 && found && up_buf_puts(&ch->gdup, ")") < 0)
        rc = -UP_ENOMEM;
    for (int i = 0; sr && i < ch->n_urls; i++)
        up_buf_free(&sr[i].ans);
    free(sr);
    free(pos);
    if (rc < 0) {
        up_buf_reset(&ch->gdup);
        ch->gdup_ready = 0;
    }
    return rc;
}

int up_ch_fill(up_ch_t *ch, up_rollup_t *r, int64_t cutoff)
{
    up_buf_t sql = {0};
    shard_read_t *sr = calloc((size_t)ch->n_urls, sizeof *sr);
    groups_t gs = {0};
    int rc = sr ? 0 : -UP_ENOMEM;
    ch->err[0] = '\0';
    ch->gdup_ready = 0;   /* asked again for every rollup: new events may have come */
    if (rc == 0)
        rc = groups_sql(ch, r, cutoff, &sql);
    if (rc == 0)
        rc = run_all(ch, sql.data, sr);
    for (int i = 0; rc == 0 && i < ch->n_urls; i++)
        if ((rc = parse_groups(sr[i].ans.data, sr[i].ans.len, &gs)) < 0)
            up_errf(ch->err, sizeof ch->err, rc, "ClickHouse at %s: cannot read its answer", ch->urls[i]);
    if (rc == 0 && gs.n)
        qsort(gs.g, gs.n, sizeof *gs.g, cmp_group);
    for (size_t i = 0; rc == 0 && i < gs.n; i++)
        rc = fold_group(r, &gs, &gs.g[i]);
    for (int i = 0; sr && i < ch->n_urls; i++)
        up_buf_free(&sr[i].ans);
    free(sr);
    free(gs.g);
    free(gs.pool);
    up_buf_free(&sql);
    return rc;
}
