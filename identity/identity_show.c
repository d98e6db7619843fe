/* SPDX-License-Identifier: BSD-3-Clause */
/* `tagent identity show`'s facts, gathered once as JSON: the text form is printed from the same object, so
 * the two can never disagree. */
#include "identity.h"

#include "cleanup.h"
#include "cleanup_cjson.h"
#include "cleanup_openssl.h"
#include "config.h"
#include "error.h"
#include "hex.h"
#include "quote.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

static void certs_freep(STACK_OF(X509) * *certs)
{
    identity_certs_free(*certs);
}

static const char *curve_text(uint16_t curve)
{
    return curve == TPM_ECC_P384 ? "ECC P-384" : curve == TPM_ECC_P256 ? "ECC P-256" : "unknown";
}

static int key_json(cJSON *root, const struct tpm_identity_public *pub, const char *tpm_error)
{
    if (!pub)
        return cJSON_AddNullToObject(root, "key") && cJSON_AddStringToObject(root, "tpm_error", tpm_error)
                   ? 0
                   : -ENOMEM;
    cJSON *key = cJSON_AddObjectToObject(root, "key");
    if (!key || !cJSON_AddBoolToObject(key, "present", pub->present))
        return -ENOMEM;
    if (!pub->present)
        return 0;
    uint8_t digest[32];
    char hex[65];
    if (!EVP_Digest(pub->spki, pub->spki_len, digest, NULL, EVP_sha256(), NULL))
        return -EIO;
    hex_encode(digest, sizeof(digest), hex);
    hex[64] = '\0';
    return cJSON_AddStringToObject(key, "algorithm", curve_text(pub->curve)) &&
                   cJSON_AddStringToObject(key, "spki_sha256", hex)
               ? 0
               : -ENOMEM;
}

static cJSON *name_json(cJSON *obj, const char *field, const X509_NAME *name)
{
    _cleanup_free_ char *text = identity_name_text(name);
    return text ? cJSON_AddStringToObject(obj, field, text) : NULL;
}

static cJSON *time_json(cJSON *obj, const char *field, const ASN1_TIME *t)
{
    struct tm tm;
    char text[32] = "invalid";
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return cJSON_AddStringToObject(obj, field, text);
}

static cJSON *serial_json(cJSON *obj, X509 *cert)
{
    _cleanup_(BN_freep) BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    _cleanup_openssl_free_ char *hex = bn ? BN_bn2hex(bn) : NULL;
    return hex ? cJSON_AddStringToObject(obj, "serial", hex) : NULL;
}

/* The SAN as OpenSSL prints it ("URI:urn:uuid:..."), "" without one. */
static cJSON *san_json(cJSON *obj, X509 *cert)
{
    int at = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    if (!bio)
        return NULL;
    if (at >= 0 && X509V3_EXT_print(bio, X509_get_ext(cert, at), 0, 0) != 1)
        (void)BIO_reset(bio);
    ERR_clear_error();
    /* the text NUL-terminated inside the BIO */
    if (BIO_write(bio, "", 1) != 1 || BIO_get_mem_data(bio, &data) <= 0)
        return NULL;
    return cJSON_AddStringToObject(obj, "san", data);
}

static int cert_facts(cJSON *c, X509 *cert)
{
    bool dev = identity_cert_is_development(cert);
    if (!cJSON_AddBoolToObject(c, "development", dev) ||
        (dev && !cJSON_AddStringToObject(c, "label", IDENTITY_DEV_LABEL)) ||
        !name_json(c, "subject", X509_get_subject_name(cert)) ||
        !name_json(c, "issuer", X509_get_issuer_name(cert)) || !serial_json(c, cert) ||
        !time_json(c, "not_before", X509_get0_notBefore(cert)) ||
        !time_json(c, "not_after", X509_get0_notAfter(cert)) || !san_json(c, cert))
        return -ENOMEM;
    return 0;
}

/* key_matches (null when the TPM key is unknown) and status: "valid" or why install would refuse it now. */
static int cert_status(cJSON *c, const char *root, X509 *cert, STACK_OF(X509) * chain,
                       const struct tpm_identity_public *pub, bool *ret_ok)
{
    _cleanup_free_ char *ca_path = config_path(root, IDENTITY_CA_FILE), *error = NULL;
    _cleanup_(certs_freep) STACK_OF(X509) *anchors = NULL;
    const uint8_t *spki = pub && pub->present ? pub->spki : NULL;
    if (!ca_path)
        return -ENOMEM;
    bool known = pub != NULL, matches = spki && identity_cert_key_matches(cert, spki, pub->spki_len);
    if (!(known ? cJSON_AddBoolToObject(c, "key_matches", matches) : cJSON_AddNullToObject(c, "key_matches")))
        return -ENOMEM;
    /* TPM unreadable: the key check is skipped (key_matches null); no key in the TPM: nothing matches */
    const uint8_t *check_spki = !known ? NULL : spki ? spki : (const uint8_t *)"";
    int r = identity_certs_load(ca_path, &anchors, &error);
    if (r == 0)
        r = identity_cert_check(cert, chain, anchors, check_spki, spki ? pub->spki_len : 0, &error);
    *ret_ok = r == 0 && known; /* a key not read is no match */
    return cJSON_AddStringToObject(c, "status",
                                   r == 0  ? "valid"
                                   : error ? error
                                           : "out of memory")
               ? 0
               : -ENOMEM;
}

static int cert_json(cJSON *root_obj, const char *root, const struct tpm_identity_public *pub, bool *ret_ok,
                     char **ret_error)
{
    _cleanup_free_ char *path = config_path(root, IDENTITY_CERT_FILE), *error = NULL;
    _cleanup_(certs_freep) STACK_OF(X509) *certs = NULL;
    if (!path)
        return error_set(ret_error, -ENOMEM, "out of memory");
    int r = identity_certs_load(path, &certs, &error);
    if (r == -ENOENT)
        return cJSON_AddNullToObject(root_obj, "certificate")
                   ? 0
                   : error_set(ret_error, -ENOMEM, "out of memory");
    if (r < 0)
        return error_set(ret_error, r, "%s", error ? error : "out of memory");
    cJSON *c = cJSON_AddObjectToObject(root_obj, "certificate");
    X509 *cert = sk_X509_shift(certs);
    if (!c || !cJSON_AddStringToObject(c, "file", path))
        r = -ENOMEM;
    if (r == 0)
        r = cert_facts(c, cert);
    if (r == 0)
        r = cert_status(c, root, cert, certs, pub, ret_ok);
    X509_free(cert);
    return r < 0 ? error_set(ret_error, r, "describing %s failed (out of memory)", path) : 0;
}

int identity_describe(const char *root, uint32_t handle, const struct tpm_identity_public *pub,
                      const char *tpm_error, cJSON **ret_json, bool *ret_ok, char **ret_error)
{
    _cleanup_(cJSON_Deletep) cJSON *obj = cJSON_CreateObject();
    char handle_text[16];
    snprintf(handle_text, sizeof(handle_text), "0x%08x", handle);
    *ret_ok = false;
    if (!obj || !cJSON_AddStringToObject(obj, "handle", handle_text) ||
        key_json(obj, pub, tpm_error ? tpm_error : "out of memory") < 0)
        return error_set(ret_error, -ENOMEM, "out of memory");
    int r = cert_json(obj, root, pub, ret_ok, ret_error);
    if (r < 0)
        return r;
    *ret_json = TAKE_PTR(obj);
    return 0;
}
