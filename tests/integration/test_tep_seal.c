/* The LUKS passphrase sealed under PolicyAuthorize (tep-provisioning-luks.md 3.6, 4.2) against a real swtpm:
 * quote/'s seal, signed-state unseal, trial digest and closing extend. The oracle for every policy digest is
 * tpm2-tools (tpm2_loadexternal -C o for the key's Name, trial sessions with tpm2_policypcr / tpm2_policynv /
 * tpm2_policyauthorize), signatures come from OpenSSL; quote/ is never asked to compute what it is tested
 * against. A TCTI pcap of a seal and an unseal must not hold the secret. */
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

#include "cleanup.h"
#include "tpm_fixture.h"

static const char OWNER_TOOL_AUTH[] = "hex:" FX_OWNER_SECRET;
/* Distinctive, so that a hit in the pcap cannot be chance. */
static const uint8_t SECRET[32] = "tagent-luks-passphrase-Q7#zX9!k";

static struct fx shared; /* owned, SRK, P-256 policy key in NV, version index */
static uint8_t srk_name[TPM_NAME_MAX];
static size_t srk_name_len;
static EVP_PKEY *owner_key; /* the owner's signing key (P-256: the dtpm profile) */
static char *owner_pub_pem;
static uint8_t authorized[32]; /* authorized.policy of owner_key, from tpm2-tools */
/* The profile under test: dtpm (P-256, SHA-256 bank) until test_p384 switches to ptt's P-384 / SHA-384. */
static const char *key_name_alg = "sha256";
static const char *tool_pcrs = "sha256:0,7,10";
static uint16_t policy_bank = TPM_BANK_SHA256;
static unsigned file_no;

/* ---- helpers ---- */

static char *path(const char *name)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%u-%s", shared.dir, ++file_no, name) > 0);
    return p;
}

static void tool(const char *const argv[])
{
    assert_int_equal(fx_tool(&shared, argv), 0);
}

static void read32(const char *file, uint8_t out[32])
{
    _cleanup_free_ uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(fx_file_read(file, &data, &len), 0);
    assert_int_equal(len, 32);
    memcpy(out, data, 32);
}

static void flush_transients(void)
{
    const char *argv[] = {"tpm2_flushcontext", "-T", shared.swtpm->tcti, "-t", NULL};
    tool(argv);
}

