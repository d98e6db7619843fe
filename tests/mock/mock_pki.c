/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mock's PKI, kept in --dir so a restarted mock keeps its CA (an agent that pinned it still trusts it):
 *   ca.pem/.key           CMS Root CA (RSA-3072, SHA-384), served by GET /cms/v1/ca-certificates
 *   tls-ca.pem/.key       CMS TLS CA (EC P-384) under the root: issues the TLS certificates, signs CSRs
 *   tls.pem/.key          the served TLS leaf (127.0.0.1, localhost); READY's tls_sha384 is its digest
 *   tls-decoy.pem/.key    another leaf with the same names, served while wrong-cms-cert is on
 *   privacy-ca.pem/.key   HVS Privacy CA (RSA-3072, self-signed, CN "HVS Privacy Certificate"); .cer = DER
 *   jwt-signing.pem/.key  AAS JWT signing certificate (EC P-384, ES384) under the root
 * If any file is missing, all are made anew.
 */
#include "mock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#define CA_DAYS   3650
#define LEAF_DAYS 365
#define DAY       (24L * 3600)

#define PRIVACY_CA_CN "HVS Privacy Certificate"

struct pki_file {
    const char *name;
    size_t cert_off, key_off; /* offsets of the X509 * and EVP_PKEY * members */
};

#define PKI_FILE(n, c, k)                                                                                    \
    {                                                                                                        \
        n, offsetof(struct mock_pki, c), offsetof(struct mock_pki, k)                                        \
    }
static const struct pki_file pki_files[] = {
    PKI_FILE("ca", root, root_key),
    PKI_FILE("tls-ca", tls_ca, tls_ca_key),
    PKI_FILE("tls", leaf, leaf_key),
    PKI_FILE("tls-decoy", decoy, decoy_key),
    PKI_FILE("privacy-ca", privacy_ca, privacy_key),
    PKI_FILE("jwt-signing", jwt_cert, jwt_key),
};

static X509 **file_cert(struct mock_pki *pki, const struct pki_file *f)
{
    return (X509 **)((char *)pki + f->cert_off);
}

static EVP_PKEY **file_key(struct mock_pki *pki, const struct pki_file *f)
{
    return (EVP_PKEY **)((char *)pki + f->key_off);
}

/* ---- building certificates ---- */

struct cert_spec {
    const char *cn;
    EVP_PKEY *key; /* subject public key */
    X509 *issuer;  /* NULL: self-signed */
    EVP_PKEY *issuer_key;
    long days;
    const EVP_MD *md;
    const char *const *exts; /* "nid=value" pairs as X509V3_EXT_conf_nid takes them: {name, value, ...} */
};

static int add_ext(X509 *cert, X509 *issuer, const char *name, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, OBJ_sn2nid(name), value);
    if (!ext)
        return mock_ssl_fail(name);
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : mock_ssl_fail("X509_add_ext");
}

static int set_random_serial(X509 *cert, int bits)
{
    BIGNUM *serial = BN_new();
    int ok = serial && BN_rand(serial, bits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert));

    BN_free(serial);
    return ok ? 0 : mock_ssl_fail("serial");
}

static int cert_build(const struct cert_spec *spec, X509 **ret_cert)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    int r = -EIO;

    if (!cert || !name)
        goto out;
    if (set_random_serial(cert, 127) < 0)
        goto out;
    if (!X509_set_version(cert, X509_VERSION_3) || !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), spec->days * DAY))
        goto out;
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                    (const unsigned char *)"tagent mock control plane", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)spec->cn, -1, -1, 0))
        goto out;
    if (!X509_set_subject_name(cert, name) ||
        !X509_set_issuer_name(cert, spec->issuer ? X509_get_subject_name(spec->issuer) : name) ||
        !X509_set_pubkey(cert, spec->key))
        goto out;
    for (const char *const *e = spec->exts; e && e[0]; e += 2)
        if (add_ext(cert, spec->issuer, e[0], e[1]) < 0)
            goto out;
    if (X509_sign(cert, spec->issuer_key, spec->md) <= 0)
        goto out;
    *ret_cert = cert;
    cert = NULL;
    r = 0;
