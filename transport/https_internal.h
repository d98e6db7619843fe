/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to transport/: the pieces https_request() is assembled from. */
#ifndef TAGENT_HTTPS_INTERNAL_H
#define TAGENT_HTTPS_INTERNAL_H

#include "transport.h"

#include <curl/curl.h>
#include <openssl/x509.h>

#define HTTPS_SHA384_HEX 96

/* libcurl's functions, loaded on first use (https_curl.c): tagent does not link libcurl, so commands that
 * never talk HTTPS do not pay for mapping it. Names differ from libcurl's on purpose (see https_curl.c).
 * Calls through easy_setopt/easy_getinfo escape <curl/curl.h>'s type-checking macros: pass exactly the
 * type the option documents (long, curl_off_t, char *, a callback of libcurl's signature). */
struct https_curl {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    CURLcode (*easy_perform)(CURL *curl);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    char *(*easy_escape)(CURL *curl, const char *string, int length);
    void (*release)(void *p); /* curl_free */
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *data);
    void (*slist_free_all)(struct curl_slist *list);
};

/* Loads libcurl.so.4 and runs curl_global_init, once per process, whichever thread comes first. 0 and
 * *ret_api; or -ELIBACC (not installed), -ELIBBAD (a symbol is missing), -EIO (global init failed) and
 * *ret_error (caller frees; may be NULL). Every later call gives the same result and the same words. */
int https_curl_load(const struct https_curl **ret_api, char **ret_error);

/* Trust and pinning for one request; libcurl hands it to https_tls_ctx_setup() for every new connection. */
struct https_tls {
    STACK_OF(X509) * anchors; /* certificates from ca_dir */
    bool verify;              /* chain verification (host names are libcurl's job) */
    bool system_ca;
    const char *ca_dir;
    char pin[HTTPS_SHA384_HEX + 1]; /* lower case, "" for none */

    /* Filled by the handshake (the last one, if there were several). */
    char leaf_sha384[HTTPS_SHA384_HEX + 1]; /* "" until a certificate arrived */
    bool pin_mismatch;
    int verify_error; /* X509_V_ERR_*, 0 if the chain verified or was not checked */
};

/* Loads ca_dir and checks the pin's format. 0, or -EINVAL/-ENOENT/-errno with *ret_error (caller frees; may
 * be NULL on allocation failure). */
int https_tls_init(struct https_tls *tls, const struct https_options *opts, char **ret_error);
void https_tls_done(struct https_tls *tls);
/* CURLOPT_SSL_CTX_FUNCTION; userptr is the struct https_tls. */
CURLcode https_tls_ctx_setup(CURL *curl, void *ssl_ctx, void *userptr);
/* "2 certificates from /etc/trustagent/cacerts and the system store" (caller frees). */
char *https_tls_describe_trust(const struct https_tls *tls);

/* A growing, wiped-on-free response body. */
struct https_body {
    uint8_t *data;
    size_t len, cap, max;
    bool too_large;
};
/* CURLOPT_WRITEFUNCTION; userdata is the struct https_body. */
size_t https_body_write(char *ptr, size_t size, size_t nmemb, void *userdata);
void https_body_reset(struct https_body *b);
/* Hands the bytes over NUL-terminated (an empty body becomes ""); the buffer is empty afterwards. */
int https_body_take(struct https_body *b, uint8_t **ret_data, size_t *ret_len);

/* Every occurrence of secret in *text becomes "****" (so a token echoed by anything cannot leak). */
void https_redact(char **text, const char *secret);

#endif
