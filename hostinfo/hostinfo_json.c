/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hostinfo_json(): the HostInfo document in the bytes the Go agent v5.1 writes (spec sections 7 and 13).
 *
 * Key order. encoding/json writes a struct's fields in declaration order, and HVS stores and compares what it
 * receives, so the order is the HostInfo struct's (HVS pkg/model/ta/host_info.go), not the spec table's or an
 * alphabetical one: os_name, os_version, os_type, bios_version, vmm_name, vmm_version, processor_info,
 * host_name, bios_name, hardware_uuid, process_flags, no_of_sockets, tboot_installed, is_docker_env,
 * hardware_features, installed_components. bios_name sits after host_name there, far from bios_version.
 *
 * Types. no_of_sockets (an int), tboot_installed, is_docker_env and every feature's "enabled" (bools) carry
 * Go's `,string` option, so they are JSON strings ("2", "true"); UEFI's meta.secure_boot_enabled has no such
 * option and is a JSON bool.
 *
 * hardware_features. Its members are pointers with omitempty, in the order TXT, TPM, CBNT, UEFI, PFR, BMC:
 * a member the agent never set is left out (PFR and BMC always are; TXT and CBNT when their MSR could not be
 * read, see hostinfo_features.c). Each feature's "meta" struct has NO omitempty, so a present feature always
 * carries its meta with every field, even when disabled: a host with the TPM absent or off gets
 * "TPM":{"enabled":"false","meta":{"tpm_version":""}}, CBNT off gets "meta":{"profile":"","msr":""}, and UEFI
 * off still has "meta":{"secure_boot_enabled":false}. An enabled CBNT's meta.msr is "mk ris kfm" spelled
 * with U+00A0 between the words, as the Go constant is.
 *
 * Text. json.Marshal escapes <, > and & as \u003c \u003e \u0026, U+2028/U+2029 as \u2028 \u2029, control
 * characters other than \n \r \t as \u00XX (Go 1.18, which builds v5.1, has no \b or \f short forms), and
 * replaces each byte of invalid UTF-8 (SMBIOS strings are raw firmware bytes) with \ufffd. The platform-info
 * file is json.MarshalIndent(v, "", "  ") with no final newline; `tagent hostinfo` prints that plus a
 * newline. The NATS reply is json.Marshal's compact form of the HostInfo the Go service read back from
 * platform-info: the same text, except that an \ufffd escape has become the character U+FFFD by then, which
 * Marshal writes as it is.
 *
 * The values Go gets by running programs we do not run (we never shell out from the agent):
 *   vmm_name, vmm_version  Go asks `docker --version`, else `virsh -v`: which container runtime or
 *                          hypervisor CLI is installed, something no PCR or event of the quote covers. We
 *                          report "" for both (the Go model's zero value) rather than run another
 *                          program from a root daemon for a label nobody can verify.
 *   installed_components   Go lists "tagent" when `tagent --version` runs: we are tagent. The workload agent
 *                          (wlagent) is not part of this agent's deployments, so it is never listed.
 */
#include "config.h"
#include "hostinfo.h"
#include "hostinfo_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CBNT_MSR_FLAGS "mk\xc2\xa0ris\xc2\xa0kfm"

/* ---- a growing text buffer: one allocation failure makes every later append a no-op ---------------- */

struct text {
    char *s;
    size_t len, cap;
    bool oom;
    bool raw_replacement; /* invalid UTF-8 as U+FFFD itself, not the \ufffd escape (HOSTINFO_COMPACT) */
};

static void put_n(struct text *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->s, cap);
        if (!grown) {
            t->oom = true;
            return;
        }
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void put(struct text *t, const char *s)
{
    put_n(t, s, strlen(s));
}

/* The finished text (caller frees), or NULL after an allocation failure. */
static char *text_take(struct text *t)
{
    if (t->oom || !t->s) {
        free(t->s);
        *t = (struct text){0};
        return t->oom ? NULL : strdup("");
    }
    char *s = t->s;
    *t = (struct text){0};
    return s;
}

/* ---- encoding/json's string and indent rules --------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0 when the byte at p does not start one:
 * overlong forms, surrogates (ED A0..BF) and code points above U+10FFFF are invalid, as in Go's utf8. */
static size_t utf8_valid_len(const unsigned char *p, size_t n)
{
    unsigned char b = p[0], lo = 0x80, hi = 0xbf;
    size_t len;
    if (b < 0x80)
        return 1;
    if (b < 0xc2 || b > 0xf4)
        return 0;
    len = b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    if (b == 0xe0)
        lo = 0xa0;
    else if (b == 0xed)
        hi = 0x9f;
    else if (b == 0xf0)
        lo = 0x90;
    else if (b == 0xf4)
        hi = 0x8f;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

static void put_go_string(struct text *t, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    if (!str) /* a field nobody filled is Go's zero value */
        str = "";
    const unsigned char *p = (const unsigned char *)str;
    size_t n = strlen(str);
    put(t, "\"");
    while (n > 0) {
        size_t run = 0; /* bytes written as they are: printable ASCII but " \ < > &, and valid UTF-8 */
        for (;;) {
            unsigned char b = p[run];
            size_t len = run < n ? utf8_valid_len(p + run, n - run) : 0;
            if (len == 0 || (len == 1 && (b < 0x20 || strchr("\"\\<>&", b))) ||
                (len == 3 && b == 0xe2 && p[run + 1] == 0x80 && (p[run + 2] & 0xfe) == 0xa8))
                break;
            run += len;
        }
        put_n(t, (const char *)p, run);
        p += run, n -= run;
        if (n == 0)
            break;
        char esc[7];
        size_t used = 1;
        if (*p == '"' || *p == '\\')
            snprintf(esc, sizeof(esc), "\\%c", *p);
        else if (*p == '\n' || *p == '\r' || *p == '\t')
            snprintf(esc, sizeof(esc), "\\%c", *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        else if (*p < 0x80) /* other control characters and < > & */
            snprintf(esc, sizeof(esc), "\\u00%c%c", hex[*p >> 4], hex[*p & 0xf]);
        else if (utf8_valid_len(p, n) == 3) /* U+2028, U+2029: E2 80 A8/A9 */
            snprintf(esc, sizeof(esc), "\\u202%c", p[2] == 0xa8 ? '8' : '9'), used = 3;
        else if (t->raw_replacement) /* one byte of invalid UTF-8 */
            snprintf(esc, sizeof(esc), "\xef\xbf\xbd");
        else
            snprintf(esc, sizeof(esc), "\\ufffd");
        put(t, esc);
        p += used, n -= used;
    }
    put(t, "\"");
}

char *hostinfo_go_string(const char *s)
{
    struct text t = {0};
    put_go_string(&t, s);
    return text_take(&t);
}

static void newline_indent(struct text *t, unsigned depth)
{
    put(t, "\n");
    for (unsigned i = 0; i < depth; i++)
        put(t, "  ");
}

char *hostinfo_go_indent(const char *compact)
{
    /* json.Indent: a newline and the depth's indent after { [ and , and before } ], except that an empty
     * object or array stays {} or []; ": " after a key; strings copied as they are. */
    struct text t = {0};
    unsigned depth = 0;
    bool in_string = false, need_indent = false;
    for (const char *p = compact; *p; p++) {
        char c = *p;
        if (need_indent && c != '}' && c != ']') {
            need_indent = false;
            newline_indent(&t, depth);
        }
        if (in_string) {
            put_n(&t, p, 1);
            if (c == '\\' && p[1])
                put_n(&t, ++p, 1);
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
        case '"':
            in_string = true;
            put_n(&t, p, 1);
            break;
        case '{':
        case '[':
            put_n(&t, p, 1);
            depth++;
            need_indent = true;
            break;
        case '}':
        case ']':
            depth--;
            if (need_indent)
                need_indent = false; /* empty: {} or [] */
            else
                newline_indent(&t, depth);
            put_n(&t, p, 1);
            break;
        case ',':
            put_n(&t, p, 1);
            newline_indent(&t, depth);
            break;
        case ':': put(&t, ": "); break;
        default: put_n(&t, p, 1);
        }
    }
    return text_take(&t);
}

/* ---- the document ------------------------------------------------------------------------------------- */

static void put_key(struct text *t, bool *first, const char *key)
{
    if (!*first)
        put(t, ",");
    *first = false;
    put_go_string(t, key);
    put(t, ":");
}

static void put_string_member(struct text *t, bool *first, const char *key, const char *value)
{
    put_key(t, first, key);
    put_go_string(t, value);
}

/* A `json:",string"` bool member: "true" or "false" as a JSON string. */
static void put_flag_member(struct text *t, bool *first, const char *key, bool value)
{
    put_string_member(t, first, key, value ? "true" : "false");
}

/* "name":{"enabled":"true|false","meta":{ ...: the caller writes meta's members and closes both. */
static void open_feature(struct text *t, bool *first, const char *name, bool enabled)
{
    bool inner = true;
    put_key(t, first, name);
    put(t, "{");
    put_flag_member(t, &inner, "enabled", enabled);
    put(t, ",\"meta\":{");
}

static void put_features(struct text *t, const struct hostinfo_features *f)
{
    bool first = true, meta;
    put(t, "{");
    if (f->txt_present) { /* a plain HardwareFeature: no meta */
        bool inner = true;
        put_key(t, &first, "TXT");
        put(t, "{");
        put_flag_member(t, &inner, "enabled", f->txt_enabled);
        put(t, "}");
    }
    open_feature(t, &first, "TPM", f->tpm_enabled);
    meta = true;
    put_string_member(t, &meta, "tpm_version", f->tpm_enabled ? "2.0" : "");
    put(t, "}}");
    if (f->cbnt_present) {
        open_feature(t, &first, "CBNT", f->cbnt_enabled);
        meta = true;
        put_string_member(t, &meta, "profile", f->cbnt_profile);
        /* The Go agent's constant is "mk ris kfm" with NO-BREAK SPACEs (U+00A0) between the words, and HVS's
         * flavors and host manifests carry those bytes: plain spaces would be another value. */
        put_string_member(t, &meta, "msr", f->cbnt_enabled ? CBNT_MSR_FLAGS : "");
        put(t, "}}");
    }
    open_feature(t, &first, "UEFI", f->uefi_enabled);
    put(t, f->secure_boot ? "\"secure_boot_enabled\":true}}" : "\"secure_boot_enabled\":false}}");
    put(t, "}");
}

/* The SMBIOS fields; a table that does not exist (no SMBIOS on this platform) gives empty ones. */
static int smbios_load(const char *root, struct hostinfo_smbios *ret, char **ret_error)
{
    char *path = config_path(root, HOSTINFO_DMI_TABLE), *buf = NULL, *why = NULL;
    size_t len = 0;
    int r = path ? config_read_file(path, HOSTINFO_DMI_MAX, &buf, &len) : -ENOMEM;
    if (r == -ENOENT)
        r = 0, len = 0;
    if (r == 0)
        r = hostinfo_smbios_parse((const uint8_t *)(buf ? buf : ""), len, ret, &why);
    else if (r == -EACCES || r == -EPERM)
        why = strdup("permission denied (only root may read it)");
    else if (r == -EFBIG)
        why = strdup("larger than 1 MiB, which no SMBIOS table is");
    else if (r == -EINVAL)
        why = strdup("not a regular file");
    else if (r != -ENOMEM)
        why = strdup(strerror(-r));
    if (r < 0 && asprintf(ret_error, "cannot read host info from %s: %s", path ? path : HOSTINFO_DMI_TABLE,
                          why ? why : "out of memory") < 0)
        *ret_error = NULL;
    free(why);
    free(buf);
    free(path);
    return r;
}

int hostinfo_json(const char *root, enum hostinfo_format format, char **ret_json, char **ret_error)
{
    struct hostinfo_smbios smbios = {0};
    struct hostinfo_os os = {0};
    struct hostinfo_features features = {0};
    struct text t = {.raw_replacement = format == HOSTINFO_COMPACT};
    char *error = NULL, *compact = NULL, *json = NULL;
    bool first = true;
    int r = smbios_load(root, &smbios, &error);
    if (r == 0)
        r = hostinfo_os_read(root, &os);
    if (r == 0)
        r = hostinfo_features_read(root, &features);
    if (r < 0)
        goto out;

    /* The HostInfo struct's field order (see the top of the file). */
    put(&t, "{");
    put_string_member(&t, &first, "os_name", os.os_name);
    put_string_member(&t, &first, "os_version", os.os_version);
    put_string_member(&t, &first, "os_type", "linux");
    put_string_member(&t, &first, "bios_version", smbios.bios_version);
    put_string_member(&t, &first, "vmm_name", "");
    put_string_member(&t, &first, "vmm_version", "");
    put_string_member(&t, &first, "processor_info", smbios.processor_info);
    put_string_member(&t, &first, "host_name", os.host_name);
    put_string_member(&t, &first, "bios_name", smbios.bios_name);
    put_string_member(&t, &first, "hardware_uuid", smbios.hardware_uuid);
    put_string_member(&t, &first, "process_flags", smbios.process_flags);
    put_string_member(&t, &first, "no_of_sockets", os.no_of_sockets);
    put_flag_member(&t, &first, "tboot_installed", os.tboot_installed);
    put_flag_member(&t, &first, "is_docker_env", os.is_docker_env);
    put_key(&t, &first, "hardware_features");
    put_features(&t, &features);
    put_key(&t, &first, "installed_components");
    put(&t, "[\"tagent\"]}");

    r = -ENOMEM;
    if (!(compact = text_take(&t)))
        goto out;
    if (format == HOSTINFO_INDENTED) {
        if (!(json = hostinfo_go_indent(compact)))
            goto out;
    } else {
        json = compact;
        compact = NULL;
    }
    r = 0;
    *ret_json = json;
out:
    if (r == -ENOMEM && !error)
        error = strdup("out of memory while building host info");
    if (r < 0 && ret_error) {
        *ret_error = error;
        error = NULL;
    }
    free(error);
    free(compact);
    free(t.s);
    hostinfo_smbios_clear(&smbios);
    hostinfo_os_clear(&os);
    return r;
}
