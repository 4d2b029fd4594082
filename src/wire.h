/* wire: decodes one HTTP request of the Segment, RudderStack, PostHog or
 * Mixpanel client libraries into messages (spec/ingest-wire.md). Pure: no
 * sockets, no store. Invariant: a request that can be decoded at all gives
 * status 200 and one message per event in it, each either valid or carrying
 * its reject reason; only an undecodable body is 400 (and an oversized one
 * 413), so one bad event never costs the others. */
#ifndef UP_WIRE_H
#define UP_WIRE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Client families: Segment and RudderStack share the /v1 paths. */
enum { UP_WIRE_SEGMENT, UP_WIRE_POSTHOG, UP_WIRE_MIXPANEL, UP_WIRE_FAMILIES };
const char *up_wire_family_name(int family);   /* "segment", "posthog", "mixpanel" */

typedef enum { UP_WIRE_TRACK, UP_WIRE_IDENTIFY, UP_WIRE_GROUP, UP_WIRE_ALIAS } up_wire_kind_t;

/* Limits (bytes): one event, and a decompressed body. */
#define UP_WIRE_MAX_EVENT (32u << 10)
#define UP_WIRE_MAX_BODY (5u << 20)
#define UP_WIRE_MAX_BODY_POSTHOG_BATCH (20u << 20)
/* Messages in one request: a body with more is answered 413 before it is
 * parsed (counted by a scan of the text, so 7 million "{}" cost no parse). */
#define UP_WIRE_MAX_MESSAGES 20000
/* Messages the decoder rejected, kept one row each per request; the rest
 * are counted and summed up in one more row (up_ingest_batch). */
#define UP_WIRE_MAX_REJECTS 100

/* Says whether key (len bytes) is a live write key (1), a live read token
 * (2) or neither (0). */
typedef int (*up_wire_key_fn)(void *ctx, const char *key, size_t len);

typedef struct {
    const char *method;            /* GET, POST, OPTIONS */
    const char *path;              /* without the query */
    const char *query;             /* raw, after '?', or NULL */
    const char *content_encoding;  /* header value or NULL */
    const char *authorization;     /* header value or NULL */
    const uint8_t *body;
    size_t body_len;
    int64_t received_ms;           /* the server's clock */
    const char *group_type;        /* PostHog $groups key and Mixpanel group property; NULL: "company" */
} up_wire_req_t;

typedef struct {
    up_wire_kind_t kind;           /* page and screen arrive as track events "page_view", "screen_view" */
    int64_t ts;                    /* ms UTC, clock skew corrected */
    const char *user_id;           /* NULL when absent (then rejected, except group calls) */
    const char *account_id;        /* when the message names it; else NULL */
    const char *event;
    const char *message_id;        /* messageId / uuid / $insert_id, or NULL */
    json_t *traits;                /* identify / group traits (borrowed from the batch), or NULL */
    const char *reject;            /* why this message is rejected, or NULL */
    const char *reject_field;
    char *record;                  /* compact JSON of a rejected message (truncated), or NULL */
} up_wire_msg_t;

#define UP_WIRE_MAX_KEYS 4

typedef struct {
    int family;
    int status;                    /* 200, 400 (undecodable), 404 (unknown path), 413 (too large) */
    char error[256];               /* why, when status != 200 */
    int verbose;                   /* Mixpanel verbose=1 */
    int v1;                        /* PostHog /i/v1/analytics/events */
    size_t repaired;               /* \u0000 and lone surrogates made U+FFFD */
    /* credentials found, in the precedence of the wire doc; any that is a
     * live write key authorises the request */
    const char *keys[UP_WIRE_MAX_KEYS];
    int n_keys;
    up_wire_msg_t *msgs;
    size_t n_msgs;
    /* owned storage */
    json_t *root;                  /* the decoded documents */
    json_t *held;                  /* strings made here (ids from numbers, keys): stable pointers */
    struct up_wire_chunk *arena;   /* where the parser's nodes live (see wire.c) */
    char response[320];
} up_wire_batch_t;

/* Decodes req into b (zeroed by the caller or not: it is reset). Never
 * fails as a call: the outcome is b->status. Free with up_wire_batch_free. */
void up_wire_decode(const up_wire_req_t *req, up_wire_batch_t *b);

/* up_wire_decode for a request that no header or query credential
 * authorised, so its key must be in the body: before the body is parsed,
 * the string values of its members named writeKey, api_key, token and
 * $token are read off its text (no parse; a value with escapes is not
 * seen) and checked with key_check; when none is a live write key,
 * b->status is 401 (403 when one is a live read token) and the body is
 * never parsed. The parsed body's keys still decide after (b->keys). */
void up_wire_decode_keyed(const up_wire_req_t *req, up_wire_key_fn key_check, void *key_ctx, up_wire_batch_t *b);

/* The credentials of req's headers and query alone (Authorization Basic and
 * Bearer, the api_key query parameter), collected into b->keys without
 * reading the body, so that a request can be refused before its body is
 * received. b is reset; b->status is 404 for an unknown path. Free with
 * up_wire_batch_free. */
void up_wire_header_keys(const up_wire_req_t *req, up_wire_batch_t *b);

/* The bytes decoding req's body may inflate it to (the decompressed limit
 * of its path) when the body is compressed, else 0; body may be partial
 * (its first two bytes decide). */
size_t up_wire_inflate_bound(const up_wire_req_t *req);
void up_wire_batch_free(up_wire_batch_t *b);

/* The body to answer with for status (200, or an error status) in the form
 * the family's client expects (Mixpanel: "1" / "0"); *ctype receives its
 * Content-Type. The string is static or owned by b. */
const char *up_wire_response(up_wire_batch_t *b, int status, const char **ctype);

#endif
