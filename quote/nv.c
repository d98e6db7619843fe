/* SPDX-License-Identifier: BSD-3-Clause */
/* NV indexes under owner authorization: public area, define, undefine, write, write-lock, and the 8-byte
 * big-endian indexes of the TEP contract (docs/tep-formats.md section 1). Every owner authorization travels
 * in a salted session, so the owner secret never crosses the bus. */
#include "tpm_internal.h"

#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a person reads in front of a failed owner-authorized NV step. */
static void owner_what(char *buf, size_t size, const char *step, const char *what)
{
    snprintf(buf, size, "%s %s (owner authorization, TPM_OWNER_SECRET)", step, what);
}

int tpm_nv_public(tpm_t *t, TPM2_HANDLE index, TPM2B_NV_PUBLIC **ret_pub, char **ret_error)
{
    ESYS_TR tr = ESYS_TR_NONE;
    bool exists;
    *ret_pub = NULL;
    int r = tpm_handle_load(t, index, &tr, &exists, ret_error);
    if (r < 0 || !exists)
        return r;
    TPM2B_NV_PUBLIC *pub = NULL;
    TSS2_RC rc = Esys_NV_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
    tpm_tr_close(t, &tr);
    if (rc != TSS2_RC_SUCCESS) {
        char what[64];
        snprintf(what, sizeof(what), "reading the attributes of NV index 0x%08x", index);
        return tpm_fail(t, rc, what, ret_error);
    }
    if (pub->nvPublic.nvIndex != index) {
        Esys_Free(pub);
        return tpm_error_set(ret_error, -EPROTO, "the TPM answered for NV index 0x%08x when asked for 0x%08x",
                             pub->nvPublic.nvIndex, index);
    }
    *ret_pub = pub;
    return 0;
}

/* Loads the index, runs one owner-authorized command on it in a salted session, closes everything. */
enum nv_owner_op { NV_OP_UNDEFINE, NV_OP_WRITE, NV_OP_WRITE_LOCK };

static int nv_owner_command(tpm_t *t, const struct tpm_auth *owner, TPM2_HANDLE index, enum nv_owner_op op,
                            const TPM2B_MAX_NV_BUFFER *data, const char *what, char **ret_error)
{
    ESYS_TR nv = ESYS_TR_NONE, session = ESYS_TR_NONE;
    bool exists;
    int r = tpm_handle_load(t, index, &nv, &exists, ret_error);
    if (r == 0 && !exists)
        r = op == NV_OP_UNDEFINE
                ? 1
                : tpm_error_set(ret_error, -ENOENT, "%s: NV index 0x%08x is not defined", what, index);
    if (r == 0)
        r = tpm_session_salted(t, 0, &session, ret_error);
    if (r == 0) {
        TSS2_RC rc = TSS2_RC_SUCCESS;
        tpm_set_auth(t, ESYS_TR_RH_OWNER, owner);
        switch (op) {
        case NV_OP_UNDEFINE:
            rc = Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, nv, session, ESYS_TR_NONE, ESYS_TR_NONE);
            if (rc == TSS2_RC_SUCCESS)
                nv = ESYS_TR_NONE; /* ESAPI released it with the index */
            break;
        case NV_OP_WRITE:
            rc = Esys_NV_Write(t->esys, ESYS_TR_RH_OWNER, nv, session, ESYS_TR_NONE, ESYS_TR_NONE, data, 0);
            break;
        case NV_OP_WRITE_LOCK:
            rc = Esys_NV_WriteLock(t->esys, ESYS_TR_RH_OWNER, nv, session, ESYS_TR_NONE, ESYS_TR_NONE);
            break;
        }
        if (rc != TSS2_RC_SUCCESS)
            r = tpm_fail(t, rc, what, ret_error);
    }
    tpm_flush(t, &session);
    tpm_tr_close(t, &nv);
    return r > 0 ? 0 : r;
}

