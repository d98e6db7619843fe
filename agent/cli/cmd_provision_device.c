/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent provision-device --pol-pub-key PUB --enc-key KEY [--profile ptt|dtpm] [--force]`: the TEP device
 * keys (docs/tep-formats.md section 1) from the owner's public signing key and raw AES key. The owner secret
 * comes from TPM_OWNER_SECRET in the environment, never from argv; the state files go under the root prefix.
 */
#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "provision.h"
#include "quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *why, const char *arg)
{
    log_error("provision-device: %s%s%s%s; usage: tagent %s", why, arg ? " \"" : "", arg ? arg : "",
              arg ? "\"" : "", cmd_provision_device.usage);
    return TAGENT_EXIT_ERROR;
}

/* Options in any order, each at most once. */
static int parse(int argc, char **argv, struct tep_provision_request *req)
{
    const char *profile = NULL;
    _cleanup_free_ char *error = NULL;
    for (int i = 1; i < argc; i++) {
        const char **value = strcmp(argv[i], "--pol-pub-key") == 0 ? &req->pol_pub_key_path
                             : strcmp(argv[i], "--enc-key") == 0   ? &req->enc_key_path
                             : strcmp(argv[i], "--profile") == 0   ? &profile
                                                                   : NULL;
        if (strcmp(argv[i], "--force") == 0) {
            req->force = true;
            continue;
        }
        if (!value)
            return usage("unknown argument", argv[i]);
        if (*value)
            return usage("given twice:", argv[i]);
        if (i + 1 >= argc || !*argv[i + 1])
            return usage("a value is missing after", argv[i]);
        *value = argv[++i];
    }
    if (!req->pol_pub_key_path)
        return usage("--pol-pub-key is required", NULL);
    if (!req->enc_key_path)
        return usage("--enc-key is required", NULL);
    req->profile = TEPC_PROFILE_PTT;
    if (profile && tepc_profile_from_name(profile, &req->profile, &error) < 0)
        return usage(error ? error : "out of memory", NULL);
    return TAGENT_EXIT_OK;
}

int cmd_provision_device_run(struct tagent_cli *cli, int argc, char **argv)
{
    struct tep_provision_request req = {0};
    struct tpm_auth owner = {0};
    _cleanup_free_ char *error = NULL, *report = NULL;
    tpm_t *tpm = NULL;
    if (parse(argc, argv, &req) != TAGENT_EXIT_OK)
        return TAGENT_EXIT_ERROR;

    const char *secret = getenv("TPM_OWNER_SECRET");
    log_redact_add(secret);
    int r = tpm_auth_from_secret(secret, &owner, &error);
    if (r == 0)
        r = tpm_open(NULL, &tpm, &error);
    if (r == 0)
        r = tep_provision_device(cli->root, tpm, &owner, &req, &report, &error);
    tpm_auth_clear(&owner);
    tpm_close(tpm);
    if (r < 0) {
        log_error("provision-device: %s", error ? error : "out of memory");
        return TAGENT_EXIT_ERROR;
    }
    fputs(report, stdout);
    return fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}