/* authorized.policy of key, as the tpm2_policyauthorize man page builds it. */
static void authorized_policy(const char *pub_pem, uint8_t out[32])
{
    _cleanup_free_ char *pub = path("pub.pem"), *ctx = path("k.ctx"), *name = path("k.name"),
                        *trial = path("trial.ctx"), *pol = path("authorized.policy");
    FILE *fp = fopen(pub, "we");
    assert_non_null(fp);
    assert_int_equal(fputs(pub_pem, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    const char *load[] = {"tpm2_loadexternal",
                          "-T",
                          shared.swtpm->tcti,
                          "-C",
                          "o",
                          "-G",
                          "ecc",
                          "-g",
                          key_name_alg,
                          "-u",
                          pub,
                          "-c",
                          ctx,
                          "-n",
                          name,
                          NULL};
    tool(load);
    flush_transients();
    const char *start[] = {"tpm2_startauthsession", "-T", shared.swtpm->tcti, "-S", trial, NULL};
    const char *authorize[] = {
        "tpm2_policyauthorize", "-T", shared.swtpm->tcti, "-S", trial, "-L", pol, "-n", name, NULL};
    const char *flush[] = {"tpm2_flushcontext", "-T", shared.swtpm->tcti, trial, NULL};
    tool(start);
    tool(authorize);
    tool(flush);
    read32(pol, out);
}

/* PolicyPCR(sha256:0,7,10 now) [+ PolicyNV(0x018A0001 == version)] from a tpm2-tools trial session. */
static void state_policy(bool has_version, uint64_t version, uint8_t out[32])
{
    _cleanup_free_ char *trial = path("trial.ctx"), *pol = path("pcr.policy"), *operand = path("version.bin");
    uint8_t be[8];
    for (unsigned i = 0; i < 8; i++)
        be[i] = (uint8_t)(version >> (56 - 8 * i));
    FILE *fp = fopen(operand, "we");
    assert_non_null(fp);
    assert_int_equal(fwrite(be, 1, 8, fp), 8);
    assert_int_equal(fclose(fp), 0);
    const char *start[] = {"tpm2_startauthsession", "-T", shared.swtpm->tcti, "-S", trial, NULL};
    const char *pcr[] = {
        "tpm2_policypcr", "-T", shared.swtpm->tcti, "-S", trial, "-l", tool_pcrs, "-L", pol, NULL};
    const char *nv[] = {"tpm2_policynv",
                        "-T",
                        shared.swtpm->tcti,
                        "-S",
                        trial,
                        "-C",
                        "0x018A0001",
                        "-i",
                        operand,
                        "-L",
                        pol,
                        "0x018A0001",
                        "eq",
                        NULL};
    const char *flush[] = {"tpm2_flushcontext", "-T", shared.swtpm->tcti, trial, NULL};
    tool(start);
    tool(pcr);
    if (has_version)
        tool(nv);
    tool(flush);
    read32(pol, out);
}

struct signed_state {
    uint8_t approved[32];
    uint8_t sig[160];
    size_t sig_len;
    struct tpm_signed_policy policy;
};

static void sign_with(EVP_PKEY *key, struct signed_state *s)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    s->sig_len = sizeof(s->sig);
    assert_non_null(ctx);
    /* The signature hash goes with the key's size (spec 2.1). */
    const EVP_MD *md = EVP_PKEY_get_bits(key) > 256 ? EVP_sha384() : EVP_sha256();
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, s->sig, &s->sig_len, s->approved, 32), 1);
    EVP_MD_CTX_free(ctx);
    s->policy.signature = s->sig;
    s->policy.signature_len = s->sig_len;
}

/* The owner signs the state of the PCRs now. */
static void sign_state(bool has_version, uint64_t version, struct signed_state *s)
{
    memset(s, 0, sizeof(*s));
    state_policy(has_version, version, s->approved);
    s->policy = (struct tpm_signed_policy){.bank = policy_bank,
                                           .pcr_mask = 1u << 0 | 1u << 7 | 1u << 10,
                                           .has_version = has_version,
                                           .version = version,
                                           .approved = s->approved};
    sign_with(owner_key, s);
}

static int unseal(tpm_t *tpm, const struct signed_state *s, char **ret_error)
{
    uint8_t *secret = NULL;
    size_t len = 0;
    int r = tpm_tep_unseal(tpm, &s->policy, srk_name, srk_name_len, &secret, &len, ret_error);
    if (r == 0) {
        assert_int_equal(len, sizeof(SECRET));
        assert_memory_equal(secret, SECRET, sizeof(SECRET));
        tpm_secret_free(secret, len);
    }
    return r;
}

static void unseal_ok(const struct signed_state *s)
{
    _cleanup_free_ char *error = NULL;
    int r = unseal(shared.tpm, s, &error);
    if (r < 0)
        fprintf(stderr, "unseal: %s\n", error);
    assert_int_equal(r, 0);
}

/* The refusal r, with a message that ends with the TPM's response code when tpm_rc is set. */
static void unseal_fails(const struct signed_state *s, int expected, const char *words, const char *tpm_rc)
{
    _cleanup_free_ char *error = NULL;
    int r = unseal(shared.tpm, s, &error);
    fprintf(stderr, "expected refusal: %s\n", error ? error : "(null)");
    assert_int_equal(r, expected);
    assert_non_null(error);
    assert_non_null(strstr(error, words));
    if (tpm_rc)
        assert_non_null(strstr(error, tpm_rc));
}

