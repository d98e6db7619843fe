/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * provision-aik (spec 3.4): EK from its certificate's template, a new AIK under it, then HVS's two-round
 * identity challenge: round 1 sends the EK certificate (chain first) and gets a credential only this TPM can
 * open; round 2 returns what it held and gets the AIK certificate, stored as aik.pem (0640).
 */
#include "control_plane.h"
#include "privacy_ca.h"
#include "tasks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* True when the certificate's RSA modulus is the AIK's. */
static bool cert_is_for(X509 *x, const uint8_t modulus[256])
{
    EVP_PKEY *key = X509_get0_pubkey(x);
    BIGNUM *n = NULL;
    uint8_t buf[256];
    bool same = key && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) && BN_num_bytes(n) == 256 &&
                BN_bn2binpad(n, buf, 256) == 256 && memcmp(buf, modulus, 256) == 0;
    BN_free(n);
    return same;
}

static int validate(struct provision_ctx *ctx)
{
    char *pem = NULL;
    size_t len = 0;
    tpm_t *tpm;
    struct tpm_aik_info aik = {0};
    struct tpm_error err;
    if (cp_read(ctx, TAGENT_AIK_PEM, &pem, &len) < 0)
        return -ENOENT;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    int r = x ? provision_tpm(ctx, &tpm) : -EBADMSG;
    if (r == 0)
        r = tpm_aik_info(tpm, &aik, &err);
    if (r == 0 && !cert_is_for(x, aik.modulus))
        r = -ESTALE; /* the TPM's AIK changed since the certificate was issued */
    free(aik.pem);
    X509_free(x);
    BIO_free(bio);
    free(pem);
    return r;
}

/* One round: payload out, proof in, ActivateCredential, decrypt. */
static int challenge_round(struct provision_ctx *ctx, const char *path, const uint8_t *ca_der, size_t ca_len,
                           const struct tpm_aik_info *aik, const struct tpm_auth *endorsement, const uint8_t *payload,
                           size_t payload_len, uint8_t **ret, size_t *ret_len)
{
    static const char *const headers[] = {"Accept: application/json", "Content-Type: application/json", NULL};
    char *json = NULL, *error = NULL;
    struct https_response resp = {0};
    struct identity_proof proof = {0};
    struct tpm_error terr = {0};
    uint8_t *key = NULL;
    size_t key_len = 0;
    tpm_t *tpm;
    int r = privacy_ca_payload_json(ca_der, ca_len, aik, payload, payload_len, &json, &error);
    if (r == 0)
        r = cp_request(ctx, "POST", ctx->cfg->hvs_url, path, headers, json, 200, &resp);
    if (r == 0)
        r = identity_proof_parse((const char *)resp.body, resp.body_len, &proof, &error);
    if (r == 0)
        r = provision_tpm(ctx, &tpm);
    if (r == 0 && (r = tpm_activate_credential(tpm, endorsement, proof.credential, proof.credential_len,
                                               proof.secret, proof.secret_len, &key, &key_len, &terr)) < 0)
        provision_tpm_error(ctx, r, &terr);
    if (r == 0 && key_len != 16)
        r = cp_error(ctx, -EBADMSG, "POST %s: the credential holds a %zu-byte key, not an AES-128 key", path, key_len);
    if (r == 0)
        r = privacy_ca_decrypt(key, proof.iv, proof.blob, proof.blob_len, ret, ret_len, &error);
    if (r < 0 && error)
        cp_error(ctx, r, "%s: %s", path, error);
    if (key) {
        OPENSSL_cleanse(key, key_len);
        free(key);
    }
    identity_proof_free(&proof);
    https_response_free(&resp);
    free(json);
    free(error);
    return r;
}

