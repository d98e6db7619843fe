/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The HVS Privacy CA's cryptography (spec 3.4): opening an IdentityChallengePayload (RSA key transport of an
 * AES-128-CBC key), and answering with an IdentityProofRequest whose AES key travels inside a software
 * TPM2_MakeCredential to the EK.
 */
#include "mock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#define SEED_LEN    32 /* nameAlg SHA-256 */
#define AES_KEY_LEN 16

static void put_u16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int mock_kdfa_sha256(const uint8_t *key, size_t key_len, const char *label, const uint8_t *context_u,
                     size_t u_len, const uint8_t *context_v, size_t v_len, unsigned bits, uint8_t *out)
{
    size_t want = (bits + 7) / 8, done = 0;
    uint8_t block[32], be[4], bits_be[4];
    int r = 0;

    put_u32(bits_be, bits);
    for (uint32_t counter = 1; done < want; counter++) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                               OSSL_PARAM_construct_end()};
        size_t len = 0;

        put_u32(be, counter);
        /* The label goes in with its terminating NUL. */
        if (!ctx || !EVP_MAC_init(ctx, key, key_len, params) || !EVP_MAC_update(ctx, be, 4) ||
            !EVP_MAC_update(ctx, (const uint8_t *)label, strlen(label) + 1) ||
            (u_len && !EVP_MAC_update(ctx, context_u, u_len)) ||
            (v_len && !EVP_MAC_update(ctx, context_v, v_len)) || !EVP_MAC_update(ctx, bits_be, 4) ||
            !EVP_MAC_final(ctx, block, &len, sizeof(block)) || len != 32)
            r = mock_ssl_fail("KDFa");
        EVP_MAC_CTX_free(ctx);
        EVP_MAC_free(mac);
        if (r < 0)
            break;
        size_t n = want - done < len ? want - done : len;
        memcpy(out + done, block, n);
        done += n;
    }
    OPENSSL_cleanse(block, sizeof(block));
    return r;
}

static int hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len, const uint8_t *b,
                       size_t b_len, uint8_t out[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    size_t len = 0;
    int r = 0;

    if (!ctx || !EVP_MAC_init(ctx, key, key_len, params) || !EVP_MAC_update(ctx, a, a_len) ||
        !EVP_MAC_update(ctx, b, b_len) || !EVP_MAC_final(ctx, out, &len, 32) || len != 32)
        r = mock_ssl_fail("HMAC-SHA256");
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return r;
}

static int cipher_run(const EVP_CIPHER *cipher, bool encrypt, bool pad, const uint8_t *key, const uint8_t *iv,
                      const uint8_t *in, size_t in_len, uint8_t **ret_out, size_t *ret_len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t *out = malloc(in_len + 32);
    int n1 = 0, n2 = 0, r = -EBADMSG;

    if (!ctx || !out || in_len > INT32_MAX / 2) {
        r = -ENOMEM;
        goto out;
    }
    if (EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, encrypt ? 1 : 0) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, pad ? 1 : 0) != 1 ||
        EVP_CipherUpdate(ctx, out, &n1, in, (int)in_len) != 1 || EVP_CipherFinal_ex(ctx, out + n1, &n2) != 1)
        goto out;
    *ret_out = out;
    *ret_len = (size_t)n1 + (size_t)n2;
    out = NULL;
    r = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    free(out);
    return r;
}

int mock_aes_cbc(bool encrypt, const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t in_len,
                 uint8_t **ret_out, size_t *ret_len)
{
    return cipher_run(EVP_aes_128_cbc(), encrypt, true, key, iv, in, in_len, ret_out, ret_len);
}

static int rsa_oaep_sha256(EVP_PKEY *key, bool encrypt, const char *label, size_t label_len,
                           const uint8_t *in, size_t in_len, uint8_t **ret_out, size_t *ret_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    unsigned char *label_copy = NULL, *out = NULL;
    size_t out_len = 0;
    int r = -EBADMSG, ok;

    if (!ctx)
        return -ENOMEM;
    ok = encrypt ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx);
    if (ok <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0)
        goto out;
    if (label_len) {
        label_copy = OPENSSL_memdup(label, label_len);
        if (!label_copy || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label_copy, (int)label_len) <= 0) {
            OPENSSL_free(label_copy);
            goto out;
        }
    }
    ok = encrypt ? EVP_PKEY_encrypt(ctx, NULL, &out_len, in, in_len)
                 : EVP_PKEY_decrypt(ctx, NULL, &out_len, in, in_len);
    if (ok <= 0 || !(out = malloc(out_len ? out_len : 1)))
        goto out;
    ok = encrypt ? EVP_PKEY_encrypt(ctx, out, &out_len, in, in_len)
                 : EVP_PKEY_decrypt(ctx, out, &out_len, in, in_len);
    if (ok <= 0)
        goto out;
    *ret_out = out;
    *ret_len = out_len;
    out = NULL;
    r = 0;
