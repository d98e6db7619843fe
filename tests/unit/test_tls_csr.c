/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * download-cert's certificate request (provision/tls_csr.c), read back with OpenSSL: the Go agent's PEM block
 * type, the CN, a SHA-384 signature by the key, and the subjectAltName exactly (every entry, its type and its
 * order, as OpenSSL prints it). The SAN lists include the one that overflowed the old string builder
 * ("a,b,c,d,e,f,g,h": many short names) and a long mixed IPv4/IPv6/DNS list; run under ASan they also catch
 * any write past a buffer and any leak on the error paths.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls_csr.h"

#define CN "Edge Trust Agent"

static EVP_PKEY *key;

static int group_setup(void **state)
{
    /* RSA-2048, not the task's 3072: the request does not depend on the size, and ASan makes keygen slow. */
    key = EVP_RSA_gen(2048);
    return key ? 0 : -1;
}

static int group_teardown(void **state)
{
    EVP_PKEY_free(key);
    return 0;
}

/* Parses pem as the Go agent's CSR, checks block type, CN and signature; returns the request. */
static X509_REQ *csr_parse(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long der_len = 0;
    assert_int_equal(PEM_read_bio(bio, &name, &header, &der, &der_len), 1);
    assert_string_equal(name, "BEGIN CERTIFICATE REQUEST");
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, der_len);
    assert_non_null(req);
    assert_ptr_equal(p, der + der_len);

    char cn[256] = "";
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, CN);
    assert_int_equal(X509_REQ_get_signature_nid(req), NID_sha384WithRSAEncryption);
    assert_int_equal(X509_REQ_verify(req, key), 1);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    return req;
}

/* The request's subjectAltName as OpenSSL prints it ("DNS:a, IP Address:10.0.0.5"), or NULL without one. */
static char *csr_san_text(const char *pem)
{
    X509_REQ *req = csr_parse(pem);
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    char *text = NULL;
    int at = exts ? X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1) : -1;
    if (at >= 0) {
        BIO *out = BIO_new(BIO_s_mem());
        char *data;
        assert_int_equal(X509V3_EXT_print(out, sk_X509_EXTENSION_value(exts, at), 0, 0), 1);
        assert_int_equal(BIO_write(out, "", 1), 1);
        assert_true(BIO_get_mem_data(out, &data) > 0);
        text = strdup(data);
        assert_non_null(text);
        BIO_free(out);
        /* one subjectAltName, and nothing else */
        assert_int_equal(X509v3_get_ext_by_NID(exts, NID_subject_alt_name, at), -1);
        assert_int_equal(sk_X509_EXTENSION_num(exts), 1);
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    return text;
}

static void assert_san(const char *san_list, const char *want)
{
    char *pem = NULL;
    assert_int_equal(tls_csr_create(key, CN, san_list, &pem), 0);
    char *got = csr_san_text(pem);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    free(pem);
}

/* The list that wrote past the old builder's 2*strlen+16 bytes: eight one-letter names. */
static void test_many_short_names(void **state)
{
    assert_san("a,b,c,d,e,f,g,h", "DNS:a, DNS:b, DNS:c, DNS:d, DNS:e, DNS:f, DNS:g, DNS:h");
}

/* A long mixed list: IPv4, IPv6 in every textual form, host names from one letter to a 63-character label,
 * spaces and tabs around items; each item keeps its type and place. */
static void test_long_mixed_list(void **state)
{
    static const struct {
        const char *item, *printed;
    } items[] = {
        {"10.0.0.5", "IP Address:10.0.0.5"},
        {"x", "DNS:x"},
        {"::1", "IP Address:0:0:0:0:0:0:0:1"},
        {"edge-01.example.com", "DNS:edge-01.example.com"},
        {" fe80::1ff:fe23:4567:890a", "IP Address:FE80:0:0:0:1FF:FE23:4567:890A"},
        {"y ", "DNS:y"},
        {"2001:db8::", "IP Address:2001:DB8:0:0:0:0:0:0"},
        {"\t::ffff:192.0.2.128\t", "IP Address:0:0:0:0:0:FFFF:C000:280"},
        {"255.255.255.255", "IP Address:255.255.255.255"},
        {"0.0.0.0", "IP Address:0.0.0.0"},
        {"z", "DNS:z"},
        {"localhost", "DNS:localhost"},
        {"127.0.0.1", "IP Address:127.0.0.1"},
        {"2001:db8:85a3:8d3:1319:8a2e:370:7348", "IP Address:2001:DB8:85A3:8D3:1319:8A2E:370:7348"},
        {"abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz.example",
         "DNS:abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz.example"},
        {"q", "DNS:q"},
        {"r", "DNS:r"},
        {"192.168.100.200", "IP Address:192.168.100.200"},
        {"s", "DNS:s"},
        {"t", "DNS:t"},
        {"fd00::", "IP Address:FD00:0:0:0:0:0:0:0"},
        {"u", "DNS:u"},
        {"v", "DNS:v"},
        {"w", "DNS:w"},
        {"node-7.rack-3.dc1.example.org", "DNS:node-7.rack-3.dc1.example.org"},
        {"1", "DNS:1"}, /* not an address to inet_pton: a (numeric) host name */
    };
    char list[2048] = "", want[4096] = "";
    size_t ll = 0, wl = 0;
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        ll += (size_t)snprintf(list + ll, sizeof(list) - ll, "%s%s", i ? "," : "", items[i].item);
        wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%s%s", i ? ", " : "", items[i].printed);
        assert_true(ll < sizeof(list) && wl < sizeof(want));
    }
    assert_san(list, want);
}

static void test_no_san_list(void **state)
{
    char *pem = NULL;
    assert_int_equal(tls_csr_create(key, CN, NULL, &pem), 0);
    assert_null(csr_san_text(pem));
    free(pem);
    pem = NULL;
    assert_int_equal(tls_csr_create(key, CN, "", &pem), 0);
    assert_null(csr_san_text(pem));
    free(pem);
}

/* An empty item is refused, after names before it were built (ASan: nothing of them leaks), and nothing is
 * returned. */
static void test_empty_item_refused(void **state)
{
    static const char *const lists[] = {"a,,b", "a,b,", ",a", " , ", "10.0.0.1,::1,\t"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        char *pem = NULL;
        assert_int_equal(tls_csr_create(key, CN, lists[i], &pem), -EINVAL);
        assert_null(pem);
    }
    char *pem = NULL;
    assert_int_equal(tls_csr_create(key, NULL, "a", &pem), -EINVAL);
    assert_null(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_short_names),
        cmocka_unit_test(test_long_mixed_list),
        cmocka_unit_test(test_no_san_list),
        cmocka_unit_test(test_empty_item_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
