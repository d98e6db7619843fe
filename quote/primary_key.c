/* SPDX-License-Identifier: BSD-3-Clause */
/* provision-primary-key: an RSA storage key at 0x81000000 for the workload agent (spec section 2). */
#include "tpm_internal.h"

static int primary_provision(tpm_t *t, const struct tpm_auth *owner, char **ret_error)
{
    ESYS_TR tr = ESYS_TR_NONE;
    bool exists;
    int r = tpm_handle_load(t, TPM_HANDLE_PRIMARY_KEY, &tr, &exists, ret_error);
    tpm_tr_close(t, &tr);
    if (r < 0 || exists)
        return r; /* something is there already: the Go agent leaves it alone too */

    TPM2B_PUBLIC template = {
        .publicArea =
            {
                .type = TPM2_ALG_RSA,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                                    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                    TPMA_OBJECT_USERWITHAUTH,
                .parameters.rsaDetail =
                    {
                        .symmetric = {.algorithm = TPM2_ALG_AES,
                                      .keyBits.aes = 128,
                                      .mode.aes = TPM2_ALG_CFB},
                        /* cppcheck-suppress unknownEvaluationOrder ; designated initializers, no side effects
                         */
                        .scheme = {.scheme = TPM2_ALG_NULL},
                        .keyBits = 2048,
                    },
            },
    };
    r = tpm_create_primary(t, ESYS_TR_RH_OWNER, owner, &template,
                           "creating the primary key (owner authorization, TPM_OWNER_SECRET)", &tr, NULL,
                           ret_error);
    if (r < 0)
        return r;
    r = tpm_persist(t, tr, TPM_HANDLE_PRIMARY_KEY, owner, ret_error);
    tpm_flush(t, &tr);
    return r;
}

int tpm_primary_key_provision(tpm_t *t, const struct tpm_auth *owner, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = primary_provision(t, owner, ret_error);
    tpm_leave(t);
    return r;
}
