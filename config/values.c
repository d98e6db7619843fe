/* SPDX-License-Identifier: BSD-3-Clause */
/* Value syntaxes shared by trustagent.env and config.yml: Go durations, owner secrets, host names. */
#include "config.h"
#include "hex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_secret_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

/* ---- Go durations ---- */

struct duration_unit {
    const char *name;
    int64_t ns;
};

/* Longest names first so "ms" is not read as "m" + "s". */
static const struct duration_unit duration_units[] = {
    {"ns", 1LL},
    {"us", 1000LL},
    {"\xc2\xb5s", 1000LL}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000LL},
    /* U+03BC greek mu */ {"ms", 1000000LL},
    {"s", 1000000000LL},
    {"m", 60000000000LL},
    {"h", 3600000000000LL},
};

static const struct duration_unit *duration_unit_match(const char *s, size_t *ret_len)
{
    for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
        size_t n = strlen(duration_units[i].name);
        /* "m" must not swallow the "m" of "ms". */
        if (strncmp(s, duration_units[i].name, n) == 0 && !(n == 1 && s[0] == 'm' && s[1] == 's')) {
            *ret_len = n;
            return &duration_units[i];
        }
    }
    return NULL;
}

/* Reads "<digits>[.<digits>]" at *s with integer arithmetic (as Go does: no binary-float rounding, so
 * "1.1us" is exactly 1100ns). */
static int duration_number(const char **s, uint64_t *ret_int, uint64_t *ret_frac, uint64_t *ret_scale)
{
    const char *p = *s;
    uint64_t ip = 0, fp = 0, scale = 1;
    bool digits = false;
    for (; *p >= '0' && *p <= '9'; p++, digits = true) {
        if (ip > (UINT64_MAX - 9) / 10)
            return -ERANGE;
        ip = ip * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
            if (scale < 1000000000000000000ULL) { /* further digits are below a nanosecond */
                fp = fp * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
    }
    if (!digits)
        return -EINVAL;
    *s = p;
    *ret_int = ip;
    *ret_frac = fp;
    *ret_scale = scale;
    return 0;
}

int config_duration_parse(const char *s, int64_t *ret_ns)
{
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *ret_ns = 0;
        return 0;
    }
    if (!*s)
        return -EINVAL;

    uint64_t total = 0;
    while (*s) {
        uint64_t ip, fp, scale;
        int r = duration_number(&s, &ip, &fp, &scale);
        if (r < 0)
            return r;
        size_t ulen;
        const struct duration_unit *u = duration_unit_match(s, &ulen);
        if (!u)
            return -EINVAL;
        uint64_t unit = (uint64_t)u->ns;
        if (ip > (uint64_t)INT64_MAX / unit)
            return -ERANGE;
        /* fp / scale < 1, so fp * (unit / scale) stays below unit; long double keeps the product exact enough
         */
        uint64_t v = ip * unit + (uint64_t)((long double)fp * (long double)unit / (long double)scale);
        if (v > (uint64_t)INT64_MAX - total)
            return -ERANGE;
        total += v;
        s += ulen;
    }
    *ret_ns = neg ? -(int64_t)total : (int64_t)total;
    return 0;
}

/* Writes v / 10^prec with trailing fractional zeros removed, as Go's fmtFrac + fmtInt do. */
static int format_frac(char *buf, size_t size, uint64_t v, int prec)
{
    uint64_t pow = 1;
    for (int i = 0; i < prec; i++)
        pow *= 10;
    uint64_t ip = v / pow, fp = v % pow;
    if (!fp)
        return snprintf(buf, size, "%llu", (unsigned long long)ip);
    char frac[24];
    snprintf(frac, sizeof(frac), "%0*llu", prec, (unsigned long long)fp);
    for (size_t n = strlen(frac); n && frac[n - 1] == '0'; n--)
        frac[n - 1] = '\0';
    return snprintf(buf, size, "%llu.%s", (unsigned long long)ip, frac);
}

void config_duration_format(int64_t ns, char buf[static CONFIG_DURATION_BUF])
{
    const char *sign = ns < 0 ? "-" : "";
    uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    char num[24];

    if (u == 0) {
        memcpy(buf, "0s", sizeof("0s"));
        return;
    }
    if (u < 1000ULL) {
        snprintf(buf, CONFIG_DURATION_BUF, "%s%lluns", sign, (unsigned long long)u);
        return;
    }
    if (u < 1000000ULL) {
        format_frac(num, sizeof(num), u, 3);
        snprintf(buf, CONFIG_DURATION_BUF, "%s%s\xc2\xb5s", sign, num); /* Go writes the micro sign */
        return;
    }
    if (u < 1000000000ULL) {
        format_frac(num, sizeof(num), u, 6);
        snprintf(buf, CONFIG_DURATION_BUF, "%s%sms", sign, num);
        return;
    }
    /* >= 1s: [h]h[m]m + seconds with up to 9 fractional digits; Go prints the larger units once nonzero. */
    uint64_t secs_ns = u % 60000000000ULL;
    uint64_t mins = u / 60000000000ULL;
    format_frac(num, sizeof(num), secs_ns, 9);
    if (mins == 0)
        snprintf(buf, CONFIG_DURATION_BUF, "%s%ss", sign, num);
    else if (mins < 60)
        snprintf(buf, CONFIG_DURATION_BUF, "%s%llum%ss", sign, (unsigned long long)mins, num);
    else
        snprintf(buf, CONFIG_DURATION_BUF, "%s%lluh%llum%ss", sign, (unsigned long long)(mins / 60),
                 (unsigned long long)(mins % 60), num);
}

/* ---- owner / tag secrets ---- */

/* The reason, for the caller to free (NULL when even that copy failed); -EINVAL. */
static int secret_invalid(char **ret_error, const char *why)
{
    if (ret_error)
        *ret_error = strdup(why);
    return -EINVAL;
}

int config_secret_decode(const char *s, uint8_t ret_bytes[static CONFIG_OWNER_SECRET_MAX], size_t *ret_len,
                         char **ret_error)
{
    size_t n = strlen(s);

    /* hex_decode() cannot fail on text checked here first: each message names the first rule broken */
    if (n == 40 && hex_is_digits(s, n))
        return hex_decode(s, n, ret_bytes, CONFIG_OWNER_SECRET_MAX, ret_len);
    if (strncmp(s, "hex:", 4) == 0) {
        const char *h = s + 4;
        size_t hn = n - 4;
        if (!hex_is_digits(h, hn))
            return secret_invalid(ret_error, "after \"hex:\" only hex digits (0-9, a-f) may follow");
        if (hn % 2)
            return secret_invalid(ret_error, "after \"hex:\" an even number of hex digits must follow");
        if (hn / 2 > CONFIG_OWNER_SECRET_MAX)
            return secret_invalid(ret_error,
                                  "decodes to more than 64 bytes, the most a TPM auth value takes");
        return hex_decode(h, hn, ret_bytes, CONFIG_OWNER_SECRET_MAX, ret_len);
    }
    if (n > CONFIG_OWNER_SECRET_MAX)
        return secret_invalid(ret_error,
                              "is longer than 64 bytes, the most a TPM auth value takes (use 40 hex "
                              "digits, \"hex:\" and up to 128 hex digits, or up to 64 characters)");
    memcpy(ret_bytes, s, n); /* NOLINT(bugprone-not-null-terminated-result): bytes with a length, no string */
    *ret_len = n;
    return 0;
}

/* ---- host names ---- */

bool config_hostname_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && s[n - 1] != '-';
}
