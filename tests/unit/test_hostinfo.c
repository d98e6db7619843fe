/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HostInfo (spec section 7). The DMI-derived values of the purley server must equal what the Go agent printed
 * for it (platform-info.json in ../shared/corpora/isecl/hostinfo/purley, an oracle nobody here wrote); keys
 * and JSON types are the spec's v5 ones. Roots are temp dirs of symlinks to the corpus (nothing copied into
 * the repository) plus small files the tests write. Damaged SMBIOS tables are parsed from buffers of exactly
 * their size so ASan sees any read past the end.
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

/* The spec's v5 keys in its order, and the JSON type of each. */
static void test_keys_order_and_types(void **state)
{
    static const char *const keys[] = {
        "os_name",         "os_version",    "os_type",           "bios_version",
        "bios_name",       "vmm_name",      "vmm_version",       "processor_info",
        "host_name",       "hardware_uuid", "process_flags",     "no_of_sockets",
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
    assert_non_null(strstr(pretty, "\n\t\"os_name\":"));
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
    assert_null(cJSON_GetObjectItemCaseSensitive(tpm, "meta"));
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
    assert_string_equal(str(meta, "msr"), "mk ris kfm");
    const cJSON *uefi = cJSON_GetObjectItemCaseSensitive(hw, "UEFI");
    assert_string_equal(str(uefi, "enabled"), "true");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(uefi, "meta"),
                                                              "secure_boot_enabled")));
    cJSON_Delete(doc);

    /* TXT on (bits 1:0 both set), CBNT off (no meta), secure boot off, a non-executable txt-stat */
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
    assert_null(cJSON_GetObjectItemCaseSensitive(cbnt, "meta"));
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
    bool meta = cJSON_GetObjectItemCaseSensitive(tpm, "meta") != NULL;
    assert_int_equal(meta, !strcmp(out, "true")); /* tpm_version only for an enabled TPM */
    cJSON_Delete(doc);
    return out;
}

static void test_tpm_detection(void **state)
{
    char *root = make_purley_root(), path[4200], bad[4200];
    assert_string_equal(tpm_enabled(root), "true");
    /* only the resource manager's node */
    snprintf(path, sizeof(path), "%s/dev/tpm0", root);
    unlink(path);
    put_text(root, "dev/tpmrm0", "");
    assert_string_equal(tpm_enabled(root), "true");
    /* a table without the "TPM2" magic (the Go agent's own negative sample) */
    snprintf(path, sizeof(path), "%s/sys/firmware/acpi/tables/TPM2", root);
    snprintf(bad, sizeof(bad), "%s/../../eventlog/tpm2_invalid_signature", purley);
    unlink(path);
    assert_int_equal(symlink(bad, path), 0);
    assert_string_equal(tpm_enabled(root), "false");
    /* no ACPI table (a device-tree board): the kernel's major version decides */
    unlink(path);
    assert_string_equal(tpm_enabled(root), "false");
    put_text(root, "sys/class/tpm/tpm0/tpm_version_major", "2\n");
    assert_string_equal(tpm_enabled(root), "true");
    put_text(root, "sys/class/tpm/tpm0/tpm_version_major", "1\n");
    assert_string_equal(tpm_enabled(root), "false");
    /* a table but no device node */
    link_corpus(root, "sys/firmware/acpi/tables/TPM2", "TPM2");
    snprintf(path, sizeof(path), "%s/dev/tpmrm0", root);
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
    size_t all_read = 3196 + 27; /* the type 1 structure, last of the three needed in this table */
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

/* Appends a structure: the formatted area (its length byte is set here) and the strings, NULL-terminated. */
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
    /* system: UUID all zeros ("not set"): "" */
    uint8_t sys[27] = {1, 0, 0x14, 0, 1, 2, 3, 4};
    uint8_t end[4] = {127, 0, 0x15, 0};
    table_add(&t, p_empty, sizeof(p_empty), "CPU0", NULL);
    table_add(&t, p_short, sizeof(p_short), NULL);
    table_add(&t, p_real, sizeof(p_real), "CPU2", NULL);
    table_add(&t, bios, sizeof(bios), "first", "Vendor Inc.", NULL);
    table_add(&t, sys, sizeof(sys), NULL);
    table_add(&t, end, sizeof(end), NULL);
    assert_int_equal(parse_table(&t, &s), 0);
    assert_string_equal(s.processor_info, "54 06 05 00 01 00 00 80");
    assert_string_equal(s.process_flags, "FPU PBE");
    assert_string_equal(s.bios_name, "Vendor Inc.");
    assert_string_equal(s.bios_version, "");
    assert_string_equal(s.hardware_uuid, "");
    hostinfo_smbios_clear(&s);

    /* SMBIOS 2.0-sized structures: a BIOS structure of 5 bytes has no version offset, a system one of 8 no
     * UUID; string index 0 means "no string" */
    t = (struct table){0};
    uint8_t bios_short[5] = {0, 0, 1, 0, 0};
    uint8_t sys_short[8] = {1, 0, 2, 0, 1, 1, 1, 1};
    table_add(&t, bios_short, sizeof(bios_short), "Vendor", NULL);
    table_add(&t, sys_short, sizeof(sys_short), "Maker", NULL);
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
    table_add(&t, end, sizeof(end), NULL);
    table_add(&t, bios_ok, sizeof(bios_ok), "Late", NULL);
    assert_int_equal(parse_table(&t, &s), 0);
    assert_string_equal(s.bios_name, "");
    hostinfo_smbios_clear(&s);
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
    memcpy(exact, text, len);
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

int main(void)
{
    const char *corpora = getenv("TAGENT_CORPORA");
    if (!corpora) {
        fprintf(stderr, "TAGENT_CORPORA is not set (ctest sets it)\n");
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
        cmocka_unit_test(test_cpuid_flag_names),
        cmocka_unit_test(test_os_release),
        cmocka_unit_test(test_hostname),
        cmocka_unit_test(test_cpu_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
