/* report_qbr: `report account ID --format html --audience customer` (the
 * default for HTML): the quarterly review a CSM sends the customer. See
 * report_qbr.c; `--audience internal` is report_html's page. */
#ifndef UP_REPORT_QBR_H
#define UP_REPORT_QBR_H

#include <stdio.h>

#include "account_page.h"

/* The pace of the plan's goal: the 75th percentile (nearest rank) of the
 * breadth gained over the last 90 days by the customers of the account's
 * segment (all customers when fewer than 4 of its segment have a breadth
 * at both ends), and how many accounts it is taken from (0: none). */
typedef struct {
    double gain;
    int64_t n;
    int segment_only;
} up_qbr_pace_t;

/* The pace from the portfolio now and 90 days before (both with every
 * account, in account_id order). */
void up_report_qbr_pace(const up_portfolio_t *now, const up_portfolio_t *then, const up_account_t *acc,
                        up_qbr_pace_t *out);

/* Writes the customer's QBR from pg (built with its 91-day series); vendor
 * and logo (a data: URI; either may be NULL) head the page. Returns 0 or
 * -UP_EIO. */
int up_report_qbr_customer(FILE *out, const up_account_page_t *pg, const up_qbr_pace_t *pace, const char *vendor,
                           const char *logo);

/* The vendor's logo for the QBR's head: a PNG, JPEG, GIF or SVG file of at
 * most UP_QBR_LOGO_MAX bytes, as a data: URI (malloc'd) so that the page is
 * one file to send or print. Returns 0, or a negative UP_E* code with a
 * sentence naming the file in err. */
#define UP_QBR_LOGO_MAX (512 * 1024)
int up_report_qbr_logo(const char *path, char **data_uri, char *err, size_t errlen);

#endif
