/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * agent/auth/: Bearer JWT checking for HTTP mode. A test CA issues an RSA 3072 and an EC P-384 signing
 * certificate (AAS's two kinds); tokens are made here with OpenSSL, signed as AAS signs them. Every refusal
 * must be 401 (the Go agent's status, also for missing permissions), with a reason naming the problem and
 * never any part of the token.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "jwt.h"
#include "signing_certs.h"
#include "token_auth.h"

/* ---- a PKI made for the run ---- */

struct signer {
    EVP_PKEY *key;
    X509 *cert;
    char kid[JWT_KID_LEN + 1];
};

static struct {
    char root[64];
    EVP_PKEY *ca_key, *rogue_ca_key;
    X509 *ca, *rogue_ca;
    struct signer rsa, ec, rogue, expired, p256;
} pki;

/* One certificate; issuer NULL makes it a self-signed CA. days_from/days_to: validity around now. */
static X509 *issue(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long days_from,
                   long days_to)
{
    X509 *x = X509_new();
    X509_NAME *subject = X509_get_subject_name(x);
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() & 0xffffff) + 1), 1);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
    assert_int_equal(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), days_from * 86400));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), days_to * 86400));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    const char *const exts[][2] = {
        {"basicConstraints", issuer ? "critical,CA:FALSE" : "critical,CA:TRUE"},
        {"keyUsage", issuer ? "critical,digitalSignature,nonRepudiation" : "critical,keyCertSign,cRLSign"},
        {"subjectKeyIdentifier", "hash"},
        {"authorityKeyIdentifier", "keyid:always"},
    };
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, exts[i][0], exts[i][1]);
        assert_non_null(e);
        assert_int_equal(X509_add_ext(x, e, -1), 1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha384()) > 0);
    return x;
}

static void kid_of(X509 *x, char kid[static JWT_KID_LEN + 1])
{
    unsigned char md[20];
    unsigned n = 0;
    assert_int_equal(X509_digest(x, EVP_sha1(), md, &n), 1);
    for (unsigned i = 0; i < n; i++)
        sprintf(kid + 2 * i, "%02x", md[i]);
}

static void write_pem(const char *dir_abs, const char *name, X509 *const *certs, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s/%s", pki.root, dir_abs, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(PEM_write_X509(f, certs[i]), 1);
    assert_int_equal(fclose(f), 0);
}

static void signer_make(struct signer *s, const char *cn, EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, long to)
{
    s->key = key;
    assert_non_null(s->key);
    s->cert = issue(cn, s->key, ca, ca_key, -1, to);
    kid_of(s->cert, s->kid);
}

static void mkdirs(const char *abs)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s", pki.root, abs);
    assert_int_equal(config_mkdir_p(path, 0755), 0);
}

