/* admin: the CLI's side of the admin socket (see the header). */
#include "admin.h"

#include "cli.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

char *up_admin_socket_path(const char *dir)
{
    struct sockaddr_un sa;
    size_t n = strlen(dir) + sizeof "/admin.sock";
    if (n > sizeof sa.sun_path)
        return NULL;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/admin.sock", dir);
    return p;
}

int up_admin_send_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int up_admin_connect(const char *dir)
{
    char *path = up_admin_socket_path(dir);
    if (!path)
        return -1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    free(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;   /* no socket, or one a dead server left */
}

/* Sends the head, with fd (when >= 0) as SCM_RIGHTS on its first bytes. */
static int send_head(int sock, const char *head, size_t len, int fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {(void *)head, len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof cbuf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    ssize_t w = sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (w < 0)
        return -1;
    return up_admin_send_all(sock, head + w, len - (size_t)w);
}

static int recv_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Relays the server's frames to out and err until the exit frame. */
static int relay(int sock, FILE *out, FILE *err)
{
    char buf[65536];
    for (;;) {
        uint8_t h[5];
        if (recv_all(sock, h, 5) < 0)
            break;
        size_t n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
        if (h[0] == 'x' && n == 1) {
            uint8_t code;
            if (recv_all(sock, &code, 1) < 0)
                break;
            fflush(out);
            return code;
        }
        FILE *to = h[0] == 'o' ? out : err;
        while (n) {
            size_t k = n < sizeof buf ? n : sizeof buf;
            if (recv_all(sock, buf, k) < 0)
                goto lost;
            fwrite(buf, 1, k, to);
            n -= k;
        }
        fflush(to);
    }
lost:
    fprintf(err, "uptake: the server stopped answering before the end; what it acknowledged above is stored,"
                 " and running the command again is safe for events with message ids\n");
    return UP_EXIT_STORE;
}

int up_admin_import(int sock, const char *kind, const char *file, int fd, const up_mapping_t *map, int quiet,
                    int strict, int again, FILE *out, FILE *err)
{
    up_buf_t h = {0};
    up_buf_printf(&h, "uptake-admin 1\nverb import\nkind %s\nquiet %d\nstrict %d\nagain %d\nname ", kind, quiet,
                  strict, again);
    for (const char *p = file; *p; p++)   /* a name is one line */
        up_buf_append(&h, *p == '\n' ? "?" : p, 1);
    up_buf_puts(&h, "\n");
    for (size_t i = 0; map && i < map->n; i++)
        up_buf_printf(&h, "map %s\t%s\n", map->canonical[i], map->source[i]);
    up_buf_puts(&h, "\n");
    int code = UP_EXIT_STORE;
    if (!h.data || send_head(sock, h.data, h.len, fd) < 0)
        fprintf(err, "uptake import: %s: cannot hand the file to the server: %s\n", file, strerror(errno));
    else
        code = relay(sock, out, err);
    up_buf_free(&h);
    close(sock);
    return code;
}

int up_admin_model_set(int sock, const char *name, const char *text, size_t len, FILE *out, FILE *err)
{
    up_buf_t h = {0};
    up_buf_puts(&h, "uptake-admin 1\nverb model-set\nname ");
    for (const char *p = name; *p; p++)
        up_buf_append(&h, *p == '\n' ? "?" : p, 1);
    up_buf_printf(&h, "\nlength %zu\n\n", len);
    int code = UP_EXIT_STORE;
    if (!h.data || send_head(sock, h.data, h.len, -1) < 0 || up_admin_send_all(sock, text, len) < 0)
        fprintf(err, "uptake model set: cannot hand the model to the server: %s\n", strerror(errno));
    else
        code = relay(sock, out, err);
    up_buf_free(&h);
    close(sock);
    return code;
}
