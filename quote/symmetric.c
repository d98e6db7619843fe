/* SPDX-License-Identifier: BSD-3-Clause */
/* Symmetric decryption in the TPM with the configuration AES key (docs/tep-formats.md section 3, step 6):
 * TPM2_EncryptDecrypt2 in CTR mode, chunked by the TPM's input buffer, in a session salted with the recorded
 * SRK that authorizes the key with its authValue and encrypts the plaintext on its way back. */
#include "tpm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

static int symmetric_caps(tpm_t *t, bool *ret_has, size_t *ret_input_buffer, char **ret_error)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_COMMANDS,
                                    TPM2_CC_EncryptDecrypt2, 1, NULL, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "asking the TPM which commands it implements", ret_error);
    /* The answer starts at the first implemented command at or after the one asked for. */
    *ret_has = cap->data.command.count > 0 && (cap->data.command.commandAttributes[0] &
                                               TPMA_CC_COMMANDINDEX_MASK) == TPM2_CC_EncryptDecrypt2;
    Esys_Free(cap);
    cap = NULL;
    rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                            TPM2_PT_INPUT_BUFFER, 1, NULL, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "asking the TPM for its input buffer size", ret_error);
    bool found = cap->data.tpmProperties.count == 1 &&
                 cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_INPUT_BUFFER;
    *ret_input_buffer = found ? cap->data.tpmProperties.tpmProperty[0].value : 0;
    Esys_Free(cap);
    if (!found || *ret_input_buffer == 0)
        return tpm_error_set(ret_error, -EPROTO, "the TPM does not say how large its input buffer is");
    return 0;
}

int tpm_symmetric_caps(tpm_t *t, bool *ret_has_encrypt_decrypt2, size_t *ret_input_buffer, char **ret_error)
{
    bool has = false;
    size_t input = 0;
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = symmetric_caps(t, &has, &input, ret_error);
    tpm_leave(t);
    if (r == 0) {
        *ret_has_encrypt_decrypt2 = has;
        *ret_input_buffer = input;
    }
    return r;
}

/* The chunk loop. A failure stops it at once: a refused authValue is never tried again (each refusal counts
 * toward the TPM's dictionary-attack lockout). */
static int decrypt_chunks(tpm_t *t, ESYS_TR key, ESYS_TR session, size_t chunk, const uint8_t iv[16],
                          const uint8_t *in, size_t len, uint8_t *out, char **ret_error)
{
    TPM2B_IV iv_in = {.size = 16};
    TPM2B_MAX_BUFFER data;
    memcpy(iv_in.buffer, iv, 16);
    for (size_t off = 0; off < len;) {
        size_t n = len - off < chunk ? len - off : chunk;
        TPM2B_MAX_BUFFER *plain = NULL;
        TPM2B_IV *iv_out = NULL;
        data.size = (UINT16)n;
        memcpy(data.buffer, in + off, n);
        TSS2_RC rc = Esys_EncryptDecrypt2(t->esys, key, session, ESYS_TR_NONE, ESYS_TR_NONE, &data, TPM2_YES,
                                          TPM2_ALG_CTR, &iv_in, &plain, &iv_out);
        if (rc != TSS2_RC_SUCCESS)
            return tpm_fail(
                t, rc, "decrypting with the AES key at 0x8100a000 (its authValue is /etc/tep/enc-key.auth)",
                ret_error);
        int r = 0;
        if (plain->size != n || iv_out->size != 16)
            r = tpm_error_set(ret_error, -EPROTO,
                              "TPM2_EncryptDecrypt2 returned %u bytes for %zu (IV of %u bytes)", plain->size,
                              n, iv_out->size);
        else {
            memcpy(out + off, plain->buffer, n);
            memcpy(iv_in.buffer, iv_out->buffer, 16); /* the counter block after this chunk */
        }
        OPENSSL_cleanse(plain, sizeof(*plain));
        Esys_Free(plain);
        Esys_Free(iv_out);
        if (r < 0)
            return r;
        off += n;
    }
    return 0;
}

static int tep_decrypt(tpm_t *t, const struct tpm_auth *key_auth, const uint8_t *srk_name,
                       size_t srk_name_len, const uint8_t iv[16], const uint8_t *in, size_t len, uint8_t *out,
                       char **ret_error)
{
    ESYS_TR key = ESYS_TR_NONE, session = ESYS_TR_NONE;
    bool has = false, exists;
    size_t chunk = 0;
    int r = symmetric_caps(t, &has, &chunk, ret_error);
    if (r == 0 && !has)
        r = tpm_error_set(ret_error, -EOPNOTSUPP,
                          "this TPM does not implement TPM2_EncryptDecrypt2, which decrypting configurations "
                          "needs");
    if (r < 0)
        return r;
    if (chunk > sizeof(((TPM2B_MAX_BUFFER *)0)->buffer))
        chunk = sizeof(((TPM2B_MAX_BUFFER *)0)->buffer);
    /* The SRK's Name is checked first: with a substituted salt key, nothing is sent under the key's auth. */
    r = tpm_session_salted_srk(t, srk_name, srk_name_len, TPMA_SESSION_ENCRYPT, &session, ret_error);
    if (r == 0)
        r = tpm_handle_load(t, TPM_HANDLE_TEP_ENC_KEY, &key, &exists, ret_error);
    if (r == 0 && !exists)
        r = tpm_error_set(ret_error, -ENOENT,
                          "there is no AES key at 0x8100a000; run `tagent provision-device` with the owner's "
                          "key");
    if (r == 0) {
        tpm_set_auth(t, key, key_auth);
        r = decrypt_chunks(t, key, session, chunk, iv, in, len, out, ret_error);
        tpm_set_auth(t, key, NULL); /* ESAPI keeps a copy of the authValue with the handle */
    }
    tpm_flush(t, &session);
    tpm_tr_close(t, &key);
    return r;
}

int tpm_tep_decrypt(tpm_t *t, const struct tpm_auth *key_auth, const uint8_t *srk_name, size_t srk_name_len,
                    const uint8_t iv[16], const uint8_t *in, size_t len, uint8_t *out, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = tep_decrypt(t, key_auth, srk_name, srk_name_len, iv, in, len, out, ret_error);
    tpm_leave(t);
    if (r < 0 && len)
        OPENSSL_cleanse(out, len); /* no half-decrypted configuration left behind */
    return r;
}
