/* writeops: import one file, set the model (see the header). */
#include "writeops.h"

#include "cli.h"
#include "util.h"

#include <time.h>

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The messages after the summary line: rejects, names outside the model. */
static void hints(const char *file, const up_import_stats_t *st, int quiet, FILE *err)
{
    if (st->rejected && !quiet)
        fprintf(err, "%s: %llu record%s rejected; `uptake rejects` lists them with their reasons\n", file,
                (unsigned long long)st->rejected, st->rejected == 1 ? "" : "s");
    if (st->stored && 2 * st->unmapped > st->stored)   /* most events are outside the model: say so */
        fprintf(err, "%s: %.0f%% of the %llu events stored have names the model neither maps to a feature"
                     " nor marks passive: they count as activity but as no feature. `uptake report events`"
                     " lists the names; add them to the model and run `uptake model set FILE` (no"
                     " re-import)\n", file, 100.0 * (double)st->unmapped / (double)st->stored,
                (unsigned long long)st->stored);
}

int up_import_run(up_store_t *s, up_import_kind_t kind, const char *path, int fd, const up_mapping_t *map,
                  const up_import_opts_t *o, FILE *out, FILE *err, int *stop)
{
    *stop = 0;
    up_import_stats_t st;
    char msg[1024] = "";
    double t0 = mono();
    FILE *log = o->quiet ? NULL : err;
    unsigned flags = o->again ? UP_INGEST_AGAIN : 0;
    int rc = fd >= 0 ? up_ingest_fd(s, kind, fd, path, flags, map, log, &st, msg, sizeof msg)
                     : up_ingest_file(s, kind, path, flags, map, o->progress, o->pctx, log, &st, msg, sizeof msg);
    if (o->progress_end)
        o->progress_end(o->pctx);
    if (rc < 0 && !st.partial) {
        fprintf(err, "uptake import: %s\n", msg[0] ? msg : up_strerror(rc));
        /* a file that cannot be opened or decoded (no header, bad gzip
         * before any record) is bad input, not a store failure */
        *stop = rc != -UP_EIO && rc != -UP_EPARSE;
        return rc == -UP_EPARSE || (rc == -UP_EIO && st.read == 0) ? UP_EXIT_FAIL : UP_EXIT_STORE;
    }
    if (rc == 0 && st.skipped_at[0]) {
        fprintf(out, "%s: skipped: imported in full on %s (read %llu, stored %llu); nothing stored again\n", path,
                st.skipped_at, (unsigned long long)st.skipped_read, (unsigned long long)st.skipped_stored);
        if (!o->quiet)
            fprintf(err, "%s: the same file (size and content at both ends) was imported before; `--again`"
                         " imports it once more\n", path);
        return UP_EXIT_OK;
    }
    fprintf(out, "%s: read %llu, stored %llu, duplicates %llu, rejected %llu (%.2f s)\n", path,
            (unsigned long long)st.read, (unsigned long long)st.stored, (unsigned long long)st.duplicates,
            (unsigned long long)st.rejected, mono() - t0);
    hints(path, &st, o->quiet, err);
    if (st.partial) {
        /* a truncated .gz or a read error part-way: bad input; what was
         * read before it is stored, and the next file is still read */
        fprintf(err, "uptake import: %s; the file was read only up to there (the summary counts the"
                     " records before it)\n", msg[0] ? msg : up_strerror(rc));
        return UP_EXIT_FAIL;
    }
    if (st.read == 0 || st.stored + st.duplicates == 0) {
        fprintf(err, "%s: nothing could be read%s\n", path, st.read ? " (every record was rejected)" : "");
        return UP_EXIT_FAIL;
    }
    return st.rejected && o->strict ? UP_EXIT_FAIL : UP_EXIT_OK;
}

int up_import_exit_worse(int a, int b)
{
    return a == UP_EXIT_STORE || b == UP_EXIT_STORE ? UP_EXIT_STORE : a != UP_EXIT_OK ? a : b;
}

void up_model_describe(FILE *out, const up_model_t *m, const char *name)
{
    size_t core = 0;
    for (size_t i = 0; i < m->n_features; i++)
        core += m->features[i].core;
    fprintf(out, "%s: valid: %zu features (%zu core), %zu passive events, %zu key actions\n", name, m->n_features,
            core, m->n_passive, m->n_key_actions);
}

int up_model_set_run(up_store_t *s, const char *text, size_t len, const char *name, FILE *out, FILE *err)
{
    char msg[1024] = "";
    int rc = up_store_set_model(s, text, len, name, msg, sizeof msg);
    if (rc < 0) {
        fprintf(err, "uptake model set: %s\n", msg[0] ? msg : up_strerror(rc));
        return UP_EXIT_STORE;
    }
    up_model_describe(out, up_store_model(s), name);
    up_store_stats_t st;
    up_store_stats(s, &st);
    fprintf(out, "Model installed; metrics recomputed from %llu stored events (no re-import needed).\n",
            (unsigned long long)st.events);
    return UP_EXIT_OK;
}
