/* ingest: validation and storage of imported records.
 *
 * Events go to the store's log (up_store_append); CRM tables are upserted in
 * one SQLite transaction per file, where a non-empty field overwrites the
 * stored value and an empty one keeps it (so a partial export never erases
 * data). A record that fails validation is written to the rejects table with
 * the file, line, field and reason, and the import goes on. */
#include "ingest.h"
#include "store_ch.h"
#include "timeparse.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/sha.h>
#include <fcntl.h>

#define MAX_ID 512

static const char *const kind_names[] = {"events", "accounts", "users", "surveys", "subscriptions",
                                         "outcomes", "tickets", "milestones", "churn"};

int up_import_kind_parse(const char *s)
{
    for (int i = 0; i < UP_IMPORT_KINDS; i++)
        if (strcmp(s, kind_names[i]) == 0)
            return i;
    return -1;
}

const char *up_import_kind_name(up_import_kind_t k)
{
    return kind_names[k];
}

/* Field lists per kind; the index constants below follow them. */
enum { E_TS = UP_EF_TS, E_USER = UP_EF_USER, E_ACCOUNT = UP_EF_ACCOUNT, E_EVENT = UP_EF_EVENT,
       E_MSGID = UP_EF_MSGID, E_CREATED = UP_EF_CREATED, E_ROLE = UP_EF_ROLE, E_NAME = UP_EF_NAME,
       E_SEATS = UP_EF_SEATS, E_PLAN = UP_EF_PLAN, E_SEGMENT = UP_EF_SEGMENT, E_OWNER = UP_EF_OWNER,
       E_ARR = UP_EF_ARR, E_CSTART = UP_EF_CSTART, E_RENEW = UP_EF_RENEW, E_N = UP_EF_N };
static const char *const event_fields[] = {
    "ts", "user_id", "account_id", "event", "message_id", "created_at", "role", "name", "seats",
    "plan", "segment", "owner", "arr", "contract_start", "renewal_date"};
enum { A_ID, A_NAME, A_SEATS, A_CSTART, A_RENEW, A_ARR, A_SEGMENT, A_OWNER, A_CHURNED, A_PLAN, A_N };
static const char *const account_fields[] = {
    "account_id", "name", "seats", "contract_start", "renewal_date", "arr", "segment", "owner",
    "churned_at", "plan"};
enum { U_USER, U_ACCOUNT, U_CREATED, U_ROLE, U_DEACT, U_N };
static const char *const user_fields[] = {"user_id", "account_id", "created_at", "role", "deactivated_at"};
enum { S_ACCOUNT, S_USER, S_TS, S_KIND, S_SCORE, S_N };
static const char *const survey_fields[] = {"account_id", "user_id", "ts", "kind", "score"};
enum { B_ACCOUNT, B_START, B_END, B_SEATS, B_ARR, B_ID, B_N };
static const char *const subscription_fields[] = {"account_id", "start", "end", "seats", "arr", "subscription_id"};
enum { O_ACCOUNT, O_METRIC, O_TS, O_VALUE, O_TARGET, O_DUE, O_N };
static const char *const outcome_fields[] = {"account_id", "metric", "ts", "value", "target", "due"};
enum { K_ACCOUNT, K_TS, K_PRIORITY, K_SATISFACTION, K_ID, K_N };
static const char *const ticket_fields[] = {"account_id", "ts", "priority", "satisfaction", "ticket_id"};
enum { M_ACCOUNT, M_NAME, M_DUE, M_DONE, M_OWNER, M_N };
static const char *const milestone_fields[] = {"account_id", "name", "due", "done_at", "owner"};
enum { C_ACCOUNT, C_TS, C_REASON, C_N };
static const char *const churn_fields[] = {"account_id", "ts", "reason"};

typedef struct {
    up_store_t *s;
    sqlite3 *db;
    const char *source;             /* "file", or "http" for the server */
    const char *path;
    const char *identity;       /* an events file's (file_identity), or "" */
    char synth[48];             /* ClickHouse: the message-id prefix of rows without one (ch_synth_prefix) */
    FILE *log;
    int logged;
    up_import_stats_t *st;
    const up_record_t *rec;
    const char *const *fields;
    size_t n_fields;
    char text[4][64];               /* scratch for normalised values */
    sqlite3_stmt *upsert_account, *upsert_user, *insert_survey, *upsert_profile;
    sqlite3_stmt *profile_get, *link_user, *insert_subscription, *insert_outcome, *insert_ticket,
        *upsert_milestone, *account_known, *insert_churn;
    /* user -> account links for events without account_id */
    int links_loaded;
    up_dict_t link_users;
    char **link_account;          /* per link_users id; "" when ambiguous */
    /* the server's cap on the reject rows of one request (up_ingest_reject_cap) */
    uint64_t cap, kept, unkept;
    long unkept_line;
    char unkept_why[256];
} imp_t;

static void rec_text(const imp_t *im, up_buf_t *b)
{
    for (size_t i = 0; i < im->n_fields; i++) {
        if (!im->rec->val[i])
            continue;
        if (b->len)
            up_buf_puts(b, ", ");
        up_buf_printf(b, "%s=%.*s", im->fields[i], (int)(im->rec->len[i] > 200 ? 200 : im->rec->len[i]),
                      im->rec->val[i]);
    }
}

