/* keys: creation, listing, revocation and checking of access keys (see the
 * header). Hashing is SHA-256 from OpenSSL's libcrypto; randomness from
 * RAND_bytes; comparison with CRYPTO_memcmp over every stored hash, so the
 * time taken says nothing about how much of a key matched. */
#include "keys.h"

#include "fmt.h"
#include "util.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS keys(id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('write','read')),"
    " name TEXT, hash BLOB NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)";

static const char SESSIONS[] =
    "CREATE TABLE IF NOT EXISTS sessions(hash BLOB PRIMARY KEY, key_hash BLOB NOT NULL,"
    " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)";

/* Keys made before events-only keys existed have events_only 0: they keep
 * doing what they did (group traits, nudges) until re-created. */
static int add_scope_column(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT events_only FROM keys LIMIT 0", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    return sqlite3_exec(db, "ALTER TABLE keys ADD COLUMN events_only INTEGER NOT NULL DEFAULT 0", NULL, NULL, NULL) ==
                   SQLITE_OK
               ? 0
               : -UP_EDB;
}

int up_keys_init(sqlite3 *db)
{
    return sqlite3_exec(db, SCHEMA, NULL, NULL, NULL) == SQLITE_OK &&
                   sqlite3_exec(db, SESSIONS, NULL, NULL, NULL) == SQLITE_OK && add_scope_column(db) == 0
               ? 0
               : -UP_EDB;
}

/* The tables made if need be, then sql prepared into *st: 0 or -UP_EDB. */
static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (up_keys_init(db) < 0 || sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return -UP_EDB;
    return 0;
}

/* prefix (4 characters) and 20 random bytes in hex into out (at least 64
 * bytes): 44 characters. Returns that length, or -1 (no randomness). */
static int random_id(const char *prefix, char *out, size_t outlen)
{
    uint8_t rnd[20];
    if (outlen < 64 || RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    int n = snprintf(out, outlen, "%s", prefix);
    for (size_t i = 0; i < sizeof rnd; i++)
        n += snprintf(out + n, outlen - (size_t)n, "%02x", rnd[i]);
    return n;
}

int up_keys_create(sqlite3 *db, up_key_kind_t kind, const char *name, int events_only, char *out, size_t outlen)
{
    int n = random_id(kind == UP_KEY_WRITE ? "upw_" : "upr_", out, outlen);
    if (n < 0)
        return -UP_EIO;
    uint8_t h[32];
    SHA256((const uint8_t *)out, (size_t)n, h);
    sqlite3_stmt *st;
    if (prepare(db, "INSERT INTO keys(id, kind, name, hash, created_at, events_only)"
                    " VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?5)", &st) < 0)
        return -UP_EDB;
    sqlite3_bind_text(st, 1, out, 12, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, kind == UP_KEY_WRITE ? "write" : "read", -1, SQLITE_STATIC);
    if (name)
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 4, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, kind == UP_KEY_WRITE && events_only);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -UP_EDB;
    sqlite3_finalize(st);
    return rc;
}

int up_keys_revoke(sqlite3 *db, const char *id)
{
    sqlite3_stmt *st;
    if (prepare(db, "UPDATE keys SET revoked_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')"
                    " WHERE id = substr(?1, 1, 12) AND revoked_at IS NULL", &st) < 0)
        return -UP_EDB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -UP_EDB;
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_changes(db) == 0)
        rc = -UP_ENOTFOUND;
    return rc;
}

int up_keys_list(sqlite3 *db, FILE *out, int json)
{
    sqlite3_stmt *st;
    if (prepare(db, "SELECT id, kind, CASE WHEN kind = 'read' THEN NULL WHEN events_only THEN 'events' ELSE 'all' END,"
                    " name, created_at, revoked_at FROM keys ORDER BY created_at, id", &st) < 0)
        return -UP_EDB;
    up_buf_t b = {0};
    if (json)
        up_buf_puts(&b, "[");
    else
        up_buf_printf(&b, "%-14s %-6s %-7s %-20s %-21s %s\n", "id", "kind", "calls", "name", "created", "revoked");
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *col[6];
        for (int i = 0; i < 6; i++)
            col[i] = (const char *)sqlite3_column_text(st, i);
        if (json) {
            up_buf_puts(&b, n ? ",\n " : "\n ");
            static const char *const names[] = {"id", "kind", "calls", "name", "created_at", "revoked_at"};
            for (int i = 0; i < 6; i++) {
                up_buf_printf(&b, "%s\"%s\":", i ? "," : "{", names[i]);
                if (col[i])
                    up_fmt_json_str(&b, col[i]);
                else
                    up_buf_puts(&b, "null");
            }
            up_buf_puts(&b, "}");
        } else
            up_buf_printf(&b, "%-14s %-6s %-7s %-20s %-21s %s\n", col[0], col[1], col[2] ? col[2] : "–",
                          col[3] ? col[3] : "–", col[4], col[5] ? col[5] : "–");
        n++;
    }
    sqlite3_finalize(st);
    if (json)
        up_buf_puts(&b, n ? "\n]\n" : "]\n");
    else if (!n)
        up_buf_puts(&b, "(no keys: create one with `uptake keys create --write` or `--read`)\n");
    int rc = b.data && fwrite(b.data, 1, b.len, out) == b.len ? 0 : -UP_EIO;
    up_buf_free(&b);
    return rc;
}

