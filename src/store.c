/* store: the data directory: lock, SQLite entity tables, the event log, the
 * rollup snapshot and message-id de-duplication.
 *
 * Durability order on commit: log block written and fsynced, then the snapshot
 * written to a temporary file, fsynced and renamed over rollup.bin. A crash
 * between the two leaves a snapshot that covers a prefix of the log; opening
 * replays the rest. A crash inside a block write leaves a torn tail, which the
 * next writer cuts (a reader just stops before it). */
#include "store.h"
#include "store_int.h"
#include "acx.h"
#include "dedup.h"
#include "store_ch.h"
#include "rollpipe.h"
#include "store_ch_scan.h"
#include "timeparse.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK_EVENTS 65536

/* A user id seen lately in an events import, with its dictionary id and
 * the last account and pair it came with. A file in time order holds the
 * events of the users active at that hour, so most events find their user
 * here, in one look at a 3.7 MB table, instead of in a dictionary of every
 * user the store has and then the pair index (four or five cache misses
 * each at 100M events). Direct-mapped by hash: a newcomer replaces the
 * entry. 65,536 slots: at 100M events (504k users) 4,096 hit too seldom
 * (a 100M import took 23-27 s against 28-40 s, alternating runs). */
#define HOT_USERS 65536
#define HOT_LEN 23
struct hot_user {
    uint64_t h;
    int64_t uid, aid, pid;       /* uid < 0: empty; aid, pid < 0: no pair yet */
    uint8_t len;
    char str[HOT_LEN];
};
#define ZSTD_LEVEL 3


/* Folds what the import's second thread still holds and stops it: the
 * rollup is whole again. Returns 0 or the error it met folding. */
static int quiesce(up_store_t *s)
{
    int rc = up_rollpipe_stop(s->pipe);
    s->pipe = NULL;
    return rc;
}

#define CRM_GEN_(t, op, tag) \
    "CREATE TRIGGER IF NOT EXISTS crm_gen_" t "_" tag " AFTER " op " ON " t \
    " BEGIN UPDATE meta SET value = value + 1 WHERE key = 'crm_gen'; END;"
#define CRM_GEN(t) CRM_GEN_(t, "INSERT", "i") CRM_GEN_(t, "UPDATE", "u") CRM_GEN_(t, "DELETE", "d")

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS model(id INTEGER PRIMARY KEY CHECK (id = 1), text TEXT NOT NULL,"
    " name TEXT, set_at TEXT);"
    "CREATE TABLE IF NOT EXISTS accounts(account_id TEXT PRIMARY KEY, name TEXT, seats INTEGER,"
    " contract_start TEXT, renewal_date TEXT, arr REAL, segment TEXT, owner TEXT, churned_at TEXT,"
    " plan TEXT);"
    "CREATE TABLE IF NOT EXISTS users(account_id TEXT NOT NULL, user_id TEXT NOT NULL,"
    " created_at INTEGER, role TEXT, deactivated_at INTEGER, PRIMARY KEY (account_id, user_id));"
    "CREATE TABLE IF NOT EXISTS user_profiles(user_id TEXT PRIMARY KEY, created_at INTEGER,"
    " role TEXT, deactivated_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS surveys(account_id TEXT NOT NULL, user_id TEXT NOT NULL DEFAULT '',"
    " ts INTEGER NOT NULL, kind TEXT NOT NULL, score REAL NOT NULL,"
    " UNIQUE (account_id, user_id, ts, kind));"
    "CREATE TABLE IF NOT EXISTS rejects(id INTEGER PRIMARY KEY, at TEXT NOT NULL, source TEXT,"
    " file TEXT, line INTEGER, field TEXT, reason TEXT NOT NULL, record TEXT);"
    "CREATE TABLE IF NOT EXISTS imports(id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT,"
    " file TEXT, read INTEGER, stored INTEGER, duplicates INTEGER, rejected INTEGER);"
    /* events files imported in full, by identity (ingest.c), so that a re-run stores nothing twice */
    "CREATE TABLE IF NOT EXISTS import_files(identity TEXT PRIMARY KEY, file TEXT, at TEXT NOT NULL,"
    " read INTEGER, stored INTEGER);"
    "CREATE TABLE IF NOT EXISTS subscriptions(account_id TEXT NOT NULL, subscription_id TEXT NOT NULL"
    " DEFAULT '', start INTEGER NOT NULL, end INTEGER, seats INTEGER NOT NULL, arr REAL,"
    " UNIQUE (account_id, subscription_id, start));"
    "CREATE TABLE IF NOT EXISTS outcomes(seq INTEGER PRIMARY KEY, account_id TEXT NOT NULL,"
    " metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, target REAL, due INTEGER,"
    " UNIQUE (account_id, metric, ts));"
    "CREATE TABLE IF NOT EXISTS tickets(account_id TEXT NOT NULL, ticket_id TEXT NOT NULL DEFAULT '',"
    " ts INTEGER NOT NULL, priority TEXT, satisfaction REAL, UNIQUE (account_id, ticket_id, ts));"
    "CREATE TABLE IF NOT EXISTS churns(account_id TEXT NOT NULL, ts INTEGER NOT NULL, reason TEXT,"
    " UNIQUE (account_id, ts));"
    "CREATE TABLE IF NOT EXISTS milestones(account_id TEXT NOT NULL, name TEXT NOT NULL, due INTEGER,"
    " done_at INTEGER, owner TEXT, PRIMARY KEY (account_id, name));"
    /* covers the NPS query of a report (no table reads, no sort) and an
     * account's surveys of the last months (alerts, the account page: a
     * range of its rows); it replaces surveys_nps(kind, account_id, ts,
     * score), which served the first alone */
    "CREATE INDEX IF NOT EXISTS surveys_account ON surveys(account_id, ts, kind, score);"
    "DROP INDEX IF EXISTS surveys_nps;"
    /* users_gen counts every change to the users table, so the snapshot,
     * which carries the users' created_at and roles per pair, knows when it
     * is stale */
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('users_gen', 0);"
    "CREATE TRIGGER IF NOT EXISTS users_gen_insert AFTER INSERT ON users"
    " BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_gen'; END;"
    "CREATE TRIGGER IF NOT EXISTS users_gen_update AFTER UPDATE ON users"
    " BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_gen'; END;"
    "CREATE TRIGGER IF NOT EXISTS users_gen_delete AFTER DELETE ON users"
    " BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_gen'; END;"
    /* profiles (identify calls) feed the pairs too: see sync_users */
    "CREATE TRIGGER IF NOT EXISTS users_gen_profile_insert AFTER INSERT ON user_profiles"
    " BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_gen'; END;"
    "CREATE TRIGGER IF NOT EXISTS users_gen_profile_update AFTER UPDATE ON user_profiles"
    " BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_gen'; END;"
    /* crm_gen counts every change to the other CRM tables: results kept
     * across runs (the churn calibration, backtest.c) name the generation
     * they were computed on */
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('crm_gen', 0);"
    CRM_GEN("accounts") CRM_GEN("subscriptions") CRM_GEN("churns") CRM_GEN("surveys") CRM_GEN("tickets")
    CRM_GEN("milestones") CRM_GEN("outcomes")
    "CREATE TABLE IF NOT EXISTS calibration_cache(key TEXT PRIMARY KEY, log_end INTEGER NOT NULL,"
    " last_off INTEGER NOT NULL, last_crc INTEGER NOT NULL, after INTEGER NOT NULL, value TEXT NOT NULL);";

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, b);
}

