/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to provision/: the agent's side of HVS's privacy-CA protocol (spec section 3.4).
 *   payload out: IdentityChallengePayload = identity_request (AIK modulus + name) and a payload encrypted
 *                with AES-128-CBC (PKCS#7) under a fresh key, that key RSA-OAEP(SHA-256, empty label)
 *                encrypted to the Privacy CA's public key;
 *   proof in:    IdentityProofRequest = secret + credential (TPM2 MakeCredential to the EK, bound to the AIK
 *                name) wrapping K2, and a blob AES-128-CBC encrypted under K2.
 */
#ifndef TAGENT_PROVISION_PRIVACY_CA_H
#define TAGENT_PROVISION_PRIVACY_CA_H

#include <stddef.h>
#include <stdint.h>

#include "quote.h"

/* The IdentityChallengePayload JSON for payload (the EK certificate bytes, then the challenge). */
int privacy_ca_payload_json(const uint8_t *privacy_ca_der, size_t der_len, const struct tpm_aik_info *aik,
                            const uint8_t *payload, size_t payload_len, char **ret_json, char **ret_error);

struct identity_proof {
    uint8_t *secret; /* TPM2B_ENCRYPTED_SECRET.secret (size prefix removed) */
    size_t secret_len;
    uint8_t *credential; /* TPM2B_ID_OBJECT.credential (size prefix removed) */
    size_t credential_len;
    uint8_t iv[16];
    uint8_t *blob; /* AES-128-CBC ciphertext */
    size_t blob_len;
};

/* Parses an IdentityProofRequest JSON; every field is checked (sizes, base64, the u16 size prefixes). */
int identity_proof_parse(const char *json, size_t len, struct identity_proof *ret_proof, char **ret_error);
void identity_proof_free(struct identity_proof *proof);

/* AES-128-CBC decryption with PKCS#7 removal (caller frees *ret_plain; wipe it if secret). */
int privacy_ca_decrypt(const uint8_t key[16], const uint8_t iv[16], const uint8_t *blob, size_t len,
                       uint8_t **ret_plain, size_t *ret_len, char **ret_error);

#endif
