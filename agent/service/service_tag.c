/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The asset tag as quotes need it, read from its NV index once and then kept: reading it takes a salted
 * session with an ECC salt key, two NV commands and the flushes, which cost more than the quote itself
 * (bench/README.md: bench_service). The service is the only writer in normal operation (deploy-asset-tag);
 * SIGHUP forgets it, for an operator who changed the index with other tools.
 */
#include "service_tag.h"

#include <string.h>

int service_asset_tag(struct service_ctx *ctx, uint8_t ret_tag[TPM_ASSET_TAG_SIZE], bool *ret_present,
                      char **ret_error)
{
    pthread_mutex_lock(&ctx->tag_mu);
    bool known = ctx->tag_known;
    unsigned gen = ctx->tag_gen;
    if (known) {
        memcpy(ret_tag, ctx->tag, TPM_ASSET_TAG_SIZE);
        *ret_present = ctx->tag_present;
    }
    pthread_mutex_unlock(&ctx->tag_mu);
    if (known)
        return 0;

    uint8_t tag[TPM_ASSET_TAG_SIZE];
    bool present = false;
    int r = tpm_tag_read(ctx->tpm, &ctx->tag_auth, tag, &present, ret_error);
    if (r < 0)
        return r;
    pthread_mutex_lock(&ctx->tag_mu);
    /* a deploy (or SIGHUP) since we started reading wins over what we read */
    if (ctx->tag_gen == gen) {
        memcpy(ctx->tag, tag, sizeof(tag));
        ctx->tag_present = present;
        ctx->tag_known = true;
    }
    pthread_mutex_unlock(&ctx->tag_mu);
    memcpy(ret_tag, tag, sizeof(tag));
    *ret_present = present;
    return 0;
}

void service_asset_tag_set(struct service_ctx *ctx, const uint8_t tag[TPM_ASSET_TAG_SIZE])
{
    pthread_mutex_lock(&ctx->tag_mu);
    memcpy(ctx->tag, tag, TPM_ASSET_TAG_SIZE);
    ctx->tag_present = true;
    ctx->tag_known = true;
    ctx->tag_gen++;
    pthread_mutex_unlock(&ctx->tag_mu);
}

void service_asset_tag_forget(struct service_ctx *ctx)
{
    pthread_mutex_lock(&ctx->tag_mu);
    ctx->tag_known = false;
    ctx->tag_gen++;
    pthread_mutex_unlock(&ctx->tag_mu);
}