static int group_setup(void **state)
{
    (void)state;
    srandom((unsigned)time(NULL));
    snprintf(pki.root, sizeof(pki.root), "/tmp/test_token_auth.XXXXXX");
    assert_non_null(mkdtemp(pki.root));
    mkdirs(TAGENT_CACERTS_DIR);
    mkdirs(TAGENT_JWT_DIR);
    pki.ca_key = EVP_EC_gen("P-384");
    pki.rogue_ca_key = EVP_EC_gen("P-384");
    pki.ca = issue("Test Root CA", pki.ca_key, NULL, NULL, -1, 3650);
    pki.rogue_ca = issue("Rogue CA", pki.rogue_ca_key, NULL, NULL, -1, 3650);
    signer_make(&pki.rsa, "AAS JWT Signing (RSA)", EVP_RSA_gen(3072), pki.ca, pki.ca_key, 365);
    signer_make(&pki.ec, "AAS JWT Signing (EC)", EVP_EC_gen("P-384"), pki.ca, pki.ca_key, 365);
    signer_make(&pki.rogue, "AAS JWT Signing (rogue)", EVP_EC_gen("P-384"), pki.rogue_ca, pki.rogue_ca_key,
                365);
    signer_make(&pki.expired, "AAS JWT Signing (expired)", EVP_EC_gen("P-384"), pki.ca, pki.ca_key, -1);
    signer_make(&pki.p256, "AAS JWT Signing (P-256)", EVP_EC_gen("P-256"), pki.ca, pki.ca_key, 365);
    /* cacerts: the root, and a file with no certificate (skipped like Go's AppendCertsFromPEM) */
    write_pem(TAGENT_CACERTS_DIR, "ca.pem", &pki.ca, 1);
    write_pem(TAGENT_CACERTS_DIR, "junk.pem", NULL, 0);
    /* jwt/: the two real signers (RSA with its issuer appended, as AAS's jwtsigncert.pem is), a rogue one,
     * an expired one, the P-256 one */
    X509 *rsa_chain[] = {pki.rsa.cert, pki.ca};
    write_pem(TAGENT_JWT_DIR, "rsa.pem", rsa_chain, 2);
    write_pem(TAGENT_JWT_DIR, "ec.pem", &pki.ec.cert, 1);
    write_pem(TAGENT_JWT_DIR, "rogue.pem", &pki.rogue.cert, 1);
    write_pem(TAGENT_JWT_DIR, "expired.pem", &pki.expired.cert, 1);
    write_pem(TAGENT_JWT_DIR, "p256.pem", &pki.p256.cert, 1);
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_teardown(void **state)
{
    (void)state;
    struct signer *all[] = {&pki.rsa, &pki.ec, &pki.rogue, &pki.expired, &pki.p256};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        EVP_PKEY_free(all[i]->key);
        X509_free(all[i]->cert);
    }
    EVP_PKEY_free(pki.ca_key);
    EVP_PKEY_free(pki.rogue_ca_key);
    X509_free(pki.ca);
    X509_free(pki.rogue_ca);
    nftw(pki.root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- tokens ---- */

static char *b64url(const void *data, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const uint8_t *p = data;
    char *out = malloc(len / 3 * 4 + 5), *o = out;
    assert_non_null(out);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v =
            (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < len ? p[i + 2] : 0);
        size_t n = len - i >= 3 ? 4 : len - i + 1;
        for (size_t k = 0; k < n; k++)
            *o++ = abc[(v >> (18 - 6 * k)) & 63];
    }
    *o = '\0';
    return out;
}

/* The signature over input as AAS makes it for alg (RS384 or ES384), with key. */
static char *sign(const char *alg, EVP_PKEY *key, const char *input)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t len = sizeof(sig);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(ctx);
    if (strcmp(alg, "ES384") != 0)
        return b64url(sig, len);
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    unsigned char raw[96];
    assert_non_null(es);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 48), 48);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 48, 48), 48);
    ECDSA_SIG_free(es);
    return b64url(raw, sizeof(raw));
}

/* "header.claims.signature" from JSON texts; key NULL: the signature is 16 bytes of junk. */
static char *token_from(const char *header_json, const char *claims_json, const char *alg, EVP_PKEY *key)
{
    char *h = b64url(header_json, strlen(header_json)), *c = b64url(claims_json, strlen(claims_json));
    char *input = NULL, *out = NULL;
    assert_true(asprintf(&input, "%s.%s", h, c) > 0);
    char *s = key ? sign(alg, key, input) : b64url("0123456789abcdef", 16);
    assert_true(asprintf(&out, "%s.%s", input, s) > 0);
    free(h);
    free(c);
    free(input);
    free(s);
    return out;
}

/* A token as AAS issues it: alg, kid of s, claims with the given permissions and times relative to now. */
static char *token_make(const char *alg, const struct signer *s, const char *permissions, long exp_in)
{
    char header[256], claims[2048];
    long now = (long)time(NULL);
    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg, s->kid);
    snprintf(
        claims, sizeof(claims),
        "{\"roles\":[],\"permissions\":%s,\"exp\":%ld,\"iat\":%ld,\"nbf\":%ld,\"iss\":\"AAS JWT Issuer\","
        "\"sub\":\"hvs service account\"}",
        permissions, now + exp_in, now - 30, now - 30);
    return token_from(header, claims, alg, s->key);
}

