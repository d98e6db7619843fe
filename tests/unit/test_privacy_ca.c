/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The agent's side of the privacy-CA protocol, checked against an independent decryption here: the payload
 * JSON has the Go field names and decrypts (RSA-OAEP-SHA256 of the key, AES-128-CBC of the payload) with the
 * Privacy CA's private key; an identity proof built here parses; bad proofs are refused with a reason. Also
 * the hardware UUID from the corpus's real SMBIOS table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hostinfo.h"
#include "privacy_ca.h"
#include "provision.h"

static EVP_PKEY *ca_key;
static uint8_t *ca_der;
static int ca_der_len;

static int group_setup(void **state)
{
    ca_key = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Test PCA", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, ca_key);
    X509_sign(x, ca_key, EVP_sha256());
    ca_der = NULL;
    ca_der_len = i2d_X509(x, &ca_der);
    X509_free(x);
    return ca_der_len > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    EVP_PKEY_free(ca_key);
    OPENSSL_free(ca_der);
    return 0;
}

static uint8_t *b64d(const char *s, size_t *n)
{
    size_t len = strlen(s);
    uint8_t *out = malloc(len);
    int r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
    assert_true(r >= 0);
    *n = (size_t)r - (len && s[len - 1] == '=') - (len > 1 && s[len - 2] == '=');
    return out;
}

static void test_payload_decrypts_with_the_ca_key(void **state)
{
    struct tpm_aik_info aik = {.name_len = 34};
    for (int i = 0; i < 256; i++)
        aik.modulus[i] = (uint8_t)i;
    aik.name[0] = 0x00;
    aik.name[1] = 0x0b;
    const char payload[] = "the EK certificate bytes";
    char *json = NULL, *error = NULL;
    assert_int_equal(privacy_ca_payload_json(ca_der, (size_t)ca_der_len, &aik, (const uint8_t *)payload,
                                             sizeof(payload), &json, &error),
                     0);
    cJSON *root = cJSON_Parse(json);
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(root, "identity_request");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(req, "tpm_version")->valuestring, "2.0");
    const cJSON *asym = cJSON_GetObjectItemCaseSensitive(root, "tpm_asymmetric_params");
    const cJSON *sym = cJSON_GetObjectItemCaseSensitive(root, "tpm_symmetric_params");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(asym, "TpmAlgEncScheme")->valueint, 11);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(asym, "KeyLength")->valueint, 2048);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sym, "TpmAlgId")->valueint, 6);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sym, "TpmAlgEncScheme")->valueint, 255);
    size_t n;
    uint8_t *mod = b64d(cJSON_GetObjectItemCaseSensitive(req, "aik_modulus")->valuestring, &n);
    assert_int_equal(n, 256);
    assert_memory_equal(mod, aik.modulus, 256);
    free(mod);

    /* HVS's decryption, written independently: OAEP(SHA-256, MGF1-SHA-256, empty label), then AES-128-CBC */
    size_t asym_len, sym_len, iv_len, key_len = 512;
    uint8_t *asymblob = b64d(cJSON_GetObjectItemCaseSensitive(root, "asymblob")->valuestring, &asym_len);
    uint8_t *symblob = b64d(cJSON_GetObjectItemCaseSensitive(root, "symblob")->valuestring, &sym_len);
    uint8_t *iv = b64d(cJSON_GetObjectItemCaseSensitive(sym, "IV")->valuestring, &iv_len);
    uint8_t key[512], plain[256];
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(ca_key, NULL);
    assert_true(EVP_PKEY_decrypt_init(pctx) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) > 0);
    assert_true(EVP_PKEY_decrypt(pctx, key, &key_len, asymblob, asym_len) > 0);
    assert_int_equal(key_len, 16);
    assert_int_equal(iv_len, 16);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int a = 0, b = 0;
    assert_true(EVP_DecryptInit_ex(c, EVP_aes_128_cbc(), NULL, key, iv));
    assert_true(EVP_DecryptUpdate(c, plain, &a, symblob, (int)sym_len));
    assert_true(EVP_DecryptFinal_ex(c, plain + a, &b));
    assert_int_equal(a + b, sizeof(payload));
    assert_memory_equal(plain, payload, sizeof(payload));
    EVP_CIPHER_CTX_free(c);
    EVP_PKEY_CTX_free(pctx);
    free(asymblob);
    free(symblob);
    free(iv);
    cJSON_Delete(root);
    free(json);
}

