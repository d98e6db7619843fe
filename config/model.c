/* SPDX-License-Identifier: BSD-3-Clause */
/* The configuration object: defaults, cross-field rules, comparison, release. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECOND 1000000000LL

int config_init_defaults(struct tagent_config *cfg)
{
    /* The Go agent's defaults (pkg/tagent/default.go), so an empty trustagent.env means the same there. */
    *cfg = (struct tagent_config){
        .mode = CONFIG_MODE_HTTP,
        .log = {.max_length = 3000, .enable_stdout = true, .level = CONFIG_LOG_INFO},
        .server = {.port = 1443,
                   .read_timeout_ns = 30 * SECOND,
                   .read_header_timeout_ns = 10 * SECOND,
                   .write_timeout_ns = 10 * SECOND,
                   .idle_timeout_ns = 10 * SECOND,
                   .max_header_bytes = 1 << 20},
        .ima_measure_enabled = true,
    };
    char host[HOST_NAME_MAX + 1] = "";
    if (gethostname(host, sizeof(host)) < 0)
        host[0] = '\0';
    host[HOST_NAME_MAX] = '\0';

    cfg->tls_common_name = strdup("Trust Agent TLS Certificate");
    cfg->tls_san_list = strdup("127.0.0.1,localhost");
    cfg->nats_host_id = strdup(host);
    if (!cfg->tls_common_name || !cfg->tls_san_list || !cfg->nats_host_id) {
        config_free(cfg);
        return -ENOMEM;
    }
    return 0;
}

void config_free(struct tagent_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->hvs_url);
    config_secret_free(cfg->tag_secret_key);
    free(cfg->aas_base_url);
    free(cfg->cms_base_url);
    free(cfg->cms_tls_cert_sha384);
    free(cfg->tls_common_name);
    free(cfg->tls_san_list);
    for (size_t i = 0; i < cfg->n_nats_servers; i++)
        free(cfg->nats_servers[i]);
    free(cfg->nats_servers);
    free(cfg->nats_host_id);
    config_secret_free(cfg->api_token);
    config_secret_free(cfg->bearer_token);
    config_secret_free(cfg->owner_secret);
    config_secret_free(cfg->endorsement_secret);
    free(cfg->current_ip);
    free(cfg->flavor_uuids);
    free(cfg->flavor_labels);
    free(cfg->tcti);
    *cfg = (struct tagent_config){0};
}

int config_check(const struct tagent_config *cfg, struct config_diags *d)
{
    size_t before = d->n_errors;
    if (!cfg->aas_base_url)
        config_diag_add(
            d, CONFIG_ERROR, NULL, 0, "AAS_API_URL",
            "not set; set AAS_API_URL to the AAS base URL, e.g. https://aas.example.com:8444/aas/v1");
    if (cfg->mode == CONFIG_MODE_OUTBOUND) {
        if (cfg->n_nats_servers == 0)
            config_diag_add(d, CONFIG_ERROR, NULL, 0, "NATS_SERVERS",
                            "not set, but TA_SERVICE_MODE is outbound; set it to the NATS server URLs, e.g. "
                            "tls://nats.example.com:4222");
        if (!cfg->nats_host_id || !config_hostname_valid(cfg->nats_host_id))
            config_diag_add(d, CONFIG_ERROR, NULL, 0, "TA_HOST_ID",
                            "not set and this machine's host name is not a valid host name; set TA_HOST_ID "
                            "to the name HVS knows this host by");
    }
    return d->n_errors > before ? -EINVAL : 0;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool config_equal(const struct tagent_config *a, const struct tagent_config *b)
{
    if (a->mode != b->mode || a->log.max_length != b->log.max_length ||
        a->log.enable_stdout != b->log.enable_stdout || a->log.level != b->log.level ||
        a->server.port != b->server.port || a->server.read_timeout_ns != b->server.read_timeout_ns ||
        a->server.read_header_timeout_ns != b->server.read_header_timeout_ns ||
        a->server.write_timeout_ns != b->server.write_timeout_ns ||
        a->server.idle_timeout_ns != b->server.idle_timeout_ns ||
        a->server.max_header_bytes != b->server.max_header_bytes ||
        a->ima_measure_enabled != b->ima_measure_enabled || a->n_nats_servers != b->n_nats_servers)
        return false;
    for (size_t i = 0; i < a->n_nats_servers; i++)
        if (!str_eq(a->nats_servers[i], b->nats_servers[i]))
            return false;
    return str_eq(a->hvs_url, b->hvs_url) && str_eq(a->tag_secret_key, b->tag_secret_key) &&
           str_eq(a->aas_base_url, b->aas_base_url) && str_eq(a->cms_base_url, b->cms_base_url) &&
           str_eq(a->cms_tls_cert_sha384, b->cms_tls_cert_sha384) &&
           str_eq(a->tls_common_name, b->tls_common_name) && str_eq(a->tls_san_list, b->tls_san_list) &&
           str_eq(a->nats_host_id, b->nats_host_id) && str_eq(a->api_token, b->api_token);
}
