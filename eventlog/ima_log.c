/* SPDX-License-Identifier: BSD-3-Clause */
/* IMA log ownership: appending parsed entries, freeing, and the error-message helper. */
#include "ima_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ima_printable(char *out, size_t cap, const char *s, size_t n)
{
    size_t i = 0;
    for (; cap > 0 && i < n && i < cap - 1; i++) {
        out[i] = '?';
        if (s[i] >= 0x20 && s[i] < 0x7f)
            out[i] = s[i];
    }
    if (cap > 0)
        out[i] = '\0';
    return out;
}

char *ima_memdup_str(const void *s, size_t n)
{
    char *out = malloc(n + 1);
    if (out) {
        if (n)
            memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

void ima_entry_clear(struct ima_entry *e)
{
    free(e->path);
    free(e->signature);
    memset(e, 0, sizeof(*e));
}

int ima_log_append(struct ima_log *log, struct ima_entry *e, char **ret_error)
{
    /* struct ima_log keeps no capacity: it is implicitly 16, then the next power of two, so the array grows
     * exactly when n_entries is 0 or has reached a power of two of at least 16. */
    size_t n = log->n_entries;
    if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
        struct ima_entry *grown = reallocarray(log->entries, n == 0 ? 16 : n * 2, sizeof(*grown));
        if (!grown)
            return ima_fail(ret_error, -ENOMEM, "out of memory");
        log->entries = grown;
    }
    log->entries[log->n_entries++] = *e;
    memset(e, 0, sizeof(*e));
    return 0;
}

void ima_log_free(struct ima_log *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < log->n_entries; i++)
        ima_entry_clear(&log->entries[i]);
    free(log->entries);
    free(log);
}