static char *b64e(const uint8_t *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

static void test_proof_parse_and_decrypt(void **state)
{
    uint8_t k2[16], iv[16], challenge[32], secret[2 + 256] = {0x01, 0x00}, cred[2 + 50] = {0x00, 0x32};
    RAND_bytes(k2, 16);
    RAND_bytes(iv, 16);
    RAND_bytes(challenge, 32);
    uint8_t blob[64];
    int a = 0, b = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, k2, iv);
    EVP_EncryptUpdate(c, blob, &a, challenge, 32);
    EVP_EncryptFinal_ex(c, blob + a, &b);
    EVP_CIPHER_CTX_free(c);
    char *s_secret = b64e(secret, sizeof(secret)), *s_cred = b64e(cred, sizeof(cred)), *s_iv = b64e(iv, 16),
         *s_blob = b64e(blob, (size_t)a + (size_t)b), *json = NULL;
    assert_true(asprintf(&json,
                         "{\"secret\":\"%s\",\"credential\":\"%s\",\"symmetric_params\":{\"TpmAlgId\":6,"
                         "\"TpmAlgEncScheme\":1,\"IV\":\"%s\"},\"symmetric_blob\":\"%s\"}",
                         s_secret, s_cred, s_iv, s_blob) > 0);
    struct identity_proof proof;
    char *error = NULL;
    assert_int_equal(identity_proof_parse(json, strlen(json), &proof, &error), 0);
    assert_int_equal(proof.secret_len, 256);
    assert_int_equal(proof.credential_len, 50);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    assert_int_equal(privacy_ca_decrypt(k2, proof.iv, proof.blob, proof.blob_len, &plain, &plain_len, &error),
                     0);
    assert_int_equal(plain_len, 32);
    assert_memory_equal(plain, challenge, 32);
    free(plain);
    k2[0] ^= 1; /* a wrong key: padding fails (or, rarely, garbage of another length) */
    if (privacy_ca_decrypt(k2, proof.iv, proof.blob, proof.blob_len, &plain, &plain_len, &error) == 0) {
        assert_true(plain_len != 32 || memcmp(plain, challenge, 32) != 0);
        free(plain);
    } else {
        assert_non_null(strstr(error, "bad padding"));
        free(error);
    }
    identity_proof_free(&proof);
    free(json);

    /* malformed proofs */
    static const char *const bad[] = {"[]", "{}", "{\"secret\":\"AAA=\"}",
                                      "{\"secret\":\"AAE=\",\"credential\":\"AAE=\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error = NULL;
        assert_true(identity_proof_parse(bad[i], strlen(bad[i]), &proof, &error) < 0);
        assert_non_null(error);
        free(error);
    }
    free(s_secret);
    free(s_cred);
    free(s_iv);
    free(s_blob);
}

static void test_hardware_uuid_from_real_smbios(void **state)
{
    /* A missing corpus fails the test: skipping would let it pass while checking nothing. */
    const char *corpora = getenv("TAGENT_CORPORA");
    if (!corpora)
        fail_msg(
            "TAGENT_CORPORA is not set: run this test through ctest, which sets it to the shared corpora "
            "(../shared/corpora beside the source tree), or set it to where they are");
    char path[4096];
    snprintf(path, sizeof(path), "%s/isecl/hostinfo/purley/DMI", corpora);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg(
            "%s: %s: this test needs the shared corpora (TAGENT_CORPORA=%s, from ../shared/corpora beside "
            "the source tree); restore them there, or point TAGENT_CORPORA at a copy",
            path, strerror(errno), corpora);
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    char uuid[37];
    assert_int_equal(hostinfo_smbios_uuid(buf, n, uuid), 0);
    /* the value the Go agent reported for this machine (platform-info.json beside the table) */
    assert_string_equal(uuid, "8032632b-8fa4-e811-906e-00163566263e");
    assert_int_equal(hostinfo_smbios_uuid(buf, 10, uuid), -EBADMSG);
    assert_int_equal(hostinfo_smbios_uuid((const uint8_t *)"\x7f\x04\x00\x00\x00\x00", 6, uuid), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_decrypts_with_the_ca_key),
        cmocka_unit_test(test_proof_parse_and_decrypt),
        cmocka_unit_test(test_hardware_uuid_from_real_smbios),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