/* Rejects the current record; always returns 0 so callers can `return reject(…)`. */
static int reject(imp_t *im, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reject(imp_t *im, const char *field, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    long line = im->rec ? im->rec->line : 0;
    if (im->cap && im->kept >= im->cap) {   /* counted, summarised by the caller */
        if (!im->unkept++) {
            im->unkept_line = line;
            snprintf(im->unkept_why, sizeof im->unkept_why, "%s: %.200s", field ? field : "record", reason);
        }
    } else {
        up_buf_t b = {0};
        if (im->rec)
            rec_text(im, &b);
        up_store_reject(im->s, im->source, im->path, line, field, reason, b.data ? b.data : "");
        up_buf_free(&b);
        im->kept++;
    }
    im->st->rejected++;
    im->st->reject_field = field ? field : "record";
    if (im->log && im->logged < 10)
        fprintf(im->log, "%s:%ld: %s: %s\n", im->path, line, field ? field : "record", reason);
    else if (im->log && im->logged == 10)
        fprintf(im->log, "%s: more rejects; see `uptake rejects`\n", im->path);
    im->logged++;
    return 0;
}

static int has(const up_record_t *r, int i)
{
    return r->val[i] && r->len[i] > 0;
}

static void bind_opt(sqlite3_stmt *st, int idx, const up_record_t *r, int i)
{
    if (has(r, i))
        sqlite3_bind_text(st, idx, r->val[i], (int)r->len[i], SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, idx);
}

/* Parses a date field (a date or any accepted timestamp, taken as its UTC
 * day) into "YYYY-MM-DD" in out. */
static int parse_date_field(const char *v, size_t n, char *out)
{
    int64_t ms;
    if (up_time_parse(v, n, &ms) < 0 || !up_time_plausible(ms))
        return -1;
    up_date_fmt(out, up_day_of(ms));
    return 0;
}

static int parse_num(const char *v, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    while (*end && isspace((unsigned char)*end))
        end++;
    if (*end || errno || d != d || d == HUGE_VAL || d == -HUGE_VAL)
        return -1;
    *out = d;
    return 0;
}

static int parse_int(const char *v, size_t n, int64_t *out)
{
    double d;
    if (parse_num(v, n, &d) < 0 || d < -9e15 || d > 9e15 || d != (double)(int64_t)d)
        return -1;
    *out = (int64_t)d;
    return 0;
}


static int prepare(imp_t *im, sqlite3_stmt **st, const char *sql)
{
    if (*st)
        return 0;
    return sqlite3_prepare_v2(im->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : -UP_EDB;
}

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -UP_EDB;
}

/* ---- accounts ---------------------------------------------------------- */

static int check_id(imp_t *im, const up_record_t *r, int i, const char *name)
{
    if (!has(r, i))
        return reject(im, name, "missing (required)"), -1;
    if (r->len[i] > MAX_ID)
        return reject(im, name, "longer than %d bytes", MAX_ID), -1;
    return 0;
}

/* Validates and upserts account fields found at the given indexes of r
 * (index -1: the field is not part of this record kind). */
static int upsert_account(imp_t *im, const up_record_t *r, const int idx[A_N])
{
    char cstart[16] = "", renew[16] = "", churned[16] = "";
    int64_t seats = 0;
    double arr = 0;
    const char *names[A_N] = {"account_id", "name", "seats", "contract_start", "renewal_date",
                              "arr", "segment", "owner", "churned_at", "plan"};
    if (check_id(im, r, idx[A_ID], "account_id") < 0)
        return 0;
    if (idx[A_SEATS] >= 0 && has(r, idx[A_SEATS]) &&
        (parse_int(r->val[idx[A_SEATS]], r->len[idx[A_SEATS]], &seats) < 0 || seats < 0))
        return reject(im, "seats", "expected a whole number of seats >= 0, got '%.*s'",
                      (int)r->len[idx[A_SEATS]], r->val[idx[A_SEATS]]);
    if (idx[A_ARR] >= 0 && has(r, idx[A_ARR]) && parse_num(r->val[idx[A_ARR]], r->len[idx[A_ARR]], &arr) < 0)
        return reject(im, "arr", "expected a number, got '%.*s'", (int)r->len[idx[A_ARR]], r->val[idx[A_ARR]]);
    char *dates[3] = {cstart, renew, churned};
    int didx[3] = {A_CSTART, A_RENEW, A_CHURNED};
    for (int k = 0; k < 3; k++) {
        int i = idx[didx[k]];
        if (i >= 0 && has(r, i) && parse_date_field(r->val[i], r->len[i], dates[k]) < 0)
            return reject(im, names[didx[k]], "cannot parse '%.*s' as a date between %d and %d", (int)r->len[i], r->val[i], UP_TIME_MIN_YEAR, UP_TIME_MAX_YEAR);
    }
    if (prepare(im, &im->upsert_account,
            "INSERT INTO accounts(account_id, name, seats, contract_start, renewal_date, arr, segment,"
            " owner, churned_at, plan) VALUES (?1, ?2, coalesce(?3, 0), ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            " ON CONFLICT(account_id) DO UPDATE SET name = coalesce(?2, name), seats = coalesce(?3, seats),"
            " contract_start = coalesce(?4, contract_start), renewal_date = coalesce(?5, renewal_date),"
            " arr = coalesce(?6, arr), segment = coalesce(?7, segment), owner = coalesce(?8, owner),"
            " churned_at = coalesce(?9, churned_at), plan = coalesce(?10, plan)") < 0)
        return -UP_EDB;
    sqlite3_stmt *st = im->upsert_account;
    bind_opt(st, 1, r, idx[A_ID]);
    int text_fields[] = {A_NAME, A_SEGMENT, A_OWNER, A_PLAN};
    int text_pos[] = {2, 7, 8, 10};
    for (int k = 0; k < 4; k++) {
        if (idx[text_fields[k]] >= 0)
            bind_opt(st, text_pos[k], r, idx[text_fields[k]]);
    }
    if (idx[A_SEATS] >= 0 && has(r, idx[A_SEATS]))
        sqlite3_bind_int64(st, 3, seats);
    for (int k = 0; k < 3; k++)
        if (dates[k][0])
            sqlite3_bind_text(st, k == 0 ? 4 : k == 1 ? 5 : 9, dates[k], -1, SQLITE_TRANSIENT);
    if (idx[A_ARR] >= 0 && has(r, idx[A_ARR]))
        sqlite3_bind_double(st, 6, arr);
    if (step_done(st) < 0)
        return -UP_EDB;
    im->st->stored++;
    return 0;
}

/* ---- users and surveys ------------------------------------------------- */

static int parse_ts_field(imp_t *im, const up_record_t *r, int i, const char *name, int64_t *ms)
{
    if (up_time_parse(r->val[i], r->len[i], ms) == 0 && !up_time_plausible(*ms))
        return reject(im, name, "'%.*s' is not a date between %d and %d", (int)(r->len[i] > 60 ? 60 : r->len[i]), r->val[i], UP_TIME_MIN_YEAR, UP_TIME_MAX_YEAR), -1;
    if (up_time_parse(r->val[i], r->len[i], ms) < 0) {
        reject(im, name, "cannot parse '%.*s' as a timestamp (ISO-8601, 'YYYY-MM-DD HH:MM:SS',"
               " a date, or epoch seconds/milliseconds)", (int)(r->len[i] > 60 ? 60 : r->len[i]), r->val[i]);
        return -1;
    }
    return 0;
}

/* The users upsert shared by users imports and Segment identify messages:
 * a non-empty field overwrites, an empty one keeps. */
static int prepare_upsert_user(imp_t *im)
{
    return prepare(im, &im->upsert_user,
            "INSERT INTO users(account_id, user_id, created_at, role, deactivated_at)"
            " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(account_id, user_id) DO UPDATE SET"
            " created_at = coalesce(?3, created_at), role = coalesce(?4, role),"
            " deactivated_at = coalesce(?5, deactivated_at)");
}

static int upsert_user(imp_t *im, const up_record_t *r)
{
    int64_t created = 0, deact = 0;
    if (check_id(im, r, U_USER, "user_id") < 0 || check_id(im, r, U_ACCOUNT, "account_id") < 0)
        return 0;
    if (has(r, U_CREATED) && parse_ts_field(im, r, U_CREATED, "created_at", &created) < 0)
        return 0;
    if (has(r, U_DEACT) && parse_ts_field(im, r, U_DEACT, "deactivated_at", &deact) < 0)
        return 0;
    if (prepare_upsert_user(im) < 0)
        return -UP_EDB;
    sqlite3_stmt *st = im->upsert_user;
    bind_opt(st, 1, r, U_ACCOUNT);
    bind_opt(st, 2, r, U_USER);
    if (has(r, U_CREATED))
        sqlite3_bind_int64(st, 3, created);
    bind_opt(st, 4, r, U_ROLE);
    if (has(r, U_DEACT))
        sqlite3_bind_int64(st, 5, deact);
    if (step_done(st) < 0)
        return -UP_EDB;
    im->st->stored++;
    return 0;
}

static int insert_survey(imp_t *im, const up_record_t *r)
{
    int64_t ts;
    double score;
    char kind[16];
    if (check_id(im, r, S_ACCOUNT, "account_id") < 0)
        return 0;
    if (!has(r, S_TS))
        return reject(im, "ts", "missing (required)");
    if (parse_ts_field(im, r, S_TS, "ts", &ts) < 0)
        return 0;
    if (!has(r, S_KIND) || r->len[S_KIND] >= sizeof kind)
        return reject(im, "kind", "expected nps or csat");
    memcpy(kind, r->val[S_KIND], r->len[S_KIND]);
    kind[r->len[S_KIND]] = '\0';
    up_trim_lower(kind);
    if (strcmp(kind, "nps") != 0 && strcmp(kind, "csat") != 0)
        return reject(im, "kind", "expected nps or csat, got '%s'", kind);
    if (!has(r, S_SCORE) || parse_num(r->val[S_SCORE], r->len[S_SCORE], &score) < 0)
        return reject(im, "score", "expected a number");
    if (strcmp(kind, "nps") == 0 && (score < 0 || score > 10))
        return reject(im, "score", "an NPS answer is 0 to 10, got %g", score);
    if (strcmp(kind, "csat") == 0 && score < 0)
        return reject(im, "score", "a CSAT answer is >= 0, got %g", score);
    if (prepare(im, &im->insert_survey,
            "INSERT OR IGNORE INTO surveys(account_id, user_id, ts, kind, score) VALUES (?, coalesce(?, ''), ?, ?, ?)") < 0)
        return -UP_EDB;
    sqlite3_stmt *st = im->insert_survey;
    bind_opt(st, 1, r, S_ACCOUNT);
    bind_opt(st, 2, r, S_USER);
    sqlite3_bind_int64(st, 3, ts);
    sqlite3_bind_text(st, 4, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 5, score);
    if (step_done(st) < 0)
        return -UP_EDB;
    if (sqlite3_changes(im->db))
        im->st->stored++;
    else
        im->st->duplicates++;
    return 0;
}

/* ---- subscriptions and outcomes --------------------------------------- */

/* A subscription: seats from start (inclusive) to end (exclusive; none =
 * open). Re-imports are idempotent on (account_id, subscription_id, start). */
static int insert_subscription(imp_t *im, const up_record_t *r)
{
    int64_t start, end = 0, seats = 0;
    double arr = 0;
    if (check_id(im, r, B_ACCOUNT, "account_id") < 0)
        return 0;
    if (!has(r, B_START))
        return reject(im, "start", "missing (required)");
    if (parse_ts_field(im, r, B_START, "start", &start) < 0)
        return 0;
    if (has(r, B_END) && parse_ts_field(im, r, B_END, "end", &end) < 0)
        return 0;
    if (has(r, B_END) && end < start)
        return reject(im, "end", "before start");
    if (!has(r, B_SEATS) || parse_int(r->val[B_SEATS], r->len[B_SEATS], &seats) < 0 || seats < 0)
        return reject(im, "seats", "expected a whole number of seats >= 0");
    if (has(r, B_ARR) && parse_num(r->val[B_ARR], r->len[B_ARR], &arr) < 0)
        return reject(im, "arr", "expected a number, got '%.*s'", (int)r->len[B_ARR], r->val[B_ARR]);
    if (prepare(im, &im->insert_subscription,
            "INSERT OR IGNORE INTO subscriptions(account_id, subscription_id, start, end, seats, arr)"
            " VALUES (?, coalesce(?, ''), ?, ?, ?, ?)") < 0)
        return -UP_EDB;
    sqlite3_stmt *st = im->insert_subscription;
    bind_opt(st, 1, r, B_ACCOUNT);
    bind_opt(st, 2, r, B_ID);
    sqlite3_bind_int64(st, 3, start);
    if (has(r, B_END))
        sqlite3_bind_int64(st, 4, end);
    sqlite3_bind_int64(st, 5, seats);
    if (has(r, B_ARR))
        sqlite3_bind_double(st, 6, arr);
    if (step_done(st) < 0)
        return -UP_EDB;
    if (sqlite3_changes(im->db))
        im->st->stored++;
    else
        im->st->duplicates++;
    return 0;
}

/* An outcome measurement; rows keep their order of arrival (seq), which
 * breaks ties on ts. Idempotent on (account_id, metric, ts). */
static int insert_outcome(imp_t *im, const up_record_t *r)
{
    int64_t ts, due = 0;
    double value, target = 0;
    if (check_id(im, r, O_ACCOUNT, "account_id") < 0 || check_id(im, r, O_METRIC, "metric") < 0)
        return 0;
    if (!has(r, O_TS))
        return reject(im, "ts", "missing (required)");
    if (parse_ts_field(im, r, O_TS, "ts", &ts) < 0)
        return 0;
    if (!has(r, O_VALUE) || parse_num(r->val[O_VALUE], r->len[O_VALUE], &value) < 0)
        return reject(im, "value", "expected a number");
    if (has(r, O_TARGET) && parse_num(r->val[O_TARGET], r->len[O_TARGET], &target) < 0)
        return reject(im, "target", "expected a number, got '%.*s'", (int)r->len[O_TARGET], r->val[O_TARGET]);
    if (has(r, O_DUE) && parse_ts_field(im, r, O_DUE, "due", &due) < 0)
        return 0;
    if (prepare(im, &im->insert_outcome,
            "INSERT INTO outcomes(account_id, metric, ts, value, target, due) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            " ON CONFLICT(account_id, metric, ts) DO UPDATE SET value = ?4, target = ?5, due = ?6,"
            " seq = (SELECT coalesce(max(seq), 0) + 1 FROM outcomes)") < 0)
        return -UP_EDB;
    sqlite3_stmt *st = im->insert_outcome;
    bind_opt(st, 1, r, O_ACCOUNT);
    bind_opt(st, 2, r, O_METRIC);
    sqlite3_bind_int64(st, 3, ts);
    sqlite3_bind_double(st, 4, value);
    if (has(r, O_TARGET))
        sqlite3_bind_double(st, 5, target);
    if (has(r, O_DUE))
        sqlite3_bind_int64(st, 6, due);
    if (step_done(st) < 0)
        return -UP_EDB;
    im->st->stored++;
    return 0;
}

/* A support ticket; idempotent on (account_id, ticket_id, ts). */
static int insert_ticket(imp_t *im, const up_record_t *r)
{
    int64_t ts;
    double sat = 0;
    if (check_id(im, r, K_ACCOUNT, "account_id") < 0)
        return 0;
    if (!has(r, K_TS))
        return reject(im, "ts", "missing (required)");
    if (parse_ts_field(im, r, K_TS, "ts", &ts) < 0)
        return 0;
    if (has(r, K_SATISFACTION) && parse_num(r->val[K_SATISFACTION], r->len[K_SATISFACTION], &sat) < 0)
        return reject(im, "satisfaction", "expected a number, got '%.*s'", (int)r->len[K_SATISFACTION],
                      r->val[K_SATISFACTION]);
    if (prepare(im, &im->insert_ticket,
            "INSERT OR IGNORE INTO tickets(account_id, ticket_id, ts, priority, satisfaction)"
            " VALUES (?, coalesce(?, ''), ?, lower(trim(?)), ?)") < 0)
        return -UP_EDB;
    sqlite3_stmt *st = im->insert_ticket;
    bind_opt(st, 1, r, K_ACCOUNT);
    bind_opt(st, 2, r, K_ID);
    sqlite3_bind_int64(st, 3, ts);
    bind_opt(st, 4, r, K_PRIORITY);
    if (has(r, K_SATISFACTION))
        sqlite3_bind_double(st, 5, sat);
    if (step_done(st) < 0)
        return -UP_EDB;
    if (sqlite3_changes(im->db))
        im->st->stored++;
    else
        im->st->duplicates++;
    return 0;
}

/* A churn: the account must be in the accounts table (a churn of an
 * account uptake does not know is rejected); idempotent on (account_id, ts),
 * a re-import updates the reason. A churn before the contract start is
 * kept as it is (metrics.md says what it means). */
static int insert_churn(imp_t *im, const up_record_t *r)
{
    int64_t ts;
    if (check_id(im, r, C_ACCOUNT, "account_id") < 0)
        return 0;
    if (!has(r, C_TS))
        return reject(im, "ts", "missing (required)");
    if (parse_ts_field(im, r, C_TS, "ts", &ts) < 0)
        return 0;
    if (prepare(im, &im->account_known, "SELECT 1 FROM accounts WHERE account_id = ?") < 0)
        return -UP_EDB;
    sqlite3_stmt *q = im->account_known;
    bind_opt(q, 1, r, C_ACCOUNT);
    int rc = sqlite3_step(q), known = rc == SQLITE_ROW;
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -UP_EDB;
    if (!known)
        return reject(im, "account_id", "no account '%.*s' in the accounts table (import it with `uptake import accounts` first)",
                      (int)r->len[C_ACCOUNT], r->val[C_ACCOUNT]);
    if (prepare(im, &im->insert_churn,
            "INSERT INTO churns(account_id, ts, reason) VALUES (?, ?, nullif(trim(?), ''))"
            " ON CONFLICT(account_id, ts) DO UPDATE SET reason = coalesce(excluded.reason, reason)") < 0)
        return -UP_EDB;
    sqlite3_stmt *st = im->insert_churn;
    bind_opt(st, 1, r, C_ACCOUNT);
    sqlite3_bind_int64(st, 2, ts);
    bind_opt(st, 3, r, C_REASON);
    if (step_done(st) < 0)
        return -UP_EDB;
    im->st->stored++;
    return 0;
}

/* An onboarding or adoption-plan milestone, keyed by (account_id, name):
 * a re-import updates it (a non-empty field overwrites). */
static int upsert_milestone(imp_t *im, const up_record_t *r)
{
    int64_t due = 0, done = 0;
    if (check_id(im, r, M_ACCOUNT, "account_id") < 0 || check_id(im, r, M_NAME, "name") < 0)
        return 0;
    if (has(r, M_DUE) && parse_ts_field(im, r, M_DUE, "due", &due) < 0)
        return 0;
    if (has(r, M_DONE) && parse_ts_field(im, r, M_DONE, "done_at", &done) < 0)
        return 0;
    if (prepare(im, &im->upsert_milestone,
            "INSERT INTO milestones(account_id, name, due, done_at, owner) VALUES (?1, ?2, ?3, ?4, ?5)"
            " ON CONFLICT(account_id, name) DO UPDATE SET due = coalesce(?3, due),"
            " done_at = coalesce(?4, done_at), owner = coalesce(?5, owner)") < 0)
        return -UP_EDB;
    sqlite3_stmt *st = im->upsert_milestone;
    bind_opt(st, 1, r, M_ACCOUNT);
    bind_opt(st, 2, r, M_NAME);
    if (has(r, M_DUE))
        sqlite3_bind_int64(st, 3, due);
    if (has(r, M_DONE))
        sqlite3_bind_int64(st, 4, done);
    bind_opt(st, 5, r, M_OWNER);
    if (step_done(st) < 0)
        return -UP_EDB;
    im->st->stored++;
    return 0;
}

/* ---- events ------------------------------------------------------------ */

static void links_free(imp_t *im)
{
    for (uint32_t i = 0; i < im->link_users.n; i++)
        free(im->link_account[i]);
    free(im->link_account);
    up_dict_free(&im->link_users);
}

/* Remembers that user belongs to account; a user seen in two accounts maps
 * to "" (ambiguous, so events without account_id are rejected). */
static int link_set(imp_t *im, const char *user, size_t ulen, const char *account, size_t alen)
{
    int added;
    int64_t id = up_dict_intern(&im->link_users, user, ulen, &added);
    if (id < 0)
        return -UP_ENOMEM;
    if (added) {
        char **la = realloc(im->link_account, im->link_users.cap_ids * sizeof *la);
        if (!la)
            return -UP_ENOMEM;
        im->link_account = la;
        la[id] = up_strndup(account, alen);
        return la[id] ? 0 : -UP_ENOMEM;
    }
    char *cur = im->link_account[id];
    if (cur[0] && (strlen(cur) != alen || memcmp(cur, account, alen) != 0))
        cur[0] = '\0';
    return 0;
}

static int links_load(imp_t *im)
{
    im->links_loaded = 1;
    up_dict_init(&im->link_users);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(im->db, "SELECT user_id, account_id FROM users", -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *u = (const char *)sqlite3_column_text(st, 0), *a = (const char *)sqlite3_column_text(st, 1);
        if (u && a)
            rc = link_set(im, u, strlen(u), a, strlen(a));
    }
    sqlite3_finalize(st);
    return rc;
}

/* identify: store the profile; update the user's rows in every account. */
static int apply_identify(imp_t *im, const up_record_t *r)
{
    int64_t created = 0;
    if (check_id(im, r, E_USER, "user_id") < 0)
        return 0;
    if (has(r, E_CREATED) && parse_ts_field(im, r, E_CREATED, "traits.created_at", &created) < 0)
        return 0;
    if (prepare(im, &im->upsert_profile,
            "INSERT INTO user_profiles(user_id, created_at, role) VALUES (?1, ?2, ?3)"
            " ON CONFLICT(user_id) DO UPDATE SET created_at = coalesce(?2, created_at), role = coalesce(?3, role)") < 0 ||
        prepare(im, &im->link_user,
            "UPDATE users SET created_at = coalesce(?2, created_at), role = coalesce(?3, role) WHERE user_id = ?1") < 0)
        return -UP_EDB;
    sqlite3_stmt *sts[2] = {im->upsert_profile, im->link_user};
    for (int k = 0; k < 2; k++) {
        bind_opt(sts[k], 1, r, E_USER);
        if (has(r, E_CREATED))
            sqlite3_bind_int64(sts[k], 2, created);
        bind_opt(sts[k], 3, r, E_ROLE);
        if (step_done(sts[k]) < 0)
            return -UP_EDB;
    }
    if (has(r, E_ACCOUNT)) {
        if (prepare_upsert_user(im) < 0)
            return -UP_EDB;
        sqlite3_stmt *st = im->upsert_user;
        bind_opt(st, 1, r, E_ACCOUNT);
        bind_opt(st, 2, r, E_USER);
        if (has(r, E_CREATED))
            sqlite3_bind_int64(st, 3, created);
        bind_opt(st, 4, r, E_ROLE);
        if (step_done(st) < 0)
            return -UP_EDB;
        if (im->links_loaded && link_set(im, r->val[E_USER], r->len[E_USER], r->val[E_ACCOUNT], r->len[E_ACCOUNT]) < 0)
            return -UP_ENOMEM;
    }
    im->st->identifies++;
    im->st->stored++;
    return 0;
}

/* group: link the user to the account (with the stored profile) and apply
 * the account traits. */
static int apply_group(imp_t *im, const up_record_t *r)
{
    if (check_id(im, r, E_ACCOUNT, "groupId") < 0)
        return 0;
    int idx[A_N] = {E_ACCOUNT, E_NAME, E_SEATS, E_CSTART, E_RENEW, E_ARR, E_SEGMENT, E_OWNER, -1, E_PLAN};
    uint64_t stored = im->st->stored, rejected = im->st->rejected;
    int rc = upsert_account(im, r, idx);
    if (rc < 0 || im->st->rejected != rejected)
        return rc;
    im->st->stored = stored;
    if (has(r, E_USER)) {
        if (r->len[E_USER] > MAX_ID)
            return reject(im, "userId", "longer than %d bytes", MAX_ID);
        if (prepare(im, &im->profile_get,
                "INSERT INTO users(account_id, user_id, created_at, role)"
                " SELECT ?1, ?2, p.created_at, p.role FROM (SELECT 1) LEFT JOIN user_profiles p ON p.user_id = ?2"
                " WHERE true ON CONFLICT(account_id, user_id) DO NOTHING") < 0)
            return -UP_EDB;
        bind_opt(im->profile_get, 1, r, E_ACCOUNT);
        bind_opt(im->profile_get, 2, r, E_USER);
        if (step_done(im->profile_get) < 0)
            return -UP_EDB;
        if (im->links_loaded && link_set(im, r->val[E_USER], r->len[E_USER], r->val[E_ACCOUNT], r->len[E_ACCOUNT]) < 0)
            return -UP_ENOMEM;
    }
    im->st->groups++;
    im->st->stored++;
    return 0;
}

static int store_event(imp_t *im, const up_record_t *r)
{
    if (r->kind == UP_MSG_IDENTIFY)
        return apply_identify(im, r);
    if (r->kind == UP_MSG_GROUP)
        return apply_group(im, r);
    if (r->kind == UP_MSG_ALIAS || r->kind == UP_MSG_OTHER)
        return reject(im, "type", "%s messages carry no usage event; not stored",
                      r->kind == UP_MSG_ALIAS ? "alias" : "this type of");
    int64_t ts;
    if (!has(r, E_TS))
        return reject(im, "ts", "missing (required)");
    if (parse_ts_field(im, r, E_TS, "ts", &ts) < 0)
        return 0;
    if (check_id(im, r, E_USER, "user_id") < 0)
        return 0;
    if (!has(r, E_EVENT))
        return reject(im, "event", "missing (required)");
    if (r->len[E_EVENT] > MAX_ID)
        return reject(im, "event", "longer than %d bytes", MAX_ID);
    if (has(r, E_MSGID) && r->len[E_MSGID] > MAX_ID)
        return reject(im, "message_id", "longer than %d bytes", MAX_ID);
    const char *account = r->val[E_ACCOUNT];
    size_t alen = r->len[E_ACCOUNT];
    if (!has(r, E_ACCOUNT)) {
        if (!im->links_loaded && links_load(im) < 0)
            return -UP_EDB;
        int64_t id = up_dict_find(&im->link_users, r->val[E_USER], r->len[E_USER]);
        if (id < 0 || !im->link_account[id][0])
            return reject(im, "account_id",
                          id < 0 ? "missing, and the user is in no account of the users table"
                                 : "missing, and the user is in several accounts of the users table");
        account = im->link_account[id];
        alen = strlen(account);
    } else if (alen > MAX_ID)
        return reject(im, "account_id", "longer than %d bytes", MAX_ID);
    const char *mid = has(r, E_MSGID) ? r->val[E_MSGID] : NULL;
    size_t mlen = mid ? r->len[E_MSGID] : 0;
    char synth[80];
    if (!mid && im->synth[0]) {   /* a row of a file into ClickHouse: an id from the file and its line */
        int n = snprintf(synth, sizeof synth, "%s%ld", im->synth, r->line);
        mid = synth, mlen = n > 0 ? (size_t)n : 0;
    }
    int rc = up_store_append(im->s, ts, r->val[E_USER], r->len[E_USER], account, alen,
                             r->val[E_EVENT], r->len[E_EVENT], mid, mlen);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        im->st->stored++;
        im->st->stored_no_id += !has(r, E_MSGID);
    } else
        im->st->duplicates++;
    return 0;
}

