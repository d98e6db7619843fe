/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * luks_unlock() (spec 3.6) against a fake TPM that keeps the rules that matter: the policy digest "now" is
 * luks/policy's PolicyPCR(+PolicyNV) of the fake PCRs; unseal refuses a signature the NV key did not make
 * (-EBADMSG), a version other than the index's (-EKEYREVOKED) and PCRs other than the signed ones (-EPERM),
 * and hands out only what was sealed; the closing PCR changes the fake PCR. The volume is a real image
 * file. Covered: first boot (seal, unseal-and-compare, format, recovery keyslot, close), a wrong auth_pol
 * caught before sealing, reboot + check, a changed PCR 7 named, a newer signed state, revocation, a forged
 * signature, a file system never formatted, and the passphrase never the same twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "luks.h"

#define PCRS (LUKS_DEFAULT_PCRS)

struct fake {
    EVP_PKEY *key;
    uint8_t *spki;
    size_t spki_len;
    uint8_t pcr[24][64];
    bool nv_defined;
    uint64_t nv;
    bool sealed;
    uint8_t auth_policy[32];
    uint8_t secret[128];
    size_t secret_len;
    unsigned seals, unseals, closes, randoms;
};

static struct fake F;
static char dir[64], img[128], recovery[128];

/* ---- the fake TPM ---- */

static int f_random(void *u, uint8_t *buf, size_t len, char **e)
{
    F.randoms++;
    memset(buf, 0x11, len); /* constant on purpose: getrandom() must still make every passphrase differ */
    return 0;
}

static int f_policy_key(void *u, uint8_t **ret, size_t *len, char **e)
{
    *ret = malloc(F.spki_len);
    memcpy(*ret, F.spki, F.spki_len);
    *len = F.spki_len;
    return 0;
}

static int f_version(void *u, bool *defined, uint64_t *v, char **e)
{
    *defined = F.nv_defined;
    *v = F.nv;
    return 0;
}

static int f_seal(void *u, const uint8_t pol[32], const uint8_t *s, size_t len, bool force, char **e)
{
    assert_true(len <= sizeof F.secret);
    memcpy(F.auth_policy, pol, 32);
    memcpy(F.secret, s, len);
    F.secret_len = len;
    F.sealed = true;
    F.seals++;
    return 0;
}

static int f_sealed_policy(void *u, uint8_t pol[32], bool *present, char **e)
{
    *present = F.sealed;
    memcpy(pol, F.auth_policy, 32);
    return 0;
}

static int f_digest_now(void *u, const struct tpm_signed_policy *p, uint8_t d[32], char **e)
{
    struct luks_pcr_state s = {
        .bank = p->bank, .pcr_mask = p->pcr_mask, .has_version = p->has_version, .version = p->version};
    for (int i = 0; i < 24; i++)
        memcpy(s.values[i], F.pcr[i], LUKS_POLICY_MAX_DIGEST);
    return luks_policy_approved(&s, d, e);
}

static int f_unseal(void *u, const struct tpm_signed_policy *p, uint8_t **ret, size_t *len, char **e)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, F.key) == 1 &&
              EVP_DigestVerify(ctx, p->signature, p->signature_len, p->approved, 32) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -EBADMSG;
    uint8_t now[32];
    f_digest_now(u, p, now, e);
    if (memcmp(now, p->approved, 32) != 0)
        return -EPERM;
    if (p->has_version && (!F.nv_defined || p->version != F.nv))
        return -EKEYREVOKED;
    if (!F.sealed)
        return -ENOENT;
    F.unseals++;
    *ret = malloc(F.secret_len);
    memcpy(*ret, F.secret, F.secret_len);
    *len = F.secret_len;
    return 0;
}

static void f_secret_free(void *u, uint8_t *s, size_t len)
{
    memset(s, 0, len);
    free(s);
}

static int f_pcr_read(void *u, uint16_t bank, uint32_t mask, uint8_t v[24][64], char **e)
{
    memcpy(v, F.pcr, sizeof F.pcr);
    return 0;
}

static int f_close(void *u, uint32_t pcr, char **e)
{
    F.closes++;
    F.pcr[pcr][0] ^= 0xff;
    return 0;
}