out:
    if (r < 0)
        mock_ssl_fail("building a certificate");
    X509_NAME_free(name);
    X509_free(cert);
    return r;
}

static int pki_create(struct mock_pki *pki)
{
    static const char *const ca_exts[] = {"basicConstraints",
                                          "critical,CA:TRUE",
                                          "keyUsage",
                                          "critical,keyCertSign,cRLSign",
                                          "subjectKeyIdentifier",
                                          "hash",
                                          NULL};
    static const char *const sub_ca_exts[] = {"basicConstraints",
                                              "critical,CA:TRUE,pathlen:0",
                                              "keyUsage",
                                              "critical,keyCertSign,cRLSign",
                                              "subjectKeyIdentifier",
                                              "hash",
                                              "authorityKeyIdentifier",
                                              "keyid",
                                              NULL};
    static const char *const tls_exts[] = {"basicConstraints",
                                           "critical,CA:FALSE",
                                           "keyUsage",
                                           "critical,digitalSignature",
                                           "extendedKeyUsage",
                                           "serverAuth",
                                           "subjectAltName",
                                           "IP:127.0.0.1,DNS:localhost",
                                           "subjectKeyIdentifier",
                                           "hash",
                                           "authorityKeyIdentifier",
                                           "keyid",
                                           NULL};
    static const char *const privacy_exts[] = {"basicConstraints",
                                               "critical,CA:TRUE",
                                               "keyUsage",
                                               "critical,digitalSignature,keyCertSign,cRLSign",
                                               "subjectKeyIdentifier",
                                               "hash",
                                               NULL};
    static const char *const jwt_exts[] = {"basicConstraints",
                                           "critical,CA:FALSE",
                                           "keyUsage",
                                           "critical,digitalSignature",
                                           "subjectKeyIdentifier",
                                           "hash",
                                           "authorityKeyIdentifier",
                                           "keyid",
                                           NULL};
    int r = -EIO;

    if (!(pki->root_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072)) ||
        !(pki->tls_ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")) ||
        !(pki->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")) ||
        !(pki->decoy_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")) ||
        !(pki->privacy_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072)) ||
        !(pki->jwt_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")))
        return mock_ssl_fail("key generation");

    /* In issuing order: each issuer (found through where its certificate will be stored) comes first. */
    const struct {
        struct cert_spec spec;
        X509 **issuer; /* NULL: self-signed */
        X509 **out;
    } plan[] = {
        {{"CMS Root CA", pki->root_key, NULL, pki->root_key, CA_DAYS, EVP_sha384(), ca_exts},
         NULL,
         &pki->root},
        {{"CMS TLS CA", pki->tls_ca_key, NULL, pki->root_key, CA_DAYS, EVP_sha384(), sub_ca_exts},
         &pki->root,
         &pki->tls_ca},
        {{"CMS", pki->leaf_key, NULL, pki->tls_ca_key, LEAF_DAYS, EVP_sha384(), tls_exts},
         &pki->tls_ca,
         &pki->leaf},
        {{"CMS", pki->decoy_key, NULL, pki->tls_ca_key, LEAF_DAYS, EVP_sha384(), tls_exts},
         &pki->tls_ca,
         &pki->decoy},
        {{PRIVACY_CA_CN, pki->privacy_key, NULL, pki->privacy_key, CA_DAYS, EVP_sha384(), privacy_exts},
         NULL,
         &pki->privacy_ca},
        {{"AAS JWT Signing Certificate", pki->jwt_key, NULL, pki->root_key, CA_DAYS, EVP_sha384(), jwt_exts},
         &pki->root,
         &pki->jwt_cert},
    };

    for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
        struct cert_spec spec = plan[i].spec;

        spec.issuer = plan[i].issuer ? *plan[i].issuer : NULL;
        r = cert_build(&spec, plan[i].out);
        if (r < 0)
            return r;
    }
    return 0;
}

static int pem_key_text(EVP_PKEY *key, char **ret)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *text = NULL;
    long len;

    if (bio && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1 &&
        (len = BIO_get_mem_data(bio, &data)) > 0 && (text = malloc((size_t)len + 1))) {
        memcpy(text, data, (size_t)len);
        text[len] = '\0';
    }
    BIO_free(bio);
    if (!text)
        return mock_ssl_fail("PEM_write_bio_PrivateKey");
    *ret = text;
    return 0;
}

static int pki_save(struct mock_pki *pki, const char *dir)
{
    int r = 0;

    for (size_t i = 0; r == 0 && i < sizeof(pki_files) / sizeof(pki_files[0]); i++) {
        const struct pki_file *f = &pki_files[i];
        char *path = NULL, *text = NULL;

        r = -ENOMEM;
        if (asprintf(&path, "%s/%s.key", dir, f->name) < 0) {
            path = NULL;
            break;
        }
        r = pem_key_text(*file_key(pki, f), &text);
        if (r == 0)
            r = mock_file_write(path, text, strlen(text), 0600);
        if (text)
            OPENSSL_cleanse(text, strlen(text));
        free(text);
        text = NULL;
        free(path);
        path = NULL;
        if (r == 0 && asprintf(&path, "%s/%s.pem", dir, f->name) < 0)
            r = -ENOMEM;
        if (r == 0 && !(text = mock_x509_pem(*file_cert(pki, f))))
            r = -ENOMEM;
        if (r == 0)
            r = mock_file_write(path, text, strlen(text), 0644);
        free(text);
        free(path);
    }
    if (r == 0) {
        unsigned char *der = NULL;
        char *path = NULL;
        int len = i2d_X509(pki->privacy_ca, &der);

        r = -ENOMEM;
        if (len > 0 && mock_path(dir, "privacy-ca.cer", &path) == 0)
            r = mock_file_write(path, der, (size_t)len, 0644);
        OPENSSL_free(der);
        free(path);
    }
    return r;
}

/* 1: loaded; 0: some file missing; < 0: a file is there but unusable. */
static int pki_load(struct mock_pki *pki, const char *dir)
{
    for (size_t i = 0; i < sizeof(pki_files) / sizeof(pki_files[0]); i++) {
        const struct pki_file *f = &pki_files[i];
        char path[4096];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s.pem", dir, f->name);
        fp = fopen(path, "re");
        if (!fp)
            return 0;
        *file_cert(pki, f) = PEM_read_X509(fp, NULL, NULL, NULL);
        fclose(fp);
        snprintf(path, sizeof(path), "%s/%s.key", dir, f->name);
        fp = fopen(path, "re");
        if (!fp)
            return 0;
        *file_key(pki, f) = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
        fclose(fp);
        if (!*file_cert(pki, f) || !*file_key(pki, f)) {
            fprintf(stderr, "tagent-mock-cp: %s/%s.{pem,key} unusable\n", dir, f->name);
            return mock_ssl_fail("loading the PKI");
        }
    }
    return 1;
}

static void pki_clear_objects(struct mock_pki *pki)
{
    for (size_t i = 0; i < sizeof(pki_files) / sizeof(pki_files[0]); i++) {
        X509_free(*file_cert(pki, &pki_files[i]));
        EVP_PKEY_free(*file_key(pki, &pki_files[i]));
        *file_cert(pki, &pki_files[i]) = NULL;
        *file_key(pki, &pki_files[i]) = NULL;
    }
}

static int cert_digest_hex(X509 *cert, const EVP_MD *md, char *out)
{
    unsigned char der_md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (X509_digest(cert, md, der_md, &len) != 1)
        return mock_ssl_fail("X509_digest");
    mock_hex(der_md, len, out);
    return 0;
}

int mock_pki_load_or_create(struct mock_pki *pki, const char *dir)
{
    int r = pki_load(pki, dir);

    if (r < 0)
        return r;
    if (r == 0) {
        pki_clear_objects(pki);
        r = pki_create(pki);
        if (r == 0)
            r = pki_save(pki, dir);
        if (r < 0)
            return r;
    }
    if (mock_path(dir, "ca.pem", &pki->ca_path) < 0 || !(pki->root_pem = mock_x509_pem(pki->root)) ||
        !(pki->tls_ca_pem = mock_x509_pem(pki->tls_ca)) || !(pki->jwt_pem = mock_x509_pem(pki->jwt_cert)))
        return -ENOMEM;
    if ((r = cert_digest_hex(pki->leaf, EVP_sha384(), pki->leaf_sha384)) < 0 ||
        (r = cert_digest_hex(pki->jwt_cert, EVP_sha1(), pki->jwt_kid)) < 0)
        return r;
    if (EVP_PKEY_get_base_id(pki->privacy_key) != EVP_PKEY_RSA) {
        fprintf(stderr, "tagent-mock-cp: the Privacy CA key must be RSA\n");
        return -EINVAL;
    }
    return 0;
}

void mock_pki_free(struct mock_pki *pki)
{
    pki_clear_objects(pki);
    free(pki->root_pem);
    free(pki->tls_ca_pem);
    free(pki->jwt_pem);
    free(pki->ca_path);
    memset(pki, 0, sizeof(*pki));
}

int mock_pki_tls_pem(const struct mock_pki *pki, bool decoy, char **ret_chain_pem, char **ret_key_pem)
{
    char *leaf = mock_x509_pem(decoy ? pki->decoy : pki->leaf), *chain = NULL, *key = NULL;
    int r = -ENOMEM;

    if (leaf && asprintf(&chain, "%s%s", leaf, pki->tls_ca_pem) < 0)
        chain = NULL;
    free(leaf);
    if (!chain)
        return r;
    r = pem_key_text(decoy ? pki->decoy_key : pki->leaf_key, &key);
    if (r < 0) {
        free(chain);
        return r;
    }
    *ret_chain_pem = chain;
    *ret_key_pem = key;
    return 0;
}

/* ---- CMS: sign a CSR ---- */

static int copy_csr_san(X509 *cert, X509_REQ *csr)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
    int r = 0;

    for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);

        if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_subject_alt_name &&
            !X509_add_ext(cert, ext, -1))
            r = mock_ssl_fail("copying the SAN");
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return r;
}

