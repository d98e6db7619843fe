/* SPDX-License-Identifier: BSD-3-Clause */
#include "cli.h"
#include "version.h"

#include <stdio.h>

/* Extra arguments (the installer's `--version short`) are ignored, as the Go agent does. */
int cmd_version_run(struct tagent_cli *cli, int argc, char **argv)
{
    fputs(tagent_version_text(), stdout);
    return fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}
