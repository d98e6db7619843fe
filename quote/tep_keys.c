/* SPDX-License-Identifier: BSD-3-Clause */
/* The TEP device keys (docs/tep-formats.md section 1): the owner's policy key in NV 0x018A0000, write-locked,
 * and the configuration AES key at 0x8100A000, imported under the SRK; and the read-only view of both. */
#include "tpm_internal.h"

#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#define SPKI_P256_LEN 91
#define SPKI_P384_LEN 120

static const TPMA_NV policy_key_attributes =
    TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA | TPMA_NV_WRITEDEFINE;

/* ---- the policy key (NV 0x018A0000) ---- */

/* What the device requires before trusting the index (contract section 1): written, write-locked, and
 * writable by nobody but through the owner. NULL when fine, else the reason. */
static const char *policy_key_attribute_problem(TPMA_NV a)
{
    if (((a & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT) != TPM2_NT_ORDINARY)
        return "it is not an ordinary index";
    if (a & TPMA_NV_AUTHWRITE)
        return "it has authwrite (anyone knowing its auth value could have written it)";
    if (a & TPMA_NV_POLICYWRITE)
        return "it has policywrite (a policy could have written it)";
    if (!(a & TPMA_NV_WRITTEN))
        return "it was never written";
    if (!(a & TPMA_NV_WRITELOCKED))
        return "it is not write-locked";
    return NULL;
}

static int policy_key_write(tpm_t *t, const struct tpm_auth *owner, const uint8_t *spki, size_t len,
                            bool force, char **ret_error)
{
    static const char what[] = "the policy key index 0x018a0000";
    if (len != SPKI_P256_LEN && len != SPKI_P384_LEN)
        return tpm_error_set(ret_error, -EINVAL,
                             "the policy key is %zu bytes of DER; a P-256 key has 91, a P-384 key 120", len);
    TPM2B_NV_PUBLIC *pub = NULL;
    int r = tpm_nv_public(t, TPM_NV_TEP_POLICY_KEY, &pub, ret_error);
    if (r < 0)
        return r;
    bool exists = pub != NULL;
    Esys_Free(pub);
    if (exists && !force)
        return tpm_error_set(ret_error, -EEXIST,
                             "NV index 0x018a0000 already holds a policy key; replacing it needs --force");
    if (exists)
        r = tpm_nv_undefine(t, owner, TPM_NV_TEP_POLICY_KEY, what, ret_error);
    if (r == 0)
        r = tpm_nv_define(t, owner, TPM_NV_TEP_POLICY_KEY, policy_key_attributes, (uint16_t)len, what,
                          ret_error);
    if (r == 0)
        r = tpm_nv_write_owner(t, owner, TPM_NV_TEP_POLICY_KEY, spki, len, what, ret_error);
    /* writedefine: the lock lasts until the index is undefined, across resets. */
    if (r == 0)
        r = tpm_nv_write_lock(t, owner, TPM_NV_TEP_POLICY_KEY, what, ret_error);
    return r;
}

int tpm_tep_policy_key_write(tpm_t *t, const struct tpm_auth *owner, const uint8_t *spki, size_t spki_len,
                             bool force, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = policy_key_write(t, owner, spki, spki_len, force, ret_error);
    tpm_leave(t);
    return r;
}

int tpm_tep_policy_key_get(tpm_t *t, bool integrity, uint8_t **ret_spki, size_t *ret_len, char **ret_error)
{
    TPM2B_NV_PUBLIC *pub = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int r = integrity ? tpm_nv_public(t, TPM_NV_TEP_POLICY_KEY, &pub, ret_error)
                      : tpm_nv_read_clear(t, TPM_NV_TEP_POLICY_KEY, &pub, &data, ret_error);
    if (r < 0)
        return r;
    if (!pub)
        return tpm_error_set(ret_error, -ENOENT,
                             "NV index 0x018a0000 (the policy key) is not defined; run `tagent "
                             "provision-device`");
    const char *problem = policy_key_attribute_problem(pub->nvPublic.attributes);
    uint16_t size = pub->nvPublic.dataSize;
    Esys_Free(pub);
    if (problem) {
        free(data);
        return tpm_error_set(ret_error, -EPERM,
                             "NV index 0x018a0000 (the policy key) cannot be trusted: %s; run `tagent "
                             "provision-device --force` with the owner's key",
                             problem);
    }
    if (integrity &&
        (r = tpm_nv_read_all(t, TPM_NV_TEP_POLICY_KEY, ESYS_TR_NONE, NULL, &data, &len, ret_error)) < 0)
        return r;
    if (!integrity)
        len = size;
    if (len != size) {
        free(data);
        return tpm_error_set(ret_error, -EPROTO, "NV index 0x018a0000 gave %zu of its %u bytes", len, size);
    }
    *ret_spki = data;
    *ret_len = len;
    return 0;
}

int tpm_tep_policy_key_read(tpm_t *t, uint8_t **ret_spki, size_t *ret_len, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = tpm_tep_policy_key_get(t, true, ret_spki, ret_len, ret_error);
    tpm_leave(t);
    return r;
}

/* ---- the configuration AES key (0x8100A000) ---- */

/* An imported object cannot have fixedtpm or fixedparent (TPM2_Import refuses them: it would be a
 * duplicate of a key that claims it was never outside a TPM). DA-protected: its authValue is a secret. */
static const TPMA_OBJECT enc_key_attributes =
    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT;

/* What TPM2_Import takes for an external key: the public area, and the sensitive area under an inner wrapper
 * (TPM 2.0 part 1, 23.3.2.3): CFB_encryptionKey(IV 0, TPM2B(H(TPM2B(sensitive) || Name)) ||
 * TPM2B(sensitive)). No outer wrapper (no seed): the wrapper key encryptionKey is the command's first
 * parameter, which the SRK-salted session encrypts, so the AES key never crosses the bus in a form a sniffer
 * can undo. */
struct enc_key_duplicate {
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE dup;
    TPM2B_DATA wrap_key;
};

static void duplicate_clear(struct enc_key_duplicate *d)
{
    OPENSSL_cleanse(d, sizeof(*d));
}

static int sha256(const void *a, size_t a_len, const void *b, size_t b_len, uint8_t out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, a, a_len) &&
             EVP_DigestUpdate(ctx, b, b_len) && EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -EIO;
}

