/* main: process entry; dispatch only. */
#include "cli.h"

int main(int argc, char **argv)
{
    return up_cli_main(argc, argv);
}
