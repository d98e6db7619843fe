/* SPDX-License-Identifier: BSD-3-Clause */
/* TSS2_RC -> a message a person can act on. The one place the agent translates TPM errors. */
#include "tpm_internal.h"

#include "cleanup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <tss2/tss2_rc.h>

int tpm_error_set(char **ret_error, int r, const char *fmt, ...)
{
    if (ret_error) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
            *ret_error = NULL; /* the caller reads NULL as "out of memory" */
        va_end(ap);
    }
    return r;
}

/* The TPM's own response code without the handle/session/parameter number (format one) so that e.g.
 * 0x98e (AUTH_FAIL on session 1) compares equal to TPM2_RC_AUTH_FAIL. */
TSS2_RC tpm_rc_base(TSS2_RC rc)
{
    if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
        return rc;
    if (rc & TPM2_RC_FMT1)
        return rc & (TPM2_RC_FMT1 | 0x3f);
    return rc & 0xfff;
}

static bool link_broken(TSS2_RC rc)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
    TSS2_RC code = rc & TSS2_RC_LAYER_MASK ? rc & 0xffff : rc;
    if (layer == TSS2_TCTI_RC_LAYER)
        return true;
    /* ESAPI reports a dead transport as an I/O or sequence error; after either the context is unusable. */
    return layer == TSS2_ESAPI_RC_LAYER &&
           (code == TSS2_BASE_RC_IO_ERROR || code == TSS2_BASE_RC_BAD_SEQUENCE ||
            code == TSS2_BASE_RC_TRY_AGAIN || code == TSS2_BASE_RC_NO_CONNECTION);
}

/* Dictionary-attack state, for the lockout message. Best effort: 0 when unknown. */
static void lockout_state(tpm_t *t, uint32_t *ret_recovery, uint32_t *ret_counter, uint32_t *ret_max)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    *ret_recovery = *ret_counter = *ret_max = 0;
    if (!t->esys ||
        Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                           TPM2_PT_LOCKOUT_COUNTER, 4, NULL, &cap) != TSS2_RC_SUCCESS)
        return;
    for (UINT32 i = 0; i < cap->data.tpmProperties.count; i++) {
        TPMS_TAGGED_PROPERTY *p = &cap->data.tpmProperties.tpmProperty[i];
        if (p->property == TPM2_PT_LOCKOUT_COUNTER)
            *ret_counter = p->value;
        else if (p->property == TPM2_PT_MAX_AUTH_FAIL)
            *ret_max = p->value;
        else if (p->property == TPM2_PT_LOCKOUT_RECOVERY)
            *ret_recovery = p->value;
    }
    Esys_Free(cap);
}

static int explain(tpm_t *t, TSS2_RC rc, const char *what, char **ret_error)
{
    uint32_t recovery, counter, max;
    switch (tpm_rc_base(rc)) {
    case TPM2_RC_AUTH_FAIL:
    case TPM2_RC_BAD_AUTH:
        return tpm_error_set(ret_error, -EACCES,
                             "%s failed: the authorization value is wrong; check the secret and run the "
                             "command again",
                             what);
    case TPM2_RC_LOCKOUT:
        lockout_state(t, &recovery, &counter, &max);
        return tpm_error_set(ret_error, -EBUSY,
                             "%s failed: the TPM is in dictionary-attack lockout after %u of %u failed "
                             "authorizations; it lets one try through every %u s, or clear it with "
                             "`tpm2_dictionarylockout --clear-lockout --auth <lockout secret>` (after tagent "
                             "take-ownership the lockout secret is the owner secret)",
                             what, counter, max, recovery);
    case TPM2_RC_HIERARCHY:
        return tpm_error_set(ret_error, -EPERM,
                             "%s failed: the hierarchy is disabled; enable it in the firmware setup", what);
    case TPM2_RC_NV_LOCKED:
        return tpm_error_set(ret_error, -EROFS,
                             "%s failed: the NV index is write- or read-locked until the next TPM reset",
                             what);
    case TPM2_RC_NV_DEFINED:
        return tpm_error_set(ret_error, -EEXIST, "%s failed: the NV index is already defined", what);
    case TPM2_RC_NV_SPACE:
        return tpm_error_set(ret_error, -ENOSPC,
                             "%s failed: the TPM has no NV space left; remove unused NV indexes", what);
    case TPM2_RC_NV_UNINITIALIZED:
        return tpm_error_set(ret_error, -ENODATA, "%s failed: the NV index has never been written", what);
    case TPM2_RC_NV_AUTHORIZATION:
        return tpm_error_set(ret_error, -EACCES, "%s failed: this authorization may not access the NV index",
                             what);
    case TPM2_RC_HANDLE:
    case TPM2_RC_REFERENCE_H0:
        return tpm_error_set(ret_error, -ENOENT,
                             "%s failed: the TPM object does not exist (was provisioning done? "
                             "run `tagent setup provision-attestation`)",
                             what);
    case TPM2_RC_OBJECT_MEMORY:
    case TPM2_RC_SESSION_MEMORY:
    case TPM2_RC_SESSION_HANDLES:
    case TPM2_RC_OBJECT_HANDLES:
        return tpm_error_set(ret_error, -ENOMEM,
                             "%s failed: the TPM is out of object or session slots; another "
                             "program may be leaking them, use /dev/tpmrm0 (the resource manager)",
                             what);
    case TPM2_RC_INITIALIZE:
        return tpm_error_set(ret_error, -EAGAIN, "%s failed: the TPM has not been started (TPM2_Startup)",
                             what);
    case TPM2_RC_RETRY:
    case TPM2_RC_YIELDED:
    case TPM2_RC_TESTING:
    case TPM2_RC_NV_RATE:
        return tpm_error_set(ret_error, -EAGAIN, "%s failed: the TPM is busy (%s); try again in a moment",
                             what, Tss2_RC_Decode(rc));
    }
    if (link_broken(rc))
        return tpm_error_set(
            ret_error, -EIO,
            "%s failed: the TPM at \"%s\" does not answer (%s); check that it is present and "
            "running; the agent reconnects on the next request",
            what, t->tcti_conf, Tss2_RC_Decode(rc));
    return tpm_error_set(ret_error, -EPROTO, "%s failed: %s", what, Tss2_RC_Decode(rc));
}

int tpm_fail(tpm_t *t, TSS2_RC rc, const char *what, char **ret_error)
{
    _cleanup_free_ char *text = NULL;
    int r = explain(t, rc, what, ret_error ? &text : NULL);
    /* The response code goes along in the text, so that a person (and a search through the logs) can tell
     * exactly what the TPM or the TSS said, whatever the words above made of it. */
    if (ret_error && text)
        tpm_error_set(ret_error, r, "%s (TPM_RC 0x%x)", text, rc);
    if (link_broken(rc))
        tpm_context_broken(t);
    return r;
}

int tpm_fail_as(tpm_t *t, TSS2_RC rc, int r, const char *text, char **ret_error)
{
    tpm_error_set(ret_error, r, "%s (TPM_RC 0x%x)", text, rc);
    if (link_broken(rc))
        tpm_context_broken(t);
    return r;
}