static void extend(unsigned pcr, uint32_t seed)
{
    static const uint16_t banks[] = {TPM_BANK_SHA256, TPM_BANK_SHA384};
    fx_esys_t *e = NULL;
    assert_int_equal(fx_esys_open(shared.swtpm->tcti, &e), 0);
    assert_int_equal(fx_pcr_extend(e, pcr, banks, 2, seed), 0);
    fx_esys_close(e);
}

static void version_set(uint64_t v)
{
    _cleanup_free_ char *error = NULL;
    assert_int_equal(tpm_nv_u64_write(shared.tpm, &shared.owner, TPM_NV_TEP_LUKS_VERSION, v, &error), 0);
}

static void seal(tpm_t *tpm, bool force)
{
    _cleanup_free_ char *error = NULL;
    int r = tpm_tep_seal(tpm, &shared.owner, authorized, SECRET, sizeof(SECRET), srk_name, srk_name_len,
                         force, &error);
    if (r < 0)
        fprintf(stderr, "seal: %s\n", error);
    assert_int_equal(r, 0);
}

/* TPM2_Shutdown(CLEAR), a reset through swtpm's control channel (port + 1), TPM2_Startup(CLEAR). */
static void reboot(void)
{
    char ctrl[32];
    snprintf(ctrl, sizeof(ctrl), "127.0.0.1:%u", (unsigned)shared.swtpm->port + 1);
    const char *shutdown[] = {"tpm2_shutdown", "-T", shared.swtpm->tcti, "-c", NULL};
    const char *init[] = {"swtpm_ioctl", "--tcp", ctrl, "-i", NULL};
    const char *startup[] = {"tpm2_startup", "-T", shared.swtpm->tcti, "-c", NULL};
    tool(shutdown);
    tool(init);
    tool(startup);
}

/* ---- setup ---- */

/* A NUL-terminated copy of a memory BIO's n bytes. Not strndup(): its source has no NUL, and ASan's
 * strict_string_checks reads strndup's source up to one. */
static char *bio_text(const char *data, size_t n)
{
    char *text = malloc(n + 1);
    if (text) {
        memcpy(text, data, n);
        text[n] = '\0';
    }
    return text;
}

