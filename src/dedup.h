/* dedup: the message-id index of a store's writer: which 128-bit message-id
 * hashes events.log holds, exact, in memory bounded whatever their number.
 *
 * Recent ids live in a RAM table of a fixed budget. When it is full, the
 * caller makes the log durable and the table is written as a sorted run
 * file, DIR/mids.FROM-TO.idx, holding the ids of the log bytes [FROM, TO);
 * it is merged on the way with the newest runs that are not at least twice
 * its size, so there are at most log2 of the ids' count runs. A Bloom filter
 * over the runs rules out most disk lookups; a lookup it cannot rule out
 * binary-searches each run with pread.
 *
 * Invariant: the runs chain from offset 0 to up_dedup_covered() and hold
 * exactly the ids of events.log below it; the RAM table holds exactly the ids
 * added since. The run files are a cache: one that is missing, damaged
 * (CRC-32C) or not of this log (its end lies past the log's, or the log's
 * last 16 bytes before its end differ) is dropped, and the log is scanned
 * from the end of the runs that remain. */
#ifndef UP_DEDUP_H
#define UP_DEDUP_H

#include <stdint.h>

#include "store_log.h"

typedef struct up_dedup up_dedup_t;

/* The RAM table's budget and the Bloom filter's largest size. */
typedef struct {
    uint64_t ram_ids;       /* ids held in RAM before a merge to disk */
    uint64_t bloom_bytes;   /* the Bloom filter grows with the ids on disk up to this */
} up_dedup_limits_t;

/* The ids one log block can add past the budget while the log is scanned
 * (a run must end at a block boundary). */
#define UP_DEDUP_SLACK 65536u
/* Defaults: with the slack the RAM table is at most 2^22 slots of 16 bytes
 * (64 MB), filled to 5/8; the Bloom filter at most 64 MB. */
#define UP_DEDUP_RAM_IDS (2621440u - UP_DEDUP_SLACK)
#define UP_DEDUP_BLOOM_BYTES (64u << 20)

/* The limits to use: the defaults, or the settings UPTAKE_DEDUP_RAM_IDS
 * (1000 to 2^30) and UPTAKE_DEDUP_BLOOM_MB (1 to 4096) from the environment
 * when set to a whole number in range (otherwise ignored). */
void up_dedup_limits(up_dedup_limits_t *lim);

/* Opens the index of the store in dir, whose log is open on log_fd (the
 * writer's: runs are written, and files that are not used are removed). Reads
 * every run (checksums, and the Bloom filter) but not the log: the caller
 * then feeds the log's blocks from up_dedup_covered() to up_dedup_scan_block.
 * Returns 0 with *out owned by the caller, or a negative UP_E* code. */
int up_dedup_open(up_dedup_t **out, const char *dir, int log_fd, const up_dedup_limits_t *lim);

/* The log offset below which the runs hold every id. */
uint64_t up_dedup_covered(const up_dedup_t *d);

/* Adds the ids of the next block of the log (a up_store_log_scan callback,
 * from up_dedup_covered() on, in order); merges to disk at the block's end
 * when the RAM table is full. Returns 0 or a negative UP_E* code. */
int up_dedup_scan_block(void *d, const up_block_t *b);

/* Adds id (h1, h2), not both zero, unless present. Returns 1 when it was
 * absent (now added), 0 when present, or a negative UP_E* code. */
int up_dedup_add(up_dedup_t *d, uint64_t h1, uint64_t h2);

/* 1 when the RAM table holds its budget: before the next add the caller
 * writes its pending events to the log and calls up_dedup_persist. */
int up_dedup_full(const up_dedup_t *d);

/* Writes the RAM table to disk as a run covering the log up to log_end (then
 * empties it); every id added must be in the log below log_end. Fsyncs the
 * log first, then the run, which is renamed into place. A no-op when nothing
 * is new. Returns 0 or a negative UP_E* code (the index stays as it was). */
int up_dedup_persist(up_dedup_t *d, uint64_t log_end);

typedef struct {
    uint64_t ram_ids, disk_ids;     /* ids in the RAM table, in the runs */
    uint64_t runs;                  /* run files in use */
    uint64_t ram_bytes, bloom_bytes;/* the two allocations that grow */
    uint64_t disk_searches;         /* lookups the Bloom filter did not rule out */
    uint64_t merges;                /* runs written */
    uint64_t dropped;               /* run files dropped at open (damaged or stale) */
} up_dedup_stats_t;
void up_dedup_stats(const up_dedup_t *d, up_dedup_stats_t *st);

/* Frees the index without writing (persist first to keep the RAM ids). */
void up_dedup_close(up_dedup_t *d);

#endif
