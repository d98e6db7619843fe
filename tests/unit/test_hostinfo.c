/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HostInfo (spec sections 7 and 13). The DMI-derived values of the purley server must equal what the Go agent
 * printed for it (platform-info.json in ../shared/corpora/isecl/hostinfo/purley, an oracle nobody here
 * wrote); keys, JSON types and bytes are the Go agent v5.1's, pinned for three hosts in
 * tests/golden/hostinfo-*.json (see "golden hosts" below for how those were checked). Roots are temp dirs of
 * symlinks to the corpus (nothing copied into the repository) plus small files the tests write. Damaged
 * SMBIOS tables are parsed from buffers of exactly their size so ASan sees any read past the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "config.h"
#include "hostinfo.h"
#include "hostinfo_internal.h"

static char purley[4096];

/* ---- helpers ---------------------------------------------------------------------------------------- */

static void *read_all(const char *path, size_t *ret_len)
{
    char *buf = NULL;
    size_t len = 0;
    int r = config_read_file(path, 1u << 20, &buf, &len);
    if (r < 0)
        fail_msg("%s: %s", path, strerror(-r));
    *ret_len = len;
    return buf;
}

/* The corpus file name under purley/, as an exact-size heap copy (no terminating NUL to lean on). */
static uint8_t *corpus_exact(const char *name, size_t *ret_len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", purley, name);
    size_t len;
    char *buf = read_all(path, &len);
    uint8_t *exact = malloc(len ? len : 1);
    assert_non_null(exact);
    memcpy(exact, buf, len);
    free(buf);
    *ret_len = len;
    return exact;
}

static void mkdir_p(const char *root, const char *rel)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    mkdir(path, 0755);
}

/* Creates root/rel (and its parent directories) with these bytes and mode. */
static void put_file(const char *root, const char *rel, const void *data, size_t len, mode_t mode)
{
    char path[4200], dir[4200];
    snprintf(dir, sizeof(dir), "%s", rel);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        mkdir_p(root, dir);
    }
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void put_text(const char *root, const char *rel, const char *text)
{
    put_file(root, rel, text, strlen(text), 0644);
}

/* root/rel -> the purley corpus file name. */
static void link_corpus(const char *root, const char *rel, const char *name)
{
    char path[4200], target[4200], dir[4200];
    snprintf(dir, sizeof(dir), "%s", rel);
    *strrchr(dir, '/') = '\0';
    mkdir_p(root, dir);
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    snprintf(target, sizeof(target), "%s/%s", purley, name);
    unlink(path);
    assert_int_equal(symlink(target, path), 0);
}

static char *make_root(void)
{
    char *root = strdup("/tmp/test_hostinfo.XXXXXX");
    assert_non_null(root);
    assert_non_null(mkdtemp(root));
    return root;
}

/* The purley host: its DMI, ACPI TPM2 table, os-release and hostname, and a TPM device node. */
static char *make_purley_root(void)
{
    char *root = make_root();
    link_corpus(root, "sys/firmware/dmi/tables/DMI", "DMI");
    link_corpus(root, "sys/firmware/acpi/tables/TPM2", "TPM2");
    link_corpus(root, "etc/os-release", "os-release");
    link_corpus(root, "etc/hostname", "hostname");
    put_text(root, "dev/tpm0", "");
    return root;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void remove_root(char *root)
{
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(root);
}

static cJSON *hostinfo_doc(const char *root)
{
    char *json = NULL, *error = NULL;
    int r = hostinfo_json(root, 0, &json, &error);
    if (r < 0)
        fail_msg("hostinfo_json: %d: %s", r, error ? error : "(no message)");
    assert_null(error);
    cJSON *doc = cJSON_Parse(json);
    assert_non_null(doc);
    free(json);
    return doc;
}

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(item))
        fail_msg("\"%s\" is not a JSON string", key);
    return item->valuestring;
}

static cJSON *oracle(void)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/platform-info.json", purley);
    size_t len;
    char *text = read_all(path, &len);
    cJSON *doc = cJSON_ParseWithLength(text, len);
    assert_non_null(doc);
    free(text);
    return doc;
}

static const char *const smbios_keys[] = {"bios_name", "bios_version", "processor_info", "process_flags",
                                          "hardware_uuid"};

/* The field of s that HostInfo prints under key. */
static const char *smbios_field(const struct hostinfo_smbios *s, const char *key)
{
    return !strcmp(key, "bios_name")        ? s->bios_name
           : !strcmp(key, "bios_version")   ? s->bios_version
           : !strcmp(key, "processor_info") ? s->processor_info
           : !strcmp(key, "process_flags")  ? s->process_flags
                                            : s->hardware_uuid;
}

/* ---- the purley host against the Go agent's output --------------------------------------------------- */

static void test_purley_matches_go_agent(void **state)
{
    char *root = make_purley_root();
    cJSON *doc = hostinfo_doc(root), *go = oracle();
    for (size_t i = 0; i < sizeof(smbios_keys) / sizeof(smbios_keys[0]); i++)
        assert_string_equal(str(doc, smbios_keys[i]), str(go, smbios_keys[i]));
    /* Not DMI-derived, but from the same host's files */
    assert_string_equal(str(doc, "os_name"), str(go, "os_name")); /* "RedHatEnterprise" */
    assert_string_equal(str(doc, "os_version"), str(go, "os_version"));
    assert_string_equal(str(doc, "host_name"), str(go, "host_name"));
    assert_string_equal(str(doc, "os_type"), "linux");
    const cJSON *tpm =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "hardware_features"), "TPM");
    assert_string_equal(str(tpm, "enabled"), "true");
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(tpm, "meta"), "tpm_version"), "2.0");
    cJSON_Delete(go);
    cJSON_Delete(doc);
    remove_root(root);
}

/* The keys in the Go struct's order (bios_name after host_name), and the JSON type of each. */
static void test_keys_order_and_types(void **state)
{
    static const char *const keys[] = {
        "os_name",         "os_version",    "os_type",           "bios_version",
        "vmm_name",        "vmm_version",   "processor_info",    "host_name",
        "bios_name",       "hardware_uuid", "process_flags",     "no_of_sockets",
        "tboot_installed", "is_docker_env", "hardware_features", "installed_components",
    };
    char *root = make_purley_root();
    cJSON *doc = hostinfo_doc(root);
    size_t i = 0;
    for (const cJSON *item = doc->child; item; item = item->next, i++) {
        assert_true(i < sizeof(keys) / sizeof(keys[0]));
        assert_string_equal(item->string, keys[i]);
        if (!strcmp(item->string, "hardware_features"))
            assert_true(cJSON_IsObject(item));
        else if (!strcmp(item->string, "installed_components"))
            assert_true(cJSON_IsArray(item));
        else if (!cJSON_IsString(item))
            fail_msg("\"%s\" is not a string", item->string);
    }
    assert_int_equal(i, sizeof(keys) / sizeof(keys[0]));

    const cJSON *comps = cJSON_GetObjectItemCaseSensitive(doc, "installed_components");
    assert_int_equal(cJSON_GetArraySize(comps), 1);
    assert_string_equal(cJSON_GetArrayItem(comps, 0)->valuestring, "tagent");
    assert_string_equal(str(doc, "vmm_name"), "");
    assert_string_equal(str(doc, "vmm_version"), "");
    /* no MSR device: TXT and CBNT are not known, so not reported; TPM and UEFI always are */
    const cJSON *hw = cJSON_GetObjectItemCaseSensitive(doc, "hardware_features");
    assert_string_equal(hw->child->string, "TPM");
    assert_string_equal(hw->child->next->string, "UEFI");
    assert_null(hw->child->next->next);
    const cJSON *uefi = cJSON_GetObjectItemCaseSensitive(hw, "UEFI");
    assert_string_equal(str(uefi, "enabled"), "false");
    const cJSON *sb = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(uefi, "meta"),
                                                       "secure_boot_enabled");
    assert_true(cJSON_IsBool(sb) && cJSON_IsFalse(sb));
    cJSON_Delete(doc);
    remove_root(root);
}

