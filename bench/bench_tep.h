/* SPDX-License-Identifier: BSD-3-Clause */
/* What the TEP benchmarks (bench_config_apply, bench_luks_unlock) start from: a swtpm the harness started,
 * owned and provisioned as `tagent provision-device` leaves a device, with keys made here. */
#ifndef TAGENT_BENCH_TEP_H
#define TAGENT_BENCH_TEP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "quote.h"
#include "tepc.h"

#define BENCH_TEP_OWNER_SECRET "0123456789abcdef0123456789abcdef01234567"

struct bench_tep_device {
    struct tpm_auth owner;
    EVP_PKEY *sign;  /* the owner's signing key: P-384 (ptt) or P-256 (dtpm) */
    uint8_t aes[32]; /* the configuration key: aes_len bytes of it */
    size_t aes_len;
};

/* take-ownership, then tep_provision_device() under root with the profile's keys (the key files go into dir
 * and the AES key's is removed after). On failure *ret_error says which step (caller frees). */
int bench_tep_provision(tpm_t *tpm, const char *dir, const char *root, enum tepc_profile profile,
                        struct bench_tep_device *ret, char **ret_error);
void bench_tep_device_clear(struct bench_tep_device *d);

#endif
