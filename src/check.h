/* check: verifies a store's files and rebuilds what can be rebuilt.
 * `uptake check` reads every block of events.log, the acknowledged mark
 * (events.ack), rollup.bin (its checksums and bounds, and that it agrees
 * with the log) and SQLite's integrity check of uptake.db, and modifies
 * nothing. `uptake repair` rebuilds rollup.bin from the log and rewrites the
 * mark; a damaged log block is only cut off when asked (drop_damaged). */
#ifndef UP_CHECK_H
#define UP_CHECK_H

#include <stdio.h>

/* Prints one line per finding to out ("FILE: what", with the offset when
 * there is one) and a last line with the verdict. Returns the number of
 * problems found (0: all is well), or a negative UP_E* code when the store
 * cannot be read at all (the message in err). */
int up_check_store(const char *dir, FILE *out, char *err, size_t errlen);

/* Repairs the store in dir: with drop_damaged, cuts events.log at its first
 * damaged block (the bytes cut are kept in DIR/events.log.dropped-OFFSET)
 * and says how many events were lost; then rewrites the mark and rebuilds
 * rollup.bin from the log. Prints what it did and what it could not do.
 * Returns the number of problems left unrepaired (0: the store is whole), or
 * a negative UP_E* code with the message in err. */
int up_check_repair(const char *dir, int drop_damaged, FILE *out, char *err, size_t errlen);

#endif
