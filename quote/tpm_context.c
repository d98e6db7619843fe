/* SPDX-License-Identifier: BSD-3-Clause */
/* The TPM context: one mutex, a lazily (re)connected ESAPI context. */
#include "tpm_internal.h"

#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_tctildr.h>

#include "config.h"

int tpm_open(const char *tcti, tpm_t **ret_tpm, char **ret_error)
{
    if (!tcti || !*tcti)
        tcti = getenv("TAGENT_TCTI");
    if (!tcti || !*tcti)
        tcti = TPM_DEFAULT_TCTI;

    /* ESAPI logs its own errors to stderr; ours say more and go through the agent's log. TSS2_LOG set by the
     * user still wins. */
    setenv("TSS2_LOG", "all+NONE", 0);

    tpm_t *t = calloc(1, sizeof(*t));
    if (!t || !(t->tcti_conf = strdup(tcti))) {
        free(t);
        return tpm_error_set(ret_error, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&t->lock, NULL);
    t->aik = ESYS_TR_NONE;
    *ret_tpm = t;
    return 0;
}

static void tpm_disconnect(tpm_t *t)
{
    if (t->esys) {
        if (t->aik != ESYS_TR_NONE)
            Esys_TR_Close(t->esys, &t->aik);
        Esys_Finalize(&t->esys);
    }
    if (t->tcti)
        Tss2_TctiLdr_Finalize(&t->tcti);
    t->esys = NULL;
    t->tcti = NULL;
    t->aik = ESYS_TR_NONE;
    t->n_banks = 0;
}

void tpm_close(tpm_t *t)
{
    if (!t)
        return;
    tpm_disconnect(t);
    pthread_mutex_destroy(&t->lock);
    free(t->tcti_conf);
    free(t);
}

const char *tpm_tcti(const tpm_t *t)
{
    return t->tcti_conf;
}

/* Without the kernel's resource manager nothing flushes what a killed client left loaded, and a few crashes
 * fill the TPM's object and session slots for good. The agent owns the TPM on such a system (swtpm, a
 * simulator, /dev/tpm0), so it flushes leftover transient objects and sessions when it connects. Through
 * /dev/tpmrm0 each connection sees only its own, so there is nothing to do. Best effort: errors are ignored.
 */
static void flush_leftovers(tpm_t *t)
{
    static const TPM2_HANDLE ranges[] = {TPM2_TRANSIENT_FIRST, TPM2_LOADED_SESSION_FIRST,
                                         TPM2_ACTIVE_SESSION_FIRST};
    TSS2_SYS_CONTEXT *sys = NULL;
    if (Esys_GetSysContext(t->esys, &sys) != TSS2_RC_SUCCESS || !sys)
        return;
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        TPMS_CAPABILITY_DATA *cap = NULL;
        if (Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, ranges[i],
                               TPM2_MAX_CAP_HANDLES, NULL, &cap) != TSS2_RC_SUCCESS)
            continue;
        /* The loaded-session list holds HMAC (0x02...) and policy (0x03...) sessions alike. */
        for (UINT32 h = 0; h < cap->data.handles.count; h++)
            Tss2_Sys_FlushContext(sys, cap->data.handles.handle[h]);
        Esys_Free(cap);
    }
}

static int tpm_connect(tpm_t *t, char **ret_error)
{
    if (t->esys)
        return 0;
    TSS2_RC rc = Tss2_TctiLdr_Initialize(t->tcti_conf, &t->tcti);
    if (rc != TSS2_RC_SUCCESS) {
        t->tcti = NULL;
        return tpm_error_set(
            ret_error, -ENODEV,
            "cannot open the TPM through \"%s\" (%s): check that the TPM device exists and this "
            "user may open it (group tss), or that the TPM simulator is running; set TAGENT_TCTI "
            "to use another TPM",
            t->tcti_conf, Tss2_RC_Decode(rc));
    }
    rc = Esys_Initialize(&t->esys, t->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        t->esys = NULL;
        int r = tpm_fail(t, rc, "connecting to the TPM", ret_error);
        tpm_disconnect(t);
        return r;
    }
    if (!strstr(t->tcti_conf, "tpmrm"))
        flush_leftovers(t);
    return 0;
}

