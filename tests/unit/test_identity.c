/* SPDX-License-Identifier: BSD-3-Clause */
/* identity/ without a TPM: the --subject parser and the install checks (identity_cert_check) on certificates
 * built here with OpenSSL, one property wrong at a time. The same refusals against a real TPM key and an
 * openssl(1) CA: tests/cli/test_identity_cli.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cleanup.h"
#include "identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

/* ---- the subject ---- */

static int parse(const char *text, char **ret_name)
{
    struct identity_subject s;
    char *error = NULL;
    /* a root without an SMBIOS table: no product UUID, so no SAN */
    int r = identity_subject_parse("/nonexistent-root", text, &s, &error);
    if (r == 0) {
        assert_string_equal(s.uuid, "");
        *ret_name = identity_name_text(s.name);
        identity_subject_clear(&s);
    } else {
        assert_non_null(error); /* every refusal says why */
        *ret_name = NULL;
    }
    free(error);
    return r;
}

static void test_subject_parse(void **state)
{
    char *name = NULL;
    assert_int_equal(parse("/CN=dev-1/serialNumber=SN 42/O=Test Org", &name), 0);
    assert_string_equal(name, "CN = dev-1, serialNumber = SN 42, O = Test Org");
    free(name);
    assert_int_equal(parse("/commonName=a=b", &name), 0); /* long names; '=' inside a value */
    assert_string_equal(name, "CN = a=b");
    free(name);

    assert_int_equal(parse("CN=x", &name), -EINVAL);   /* not the one-line form */
    assert_int_equal(parse("/", &name), -EINVAL);      /* nothing in it */
    assert_int_equal(parse("/FOO=x", &name), -EINVAL); /* unknown attribute */
    assert_int_equal(parse("/CN", &name), -EINVAL);    /* no value */
    assert_int_equal(parse("/CN=", &name), -EINVAL);   /* empty value */
    assert_int_equal(parse("/C=USA", &name), -EINVAL); /* countryName has 2 characters */
    char serial[128] = "/CN=x/serialNumber=";
    memset(serial + strlen(serial), 'A', 65);
    assert_int_equal(parse(serial, &name), -EINVAL); /* X.520: at most 64 */
    serial[strlen(serial) - 1] = '\0';
    assert_int_equal(parse(serial, &name), 0);
    free(name);
}

/* ---- certificates ---- */

static EVP_PKEY *key_new(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

struct cert_spec {
    const char *cn;
    EVP_PKEY *key;  /* the subject's key */
    X509 *issuer;   /* NULL: self-signed */
    EVP_PKEY *sign; /* the issuer's key */
    const char *bc; /* basicConstraints, NULL for none */
    const char *eku;
    long from_days, to_days; /* validity relative to now */
};

static void ext_add(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(cert, e, -1), 1);
    X509_EXTENSION_free(e);
}

static X509 *cert_make(const struct cert_spec *c)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    assert_non_null(cert);
    assert_non_null(name);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)c->cn, -1, -1, 0), 1);
    assert_int_equal(X509_set_version(cert, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(cert), 7), 1);
    assert_int_equal(X509_set_subject_name(cert, name), 1);
    assert_int_equal(X509_set_issuer_name(cert, c->issuer ? X509_get_subject_name(c->issuer) : name), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), c->from_days * 86400));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), c->to_days * 86400));
    assert_int_equal(X509_set_pubkey(cert, c->key), 1);
    X509 *issuer = c->issuer ? c->issuer : cert;
    if (c->bc)
        ext_add(cert, issuer, NID_basic_constraints, c->bc);
    if (c->bc && strstr(c->bc, "CA:TRUE")) /* X509_V_FLAG_X509_STRICT wants a CA's keyUsage */
        ext_add(cert, issuer, NID_key_usage, "critical,keyCertSign");
    if (c->eku)
        ext_add(cert, issuer, NID_ext_key_usage, c->eku);
    ext_add(cert, issuer, NID_subject_key_identifier, "hash");
    ext_add(cert, issuer, NID_authority_key_identifier, "keyid:always");
    assert_true(X509_sign(cert, c->sign ? c->sign : c->key, EVP_sha256()) > 0);
    X509_NAME_free(name);
    return cert;
}

