/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SMBIOS fields of HostInfo (spec section 7) from the raw structure table the kernel exports. The table
 * comes from firmware, so no length in it is trusted: every structure is checked against the end of the
 * buffer before a byte of it is read, and strings are only copied with lengths found by bounded scans.
 */
#include "hostinfo_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMBIOS_TYPE_BIOS      0
#define SMBIOS_TYPE_SYSTEM    1
#define SMBIOS_TYPE_PROCESSOR 4
#define SMBIOS_TYPE_END       127

/* One structure: the formatted area and its string set. */
struct smbios_struct {
    size_t off; /* offset in the table, for messages */
    uint8_t type;
    const uint8_t *data; /* formatted area, flen bytes (data[1] == flen) */
    size_t flen;
    const uint8_t *strings; /* string set, slen bytes, the last of them a NUL */
    size_t slen;
    size_t total; /* formatted area + string set + the set's final NUL */
};

struct smbios_walk {
    const uint8_t *t;
    size_t len, off;
    char why[160]; /* what is wrong when next() failed */
};

/* 1 with the next structure, 0 at the end of the table, -EBADMSG when the structure at off is damaged. */
static int smbios_next(struct smbios_walk *w, struct smbios_struct *s)
{
    size_t off = w->off, left = w->len - off;
    if (left == 0)
        return 0;
    if (left < 4) {
        snprintf(w->why, sizeof(w->why), "the table ends %zu bytes into a 4-byte structure header", left);
        return -EBADMSG;
    }
    uint8_t type = w->t[off], flen = w->t[off + 1];
    if (flen < 4) {
        snprintf(w->why, sizeof(w->why), "type %u declares a length of %u, less than its own 4-byte header",
                 type, flen);
        return -EBADMSG;
    }
    if (flen > left) {
        snprintf(w->why, sizeof(w->why), "type %u declares a length of %u but only %zu bytes are left", type,
                 flen, left);
        return -EBADMSG;
    }
    /* The string set ends with two NULs (just "\0\0" when there are no strings). */
    size_t end = off + flen;
    while (end + 1 < w->len && !(w->t[end] == 0 && w->t[end + 1] == 0))
        end++;
    if (end + 1 >= w->len) {
        snprintf(w->why, sizeof(w->why), "type %u has a string set that the table ends in (no double NUL)",
                 type);
        return -EBADMSG;
    }
    *s = (struct smbios_struct){
        .off = off,
        .type = type,
        .data = w->t + off,
        .flen = flen,
        .strings = w->t + off + flen,
        .slen = end + 1 - (off + flen),
        .total = end + 2 - off,
    };
    w->off = end + 2;
    return 1;
}

/* String number idx (1-based) of the set, copied; "" for index 0 (no string) or past the last string. */
static char *smbios_string(const struct smbios_struct *s, uint8_t idx)
{
    const uint8_t *p = s->strings, *end = s->strings + s->slen;
    for (uint8_t i = 1; idx && p < end; i++) {
        const uint8_t *nul = memchr(p, 0, (size_t)(end - p)); /* found: the set ends with a NUL */
        size_t n = (size_t)(nul - p);
        if (n == 0)
            break; /* an empty string only appears as the set's terminator */
        if (i == idx) {
            char *out = malloc(n + 1);
            if (out) {
                memcpy(out, p, n);
                out[n] = '\0';
            }
            return out;
        }
        p = nul + 1;
    }
    return strdup("");
}

/* CPUID.01H:EDX bit names as Intel's SDM (Vol. 2A, table 3-11) and dmidecode print them; NULL for the
 * reserved bits 10, 20 and 30. Checked against the Go agent's output for the purley sample (test_hostinfo.c).
 */
static const char *const cpuid_edx_names[32] = {
    "FPU",  "VME",  "DE",   "PSE", "TSC",  "MSR", "PAE",    "MCE", "CX8",   "APIC", NULL,
    "SEP",  "MTRR", "PGE",  "MCA", "CMOV", "PAT", "PSE-36", "PSN", "CLFSH", NULL,   "DS",
    "ACPI", "MMX",  "FXSR", "SSE", "SSE2", "SS",  "HTT",    "TM",  NULL,    "PBE",
};

