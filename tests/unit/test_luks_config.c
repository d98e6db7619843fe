/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * luks_config_file.yaml (luks/luks_config.c): what is accepted with which defaults, and every rejection,
 * each of which must name the key (and, for what is in the file, its line) so that the owner knows what to
 * fix. Then luks_config_load() on real files under a temporary root: sizes of auth_pol, pol_file,
 * pol_file_sign, and paths resolved under the root.
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

#define BASE                                                                                                 \
    "version: 1\n"                                                                                           \
    "dev_part: /dev/sda3\n"                                                                                  \
    "auth_pol: /etc/tep/luks/authorized.policy\n"                                                            \
    "pol_file: /etc/tep/luks/pcr0_7_10.pcr.policy\n"                                                         \
    "pol_file_sign: /etc/tep/luks/pcr0_7_10.pcr.policy.signature\n"                                          \
    "pcr_bank: sha256\n"

static void test_minimal_defaults(void **state)
{
    struct luks_config c;
    char *error = NULL;
    assert_int_equal(luks_config_parse(BASE, strlen(BASE), "/r", &c, &error), 0);
    assert_null(error);
    assert_string_equal(c.dev_part, "/r/dev/sda3");
    assert_string_equal(c.auth_pol, "/r/etc/tep/luks/authorized.policy");
    assert_int_equal(c.pcr_bank, TPM_BANK_SHA256);
    assert_int_equal(c.pcr_mask, (1u << 0) | (1u << 7) | (1u << 10));
    assert_int_equal(c.closing_pcr, 10);
    assert_int_equal(c.sealed_handle, TPM_HANDLE_TEP_SEALED);
    assert_int_equal(c.pubkey_nv_index, TPM_NV_TEP_POLICY_KEY);
    assert_string_equal(c.mapper_name, "tep_luks");
    assert_true(c.integrity);
    assert_null(c.signed_states);
    assert_null(c.recovery_key);
    luks_config_clear(&c);
}

static void test_full(void **state)
{
    const char *y = BASE "pcrs: [0, 7, 10, 14]\n"
                         "sealed_handle: 0x8100A001\n"
                         "pubkey_nv_index: 0x018A0000\n"
                         "mapper_name: data_1\n"
                         "integrity: none\n"
                         "signed_states: /etc/tep/luks/states.json\n"
                         "recovery_key: /etc/tep/luks/recovery\n"
                         "closing_pcr: 14\n";
    struct luks_config c;
    char *error = NULL;
    assert_int_equal(luks_config_parse(y, strlen(y), "", &c, &error), 0);
    assert_string_equal(c.dev_part, "/dev/sda3");
    assert_int_equal(c.pcr_mask, (1u << 0) | (1u << 7) | (1u << 10) | (1u << 14));
    assert_int_equal(c.closing_pcr, 14);
    assert_string_equal(c.mapper_name, "data_1");
    assert_false(c.integrity);
    assert_string_equal(c.signed_states, "/etc/tep/luks/states.json");
    assert_string_equal(c.recovery_key, "/etc/tep/luks/recovery");
    luks_config_clear(&c);

    const char *y384 = "version: 1\ndev_part: /d\nauth_pol: /a\npol_file: /p\npol_file_sign: /s\n"
                       "pcr_bank: sha384\npcrs:\n  - 7\n  - 10\n";
    assert_int_equal(luks_config_parse(y384, strlen(y384), "", &c, &error), 0);
    assert_int_equal(c.pcr_bank, TPM_BANK_SHA384);
    assert_int_equal(c.pcr_mask, (1u << 7) | (1u << 10));
    luks_config_clear(&c);
}

/* What tagent-admin luks config writes (tools/admin_luks_config.c), with PCRs that leave out 10: the closing
 * PCR is then the highest policy PCR. */
static void test_admin_output(void **state)
{
    const char *y = "# luks_config_file.yaml (docs/tep-formats.md 5.5), written by tagent-admin luks config\n"
                    "version: 1\n"
                    "dev_part: /dev/sda3\n"
                    "auth_pol: /home/update/upload/mnt/authorized.policy\n"
                    "pol_file: /home/update/upload/mnt/pcr0_7.pcr.policy\n"
                    "pol_file_sign: /home/update/upload/mnt/pcr0_7.pcr.policy.signature\n"
                    "pcr_bank: sha384\n"
                    "pcrs: [0, 7]\n"
                    "sealed_handle: 0x8100A001\n"
                    "pubkey_nv_index: 0x018A0000\n"
                    "mapper_name: tep_luks\n"
                    "integrity: none\n"
                    "signed_states: /home/update/upload/mnt/signed-states.json\n";
    struct luks_config c;
    char *error = NULL;
    if (luks_config_parse(y, strlen(y), "", &c, &error) < 0)
        fail_msg("%s", error);
    assert_int_equal(c.pcr_mask, (1u << 0) | (1u << 7));
    assert_int_equal(c.closing_pcr, 7);
    assert_int_equal(c.pcr_bank, TPM_BANK_SHA384);
    assert_false(c.integrity);
    luks_config_clear(&c);
}

