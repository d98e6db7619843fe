/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fixed inputs of the LUKS policy tests, shared by the unit test (digests recorded from tpm2-tools) and the
 * oracle test (tests/integration/test_luks_policy_oracle.c, which recomputes them with tpm2-tools on swtpm).
 */
#ifndef TAGENT_TEST_LUKS_POLICY_VECTORS_H
#define TAGENT_TEST_LUKS_POLICY_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

static const char vec_p256_pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                                       "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgfmDLokoBNOC4afWgbFOWVeg30Uh\n"
                                       "+eX0a8wgB5TZZSdC6SsH01omCRV27/BFq/ZkYJx4GNYcy9IeVvVJ9AQGgA==\n"
                                       "-----END PUBLIC KEY-----\n";
static const char vec_p384_pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                                       "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEQQsnqeVegYKDDqihMyIUmg8ev8ng8R7K\n"
                                       "10ArdRpl34+/pqypFgJXAQXvPsy4B+sNzQCKICx56p8iRdgmtXy6ljtGLouHf1S8\n"
                                       "k/Na1VZr1dDuwfXs2q/lUck8cySYHgSK\n"
                                       "-----END PUBLIC KEY-----\n";

/* The expected value of PCR pcr in a bank: a pattern, so that every byte of every selected PCR counts. */
static inline void vec_pcr_value(unsigned pcr, size_t size, uint8_t *out)
{
    for (size_t j = 0; j < size; j++)
        out[j] = (uint8_t)(pcr * 16 + j * 7 + size);
}

/* The DER SubjectPublicKeyInfo of a PEM public key (OPENSSL_free), or NULL. */
static inline uint8_t *vec_spki_of(const char *pem, size_t *ret_len)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int n = key ? i2d_PUBKEY(key, &der) : -1;
    EVP_PKEY_free(key);
    BIO_free(bio);
    *ret_len = n > 0 ? (size_t)n : 0;
    return n > 0 ? der : NULL;
}

#endif