#define TA_QUOTE "[{\"service\":\"TA\",\"rules\":[\"quote:create:*\"]}]"

/* ---- checking ---- */

static struct token_auth *auth_new(const char *aas_url)
{
    struct tagent_config cfg = {.aas_base_url = (char *)aas_url};
    struct token_auth *a = NULL;
    char *error = NULL;
    assert_int_equal(token_auth_new(pki.root, &cfg, &a, &error), 0);
    assert_null(error);
    return a;
}

static int check(struct token_auth *a, const char *token, const char *permission, char **ret_reason)
{
    char *header = NULL;
    assert_true(asprintf(&header, "Bearer %s", token) > 0);
    int status = token_auth_check(a, header, permission, ret_reason);
    free(header);
    return status;
}

/* 401, a reason holding fragment, and no part of the token (nor the whole) in it. */
static void assert_refused(int status, char *reason, const char *token, const char *fragment)
{
    assert_int_equal(status, 401);
    assert_non_null(reason);
    if (!strstr(reason, fragment))
        fail_msg("reason \"%s\" does not contain \"%s\"", reason, fragment);
    for (const char *p = token; token && *p;) {
        size_t n = strcspn(p, ".");
        if (n >= 8) {
            char *part = strndup(p, n);
            if (strstr(reason, part))
                fail_msg("reason \"%s\" quotes the token", reason);
            free(part);
        }
        p += n + (p[n] == '.');
    }
    free(reason);
}

static void allowed(struct token_auth *a, const char *token, const char *permission)
{
    char *reason = NULL;
    int status = check(a, token, permission, &reason);
    if (status != 0)
        fail_msg("refused (%d): %s", status, reason ? reason : "(no reason)");
    assert_null(reason);
}

static void refused(struct token_auth *a, const char *token, const char *permission, const char *fragment)
{
    char *reason = NULL;
    int status = check(a, token, permission, &reason);
    assert_refused(status, reason, token, fragment);
}

static void test_valid_rs384_and_es384(void **state)
{
    (void)state;
    struct token_auth *a = auth_new(NULL);
    char *rs = token_make("RS384", &pki.rsa, TA_QUOTE, 3600),
         *es = token_make("ES384", &pki.ec, TA_QUOTE, 3600);
    allowed(a, rs, "quote:create");
    allowed(a, es, "quote:create");
    /* the Authorization value as a client may space it */
    char *header = NULL, *reason = NULL;
    assert_true(asprintf(&header, "  Bearer   %s  ", es) > 0);
    assert_int_equal(token_auth_check(a, header, "quote:create", &reason), 0);
    free(header);
    free(rs);
    free(es);
    token_auth_free(a);
}

static void test_bad_signature(void **state)
{
    (void)state;
    struct token_auth *a = auth_new(NULL);
    char *tokens[] = {token_make("RS384", &pki.rsa, TA_QUOTE, 3600),
                      token_make("ES384", &pki.ec, TA_QUOTE, 3600)};
    for (size_t i = 0; i < 2; i++) {
        char *sig = strrchr(tokens[i], '.') + 1;
        sig[3] = sig[3] == 'A' ? 'B' : 'A';
        refused(a, tokens[i], "quote:create", "signature does not verify");
        free(tokens[i]);
    }
    /* claims changed after signing: the RSA signature of other claims */
    char *good = token_make("RS384", &pki.rsa, TA_QUOTE, 3600);
    char *other = token_make("RS384", &pki.rsa, "[{\"service\":\"TA\",\"rules\":[\"*:*\"]}]", 3600);
    char *spliced = NULL;
    assert_true(asprintf(&spliced, "%.*s%s", (int)(strchr(strchr(other, '.') + 1, '.') - other), other,
                         strrchr(good, '.')) > 0);
    refused(a, spliced, "quote:create", "signature does not verify");
    /* ES384 signatures are 96 bytes of r || s, not DER */
    char header[256], claims[128];
    snprintf(header, sizeof(header), "{\"alg\":\"ES384\",\"kid\":\"%s\"}", pki.ec.kid);
    snprintf(claims, sizeof(claims), "{\"exp\":%ld}", (long)time(NULL) + 60);
    char *junk = token_from(header, claims, "ES384", NULL);
    refused(a, junk, "quote:create", "has 16 bytes, not 96");
    free(junk);
    free(good);
    free(other);
    free(spliced);
    token_auth_free(a);
}

