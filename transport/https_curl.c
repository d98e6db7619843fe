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

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
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

static int load_fail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message stays for the life of the process: every later request fails with the same words. */
static int load_fail(int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(load_why, sizeof(load_why), fmt, ap);
    va_end(ap);
    return r;
}

static const char *or_unknown(const char *s)
{
    return s ? s : "unknown error";
}

/* dlsym() into a function pointer of the right type; POSIX guarantees the conversion works. */
static int symbol(void *lib, const char *name, void *ret_fn, size_t fn_size)
{
    void *p;

    dlerror();
    p = dlsym(lib, name);
    if (!p)
        return load_fail(-ELIBBAD, "%s is not in %s (%s); install the libcurl4 package", name, CURL_SONAME,
                         or_unknown(dlerror()));
    memcpy(ret_fn, &p, fn_size);
    return 0;
}

static int load(void)
{
    struct https_curl t = {0};
    CURLcode cc;
    void *lib;
    int r;

    /* RTLD_LOCAL: libcurl's symbols serve this table only. Its libssl is the process's own (one soname, one
     * copy), which the SSL_CTX hook in https_tls.c relies on. */
    lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return load_fail(-ELIBACC, "cannot load %s: %s; install the libcurl4 package", CURL_SONAME,
                         or_unknown(dlerror()));
#define LOAD(member, name)                                                                                   \
    if ((r = symbol(lib, name, &t.member, sizeof(t.member))) < 0)                                            \
        goto fail;
    SYMBOLS(LOAD)
#undef LOAD
    /* Every member is set here: a symbol() that failed jumped to fail (load_fail() returns its negative r,
     * which the analyzer does not see through the variadic call). */
    cc = t.global_init(CURL_GLOBAL_DEFAULT); /* NOLINT(clang-analyzer-core.CallAndMessage) */
    /* Stays loaded even then: a half-done global init is not something to unmap under. */
    if (cc != CURLE_OK) /* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage): as above */
        return load_fail(-EIO, "libcurl did not initialise: %s", t.easy_strerror(cc));
    api = t;
    return 0;
fail:
    dlclose(lib);
    return r;
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
