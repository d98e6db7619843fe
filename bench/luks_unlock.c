/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_luks_unlock: what does the TPM path of `tagent luks` (the unlock on a later boot) cost on top of the
 * TPM commands it has to send?
 *
 * On one swtpm, provisioned with tep_provision_device() (profile dtpm: P-256 policy key, SHA-256 bank), with
 * a passphrase sealed at 0x8100A001 under authorized.policy and a state signed (OpenSSL) for PCRs 0, 7, 16
 * and version 0, it times (a) tagent's TPM path of the unlock, as luks_unlock.c drives it through
 * luks_tpm_ops: the digest of the PCRs now (luks_tpm_ops' digest_now: PCR_Read + the policy math) compared
 * with the signed one,
 * tpm_tep_unseal() (policy key from NV with its attribute check, LoadExternal, VerifySignature, SRK-salted
 * policy session with the SRK's Name checked, PolicyPCR, PolicyNV, PolicyAuthorize, Unseal) and
 * tpm_close_unseal(); (b) the baseline: the bare ESAPI sequence of the same unseal on its own ESYS context
 * over the same TCTI: NV_Read of the key, LoadExternal, VerifySignature, StartAuthSession salted with the
 * SRK, PolicyPCR, PolicyNV, PolicyAuthorize, Unseal, PCR_Extend, flushes; no checks, no trial digest. The
 * closing PCR is 16, which locality 0 may reset: after every sample (outside the timing) Esys_PCR_Reset puts
 * it back, so that the signed state matches again without a reboot. (a) and (b) run interleaved, in
 * alternating order. Target (issue 15): median(a) <= 1.1 x median(b).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "bench_tep.h"
#include "bench_util.h"
#include "harness.h"
#include "luks.h"
#include "luks_policy.h"
#include "policy_key.h"
#include "provision.h"
#include "quote.h"

#define TARGET_RATIO 1.1
#define CLOSING_PCR  16u
#define PCR_MASK     ((1u << 0) | (1u << 7) | (1u << CLOSING_PCR))
#define MARKER       "tagent: sealed secret consumed" /* quote/random.c's closing extend */

static const uint8_t SECRET[32] = "bench-luks-passphrase-0123456789";

struct opts {
    unsigned iterations, warmup;
};

struct row {
    const char *label;
    struct bench_samples wall, cpu;
};

/* The bare side: its own ESYS context, and what a minimal program would prepare once (key, signature). */
struct bare {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    struct policy_key key;
    TPM2B_DIGEST ahash;
    TPMT_SIGNATURE sig;
    TPML_DIGEST_VALUES closing; /* the marker's digest in every SHA bank */
    uint16_t spki_len;          /* NV 0x018A0000's size */
};

struct bench {
    struct opts opts;
    swtpm_t *swtpm;
    tpm_t *tpm;
    struct bench_tep_device dev; /* owner secret, signing key, AES key */
    char *dir, *root;
    uint8_t *spki;
    size_t spki_len;
    uint8_t srk_name[TPM_NAME_MAX];
    size_t srk_name_len;
    uint8_t approved[32];
    uint8_t sig[LUKS_POLICY_MAX_SIG];
    size_t sig_len;
    struct tpm_signed_policy policy;
    struct bare bare;
    struct row tagent, tagent_unseal, baseline;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_luks_unlock [-n ITERATIONS] [-w WARMUP]\n"
               "  -n N  samples of (a) and (b) each (default 200)\n"
               "  -w N  untimed warm-up rounds first (default 5)\n");
}

static int opts_parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.iterations = 200, .warmup = 5};
    const struct bench_option options[] = {
        {.letter = 'n', .long_name = "iterations", .count = &o->iterations, .min = 1, .max = 100000},
        {.letter = 'w', .long_name = "warmup", .count = &o->warmup, .max = 10000},
        {0},
    };
    const struct bench_cli cli = {"bench_luks_unlock", usage, options};
    return bench_opts_parse(&cli, argc, argv);
}

/* Prints and frees *error when r says the call failed. */
static int check(int r, const char *what, char **error)
{
    if (r < 0)
        fprintf(stderr, "bench_luks_unlock: %s: %s\n", what, *error ? *error : strerror(-r));
    free(*error);
    *error = NULL;
    return r;
}

