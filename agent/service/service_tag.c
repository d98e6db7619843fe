/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The asset tag as quotes need it, read from its NV index once and then kept: reading it takes a salted
 * session with an ECC salt key, two NV commands and the flushes, which cost more than the quote itself
 * (bench/README.md: bench_service). The service is the only writer in normal operation (deploy-asset-tag);
 * SIGHUP forgets it, for an operator who changed the index with other tools.
 *
 * A refused tag secret is remembered, never retried: the index is DA-protected, so every refused read counts
 * toward the TPM's dictionary-attack lockout, and a quote every few minutes would lock the TPM out for every
 * user of it after a few quotes. Quotes then fail with the reason and the fix instead of going out without
 * the tag: HVS takes IsTagProvisioned/AssetTag as this host's tag state and binds the quote to it (the tag is
 * hashed into qualifyingData, spec section 5), so a quote without the tag would tell HVS the tag is gone —
 * its asset-tag flavor fails as if someone had removed the tag — while the real fault is a stale secret in
 * config.yml that only the operator can fix. An error names that fault. SIGHUP (after the operator fixed it)
 * or a successful deploy-asset-tag (the secret works) lets the next quote try again.
 */
#include "service_tag.h"

#include "cleanup.h"
#include "clock.h"
#include "log.h"
#include "service_status.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DA_CHECK_MS 30000 /* how often quotes refresh the dictionary-attack state `tagent status` shows */

/* Reads the DA state for `tagent status`: after a refused secret (the counter just went up), else at most
 * every DA_CHECK_MS. A GetCapability without authorization: it never counts as a failed try. */
static void da_refresh(struct service_ctx *ctx, bool now)
{
    int64_t t = monotonic_ms();
    pthread_mutex_lock(&ctx->tag_mu);
    bool due = now || !ctx->da_checked_ms || t - ctx->da_checked_ms >= DA_CHECK_MS;
    if (due)
        ctx->da_checked_ms = t;
    pthread_mutex_unlock(&ctx->tag_mu);
    if (!due)
        return;
    struct tpm_da_state da;
    char text[512];
    if (tpm_da_state(ctx->tpm, &da, NULL) < 0)
        return; /* the TPM's health is the probe's business */
    tpm_da_state_text(&da, text, sizeof(text));
    service_status_da(da.in_lockout, text);
    if (da.in_lockout)
        log_warning("TPM: %s", text);
}

static void refused_clear(struct service_ctx *ctx)
{
    if (ctx->tag_refused)
        service_status_tag(NULL);
    ctx->tag_refused = false;
}

/* One reader at a time: two quotes that both found nothing cached must not both try a secret the TPM is
 * about to refuse (each refusal counts). The second waits and then finds the first one's answer. */
static pthread_mutex_t read_mu = PTHREAD_MUTEX_INITIALIZER;

/* The cached answer: 1 with the tag (or -EACCES with the remembered refusal), 0 when the TPM must be asked
 * (*ret_gen: the generation the read will be cached under). */
static int cached(struct service_ctx *ctx, uint8_t ret_tag[TPM_ASSET_TAG_SIZE], bool *ret_present,
                  char **ret_error, unsigned *ret_gen)
{
    int r = 0;
    pthread_mutex_lock(&ctx->tag_mu);
    *ret_gen = ctx->tag_gen;
    if (ctx->tag_refused) {
        r = -EACCES;
        if (ret_error)
            *ret_error = strdup(ctx->tag_refused_why);
    } else if (ctx->tag_known) {
        memcpy(ret_tag, ctx->tag, TPM_ASSET_TAG_SIZE);
        *ret_present = ctx->tag_present;
        r = 1;
    }
    pthread_mutex_unlock(&ctx->tag_mu);
    return r;
}

/* The TPM refused the secret: remember it, unless a deploy or SIGHUP came meanwhile (its secret or index may
 * be the fixed one). */
