/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The oracle for luks/policy/: every digest and Name recomputed by tpm2-tools against a real swtpm (trial
 * sessions, tpm2_loadexternal, tpm2_nvdefine as provision-device defines the version index) and compared byte
 * for byte. The digests are also printed ("vector ...") for the recorded copies in
 * tests/unit/test_luks_policy.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "../unit/luks_policy_vectors.h"
#include "harness.h"
#include "luks_policy.h"

#define TCG_ALG_SHA256 0x000b
#define TCG_ALG_SHA384 0x000c

struct oracle {
    swtpm_t *tpm;
    char *dir, *log;
};

static struct oracle O;
static const char *admin_path; /* argv[1]: tagent-admin */
static bool quiet;             /* a failure is expected: do not print the tools' output */

/* Runs a shell command in the temp dir with the tools pointed at the swtpm; its output goes to the log. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048], full[2600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "export TPM2TOOLS_TCTI='%s'; cd '%s' && %s", O.tpm->tcti, O.dir, cmd);
    const char *argv[] = {"/bin/sh", "-c", full, NULL};
    int r = harness_run(argv, O.log, 60000);
    if (r != 0 && !quiet) {
        fprintf(stderr, "failed: %s\n", cmd);
        harness_log_tail(O.log, 20);
    }
    return r;
}

static size_t file_read(const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", O.dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void file_write(const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", O.dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void print_vector(const char *what, const uint8_t *d, size_t n)
{
    fprintf(stderr, "vector %s: ", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%02x", d[i]);
    fputc('\n', stderr);
}

/* What tpm2-tools wrote to name equals ours. */
static void assert_tool_equal(const char *name, const uint8_t *ours, size_t len, const char *what)
{
    uint8_t theirs[128];
    size_t n = file_read(name, theirs, sizeof(theirs));
    print_vector(what, theirs, n);
    assert_int_equal(n, len);
    assert_memory_equal(theirs, ours, len);
}

static int setup(void **state)
{
    struct swtpm_opts opts = {.pcr_banks = "sha256,sha384"};
    if (swtpm_start(&opts, &O.tpm) < 0 || harness_tmpdir_create("luks-oracle", &O.dir) < 0 ||
        harness_path_join(O.dir, "tools.log", &O.log) < 0)
        return -1;
    return sh("tpm2_startup -c");
}

static int teardown(void **state)
{
    swtpm_free(O.tpm);
    harness_tmpdir_remove(O.dir);
    free(O.dir);
    free(O.log);
    return 0;
}

/* The key Name (tpm2_loadexternal -C o) and authorized.policy (tpm2_policyauthorize in a trial session). */
static void key_and_authorized(const char *pem, const char *alg, const char *tag)
{
    uint8_t *spki = NULL, name[LUKS_POLICY_MAX_NAME], auth[LUKS_POLICY_DIGEST];
    size_t spki_len = 0, name_len = 0;
    char *err = NULL, what[64];
    spki = vec_spki_of(pem, &spki_len);
    assert_non_null(spki);
    assert_int_equal(luks_policy_key_name(spki, spki_len, name, &name_len, &err), 0);
    OPENSSL_free(spki);
    assert_int_equal(luks_policy_authorized(name, name_len, auth, &err), 0);

    file_write("pub.pem", pem, strlen(pem));
    assert_int_equal(sh("tpm2_loadexternal -C o -G ecc -g %s -u pub.pem -c key.ctx -n key.name && "
                        "tpm2_flushcontext -t",
                        alg),
                     0);
    snprintf(what, sizeof(what), "key name %s", tag);
    assert_tool_equal("key.name", name, name_len, what);
    assert_int_equal(sh("tpm2_startauthsession -S t.ctx && tpm2_policyauthorize -S t.ctx -L auth.policy -n "
                        "key.name && tpm2_flushcontext t.ctx"),
                     0);
    snprintf(what, sizeof(what), "authorized %s", tag);
    assert_tool_equal("auth.policy", auth, sizeof(auth), what);
}

static void test_key_p256(void **state)
{
    key_and_authorized(vec_p256_pub_pem, "sha256", "p256");
}

static void test_key_p384(void **state)
{
    key_and_authorized(vec_p384_pub_pem, "sha384", "p384");
}

/* "0,7,10" for the tools. */
static void mask_list(uint32_t mask, char *out, size_t size)
{
    size_t n = 0;
    out[0] = 0;
    for (unsigned i = 0; i < LUKS_POLICY_PCRS; i++)
        if (mask & (1u << i))
            n += (size_t)snprintf(out + n, size - n, "%s%u", n ? "," : "", i);
}