static void test_unknown_kid(void **state)
{
    (void)state;
    struct token_auth *a = auth_new(NULL);
    struct signer stranger = pki.ec;
    memcpy(stranger.kid, "0123456789abcdef0123456789abcdef01234567", JWT_KID_LEN + 1);
    char *t = token_make("ES384", &stranger, TA_QUOTE, 3600);
    refused(a, t, "quote:create", "no trusted AAS signing certificate has the token's kid 0123456789abcdef");
    refused(a, t, "quote:create", "no AAS URL is configured");
    refused(a, t, "quote:create", "; 2 files there gave no trusted certificate)");
    free(t);
    token_auth_free(a);
}

/* A certificate in jwt/ that does not chain to cacerts, or has expired, gives no key. */
static void test_untrusted_certs(void **state)
{
    (void)state;
    struct token_auth *a = auth_new(NULL);
    char *t = token_make("ES384", &pki.rogue, TA_QUOTE, 3600);
    char *want = NULL;
    assert_true(asprintf(&want,
                         "the AAS signing certificate with the token's kid %s is not trusted: "
                         "/etc/trustagent/jwt/rogue.pem does not chain to a CA of /etc/trustagent/cacerts: "
                         "unable to get local issuer certificate",
                         pki.rogue.kid) > 0);
    refused(a, t, "quote:create", want);
    free(want);
    free(t);
    t = token_make("ES384", &pki.expired, TA_QUOTE, 3600);
    refused(a, t, "quote:create", "/etc/trustagent/jwt/expired.pem has expired (notAfter is past)");
    free(t);
    token_auth_free(a);
}

static void test_times(void **state)
{
    (void)state;
    struct token_auth *a = auth_new(NULL);
    char *t = token_make("ES384", &pki.ec, TA_QUOTE, -5);
    refused(a, t, "quote:create", "the token expired at");
    free(t);
    long now = (long)time(NULL);
    char header[256], claims[256];
    snprintf(header, sizeof(header), "{\"alg\":\"ES384\",\"kid\":\"%s\"}", pki.ec.kid);
    snprintf(claims, sizeof(claims), "{\"permissions\":%s,\"exp\":%ld,\"nbf\":%ld}", TA_QUOTE, now + 3600,
             now + 600);
    t = token_from(header, claims, "ES384", pki.ec.key);
    refused(a, t, "quote:create", "is not valid before");
    free(t);
    snprintf(claims, sizeof(claims), "{\"permissions\":%s,\"exp\":%ld,\"iat\":%ld}", TA_QUOTE, now + 3600,
             now + 600);
    t = token_from(header, claims, "ES384", pki.ec.key);
    refused(a, t, "quote:create", "issued in the future");
    free(t);
    snprintf(claims, sizeof(claims), "{\"permissions\":%s}", TA_QUOTE);
    t = token_from(header, claims, "ES384", pki.ec.key);
    refused(a, t, "quote:create", "no exp claim");
    free(t);
    snprintf(claims, sizeof(claims), "{\"permissions\":%s,\"exp\":%ld.5}", TA_QUOTE, now + 3600);
    t = token_from(header, claims, "ES384", pki.ec.key);
    refused(a, t, "quote:create", "exp claim is not a whole number");
    free(t);
    snprintf(claims, sizeof(claims), "{\"permissions\":%s,\"exp\":%ld,\"sub\":7}", TA_QUOTE, now + 3600);
    t = token_from(header, claims, "ES384", pki.ec.key);
    refused(a, t, "quote:create", "sub claim is not a string");
    free(t);
    token_auth_free(a);
}