static void test_pretty_and_compact(void **state)
{
    char *root = make_purley_root(), *compact = NULL, *pretty = NULL, *error = NULL;
    assert_int_equal(hostinfo_json(root, 0, &compact, &error), 0);
    assert_int_equal(hostinfo_json(root, 1, &pretty, &error), 0);
    assert_null(strchr(compact, '\n'));
    assert_int_equal(strncmp(pretty, "{\n  \"os_name\": \"", 16), 0); /* MarshalIndent's two spaces */
    assert_null(strchr(pretty, '\t'));
    assert_int_equal(pretty[strlen(pretty) - 1], '}'); /* no final newline, as in platform-info */
    cJSON *a = cJSON_Parse(compact), *b = cJSON_Parse(pretty);
    assert_true(cJSON_Compare(a, b, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(compact);
    free(pretty);
    remove_root(root);
}

/* An empty root: every field has its documented empty value, and that is not an error. */
static void test_missing_files(void **state)
{
    char *root = make_root();
    cJSON *doc = hostinfo_doc(root);
    static const char *const empty[] = {"os_name",       "os_version",   "bios_version",   "bios_name",
                                        "vmm_name",      "vmm_version",  "processor_info", "host_name",
                                        "hardware_uuid", "process_flags"};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
        assert_string_equal(str(doc, empty[i]), "");
    assert_string_equal(str(doc, "os_type"), "linux");
    assert_string_equal(str(doc, "tboot_installed"), "false");
    assert_string_equal(str(doc, "is_docker_env"), "false");
    /* no CPU list under root: the CPUs we may run on, as Go's runtime.NumCPU counts them */
    const char *cpus = str(doc, "no_of_sockets");
    assert_true(strlen(cpus) > 0 && strspn(cpus, "0123456789") == strlen(cpus) && atoi(cpus) > 0);
    const cJSON *hw = cJSON_GetObjectItemCaseSensitive(doc, "hardware_features");
    const cJSON *tpm = cJSON_GetObjectItemCaseSensitive(hw, "TPM");
    assert_string_equal(str(tpm, "enabled"), "false");
    /* meta has no omitempty in the Go struct: there even with no TPM */
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(tpm, "meta"), "tpm_version"), "");
    assert_null(cJSON_GetObjectItemCaseSensitive(hw, "TXT"));
    assert_null(cJSON_GetObjectItemCaseSensitive(hw, "CBNT"));
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(hw, "UEFI"), "enabled"), "false");
    cJSON_Delete(doc);
    remove_root(root);
}

/* The file-based answers: CPU list, docker markers, txt-stat, MSRs, EFI variables. */
static void test_file_sources(void **state)
{
    char *root = make_purley_root();
    put_text(root, "sys/devices/system/cpu/online", "0-3,8,10-11\n");
    put_text(root, ".container-env", "");
    put_text(root, "usr/sbin/txt-stat", "#!/bin/sh\n");
    char path[4200];
    snprintf(path, sizeof(path), "%s/usr/sbin/txt-stat", root);
    chmod(path, 0755);
    /* the msr driver's file: offset = MSR number, 8 bytes little endian */
    uint8_t msr[0x13a + 8] = {0};
    msr[0x3a] = 0x05;                         /* locked, VMX inside SMX off: TXT not enabled */
    msr[0x13a] = 0x7d, msr[0x13a + 4] = 0x01; /* bit 32 set, profile bits 0x7d */
    put_file(root, "dev/cpu/0/msr", msr, sizeof(msr), 0600);
    mkdir_p(root, "sys/firmware/efi/efivars");
    const uint8_t sb[] = {0x06, 0x00, 0x00, 0x00, 0x01};
    put_file(root, "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", sb, sizeof(sb),
             0644);

    cJSON *doc = hostinfo_doc(root);
    assert_string_equal(str(doc, "no_of_sockets"), "7");
    assert_string_equal(str(doc, "is_docker_env"), "true");
    assert_string_equal(str(doc, "tboot_installed"), "true");
    const cJSON *hw = cJSON_GetObjectItemCaseSensitive(doc, "hardware_features");
    static const char *const order[] = {"TXT", "TPM", "CBNT", "UEFI"};
    const cJSON *f = hw->child;
    for (size_t i = 0; i < 4; i++, f = f->next)
        assert_string_equal(f->string, order[i]);
    assert_null(f);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(hw, "TXT"), "enabled"), "false");
    const cJSON *cbnt = cJSON_GetObjectItemCaseSensitive(hw, "CBNT");
    assert_string_equal(str(cbnt, "enabled"), "true");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(cbnt, "meta");
    assert_string_equal(str(meta, "profile"), "BTGP5");
    assert_string_equal(str(meta, "msr"), "mk\xc2\xa0ris\xc2\xa0kfm"); /* NO-BREAK SPACEs, as in Go */
    const cJSON *uefi = cJSON_GetObjectItemCaseSensitive(hw, "UEFI");
    assert_string_equal(str(uefi, "enabled"), "true");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(uefi, "meta"),
                                                              "secure_boot_enabled")));
    cJSON_Delete(doc);

    /* TXT on (bits 1:0 both set), CBNT off (its meta still there, empty), secure boot off, a non-executable
     * txt-stat */
    msr[0x3a] = 0x03, msr[0x13a + 4] = 0x00;
    put_file(root, "dev/cpu/0/msr", msr, sizeof(msr), 0600);
    const uint8_t sb_off[] = {0x06, 0x00, 0x00, 0x00, 0x00};
    put_file(root, "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", sb_off,
             sizeof(sb_off), 0644);
    chmod(path, 0644);
    doc = hostinfo_doc(root);
    hw = cJSON_GetObjectItemCaseSensitive(doc, "hardware_features");
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(hw, "TXT"), "enabled"), "true");
    cbnt = cJSON_GetObjectItemCaseSensitive(hw, "CBNT");
    assert_string_equal(str(cbnt, "enabled"), "false");
    meta = cJSON_GetObjectItemCaseSensitive(cbnt, "meta");
    assert_string_equal(str(meta, "profile"), "");
    assert_string_equal(str(meta, "msr"), "");
    uefi = cJSON_GetObjectItemCaseSensitive(hw, "UEFI");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(uefi, "meta"),
                                                               "secure_boot_enabled")));
    assert_string_equal(str(doc, "tboot_installed"), "false");
    cJSON_Delete(doc);

    /* an MSR file too short for 0x13A (the CPU lacks it: EIO from the driver): CBNT left out, TXT kept */
    put_file(root, "dev/cpu/0/msr", msr, 0x3a + 8, 0600);
    doc = hostinfo_doc(root);
    hw = cJSON_GetObjectItemCaseSensitive(doc, "hardware_features");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(hw, "TXT"));
    assert_null(cJSON_GetObjectItemCaseSensitive(hw, "CBNT"));
    cJSON_Delete(doc);
    remove_root(root);
}

