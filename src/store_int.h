/* store_int: the store's state, shared by the files that implement it
 * (store.c: open, write, sync, the rollup; store_scan.c: the event stream
 * and the log points). Nothing outside src/store*.c includes this. */
#ifndef UP_STORE_INT_H
#define UP_STORE_INT_H

#include <sqlite3.h>

#include "dedup.h"
#include "rollpipe.h"
#include "rollup.h"
#include "store.h"
#include "store_ch.h"
#include "store_log.h"

struct up_store {
    uint64_t unmapped;   /* events appended whose name the model maps to nothing (up_store_unmapped) */
    char *dir;
    int flags;
    int lock_fd, log_fd;
    int ack_fd;                 /* events.ack, the acknowledged end of the log (writer only) */
    int idx_fd;                 /* events.idx, the blocks' time ranges (writer only; -1: none) */
    up_log_mark_t mark;         /* as last read or written */
    uint64_t import_start;      /* the log's end when the events import in progress began */
    int aborted;                /* an import's log write failed: no more writes (up_store_import_abort) */
    int write_errno;            /* errno of the last failed log write or fsync */
    sqlite3 *db;
    sqlite3_stmt *reject_stmt;
    sqlite3_stmt *profile_stmt;     /* one user's profile (new pairs of a writer) */
    uint32_t profiled_pairs;        /* pairs of roll already given their profile */
    char *model_text;
    up_model_t *model;
    /* models replaced by up_store_set_model, freed on close: a server's
     * threads may still hold the old one (docs/server.md) */
    up_model_t **retired;
    char **retired_text;
    size_t n_retired;
    uint64_t model_hash;
    up_rollup_t roll;
    uint64_t log_end;           /* bytes of the log folded into roll */
    int dirty;                  /* roll differs from the snapshot on disk */
    int writer_active;          /* a reader opened while a writer held the store */
    int roll_ready;             /* roll is built (not deferred) */
    char notice[512];
    /* pending block */
    uint32_t persisted_strs[UP_KINDS], persisted_pairs;
    up_ev_t *pend;
    uint64_t *pend_mids;        /* 2 per pending event */
    uint32_t n_pend;
    int pend_has_mid;
    /* de-duplication: the message-id index (src/dedup.c), a writer's, opened
     * on first use */
    up_dedup_t *dedup;
    up_ch_t *ch;                /* the events are in ClickHouse (store_ch.h), or NULL */
    /* an events import folds its events on a second thread (rollpipe.h);
     * everything that reads the rollup stops it first (quiesce) */
    int bulk;
    up_rollpipe_t *pipe;
    /* the last event's user, account and pair during an import: files group
     * a user's events, so most lookups are the one before */
    int64_t last_uid, last_aid, last_pid;
    /* users seen lately in an import, by hash (store.c, hot_user_t): the
     * users of the hour a file is at, looked up without the dictionary */
    struct hot_user *hot;
    int64_t hot_event[64];      /* event-name ids by a cheap hash of the name (-1: none) */
    /* the log grouped by account (acx.h), opened on a reader's first account
     * scan; NULL when there is none or it does not match the log */
    struct up_acx *acx;
    int acx_tried;
    /* the last account scan's events (store_scan.c): an account's page
     * scans its account twice, and the second reads them from here */
    struct {
        char *account;
        int64_t from, T;
        uint64_t log_end;
        up_ev_t *ev;
        size_t n;
    } acct_scan;
};

char *up_st_path_in(const up_store_t *s, const char *name);
void up_st_damage_notice(up_store_t *s, const up_log_scan_t *sc);
/* Adds a sentence to the store's notice (after "; " when it has one). */
void up_st_notice(up_store_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t up_st_read_limit(up_store_t *s);
int up_st_scan_log(up_store_t *s, uint64_t start, up_log_block_fn fn, void *ctx, int truncate, up_log_scan_t *sc);
int up_st_ensure_rollup(up_store_t *s);
void up_st_acct_scan_free(up_store_t *s);
/* A writer's update of the log grouped by account (acx.h): 0, or a notice
 * when it failed (it is a cache: the store is intact). */
void up_st_acx_update(up_store_t *s);

#endif
