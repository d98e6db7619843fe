/* The TEP device keys (docs/tep-formats.md section 1) against a real swtpm: the SRK, the write-locked policy
 * key index, the imported AES key and its decryption in CTR mode, the 8-byte indexes; then
 * tep_provision_device() as `tagent provision-device` runs it, for both profiles. Oracles: tpm2-tools
 * (tpm2_nvreadpublic, tpm2_nvread, tpm2_nvwrite, tpm2_readpublic) and OpenSSL's AES-CTR. After every test no
 * transient object or session is left on the TPM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "cleanup.h"
#include "cleanup_openssl.h"
#include "provision.h"
#include "tpm_fixture.h"

static const char OWNER_TOOL_AUTH[] = "hex:" FX_OWNER_SECRET;

static struct fx shared; /* owned (FX_OWNER_SECRET), no EK or AIK: the TEP keys need neither */

static int group_setup(void **state)
{
    static const struct swtpm_opts opts = {.skip_setup = true};
    _cleanup_free_ char *error = NULL;

    if (fx_start(&shared, &opts) < 0)
        return -1;
    if (tpm_auth_from_secret(FX_OWNER_SECRET, &shared.owner, &error) < 0 ||
        tpm_auth_from_secret(FX_ENDORSEMENT_SECRET, &shared.endorsement, &error) < 0 ||
        tpm_take_ownership(shared.tpm, &shared.owner, &shared.endorsement, &error) < 0) {
        fprintf(stderr, "take-ownership: %s\n", error ? error : "out of memory");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    fx_free(&shared);
    return fx_no_children();
}

static int teardown(void **state)
{
    shared.quiet_tools = false;
    return fx_check_clean(&shared);
}

/* ---- helpers ---- */

/* An EC key on curve (NID) and its DER SubjectPublicKeyInfo. */
static EVP_PKEY *ec_key(const char *group, uint8_t **ret_der, size_t *ret_len)
{
    EVP_PKEY *key = EVP_EC_gen(group);
    assert_non_null(key);
    int n = i2d_PUBKEY(key, NULL);
    assert_true(n > 0);
    uint8_t *der = malloc((size_t)n), *p = der;
    assert_non_null(der);
    assert_int_equal(i2d_PUBKEY(key, &p), n);
    *ret_der = der;
    *ret_len = (size_t)n;
    return key;
}

/* Only a fresh key's DER SubjectPublicKeyInfo (the private half is not needed). */
static void ec_public_der(const char *group, uint8_t **ret_der, size_t *ret_len)
{
    EVP_PKEY_free(ec_key(group, ret_der, ret_len));
}

static void ctr_encrypt(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in,
                        size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    assert_non_null(ctx);
    assert_int_equal(
        EVP_EncryptInit_ex(ctx, key_len == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr(), NULL, key, iv), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, out, &n1, in, (int)len), 1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, out + n1, &n2), 1);
    assert_int_equal((size_t)(n1 + n2), len);
    EVP_CIPHER_CTX_free(ctx);
}

static void srk_name(uint8_t name[TPM_NAME_MAX], size_t *len)
{
    _cleanup_free_ char *error = NULL;
    if (tpm_srk_ensure(shared.tpm, &shared.owner, name, len, &error) < 0)
        fail_msg("tpm_srk_ensure: %s", error);
}

static char *tool_text(const char *const argv[])
{
    char *text = NULL;
    if (fx_tool_output(&shared, argv, &text) < 0)
        fail_msg("%s failed: %s", argv[0], text ? text : "");
    return text;
}

static void random_auth(struct tpm_auth *a)
{
    memset(a, 0, sizeof(*a));
    a->len = 32;
    assert_int_equal(RAND_bytes(a->bytes, 32), 1);
    a->bytes[31] |= 1;
}

/* needle in what a tool printed; on failure the whole text, so the diagnostic shows what it said instead. */
static void expect_in(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("\"%s\" not in:\n%s", needle, text);
}

/* Decrypts through tpm_tep_decrypt and compares with the plaintext OpenSSL encrypted. */
static void expect_decrypts(const uint8_t *key, size_t key_len, const struct tpm_auth *key_auth,
                            const uint8_t *name, size_t name_len, const uint8_t iv[16], size_t len)
{
    _cleanup_free_ char *error = NULL;
    _cleanup_free_ uint8_t *plain = malloc(len + 1), *ct = malloc(len + 1), *out = malloc(len + 1);
    assert_true(plain && ct && out);
    assert_int_equal(RAND_bytes(plain, (int)len), 1);
    ctr_encrypt(key, key_len, iv, plain, len, ct);
    if (tpm_tep_decrypt(shared.tpm, key_auth, name, name_len, iv, ct, len, out, &error) < 0)
        fail_msg("tpm_tep_decrypt(%zu bytes): %s", len, error);
    assert_memory_equal(out, plain, len);
}