static const char *tpm_enabled(const char *root)
{
    static char out[8];
    cJSON *doc = hostinfo_doc(root);
    const cJSON *tpm =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "hardware_features"), "TPM");
    snprintf(out, sizeof(out), "%s", str(tpm, "enabled"));
    /* meta is always there (no omitempty); its tpm_version is "2.0" only for an enabled TPM */
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(tpm, "meta"), "tpm_version"),
                        strcmp(out, "true") ? "" : "2.0");
    cJSON_Delete(doc);
    return out;
}

static void test_tpm_detection(void **state)
{
    char *root = make_purley_root(), path[4200], bad[4200];
    assert_string_equal(tpm_enabled(root), "true");
    /* only the resource manager's node: the Go agent looks at /dev/tpm0 alone */
    snprintf(path, sizeof(path), "%s/dev/tpm0", root);
    unlink(path);
    put_text(root, "dev/tpmrm0", "");
    assert_string_equal(tpm_enabled(root), "false");
    put_text(root, "dev/tpm0", "");
    /* a table without the "TPM2" magic (the Go agent's own negative sample) */
    snprintf(path, sizeof(path), "%s/sys/firmware/acpi/tables/TPM2", root);
    snprintf(bad, sizeof(bad), "%s/../../eventlog/tpm2_invalid_signature", purley);
    unlink(path);
    assert_int_equal(symlink(bad, path), 0);
    assert_string_equal(tpm_enabled(root), "false");
    /* an ACPI host without the table: off, as in Go, whatever the kernel says */
    unlink(path);
    put_text(root, "sys/class/tpm/tpm0/tpm_version_major", "2\n");
    assert_string_equal(tpm_enabled(root), "false");
    /* no ACPI at all (a device-tree board): the kernel's major version decides (the one difference) */
    snprintf(path, sizeof(path), "%s/sys/firmware/acpi/tables", root);
    assert_int_equal(rmdir(path), 0);
    assert_string_equal(tpm_enabled(root), "true");
    put_text(root, "sys/class/tpm/tpm0/tpm_version_major", "1\n");
    assert_string_equal(tpm_enabled(root), "false");
    /* a table but no device node */
    link_corpus(root, "sys/firmware/acpi/tables/TPM2", "TPM2");
    snprintf(path, sizeof(path), "%s/dev/tpm0", root);
    unlink(path);
    assert_string_equal(tpm_enabled(root), "false");
    remove_root(root);
}

/* ---- damaged SMBIOS tables ---------------------------------------------------------------------------- */

/* Offsets just past each structure of an intact table (its string set's double NUL included). */
static size_t structure_ends(const uint8_t *t, size_t len, size_t *ends, size_t max)
{
    size_t n = 0;
    for (size_t off = 0; off + 4 <= len && n < max;) {
        size_t s = off + t[off + 1];
        while (!(t[s] == 0 && t[s + 1] == 0))
            s++;
        ends[n++] = off = s + 2;
    }
    return n;
}

/* Every prefix of the purley table: a cut at a structure boundary gives the values of the structures before
 * it (each either the full one or ""), a cut inside one is an error naming the offset, unless everything
 * HostInfo needs was already read; nothing is read past the cut. */
static void test_dmi_every_cut(void **state)
{
    size_t len, ends[512];
    uint8_t *full = corpus_exact("DMI", &len);
    struct hostinfo_smbios want = {0}, got;
    char *error = NULL;
    assert_int_equal(hostinfo_smbios_parse(full, len, &want, &error), 0);
    size_t n_ends = structure_ends(full, len, ends, 512);
    assert_true(n_ends > 10);
    size_t all_read = 3196 + 27;     /* the type 1 structure, last of the three needed in this table */
    assert_true(len > all_read + 1); /* the scan below stays inside the table */
    while (full[all_read] || full[all_read + 1])
        all_read++;
    all_read += 2;

    size_t errors = 0, partial = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t *buf = malloc(cut ? cut : 1);
        assert_non_null(buf);
        memcpy(buf, full, cut);
        bool boundary = cut == 0;
        for (size_t i = 0; i < n_ends; i++)
            boundary |= ends[i] == cut;
        error = NULL;
        int r = hostinfo_smbios_parse(buf, cut, &got, &error);
        if (boundary || cut >= all_read) {
            if (r != 0)
                fail_msg("cut at %zu: %d %s", cut, r, error ? error : "");
            for (size_t k = 0; k < sizeof(smbios_keys) / sizeof(smbios_keys[0]); k++) {
                const char *v = smbios_field(&got, smbios_keys[k]), *w = smbios_field(&want, smbios_keys[k]);
                if (strcmp(v, w) != 0 && (*v || cut >= all_read))
                    fail_msg("cut at %zu: %s is \"%s\", want \"%s\"%s", cut, smbios_keys[k], v, w,
                             cut >= all_read ? "" : " or \"\"");
                partial += !*v;
            }
            hostinfo_smbios_clear(&got);
        } else {
            assert_int_equal(r, -EBADMSG);
            assert_non_null(error);
            assert_non_null(strstr(error, "damaged at offset"));
            errors++;
        }
        free(error);
        free(buf);
    }
    assert_true(errors > 1000 && partial > 0);
    hostinfo_smbios_clear(&want);
    free(full);
}

/* Every structure's length byte set to 0..3 (below the header) and to 0xff, and every byte of the table set
 * to 0x00 and 0xff: no crash, no read past the end; any error has a message; damage after the structures
 * HostInfo needs changes nothing. */
