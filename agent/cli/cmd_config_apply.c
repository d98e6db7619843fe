/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent config-apply`: applies <root>/home/update/upload/mnt/tep_user_config_data.bin as
 * docs/tep-formats.md section 3 says, and prints what happened (the result file's message). Run at boot by
 * dist/tagent-config-apply.service. The owner secret (for the sequence write) comes from TPM_OWNER_SECRET in
 * the environment, never from argv.
 *
 * Exit status: 0 applied, or nothing to apply; 1 rejected (the container was renamed to .rejected);
 * 2 failed (not the container's fault: it stays for the next boot).
 */
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "log.h"
#include "provision.h"
#include "quote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_REJECTED 1
#define EXIT_FAILED   2

/* Ops standing in for a TPM that could not be set up (not provisioned, unreachable): every step fails with
 * why. The apply still runs, so that no container means "nothing to do" (exit 0) whatever the TPM's state,
 * and a container gets a result file that says why it waits. */
struct unavailable {
    const char *why;
};

static int unavailable_fail(void *userdata, char **ret_error)
{
    return error_set(ret_error, -ENODEV, "%s", ((struct unavailable *)userdata)->why);
}

static int no_profile(void *userdata, enum tepc_profile *ret_profile, char **ret_error)
{
    return unavailable_fail(userdata, ret_error);
}

static int no_policy_key(void *userdata, uint8_t **ret_spki, size_t *ret_len, char **ret_error)
{
    return unavailable_fail(userdata, ret_error);
}

static int no_sequence(void *userdata, uint64_t *ret_sequence, char **ret_error)
{
    return unavailable_fail(userdata, ret_error);
}

static int no_decrypt(void *userdata, const uint8_t iv[16], const uint8_t *in, size_t len, uint8_t *out,
                      char **ret_error)
{
    return unavailable_fail(userdata, ret_error);
}

static int no_record(void *userdata, uint64_t sequence, char **ret_error)
{
    return unavailable_fail(userdata, ret_error);
}

static int exit_status(int r, enum tep_apply_outcome outcome)
{
    if (r < 0)
        return EXIT_FAILED; /* the outcome could not be recorded */
    switch (outcome) {
    case TEP_APPLY_NOTHING:
    case TEP_APPLY_APPLIED: return TAGENT_EXIT_OK;
    case TEP_APPLY_REJECTED: return EXIT_REJECTED;
    case TEP_APPLY_FAILED: break;
    }
    return EXIT_FAILED;
}

int cmd_config_apply_run(struct tagent_cli *cli, int argc, char **argv)
{
    if (argc > 1) {
        log_error("config-apply: unknown argument \"%s\"; usage: tagent %s", argv[1], cmd_config_apply.usage);
        return EXIT_FAILED;
    }
    struct tpm_auth owner = {0};
    struct tep_tpm_apply state = {0};
    struct tep_apply_ops ops = {0};
    _cleanup_free_ char *error = NULL, *message = NULL;
    tpm_t *tpm = NULL;

    int r = cli_tpm_owner_open(&tpm, &owner, &error);
    if (r == 0)
        r = tep_apply_tpm_ops(cli->root, tpm, &owner, &state, &ops, &error);
    tpm_auth_clear(&owner);
    struct unavailable unavailable = {.why = error ? error : "out of memory"};
    if (r < 0)
        ops = (struct tep_apply_ops){.userdata = &unavailable,
                                     .profile = no_profile,
                                     .policy_key = no_policy_key,
                                     .last_sequence = no_sequence,
                                     .decrypt = no_decrypt,
                                     .record_sequence = no_record};

    enum tep_apply_outcome outcome = TEP_APPLY_FAILED;
    r = tep_config_apply(cli->root, &ops, &outcome, &message);
    tep_tpm_apply_clear(&state);
    tpm_close(tpm);

    /* on stdout whatever the outcome: it is the answer, not a diagnostic (the unit's journal has it too) */
    printf("%s\n", message ? message : "failed: out of memory");
    int status = exit_status(r, outcome);
    return fflush(stdout) == 0 ? status : EXIT_FAILED;
}
