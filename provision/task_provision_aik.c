/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * provision-aik (spec 3.4): EK from its certificate's template, a new AIK under it, then HVS's two-round
 * identity challenge: round 1 sends the EK certificate (chain first) and gets a credential only this TPM can
 * open; round 2 returns what it held and gets the AIK certificate, stored as aik.pem (0640).
 */
#include "control_plane.h"
#include "privacy_ca.h"
#include "tasks.h"

#include "cleanup.h"
#include "cleanup_openssl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define ROUND_1_PATH "privacyca/identity-challenge-request"
#define ROUND_2_PATH "privacyca/identity-challenge-response"

/* Frees what tpm_aik_info() filled in. */
static void aik_info_done(struct tpm_aik_info *aik)
{
    free(aik->pem);
    aik->pem = NULL;
}

/* True when the certificate's RSA modulus is the AIK's. */
static bool cert_is_for(X509 *x, const uint8_t modulus[256])
{
    EVP_PKEY *key = X509_get0_pubkey(x);
    _cleanup_(BN_freep) BIGNUM *n = NULL;
    uint8_t buf[256];
    return key && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) && BN_num_bytes(n) == 256 &&
           BN_bn2binpad(n, buf, 256) == 256 && memcmp(buf, modulus, 256) == 0;
}

static int validate(struct provision_ctx *ctx)
{
    _cleanup_free_ char *pem = NULL;
    _cleanup_(X509_freep) X509 *x = NULL;
    _cleanup_(aik_info_done) struct tpm_aik_info aik = {0};
    size_t len = 0;
    tpm_t *tpm;
    if (cp_read(ctx, TAGENT_AIK_PEM, &pem, &len) < 0)
        return -ENOENT;
    int r = cp_cert_from_pem(pem, len, &x);
    if (r == 0)
        r = provision_tpm(ctx, &tpm);
    if (r == 0)
        r = tpm_aik_info(tpm, &aik, NULL);
    if (r == 0 && !cert_is_for(x, aik.modulus))
        r = -ESTALE; /* the TPM's AIK changed since the certificate was issued */
    return r;
}

/* One round: payload out, proof in, ActivateCredential, decrypt. */
static int challenge_round(struct provision_ctx *ctx, const char *path, const uint8_t *ca_der, size_t ca_len,
                           const struct tpm_aik_info *aik, const struct tpm_auth *endorsement,
                           const uint8_t *payload, size_t payload_len, uint8_t **ret, size_t *ret_len)
{
    static const char *const headers[] = {"Accept: application/json", "Content-Type: application/json", NULL};
    _cleanup_free_ char *json = NULL, *error = NULL;
    _cleanup_free_ char *tpm_error = NULL; /* quote/'s words, reported as they are (error gets the path) */
    _cleanup_(https_response_free) struct https_response resp = {0};
    _cleanup_(identity_proof_free) struct identity_proof proof = {0};
    uint8_t *key = NULL; /* the AES key the TPM released: wiped below */
    size_t key_len = 0;
    tpm_t *tpm;
    int r = privacy_ca_payload_json(ca_der, ca_len, aik, payload, payload_len, &json, &error);
    if (r == 0)
        r = cp_request(ctx, "POST", ctx->cfg->hvs_url, path, headers, json, 200, &resp);
    if (r == 0)
        r = identity_proof_parse((const char *)resp.body, resp.body_len, &proof, &error);
    if (r == 0)
        r = provision_tpm(ctx, &tpm);
    if (r == 0 &&
        (r = tpm_activate_credential(tpm, endorsement, proof.credential, proof.credential_len, proof.secret,
                                     proof.secret_len, &key, &key_len, &tpm_error)) < 0)
        provision_tpm_error(ctx, r, tpm_error);
    if (r == 0 && key_len != 16)
        r = cp_error(ctx, -EBADMSG, "POST %s: the credential holds a %zu-byte key, not an AES-128 key", path,
                     key_len);
    if (r == 0)
        r = privacy_ca_decrypt(key, proof.iv, proof.blob, proof.blob_len, ret, ret_len, &error);
    if (r < 0 && error)
        cp_error(ctx, r, "%s: %s", path, error);
    if (key)
        OPENSSL_cleanse(key, key_len);
    free(key);
    return r;
}

