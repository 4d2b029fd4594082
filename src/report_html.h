/* report_html: `report account ID --format html` (a QBR) and `report accounts
 * --format html` (the portfolio as a file). See report_html.c. */
#ifndef UP_REPORT_HTML_H
#define UP_REPORT_HTML_H

#include <stdio.h>

#include "account_page.h"
#include "report.h"

/* The head of a self-contained HTML page: the doctype, title (escaped), the
 * shared <style>, then css (another <style> element, or NULL), and <body>. */
void up_report_html_head(FILE *out, const char *title, const char *css);

/* The QBR of one account, from its page (built with its series). */
int up_report_html_account(FILE *out, const up_account_page_t *pg);
/* The portfolio as one HTML file. */
int up_report_html_accounts(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o);

#endif