static int aes128_cfb_encrypt(const uint8_t key[16], uint8_t *buf, size_t len)
{
    static const uint8_t iv[16] = {0};
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int out1 = 0, out2 = 0;
    int ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_cfb128(), NULL, key, iv) &&
             EVP_EncryptUpdate(ctx, buf, &out1, buf, (int)len) && EVP_EncryptFinal_ex(ctx, buf + out1, &out2);
    EVP_CIPHER_CTX_free(ctx);
    return ok && (size_t)out1 + (size_t)out2 == len ? 0 : -EIO;
}

static int duplicate_build(const uint8_t *key, size_t key_len, const struct tpm_auth *key_auth,
                           struct enc_key_duplicate *d, char **ret_error)
{
    TPMT_SENSITIVE sens = {.sensitiveType = TPM2_ALG_SYMCIPHER};
    uint8_t plain[sizeof(d->dup.buffer)];
    uint8_t pub_bytes[sizeof(TPMT_PUBLIC)], name[2 + 32], integrity[32];
    size_t pub_len = 0, sens_len = 0;
    int r = -EIO;

    memset(d, 0, sizeof(*d));
    sens.authValue.size = (UINT16)tpm_auth_len(key_auth);
    memcpy(sens.authValue.buffer, key_auth->bytes, sens.authValue.size);
    sens.sensitive.sym.size = (UINT16)key_len;
    memcpy(sens.sensitive.sym.buffer, key, key_len);
    /* The obfuscation value: unique = H(seed || key) must not let anyone test guesses of the key. */
    sens.seedValue.size = 32;
    d->wrap_key.size = 16;
    if (RAND_bytes(sens.seedValue.buffer, 32) != 1 || RAND_bytes(d->wrap_key.buffer, 16) != 1)
        goto out;

