/* SPDX-License-Identifier: BSD-3-Clause */
/* Persistent handles and NV indexes: existence, eviction, persistence, whole-index reads. */
#include "tpm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether a persistent handle or NV index exists, by listing (GetCapability never fails for a missing
 * handle, unlike ReadPublic, so no error path is needed to learn "absent"). */
static int handle_listed(tpm_t *t, TPM2_HANDLE handle, bool *ret_exists, char **ret_error)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                                    handle, 1, NULL, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "listing TPM handles", ret_error);
    *ret_exists = cap->data.handles.count > 0 && cap->data.handles.handle[0] == handle;
    Esys_Free(cap);
    return 0;
}

int tpm_handle_exists(tpm_t *t, uint32_t handle, bool *ret_exists, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = handle_listed(t, handle, ret_exists, ret_error);
    tpm_leave(t);
    return r;
}

int tpm_handle_load(tpm_t *t, TPM2_HANDLE handle, ESYS_TR *ret_tr, bool *ret_exists, char **ret_error)
{
    /* ESAPI hands out one ESYS_TR per TPM handle: closing a fresh load would also close the quote's cached
     * AIK handle, so drop the cache first (quote loads it again when it needs it). */
    if (handle == TPM_HANDLE_AIK && t->aik != ESYS_TR_NONE && ret_tr != &t->aik)
        tpm_tr_close(t, &t->aik);
    int r = handle_listed(t, handle, ret_exists, ret_error);
    *ret_tr = ESYS_TR_NONE;
    /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Branch): set when handle_listed() returned 0 */
    if (r < 0 || !*ret_exists)
        return r;
    TSS2_RC rc = Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ret_tr);
    if (rc != TSS2_RC_SUCCESS) {
        char what[64];
        snprintf(what, sizeof(what), "reading TPM handle 0x%08x", handle);
        return tpm_fail(t, rc, what, ret_error);
    }
    return 0;
}

/* TPM2_EvictControl under owner authorization, in a salted session (the owner secret crosses the bus only
 * encrypted): on a transient object it makes a persistent copy at handle, on a persistent one it removes it.
 * what says which in the error message. */
static int evict_control(tpm_t *t, ESYS_TR object, TPM2_HANDLE handle, const struct tpm_auth *owner,
                         const char *what, ESYS_TR *ret_out, char **ret_error)
{
    ESYS_TR session = ESYS_TR_NONE;
    int r = tpm_session_salted(t, 0, &session, ret_error);
    if (r < 0)
        return r;
    tpm_set_auth(t, ESYS_TR_RH_OWNER, owner);
    TSS2_RC rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, object, session, ESYS_TR_NONE, ESYS_TR_NONE,
                                   handle, ret_out);
    if (rc != TSS2_RC_SUCCESS)
        r = tpm_fail(t, rc, what, ret_error);
    tpm_flush(t, &session);
    return r;
}

int tpm_evict(tpm_t *t, TPM2_HANDLE handle, const struct tpm_auth *owner, char **ret_error)
{
    ESYS_TR tr, out = ESYS_TR_NONE;
    bool exists;
    int r = tpm_handle_load(t, handle, &tr, &exists, ret_error);
    if (r < 0 || !exists)
        return r;
    /* EvictControl on a persistent object removes it; the ESYS_TR is invalid afterwards. */
    r = evict_control(t, tr, handle, owner,
                      "removing a persistent TPM object (owner authorization, TPM_OWNER_SECRET)", &out,
                      ret_error);
    /* Close the ESYS_TR even after a successful eviction: ESAPI keeps the object (with its old name) in the
     * context otherwise, and a later load of a new key at the same handle fails with "name mismatch". */
    tpm_tr_close(t, &tr);
    return r;
}

int tpm_persist(tpm_t *t, ESYS_TR transient, TPM2_HANDLE handle, const struct tpm_auth *owner,
                char **ret_error)
{
    ESYS_TR out = ESYS_TR_NONE;
    int r =
        evict_control(t, transient, handle, owner,
                      "making a TPM key persistent (owner authorization, TPM_OWNER_SECRET)", &out, ret_error);
    tpm_tr_close(t, &out);
    return r;
}

int tpm_nv_size(tpm_t *t, TPM2_HANDLE index, uint16_t *ret_size, char **ret_error)
{
    TPM2B_NV_PUBLIC *pub = NULL;
    *ret_size = 0;
    int r = tpm_nv_public(t, index, &pub, ret_error);
    if (r == 0 && pub)
        *ret_size = pub->nvPublic.dataSize;
    Esys_Free(pub);
    return r;
}

/* Largest NV read the TPM takes in one command. */
static uint16_t nv_buffer_max(tpm_t *t)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    uint16_t max = 512; /* the minimum any TPM supports */
    if (Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                           TPM2_PT_NV_BUFFER_MAX, 1, NULL, &cap) == TSS2_RC_SUCCESS &&
        cap->data.tpmProperties.count == 1 &&
        cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX)
        max = (uint16_t)cap->data.tpmProperties.tpmProperty[0].value;
    Esys_Free(cap);
    return max;
}