static int esys_check(TSS2_RC rc, const char *what)
{
    if (rc == TSS2_RC_SUCCESS)
        return 0;
    fprintf(stderr, "bench_luks_unlock: %s: 0x%x\n", what, rc);
    return -EIO;
}

static int row_init(struct row *row, size_t cap, const char *label)
{
    row->label = label;
    int r = bench_samples_init(&row->wall, cap);
    return r == 0 ? bench_samples_init(&row->cpu, cap) : r;
}

static void row_free(struct row *row)
{
    bench_samples_free(&row->wall);
    bench_samples_free(&row->cpu);
}

/* ---- set-up: provision-device, the sealed passphrase, the signed state ---- */

static int device_provision(struct bench *b)
{
    char *error = NULL;
    int r = check(bench_tep_provision(b->tpm, b->dir, b->root, TEPC_PROFILE_DTPM, &b->dev, &error), "set-up",
                  &error);
    /* what every command's TPM access does once provisioned (provision/tpm_access.c): salted sessions of
     * this tpm_t go through the recorded SRK */
    if (r == 0)
        r = check(tep_srk_pin(b->root, b->tpm, &error), "SRK pin", &error);
    if (r == 0)
        r = check(tpm_srk_ensure(b->tpm, &b->dev.owner, b->srk_name, &b->srk_name_len, &error), "SRK",
                  &error);
    if (r == 0)
        r = check(tpm_tep_policy_key_read(b->tpm, &b->spki, &b->spki_len, &error), "policy key", &error);
    return r;
}

/* authorized.policy of the owner's key, the passphrase sealed under it, and the state of the PCRs now
 * (+ version 0) signed by the owner: digests from luks/policy, the signature from OpenSSL. */
static int seal_and_sign(struct bench *b)
{
    uint8_t name[LUKS_POLICY_MAX_NAME], authorized[32];
    size_t name_len = 0;
    char *error = NULL;
    int r = check(luks_policy_key_name(b->spki, b->spki_len, name, &name_len, &error), "key name", &error);
    if (r == 0)
        r = check(luks_policy_authorized(name, name_len, authorized, &error), "authorized.policy", &error);
    if (r == 0)
        r = check(tpm_tep_seal(b->tpm, &b->dev.owner, authorized, SECRET, sizeof(SECRET), b->srk_name,
                               b->srk_name_len, true, &error),
                  "seal", &error);
    struct luks_pcr_state state = {.bank = TPM_BANK_SHA256, .pcr_mask = PCR_MASK, .has_version = true};
    uint8_t values[24][64];
    if (r == 0)
        r = check(tpm_pcr_read(b->tpm, TPM_BANK_SHA256, PCR_MASK, values, &error), "PCR read", &error);
    for (unsigned i = 0; r == 0 && i < 24; i++)
        if (PCR_MASK & (1u << i))
            memcpy(state.values[i], values[i], 32);
    if (r == 0)
        r = check(luks_policy_approved(&state, b->approved, &error), "approved policy", &error);
    EVP_MD_CTX *ctx = r == 0 ? EVP_MD_CTX_new() : NULL;
    b->sig_len = sizeof(b->sig);
    if (r == 0 && (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, b->dev.sign) != 1 ||
                   EVP_DigestSign(ctx, b->sig, &b->sig_len, b->approved, 32) != 1))
        r = -EIO;
    EVP_MD_CTX_free(ctx);
    b->policy = (struct tpm_signed_policy){.bank = TPM_BANK_SHA256,
                                           .pcr_mask = PCR_MASK,
                                           .has_version = true,
                                           .version = 0,
                                           .approved = b->approved,
                                           .signature = b->sig,
                                           .signature_len = b->sig_len};
    return r;
}

/* The bare side's context, and what it prepares once: the key's public area, aHash, the signature in TPM
 * form, the closing digests. */