/* yaml is rejected; the message holds every fragment */
static void reject(const char *yaml, const char *frag1, const char *frag2)
{
    struct luks_config c;
    char *error = NULL;
    int r = luks_config_parse(yaml, strlen(yaml), "", &c, &error);
    if (r >= 0)
        fail_msg("accepted:\n%s", yaml);
    assert_int_equal(r, -EINVAL);
    assert_non_null(error);
    if (!strstr(error, frag1) || (frag2 && !strstr(error, frag2)))
        fail_msg("\"%s\" lacks \"%s\"%s%s", error, frag1, frag2 ? " or " : "", frag2 ? frag2 : "");
    free(error);
}

static void test_rejections(void **state)
{
    /* unknown, duplicate, missing */
    reject(BASE "pcr_bnak: sha256\n", "pcr_bnak", "line 7");
    reject(BASE "pcr_bank: sha384\n", "pcr_bank (line 7): duplicate key", "first on line 6");
    reject("version: 1\ndev_part: /d\nauth_pol: /a\npol_file: /p\npcr_bank: sha256\n", "pol_file_sign",
           "missing");
    /* version */
    reject("version: 2\ndev_part: /d\n", "version (line 1)", "only 1");
    reject("version: \"1\"\n", "version (line 1)", "number");
    reject("version: one\n", "version (line 1)", "number");
    /* paths */
    reject("version: 1\ndev_part: dev/sda3\n", "dev_part (line 2)", "absolute");
    reject(BASE "signed_states: states.json\n", "signed_states (line 7)", "absolute");
    reject(BASE "recovery_key: ./r\n", "recovery_key (line 7)", "absolute");
    reject("version: 1\nauth_pol: /etc/../tmp/x\n", "auth_pol (line 2)", "..");
    /* types */
    reject("version: 1\ndev_part: [/a]\n", "dev_part (line 2)", "single value");
    reject("version: 1\ndev_part: {a: /b}\n", "dev_part (line 2)", "single value");
    reject(BASE "pcrs: 7\n", "pcrs (line 7)", "list");
    reject(BASE "pcrs: [0, 24]\n", "pcrs (line 7)", "0 to 23");
    reject(BASE "pcrs: [0, -1]\n", "pcrs (line 7)", "number");
    reject(BASE "pcrs: [7, 7]\n", "pcrs (line 7)", "twice");
    reject(BASE "pcrs: []\n", "pcrs (line 7)", "empty");
    reject(BASE "pcrs: [[0]]\n", "pcrs (line 7)", "number");
    /* banks and values */
    reject("version: 1\npcr_bank: sha1\n", "pcr_bank (line 2)", "sha256 or sha384");
    reject("version: 1\npcr_bank: sha512\n", "pcr_bank (line 2)", "\"sha512\"");
    reject(BASE "sealed_handle: 0x8100A002\n", "sealed_handle (line 7)", "0x8100A001");
    reject(BASE "pubkey_nv_index: 0x1500001\n", "pubkey_nv_index (line 7)", "0x018A0000");
    reject(BASE "integrity: hmac-sha512\n", "integrity (line 7)", "hmac-sha256 or none");
    reject(BASE "mapper_name: ../x\n", "mapper_name (line 7)", "letters");
    reject(BASE "closing_pcr: 11\n", "closing_pcr", "not one of pcrs");
    reject(BASE "pcrs: [0, 7, 10]\nclosing_pcr: 14\n", "closing_pcr (line 8)", "PCR 14 is not one of pcrs");
    /* structure */
    reject("- version: 1\n", "line 1", "mapping");
    reject(BASE "---\nversion: 1\n", "line 7", "one document");
    reject("version: &v 1\ndev_part: *v\n", "line 2", "aliases");
    reject("version: 1\ndev_part: \"/unclosed\n", "line", "not valid YAML");
}

/* ---- luks_config_load() on files ---- */

static char root[64];