static void test_dmi_corrupt_bytes(void **state)
{
    size_t len, ends[512];
    uint8_t *full = corpus_exact("DMI", &len);
    struct hostinfo_smbios want = {0}, got;
    char *error = NULL;
    assert_int_equal(hostinfo_smbios_parse(full, len, &want, &error), 0);
    size_t n_ends = structure_ends(full, len, ends, 512), lengths = 0;
    uint8_t *buf = malloc(len);
    assert_non_null(buf);

    for (size_t i = 0; i < n_ends; i++) {
        size_t off = i ? ends[i - 1] : 0;
        static const uint8_t bad[] = {0, 1, 2, 3, 0xff};
        for (size_t b = 0; b < sizeof(bad); b++) {
            memcpy(buf, full, len);
            buf[off + 1] = bad[b];
            error = NULL;
            int r = hostinfo_smbios_parse(buf, len, &got, &error);
            if (r == 0) {
                if (off > 3196) /* past the last structure HostInfo reads */
                    for (size_t k = 0; k < sizeof(smbios_keys) / sizeof(smbios_keys[0]); k++)
                        assert_string_equal(smbios_field(&got, smbios_keys[k]),
                                            smbios_field(&want, smbios_keys[k]));
                hostinfo_smbios_clear(&got);
            } else {
                assert_int_equal(r, -EBADMSG);
                assert_non_null(error);
                lengths++;
            }
            free(error);
        }
    }
    assert_true(lengths > 0);
    for (size_t i = 0; i < len; i++) {
        for (int v = 0; v < 2; v++) {
            memcpy(buf, full, len);
            buf[i] = v ? 0xff : 0x00;
            error = NULL;
            int r = hostinfo_smbios_parse(buf, len, &got, &error);
            if (r == 0) {
                assert_non_null(got.bios_name);
                assert_non_null(got.process_flags);
                hostinfo_smbios_clear(&got);
            } else {
                assert_non_null(error);
            }
            free(error);
        }
    }
    free(buf);
    hostinfo_smbios_clear(&want);
    free(full);
}

/* A damaged DMI file through hostinfo_json: a clear error naming the file and the offset. */
static void test_dmi_damaged_file(void **state)
{
    size_t len;
    uint8_t *full = corpus_exact("DMI", &len);
    char *root = make_purley_root(), path[4200], *json = NULL, *error = NULL;
    snprintf(path, sizeof(path), "%s/sys/firmware/dmi/tables/DMI", root);
    unlink(path);
    put_file(root, "sys/firmware/dmi/tables/DMI", full, 300, 0444); /* inside the first processor */
    assert_int_equal(hostinfo_json(root, 1, &json, &error), -EBADMSG);
    assert_null(json);
    assert_non_null(error);
    assert_non_null(strstr(error, "/sys/firmware/dmi/tables/DMI"));
    assert_non_null(strstr(error, "damaged at offset 209 of 300"));
    assert_non_null(strstr(error, "not read: BIOS (type 0), system (type 1), processor (type 4)"));
    free(error);
    error = NULL;

    /* a directory where the table should be, and a file larger than any SMBIOS table */
    unlink(path);
    mkdir(path, 0755);
    assert_true(hostinfo_json(root, 1, &json, &error) < 0);
    assert_non_null(strstr(error, "not a regular file"));
    free(error);
    error = NULL;
    rmdir(path);
    int fd = open(path, O_WRONLY | O_CREAT, 0444);
    assert_true(fd >= 0 && ftruncate(fd, (2 << 20)) == 0);
    close(fd);
    assert_int_equal(hostinfo_json(root, 1, &json, &error), -EFBIG);
    assert_non_null(strstr(error, "larger than 1 MiB"));
    free(error);
    error = NULL;

    /* unreadable (an ordinary user on a real host): an error, not empty values */
    put_file(root, "sys/firmware/dmi/tables/DMI", full, len, 0000);
    if (geteuid() != 0) {
        assert_int_equal(hostinfo_json(root, 1, &json, &error), -EACCES);
        assert_non_null(strstr(error, "only root may read it"));
        free(error);
    }
    free(full);
    remove_root(root);
}

/* ---- synthetic SMBIOS structures ------------------------------------------------------------------------
 */

struct table {
    uint8_t b[1024];
    size_t len;
};

/* Appends a structure: the formatted area (its length byte is set here) and the strings, ended by a
 * (char *)NULL (a bare NULL through "..." is undefined where NULL is a plain 0). */
static void table_add(struct table *t, const uint8_t *formatted, size_t flen, ...)
{
    memcpy(t->b + t->len, formatted, flen);
    t->b[t->len + 1] = (uint8_t)flen;
    t->len += flen;
    va_list ap;
    va_start(ap, flen);
    size_t n = 0;
    for (const char *s; (s = va_arg(ap, const char *)); n++) {
        memcpy(t->b + t->len, s, strlen(s) + 1);
        t->len += strlen(s) + 1;
    }
    va_end(ap);
    if (n == 0)
        t->b[t->len++] = 0;
    t->b[t->len++] = 0;
}

static int parse_table(const struct table *t, struct hostinfo_smbios *ret)
{
    uint8_t *exact = malloc(t->len);
    assert_non_null(exact);
    memcpy(exact, t->b, t->len);
    char *error = NULL;
    int r = hostinfo_smbios_parse(exact, t->len, ret, &error);
    free(error);
    free(exact);
    return r;
}

