/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Scope-bound ownership in the style of systemd's (src/fundamental/macro-fundamental.h,
 * src/basic/alloc-util.h), with GCC/clang's cleanup attribute:
 *
 *     _cleanup_free_ char *path = config_path(root, NAME);          freed when path goes out of scope
 *     _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_RSA_gen(3072);    typed: X_freep(&x) calls X_free(x)
 *     _cleanup_wipe_free_ char *token = NULL;                        secrets: wiped, then freed
 *     *ret_key = TAKE_PTR(key);                                      hand over: the variable is NULL after
 *
 * Every X_free used here accepts NULL, so an early return needs no bookkeeping. DEFINE_TRIVIAL_CLEANUP_FUNC
 * makes X_freep for a library's free function.
 */
#ifndef TAGENT_CLEANUP_H
#define TAGENT_CLEANUP_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Returns p and sets it to NULL: the owner hands the object on. */
#define TAKE_PTR(p)                                                                                          \
    ({                                                                                                       \
        __typeof__(p) *_pp_ = &(p);                                                                          \
        __typeof__(p) _p_ = *_pp_;                                                                           \
        *_pp_ = NULL;                                                                                        \
        _p_;                                                                                                 \
    })

/* X_freep(T **p) calling func(*p); func must accept NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                              \
    static inline void func##p(type *p)                                                                      \
    {                                                                                                        \
        func(*p);                                                                                            \
    }

static inline void freep(void *p)
{
    free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Wipes a NUL-terminated secret (a token, a passphrase, a PEM private key) before freeing it, so it does not
 * linger in freed heap memory. OPENSSL_cleanse is not used here: this header must not pull in OpenSSL; the
 * volatile pointer keeps the compiler from dropping the wipe of memory about to be freed. */
static inline void wipe_freep(void *p)
{
    char *s = *(char **)p;
    if (s) {
        volatile char *v = s;
        for (size_t n = strlen(s), i = 0; i < n; i++)
            v[i] = 0;
        free(s);
    }
}
#define _cleanup_wipe_free_ _cleanup_(wipe_freep)

/* A file descriptor, closed unless negative: _cleanup_close_ int fd = open(...). */
static inline void closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* A NULL-terminated array of strings and the strings in it. */
static inline void strv_free(char **v)
{
    for (char **s = v; s && *s; s++)
        free(*s);
    free(v);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

#endif