/* PolicyPCR, then PolicyNV when has_version, in one trial session. */
static void approved(uint16_t bank, uint32_t mask, bool has_version, uint64_t version)
{
    struct luks_pcr_state s = {
        .bank = bank, .pcr_mask = mask, .has_version = has_version, .version = version};
    size_t size = bank == TCG_ALG_SHA384 ? 48 : 32, n = 0;
    uint8_t vals[LUKS_POLICY_PCRS * LUKS_POLICY_MAX_DIGEST], ours[LUKS_POLICY_DIGEST];
    for (unsigned i = 0; i < LUKS_POLICY_PCRS; i++)
        if (mask & (1u << i)) {
            vec_pcr_value(i, size, s.values[i]);
            memcpy(vals + n, s.values[i], size);
            n += size;
        }
    char *err = NULL;
    assert_int_equal(luks_policy_approved(&s, ours, &err), 0);

    file_write("vals.bin", vals, n);
    uint8_t operand[8];
    for (int i = 7; i >= 0; i--)
        operand[i] = (uint8_t)(version >> (8 * (7 - i)));
    file_write("operand.bin", operand, sizeof(operand));
    char list[80], what[160];
    mask_list(mask, list, sizeof(list));
    const char *b = bank == TCG_ALG_SHA384 ? "sha384" : "sha256";
    assert_int_equal(
        sh("tpm2_startauthsession -S t.ctx && tpm2_policypcr -S t.ctx -l %s:%s -f vals.bin -L "
           "pcr.policy %s && tpm2_flushcontext t.ctx",
           b, list,
           has_version ? "&& tpm2_policynv -S t.ctx -i operand.bin 0x018A0001 eq -L pcr.policy" : ""),
        0);
    int w = snprintf(what, sizeof(what), "approved %s:%s", b, list);
    if (has_version)
        snprintf(what + w, sizeof(what) - (size_t)w, " version %llu", (unsigned long long)version);
    assert_tool_equal("pcr.policy", ours, sizeof(ours), what);
}

static void test_policy_pcr(void **state)
{
    approved(TCG_ALG_SHA256, LUKS_DEFAULT_PCRS, false, 0);
    approved(TCG_ALG_SHA384, LUKS_DEFAULT_PCRS, false, 0);
    approved(TCG_ALG_SHA256, 1u << 7, false, 0);
    approved(TCG_ALG_SHA384, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 16) | (1u << 23), false, 0);
}

/* The index as provision-device defines it (quote/nv.c u64_define): its Name, then PolicyNV after PolicyPCR.
 */
static void test_policy_nv(void **state)
{
    uint8_t name[34];
    luks_policy_version_nv_name(name);
    assert_int_equal(sh("tpm2_nvdefine 0x018A0001 -C o -s 8 -a 'ownerwrite|ownerread|authread|no_da' && "
                        "head -c 8 /dev/zero > zero.bin && tpm2_nvwrite 0x018A0001 -C o -i zero.bin && "
                        "tpm2_nvreadpublic 0x018A0001 | sed -n 's/^ *name: *//p' | xxd -r -p > nv.name"),
                     0);
    assert_tool_equal("nv.name", name, sizeof(name), "nv name");
    approved(TCG_ALG_SHA256, LUKS_DEFAULT_PCRS, true, 0);
    approved(TCG_ALG_SHA384, LUKS_DEFAULT_PCRS, true, 0);
    approved(TCG_ALG_SHA256, LUKS_DEFAULT_PCRS, true, 7);
    approved(TCG_ALG_SHA384, LUKS_DEFAULT_PCRS, true, 0x0001020304050607ull);
}

/* tagent-admin luks policy for the PCRs swtpm has now, as the owner would sign them from `tpm2_pcrread`. */
static int admin_sign(const char *key, const char *type, const char *bank, unsigned version, const char *dir)
{
    return sh(
        "tpm2_pcrread %s:0,7,10 -o vals-%s.bin >/dev/null && '%s' luks policy --pol-pub-key %s.pub.pem "
        "--pol-priv-key %s.pem --pcr-val-file vals-%s.bin --tpm-type %s --pcr-bank %s --version %u -o %s",
        bank, dir, admin_path, key, key, dir, type, bank, version, dir);
}

/* The device's side of spec 4.2 with tpm2-tools. refused NULL: 0 when the secret comes out; else 0 when it
 * does not and the tools' output names refused (which command the TPM stopped at, and why). */
static int unseal(const char *key, const char *md, const char *bank, unsigned version, const char *dir,
                  const char *refused)
{
    uint8_t operand[8] = {0};
    operand[7] = (uint8_t)version;
    file_write("operand.bin", operand, sizeof(operand));
    quiet = refused != NULL;
    if (refused)
        harness_file_write(O.log, "", 0600); /* only this attempt's output is searched */
    int r =
        sh("tpm2_loadexternal -C o -G ecc -g %s -u %s.pub.pem -c k.ctx -n k.name >/dev/null && "
           "tpm2_verifysignature -c k.ctx -g %s -m %s/pcr0_7_10.pcr.policy -s "
           "%s/pcr0_7_10.pcr.policy.signature -f ecdsa -t v.tkt && tpm2_flushcontext -t && "
           "tpm2_startauthsession --policy-session -S s.ctx && tpm2_policypcr -S s.ctx -l %s:0,7,10 && "
           "tpm2_policynv -S s.ctx -i operand.bin 0x018A0001 eq && tpm2_policyauthorize -S s.ctx -i "
           "%s/pcr0_7_10.pcr.policy -n k.name -t v.tkt && tpm2_unseal -p session:s.ctx -c sealed-%s.ctx -o "
           "unsealed.txt && cmp -s unsealed.txt secret.txt",
           md, key, md, dir, dir, bank, dir, key);
    if (refused) {
        char *log = harness_file_slurp(O.log);
        bool named = strstr(log, refused) != NULL;
        if (r == 0 || !named)
            fprintf(stderr, "expected a refusal naming \"%s\", got:\n%s\n", refused, log);
        free(log);
        r = r != 0 && named ? 0 : -1;
    }
    /* whatever failed: no session or loaded key left behind (the TPM has only a few slots, no RM here) */
    sh("tpm2_flushcontext -t; tpm2_flushcontext -s; rm -f unsealed.txt");
    quiet = false;
    return r;
}