static int group_setup(void **state)
{
    _cleanup_free_ char *error = NULL;
    _cleanup_free_ uint8_t *spki = NULL;
    if (fx_start_owned(&shared) < 0)
        return -1;
    owner_key = EVP_EC_gen("P-256");
    int n = owner_key ? i2d_PUBKEY(owner_key, &spki) : -1;
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long pem_len = 0;
    if (n <= 0 || !bio || PEM_write_bio_PUBKEY(bio, owner_key) != 1 ||
        (pem_len = BIO_get_mem_data(bio, &pem)) <= 0)
        return -1;
    owner_pub_pem = bio_text(pem, (size_t)pem_len);
    BIO_free(bio);
    if (tpm_srk_ensure(shared.tpm, &shared.owner, srk_name, &srk_name_len, &error) < 0 ||
        tpm_tep_policy_key_write(shared.tpm, &shared.owner, spki, (size_t)n, false, &error) < 0 ||
        tpm_nv_u64_define(shared.tpm, &shared.owner, TPM_NV_TEP_LUKS_VERSION, NULL, &error) < 0) {
        fprintf(stderr, "provisioning: %s\n", error ? error : "out of memory");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    EVP_PKEY_free(owner_key);
    free(owner_pub_pem);
    fx_free(&shared);
    return fx_no_children();
}

static int teardown(void **state)
{
    shared.quiet_tools = false;
    return fx_check_clean(&shared);
}

/* ---- tests ---- */

static void test_seal(void **state)
{
    _cleanup_free_ char *error = NULL;
    uint8_t policy[32];
    bool present = true;

    authorized_policy(owner_pub_pem, authorized);
    assert_int_equal(tpm_tep_sealed_policy(shared.tpm, policy, &present, &error), 0);
    assert_false(present);
    seal(shared.tpm, false);
    assert_int_equal(tpm_tep_sealed_policy(shared.tpm, policy, &present, &error), 0);
    assert_true(present);
    assert_memory_equal(policy, authorized, 32);

    /* Without force an existing object stays; with force it is replaced. */
    assert_int_equal(tpm_tep_seal(shared.tpm, &shared.owner, authorized, SECRET, sizeof(SECRET), srk_name,
                                  srk_name_len, false, &error),
                     -EEXIST);
    free(error);
    error = NULL;
    seal(shared.tpm, true);

    /* The object as tpm2_readpublic sees it: the attributes of spec 3.6 step 2, no userwithauth. */
    _cleanup_free_ char *out = NULL;
    const char *readpublic[] = {"tpm2_readpublic", "-T", shared.swtpm->tcti, "-c", "0x8100A001", NULL};
    assert_int_equal(fx_tool_output(&shared, readpublic, &out), 0);
    assert_non_null(strstr(out, "value: fixedtpm|fixedparent|adminwithpolicy|noda\n"));
    assert_non_null(strstr(out, "type:\n  value: keyedhash"));
}

static void test_seal_bad_input(void **state)
{
    _cleanup_free_ char *error = NULL;
    uint8_t big[129] = {0}, wrong[TPM_NAME_MAX];
    assert_int_equal(tpm_tep_seal(shared.tpm, &shared.owner, authorized, big, sizeof(big), srk_name,
                                  srk_name_len, true, &error),
                     -EINVAL);
    free(error);
    error = NULL;
    /* Another SRK Name: refused before the existing object is evicted. */
    memcpy(wrong, srk_name, srk_name_len);
    wrong[srk_name_len - 1] ^= 1;
    assert_int_equal(tpm_tep_seal(shared.tpm, &shared.owner, authorized, SECRET, sizeof(SECRET), wrong,
                                  srk_name_len, true, &error),
                     -EKEYREJECTED);
    bool present = false;
    uint8_t policy[32];
    free(error);
    error = NULL;
    assert_int_equal(tpm_tep_sealed_policy(shared.tpm, policy, &present, &error), 0);
    assert_true(present);
}

static void test_unseal(void **state)
{
    _cleanup_free_ char *error = NULL;
    struct signed_state s;
    uint8_t now[32];
    extend(0, 100);
    extend(7, 107);
    extend(10, 110);
    sign_state(false, 0, &s);
    unseal_ok(&s);
    /* The trial digest names the state to try. */
    assert_int_equal(tpm_policy_digest_now(shared.tpm, &s.policy, now, &error), 0);
    assert_memory_equal(now, s.approved, 32);
}

static void test_unseal_wrong_srk(void **state)
{
    _cleanup_free_ char *error = NULL;
    struct signed_state s;
    uint8_t wrong[TPM_NAME_MAX], *secret = NULL;
    size_t len = 0;
    sign_state(false, 0, &s);
    memcpy(wrong, srk_name, srk_name_len);
    wrong[2] ^= 0x80;
    assert_int_equal(tpm_tep_unseal(shared.tpm, &s.policy, wrong, srk_name_len, &secret, &len, &error),
                     -EKEYREJECTED);
    assert_null(secret);
}

static void test_signature_refused(void **state)
{
    struct signed_state s;
    sign_state(false, 0, &s);
    /* The last byte of s: the DER stays well-formed, the value does not verify. */
    s.sig[s.sig_len - 1] ^= 0x01;
    unseal_fails(&s, -EBADMSG, "does not verify with the key in NV 0x018a0000", "(TPM_RC 0x2db)");

    EVP_PKEY *other = EVP_EC_gen("P-256");
    assert_non_null(other);
    sign_state(false, 0, &s);
    sign_with(other, &s);
    EVP_PKEY_free(other);
    unseal_fails(&s, -EBADMSG, "does not verify with the key in NV 0x018a0000", "(TPM_RC 0x2db)");

    /* Not DER at all: refused before the TPM is asked. */
    sign_state(false, 0, &s);
    s.policy.signature_len = 5;
    unseal_fails(&s, -EBADMSG, "not a DER ECDSA signature", NULL);
}

static void test_pcr_change(void **state)
{
    _cleanup_free_ char *error = NULL;
    struct signed_state before, after;
    uint8_t now[32];
    sign_state(false, 0, &before);
    unseal_ok(&before);
    extend(7, 7777);
    unseal_fails(&before, -EPERM, "the PCRs are not the signed state", "(TPM_RC 0x1c4)");
    assert_int_equal(tpm_policy_digest_now(shared.tpm, &before.policy, now, &error), 0);
    assert_memory_not_equal(now, before.approved, 32);
    /* The owner signs the new state: it unseals with no re-seal. */
    sign_state(false, 0, &after);
    unseal_ok(&after);
    assert_int_equal(tpm_policy_digest_now(shared.tpm, &after.policy, now, &error), 0);
    assert_memory_equal(now, after.approved, 32);
}

static void test_version(void **state)
{
    _cleanup_free_ char *error = NULL;
    struct signed_state v0, v1;
    uint8_t now[32];
    version_set(0);
    sign_state(true, 0, &v0);
    unseal_ok(&v0);
    assert_int_equal(tpm_policy_digest_now(shared.tpm, &v0.policy, now, &error), 0);
    assert_memory_equal(now, v0.approved, 32);

    version_set(1);
    unseal_fails(
        &v0, -EKEYREVOKED,
        "the policy was signed for version 0; the device's version index (NV 0x018a0001) is 1: revoked",
        "(TPM_RC 0x");
    sign_state(true, 1, &v1);
    assert_memory_not_equal(v0.approved, v1.approved, 32);
    unseal_ok(&v1);
    /* A trial session does not compare: the digest is that of "== 1" whatever the index holds. */
    assert_int_equal(tpm_policy_digest_now(shared.tpm, &v1.policy, now, &error), 0);
    assert_memory_equal(now, v1.approved, 32);
    version_set(0);
}

static void test_close_unseal(void **state)
{
    _cleanup_free_ char *error = NULL;
    struct signed_state s;
    sign_state(false, 0, &s);
    unseal_ok(&s);
    assert_int_equal(tpm_close_unseal(shared.tpm, 7, &error), 0);
    unseal_fails(&s, -EPERM, "the PCRs are not the signed state", "(TPM_RC 0x1c4)");
    assert_int_equal(tpm_close_unseal(shared.tpm, 24, &error), -EINVAL);
}

static void test_reboot(void **state)
{
    struct signed_state s;
    uint8_t pcrs[3 * 32], zero[3 * 32] = {0};
    size_t len = 0;
    reboot();
    assert_int_equal(fx_pcr_read(shared.swtpm->tcti, TPM_BANK_SHA256, 1u << 0 | 1u << 7 | 1u << 10, pcrs,
                                 sizeof(pcrs), &len),
                     0);
    assert_int_equal(len, sizeof(pcrs));
    assert_memory_equal(pcrs, zero, sizeof(pcrs)); /* the closing extend is gone too */
    extend(0, 200);
    extend(7, 207);
    sign_state(false, 0, &s);
    unseal_ok(&s);

    reboot();
    unseal_fails(&s, -EPERM, "the PCRs are not the signed state", "(TPM_RC 0x1c4)");
    /* The same boot measurements again: the sealed object survived, the signed state matches. */
    extend(0, 200);
    extend(7, 207);
    unseal_ok(&s);
}

/* Every 8-byte window of needle in haystack. */
static bool holds_part(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t len)
{
    for (size_t i = 0; i + 8 <= len; i++)
        if (memmem(hay, hay_len, needle + i, 8))
            return true;
    return false;
}

static void test_pcap_no_secret(void **state)
{
    _cleanup_free_ char *error = NULL, *pcap = path("bus.pcap"), *tcti = NULL;
    _cleanup_free_ uint8_t *bytes = NULL;
    struct signed_state s;
    size_t len = 0;
    tpm_t *tpm = NULL;
    sign_state(false, 0, &s);
    assert_true(asprintf(&tcti, "pcap:%s", shared.swtpm->tcti) > 0);
    assert_int_equal(setenv("TCTI_PCAP_FILE", pcap, 1), 0);
    assert_int_equal(tpm_open(tcti, &tpm, &error), 0);
    seal(tpm, true);
    assert_int_equal(unseal(tpm, &s, &error), 0);
    tpm_close(tpm);
    unsetenv("TCTI_PCAP_FILE");

    assert_int_equal(fx_file_read(pcap, &bytes, &len), 0);
    fprintf(stderr, "pcap of seal + unseal: %zu bytes\n", len);
    /* The capture works: the authPolicy travels in clear in Create's template. */
    assert_true(holds_part(bytes, len, authorized, sizeof(authorized)));
    assert_false(holds_part(bytes, len, SECRET, sizeof(SECRET)));
}

static void test_nothing_sealed(void **state)
{
    struct signed_state s;
    const char *evict[] = {"tpm2_evictcontrol", "-T", shared.swtpm->tcti, "-C", "o", "-P",
                           OWNER_TOOL_AUTH,     "-c", "0x8100A001",       NULL};
    tool(evict);
    sign_state(false, 0, &s);
    unseal_fails(&s, -ENOENT, "nothing is sealed at 0x8100a001", NULL);
    seal(shared.tpm, false);
    unseal_ok(&s);
}

static void test_random(void **state)
{
    _cleanup_free_ char *error = NULL;
    uint8_t a[100] = {0}, b[100] = {0}, zero[100] = {0};
    assert_int_equal(tpm_get_random(shared.tpm, a, sizeof(a), &error), 0);
    assert_int_equal(tpm_get_random(shared.tpm, b, sizeof(b), &error), 0);
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_memory_not_equal(a + 64, zero + 64, 36); /* the last chunks too */
    assert_memory_not_equal(a, b, sizeof(a));
}

/* With the SRK Name recorded on the tpm_t, the owner's salted sessions use the SRK and refuse another one. */
static void test_srk_name_recorded(void **state)
{
    _cleanup_free_ char *error = NULL;
    uint8_t wrong[TPM_NAME_MAX];
    uint64_t v = 9;
    assert_int_equal(tpm_set_srk_name(shared.tpm, srk_name, srk_name_len), 0);
    assert_int_equal(tpm_nv_u64_write(shared.tpm, &shared.owner, TPM_NV_TEP_LUKS_VERSION, 3, &error), 0);
    assert_int_equal(tpm_nv_u64_read(shared.tpm, TPM_NV_TEP_LUKS_VERSION, &v, &error), 0);
    assert_int_equal(v, 3);
    seal(shared.tpm, true); /* evict + persist: owner sessions while the SRK is in use */
    memcpy(wrong, srk_name, srk_name_len);
    wrong[srk_name_len - 1] ^= 0x40;
    assert_int_equal(tpm_set_srk_name(shared.tpm, wrong, srk_name_len), 0);
    assert_int_equal(tpm_nv_u64_write(shared.tpm, &shared.owner, TPM_NV_TEP_LUKS_VERSION, 4, &error),
                     -EKEYREJECTED);
    assert_int_equal(tpm_set_srk_name(shared.tpm, NULL, 0), 0);
    assert_int_equal(tpm_set_srk_name(shared.tpm, wrong, TPM_NAME_MAX + 1), -EINVAL);
    assert_int_equal(tpm_nv_u64_read(shared.tpm, TPM_NV_TEP_LUKS_VERSION, &v, &error), 0);
    assert_int_equal(v, 3);
    version_set(0);
}

/* A sealed object made for another owner key: the state's signature verifies and PolicyAuthorize passes, but
 * the session's digest (authorized.policy of the NV key) is not the object's authPolicy. */
static void test_sealed_for_other_key(void **state)
{
    _cleanup_free_ char *other_pem = NULL;
    uint8_t saved[32];
    struct signed_state s;
    EVP_PKEY *other = EVP_EC_gen("P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    assert_non_null(other);
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, other), 1);
    long n = BIO_get_mem_data(bio, &pem);
    other_pem = bio_text(pem, (size_t)n);
    BIO_free(bio);
    EVP_PKEY_free(other);
    memcpy(saved, authorized, 32);
    authorized_policy(other_pem, authorized);
    seal(shared.tpm, true);
    memcpy(authorized, saved, 32);
    sign_state(false, 0, &s);
    unseal_fails(&s, -EPERM, "was not sealed for the key in NV 0x018a0000", "(TPM_RC 0x");
    seal(shared.tpm, true);
    unseal_ok(&s);
}