static void test_algs(void **state)
{
    (void)state;
    struct token_auth *a = auth_new(NULL);
    char header[256], claims[256];
    snprintf(claims, sizeof(claims), "{\"permissions\":%s,\"exp\":%ld}", TA_QUOTE, (long)time(NULL) + 600);
    const struct {
        const char *alg;
        const char *fragment;
    } cases[] = {
        {"none", "alg is \"none\" (an unsigned token)"},
        {"HS384", "alg is \"HS384\" (a shared-secret MAC"},
        {"RS256", "alg is \"RS256\"; AAS signs with RS384 or ES384"},
        {"PS384", "alg is \"PS384\""},
        {"ES512", "alg is \"ES512\""},
        {"es384", "alg is not a JOSE algorithm"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}", cases[i].alg, pki.ec.kid);
        char *t = token_from(header, claims, "ES384", pki.ec.key);
        refused(a, t, "quote:create", cases[i].fragment);
        free(t);
    }
    /* alg "none" with an empty signature part */
    snprintf(header, sizeof(header), "{\"alg\":\"none\",\"kid\":\"%s\"}", pki.ec.kid);
    char *t = token_from(header, claims, "ES384", pki.ec.key);
    *(strrchr(t, '.') + 1) = '\0';
    refused(a, t, "quote:create", "one of its 3 parts is empty");
    free(t);
    /* the alg must fit the certificate's key: ES384 naming the RSA certificate, RS384 the EC one, ES384 a
     * P-256 key */
    struct signer rsa_as_es = pki.rsa, ec_as_rs = pki.ec;
    rsa_as_es.key = pki.ec.key;
    ec_as_rs.key = pki.rsa.key;
    t = token_make("ES384", &rsa_as_es, TA_QUOTE, 600);
    refused(a, t, "quote:create", "alg ES384 does not fit the key of the AAS signing certificate");
    free(t);
    t = token_make("RS384", &ec_as_rs, TA_QUOTE, 600);
    refused(a, t, "quote:create", "(EC P-384, for ES384)");
    free(t);
    t = token_make("ES384", &pki.p256, TA_QUOTE, 600);
    refused(a, t, "quote:create", "(neither RSA nor EC P-384)");
    free(t);
    token_auth_free(a);
}

static void test_malformed(void **state)
{
    (void)state;
    struct token_auth *a = auth_new(NULL);
    char *good = token_make("ES384", &pki.ec, TA_QUOTE, 600);
    const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    int hlen = (int)(dot1 - good);
    char *t = NULL;
    /* padding, the standard alphabet, a stray character, in each part */
    assert_true(asprintf(&t, "%.*s=%s", hlen, good, dot1) > 0);
    refused(a, t, "quote:create", "header is not base64url without padding");
    free(t);
    assert_true(asprintf(&t, "%.*s+%s", (int)(dot2 - good), good, dot2) > 0);
    refused(a, t, "quote:create", "claims set is not base64url without padding");
    free(t);
    assert_true(asprintf(&t, "%s/", good) > 0);
    refused(a, t, "quote:create", "signature is not base64url without padding");
    free(t);
    /* 5 characters: 30 bits, one more than a byte can leave (length 4n+1 cannot be base64) */
    assert_true(asprintf(&t, "%.*sA%s", hlen, good, dot1) > 0);
    if (hlen % 4 == 0)
        refused(a, t, "quote:create", "header is not base64url");
    free(t);
    /* non-zero unused bits: "AB" decodes to one byte only if B's low 4 bits are 0 */
    char *bits = NULL;
    assert_true(asprintf(&bits, "AB.%s", dot1 + 1) > 0);
    refused(a, bits, "quote:create", "header is not base64url");
    free(bits);
    /* not JSON, not an object */
    char header[256];
    snprintf(header, sizeof(header), "{\"alg\":\"ES384\",\"kid\":\"%s\"}", pki.ec.kid);
    t = token_from("{\"alg\":", "{}", "ES384", pki.ec.key);
    refused(a, t, "quote:create", "header is not a JSON object");
    free(t);
    t = token_from(header, "[1,2]", "ES384", pki.ec.key);
    refused(a, t, "quote:create", "claims set is not a JSON object");
    free(t);
    t = token_from("{\"alg\":\"ES384\"}", "{}", "ES384", pki.ec.key);
    refused(a, t, "quote:create", "no kid string");
    free(t);
    t = token_from("{\"alg\":\"ES384\",\"kid\":\"ABCDEF\"}", "{}", "ES384", pki.ec.key);
    refused(a, t, "quote:create", "kid is not a SHA-1 in lower-case hex");
    free(t);
    t = token_from("{\"kid\":\"x\"}", "{}", "ES384", pki.ec.key);
    refused(a, t, "quote:create", "no alg string");
    free(t);
    /* parts */
    refused(a, "abc.def", "quote:create", "it has 2 parts, not 3");
    refused(a, "a.b.c.d", "quote:create", "it has 4 parts, not 3");
    refused(a, "..", "quote:create", "one of its 3 parts is empty");
    /* longer than any AAS token */
    char *huge = malloc(JWT_MAX_LEN + 2);
    memset(huge, 'A', JWT_MAX_LEN + 1);
    huge[JWT_MAX_LEN + 1] = '\0';
    refused(a, huge, "quote:create", "longer than 16384 bytes");
    free(huge);
    free(good);
    token_auth_free(a);
}

