/* keys: write keys (ingest only) and read tokens (API, dashboard), and the
 * dashboard's sessions. A key is shown once when created; the store keeps
 * only its SHA-256, in uptake.db.
 * Invariant: a presented key is compared with every stored hash of its kind
 * in constant time, and a revoked key never matches. */
#ifndef UP_KEYS_H
#define UP_KEYS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { UP_KEY_WRITE = 1, UP_KEY_READ = 2 } up_key_kind_t;

/* A write key is events-only (the default of `uptake keys create --write`)
 * or for every call (--server-side): an events-only key, which a browser
 * client carries in the open, stores events and links users to accounts,
 * but its group calls' account traits (name, seats, ARR, …) are ignored and
 * it cannot read /v1/nudges. Keys made before this distinction are for
 * every call. In the keyring, kind | UP_KEY_EVENTS_ONLY. */
#define UP_KEY_EVENTS_ONLY 4

/* Creates the keys table when missing. Returns 0 or -UP_EDB. */
int up_keys_init(sqlite3 *db);

/* Creates a key of kind with an optional name (a write key events-only
 * when events_only is set; ignored for read tokens); the key text (e.g.
 * "upw_…" or "upr_…", 44 characters) goes to out (at least 64 bytes).
 * Returns 0, -UP_EDB or -UP_EIO (no randomness). */
int up_keys_create(sqlite3 *db, up_key_kind_t kind, const char *name, int events_only, char *out, size_t outlen);

/* Revokes the key whose id (the first 12 characters, e.g. "upw_1a2b3c4d")
 * or full text is given. Returns 0, -UP_ENOTFOUND or -UP_EDB. */
int up_keys_revoke(sqlite3 *db, const char *id);

/* Writes the keys (id, kind, calls: "events" or "all" for a write key,
 * name, created, revoked; never the key) as a table, or as JSON when json
 * is set. */
int up_keys_list(sqlite3 *db, FILE *out, int json);

/* The live keys, loaded once and checked against many requests. */
typedef struct {
    uint8_t (*hash)[32];
    uint8_t *kind;
    size_t n;
    int64_t version;          /* PRAGMA data_version when loaded */
} up_keyring_t;

/* Loads (or reloads, when the database changed since) the live keys.
 * Returns 0 or -UP_EDB / -UP_ENOMEM. */
int up_keyring_load(up_keyring_t *k, sqlite3 *db);
/* 1 when key (len bytes) is a live key of kind, else 0. Constant time in
 * the key's content: every stored hash is compared in full. */
int up_keyring_check(const up_keyring_t *k, up_key_kind_t kind, const char *key, size_t len);
/* The same, telling the scope: 0 not a live key of kind, 1 a live key for
 * every call, 2 a live events-only write key. Constant time likewise. */
int up_keyring_lookup(const up_keyring_t *k, up_key_kind_t kind, const char *key, size_t len);
/* The same for a key known by its SHA-256 (a session's key). */
int up_keyring_check_hash(const up_keyring_t *k, up_key_kind_t kind, const uint8_t h[32]);
void up_keyring_free(up_keyring_t *k);

/* Dashboard sessions. Signing in with a read token makes a session: its id
 * ("ups_" and 40 hex digits, 44 characters) goes into the cookie, and the
 * sessions table of uptake.db keeps the SHA-256 of the id with the SHA-256
 * of the token, so the cookie never carries the token and a revoked token
 * ends its sessions. up_keys_session_create writes the id to out (at least 64
 * bytes) and deletes expired sessions; returns 0, -UP_EDB or -UP_EIO.
 * up_keys_session_find returns 1 with the token's hash in key_hash when id is a
 * session that has neither expired nor ended, 0 when not, or -UP_EDB.
 * up_keys_session_end deletes it (sign-out); returns 0 or -UP_EDB. */
int up_keys_session_create(sqlite3 *db, const char *token, size_t len, int64_t now_s, int64_t ttl_s, char *out,
                      size_t outlen);
int up_keys_session_find(sqlite3 *db, const char *id, size_t len, int64_t now_s, uint8_t key_hash[32]);
int up_keys_session_end(sqlite3 *db, const char *id, size_t len);

#endif