static const struct luks_tpm_ops ops = {
    .get_random = f_random,
    .policy_key = f_policy_key,
    .version = f_version,
    .seal = f_seal,
    .sealed_policy = f_sealed_policy,
    .digest_now = f_digest_now,
    .unseal = f_unseal,
    .secret_free = f_secret_free,
    .pcr_read = f_pcr_read,
    .close_unseal = f_close,
};

/* ---- the owner's side ---- */

/* The boot state: PCR i holds i + 1 in every byte (pcr7 for PCR 7). */
static void boot(uint8_t pcr7)
{
    for (int i = 0; i < 24; i++)
        memset(F.pcr[i], i == 7 ? pcr7 : i + 1, 64);
}

/* A signed state for the boot state with PCR 7 = pcr7 (values recorded), signed by key. */
static void sign_state(EVP_PKEY *key, uint8_t pcr7, bool has_version, uint64_t version,
                       struct luks_signed_state *s)
{
    memset(s, 0, sizeof *s);
    s->state.bank = TPM_BANK_SHA256;
    s->state.pcr_mask = PCRS;
    s->state.has_version = has_version;
    s->state.version = version;
    for (int i = 0; i < 24; i++)
        memset(s->state.values[i], i == 7 ? pcr7 : i + 1, LUKS_POLICY_MAX_DIGEST);
    s->has_values = true;
    SHA256(F.spki, F.spki_len, s->pkfp);
    char *e = NULL;
    assert_int_equal(luks_policy_approved(&s->state, s->pol, &e), 0);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    s->sig_len = sizeof s->sig;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, s->sig, &s->sig_len, s->pol, 32), 1);
    EVP_MD_CTX_free(ctx);
}

static void config_init(struct luks_config *c)
{
    *c = (struct luks_config){.pcr_bank = TPM_BANK_SHA256,
                              .pcr_mask = PCRS,
                              .closing_pcr = 10,
                              .sealed_handle = TPM_HANDLE_TEP_SEALED,
                              .pubkey_nv_index = TPM_NV_TEP_POLICY_KEY,
                              .mapper_name = "tagent_unit"};
    c->dev_part = img;
    c->auth_pol = "/auth";
    uint8_t name[LUKS_POLICY_MAX_NAME];
    size_t name_len;
    char *e = NULL;
    assert_int_equal(luks_policy_key_name(F.spki, F.spki_len, name, &name_len, &e), 0);
    assert_int_equal(luks_policy_authorized(name, name_len, c->auth_policy, &e), 0);
    /* pol_file: the boot state with PCR 7 = 8, no version, no values (a raw digest file) */
    struct luks_signed_state s;
    sign_state(F.key, 8, false, 0, &s);
    memcpy(c->pol, s.pol, 32);
    memcpy(c->pol_sig, s.sig, s.sig_len);
    c->pol_sig_len = s.sig_len;
}

