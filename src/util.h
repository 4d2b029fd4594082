/* util: the error table, growable buffers, hashing and small helpers shared by
 * every module. Invariant: nothing here allocates behind the caller's back
 * except the buffers it returns, which the caller frees. */
#ifndef UP_UTIL_H
#define UP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* One table of error codes: X(name, message). Functions return 0 or -UP_E*. */
#define UP_ERRORS(X)                                   \
    X(UP_EOK, "success")                               \
    X(UP_ENOMEM, "out of memory")                      \
    X(UP_EIO, "input/output error")                    \
    X(UP_EPARSE, "parse error")                        \
    X(UP_EINVAL, "invalid argument")                   \
    X(UP_ENOTFOUND, "not found")                       \
    X(UP_ECORRUPT, "store is corrupt")                 \
    X(UP_EDB, "database error")                        \
    X(UP_EMODEL, "invalid adoption model")             \
    X(UP_EUSAGE, "usage error")                        \
    X(UP_EEXIST, "already exists")

enum {
#define UP_ERR_ENUM(name, msg) name,
    UP_ERRORS(UP_ERR_ENUM)
#undef UP_ERR_ENUM
    UP_ENUM_ERRORS
};

/* Returns the message for an error code (positive or negative). */
const char *up_strerror(int code);

/* Writes the sentence fmt into err (truncated to errlen) and returns rc:
 * `return up_errf(err, errlen, -UP_EINVAL, "…", …);`. */
int up_errf(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A growable byte buffer. len excludes the NUL that is always kept after data. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} up_buf_t;

int up_buf_reserve(up_buf_t *b, size_t extra);
int up_buf_append(up_buf_t *b, const void *p, size_t n);
int up_buf_puts(up_buf_t *b, const char *s);
int up_buf_printf(up_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void up_buf_reset(up_buf_t *b);
void up_buf_free(up_buf_t *b);

/* 64-bit hash of bytes (FNV-1a folded with a final mix); seedable. */
uint64_t up_hash64(const void *p, size_t n, uint64_t seed);
/* CRC-32C (Castagnoli) of bytes, continuing from crc (start with 0). */
uint32_t up_crc32c(uint32_t crc, const void *p, size_t n);

/* Little-endian integers of the store's files, read from and written to p. */
static inline uint32_t up_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t up_rd64(const uint8_t *p)
{
    return (uint64_t)up_rd32(p) | (uint64_t)up_rd32(p + 4) << 32;
}
static inline void up_wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline void up_wr64(uint8_t *p, uint64_t v)
{
    up_wr32(p, (uint32_t)v);
    up_wr32(p + 4, (uint32_t)(v >> 32));
}


/* An arena: many small allocations freed in one call. Chunks of at least
 * 256 KiB; pointers stay valid until up_arena_free. */
typedef struct up_arena_chunk up_arena_chunk_t;
typedef struct {
    up_arena_chunk_t *head;
    size_t used, cap;
} up_arena_t;

/* Returns n bytes aligned to 8, or NULL on out-of-memory. */
void *up_arena_alloc(up_arena_t *a, size_t n);
/* Copies s[0..n) with a NUL into the arena. */
char *up_arena_strndup(up_arena_t *a, const char *s, size_t n);
void up_arena_free(up_arena_t *a);

/* Creates dir and any missing parents, as `mkdir -p` does. Returns 0 when
 * dir is a directory afterwards, else -1 with "PATH: reason" in err (PATH
 * the component that failed). */
int up_mkdir_p(const char *dir, char *err, size_t errlen);

/* strdup / strndup that return NULL on out-of-memory. */
char *up_strdup(const char *s);
/* "dir/name", malloc'd, or NULL when out of memory. */
char *up_path_join(const char *dir, const char *name);

/* Faults in the pages of the n bytes at p (a fresh block about to be
 * written whole) in one system call, in 2 MiB pages where the kernel
 * gives them, rather than a fault per 4 KiB page on first touch (in a
 * virtual machine each fault costs microseconds). Blocks under 1 MiB are
 * left alone; failures are ignored (the pages then fault in as written). */
void up_prefault(void *p, size_t n);
/* calloc that prefaults a large block */
void *up_calloc_big(size_t n, size_t size);
char *up_strndup(const char *s, size_t n);

/* Lower-cases and trims ASCII whitespace in place; returns s. */
char *up_trim_lower(char *s);

/* UTF-8. up_utf8_seq: the length (1-4) of the well-formed sequence at
 * p[0..n) with its code point in *cp, or 0 when p[0] does not start one
 * (a stray continuation byte, an overlong form, a surrogate, a code point
 * past U+10FFFF, or a sequence cut short). up_utf8_check: the offset of the
 * first byte that is NUL or not well-formed UTF-8, or n when there is none. */
size_t up_utf8_seq(const unsigned char *p, size_t n, uint32_t *cp);
size_t up_utf8_check(const char *s, size_t n);

/* Seconds on the monotonic clock (for measuring phases). */
double up_now_s(void);

#endif
