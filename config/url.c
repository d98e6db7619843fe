/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A strict check of the few URLs trustagent.env holds (HVS/CMS/AAS base URLs, NATS servers):
 *   scheme "://" host [":" port] [path] [?query] [#fragment]
 * host: a DNS name, an IPv4 address or a bracketed IPv6 address. No user info (credentials in a URL end up
 * in logs), no whitespace. Written here rather than taken from libcurl so that every tagent command does
 * not load libcurl and its ~30 dependent libraries at start (see bench/README.md, eventlog section).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool host_ok(const char *h, size_t n)
{
    char buf[256];
    if (n == 0 || n >= sizeof(buf))
        return false;
    if (h[0] == '[') {
        unsigned char addr[16];
        if (n < 3 || h[n - 1] != ']')
            return false;
        memcpy(buf, h + 1, n - 2);
        buf[n - 2] = '\0';
        return inet_pton(AF_INET6, buf, addr) == 1;
    }
    memcpy(buf, h, n);
    buf[n] = '\0';
    unsigned char addr[4];
    return inet_pton(AF_INET, buf, addr) == 1 || config_hostname_valid(buf);
}

static bool port_ok(const char *p, size_t n)
{
    if (n == 0 || n > 5)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

/* The reason, for the caller to free (NULL when even that copy failed); -EINVAL. */
static int url_invalid(char **ret_error, const char *why)
{
    if (ret_error)
        *ret_error = strdup(why);
    return -EINVAL;
}

int config_url_check(const char *url, const char *const *schemes, char **ret_error)
{
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return url_invalid(ret_error, "contains a space or control character");
    const char *sep = strstr(url, "://");
    bool scheme_ok = false;
    for (const char *const *s = schemes; sep && *s; s++)
        scheme_ok |= strlen(*s) == (size_t)(sep - url) && strncasecmp(url, *s, strlen(*s)) == 0;
    if (!scheme_ok)
        return url_invalid(ret_error, "has the wrong scheme");
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (memchr(auth, '@', alen))
        return url_invalid(ret_error, "contains a user name or password; credentials do not belong in a URL");
    /* host[:port]; an IPv6 literal has colons inside its brackets */
    const char *close = auth[0] == '[' ? memchr(auth, ']', alen) : NULL;
    const char *colon = memchr(close ? close : auth, ':', alen - (size_t)((close ? close : auth) - auth));
    size_t hlen = colon ? (size_t)(colon - auth) : alen;
    if (!host_ok(auth, hlen))
        return url_invalid(ret_error, hlen ? "has an invalid host" : "has no host");
    if (colon && !port_ok(colon + 1, alen - hlen - 1))
        return url_invalid(ret_error, "has an invalid port (1 to 65535)");
    return 0;
}
