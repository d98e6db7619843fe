/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mock's PKI, kept in --dir so a restarted mock keeps its CA (an agent that pinned it still trusts it):
 *   ca.pem/.key           CMS Root CA (RSA-3072, SHA-384), served by GET /cms/v1/ca-certificates
 *   tls-ca.pem/.key       CMS TLS CA (EC P-384) under the root: issues the TLS certificates, signs CSRs
 *   tls.pem/.key          the served TLS leaf (127.0.0.1, localhost); READY's tls_sha384 is its digest
 *   tls-decoy.pem/.key    another leaf with the same names, served while wrong-cms-cert is on
 *   privacy-ca.pem/.key   HVS Privacy CA as HVS's create-privacy-ca makes it (RSA-3072, self-signed by Go's
 *                         x509.CreateCertificate, CN "HVS Privacy Certificate"); .cer = DER
 *   jwt-signing.pem/.key  AAS JWT signing certificate (EC P-384, ES384) under the root
 * If any file is missing, all are made anew.
 */
#include "mock.h"
#include "go_x509.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- certificates as Go's x509.CreateCertificate writes them (HVS's privacy CA, AIK certificates) ---- */

/* A pkix.Name{CommonName: cn} as Go marshals it: one RDN (none for ""), PrintableString when every character
 * is in its set (Go's encoding/asn1 refuses '*' and '&' there), else UTF8String; bad UTF-8 is an error. */
static int go_name_cn(const char *cn, X509_NAME **ret_name)
{
    X509_NAME *name = X509_NAME_new();
    int type = V_ASN1_PRINTABLESTRING, r = -EIO;

    if (!name)
        return -ENOMEM;
    for (const unsigned char *c = (const unsigned char *)cn; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              (*c >= '\'' && *c <= ')') || (*c >= '+' && *c <= '/') || *c == ' ' || *c == ':' || *c == '=' ||
              *c == '?'))
            type = V_ASN1_UTF8STRING;
    if (type == V_ASN1_UTF8STRING && ASN1_mbstring_ncopy(NULL, (const unsigned char *)cn, (int)strlen(cn),
                                                         MBSTRING_UTF8, B_ASN1_UTF8STRING, 0, 0) < 0) {
        r = -EINVAL; /* asn1: string not valid UTF-8 */
        goto out;
    }
    if (*cn && !X509_NAME_add_entry_by_NID(name, NID_commonName, type, (const unsigned char *)cn, -1, -1, 0))
        goto out;
    *ret_name = name;
    name = NULL;
    r = 0;
out:
    X509_NAME_free(name);
    return r;
}

/* NotBefore = now, NotAfter = now.AddDate(years, 0, 0) (a calendar date: Feb 29 + 1 year is Mar 1), both in
 * whole seconds; ASN1_TIME_set picks UTCTime for 1950-2049, GeneralizedTime otherwise, as Go does. */
static int go_validity(X509 *cert, int years)
{
    time_t now = time(NULL), until;
    struct tm tm;

    if (!gmtime_r(&now, &tm))
        return -EIO;
    tm.tm_year += years;
    until = timegm(&tm);
    return ASN1_TIME_set(X509_getm_notBefore(cert), now) && ASN1_TIME_set(X509_getm_notAfter(cert), until)
               ? 0
               : -EIO;
}

/* HVS's create-privacy-ca (setup.SelfSignedCert, common-name "HVS Privacy Certificate", validity 5 years, no
 * san-list) through Go 1.18's x509.CreateCertificate with the template as its own parent: issuer = subject
 * (the template's Issuer field is ignored), a random 128-bit serial, extensions in Go's order: keyUsage
 * certSign|cRLSign (critical), basicConstraints CA (critical), subjectKeyIdentifier (SHA-1 of the key bits,
 * generated because IsCA), and subjectAltName with one empty dNSName: the empty san-list splits into [""]. */
