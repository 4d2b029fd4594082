/* admin: the CLI's side of the server's admin socket (server_admin.c has the
 * server's side and the protocol). When `uptake serve` holds a store,
 * `uptake import` and `uptake model set` connect to <store>/admin.sock and
 * the server does the work; their output and exit code come back as if the
 * CLI had done it. */
#ifndef UP_ADMIN_H
#define UP_ADMIN_H

#include <stddef.h>
#include <stdio.h>

#include "reader.h"

/* "<dir>/admin.sock" (malloc'd), or NULL when it is longer than a Unix
 * socket path may be. */
char *up_admin_socket_path(const char *dir);

/* Writes all n bytes (no SIGPIPE). Returns 0 or -1. */
int up_admin_send_all(int fd, const void *buf, size_t n);

/* A connection to the server holding the store in dir, or -1 when no server
 * answers there (then the CLI opens the store itself). */
int up_admin_connect(const char *dir);

/* Hands one file of an import to the server over sock (closed after):
 * kind as `uptake import` names it, file as the user named it, fd open on
 * it. The server's output goes to out and err. Returns the exit code. */
int up_admin_import(int sock, const char *kind, const char *file, int fd, const up_mapping_t *map, int quiet,
                    int strict, int again, FILE *out, FILE *err);

/* Hands `model set` to the server: the model's text, named name. */
int up_admin_model_set(int sock, const char *name, const char *text, size_t len, FILE *out, FILE *err);

#endif
