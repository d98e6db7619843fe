/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What Go's encoding/json.Unmarshal(data, &v) returns for a v of a given Go type: nil or the error, with Go's
 * wording. The mock HVS decodes the agent's replies through this, so that a reply HVS's own client would
 * fail on fails here too (and one it accepts is accepted), instead of cJSON's more lenient reading.
 *
 * Go's rules kept here (encoding/json, Go 1.18-1.21):
 *   - the whole input is checked for valid JSON first (RFC 8259: no leading '+', leading zeros, bare '.',
 *     control characters in strings, trailing commas or text after the value); syntax errors win;
 *   - null into anything is a no-op; unknown object keys are ignored; keys match fields case-insensitively;
 *   - a value whose JSON type does not fit the Go type is an error ("cannot unmarshal string into Go value
 *     of type ta.TpmQuoteResponse"); a number into an int must be an integer literal in range;
 *   - []byte takes a standard-base64 string; ",string" fields take a string holding the literal.
 */
#ifndef TAGENT_GO_UNMARSHAL_H
#define TAGENT_GO_UNMARSHAL_H

#include <stdbool.h>
#include <stddef.h>

enum go_kind {
    GO_STRING,
    GO_BOOL,
    GO_INT,   /* int and int64 (64 bits on amd64) */
    GO_BYTES, /* []byte */
    GO_STRUCT,
    GO_SLICE,
    GO_PTR, /* pointer to elem: null leaves it nil */
    GO_ANY, /* interface{} */
};

struct go_type;

struct go_field {
    const char *json_name; /* the key (json tag, or the Go field name when untagged) */
    const struct go_type *type;
    bool quoted; /* the ",string" option */
};

struct go_type {
    enum go_kind kind;
    const char *name; /* as Go's reflect.Type.String() prints it: "int", "[]string", "ta.HostInfo" */
    const struct go_field *fields;
    size_t n_fields;
    const struct go_type *elem; /* GO_SLICE, GO_PTR */
};

/* HVS v5.1's reply types (pkg/model/ta): the targets of quote-request, host-info-request and
 * application-measurement-request. */
extern const struct go_type go_type_tpm_quote_response, go_type_host_info, go_type_measurement;

/* 0 when Unmarshal returns nil; -EINVAL with Go's error text in err otherwise. */
int go_unmarshal(const char *data, size_t len, const struct go_type *type, char *err, size_t err_size);

/* Go's encoding/base64.StdEncoding.DecodeString accepts s (padding required, no whitespace but CR/LF,
 * which Go skips). On failure err says "illegal base64 data at input byte N". */
bool go_base64_std_valid(const char *s, size_t len, char *err, size_t err_size);

#endif
