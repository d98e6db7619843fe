/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tagent-admin luks policy: the owner's side of docs/tep-formats.md 5. From the owner's policy key and the
 * PCR values a device will have, writes authorized.policy (what the passphrase is sealed to), the signed
 * approved policy (pcrA_B_C.pcr.policy + .signature) and signed-states.json. The math is luks/policy/'s, the
 * same the device uses.
 */
#include "admin.h"
#include "admin_luks.h"
#include "cleanup_openssl.h"
#include "error.h"
#include "hex.h"
#include "tcg_alg.h"
#include "tepc.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* --eventlog: several logs make several signed states (old and new firmware during an update). */
#define MAX_LOGS   16
#define STATES_MAX (1024 * 1024)

struct policy_args {
    const char *pub, *priv, *values, *tpm_type, *bank, *pcrs, *version, *append, *out;
    const char *logs[MAX_LOGS];
    size_t n_logs;
    bool no_version;
};

/* Decimal 0..2^53-1: the device's index starts at 0 (provision-device); raising it revokes older policies. */
static int version_parse(const char *s, uint64_t *ret, char **ret_error)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
    if (!end || *end || errno || v > LUKS_POLICY_MAX_VERSION)
        return error_set(ret_error, -EINVAL,
                         "--version \"%s\": give a decimal number from 0 to 9007199254740991, the value the "
                         "device's version index (0x%08x) will hold",
                         s, LUKS_VERSION_NV_INDEX);
    *ret = v;
    return 0;
}

/* The pair of keys, the profile --tpm-type names and the curve they are on agree. */
static int keys_load(const struct policy_args *a, EVP_PKEY **ret_priv, uint8_t **ret_spki, size_t *ret_len,
                     char **ret_error)
{
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *priv = NULL, *pub = NULL;
    _cleanup_openssl_free_ uint8_t *spki = NULL;
    size_t len = 0;
    enum tepc_profile want;
    int r, prof = 0;
    if ((r = tepc_profile_from_name(a->tpm_type, &want, ret_error)) < 0 ||
        (r = admin_public_key_load(a->pub, &spki, &len, ret_error)) < 0 ||
        (r = admin_private_key_load(a->priv, ADMIN_SIGN_KEY_HINT, &priv, ret_error)) < 0 ||
        (r = admin_key_profile(priv, &prof, ret_error)) < 0)
        return r;
    if ((enum tepc_profile)prof != want)
        return error_set(ret_error, -EINVAL,
                         "--tpm-type %s needs a %s key, but %s is on %s: the TPM verifies the signature with "
                         "the hash of the key's size (ptt: P-384/SHA-384, dtpm: P-256/SHA-256)",
                         a->tpm_type, tepc_profile_params(want)->curve_sn, a->priv,
                         tepc_profile_params((enum tepc_profile)prof)->curve_sn);
    const unsigned char *p = spki;
    pub = d2i_PUBKEY(NULL, &p, (long)len);
    if (!pub || EVP_PKEY_eq(priv, pub) != 1)
        return error_set(ret_error, -EINVAL,
                         "%s is not the public half of %s: give the pair the device's key (NV 0x018A0000) "
                         "was made from",
                         a->pub, a->priv);
    *ret_priv = TAKE_PTR(priv);
    *ret_spki = TAKE_PTR(spki);
    *ret_len = len;
    return 0;
}

/* DER ECDSA over the 32-byte digest with the key's hash, as `openssl dgst -shaN -sign` makes it, then
 * verified with the public key given: a signature the device would refuse is never written. */
