/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one table of TCG digest algorithms (TPM2_ALG_ID) tagent knows: the name HVS and the TCG write, the
 * digest size, OpenSSL's name for the digest, and whether HVS accepts it as a PCR bank. Event logs
 * (eventlog/), quotes (quote/) and the quote-request decoder (agent/requests/) all look algorithms up here.
 */
#ifndef TAGENT_TCG_ALG_H
#define TAGENT_TCG_ALG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TPM2_ALG_ID values (TCG Algorithm Registry). */
#define TCG_ALG_SHA1    0x0004
#define TCG_ALG_SHA256  0x000b
#define TCG_ALG_SHA384  0x000c
#define TCG_ALG_SHA512  0x000d
#define TCG_ALG_SM3_256 0x0012

struct tcg_alg {
    uint16_t id;
    const char *name;      /* as HVS and the TCG write it: "SHA256", "SM3_256" */
    size_t size;           /* digest bytes */
    const char *ossl_name; /* for EVP_MD_fetch: "SHA256", "SM3" */
    bool hvs_pcr_bank;     /* a PCR bank HVS quotes and replays: SHA1, SHA256, SHA384 */
};

/* The entry of a TPM2_ALG_ID, or NULL for one not in the table. */
const struct tcg_alg *tcg_alg_from_id(uint16_t id);
/* Its name ("SHA256") or NULL, its digest size or 0, for an id not in the table. */
const char *tcg_alg_name(uint16_t id);
size_t tcg_alg_size(uint16_t id);
/* The entry whose name matches, case-insensitively ("sha256" finds SHA256), or NULL. */
const struct tcg_alg *tcg_alg_from_name(const char *name);
/* The whole table (for callers that walk it, e.g. to list the banks HVS knows), *ret_n entries. */
const struct tcg_alg *tcg_algs(size_t *ret_n);

#endif
