/* SPDX-License-Identifier: BSD-3-Clause */
/* The HTTP mode's TpmQuoteResponse XML (quote_reply.h): the layout of Go's indenting XML printer. */
#include "cleanup.h"
#include "measurement_xml.h"
#include "quote.h"
#include "quote_reply.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define PREFIX "  "
#define INDENT "    "

/* A leaf element on its own line at depth: <name>text</name>. */
static void put_leaf(FILE *f, int depth, const char *name, const char *text)
{
    fputs("\n" PREFIX, f);
    for (int i = 0; i < depth; i++)
        fputs(INDENT, f);
    fprintf(f, "<%s>", name);
    go_xml_escape(f, text ? text : "");
    fprintf(f, "</%s>", name);
}

/* <name> holding one <name> per item (the Go struct's wrapper), or <name></name> on one line when empty. */
static void put_list(FILE *f, const char *name, const char *const *items, size_t n)
{
    fprintf(f, "\n" PREFIX INDENT "<%s>", name);
    for (size_t i = 0; i < n; i++)
        put_leaf(f, 2, name, items[i]);
    fprintf(f, "%s</%s>", n ? "\n" PREFIX INDENT : "", name);
}

int quote_reply_xml(const struct quote_reply *q, char **ret_xml, size_t *ret_len)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0, n_tcb = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -ENOMEM;
    char number[24];
    fputs(PREFIX "<tpm_quote_response>", f);
    snprintf(number, sizeof(number), "%" PRId64, q->timestamp);
    put_leaf(f, 1, "timestamp", number);
    put_leaf(f, 1, "errorCode", "0");
    put_leaf(f, 1, "errorMessage", "OK");
    put_leaf(f, 1, "aik", q->aik);
    put_leaf(f, 1, "quote", q->quote);
    put_leaf(f, 1, "eventLog", q->event_log);
    put_leaf(f, 1, "imaLogs", q->ima_logs);
    while (q->tcb && q->tcb[n_tcb])
        n_tcb++;
    put_list(f, "tcbMeasurements", (const char *const *)q->tcb, n_tcb);
    const char *banks[8];
    size_t n_banks = 0;
    for (size_t i = 0; i < q->n_banks && n_banks < sizeof(banks) / sizeof(banks[0]); i++)
        banks[n_banks++] = tpm_bank_name(q->banks[i]);
    put_list(f, "selectedPcrBanks", banks, n_banks);
    put_leaf(f, 1, "isTagProvisioned", q->tag_present ? "true" : "false");
    if (q->asset_tag && *q->asset_tag)
        put_leaf(f, 1, "assetTag", q->asset_tag);
    fputs("\n" PREFIX "</tpm_quote_response>", f);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed)
        return -ENOMEM;
    *ret_xml = TAKE_PTR(buf);
    *ret_len = len;
    return 0;
}