static int bare_setup(struct bench *b)
{
    struct bare *x = &b->bare;
    char *error = NULL;
    int r = esys_check(Tss2_TctiLdr_Initialize(b->swtpm->tcti, &x->tcti), "TCTI");
    if (r == 0)
        r = esys_check(Esys_Initialize(&x->esys, x->tcti, NULL), "Esys_Initialize");
    x->spki_len = (uint16_t)b->spki_len;
    if (r == 0)
        r = check(policy_key_public(b->spki, b->spki_len, &x->key, &error), "key", &error);
    if (r == 0)
        r = check(policy_key_ahash(&x->key, b->approved, &x->ahash, &error), "aHash", &error);
    if (r == 0)
        r = check(policy_key_signature(&x->key, b->sig, b->sig_len, &x->sig, &error), "signature", &error);
    uint16_t banks[8];
    size_t n = 0;
    if (r == 0)
        r = check(tpm_pcr_banks(b->tpm, banks, &n, &error), "PCR banks", &error);
    for (size_t i = 0; r == 0 && i < n; i++) {
        const EVP_MD *md = banks[i] == TPM2_ALG_SHA1     ? EVP_sha1()
                           : banks[i] == TPM2_ALG_SHA256 ? EVP_sha256()
                           : banks[i] == TPM2_ALG_SHA384 ? EVP_sha384()
                           : banks[i] == TPM2_ALG_SHA512 ? EVP_sha512()
                                                         : NULL;
        if (!md)
            continue;
        TPMT_HA *d = &x->closing.digests[x->closing.count++];
        d->hashAlg = banks[i];
        if (!EVP_Digest(MARKER, strlen(MARKER), (unsigned char *)&d->digest, NULL, md, NULL))
            r = -EIO;
    }
    return r;
}

/* ---- the rows ---- */

/* PCR 16 back to zero, outside the timing: the signed state matches again. */
static int pcr_reset(struct bench *b)
{
    return esys_check(Esys_PCR_Reset(b->bare.esys, ESYS_TR_PCR0 + CLOSING_PCR, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                     ESYS_TR_NONE),
                      "PCR_Reset");
}

static void sample_add(struct row *row, uint64_t w0, uint64_t c0, uint64_t w1, uint64_t c1)
{
    bench_samples_add(&row->wall, w1 - w0);
    bench_samples_add(&row->cpu, c1 - c0);
}

static int time_tagent(struct bench *b, bool record)
{
    char *error = NULL;
    uint8_t digest[32], *secret = NULL;
    size_t len = 0;
    uint64_t w0 = bench_mono_ns(), c0 = bench_thread_cpu_ns();
    /* the device's own op (luks/luks_tpm.c): PCR_Read + the policy math, as luks_unlock() picks a state */
    struct luks_tpm state = {.tpm = b->tpm};
    struct luks_tpm_ops ops;
    luks_tpm_ops_init(&state, &ops);
    int r = check(ops.digest_now(ops.userdata, &b->policy, digest, &error), "digest now", &error);
    if (r == 0 && CRYPTO_memcmp(digest, b->approved, 32) != 0)
        r = -EPROTO;
    uint64_t w1 = bench_mono_ns(), c1 = bench_thread_cpu_ns();
    if (r == 0)
        r = check(tpm_tep_unseal(b->tpm, &b->policy, b->srk_name, b->srk_name_len, &secret, &len, &error),
                  "tpm_tep_unseal", &error);
    if (r == 0)
        r = check(tpm_close_unseal(b->tpm, CLOSING_PCR, &error), "tpm_close_unseal", &error);
    uint64_t w2 = bench_mono_ns(), c2 = bench_thread_cpu_ns();
    if (r == 0 && (len != sizeof(SECRET) || memcmp(secret, SECRET, len) != 0))
        r = -EPROTO;
    if (secret)
        tpm_secret_free(secret, len);
    if (r == 0 && record) {
        sample_add(&b->tagent, w0, c0, w2, c2);
        sample_add(&b->tagent_unseal, w1, c1, w2, c2);
    }
    return r == 0 ? pcr_reset(b) : r;
}

static const TPMT_SYM_DEF session_aes = {
    .algorithm = TPM2_ALG_AES, .keyBits = {.aes = 128}, .mode = {.aes = TPM2_ALG_CFB}};

