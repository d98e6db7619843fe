/* SPDX-License-Identifier: BSD-3-Clause */
/* Replies in the bytes Go's encoding/json writes, where cJSON writes the same JSON differently. */
#ifndef TAGENT_GO_JSON_H
#define TAGENT_GO_JSON_H

#include <stddef.h>

/* json (cJSON's output) with Go's HTML-safe escapes: '<' '>' '&' as \u003c \u003e \u0026 and U+2028/U+2029
 * as \u2028 \u2029 (json.Marshal's default; the TcbMeasurements XML and event data carry them). Those
 * bytes only occur inside strings in valid JSON, so the result is the same JSON value. Caller frees; NULL
 * on out of memory. */
char *go_json_html_escape(const char *json);

#endif
