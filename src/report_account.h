/* report_account: the one-page account report for a CSM before a call
 * (`report account ID`) in table, JSON and CSV, rendered from the account
 * page model (account_page.h); the QBR (report_html.h) renders the same
 * model. */
#ifndef UP_REPORT_ACCOUNT_H
#define UP_REPORT_ACCOUNT_H

#include <stdio.h>

#include "account_page.h"
#include "report.h"

/* Writes `report account ID` from its page in format (table, JSON or CSV). */
int up_report_account(FILE *out, const up_account_page_t *pg, up_format_t format);

#endif
