/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tests/mock/go_x509.c, the Go x509.ParseCertificate verdict tagent-hvs applies to AIK certificates, and the
 * mock privacy CA (tests/mock/mock_pki.c) that issues them:
 * - the AIK certificate the mock used to issue (the raw TPM name as a subjectAltName) is refused with Go's
 *   "x509: invalid subject alternative names", though OpenSSL reads it;
 * - an AIK certificate the mock issues now parses and carries exactly what HVS's CertifyAik writes through
 *   Go's x509.CreateCertificate (no extensions, CN rules, 128-bit serial, validity, SHA256WithRSA), and the
 *   Go rule for an authorityKeyIdentifier holds with a privacy CA whose subject differs;
 * - other encodings Go refuses are refused with Go's words, and what Go lets through passes (its 1.18 and
 *   1.19 difference on repeated extensions included).
 * The verdicts and texts were compared with Go 1.19's crypto/x509 on generated certificates while this was
 * written; these cases pin them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "go_x509.h"
#include "mock.h"

/* ---- a small DER writer for certificates Go should judge ---- */

struct buf {
    uint8_t p[8192];
    size_t n;
};

static void put(struct buf *b, const void *data, size_t n)
{
    assert_true(b->n + n <= sizeof(b->p));
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_hex(struct buf *b, const char *hex)
{
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        uint8_t byte = (uint8_t)v;
        put(b, &byte, 1);
    }
}

static void put_tlv(struct buf *b, uint8_t tag, const struct buf *content)
{
    uint8_t hdr[4] = {tag};
    size_t h = 2;

    if (content->n < 128) {
        hdr[1] = (uint8_t)content->n;
    } else if (content->n < 256) {
        hdr[1] = 0x81;
        hdr[2] = (uint8_t)content->n;
        h = 3;
    } else {
        hdr[1] = 0x82;
        hdr[2] = (uint8_t)(content->n >> 8);
        hdr[3] = (uint8_t)content->n;
        h = 4;
    }
    put(b, hdr, h);
    put(b, content->p, content->n);
}

struct cert_spec {
    const char *exts;       /* hex of the extensions' contents (a list of Extension SEQUENCEs); NULL: none */
    const char *not_before; /* UTCTime text; NULL: 240101000000Z */
    bool rsa_params_absent; /* rsaEncryption without its NULL */
    bool outer_sig_differs; /* outer signatureAlgorithm SHA384WithRSA, inner SHA256WithRSA */
    bool trailing_byte;     /* one byte after the certificate */
};

#define SHA256_RSA "300d06092a864886f70d01010b0500"
#define SHA384_RSA "300d06092a864886f70d01010c0500"
#define NAME_HVS                                                                                             \
    "3022312030"                                                                                             \
    "1e0603550403"                                                                                           \
    "1317"                                                                                                   \
    "48565320507269766163792043657274696669636174"                                                           \
    "65"

static size_t build_cert(const struct cert_spec *s, uint8_t *out, size_t cap)
{
    struct buf tbs = {0}, cert = {0}, tmp = {0}, key = {0}, spki = {0}, outer = {0};

    put_hex(&tbs, "a003020102");                             /* v3 */
    put_hex(&tbs, "021100c1a2b3c4d5e6f708192a3b4c5d6e7f80"); /* 128-bit serial */
    put_hex(&tbs, SHA256_RSA);
    put_hex(&tbs, NAME_HVS);
    memset(&tmp, 0, sizeof(tmp));
    put_hex(&tmp, "170d");
    put(&tmp, s->not_before ? s->not_before : "240101000000Z", 13);
    put_hex(&tmp, "170d");
    put(&tmp, "340101000000Z", 13);
    put_tlv(&tbs, 0x30, &tmp);
    put_hex(&tbs, NAME_HVS);
    /* RSA-2048 public key: modulus 0xc5 0x5a..., e = 65537 */
    memset(&tmp, 0, sizeof(tmp));
    put_hex(&tmp, "0282010100c5");
    for (int i = 0; i < 255; i++)
        put_hex(&tmp, "5a");
    put_hex(&tmp, "0203010001");
    put_tlv(&key, 0x30, &tmp);
    memset(&tmp, 0, sizeof(tmp));
    put_hex(&tmp, "00");
    put(&tmp, key.p, key.n);
    memset(&key, 0, sizeof(key));
    put_hex(&key, s->rsa_params_absent ? "300b06092a864886f70d010101" : "300d06092a864886f70d0101010500");
    put_tlv(&key, 0x03, &tmp);
    put_tlv(&spki, 0x30, &key);
    put(&tbs, spki.p, spki.n);
    if (s->exts) {
        memset(&tmp, 0, sizeof(tmp));
        put_hex(&tmp, s->exts);
        memset(&key, 0, sizeof(key));
        put_tlv(&key, 0x30, &tmp);
        put_tlv(&tbs, 0xa3, &key);
    }
    put_tlv(&outer, 0x30, &tbs);
    put_hex(&outer, s->outer_sig_differs ? SHA384_RSA : SHA256_RSA);
    put_hex(&outer, "0382010100");
    for (int i = 0; i < 256; i++)
        put_hex(&outer, "00"); /* the parser does not check signatures */
    put_tlv(&cert, 0x30, &outer);
    if (s->trailing_byte)
        put_hex(&cert, "00");
    assert_true(cert.n <= cap);
    memcpy(out, cert.p, cert.n);
    return cert.n;
}