static void refused(struct service_ctx *ctx, unsigned gen, const char *error)
{
    const char *why = error ? error : "the TPM refused the tag secret in config.yml";
    pthread_mutex_lock(&ctx->tag_mu);
    bool remember = ctx->tag_gen == gen && !ctx->tag_refused;
    ctx->tag_refusals_seen = tpm_tag_refusals();
    if (remember) {
        snprintf(ctx->tag_refused_why, sizeof(ctx->tag_refused_why), "%s", why);
        ctx->tag_refused = true;
    }
    pthread_mutex_unlock(&ctx->tag_mu);
    if (remember) {
        log_error("asset tag: %s", why);
        service_status_tag(why);
    }
}

int service_asset_tag(struct service_ctx *ctx, uint8_t ret_tag[TPM_ASSET_TAG_SIZE], bool *ret_present,
                      char **ret_error)
{
    unsigned gen;
    int r = cached(ctx, ret_tag, ret_present, ret_error, &gen);
    if (r != 0) {
        da_refresh(ctx, false);
        return r < 0 ? r : 0;
    }
    pthread_mutex_lock(&read_mu);
    r = cached(ctx, ret_tag, ret_present, ret_error, &gen); /* another reader may have just answered */
    if (r != 0) {
        pthread_mutex_unlock(&read_mu);
        return r < 0 ? r : 0;
    }
    uint8_t tag[TPM_ASSET_TAG_SIZE];
    bool present = false;
    _cleanup_free_ char *error = NULL;
    r = tpm_tag_read(ctx->tpm, &ctx->tag_auth, tag, &present, &error);
    if (r == -EACCES)
        refused(ctx, gen, error);
    pthread_mutex_lock(&ctx->tag_mu);
    /* a deploy (or SIGHUP) since we started reading wins over what we read */
    if (r == 0 && ctx->tag_gen == gen) {
        memcpy(ctx->tag, tag, sizeof(tag));
        ctx->tag_present = present;
        ctx->tag_known = true;
    }
    pthread_mutex_unlock(&ctx->tag_mu);
    pthread_mutex_unlock(&read_mu);
    if (r < 0) {
        da_refresh(ctx, true); /* a refusal counted, or the TPM is locked out already: status shows it */
        if (ret_error)
            *ret_error = TAKE_PTR(error);
        return r;
    }
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
    refused_clear(ctx); /* the TPM took the secret */
    pthread_mutex_unlock(&ctx->tag_mu);
}

/* SIGHUP, and deploy-asset-tag after a failed write, come here. A write the TPM refused the secret for is
 * a refusal like a read's: remembered, so the next quote does not spend another try on the same secret. */
void service_asset_tag_forget(struct service_ctx *ctx)
{
    static const char deploy_refused[] =
        "the tag secret in config.yml (tpm.tag-secret-key) does not match the asset tag index 0x01C10110: "
        "the "
        "TPM refused it when deploy-asset-tag wrote the tag, and every refused try counts toward its "
        "dictionary-attack lockout, so tagent will not try it again. Re-run `tagent setup define-tag-index "
        "-f "
        "trustagent.env --force` or restore the config.yml whose secret matches the index, then send tagent "
        "SIGHUP (`systemctl reload tagent`)";
    unsigned refusals = tpm_tag_refusals();
    pthread_mutex_lock(&ctx->tag_mu);
    ctx->tag_known = false;
    ctx->tag_gen++;
    bool write_refused = refusals != ctx->tag_refusals_seen;
    ctx->tag_refusals_seen = refusals;
    bool newly = write_refused && !ctx->tag_refused;
    if (newly) {
        snprintf(ctx->tag_refused_why, sizeof(ctx->tag_refused_why), "%s", deploy_refused);
        ctx->tag_refused = true;
    } else if (!write_refused)
        refused_clear(ctx);
    pthread_mutex_unlock(&ctx->tag_mu);
    if (newly) {
        log_error("asset tag: %s", deploy_refused);
        service_status_tag(deploy_refused);
    }
}