out:
    free(out);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

static int rsa_pkcs1_decrypt(EVP_PKEY *key, const uint8_t *in, size_t in_len, uint8_t **ret_out,
                             size_t *ret_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    uint8_t *out = NULL;
    size_t out_len = 0;
    int r = -EBADMSG;

    if (ctx && EVP_PKEY_decrypt_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
        EVP_PKEY_decrypt(ctx, NULL, &out_len, in, in_len) > 0 && (out = malloc(out_len ? out_len : 1)) &&
        EVP_PKEY_decrypt(ctx, out, &out_len, in, in_len) > 0) {
        *ret_out = out;
        *ret_len = out_len;
        out = NULL;
        r = 0;
    }
    free(out);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

int mock_make_credential(EVP_PKEY *ek, const uint8_t *cred, size_t cred_len, const uint8_t *name,
                         size_t name_len, uint8_t **ret_secret, size_t *ret_secret_len,
                         uint8_t **ret_credential, size_t *ret_credential_len)
{
    static const char identity_label[] = "IDENTITY"; /* sizeof includes the NUL the label needs */
    uint8_t seed[SEED_LEN], sym_key[16], hmac_key[32], plain[2 + 64], integrity[32];
    uint8_t *enc_seed = NULL, *enc_identity = NULL, *secret = NULL, *credential = NULL;
    size_t enc_seed_len = 0, enc_identity_len = 0, credential_len;
    uint8_t zero_iv[16] = {0};
    int r;

    if (EVP_PKEY_get_base_id(ek) != EVP_PKEY_RSA || cred_len == 0 || cred_len > 64)
        return -EINVAL;
    if (RAND_bytes(seed, sizeof(seed)) != 1)
        return mock_ssl_fail("RAND_bytes");
    r = rsa_oaep_sha256(ek, true, identity_label, sizeof(identity_label), seed, sizeof(seed), &enc_seed,
                        &enc_seed_len);
    if (r < 0)
        goto out;
    /* encIdentity = AES-128-CFB(KDFa(seed, "STORAGE", name), IV 0) over the marshalled TPM2B_DIGEST. */
    put_u16(plain, cred_len);
    memcpy(plain + 2, cred, cred_len);
    if ((r = mock_kdfa_sha256(seed, sizeof(seed), "STORAGE", name, name_len, NULL, 0, 128, sym_key)) < 0 ||
        (r = cipher_run(EVP_aes_128_cfb128(), true, false, sym_key, zero_iv, plain, 2 + cred_len,
                        &enc_identity, &enc_identity_len)) < 0 ||
        (r = mock_kdfa_sha256(seed, sizeof(seed), "INTEGRITY", NULL, 0, NULL, 0, 256, hmac_key)) < 0 ||
        (r = hmac_sha256(hmac_key, sizeof(hmac_key), enc_identity, enc_identity_len, name, name_len,
                         integrity)) < 0)
        goto out;

    r = -ENOMEM;
    credential_len = 2 + 2 + sizeof(integrity) + enc_identity_len;
    secret = malloc(2 + enc_seed_len);
    credential = malloc(credential_len);
    if (!secret || !credential)
        goto out;
    put_u16(secret, enc_seed_len);
    memcpy(secret + 2, enc_seed, enc_seed_len);
    put_u16(credential, credential_len - 2);
    put_u16(credential + 2, sizeof(integrity));
    memcpy(credential + 4, integrity, sizeof(integrity));
    memcpy(credential + 4 + sizeof(integrity), enc_identity, enc_identity_len);
    *ret_secret = secret;
    *ret_secret_len = 2 + enc_seed_len;
    *ret_credential = credential;
    *ret_credential_len = credential_len;
    secret = credential = NULL;
    r = 0;
out:
    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(sym_key, sizeof(sym_key));
    OPENSSL_cleanse(hmac_key, sizeof(hmac_key));
    OPENSSL_cleanse(plain, sizeof(plain));
    free(enc_seed);
    free(enc_identity);
    free(secret);
    free(credential);
    return r;
}

/* ---- IdentityChallengePayload ---- */

static int json_b64(const cJSON *obj, const char *key, uint8_t **ret, size_t *ret_len, char *why,
                    size_t why_len)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsString(item) || !item->valuestring) {
        snprintf(why, why_len, "\"%s\" is missing or not a string", key);
        return -EINVAL;
    }
    if (mock_b64_decode(item->valuestring, ret, ret_len) < 0) {
        snprintf(why, why_len, "\"%s\" is not standard base64", key);
        return -EINVAL;
    }
    return 0;
}