char *up_st_path_in(const up_store_t *s, const char *name)
{
    return up_path_join(s->dir, name);
}

char *up_store_db_path(const char *dir)
{
    return up_path_join(dir, "uptake.db");
}

/* The users table's generation, or -2 when it cannot be read (an old store
 * opened read-only). */
static int64_t users_gen(up_store_t *s)
{
    sqlite3_stmt *st;
    int64_t gen = -2;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'users_gen'", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            gen = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return gen;
}

static void set_role(up_pair_t *p, const char *role)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", role);
    up_trim_lower(buf);
    if (strcmp(buf, "champion") == 0)
        p->flags |= UP_PAIR_CHAMPION;
    else if (strcmp(buf, "sponsor") == 0)
        p->flags |= UP_PAIR_SPONSOR;
}

/* A profile (from an identify call: PostHog $identify, Mixpanel /engage,
 * Segment identify) belongs to a person, not to an account: it gives
 * created_at and role to every pair of that user the users table does not
 * describe, i.e. to the accounts where the user is seen only in events; such
 * a pair then counts as a users-table user of that account (docs/metrics.md). */
static int apply_profiles(up_store_t *s, up_rollup_t *r)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT user_id, created_at, role FROM user_profiles", -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    uint32_t n_users = r->dict[UP_KIND_USER].n;
    int64_t *created = NULL;
    char **roles = NULL;
    int any = 0, rc = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *user = (const char *)sqlite3_column_text(st, 0);
        int64_t uid = user ? up_dict_find(&r->dict[UP_KIND_USER], user, (size_t)sqlite3_column_bytes(st, 0)) : -1;
        if (uid < 0)
            continue;   /* never seen: no pair to give it to */
        if (!any) {
            created = malloc(n_users * sizeof *created);
            roles = calloc(n_users, sizeof *roles);
            if (!created || !roles) {
                rc = -UP_ENOMEM;
                break;
            }
            for (uint32_t i = 0; i < n_users; i++)
                created[i] = UP_TS_NONE;
            any = 1;
        }
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            created[uid] = sqlite3_column_int64(st, 1);
        const char *role = (const char *)sqlite3_column_text(st, 2);
        if (role && !(roles[uid] = up_strndup(role, strlen(role)))) {
            rc = -UP_ENOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    for (uint32_t i = 0; rc == 0 && any && i < r->n_pairs; i++) {
        up_pair_t *p = &r->pairs[i];
        if ((p->flags & UP_PAIR_IN_TABLE) || p->user >= n_users || (created[p->user] == UP_TS_NONE && !roles[p->user]))
            continue;
        p->flags |= UP_PAIR_IN_TABLE;   /* described like a users-table row */
        if (created[p->user] != UP_TS_NONE)
            p->created_at = created[p->user];
        if (roles[p->user])
            set_role(p, roles[p->user]);
    }
    if (roles)
        for (uint32_t i = 0; i < n_users; i++)
            free(roles[i]);
    free(roles);
    free(created);
    return rc;
}

/* A writer's pairs created since the last sync (new users seen in events)
 * get their profile one by one: the users generation did not move, so
 * sync_users would not run for them. */
static int profile_new_pairs(up_store_t *s)
{
    up_rollup_t *r = &s->roll;
    if (!s->profile_stmt &&
        sqlite3_prepare_v2(s->db, "SELECT created_at, role FROM user_profiles WHERE user_id = ?", -1,
                           &s->profile_stmt, NULL) != SQLITE_OK)
        return -UP_EDB;
    sqlite3_stmt *any;
    int has_profiles = 1;
    if (sqlite3_prepare_v2(s->db, "SELECT EXISTS (SELECT 1 FROM user_profiles)", -1, &any, NULL) == SQLITE_OK) {
        if (sqlite3_step(any) == SQLITE_ROW)
            has_profiles = sqlite3_column_int(any, 0);
        sqlite3_finalize(any);
    }
    for (uint32_t i = s->profiled_pairs; has_profiles && i < r->n_pairs; i++) {
        up_pair_t *p = &r->pairs[i];
        if (p->flags & UP_PAIR_IN_TABLE)
            continue;
        const up_dict_t *users = &r->dict[UP_KIND_USER];
        sqlite3_bind_text(s->profile_stmt, 1, users->strs[p->user], (int)users->lens[p->user], SQLITE_STATIC);
        if (sqlite3_step(s->profile_stmt) == SQLITE_ROW) {
            const char *role = (const char *)sqlite3_column_text(s->profile_stmt, 1);
            int has_created = sqlite3_column_type(s->profile_stmt, 0) != SQLITE_NULL;
            if (has_created || role) {
                p->flags |= UP_PAIR_IN_TABLE;
                if (has_created)
                    p->created_at = sqlite3_column_int64(s->profile_stmt, 0);
                if (role)
                    set_role(p, role);
                s->dirty = 1;
            }
        }
        sqlite3_reset(s->profile_stmt);
    }
    s->profiled_pairs = r->n_pairs;
    return 0;
}

/* Folds the users table into the pairs of r: created_at and role flags, and
 * a pair for every users-table row (with no events it stays inactive). */
static int sync_users(up_store_t *s, up_rollup_t *r, int64_t gen)
{
    for (uint32_t i = 0; i < r->n_pairs; i++) {
        r->pairs[i].flags = 0;
        r->pairs[i].created_at = UP_TS_NONE;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT account_id, user_id, created_at, role FROM users", -1, &st,
                           NULL) != SQLITE_OK)
        return -UP_EDB;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *acc = (const char *)sqlite3_column_text(st, 0);
        size_t alen = (size_t)sqlite3_column_bytes(st, 0);
        const char *user = (const char *)sqlite3_column_text(st, 1);
        size_t ulen = (size_t)sqlite3_column_bytes(st, 1);
        if (!acc || !user)
            continue;
        int added;
        int64_t aid = up_dict_intern(&r->dict[UP_KIND_ACCOUNT], acc, alen, &added);
        int64_t uid = up_dict_intern(&r->dict[UP_KIND_USER], user, ulen, &added);
        if (aid < 0 || uid < 0) {
            rc = -UP_ENOMEM;
            break;
        }
        int64_t pid = up_rollup_pair(r, (uint32_t)aid, (uint32_t)uid, &added);
        if (pid < 0) {
            rc = (int)pid;
            break;
        }
        up_pair_t *p = &r->pairs[pid];
        p->flags = UP_PAIR_IN_TABLE;
        if (sqlite3_column_type(st, 2) != SQLITE_NULL)
            p->created_at = sqlite3_column_int64(st, 2);
        const char *role = (const char *)sqlite3_column_text(st, 3);
        if (role)
            set_role(p, role);
    }
    sqlite3_finalize(st);
    if (rc == 0)
        rc = apply_profiles(s, r);
    if (rc == 0)
        r->users_gen = gen;
    return rc;
}

static int rollup_block_cb(void *ctx, const up_block_t *b)
{
    return up_rollup_apply_block(ctx, b);
}

void up_st_notice(up_store_t *s, const char *fmt, ...)
{
    size_t l = strlen(s->notice);
    if (l && l + 2 < sizeof s->notice) {
        memcpy(s->notice + l, "; ", 3);
        l += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->notice + l, sizeof s->notice - l, fmt, ap);
    va_end(ap);
}