static int64_t data_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

int up_keyring_load(up_keyring_t *k, sqlite3 *db)
{
    int64_t v = data_version(db);
    if (k->hash && v == k->version && v >= 0)
        return 0;
    sqlite3_stmt *st;
    if (prepare(db, "SELECT kind, hash, events_only FROM keys WHERE revoked_at IS NULL", &st) < 0)
        return -UP_EDB;
    size_t n = 0, cap = 8;
    uint8_t (*hash)[32] = malloc(cap * sizeof *hash);
    uint8_t *kind = malloc(cap);
    int rc = hash && kind ? 0 : -UP_ENOMEM;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != 32)
            continue;
        if (n == cap) {
            cap *= 2;
            uint8_t (*h2)[32] = realloc(hash, cap * sizeof *hash);
            uint8_t *k2 = h2 ? realloc(kind, cap) : NULL;
            if (h2)
                hash = h2;
            if (k2)
                kind = k2;
            if (!h2 || !k2) {
                rc = -UP_ENOMEM;
                break;
            }
        }
        memcpy(hash[n], sqlite3_column_blob(st, 1), 32);
        kind[n] = strcmp((const char *)sqlite3_column_text(st, 0), "write") == 0 ? UP_KEY_WRITE : UP_KEY_READ;
        if (sqlite3_column_int(st, 2))
            kind[n] |= UP_KEY_EVENTS_ONLY;
        n++;
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        free(hash);
        free(kind);
        return rc;
    }
    up_keyring_free(k);
    k->hash = hash;
    k->kind = kind;
    k->n = n;
    k->version = v;
    return 0;
}

int up_keyring_check(const up_keyring_t *k, up_key_kind_t kind, const char *key, size_t len)
{
    return up_keyring_lookup(k, kind, key, len) != 0;
}

int up_keyring_lookup(const up_keyring_t *k, up_key_kind_t kind, const char *key, size_t len)
{
    uint8_t h[32];
    SHA256((const uint8_t *)key, len, h);
    int found = 0;
    for (size_t i = 0; i < k->n; i++) {
        int match = (CRYPTO_memcmp(h, k->hash[i], 32) == 0) & ((k->kind[i] & ~UP_KEY_EVENTS_ONLY) == kind);
        found |= match * (k->kind[i] & UP_KEY_EVENTS_ONLY ? 2 : 1);
    }
    return found & 2 ? 2 : found;
}

int up_keyring_check_hash(const up_keyring_t *k, up_key_kind_t kind, const uint8_t h[32])
{
    int found = 0;
    for (size_t i = 0; i < k->n; i++)
        found |= (CRYPTO_memcmp(h, k->hash[i], 32) == 0) & ((k->kind[i] & ~UP_KEY_EVENTS_ONLY) == kind);
    return found;
}

/* ---- dashboard sessions ------------------------------------------------- */

int up_keys_session_create(sqlite3 *db, const char *token, size_t len, int64_t now_s, int64_t ttl_s, char *out,
                      size_t outlen)
{
    int n = random_id("ups_", out, outlen);
    if (n < 0)
        return -UP_EIO;
    uint8_t h[32], kh[32];
    SHA256((const uint8_t *)out, (size_t)n, h);
    SHA256((const uint8_t *)token, len, kh);
    sqlite3_stmt *st;
    if (prepare(db, "INSERT INTO sessions(hash, key_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)", &st) < 0)
        return -UP_EDB;
    sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, kh, sizeof kh, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now_s);
    sqlite3_bind_int64(st, 4, now_s + ttl_s);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -UP_EDB;
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE expires_at <= ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now_s);
        sqlite3_step(st);    /* housekeeping: a failure leaves dead rows that never match */
        sqlite3_finalize(st);
    }
    return rc;
}

int up_keys_session_find(sqlite3 *db, const char *id, size_t len, int64_t now_s, uint8_t key_hash[32])
{
    if (len != 44 || memcmp(id, "ups_", 4) != 0)
        return 0;
    uint8_t h[32];
    SHA256((const uint8_t *)id, len, h);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT key_hash FROM sessions WHERE hash = ?1 AND expires_at > ?2", -1, &st, NULL) !=
        SQLITE_OK)
        return -UP_EDB;
    sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now_s);
    int rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32;
    if (found)
        memcpy(key_hash, sqlite3_column_blob(st, 0), 32);
    sqlite3_finalize(st);
    return found ? 1 : rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -UP_EDB;
}

int up_keys_session_end(sqlite3 *db, const char *id, size_t len)
{
    uint8_t h[32];
    SHA256((const uint8_t *)id, len, h);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE hash = ?1", -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -UP_EDB;
    sqlite3_finalize(st);
    return rc;
}

void up_keyring_free(up_keyring_t *k)
{
    free(k->hash);
    free(k->kind);
    k->hash = NULL;
    k->kind = NULL;
    k->n = 0;
}