/* One Extension: OID (hex of its DER), critical (-1: field absent), value (hex of the OCTET STRING's
 * contents). */
static const char *ext_hex(const char *oid, int critical, const char *value, char *out, size_t cap)
{
    struct buf e = {0}, v = {0}, seq = {0};

    put_hex(&e, oid);
    if (critical >= 0)
        put_hex(&e, critical ? "0101ff" : "010100");
    put_hex(&v, value);
    put_tlv(&e, 0x04, &v);
    put_tlv(&seq, 0x30, &e);
    assert_true(2 * seq.n < cap);
    for (size_t i = 0; i < seq.n; i++)
        sprintf(out + 2 * i, "%02x", seq.p[i]);
    return out;
}

#define OID_SAN   "0603551d11"
#define OID_KU    "0603551d0f"
#define OID_BC    "0603551d13"
#define OID_EKU   "0603551d25"
#define OID_AKID  "0603551d23"
#define OID_SKID  "0603551d0e"
#define OID_NC    "0603551d1e"
#define OID_POL   "0603551d20"
#define OID_CRLDP "0603551d1f"
#define OID_OTHER "06032a0304"

static int parse_ext(const char *oid, int critical, const char *value, int go_minor, struct go_x509_cert *c,
                     char *err)
{
    char ext[2048];
    uint8_t der[4096];
    struct cert_spec s = {.exts = ext_hex(oid, critical, value, ext, sizeof(ext))};
    size_t n = build_cert(&s, der, sizeof(der));

    return go_x509_parse(der, n, go_minor, c, err, 256);
}

static char *pem_of(const uint8_t *der, size_t n)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *text;
    long len;

    assert_true(PEM_write_bio(bio, "CERTIFICATE", "", der, (long)n) > 0);
    len = BIO_get_mem_data(bio, &data);
    text = calloc(1, (size_t)len + 1);
    memcpy(text, data, (size_t)len);
    BIO_free(bio);
    return text;
}

/* ---- the AIK certificate the mock used to issue ---- */