/* msg without a leading "line N: " naming this line. */
static const char *strip_line(const char *msg, long line)
{
    char prefix[32];
    int n = snprintf(prefix, sizeof prefix, "line %ld: ", line);
    return n > 0 && strncmp(msg, prefix, (size_t)n) == 0 ? msg + n : msg;
}

static void imp_release(imp_t *im)
{
    sqlite3_stmt *sts[] = {im->upsert_account, im->upsert_user, im->insert_survey, im->upsert_profile,
                           im->profile_get, im->link_user, im->insert_subscription, im->insert_outcome,
                           im->insert_ticket, im->upsert_milestone, im->account_known, im->insert_churn};
    for (size_t i = 0; i < sizeof sts / sizeof *sts; i++)
        sqlite3_finalize(sts[i]);
    if (im->links_loaded)
        links_free(im);
}

/* ---- the commit ---------------------------------------------------------- */

int up_ingest_begin(up_store_t *s)
{
    return sqlite3_exec(up_store_db(s), "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -UP_EDB;
}

/* The one commit order of ingestion (ingest.h explains it): the log
 * (fsynced), then the tables. Used by the file import and by the server. */
int up_ingest_commit(up_store_t *s, int keep, int flags, int *failed)
{
    int rc = 0, step = 0;
    if (keep) {
        rc = flags & UP_INGEST_SNAPSHOT ? up_store_commit(s) : up_store_sync(s);
        if (rc < 0) {
            step = UP_INGEST_FAILED_LOG;
            keep = 0;
        }
    }
    const char *end = keep || (flags & UP_INGEST_KEEP_TABLES) ? "COMMIT" : "ROLLBACK";
    if (sqlite3_exec(up_store_db(s), end, NULL, NULL, NULL) != SQLITE_OK && keep) {
        rc = -UP_EDB;
        step = UP_INGEST_FAILED_TABLES;
    }
    if (failed)
        *failed = step;
    return rc;
}

/* ---- messages from the server ------------------------------------------ */

struct up_ingest {
    imp_t im;
};

int up_ingest_open(up_store_t *s, up_ingest_t **out)
{
    up_ingest_t *in = calloc(1, sizeof *in);
    if (!in)
        return -UP_ENOMEM;
    in->im.s = s;
    in->im.db = up_store_db(s);
    in->im.source = "http";
    in->im.fields = event_fields;
    in->im.n_fields = E_N;
    *out = in;
    return 0;
}

int up_ingest_message(up_ingest_t *in, const up_record_t *r, const char *where, up_import_stats_t *st)
{
    imp_t *im = &in->im;
    im->path = where;
    im->st = st;
    im->rec = r;
    st->read++;
    int rc = store_event(im, r);
    im->rec = NULL;
    return rc;
}

void up_ingest_reject_cap(up_ingest_t *in, uint64_t cap)
{
    in->im.cap = cap;
    in->im.kept = in->im.unkept = 0;
}

uint64_t up_ingest_rejects_unkept(const up_ingest_t *in, long *line, const char **why)
{
    *line = in->im.unkept_line;
    *why = in->im.unkept_why;
    return in->im.unkept;
}

up_store_t *up_ingest_store(up_ingest_t *in)
{
    return in->im.s;
}

void up_ingest_close(up_ingest_t *in)
{
    if (in) {
        imp_release(&in->im);
        free(in);
    }
}

/* The imports row of a file, inside the import's transaction. */
static void record_import(sqlite3 *db, up_import_kind_t kind, const char *path, const up_import_stats_t *st)
{
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db,
            "INSERT INTO imports(at, kind, file, read, stored, duplicates, rejected)"
            " VALUES (strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?, ?, ?, ?, ?)", -1, &ins, NULL) == SQLITE_OK) {
        sqlite3_bind_text(ins, 1, kind_names[kind], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, (sqlite3_int64)st->read);
        sqlite3_bind_int64(ins, 4, (sqlite3_int64)st->stored);
        sqlite3_bind_int64(ins, 5, (sqlite3_int64)st->duplicates);
        sqlite3_bind_int64(ins, 6, (sqlite3_int64)st->rejected);
        sqlite3_step(ins);
        sqlite3_finalize(ins);
    }
}

