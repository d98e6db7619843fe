/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to quote/: PCR banks and value reads, used by quote.c. */
#ifndef TAGENT_QUOTE_PCR_H
#define TAGENT_QUOTE_PCR_H

#include "tpm_internal.h"

#define PCR_MAX_BANKS 3

/* 20/32/48 for SHA1/SHA256/SHA384, 0 for anything else. */
size_t pcr_bank_digest_size(uint16_t alg);
/* The banks HVS knows, largest digest first (SHA384, SHA256, SHA1): what a request that names none gets. */
size_t pcr_banks_strongest_first(uint16_t ret_banks[PCR_MAX_BANKS]);
/* Fills t->banks (cached until reconnect). Caller holds the lock. */
int pcr_banks_allocated(tpm_t *t, char **ret_error);
/* The values of every selected PCR, bank-major in selection order, PCR index ascending. */
int pcr_read_values(tpm_t *t, const TPML_PCR_SELECTION *sel, uint8_t *out, size_t cap, size_t *ret_len,
                    char **ret_error);

#endif
