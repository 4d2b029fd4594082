/* store_log: the append-only, checksummed event log. The log is a sequence of
 * blocks; each block is self-describing (it carries the dictionary strings and
 * (account, user) pairs first used in it) and zstd-compressed in columns.
 * Invariant: a block is either wholly present with a valid CRC-32C or it is a
 * torn tail, which up_store_log_scan finds and cuts. */
#ifndef UP_STORE_LOG_H
#define UP_STORE_LOG_H

#include <stddef.h>
#include <stdint.h>

enum { UP_KIND_USER = 0, UP_KIND_ACCOUNT = 1, UP_KIND_EVENT = 2, UP_KINDS = 3 };

/* One stored event after interning: ids are dictionary ids. */
typedef struct {
    int64_t ts;       /* ms since epoch, UTC */
    uint32_t pair;    /* (account, user) pair id */
    uint32_t event;   /* event-name id */
} up_ev_t;

/* What a block holds, as handed to the writer and back from the reader. */
typedef struct {
    /* new strings: kind[i], str[i] (len[i] bytes); ids continue each kind's
     * sequence in order */
    uint32_t n_strs;
    const uint8_t *str_kind;
    const char *const *strs;
    const uint32_t *str_lens;
    /* new pairs: ids continue the pair sequence in order */
    uint32_t n_pairs;
    const uint32_t *pair_account;
    const uint32_t *pair_user;
    /* events, and per event a message-id hash (two words) or zeros when none */
    uint32_t n_events;
    const up_ev_t *events;
    const uint64_t *mids;   /* 2 × n_events words, or NULL when no event has one */
} up_block_t;

/* Encodes and appends one block to fd at its end (the caller fsyncs).
 * The events are written sorted by ts (the array is not modified).
 * *bytes_out receives the size written. Returns 0, -UP_EIO or -UP_ENOMEM. */
int up_store_log_append(int fd, const up_block_t *b, int zstd_level, uint64_t *bytes_out);

typedef int (*up_log_block_fn)(void *ctx, const up_block_t *b);

/* Reads blocks from offset start to the end of fd, calling fn for each.
 * A torn tail (a header cut short, a block whose bytes run past the end, a
 * last block failing its CRC, or zeros) is found: *cut receives its size in
 * bytes (0 normally) and *end the offset after the last good block; with
 * truncate set the tail is cut from the file (and the file synced). Damage
 * with data after it is never cut: -UP_ECORRUPT, with *end at the damaged
 * block. Returns 0, the first non-zero value fn returned, or a negative
 * UP_E* code. */
int up_store_log_scan(int fd, uint64_t start, up_log_block_fn fn, void *ctx,
                int truncate, uint64_t *end, uint64_t *cut);

#endif
