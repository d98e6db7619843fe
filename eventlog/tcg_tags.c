/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "tags" HVS's flavor rules match on (spec section 6): a name taken from the event data, per event
 * type. HVS excludes or includes events by these tags (vmlinuz, initrd, LCP_CONTROL_HASH, shim, db, ...).
 */
#include "tcg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EV_POST_CODE                   0x1
#define EV_NO_ACTION                   0x3
#define EV_ACTION                      0x5
#define EV_S_CRTM_CONTENTS             0x7
#define EV_PLATFORM_CONFIG_FLAGS       0xa
#define EV_COMPACT_HASH                0xc
#define EV_IPL                         0xd
#define EV_NONHOST_CONFIG              0x10
#define EV_NONHOST_INFO                0x11
#define EV_OMIT_BOOT_DEVICE_EVENTS     0x12
#define EV_EFI_VARIABLE_DRIVER_CONFIG  0x80000001
#define EV_EFI_VARIABLE_BOOT           0x80000002
#define EV_EFI_ACTION                  0x80000007
#define EV_EFI_PLATFORM_FIRMWARE_BLOB2 0x8000000a
#define EV_EFI_HANDOFF_TABLES2         0x8000000b
#define EV_EFI_VARIABLE_BOOT2          0x8000000c
#define EV_EFI_HCRTM_EVENT             0x80000010
#define EV_EFI_VARIABLE_AUTHORITY      0x800000e0

/* Length of the valid UTF-8 sequence at s, 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t left)
{
    size_t n = s[0] < 0x80             ? 1
               : (s[0] & 0xe0) == 0xc0 ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
    if (n == 0 || n > left || (n == 2 && s[0] < 0xc2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* The Go agent removes non-printable runes (and so keeps U+FFFD for each invalid byte, which Go counts as
 * printable). ASCII controls go; valid multi-byte characters stay. Returns NULL for an empty result. */
static char *printable(const uint8_t *s, size_t n)
{
    char *out = malloc(n * 3 + 1);
    size_t w = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(s + i, n - i);
        if (k == 1) {
            if (s[i] >= 0x20 && s[i] < 0x7f)
                out[w++] = (char)s[i];
        } else if (k > 1) {
            memcpy(out + w, s + i, k);
            w += k;
        } else {
            memcpy(out + w, "\xef\xbf\xbd", 3);
            w += 3;
            k = 1;
        }
        i += k;
    }
    out[w] = '\0';
    if (!w) {
        free(out);
        return NULL;
    }
    return out;
}

static char *until_nul(const uint8_t *data, size_t len)
{
    const uint8_t *nul = memchr(data, 0, len);
    return printable(data, nul ? (size_t)(nul - data) : len);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* UEFI_VARIABLE_DATA: GUID, u64 name length (UTF-16 units), u64 data length, name. The tag is the name with
 * the low byte of each UTF-16 unit, as the Go agent takes it. */
static char *variable_name(const uint8_t *data, size_t len)
{
    if (len < 32)
        return NULL;
    uint64_t units = le64(data + 16);
    if (units > (len - 32) / 2)
        return NULL;
    uint8_t *name = malloc(units + 1);
    if (!name)
        return NULL;
    for (uint64_t i = 0; i < units; i++)
        name[i] = data[32 + 2 * i];
    char *tag = printable(name, units);
    free(name);
    return tag;
}

/* "StartupLocality" NUL 3 -> "StartupLocality3": the text before the NUL and the next byte in decimal. */
static char *no_action_tag(const uint8_t *data, size_t len)
{
    const uint8_t *nul = memchr(data, 0, len);
    size_t head = nul ? (size_t)(nul - data) : len;
    char *text = printable(data, head);
    char *tag = NULL;
    if (nul && head + 1 < len) {
        if (asprintf(&tag, "%s%u", text ? text : "", data[head + 1]) < 0)
            tag = NULL;
        free(text);
        return tag;
    }
    return text;
}

char *tcg_event_tag(const struct eventlog_event *e)
{
    const uint8_t *d = e->data;
    size_t n = e->data_len;
    if (!n)
        return NULL;
    switch (e->type) {
    case EV_EFI_VARIABLE_DRIVER_CONFIG:
    case EV_EFI_VARIABLE_BOOT:
    case EV_EFI_VARIABLE_BOOT2:
    case EV_EFI_VARIABLE_AUTHORITY: return variable_name(d, n);
    case EV_EFI_PLATFORM_FIRMWARE_BLOB2:
    case EV_EFI_HANDOFF_TABLES2:
        return d[0] <= n - 1 ? printable(d + 1, d[0]) : NULL; /* u8 description size + description */
    case EV_COMPACT_HASH: return e->pcr == 6 ? until_nul(d, n) : NULL;
    case EV_IPL:
    case EV_POST_CODE:
    case EV_ACTION:
    case EV_EFI_ACTION:
    case EV_PLATFORM_CONFIG_FLAGS:
    case EV_OMIT_BOOT_DEVICE_EVENTS:
    case EV_EFI_HCRTM_EVENT:
    case EV_S_CRTM_CONTENTS: return until_nul(d, n);
    case EV_NO_ACTION: return no_action_tag(d, n);
    case EV_NONHOST_CONFIG:
    case EV_NONHOST_INFO:
        /* Only Intel PFR records carry a readable name. */
        return n >= 3 && (!memcmp(d, "PFR", 3) || !memcmp(d, "pfr", 3)) ? until_nul(d, n) : NULL;
    }
    return NULL;
}