static void test_smbios_strings_and_selection(void **state)
{
    struct table t = {0};
    struct hostinfo_smbios s;
    /* processor 1: family 0 (an empty socket); processor 2: too short for an ID; processor 3: the one */
    uint8_t p_empty[26] = {4, 0, 0x10, 0, 1, 3, 0x00, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t p_short[12] = {4, 0, 0x11, 0, 1, 3, 0xb3};
    uint8_t p_real[26] = {4, 0, 0x12, 0, 1, 3, 0xb3, 0, 0x54, 0x06, 0x05, 0x00, 0x01, 0x00, 0x00, 0x80};
    /* BIOS: vendor string 2, version string 9 (past the last): "" */
    uint8_t bios[24] = {0, 0, 0x13, 0, 2, 9};
    /* system: UUID all zeros ("not present"): printed as it is, as the Go agent does */
    uint8_t sys[27] = {1, 0, 0x14, 0, 1, 2, 3, 4};
    uint8_t end[4] = {127, 0, 0x15, 0};
    uint8_t bios_ok_v[24] = {0, 0, 0x18, 0, 1, 2};
    table_add(&t, p_empty, sizeof(p_empty), "CPU0", (char *)NULL);
    table_add(&t, p_short, sizeof(p_short), (char *)NULL);
    table_add(&t, p_real, sizeof(p_real), "CPU2", (char *)NULL);
    table_add(&t, bios, sizeof(bios), "first", "Vendor Inc.", (char *)NULL);
    table_add(&t, sys, sizeof(sys), (char *)NULL);
    table_add(&t, end, sizeof(end), (char *)NULL);
    assert_int_equal(parse_table(&t, &s), 0);
    assert_string_equal(s.processor_info, "54 06 05 00 01 00 00 80");
    assert_string_equal(s.process_flags, "FPU PBE");
    assert_string_equal(s.bios_name, "Vendor Inc.");
    assert_string_equal(s.bios_version, "");
    assert_string_equal(s.hardware_uuid, "00000000-0000-0000-0000-000000000000");
    hostinfo_smbios_clear(&s);

    /* two populated sockets: the last counts, as in Go. A second BIOS or system structure (only a damaged
     * table has one) does not replace the first. */
    t = (struct table){0};
    uint8_t p_second[26] = {4, 0, 0x16, 0, 1, 3, 0xb3, 0, 0x55, 0x06, 0x05, 0x00, 0xff, 0xfb, 0xeb, 0xbf};
    uint8_t sys_ones[27] = {1, 0, 0x17, 0, 1, 2, 3, 4};
    memset(sys_ones + 8, 0xff, 16);
    table_add(&t, bios, sizeof(bios), "first", "Vendor Inc.", (char *)NULL);
    table_add(&t, p_real, sizeof(p_real), "CPU0", (char *)NULL);
    table_add(&t, sys, sizeof(sys), (char *)NULL);
    table_add(&t, p_second, sizeof(p_second), "CPU1", (char *)NULL);
    table_add(&t, p_empty, sizeof(p_empty), "CPU2", (char *)NULL);
    table_add(&t, bios_ok_v, sizeof(bios_ok_v), "Other", "2.0", (char *)NULL);
    table_add(&t, sys_ones, sizeof(sys_ones), (char *)NULL);
    table_add(&t, end, sizeof(end), (char *)NULL);
    assert_int_equal(parse_table(&t, &s), 0);
    assert_string_equal(s.processor_info, "55 06 05 00 FF FB EB BF");
    assert_string_equal(s.bios_name, "Vendor Inc.");
    assert_string_equal(s.hardware_uuid, "00000000-0000-0000-0000-000000000000");
    hostinfo_smbios_clear(&s);

    /* an all-ones UUID ("not set") is printed as it is too */
    t = (struct table){0};
    table_add(&t, sys_ones, sizeof(sys_ones), (char *)NULL);
    assert_int_equal(parse_table(&t, &s), 0);
    assert_string_equal(s.hardware_uuid, "ffffffff-ffff-ffff-ffff-ffffffffffff");
    hostinfo_smbios_clear(&s);

    /* SMBIOS 2.0-sized structures: a BIOS structure of 5 bytes has no version offset, a system one of 8 no
     * UUID; string index 0 means "no string" */
    t = (struct table){0};
    uint8_t bios_short[5] = {0, 0, 1, 0, 0};
    uint8_t sys_short[8] = {1, 0, 2, 0, 1, 1, 1, 1};
    table_add(&t, bios_short, sizeof(bios_short), "Vendor", (char *)NULL);
    table_add(&t, sys_short, sizeof(sys_short), "Maker", (char *)NULL);
    assert_int_equal(parse_table(&t, &s), 0); /* no end-of-table structure: the buffer's end is the end */
    assert_string_equal(s.bios_name, "");
    assert_string_equal(s.bios_version, "");
    assert_string_equal(s.hardware_uuid, "");
    assert_string_equal(s.processor_info, "");
    assert_string_equal(s.process_flags, "");
    hostinfo_smbios_clear(&s);

    /* structures after the end-of-table one are not read */
    t = (struct table){0};
    uint8_t bios_ok[24] = {0, 0, 1, 0, 1, 1};
    table_add(&t, end, sizeof(end), (char *)NULL);
    table_add(&t, bios_ok, sizeof(bios_ok), "Late", (char *)NULL);
    assert_int_equal(parse_table(&t, &s), 0);
    assert_string_equal(s.bios_name, "");
    hostinfo_smbios_clear(&s);
}

/* The system serial number (type 1, string at offset 7) for the device identity's subject: trailing blanks
 * dropped, "" for "no string", -ENOENT without a type 1 structure, -EBADMSG for a damaged table. */
static void serial_of(const struct table *t, int want_r, const char *want)
{
    char *serial = NULL;
    assert_int_equal(hostinfo_smbios_serial(t->b, t->len, &serial), want_r);
    if (want_r == 0)
        assert_string_equal(serial, want);
    else
        assert_null(serial);
    free(serial);
}

static void test_smbios_serial(void **state)
{
    struct table t = {0};
    uint8_t bios[24] = {0, 0, 1, 0, 1, 2};
    uint8_t sys[27] = {1, 0, 2, 0, 1, 2, 0, 3};
    uint8_t sys_none[27] = {1, 0, 3, 0, 1, 2, 0, 0};
    uint8_t sys_short[7] = {1, 0, 4, 0, 1, 1, 1};
    uint8_t end[4] = {127, 0, 5, 0};
    table_add(&t, bios, sizeof(bios), "Vendor", "1.0", (char *)NULL);
    table_add(&t, sys, sizeof(sys), "Acme", "Box", "SN-42   ", (char *)NULL);
    table_add(&t, end, sizeof(end), (char *)NULL);
    serial_of(&t, 0, "SN-42");

    t = (struct table){0};
    table_add(&t, sys_none, sizeof(sys_none), "Acme", "Box", (char *)NULL);
    serial_of(&t, 0, "");
    t = (struct table){0};
    table_add(&t, sys_short, sizeof(sys_short), "Acme", (char *)NULL);
    serial_of(&t, 0, ""); /* SMBIOS 2.0 structure without the serial offset */
    t = (struct table){0};
    table_add(&t, bios, sizeof(bios), "Vendor", "1.0", (char *)NULL);
    serial_of(&t, -ENOENT, NULL);
    t = (struct table){0};
    table_add(&t, bios, sizeof(bios), "Vendor", "1.0", (char *)NULL);
    t.b[1] = 200; /* declares more than the table holds */
    serial_of(&t, -EBADMSG, NULL);
}

static void test_cpuid_flag_names(void **state)
{
    char *f = hostinfo_cpuid_edx_flags(0xBFEBFBFF); /* the purley value, from its processor_info */
    cJSON *go = oracle();
    assert_string_equal(f, str(go, "process_flags"));
    cJSON_Delete(go);
    free(f);
    f = hostinfo_cpuid_edx_flags(0xffffffff); /* every named bit; 10, 20 and 30 are reserved */
    assert_string_equal(
        f, "FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV PAT PSE-36 PSN CLFSH DS "
           "ACPI MMX FXSR SSE SSE2 SS HTT TM PBE");
    free(f);
    f = hostinfo_cpuid_edx_flags(0);
    assert_string_equal(f, "");
    free(f);
}

/* ---- os-release, hostname, CPU list -----------------------------------------------------------------------
 */

static void os_release(const char *text, const char *want_name, const char *want_version)
{
    size_t len = strlen(text);
    char *exact = malloc(len ? len : 1), *name = NULL, *version = NULL;
    assert_non_null(exact);
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): exactly len bytes, so a read past them is seen */
    memcpy(exact, text, len);
    assert_int_equal(hostinfo_os_release_parse(exact, len, &name, &version), 0);
    assert_string_equal(name, want_name);
    assert_string_equal(version, want_version);
    free(name);
    free(version);
    free(exact);
}

static void test_os_release(void **state)
{
    os_release("NAME=\"Red Hat Enterprise Linux\"\nVERSION_ID=\"9.2\"\n", "RedHatEnterprise", "9.2");
    os_release(
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n",
        "Debian GNU/Linux", "12");
    os_release("NAME=Ubuntu\r\nVERSION_ID='22.04'\r\n", "Ubuntu", "22.04");
    os_release("# comment\n\nNAME=\"Say \\\"hi\\\"\"\n", "Say \"hi\"", "");
    os_release("garbage line\nNAME=\"Fedora Linux\"\nVERSION_ID=39", "Fedora Linux", "39"); /* no final \n */
    os_release("NAME=\"Red Hat Enterprise Linux Server\"\n", "Red Hat Enterprise Linux Server", "");
    os_release("", "", "");

    /* /usr/lib/os-release when /etc has none */
    char *root = make_root();
    put_text(root, "usr/lib/os-release", "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n");
    cJSON *doc = hostinfo_doc(root);
    assert_string_equal(str(doc, "os_name"), "Debian GNU/Linux");
    assert_string_equal(str(doc, "os_version"), "12");
    cJSON_Delete(doc);
    remove_root(root);
}

