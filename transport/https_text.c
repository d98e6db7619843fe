/* SPDX-License-Identifier: BSD-3-Clause */
/* Strings around requests: URL joining, status errors, token redaction. */
#include "https_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_BODY_MAX 200

char *https_url_join(const char *base, const char *path)
{
    const char *scheme_end;
    size_t keep, min = 0;
    char *s = NULL;

    if (!base || !path) {
        errno = EINVAL;
        return NULL;
    }
    /* Never eat into "https://" itself, whatever the base looks like. */
    scheme_end = strstr(base, "://");
    if (scheme_end)
        min = (size_t)(scheme_end - base) + 3;
    keep = strlen(base);
    while (keep > min && base[keep - 1] == '/')
        keep--;
    while (*path == '/')
        path++;
    if (asprintf(&s, "%.*s/%s", (int)keep, base, path) < 0)
        return NULL;
    return s;
}

int https_url_escape(const char *s, char **ret_escaped, char **ret_error)
{
    const struct https_curl *api = NULL;
    char *escaped, *copy;
    int r;

    if (!s) {
        if (ret_error)
            *ret_error = strdup("no string to percent-encode");
        return -EINVAL;
    }
    if ((r = https_curl_load(&api, ret_error)) < 0)
        return r;
    /* Length 0 makes libcurl take strlen(); a handle is only needed for the long-gone non-ASCII builds. */
    escaped = api->easy_escape(NULL, s, 0);
    if (!escaped)
        return -ENOMEM;
    /* The caller frees with free(): curl_free() is another library's allocator as far as it knows. */
    copy = strdup(escaped);
    api->release(escaped);
    if (!copy)
        return -ENOMEM;
    *ret_escaped = copy;
    return 0;
}

static bool is_blank(unsigned char c)
{
    return c == '\n' || c == '\r' || c == '\t' || c == ' ';
}

/* The server's own words, made safe for a log line: one line, printable ASCII only, "..." where cut. */
static void status_words(const struct https_response *response, char words[static STATUS_BODY_MAX + 4])
{
    size_t n = 0, i = 0, len = response && response->body ? response->body_len : 0;

    for (; i < len && n < STATUS_BODY_MAX; i++) {
        unsigned char c = response->body[i];
        if (!is_blank(c))
            words[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        else if (n > 0 && words[n - 1] != ' ')
            words[n++] = ' ';
    }
    /* Whatever is left is whitespace only, or it was cut. */
    for (; i < len; i++) {
        if (!is_blank(response->body[i])) {
            memcpy(words + n, "...", 3);
            n += 3;
            break;
        }
    }
    while (n > 0 && words[n - 1] == ' ')
        n--;
    words[n] = '\0';
}

char *https_status_error(const char *method, const char *url, const struct https_response *response)
{
    char words[STATUS_BODY_MAX + 4]; /* + "..." + NUL */
    char *s = NULL;

    status_words(response, words);
    if (asprintf(&s, "%s %s: HTTP %ld%s%s", method ? method : "?", url ? url : "?",
                 response ? response->status : 0L, words[0] ? ": " : "", words) < 0)
        return NULL;
    return s;
}

void https_redact(char **text, const char *secret)
{
    size_t slen = secret ? strlen(secret) : 0;
    char *out, *p, *hit;
    size_t hits = 0;

    if (!*text || slen == 0)
        return;
    for (p = *text; (hit = strstr(p, secret)); p = hit + slen)
        hits++;
    if (hits == 0)
        return;
    /* "****" may be longer than a (silly) short token. */
    out = malloc(strlen(*text) + hits * 4 + 1);
    if (!out) {
        /* Better no message than one with the token in it. */
        free(*text);
        *text = NULL;
        return;
    }
    char *w = out;
    /* Pieces of one string, terminated by the last memcpy after the loop. */
    /* NOLINTBEGIN(bugprone-not-null-terminated-result) */
    for (p = *text; (hit = strstr(p, secret)); p = hit + slen) {
        memcpy(w, p, (size_t)(hit - p));
        w += hit - p;
        memcpy(w, "****", 4);
        w += 4;
    }
    /* NOLINTEND(bugprone-not-null-terminated-result) */
    memcpy(w, p, strlen(p) + 1);
    free(*text);
    *text = out;
}
