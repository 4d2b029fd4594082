/* acx: the event log again, grouped by account, so that one account's page
 * reads its own events rather than decoding everyone's.
 *
 * DIR/events.acx holds blocks in the log's own format (store_log.h), each
 * with events of one group of accounts only (account id mod UP_ACX_GROUPS),
 * with no strings and no pairs: their ids are the log's. DIR/events.acx.idx
 * lists those blocks (offset, group, first and last event time, header
 * checksum and length, events) and says which part of the log they hold:
 * from its start to the offset `covered`, whose last block it names by
 * offset and header checksum. The log after `covered` is read as before.
 *
 * Both files are a cache of the log. A reader uses them only when the index
 * passes its checksum and every structural check, the log still has the
 * block it names, and each block it reads passes its own checks (its header
 * as recorded, its checksum, and every event of the group and of the times
 * recorded); anything else and the reader reads the log instead, with a
 * notice. A writer brings them up to the log's end once at least
 * UP_ACX_MIN_BYTES of log are not covered (the environment variable
 * UPTAKE_ACX_MIN_BYTES sets another amount), appending blocks and then
 * replacing the index (written to a temporary file, synced, renamed): a
 * crash leaves the old index, and blocks past its end are cut off by the
 * next writer. */
#ifndef UP_ACX_H
#define UP_ACX_H

#include <stddef.h>
#include <stdint.h>

#include "rollup.h"
#include "store_log.h"

#define UP_ACX_GROUPS 128
#define UP_ACX_MIN_BYTES (8u << 20)
#define UP_ACX_BLOCK_EVENTS 16384   /* a group's events per block, at most */

/* One block of events.acx. */
typedef struct {
    uint64_t off;
    int64_t min_ts, max_ts;
    uint32_t group, clen, hdr_crc, n_events;
} up_acx_entry_t;

/* A loaded index. */
typedef struct {
    uint64_t covered;        /* the log's bytes [0, covered) are in events.acx */
    uint64_t last_off;       /* the log block that ends at covered (when covered > 0) */
    uint32_t last_crc;       /* its header checksum */
    uint64_t data_end;       /* the bytes of events.acx the blocks fill */
    up_acx_entry_t *e;       /* by offset */
    size_t n;
} up_acx_index_t;

/* Parses the bytes of an index file into x (x->e malloc'd): 0, or
 * -UP_ECORRUPT with what is wrong in why (x then empty), or -UP_ENOMEM. */
int up_acx_parse(const uint8_t *p, size_t len, up_acx_index_t *x, char *why, size_t whylen);
void up_acx_index_free(up_acx_index_t *x);

typedef struct up_acx up_acx_t;

/* Opens the index of the store in dir for the log open on log_fd, whose
 * readable end is log_end: 0 with *out (NULL when there is no index, or it
 * does not match the log: then why names the problem unless the files are
 * simply absent), or -UP_ENOMEM. */
int up_acx_open(const char *dir, int log_fd, uint64_t log_end, up_acx_t **out, char *why, size_t whylen);
void up_acx_close(up_acx_t *x);
/* The log bytes the index covers: [0, covered). */
uint64_t up_acx_covered(const up_acx_t *x);

/* An index already parsed (taken over: ix is left empty) over the file
 * open on fd (taken over too, closed by up_acx_close), without the checks
 * up_acx_open makes against the log: for tests and the fuzzer. 0 or
 * -UP_ENOMEM (fd is closed then). */
int up_acx_adopt(up_acx_index_t *ix, int fd, up_acx_t **out);

/* Hands fn the blocks of account id `account`'s group that hold events of
 * [from, to], in the order they were written, each checked; pairs (n_pairs
 * of them) say each event's account. Returns 0, fn's first non-zero value,
 * -UP_ECORRUPT with what failed in why, or another negative UP_E* code. */
int up_acx_scan(up_acx_t *x, uint32_t account, int64_t from, int64_t to, const up_pair_t *pairs, uint32_t n_pairs,
                up_log_block_fn fn, void *ctx, char *why, size_t whylen);

/* Reads every block of events.acx as a scan would (header as recorded,
 * checksum, decoding, the events and times its record says); *events
 * receives how many it holds. Returns 0, -UP_ECORRUPT with what failed in
 * why, or another negative UP_E* code. For `uptake check`: which group an
 * event's account is in is checked by the scans (they know the pairs). */
int up_acx_verify(up_acx_t *x, uint64_t *events, char *why, size_t whylen);
/* The blocks the index lists. */
size_t up_acx_blocks(const up_acx_t *x);

/* A writer's update: the log open on log_fd up to log_end (its blocks below
 * acked acknowledged) into events.acx and a new index, when at least
 * min_bytes of it are not covered yet. pairs (n_pairs) say each pair's
 * account. Returns 1 when it wrote, 0 when there was not enough to do, or a
 * negative UP_E* code (the files are then as a crash would leave them). */
int up_acx_update(const char *dir, int log_fd, uint64_t acked, uint64_t log_end, const up_pair_t *pairs,
                  uint32_t n_pairs, uint64_t min_bytes, int zstd_level);

/* UP_ACX_MIN_BYTES, or the amount UPTAKE_ACX_MIN_BYTES sets. */
uint64_t up_acx_min_bytes(void);

#endif
