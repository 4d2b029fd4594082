/* server_admin: the admin socket. While `uptake serve` holds the store,
 * `uptake import` and `uptake model set` cannot lock it; they hand their
 * work to the server instead, through the Unix socket admin.sock in the
 * store's directory (mode 0600: whoever may write the store's files may use
 * it, nobody else). The server does the work on its own store handle, under
 * the committer's lock, with the same code as the CLI (writeops.c), and
 * sends back the command's output and exit code. Protocol (admin.h):
 *
 *   request   "uptake-admin 1\n", then "KEY VALUE\n" lines, then "\n"; for
 *             an import the file's descriptor travels with the first bytes
 *             (SCM_RIGHTS); for model set, `length` bytes of model follow.
 *   answer    frames: one tag byte ('o' stdout, 'e' stderr, 'x' exit), a
 *             4-byte big-endian length, the bytes (for 'x': one byte, the
 *             exit code). 'x' is the last frame.
 *
 * Requests are served one at a time; an import holds the store while it
 * runs, so HTTP batches queue meanwhile (429 when the queue is full, which
 * the clients retry). */
#include "admin.h"
#include "server_int.h"
#include "cli.h"
#include "writeops.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define HEAD_MAX 65536              /* bytes of a request's head */
#define MODEL_MAX (16u << 20)       /* bytes of a model */

/* ---- answering: frames through FILE streams ------------------------------ */

typedef struct {
    int fd;
    char tag;
} frame_out_t;

static ssize_t frame_write(void *cookie, const char *buf, size_t n)
{
    frame_out_t *fo = cookie;
    uint8_t head[5] = {(uint8_t)fo->tag, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    if (up_admin_send_all(fo->fd, head, sizeof head) < 0 || up_admin_send_all(fo->fd, buf, n) < 0)
        return (ssize_t)n;   /* the CLI went away: the work goes on, its output is dropped */
    return (ssize_t)n;
}

static FILE *frame_stream(frame_out_t *fo)
{
    cookie_io_functions_t io = {NULL, frame_write, NULL, NULL};
    FILE *f = fopencookie(fo, "w", io);
    if (f)
        setvbuf(f, NULL, _IONBF, 0);   /* one frame per write, in order across out and err */
    return f;
}

/* ---- reading a request -------------------------------------------------- */

typedef struct {
    char head[HEAD_MAX + 1];
    size_t len, head_end;   /* head_end: just after the blank line */
    int fd;                 /* the file handed over, or -1 */
} request_t;

/* Reads until the blank line that ends the head, collecting a descriptor. */
static int read_head(int c, request_t *rq)
{
    rq->fd = -1;
    rq->len = 0;
    while (rq->len < HEAD_MAX) {
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {rq->head + rq->len, HEAD_MAX - rq->len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        ssize_t n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0)
            return -1;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && rq->fd < 0)
                memcpy(&rq->fd, CMSG_DATA(cm), sizeof(int));
        rq->len += (size_t)n;
        rq->head[rq->len] = '\0';
        char *end = strstr(rq->head, "\n\n");
        if (end) {
            rq->head_end = (size_t)(end - rq->head) + 2;
            return 0;
        }
    }
    return -1;
}

/* The value of "KEY VALUE" in the head (the first one), copied into out. */
static const char *field(const request_t *rq, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    for (const char *p = rq->head; p && p < rq->head + rq->head_end; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, key, kl) && p[kl] == ' ') {
            const char *v = p + kl + 1, *e = strchr(v, '\n');
            size_t l = e ? (size_t)(e - v) : strlen(v);
            if (l >= n)
                l = n - 1;
            memcpy(out, v, l);
            out[l] = '\0';
            return out;
        }
    return NULL;
}

/* The "map CANONICAL\tSOURCE" lines into m. */
static int read_map(const request_t *rq, up_mapping_t *m)
{
    for (const char *p = rq->head; p && p < rq->head + rq->head_end; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "map ", 4) != 0)
            continue;
        const char *v = p + 4, *tab = strchr(v, '\t'), *e = strchr(v, '\n');
        if (!tab || !e || tab > e || m->n >= UP_READER_MAX_FIELDS)
            return -1;
        if (!(m->canonical[m->n] = up_strndup(v, (size_t)(tab - v))) ||
            !(m->source[m->n] = up_strndup(tab + 1, (size_t)(e - tab - 1))))
            return -1;
        m->n++;
    }
    return 0;
}

/* ---- the work ----------------------------------------------------------- */

static int do_import(srv_t *sv, request_t *rq, FILE *out, FILE *err)
{
    char kind_s[32], name[4096], flag[8];
    int kind = field(rq, "kind", kind_s, sizeof kind_s) ? up_import_kind_parse(kind_s) : -1;
    if (kind < 0 || rq->fd < 0 || !field(rq, "name", name, sizeof name)) {
        fprintf(err, "uptake import: the server could not read the request\n");
        return UP_EXIT_USAGE;
    }
    up_mapping_t map;
    memset(&map, 0, sizeof map);
    if (read_map(rq, &map) < 0) {
        up_mapping_free(&map);
        fprintf(err, "uptake import: the server could not read the mapping\n");
        return UP_EXIT_USAGE;
    }
    up_import_opts_t o = {0};
    o.quiet = field(rq, "quiet", flag, sizeof flag) && flag[0] == '1';
    o.strict = field(rq, "strict", flag, sizeof flag) && flag[0] == '1';
    o.again = field(rq, "again", flag, sizeof flag) && flag[0] == '1';
    int fd = rq->fd, stop;
    rq->fd = -1;   /* the import owns it now */
    int code = up_import_run(sv->store, (up_import_kind_t)kind, name, fd, map.n ? &map : NULL, &o, out, err, &stop);
    up_mapping_free(&map);
    up_server_logf(sv, 2, "admin: import %s %s: exit %d", kind_s, name, code);
    return code;
}

