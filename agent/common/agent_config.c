/* SPDX-License-Identifier: BSD-3-Clause */
/* config.yml for the commands that need a provisioned host (startService, init, async-report). */
#include "agent_config.h"
#include "config.h"
#include "log.h"
#include "provision.h"

#include <errno.h>
#include <stdlib.h>

int agent_config_load(const char *root, const char *who, struct tagent_config *cfg)
{
    struct config_diags diags = {0};
    bool exists = false;
    int r = provision_config_load(root, cfg, &exists, &diags);
    for (size_t i = 0; i < diags.n; i++) {
        char *text = config_diag_format(&diags.items[i]);
        if (diags.items[i].severity == CONFIG_ERROR)
            log_error("%s: %s", who, text ? text : "config.yml: error");
        else
            log_warning("%s: %s", who, text ? text : "config.yml: warning");
        free(text);
    }
    config_diags_free(&diags);
    if (r == 0 && !exists) {
        log_error("%s: %s does not exist: run `tagent setup all` first", who, TAGENT_CONFIG_FILE);
        r = -ENOENT;
    }
    /* from here on no log line shows them */
    if (r == 0 && cfg->tag_secret_key)
        log_redact_add(cfg->tag_secret_key);
    if (r == 0 && cfg->api_token)
        log_redact_add(cfg->api_token);
    return r;
}