static int setup(void **state)
{
    memset(&F, 0, sizeof F);
    F.key = EVP_EC_gen("P-256");
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(F.key, &der);
    assert_true(n > 0);
    F.spki = der;
    F.spki_len = (size_t)n;
    boot(8);
    snprintf(dir, sizeof dir, "%s/test_luks_unlock.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(img, sizeof img, "%s/disk.img", dir);
    snprintf(recovery, sizeof recovery, "%s/recovery", dir);
    int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(ftruncate(fd, 32 << 20), 0);
    close(fd);
    FILE *f = fopen(recovery, "w");
    fputs("owner recovery words\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    EVP_PKEY_free(F.key);
    OPENSSL_free(F.spki);
    unlink(img);
    unlink(recovery);
    return rmdir(dir);
}

/* The partition blank again (zeros, no signature). */
static void wipe_image(void)
{
    int fd = open(img, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 32 << 20), 0);
    close(fd);
}

static void first_boot(struct luks_config *c)
{
    struct luks_result res;
    char *e = NULL;
    c->recovery_key = recovery;
    int r = luks_unlock(c, &ops, true, &res, &e);
    if (r < 0)
        fail_msg("first boot: %s", e);
    c->recovery_key = NULL;
    assert_int_equal(res.outcome, LUKS_FORMATTED);
    assert_int_equal(res.keyslot, 0);
    assert_int_equal(res.recovery_keyslot, 1);
    assert_false(res.activated);
    assert_int_equal(F.seals, 1);
    assert_int_equal(F.unseals, 1); /* unsealed once and compared before formatting */
    assert_int_equal(F.closes, 1);
    assert_int_equal(F.secret_len, 64);
    int slot = -1;
    assert_int_equal(luks_volume_check(img, F.secret, F.secret_len, &slot, &e), 0);
    assert_int_equal(slot, 0);
    assert_int_equal(luks_volume_check(img, (const uint8_t *)"owner recovery words", 20, &slot, &e), 0);
    assert_int_equal(slot, 1);
}

static void test_first_boot_then_check(void **state)
{
    struct luks_config c;
    config_init(&c);
    first_boot(&c);

    /* the same boot, after closing: nothing unseals */
    struct luks_result res;
    char *e = NULL;
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), -EPERM);
    free(e);
    e = NULL;

    /* reboot to the signed state */
    boot(8);
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), 0);
    assert_int_equal(res.outcome, LUKS_CHECKED);
    assert_int_equal(res.keyslot, 0);
    assert_int_equal(res.state_index, 0);
    assert_int_equal(F.closes, 2);
    assert_int_equal(F.seals, 1);

    /* without --check: activation, which needs device-mapper */
    boot(8);
    int r = luks_unlock(&c, &ops, false, &res, &e);
    if (r == -EOPNOTSUPP) {
        assert_non_null(strstr(e, "device-mapper"));
        assert_int_equal(res.keyslot, 0); /* the passphrase was checked first */
        free(e);
    } else {
        assert_int_equal(r, 0);
        assert_true(res.activated);
        assert_int_equal(system("cryptsetup close tagent_unit"), 0);
    }

    /* a TPM that hands back another passphrase: a failure, not a policy refusal */
    F.secret[0] ^= 1;
    boot(8);
    e = NULL;
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), -ENOKEY);
    assert_non_null(strstr(e, "opens no keyslot"));
    free(e);
    e = NULL;
    boot(8);
    assert_int_equal(luks_unlock(&c, &ops, false, &res, &e), -ENOKEY);
    assert_int_equal(res.keyslot, -1);
    free(e);
}

static void test_pcr_changed_and_new_state(void **state)
{
    struct luks_config c;
    config_init(&c);
    first_boot(&c);

    /* a signed state with values for the old boot, then a firmware update changes PCR 7 */
    struct luks_signed_state old, updated;
    sign_state(F.key, 8, false, 0, &old);
    assert_int_equal(luks_signed_states_add(&c.states, &old), 0);
    boot(0x77);
    struct luks_result res;
    char *e = NULL;
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), -EPERM);
    if (!strstr(e, "signed state 1: PCR 7 differs") || !strstr(e, "pol_file: no PCR values"))
        fail_msg("%s", e);
    free(e);
    e = NULL;
    assert_int_equal(F.closes, 1); /* nothing unsealed, nothing to close */

    /* the owner signs the new state: it unlocks with no re-seal */
    sign_state(F.key, 0x77, false, 0, &updated);
    assert_int_equal(luks_signed_states_add(&c.states, &updated), 0);
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), 0);
    assert_int_equal(res.state_index, 2);
    assert_int_equal(F.seals, 1);
    luks_signed_states_clear(&c.states);
}

static void test_revoked_and_forged(void **state)
{
    struct luks_config c;
    config_init(&c);
    first_boot(&c);
    F.nv_defined = true;
    F.nv = 1;

    /* a forged pol_file: its digest matches, VerifySignature refuses it */
    c.pol_sig[10] ^= 1;
    boot(8);
    struct luks_result res;
    char *e = NULL;
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), -EBADMSG);
    assert_non_null(strstr(e, "signature does not verify"));
    free(e);
    e = NULL;
    c.pol_sig[10] ^= 1;

    struct luks_signed_state v1;
    sign_state(F.key, 8, true, 1, &v1);
    assert_int_equal(luks_signed_states_add(&c.states, &v1), 0);

    /* version 1 works while the index is 1; pol_file (no version) matches first */
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), 0);
    assert_int_equal(res.state_index, 0);

    /* revoke: the index moves to 2; only signed states remain (pol_file dropped) */
    memset(c.pol, 0, sizeof c.pol);
    F.nv = 2;
    boot(8);
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), -EKEYREVOKED);
    if (!strstr(e, "signed state 1 (version 1)") || !strstr(e, "revoked"))
        fail_msg("%s", e);
    free(e);
    e = NULL;
    struct luks_signed_state v2;
    sign_state(F.key, 8, true, 2, &v2);
    assert_int_equal(luks_signed_states_add(&c.states, &v2), 0);
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), 0);
    assert_int_equal(res.state_index, 2);

    /* a state signed by another key is not even tried */
    EVP_PKEY *other = EVP_EC_gen("P-256");
    struct luks_signed_state foreign;
    sign_state(other, 8, true, 2, &foreign);
    memset(foreign.pkfp, 0xaa, sizeof foreign.pkfp);
    EVP_PKEY_free(other);
    luks_signed_states_clear(&c.states);
    assert_int_equal(luks_signed_states_add(&c.states, &foreign), 0);
    boot(8);
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), -EPERM);
    free(e);
    luks_signed_states_clear(&c.states);
}