int mock_pki_sign_csr(const struct mock_pki *pki, X509_REQ *csr, X509 **ret_cert, char *why, size_t why_len)
{
    static const char *const exts[] = {"basicConstraints",
                                       "critical,CA:FALSE",
                                       "keyUsage",
                                       "critical,digitalSignature,keyEncipherment",
                                       "extendedKeyUsage",
                                       "serverAuth,clientAuth",
                                       "subjectKeyIdentifier",
                                       "hash",
                                       "authorityKeyIdentifier",
                                       "keyid",
                                       NULL};
    EVP_PKEY *key = X509_REQ_get0_pubkey(csr);
    X509_NAME *subject = X509_REQ_get_subject_name(csr);
    X509 *cert = NULL;
    char cn[256] = "";
    int r = -EINVAL;

    if (!key || X509_REQ_verify(csr, key) != 1) {
        snprintf(why, why_len, "the CSR's signature does not verify");
        goto out;
    }
    if (X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof(cn)) <= 0 || !cn[0]) {
        snprintf(why, why_len, "the CSR has no common name");
        goto out;
    }
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) < 2048) {
        snprintf(why, why_len, "RSA key of %d bits is too small", EVP_PKEY_get_bits(key));
        goto out;
    }
    r = -EIO;
    snprintf(why, why_len, "signing failed");
    cert = X509_new();
    if (!cert || set_random_serial(cert, 127) < 0 || !X509_set_version(cert, X509_VERSION_3) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), LEAF_DAYS * DAY) ||
        !X509_set_subject_name(cert, subject) ||
        !X509_set_issuer_name(cert, X509_get_subject_name(pki->tls_ca)) || !X509_set_pubkey(cert, key))
        goto out;
    if (copy_csr_san(cert, csr) < 0)
        goto out;
    for (const char *const *e = exts; e[0]; e += 2)
        if (add_ext(cert, pki->tls_ca, e[0], e[1]) < 0)
            goto out;
    if (X509_sign(cert, pki->tls_ca_key, EVP_sha384()) <= 0) {
        mock_ssl_fail("X509_sign");
        goto out;
    }
    *ret_cert = cert;
    cert = NULL;
    r = 0;
