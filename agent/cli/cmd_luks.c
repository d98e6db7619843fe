/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent luks [--config FILE] [--check]`: the TPM-sealed LUKS volume of luks_config_file.yaml (spec 3.6):
 * formats it at first boot, unlocks it later. --check verifies the unsealed passphrase against a keyslot and
 * activates nothing. `tagent luks revoke --to N`: raises the LUKS policy version index, so that every signed
 * state of another version stops unsealing. The owner secret (sealing at first boot, revoking) comes from
 * TPM_OWNER_SECRET in the environment, never from argv; the passphrase never leaves the process.
 *
 * Exit status: 0 done; 1 failed (configuration, TPM, disk); 2 the TPM refused the signed states (no state
 * matches the PCRs, revoked, bad signature, another key); 3 the passphrase opens a keyslot but this kernel
 * has no device-mapper to activate the volume.
 */
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "luks.h"
#include "provision.h"
#include "quote.h"
#include "tep_files.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_REFUSED 2
#define EXIT_NO_DM   3

static int usage(const char *why, const char *arg)
{
    log_error("luks: %s%s%s%s; usage: tagent %s", why, arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "",
              cmd_luks.usage);
    return TAGENT_EXIT_ERROR;
}

static int luks_revoke_cmd(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--to") != 0)
        return usage("revoke takes --to N", NULL);
    char *end = NULL;
    errno = 0;
    unsigned long long to = strtoull(argv[2], &end, 10);
    if (errno || !*argv[2] || *end || argv[2][0] == '-')
        return usage("--to needs a non-negative decimal number, not", argv[2]);

    tpm_t *tpm = NULL;
    struct tpm_auth owner = {0};
    _cleanup_free_ char *error = NULL;
    uint64_t previous = 0;
    int r = cli_tpm_owner_open(&tpm, &owner, &error);
    if (r == 0)
        r = luks_revoke(tpm, &owner, to, &previous, &error);
    tpm_auth_clear(&owner);
    tpm_close(tpm);
    if (r < 0) {
        log_error("luks revoke: %s", error ? error : "out of memory");
        return TAGENT_EXIT_ERROR;
    }
    printf("LUKS policy version %" PRIu64 " -> %llu: signed states of any other version no longer unseal\n",
           previous, to);
    return fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}

static int exit_for(int r)
{
    switch (r) {
    case -EPERM:
    case -EKEYREVOKED:
    case -EBADMSG:
    case -EKEYREJECTED: return EXIT_REFUSED;
    case -EOPNOTSUPP: return EXIT_NO_DM;
    default: return TAGENT_EXIT_ERROR;
    }
}

static void print_result(const struct luks_config *cfg, const struct luks_result *res, bool check_only)
{
    char from[64] = "pol_file";
    if (res->state_index)
        snprintf(from, sizeof from, "signed state %zu of signed_states", res->state_index);
    if (res->outcome == LUKS_FORMATTED)
        printf("%s: formatted (LUKS2); the TPM-sealed passphrase is in keyslot %d", cfg->dev_part,
               res->keyslot);
    else
        printf("%s: the TPM-sealed passphrase (through %s) opens keyslot %d", cfg->dev_part, from,
               res->keyslot);
    if (res->recovery_keyslot >= 0)
        printf(", the recovery passphrase keyslot %d", res->recovery_keyslot);
    if (res->activated)
        printf("; active as /dev/mapper/%s", cfg->mapper_name);
    else if (check_only)
        printf("; not activated (--check)");
    printf("; PCR %" PRIu32 " extended: nothing else unseals it until the next boot\n", cfg->closing_pcr);
}

int cmd_luks_run(struct tagent_cli *cli, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "revoke") == 0)
        return luks_revoke_cmd(argc - 1, argv + 1);

    const char *config = NULL;
    bool check_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0 && !check_only)
            check_only = true;
        else if (strcmp(argv[i], "--config") == 0 && !config && i + 1 < argc && *argv[i + 1])
            config = argv[++i];
        else
            return usage("unknown, repeated or incomplete argument", argv[i]);
    }
    _cleanup_free_ char *default_config = config ? NULL : config_path(cli->root, LUKS_CONFIG_FILE);
    if (!config && !(config = default_config))
        return usage("out of memory", NULL);
    if (getenv("TAGENT_LUKS_TEST_PBKDF"))
        log_warning("TAGENT_LUKS_TEST_PBKDF is set: keyslots on image files get a weak test KDF");

    struct luks_config cfg;
    struct luks_tpm state = {0};
    struct luks_tpm_ops ops;
    struct luks_result res;
    _cleanup_free_ char *error = NULL;
    struct tpm_auth owner = {0};
    int r = luks_config_load(cli->root, config, &cfg, &error);
    if (r < 0) {
        log_error("luks: %s", error ? error : "out of memory");
        return TAGENT_EXIT_ERROR;
    }
    if (tep_srk_name_load(cli->root, state.srk_name, &state.srk_name_len, &error) < 0 ||
        cli_tpm_owner_open(&state.tpm, &owner, &error) < 0) {
        log_error("luks: %s", error ? error : "out of memory");
        luks_config_clear(&cfg);
        return TAGENT_EXIT_ERROR;
    }
    /* every salted session of this run (the owner's included) goes through the recorded SRK */
    if (tpm_set_srk_name(state.tpm, state.srk_name, state.srk_name_len) < 0) {
        log_error("luks: the SRK Name in %s is not a TPM Name", TEP_SRK_NAME_FILE);
        tpm_auth_clear(&owner);
        tpm_close(state.tpm);
        luks_config_clear(&cfg);
        return TAGENT_EXIT_ERROR;
    }
    state.owner = &owner;
    luks_tpm_ops_init(&state, &ops);
    r = luks_unlock(&cfg, &ops, check_only, &res, &error);
    tpm_auth_clear(&owner);
    tpm_close(state.tpm);
    int status = TAGENT_EXIT_OK;
    if (r == 0 || (r == -EOPNOTSUPP && res.keyslot >= 0)) {
        print_result(&cfg, &res, check_only);
        /* before the error below: a unit's status shows the last line, and it must be the reason it failed */
        fflush(stdout);
    }
    if (r < 0) {
        log_error("luks: %s", error ? error : "out of memory");
        status = exit_for(r);
    }
    luks_config_clear(&cfg);
    return fflush(stdout) == 0 ? status : TAGENT_EXIT_ERROR;
}
