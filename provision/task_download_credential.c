/* SPDX-License-Identifier: BSD-3-Clause */
/* download-credential (spec 3.6, outbound mode): the NATS .creds file from AAS, named by the host id. */
#include "control_plane.h"
#include "nats_creds.h"
#include "tasks.h"

#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The .creds layout: a user JWT and an nkey seed, each between NATS's armour lines. */
static bool creds_ok(const char *text)
{
    return strstr(text, "-----BEGIN NATS USER JWT-----") && strstr(text, "------END NATS USER JWT------") &&
           strstr(text, "-----BEGIN USER NKEY SEED-----") && strstr(text, "------END USER NKEY SEED------");
}

static int validate(struct provision_ctx *ctx)
{
    _cleanup_wipe_free_ char *text = NULL; /* it holds the user's private seed */
    size_t len = 0;
    int r = cp_read(ctx, TAGENT_CREDS_FILE, &text, &len);
    if (r == 0 && !creds_ok(text))
        r = -EBADMSG;
    /* credentials minted for another host id (TA_HOST_ID changed since) would be refused the subscription
     * only once the service runs: here they are "not done", so setup fetches this host's */
    _cleanup_free_ char *subject = NULL;
    if (r == 0 && ctx->cfg->nats_host_id &&
        asprintf(&subject, "trust-agent.%s.>", ctx->cfg->nats_host_id) < 0)
        r = -ENOMEM;
    if (r == 0 && subject) {
        int allows = nats_creds_allows_sub(text, subject);
        if (allows <= 0)
            r = cp_error(ctx, allows < 0 ? allows : -EACCES,
                         "%s does not allow subscribing to %s (minted for another host id?)",
                         TAGENT_CREDS_FILE, subject);
    }
    return r;
}

static int run(struct provision_ctx *ctx)
{
    static const char *const headers[] = {"Content-Type: application/json", "Accept: text/plain", NULL};
    /* https_response_free wipes the body: it holds the user's private seed */
    _cleanup_(https_response_free) struct https_response resp = {0};
    int r = cp_require_service(ctx, ctx->cfg->aas_base_url, "AAS_API_URL", "AAS");
    if (r == 0)
        r = cp_require(ctx, ctx->cfg->nats_host_id, "TA_HOST_ID", "this host's id in NATS subjects");
    if (r == 0)
        r = cp_post(ctx, ctx->cfg->aas_base_url, "credentials", headers, 201, &resp,
                    "{\"type\":\"TA\",\"parameters\":{\"host-id\":\"%s\"}}", ctx->cfg->nats_host_id);
    if (r == 0 && !creds_ok((const char *)resp.body))
        r = cp_error(ctx, -EBADMSG,
                     "POST %scredentials: the answer is not a NATS .creds file; nothing was written",
                     ctx->cfg->aas_base_url);
    if (r == 0)
        r = cp_write(ctx, TAGENT_CREDS_FILE, resp.body, resp.body_len, 0600, 0700);
    return r;
}

const struct provision_task task_download_credential = {
    .name = "download-credential",
    .summary = "get the NATS credentials for this host from AAS (outbound mode)",
    .remedy = "check AAS_API_URL, BEARER_TOKEN and TA_HOST_ID, then run the task again",
    .mode = TASK_MODE_OUTBOUND,
    .validate = validate,
    .run = run,
};
