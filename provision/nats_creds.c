/* SPDX-License-Identifier: BSD-3-Clause */
/* Which subjects a .creds file's user JWT may subscribe to (nats_creds.h). */
#include "nats_creds.h"

#include "cleanup.h"
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define JWT_BEGIN "-----BEGIN NATS USER JWT-----"
#define JWT_END   "------END NATS USER JWT------"

/* The JWT's claims segment (the text between its two dots), decoded from base64url into a NUL-terminated
 * string (caller frees). */
static int jwt_claims(const char *creds, char **ret_json)
{
    const char *b = strstr(creds, JWT_BEGIN), *e = b ? strstr(b, JWT_END) : NULL;
    if (!e)
        return -EBADMSG;
    b += strlen(JWT_BEGIN);
    const char *dot1 = memchr(b, '.', (size_t)(e - b));
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(e - dot1 - 1)) : NULL;
    if (!dot2)
        return -EBADMSG;
    size_t n = (size_t)(dot2 - dot1 - 1);
    /* base64url without padding -> standard base64 for config_base64_decode */
    _cleanup_free_ char *std = malloc(n + 4);
    if (!std)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        std[i] = dot1[1 + i] == '-' ? '+' : dot1[1 + i] == '_' ? '/' : dot1[1 + i];
    size_t len = n;
    while (len % 4)
        std[len++] = '=';
    std[len] = '\0';
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_free_ (clang 14 does not model cleanup) */
    int r = config_base64_decode(std, &raw, &raw_len);
    if (r < 0)
        return -EBADMSG;
    char *json = malloc(raw_len + 1);
    if (json) {
        memcpy(json, raw, raw_len);
        json[raw_len] = '\0';
    }
    free(raw);
    if (!json)
        return -ENOMEM;
    *ret_json = json;
    return 0;
}

/* Whether subscribing to pattern covers every subject of subject (both NATS subjects; subject may end in
 * ">"). "*" stands for one token but not for a trailing ">", which stands for many. */
static bool pattern_covers(const char *pattern, const char *subject)
{
    for (;;) {
        size_t pl = strcspn(pattern, "."), sl = strcspn(subject, ".");
        if (pl == 1 && pattern[0] == '>')
            return sl > 0;
        if (!(pl == 1 && pattern[0] == '*' && !(sl == 1 && subject[0] == '>')) &&
            (pl != sl || strncmp(pattern, subject, pl) != 0))
            return false;
        if (!pattern[pl] || !subject[sl])
            return !pattern[pl] && !subject[sl];
        pattern += pl + 1;
        subject += sl + 1;
    }
}

int nats_creds_allows_sub(const char *creds, const char *subject)
{
    _cleanup_free_ char *json = NULL;
    int r = jwt_claims(creds, &json);
    if (r < 0)
        return r;
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_free_ (clang 14 does not model cleanup) */
    cJSON *claims = cJSON_Parse(json);
    const cJSON *nats = cJSON_GetObjectItemCaseSensitive(claims, "nats");
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(nats, "sub");
    const cJSON *allow = cJSON_GetObjectItemCaseSensitive(sub, "allow"), *a;
    if (!cJSON_IsObject(nats))
        r = -EBADMSG;
    else if (!cJSON_IsArray(allow) || !allow->child)
        r = 1; /* no allow list: NATS allows every subject */
    else {
        r = 0;
        cJSON_ArrayForEach(a, allow) if (cJSON_IsString(a) && pattern_covers(a->valuestring, subject)) r = 1;
    }
    cJSON_Delete(claims);
    return r;
}