    TPMT_PUBLIC *p = &d->pub.publicArea;
    p->type = TPM2_ALG_SYMCIPHER;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = enc_key_attributes;
    p->parameters.symDetail.sym.algorithm = TPM2_ALG_AES;
    p->parameters.symDetail.sym.keyBits.aes = (UINT16)(key_len * 8);
    p->parameters.symDetail.sym.mode.aes = TPM2_ALG_NULL; /* any mode at use: CTR for configurations */
    p->unique.sym.size = 32;
    if (sha256(sens.seedValue.buffer, 32, key, key_len, p->unique.sym.buffer) < 0)
        goto out;

    /* Name = nameAlg || H(TPMT_PUBLIC): the inner integrity binds the sensitive area to this public area. */
    if (Tss2_MU_TPMT_PUBLIC_Marshal(p, pub_bytes, sizeof(pub_bytes), &pub_len) != TSS2_RC_SUCCESS)
        goto out;
    name[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
    name[1] = (uint8_t)TPM2_ALG_SHA256;
    if (sha256(pub_bytes, pub_len, NULL, 0, name + 2) < 0)
        goto out;

    /* plain = TPM2B(integrity) || TPM2B(sensitive); the sensitive part is marshalled first, after room for
     * the integrity digest, then hashed together with its size field. */
    const size_t sens_at = 2 + 32;
    if (Tss2_MU_TPMT_SENSITIVE_Marshal(&sens, plain + sens_at + 2, sizeof(plain) - sens_at - 2, &sens_len) !=
        TSS2_RC_SUCCESS)
        goto out;
    plain[sens_at] = (uint8_t)(sens_len >> 8);
    plain[sens_at + 1] = (uint8_t)sens_len;
    if (sha256(plain + sens_at, 2 + sens_len, name, sizeof(name), integrity) < 0)
        goto out;
    plain[0] = 0;
    plain[1] = 32;
    memcpy(plain + 2, integrity, 32);
    size_t total = sens_at + 2 + sens_len;
    if (aes128_cfb_encrypt(d->wrap_key.buffer, plain, total) < 0)
        goto out;
    memcpy(d->dup.buffer, plain, total);
    d->dup.size = (UINT16)total;
    r = 0;
out:
    OPENSSL_cleanse(&sens, sizeof(sens));
    OPENSSL_cleanse(plain, sizeof(plain));
    if (r < 0) {
        duplicate_clear(d);
        return tpm_error_set(ret_error, r,
                             "building the AES key's import blob failed (OpenSSL or TSS marshalling)");
    }
    return 0;
}

/* Import + Load under the SRK in one SRK-salted session, then EvictControl to 0x8100A000. */
static int enc_key_import(tpm_t *t, const struct tpm_auth *owner, const struct enc_key_duplicate *d,
                          const uint8_t *srk_name, size_t srk_name_len, char **ret_error)
{
    static const TPMT_SYM_DEF_OBJECT inner = {
        .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
    static const TPM2B_ENCRYPTED_SECRET no_seed = {0};
    ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE;
    TPM2B_PRIVATE *priv = NULL;
    int r = tpm_srk_parent_open(t, srk_name, srk_name_len, &srk, &session, ret_error);
    if (r < 0)
        goto out;
    TSS2_RC rc = Esys_Import(t->esys, srk, session, ESYS_TR_NONE, ESYS_TR_NONE, &d->wrap_key, &d->pub,
                             &d->dup, &no_seed, &inner, &priv);
    if (rc != TSS2_RC_SUCCESS) {
        r = tpm_fail(t, rc, "importing the AES key under the storage key", ret_error);
        goto out;
    }
    r = tpm_srk_child_persist(t, &srk, &session, priv, &d->pub, TPM_HANDLE_TEP_ENC_KEY, owner,
                              "loading the imported AES key", ret_error);
out:
    Esys_Free(priv);
    tpm_flush(t, &session);
    tpm_tr_close(t, &srk);
    return r;
}

static int enc_key_install(tpm_t *t, const struct tpm_auth *owner, const uint8_t *key, size_t key_len,
                           const struct tpm_auth *key_auth, const uint8_t *srk_name, size_t srk_name_len,
                           bool force, char **ret_error)
{
    struct enc_key_duplicate d;
    if (key_len != 16 && key_len != 32)
        return tpm_error_set(ret_error, -EINVAL, "the AES key is %zu bytes; AES-128 takes 16, AES-256 32",
                             key_len);
    if (!key_auth || key_auth->len > 32)
        return tpm_error_set(ret_error, -EINVAL, "the AES key's authValue must be at most 32 bytes");
    int r = tpm_srk_child_slot(t, TPM_HANDLE_TEP_ENC_KEY, srk_name, srk_name_len, owner, force,
                               "0x8100a000 already holds a key; replacing it needs --force", ret_error);
    if (r == 0)
        r = duplicate_build(key, key_len, key_auth, &d, ret_error);
    if (r == 0)
        r = enc_key_import(t, owner, &d, srk_name, srk_name_len, ret_error);
    duplicate_clear(&d);
    return r;
}

int tpm_tep_enc_key_import(tpm_t *t, const struct tpm_auth *owner, const uint8_t *key, size_t key_len,
                           const struct tpm_auth *key_auth, const uint8_t *srk_name, size_t srk_name_len,
                           bool force, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = enc_key_install(t, owner, key, key_len, key_auth, srk_name, srk_name_len, force, ret_error);
    tpm_leave(t);
    return r;
}

int tpm_tep_enc_key_evict(tpm_t *t, const struct tpm_auth *owner, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = tpm_evict(t, TPM_HANDLE_TEP_ENC_KEY, owner, ret_error);
    tpm_leave(t);
    return r;
}

/* ---- the read-only view ---- */

/* Key bits of the AES key at 0x8100A000; 0 when absent or not an AES symcipher key. */
static int enc_key_bits(tpm_t *t, bool *ret_present, uint16_t *ret_bits, char **ret_error)
{
    TPM2B_PUBLIC *pub = NULL;
    int r = tpm_persistent_public(t, TPM_HANDLE_TEP_ENC_KEY, "reading the AES key at 0x8100a000", &pub,
                                  ret_error);
    *ret_bits = 0;
    *ret_present = pub != NULL;
    if (r < 0 || !pub)
        return r;
    const TPMT_PUBLIC *p = &pub->publicArea;
    if (p->type == TPM2_ALG_SYMCIPHER && p->parameters.symDetail.sym.algorithm == TPM2_ALG_AES)
        *ret_bits = p->parameters.symDetail.sym.keyBits.aes;
    Esys_Free(pub);
    return 0;
}

static int tep_state(tpm_t *t, struct tpm_tep_state *s, char **ret_error)
{
    TPM2B_NV_PUBLIC *pub = NULL;
    int r = tpm_nv_public(t, TPM_NV_TEP_POLICY_KEY, &pub, ret_error);
    if (r < 0)
        return r;
    if (pub) {
        s->policy_key_defined = true;
        s->policy_key_locked = policy_key_attribute_problem(pub->nvPublic.attributes) == NULL;
        s->policy_key_len = pub->nvPublic.dataSize;
        Esys_Free(pub);
    }
    r = enc_key_bits(t, &s->enc_key_present, &s->enc_key_bits, ret_error);
    if (r == 0)
        r = tpm_nv_public(t, TPM_NV_TEP_CONFIG_SEQ, &pub, ret_error);
    if (r < 0)
        return r;
    s->config_seq_defined = pub != NULL;
    Esys_Free(pub);
    r = tpm_nv_public(t, TPM_NV_TEP_LUKS_VERSION, &pub, ret_error);
    if (r < 0)
        return r;
    s->luks_version_defined = pub != NULL;
    Esys_Free(pub);
    return 0;
}

int tpm_tep_state(tpm_t *t, struct tpm_tep_state *ret_state, char **ret_error)
{
    struct tpm_tep_state s = {0};
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = tep_state(t, &s, ret_error);
    tpm_leave(t);
    if (r == 0)
        *ret_state = s;
    return r;
}
