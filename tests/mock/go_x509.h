/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Go's crypto/x509.ParseCertificate, as a verdict in C: does the Go program on the other side (HVS, the Go
 * trust agent) accept these certificate bytes, and with which error text does it refuse them?
 *
 * OpenSSL's d2i_X509 is the wrong judge for that: it accepts extension values it never decodes (a
 * subjectAltName that is not a GeneralNames SEQUENCE, a bad keyUsage BIT STRING) that Go refuses, and it
 * refuses things Go lets through (any element inside a SAN, explicit DEFAULT FALSE). So this walks the DER
 * with the rules of Go's cryptobyte reader (DER lengths only, low tag numbers only, strict BOOLEAN and
 * INTEGER encodings, BIT STRING padding bits zero) and takes the same steps as Go's parser: structure,
 * version, serial, matching inner and outer signature algorithms, names (supported string types only),
 * validity (UTCTime/GeneralizedTime in their canonical form), the public key (RSA with NULL parameters,
 * named-curve ECDSA points, Ed25519, DSA), and then every extension Go decodes: keyUsage, basicConstraints,
 * subjectAltName (with Go's checks on rfc822Name, dNSName, URI and IP entries), nameConstraints, CRL
 * distribution points, authority and subject key identifiers, extKeyUsage, certificate policies and
 * authority info access. Where Go ignores bytes (after the first element of most extension values, after the
 * extensions in the TBS), this ignores them too: being stricter than Go is as wrong as being more lenient.
 *
 * Go versions differ: from 1.19 on, a repeated extension OID is refused ("x509: certificate contains
 * duplicate extensions"); 1.18 accepts it and the later value wins. HVS and the Go agent v5.1 are built with
 * Go 1.18.8 (the monorepo's CI and README), so GO_X509_HVS is 18.
 *
 * ParseCertificate does not refuse an unhandled critical extension; it lists it, and Certificate.Verify then
 * fails with "x509: unhandled critical extension". HVS runs Verify on the AIK certificate against its privacy
 * CAs (the aik-certificate-trusted flavor rule), so go_x509_hvs_aik() refuses one.
 */
#ifndef TAGENT_GO_X509_H
#define TAGENT_GO_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define GO_X509_HVS 18 /* Go 1.18.8: HVS and the Go trust agent v5.1 */

enum go_pubkey_algo {
    GO_PUBKEY_UNKNOWN = 0, /* Go parses the certificate with a nil key */
    GO_PUBKEY_RSA,
    GO_PUBKEY_DSA,
    GO_PUBKEY_ECDSA,
    GO_PUBKEY_ED25519,
};

/* What Go would have in its x509.Certificate, as far as the tests and the mock need it. Pointers point into
 * the DER given to go_x509_parse(). */
struct go_x509_cert {
    int version;                             /* 1..3 as Go counts */
    const uint8_t *raw_issuer, *raw_subject; /* whole Name elements */
    size_t raw_issuer_len, raw_subject_len;
    char issuer_cn[256], subject_cn[256]; /* pkix.Name.CommonName: the last CN; "" when none */
    const uint8_t *serial;                /* INTEGER contents, two's complement */
    size_t serial_len;
    int64_t not_before, not_after; /* seconds since the epoch, UTC */
    char sig_oid[64];              /* dotted signature algorithm OID */
    enum go_pubkey_algo pubkey_algo;
    const uint8_t *rsa_n; /* RSA modulus (INTEGER contents) */
    size_t rsa_n_len;
    int64_t rsa_e;
    size_t n_extensions;               /* Certificate.Extensions */
    size_t n_unhandled_critical;       /* Certificate.UnhandledCriticalExtensions */
    char first_unhandled_critical[64]; /* its dotted OID */
    bool basic_constraints_valid, is_ca;
    int max_path_len;
    unsigned key_usage; /* Go's KeyUsage bits */
    size_t n_dns_names, n_emails, n_ips, n_uris;
    const uint8_t *subject_key_id, *authority_key_id; /* NULL when absent */
    size_t subject_key_id_len, authority_key_id_len;
};

/* 0: Go (1.<go_minor>) parses der as one certificate, *ret filled (may be NULL). -EBADMSG: Go refuses it;
 * err holds Go's error text. */
int go_x509_parse(const uint8_t *der, size_t len, int go_minor, struct go_x509_cert *ret, char *err,
                  size_t err_len);

/* HVS's reading of a quote reply's Aik (already base64-decoded): the first PEM block's bytes through
 * x509.ParseCertificate, an RSA key (HVS type-asserts it), no unhandled critical extension (HVS's
 * x509.Verify in the aik-certificate-trusted rule). 0 with *ret_cert (OpenSSL's view of the same bytes, for
 * the signature check) or -EBADMSG with why. */
int go_x509_hvs_aik(const uint8_t *pem, size_t pem_len, X509 **ret_cert, char *why, size_t why_len);

#endif