static int sign(EVP_PKEY *priv, const uint8_t *spki, size_t spki_len, const uint8_t pol[LUKS_POLICY_DIGEST],
                uint8_t *sig, size_t *sig_len, char **ret_error)
{
    const char *md = EVP_PKEY_get_bits(priv) > 256 ? "SHA384" : "SHA256";
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new(), *vctx = EVP_MD_CTX_new();
    const unsigned char *p = spki;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)spki_len);
    *sig_len = LUKS_POLICY_MAX_SIG;
    if (!ctx || !vctx || !pub || EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, priv, NULL) != 1 ||
        EVP_DigestSign(ctx, sig, sig_len, pol, LUKS_POLICY_DIGEST) != 1)
        return error_set(ret_error, -EIO, "signing the policy with OpenSSL failed");
    if (EVP_DigestVerifyInit_ex(vctx, NULL, md, NULL, NULL, pub, NULL) != 1 ||
        EVP_DigestVerify(vctx, sig, *sig_len, pol, LUKS_POLICY_DIGEST) != 1)
        return error_set(ret_error, -EIO, "the signature just made does not verify with the public key");
    return 0;
}

static int dir_ensure(const char *dir, char **ret_error)
{
    struct stat st;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return error_set(ret_error, -errno, "-o %s: cannot create the directory: %s", dir, strerror(errno));
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return error_set(ret_error, -ENOTDIR, "-o %s is not a directory", dir);
    return 0;
}

static int write_in(const char *dir, const char *name, const void *data, size_t len, char **ret_error)
{
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return error_set(ret_error, -ENOMEM, "out of memory");
    /* 0644: policies, signatures and states are public; the device checks them against its key. */
    return admin_file_replace(path, data, len, 0644, ret_error);
}

/* The states already signed (--append), so that one file carries old and new firmware during an update. */
static int states_load(const char *path, struct luks_signed_states *ret, char **ret_error)
{
    _cleanup_openssl_free_ uint8_t *buf = NULL;
    _cleanup_free_ char *err = NULL;
    size_t len = 0;
    int r = admin_file_read(path, STATES_MAX, &buf, &len, ret_error);
    if (r < 0)
        return r;
    r = luks_signed_states_parse((const char *)buf, len, ret, &err);
    return r < 0 ? error_set(ret_error, r, "--append %s: %s", path, err ? err : "out of memory") : 0;
}