int tpm_enter(tpm_t *t, char **ret_error)
{
    pthread_mutex_lock(&t->lock);
    int r = tpm_connect(t, ret_error);
    if (r < 0)
        pthread_mutex_unlock(&t->lock);
    return r;
}

void tpm_leave(tpm_t *t)
{
    pthread_mutex_unlock(&t->lock);
}

int tpm_ping(tpm_t *t, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 1, NULL, &cap);
    if (rc != TSS2_RC_SUCCESS)
        r = tpm_fail(t, rc, "asking the TPM for its manufacturer (health check)", ret_error);
    Esys_Free(cap);
    tpm_leave(t);
    return r;
}

static int da_state(tpm_t *t, struct tpm_da_state *ret, char **ret_error)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CAP_TPM_PROPERTIES, TPM2_PT_PERMANENT, 1, NULL, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "asking the TPM for its dictionary-attack state", ret_error);
    if (cap->data.tpmProperties.count == 1 &&
        cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_PERMANENT)
        ret->in_lockout = (cap->data.tpmProperties.tpmProperty[0].value & TPMA_PERMANENT_INLOCKOUT) != 0;
    Esys_Free(cap);
    cap = NULL;
    rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                            TPM2_PT_LOCKOUT_COUNTER, 4, NULL, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "asking the TPM for its dictionary-attack counters", ret_error);
    for (UINT32 i = 0; i < cap->data.tpmProperties.count; i++) {
        const TPMS_TAGGED_PROPERTY *p = &cap->data.tpmProperties.tpmProperty[i];
        if (p->property == TPM2_PT_LOCKOUT_COUNTER)
            ret->counter = p->value;
        else if (p->property == TPM2_PT_MAX_AUTH_FAIL)
            ret->max_tries = p->value;
        else if (p->property == TPM2_PT_LOCKOUT_INTERVAL)
            ret->interval_s = p->value;
        else if (p->property == TPM2_PT_LOCKOUT_RECOVERY)
            ret->recovery_s = p->value;
    }
    Esys_Free(cap);
    return 0;
}

int tpm_da_state(tpm_t *t, struct tpm_da_state *ret_state, char **ret_error)
{
    memset(ret_state, 0, sizeof(*ret_state));
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = da_state(t, ret_state, ret_error);
    tpm_leave(t);
    return r;
}

void tpm_da_state_text(const struct tpm_da_state *s, char *buf, size_t size)
{
    if (s->in_lockout)
        snprintf(buf, size,
                 "in dictionary-attack lockout (%u of %u failed authorizations; every DA-protected "
                 "authorization is refused, one failure is forgotten every %u s; clear it now with "
                 "`tpm2_dictionarylockout --clear-lockout --auth <lockout secret>`; after tagent's "
                 "take-ownership the lockout secret is the owner secret)",
                 s->counter, s->max_tries, s->interval_s);
    else
        snprintf(buf, size,
                 "%u of %u failed authorizations counted (dictionary-attack lockout at %u; one is forgotten "
                 "every %u s)",
                 s->counter, s->max_tries, s->max_tries, s->interval_s);
}

void tpm_context_broken(tpm_t *t)
{
    tpm_disconnect(t);
}

int tpm_auth_from_secret(const char *secret, struct tpm_auth *ret_auth, char **ret_error)
{
    _cleanup_free_ char *why = NULL;
    memset(ret_auth, 0, sizeof(*ret_auth));
    if (!secret || !*secret)
        return 0;
    if (config_secret_decode(secret, ret_auth->bytes, &ret_auth->len, &why) < 0)
        return why ? tpm_error_set(ret_error, -EINVAL, "the secret %s", why) : -ENOMEM;
    /* The TPM drops trailing zero bytes of an auth value; do the same so HMACs match (TPM 2.0 part 1). */
    while (ret_auth->len && ret_auth->bytes[ret_auth->len - 1] == 0)
        ret_auth->len--;
    return 0;
}

void tpm_auth_clear(struct tpm_auth *auth)
{
    if (auth)
        OPENSSL_cleanse(auth, sizeof(*auth));
}