static void test_raw_tpm_name_as_san_is_refused(void **state)
{
    char name_hex[2 * 34 + 1] = "000b", err[256], why[256];
    struct go_x509_cert c;
    uint8_t der[4096];
    char ext[512];

    for (int i = 0; i < 32; i++)
        sprintf(name_hex + 4 + 2 * i, "%02x", (unsigned)(0x40 + i));
    struct cert_spec s = {.exts = ext_hex(OID_SAN, -1, name_hex, ext, sizeof(ext))};
    size_t n = build_cert(&s, der, sizeof(der));

    /* OpenSSL reads it (it decodes extension values only when asked)... */
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)n);
    assert_non_null(x);
    X509_free(x);
    /* ...Go does not, in any version, and so neither HVS nor the Go agent takes it. */
    assert_int_equal(go_x509_parse(der, n, 18, &c, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "x509: invalid subject alternative names");
    assert_int_equal(go_x509_parse(der, n, 19, &c, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "x509: invalid subject alternative names");
    char *pem = pem_of(der, n);
    x = NULL;
    assert_int_equal(go_x509_hvs_aik((const uint8_t *)pem, strlen(pem), &x, why, sizeof(why)), -EBADMSG);
    assert_null(x);
    assert_string_equal(why, "x509.ParseCertificate: x509: invalid subject alternative names");
    free(pem);

    /* The same certificate without the extension is fine. */
    s.exts = NULL;
    n = build_cert(&s, der, sizeof(der));
    assert_int_equal(go_x509_parse(der, n, GO_X509_HVS, &c, err, sizeof(err)), 0);
    assert_int_equal(c.n_extensions, 0);
    assert_string_equal(c.subject_cn, "HVS Privacy Certificate");
}

/* ---- what the mock issues now ---- */

static struct mock_pki pki;
static char pki_dir[] = "/tmp/tagent-test-go-x509-XXXXXX";

static int group_setup(void **state)
{
    if (!mkdtemp(pki_dir))
        return -1;
    return mock_pki_load_or_create(&pki, pki_dir);
}

static int group_teardown(void **state)
{
    static const char *const files[] = {"ca",         "tls-ca",      "tls", "tls-decoy",
                                        "privacy-ca", "jwt-signing", NULL};
    char path[512];

    mock_pki_free(&pki);
    for (const char *const *f = files; *f; f++)
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof(path), "%s/%s.%s", pki_dir, *f, k ? "key" : "pem");
            unlink(path);
        }
    snprintf(path, sizeof(path), "%s/privacy-ca.cer", pki_dir);
    unlink(path);
    rmdir(pki_dir);
    return 0;
}

static uint8_t *der_of(X509 *x, size_t *ret_len)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);

    assert_true(n > 0);
    *ret_len = (size_t)n;
    return der;
}

static void test_privacy_ca_is_hvs_like(void **state)
{
    struct go_x509_cert ca;
    char err[256];
    size_t n;
    uint8_t *der = der_of(pki.privacy_ca, &n);

    assert_int_equal(go_x509_parse(der, n, GO_X509_HVS, &ca, err, sizeof(err)), 0);
    assert_string_equal(ca.subject_cn, "HVS Privacy Certificate");
    assert_string_equal(ca.issuer_cn, "HVS Privacy Certificate");
    assert_int_equal(ca.raw_subject_len, ca.raw_issuer_len);
    assert_memory_equal(ca.raw_subject, ca.raw_issuer, ca.raw_issuer_len);
    /* CN only, as a PrintableString (tag 0x13): what Go's asn1.Marshal writes for a plain string */
    assert_int_equal(ca.raw_subject_len, 36);
    assert_int_equal(ca.raw_subject[11], 0x13);
    assert_int_equal(ca.n_extensions, 4);
    assert_true(ca.basic_constraints_valid && ca.is_ca && ca.max_path_len == -1);
    assert_int_equal(ca.key_usage, (1u << 5) | (1u << 6)); /* certSign | cRLSign */
    assert_int_equal(ca.subject_key_id_len, 20);
    assert_null(ca.authority_key_id);
    assert_int_equal(ca.n_dns_names, 1); /* the empty one from the empty san-list */
    assert_string_equal(ca.sig_oid, "1.2.840.113549.1.1.11");
    OPENSSL_free(der);
}

static void random_modulus(uint8_t modulus[256])
{
    assert_int_equal(RAND_bytes(modulus, 256), 1);
    modulus[0] |= 0x80;
    modulus[255] |= 1;
}