/* Round 1's payload: the EK certificate, the on-die chain first. */
static int ek_payload(const struct tpm_ek_cert *ek, uint8_t **ret, size_t *ret_len)
{
    size_t len = ek->chain_len + ek->der_len;
    uint8_t *p = malloc(len);
    if (!p)
        return -ENOMEM;
    if (ek->chain_len)
        memcpy(p, ek->chain, ek->chain_len);
    memcpy(p + ek->chain_len, ek->der, ek->der_len);
    *ret = p;
    *ret_len = len;
    return 0;
}

/* HVS's answer to round 2, stored as aik.pem once it shows itself a certificate for this AIK. */
static int aik_cert_store(struct provision_ctx *ctx, const uint8_t *der, size_t len,
                          const uint8_t modulus[256])
{
    const unsigned char *p = der;
    _cleanup_(X509_freep) X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x)
        return cp_error(ctx, -EBADMSG, "HVS's answer to the identity challenge is not an X.509 certificate");
    if (!cert_is_for(x, modulus))
        return cp_error(ctx, -EKEYREJECTED,
                        "HVS issued an AIK certificate for another key; refusing to store it");
    return cp_write_cert_pem(ctx, TAGENT_AIK_PEM, x, 0640);
}

static int run(struct provision_ctx *ctx)
{
    _cleanup_(tpm_auth_clear) struct tpm_auth owner = {0}, endorsement = {0};
    _cleanup_(tpm_ek_cert_free) struct tpm_ek_cert ek = {0};
    _cleanup_(aik_info_done) struct tpm_aik_info aik = {0};
    _cleanup_free_ char *ca = NULL;
    _cleanup_free_ uint8_t *cert = NULL;
    uint8_t *payload = NULL;   /* what round 1 sends */
    uint8_t *challenge = NULL; /* round 1's answer, which only this TPM could open: wiped below */
    size_t ca_len = 0, payload_len = 0, challenge_len = 0, cert_len = 0;
    _cleanup_free_ char *tpm_error = NULL;
    tpm_t *tpm = NULL;

    int r = cp_require_service(ctx, ctx->cfg->hvs_url, "HVS_URL", "HVS");
    if (r == 0 && cp_read(ctx, TAGENT_PRIVACY_CA, &ca, &ca_len) < 0)
        r = cp_error(ctx, -ENOENT, "%s is missing: run `tagent setup download-privacy-ca` first",
                     TAGENT_PRIVACY_CA);
    if (r == 0)
        r = provision_tpm_owner(ctx, &tpm, &owner, &endorsement);
    /* EK and AIK in the TPM */
    if (r == 0 && ((r = tpm_ek_cert_read(tpm, &owner, &ek, &tpm_error)) < 0 ||
                   (r = tpm_ek_provision(tpm, &owner, &endorsement, &ek, &tpm_error)) < 0 ||
                   (r = tpm_aik_provision(tpm, &owner, &endorsement, &tpm_error)) < 0 ||
                   (r = tpm_aik_info(tpm, &aik, &tpm_error)) < 0))
        provision_tpm_error(ctx, r, tpm_error);
    /* round 1: the EK certificate out; a challenge only this TPM can open back */
    if (r == 0)
        r = ek_payload(&ek, &payload, &payload_len);
    if (r == 0)
        r = challenge_round(ctx, ROUND_1_PATH, (uint8_t *)ca, ca_len, &aik, &endorsement, payload,
                            payload_len, &challenge, &challenge_len);
    /* freed by hand once round 1 is over: clang-tidy 14 does not model _cleanup_ and would report a leak */
    free(payload);
    /* round 2: the challenge back; the answer is the AIK certificate */
    if (r == 0)
        r = challenge_round(ctx, ROUND_2_PATH, (uint8_t *)ca, ca_len, &aik, &endorsement, challenge,
                            challenge_len, &cert, &cert_len);
    if (r == 0)
        r = aik_cert_store(ctx, cert, cert_len, aik.modulus);
    if (challenge)
        OPENSSL_cleanse(challenge, challenge_len);
    free(challenge);
    return r;
}

const struct provision_task task_provision_aik = {
    .name = "provision-aik",
    .summary =
        "create the EK and AIK and get the AIK certificate from HVS's privacy CA (/etc/trustagent/aik.pem)",
    .remedy =
        "check the errors above: HVS must trust this TPM's EK certificate (see fetch-ekcert-with-issuer), "
        "and TPM_OWNER_SECRET / TPM_ENDORSEMENT_SECRET must be right",
    .validate = validate,
    .run = run,
};
