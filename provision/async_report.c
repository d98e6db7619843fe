/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The start-up report request (spec 3.7): once the service runs, the Go agent asks HVS to attest this host at
 * once instead of at HVS's next scheduled pass. HVS finds the host by its hardware UUID; a host HVS does not
 * know yet is not an error (it is registered later, by an admin or `tagent setup create-host`).
 */
#include "control_plane.h"

#include "cleanup.h"
#include "cleanup_cjson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int report_fail(char **ret_message, int r, const char *what, const char *detail)
{
    char *text = NULL;
    if (asprintf(&text, "%s%s%s", what, detail ? ": " : "", detail ? detail : "") < 0)
        text = NULL;
    *ret_message = text;
    return r;
}

/* expect: the status accepted (0: any 2xx). HTTP failures: 401/403 stop for good (-EACCES: the API token is
 * refused), 5xx and network errors retry later (-EAGAIN), anything else is -EPROTO. */
static int report_request(const char *root, const struct tagent_config *cfg, const char *method,
                          const char *path, const char *body, long expect, struct https_response *ret,
                          char **ret_message)
{
    static const char *const headers[] = {"Accept: application/json", "Content-Type: application/json", NULL};
    _cleanup_free_ char *url = NULL, *error = NULL;
    int r = cp_https(root, cfg->api_token, method, cfg->hvs_url, path, headers, body, 2, ret, &url, &error);
    if (r < 0)
        return report_fail(ret_message, r == -ENOMEM ? r : -EAGAIN, error ? error : "request failed", NULL);
    if (expect ? ret->status != expect : ret->status / 100 != 2) {
        _cleanup_free_ char *why = https_status_error(method, url, ret);
        bool refused = ret->status == 401 || ret->status == 403;
        r = report_fail(ret_message,
                        refused              ? -EACCES
                        : ret->status >= 500 ? -EAGAIN
                                             : -EPROTO,
                        why ? why : "unexpected HTTP status",
                        refused ? "the API token was refused (run `tagent setup download-api-token`)" : NULL);
        https_response_free(ret);
    }
    return r;
}

/* Whether HVS lists a host with this hardware UUID. */
static int host_registered(const char *root, const struct tagent_config *cfg, const char *uuid,
                           bool *ret_found, char **ret_message)
{
    _cleanup_(https_response_free) struct https_response resp = {0};
    char path[96];
    snprintf(path, sizeof(path), "hosts?hostHardwareId=%s", uuid);
    int r = report_request(root, cfg, "GET", path, NULL, 200, &resp, ret_message);
    if (r < 0)
        return r;
    _cleanup_(cJSON_Deletep) cJSON *j = cJSON_ParseWithLength((const char *)resp.body, resp.body_len);
    const cJSON *hosts = cJSON_GetObjectItemCaseSensitive(j, "hosts");
    if (!cJSON_IsArray(hosts))
        return report_fail(ret_message, -EPROTO, "GET hosts: HVS answered without a \"hosts\" list", NULL);
    *ret_found = cJSON_GetArraySize(hosts) > 0;
    return 0;
}

int provision_async_report(const char *root, const struct tagent_config *cfg, char **ret_message)
{
    _cleanup_(https_response_free) struct https_response resp = {0};
    _cleanup_free_ char *error = NULL, *body = NULL;
    char uuid[37];
    bool found = false;
    *ret_message = NULL;
    if (!cfg->hvs_url || !*cfg->hvs_url)
        return report_fail(ret_message, -EINVAL, "no HVS URL in config.yml (HVS_URL)", NULL);
    if (!cfg->api_token || !*cfg->api_token)
        return report_fail(ret_message, -EACCES, "no API token in config.yml",
                           "run `tagent setup download-api-token`");
    int r = provision_hardware_uuid(root, uuid, &error);
    if (r < 0)
        return report_fail(ret_message, r, "the hardware UUID", error);
    if ((r = host_registered(root, cfg, uuid, &found, ret_message)) < 0)
        return r;
    if (!found)
        return report_fail(ret_message, 0, "HVS has no host with this hardware UUID yet; no report requested",
                           uuid);
    /* the Go agent's body: the nil host id, the UUID, no name */
    if (asprintf(&body,
                 "{\"host_id\":\"00000000-0000-0000-0000-000000000000\",\"hardware_uuid\":\"%s\","
                 "\"host_name\":\"\"}",
                 uuid) < 0)
        return -ENOMEM;
    /* HVS answers 202 Accepted to an async report request; take any 2xx as the request accepted */
    r = report_request(root, cfg, "POST", "reports?process=async", body, 0, &resp, ret_message);
    if (r == 0)
        r = report_fail(ret_message, 0, "HVS accepted the report request for host", uuid);
    return r;
}