static int policy(const struct policy_args *a, char **ret_error)
{
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *priv = NULL;
    _cleanup_openssl_free_ uint8_t *spki = NULL;
    _cleanup_free_ char *json = NULL, *text = NULL;
    struct luks_signed_states states = {0};
    size_t spki_len = 0, name_len = 0, n_states = a->values ? 1 : a->n_logs;
    uint8_t name[LUKS_POLICY_MAX_NAME], auth[LUKS_POLICY_DIGEST];
    uint16_t bank = TCG_ALG_SHA256;
    uint32_t mask = LUKS_DEFAULT_PCRS;
    bool has_version = false;
    uint64_t version = 0;
    int r;

    if ((a->bank && (r = admin_luks_bank_parse(a->bank, &bank, ret_error)) < 0) ||
        (a->pcrs && (r = admin_luks_pcrs_parse(a->pcrs, &mask, ret_error)) < 0) ||
        (a->version && (r = version_parse(a->version, &version, ret_error)) < 0) ||
        (r = keys_load(a, &priv, &spki, &spki_len, ret_error)) < 0 ||
        (r = luks_policy_key_name(spki, spki_len, name, &name_len, ret_error)) < 0 ||
        (r = luks_policy_authorized(name, name_len, auth, ret_error)) < 0 ||
        (a->append && (r = states_load(a->append, &states, ret_error)) < 0))
        goto out;
    has_version = a->version != NULL;

    struct luks_signed_state first = {0};
    for (size_t i = 0; i < n_states; i++) {
        struct luks_signed_state s = {.has_values = true};
        r = a->values ? admin_luks_state_from_values(a->values, bank, mask, &s.state, ret_error)
                      : admin_luks_state_from_eventlog(a->logs[i], bank, mask, &s.state, ret_error);
        if (r < 0)
            goto out;
        s.state.has_version = has_version;
        s.state.version = version;
        if ((r = luks_policy_approved(&s.state, s.pol, ret_error)) < 0 ||
            (r = sign(priv, spki, spki_len, s.pol, s.sig, &s.sig_len, ret_error)) < 0)
            goto out;
        EVP_Digest(spki, spki_len, s.pkfp, NULL, EVP_sha256(), NULL);
        if ((r = luks_signed_states_add(&states, &s)) < 0) {
            r = error_set(ret_error, r, "out of memory");
            goto out;
        }
        if (i == 0)
            first = s;
        char pol_hex[2 * LUKS_POLICY_DIGEST + 1];
        hex_encode(s.pol, sizeof(s.pol), pol_hex);
        printf("signed state %zu (%s): pol %s\n", i + 1, a->values ? a->values : a->logs[i], pol_hex);
    }
    text = luks_signed_states_format(&states);
    if (!text || asprintf(&json, "%s\n", text) < 0) {
        json = NULL;
        r = error_set(ret_error, -ENOMEM, "out of memory");
        goto out;
    }
    /* The pol file and its signature are the single-state form (spec 3.4): the first state's; every state is
     * in signed-states.json. */
    char pol_name[96], sig_name[112];
    admin_luks_pol_file_name(mask, pol_name, sizeof(pol_name));
    snprintf(sig_name, sizeof(sig_name), "%s.signature", pol_name);
    if ((r = dir_ensure(a->out, ret_error)) < 0 ||
        (r = write_in(a->out, "authorized.policy", auth, sizeof(auth), ret_error)) < 0 ||
        (r = write_in(a->out, pol_name, first.pol, sizeof(first.pol), ret_error)) < 0 ||
        (r = write_in(a->out, sig_name, first.sig, first.sig_len, ret_error)) < 0 ||
        (r = write_in(a->out, "signed-states.json", json, strlen(json), ret_error)) < 0)
        goto out;
    char auth_hex[2 * LUKS_POLICY_DIGEST + 1], pkfp_hex[65], list[80];
    hex_encode(auth, sizeof(auth), auth_hex);
    hex_encode(first.pkfp, sizeof(first.pkfp), pkfp_hex);
    admin_luks_pcrs_format(mask, ",", list, sizeof(list));
    printf("wrote %s/{authorized.policy,%s,%s,signed-states.json}\n"
           "authorized.policy %s\nkey pkfp %s\nPCRs %s:%s, ",
           a->out, pol_name, sig_name, auth_hex, pkfp_hex, admin_luks_bank_name(bank), list);
    if (has_version)
        printf("version %" PRIu64 "\n%zu signed state(s) in signed-states.json\n", version, states.n);
    else
        printf("no version\n%zu signed state(s) in signed-states.json\n", states.n);
out:
    luks_signed_states_clear(&states);
    return r;
}

