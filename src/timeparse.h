/* timeparse: the timestamp forms uptake accepts and UTC day arithmetic.
 * Invariant: every instant is int64 milliseconds since 1970-01-01T00:00:00Z,
 * every day is int32 days since that epoch; no function consults the local
 * time zone. */
#ifndef UP_TIMEPARSE_H
#define UP_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

#define UP_MS_PER_DAY 86400000LL

/* Parses s[0..n) as one of:
 *   ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM|±HHMM|±HH)"  (a space may replace T)
 *   "YYYY-MM-DD HH:MM:SS[.fff]" with no zone (UTC)
 *   "YYYY-MM-DD" (00:00:00 UTC of that day)
 *   epoch seconds or milliseconds, integer or decimal: a magnitude of at least
 *   1e11 is read as milliseconds, below as seconds.
 * Leading/trailing blanks are ignored. Returns 0 and sets *ms, or -UP_EPARSE. */
int up_time_parse(const char *s, size_t n, int64_t *ms);

/* The dates an import takes: an imported timestamp or date outside
 * 1990-01-01 .. 2100-12-31 (UTC) is a typo or a placeholder such as
 * 0000-01-01 or 9999-12-31, rejected with its own message. */
#define UP_TIME_MIN_YEAR 1990
#define UP_TIME_MAX_YEAR 2100
/* Whether ms (epoch milliseconds) falls in those years. */
int up_time_plausible(int64_t ms);

/* Parses "YYYY-MM-DD" only (after trimming); sets *day. Returns 0 or -UP_EPARSE. */
int up_date_parse(const char *s, size_t n, int32_t *day);

/* UTC day of an instant (floor division; correct before 1970 too). */
int32_t up_day_of(int64_t ms);

/* Days from civil date and back (proleptic Gregorian). */
int32_t up_days_from_civil(int y, unsigned m, unsigned d);
void up_civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d);

/* Writes "YYYY-MM-DD" (11 bytes with NUL) / "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (>= 32 bytes).
 * Milliseconds are printed only when non-zero. */
void up_date_fmt(char *out, int32_t day);
void up_time_fmt(char *out, int64_t ms);

#endif