static void test_hostname(void **state)
{
    char *root = make_root();
    put_text(root, "etc/hostname", "# set by the installer\n\n  edge-07 \r\nsecond\n");
    cJSON *doc = hostinfo_doc(root);
    assert_string_equal(str(doc, "host_name"), "edge-07");
    cJSON_Delete(doc);
    /* an empty /etc/hostname falls through to the kernel's name, still under root */
    put_text(root, "etc/hostname", "\n");
    put_text(root, "proc/sys/kernel/hostname", "kernel-name\n");
    doc = hostinfo_doc(root);
    assert_string_equal(str(doc, "host_name"), "kernel-name");
    cJSON_Delete(doc);
    remove_root(root);
}

static void cpu_list(const char *text, int want)
{
    size_t len = strlen(text);
    char *exact = malloc(len ? len : 1);
    assert_non_null(exact);
    memcpy(exact, text, len); /* NOLINT(bugprone-not-null-terminated-result): as in os_release() */
    unsigned n = 0;
    int r = hostinfo_cpu_list_count(exact, len, &n);
    if (want < 0)
        assert_int_equal(r, -EINVAL);
    else {
        assert_int_equal(r, 0);
        assert_int_equal(n, (unsigned)want);
    }
    free(exact);
}

static void test_cpu_list(void **state)
{
    cpu_list("0\n", 1);
    cpu_list("0-3\n", 4);
    cpu_list("0-3,8,10-11\n", 7);
    cpu_list("0-255", 256);
    cpu_list("", -1);
    cpu_list("\n", -1);
    cpu_list("3-1", -1);
    cpu_list("0,", -1);
    cpu_list("0-", -1);
    cpu_list("-3", -1);
    cpu_list("a", -1);
    cpu_list("0 1", -1);
    cpu_list("0-99999999999999999999", -1);
    cpu_list("0-4194303,0-4194303", -1);
}

/* ---- encoding/json's text ---------------------------------------------------------------------------- */