static int privacy_ca_build(EVP_PKEY *key, X509 **ret_cert)
{
    X509 *cert = X509_new();
    X509_NAME *name = NULL;
    GENERAL_NAMES *san = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *dns = GENERAL_NAME_new();
    ASN1_IA5STRING *empty = ASN1_IA5STRING_new();
    int r = -EIO;

    if (!cert || !san || !dns || !empty || (r = go_name_cn(PRIVACY_CA_CN, &name)) < 0)
        goto out;
    r = -EIO;
    GENERAL_NAME_set0_value(dns, GEN_DNS, empty);
    empty = NULL;
    if (!sk_GENERAL_NAME_push(san, dns))
        goto out;
    dns = NULL;
    if (set_random_serial(cert, 128) < 0 || !X509_set_version(cert, X509_VERSION_3) ||
        go_validity(cert, 5) < 0 || !X509_set_subject_name(cert, name) || !X509_set_issuer_name(cert, name) ||
        !X509_set_pubkey(cert, key) || add_ext(cert, NULL, "keyUsage", "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(cert, NULL, "basicConstraints", "critical,CA:TRUE") < 0 ||
        add_ext(cert, NULL, "subjectKeyIdentifier", "hash") < 0 ||
        X509_add1_ext_i2d(cert, NID_subject_alt_name, san, 0, X509V3_ADD_APPEND) != 1 ||
        X509_sign(cert, key, EVP_sha256()) <= 0)
        goto out;
    *ret_cert = cert;
    cert = NULL;
    r = 0;
out:
    if (r == -EIO)
        mock_ssl_fail("building the Privacy CA");
    ASN1_IA5STRING_free(empty);
    GENERAL_NAME_free(dns);
    GENERAL_NAMES_free(san);
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
    return privacy_ca_build(pki->privacy_key, &pki->privacy_ca);
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
        if (r == 0 && text)
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

/* HVS's CertifyAik (pkg/hvs/controllers/certify_host_aiks_controller.go) through Go 1.18's
 * x509.CreateCertificate(template, parent = the privacy CA as Go parsed it):
 *   key       the AIK modulus with e fixed to 65537
 *   serial    random in [0, 2^128)
 *   subject   CN = the privacy CA certificate's Issuer.CommonName (its last CN; Go's string-type rule)
 *   issuer    the privacy CA's raw subject bytes (Go ignores template.Issuer)
 *   validity  now .. now + validity_years (calendar years), whole seconds
 *   signature SHA256WithRSA: what Go picks for an RSA key
 *   extensions none. HVS puts the AIK name in template.Extensions as 2.5.29.17, which CreateCertificate
 *             ignores (only ExtraExtensions are written). Go adds an authorityKeyIdentifier only when the
 *             issuer bytes differ from the subject bytes and the parent has a subjectKeyIdentifier; with
 *             HVS's own privacy CA (subject = issuer = CN "HVS Privacy Certificate") they are equal, and
 *             a non-CA template gets no subjectKeyIdentifier. */
int mock_pki_issue_aik(const struct mock_pki *pki, const uint8_t *modulus, size_t modulus_len,
                       const uint8_t *aik_name, size_t aik_name_len, int validity_years, X509 **ret_cert)
{
    X509 *cert = X509_new();
    X509_NAME *subject = NULL, *issuer = NULL;
    unsigned char *ca_der = NULL, *subject_der = NULL;
    const unsigned char *p;
    AUTHORITY_KEYID *akid = NULL;
    EVP_PKEY *key = NULL;
    struct go_x509_cert ca;
    char err[256];
    int ca_len, subject_len, r = -EIO;

    (void)aik_name; /* the certificate does not carry it, see above */
    (void)aik_name_len;
    if (!cert || (ca_len = i2d_X509(pki->privacy_ca, &ca_der)) <= 0)
        goto out;
    if (go_x509_parse(ca_der, (size_t)ca_len, GO_X509_HVS, &ca, err, sizeof(err)) < 0) {
        fprintf(stderr, "tagent-mock-cp: HVS could not load this Privacy CA: %s\n", err);
        r = -EINVAL;
        goto out;
    }
    if ((r = go_name_cn(ca.issuer_cn, &subject)) < 0 || (r = rsa_public_key(modulus, modulus_len, &key)) < 0)
        goto out;
    r = -EIO;
    p = ca.raw_subject;
    if (!(issuer = d2i_X509_NAME(NULL, &p, (long)ca.raw_subject_len)) ||
        (subject_len = i2d_X509_NAME(subject, &subject_der)) <= 0)
        goto out;
    if (set_random_serial(cert, 128) < 0 || !X509_set_version(cert, X509_VERSION_3) ||
        go_validity(cert, validity_years) < 0 || !X509_set_subject_name(cert, subject) ||
        !X509_set_issuer_name(cert, issuer) || !X509_set_pubkey(cert, key))
        goto out;
    if (ca.subject_key_id && ((size_t)subject_len != ca.raw_subject_len ||
                              memcmp(subject_der, ca.raw_subject, ca.raw_subject_len) != 0)) {
        if (!(akid = AUTHORITY_KEYID_new()) || !(akid->keyid = ASN1_OCTET_STRING_new()) ||
            !ASN1_OCTET_STRING_set(akid->keyid, ca.subject_key_id, (int)ca.subject_key_id_len) ||
            X509_add1_ext_i2d(cert, NID_authority_key_identifier, akid, 0, X509V3_ADD_APPEND) != 1)
            goto out;
    }
    if (X509_sign(cert, pki->privacy_key, EVP_sha256()) <= 0)
        goto out;
    *ret_cert = cert;
    cert = NULL;
    r = 0;
out:
    if (r == -EIO)
        mock_ssl_fail("issuing the AIK certificate");
    AUTHORITY_KEYID_free(akid);
    OPENSSL_free(subject_der);
    OPENSSL_free(ca_der);
    X509_NAME_free(subject);
    X509_NAME_free(issuer);
    EVP_PKEY_free(key);
    X509_free(cert);
    return r;
}
