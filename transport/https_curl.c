/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libcurl, loaded on the first HTTPS request instead of at exec. Only `tagent setup` talks HTTPS, yet every
 * command (and the long-running startService) would otherwise map libcurl and the ~30 libraries it drags in
 * (gnutls, krb5, ldap, ssh2, ...), relocate them and keep their dirty pages: 27 more shared objects, a few
 * milliseconds of start-up and ~4 MiB of RSS (bench/README.md). <curl/curl.h> still gives the types and
 * constants; only the functions come from the table below.
 *
 * The library is never unloaded: libcurl keeps global state (curl_global_init) for the life of the process.
 */
#include "https_internal.h"

#include "dl_table.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The OpenSSL flavour (Debian's libcurl4): https_tls.c hooks into its SSL_CTX. */
#define CURL_SONAME "libcurl.so.4"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static struct https_curl api;
static int load_rc;
static char load_why[512];

/* The member names differ from libcurl's: curl_easy_setopt is also a type-checking macro in <curl/curl.h>. */
#define SYMBOLS(X)                                                                                           \
    X(global_init, "curl_global_init")                                                                       \
    X(easy_init, "curl_easy_init")                                                                           \
    X(easy_setopt, "curl_easy_setopt")                                                                       \
    X(easy_getinfo, "curl_easy_getinfo")                                                                     \
    X(easy_perform, "curl_easy_perform")                                                                     \
    X(easy_cleanup, "curl_easy_cleanup")                                                                     \
    X(easy_strerror, "curl_easy_strerror")                                                                   \
    X(easy_escape, "curl_easy_escape")                                                                       \
    X(release, "curl_free")                                                                                  \
    X(slist_append, "curl_slist_append")                                                                     \
    X(slist_free_all, "curl_slist_free_all")

#define SYMBOL_ENTRY(member, name) {name, offsetof(struct https_curl, member)},
static const struct dl_symbol symbols[] = {SYMBOLS(SYMBOL_ENTRY)};
#undef SYMBOL_ENTRY

static int load(void)
{
    struct https_curl t = {0};
    /* Its libssl is the process's own (one soname, one copy), which the SSL_CTX hook in https_tls.c relies
     * on. */
    int r = dl_table_load(CURL_SONAME, "libcurl4", symbols, sizeof(symbols) / sizeof(symbols[0]), &t,
                          load_why, sizeof(load_why));
    if (r < 0)
        return r;
    /* Stays loaded even when this fails: a half-done global init is not something to unmap under. */
    CURLcode cc = t.global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK) {
        snprintf(load_why, sizeof(load_why), "libcurl did not initialise: %s", t.easy_strerror(cc));
        return -EIO;
    }
    api = t;
    return 0;
}

static void load_once_run(void)
{
    load_rc = load();
}

int https_curl_load(const struct https_curl **ret_api, char **ret_error)
{
    pthread_once(&load_once, load_once_run);
    if (load_rc < 0) {
        if (ret_error)
            *ret_error = strdup(load_why);
        return load_rc;
    }
    *ret_api = &api;
    return 0;
}
