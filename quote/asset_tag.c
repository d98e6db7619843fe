/* SPDX-License-Identifier: BSD-3-Clause */
/* The asset tag NV index 0x01C10110: 48 bytes, written and read with the tag secret (spec sections 2, 5). */
#include "tpm_internal.h"

#include "cleanup.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* Every refusal of the tag secret, reads and writes (see tpm_tag_refusals() in quote.h). */
static atomic_uint tag_refusals;

unsigned tpm_tag_refusals(void)
{
    return atomic_load(&tag_refusals);
}

static const TPMA_NV tag_attributes = TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | TPMA_NV_OWNERREAD;

static int tag_write(tpm_t *t, const struct tpm_auth *tag_auth, const uint8_t tag[TPM_ASSET_TAG_SIZE],
                     char **ret_error)
{
    ESYS_TR nv = ESYS_TR_NONE, session = ESYS_TR_NONE;
    bool exists;
    int r = tpm_handle_load(t, TPM_NV_ASSET_TAG, &nv, &exists, ret_error);
    if (r == 0 && !exists)
        r = tpm_error_set(ret_error, -ENOENT,
                          "the asset tag NV index 0x%08x is not defined; run `tagent setup "
                          "define-tag-index`",
                          TPM_NV_ASSET_TAG);
    if (r == 0)
        r = tpm_session_salted(t, TPMA_SESSION_DECRYPT, &session, ret_error);
    if (r == 0) {
        TPM2B_MAX_NV_BUFFER data = {.size = TPM_ASSET_TAG_SIZE};
        memcpy(data.buffer, tag, TPM_ASSET_TAG_SIZE);
        tpm_set_auth(t, nv, tag_auth);
        TSS2_RC rc = Esys_NV_Write(t->esys, nv, nv, session, ESYS_TR_NONE, ESYS_TR_NONE, &data, 0);
        if (rc != TSS2_RC_SUCCESS)
            r = tpm_fail(t, rc, "writing the asset tag (tag secret from config.yml)", ret_error);
        if (r == -EACCES)
            atomic_fetch_add(&tag_refusals, 1);
    }
    tpm_flush(t, &session);
    tpm_tr_close(t, &nv);
    return r;
}

/* The current tag, read with owner auth before the index is redefined; *ret_valid false if unreadable. */
static void old_tag(tpm_t *t, const struct tpm_auth *owner, uint8_t ret_tag[TPM_ASSET_TAG_SIZE],
                    bool *ret_valid)
{
    uint8_t *data = NULL;
    size_t len = 0;
    *ret_valid = tpm_nv_read_all(t, TPM_NV_ASSET_TAG, ESYS_TR_RH_OWNER, owner, &data, &len, NULL) == 0 &&
                 len == TPM_ASSET_TAG_SIZE;
    if (*ret_valid)
        memcpy(ret_tag, data, TPM_ASSET_TAG_SIZE);
    free(data);
}

