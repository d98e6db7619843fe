/* SPDX-License-Identifier: BSD-3-Clause */
/* The storage root key at 0x81000002 (TCG "TPM v2.0 Provisioning Guidance", ECC P-256 SRK) and the sessions
 * salted with it once its Name matches the one recorded at provisioning (docs/tep-formats.md 1.3). */
#include "tpm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#define SRK_ATTRIBUTES                                                                                       \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |                      \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA)

/* The guidance's template: restricted decryption key, AES-128-CFB for its children, empty unique (so every
 * TPM derives its own key from the owner seed, and the same one each time). */
static const TPM2B_PUBLIC srk_template = {
    .publicArea =
        {
            .type = TPM2_ALG_ECC,
            .nameAlg = TPM2_ALG_SHA256,
            .objectAttributes = SRK_ATTRIBUTES,
            .parameters.eccDetail =
                {
                    .symmetric = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB},
                    /* cppcheck-suppress unknownEvaluationOrder ; designated initializers, no side effects */
                    .scheme = {.scheme = TPM2_ALG_NULL},
                    .curveID = TPM2_ECC_NIST_P256,
                    .kdf = {.scheme = TPM2_ALG_NULL},
                },
        },
};

/* A key found at 0x81000002 must at least be what a salt key and an import parent need: a restricted ECC
 * P-256 decryption key that never leaves this TPM. Anything else was put there by someone else. */
static int srk_check_public(tpm_t *t, ESYS_TR srk, char **ret_error)
{
    TPM2B_PUBLIC *pub = NULL;
    TSS2_RC rc = Esys_ReadPublic(t->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "reading the storage key at 0x81000002", ret_error);
    const TPMT_PUBLIC *p = &pub->publicArea;
    const TPMA_OBJECT needed =
        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    bool ok = p->type == TPM2_ALG_ECC && p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 &&
              (p->objectAttributes & needed) == needed && !(p->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT);
    Esys_Free(pub);
    if (!ok)
        return tpm_error_set(ret_error, -EBADMSG,
                             "the object at 0x81000002 is not an ECC P-256 storage key (TCG provisioning "
                             "guidance SRK); remove it (tpm2_evictcontrol -C o -c 0x81000002) after checking "
                             "what uses it, then provision again");
    return 0;
}

static int srk_create(tpm_t *t, const struct tpm_auth *owner, char **ret_error)
{
    ESYS_TR key = ESYS_TR_NONE;
    int r = tpm_create_primary(t, ESYS_TR_RH_OWNER, owner, &srk_template,
                               "creating the storage root key (owner authorization, TPM_OWNER_SECRET)", &key,
                               NULL, ret_error);
    if (r < 0)
        return r;
    r = tpm_persist(t, key, TPM_HANDLE_SRK_ECC, owner, ret_error);
    tpm_flush(t, &key);
    return r;
}

static int srk_name(tpm_t *t, ESYS_TR srk, uint8_t ret_name[TPM_NAME_MAX], size_t *ret_len, char **ret_error)
{
    TPM2B_NAME *name = NULL;
    TSS2_RC rc = Esys_TR_GetName(t->esys, srk, &name);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "reading the storage key's Name", ret_error);
    int r = 0;
    if (name->size == 0 || name->size > TPM_NAME_MAX)
        r = tpm_error_set(ret_error, -EPROTO, "the storage key's Name has %u bytes", name->size);
    else {
        memcpy(ret_name, name->name, name->size);
        *ret_len = name->size;
    }
    Esys_Free(name);
    return r;
}

static int srk_ensure(tpm_t *t, const struct tpm_auth *owner, uint8_t ret_name[TPM_NAME_MAX], size_t *ret_len,
                      char **ret_error)
{
    ESYS_TR srk = ESYS_TR_NONE;
    bool exists;
    int r = tpm_handle_load(t, TPM_HANDLE_SRK_ECC, &srk, &exists, ret_error);
    if (r == 0 && !exists) {
        r = srk_create(t, owner, ret_error);
        if (r == 0)
            r = tpm_handle_load(t, TPM_HANDLE_SRK_ECC, &srk, &exists, ret_error);
        if (r == 0 && !exists)
            r = tpm_error_set(ret_error, -EPROTO,
                              "the storage key made persistent at 0x81000002 is not there");
    }
    if (r == 0)
        r = srk_check_public(t, srk, ret_error);
    if (r == 0)
        r = srk_name(t, srk, ret_name, ret_len, ret_error);
    tpm_tr_close(t, &srk);
    return r;
}

int tpm_srk_ensure(tpm_t *t, const struct tpm_auth *owner, uint8_t ret_name[TPM_NAME_MAX],
                   size_t *ret_name_len, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = srk_ensure(t, owner, ret_name, ret_name_len, ret_error);
    tpm_leave(t);
    return r;
}