/* The model's bytes after the head (some may have come with it). */
static char *read_model(int c, request_t *rq, size_t *len)
{
    char v[32];
    unsigned long long n = field(rq, "length", v, sizeof v) ? strtoull(v, NULL, 10) : 0;
    if (n == 0 || n > MODEL_MAX)
        return NULL;
    char *text = malloc((size_t)n + 1);
    if (!text)
        return NULL;
    size_t have = rq->len - rq->head_end;
    if (have > n)
        have = (size_t)n;
    memcpy(text, rq->head + rq->head_end, have);
    while (have < n) {
        ssize_t got = recv(c, text + have, (size_t)n - have, 0);
        if (got <= 0) {
            free(text);
            return NULL;
        }
        have += (size_t)got;
    }
    text[n] = '\0';
    *len = (size_t)n;
    return text;
}

/* Installs the model, then lets the server's parts see it: the ingest
 * session (group type), and the API's reader (opened again). */
static int do_model_set(srv_t *sv, int c, request_t *rq, FILE *out, FILE *err)
{
    char name[4096];
    size_t len;
    char *text = field(rq, "name", name, sizeof name) ? read_model(c, rq, &len) : NULL;
    if (!text) {
        fprintf(err, "uptake model set: the server could not read the model\n");
        return UP_EXIT_USAGE;
    }
    int code = up_model_set_run(sv->store, text, len, name, out, err);
    free(text);
    if (code == UP_EXIT_OK) {
        up_ingest_close(sv->ingest);
        sv->ingest = NULL;
        if (up_ingest_open(sv->store, &sv->ingest) < 0)
            sv->store_broken = 1;   /* the committer opens it all again */
        const char *gt = up_store_model(sv->store)->ingest.group_type;
        pthread_mutex_lock(&sv->m_mu);
        snprintf(sv->group_type, sizeof sv->group_type, "%s", gt ? gt : "company");
        pthread_mutex_unlock(&sv->m_mu);
        atomic_store(&sv->reader_stale, 1);
    }
    up_server_logf(sv, 2, "admin: model set %s: exit %d", name, code);
    return code;
}

static void serve_one(srv_t *sv, int c)
{
    request_t *rq = calloc(1, sizeof *rq);
    if (!rq)
        return;
    frame_out_t fo = {c, 'o'}, fe = {c, 'e'};
    FILE *out = frame_stream(&fo), *err = frame_stream(&fe);
    int code = UP_EXIT_USAGE;
    char verb[32];
    if (!out || !err || read_head(c, rq) < 0 || strncmp(rq->head, "uptake-admin 1\n", 15) != 0 ||
        !field(rq, "verb", verb, sizeof verb)) {
        if (err)
            fprintf(err, "uptake: the server could not read the request\n");
    } else {
        pthread_mutex_lock(&sv->store_mu);
        if (sv->store_broken || !sv->store)
            fprintf(err, "uptake: the server's store is unavailable after a storage failure; try again\n"),
                code = UP_EXIT_STORE;
        else if (!strcmp(verb, "import"))
            code = do_import(sv, rq, out, err);
        else if (!strcmp(verb, "model-set"))
            code = do_model_set(sv, c, rq, out, err);
        else
            fprintf(err, "uptake: the server does not know '%s'\n", verb);
        if (code == UP_EXIT_STORE)
            sv->store_broken = 1;   /* the committer reopens the store before the next batch */
        pthread_mutex_unlock(&sv->store_mu);
    }
    if (out)
        fclose(out);
    if (err)
        fclose(err);
    uint8_t x[6] = {'x', 0, 0, 0, 1, (uint8_t)code};
    up_admin_send_all(c, x, sizeof x);
    if (rq->fd >= 0)
        close(rq->fd);
    free(rq);
}

/* ---- the socket --------------------------------------------------------- */

void *up_server_admin_thread(void *arg)
{
    srv_t *sv = arg;
    for (;;) {
        pthread_mutex_lock(&sv->a_mu);
        int stop = sv->admin_stop;
        pthread_mutex_unlock(&sv->a_mu);
        if (stop)
            break;
        struct pollfd p = {sv->admin_fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int c = accept4(sv->admin_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        struct timeval tv = {30, 0};   /* a CLI that stops sending mid-request */
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        serve_one(sv, c);
        close(c);
    }
    return NULL;
}

int up_server_admin_open(srv_t *sv, char *err, size_t errlen)
{
    sv->admin_fd = -1;
    char *path = up_admin_socket_path(sv->cfg.data);
    if (!path) {
        snprintf(err, errlen, "%s: the store's path is too long for the admin socket", sv->cfg.data);
        return -UP_EINVAL;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    unlink(path);   /* a server that died left it; we hold the store's lock, so it is not in use */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(077);
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || listen(fd, 8) < 0) {
        snprintf(err, errlen, "%s: cannot listen: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(path);
        return -UP_EIO;
    }
    sv->admin_fd = fd;
    sv->admin_path = path;
    return 0;
}

void up_server_admin_close(srv_t *sv)
{
    if (sv->admin_fd >= 0)
        close(sv->admin_fd);
    if (sv->admin_path)
        unlink(sv->admin_path);
    free(sv->admin_path);
    sv->admin_fd = -1;
    sv->admin_path = NULL;
}