static int define_index(tpm_t *t, const struct tpm_auth *owner, const struct tpm_auth *tag_auth,
                        char **ret_error)
{
    uint8_t tag[TPM_ASSET_TAG_SIZE] = {0};
    bool valid = false;
    ESYS_TR nv = ESYS_TR_NONE, session = ESYS_TR_NONE;
    bool exists;
    uint16_t size;
    int r = tpm_nv_size(t, TPM_NV_ASSET_TAG, &size, ret_error);
    if (r < 0)
        return r;
    if (size)
        old_tag(t, owner, tag, &valid); /* before loading nv: ESAPI shares one ESYS_TR per handle */
    r = tpm_handle_load(t, TPM_NV_ASSET_TAG, &nv, &exists, ret_error);
    if (r < 0)
        return r;
    if (exists) {
        r = tpm_session_salted(t, 0, &session, ret_error);
        if (r == 0) {
            tpm_set_auth(t, ESYS_TR_RH_OWNER, owner);
            TSS2_RC rc =
                Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, nv, session, ESYS_TR_NONE, ESYS_TR_NONE);
            if (rc == TSS2_RC_SUCCESS)
                nv = ESYS_TR_NONE; /* gone with the index */
            else
                r = tpm_fail(t, rc,
                             "removing the old asset tag index (owner authorization, TPM_OWNER_SECRET)",
                             ret_error);
        }
        tpm_flush(t, &session);
        tpm_tr_close(t, &nv);
        if (r < 0)
            return r;
    }

    TPM2B_AUTH auth = {.size = (UINT16)tag_auth->len};
    memcpy(auth.buffer, tag_auth->bytes, tag_auth->len);
    TPM2B_NV_PUBLIC pub = {
        .nvPublic =
            {
                .nvIndex = TPM_NV_ASSET_TAG,
                .nameAlg = TPM2_ALG_SHA256,
                .attributes = tag_attributes,
                .dataSize = TPM_ASSET_TAG_SIZE,
            },
    };
    /* The new index's auth value is the first parameter: encrypted by the session. */
    r = tpm_session_salted(t, TPMA_SESSION_DECRYPT, &session, ret_error);
    if (r == 0) {
        tpm_set_auth(t, ESYS_TR_RH_OWNER, owner);
        TSS2_RC rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, session, ESYS_TR_NONE, ESYS_TR_NONE,
                                         &auth, &pub, &nv);
        if (rc != TSS2_RC_SUCCESS)
            r = tpm_fail(t, rc, "defining the asset tag index (owner authorization, TPM_OWNER_SECRET)",
                         ret_error);
    }
    OPENSSL_cleanse(&auth, sizeof(auth));
    tpm_flush(t, &session);
    tpm_tr_close(t, &nv);
    if (r == 0)
        r = tag_write(t, tag_auth, tag, ret_error); /* the old tag if it was valid, else zeros = "no tag" */
    OPENSSL_cleanse(tag, sizeof(tag));
    return r;
}

int tpm_tag_index_define(tpm_t *t, const struct tpm_auth *owner, const struct tpm_auth *tag_auth,
                         char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = define_index(t, owner, tag_auth, ret_error);
    tpm_leave(t);
    return r;
}

int tpm_tag_write(tpm_t *t, const struct tpm_auth *tag_auth, const uint8_t tag[TPM_ASSET_TAG_SIZE],
                  char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = tag_write(t, tag_auth, tag, ret_error);
    tpm_leave(t);
    return r;
}

static int tag_read(tpm_t *t, const struct tpm_auth *tag_auth, uint8_t ret_tag[TPM_ASSET_TAG_SIZE],
                    bool *ret_present, char **ret_error)
{
    _cleanup_free_ uint8_t *data = NULL;
    /* The read's own message is dropped or replaced for the two answers that mean something here. */
    _cleanup_free_ char *read_error = NULL;
    uint16_t size;
    size_t len = 0;
    *ret_present = false;
    int r = tpm_nv_size(t, TPM_NV_ASSET_TAG, &size, ret_error);
    if (r < 0 || size == 0)
        return r; /* no index: no tag */
    r = tpm_nv_read_all(t, TPM_NV_ASSET_TAG, ESYS_TR_NONE, tag_auth, &data, &len, &read_error);
    if (r == -ENODATA)
        return 0; /* defined but never written: no tag */
    if (r == -EACCES)
        atomic_fetch_add(&tag_refusals, 1);
    if (r == -EACCES)
        return tpm_error_set(
            ret_error, r,
            "the tag secret in config.yml (tpm.tag-secret-key) does not match the asset tag index "
            "0x01C10110: "
            "the TPM refused it, and every refused try counts toward its dictionary-attack lockout, so "
            "tagent "
            "will not try it again. Re-run `tagent setup define-tag-index -f trustagent.env --force` (the "
            "index "
            "then takes the secret in config.yml) or restore the config.yml whose secret matches the index, "
            "then send tagent SIGHUP (`systemctl reload tagent`)");
    if (r < 0) {
        if (ret_error)
            *ret_error = TAKE_PTR(read_error);
        return r;
    }
    if (len != TPM_ASSET_TAG_SIZE)
        return tpm_error_set(ret_error, -EBADMSG, "the asset tag index holds %zu bytes instead of 48", len);
    memcpy(ret_tag, data, TPM_ASSET_TAG_SIZE);
    for (size_t i = 0; i < TPM_ASSET_TAG_SIZE; i++)
        *ret_present |= ret_tag[i] != 0;
    return 0;
}

int tpm_tag_read(tpm_t *t, const struct tpm_auth *tag_auth, uint8_t ret_tag[TPM_ASSET_TAG_SIZE],
                 bool *ret_present, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = tag_read(t, tag_auth, ret_tag, ret_present, ret_error);
    tpm_leave(t);
    return r;
}
