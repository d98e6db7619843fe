/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent's side of the privacy-CA identity challenge (spec section 3.4): payloads out, proofs in. */
#include "config.h"
#include "privacy_ca.h"

#include "cleanup.h"
#include "cleanup_cjson.h"
#include "cleanup_openssl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

__attribute__((format(printf, 3, 4))) static int fail(char **ret_error, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (ret_error && vasprintf(ret_error, fmt, ap) < 0)
        *ret_error = NULL;
    va_end(ap);
    return r;
}

static int aes_cbc(bool encrypt, const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t len,
                   uint8_t **ret, size_t *ret_len)
{
    _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t *out = malloc(len + 16);
    int n1 = 0, n2 = 0, r = -EBADMSG;
    if (ctx && out && EVP_CipherInit_ex(ctx, EVP_aes_128_cbc(), NULL, key, iv, encrypt) &&
        EVP_CipherUpdate(ctx, out, &n1, in, (int)len) && EVP_CipherFinal_ex(ctx, out + n1, &n2)) {
        *ret = TAKE_PTR(out);
        *ret_len = (size_t)n1 + (size_t)n2;
        r = 0;
    }
    /* a failed decryption may have left plaintext behind */
    if (out)
        OPENSSL_cleanse(out, len + 16);
    free(out);
    return r;
}

/* RSA-OAEP, SHA-256 and MGF1-SHA-256, empty label: HVS decrypts scheme 11 this way. */
static int oaep_encrypt(EVP_PKEY *key, const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len)
{
    _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    size_t out_len = 0;
    uint8_t *out = NULL;
    int r = -EINVAL;
    if (ctx && EVP_PKEY_encrypt_init(ctx) > 0 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0 &&
        EVP_PKEY_encrypt(ctx, NULL, &out_len, in, len) > 0 && (out = malloc(out_len)) &&
        EVP_PKEY_encrypt(ctx, out, &out_len, in, len) > 0) {
        *ret = TAKE_PTR(out);
        *ret_len = out_len;
        r = 0;
    }
    free(out);
    return r;
}

static cJSON *params(int alg, int enc, int sig, int key_length, int primes, int exp, int block,
                     const uint8_t *iv)
{
    /* Go field names: these structs have no json tags (spec 3.4). */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "TpmAlgId", alg);
    cJSON_AddNumberToObject(o, "TpmAlgEncScheme", enc);
    cJSON_AddNumberToObject(o, "TpmAlgSignatureScheme", sig);
    cJSON_AddNumberToObject(o, "KeyLength", key_length);
    if (iv) {
        cJSON_AddNumberToObject(o, "BlockSize", block);
        char *s = config_base64_encode(iv, 16);
        cJSON_AddStringToObject(o, "IV", s ? s : "");
        free(s);
    } else {
        cJSON_AddNumberToObject(o, "PrimesCount", primes);
        cJSON_AddNumberToObject(o, "ExponentSize", exp);
    }
    return o;
}

/* The IdentityChallengePayload around the encrypted payload (sym) and its encrypted key (asym). */
static char *payload_json(const struct tpm_aik_info *aik, const uint8_t iv[16], const uint8_t *sym,
                          size_t sym_len, const uint8_t *asym, size_t asym_len)
{
    _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
    _cleanup_free_ char *mod = config_base64_encode(aik->modulus, sizeof(aik->modulus));
    _cleanup_free_ char *name = config_base64_encode(aik->name, aik->name_len);
    _cleanup_free_ char *s_sym = config_base64_encode(sym, sym_len);
    _cleanup_free_ char *s_asym = config_base64_encode(asym, asym_len);
    cJSON *req = cJSON_AddObjectToObject(root, "identity_request");
    cJSON_AddStringToObject(req, "tpm_version", "2.0");
    cJSON_AddStringToObject(req, "aik_modulus", mod ? mod : "");
    cJSON_AddStringToObject(req, "aik_name", name ? name : "");
    cJSON_AddItemToObject(root, "tpm_asymmetric_params", params(1, 11, 1, 2048, 2, 0, 0, NULL));
    cJSON_AddItemToObject(root, "tpm_symmetric_params", params(6, 255, 1, 128, 0, 0, 128, iv));
    cJSON_AddStringToObject(root, "symblob", s_sym ? s_sym : "");
    cJSON_AddStringToObject(root, "asymblob", s_asym ? s_asym : "");
    return cJSON_PrintUnformatted(root);
}