static void test_mock_aik_is_what_certify_aik_writes(void **state)
{
    static const uint8_t name[34] = {0x00, 0x0b, 1, 2, 3};
    uint8_t modulus[256];
    struct go_x509_cert ca, aik;
    char err[256];
    size_t ca_len, n;
    uint8_t *ca_der = der_of(pki.privacy_ca, &ca_len);
    int max_serial_bits = 0;

    assert_int_equal(go_x509_parse(ca_der, ca_len, GO_X509_HVS, &ca, err, sizeof(err)), 0);
    for (int round = 0; round < 8; round++) {
        X509 *x = NULL;
        time_t before = time(NULL);

        random_modulus(modulus);
        assert_int_equal(mock_pki_issue_aik(&pki, modulus, sizeof(modulus), name, sizeof(name), 5, &x), 0);
        time_t after = time(NULL);
        uint8_t *der = der_of(x, &n);
        if (go_x509_parse(der, n, GO_X509_HVS, &aik, err, sizeof(err)) < 0)
            fail_msg("Go would refuse the mock's AIK certificate: %s", err);
        assert_int_equal(go_x509_parse(der, n, 19, NULL, err, sizeof(err)), 0);

        /* v3, no extensions field at all */
        assert_int_equal(aik.version, 3);
        assert_int_equal(aik.n_extensions, 0);
        assert_int_equal(X509_get_ext_count(x), 0);
        /* subject CN = issuer CN = the privacy CA's issuer CN; issuer bytes = the privacy CA's subject bytes
         */
        assert_string_equal(aik.subject_cn, ca.issuer_cn);
        assert_string_equal(aik.issuer_cn, ca.issuer_cn);
        assert_int_equal(aik.raw_issuer_len, ca.raw_subject_len);
        assert_memory_equal(aik.raw_issuer, ca.raw_subject, ca.raw_subject_len);
        assert_int_equal(aik.raw_subject_len, aik.raw_issuer_len);
        assert_memory_equal(aik.raw_subject, aik.raw_issuer, aik.raw_issuer_len);
        /* the AIK's key with e = 65537 */
        assert_int_equal(aik.pubkey_algo, GO_PUBKEY_RSA);
        assert_int_equal(aik.rsa_n_len, 257);
        assert_memory_equal(aik.rsa_n + 1, modulus, 256);
        assert_int_equal(aik.rsa_e, 65537);
        /* serial in [0, 2^128) */
        assert_true(aik.serial_len >= 1 && aik.serial_len <= 17);
        assert_true(aik.serial[0] < 0x80);
        assert_true(aik.serial_len < 17 || aik.serial[0] == 0);
        BIGNUM *sn = BN_bin2bn(aik.serial, (int)aik.serial_len, NULL);
        if (BN_num_bits(sn) > max_serial_bits)
            max_serial_bits = BN_num_bits(sn);
        BN_free(sn);
        /* NotBefore = now, NotAfter = now + 5 calendar years */
        assert_true(aik.not_before >= before && aik.not_before <= after);
        struct tm tm;
        time_t nb = (time_t)aik.not_before;
        gmtime_r(&nb, &tm);
        tm.tm_year += 5;
        assert_int_equal(aik.not_after, (int64_t)timegm(&tm));
        /* SHA256WithRSA by the privacy CA */
        assert_string_equal(aik.sig_oid, "1.2.840.113549.1.1.11");
        assert_int_equal(X509_verify(x, pki.privacy_key), 1);
        OPENSSL_free(der);
        X509_free(x);
    }
    assert_true(max_serial_bits > 120); /* 128 random bits: eight draws all below 2^121 is a 2^-56 event */
    OPENSSL_free(ca_der);
}

/* With a privacy CA whose subject bytes differ from the AIK subject Go writes (here O + CN), Go adds an
 * authorityKeyIdentifier with the privacy CA's subjectKeyIdentifier, and the issuer keeps both RDNs. */
static void test_akid_when_issuer_and_subject_differ(void **state)
{
    X509 *other = X509_new(), *x = NULL, *saved = pki.privacy_ca;
    X509_NAME *nm = X509_NAME_new();
    X509V3_CTX ctx;
    uint8_t modulus[256];
    static const uint8_t name[34] = {0x00, 0x0b};
    struct go_x509_cert ca, aik;
    char err[256];
    size_t n, ca_len;

    assert_int_equal(
        X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"Org", -1, -1, 0), 1);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"PCA", -1, -1, 0), 1);
    assert_int_equal(X509_set_version(other, X509_VERSION_3), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(other), 7);
    X509_gmtime_adj(X509_getm_notBefore(other), 0);
    X509_gmtime_adj(X509_getm_notAfter(other), 3600);
    X509_set_subject_name(other, nm);
    X509_set_issuer_name(other, nm);
    X509_set_pubkey(other, pki.privacy_key);
    X509V3_set_ctx(&ctx, other, other, NULL, NULL, 0);
    X509_EXTENSION *skid = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
    assert_non_null(skid);
    X509_add_ext(other, skid, -1);
    X509_EXTENSION_free(skid);
    assert_true(X509_sign(other, pki.privacy_key, EVP_sha256()) > 0);

    pki.privacy_ca = other;
    random_modulus(modulus);
    assert_int_equal(mock_pki_issue_aik(&pki, modulus, sizeof(modulus), name, sizeof(name), 1, &x), 0);
    pki.privacy_ca = saved;
    uint8_t *der = der_of(x, &n), *ca_der = der_of(other, &ca_len);
    assert_int_equal(go_x509_parse(ca_der, ca_len, GO_X509_HVS, &ca, err, sizeof(err)), 0);
    assert_int_equal(go_x509_parse(der, n, GO_X509_HVS, &aik, err, sizeof(err)), 0);
    assert_int_equal(aik.n_extensions, 1);
    assert_non_null(aik.authority_key_id);
    assert_int_equal(aik.authority_key_id_len, ca.subject_key_id_len);
    assert_memory_equal(aik.authority_key_id, ca.subject_key_id, ca.subject_key_id_len);
    assert_string_equal(aik.subject_cn, "PCA");
    assert_int_equal(aik.raw_issuer_len, ca.raw_subject_len);
    assert_memory_equal(aik.raw_issuer, ca.raw_subject, ca.raw_subject_len);
    OPENSSL_free(der);
    OPENSSL_free(ca_der);
    X509_free(x);
    X509_free(other);
    X509_NAME_free(nm);
}