static void test_wrong_auth_pol(void **state)
{
    struct luks_config c;
    config_init(&c);
    c.auth_policy[0] ^= 1;
    struct luks_result res;
    char *e = NULL;
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), -EKEYREJECTED);
    assert_non_null(strstr(e, "auth_pol"));
    free(e);
    assert_int_equal(F.seals, 0);
    enum luks_volume_kind kind;
    assert_int_equal(luks_volume_probe(img, &kind, NULL, &e), 0);
    assert_int_equal(kind, LUKS_VOLUME_BLANK);
}

static void test_never_format_other(void **state)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "mkfs.ext4 -q -F %s >/dev/null 2>&1", img);
    if (system(cmd) != 0)
        skip();
    struct luks_config c;
    config_init(&c);
    struct luks_result res;
    char *e = NULL;
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), -EEXIST);
    assert_non_null(strstr(e, "ext4"));
    free(e);
    assert_int_equal(F.seals, 0);
}

/* Two devices (two TPMs with nothing sealed) get different passphrases. */
static void test_passphrases_differ(void **state)
{
    struct luks_config c;
    config_init(&c);
    first_boot(&c);
    uint8_t first[64];
    memcpy(first, F.secret, 64);
    wipe_image();
    boot(8);
    F.sealed = false; /* another device's TPM */
    F.seals = F.unseals = F.closes = 0;
    first_boot(&c);
    assert_memory_not_equal(first, F.secret, 64);
}

/* A blank partition and a passphrase already sealed that unseals now (a first boot that stopped after
 * sealing): the passphrase is reused, nothing is sealed again, and it opens the new volume. */
static void test_blank_reuses_sealed(void **state)
{
    struct luks_config c;
    char *e = NULL;
    struct luks_result res;
    config_init(&c);
    first_boot(&c);
    uint8_t first[64];
    memcpy(first, F.secret, 64);
    wipe_image();
    boot(8);
    F.seals = F.unseals = 0;
    if (luks_unlock(&c, &ops, true, &res, &e) < 0)
        fail_msg("first boot again: %s", e);
    assert_int_equal(res.outcome, LUKS_FORMATTED);
    assert_int_equal(F.seals, 0);
    assert_memory_equal(first, F.secret, 64);
    int slot = -1;
    assert_int_equal(luks_volume_check(img, first, 64, &slot, &e), 0);
}

/* A blank partition and a passphrase sealed that does not unseal in this state (it may be another volume's):
 * never replaced, nothing formatted, and the message says how to proceed. */
static void test_blank_keeps_foreign_sealed(void **state)
{
    struct luks_config c;
    char *e = NULL;
    struct luks_result res;
    config_init(&c);
    first_boot(&c);
    uint8_t first[64];
    memcpy(first, F.secret, 64);
    wipe_image();
    boot(9); /* no signed state for this PCR 7 */
    F.seals = 0;
    assert_int_equal(luks_unlock(&c, &ops, true, &res, &e), -EEXIST);
    assert_non_null(strstr(e, "is not replaced"));
    assert_non_null(strstr(e, "tpm2_evictcontrol"));
    free(e);
    assert_int_equal(F.seals, 0);
    assert_memory_equal(first, F.secret, 64);
    enum luks_volume_kind kind;
    assert_int_equal(luks_volume_probe(img, &kind, NULL, NULL), 0);
    assert_int_equal(kind, LUKS_VOLUME_BLANK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_boot_then_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcr_changed_and_new_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_and_forged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_auth_pol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_format_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passphrases_differ, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blank_reuses_sealed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blank_keeps_foreign_sealed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
