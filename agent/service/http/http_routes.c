/* SPDX-License-Identifier: BSD-3-Clause */
/* The route table and the checks made before a handler runs (http_routes.h). */
#include "http_routes.h"

#include <string.h>

/* Paths and permission names as the Go agent's router.go has them; /v2/version needs no token. */
static const struct http_route routes[] = {
    {"GET", "/v2/version", NULL, HTTP_BODY_ANY, &handler_version},
    {"GET", "/v2/aik", "aik:retrieve", HTTP_BODY_NONE, &handler_aik},
    {"GET", "/v2/host", "host_info:retrieve", HTTP_BODY_NONE, &handler_host_info},
    {"POST", "/v2/tpm/quote", "quote:create", HTTP_BODY_JSON, &handler_quote},
    {"GET", "/v2/binding-key-certificate", "binding_key:retrieve", HTTP_BODY_NONE,
     &handler_binding_certificate},
    {"POST", "/v2/tag", "deploy_tag:create", HTTP_BODY_JSON, &handler_deploy_asset_tag},
    {"POST", "/v2/host/application-measurement", "application_measurement:create", HTTP_BODY_XML,
     &handler_application_measurement},
    {"POST", "/v2/deploy/manifest", "deploy_manifest:create", HTTP_BODY_XML, &handler_deploy_manifest},
};

int http_route_find(const char *method, const char *path, const struct http_route **ret_route)
{
    const struct http_route *same_path = NULL;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            *ret_route = &routes[i];
            return 0;
        }
        same_path = &routes[i];
    }
    *ret_route = same_path;
    return same_path ? 405 : 404;
}

int http_content_type_check(const struct http_route *route, const char *content_type, const char **ret_reason)
{
    /* the Go agent compares the whole header value: "application/json; charset=utf-8" is refused too */
    switch (route->body) {
    case HTTP_BODY_ANY: return 0;
    case HTTP_BODY_NONE:
        if (!content_type || !*content_type)
            return 0;
        *ret_reason = "Invalid content-type: this request takes no body and no Content-Type header";
        return 400;
    case HTTP_BODY_JSON:
        if (content_type && strcmp(content_type, "application/json") == 0)
            return 0;
        *ret_reason = "Invalid content-type: the body must be JSON, sent as Content-Type: application/json";
        return 400;
    case HTTP_BODY_XML:
        if (content_type && strcmp(content_type, "application/xml") == 0)
            return 0;
        *ret_reason = "Invalid content-type: the body must be XML, sent as Content-Type: application/xml";
        return 400;
    }
    *ret_reason = "Invalid content-type";
    return 400;
}

int http_status_of(int service_error)
{
    switch (service_error) {
    case SERVICE_ERR_REQUEST: return 400;
    case SERVICE_ERR_TIMEOUT: return 503;
    default: return 500;
    }
}
