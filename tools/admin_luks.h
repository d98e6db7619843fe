/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-admin luks: what `luks policy` and `luks config` share (admin_luks_states.c). */
#ifndef TAGENT_ADMIN_LUKS_H
#define TAGENT_ADMIN_LUKS_H

#include <stddef.h>
#include <stdint.h>

#include "luks_policy.h"

/* Where config-apply puts the delivered files (spec 3.6a): the default directory of every path in the YAML.
 */
#define ADMIN_LUKS_DEVICE_DIR "/home/update/upload/mnt"

/* "sha256" or "sha384" into TPM_ALG_SHA256/SHA384. */
int admin_luks_bank_parse(const char *s, uint16_t *ret_bank, char **ret_error);
const char *admin_luks_bank_name(uint16_t bank);
/* "0,7,10" (ascending, no repeats, 0-23) into a mask. */
int admin_luks_pcrs_parse(const char *s, uint32_t *ret_mask, char **ret_error);
/* The PCRs of mask joined with sep: "0_7_10" for file names, "0, 7, 10" for YAML. */
void admin_luks_pcrs_format(uint32_t mask, const char *sep, char *out, size_t size);
/* "pcr0_7_10.pcr.policy": the policy file's name follows the PCR list. */
void admin_luks_pol_file_name(uint32_t mask, char *out, size_t size);

/* The expected values from `tpm2_pcrread BANK:PCRS -o path`: the selected PCRs in ascending order, bank size
 * each, nothing else. */
int admin_luks_state_from_values(const char *path, uint16_t bank, uint32_t mask, struct luks_pcr_state *ret,
                                 char **ret_error);
/* The expected values from replaying a TCG event log (eventlog/): the state a firmware will boot into. A
 * selected PCR the log never extends keeps the replay's start value (zeros; PCR 0: the locality), with a
 * warning on stderr. */
int admin_luks_state_from_eventlog(const char *path, uint16_t bank, uint32_t mask, struct luks_pcr_state *ret,
                                   char **ret_error);

#endif
