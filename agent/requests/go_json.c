/* SPDX-License-Identifier: BSD-3-Clause */
#include "go_json.h"

#include <stdlib.h>
#include <string.h>

/* The escape for the character at p (and its length in bytes), or NULL when it stays as it is. */
static const char *escape_at(const unsigned char *p, size_t *ret_n)
{
    *ret_n = 1;
    switch (p[0]) {
    case '<': return "\\u003c";
    case '>': return "\\u003e";
    case '&': return "\\u0026";
    case 0xe2: /* U+2028 and U+2029 are E2 80 A8 and E2 80 A9 */
        if (p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            *ret_n = 3;
            return p[2] == 0xa8 ? "\\u2028" : "\\u2029";
        }
        return NULL;
    default: return NULL;
    }
}

/* The bytes that may start an escape; strcspn() skips everything else many bytes at a time. */
static const char specials[] = "<>&\xe2";

char *go_json_html_escape(const char *json)
{
    size_t extra = 0, n;
    for (const char *p = json + strcspn(json, specials); *p; p += n, p += strcspn(p, specials))
        if (escape_at((const unsigned char *)p, &n))
            extra += 6 - n;
    size_t len = strlen(json);
    char *out = malloc(len + extra + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = json;;) {
        size_t plain = strcspn(p, specials);
        memcpy(o, p, plain);
        o += plain;
        p += plain;
        if (!*p)
            break;
        const char *e = escape_at((const unsigned char *)p, &n);
        if (e) {
            memcpy(o, e, 6);
            o += 6;
        } else { /* 0xe2 starting another character */
            memcpy(o, p, n);
            o += n;
        }
        p += n;
    }
    *o = '\0';
    return out;
}