/* f(in) is want. */
static void expect_text(char *(*f)(const char *), const char *in, const char *want)
{
    char *got = f(in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void go_string(const char *in, const char *want)
{
    expect_text(hostinfo_go_string, in, want);
}

/* Each expectation follows encoding/json's rules as Go 1.18/1.19 apply them (they were also printed with
 * json.Marshal by Go 1.19 for this list): HTML-safe escapes, \u00XX in lower case for control characters but
 * \n \r \t, DEL as it is, valid UTF-8 as it is, and one \ufffd per byte that does not start valid UTF-8. */
static void test_go_string(void **state)
{
    go_string("", "\"\"");
    go_string("plain text 1.0 (x86_64)", "\"plain text 1.0 (x86_64)\"");
    go_string("<a href=\"x\">&</a>", "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e\"");
    go_string("back\\slash", "\"back\\\\slash\"");
    go_string("\n\r\t\b\f\x01\x1f\x7f", "\"\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\x7f\"");
    go_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd",
              "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd\"");
    go_string("a\xe2\x80\xa8"
              "b\xe2\x80\xa9"
              "c",
              "\"a\\u2028b\\u2029c\"");
    /* a lone continuation byte, an overlong NUL, a surrogate, above U+10FFFF, a cut sequence, 0xff */
    go_string("\x80|\xc0\x80|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82|\xff",
              "\"\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd|"
              "\\ufffd\"");
}

static void go_indent(const char *in, const char *want)
{
    expect_text(hostinfo_go_indent, in, want);
}

/* json.Indent(dst, src, "", "  "): empty containers stay {} and [], punctuation inside strings is text. */
static void test_go_indent(void **state)
{
    go_indent("{}", "{}");
    go_indent("[]", "[]");
    go_indent("{\"a\":[],\"b\":{},\"c\":[\"x\",\"y\"]}",
              "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    \"x\",\n    \"y\"\n  ]\n}");
    go_indent("{\"k\":{\"t\":true,\"s\":\"{[,:]}\\\"\\\\\"}}",
              "{\n  \"k\": {\n    \"t\": true,\n    \"s\": \"{[,:]}\\\"\\\\\"\n  }\n}");
}

/* ---- golden hosts -------------------------------------------------------------------------------------
 *
 * The exact bytes for three hosts, pinned in tests/golden/hostinfo-<host>.json (the platform-info file
 * `tagent init` writes, plus the newline `tagent hostinfo` prints after it) and hostinfo-<host>.compact.json
 * (the host-info-request reply, plus a newline). How the goldens were checked, so that they are not just what
 * this code printed:
 *   1. They are the Go agent's own output: tests/golden/hostinfo-oracle/ builds the v5.1 agent's
 *      pkg/lib/hostinfo parser (from an intel-secl checkout, outside this repository; Go 1.19, whose
 *      encoding/json escapes as 1.18's, which builds v5.1) with its file paths pointed into a root this test
 *      leaves behind (TAGENT_HOSTINFO_ROOTS=DIR), and serializes what it parsed as the agent does:
 *      json.MarshalIndent(v, "", "  ") for platform-info; for the reply, that text read back into a
 *      HostInfo and json.Marshal'ed. The files are that output; tagent printed the same bytes. (This is how
 *      the NO-BREAK SPACEs in CBNT's "mk ris kfm" were found.)
 *   2. purley: every field the corpus's own Go output (purley/platform-info.json, an older agent's, nobody
 *      here wrote it) shares with the golden has the same value, recursively into hardware_features; the
 *      only exceptions are vmm_name/vmm_version (the corpus host had Docker installed; tagent never runs
 *      `docker`). Checked below on every run.
 *   3. The feature and escape cases are spelled out below by hand from the Go struct's tags, independent of
 *      both programs: the TPM absent and off, CBNT off with its empty meta, the JSON escapes.
 *   4. Both goldens parse to the same JSON value, and the indented one is json.Indent of the compact one
 *      but for invalid UTF-8: \ufffd in platform-info, U+FFFD itself after the read-back.
 * TAGENT_UPDATE_GOLDEN=1 rewrites the files from tagent's output (then check them against the oracle again).
 */

static const char *golden_dir;

/* purley as the corpus describes it: its DMI, TPM2 table, os-release and hostname; /dev/tpm0; TXT on (MSR
 * 0x3A = 3, and no MSR 0x13A: the file ends first, as the driver fails a missing MSR, so no CBNT, as in the
 * corpus's output); tboot's txt-stat installed; two CPUs; no EFI. */
static void host_purley(const char *root)
{
    uint8_t msr[0x3a + 8] = {0};
    msr[0x3a] = 0x03;
    link_corpus(root, "sys/firmware/dmi/tables/DMI", "DMI");
    link_corpus(root, "sys/firmware/acpi/tables/TPM2", "TPM2");
    link_corpus(root, "etc/os-release", "os-release");
    link_corpus(root, "etc/hostname", "hostname");
    put_text(root, "dev/tpm0", "");
    put_file(root, "dev/cpu/0/msr", msr, sizeof(msr), 0600);
    put_file(root, "usr/sbin/txt-stat", "#!/bin/sh\n", 10, 0755);
    put_text(root, "sys/devices/system/cpu/online", "0-1\n");
}

/* The purley hardware with its TPM absent (no /dev/tpm0, the ACPI table still there), TXT off, CBNT readable
 * but off, UEFI with secure boot on, in a docker container. */
static void host_purley_no_tpm(const char *root)
{
    uint8_t msr[0x13a + 8] = {0};
    const uint8_t sb[] = {0x06, 0x00, 0x00, 0x00, 0x01};
    msr[0x3a] = 0x05;  /* locked, SMX VMX off */
    msr[0x13a] = 0x7d; /* profile bits of BTGP5, but bit 32 (enabled) clear */
    link_corpus(root, "sys/firmware/dmi/tables/DMI", "DMI");
    link_corpus(root, "sys/firmware/acpi/tables/TPM2", "TPM2");
    link_corpus(root, "etc/os-release", "os-release");
    link_corpus(root, "etc/hostname", "hostname");
    put_file(root, "dev/cpu/0/msr", msr, sizeof(msr), 0600);
    put_file(root, "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", sb, sizeof(sb),
             0644);
    put_text(root, ".dockerenv", "");
    put_text(root, "sys/devices/system/cpu/online", "0-1\n");
}

/* A made-up board: SMBIOS strings that need every kind of escape, a UUID the firmware left all zeros, two
 * populated sockets of different steppings (the last is reported) and an empty one; a TPM device whose ACPI
 * table lacks the "TPM2" magic (the Go agent's own negative sample): the TPM off; TXT on; CBNT on with policy
 * bits that name no profile; EFI without a SecureBoot variable. */
static void host_synthetic(const char *root)
{
    struct table t = {0};
    uint8_t bios[24] = {0, 0, 0x01, 0, 1, 2};
    uint8_t sys[27] = {1, 0, 0x02, 0, 1, 2, 3, 4};
    uint8_t cpu_a[42] = {4, 0, 0x03, 0, 1, 3, 0xb3, 0, 0x54, 0x06, 0x05, 0x00, 0xff, 0xfb, 0xeb, 0xbf};
    uint8_t cpu_b[42] = {4, 0, 0x04, 0, 1, 3, 0xb3, 0, 0x57, 0x06, 0x05, 0x00, 0xff, 0xfb, 0xeb, 0xbf};
    uint8_t cpu_empty[42] = {4, 0, 0x05, 0, 1, 3, 0x00};
    uint8_t end[4] = {127, 0, 0x06, 0};
    table_add(&t, bios, sizeof(bios), "Edge <Boards> & \"Co\"", "v1.0\x01\t\xff caf\xc3\xa9 \xe2\x80\xa8 end",
              (char *)NULL);
    table_add(&t, sys, sizeof(sys), "Maker", (char *)NULL);
    table_add(&t, cpu_a, sizeof(cpu_a), "CPU0", (char *)NULL);
    table_add(&t, cpu_b, sizeof(cpu_b), "CPU1", (char *)NULL);
    table_add(&t, cpu_empty, sizeof(cpu_empty), "CPU2", (char *)NULL);
    table_add(&t, end, sizeof(end), (char *)NULL);

    uint8_t msr[0x13a + 8] = {0};
    msr[0x3a] = 0x03;
    msr[0x13a] = 0x01, msr[0x13a + 4] = 0x01;
    char bad[4200];
    snprintf(bad, sizeof(bad), "%s/../../eventlog/tpm2_invalid_signature", purley);
    put_file(root, "sys/firmware/dmi/tables/DMI", t.b, t.len, 0444);
    mkdir_p(root, "sys/firmware/acpi/tables");
    char path[4200];
    snprintf(path, sizeof(path), "%s/sys/firmware/acpi/tables/TPM2", root);
    assert_int_equal(symlink(bad, path), 0);
    put_text(root, "dev/tpm0", "");
    put_file(root, "dev/cpu/0/msr", msr, sizeof(msr), 0600);
    mkdir_p(root, "sys/firmware/efi/efivars");
    put_text(root, "etc/os-release", "NAME=\"Edge <OS> & Co\"\nVERSION_ID=\"1.0\"\nID=edge\n");
    put_text(root, "etc/hostname", "edge-07\n");
    put_text(root, "sys/devices/system/cpu/online", "0\n");
}

static const struct golden_host {
    const char *name;
    void (*build)(const char *root);
} golden_hosts[] = {
    {"purley", host_purley},
    {"purley-no-tpm", host_purley_no_tpm},
    {"synthetic", host_synthetic},
};

/* golden_dir/name as text, without the final newline the file ends with. */
static char *golden_read(const char *name)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", golden_dir, name);
    size_t len;
    char *text = read_all(path, &len);
    if (len == 0 || text[len - 1] != '\n')
        fail_msg("%s does not end with a newline", path);
    text[len - 1] = '\0';
    assert_int_equal(strlen(text), len - 1);
    return text;
}

static void golden_write(const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", golden_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", text);
    assert_int_equal(fclose(f), 0);
}

/* Every member of ours that the corpus's document also has holds the same value, recursively; returns how
 * many leaf values were compared. */
static size_t corpus_agrees(const cJSON *ours, const cJSON *corpus, const char *path)
{
    size_t n = 0;
    if (cJSON_IsObject(ours) && cJSON_IsObject(corpus)) {
        for (const cJSON *m = ours->child; m; m = m->next) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(corpus, m->string);
            if (c && strcmp(m->string, "vmm_name") != 0 && strcmp(m->string, "vmm_version") != 0)
                n += corpus_agrees(m, c, m->string);
        }
        return n;
    }
    if (!cJSON_Compare(ours, corpus, true)) {
        char *a = cJSON_PrintUnformatted(ours), *b = cJSON_PrintUnformatted(corpus);
        fail_msg("%s: ours %s, the corpus's Go output %s", path, a, b);
    }
    return 1;
}

