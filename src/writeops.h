/* writeops: the two writes a CLI can hand over to a running server — one
 * file of `uptake import`, and `uptake model set` — done on an open store,
 * with the command's summary lines and messages. The CLI runs them on the
 * store it locked; the server runs them for a CLI that handed the work over
 * through the admin socket (server_admin.c), so both say the same thing. */
#ifndef UP_WRITEOPS_H
#define UP_WRITEOPS_H

#include <stdio.h>

#include "ingest.h"

typedef struct {
    int quiet;                   /* no per-record messages, no hints */
    int strict;                  /* any reject fails the file */
    int again;                   /* import an events file imported in full before (UP_INGEST_AGAIN) */
    up_progress_fn progress;     /* may be NULL */
    void *pctx;
    void (*progress_end)(void *pctx);   /* before the summary line; may be NULL */
} up_import_opts_t;

/* Imports path (or fd >= 0, named path in every message; fd is taken over)
 * into s. Writes the summary line ("FILE: read N, stored N, …") to out and
 * the reject messages, hints and errors to err. Returns the file's exit code
 * (UP_EXIT_* of cli.h) and sets *stop when the files after it must not be
 * read (the store failed). */
int up_import_run(up_store_t *s, up_import_kind_t kind, const char *path, int fd, const up_mapping_t *map,
                  const up_import_opts_t *o, FILE *out, FILE *err, int *stop);

/* The worse of two exit codes of files of one import: a store failure over
 * bad input, bad input over success. */
int up_import_exit_worse(int a, int b);

/* Installs the model text (named name in messages; already checked by the
 * caller or not) into s and recomputes the metrics, writing
 * "NAME: valid: …" and "Model installed; …" to out, or the error to err.
 * Returns UP_EXIT_OK or UP_EXIT_STORE. */
int up_model_set_run(up_store_t *s, const char *text, size_t len, const char *name, FILE *out, FILE *err);
/* "NAME: valid: N features (N core), N passive events, N key actions" */
void up_model_describe(FILE *out, const up_model_t *m, const char *name);

#endif
