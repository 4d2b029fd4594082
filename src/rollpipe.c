/* rollpipe: the rollup fold of a bulk import on its own thread (rollpipe.h).
 * A ring of SLOTS batches: the producer fills slot head % SLOTS while the
 * consumer folds slot tail % SLOTS; the mutex hand-off of each batch is what
 * makes the producer's new pairs visible to the consumer and the consumer's
 * bitmaps visible to the producer after a drain. */
#include "rollpipe.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>

#define BATCH 8192
#define SLOTS 8

struct up_rollpipe {
    up_rollup_t *r;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t filled, emptied;
    up_ev_t *buf[SLOTS];
    uint32_t n[SLOTS];
    uint64_t head, tail;   /* batches handed over, batches folded */
    uint32_t n_cur;        /* events in the producer's slot */
    int err, stop;
};

static void *consume(void *arg)
{
    up_rollpipe_t *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->tail == p->head && !p->stop)
            pthread_cond_wait(&p->filled, &p->mu);
        if (p->tail == p->head) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        unsigned slot = (unsigned)(p->tail % SLOTS);
        uint32_t n = p->n[slot];
        int err = p->err;
        pthread_mutex_unlock(&p->mu);
        const up_ev_t *ev = p->buf[slot];
        up_rollup_t *r = p->r;
        for (uint32_t i = 0; i < n && !err; i++) {
            /* the pair a few events ahead: its record is a cache miss otherwise */
            if (i + 8 < n)
                __builtin_prefetch(&r->pairs[ev[i + 8].pair]);
            err = up_rollup_add(r, &ev[i]);
        }
        pthread_mutex_lock(&p->mu);
        if (err && !p->err)
            p->err = err;
        p->tail++;
        pthread_cond_signal(&p->emptied);
        pthread_mutex_unlock(&p->mu);
    }
}

int up_rollpipe_start(up_rollpipe_t **out, up_rollup_t *r)
{
    *out = NULL;
    up_rollpipe_t *p = calloc(1, sizeof *p);
    if (!p)
        return -UP_ENOMEM;
    p->r = r;
    for (int i = 0; i < SLOTS; i++)
        if (!(p->buf[i] = malloc(BATCH * sizeof *p->buf[i])))
            goto fail;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&p->filled, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        goto fail;
    }
    if (pthread_cond_init(&p->emptied, NULL) != 0) {
        pthread_cond_destroy(&p->filled);
        pthread_mutex_destroy(&p->mu);
        goto fail;
    }
    if (pthread_create(&p->thread, NULL, consume, p) != 0) {
        pthread_cond_destroy(&p->emptied);
        pthread_cond_destroy(&p->filled);
        pthread_mutex_destroy(&p->mu);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    for (int i = 0; i < SLOTS; i++)
        free(p->buf[i]);
    free(p);
    return -UP_ENOMEM;
}

/* Hands the producer's slot to the consumer and waits for a free one. */
static int submit(up_rollpipe_t *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->n_cur) {
        p->n[p->head % SLOTS] = p->n_cur;
        p->head++;
        p->n_cur = 0;
        pthread_cond_signal(&p->filled);
    }
    while (p->head - p->tail >= SLOTS)
        pthread_cond_wait(&p->emptied, &p->mu);
    int err = p->err;
    pthread_mutex_unlock(&p->mu);
    return err;
}

int up_rollpipe_add(up_rollpipe_t *p, const up_ev_t *ev)
{
    p->buf[p->head % SLOTS][p->n_cur++] = *ev;
    return p->n_cur == BATCH ? submit(p) : 0;
}

int up_rollpipe_drain(up_rollpipe_t *p)
{
    if (!p)
        return 0;
    submit(p);
    pthread_mutex_lock(&p->mu);
    while (p->tail != p->head)
        pthread_cond_wait(&p->emptied, &p->mu);
    int err = p->err;
    pthread_mutex_unlock(&p->mu);
    return err;
}

int up_rollpipe_stop(up_rollpipe_t *p)
{
    if (!p)
        return 0;
    int err = up_rollpipe_drain(p);
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->filled);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->emptied);
    pthread_cond_destroy(&p->filled);
    pthread_mutex_destroy(&p->mu);
    for (int i = 0; i < SLOTS; i++)
        free(p->buf[i]);
    free(p);
    return err;
}
