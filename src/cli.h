/* cli: the `uptake` command line. One option table drives parsing, --help
 * and the man page's option list; every verb returns an exit code. */
#ifndef UP_CLI_H
#define UP_CLI_H

/* Exit codes (documented in docs/uptake.1 and docs/cli.md). */
enum {
    UP_EXIT_OK = 0,
    UP_EXIT_FAIL = 1,     /* the work failed: bad input, nothing read, rejects with --strict */
    UP_EXIT_USAGE = 2,    /* bad command line */
    UP_EXIT_STORE = 3,    /* the store could not be opened or written */
};

/* Runs the command line; returns the process exit code. */
int up_cli_main(int argc, char **argv);

#endif