static void nv_remove(uint32_t index)
{
    char h[16];
    bool exists = false;
    snprintf(h, sizeof(h), "0x%08x", index);
    const char *argv[] = {
        "tpm2_nvundefine", "-T", shared.swtpm->tcti, "-C", "o", "-P", OWNER_TOOL_AUTH, h, NULL};
    assert_int_equal(fx_handle_exists(shared.swtpm->tcti, index, &exists), 0);
    if (exists)
        assert_int_equal(fx_tool(&shared, argv), 0);
}

/* ---- the storage root key ---- */

static void test_srk_ensure_idempotent(void **state)
{
    uint8_t a[TPM_NAME_MAX], b[TPM_NAME_MAX];
    size_t a_len = 0, b_len = 0;
    bool exists = false;

    srk_name(a, &a_len);
    assert_int_equal(fx_handle_exists(shared.swtpm->tcti, TPM_HANDLE_SRK_ECC, &exists), 0);
    assert_true(exists);
    srk_name(b, &b_len);
    assert_int_equal(a_len, 34); /* SHA-256 nameAlg + digest */
    assert_int_equal(b_len, a_len);
    assert_memory_equal(a, b, a_len);

    /* The TCG template, read by the oracle. */
    const char *argv[] = {"tpm2_readpublic", "-T", shared.swtpm->tcti, "-c", "0x81000002", NULL};
    _cleanup_free_ char *text = tool_text(argv);
    expect_in(text, "value: fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt\n"
                    "  raw: 0x30472\n");
    expect_in(text, "value: NIST p256");
    expect_in(text, "sym-alg:\n  value: aes\n");
}

/* ---- the policy key index ---- */

static void policy_key_case(const char *group, size_t expect_len)
{
    _cleanup_free_ char *error = NULL, *pub_text = NULL, *ct_path = NULL, *out_path = NULL;
    _cleanup_free_ uint8_t *der = NULL, *got = NULL, *read_back = NULL;
    size_t len = 0, got_len = 0, read_len = 0;
    ec_public_der(group, &der, &len);

    assert_int_equal(len, expect_len);
    nv_remove(TPM_NV_TEP_POLICY_KEY);
    if (tpm_tep_policy_key_write(shared.tpm, &shared.owner, der, len, false, &error) < 0)
        fail_msg("tpm_tep_policy_key_write: %s", error);

    /* Attributes as tpm2-tools reads them: the contract's, written and write-locked. */
    const char *readpub[] = {"tpm2_nvreadpublic", "-T", shared.swtpm->tcti, "0x018A0000", NULL};
    pub_text = tool_text(readpub);
    /* ownerwrite|writelocked|writedefine|ownerread|authread|no_da|written, nothing else */
    expect_in(pub_text, "value: 0x22062802\n");
    assert_null(strstr(pub_text, "authwrite"));
    assert_null(strstr(pub_text, "policywrite"));

    /* The content, read with the index's empty auth by the oracle, is the DER SPKI. */
    assert_int_equal(asprintf(&out_path, "%s/nv.bin", shared.dir) > 0, 1);
    const char *nvread[] = {"tpm2_nvread", "-T",     shared.swtpm->tcti, "-C", "0x018A0000",
                            "-o",          out_path, "0x018A0000",       NULL};
    assert_int_equal(fx_tool(&shared, nvread), 0);
    assert_int_equal(fx_file_read(out_path, &read_back, &read_len), 0);
    assert_int_equal(read_len, len);
    assert_memory_equal(read_back, der, len);

    /* Locked: even the owner cannot write it again. */
    ct_path = fx_file_write(&shared, "other.der", der, len);
    assert_non_null(ct_path);
    const char *nvwrite[] = {"tpm2_nvwrite", "-T",    shared.swtpm->tcti, "-C", "o", "-P", OWNER_TOOL_AUTH,
                             "-i",           ct_path, "0x018A0000",       NULL};
    shared.quiet_tools = true;
    assert_true(fx_tool(&shared, nvwrite) < 0);
    shared.quiet_tools = false;

    if (tpm_tep_policy_key_read(shared.tpm, &got, &got_len, &error) < 0)
        fail_msg("tpm_tep_policy_key_read: %s", error);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, der, len);

    /* Without force an existing index stays as it is. */
    free(error);
    error = NULL;
    assert_int_equal(tpm_tep_policy_key_write(shared.tpm, &shared.owner, der, len, false, &error), -EEXIST);
    expect_in(error, "--force");
}

static void test_policy_key_p256(void **state)
{
    policy_key_case("P-256", 91);
}

static void test_policy_key_p384(void **state)
{
    policy_key_case("P-384", 120);
}

static void test_policy_key_force_replaces(void **state)
{
    _cleanup_free_ char *error = NULL;
    _cleanup_free_ uint8_t *a = NULL, *b = NULL, *got = NULL;
    size_t a_len, b_len, got_len = 0;
    ec_public_der("P-256", &a, &a_len);
    ec_public_der("P-384", &b, &b_len);

    nv_remove(TPM_NV_TEP_POLICY_KEY);
    assert_int_equal(tpm_tep_policy_key_write(shared.tpm, &shared.owner, a, a_len, false, &error), 0);
    assert_int_equal(tpm_tep_policy_key_write(shared.tpm, &shared.owner, b, b_len, true, &error), 0);
    assert_int_equal(tpm_tep_policy_key_read(shared.tpm, &got, &got_len, &error), 0);
    assert_int_equal(got_len, b_len);
    assert_memory_equal(got, b, b_len);
}