static int run(struct provision_ctx *ctx)
{
    struct tpm_auth owner = {0}, endorsement = {0};
    struct tpm_ek_cert ek = {0};
    struct tpm_aik_info aik = {0};
    struct tpm_error terr = {0};
    char *ca = NULL;
    size_t ca_len = 0, payload_len = 0, challenge_len = 0, cert_len = 0;
    uint8_t *payload = NULL, *challenge = NULL, *cert = NULL;
    tpm_t *tpm = NULL;
    X509 *x = NULL;

    int r = cp_require(ctx, ctx->cfg->hvs_url, "HVS_URL", "the HVS URL");
    if (r == 0)
        r = cp_require(ctx, ctx->cfg->bearer_token, "BEARER_TOKEN", "the installation token from AAS");
    if (r == 0 && cp_read(ctx, TAGENT_PRIVACY_CA, &ca, &ca_len) < 0)
        r = cp_error(ctx, -ENOENT, "%s is missing: run `tagent setup download-privacy-ca` first", TAGENT_PRIVACY_CA);
    if (r == 0)
        r = provision_tpm(ctx, &tpm);
    if (r == 0)
        r = provision_auth(ctx, ctx->cfg->owner_secret, "TPM_OWNER_SECRET", &owner);
    if (r == 0)
        r = provision_auth(ctx, ctx->cfg->endorsement_secret, "TPM_ENDORSEMENT_SECRET", &endorsement);
    if (r < 0)
        goto out;

    /* EK and AIK in the TPM */
    if ((r = tpm_ek_cert_read(tpm, &owner, &ek, &terr)) < 0 || (r = tpm_ek_provision(tpm, &owner, &endorsement, &ek, &terr)) < 0 ||
        (r = tpm_aik_provision(tpm, &owner, &endorsement, &terr)) < 0 || (r = tpm_aik_info(tpm, &aik, &terr)) < 0) {
        provision_tpm_error(ctx, r, &terr);
        goto out;
    }
    /* round 1: the EK certificate, the on-die chain first */
    payload_len = ek.chain_len + ek.der_len;
    if (!(payload = malloc(payload_len))) {
        r = -ENOMEM;
        goto out;
    }
    if (ek.chain_len)
        memcpy(payload, ek.chain, ek.chain_len);
    memcpy(payload + ek.chain_len, ek.der, ek.der_len);
    r = challenge_round(ctx, "privacyca/identity-challenge-request", (uint8_t *)ca, ca_len, &aik, &endorsement,
                        payload, payload_len, &challenge, &challenge_len);
    /* round 2: the challenge back; the answer is the AIK certificate */
    if (r == 0)
        r = challenge_round(ctx, "privacyca/identity-challenge-response", (uint8_t *)ca, ca_len, &aik, &endorsement,
                            challenge, challenge_len, &cert, &cert_len);
    const unsigned char *p = cert;
    if (r == 0 && !(x = d2i_X509(NULL, &p, (long)cert_len)))
        r = cp_error(ctx, -EBADMSG, "HVS's answer to the identity challenge is not an X.509 certificate");
    if (r == 0 && !cert_is_for(x, aik.modulus))
        r = cp_error(ctx, -EKEYREJECTED, "HVS issued an AIK certificate for another key; refusing to store it");
    if (r == 0) {
        BIO *bio = BIO_new(BIO_s_mem());
        char *pem = NULL;
        long pem_len = bio && PEM_write_bio_X509(bio, x) ? BIO_get_mem_data(bio, &pem) : 0;
        r = pem_len > 0 ? cp_write(ctx, TAGENT_AIK_PEM, pem, (size_t)pem_len, 0640, 0755) : -ENOMEM;
        BIO_free(bio);
    }
out:
    if (challenge)
        OPENSSL_cleanse(challenge, challenge_len);
    free(challenge);
    free(cert);
    free(payload);
    free(ca);
    free(aik.pem);
    X509_free(x);
    tpm_ek_cert_free(&ek);
    tpm_auth_clear(&owner);
    tpm_auth_clear(&endorsement);
    return r;
}

const struct provision_task task_provision_aik = {
    .name = "provision-aik",
    .summary = "create the EK and AIK and get the AIK certificate from HVS's privacy CA (/etc/trustagent/aik.pem)",
    .remedy = "check the errors above: HVS must trust this TPM's EK certificate (see fetch-ekcert-with-issuer), "
              "and TPM_OWNER_SECRET / TPM_ENDORSEMENT_SECRET must be right",
    .validate = validate,
    .run = run,
};