int tpm_nv_read_all(tpm_t *t, TPM2_HANDLE index, ESYS_TR auth_handle, const struct tpm_auth *auth,
                    uint8_t **ret_data, size_t *ret_len, char **ret_error)
{
    ESYS_TR tr = ESYS_TR_NONE, session = ESYS_TR_NONE;
    uint8_t *data = NULL;
    bool exists;
    uint16_t size = 0;
    int r = tpm_nv_size(t, index, &size, ret_error);
    if (r == 0 && size == 0)
        r = tpm_error_set(ret_error, -ENOENT, "NV index 0x%08x does not exist", index);
    if (r == 0)
        r = tpm_handle_load(t, index, &tr, &exists, ret_error);
    if (r == 0)
        r = tpm_session_salted(t, TPMA_SESSION_ENCRYPT, &session, ret_error);
    /* size > 0 and data allocated past here: tpm_error_set() returns its (negative) r, which the analyzer
     * does not see through a variadic call in another file. */
    if (r == 0 && !(data = malloc(size))) /* NOLINT(clang-analyzer-optin.portability.UnixAPI) */
        r = tpm_error_set(ret_error, -ENOMEM, "out of memory");
    if (r < 0)
        goto out;

    ESYS_TR authorizer = auth_handle == ESYS_TR_NONE ? tr : auth_handle; /* ESYS_TR_NONE: the index itself */
    tpm_set_auth(t, authorizer, auth);
    uint16_t chunk = nv_buffer_max(t);
    for (uint16_t off = 0; off < size;) {
        uint16_t n = (uint16_t)(size - off < chunk ? size - off : chunk);
        TPM2B_MAX_NV_BUFFER *part = NULL;
        TSS2_RC rc =
            Esys_NV_Read(t->esys, authorizer, tr, session, ESYS_TR_NONE, ESYS_TR_NONE, n, off, &part);
        if (rc != TSS2_RC_SUCCESS) {
            char what[96];
            snprintf(what, sizeof(what), "reading NV index 0x%08x", index);
            r = tpm_fail(t, rc, what, ret_error);
            goto out;
        }
        uint16_t got = part->size <= n ? part->size : n;
        // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): part is set when Esys_NV_Read succeeds
        memcpy(data + off, part->buffer, got);
        Esys_Free(part);
        if (got == 0) {
            r = tpm_error_set(ret_error, -EPROTO, "reading NV index 0x%08x: the TPM returned no data", index);
            goto out;
        }
        off = (uint16_t)(off + got);
    }
    *ret_data = data;
    *ret_len = size;
    data = NULL;
out:
    free(data);
    tpm_flush(t, &session);
    tpm_tr_close(t, &tr);
    return r;
}

int tpm_nv_read_clear(tpm_t *t, TPM2_HANDLE index, TPM2B_NV_PUBLIC **ret_pub, uint8_t **ret_data,
                      char **ret_error)
{
    ESYS_TR tr = ESYS_TR_NONE;
    bool exists = false;
    TPM2B_NV_PUBLIC *pub = NULL;
    uint8_t *data = NULL;
    *ret_pub = NULL;
    int r = tpm_handle_load(t, index, &tr, &exists, ret_error);
    if (r < 0 || !exists)
        return r;
    char what[96];
    snprintf(what, sizeof(what), "reading NV index 0x%08x", index);
    TSS2_RC rc = Esys_NV_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
    if (rc != TSS2_RC_SUCCESS)
        r = tpm_fail(t, rc, what, ret_error);
    uint16_t size = r == 0 ? pub->nvPublic.dataSize : 0;
    if (r == 0 && !(data = malloc(size ? size : 1)))
        r = tpm_error_set(ret_error, -ENOMEM, "out of memory");
    uint16_t chunk = nv_buffer_max(t);
    for (uint16_t off = 0; r == 0 && off < size;) {
        uint16_t n = (uint16_t)(size - off < chunk ? size - off : chunk);
        TPM2B_MAX_NV_BUFFER *part = NULL;
        tpm_set_auth(t, tr, NULL);
        rc = Esys_NV_Read(t->esys, tr, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n, off, &part);
        if (rc != TSS2_RC_SUCCESS)
            r = tpm_fail(t, rc, what, ret_error);
        else if (!part || part->size != n)
            r = tpm_error_set(ret_error, -EPROTO, "%s: %u bytes instead of %u", what, part ? part->size : 0,
                              n);
        else if (data)
            memcpy(data + off, part->buffer, n);
        off = (uint16_t)(off + n);
        Esys_Free(part);
    }
    tpm_tr_close(t, &tr);
    if (r < 0) {
        free(data);
        Esys_Free(pub);
        return r;
    }
    *ret_pub = pub;
    *ret_data = data;
    return 0;
}

int tpm_permanent(tpm_t *t, uint32_t *ret_attrs, char **ret_error)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CAP_TPM_PROPERTIES, TPM2_PT_PERMANENT, 1, NULL, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "reading the TPM's permanent attributes", ret_error);
    *ret_attrs = cap->data.tpmProperties.count ? cap->data.tpmProperties.tpmProperty[0].value : 0;
    Esys_Free(cap);
    return 0;
}

int tpm_persistent_public(tpm_t *t, TPM2_HANDLE handle, const char *what, TPM2B_PUBLIC **ret_pub,
                          char **ret_error)
{
    ESYS_TR tr = ESYS_TR_NONE;
    bool exists = false;
    *ret_pub = NULL;
    int r = tpm_handle_load(t, handle, &tr, &exists, ret_error);
    if (r < 0 || !exists)
        return r;
    TSS2_RC rc = Esys_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ret_pub, NULL, NULL);
    tpm_tr_close(t, &tr);
    return rc == TSS2_RC_SUCCESS ? 0 : tpm_fail(t, rc, what, ret_error);
}
