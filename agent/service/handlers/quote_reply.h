/* SPDX-License-Identifier: BSD-3-Clause */
/* One quote's reply, as both renderings read it: the NATS JSON (handler_quote.c) and the HTTP XML
 * (quote_xml.c). Borrowed pointers; NULL strings render as empty. */
#ifndef TAGENT_QUOTE_REPLY_H
#define TAGENT_QUOTE_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct quote_reply {
    int64_t timestamp; /* Unix seconds */
    const char *aik, *quote, *event_log, *ima_logs;
    char **tcb; /* NULL-terminated or NULL */
    const uint16_t *banks;
    size_t n_banks;
    bool tag_present;
    const char *asset_tag; /* NULL or "" when no tag is provisioned */
};

/* The TpmQuoteResponse as the Go agent's xml.MarshalIndent(resp, "  ", "    ") writes it (spec 5): every
 * line starts with two spaces, nesting adds four, text escaped as Go escapes it, assetTag left out when
 * empty, no trailing newline. 0 or -ENOMEM. Caller frees *ret_xml. */
int quote_reply_xml(const struct quote_reply *q, char **ret_xml, size_t *ret_len);

#endif