/* ---- finished events files, by identity --------------------------------- */

/* An events file's identity: its size and the SHA-256 of its first and last
 * MiB, as hex ("" for what is not a regular file, or cannot be read). */
static void file_identity(const char *path, int fd, char out[80])
{
    out[0] = '\0';
    int own = fd < 0 ? open(path, O_RDONLY | O_CLOEXEC) : fd;
    struct stat st;
    unsigned char *buf = malloc(2u << 20);
    if (own >= 0 && buf && fstat(own, &st) == 0 && S_ISREG(st.st_mode)) {
        size_t size = (size_t)st.st_size, head = size < (1u << 20) ? size : (1u << 20);
        size_t tail = size - head < (1u << 20) ? size - head : (1u << 20);
        if (pread(own, buf, head, 0) == (ssize_t)head &&
            (tail == 0 || pread(own, buf + head, tail, (off_t)(size - tail)) == (ssize_t)tail)) {
            unsigned char md[32];
            SHA256(buf, head + tail, md);
            int k = snprintf(out, 80, "%zu:", size);
            for (int i = 0; i < 32 && k < 78; i++)
                k += snprintf(out + k, (size_t)(80 - k), "%02x", md[i]);
        }
    }
    free(buf);
    if (fd < 0 && own >= 0)
        close(own);
}

