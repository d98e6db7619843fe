/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent fetch-ekcert-with-issuer`: prints each EK certificate (the on-die chain first, then the EK
 * certificate) in the Go agent's format, for admins who register EK certificates with HVS:
 *   Issuer: <issuer CN>
 *   TPM Endorsment Certificate Base64 Encoded: <base64 of the PEM text>
 * ("Endorsment" is spelled as the Go agent prints it: scripts parse this line.)
 * The owner secret comes from TPM_OWNER_SECRET in the environment, never from argv.
 */
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "provision.h"
#include "quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static char *issuer_cn(X509 *x)
{
    char cn[256] = "";
    X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName, cn, sizeof(cn));
    return strdup(cn);
}

/* base64 (one line) of the certificate's PEM text. */
static char *pem_base64(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL, *out = NULL;
    long len;
    if (!bio || !PEM_write_bio_X509(bio, x) || (len = BIO_get_mem_data(bio, &pem)) <= 0)
        goto done;
    out = config_base64_encode(pem, (size_t)len);
done:
    BIO_free(bio);
    return out;
}

/* Prints every certificate in a DER concatenation. Returns how many, or -1 on a parse error. */
static int print_certs(const uint8_t *der, size_t len)
{
    const unsigned char *p = der, *end = der + len;
    int n = 0;
    while (p < end) {
        X509 *x = d2i_X509(NULL, &p, end - p);
        if (!x)
            return -1;
        char *cn = issuer_cn(x), *b64 = pem_base64(x);
        if (cn && b64)
            printf("Issuer: %s\nTPM Endorsment Certificate Base64 Encoded: %s\n", cn, b64);
        free(cn);
        free(b64);
        X509_free(x);
        n++;
    }
    return n;
}

int cmd_fetch_ekcert_run(struct tagent_cli *cli, int argc, char **argv)
{
    struct tpm_auth owner = {0};
    _cleanup_free_ char *error = NULL;
    struct tpm_ek_cert cert = {0};
    tpm_t *tpm = NULL;

    int r = cli_tpm_owner_open(&tpm, &owner, &error);
    if (r == 0)
        r = tep_srk_pin(cli->root, tpm, &error);
    if (r == 0)
        r = tpm_ek_cert_read(tpm, &owner, &cert, &error);
    tpm_auth_clear(&owner);
    tpm_close(tpm);
    if (r < 0) {
        log_error("fetch-ekcert-with-issuer: %s", error ? error : "out of memory");
        return TAGENT_EXIT_ERROR;
    }
    if ((cert.chain && print_certs(cert.chain, cert.chain_len) < 0) ||
        print_certs(cert.der, cert.der_len) < 0) {
        log_error("fetch-ekcert-with-issuer: the EK certificate chain in NV 0x%08x is not DER X.509",
                  TPM_NV_EK_CHAIN);
        r = -1;
    }
    tpm_ek_cert_free(&cert);
    return r < 0 ? TAGENT_EXIT_ERROR : TAGENT_EXIT_OK;
}
