/* SPDX-License-Identifier: BSD-3-Clause */
/* take-ownership and its check, with the Go agent's semantics (spec section 2). */
#include "tpm_internal.h"

#include "cleanup.h"

#include <errno.h>
#include <string.h>

/* HierarchyChangeAuth(hierarchy, new = current): succeeds exactly when `current` is the hierarchy's auth,
 * and changes nothing. Hierarchy (owner/endorsement) auth failures do not count against dictionary-attack
 * protection, so probing is safe. The new value travels encrypted. */
static int change_auth(tpm_t *t, ESYS_TR hierarchy, const struct tpm_auth *current,
                       const struct tpm_auth *next, const char *what, char **ret_error)
{
    ESYS_TR session = ESYS_TR_NONE;
    int r = tpm_session_salted(t, TPMA_SESSION_DECRYPT, &session, ret_error);
    if (r < 0)
        return r;
    TPM2B_AUTH value = {.size = (UINT16)next->len};
    memcpy(value.buffer, next->bytes, next->len);
    tpm_set_auth(t, hierarchy, current);
    TSS2_RC rc = Esys_HierarchyChangeAuth(t->esys, hierarchy, session, ESYS_TR_NONE, ESYS_TR_NONE, &value);
    memset(&value, 0, sizeof(value));
    if (rc != TSS2_RC_SUCCESS)
        r = tpm_fail(t, rc, what, ret_error);
    tpm_flush(t, &session);
    return r;
}

static int owned_with(tpm_t *t, const struct tpm_auth *owner, bool *ret_owned, char **ret_error)
{
    /* A wrong secret is an answer here, not a failure: its message is dropped, any other one handed on. */
    _cleanup_free_ char *probe = NULL;
    int r = change_auth(t, ESYS_TR_RH_OWNER, owner, owner, "checking the owner secret", &probe);
    *ret_owned = r == 0;
    if (r == -EACCES)
        return 0;
    if (r < 0 && ret_error)
        *ret_error = TAKE_PTR(probe);
    return r < 0 ? r : 0;
}

int tpm_owned_with_auth(tpm_t *t, const struct tpm_auth *owner, bool *ret_owned, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = owned_with(t, owner, ret_owned, ret_error);
    tpm_leave(t);
    return r;
}

static int take_ownership(tpm_t *t, const struct tpm_auth *owner, const struct tpm_auth *endorsement,
                          char **ret_error)
{
    static const struct tpm_auth empty = {0};
    bool owned;
    uint32_t perm;
    int r = owned_with(t, owner, &owned, ret_error);
    if (r < 0 || owned)
        return r; /* already ours: nothing to do */
    if (owner->len == 0)
        return tpm_error_set(ret_error, -EACCES,
                             "the TPM already has an owner secret and TPM_OWNER_SECRET is empty: set "
                             "TPM_OWNER_SECRET to it, or clear the TPM");
    r = owned_with(t, &empty, &owned, ret_error);
    if (r < 0)
        return r;
    if (!owned)
        return tpm_error_set(
            ret_error, -EACCES,
            "the TPM's owner secret is not TPM_OWNER_SECRET: set TPM_OWNER_SECRET to the secret "
            "the TPM was taken with, or clear the TPM (tpm2_clear, or from the firmware setup)");
    r = tpm_permanent(t, &perm, ret_error);
    if (r < 0)
        return r;

    /* An endorsement auth that is already set must be the given one: check it before changing anything,
     * so a wrong TPM_ENDORSEMENT_SECRET leaves the TPM as it was. */
    if (endorsement->len && (perm & TPMA_PERMANENT_ENDORSEMENTAUTHSET))
        r = change_auth(t, ESYS_TR_RH_ENDORSEMENT, endorsement, endorsement,
                        "checking the endorsement secret (TPM_ENDORSEMENT_SECRET)", ret_error);
    if (r == 0)
        r = change_auth(t, ESYS_TR_RH_OWNER, &empty, owner, "setting the owner secret", ret_error);
    if (r == 0 && endorsement->len && !(perm & TPMA_PERMANENT_ENDORSEMENTAUTHSET))
        r = change_auth(t, ESYS_TR_RH_ENDORSEMENT, &empty, endorsement, "setting the endorsement secret",
                        ret_error);
    /* Lockout auth := owner secret, as the Go agent does, but only while it is unset: a wrong lockout
     * auth would put the lockout hierarchy itself into lockout. */
    if (r == 0 && !(perm & TPMA_PERMANENT_LOCKOUTAUTHSET))
        r = change_auth(t, ESYS_TR_RH_LOCKOUT, &empty, owner, "setting the lockout secret", ret_error);
    return r;
}

int tpm_take_ownership(tpm_t *t, const struct tpm_auth *owner, const struct tpm_auth *endorsement,
                       char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = take_ownership(t, owner, endorsement, ret_error);
    tpm_leave(t);
    return r;
}