out:
    X509_free(cert);
    return r;
}

/* ---- HVS: the AIK certificate ---- */

static int rsa_public_key(const uint8_t *modulus, size_t len, EVP_PKEY **ret_key)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_bin2bn(modulus, (int)len, NULL), *e = BN_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *key = NULL;
    int r = -EIO;

    if (!bld || !n || !e || !ctx || !BN_set_word(e, 65537) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) || !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        mock_ssl_fail("RSA public key from the AIK modulus");
    } else {
        *ret_key = key;
        r = 0;
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

/* Key = modulus with e = 65537; 128-bit random serial; subject CN = the Privacy CA's issuer CN; issuer = the
 * Privacy CA; non-critical 2.5.29.17 whose raw value is the AIK name (not a GeneralNames: HVS's quirk). */
int mock_pki_issue_aik(const struct mock_pki *pki, const uint8_t *modulus, size_t modulus_len,
                       const uint8_t *aik_name, size_t aik_name_len, int validity_years, X509 **ret_cert)
{
    X509 *cert = X509_new();
    X509_NAME *subject = X509_NAME_new();
    ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *oid = OBJ_txt2obj("2.5.29.17", 1);
    X509_EXTENSION *ext = NULL;
    EVP_PKEY *key = NULL;
    char issuer_cn[256] = "";
    int r = -EIO;

    if (!cert || !subject || !value || !oid)
        goto out;
    if (X509_NAME_get_text_by_NID(X509_get_issuer_name(pki->privacy_ca), NID_commonName, issuer_cn,
                                  sizeof(issuer_cn)) <= 0)
        snprintf(issuer_cn, sizeof(issuer_cn), "%s", PRIVACY_CA_CN);
    if ((r = rsa_public_key(modulus, modulus_len, &key)) < 0)
        goto out;
    r = -EIO;
    if (set_random_serial(cert, 128) < 0 || !X509_set_version(cert, X509_VERSION_3) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), (long)validity_years * 365 * DAY) ||
        !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)issuer_cn, -1, -1,
                                    0) ||
        !X509_set_subject_name(cert, subject) ||
        !X509_set_issuer_name(cert, X509_get_subject_name(pki->privacy_ca)) || !X509_set_pubkey(cert, key))
        goto out;
    if (!ASN1_OCTET_STRING_set(value, aik_name, (int)aik_name_len) ||
        !(ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, value)) || !X509_add_ext(cert, ext, -1))
        goto out;
    if (X509_sign(cert, pki->privacy_key, EVP_sha256()) <= 0)
        goto out;
    *ret_cert = cert;
    cert = NULL;
    r = 0;
out:
    if (r == -EIO)
        mock_ssl_fail("issuing the AIK certificate");
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(value);
    X509_NAME_free(subject);
    EVP_PKEY_free(key);
    X509_free(cert);
    return r;
}