/* text with each U+FFFD written as the escape \ufffd (caller frees). */
static char *replacement_escaped(const char *text)
{
    char *out = malloc(strlen(text) * 2 + 1), *o = out;
    assert_non_null(out);
    for (const char *p = text; *p;) {
        if (!strncmp(p, "\xef\xbf\xbd", 3)) {
            memcpy(o, "\\ufffd", 6);
            o += 6, p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

static void check_golden_host(const struct golden_host *host, const char *root)
{
    char indented_name[256], compact_name[256], *indented = NULL, *compact = NULL, *error = NULL;
    snprintf(indented_name, sizeof(indented_name), "hostinfo-%s.json", host->name);
    snprintf(compact_name, sizeof(compact_name), "hostinfo-%s.compact.json", host->name);
    assert_int_equal(hostinfo_json(root, HOSTINFO_INDENTED, &indented, &error), 0);
    assert_int_equal(hostinfo_json(root, HOSTINFO_COMPACT, &compact, &error), 0);
    if (getenv("TAGENT_UPDATE_GOLDEN")) {
        golden_write(indented_name, indented);
        golden_write(compact_name, compact);
    }
    char *want_indented = golden_read(indented_name), *want_compact = golden_read(compact_name);
    if (strcmp(indented, want_indented) != 0)
        fail_msg("%s differs from tagent's output:\n%s", indented_name, indented);
    if (strcmp(compact, want_compact) != 0)
        fail_msg("%s differs from tagent's output:\n%s", compact_name, compact);

    /* the two goldens agree with each other: one value, laid out by json.Indent */
    char *reindented = hostinfo_go_indent(want_compact), *escaped = replacement_escaped(reindented);
    assert_string_equal(escaped, want_indented);
    free(escaped);
    cJSON *a = cJSON_Parse(want_indented), *b = cJSON_Parse(want_compact);
    assert_true(a && b && cJSON_Compare(a, b, true));
    cJSON_Delete(b);

    if (!strcmp(host->name, "purley")) {
        cJSON *go = oracle();
        size_t compared = corpus_agrees(a, go, "");
        /* 11 top-level strings, TXT.enabled, TPM.enabled and tpm_version, installed_components */
        assert_int_equal(compared, 15);
        cJSON_Delete(go);
    }
    cJSON_Delete(a);
    free(reindented);
    free(want_indented);
    free(want_compact);
    free(indented);
    free(compact);
}

static void test_golden_hosts(void **state)
{
    /* Every root is built before any is checked, so that TAGENT_HOSTINFO_ROOTS gets all of them. */
    enum { N = sizeof(golden_hosts) / sizeof(golden_hosts[0]) };
    const char *keep = getenv("TAGENT_HOSTINFO_ROOTS");
    char *roots[N];
    for (size_t i = 0; i < N; i++) {
        if (keep) {
            char path[4200];
            snprintf(path, sizeof(path), "%s/%s", keep, golden_hosts[i].name);
            if (mkdir(path, 0755) < 0)
                fail_msg("%s: %s (TAGENT_HOSTINFO_ROOTS must name an empty directory)", path,
                         strerror(errno));
            roots[i] = strdup(path);
            assert_non_null(roots[i]);
        } else {
            roots[i] = make_root();
        }
        golden_hosts[i].build(roots[i]);
    }
    for (size_t i = 0; i < N; i++) {
        check_golden_host(&golden_hosts[i], roots[i]);
        if (keep)
            free(roots[i]);
        else
            remove_root(roots[i]);
    }

    /* By hand, from the Go struct's tags (HVS pkg/model/ta/host_info.go): a feature's meta has no omitempty,
     * so a TPM absent (no /dev/tpm0) or off (a table without the magic) still carries an empty tpm_version,
     * CBNT read but off an empty profile and msr; TXT and CBNT are absent when their MSR is unreadable. */
    static const char tpm_off[] = "\"TPM\":{\"enabled\":\"false\",\"meta\":{\"tpm_version\":\"\"}}";
    char *g = golden_read("hostinfo-purley-no-tpm.compact.json");
    assert_non_null(strstr(g, "\"hardware_features\":{\"TXT\":{\"enabled\":\"false\"},"));
    assert_non_null(strstr(g, tpm_off));
    assert_non_null(strstr(g, "\"CBNT\":{\"enabled\":\"false\",\"meta\":{\"profile\":\"\",\"msr\":\"\"}}"));
    assert_non_null(strstr(g, "\"UEFI\":{\"enabled\":\"true\",\"meta\":{\"secure_boot_enabled\":true}}}"));
    assert_non_null(strstr(g, "\"is_docker_env\":\"true\""));
    free(g);
    g = golden_read("hostinfo-synthetic.compact.json");
    assert_non_null(strstr(g, tpm_off));
    /* the Go constant has NO-BREAK SPACEs (U+00A0) in "mk ris kfm"; json.Marshal writes them as they are */
    assert_non_null(strstr(
        g,
        "\"CBNT\":{\"enabled\":\"true\",\"meta\":{\"profile\":\"\",\"msr\":\"mk\xc2\xa0ris\xc2\xa0kfm\"}}"));
    assert_non_null(strstr(g, "\"UEFI\":{\"enabled\":\"true\",\"meta\":{\"secure_boot_enabled\":false}}}"));
    /* the last populated socket; the all-zeros UUID as it is; every escape json.Marshal makes */
    assert_non_null(strstr(g, "\"processor_info\":\"57 06 05 00 FF FB EB BF\""));
    assert_non_null(strstr(g, "\"hardware_uuid\":\"00000000-0000-0000-0000-000000000000\""));
    assert_non_null(strstr(g, "\"os_name\":\"Edge \\u003cOS\\u003e \\u0026 Co\""));
    assert_non_null(strstr(g, "\"bios_name\":\"Edge \\u003cBoards\\u003e \\u0026 \\\"Co\\\"\""));
    /* the reply has the invalid byte as U+FFFD, read back from platform-info's \ufffd */
    assert_non_null(strstr(g, "\"bios_version\":\"v1.0\\u0001\\t\xef\xbf\xbd caf\xc3\xa9 \\u2028 end\""));
    free(g);
    g = golden_read("hostinfo-synthetic.json");
    assert_non_null(strstr(g, "\n  \"bios_version\": \"v1.0\\u0001\\t\\ufffd caf\xc3\xa9 \\u2028 end\",\n"));
    free(g);
}

int main(void)
{
    const char *corpora = getenv("TAGENT_CORPORA");
    if (!corpora) {
        fprintf(stderr, "TAGENT_CORPORA is not set (ctest sets it)\n");
        return 1;
    }
    golden_dir = getenv("TAGENT_GOLDEN");
    if (!golden_dir) {
        fprintf(stderr, "TAGENT_GOLDEN is not set (ctest sets it)\n");
        return 1;
    }
    snprintf(purley, sizeof(purley), "%s/isecl/hostinfo/purley", corpora);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_purley_matches_go_agent),
        cmocka_unit_test(test_keys_order_and_types),
        cmocka_unit_test(test_pretty_and_compact),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_file_sources),
        cmocka_unit_test(test_tpm_detection),
        cmocka_unit_test(test_dmi_every_cut),
        cmocka_unit_test(test_dmi_corrupt_bytes),
        cmocka_unit_test(test_dmi_damaged_file),
        cmocka_unit_test(test_smbios_strings_and_selection),
        cmocka_unit_test(test_smbios_serial),
        cmocka_unit_test(test_cpuid_flag_names),
        cmocka_unit_test(test_os_release),
        cmocka_unit_test(test_hostname),
        cmocka_unit_test(test_cpu_list),
        cmocka_unit_test(test_go_string),
        cmocka_unit_test(test_go_indent),
        cmocka_unit_test(test_golden_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
