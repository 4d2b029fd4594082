/* util: the error table, growable buffers, hashing and number formatting.
 * Invariant: up_buf_t data is always NUL-terminated once anything is appended. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>

static const char *const messages[] = {
#define UP_ERR_MSG(name, msg) msg,
    UP_ERRORS(UP_ERR_MSG)
#undef UP_ERR_MSG
};

const char *up_strerror(int code)
{
    if (code < 0)
        code = -code;
    if (code >= UP_ENUM_ERRORS)
        return "unknown error";
    return messages[code];
}

int up_buf_reserve(up_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -UP_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int up_buf_append(up_buf_t *b, const void *p, size_t n)
{
    if (up_buf_reserve(b, n) < 0)
        return -UP_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int up_buf_puts(up_buf_t *b, const char *s)
{
    return up_buf_append(b, s, strlen(s));
}

int up_buf_printf(up_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -UP_EINVAL;
    if ((size_t)n < sizeof small)
        return up_buf_append(b, small, (size_t)n);
    if (up_buf_reserve(b, (size_t)n) < 0)
        return -UP_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void up_buf_reset(up_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void up_buf_free(up_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

uint64_t up_hash64(const void *p, size_t n, uint64_t seed)
{
    /* FNV-1a over 8-byte words where possible, then a murmur-style finaliser:
     * fast for the short ids uptake hashes, and well mixed in every bit. */
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    while (n--) {
        h = (h ^ *s++) * 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint32_t crc_table[8][256];
static int crc_ready, crc_hw;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
    crc_ready = 1;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* SSE 4.2's crc32 instruction computes CRC-32C: about four times the tables'
 * speed, which matters for the snapshot's checksums on every open. */
/* Three streams at once: the crc32 instruction takes three cycles and
 * issues one per cycle, so a snapshot of hundreds of MB is checked three
 * times as fast. A span of 3 x STRIDE bytes is three CRCs A, B, C (B and C
 * from 0), joined as shift(shift(A) ^ B) ^ C, where shift(x) is the
 * register after STRIDE zero bytes from x: linear, so a 32 x 32 bit
 * matrix (shift_col[j] = shift(1 << j)), made once. */
#define CRC_STRIDE 8192
static uint32_t shift_col[32];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2"))) static void shift_init(void)
{
    for (int j = 0; j < 32; j++) {
        uint64_t c = 1u << j;
        for (int i = 0; i < CRC_STRIDE / 8; i++)
            c = __builtin_ia32_crc32di(c, 0);
        shift_col[j] = (uint32_t)c;
    }
}

static uint32_t crc_shift(uint32_t x)
{
    uint32_t r = 0;
    for (int j = 0; x; j++, x >>= 1)
        if (x & 1)
            r ^= shift_col[j];
    return r;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *s, size_t n)
{
    uint64_t c = crc;
    if (n >= 3 * CRC_STRIDE)
        pthread_once(&shift_once, shift_init);
    while (n >= 3 * CRC_STRIDE) {
        uint64_t a = c, b = 0, d = 0;
        for (size_t i = 0; i < CRC_STRIDE; i += 8) {
            uint64_t va, vb, vd;
            memcpy(&va, s + i, 8);
            memcpy(&vb, s + CRC_STRIDE + i, 8);
            memcpy(&vd, s + 2 * CRC_STRIDE + i, 8);
            a = __builtin_ia32_crc32di(a, va);
            b = __builtin_ia32_crc32di(b, vb);
            d = __builtin_ia32_crc32di(d, vd);
        }
        c = crc_shift(crc_shift((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
        s += 3 * CRC_STRIDE;
        n -= 3 * CRC_STRIDE;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        c = __builtin_ia32_crc32di(c, v);
        s += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *s++);
    return c32;
}
#endif

uint32_t up_crc32c(uint32_t crc, const void *p, size_t n)
{
    if (!crc_ready)
        crc_init();
    const unsigned char *s = p;
    crc = ~crc;
#if defined(__x86_64__) && defined(__GNUC__)
    if (crc_hw)
        return ~crc32c_hw(crc, s, n);
#endif
    while (n >= 8) {
        uint32_t lo = (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
        lo ^= crc;
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
              crc_table[3][s[4]] ^ crc_table[2][s[5]] ^ crc_table[1][s[6]] ^ crc_table[0][s[7]];
        s += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *s++) & 0xff];
    return ~crc;
}

struct up_arena_chunk {
    up_arena_chunk_t *next;
    max_align_t data[];
};

void *up_arena_alloc(up_arena_t *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (!a->head || a->used + n > a->cap) {
        size_t cap = n > (256u << 10) ? n : (256u << 10);
        up_arena_chunk_t *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        a->head = c;
        a->used = 0;
        a->cap = cap;
    }
    void *p = (char *)a->head->data + a->used;
    a->used += n;
    return p;
}

char *up_arena_strndup(up_arena_t *a, const char *s, size_t n)
{
    char *p = up_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void up_arena_free(up_arena_t *a)
{
    while (a->head) {
        up_arena_chunk_t *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->used = a->cap = 0;
}

char *up_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *up_strdup(const char *s)
{
    return up_strndup(s, strlen(s));
}

char *up_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *up_trim_lower(char *s)
{
    char *start = s;
    while (*start && isspace((unsigned char)*start))
        start++;
    size_t n = strlen(start);
    while (n && isspace((unsigned char)start[n - 1]))
        n--;
    memmove(s, start, n);
    s[n] = '\0';
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

int up_mkdir_p(const char *dir, char *err, size_t errlen)
{
    size_t len = strlen(dir);
    char *path = malloc(len + 1);
    if (!path) {
        snprintf(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    memcpy(path, dir, len + 1);
    /* each prefix ending before a '/', then the whole path */
    for (size_t i = 1; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        if (path[i - 1] == '/')
            continue;               /* "a//b" or a trailing '/' */
        char saved = path[i];
        path[i] = '\0';
        struct stat st;
        if (mkdir(path, 0777) != 0 && (errno != EEXIST || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) {
            if (errno == EEXIST)
                errno = ENOTDIR;
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(path);
            return -1;
        }
        path[i] = saved;
    }
    free(path);
    return 0;
}

double up_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int up_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

size_t up_utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
    if (len == 0 || len > n || b > 0xF4)
        return 0;
    uint32_t v = b & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[k] & 0x3F);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < least[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

size_t up_utf8_check(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* eight ASCII bytes none of which is NUL, at a time */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ULL) || ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL))
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (p[i] >= 0x01 && p[i] < 0x80) {   /* the common case: ASCII other than NUL */
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = p[i] ? up_utf8_seq(p + i, n - i, &cp) : 0;
        if (len == 0)
            return i;
        i += len;
    }
    return n;
}

void up_prefault(void *p, size_t n)
{
    if (!p || n < (1u << 20))
        return;
    uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, hi = ((uintptr_t)p + n) & ~(uintptr_t)4095;
#ifdef MADV_HUGEPAGE
    madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
    madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#endif
}

void *up_calloc_big(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p)
        up_prefault(p, n * size);
    return p;
}