/* An index someone else defined with authwrite is refused, naming the attribute. */
static void test_policy_key_untrusted_attributes(void **state)
{
    _cleanup_free_ char *error = NULL, *path = NULL;
    _cleanup_free_ uint8_t *der = NULL, *got = NULL;
    size_t len, got_len = 0;
    ec_public_der("P-256", &der, &len);

    nv_remove(TPM_NV_TEP_POLICY_KEY);
    path = fx_file_write(&shared, "spki.der", der, len);
    const char *define[] = {"tpm2_nvdefine",
                            "-T",
                            shared.swtpm->tcti,
                            "-C",
                            "o",
                            "-P",
                            OWNER_TOOL_AUTH,
                            "-s",
                            "91",
                            "-a",
                            "ownerwrite|authwrite|ownerread|authread|no_da",
                            "0x018A0000",
                            NULL};
    const char *write[] = {"tpm2_nvwrite", "-T", shared.swtpm->tcti, "-C", "0x018A0000",
                           "-i",           path, "0x018A0000",       NULL};
    assert_int_equal(fx_tool(&shared, define), 0);
    assert_int_equal(fx_tool(&shared, write), 0);
    assert_int_equal(tpm_tep_policy_key_read(shared.tpm, &got, &got_len, &error), -EPERM);
    expect_in(error, "authwrite");

    struct tpm_tep_state s;
    assert_int_equal(tpm_tep_state(shared.tpm, &s, &error), 0);
    assert_true(s.policy_key_defined);
    assert_false(s.policy_key_locked);
    nv_remove(TPM_NV_TEP_POLICY_KEY);
}

/* ---- the AES key ---- */