int tpm_nv_define(tpm_t *t, const struct tpm_auth *owner, TPM2_HANDLE index, TPMA_NV attributes,
                  uint16_t size, const char *what, char **ret_error)
{
    char step[160];
    owner_what(step, sizeof(step), "defining", what);
    TPM2B_AUTH auth = {0}; /* authread with an empty auth: anyone may read, only the owner writes */
    TPM2B_NV_PUBLIC pub = {
        .nvPublic = {.nvIndex = index,
                     .nameAlg = TPM2_ALG_SHA256,
                     .attributes = attributes,
                     .dataSize = size},
    };
    ESYS_TR session = ESYS_TR_NONE, nv = ESYS_TR_NONE;
    int r = tpm_session_salted(t, 0, &session, ret_error);
    if (r < 0)
        return r;
    tpm_set_auth(t, ESYS_TR_RH_OWNER, owner);
    TSS2_RC rc =
        Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, session, ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &nv);
    if (rc != TSS2_RC_SUCCESS)
        r = tpm_fail(t, rc, step, ret_error);
    tpm_flush(t, &session);
    tpm_tr_close(t, &nv);
    return r;
}

int tpm_nv_undefine(tpm_t *t, const struct tpm_auth *owner, TPM2_HANDLE index, const char *what,
                    char **ret_error)
{
    char step[160];
    owner_what(step, sizeof(step), "removing", what);
    return nv_owner_command(t, owner, index, NV_OP_UNDEFINE, NULL, step, ret_error);
}

int tpm_nv_write_owner(tpm_t *t, const struct tpm_auth *owner, TPM2_HANDLE index, const uint8_t *data,
                       size_t len, const char *what, char **ret_error)
{
    /* 512 bytes is the smallest TPM2_PT_NV_BUFFER_MAX a TPM may have: the TEP indexes (8 and at most 120
     * bytes) always fit one write. */
    if (len > 512)
        return tpm_error_set(ret_error, -E2BIG, "writing %s: %zu bytes do not fit one NV write", what, len);
    char step[160];
    owner_what(step, sizeof(step), "writing", what);
    TPM2B_MAX_NV_BUFFER buf = {.size = (UINT16)len};
    memcpy(buf.buffer, data, len);
    return nv_owner_command(t, owner, index, NV_OP_WRITE, &buf, step, ret_error);
}

int tpm_nv_write_lock(tpm_t *t, const struct tpm_auth *owner, TPM2_HANDLE index, const char *what,
                      char **ret_error)
{
    char step[160];
    owner_what(step, sizeof(step), "write-locking", what);
    return nv_owner_command(t, owner, index, NV_OP_WRITE_LOCK, NULL, step, ret_error);
}

/* ---- 8-byte big-endian indexes ---- */

#define NV_U64_SIZE 8
static const TPMA_NV nv_u64_attributes =
    TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA;

