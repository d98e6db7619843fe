/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What Go's encoding/xml.Unmarshal(data, &resp) does for HVS's ta.TpmQuoteResponse (pkg/model/ta
 * tpm_quote_response.go): the TpmQuoteResponse HVS's HTTP trust-agent client gets from POST /v2/tpm/quote, or
 * the error, with Go's wording. The mock HVS decodes the agent's XML through this, so that XML HVS would
 * fail on fails here too, and XML it takes is taken.
 *
 * Go's rules kept here (encoding/xml, Decoder.Strict, Go 1.18-1.21):
 *   - the tokenizer's syntax errors ("XML syntax error on line N: ..."): unknown entities, unquoted or
 *     missing attribute values, "]]>" in text, "--" in comments, characters outside XML's Char range,
 *     invalid UTF-8, an end tag that does not match its start, EOF inside the root; <?xml?> with a version
 *     other than 1.0 or an encoding other than UTF-8 (no CharsetReader) is an error;
 *   - tokens before the root other than an element are skipped; nothing after the root is read;
 *   - the root must be <tpm_quote_response> (any namespace), else "expected element type ... but have ...";
 *   - children are matched to fields by local name, case-sensitively, in any order; unknown elements are
 *     skipped with everything inside them; a repeated scalar element overwrites, a repeated list appends;
 *   - a scalar's value is the character data directly inside it (text in nested elements is dropped);
 *     int fields: strconv.ParseInt(TrimSpace(text)) (empty text is 0), bool: strconv.ParseBool likewise;
 *     strings are kept as they are (no trimming); \r\n and \r become \n.
 * Simplification: namespaces are compared by prefix, not by the URL an xmlns attribute binds it to.
 */
#ifndef TAGENT_GO_XML_H
#define TAGENT_GO_XML_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* 0 with *ret the decoded struct in the NATS JSON form (Go's json.Marshal of it: every field, Go field
 * names: {"XMLName":..,"TimeStamp":..,"ErrorCode":..,...,"AssetTag":..}; the caller deletes it), or -EINVAL
 * with Go's error text in err (-ENOMEM when out of memory). */
int go_xml_quote_response(const char *data, size_t len, cJSON **ret, char *err, size_t err_size);

#endif
