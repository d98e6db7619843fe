/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * luks/luks_volume.c on plain image files (no loop device, no device-mapper needed; spec 4.3): a blank image
 * is formatted, its passphrase opens keyslot 0 and a wrong one nothing, the recovery passphrase gets its own
 * keyslot, the tagent-tpm2 token is what `cryptsetup luksDump` shows; an image with a file system is never
 * formatted. Activation needs device-mapper: where the kernel has none the test says so through skip().
 * The test PBKDF (TAGENT_LUKS_TEST_PBKDF=argon2id, set by CMake) keeps each keyslot at a fraction of a
 * second.
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
#include <sys/stat.h>
#include <unistd.h>

#include "luks.h"

#define PASS     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define RECOVERY "correct horse battery staple"
#define IMG_SIZE (32 << 20)

static char dir[64], img[128];

static const struct luks_token token = {
    .handle = TPM_HANDLE_TEP_SEALED,
    .pkfp = {0xde, 0xad, 0xbe, 0xef},
    .pcr_mask = (1u << 0) | (1u << 7) | (1u << 10),
    .bank = TPM_BANK_SHA256,
    .closing_pcr = 10,
};

static void blank_image(void)
{
    int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
    close(fd);
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "%s/test_luks_volume.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(img, sizeof img, "%s/disk.img", dir);
    blank_image();
    return 0;
}

static int teardown(void **state)
{
    unlink(img);
    return rmdir(dir);
}

static void format_blank(int *ret_slot)
{
    char *error = NULL;
    int r = luks_volume_format(img, (const uint8_t *)PASS, strlen(PASS), false, &token, ret_slot, &error);
    if (r < 0)
        fail_msg("format: %s", error);
}

static void test_probe_format_check(void **state)
{
    enum luks_volume_kind kind;
    char *what = NULL, *error = NULL;
    assert_int_equal(luks_volume_probe(img, &kind, &what, &error), 0);
    assert_int_equal(kind, LUKS_VOLUME_BLANK);
    assert_null(what);

    int slot = -1;
    format_blank(&slot);
    assert_int_equal(slot, 0);
    assert_int_equal(luks_volume_probe(img, &kind, &what, &error), 0);
    assert_int_equal(kind, LUKS_VOLUME_LUKS);
    assert_string_equal(what, "crypto_LUKS");
    free(what);

    slot = -1;
    assert_int_equal(luks_volume_check(img, (const uint8_t *)PASS, strlen(PASS), &slot, &error), 0);
    assert_int_equal(slot, 0);

    /* a wrong passphrase, and the right one cut short, open nothing */
    assert_int_equal(luks_volume_check(img, (const uint8_t *)"wrong", 5, &slot, &error), -EPERM);
    assert_non_null(strstr(error, "opens no keyslot"));
    free(error);
    error = NULL;
    assert_int_equal(luks_volume_check(img, (const uint8_t *)PASS, strlen(PASS) - 1, &slot, &error), -EPERM);
    free(error);
    error = NULL;

    /* the recovery passphrase gets keyslot 1, added with the TPM passphrase */
    int rslot = -1;
    assert_int_equal(luks_volume_add_recovery(img, (const uint8_t *)PASS, strlen(PASS),
                                              (const uint8_t *)RECOVERY, strlen(RECOVERY), &rslot, &error),
                     0);
    assert_int_equal(rslot, 1);
    assert_int_equal(luks_volume_check(img, (const uint8_t *)RECOVERY, strlen(RECOVERY), &slot, &error), 0);
    assert_int_equal(slot, 1);
    /* not with a wrong passphrase */
    assert_true(luks_volume_add_recovery(img, (const uint8_t *)"nope", 4, (const uint8_t *)"x", 1, &rslot,
                                         &error) < 0);
    free(error);
    error = NULL;

    /* formatting again: the volume is LUKS now, never formatted over */
    assert_int_equal(luks_volume_format(img, (const uint8_t *)"other", 5, false, &token, &slot, &error),
                     -EEXIST);
    assert_non_null(strstr(error, "never formatted"));
    free(error);
    error = NULL;
    assert_int_equal(luks_volume_check(img, (const uint8_t *)PASS, strlen(PASS), &slot, &error), 0);
}