static int json_int(const cJSON *obj, const char *key, int *ret, char *why, size_t why_len)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsNumber(item)) {
        snprintf(why, why_len, "\"%s\" is missing or not a number", key);
        return -EINVAL;
    }
    *ret = item->valueint;
    return 0;
}

static const cJSON *json_obj(const cJSON *obj, const char *key, char *why, size_t why_len)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsObject(item))
        snprintf(why, why_len, "\"%s\" is missing or not an object", key);
    return cJSON_IsObject(item) ? item : NULL;
}

void mock_identity_payload_clear(struct mock_identity_payload *p)
{
    if (p->payload)
        OPENSSL_cleanse(p->payload, p->payload_len);
    free(p->payload);
    memset(p, 0, sizeof(*p));
}

int mock_identity_payload_open(EVP_PKEY *privacy_key, const char *json, struct mock_identity_payload *ret,
                               char *why, size_t why_len)
{
    cJSON *root = cJSON_Parse(json);
    const cJSON *req, *asym, *sym, *version;
    uint8_t *modulus = NULL, *name = NULL, *iv = NULL, *symblob = NULL, *asymblob = NULL, *key = NULL;
    uint8_t *payload = NULL;
    size_t modulus_len = 0, name_len = 0, iv_len = 0, symblob_len = 0, asymblob_len = 0, key_len = 0;
    size_t payload_len = 0;
    int asym_scheme = 0, sym_scheme = 0, r = -EINVAL;

    if (!cJSON_IsObject(root)) {
        snprintf(why, why_len, "the body is not a JSON object");
        goto out;
    }
    if (!(req = json_obj(root, "identity_request", why, why_len)) ||
        !(asym = json_obj(root, "tpm_asymmetric_params", why, why_len)) ||
        !(sym = json_obj(root, "tpm_symmetric_params", why, why_len)))
        goto out;
    version = cJSON_GetObjectItemCaseSensitive(req, "tpm_version");
    if (!cJSON_IsString(version) || strcmp(version->valuestring, "2.0") != 0) {
        snprintf(why, why_len, "identity_request.tpm_version must be \"2.0\"");
        goto out;
    }
    if (json_b64(req, "aik_modulus", &modulus, &modulus_len, why, why_len) < 0 ||
        json_b64(req, "aik_name", &name, &name_len, why, why_len) < 0 ||
        json_int(asym, "TpmAlgEncScheme", &asym_scheme, why, why_len) < 0 ||
        json_int(sym, "TpmAlgEncScheme", &sym_scheme, why, why_len) < 0 ||
        json_b64(sym, "IV", &iv, &iv_len, why, why_len) < 0 ||
        json_b64(root, "symblob", &symblob, &symblob_len, why, why_len) < 0 ||
        json_b64(root, "asymblob", &asymblob, &asymblob_len, why, why_len) < 0)
        goto out;
    if (modulus_len != sizeof(ret->modulus)) {
        snprintf(why, why_len, "aik_modulus has %zu bytes, not 256", modulus_len);
        goto out;
    }
    if (name_len != sizeof(ret->name) || name[0] != 0x00 || name[1] != 0x0b) {
        snprintf(why, why_len, "aik_name is not a SHA-256 TPM name (34 bytes starting 000b)");
        goto out;
    }
    if (sym_scheme != 255) {
        snprintf(why, why_len, "tpm_symmetric_params.TpmAlgEncScheme %d is not 255 (CBC)", sym_scheme);
        goto out;
    }
    if (iv_len != 16) {
        snprintf(why, why_len, "tpm_symmetric_params.IV has %zu bytes, not 16", iv_len);
        goto out;
    }
    /* HVS: scheme 11 (TPM_ALG_OAEP) means OAEP with SHA-256 and an empty label, anything else PKCS#1 v1.5. */
    r = asym_scheme == 11
            ? rsa_oaep_sha256(privacy_key, false, NULL, 0, asymblob, asymblob_len, &key, &key_len)
            : rsa_pkcs1_decrypt(privacy_key, asymblob, asymblob_len, &key, &key_len);
    if (r < 0) {
        snprintf(why, why_len, "asymblob does not decrypt with the Privacy CA key (%s)",
                 asym_scheme == 11 ? "RSA-OAEP-SHA256" : "RSA PKCS#1 v1.5");
        goto out;
    }
    r = -EINVAL;
    if (key_len != AES_KEY_LEN) {
        snprintf(why, why_len, "the symmetric key in asymblob has %zu bytes, not 16", key_len);
        goto out;
    }
    if (mock_aes_cbc(false, key, iv, symblob, symblob_len, &payload, &payload_len) < 0) {
        snprintf(why, why_len, "symblob does not decrypt (AES-128-CBC, PKCS#7 padding)");
        goto out;
    }
    memcpy(ret->modulus, modulus, sizeof(ret->modulus));
    memcpy(ret->name, name, sizeof(ret->name));
    ret->payload = payload;
    ret->payload_len = payload_len;
    payload = NULL;
    r = 0;
out:
    if (key)
        OPENSSL_cleanse(key, key_len);
    cJSON_Delete(root);
    free(modulus);
    free(name);
    free(iv);
    free(symblob);
    free(asymblob);
    free(key);
    free(payload);
    return r;
}