static void enc_key_case(size_t key_len)
{
    _cleanup_free_ char *error = NULL;
    uint8_t key[32], name[TPM_NAME_MAX], iv[16];
    size_t name_len = 0;
    struct tpm_auth key_auth;

    srk_name(name, &name_len);
    assert_int_equal(RAND_bytes(key, (int)key_len), 1);
    random_auth(&key_auth);
    if (tpm_tep_enc_key_import(shared.tpm, &shared.owner, key, key_len, &key_auth, name, name_len, true,
                               &error) < 0)
        fail_msg("tpm_tep_enc_key_import: %s", error);

    const char *argv[] = {"tpm2_readpublic", "-T", shared.swtpm->tcti, "-c", "0x8100A000", NULL};
    _cleanup_free_ char *text = tool_text(argv);
    expect_in(text, "symcipher");
    expect_in(text, "userwithauth|decrypt|sign");
    assert_null(strstr(text, "noda"));
    expect_in(text, key_len == 32 ? "bits: 256" : "bits: 128");

    struct tpm_tep_state s;
    assert_int_equal(tpm_tep_state(shared.tpm, &s, &error), 0);
    assert_true(s.enc_key_present);
    assert_int_equal(s.enc_key_bits, key_len * 8);

    /* Around the TPM's 1024-byte input buffer, a whole configuration's worth, and counters that wrap. */
    static const size_t sizes[] = {1, 1023, 1024, 1025, 60 * 1024};
    assert_int_equal(RAND_bytes(iv, 12), 1);
    memset(iv + 12, 0, 4);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        expect_decrypts(key, key_len, &key_auth, name, name_len, iv, sizes[i]);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (sizes[i] >= 1024 * 8) /* a figure for the log: swtpm's cost per 1024-byte command */
            fprintf(stderr, "AES-%zu: %zu bytes decrypted through the TPM in %.0f ms\n", key_len * 8,
                    sizes[i], (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    }
    memset(iv, 0xff, sizeof(iv)); /* the full 128-bit counter wraps to 0 after the first block */
    iv[15] = 0xf0;
    expect_decrypts(key, key_len, &key_auth, name, name_len, iv, 3000);
    memset(iv, 0, 8); /* the low 64 bits wrap into the high ones */
    memset(iv + 8, 0xff, 8);
    expect_decrypts(key, key_len, &key_auth, name, name_len, iv, 100);
    tpm_auth_clear(&key_auth);
}

static void test_enc_key_aes256(void **state)
{
    enc_key_case(32);
}

static void test_enc_key_aes128(void **state)
{
    enc_key_case(16);
}

static void test_enc_key_exists_needs_force(void **state)
{
    _cleanup_free_ char *error = NULL;
    uint8_t key[16] = {1}, name[TPM_NAME_MAX];
    size_t name_len = 0;
    struct tpm_auth key_auth;

    srk_name(name, &name_len);
    random_auth(&key_auth);
    assert_int_equal(
        tpm_tep_enc_key_import(shared.tpm, &shared.owner, key, 16, &key_auth, name, name_len, true, &error),
        0);
    assert_int_equal(
        tpm_tep_enc_key_import(shared.tpm, &shared.owner, key, 16, &key_auth, name, name_len, false, &error),
        -EEXIST);
    tpm_auth_clear(&key_auth);
}

/* A Name that is not the SRK's: refused before the key's authorization is ever sent (the DA counter, which a
 * wrong authValue would raise, stays where it was; the right authValue is used, so only the check stops it).
 */
static void test_decrypt_wrong_srk_name(void **state)
{
    _cleanup_free_ char *error = NULL;
    uint8_t key[32], name[TPM_NAME_MAX], iv[16] = {0}, in[64] = {0}, out[64];
    size_t name_len = 0;
    uint32_t before = 0, after = 0;
    struct tpm_auth key_auth;

    srk_name(name, &name_len);
    assert_int_equal(RAND_bytes(key, 32), 1);
    random_auth(&key_auth);
    assert_int_equal(
        tpm_tep_enc_key_import(shared.tpm, &shared.owner, key, 32, &key_auth, name, name_len, true, &error),
        0);
    name[name_len - 1] ^= 1;
    assert_int_equal(fx_lockout_counter(shared.swtpm->tcti, &before), 0);
    assert_int_equal(tpm_tep_decrypt(shared.tpm, &key_auth, name, name_len, iv, in, sizeof(in), out, &error),
                     -EKEYREJECTED);
    expect_in(error, "not the one recorded at provisioning");
    assert_int_equal(fx_lockout_counter(shared.swtpm->tcti, &after), 0);
    assert_int_equal(after, before);

    /* Nor is a key imported under a wrong Name. */
    free(error);
    error = NULL;
    assert_int_equal(
        tpm_tep_enc_key_import(shared.tpm, &shared.owner, key, 32, &key_auth, name, name_len, true, &error),
        -EKEYREJECTED);
    name[name_len - 1] ^= 1;
    expect_decrypts(key, 32, &key_auth, name, name_len, iv, 16); /* the old key is still there */
    tpm_auth_clear(&key_auth);
}

static void test_symmetric_caps(void **state)
{
    _cleanup_free_ char *error = NULL;
    bool has = false;
    size_t input = 0;

    assert_int_equal(tpm_symmetric_caps(shared.tpm, &has, &input, &error), 0);
    assert_true(has);
    assert_int_equal(input, 1024); /* libtpms */
}

/* ---- the 8-byte indexes ---- */

static void test_u64_round_trip(void **state)
{
    _cleanup_free_ char *error = NULL;
    bool created = false;
    uint64_t v = 1;

    nv_remove(TPM_NV_TEP_CONFIG_SEQ);
    assert_int_equal(tpm_nv_u64_define(shared.tpm, &shared.owner, TPM_NV_TEP_CONFIG_SEQ, &created, &error),
                     0);
    assert_true(created);
    assert_int_equal(tpm_nv_u64_read(shared.tpm, TPM_NV_TEP_CONFIG_SEQ, &v, &error), 0);
    assert_int_equal(v, 0);
    assert_int_equal(
        tpm_nv_u64_write(shared.tpm, &shared.owner, TPM_NV_TEP_CONFIG_SEQ, 0x0102030405060708ull, &error), 0);
    assert_int_equal(tpm_nv_u64_read(shared.tpm, TPM_NV_TEP_CONFIG_SEQ, &v, &error), 0);
    assert_int_equal(v, 0x0102030405060708ull);
    /* Big-endian, as the oracle reads it. */
    _cleanup_free_ char *path = NULL;
    _cleanup_free_ uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(asprintf(&path, "%s/seq.bin", shared.dir) > 0, 1);
    const char *argv[] = {"tpm2_nvread", "-T", shared.swtpm->tcti, "-C", "0x018A0002",
                          "-o",          path, "0x018A0002",       NULL};
    assert_int_equal(fx_tool(&shared, argv), 0);
    assert_int_equal(fx_file_read(path, &bytes, &len), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(bytes, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    /* Defining again keeps the value. */
    assert_int_equal(tpm_nv_u64_define(shared.tpm, &shared.owner, TPM_NV_TEP_CONFIG_SEQ, &created, &error),
                     0);
    assert_false(created);
    assert_int_equal(tpm_nv_u64_read(shared.tpm, TPM_NV_TEP_CONFIG_SEQ, &v, &error), 0);
    assert_int_equal(v, 0x0102030405060708ull);

    const char *readpub[] = {"tpm2_nvreadpublic", "-T", shared.swtpm->tcti, "0x018A0002", NULL};
    _cleanup_free_ char *pub = tool_text(readpub);
    expect_in(pub, "ownerwrite|ownerread|authread|no_da|written");
    expect_in(pub, "size: 8");
}

/* An index someone else defined at 0x018A0002 before provisioning, writable with its own (empty) auth:
 * whoever can open the TPM could lower the rollback floor. provision-device does not adopt it, and reads
 * refuse it. */
static void test_u64_untrusted_attributes(void **state)
{
    _cleanup_free_ char *error = NULL;
    bool created = true;
    uint64_t v = 0;
    nv_remove(TPM_NV_TEP_CONFIG_SEQ);
    const char *define[] = {"tpm2_nvdefine",
                            "-T",
                            shared.swtpm->tcti,
                            "-C",
                            "o",
                            "-P",
                            OWNER_TOOL_AUTH,
                            "-s",
                            "8",
                            "-a",
                            "ownerwrite|authwrite|ownerread|authread|no_da",
                            "0x018A0002",
                            NULL};
    assert_int_equal(fx_tool(&shared, define), 0);
    assert_int_equal(tpm_nv_u64_define(shared.tpm, &shared.owner, TPM_NV_TEP_CONFIG_SEQ, &created, &error),
                     -EPERM);
    assert_non_null(strstr(error, "someone other than the owner could write it"));
    free(TAKE_PTR(error));
    assert_int_equal(tpm_nv_u64_read(shared.tpm, TPM_NV_TEP_CONFIG_SEQ, &v, &error), -EPERM);
    nv_remove(TPM_NV_TEP_CONFIG_SEQ);
}

/* ---- what crosses the bus ---- */

static bool contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t len)
{
    return memmem(hay, hay_len, needle, len) != NULL;
}

/* Import and decryption recorded by the pcap TCTI: neither the AES key, nor its authValue, nor the owner
 * secret, nor the plaintext is ever on the wire; the ciphertext is (a positive control: the capture works).
 */
static void test_bus_never_sees_secrets(void **state)
{
    _cleanup_free_ char *error = NULL, *pcap = NULL, *tcti = NULL;
    _cleanup_free_ uint8_t *wire = NULL;
    size_t wire_len = 0, name_len = 0;
    uint8_t key[32], name[TPM_NAME_MAX], iv[16] = {0}, plain[2048], ct[2048], out[2048];
    struct tpm_auth key_auth;
    tpm_t *tpm = NULL;

    srk_name(name, &name_len);
    assert_int_equal(RAND_bytes(key, 32), 1);
    assert_int_equal(RAND_bytes(plain, sizeof(plain)), 1);
    random_auth(&key_auth);
    ctr_encrypt(key, 32, iv, plain, sizeof(plain), ct);
    assert_int_equal(asprintf(&pcap, "%s/bus.pcap", shared.dir) > 0, 1);
    assert_int_equal(asprintf(&tcti, "pcap:%s", shared.swtpm->tcti) > 0, 1);
    assert_int_equal(setenv("TCTI_PCAP_FILE", pcap, 1), 0);
    assert_int_equal(tpm_open(tcti, &tpm, &error), 0);
    if (tpm_tep_enc_key_import(tpm, &shared.owner, key, 32, &key_auth, name, name_len, true, &error) < 0 ||
        tpm_tep_decrypt(tpm, &key_auth, name, name_len, iv, ct, sizeof(ct), out, &error) < 0)
        fail_msg("through the pcap TCTI: %s", error);
    tpm_close(tpm);
    unsetenv("TCTI_PCAP_FILE");
    assert_memory_equal(out, plain, sizeof(plain));

    assert_int_equal(fx_file_read(pcap, &wire, &wire_len), 0);
    assert_true(contains(wire, wire_len, ct + 1024, 64)); /* the capture holds the commands */
    assert_false(contains(wire, wire_len, key, 16));
    assert_false(contains(wire, wire_len, key + 16, 16));
    assert_false(contains(wire, wire_len, key_auth.bytes, 16));
    assert_false(contains(wire, wire_len, key_auth.bytes + 16, 16));
    assert_false(contains(wire, wire_len, shared.owner.bytes, shared.owner.len));
    for (size_t off = 0; off + 16 <= sizeof(plain); off += 16)
        assert_false(contains(wire, wire_len, plain + off, 16));
    tpm_auth_clear(&key_auth);
}

/* ---- tep_provision_device() and the config-apply ops ---- */

struct device_keys {
    EVP_PKEY *sign;
    uint8_t *der;
    size_t der_len;
    uint8_t aes[32];
    size_t aes_len;
    char *pub_path, *aes_path;
};

/* The owner's two files, made with OpenSSL: the public key as PEM or DER. */
static void device_keys_make(enum tepc_profile profile, bool pem, struct device_keys *k)
{
    const struct tepc_profile_params *p = tepc_profile_params(profile);
    memset(k, 0, sizeof(*k));
    k->sign = ec_key(p->enc_key_bits == 256 ? "P-384" : "P-256", &k->der, &k->der_len);
    k->aes_len = p->enc_key_bits / 8;
    assert_int_equal(RAND_bytes(k->aes, (int)k->aes_len), 1);
    if (pem) {
        _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
        char *text = NULL;
        assert_int_equal(PEM_write_bio_PUBKEY(bio, k->sign), 1);
        long n = BIO_get_mem_data(bio, &text);
        k->pub_path = fx_file_write(&shared, "pub.pem", text, (size_t)n);
    } else
        k->pub_path = fx_file_write(&shared, "pub.der", k->der, k->der_len);
    k->aes_path = fx_file_write(&shared, "aes.bin", k->aes, k->aes_len);
    assert_true(k->pub_path && k->aes_path);
}

static void device_keys_free(struct device_keys *k)
{
    EVP_PKEY_free(k->sign);
    free(k->der);
    free(k->pub_path);
    free(k->aes_path);
    OPENSSL_cleanse(k->aes, sizeof(k->aes));
}

/* No TEP keys on the TPM (the SRK and the 8-byte indexes may stay). */
static void tep_keys_remove(void)
{
    _cleanup_free_ char *error = NULL;
    nv_remove(TPM_NV_TEP_POLICY_KEY);
    if (tpm_tep_enc_key_evict(shared.tpm, &shared.owner, &error) < 0)
        fail_msg("evict: %s", error);
}

static int provision(const char *root, enum tepc_profile profile, const struct device_keys *k, bool force,
                     char **ret_error)
{
    struct tep_provision_request req = {
        .pol_pub_key_path = k->pub_path, .enc_key_path = k->aes_path, .profile = profile, .force = force};
    _cleanup_free_ char *report = NULL;
    int r = tep_provision_device(root, shared.tpm, &shared.owner, &req, &report, ret_error);
    if (r == 0)
        assert_non_null(strstr(report, "read back"));
    return r;
}

static void expect_mode(const char *root, const char *abs, mode_t mode)
{
    _cleanup_free_ char *path = NULL;
    struct stat st;
    assert_int_equal(asprintf(&path, "%s%s", root, abs) > 0, 1);
    assert_int_equal(lstat(path, &st), 0);
    if ((st.st_mode & 07777) != mode)
        fail_msg("%s has mode %04o instead of %04o", abs, st.st_mode & 07777, mode);
}

/* What config-apply does with the TPM, through the real ops: profile, policy key, decryption of OpenSSL's
 * AES-CTR at several sizes. */
static void expect_apply_ops_work(const char *root, enum tepc_profile profile, const struct device_keys *k)
{
    _cleanup_free_ char *error = NULL;
    _cleanup_free_ uint8_t *spki = NULL;
    size_t spki_len = 0;
    struct tep_tpm_apply st;
    struct tep_apply_ops ops;
    enum tepc_profile got;
    static const size_t sizes[] = {1, 1023, 1024, 1025, 60 * 1024};

    if (tep_apply_tpm_ops(root, shared.tpm, &shared.owner, &st, &ops, &error) < 0)
        fail_msg("tep_apply_tpm_ops: %s", error);
    assert_int_equal(ops.profile(ops.userdata, &got, &error), 0);
    assert_int_equal(got, profile);
    assert_int_equal(ops.policy_key(ops.userdata, &spki, &spki_len, &error), 0);
    assert_int_equal(spki_len, k->der_len);
    assert_memory_equal(spki, k->der, spki_len);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t len = sizes[i];
        _cleanup_free_ uint8_t *plain = malloc(len), *ct = malloc(len), *out = malloc(len);
        uint8_t iv[16] = {0};
        assert_true(plain && ct && out);
        assert_int_equal(RAND_bytes(plain, (int)len), 1);
        assert_int_equal(RAND_bytes(iv, 12), 1);
        ctr_encrypt(k->aes, k->aes_len, iv, plain, len, ct);
        if (ops.decrypt(ops.userdata, iv, ct, len, out, &error) < 0)
            fail_msg("decrypt %zu bytes: %s", len, error);
        assert_memory_equal(out, plain, len);
    }
    uint64_t seq = 0;
    assert_int_equal(ops.record_sequence(ops.userdata, 7, &error), 0);
    assert_int_equal(ops.last_sequence(ops.userdata, &seq, &error), 0);
    assert_int_equal(seq, 7);
    tep_tpm_apply_clear(&st);
}

/* tep_srk_pin (what setup tasks, fetch-ekcert and the service do after opening the TPM): with the recorded
 * Name, owner-authorized calls go through SRK-salted sessions; with a Name that is not the TPM's SRK they
 * stop before the owner secret is used; without a record nothing is pinned. The pin is dropped afterwards. */
static void expect_srk_pin(const char *root)
{
    _cleanup_free_ char *error = NULL, *path = NULL, *good = NULL;
    bool owned = false;
    assert_int_equal(tep_srk_pin(root, shared.tpm, &error), 0);
    assert_int_equal(tpm_owned_with_auth(shared.tpm, &shared.owner, &owned, &error), 0);
    assert_true(owned);

    assert_int_equal(asprintf(&path, "%s" TEP_SRK_NAME_FILE, root) > 0, 1);
    assert_int_equal(asprintf(&good, "%s.good", path) > 0, 1);
    assert_int_equal(rename(path, good), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "000b%064d\n", 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(tep_srk_pin(root, shared.tpm, &error), 0);
    assert_int_equal(tpm_owned_with_auth(shared.tpm, &shared.owner, &owned, &error), -EKEYREJECTED);
    assert_non_null(strstr(error, "not the one recorded"));
    free(error);
    error = NULL;

    assert_int_equal(rename(good, path), 0);
    assert_int_equal(tpm_set_srk_name(shared.tpm, NULL, 0), 0);
    _cleanup_free_ char *empty_root = NULL;
    assert_int_equal(harness_tmpdir_create("tep-none", &empty_root), 0);
    assert_int_equal(tep_srk_pin(empty_root, shared.tpm, &error), 0); /* not provisioned: nothing pinned */
    assert_int_equal(tpm_owned_with_auth(shared.tpm, &shared.owner, &owned, &error), 0);
}

static void provision_case(enum tepc_profile profile, bool pem)
{
    const struct tepc_profile_params *p = tepc_profile_params(profile);
    _cleanup_free_ char *error = NULL, *root = NULL, *text = NULL, *out_path = NULL;
    _cleanup_free_ uint8_t *nv = NULL;
    size_t nv_len = 0;
    struct device_keys k;
    char size_line[32];

    tep_keys_remove();
    device_keys_make(profile, pem, &k);
    assert_int_equal(harness_tmpdir_create("tep-root", &root), 0);
    if (provision(root, profile, &k, false, &error) < 0)
        fail_msg("tep_provision_device(%s): %s", p->name, error);

    expect_mode(root, "/etc/tep", 0755);
    expect_mode(root, "/etc/tep/srk.name", 0644);
    expect_mode(root, "/etc/tep/enc-key.auth", 0600);

    /* Read back independently: tpm2-tools on its own connection. */
    const char *readpub[] = {"tpm2_nvreadpublic", "-T", shared.swtpm->tcti, "0x018A0000", NULL};
    text = tool_text(readpub);
    expect_in(text, "value: 0x22062802\n");
    snprintf(size_line, sizeof(size_line), "size: %zu\n", p->spki_len);
    expect_in(text, size_line);
    free(text);
    assert_int_equal(asprintf(&out_path, "%s/nv.bin", shared.dir) > 0, 1);
    const char *nvread[] = {"tpm2_nvread", "-T",     shared.swtpm->tcti, "-C", "0x018A0000",
                            "-o",          out_path, "0x018A0000",       NULL};
    assert_int_equal(fx_tool(&shared, nvread), 0);
    assert_int_equal(fx_file_read(out_path, &nv, &nv_len), 0);
    assert_int_equal(nv_len, k.der_len);
    assert_memory_equal(nv, k.der, nv_len);
    const char *nvwrite[] = {"tpm2_nvwrite",  "-T", shared.swtpm->tcti, "-C",         "o", "-P",
                             OWNER_TOOL_AUTH, "-i", out_path,           "0x018A0000", NULL};
    shared.quiet_tools = true;
    assert_true(fx_tool(&shared, nvwrite) < 0);
    shared.quiet_tools = false;
    const char *readkey[] = {"tpm2_readpublic", "-T", shared.swtpm->tcti, "-c", "0x8100A000", NULL};
    text = tool_text(readkey);
    expect_in(text, p->enc_key_bits == 256 ? "bits: 256" : "bits: 128");
    expect_in(text, "userwithauth|decrypt|sign");

    expect_apply_ops_work(root, profile, &k);
    expect_srk_pin(root);
    device_keys_free(&k);
    harness_tmpdir_remove(root);
}

static void test_provision_device_ptt_pem(void **state)
{
    provision_case(TEPC_PROFILE_PTT, true);
}

static void test_provision_device_dtpm_der(void **state)
{
    provision_case(TEPC_PROFILE_DTPM, false);
}

/* A second run without --force changes nothing; with it the new keys replace the old ones. */
static void test_provision_device_force(void **state)
{
    _cleanup_free_ char *error = NULL, *root = NULL, *auth_path = NULL;
    _cleanup_free_ uint8_t *auth1 = NULL, *auth2 = NULL, *auth3 = NULL;
    size_t len1 = 0, len2 = 0, len3 = 0;
    struct device_keys a, b;

    tep_keys_remove();
    device_keys_make(TEPC_PROFILE_PTT, true, &a);
    device_keys_make(TEPC_PROFILE_PTT, true, &b);
    assert_int_equal(harness_tmpdir_create("tep-root", &root), 0);
    assert_int_equal(asprintf(&auth_path, "%s/etc/tep/enc-key.auth", root) > 0, 1);
    if (provision(root, TEPC_PROFILE_PTT, &a, false, &error) < 0)
        fail_msg("first: %s", error);
    assert_int_equal(fx_file_read(auth_path, &auth1, &len1), 0);

    assert_int_equal(provision(root, TEPC_PROFILE_PTT, &b, false, &error), -EEXIST);
    expect_in(error, "--force");
    assert_int_equal(fx_file_read(auth_path, &auth2, &len2), 0);
    assert_int_equal(len2, 32);
    assert_memory_equal(auth1, auth2, 32);
    expect_apply_ops_work(root, TEPC_PROFILE_PTT, &a); /* the old keys, untouched */

    free(error);
    error = NULL;
    if (provision(root, TEPC_PROFILE_PTT, &b, true, &error) < 0)
        fail_msg("force: %s", error);
    assert_int_equal(fx_file_read(auth_path, &auth3, &len3), 0);
    assert_int_equal(len3, 32);
    assert_memory_not_equal(auth1, auth3, 32);
    expect_apply_ops_work(root, TEPC_PROFILE_PTT, &b);
    device_keys_free(&a);
    device_keys_free(&b);
    harness_tmpdir_remove(root);
}

/* Files that do not fit the profile are refused before the TPM is touched. */
static void test_provision_device_bad_inputs(void **state)
{
    _cleanup_free_ char *error = NULL, *root = NULL, *short_key = NULL, *priv = NULL;
    struct device_keys k;
    struct tpm_tep_state s;

    tep_keys_remove();
    device_keys_make(TEPC_PROFILE_DTPM, true, &k); /* P-256 + AES-128 */
    assert_int_equal(harness_tmpdir_create("tep-root", &root), 0);
    assert_int_equal(provision(root, TEPC_PROFILE_PTT, &k, false, &error), -EINVAL);
    expect_in(error, "secp384r1");

    struct device_keys wrong = k;
    short_key = fx_file_write(&shared, "short.bin", k.aes, 15);
    wrong.aes_path = short_key;
    free(error);
    error = NULL;
    assert_int_equal(provision(root, TEPC_PROFILE_DTPM, &wrong, false, &error), -EINVAL);
    expect_in(error, "exactly 16 raw bytes");

    priv = fx_file_write(&shared, "garbage.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n", 33);
    wrong = k;
    wrong.pub_path = priv;
    free(error);
    error = NULL;
    assert_int_equal(provision(root, TEPC_PROFILE_DTPM, &wrong, false, &error), -EBADMSG);

    assert_int_equal(tpm_tep_state(shared.tpm, &s, &error), 0);
    assert_false(s.policy_key_defined);
    assert_false(s.enc_key_present);
    device_keys_free(&k);
    harness_tmpdir_remove(root);
}

/* Another SRK Name on record: the decryption is refused before the key's authorization is used. */
static void test_apply_wrong_srk_name(void **state)
{
    _cleanup_free_ char *error = NULL, *root = NULL, *name_path = NULL;
    struct device_keys k;
    struct tep_tpm_apply st;
    struct tep_apply_ops ops;
    uint8_t iv[16] = {0}, in[32] = {0}, out[32];
    uint32_t before = 0, after = 0;

    tep_keys_remove();
    device_keys_make(TEPC_PROFILE_DTPM, false, &k);
    assert_int_equal(harness_tmpdir_create("tep-root", &root), 0);
    if (provision(root, TEPC_PROFILE_DTPM, &k, false, &error) < 0)
        fail_msg("%s", error);
    assert_int_equal(asprintf(&name_path, "%s/etc/tep/srk.name", root) > 0, 1);
    assert_int_equal(
        harness_file_write(name_path,
                           "000b00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600),
        0);
    assert_int_equal(tep_apply_tpm_ops(root, shared.tpm, &shared.owner, &st, &ops, &error), 0);
    assert_int_equal(fx_lockout_counter(shared.swtpm->tcti, &before), 0);
    assert_int_equal(ops.decrypt(ops.userdata, iv, in, sizeof(in), out, &error), -EKEYREJECTED);
    expect_in(error, "not the one recorded at provisioning");
    assert_int_equal(fx_lockout_counter(shared.swtpm->tcti, &after), 0);
    assert_int_equal(after, before);
    tep_tpm_apply_clear(&st);
    device_keys_free(&k);
    harness_tmpdir_remove(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_srk_ensure_idempotent, teardown),
        cmocka_unit_test_teardown(test_policy_key_p256, teardown),
        cmocka_unit_test_teardown(test_policy_key_p384, teardown),
        cmocka_unit_test_teardown(test_policy_key_force_replaces, teardown),
        cmocka_unit_test_teardown(test_policy_key_untrusted_attributes, teardown),
        cmocka_unit_test_teardown(test_symmetric_caps, teardown),
        cmocka_unit_test_teardown(test_enc_key_aes256, teardown),
        cmocka_unit_test_teardown(test_enc_key_aes128, teardown),
        cmocka_unit_test_teardown(test_enc_key_exists_needs_force, teardown),
        cmocka_unit_test_teardown(test_decrypt_wrong_srk_name, teardown),
        cmocka_unit_test_teardown(test_u64_round_trip, teardown),
        cmocka_unit_test_teardown(test_u64_untrusted_attributes, teardown),
        cmocka_unit_test_teardown(test_bus_never_sees_secrets, teardown),
        cmocka_unit_test_teardown(test_provision_device_ptt_pem, teardown),
        cmocka_unit_test_teardown(test_provision_device_dtpm_der, teardown),
        cmocka_unit_test_teardown(test_provision_device_force, teardown),
        cmocka_unit_test_teardown(test_provision_device_bad_inputs, teardown),
        cmocka_unit_test_teardown(test_apply_wrong_srk_name, teardown),
    };

    return cmocka_run_group_tests_name("integration.tep_provision", tests, group_setup, group_teardown);
}