static void refused_header(struct token_auth *a, const char *authorization, const char *token,
                           const char *fragment)
{
    char *reason = NULL;
    int status = token_auth_check(a, authorization, "quote:create", &reason);
    assert_refused(status, reason, token, fragment);
}

static void test_header(void **state)
{
    (void)state;
    struct token_auth *a = auth_new(NULL);
    char *t = token_make("ES384", &pki.ec, TA_QUOTE, 600), *h = NULL;
    refused_header(a, NULL, NULL, "no bearer token");
    refused_header(a, "", NULL, "no bearer token");
    refused_header(a, "  ", NULL, "no bearer token");
    refused_header(a, "Bearer ", NULL, "but no token");
    refused_header(a, "Bearer", NULL, "is not \"Bearer <JWT>\"");
    const char *schemes[] = {"Basic ", "bearer ", "BEARER ", "", "Token ", "Bearer:"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        assert_true(asprintf(&h, "%s%s", schemes[i], t) > 0);
        refused_header(a, h, t, "is not \"Bearer <JWT>\"");
        free(h);
    }
    free(t);
    token_auth_free(a);
}

static void test_permissions(void **state)
{
    (void)state;
    struct token_auth *a = auth_new(NULL);
    const struct {
        const char *permissions;
        const char *asked;
        bool allowed;
    } cases[] = {
        {"[{\"service\":\"TA\",\"rules\":[\"*:*\"]}]", "quote:create", true},
        {"[{\"service\":\"TA\",\"rules\":[\"quote:*\"]}]", "quote:create", true},
        {"[{\"service\":\"TA\",\"rules\":[\"*:create\"]}]", "quote:create", true},
        {"[{\"service\":\"TA\",\"rules\":[\"quote:create\"]}]", "quote:create", true},
        {"[{\"service\":\"TA\",\"rules\":[\"quote:create:*\"]}]", "quote:create", true},
        {"[{\"service\":\"TA\",\"rules\":[\"quote:create:*:x\"]}]", "quote:create", true}, /* as Go */
        {"[{\"service\":\"TA\",\"rules\":[\"aik:retrieve:*\",\"quote:create:*\"],\"context\":\"c\"}]",
         "quote:create", true},
        {"[{\"service\":\"HVS\",\"rules\":[\"*:*\"]},{\"service\":\"TA\",\"rules\":[\"quote:create\"]}]",
         "quote:create", true},
        /* a malformed entry is skipped, the good one still counts (Go's decoder keeps going too) */
        {"[7,{\"service\":\"TA\",\"rules\":[5,\"quote:create\"]}]", "quote:create", true},
        {"[{\"service\":\"TA\",\"rules\":[\"quote:create:x\"]}]", "quote:create", false},
        {"[{\"service\":\"TA\",\"rules\":[\"quote:retrieve\"]}]", "quote:create", false},
        {"[{\"service\":\"TA\",\"rules\":[\"quote\"]}]", "quote:create", false},
        {"[{\"service\":\"TA\",\"rules\":[\"quote:\"]}]", "quote:create", false},
        {"[{\"service\":\"TA\",\"rules\":[\"aik:*\"]}]", "quote:create", false},
        {"[{\"service\":\"TA\",\"rules\":[\"quot:create\"]}]", "quote:create", false},
        {"[{\"service\":\"TA\",\"rules\":[\"quote:createx\"]}]", "quote:create", false},
        {"[{\"service\":\"HVS\",\"rules\":[\"*:*\"]}]", "quote:create", false},
        {"[{\"service\":\"ta\",\"rules\":[\"*:*\"]}]", "quote:create", false},
        {"[{\"rules\":[\"*:*\"]}]", "quote:create", false},
        {"[]", "quote:create", false},
        {"null", "quote:create", false},
        {"{\"service\":\"TA\",\"rules\":[\"*:*\"]}", "quote:create", false},
        {"[{\"service\":\"TA\",\"rules\":\"*:*\"}]", "quote:create", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t =
            token_make(i % 2 ? "RS384" : "ES384", i % 2 ? &pki.rsa : &pki.ec, cases[i].permissions, 600);
        char *reason = NULL;
        int status = check(a, t, cases[i].asked, &reason);
        if (cases[i].allowed && status != 0)
            fail_msg("case %zu (%s) refused: %s", i, cases[i].permissions, reason);
        if (!cases[i].allowed)
            assert_refused(status, reason, t,
                           "insufficient privileges: the token has no TA permission rule granting "
                           "quote:create");
        else
            free(reason);
        free(t);
    }
    /* no permissions claim at all */
    char header[256], claims[128];
    snprintf(header, sizeof(header), "{\"alg\":\"ES384\",\"kid\":\"%s\"}", pki.ec.kid);
    snprintf(claims, sizeof(claims), "{\"exp\":%ld}", (long)time(NULL) + 600);
    char *t = token_from(header, claims, "ES384", pki.ec.key);
    refused(a, t, "aik:retrieve", "insufficient privileges");
    free(t);
    token_auth_free(a);
}

/* An unknown kid asks AAS once, then not again within a minute (whatever the tokens say). Nothing listens
 * on the port: the fetch fails fast. */
static void test_fetch_rate_limit(void **state)
{
    (void)state;
    struct token_auth *a = auth_new("https://127.0.0.1:1/aas/v1/");
    struct signer stranger = pki.ec;
    memcpy(stranger.kid, "89abcdef0123456789abcdef0123456789abcdef", JWT_KID_LEN + 1);
    char *t = token_make("ES384", &stranger, TA_QUOTE, 3600);
    refused(a, t, "quote:create",
            "fetching AAS's signing certificate failed: GET "
            "https://127.0.0.1:1/aas/v1/jwt-certificates");
    refused(a, t, "quote:create",
            "AAS was not asked: the last look for new signing certificates was 0 s ago");
    /* known kids are unaffected */
    char *good = token_make("ES384", &pki.ec, TA_QUOTE, 3600);
    allowed(a, good, "quote:create");
    free(good);
    free(t);
    token_auth_free(a);
}

/* What a fetch keeps: a certificate AAS served is trusted only when it chains to cacerts, and is saved the
 * Go agent's way (jwt/<9 hex of its SHA-1>.pem, 0600), where a new verifier finds it. */
static void test_fetched_cert_saved(void **state)
{
    (void)state;
    char dir[512], path[600];
    snprintf(dir, sizeof(dir), "%s/fetched", pki.root);
    assert_int_equal(mkdir(dir, 0700), 0);
    X509_STORE *anchors = NULL;
    size_t n = 0;
    snprintf(path, sizeof(path), "%s%s", pki.root, TAGENT_CACERTS_DIR);
    assert_int_equal(signing_anchors_load(path, &anchors, &n), 0);
    assert_int_equal(n, 1);

    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL, *error = NULL;
    assert_int_equal(PEM_write_bio_X509(bio, pki.rogue.cert), 1);
    long len = BIO_get_mem_data(bio, &pem);
    struct signing_key k = {0};
    STACK_OF(X509) *certs = NULL;
    assert_int_equal(signing_cert_trust(pem, (size_t)len, anchors, &k, &certs, &error), -EPERM);
    assert_non_null(strstr(error, "does not chain"));
    free(error);
    error = NULL;
    BIO_free(bio);

    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(bio, pki.ec.cert), 1);
    assert_int_equal(PEM_write_bio_X509(bio, pki.ca), 1);
    len = BIO_get_mem_data(bio, &pem);
    assert_int_equal(signing_cert_trust(pem, (size_t)len, anchors, &k, &certs, &error), 0);
    assert_string_equal(k.kid, pki.ec.kid);
    assert_int_equal(sk_X509_num(certs), 2);
    assert_int_equal(signing_cert_save(dir, k.kid, certs, &error), 0);
    snprintf(path, sizeof(path), "%s/%.9s.pem", dir, k.kid);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    char *text = NULL;
    size_t text_len = 0;
    assert_int_equal(config_read_file(path, 1 << 20, &text, &text_len), 0);
    assert_int_equal(text_len, (size_t)len); /* the same two certificates, re-encoded */
    assert_memory_equal(text, pem, text_len);
    free(text);

    struct signing_keys keys = {0};
    struct signing_skips skipped = {0};
    assert_int_equal(signing_keys_load_dir(dir, anchors, &keys, &skipped), 0);
    assert_int_equal(skipped.n, 0);
    assert_int_equal(keys.n, 1);
    assert_non_null(signing_keys_find(&keys, pki.ec.kid));
    signing_keys_clear(&keys);
    EVP_PKEY_free(k.key);
    sk_X509_pop_free(certs, X509_free);
    BIO_free(bio);
    X509_STORE_free(anchors);
}