/* ---- IdentityProofRequest ---- */

static bool add_b64(cJSON *obj, const char *key, const uint8_t *data, size_t len)
{
    char *text = mock_b64_encode(data, len);
    bool ok = text && cJSON_AddStringToObject(obj, key, text);

    free(text);
    return ok;
}

int mock_identity_proof(EVP_PKEY *ek, const uint8_t *aik_name, size_t name_len, const uint8_t *data,
                        size_t len, char **ret_json)
{
    uint8_t key[AES_KEY_LEN], iv[16], *blob = NULL, *secret = NULL, *credential = NULL;
    size_t blob_len = 0, secret_len = 0, credential_len = 0;
    cJSON *root = cJSON_CreateObject(), *params = NULL;
    char *json = NULL;
    int r;

    if (!root)
        return -ENOMEM;
    if (RAND_bytes(key, sizeof(key)) != 1 || RAND_bytes(iv, sizeof(iv)) != 1) {
        r = mock_ssl_fail("RAND_bytes");
        goto out;
    }
    if ((r = mock_aes_cbc(true, key, iv, data, len, &blob, &blob_len)) < 0 ||
        (r = mock_make_credential(ek, key, sizeof(key), aik_name, name_len, &secret, &secret_len, &credential,
                                  &credential_len)) < 0)
        goto out;
    r = -ENOMEM;
    if (!add_b64(root, "secret", secret, secret_len) ||
        !add_b64(root, "credential", credential, credential_len) ||
        !(params = cJSON_AddObjectToObject(root, "symmetric_params")) ||
        !cJSON_AddNumberToObject(params, "TpmAlgId", 6) ||
        !cJSON_AddNumberToObject(params, "TpmAlgEncScheme", 1) ||
        !cJSON_AddNumberToObject(params, "TpmAlgSignatureScheme", 0) ||
        !cJSON_AddNumberToObject(params, "KeyLength", 0) ||
        !cJSON_AddNumberToObject(params, "BlockSize", 0) || !add_b64(params, "IV", iv, sizeof(iv)) ||
        !add_b64(root, "symmetric_blob", blob, blob_len) || !(json = cJSON_PrintUnformatted(root)))
        goto out;
    *ret_json = json;
    r = 0;
out:
    OPENSSL_cleanse(key, sizeof(key));
    cJSON_Delete(root);
    free(blob);
    free(secret);
    free(credential);
    return r;
}