/* The ptt profile: a P-384 owner key (nameAlg SHA-384, ECDSA-SHA384) and a SHA-384 bank; the policy session
 * stays SHA-256. */
static void test_p384(void **state)
{
    _cleanup_free_ char *error = NULL;
    _cleanup_free_ uint8_t *spki = NULL;
    struct signed_state s;
    uint8_t now[32];
    EVP_PKEY *key = EVP_EC_gen("P-384");
    assert_non_null(key);
    int n = i2d_PUBKEY(key, &spki);
    assert_int_equal(n, 120);
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    assert_int_equal(PEM_write_bio_PUBKEY(bio, key), 1);
    long pem_len = BIO_get_mem_data(bio, &pem);
    free(owner_pub_pem);
    owner_pub_pem = bio_text(pem, (size_t)pem_len);
    BIO_free(bio);
    EVP_PKEY_free(owner_key);
    owner_key = key;
    assert_int_equal(tpm_tep_policy_key_write(shared.tpm, &shared.owner, spki, (size_t)n, true, &error), 0);

    key_name_alg = "sha384";
    tool_pcrs = "sha384:0,7,10";
    policy_bank = TPM_BANK_SHA384;
    authorized_policy(owner_pub_pem, authorized);
    seal(shared.tpm, true);
    extend(10, 384);
    sign_state(true, 0, &s);
    unseal_ok(&s);
    assert_int_equal(tpm_policy_digest_now(shared.tpm, &s.policy, now, &error), 0);
    assert_memory_equal(now, s.approved, 32);
    extend(0, 385);
    unseal_fails(&s, -EPERM, "the PCRs are not the signed state", "(TPM_RC 0x1c4)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_seal, teardown),
        cmocka_unit_test_teardown(test_seal_bad_input, teardown),
        cmocka_unit_test_teardown(test_unseal, teardown),
        cmocka_unit_test_teardown(test_unseal_wrong_srk, teardown),
        cmocka_unit_test_teardown(test_signature_refused, teardown),
        cmocka_unit_test_teardown(test_pcr_change, teardown),
        cmocka_unit_test_teardown(test_version, teardown),
        cmocka_unit_test_teardown(test_close_unseal, teardown),
        cmocka_unit_test_teardown(test_reboot, teardown),
        cmocka_unit_test_teardown(test_pcap_no_secret, teardown),
        cmocka_unit_test_teardown(test_nothing_sealed, teardown),
        cmocka_unit_test_teardown(test_random, teardown),
        cmocka_unit_test_teardown(test_srk_name_recorded, teardown),
        cmocka_unit_test_teardown(test_sealed_for_other_key, teardown),
        cmocka_unit_test_teardown(test_p384, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
