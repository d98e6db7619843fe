/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCR 10 from an IMA log. The kernel extends every bank with the template data hashed in that bank's
 * algorithm (ima_calc_field_array_hash per bank since 5.x), which for the list's own bank is the template
 * hash the list states (SHA-1 for the classic list); a violation extends all 0xff instead of its all-zero
 * template hash, so that a verifier cannot replay it to a clean value (ima_add_violation / ima_pcr_extend).
 */
#include "ima_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* What entry e extends into the bank: digest of size bytes. */
static int entry_digest(const struct ima_entry *e, uint16_t alg, uint8_t *digest, size_t size)
{
    if (e->violation) {
        memset(digest, 0xff, size);
        return 0;
    }
    if (alg == e->template_hash_alg && size == e->template_hash_size) {
        memcpy(digest, e->template_hash, size);
        return 0;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    int r = ima_template_data(e, &data, &len);
    if (r < 0)
        return r;
    if (digest_buf(alg, data, len, digest) != (int)size)
        r = -EIO;
    free(data);
    return r;
}

int ima_replay_pcr10(const struct ima_log *log, uint16_t alg, uint8_t ret_pcr[EVENTLOG_MAX_DIGEST],
                     char **ret_error)
{
    size_t size = eventlog_alg_size(alg);
    if (!digest_supported(alg) || size == 0)
        return ima_fail(ret_error, -EOPNOTSUPP, "PCR bank 0x%04x is not supported", alg);

    uint8_t pcr[EVENTLOG_MAX_DIGEST] = {0}, digest[EVENTLOG_MAX_DIGEST];
    int r = 0;
    for (size_t i = 0; r == 0 && i < log->n_entries; i++) {
        const struct ima_entry *e = &log->entries[i];
        if (e->pcr != IMA_PCR)
            continue;
        r = entry_digest(e, alg, digest, size);
        if (r == 0)
            r = eventlog_extend(alg, pcr, size, digest);
        if (r < 0)
            r = ima_fail(ret_error, r, "entry %zu (%s): cannot hash it for %s", i + 1, e->path ? e->path : "",
                         eventlog_alg_name(alg));
    }
    if (r == 0)
        memcpy(ret_pcr, pcr, EVENTLOG_MAX_DIGEST);
    return r;
}