/* Many threads checking at once (the service's worker pool); under ASan/TSan a race would show. */
struct worker {
    struct token_auth *a;
    const char *token;
    int failures;
};

static void *worker_run(void *p)
{
    struct worker *w = p;
    for (int i = 0; i < 40; i++) {
        char *reason = NULL;
        char *header = NULL;
        if (asprintf(&header, "Bearer %s", w->token) < 0)
            return NULL;
        w->failures += token_auth_check(w->a, header, "quote:create", &reason) != 0;
        free(reason);
        free(header);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct token_auth *a = auth_new(NULL);
    char *tokens[2] = {token_make("RS384", &pki.rsa, TA_QUOTE, 600),
                       token_make("ES384", &pki.ec, TA_QUOTE, 600)};
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.a = a, .token = tokens[i % 2]};
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    free(tokens[0]);
    free(tokens[1]);
    token_auth_free(a);
}

/* base64url decoding on its own: RFC 4648 section 10 vectors in the URL alphabet, and refusals. */
static void test_b64url(void **state)
{
    (void)state;
    const struct {
        const char *in, *out;
    } ok[] = {{"", ""},           {"Zg", "f"},          {"Zm8", "fo"},          {"Zm9v", "foo"},
              {"Zm9vYg", "foob"}, {"Zm9vYmE", "fooba"}, {"Zm9vYmFy", "foobar"}, {"-_8", "\xfb\xff"}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint8_t *d = NULL;
        size_t n = 0;
        assert_int_equal(jwt_b64url_decode(ok[i].in, strlen(ok[i].in), &d, &n), 0);
        assert_int_equal(n, strlen(ok[i].out));
        assert_memory_equal(d, ok[i].out, n);
        free(d);
    }
    const char *bad[] = {"Zg==", "Zm9=", "Z", "Zh", "Zm+v", "Zm/v", "Zm 9", "Zm9\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t *d = NULL;
        size_t n = 0;
        assert_int_equal(jwt_b64url_decode(bad[i], strlen(bad[i]), &d, &n), -EINVAL);
        assert_null(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_valid_rs384_and_es384),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_unknown_kid),
        cmocka_unit_test(test_untrusted_certs),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_algs),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_fetch_rate_limit),
        cmocka_unit_test(test_fetched_cert_saved),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
