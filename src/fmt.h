/* fmt: text for where it lands. Numbers in their shortest round-trip form,
 * JSON string literals, CSV fields and HTML text. Pure: no I/O beyond the
 * FILE or buffer it is handed, no store, no engine. Invariant: every byte
 * written for a person or a parser goes through one of these. */
#ifndef UP_FMT_H
#define UP_FMT_H

#include <stdio.h>

#include "util.h"

/* Formats a double with the fewest digits that read back to the same value
 * (like Python's repr); writes into out (>= 32 bytes). */
void up_fmt_double(char *out, size_t outlen, double v);
/* The same by printf and strtod alone (up_fmt_double takes exact integer
 * arithmetic where it can): the reference the tests hold it to. */
void up_fmt_double_printf(char *out, size_t outlen, double v);

/* Appends s as a JSON string literal (quotes included) to b: always valid
 * UTF-8 (a byte that is not well-formed UTF-8 becomes U+FFFD), control
 * characters, DEL and U+2028/U+2029 written as \u escapes. */
int up_fmt_json_str(up_buf_t *b, const char *s);
/* Appends s as the JSON string of a Slack message text: '&', '<' and '>'
 * written as &amp; &lt; &gt; first (Slack's escaping, so that data such as
 * an account named "<!channel>" shows as text and cannot mention or link). */
int up_fmt_slack_str(up_buf_t *b, const char *s);
/* Appends s as a JSON string, or null when s is NULL. */
void up_fmt_json_opt_str(up_buf_t *b, const char *s);
/* Appends v in its shortest round-trip form, or null when v is NAN. */
void up_fmt_json_num(up_buf_t *b, double v);
/* Whether a CSV cell would read as a formula in a spreadsheet: text that
 * starts with '=', '+', '-', '@', a tab or a CR and is not a plain decimal
 * number (-3 and -0.25 are numbers, -3x and =1+2 are not). */
int up_fmt_csv_formula(const char *s);
/* Writes s as one CSV field (RFC 4180 quoting when needed); a formula (see
 * above) is quoted with a ' before its text, as spreadsheets expect, so
 * =HYPERLINK("x") is written "'=HYPERLINK(""x"")". NULL writes nothing. */
void up_fmt_csv_field(FILE *out, const char *s);
/* Writes s as HTML text or a quoted attribute value (& < > " ' escaped); NULL writes nothing. */
void up_fmt_html(FILE *out, const char *s);

/* Where a report lands. */
typedef enum { UP_FMT_TABLE, UP_FMT_JSON, UP_FMT_CSV, UP_FMT_HTML } up_format_t;

/* Parses "table", "json", "csv"; returns -1 when unknown ("html" is parsed
 * by `report` itself: only report account and report accounts write it). */
int up_fmt_parse(const char *s);

#endif