/* The notice for damage a scan found: which block, what failed, why it is
 * not a torn tail, and what to do. */
void up_st_damage_notice(up_store_t *s, const up_log_scan_t *sc)
{
    char size[96] = "", why[96];
    unsigned long long at = sc->end, acked = sc->acked;
    if (sc->bad_len)
        snprintf(size, sizeof size, "%llu bytes, ", (unsigned long long)sc->bad_len);
    if (sc->bad_events >= 0)
        snprintf(size + strlen(size), sizeof size - strlen(size), "%lld events", (long long)sc->bad_events);
    else
        snprintf(size + strlen(size), sizeof size - strlen(size), "its events cannot be counted");
    if (at < acked)
        snprintf(why, sizeof why, "lies below the acknowledged end of the log (offset %llu)", acked);
    else
        snprintf(why, sizeof why, "has data after it");
    if (sc->short_log)
        snprintf(s->notice, sizeof s->notice, "events.log is damaged: it ends at offset %llu, %llu bytes"
                 " before its acknowledged end (offset %llu), so acknowledged events are missing",
                 at, (unsigned long long)sc->bad_len, acked);
    else
        snprintf(s->notice, sizeof s->notice, "events.log is damaged: the block at offset %llu (%s) %s"
                 " and %s, so it is not an interrupted write", at, size, sc->what, why);
    up_st_notice(s, "nothing was cut. Run `uptake check` for details and `uptake repair` to recover"
                 " (see docs/store.md)");
}

static int pending_start(up_store_t *s, int64_t *start);

/* For a reader: 1 + where an events import that has not finished began (its
 * blocks are not stored as far as anyone was told; up_log_scan_t's limit),
 * or 0: no limit. */
uint64_t up_st_read_limit(up_store_t *s)
{
    int64_t p;
    if ((s->flags & UP_STORE_WRITE) || !s->db || pending_start(s, &p) < 0 || p < 0)
        return 0;
    return (uint64_t)p + 1;
}

/* Scans the log from start with the acknowledged mark, naming any damage in
 * the notice. */
int up_st_scan_log(up_store_t *s, uint64_t start, up_log_block_fn fn, void *ctx, int truncate,
                    up_log_scan_t *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->acked = s->mark.acked;
    sc->limit = up_st_read_limit(s);
    int rc = up_store_log_scan(s->log_fd, start, fn, ctx, truncate, sc);
    if (rc == -UP_ECORRUPT && sc->what)
        up_st_damage_notice(s, sc);
    return rc;
}

/* Folds the log from offset start into s->roll. */
static int replay(up_store_t *s, uint64_t start)
{
    up_log_scan_t sc;
    int rc = up_st_scan_log(s, start, rollup_block_cb, &s->roll, (s->flags & UP_STORE_WRITE) != 0, &sc);
    if (rc < 0)
        return rc;
    uint64_t end = sc.end, cut = sc.cut;
    if (end != start)
        s->dirty = 1;
    s->log_end = end;
    /* a reader beside a running writer sees the block being written as a
     * tail: that is not damage, so it says nothing */
    if (cut && !s->writer_active) {
        up_st_notice(s, "events.log: found a torn tail of %llu bytes after offset %llu (an interrupted write"
                     " that was never acknowledged); %s", (unsigned long long)cut, (unsigned long long)end,
                     (s->flags & UP_STORE_WRITE) ? "cut it" : "ignored it (read-only open)");
    }
    return 0;
}

static void mark_persisted(up_store_t *s)
{
    for (int k = 0; k < UP_KINDS; k++)
        s->persisted_strs[k] = s->roll.dict[k].n;
    s->persisted_pairs = s->roll.n_pairs;
}

/* ---- events in ClickHouse (store_ch.h): the hooks --------------------- */

/* Folds the ClickHouse store's events up to r->cutoff into r; a failure
 * becomes the notice, which names the shard. */
static int ch_fill(up_store_t *s, up_rollup_t *r)
{
    int rc = up_ch_fill(s->ch, r, r->cutoff);
    if (rc < 0)
        snprintf(s->notice, sizeof s->notice, "%s", up_ch_error(s->ch));
    if (r == &s->roll)
        mark_persisted(s);
    return rc;
}

const char *up_store_engine_error(const up_store_t *s)
{
    return s->ch ? up_ch_error(s->ch) : "";
}

int up_store_clickhouse_shards(const up_store_t *s)
{
    return s->ch ? up_ch_shards(s->ch) : 0;
}

int up_store_clickhouse_ping(const up_store_t *s, int i, char *err, size_t errlen)
{
    return s->ch ? up_ch_ping(s->ch, i, err, errlen) : 0;
}

int up_store_check_clickhouse(up_store_t *s, FILE *out)
{
    return s->ch ? up_ch_check(s->ch, out) : 0;
}

int up_store_is_clickhouse(const up_store_t *s)
{
    return s->ch != NULL;
}

/* Builds s->roll from the snapshot when it matches, then the log tail. */
static int build_rollup(up_store_t *s, int allow_snapshot)
{
    up_rollup_init(&s->roll, s->model, INT64_MAX);
    if (s->ch)
        return ch_fill(s, &s->roll);
    uint64_t start = 0;
    struct stat st;
    if (fstat(s->log_fd, &st) < 0)
        return -UP_EIO;
    if (allow_snapshot) {
        char *p = up_st_path_in(s, "rollup.bin");
        if (!p)
            return -UP_ENOMEM;
        char why[256] = "";
        int rc = up_rollup_load(&s->roll, p, s->model_hash, &start, why, sizeof why);
        free(p);
        if (rc == -UP_ENOMEM)
            return rc;
        if (rc < 0 || start > (uint64_t)st.st_size) {
            up_rollup_free(&s->roll);
            up_rollup_init(&s->roll, s->model, INT64_MAX);
            start = 0;
            if (rc == -UP_ECORRUPT && why[0])
                up_st_notice(s, "rollup.bin is damaged: %s; rebuilt it from events.log", why);
            else if (rc != -UP_ENOTFOUND && st.st_size > 0)
                up_st_notice(s, "rollup.bin did not match the log; rebuilt it from events.log");
        }
    }
    s->profiled_pairs = s->roll.n_pairs;   /* the snapshot's pairs carry their profiles */
    int rc = replay(s, start);
    if (rc < 0)
        return rc;
    mark_persisted(s);
    return 0;
}

/* Writes the rollup to DIR/tmp_name, fsynced. */
static int snapshot_write(up_store_t *s, const char *tmp_name)
{
    char *tmp = up_st_path_in(s, tmp_name);
    int rc = -UP_EIO;
    FILE *f = tmp ? fopen(tmp, "wb") : NULL;
    if (f) {
        /* written in 2 MiB pieces at 2 MiB offsets: the page cache then holds
         * the file in 2 MiB pages, which readers map at a fraction of the
         * cost of 4 KiB ones (see up_rollup_load) */
        char *buf = malloc(2 << 20);
        if (buf)
            setvbuf(f, buf, _IOFBF, 2 << 20);
        rc = up_rollup_save(&s->roll, f, s->model_hash, s->log_end);
        if (fflush(f) != 0 || fsync(fileno(f)) != 0)
            rc = -UP_EIO;
        if (fclose(f) != 0)
            rc = -UP_EIO;
        free(buf);
        if (rc < 0)
            unlink(tmp);   /* a full disk or a size limit leaves no half snapshot behind */
    }
    free(tmp);
    return rc;
}