/* ---- other encodings ---- */

static void test_go_refuses_these(void **state)
{
    static const struct {
        const char *oid;
        int critical;
        const char *value;
        const char *err;
    } cases[] = {
        {OID_KU, 1, "03020107", "x509: invalid key usage"},                     /* a padding bit set */
        {OID_KU, 1, "0400", "x509: invalid key usage"},                         /* not a BIT STRING */
        {OID_BC, 1, "3003010101", "x509: invalid basic constraints b"},         /* BOOLEAN 0x01 is not DER */
        {OID_BC, 1, "020101", "x509: invalid basic constraints a"},             /* not a SEQUENCE */
        {OID_BC, 1, "30070101ff02020001", "x509: invalid basic constraints c"}, /* pathLen not minimal */
        {OID_SAN, -1, "3003820180", "x509: SAN dNSName is malformed"},          /* not IA5 */
        {OID_SAN, -1, "3007870501020304ff", "x509: cannot parse IP address of length 5"},
        {OID_SAN, -1, "300e860c687474703a2f2f6825 7a7a2f", NULL},             /* filled in below */
        {OID_SAN, -1, "3180", "x509: invalid subject alternative names"},     /* a SET */
        {OID_SAN, -1, "30038201", "x509: invalid subject alternative names"}, /* truncated */
        {OID_EKU, -1, "3003020101", "x509: invalid extended key usages"},
        {OID_AKID, -1, "040100", "x509: invalid authority key identifier"},
        {OID_SKID, -1, "020101", "x509: invalid subject key identifier"},
        {OID_NC, 1, "3000", "x509: empty name constraints extension"},
        {OID_NC, 1, "3006a004300282 00 00", "x509: invalid NameConstraints extension"}, /* bytes after it */
        {OID_POL, -1, "3003060129", "x509: invalid certificate policies"},
        {OID_CRLDP, -1, "30063004a002a100",
         "x509: invalid CRL distribution point"}, /* nameRelativeToCRLIssuer */
    };
    char err[256], value[128];
    struct go_x509_cert c;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t k = 0;
        for (const char *v = cases[i].value; *v; v++)
            if (*v != ' ')
                value[k++] = *v;
        value[k] = '\0';
        const char *want =
            cases[i].err ? cases[i].err
                         : "x509: cannot parse URI \"http://h%zz/\": parse \"http://h%zz/\": invalid URL "
                           "escape \"%zz\"";
        assert_int_equal(parse_ext(cases[i].oid, cases[i].critical, value, GO_X509_HVS, &c, err), -EBADMSG);
        if (strcmp(err, want) != 0)
            fail_msg("case %zu: \"%s\", want \"%s\"", i, err, want);
    }

    /* The structure around the extensions. */
    static const struct {
        struct cert_spec spec;
        const char *err;
    } outer[] = {
        {{.exts = "300b06032a0304010101040100"}, "x509: malformed extension critical field"}, /* TRUE as 01 */
        {{.not_before = "2401010000+00"}, "x509: malformed UTCTime"}, /* a zone Go cannot read */
        {{.rsa_params_absent = true}, "x509: RSA key missing NULL parameters"},
        {{.outer_sig_differs = true}, "x509: inner and outer signature algorithm identifiers don't match"},
        {{.trailing_byte = true}, "x509: trailing data"},
    };
    for (size_t i = 0; i < sizeof(outer) / sizeof(outer[0]); i++) {
        uint8_t der[4096];
        size_t n = build_cert(&outer[i].spec, der, sizeof(der));
        assert_int_equal(go_x509_parse(der, n, GO_X509_HVS, &c, err, sizeof(err)), -EBADMSG);
        if (strcmp(err, outer[i].err) != 0)
            fail_msg("outer case %zu: \"%s\", want \"%s\"", i, err, outer[i].err);
    }
}

