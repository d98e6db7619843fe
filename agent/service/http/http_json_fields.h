/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP mode's JSON bodies are decoded as the Go agent's controllers decode them: json.NewDecoder with
 * DisallowUnknownFields, so a key the Go struct does not have is a 400 ("Error marshaling json data"),
 * where NATS mode's json.Unmarshal ignores it. The handlers share one decoder with NATS mode (it ignores
 * unknown keys); this check runs before them in HTTP mode.
 */
#ifndef TAGENT_HTTP_JSON_FIELDS_H
#define TAGENT_HTTP_JSON_FIELDS_H

#include <stddef.h>

#include "http_routes.h"

/* 0 when body is not a JSON object (the handler's decoder says what is wrong) or every key of it names a
 * field of the route's Go struct (case-insensitively, as encoding/json matches them); 400 with *ret_reason
 * (caller frees) naming the first unknown key; -ENOMEM. Routes without a JSON body always pass. */
int http_json_fields_check(const struct http_route *route, const char *body, size_t len, char **ret_reason);

#endif