int tpm_srk_load_checked(tpm_t *t, const uint8_t *expected, size_t expected_len, ESYS_TR *ret_srk,
                         char **ret_error)
{
    ESYS_TR srk = ESYS_TR_NONE;
    uint8_t name[TPM_NAME_MAX];
    size_t len = 0;
    bool exists;
    int r = tpm_handle_load(t, TPM_HANDLE_SRK_ECC, &srk, &exists, ret_error);
    if (r == 0 && !exists)
        r = tpm_error_set(ret_error, -ENOENT,
                          "the storage key at 0x81000002 is gone; run `tagent provision-device --force` "
                          "again (the TEP keys under it are unusable without it)");
    /* Esys_TR_FromTPMPublic checked that the Name matches the public area the TPM sent, but nothing
     * authenticates that answer: only the Name recorded at provisioning tells the real key. */
    if (r == 0)
        r = srk_name(t, srk, name, &len, ret_error);
    if (r == 0 && (len != expected_len || CRYPTO_memcmp(name, expected, len) != 0))
        r = tpm_error_set(ret_error, -EKEYREJECTED,
                          "the storage key at 0x81000002 is not the one recorded at provisioning "
                          "(/etc/tep/srk.name): the TPM was cleared or replaced, or something between this "
                          "program and the TPM substitutes keys; nothing secret was sent. Re-provision with "
                          "`tagent provision-device --force` if the TPM was cleared, or investigate");
    if (r < 0) {
        tpm_tr_close(t, &srk);
        return r;
    }
    *ret_srk = srk;
    return 0;
}

int tpm_session_salted_srk(tpm_t *t, const uint8_t *srk_name, size_t srk_name_len, TPMA_SESSION flags,
                           ESYS_TR *ret_session, char **ret_error)
{
    ESYS_TR srk = ESYS_TR_NONE;
    int r = tpm_srk_load_checked(t, srk_name, srk_name_len, &srk, ret_error);
    if (r == 0)
        r = tpm_session_salted_key(t, srk, flags, ret_session, ret_error);
    tpm_tr_close(t, &srk); /* the session keeps the salt */
    return r;
}

int tpm_srk_child_persist(tpm_t *t, ESYS_TR *srk, ESYS_TR *session, const TPM2B_PRIVATE *priv,
                          const TPM2B_PUBLIC *pub, TPM2_HANDLE handle, const struct tpm_auth *owner,
                          const char *what, char **ret_error)
{
    ESYS_TR object = ESYS_TR_NONE;
    TSS2_RC rc = Esys_Load(t->esys, *srk, *session, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &object);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, what, ret_error);
    tpm_flush(t, session); /* before persisting: no more slots than needed */
    /* ESAPI has one ESYS_TR per TPM handle, and EvictControl's own salted session may load (and close) the
     * SRK again (tpm_set_srk_name): the caller's copy must not outlive that. */
    tpm_tr_close(t, srk);
    int r = tpm_persist(t, object, handle, owner, ret_error);
    tpm_flush(t, &object);
    return r;
}

int tpm_srk_parent_open(tpm_t *t, const uint8_t *srk_name, size_t srk_name_len, ESYS_TR *ret_srk,
                        ESYS_TR *ret_session, char **ret_error)
{
    ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE;
    int r = tpm_srk_load_checked(t, srk_name, srk_name_len, &srk, ret_error);
    if (r == 0)
        r = tpm_session_salted_key(t, srk, TPMA_SESSION_DECRYPT, &session, ret_error);
    if (r < 0) {
        tpm_tr_close(t, &srk);
        return r;
    }
    tpm_set_auth(t, srk, NULL); /* the SRK's authValue is empty (TCG template) */
    *ret_srk = srk;
    *ret_session = session;
    return 0;
}

int tpm_srk_child_slot(tpm_t *t, TPM2_HANDLE handle, const uint8_t *srk_name, size_t srk_name_len,
                       const struct tpm_auth *owner, bool force, const char *exists_text, char **ret_error)
{
    ESYS_TR old = ESYS_TR_NONE, srk = ESYS_TR_NONE;
    bool exists = false;
    int r = tpm_handle_load(t, handle, &old, &exists, ret_error);
    tpm_tr_close(t, &old);
    if (r < 0)
        return r;
    if (exists && !force)
        return tpm_error_set(ret_error, -EEXIST, "%s", exists_text);
    /* Checked before anything is removed, so a wrong SRK leaves the old object in place. */
    r = tpm_srk_load_checked(t, srk_name, srk_name_len, &srk, ret_error);
    tpm_tr_close(t, &srk);
    if (r == 0 && exists)
        r = tpm_evict(t, handle, owner, ret_error);
    return r;
}