static void put(const char *rel, size_t size)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s", root, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    uint8_t buf[512];
    memset(buf, 0x5a, sizeof buf);
    assert_int_equal(write(fd, buf, size), (ssize_t)size);
    close(fd);
}

static int setup_root(void **state)
{
    snprintf(root, sizeof root, "/tmp/test_luks_config.XXXXXX");
    assert_non_null(mkdtemp(root));
    char path[256];
    snprintf(path, sizeof path, "%s/etc", root);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/etc/luks", root);
    mkdir(path, 0700);
    return 0;
}

static int teardown_root(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_yaml(const char *extra)
{
    char path[256];
    snprintf(path, sizeof path, "%s/etc/luks/c.yaml", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "version: 1\ndev_part: /disk.img\nauth_pol: /etc/luks/auth\npol_file: /etc/luks/pol\n"
            "pol_file_sign: /etc/luks/sig\npcr_bank: sha256\nintegrity: none\n%s",
            extra);
    fclose(f);
}

static int load(char **ret_error)
{
    char path[256];
    snprintf(path, sizeof path, "%s/etc/luks/c.yaml", root);
    struct luks_config c;
    int r = luks_config_load(root, path, &c, ret_error);
    if (r == 0)
        luks_config_clear(&c);
    return r;
}

static void load_rejects(const char *frag1, const char *frag2)
{
    char *error = NULL;
    assert_true(load(&error) < 0);
    assert_non_null(error);
    if (!strstr(error, frag1) || (frag2 && !strstr(error, frag2)))
        fail_msg("\"%s\" lacks \"%s\" / \"%s\"", error, frag1, frag2 ? frag2 : "");
    free(error);
}

static void test_load_files(void **state)
{
    write_yaml("");
    put("/etc/luks/auth", 32);
    put("/etc/luks/pol", 32);
    put("/etc/luks/sig", 71);
    char *error = NULL;
    assert_int_equal(load(&error), 0);

    char path[256];
    snprintf(path, sizeof path, "%s/etc/luks/c.yaml", root);
    struct luks_config c;
    assert_int_equal(luks_config_load(root, path, &c, &error), 0);
    assert_int_equal(c.pol_sig_len, 71);
    assert_int_equal(c.pol[0], 0x5a);
    assert_int_equal(c.states.n, 0);
    luks_config_clear(&c);

    put("/etc/luks/auth", 33);
    load_rejects("auth_pol", "33 bytes");
    put("/etc/luks/auth", 32);
    put("/etc/luks/pol", 31);
    load_rejects("pol_file", "31 bytes");
    put("/etc/luks/pol", 32);
    put("/etc/luks/sig", 7);
    load_rejects("pol_file_sign", "8 to 139");
    put("/etc/luks/sig", 140);
    load_rejects("pol_file_sign", "8 to 139");
    put("/etc/luks/sig", 139);
    assert_int_equal(load(&error), 0);

    /* a symlink is not a regular file */
    char target[256];
    snprintf(target, sizeof target, "%s/etc/luks/auth", root);
    snprintf(path, sizeof path, "%s/etc/luks/auth-link", root);
    assert_int_equal(symlink(target, path), 0);
    write_yaml("");
    char yaml[256];
    snprintf(yaml, sizeof yaml, "%s/etc/luks/c.yaml", root);
    FILE *f = fopen(yaml, "w");
    fprintf(f, "version: 1\ndev_part: /disk.img\nauth_pol: /etc/luks/auth-link\npol_file: /etc/luks/pol\n"
               "pol_file_sign: /etc/luks/sig\npcr_bank: sha256\n");
    fclose(f);
    load_rejects("auth_pol", "not a regular file");

    /* missing files are named */
    write_yaml("recovery_key: /etc/luks/none\n");
    load_rejects("recovery_key", "No such file");
    put("/etc/luks/recovery", 0);
    write_yaml("recovery_key: /etc/luks/recovery\n");
    load_rejects("recovery_key", "1 to 512");
    put("/etc/luks/recovery", 20);
    assert_int_equal(load(&error), 0);

    /* signed_states must parse */
    write_yaml("signed_states: /etc/luks/states.json\n");
    snprintf(path, sizeof path, "%s/etc/luks/states.json", root);
    f = fopen(path, "w");
    fprintf(f, "{\"sha256\": [{\"bogus\": 1}]}");
    fclose(f);
    load_rejects("signed_states", "states.json");
    f = fopen(path, "w");
    fprintf(f, "{}");
    fclose(f);
    assert_int_equal(load(&error), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_admin_output),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test_setup_teardown(test_load_files, setup_root, teardown_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