static uint8_t *spki_of(EVP_PKEY *key, size_t *ret_len)
{
    uint8_t *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    assert_true(n > 0);
    *ret_len = (size_t)n;
    return der;
}

static int check(X509 *cert, X509 *anchor, EVP_PKEY *tpm_key)
{
    STACK_OF(X509) *anchors = sk_X509_new_null();
    size_t len = 0;
    uint8_t *spki = spki_of(tpm_key, &len);
    char *error = NULL;
    assert_true(sk_X509_push(anchors, anchor) > 0);
    int r = identity_cert_check(cert, NULL, anchors, spki, len, &error);
    if (r < 0) {
        assert_non_null(error);
        fprintf(stderr, "refused: %s\n", error);
    }
    free(error);
    OPENSSL_free(spki);
    sk_X509_free(anchors); /* the anchor stays the caller's */
    return r;
}

static void test_cert_check(void **state)
{
    EVP_PKEY *root_key = key_new(), *sub_key = key_new(), *other_key = key_new(), *dev_key = key_new();
    X509 *root =
        cert_make(&(struct cert_spec){"root", root_key, NULL, NULL, "critical,CA:TRUE", NULL, 0, 30});
    X509 *sub =
        cert_make(&(struct cert_spec){"sub", sub_key, root, root_key, "critical,CA:TRUE", NULL, 0, 30});
    X509 *other =
        cert_make(&(struct cert_spec){"other", other_key, NULL, NULL, "critical,CA:TRUE", NULL, 0, 30});
    X509 *good = cert_make(&(struct cert_spec){"dev", dev_key, sub, sub_key, "CA:FALSE", "clientAuth", 0, 7});
    X509 *no_bc = cert_make(&(struct cert_spec){"dev", dev_key, sub, sub_key, NULL, NULL, 0, 7});
    X509 *future = cert_make(&(struct cert_spec){"dev", dev_key, sub, sub_key, "CA:FALSE", NULL, 1, 7});
    X509 *expired = cert_make(&(struct cert_spec){"dev", dev_key, sub, sub_key, "CA:FALSE", NULL, -7, -1});
    X509 *ca_leaf =
        cert_make(&(struct cert_spec){"dev", dev_key, sub, sub_key, "critical,CA:TRUE", NULL, 0, 7});
    X509 *server =
        cert_make(&(struct cert_spec){"dev", dev_key, sub, sub_key, "CA:FALSE", "serverAuth", 0, 7});
    X509 *foreign = cert_make(&(struct cert_spec){"dev", dev_key, other, other_key, "CA:FALSE", NULL, 0, 7});
    X509 *self = cert_make(&(struct cert_spec){"dev", dev_key, NULL, NULL, "CA:FALSE", "clientAuth", 0, 7});

    assert_int_equal(check(good, sub, dev_key), 0); /* a sub CA alone as the anchor */
    assert_int_equal(check(no_bc, sub, dev_key), 0);
    assert_int_equal(check(good, sub, other_key), -EKEYREJECTED);
    assert_int_equal(check(ca_leaf, sub, dev_key), -EPERM);
    assert_int_equal(check(future, sub, dev_key), -EKEYEXPIRED);
    assert_int_equal(check(expired, sub, dev_key), -EKEYEXPIRED);
    assert_int_equal(check(server, sub, dev_key), -EBADMSG);
    assert_int_equal(check(foreign, sub, dev_key), -EBADMSG);
    assert_int_equal(check(good, root, dev_key), -EBADMSG); /* the sub CA is not sent: no path to the root */
    assert_int_equal(check(self, self, dev_key), 0);

    assert_true(identity_cert_is_development(self));
    assert_false(identity_cert_is_development(good));

    X509 *certs[] = {root, sub, other, good, no_bc, future, expired, ca_leaf, server, foreign, self};
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(certs[i]);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(sub_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(dev_key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subject_parse),
        cmocka_unit_test(test_cert_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