/* 1 (with st->skipped_*) when an events import of this identity finished. */
static int already_imported(sqlite3 *db, const char *ident, up_import_stats_t *st)
{
    sqlite3_stmt *q;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT at, read, stored FROM import_files WHERE identity = ?", -1, &q, NULL) !=
        SQLITE_OK)
        return 0;
    sqlite3_bind_text(q, 1, ident, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        found = 1;
        snprintf(st->skipped_at, sizeof st->skipped_at, "%s", (const char *)sqlite3_column_text(q, 0));
        st->skipped_read = (uint64_t)sqlite3_column_int64(q, 1);
        st->skipped_stored = (uint64_t)sqlite3_column_int64(q, 2);
    }
    sqlite3_finalize(q);
    return found;
}

static void record_identity(sqlite3 *db, const char *ident, const char *path, const up_import_stats_t *st)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO import_files(identity, file, at, read, stored)"
                               " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?)", -1, &q, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(q, 1, ident, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)st->read);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)st->stored);
    sqlite3_step(q);
    sqlite3_finalize(q);
}

/* The prefix of the message ids an events import into ClickHouse gives the
 * rows that have none: "uptake:" and 16 hex digits of SHA-256(identity,
 * generation), then the line. Why: ClickHouse has no transaction across
 * batches or shards, so a failed import leaves the batches (or the shards'
 * parts of a batch) it accepted; with these ids, running the same import
 * again stores each row once (read-time de-duplication, store_ch.c). The
 * generation counts the finished imports of this identity, so that an
 * import with --again after a finished one gets new ids and stores the
 * events again, as the embedded store does. Nothing for a pipe (no
 * identity): its rows keep no id. */