char *hostinfo_cpuid_edx_flags(uint32_t edx)
{
    char *out = malloc(32 * 7 + 1); /* longest name 6 + a space each */
    size_t w = 0;
    if (!out)
        return NULL;
    for (unsigned bit = 0; bit < 32; bit++) {
        const char *name = cpuid_edx_names[bit];
        if (!(edx & (UINT32_C(1) << bit)) || !name)
            continue;
        w += (size_t)sprintf(out + w, "%s%s", w ? " " : "", name);
    }
    out[w] = '\0';
    return out;
}

static int smbios_bios(const struct smbios_struct *s, struct hostinfo_smbios *h)
{
    /* Offsets 4 (vendor) and 5 (version) exist from SMBIOS 2.0 on; a shorter structure has neither. */
    h->bios_name = smbios_string(s, s->flen > 4 ? s->data[4] : 0);
    h->bios_version = smbios_string(s, s->flen > 5 ? s->data[5] : 0);
    return h->bios_name && h->bios_version ? 0 : -ENOMEM;
}

static int smbios_processor(const struct smbios_struct *s, struct hostinfo_smbios *h)
{
    const uint8_t *id = s->data + 8; /* Processor ID: CPUID.01H EAX, then EDX (little endian) */
    uint32_t edx = (uint32_t)id[4] | (uint32_t)id[5] << 8 | (uint32_t)id[6] << 16 | (uint32_t)id[7] << 24;
    h->processor_info = malloc(8 * 3);
    if (h->processor_info)
        snprintf(h->processor_info, 8 * 3, "%02X %02X %02X %02X %02X %02X %02X %02X", id[0], id[1], id[2],
                 id[3], id[4], id[5], id[6], id[7]);
    h->process_flags = hostinfo_cpuid_edx_flags(edx);
    return h->processor_info && h->process_flags ? 0 : -ENOMEM;
}

/* A processor structure HostInfo can use: long enough for the ID, and a family set (byte 6 > 0), as sockets
 * without a processor report family 0. */
static bool smbios_processor_usable(const struct smbios_struct *s)
{
    return s->flen >= 16 && s->data[6] > 0;
}

/* The UUID of a type 1 structure: -ENOENT when too short to hold one (SMBIOS 2.0), -ENODATA (printed all
 * the same) for the firmware's all-zeros "not present" and all-ones "not set". */
