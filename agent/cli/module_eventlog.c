/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tagent-eventlog.so: `tagent eventlog` and `eventlog --replay` (libc and libcjson: no OpenSSL, no tss2, so a
 * replay costs little more than starting a process). `eventlog --check` reads the TPM: main.c sends it to the
 * "manage" module, and this module's cmd_eventlog_check() only says so should it ever be reached.
 */
#include "cli.h"
#include "cmd_eventlog.h"
#include "log.h"

int cmd_eventlog_check(const char *root, const struct eventlog_args *a, const struct eventlog *log,
                       const char *log_source)
{
    log_error(
        "eventlog --check reached the replay module, which cannot read the TPM; the installed modules do "
        "not match this tagent binary: reinstall tagent");
    return TAGENT_EXIT_CHECK_ERROR;
}

static const struct module_command commands[] = {
    {&cmd_eventlog, cmd_eventlog_run},
    {NULL, NULL},
};

int tagent_module_main(int argc, char **argv)
{
    return command_main(argc, argv, commands);
}
