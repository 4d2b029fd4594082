/* report_run: one report, end to end, over an open store: the rollup as of T,
 * the entity tables, the engine, and the writer for the chosen report. The
 * CLI and the JSON API both call it, so a report means the same bytes on
 * both. Invariant: nothing is written to out unless the report succeeds up
 * to its writer; errors come back as a code and a sentence in err. */
#ifndef UP_REPORT_RUN_H
#define UP_REPORT_RUN_H

#include <stdio.h>

#include "report.h"
#include "store.h"

typedef struct {
    const char *what;       /* accounts, features, users, stages, gaps, account, retention */
    const char *id;         /* the account of `report account ID` */
    int64_t T;              /* as-of instant, ms since epoch UTC */
    up_report_opts_t o;     /* format, account, segment, sort, explain */
    const char *feature;    /* report stages: only this feature, or NULL */
    int top;                /* report gaps: how many accounts */
    unsigned status;        /* UP_VIEW_CUSTOMER | …: the accounts listed (0: the customers) */
    int horizon;            /* report retention: days after T; report renewals: the window */
    const char *by;         /* report retention: the grouping */
    int internal;           /* report account --format html: the internal page, not the customer's QBR */
    const char *vendor;     /* the customer QBR's heading (NULL: none) */
    const char *logo;       /* its logo, a data: URI (up_report_qbr_logo), or NULL */
} up_report_req_t;

/* 1 when what names a report up_report_run knows. */
int up_report_run_known(const char *what);

/* Runs the report q on s and writes it to out. Returns 0; -UP_ENOTFOUND
 * when the account or feature named does not exist; another negative UP_E*
 * code when the store or the engine failed. err receives a sentence
 * whenever the return is negative. With UPTAKE_TIMING set in the
 * environment the phases' times go to stderr. */
int up_report_run(up_store_t *s, const up_report_req_t *q, FILE *out, char *err, size_t errlen);

/* `uptake status --format json` and GET /api/v1/status: what the store
 * holds (events, the first and last event and its UTC day, users, pairs,
 * accounts, event names) as one JSON object. Returns 0 or -UP_EIO. */
int up_report_run_status(up_store_t *s, FILE *out);

/* Parses an --as-of value: a date (its last instant) or a timestamp. */
int up_report_run_parse_as_of(const char *s, int64_t *T);

/* Writes the rejects table, newest first, at most limit rows (-1: all):
 * table, CSV, or JSON {"rejects":[…],"total":N}. Returns 0 or -UP_EDB. */
int up_report_run_rejects(sqlite3 *db, FILE *out, up_format_t fmt, long limit);

/* Writes one account's series as JSON (the dashboard's charts): per day of
 * the `days` ending with T's day, dau, wau, mau and seats; per feature the
 * users in each of the last 12 seven-day blocks. -UP_ENOTFOUND for an
 * unknown account. */
int up_report_run_series(up_store_t *s, const char *id, int64_t T, int days, FILE *out, char *err, size_t errlen);

#endif