int privacy_ca_payload_json(const uint8_t *privacy_ca_der, size_t der_len, const struct tpm_aik_info *aik,
                            const uint8_t *payload, size_t payload_len, char **ret_json, char **ret_error)
{
    uint8_t key[16], iv[16], *sym = NULL, *asym = NULL;
    size_t sym_len = 0, asym_len = 0;
    const unsigned char *p = privacy_ca_der;
    _cleanup_(X509_freep) X509 *ca = d2i_X509(NULL, &p, (long)der_len);
    EVP_PKEY *pub = ca ? X509_get0_pubkey(ca) : NULL;
    int r = 0;

    if (!pub || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)
        r = fail(ret_error, -EBADMSG,
                 "the Privacy CA certificate (privacy-ca.cer) has no RSA key; download it again "
                 "with `tagent setup download-privacy-ca --force`");
    else if (RAND_bytes(key, sizeof(key)) != 1 || RAND_bytes(iv, sizeof(iv)) != 1)
        r = fail(ret_error, -EIO, "no random bytes for the payload key");
    else if (aes_cbc(true, key, iv, payload, payload_len, &sym, &sym_len) < 0 ||
             oaep_encrypt(pub, key, sizeof(key), &asym, &asym_len) < 0)
        r = fail(ret_error, -EIO, "encrypting the identity payload failed");
    OPENSSL_cleanse(key, sizeof(key));
    if (r == 0 && !(*ret_json = payload_json(aik, iv, sym, sym_len, asym, asym_len)))
        r = fail(ret_error, -ENOMEM, "out of memory");
    /* freed by hand: clang-tidy 14's analyzer does not model _cleanup_ and would report a leak */
    free(sym);
    free(asym);
    return r;
}

/* A base64 field holding a TPM2B: u16 big-endian size (non-zero, at most what follows), then the bytes. */
static int tpm2b_field(const cJSON *root, const char *name, uint8_t **ret, size_t *ret_len, char **ret_error)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, name);
    _cleanup_free_ uint8_t *raw = NULL;
    size_t n = 0;
    if (!cJSON_IsString(f) || config_base64_decode(f->valuestring, &raw, &n) < 0)
        return fail(ret_error, -EBADMSG, "the identity proof has no valid base64 \"%s\"", name);
    size_t size = n >= 2 ? (size_t)(raw[0] << 8 | raw[1]) : 0;
    if (size == 0 || size > n - 2)
        return fail(ret_error, -EBADMSG, "the identity proof's \"%s\" has a bad size prefix", name);
    memmove(raw, raw + 2, size);
    *ret = TAKE_PTR(raw);
    *ret_len = size;
    return 0;
}

int identity_proof_parse(const char *json, size_t len, struct identity_proof *ret, char **ret_error)
{
    memset(ret, 0, sizeof(*ret));
    _cleanup_(cJSON_Deletep) cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *sym = cJSON_GetObjectItemCaseSensitive(root, "symmetric_params");
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(sym, "IV");
    const cJSON *blob = cJSON_GetObjectItemCaseSensitive(root, "symmetric_blob");
    _cleanup_free_ uint8_t *raw = NULL;
    size_t n = 0;
    int r = 0;
    if (!cJSON_IsObject(root))
        r = fail(ret_error, -EBADMSG, "the identity proof is not a JSON object");
    if (r == 0)
        r = tpm2b_field(root, "secret", &ret->secret, &ret->secret_len, ret_error);
    if (r == 0)
        r = tpm2b_field(root, "credential", &ret->credential, &ret->credential_len, ret_error);
    if (r == 0 && (!cJSON_IsString(iv) || config_base64_decode(iv->valuestring, &raw, &n) < 0 || n != 16))
        r = fail(ret_error, -EBADMSG, "the identity proof's symmetric_params.IV is not 16 base64 bytes");
    if (r == 0) /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): raw is set when decode gave 0 */
        memcpy(ret->iv, raw, 16);
    if (r == 0 &&
        (!cJSON_IsString(blob) || config_base64_decode(blob->valuestring, &ret->blob, &ret->blob_len) < 0 ||
         ret->blob_len == 0 || ret->blob_len % 16))
        r = fail(ret_error, -EBADMSG, "the identity proof's symmetric_blob is not AES-CBC ciphertext");
    if (r < 0)
        identity_proof_free(ret);
    return r;
}

void identity_proof_free(struct identity_proof *p)
{
    if (!p)
        return;
    free(p->secret);
    free(p->credential);
    free(p->blob);
    memset(p, 0, sizeof(*p));
}

int privacy_ca_decrypt(const uint8_t key[16], const uint8_t iv[16], const uint8_t *blob, size_t len,
                       uint8_t **ret_plain, size_t *ret_len, char **ret_error)
{
    if (aes_cbc(false, key, iv, blob, len, ret_plain, ret_len) < 0)
        return fail(ret_error, -EBADMSG,
                    "the identity proof does not decrypt with the key the TPM released "
                    "(bad padding): HVS and this TPM disagree on the challenge");
    return 0;
}
