/* SPDX-License-Identifier: BSD-3-Clause */
/* define-tag-index: the asset tag NV index, protected by a tag secret kept in config.yml (spec section 2). */
#include "tasks.h"

#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* "hex:" + 40 random hex digits, as the Go agent generates it. */
static int new_tag_secret(char **ret)
{
    uint8_t raw[20];
    char text[4 + 2 * sizeof(raw) + 1] = "hex:";
    int r = RAND_bytes(raw, sizeof(raw)) == 1 ? 0 : -EIO;
    for (size_t i = 0; r == 0 && i < sizeof(raw); i++)
        snprintf(text + 4 + 2 * i, 3, "%02x", raw[i]);
    char *s = r == 0 ? strdup(text) : NULL;
    if (r == 0 && !s)
        r = -ENOMEM;
    if (r == 0)
        *ret = s;
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(text, sizeof(text));
    return r;
}

static int validate(struct provision_ctx *ctx)
{
    _cleanup_(tpm_auth_clear) struct tpm_auth tag = {0};
    tpm_t *tpm;
    uint8_t value[TPM_ASSET_TAG_SIZE];
    bool present, exists = false;
    if (!ctx->cfg->tag_secret_key)
        return -ENOENT;
    int r = provision_tpm(ctx, &tpm);
    if (r == 0)
        r = provision_auth(ctx, ctx->cfg->tag_secret_key, "tpm.tag-secret-key", &tag);
    if (r == 0)
        r = tpm_handle_exists(tpm, TPM_NV_ASSET_TAG, &exists, NULL);
    /* Reading with the tag secret proves the index's auth is the one in config.yml. */
    if (r == 0 && exists)
        r = tpm_tag_read(tpm, &tag, value, &present, NULL);
    OPENSSL_cleanse(value, sizeof(value));
    return r < 0 ? r : exists ? 0 : -ENOENT;
}

static int run(struct provision_ctx *ctx)
{
    _cleanup_(tpm_auth_clear) struct tpm_auth owner = {0}, tag = {0};
    tpm_t *tpm;
    _cleanup_free_ char *error = NULL;
    int r = provision_tpm(ctx, &tpm);
    if (r == 0 && !ctx->cfg->tag_secret_key) {
        r = new_tag_secret(&ctx->cfg->tag_secret_key);
        if (r < 0)
            config_diag_add(ctx->diags, CONFIG_ERROR, NULL, 0, NULL, "cannot generate a tag secret: %s",
                            strerror(-r));
        else
            ctx->cfg_changed = true; /* saved with config.yml, even if the TPM step below fails */
    }
    if (r == 0)
        r = provision_auth(ctx, ctx->cfg->owner_secret, "TPM_OWNER_SECRET", &owner);
    if (r == 0)
        r = provision_auth(ctx, ctx->cfg->tag_secret_key, "tpm.tag-secret-key", &tag);
    if (r == 0 && (r = tpm_tag_index_define(tpm, &owner, &tag, &error)) < 0)
        provision_tpm_error(ctx, r, error);
    return r;
}

const struct provision_task task_define_tag_index = {
    .name = "define-tag-index",
    .summary = "define the asset tag NV index 0x01C10110 with a tag secret kept in config.yml",
    .remedy = "check TPM_OWNER_SECRET (the task needs the owner secret) and run the task again",
    .validate = validate,
    .run = run,
};
