/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * create-host and create-host-unique-flavor (spec 3.5, optional tasks): register this host with HVS under its
 * name (outbound: the NATS host id; http: CURRENT_IP) and connection string, and ask HVS to make its
 * HOST_UNIQUE flavor.
 */
#include "control_plane.h"
#include "host_ip.h"
#include "tasks.h"

#include "cleanup.h"
#include "cleanup_cjson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* http mode: CURRENT_IP as Go's net.IP.String() writes it (the host's name at HVS) into ip, and the
 * connection string. An IPv6 address goes into the URL in brackets: Go writes it bare ("https://::1:1443"),
 * which HVS's url.Parse takes but cannot dial. */
static int http_identity(struct provision_ctx *ctx, char ip[static 64], char **ret_connection)
{
    const struct tagent_config *cfg = ctx->cfg;
    bool v6 = false;
    int r = cp_require(ctx, cfg->current_ip, "CURRENT_IP", "this host's IP address, as HVS reaches it");
    if (r == 0 && host_ip_go_string(cfg->current_ip, ip, 64, &v6) < 0)
        r = cp_error(ctx, -EINVAL, "CURRENT_IP is not an IPv4 or IPv6 address");
    if (r == 0 && asprintf(ret_connection, v6 ? "intel:https://[%s]:%d" : "intel:https://%s:%d", ip,
                           cfg->server.port) < 0)
        r = -ENOMEM;
    return r;
}

/* The name HVS knows this host by (into name) and its connection string; HVS_URL and BEARER_TOKEN checked
 * too. */
static int host_identity(struct provision_ctx *ctx, char name[static 256], char **ret_connection)
{
    const struct tagent_config *cfg = ctx->cfg;
    _cleanup_free_ char *connection = NULL;
    int r;
    if (cfg->mode == CONFIG_MODE_OUTBOUND) {
        r = cp_require(ctx, cfg->nats_host_id, "TA_HOST_ID", "the host's id");
        if (r == 0 && strlen(cfg->nats_host_id) >= 256)
            r = cp_error(ctx, -EINVAL, "TA_HOST_ID is longer than 255 characters");
        if (r == 0) {
            snprintf(name, 256, "%s", cfg->nats_host_id);
            if (asprintf(&connection, "intel:nats://%s", name) < 0)
                r = -ENOMEM;
        }
    } else
        r = http_identity(ctx, name, &connection);
    if (r == 0)
        r = cp_require_service(ctx, cfg->hvs_url, "HVS_URL", "HVS");
    if (r == 0)
        *ret_connection = TAKE_PTR(connection);
    return r;
}

/* GET hosts?nameEqualTo=<name>: the number of hosts HVS has under that name, or a negative errno. */
static int hosts_named(struct provision_ctx *ctx, const char *name)
{
    static const char *const headers[] = {"Accept: application/json", NULL};
    _cleanup_free_ char *escaped = NULL, *path = NULL, *why = NULL;
    _cleanup_(https_response_free) struct https_response resp = {0};
    int r = https_url_escape(name, &escaped, &why);
    if (r < 0)
        cp_error(ctx, r, "%s", why ? why : "out of memory");
    else if (asprintf(&path, "hosts?nameEqualTo=%s", escaped) < 0) {
        path = NULL;
        r = -ENOMEM;
    }
    if (r == 0)
        r = cp_request(ctx, "GET", ctx->cfg->hvs_url, path, headers, NULL, 200, &resp);
    _cleanup_(cJSON_Deletep) cJSON *root =
        r == 0 ? cJSON_ParseWithLength((const char *)resp.body, resp.body_len) : NULL;
    const cJSON *hosts = cJSON_GetObjectItemCaseSensitive(root, "hosts");
    if (r == 0)
        r = cJSON_IsArray(hosts) ? cJSON_GetArraySize(hosts)
                                 : cp_error(ctx, -EBADMSG, "GET %s: the answer has no \"hosts\" list", path);
    return r;
}

static int validate_host(struct provision_ctx *ctx)
{
    _cleanup_free_ char *connection = NULL;
    char name[256];
    int r = host_identity(ctx, name, &connection);
    if (r == 0)
        r = hosts_named(ctx, name) > 0 ? 0 : -ENOENT;
    return r;
}

/* {"host_name": name, "connection_string": connection}, or NULL when out of memory. */
static char *host_json(const char *name, const char *connection)
{
    _cleanup_(cJSON_Deletep) cJSON *obj = cJSON_CreateObject();
    if (!obj || !cJSON_AddStringToObject(obj, "host_name", name) ||
        !cJSON_AddStringToObject(obj, "connection_string", connection))
        return NULL;
    return cJSON_PrintUnformatted(obj);
}

static int run_host(struct provision_ctx *ctx)
{
    static const char *const headers[] = {"Accept: application/json", "Content-Type: application/json", NULL};
    _cleanup_(https_response_free) struct https_response resp = {0};
    _cleanup_free_ char *connection = NULL, *body = NULL;
    char name[256];
    int r = host_identity(ctx, name, &connection);
    int n = r == 0 ? hosts_named(ctx, name) : r;
    if (n > 0)
        r = cp_error(ctx, -EEXIST, "HVS already has a host named \"%s\"", name);
    else if (n < 0)
        r = n;
    if (r == 0 && !(body = host_json(name, connection)))
        r = -ENOMEM;
    if (r == 0)
        r = cp_request(ctx, "POST", ctx->cfg->hvs_url, "hosts", headers, body, 201, &resp);
    return r;
}

/* HVS cannot be asked whether the flavor exists: the task always runs (POST is idempotent on HVS's side). */
static int validate_flavor(struct provision_ctx *ctx)
{
    return -ENOENT;
}

static int run_flavor(struct provision_ctx *ctx)
{
    static const char *const headers[] = {"Accept: application/json", "Content-Type: application/json", NULL};
    _cleanup_(https_response_free) struct https_response resp = {0};
    _cleanup_free_ char *connection = NULL;
    char name[256];
    int r = host_identity(ctx, name, &connection);
    if (r == 0)
        r = cp_post(ctx, ctx->cfg->hvs_url, "flavors", headers, 201, &resp,
                    "{\"connection_string\":\"%s\",\"partial_flavor_types\":[\"HOST_UNIQUE\"],"
                    "\"flavor_collection\":{\"flavors\":null},"
                    "\"signed_flavor_collection\":{\"signed_flavors\":null}}",
                    connection);
    return r;
}

const struct provision_task task_create_host = {
    .name = "create-host",
    .summary = "register this host with HVS (optional)",
    .remedy =
        "check HVS_URL, BEARER_TOKEN and TA_HOST_ID (outbound) or CURRENT_IP (http), then run the task again",
    .optional = true,
    .validate = validate_host,
    .run = run_host,
};

const struct provision_task task_create_host_unique_flavor = {
    .name = "create-host-unique-flavor",
    .summary = "ask HVS to create this host's HOST_UNIQUE flavor (optional)",
    .remedy = "check HVS_URL and BEARER_TOKEN, and that create-host ran, then run the task again",
    .optional = true,
    .validate = validate_flavor,
    .run = run_flavor,
};
