/* SPDX-License-Identifier: BSD-3-Clause */
/* Memory for an unsealed secret (the LUKS passphrase): its own pages, locked so they never reach swap, and
 * left out of core dumps. One mapping per secret: secrets are few and small, and munmap() returns the pages
 * to the kernel at once instead of to a heap that could hand them out again unwiped. */
#include "tpm_internal.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

static size_t secret_map_len(size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return len ? (len + page - 1) / page * page : page;
}

uint8_t *tpm_secret_alloc(size_t len)
{
    size_t map_len = secret_map_len(len);
    void *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* A secret that could be paged out is refused rather than handed over: RLIMIT_MEMLOCK allows at least
     * 64 KiB to every process, so this only fails when something else already locked that much. */
    if (mlock(p, map_len) < 0 || madvise(p, map_len, MADV_DONTDUMP) < 0) {
        int e = errno;
        munmap(p, map_len);
        errno = e;
        return NULL;
    }
    return p;
}

void tpm_secret_free(uint8_t *secret, size_t len)
{
    if (!secret)
        return;
    size_t map_len = secret_map_len(len);
    OPENSSL_cleanse(secret, map_len);
    munlock(secret, map_len);
    munmap(secret, map_len);
}