static int snapshot_install(up_store_t *s, const char *tmp_name)
{
    char *tmp = up_st_path_in(s, tmp_name), *dst = up_st_path_in(s, "rollup.bin");
    int rc = tmp && dst && rename(tmp, dst) == 0 ? 0 : -UP_EIO;
    if (rc == 0)
        s->dirty = 0;
    free(tmp);
    free(dst);
    return rc;
}

static int save_snapshot(up_store_t *s)
{
    if ((s->flags & UP_STORE_WRITE) && !s->ch && s->roll_ready)
        up_st_acx_update(s);
    if (!(s->flags & UP_STORE_WRITE) || !s->dirty || s->ch)
        return 0;
    int rc = snapshot_write(s, "rollup.bin.tmp");
    return rc < 0 ? rc : snapshot_install(s, "rollup.bin.tmp");
}

int up_store_snapshot_write(up_store_t *s, const char *tmp_name)
{
    if (!s->roll_ready || !s->dirty)
        return 0;
    int rc = snapshot_write(s, tmp_name);
    return rc < 0 ? rc : 1;
}

int up_store_snapshot_install(up_store_t *s, const char *tmp_name)
{
    return snapshot_install(s, tmp_name);
}

static int load_model(up_store_t *s, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT text FROM model WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        s->model_text = up_strdup(text ? text : "");
        if (!s->model_text)
            rc = -UP_ENOMEM;
        else
            rc = up_model_parse(s->model_text, strlen(s->model_text), "stored model", &s->model,
                                err, errlen);
        s->model_hash = up_hash64(s->model_text ? s->model_text : "", s->model_text ? strlen(s->model_text) : 0, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The store's directory: there, or made when flags ask to create it. */
static int open_dir(const char *dir, int flags, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return 0;
    if (!(flags & UP_STORE_CREATE)) {
        set_err(err, errlen, "%s: no store here (run `uptake init --data %s` first)", dir, dir);
        return -UP_ENOTFOUND;
    }
    char why[512];
    if (up_mkdir_p(dir, why, sizeof why) != 0) {
        set_err(err, errlen, "%s: cannot create the store's directory: %s", dir, why);
        return -UP_EIO;
    }
    return 0;
}

/* Opens the lock file; a writer takes the lock, a reader notes a writer. */
static int take_lock(up_store_t *s, const char *dir, int flags, char *err, size_t errlen)
{
    char *p = up_st_path_in(s, "lock");
    s->lock_fd = p ? open(p, ((flags & UP_STORE_WRITE) ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644) : -1;
    free(p);
    if (s->lock_fd < 0) {
        if (!(flags & UP_STORE_WRITE))
            set_err(err, errlen, "%s: no store here (run `uptake init --data %s` first)", dir, dir);
        else
            set_err(err, errlen, "%s: cannot open lock file: %s", dir, strerror(errno));
        return -UP_ENOTFOUND;
    }
    /* Writers exclude each other: another import or `uptake serve` may hold
     * the store; wait for it, but not forever. Readers take no lock: the
     * log only grows by whole checksummed blocks, the snapshot is replaced
     * by rename and SQLite isolates its own readers, so a reader sees a
     * consistent prefix of what a running writer has committed. */
    for (int waited_ms = 0; flags & UP_STORE_WRITE; waited_ms += 50) {
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK || waited_ms >= 30000) {
            set_err(err, errlen, "%s: cannot lock the store: %s", dir,
                    errno == EWOULDBLOCK ? "another uptake process (an import, or `uptake serve`) has held it"
                                           " for 30 s; while a server runs, send events to it over HTTP"
                                         : strerror(errno));
            return -UP_EIO;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!(flags & UP_STORE_WRITE) && flock(s->lock_fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
        s->writer_active = 1;
    else if (!(flags & UP_STORE_WRITE))
        flock(s->lock_fd, LOCK_UN);
    return 0;
}

/* Opens uptake.db; a writer puts it in WAL mode and makes the tables. */
static int open_db(up_store_t *s, const char *dir, int flags, char *err, size_t errlen)
{
    char *p = up_store_db_path(s->dir);
    int sqflags = (flags & UP_STORE_WRITE) ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (!p || sqlite3_open_v2(p, &s->db, sqflags, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: cannot open uptake.db: %s", dir, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        free(p);
        return -UP_EDB;
    }
    free(p);
    sqlite3_busy_timeout(s->db, 10000);
    /* read pages through a mapping rather than a pread per page */
    sqlite3_exec(s->db, "PRAGMA mmap_size = 1073741824", NULL, NULL, NULL);
    if (flags & UP_STORE_WRITE) {
        char *msg = NULL;
        if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
            set_err(err, errlen, "%s: cannot create tables: %s", dir, msg ? msg : "?");
            sqlite3_free(msg);
            return -UP_EDB;
        }
    }
    return 0;
}

/* Reads the acknowledged mark (DIR/events.ack); a writer keeps the file open
 * to advance it. Read before the log's size, which is never below it. */
static int open_mark(up_store_t *s, const char *dir, int flags, char *err, size_t errlen)
{
    char *p = up_st_path_in(s, "events.ack");
    int rc = p ? up_store_log_mark_read(p, &s->mark) : -UP_ENOMEM;
    if (rc == 0 && (flags & UP_STORE_WRITE) && (s->ack_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        rc = -UP_EIO;
    free(p);
    if (rc < 0) {
        set_err(err, errlen, "%s: cannot open events.ack: %s", dir, strerror(errno));
        return rc;
    }
    if (s->mark.state == UP_MARK_DAMAGED)
        snprintf(s->notice, sizeof s->notice, "events.ack is damaged (no record in it passes its checksum);"
                 " events.log is read as if it had no acknowledged end until a writer rewrites it"
                 " (run `uptake check`)");
    return 0;
}

/* Opens events.log (appending for a writer; a reader of a store never
 * written reads it as empty). */
static int open_log(up_store_t *s, const char *dir, int flags, char *err, size_t errlen)
{
    int rc = open_mark(s, dir, flags, err, errlen);
    if (rc < 0)
        return rc;
    char *p = up_st_path_in(s, "events.log");
    s->log_fd = p ? open(p, ((flags & UP_STORE_WRITE) ? O_RDWR | O_CREAT | O_APPEND : O_RDONLY) | O_CLOEXEC, 0644) : -1;
    free(p);
    if (s->log_fd < 0 && !(flags & UP_STORE_WRITE)) {
        /* a store initialised but never written: read as empty */
        s->log_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (s->log_fd < 0) {
        set_err(err, errlen, "%s: cannot open events.log: %s", dir, strerror(errno));
        return -UP_EIO;
    }
    if (flags & UP_STORE_WRITE) {   /* a cache: without it scans read every block */
        char *q = up_st_path_in(s, "events.idx");
        s->idx_fd = q ? open(q, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
        free(q);
    }
    return 0;
}

/* ---- an events import that did not finish -------------------------------
 * An events import writes log blocks as it reads (they hold no message ids
 * when the file has none), and only its last step makes them count: the
 * log's fsync, the acknowledged mark, then the transaction with its imports
 * row. A process killed before that transaction leaves blocks that nobody
 * was told were stored; run again, the import would store them twice. So
 * the import's start offset is recorded first (meta 'import_pending',
 * committed before any block), removed in the import's own transaction,
 * and a writer that finds it cuts the log back there, mark included. */

static int pending_start(up_store_t *s, int64_t *start)
{
    sqlite3_stmt *st;
    *start = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'import_pending'", -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    if (sqlite3_step(st) == SQLITE_ROW)
        *start = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

static int undo_unfinished_import(up_store_t *s)
{
    int64_t start;
    struct stat st;
    if (pending_start(s, &start) < 0 || start < 0)
        return start < 0 ? 0 : -UP_EDB;
    if (fstat(s->log_fd, &st) < 0)
        return -UP_EIO;
    if ((uint64_t)st.st_size > (uint64_t)start) {
        if (s->mark.state == UP_MARK_OK && s->mark.acked > (uint64_t)start &&
            up_store_log_mark_write(s->ack_fd, &s->mark, (uint64_t)start) < 0)
            return -UP_EIO;
        if (ftruncate(s->log_fd, (off_t)start) != 0 || fsync(s->log_fd) != 0)
            return -UP_EIO;
        up_st_notice(s, "an events import was interrupted before it finished: its %llu bytes of events were"
                     " never reported stored; cut them (run that import again)",
                     (unsigned long long)st.st_size - (unsigned long long)start);
    }
    return sqlite3_exec(s->db, "DELETE FROM meta WHERE key = 'import_pending'", NULL, NULL, NULL) == SQLITE_OK
         ? 0 : -UP_EDB;
}

int up_store_import_begin(up_store_t *s)
{
    if (s->aborted)
        return -UP_EIO;
    if (!(s->flags & UP_STORE_WRITE))
        return 0;
    int rc = up_store_sync(s);   /* what came before is acknowledged: the import starts at log_end */
    if (rc < 0)
        return rc;
    s->import_start = s->log_end;
    s->bulk = 1;
    s->last_uid = s->last_aid = s->last_pid = -1;
    if (!s->hot)
        s->hot = malloc(HOT_USERS * sizeof *s->hot);
    for (int i = 0; i < 64; i++)
        s->hot_event[i] = -1;
    if (s->hot)   /* no room: every user goes to the dictionary */
        for (uint32_t i = 0; i < HOT_USERS; i++)
            s->hot[i].uid = -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value) VALUES ('import_pending', ?)", -1, &st,
                           NULL) != SQLITE_OK)
        return -UP_EDB;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)s->log_end);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -UP_EDB;
    sqlite3_finalize(st);
    return rc;
}

int up_store_import_done(up_store_t *s)
{
    s->bulk = 0;
    return sqlite3_exec(s->db, "DELETE FROM meta WHERE key = 'import_pending'", NULL, NULL, NULL) == SQLITE_OK
         ? 0 : -UP_EDB;
}

void up_store_import_abort(up_store_t *s)
{
    s->bulk = 0;
    quiesce(s);
    if (!(s->flags & UP_STORE_WRITE))
        return;
    /* the log back to where the import began (the mark first, when the
     * import's last sync moved it); the pending row stays, so that a
     * writer that opens next finishes the job if this fails */
    if (!(s->mark.state == UP_MARK_OK && s->mark.acked > s->import_start &&
          up_store_log_mark_write(s->ack_fd, &s->mark, s->import_start) < 0) &&
        ftruncate(s->log_fd, (off_t)s->import_start) == 0 && fsync(s->log_fd) == 0)
        s->log_end = s->import_start;
    s->flags &= ~UP_STORE_WRITE;   /* memory holds events the log does not: write nothing more */
    s->aborted = 1;
}

int up_store_write_errno(const up_store_t *s)
{
    return s->write_errno;
}

/* A writer's last step: the store synced (up_store_sync) and the snapshot
 * saved when the rollup changed. */
static int settle_writer(up_store_t *s, const char *dir, char *err, size_t errlen)
{
    if (up_store_sync(s) < 0) {
        set_err(err, errlen, "%s: cannot write events.log: %s", dir, strerror(errno));
        return -UP_EIO;
    }
    /* the snapshot is a cache: a full disk must not keep the store shut */
    if (save_snapshot(s) < 0) {
        up_st_notice(s, "cannot write rollup.bin (%s); the log is intact and readers rebuild from it",
                     strerror(errno));
    }
    return 0;
}

/* Opens the store's parts in order: directory, lock, database, model, log,
 * rollup (unless deferred), then a writer's sync and snapshot. */
static int open_parts(up_store_t *s, const char *dir, int flags, char *err, size_t errlen)
{
    int rc;
    if ((rc = open_dir(dir, flags, err, errlen)) < 0 || (rc = take_lock(s, dir, flags, err, errlen)) < 0 ||
        (rc = open_db(s, dir, flags, err, errlen)) < 0 || (rc = load_model(s, err, errlen)) < 0 ||
        (rc = up_ch_open(s->db, &s->ch, err, errlen)) < 0)
        return rc;
    if (!s->model && !(flags & UP_STORE_CREATE)) {
        set_err(err, errlen, "%s: the store has no adoption model (run `uptake init --data %s`)", dir, dir);
        return -UP_ENOTFOUND;
    }
    if ((rc = open_log(s, dir, flags, err, errlen)) < 0)
        return rc;
    if ((flags & UP_STORE_WRITE) && (rc = undo_unfinished_import(s)) < 0) {
        set_err(err, errlen, "%s: cannot undo an unfinished import: %s", dir, strerror(errno));
        return rc;
    }
    /* a ClickHouse store's writer builds its rollup on first use only: its
     * appends go to ClickHouse without it, so an import neither waits for a
     * GROUP BY on every shard nor needs every shard up before it starts */
    int ch_writer = s->ch && (flags & UP_STORE_WRITE);
    if (!ch_writer && (!(flags & UP_STORE_DEFER) || (flags & UP_STORE_WRITE))) {
        rc = build_rollup(s, 1);
        if (rc < 0) {
            set_err(err, errlen, "%s: %s", dir, (rc == -UP_ECORRUPT || s->ch) && s->notice[0] ? s->notice : up_strerror(rc));
            return rc;
        }
        s->roll_ready = 1;
    }
    return (flags & UP_STORE_WRITE) ? settle_writer(s, dir, err, errlen) : 0;
}

int up_store_open(up_store_t **out, const char *dir, int flags, char *err, size_t errlen)
{
    *out = NULL;
    up_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return -UP_ENOMEM;
    s->flags = flags;
    s->lock_fd = s->log_fd = s->ack_fd = s->idx_fd = -1;
    s->dir = up_strdup(dir);
    if (!s->dir) {
        free(s);
        return -UP_ENOMEM;
    }
    int rc = open_parts(s, dir, flags, err, errlen);
    if (rc < 0) {
        s->flags &= ~UP_STORE_WRITE; /* nothing to flush */
        up_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* The time range of the block just written at off, into events.idx (a
 * cache: a failure only means that scans read this block). */
static void note_range(up_store_t *s, uint64_t off)
{
    if (s->idx_fd < 0)
        return;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (uint32_t i = 0; i < s->n_pend; i++) {
        lo = s->pend[i].ts < lo ? s->pend[i].ts : lo;
        hi = s->pend[i].ts > hi ? s->pend[i].ts : hi;
    }
    up_store_log_range_append(s->idx_fd, s->log_fd, off, lo, hi);
}

static int flush_block(up_store_t *s)
{
    up_rollup_t *r = &s->roll;
    uint32_t n_strs = 0;
    for (int k = 0; k < UP_KINDS; k++)
        n_strs += r->dict[k].n - s->persisted_strs[k];
    if (!s->n_pend && !n_strs && s->persisted_pairs == r->n_pairs)
        return 0;
    uint8_t *kinds = malloc(n_strs + 1);
    const char **strs = malloc((n_strs + 1) * sizeof *strs);
    uint32_t *lens = malloc((n_strs + 1) * sizeof *lens);
    uint32_t n_pairs = r->n_pairs - s->persisted_pairs;
    uint32_t *pacc = malloc((n_pairs + 1) * sizeof *pacc), *puser = malloc((n_pairs + 1) * sizeof *puser);
    int rc = -UP_ENOMEM;
    if (kinds && strs && lens && pacc && puser) {
        uint32_t i = 0;
        for (int k = 0; k < UP_KINDS; k++)
            for (uint32_t id = s->persisted_strs[k]; id < r->dict[k].n; id++, i++) {
                kinds[i] = (uint8_t)k;
                strs[i] = r->dict[k].strs[id];
                lens[i] = r->dict[k].lens[id];
            }
        for (uint32_t j = 0; j < n_pairs; j++) {
            pacc[j] = r->pairs[s->persisted_pairs + j].account;
            puser[j] = r->pairs[s->persisted_pairs + j].user;
        }
        up_block_t b = {
            .n_strs = n_strs, .str_kind = kinds, .strs = strs, .str_lens = lens,
            .n_pairs = n_pairs, .pair_account = pacc, .pair_user = puser,
            .n_events = s->n_pend, .events = s->pend,
            .mids = s->pend_has_mid ? s->pend_mids : NULL,
        };
        uint64_t bytes;
        rc = up_store_log_append(s->log_fd, &b, ZSTD_LEVEL, &bytes);
        if (rc == -UP_EIO)
            s->write_errno = errno;
        if (rc < 0 && ftruncate(s->log_fd, (off_t)s->log_end) == 0)
            fsync(s->log_fd);   /* a failed write leaves no partial block behind */
        if (rc == 0) {
            note_range(s, s->log_end);
            s->log_end += bytes;
            mark_persisted(s);
            s->n_pend = 0;
            s->pend_has_mid = 0;
            s->dirty = 1;
        }
    }
    free(kinds);
    free(strs);
    free(lens);
    free(pacc);
    free(puser);
    return rc;
}

int up_store_sync(up_store_t *s)
{
    int qrc = quiesce(s);
    if (qrc < 0)
        return qrc;
    if (s->ch && (s->flags & UP_STORE_WRITE) && !s->roll_ready)
        return up_ch_flush(s->ch);   /* a writer that never read: only its batch to send */
    if (!(s->flags & UP_STORE_WRITE) || !s->roll_ready)
        return 0;
    int64_t gen = users_gen(s);
    if (gen != s->roll.users_gen) {
        int rc = sync_users(s, &s->roll, gen);
        if (rc < 0)
            return rc;
        s->dirty = 1;
        s->profiled_pairs = s->roll.n_pairs;
    } else if (s->roll.n_pairs > s->profiled_pairs) {
        int rc = profile_new_pairs(s);
        if (rc < 0)
            return rc;
    }
    if (s->ch)
        return up_ch_flush(s->ch);
    /* the block carries the dictionary strings and pairs the users table
     * added, so the log alone can rebuild every id */
    int rc = flush_block(s);
    if (rc < 0)
        return rc;
    if (fsync(s->log_fd) != 0) {
        s->write_errno = errno;
        return -UP_EIO;
    }
    /* the mark moves only once the log is durable, and before the caller
     * acknowledges: nothing below it is ever taken for a torn tail */
    if (s->mark.acked != s->log_end || s->mark.state != UP_MARK_OK)
        return up_store_log_mark_write(s->ack_fd, &s->mark, s->log_end);
    return 0;
}

int up_store_commit(up_store_t *s)
{
    int rc = up_store_sync(s);
    return rc < 0 ? rc : save_snapshot(s);
}

void up_store_abandon(up_store_t *s)
{
    if (s) {
        s->flags &= ~UP_STORE_WRITE;
        up_store_close(s);
    }
}

/* Makes s->roll usable: built, and in step with the users table. */
int up_st_ensure_rollup(up_store_t *s)
{
    int qrc = quiesce(s);
    if (qrc < 0)
        return qrc;
    if (!s->roll_ready) {
        int rc = build_rollup(s, 1);
        if (rc < 0)
            return rc;
        s->roll_ready = 1;
    }
    int64_t gen = users_gen(s);
    if (gen != s->roll.users_gen) {
        if (s->flags & UP_STORE_WRITE)
            return up_store_commit(s);
        s->profiled_pairs = s->roll.n_pairs;
        return sync_users(s, &s->roll, gen);   /* in memory only */
    }
    if (s->roll.n_pairs > s->profiled_pairs)    /* pairs replayed from the log tail */
        return profile_new_pairs(s);
    return 0;
}

int up_store_close(up_store_t *s)
{
    if (!s)
        return 0;
    int rc = quiesce(s);
    if (rc == 0 && (s->flags & UP_STORE_WRITE) && s->log_fd >= 0)
        rc = up_store_commit(s);
    /* the index's RAM part to disk, so that the next open need not scan the
     * log for it (a cache: failing to write it loses nothing) */
    if (rc == 0 && s->dedup && (s->flags & UP_STORE_WRITE))
        up_dedup_persist(s->dedup, s->log_end);
    up_dedup_close(s->dedup);
    if (s->reject_stmt)
        sqlite3_finalize(s->reject_stmt);
    if (s->profile_stmt)
        sqlite3_finalize(s->profile_stmt);
    if (s->db)
        sqlite3_close(s->db);
    if (s->log_fd >= 0)
        close(s->log_fd);
    if (s->ack_fd >= 0)
        close(s->ack_fd);
    if (s->idx_fd >= 0)
        close(s->idx_fd);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    up_rollup_free(&s->roll);
    if (s->model)
        up_model_free(s->model);
    free(s->model_text);
    for (size_t i = 0; i < s->n_retired; i++) {
        up_model_free(s->retired[i]);
        free(s->retired_text[i]);
    }
    free(s->retired);
    free(s->retired_text);
    free(s->pend);
    free(s->pend_mids);
    up_st_acct_scan_free(s);
    up_acx_close(s->acx);
    free(s->hot);
    up_ch_free(s->ch);
    free(s->dir);
    free(s);
    return rc;
}

const char *up_store_notice(const up_store_t *s)
{
    return s->notice[0] ? s->notice : NULL;
}

sqlite3 *up_store_db(up_store_t *s) { return s->db; }
const char *up_store_dir(const up_store_t *s) { return s->dir; }
const up_model_t *up_store_model(const up_store_t *s) { return s->model; }
const char *up_store_model_text(const up_store_t *s) { return s->model_text; }

int up_store_set_model(up_store_t *s, const char *text, size_t len, const char *name,
                       char *err, size_t errlen)
{
    up_model_t *m;
    int rc = up_model_parse(text, len, name, &m, err, errlen);
    if (rc < 0)
        return rc;
    if (!(s->flags & UP_STORE_WRITE)) {
        up_model_free(m);
        return -UP_EINVAL;
    }
    char *copy = up_strndup(text, len);
    if (!copy) {
        up_model_free(m);
        return -UP_ENOMEM;
    }
    /* pending events belong to the log before the model changes, and a
     * damaged log keeps the model it has (it could not be rebuilt) */
    up_log_scan_t sc;
    if ((rc = up_store_commit(s)) < 0 || (rc = up_st_scan_log(s, 0, NULL, NULL, 0, &sc)) < 0) {
        if (rc == -UP_ECORRUPT && s->notice[0])
            snprintf(err, errlen, "%s", s->notice);
        free(copy);
        up_model_free(m);
        return rc;
    }
    sqlite3_stmt *st;
    rc = -UP_EDB;
    if (sqlite3_prepare_v2(s->db,
            "INSERT INTO model(id, text, name, set_at) VALUES (1, ?, ?, datetime('now'))"
            " ON CONFLICT(id) DO UPDATE SET text = excluded.text, name = excluded.name, set_at = excluded.set_at",
            -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, copy, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = 0;
        sqlite3_finalize(st);
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot store the model: %s", sqlite3_errmsg(s->db));
        free(copy);
        up_model_free(m);
        return rc;
    }
    up_rollup_free(&s->roll);
    up_model_t **rm = realloc(s->retired, (s->n_retired + 1) * sizeof *rm);
    if (rm)
        s->retired = rm;
    char **rt = rm ? realloc(s->retired_text, (s->n_retired + 1) * sizeof *rt) : NULL;
    if (rt) {
        s->retired_text = rt;
        rm[s->n_retired] = s->model;
        rt[s->n_retired++] = s->model_text;
    } else {   /* no memory to keep it: free it now, as before */
        up_model_free(s->model);
        free(s->model_text);
    }
    s->model = m;
    s->model_text = copy;
    s->model_hash = up_hash64(copy, len, 0);
    rc = build_rollup(s, 0);
    s->roll_ready = rc == 0;
    s->dirty = 1;
    if (rc == 0)
        rc = up_store_commit(s);   /* folds the users table in, writes the snapshot */
    return rc;
}

static int cutoff_cb(void *ctx, const up_block_t *b)
{
    return up_rollup_apply_block(ctx, b);
}

int up_store_rollup(up_store_t *s, int64_t T, up_rollup_t **out, int *owned)
{
    int32_t d0 = up_day_of(T);
    int64_t end_of_day = (int64_t)(d0 + 1) * UP_MS_PER_DAY - 1;
    *owned = 0;
    int rc0 = up_st_ensure_rollup(s);
    if (rc0 < 0)
        return rc0;
    if (T >= s->roll.max_ts || T == end_of_day || s->roll.events == 0) {
        *out = &s->roll;
        return 0;
    }
    /* T falls inside a day that has later events: fold the log up to T. */
    int rc = up_store_commit(s);
    if (rc < 0)
        return rc;
    up_rollup_t *r = malloc(sizeof *r);
    if (!r)
        return -UP_ENOMEM;
    up_rollup_init(r, s->model, T);
    up_log_scan_t sc;
    rc = s->ch ? ch_fill(s, r) : up_st_scan_log(s, 0, cutoff_cb, r, 0, &sc);
    if (rc == 0)
        rc = sync_users(s, r, s->roll.users_gen);
    if (rc < 0) {
        up_rollup_free(r);
        free(r);
        return rc;
    }
    *out = r;
    *owned = 1;
    return 0;
}


/* Opens the message-id index and adds what it lacks: the log after the
 * offset its files cover, and the pending events. */
static int dedup_load(up_store_t *s)
{
    if (!(s->flags & UP_STORE_WRITE))
        return -UP_EINVAL;   /* the index is a writer's: it writes its files */
    up_dedup_limits_t lim;
    up_dedup_limits(&lim);
    up_dedup_t *d;
    int rc = up_dedup_open(&d, s->dir, s->log_fd, &lim);
    if (rc < 0)
        return rc;
    up_log_scan_t sc;
    rc = up_st_scan_log(s, up_dedup_covered(d), up_dedup_scan_block, d, 0, &sc);
    for (uint32_t i = 0; rc == 0 && s->pend_has_mid && i < s->n_pend; i++) {
        uint64_t h1 = s->pend_mids[2 * (size_t)i], h2 = s->pend_mids[2 * (size_t)i + 1];
        int added = (h1 | h2) ? up_dedup_add(d, h1, h2) : 0;
        rc = added < 0 ? added : 0;
    }
    if (rc < 0) {
        up_dedup_close(d);
        return rc;
    }
    s->dedup = d;
    return 0;
}

/* Whether the message id (h1, h2) is new (1, now indexed) or a duplicate (0).
 * When the index's RAM part is full, the pending events go to the log first,
 * so that the part written to disk holds only ids the log holds. */
static int dedup_add(up_store_t *s, uint64_t h1, uint64_t h2)
{
    int rc;
    if (!s->dedup && (rc = dedup_load(s)) < 0)
        return rc;
    if (up_dedup_full(s->dedup) && ((rc = flush_block(s)) < 0 || (rc = up_dedup_persist(s->dedup, s->log_end)) < 0))
        return rc;
    return up_dedup_add(s->dedup, h1, h2);
}

int up_store_refresh(up_store_t *s)
{
    if ((s->flags & UP_STORE_WRITE) || !s->roll_ready)
        return 0;
    char *p = up_st_path_in(s, "events.ack");
    int rc0 = p ? up_store_log_mark_read(p, &s->mark) : -UP_ENOMEM;   /* before the log's size */
    free(p);
    if (rc0 < 0)
        return rc0;
    struct stat st;
    if (fstat(s->log_fd, &st) < 0)
        return -UP_EIO;
    if ((uint64_t)st.st_size < s->log_end)
        return -UP_ECORRUPT;   /* the writer cut a block this reader had read: open again */
    if ((uint64_t)st.st_size > s->log_end) {
        int rc = replay(s, s->log_end);
        if (rc < 0)
            return rc;
    }
    return up_st_ensure_rollup(s);
}

int up_store_warm(up_store_t *s, uint64_t *ids)
{
    int rc = s->dedup ? 0 : dedup_load(s);
    up_dedup_stats_t st = {0};
    if (s->dedup)
        up_dedup_stats(s->dedup, &st);
    *ids = st.ram_ids + st.disk_ids;
    if (rc < 0 || !s->roll_ready)
        return rc;
    /* the dictionary and pair indexes that a snapshot load leaves for the
     * first lookup: a find builds them */
    for (int k = 0; k < UP_KINDS; k++)
        up_dict_find(&s->roll.dict[k], "", 0);
    if (s->roll.n_pairs) {
        int added;
        int64_t pid = up_rollup_pair(&s->roll, s->roll.pairs[0].account, s->roll.pairs[0].user, &added);
        if (pid < 0)
            return (int)pid;
    }
    return 0;
}

int up_store_append(up_store_t *s, int64_t ts, const char *user, size_t user_len,
                    const char *account, size_t account_len, const char *event,
                    size_t event_len, const char *msgid, size_t msgid_len)
{
    uint64_t h1 = 0, h2 = 0;
    int rc;
    if (s->ch)   /* de-duplicated by message id when read (store_ch.c) */
        return (rc = up_ch_append(s->ch, ts, user, user_len, account, account_len, event, event_len, msgid,
                                  msgid_len)) < 0 ? rc : 1;
    if (msgid && msgid_len) {
        h1 = up_hash64(msgid, msgid_len, 0x75707461u);
        h2 = up_hash64(msgid, msgid_len, 0x6b652121u);
        if (!(h1 | h2))
            h2 = 1;
        rc = dedup_add(s, h1, h2);
        if (rc <= 0)
            return rc;
    }
    up_rollup_t *r = &s->roll;
    if (s->bulk && !s->pipe && s->roll_ready && up_rollpipe_start(&s->pipe, r) < 0)
        s->pipe = NULL;   /* no second thread: this one folds */
    int added;
    struct hot_user *hu = NULL;
    int64_t uid = -1;
    if (s->bulk && s->hot && user_len <= HOT_LEN) {
        uint64_t h = up_hash64(user, user_len, 0);
        hu = &s->hot[h & (HOT_USERS - 1)];
        if (hu->uid >= 0 && hu->h == h && hu->len == user_len && memcmp(hu->str, user, user_len) == 0)
            uid = hu->uid;
        else if ((uid = up_dict_intern(&r->dict[UP_KIND_USER], user, user_len, &added)) >= 0) {
            hu->h = h;
            hu->uid = uid;
            hu->aid = hu->pid = -1;
            hu->len = (uint8_t)user_len;
            memcpy(hu->str, user, user_len);
        }
    } else
        uid = s->bulk && up_dict_is(&r->dict[UP_KIND_USER], s->last_uid, user, user_len)
            ? s->last_uid : up_dict_intern(&r->dict[UP_KIND_USER], user, user_len, &added);
    int64_t aid = hu && up_dict_is(&r->dict[UP_KIND_ACCOUNT], hu->aid, account, account_len) ? hu->aid
                : s->bulk && up_dict_is(&r->dict[UP_KIND_ACCOUNT], s->last_aid, account, account_len)
                ? s->last_aid : up_dict_intern(&r->dict[UP_KIND_ACCOUNT], account, account_len, &added);
    /* the few event names: by length and end bytes, checked against the name */
    unsigned ek = event_len ? (unsigned)(event_len * 31 + (uint8_t)event[0] * 7 + (uint8_t)event[event_len - 1]) & 63 : 0;
    int64_t eid = s->bulk && up_dict_is(&r->dict[UP_KIND_EVENT], s->hot_event[ek], event, event_len)
                ? s->hot_event[ek] : up_dict_intern(&r->dict[UP_KIND_EVENT], event, event_len, &added);
    if (s->bulk)
        s->hot_event[ek] = eid;
    if (uid < 0 || aid < 0 || eid < 0)
        return -UP_ENOMEM;
    if (s->pipe && ((uint32_t)eid >= r->n_evclass || r->n_pairs == r->cap_pairs)) {
        /* what moves r->evclass or r->pairs waits for the second thread */
        if ((rc = up_rollpipe_drain(s->pipe)) < 0 || (rc = up_rollup_classify(r, (uint32_t)eid)) < 0 ||
            (r->n_pairs == r->cap_pairs &&
             (rc = up_rollup_reserve_pairs(r, r->cap_pairs ? r->cap_pairs * 2 : 1024)) < 0))
            return rc;
    }
    int64_t pid = hu && hu->aid == aid && hu->pid >= 0 ? hu->pid
                : s->bulk && uid == s->last_uid && aid == s->last_aid && s->last_pid >= 0
                ? s->last_pid : up_rollup_pair(r, (uint32_t)aid, (uint32_t)uid, &added);
    if (pid < 0)
        return (int)pid;
    if (hu) {
        hu->aid = aid;
        hu->pid = pid;
    }
    s->last_uid = uid;
    s->last_aid = aid;
    s->last_pid = pid;
    if (!s->pend) {
        s->pend = malloc(BLOCK_EVENTS * sizeof *s->pend);
        s->pend_mids = malloc(BLOCK_EVENTS * 2 * sizeof *s->pend_mids);
        if (!s->pend || !s->pend_mids)
            return -UP_ENOMEM;
    }
    up_ev_t ev = {ts, (uint32_t)pid, (uint32_t)eid};
    s->pend[s->n_pend] = ev;
    s->pend_mids[2 * (size_t)s->n_pend] = h1;
    s->pend_mids[2 * (size_t)s->n_pend + 1] = h2;
    if (h1 | h2)
        s->pend_has_mid = 1;
    s->n_pend++;
    if ((rc = s->pipe ? up_rollpipe_add(s->pipe, &ev) : up_rollup_add(r, &ev)) < 0)
        return rc;
    if (ev.event < r->n_evclass && !r->evclass[ev.event].passive && r->evclass[ev.event].n_roles == 0)
        s->unmapped++;
    s->dirty = 1;
    if (s->n_pend == BLOCK_EVENTS && (rc = flush_block(s)) < 0)
        return rc;
    return 1;
}

uint64_t up_store_unmapped(const up_store_t *s)
{
    return s->unmapped;
}

int up_store_reject(up_store_t *s, const char *source, const char *file, long line,
                    const char *field, const char *reason, const char *record)
{
    if (!s->reject_stmt &&
        sqlite3_prepare_v2(s->db,
            "INSERT INTO rejects(at, source, file, line, field, reason, record)"
            " VALUES (strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?, ?, ?, ?, ?)",
            -1, &s->reject_stmt, NULL) != SQLITE_OK)
        return -UP_EDB;
    sqlite3_stmt *st = s->reject_stmt;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, file, -1, SQLITE_TRANSIENT);
    if (line > 0)
        sqlite3_bind_int64(st, 3, line);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_text(st, 4, field, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, record, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -UP_EDB;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

void up_store_events_span(up_store_t *s, uint64_t *events, int64_t *max_ts)
{
    *events = 0;
    *max_ts = INT64_MIN;
    if (up_st_ensure_rollup(s) < 0)
        return;
    *events = s->roll.events;
    *max_ts = s->roll.max_ts;
}

void up_store_stats(up_store_t *s, up_store_stats_t *st)
{
    memset(st, 0, sizeof *st);
    if (up_st_ensure_rollup(s) < 0)
        return;
    st->events = s->roll.events;
    st->log_bytes = s->log_end;
    /* count what the events hold; the users table adds ids of its own */
    uint8_t *seen_u = calloc(s->roll.dict[UP_KIND_USER].n + 1, 1);
    uint8_t *seen_a = calloc(s->roll.dict[UP_KIND_ACCOUNT].n + 1, 1);
    for (uint32_t i = 0; seen_u && seen_a && i < s->roll.n_pairs; i++) {
        const up_pair_t *p = &s->roll.pairs[i];
        if (p->first_ts == UP_TS_NONE)
            continue;
        st->pairs++;
        st->users += !seen_u[p->user];
        st->accounts += !seen_a[p->account];
        seen_u[p->user] = seen_a[p->account] = 1;
    }
    free(seen_u);
    free(seen_a);
    st->event_names = s->roll.dict[UP_KIND_EVENT].n;
    st->min_ts = s->roll.min_ts;
    st->max_ts = s->roll.max_ts;
    char *p = up_st_path_in(s, "rollup.bin");
    struct stat sb;
    if (p && stat(p, &sb) == 0)
        st->snapshot_bytes = (uint64_t)sb.st_size;
    free(p);
}
