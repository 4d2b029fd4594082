/* store_log: the append-only, checksummed event log. The log is a sequence of
 * blocks; each block is self-describing (it carries the dictionary strings and
 * (account, user) pairs first used in it) and zstd-compressed in columns.
 * Invariant: a block is either wholly present with a valid CRC-32C or it is a
 * torn tail, which up_store_log_scan finds and cuts; nothing below the
 * acknowledged end (the mark in DIR/events.ack) is ever taken for a torn
 * tail. */
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

/* What a scan found. acked is an input: the acknowledged end of the log (the
 * mark, 0 when the store has none); the rest is output. */
typedef struct {
    uint64_t acked;
    uint64_t limit;        /* an input too: 0, or L + 1 to stop at the first block at or after
                            * offset L (a reader beside an unfinished import reads only what
                            * came before it) */
    uint64_t end;          /* the offset after the last good block */
    uint64_t cut;          /* bytes of a torn tail after end (0 normally) */
    /* with -UP_ECORRUPT: the damaged block at end */
    uint64_t bad_len;      /* its bytes as its header says (0 when unknown) */
    int64_t bad_events;    /* the events it holds, or -1 when they cannot be counted */
    const char *what;      /* what failed, e.g. "fails its checksum" */
    int short_log;         /* the file ends bad_len bytes before acked */
} up_log_scan_t;

/* Reads blocks from offset start to the end of fd, calling fn for each.
 * Above sc->acked, a torn tail (a header cut short, a block whose bytes run
 * past the end, a last block failing its CRC, or zeros) is found: sc->cut
 * receives its size and sc->end the offset after the last good block; with
 * truncate set the tail is cut from the file (and the file synced). Anything
 * wrong below sc->acked (or damage with data after it) is never cut:
 * -UP_ECORRUPT with sc->end at the damaged block and sc->what saying why.
 * Returns 0, the first non-zero value fn returned, or a negative UP_E* code. */
int up_store_log_scan(int fd, uint64_t start, up_log_block_fn fn, void *ctx,
                int truncate, up_log_scan_t *sc);

/* One block as up_store_log_verify saw it. */
typedef struct {
    uint64_t off, len;     /* len 0: unknown (a header that cannot be read) */
    int64_t events;        /* -1 when they cannot be counted */
    const char *what;      /* NULL for a good block, else what failed */
    int torn;              /* a torn tail above the mark (what says which kind) */
} up_log_blockinfo_t;

typedef int (*up_log_verify_fn)(void *ctx, const up_log_blockinfo_t *bi);

/* Checks every block of fd (checksum, decompression, decoding) without
 * stopping at damage: after a damaged block it goes on at the next offset
 * that holds a block with a valid checksum. Calls fn for every block, good or
 * bad, and once for a torn tail above acked (torn set), or for a log that
 * ends below acked (what set, len 0). Returns 0, fn's first non-zero value,
 * or a negative UP_E* code (an I/O error). */
int up_store_log_verify(int fd, uint64_t acked, up_log_verify_fn fn, void *ctx);

/* A block to read by up_store_log_read_blocks: its offset, and the header
 * checksum and payload length its header must carry. */
typedef struct {
    uint64_t off;
    uint32_t hdr_crc, clen;
} up_log_blockref_t;

/* Reads the blocks refs[0..n) of fd in that order, each checked (its header
 * must carry hdr_crc and clen, its payload must pass its checksum,
 * decompress and decode), and hands each to fn. Returns 0, fn's first
 * non-zero value, -UP_ECORRUPT with *what saying what failed and *bad the
 * index of the block (fn may return -UP_ECORRUPT too: *what is then NULL
 * unless fn's block failed a check), or another negative UP_E* code. */
int up_store_log_read_blocks(int fd, const up_log_blockref_t *refs, size_t n, up_log_block_fn fn, void *ctx,
                             const char **what, size_t *bad);

/* The header checksum and payload length of the block at off: 0, or -1
 * when no block header is there. */
int up_store_log_header(int fd, uint64_t off, uint32_t *hdr_crc, uint32_t *clen);

/* The acknowledged end of the log, kept in its own small file (DIR/events.ack)
 * of two 32-byte slots written in turn, each with a sequence number and a
 * CRC-32C, so that a write torn by a crash leaves the other slot readable. */
typedef struct {
    uint64_t acked;        /* the acknowledged end of the log */
    uint64_t seq;          /* the sequence number of the slot read */
    int state;             /* UP_MARK_* */
    int bad_slots;         /* slots that fail their check (0..2) */
} up_log_mark_t;

enum { UP_MARK_NONE = 0, UP_MARK_OK = 1, UP_MARK_DAMAGED = 2 };

/* Reads the mark file at path. A missing file is UP_MARK_NONE (acked 0); a
 * file without a valid slot is UP_MARK_DAMAGED (acked 0). Returns 0 or
 * -UP_EIO. */
int up_store_log_mark_read(const char *path, up_log_mark_t *m);

/* Writes acked into the next slot of the mark file open on fd (after the
 * log's fsync) and syncs it: when it returns 0 the mark is durable. m is the
 * mark read before (its seq is advanced). Returns 0 or -UP_EIO. */
int up_store_log_mark_write(int fd, up_log_mark_t *m, uint64_t acked);

/* The time range of each block, kept beside the log (DIR/events.idx), so
 * that a scan of a window of time decompresses only the blocks that hold
 * events in it. One 40-byte record per block appended by the writer: the
 * block's offset, its first and last event ts, the CRC and length its header
 * carries, and a CRC-32C of the record. The file is a cache: a record is
 * used only when it passes its own check and matches the header of the block
 * at its offset (so records of a log cut back and written again are ignored);
 * a block without one is read. */
typedef struct {
    uint64_t off;
    int64_t min_ts, max_ts;      /* min > max: a block without events */
    uint32_t hdr_crc, clen;
    uint64_t seq;                /* its position in the file */
} up_log_range_t;

/* The range record of the block just appended at off (whose header fd's
 * block carries), appended to idx_fd. Returns 0 or -UP_EIO. */
int up_store_log_range_append(int idx_fd, int log_fd, uint64_t off, int64_t min_ts, int64_t max_ts);

/* The good records of the file at path, by offset (the last record of an
 * offset wins). *out is malloc'd; a missing file is 0 records. */
int up_store_log_ranges_read(const char *path, up_log_range_t **out, size_t *n);

/* 1 when the log at fd still has the block at last_off (header checksum
 * last_crc) ending at from, and every block in [from, end) has a record in
 * ranges[0..n) (sorted by offset) that matches its header and holds no
 * event at or before T; 0 otherwise. */
int up_store_log_unchanged(int fd, const up_log_range_t *ranges, size_t n, uint64_t last_off, uint32_t last_crc,
                           uint64_t from, uint64_t end, int64_t T);

/* up_store_log_scan without truncating, skipping (not decompressing) every
 * block whose record in ranges[0..n) says it holds no event in [from, to]. */
int up_store_log_scan_window(int fd, uint64_t start, const up_log_range_t *ranges, size_t n, int64_t from, int64_t to,
                             up_log_block_fn fn, void *ctx, up_log_scan_t *sc);

#endif