static int system_uuid(const struct smbios_struct *s, char ret_uuid[37])
{
    if (s->flen < 24)
        return -ENOENT;
    const uint8_t *u = s->data + 8;
    bool zeros = true, ones = true;
    for (int i = 0; i < 16; i++) {
        zeros &= u[i] == 0;
        ones &= u[i] == 0xff;
    }
    snprintf(ret_uuid, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[3], u[2],
             u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    return zeros || ones ? -ENODATA : 0;
}

static void smbios_system(const struct smbios_struct *s, struct hostinfo_smbios *h)
{
    /* The Go agent prints the 16 bytes whatever they hold, so the firmware's all-zeros and all-ones values,
     * which setup refuses as a host id (provision_hardware_uuid), are printed here as they are. */
    if (system_uuid(s, h->hardware_uuid) == -ENOENT)
        h->hardware_uuid[0] = '\0';
}

int hostinfo_smbios_uuid(const uint8_t *table, size_t len, char ret_uuid[37])
{
    struct smbios_walk w = {.t = table, .len = len};
    struct smbios_struct s;
    int r;
    while ((r = smbios_next(&w, &s)) > 0 && s.type != SMBIOS_TYPE_END)
        if (s.type == SMBIOS_TYPE_SYSTEM)
            return system_uuid(&s, ret_uuid);
    return r < 0 ? r : -ENOENT;
}

int hostinfo_smbios_serial(const uint8_t *table, size_t len, char **ret_serial)
{
    struct smbios_walk w = {.t = table, .len = len};
    struct smbios_struct s;
    int r;
    while ((r = smbios_next(&w, &s)) > 0 && s.type != SMBIOS_TYPE_END) {
        if (s.type != SMBIOS_TYPE_SYSTEM)
            continue;
        char *serial = smbios_string(&s, s.flen > 7 ? s.data[7] : 0);
        if (!serial)
            return -ENOMEM;
        for (size_t n = strlen(serial); n && serial[n - 1] == ' '; n--)
            serial[n - 1] = '\0';
        *ret_serial = serial;
        return 0;
    }
    return r < 0 ? r : -ENOENT;
}

void hostinfo_smbios_clear(struct hostinfo_smbios *s)
{
    if (!s)
        return;
    free(s->bios_name);
    free(s->bios_version);
    free(s->processor_info);
    free(s->process_flags);
    *s = (struct hostinfo_smbios){0};
}

static int fill_missing(char **field)
{
    if (!*field && !(*field = strdup("")))
        return -ENOMEM;
    return 0;
}

/* A field no structure filled is "", as in the Go agent's output. */
static int smbios_fill_missing(struct hostinfo_smbios *h)
{
    if (fill_missing(&h->bios_name) < 0 || fill_missing(&h->bios_version) < 0 ||
        fill_missing(&h->processor_info) < 0 || fill_missing(&h->process_flags) < 0)
        return -ENOMEM;
    return 0;
}

/* Which of the structures HostInfo needs the walk has read. */
struct smbios_seen {
    bool bios, system, processor;
};

/* Takes what HostInfo needs from one structure. A later populated processor replaces an earlier one, as in
 * the Go agent: on a server whose sockets hold different steppings it reports the last one, and a host that
 * moves between the agents must keep the processor_info its flavors were made from. Go lets a later BIOS or
 * system structure win too, but a conforming table has one of each (SMBIOS 3.x, 7.1 and 7.2), so only a
 * damaged table has a second: there the first, read before the damage, is the one to trust. 0 or -ENOMEM. */
static int smbios_take(const struct smbios_struct *s, struct hostinfo_smbios *h, struct smbios_seen *seen)
{
    if (s->type == SMBIOS_TYPE_BIOS && !seen->bios) {
        seen->bios = true;
        return smbios_bios(s, h);
    }
    if (s->type == SMBIOS_TYPE_SYSTEM && !seen->system) {
        seen->system = true;
        smbios_system(s, h);
        return 0;
    }
    if (s->type == SMBIOS_TYPE_PROCESSOR && smbios_processor_usable(s)) {
        free(h->processor_info);
        free(h->process_flags);
        seen->processor = true;
        return smbios_processor(s, h);
    }
    return 0;
}

/* *ret_error (when ret_error is not NULL): where the table is damaged and which structures were lost to it.
 */
static void smbios_damage_message(const struct smbios_walk *w, const struct smbios_seen *seen,
                                  char **ret_error)
{
    const char *lost[3] = {"", "", ""};
    size_t n = 0;
    if (!seen->bios)
        lost[n++] = "BIOS (type 0)";
    if (!seen->system)
        lost[n++] = "system (type 1)";
    if (!seen->processor)
        lost[n++] = "processor (type 4)";
    if (ret_error &&
        asprintf(ret_error, "the SMBIOS table is damaged at offset %zu of %zu: %s; not read: %s%s%s%s%s",
                 w->off, w->len, w->why, lost[0], n > 1 ? ", " : "", n > 1 ? lost[1] : "", n > 2 ? ", " : "",
                 n > 2 ? lost[2] : "") < 0)
        *ret_error = NULL;
}

int hostinfo_smbios_parse(const uint8_t *table, size_t len, struct hostinfo_smbios *ret, char **ret_error)
{
    struct hostinfo_smbios h = {0};
    struct smbios_walk w = {.t = table, .len = len};
    struct smbios_struct s;
    struct smbios_seen seen = {0};
    int r;

    /* the whole table, up to its end-of-table structure */
    while ((r = smbios_next(&w, &s)) > 0 && s.type != SMBIOS_TYPE_END)
        if ((r = smbios_take(&s, &h, &seen)) < 0)
            break;
    /* Damage after everything HostInfo needs costs nothing (the Go agent, too, stops there and keeps what it
     * read); before, a field would silently go missing. */
    if (r == -EBADMSG && seen.bios && seen.system && seen.processor)
        r = 0;
    if (r == -EBADMSG)
        smbios_damage_message(&w, &seen, ret_error);
    else if (r >= 0)
        r = smbios_fill_missing(&h);
    if (r == -ENOMEM && ret_error)
        *ret_error = strdup("out of memory while reading the SMBIOS table");
    if (r < 0)
        hostinfo_smbios_clear(&h);
    else
        *ret = h;
    return r;
}