static int luks_policy_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pol-pub-key", required_argument, NULL, 'P'},
        {"pol-priv-key", required_argument, NULL, 'K'},
        {"pcr-val-file", required_argument, NULL, 'f'},
        {"eventlog", required_argument, NULL, 'l'},
        {"tpm-type", required_argument, NULL, 't'},
        {"pcr-bank", required_argument, NULL, 'b'},
        {"pcrs", required_argument, NULL, 'p'},
        {"version", required_argument, NULL, 'v'},
        {"no-version", no_argument, NULL, 'N'},
        {"append", required_argument, NULL, 'a'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct policy_args a = {0};
    _cleanup_free_ char *err = NULL;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'P': a.pub = optarg; break;
        case 'K': a.priv = optarg; break;
        case 'f': a.values = optarg; break;
        case 'l':
            if (a.n_logs == MAX_LOGS)
                return admin_usage_error(&admin_luks_policy, "at most 16 event logs");
            a.logs[a.n_logs++] = optarg;
            break;
        case 't': a.tpm_type = optarg; break;
        case 'b': a.bank = optarg; break;
        case 'p': a.pcrs = optarg; break;
        case 'v': a.version = optarg; break;
        case 'N': a.no_version = true; break;
        case 'a': a.append = optarg; break;
        case 'o': a.out = optarg; break;
        case 'h': admin_command_help(&admin_luks_policy); return ADMIN_EXIT_OK;
        default: return admin_usage_error(&admin_luks_policy, NULL);
        }
    }
    /* --eventlog A B C: the words after the first log are logs too. */
    for (; optind < argc && a.n_logs > 0; optind++) {
        if (a.n_logs == MAX_LOGS)
            return admin_usage_error(&admin_luks_policy, "at most 16 event logs");
        a.logs[a.n_logs++] = argv[optind];
    }
    if (optind != argc)
        return admin_usage_error(&admin_luks_policy, "unexpected argument");
    if (!a.pub || !a.priv || !a.tpm_type || !a.out)
        return admin_usage_error(&admin_luks_policy,
                                 "--pol-pub-key, --pol-priv-key, --tpm-type and -o are required");
    if (!a.values == !a.n_logs)
        return admin_usage_error(&admin_luks_policy,
                                 "give the PCR values: either --pcr-val-file or --eventlog");
    if (a.version && a.no_version)
        return admin_usage_error(&admin_luks_policy, "--version and --no-version exclude each other");
    if (!a.version && !a.no_version)
        return admin_error(
            "luks policy: refusing to sign without --version: a policy signed without a version "
            "can never be revoked by the TPM (raising the device's version index 0x%08x revokes "
            "only policies that name a version). Give --version N (the value the index will "
            "hold; provision-device starts it at 0), or --no-version if you accept that",
            LUKS_VERSION_NV_INDEX);
    if (a.no_version)
        fprintf(stderr, "tagent-admin: warning: --no-version: this policy can never be revoked by the TPM; "
                        "it opens the volume for these PCR values until the passphrase is sealed again\n");
    if (policy(&a, &err) < 0)
        return admin_error("luks policy: %s", err ? err : "out of memory");
    return ADMIN_EXIT_OK;
}

const struct admin_command admin_luks_policy = {
    .group = "luks",
    .name = "policy",
    .usage = "--pol-pub-key PUB.pem --pol-priv-key PRIV.pem (--pcr-val-file F | --eventlog LOG...) "
             "--tpm-type ptt|dtpm (--version N | --no-version) [--pcr-bank sha256|sha384] [--pcrs 0,7,10] "
             "[--append STATES.json] -o DIR",
    .summary = "sign the PCR state a device may open its LUKS volume in",
    .help =
        "  --pol-pub-key PUB.pem    the owner's policy public key (the one in the device's NV 0x018A0000)\n"
        "  --pol-priv-key PRIV.pem  its private key (PEM; an encrypted one asks for its pass phrase)\n"
        "  --pcr-val-file F         the expected PCR values as `tpm2_pcrread BANK:PCRS -o F` writes them:\n"
        "                           the selected PCRs in ascending order, bank size each\n"
        "  --eventlog LOG...        or replay TCG event logs (binary_bios_measurements) for the values: one\n"
        "                           signed state per log, e.g. a firmware before it is installed. A PCR the\n"
        "                           log never extends (PCR 10, IMA's) is signed at its reset value (zeros)\n"
        "  --tpm-type ptt|dtpm      ptt: a P-384 key (SHA-384 signature), dtpm: P-256 (SHA-256)\n"
        "  --version N              add PolicyNV(0x018A0001 == N): raising the device's index above N\n"
        "                           revokes this policy. Required, unless --no-version\n"
        "  --no-version             sign a policy that can never be revoked by the TPM (not recommended)\n"
        "  --pcr-bank sha256|sha384 the PCR bank of the values (default sha256)\n"
        "  --pcrs LIST              the PCRs (default 0,7,10); the policy file is named pcrA_B_C.pcr.policy\n"
        "  --append STATES.json     a signed-states.json whose states are kept before the new ones\n"
        "  -o, --output DIR         created when missing; files replaced atomically, mode 0644\n"
        "\n"
        "Writes DIR/authorized.policy (the policy the passphrase is sealed to), DIR/pcrA_B_C.pcr.policy\n"
        "and .signature (the first state: DER ECDSA, as `openssl dgst -shaN -sign` makes it) and\n"
        "DIR/signed-states.json (every state; docs/tep-formats.md 5). Each signature is verified before\n"
        "anything is written.\n",
    .run = luks_policy_run,
};
