/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Memory for the passphrase and the recovery passphrase: whole anonymous pages, so that mlock and
 * MADV_DONTDUMP cover exactly the secret and nothing shares its pages. mlock may fail under RLIMIT_MEMLOCK
 * (spec 4.3: as an unprivileged user); the buffer is still usable, only swappable then.
 */
#include "luks.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

static size_t round_pages(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (size + page - 1) / page * page;
}

void *luks_secret_alloc(size_t size)
{
    if (!size)
        size = 1;
    size_t len = round_pages(size);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    (void)mlock(p, len);
    (void)madvise(p, len, MADV_DONTDUMP);
    return p;
}

void luks_secret_free(void *p, size_t size)
{
    if (!p)
        return;
    if (!size)
        size = 1;
    size_t len = round_pages(size);
    OPENSSL_cleanse(p, len);
    (void)munlock(p, len);
    (void)munmap(p, len);
}
