/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The response body as it arrives, and the response handed to the caller. Bodies are wiped whenever they are
 * dropped or moved: AAS answers with bearer tokens and NATS credentials (an NKEY seed).
 */
#include "https_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define BODY_MIN_CAP 4096

/* realloc() would leave the old copy behind unwiped. */
static int body_grow(struct https_body *b, size_t need)
{
    size_t cap = b->cap ? b->cap : BODY_MIN_CAP;
    uint8_t *data;

    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    data = malloc(cap);
    if (!data)
        return -ENOMEM;
    if (b->data) {
        memcpy(data, b->data, b->len);
        OPENSSL_cleanse(b->data, b->len);
        free(b->data);
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

size_t https_body_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct https_body *b = userdata;
    size_t n = size * nmemb; /* libcurl promises size == 1 */

    /* One byte stays free for the NUL https_body_take() adds. */
    if (n > b->max - b->len) {
        b->too_large = true;
        return 0; /* anything but n aborts the transfer (CURLE_WRITE_ERROR) */
    }
    if (b->len + n + 1 > b->cap && body_grow(b, b->len + n + 1) < 0)
        return 0;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    return n;
}

void https_body_reset(struct https_body *b)
{
    if (b->data)
        OPENSSL_cleanse(b->data, b->len);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->too_large = false;
}

int https_body_take(struct https_body *b, uint8_t **ret_data, size_t *ret_len)
{
    if (!b->data && body_grow(b, 1) < 0)
        return -ENOMEM;
    b->data[b->len] = '\0';
    *ret_data = b->data;
    *ret_len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return 0;
}

void https_response_free(struct https_response *response)
{
    if (!response)
        return;
    if (response->body)
        OPENSSL_cleanse(response->body, response->body_len);
    free(response->body);
    free(response->content_type);
    free(response->server_sha384);
    *response = (struct https_response){0};
}
