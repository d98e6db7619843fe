/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP mode's routes (spec 4.1, the Go agent's router.go and controllers): which handler answers which
 * method and path, the permission its token must grant, and the Content-Type its request must carry. Pure
 * functions (fuzzed by tests/fuzz/fuzz_http_request.c); http_server.c runs them in order: route, token,
 * Content-Type, body, handler.
 */
#ifndef TAGENT_HTTP_ROUTES_H
#define TAGENT_HTTP_ROUTES_H

#include <stddef.h>

#include "handler.h"

#define HTTP_BODY_MAX (4u << 20) /* the largest request body read (a Manifest is the largest HVS sends) */

/* What a route's request may carry, as the Go agent's controller checks its Content-Type header. */
enum http_body_rule {
    HTTP_BODY_ANY,  /* not checked (version) */
    HTTP_BODY_NONE, /* no Content-Type header at all (the GETs) */
    HTTP_BODY_JSON, /* exactly "application/json" */
    HTTP_BODY_XML,  /* exactly "application/xml" */
};

struct http_route {
    const char *method, *path;
    const char *permission; /* the TA rule the token must grant; NULL: no token needed */
    enum http_body_rule body;
    const struct service_handler *handler;
};

/* The route of method and path (exact match: the Go agent's router does not clean paths). 0 with *ret_route;
 * 404 when no route has the path, 405 when routes have it but not for method (then *ret_route is one of
 * them, for the Allow header). */
int http_route_find(const char *method, const char *path, const struct http_route **ret_route);

/* 0 when content_type (the header's value, NULL when absent) is what the route takes; else 400 with
 * *ret_reason (static text). */
int http_content_type_check(const struct http_route *route, const char *content_type,
                            const char **ret_reason);

/* The HTTP status of a handler failure (SERVICE_ERR_*): a bad request 400, a deadline or a stop 503, the
 * rest 500 (the Go agent's for every failure past the request's decoding). */
int http_status_of(int service_error);

#endif