static void test_token(void **state)
{
    int slot;
    format_blank(&slot);
    char *json = NULL, *error = NULL;
    assert_int_equal(luks_volume_token_json(img, &json, &error), 0);
    assert_non_null(strstr(json, "\"type\":\"tagent-tpm2\""));
    assert_non_null(strstr(json, "\"keyslots\":[\"0\"]"));
    assert_non_null(strstr(json, "\"tpm2-handle\":\"0x8100a001\""));
    assert_non_null(strstr(json, "\"tpm2-pkfp\":\"deadbeef000000"));
    assert_non_null(strstr(json, "\"tpm2-pcrs\":[0,7,10]"));
    assert_non_null(strstr(json, "\"tpm2-pcr-bank\":\"sha256\""));
    assert_non_null(strstr(json, "\"tpm2-closing-pcr\":10"));
    free(json);

    /* what an administrator sees */
    if (system("command -v cryptsetup >/dev/null") != 0)
        skip(); /* cryptsetup-bin is not installed: the token was read back through libcryptsetup above */
    char cmd[512], out[16384];
    snprintf(cmd, sizeof cmd, "cryptsetup luksDump %s 2>&1; cryptsetup luksDump --dump-json-metadata %s 2>&1",
             img, img);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    if (!strstr(out, "tagent-tpm2") || !strstr(out, "tpm2-pkfp") || !strstr(out, "deadbeef"))
        fail_msg("luksDump does not show the token:\n%s", out);
}

/* A file system (mkfs.ext4 when there is one, else a swap signature written here) is never formatted, and
 * not one byte of the image changes. */
static void test_never_format_signature(void **state)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "mkfs.ext4 -q -F %s >/dev/null 2>&1", img);
    const char *expect = "ext4";
    if (system(cmd) != 0) {
        /* libblkid's swap probe: "SWAPSPACE2" at the end of the first 4 KiB page, version 1 */
        int fd = open(img, O_WRONLY);
        assert_true(fd >= 0);
        uint32_t version = 1, last = 100;
        assert_int_equal(pwrite(fd, &version, 4, 1024), 4);
        assert_int_equal(pwrite(fd, &last, 4, 1028), 4);
        assert_int_equal(pwrite(fd, "SWAPSPACE2", 10, 4096 - 10), 10);
        close(fd);
        expect = "swap";
    }
    uint8_t before[65536], after[65536];
    int fd = open(img, O_RDONLY);
    assert_int_equal(pread(fd, before, sizeof before, 0), (ssize_t)sizeof before);

    enum luks_volume_kind kind;
    char *what = NULL, *error = NULL;
    assert_int_equal(luks_volume_probe(img, &kind, &what, &error), 0);
    assert_int_equal(kind, LUKS_VOLUME_OTHER);
    assert_string_equal(what, expect);
    free(what);
    int slot = -1;
    assert_int_equal(
        luks_volume_format(img, (const uint8_t *)PASS, strlen(PASS), false, &token, &slot, &error), -EEXIST);
    assert_non_null(strstr(error, expect));
    assert_non_null(strstr(error, "never formatted"));
    free(error);
    assert_int_equal(pread(fd, after, sizeof after, 0), (ssize_t)sizeof after);
    close(fd);
    assert_memory_equal(before, after, sizeof before);
}

static void test_activate(void **state)
{
    int slot;
    format_blank(&slot);
    char *error = NULL;
    int r = luks_volume_activate(img, "tagent_test_luks", (const uint8_t *)PASS, strlen(PASS), &slot, &error);
    if (r == -EOPNOTSUPP) {
        assert_non_null(strstr(error, "no device-mapper"));
        print_message("[ SKIP     ] activation: %s\n", error);
        free(error);
        skip();
        return; /* skip() does not return; the analyzer does not know */
    }
    if (r < 0)
        fail_msg("activate: %s", error);
    assert_int_equal(system("cryptsetup close tagent_test_luks"), 0);
}

/* Integrity needs dm-integrity at format time: without it, a clear -EOPNOTSUPP naming it. */
static void test_integrity(void **state)
{
    int slot;
    char *error = NULL;
    int r = luks_volume_format(img, (const uint8_t *)PASS, strlen(PASS), true, &token, &slot, &error);
    if (r == 0)
        return; /* a kernel with dm-integrity */
    if (!strstr(error, "dm-integrity"))
        fail_msg("format with integrity: %d %s", r, error);
    print_message("[ SKIP     ] integrity: %s\n", error);
    free(error);
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_probe_format_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_format_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrity, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