static void e2e(const char *key, const char *type, const char *md, const char *bank)
{
    char dir[32];
    /* The sealed object: created once under a primary, its authPolicy the tool's authorized.policy. No
     * resource manager: every tool leaves its objects loaded, so each step flushes them. */
    snprintf(dir, sizeof(dir), "%s-v0", key);
    assert_int_equal(admin_sign(key, type, bank, 0, dir), 0);
    assert_int_equal(
        sh("echo 'luks passphrase' > secret.txt && tpm2_createprimary -C o -c prim.ctx >/dev/null && "
           "tpm2_flushcontext -t && "
           "tpm2_create -C prim.ctx -u s.pub -r s.priv -L %s/authorized.policy "
           "-a 'fixedtpm|fixedparent|adminwithpolicy|noda' -i secret.txt >/dev/null && tpm2_flushcontext -t "
           "&& "
           "tpm2_load -C prim.ctx -u s.pub -r s.priv -c sealed-%s.ctx >/dev/null && "
           "tpm2_flushcontext -t",
           dir, key),
        0);
    assert_int_equal(unseal(key, md, bank, 0, dir, NULL), 0);

    /* Firmware update: PCR 7 changes; the old signature no longer opens, a new one does without a new seal.
     */
    assert_int_equal(sh("tpm2_pcrextend 7:%s=%s", bank,
                        strcmp(bank, "sha384") == 0
                            ? "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
                              "1f202122232425262728292a2b2c2d2e2f"
                            : "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
                              "1f"),
                     0);
    /* PolicyPCR itself passes on a real session; the digest then differs from the signed one (spec 2.1). */
    assert_int_equal(unseal(key, md, bank, 0, dir, "Esys_PolicyAuthorize(0x1C4)"), 0);
    snprintf(dir, sizeof(dir), "%s-v0b", key);
    assert_int_equal(admin_sign(key, type, bank, 0, dir), 0);
    assert_int_equal(unseal(key, md, bank, 0, dir, NULL), 0);

    /* Revocation: the index raised to 1 refuses version 0's policy; version 1's opens. */
    uint8_t one[8] = {0, 0, 0, 0, 0, 0, 0, 1}, zero[8] = {0};
    file_write("one.bin", one, sizeof(one));
    file_write("zero.bin", zero, sizeof(zero));
    assert_int_equal(sh("tpm2_nvwrite 0x018A0001 -C o -i one.bin"), 0);
    assert_int_equal(unseal(key, md, bank, 0, dir, "Esys_PolicyNV(0x126)"), 0);
    snprintf(dir, sizeof(dir), "%s-v1", key);
    assert_int_equal(admin_sign(key, type, bank, 1, dir), 0);
    assert_int_equal(unseal(key, md, bank, 1, dir, NULL), 0);
    assert_int_equal(sh("tpm2_nvwrite 0x018A0001 -C o -i zero.bin"), 0); /* back, for the next run */
}

/* After test_policy_nv: the version index exists and holds 0. */
static void test_e2e_dtpm(void **state)
{
    assert_int_equal(sh("openssl ecparam -name prime256v1 -genkey -noout -out p256.pem && "
                        "openssl ec -in p256.pem -pubout -out p256.pub.pem 2>/dev/null"),
                     0);
    e2e("p256", "dtpm", "sha256", "sha256");
}

static void test_e2e_ptt(void **state)
{
    assert_int_equal(sh("openssl ecparam -name secp384r1 -genkey -noout -out p384.pem && "
                        "openssl ec -in p384.pem -pubout -out p384.pub.pem 2>/dev/null"),
                     0);
    e2e("p384", "ptt", "sha384", "sha384");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s /path/to/tagent-admin\n", argv[0]);
        return 2;
    }
    admin_path = realpath(argv[1], NULL); /* the tools run in the temp dir */
    if (!admin_path) {
        perror(argv[1]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_p256),  cmocka_unit_test(test_key_p384), cmocka_unit_test(test_policy_pcr),
        cmocka_unit_test(test_policy_nv), cmocka_unit_test(test_e2e_dtpm), cmocka_unit_test(test_e2e_ptt),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
