/* SPDX-License-Identifier: BSD-3-Clause */
/* The asset tag quotes carry, cached (service_tag.c): read from NV once, updated by deploy-asset-tag. */
#ifndef TAGENT_SERVICE_TAG_H
#define TAGENT_SERVICE_TAG_H

#include <stdbool.h>
#include <stdint.h>

#include "handler.h"

/* The tag quotes carry: from the cache, else read from the TPM and cached. On failure *ret_error (caller
 * frees; may be NULL) is quote/'s message. A refused tag secret (-EACCES) is remembered: later calls fail the
 * same way without asking the TPM, until service_asset_tag_set() or _forget(). */
int service_asset_tag(struct service_ctx *ctx, uint8_t ret_tag[TPM_ASSET_TAG_SIZE], bool *ret_present,
                      char **ret_error);
/* After deploy-asset-tag wrote it (the secret works: a remembered refusal is forgotten too). */
void service_asset_tag_set(struct service_ctx *ctx, const uint8_t tag[TPM_ASSET_TAG_SIZE]);
/* The next quote reads it from the TPM again (SIGHUP, a failed write). It tries a refused secret again only
 * after SIGHUP: a write the TPM refused the secret for is remembered as a refusal. */
void service_asset_tag_forget(struct service_ctx *ctx);

#endif