/* One bare unseal; every handle it made is flushed or closed. */
static int bare_unseal(struct bare *x, const struct tpm_signed_policy *policy, TPM2B_SENSITIVE_DATA **out)
{
    static const TPM2B_DIGEST current = {0};
    static const TPM2B_NONCE no_ref = {0};
    ESYS_TR nv = ESYS_TR_NONE, ext = ESYS_TR_NONE, srk = ESYS_TR_NONE, session = ESYS_TR_NONE,
            version = ESYS_TR_NONE, sealed = ESYS_TR_NONE;
    TPM2B_MAX_NV_BUFFER *spki = NULL;
    TPMT_TK_VERIFIED *ticket = NULL;
    TPM2B_NAME *name = NULL;
    TPML_PCR_SELECTION sel = {
        .count = 1,
        .pcrSelections = {{.hash = TPM2_ALG_SHA256,
                           .sizeofSelect = 3,
                           .pcrSelect = {PCR_MASK & 0xff, (PCR_MASK >> 8) & 0xff, (PCR_MASK >> 16) & 0xff}}}};
    TPM2B_OPERAND operand = {.size = 8}; /* version 0 */
    TPM2B_DIGEST approved = {.size = 32};
    memcpy(approved.buffer, policy->approved, 32);

    TSS2_RC rc =
        Esys_TR_FromTPMPublic(x->esys, TPM_NV_TEP_POLICY_KEY, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_NV_Read(x->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, x->spki_len, 0,
                          &spki);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_LoadExternal(x->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, &x->key.pub,
                               ESYS_TR_RH_OWNER, &ext);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_VerifySignature(x->esys, ext, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &x->ahash, &x->sig,
                                  &ticket);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_TR_FromTPMPublic(x->esys, TPM_HANDLE_SRK_ECC, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   &srk);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_StartAuthSession(x->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL,
                                   TPM2_SE_POLICY, &session_aes, TPM2_ALG_SHA256, &session);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_TRSess_SetAttributes(x->esys, session, TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
                                       0xff);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_PolicyPCR(x->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &sel);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_TR_FromTPMPublic(x->esys, TPM_NV_TEP_LUKS_VERSION, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   &version);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_PolicyNV(x->esys, version, version, session, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &operand, 0, TPM2_EO_EQ);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_TR_GetName(x->esys, ext, &name);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_PolicyAuthorize(x->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &approved,
                                  &no_ref, name, ticket);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_TR_FromTPMPublic(x->esys, TPM_HANDLE_TEP_SEALED, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   &sealed);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_Unseal(x->esys, sealed, session, ESYS_TR_NONE, ESYS_TR_NONE, out);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_PCR_Extend(x->esys, ESYS_TR_PCR0 + CLOSING_PCR, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                             ESYS_TR_NONE, &x->closing);
    if (ext != ESYS_TR_NONE)
        Esys_FlushContext(x->esys, ext);
    if (session != ESYS_TR_NONE)
        Esys_FlushContext(x->esys, session);
    ESYS_TR closes[] = {nv, srk, version, sealed};
    for (size_t i = 0; i < sizeof(closes) / sizeof(closes[0]); i++)
        if (closes[i] != ESYS_TR_NONE)
            Esys_TR_Close(x->esys, &closes[i]);
    Esys_Free(spki);
    Esys_Free(ticket);
    Esys_Free(name);
    return esys_check(rc, "bare unseal");
}

static int time_bare(struct bench *b, bool record)
{
    TPM2B_SENSITIVE_DATA *out = NULL;
    uint64_t w0 = bench_mono_ns(), c0 = bench_thread_cpu_ns();
    int r = bare_unseal(&b->bare, &b->policy, &out);
    uint64_t w1 = bench_mono_ns(), c1 = bench_thread_cpu_ns();
    if (r == 0 && (out->size != sizeof(SECRET) || memcmp(out->buffer, SECRET, out->size) != 0))
        r = -EPROTO;
    if (out)
        OPENSSL_cleanse(out, sizeof(*out));
    Esys_Free(out);
    if (r == 0 && record)
        sample_add(&b->baseline, w0, c0, w1, c1);
    return r == 0 ? pcr_reset(b) : r;
}

static int bench_run(struct bench *b)
{
    int r = 0;
    for (unsigned i = 0; r == 0 && i < b->opts.warmup; i++) {
        r = time_tagent(b, false);
        if (r == 0)
            r = time_bare(b, false);
    }
    /* alternating order: whatever warms swtpm up for the second of a pair favours each row equally */
    for (unsigned i = 0; r == 0 && i < b->opts.iterations; i++) {
        r = i % 2 ? time_bare(b, true) : time_tagent(b, true);
        if (r == 0)
            r = i % 2 ? time_tagent(b, true) : time_bare(b, true);
    }
    return r;
}

/* ---- report ---- */

static double quantile_ms(struct bench_samples *s, double q)
{
    bench_samples_sort(s);
    return bench_samples_quantile(s, q) / 1e6;
}

static void row_print(struct row *row)
{
    printf("| %-52s | %9.3f | %9.3f | %9.3f | %8.3f |\n", row->label, quantile_ms(&row->wall, 0.5),
           quantile_ms(&row->wall, 0.1), quantile_ms(&row->wall, 0.9), quantile_ms(&row->cpu, 0.5));
}

static void bench_report(struct bench *b)
{
    printf(
        "\nbench_luks_unlock: swtpm at %s, PCRs sha256:0,7,16 + version, closing PCR %u, %u samples each\n\n",
        b->swtpm->tcti, CLOSING_PCR, b->opts.iterations);
    printf("| %-52s | %9s | %9s | %9s | %8s |\n", "row", "median ms", "p10 ms", "p90 ms", "cpu ms");
    printf(
        "|------------------------------------------------------|-----------|-----------|-----------|--------"
        "--|\n");
    row_print(&b->tagent);
    row_print(&b->tagent_unseal);
    row_print(&b->baseline);
    double base = quantile_ms(&b->baseline.wall, 0.5);
    double ratio = quantile_ms(&b->tagent.wall, 0.5) / base;
    printf("\nratio (a)/(b) of the medians: %.3f (target <= %.1f): %s\n", ratio, TARGET_RATIO,
           ratio <= TARGET_RATIO ? "MET" : "MISSED");
    printf("ratio (a')/(b), without the trial digest: %.3f\n",
           quantile_ms(&b->tagent_unseal.wall, 0.5) / base);
}

/* ---- set-up and main ---- */

static int bench_setup(struct bench *b)
{
    static const struct swtpm_opts swtpm_opts = {.skip_setup = true};
    char *error = NULL, *cmd = NULL;
    int r = harness_tmpdir_create("bench-luks-unlock", &b->dir);
    if (r == 0 && (asprintf(&b->root, "%s/root", b->dir) < 0 || asprintf(&cmd, "mkdir -p '%s'", b->root) < 0))
        r = -ENOMEM;
    if (r == 0 && system(cmd) != 0)
        r = -EIO;
    free(cmd);
    if (r == 0)
        r = swtpm_start(&swtpm_opts, &b->swtpm);
    if (r == 0)
        r = check(tpm_open(b->swtpm->tcti, &b->tpm, &error), "tpm_open", &error);
    if (r == 0)
        r = device_provision(b);
    if (r == 0)
        r = seal_and_sign(b);
    if (r == 0)
        r = bare_setup(b);
    unsigned n = b->opts.iterations;
    if (r == 0)
        r = row_init(&b->tagent, n, "(a) tagent: digest_now + tep_unseal + close_unseal");
    if (r == 0)
        r = row_init(&b->tagent_unseal, n, "(a') of which tep_unseal + close_unseal");
    if (r == 0)
        r = row_init(&b->baseline, n, "(b) bare ESAPI sequence [baseline]");
    return r;
}

static void bench_free(struct bench *b)
{
    row_free(&b->tagent);
    row_free(&b->tagent_unseal);
    row_free(&b->baseline);
    if (b->bare.esys)
        Esys_Finalize(&b->bare.esys);
    Tss2_TctiLdr_Finalize(&b->bare.tcti);
    bench_tep_device_clear(&b->dev);
    tpm_close(b->tpm);
    swtpm_free(b->swtpm);
    free(b->spki);
    free(b->root);
    if (b->dir)
        harness_tmpdir_remove(b->dir);
    free(b->dir);
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    int r = opts_parse(argc, argv, &b.opts);
    if (r != 0)
        return r > 0 ? 0 : 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    r = bench_setup(&b);
    if (r == 0)
        r = bench_run(&b);
    if (r == 0)
        bench_report(&b);
    else
        fprintf(stderr, "bench_luks_unlock: failed (%s)\n", strerror(-r));
    bench_free(&b);
    return r == 0 ? 0 : 1;
}