static void u64_encode(uint64_t v, uint8_t out[NV_U64_SIZE])
{
    for (int i = NV_U64_SIZE - 1; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

static const char *u64_index_name(uint32_t index, char *buf, size_t size)
{
    const char *name = index == TPM_NV_TEP_CONFIG_SEQ     ? "the configuration sequence"
                       : index == TPM_NV_TEP_LUKS_VERSION ? "the LUKS policy version"
                                                          : "the counter";
    snprintf(buf, size, "%s index 0x%08x", name, index);
    return buf;
}

/* What makes an 8-byte index trustworthy as a rollback floor or a revocation level: only the owner may write
 * it (no authwrite, policywrite or platform write: whoever could write it could lower it), an ordinary index,
 * 8 bytes. An index defined by someone else before provisioning is not adopted. */
static int u64_trusted(const TPM2B_NV_PUBLIC *pub, const char *what, char **ret_error)
{
    TPMA_NV a = pub->nvPublic.attributes;
    const TPMA_NV writers = TPMA_NV_OWNERWRITE | TPMA_NV_AUTHWRITE | TPMA_NV_POLICYWRITE | TPMA_NV_PPWRITE;
    if (pub->nvPublic.dataSize != NV_U64_SIZE)
        return tpm_error_set(ret_error, -EBADMSG,
                             "%s exists with %u bytes instead of 8; it was not made by tagent: remove it "
                             "(tpm2_nvundefine) after checking what uses it",
                             what, pub->nvPublic.dataSize);
    if ((a & writers) != TPMA_NV_OWNERWRITE || (a & TPMA_NV_TPM2_NT_MASK) != 0)
        return tpm_error_set(ret_error, -EPERM,
                             "%s has attributes 0x%08x: someone other than the owner could write it, so it "
                             "cannot hold a rollback floor; it was not made by tagent: remove it "
                             "(tpm2_nvundefine) and run `tagent provision-device` again",
                             what, (unsigned)a);
    return 0;
}

static int u64_write(tpm_t *t, const struct tpm_auth *owner, uint32_t index, uint64_t value, char **ret_error)
{
    char what[96];
    uint8_t bytes[NV_U64_SIZE];
    u64_encode(value, bytes);
    return tpm_nv_write_owner(t, owner, index, bytes, sizeof(bytes),
                              u64_index_name(index, what, sizeof(what)), ret_error);
}

static int u64_define(tpm_t *t, const struct tpm_auth *owner, uint32_t index, bool *ret_created,
                      char **ret_error)
{
    char what[96];
    TPM2B_NV_PUBLIC *pub = NULL;
    u64_index_name(index, what, sizeof(what));
    int r = tpm_nv_public(t, index, &pub, ret_error);
    if (r < 0)
        return r;
    *ret_created = !pub;
    if (pub) {
        bool written = (pub->nvPublic.attributes & TPMA_NV_WRITTEN) != 0;
        r = u64_trusted(pub, what, ret_error);
        Esys_Free(pub);
        if (r < 0)
            return r;
        /* A define that stopped before its first write left an index nobody can read: finish it. */
        return written ? 0 : u64_write(t, owner, index, 0, ret_error);
    }
    r = tpm_nv_define(t, owner, index, nv_u64_attributes, NV_U64_SIZE, what, ret_error);
    /* Written once with 0 so that it reads (an unwritten index answers NV_UNINITIALIZED). */
    return r < 0 ? r : u64_write(t, owner, index, 0, ret_error);
}

int tpm_nv_u64_define(tpm_t *t, const struct tpm_auth *owner, uint32_t index, bool *ret_created,
                      char **ret_error)
{
    bool created = false;
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = u64_define(t, owner, index, &created, ret_error);
    tpm_leave(t);
    if (r == 0 && ret_created)
        *ret_created = created;
    return r;
}

int tpm_nv_u64_read(tpm_t *t, uint32_t index, uint64_t *ret_value, char **ret_error)
{
    _cleanup_free_ uint8_t *data = NULL;
    size_t len = 0;
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    char what[96];
    u64_index_name(index, what, sizeof(what));
    TPM2B_NV_PUBLIC *pub = NULL;
    r = tpm_nv_public(t, index, &pub, ret_error);
    if (r == 0 && !pub)
        r = tpm_error_set(ret_error, -ENOENT, "%s is not defined; run `tagent provision-device`", what);
    else if (r == 0)
        r = u64_trusted(pub, what, ret_error);
    Esys_Free(pub);
    /* authread with the index's empty auth: reading needs no secret. */
    if (r == 0)
        r = tpm_nv_read_all(t, index, ESYS_TR_NONE, NULL, &data, &len, ret_error);
    tpm_leave(t);
    if (r < 0)
        return r;
    if (len != NV_U64_SIZE)
        return tpm_error_set(ret_error, -EBADMSG, "%s holds %zu bytes instead of 8", what, len);
    uint64_t v = 0;
    for (size_t i = 0; i < NV_U64_SIZE; i++)
        v = v << 8 | data[i];
    *ret_value = v;
    return 0;
}

int tpm_nv_u64_write(tpm_t *t, const struct tpm_auth *owner, uint32_t index, uint64_t value, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = u64_write(t, owner, index, value, ret_error);
    tpm_leave(t);
    return r;
}
