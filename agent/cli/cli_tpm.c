/* SPDX-License-Identifier: BSD-3-Clause */
/* What the commands that act as the TPM's owner start with (cli.h). */
#include "cli.h"
#include "log.h"
#include "quote.h"

#include <stdlib.h>

int cli_tpm_owner_open(struct tpm **ret_tpm, struct tpm_auth *ret_owner, char **ret_error)
{
    const char *secret = getenv("TPM_OWNER_SECRET");
    /* before anything could log it */
    log_redact_add(secret);
    int r = tpm_auth_from_secret(secret, ret_owner, ret_error);
    if (r == 0 && (r = tpm_open(NULL, ret_tpm, ret_error)) < 0)
        tpm_auth_clear(ret_owner);
    return r;
}