static void test_go_accepts_these(void **state)
{
    char err[256], exts[1024], a[256], b[256];
    struct go_x509_cert c;
    uint8_t der[4096];

    /* A SAN with bytes after its SEQUENCE, an element of any tag inside it, an explicit critical FALSE: Go
     * reads none of that as an error (so neither may this). */
    assert_int_equal(parse_ext(OID_SAN, 0,
                               "300482026869"
                               "0000",
                               GO_X509_HVS, &c, err),
                     0);
    assert_int_equal(c.n_dns_names, 1);
    assert_int_equal(parse_ext(OID_SAN, -1, "3006820168020100", GO_X509_HVS, &c, err), 0);

    /* A repeated extension: Go 1.18 (HVS v5.1) takes it, Go 1.19 and later refuse it. */
    snprintf(exts, sizeof(exts), "%s%s", ext_hex(OID_SAN, -1, "3003820161", a, sizeof(a)),
             ext_hex(OID_SAN, -1, "3003820162", b, sizeof(b)));
    struct cert_spec s = {.exts = exts};
    size_t n = build_cert(&s, der, sizeof(der));
    if (go_x509_parse(der, n, 18, &c, err, sizeof(err)) < 0)
        fail_msg("Go 1.18 refused a repeated extension: %s", err);
    assert_int_equal(c.n_extensions, 2);
    assert_int_equal(go_x509_parse(der, n, 19, &c, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "x509: certificate contains duplicate extensions");

    /* Unknown critical extensions parse (Go lists them); HVS's x509.Verify then refuses the AIK. A critical
     * SAN with only an otherName counts as unhandled too; a critical basicConstraints does not. */
    assert_int_equal(parse_ext(OID_OTHER, 1, "0500", GO_X509_HVS, &c, err), 0);
    assert_int_equal(c.n_unhandled_critical, 1);
    assert_string_equal(c.first_unhandled_critical, "1.2.3.4");
    assert_int_equal(parse_ext(OID_SAN, 1, "3007a00506032a0304", GO_X509_HVS, &c, err), 0);
    assert_int_equal(c.n_unhandled_critical, 1);
    assert_int_equal(parse_ext(OID_BC, 1, "3003010100", GO_X509_HVS, &c, err), 0);
    assert_int_equal(c.n_unhandled_critical, 0);
    assert_int_equal(parse_ext(OID_OTHER, 0, "0500", GO_X509_HVS, &c, err), 0);
    assert_int_equal(c.n_unhandled_critical, 0);

    struct cert_spec crit = {.exts = ext_hex(OID_OTHER, 1, "0500", a, sizeof(a))};
    n = build_cert(&crit, der, sizeof(der));
    char *pem = pem_of(der, n), why[256];
    X509 *x = NULL;
    assert_int_equal(go_x509_hvs_aik((const uint8_t *)pem, strlen(pem), &x, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "x509: unhandled critical extension"));
    free(pem);

    /* And a plain one goes through HVS's reading whole, with OpenSSL's view for the signature check. */
    s.exts = NULL;
    n = build_cert(&s, der, sizeof(der));
    pem = pem_of(der, n);
    assert_int_equal(go_x509_hvs_aik((const uint8_t *)pem, strlen(pem), &x, why, sizeof(why)), 0);
    assert_non_null(x);
    X509_free(x);
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_tpm_name_as_san_is_refused),
        cmocka_unit_test(test_privacy_ca_is_hvs_like),
        cmocka_unit_test(test_mock_aik_is_what_certify_aik_writes),
        cmocka_unit_test(test_akid_when_issuer_and_subject_differ),
        cmocka_unit_test(test_go_refuses_these),
        cmocka_unit_test(test_go_accepts_these),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
