/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent luks` (spec 3.6) end to end: swtpm owned and provisioned by tep_provision_device() (P-256 policy
 * key, version index 0, SRK Name in /etc/tep/srk.name), the owner's signed states made here with luks/policy
 * and OpenSSL from the PCR values the TPM holds, a 32 MiB image file as dev_part, the built binary run
 * through the pcap TCTI. In order: first boot seals and formats (+ recovery keyslot); reboot to the same
 * PCRs → --check opens keyslot 0; without --check → exit 3 (no device-mapper here); PCR 7 changed → exit 2
 * naming PCR 7; a new signed state in signed_states → unlocks; revoke → exit 2 "revoked"; revoke to the same
 * value refused. Last, the passphrase is unsealed in this process (a separate call, through quote/), shown to
 * open the volume, and no 8-byte window of it is in any capture of the binary's runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cleanup.h"
#include "luks.h"
#include "provision.h"
#include "tpm_fixture.h"

#define PCRS     LUKS_DEFAULT_PCRS
#define RECOVERY "owner-recovery-passphrase-3f9a"

static const char *tagent_bin;
static struct fx shared;
static char *root, *image;
static EVP_PKEY *owner_key;
static uint8_t *spki;
static size_t spki_len;
static unsigned runs;

static char *rootpath(const char *rel)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s%s", root, rel) > 0);
    return p;
}

static void put(const char *rel, const void *data, size_t len)
{
    _cleanup_free_ char *p = rootpath(rel);
    FILE *f = fopen(p, "we");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- the TPM: boots and PCRs ---- */

static void extend(unsigned pcr, uint32_t seed)
{
    static const uint16_t banks[] = {TPM_BANK_SHA256};
    fx_esys_t *e = NULL;
    assert_int_equal(fx_esys_open(shared.swtpm->tcti, &e), 0);
    assert_int_equal(fx_pcr_extend(e, pcr, banks, 1, seed), 0);
    fx_esys_close(e);
}

/* TPM2_Shutdown(CLEAR), swtpm's reset (control port), TPM2_Startup(CLEAR): PCRs back to zero, persistent
 * objects kept (spec 4.1). Then the "firmware" measures PCRs 0, 7 (pcr7_seed) and 10. */
static void boot(uint32_t pcr7_seed)
{
    char ctrl[32];
    snprintf(ctrl, sizeof ctrl, "127.0.0.1:%u", (unsigned)shared.swtpm->port + 1);
    const char *shutdown[] = {"tpm2_shutdown", "-T", shared.swtpm->tcti, "-c", NULL};
    const char *init[] = {"swtpm_ioctl", "--tcp", ctrl, "-i", NULL};
    const char *startup[] = {"tpm2_startup", "-T", shared.swtpm->tcti, "-c", NULL};
    assert_int_equal(fx_tool(&shared, shutdown), 0);
    assert_int_equal(fx_tool(&shared, init), 0);
    assert_int_equal(fx_tool(&shared, startup), 0);
    extend(0, 100);
    extend(7, pcr7_seed);
    extend(10, 110);
}

/* ---- the owner: signed states of the PCRs the TPM holds now ---- */

static void state_now(bool has_version, uint64_t version, struct luks_signed_state *s)
{
    memset(s, 0, sizeof *s);
    s->state.bank = TPM_BANK_SHA256;
    s->state.pcr_mask = PCRS;
    s->state.has_version = has_version;
    s->state.version = version;
    uint8_t values[3 * 32];
    size_t n = 0;
    assert_int_equal(fx_pcr_read(shared.swtpm->tcti, TPM_BANK_SHA256, PCRS, values, sizeof values, &n), 0);
    assert_int_equal(n, sizeof values);
    memcpy(s->state.values[0], values, 32);
    memcpy(s->state.values[7], values + 32, 32);
    memcpy(s->state.values[10], values + 64, 32);
    s->has_values = true;
    SHA256(spki, spki_len, s->pkfp);
    _cleanup_free_ char *error = NULL;
    if (luks_policy_approved(&s->state, s->pol, &error) < 0)
        fail_msg("luks_policy_approved: %s", error);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    s->sig_len = sizeof s->sig;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, owner_key), 1);
    assert_int_equal(EVP_DigestSign(ctx, s->sig, &s->sig_len, s->pol, 32), 1);
    EVP_MD_CTX_free(ctx);
}

static void states_write(const struct luks_signed_states *states)
{
    _cleanup_free_ char *json = luks_signed_states_format(states);
    assert_non_null(json);
    put("/etc/tep/luks/states.json", json, strlen(json));
}

/* ---- running the binary ---- */

struct cli_run {
    int status;
    char *output;
};

static struct cli_run cli(const char *a1, const char *a2, const char *a3)
{
    struct cli_run r = {0};
    _cleanup_free_ char *tcti = NULL, *pcap_env = NULL, *out = NULL, *pcap = NULL;
    assert_true(asprintf(&pcap, "%s/luks-run-%u.pcap", shared.dir, ++runs) > 0);
    assert_true(asprintf(&out, "%s/luks-run-%u.out", shared.dir, runs) > 0);
    assert_true(asprintf(&tcti, "TAGENT_TCTI=pcap:%s", shared.swtpm->tcti) > 0);
    assert_true(asprintf(&pcap_env, "TCTI_PCAP_FILE=%s", pcap) > 0);
    const char *asan = getenv("ASAN_OPTIONS"), *ubsan = getenv("UBSAN_OPTIONS");
    _cleanup_free_ char *asan_env = NULL, *ubsan_env = NULL;
    assert_true(asprintf(&asan_env, "ASAN_OPTIONS=%s", asan ? asan : "") > 0);
    assert_true(asprintf(&ubsan_env, "UBSAN_OPTIONS=%s", ubsan ? ubsan : "") > 0);
    static const char owner_env[] = "TPM_OWNER_SECRET=" FX_OWNER_SECRET;
    char *env[] = {"PATH=/usr/bin:/bin:/usr/sbin:/sbin",
                   "TAGENT_LOG_TARGET=stderr",
                   "TAGENT_LUKS_TEST_PBKDF=argon2id",
                   (char *)owner_env,
                   tcti,
                   pcap_env,
                   asan_env,
                   ubsan_env,
                   NULL};
    const char *argv[] = {tagent_bin, "--root", root, "luks", a1, a2, a3, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, tagent_bin, &fa, NULL, (char *const *)argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.output = harness_file_slurp(out);
    assert_non_null(r.output);
    fprintf(stderr, "# tagent luks %s %s %s: exit %d: %s", a1 ? a1 : "", a2 ? a2 : "", a3 ? a3 : "", r.status,
            r.output);
    return r;
}

static void expect(struct cli_run r, int status, const char *words)
{
    if (r.status != status || (words && !strstr(r.output, words)))
        fail_msg("expected exit %d with \"%s\"", status, words ? words : "");
    free(r.output);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    if (fx_start_owned(&shared) < 0 || asprintf(&root, "%s/root", shared.dir) < 0 ||
        asprintf(&image, "%s/disk.img", root) < 0)
        return -1;
    _cleanup_free_ char *cmd = NULL;
    if (asprintf(&cmd, "mkdir -p '%s/etc/tep/luks' '%s" TEP_UPLOAD_DIR "' && truncate -s 32M '%s'", root,
                 root, image) < 0 ||
        system(cmd) != 0)
        return -1;

    /* provision-device with a P-256 key (the dtpm profile: SHA-256 signatures) */
    owner_key = EVP_EC_gen("P-256");
    int n = i2d_PUBKEY(owner_key, &spki);
    if (n <= 0)
        return -1;
    spki_len = (size_t)n;
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    PEM_write_bio_PUBKEY(bio, owner_key);
    long pem_len = BIO_get_mem_data(bio, &pem);
    _cleanup_free_ char *pub = fx_file_write(&shared, "owner-pub.pem", pem, (size_t)pem_len);
    BIO_free(bio);
    uint8_t aes[16] = {1, 2, 3};
    _cleanup_free_ char *aes_path = fx_file_write(&shared, "owner-aes.bin", aes, sizeof aes);
    struct tep_provision_request req = {
        .pol_pub_key_path = pub, .enc_key_path = aes_path, .profile = TEPC_PROFILE_DTPM, .force = true};
    _cleanup_free_ char *report = NULL, *error = NULL;
    if (tep_provision_device(root, shared.tpm, &shared.owner, &req, &report, &error) < 0) {
        fprintf(stderr, "tep_provision_device: %s\n", error);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    EVP_PKEY_free(owner_key);
    OPENSSL_free(spki);
    free(image);
    free(root);
    fx_free(&shared);
    return fx_no_children();
}

/* The configuration: pol_file signed with version 0 for the first boot's PCRs; signed_states holds the
 * same state with its PCR values. */
static void configure(void)
{
    uint8_t name[LUKS_POLICY_MAX_NAME], authorized[32];
    size_t name_len = 0;
    _cleanup_free_ char *error = NULL;
    assert_int_equal(luks_policy_key_name(spki, spki_len, name, &name_len, &error), 0);
    assert_int_equal(luks_policy_authorized(name, name_len, authorized, &error), 0);
    put("/etc/tep/luks/authorized.policy", authorized, 32);
    struct luks_signed_state s;
    state_now(true, 0, &s);
    put("/etc/tep/luks/pcr0_7_10.pcr.policy", s.pol, 32);
    put("/etc/tep/luks/pcr0_7_10.pcr.policy.signature", s.sig, s.sig_len);
    struct luks_signed_states states = {0};
    assert_int_equal(luks_signed_states_add(&states, &s), 0);
    states_write(&states);
    luks_signed_states_clear(&states);
    put("/etc/tep/luks/recovery", RECOVERY "\n", strlen(RECOVERY) + 1);
    const char *yaml = "version: 1\n"
                       "dev_part: /disk.img\n"
                       "auth_pol: /etc/tep/luks/authorized.policy\n"
                       "pol_file: /etc/tep/luks/pcr0_7_10.pcr.policy\n"
                       "pol_file_sign: /etc/tep/luks/pcr0_7_10.pcr.policy.signature\n"
                       "pcr_bank: sha256\n"
                       "integrity: none\n"
                       "signed_states: /etc/tep/luks/states.json\n"
                       "recovery_key: /etc/tep/luks/recovery\n";
    put(TEP_UPLOAD_DIR "/luks_config_file.yaml", yaml, strlen(yaml));
}

/* Every 8-byte window of secret, searched in every capture of the binary's runs. */
static void assert_not_captured(const uint8_t *secret, size_t len)
{
    size_t total = 0;
    for (unsigned i = 1; i <= runs; i++) {
        _cleanup_free_ char *pcap = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t n = 0;
        assert_true(asprintf(&pcap, "%s/luks-run-%u.pcap", shared.dir, i) > 0);
        if (fx_file_read(pcap, &data, &n) < 0)
            continue; /* a run that never reached the TPM */
        total += n;
        for (size_t off = 0; off + 8 <= len; off++)
            if (memmem(data, n, secret + off, 8))
                fail_msg("bytes %zu..%zu of the passphrase are in %s", off, off + 7, pcap);
    }
    fprintf(stderr, "# %u captures, %zu bytes: no 8-byte window of the passphrase\n", runs, total);
    assert_true(total > 10000); /* positive control: the captures hold the runs' TPM traffic */
}

static void test_luks_lifecycle(void **state)
{
    boot(107);
    configure();

    /* first boot: sealed, formatted, recovery keyslot, nothing activated (--check) */
    expect(cli("--check", NULL, NULL), 0, "formatted (LUKS2)");
    bool sealed = false;
    assert_int_equal(fx_handle_exists(shared.swtpm->tcti, TPM_HANDLE_TEP_SEALED, &sealed), 0);
    assert_true(sealed);
    _cleanup_free_ char *json = NULL, *error = NULL;
    assert_int_equal(luks_volume_token_json(image, &json, &error), 0);
    assert_non_null(strstr(json, "tagent-tpm2"));
    int slot = -1;
    assert_int_equal(luks_volume_check(image, (const uint8_t *)RECOVERY, strlen(RECOVERY), &slot, &error), 0);
    assert_int_equal(slot, 1);
    /* the closing PCR was extended: the same boot cannot unseal again */
    expect(cli("--check", NULL, NULL), 2, "no signed state matches");

    /* reboot to the same measurements */
    boot(107);
    expect(cli("--check", NULL, NULL), 0, "opens keyslot 0");
    /* activation needs device-mapper: exit 3 here, after the passphrase was checked */
    boot(107);
    struct cli_run r = cli(NULL, NULL, NULL);
    if (r.status == 3)
        expect(r, 3, "device-mapper");
    else
        expect(r, 0, "active as /dev/mapper/tep_luks");

    /* a firmware update changes PCR 7: denied, naming it */
    boot(777);
    expect(cli("--check", NULL, NULL), 2, "PCR 7 differs");
    /* the owner signs the new state into signed_states: it unlocks, nothing re-sealed */
    _cleanup_free_ char *states_path = rootpath("/etc/tep/luks/states.json");
    _cleanup_free_ char *old = NULL;
    size_t old_len = 0;
    assert_int_equal(fx_file_read(states_path, (uint8_t **)&old, &old_len), 0);
    struct luks_signed_states states = {0};
    assert_int_equal(luks_signed_states_parse(old, old_len, &states, &error), 0);
    struct luks_signed_state s;
    state_now(true, 0, &s);
    assert_int_equal(luks_signed_states_add(&states, &s), 0);
    states_write(&states);
    luks_signed_states_clear(&states);
    boot(777);
    expect(cli("--check", NULL, NULL), 0, "signed state 2");

    /* revoke: version 0 states stop unsealing; going back or staying is refused */
    expect(cli("revoke", "--to", "1"), 0, "0 -> 1");
    expect(cli("revoke", "--to", "1"), 1, "must be greater");
    boot(777);
    expect(cli("--check", NULL, NULL), 2, "revoked");

    /* the passphrase, unsealed here with a version-1 state for these PCRs */
    boot(777);
    state_now(true, 1, &s);
    struct tpm_signed_policy p = {.bank = TPM_BANK_SHA256,
                                  .pcr_mask = PCRS,
                                  .has_version = true,
                                  .version = 1,
                                  .approved = s.pol,
                                  .signature = s.sig,
                                  .signature_len = s.sig_len};
    uint8_t srk_name[TPM_NAME_MAX], *secret = NULL;
    size_t srk_name_len = 0, len = 0;
    _cleanup_free_ char *srk_hex = NULL, *srk_path = rootpath("/etc/tep/srk.name");
    size_t hex_len = 0;
    assert_int_equal(fx_file_read(srk_path, (uint8_t **)&srk_hex, &hex_len), 0);
    assert_true(hex_len > 2 && hex_len / 2 <= sizeof srk_name);
    for (size_t i = 0; i + 1 < hex_len && srk_hex[i] != '\n'; i += 2)
        assert_int_equal(sscanf(srk_hex + i, "%2hhx", &srk_name[srk_name_len++]), 1);
    if (tpm_tep_unseal(shared.tpm, &p, srk_name, srk_name_len, &secret, &len, &error) < 0)
        fail_msg("unseal: %s", error);
    assert_int_equal(len, 64);
    assert_int_equal(luks_volume_check(image, secret, len, &slot, &error), 0);
    assert_int_equal(slot, 0);
    assert_not_captured(secret, len);
    tpm_secret_free(secret, len);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s /path/to/tagent\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_luks_lifecycle),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