static void ch_synth_prefix(sqlite3 *db, const char *ident, char out[48])
{
    out[0] = '\0';
    if (!ident[0])
        return;
    char key[128];
    snprintf(key, sizeof key, "ch_gen:%s", ident);
    sqlite3_int64 gen = 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW)
            gen = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    char text[160];
    int n = snprintf(text, sizeof text, "%s/%lld", ident, (long long)gen);
    unsigned char md[32];
    SHA256((const unsigned char *)text, (size_t)n, md);
    int k = snprintf(out, 48, "%s", UP_CH_SYNTH_PREFIX);
    for (int i = 0; i < 8; i++)
        k += snprintf(out + k, (size_t)(48 - k), "%02x", md[i]);
    snprintf(out + k, (size_t)(48 - k), ":");
}

/* A finished import of this identity: the next one (--again) gets new ids. */
static void ch_synth_next(sqlite3 *db, const char *ident)
{
    sqlite3_stmt *q;
    char key[128];
    snprintf(key, sizeof key, "ch_gen:%s", ident);
    if (sqlite3_prepare_v2(db, "INSERT INTO meta(key, value) VALUES (?, 1)"
                               " ON CONFLICT(key) DO UPDATE SET value = value + 1", -1, &q, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_step(q);
    sqlite3_finalize(q);
}

/* "FILE: WHAT the event log: REASON", the reason as precise as the store
 * knows it: a full disk, the file size limit (SIGXFSZ is ignored, so it is
 * EFBIG), memory. */
static void write_error(up_store_t *s, const char *path, int rc, const char *what, char *err, size_t errlen)
{
    if (up_store_engine_error(s)[0]) {   /* events in ClickHouse: its own words */
        snprintf(err, errlen, "%s: %s; what ClickHouse accepted before stays stored: import the same file"
                 " again once that is fixed, and each event is stored once", path, up_store_engine_error(s));
        return;
    }
    int e = up_store_write_errno(s);
    const char *why = rc == -UP_ENOMEM ? "out of memory"
                    : e == ENOSPC ? "no space left on device"
                    : e == EFBIG ? "file too large (the file size limit, `ulimit -f`, is reached)"
                    : e == EDQUOT ? "disk quota exceeded"
                    : e ? strerror(e) : up_strerror(rc);
    snprintf(err, errlen, "%s: %s the event log: %s; nothing of this file was stored", path, what, why);
}

/* An events import's last step, all or nothing (store.h): the log synced
 * (then the snapshot, a cache whose failure is no error), then one
 * transaction with the rejects, the imports row and the end of the pending
 * mark. When the log cannot be written, or the file was given up part-way
 * (rc < 0, not a read error), the log is cut back to where the import began
 * and its imports row says nothing was stored. */
static int finish_events(up_store_t *s, imp_t *im, int keep, int rc, char *err, size_t errlen)
{
    up_import_stats_t *st = im->st;
    int crc = keep ? up_store_sync(s) : 0;
    if (keep && crc == 0) {
        up_store_commit(s);   /* writes the snapshot; the log is already safe */
        up_store_import_done(s);
    } else {
        if (crc < 0) {
            write_error(s, im->path, crc, "cannot write", err, errlen);
            rc = crc;
        }
        up_store_import_abort(s);
        st->stored = 0;
        st->partial = 0;
    }
    record_import(im->db, UP_IMPORT_EVENTS, im->path, st);
    /* only files with events that have no message id: the others are
     * de-duplicated by their ids, and a re-run counts them as duplicates */
    if (keep && crc == 0 && im->identity[0] && !st->partial && st->stored_no_id) {
        record_identity(im->db, im->identity, im->path, st);
        if (im->synth[0])
            ch_synth_next(im->db, im->identity);
    }
    if (sqlite3_exec(im->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot commit: %s", im->path, sqlite3_errmsg(im->db));
        sqlite3_exec(im->db, "ROLLBACK", NULL, NULL, NULL);
        st->partial = 0;
        return -UP_EDB;
    }
    return rc;
}

/* up_ingest_file, or up_ingest_fd when fd >= 0 (ingest.h). */
static int ingest_any(up_store_t *s, up_import_kind_t kind, const char *path, int fd, unsigned flags,
                      const up_mapping_t *map, up_progress_fn progress, void *pctx,
                      FILE *log, up_import_stats_t *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    static const char *const *lists[] = {event_fields, account_fields, user_fields, survey_fields,
                                         subscription_fields, outcome_fields, ticket_fields, milestone_fields,
                                         churn_fields};
    static const size_t counts[] = {E_N, A_N, U_N, S_N, B_N, O_N, K_N, M_N, C_N};
    imp_t im;
    memset(&im, 0, sizeof im);
    im.s = s;
    im.db = up_store_db(s);
    im.source = "file";
    im.path = path;
    im.log = log;
    im.st = st;
    im.fields = lists[kind];
    im.n_fields = counts[kind];

    uint64_t unmapped0 = up_store_unmapped(s);
    char ident[80] = "";
    if (kind == UP_IMPORT_EVENTS) {
        file_identity(path, fd, ident);
        if (ident[0] && !(flags & UP_INGEST_AGAIN) && already_imported(im.db, ident, st)) {
            if (fd >= 0)
                close(fd);
            return 0;
        }
    }
    im.identity = ident;
    if (kind == UP_IMPORT_EVENTS && up_store_is_clickhouse(s))
        ch_synth_prefix(im.db, ident, im.synth);
    up_reader_t *rd;
    static const char *const required[] = {"ts user_id event", "account_id", "user_id account_id", "account_id ts kind score",
                                           "account_id start", "account_id metric ts", "account_id ts", "account_id name", "account_id ts"};
    int rc = fd >= 0 ? up_reader_open_fd(&rd, fd, path, im.fields, im.n_fields, map, err, errlen)
                     : up_reader_open(&rd, path, im.fields, im.n_fields, map, err, errlen);
    if (rc == 0 && (rc = up_reader_require(rd, required[kind], err, errlen)) < 0)
        up_reader_close(rd);
    if (rc < 0)
        return rc;
    if (kind == UP_IMPORT_EVENTS && (rc = up_store_import_begin(s)) < 0) {
        up_reader_close(rd);
        write_error(s, path, rc, "cannot start", err, errlen);
        return rc;
    }
    if (up_ingest_begin(s) < 0) {
        up_reader_close(rd);
        snprintf(err, errlen, "%s: cannot start a transaction: %s", path, sqlite3_errmsg(im.db));
        return -UP_EDB;
    }
    up_record_t rec;
    char rerr[512];
    uint64_t n = 0;
    int aidx[A_N];
    for (int i = 0; i < A_N; i++)
        aidx[i] = i;
    for (;;) {
        rc = up_reader_next(rd, &rec, rerr, sizeof rerr);
        if (rc == 0)
            break;
        if (rc == -UP_EIO) {
            /* the reader's message names the file */
            snprintf(err, errlen, "%s", rerr);
            st->partial = 1;
            break;
        }
        st->read++;
        if (rc < 0) {
            im.rec = NULL;
            /* the reader's message says "line N: …"; the line is its own column */
            up_store_reject(s, "file", path, rec.line, NULL, strip_line(rerr, rec.line), "");
            st->rejected++;
            if (log && im.logged < 10)
                fprintf(log, "%s: %s\n", path, rerr);
            im.logged++;
            rc = 0;
            continue;
        }
        im.rec = &rec;
        switch (kind) {
        case UP_IMPORT_EVENTS: rc = store_event(&im, &rec); break;
        case UP_IMPORT_ACCOUNTS: rc = upsert_account(&im, &rec, aidx); break;
        case UP_IMPORT_USERS: rc = upsert_user(&im, &rec); break;
        case UP_IMPORT_SURVEYS: rc = insert_survey(&im, &rec); break;
        case UP_IMPORT_SUBSCRIPTIONS: rc = insert_subscription(&im, &rec); break;
        case UP_IMPORT_OUTCOMES: rc = insert_outcome(&im, &rec); break;
        case UP_IMPORT_TICKETS: rc = insert_ticket(&im, &rec); break;
        case UP_IMPORT_MILESTONES: rc = upsert_milestone(&im, &rec); break;
        case UP_IMPORT_CHURN: rc = insert_churn(&im, &rec); break;
        case UP_IMPORT_KINDS: break;
        }
        if (rc < 0) {
            char where[1024];
            snprintf(where, sizeof where, "%s:%ld", path, rec.line);
            if (rc == -UP_EIO || rc == -UP_ENOMEM)   /* the log or memory, not the record */
                write_error(s, where, rc, "cannot write", err, errlen);
            else
                snprintf(err, errlen, "%s: cannot store: %s%s%s", where, up_strerror(rc),
                         rc == -UP_EDB ? ": " : "", rc == -UP_EDB ? sqlite3_errmsg(im.db) : "");
            break;
        }
        if (progress && (++n & 0xffff) == 0)
            progress(pctx, up_reader_pos(rd), up_reader_size(rd));
    }
    if (progress)
        progress(pctx, up_reader_pos(rd), up_reader_size(rd));
    up_reader_close(rd);
    imp_release(&im);
    st->unmapped = up_store_unmapped(s) - unmapped0;
    int keep = rc == 0 || st->partial;
    if (kind == UP_IMPORT_EVENTS)
        return finish_events(s, &im, keep, rc, err, errlen);
    record_import(im.db, kind, path, st);
    /* CRM tables: one transaction, committed or rolled back (up_ingest_commit) */
    int failed = 0;
    up_ingest_commit(s, keep, UP_INGEST_SNAPSHOT, &failed);
    if (failed == UP_INGEST_FAILED_TABLES) {
        snprintf(err, errlen, "%s: cannot commit: %s", path, sqlite3_errmsg(im.db));
        rc = -UP_EDB;
        st->partial = 0;
    }
    return rc;
}

int up_ingest_file(up_store_t *s, up_import_kind_t kind, const char *path, unsigned flags,
                   const up_mapping_t *map, up_progress_fn progress, void *pctx,
                   FILE *log, up_import_stats_t *st, char *err, size_t errlen)
{
    return ingest_any(s, kind, path, -1, flags, map, progress, pctx, log, st, err, errlen);
}

int up_ingest_fd(up_store_t *s, up_import_kind_t kind, int fd, const char *name, unsigned flags,
                 const up_mapping_t *map, FILE *log, up_import_stats_t *st, char *err, size_t errlen)
{
    return ingest_any(s, kind, name, fd, flags, map, NULL, NULL, log, st, err, errlen);
}
