/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error replies that HVS's own client reads as errors.
 *
 * HVS v5.1 sends each request with nats.go's EncodedConn (JSON encoder, 10 s timeout) and decodes the reply
 * into a typed target (isecl-hvs-protocol.md section 13). A reply is an error on HVS's side only when
 *   - nats.go's Request fails: it does so for a reply with an empty body and the header "Status: 503"
 *     (ErrNoResponders), or
 *   - encoding/json fails to decode the body into the target: a JSON string into a struct does.
 * Targets that never fail to decode (the raw []byte of aik-request and get-binding-certificate, the
 * *nats.Msg of deploy-asset-tag and deploy-manifest, whose body HVS ignores) therefore get the first form;
 * the struct targets (quote, host info, measurement) get the second, whose body tells a person with a plain
 * NATS client what failed. Both carry the code and the message in headers, for tools and for the log of
 * whoever captures the traffic. The Go agent sends no reply at all on a failure and HVS waits out its 10 s
 * timeout; this says the same thing at once.
 */
#include "go_json.h"
#include "service_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *code_name(int code)
{
    switch (code) {
    case SERVICE_ERR_REQUEST: return "bad request";
    case SERVICE_ERR_FAILED: return "failed";
    case SERVICE_ERR_UNSUPPORTED: return "unsupported";
    case SERVICE_ERR_TIMEOUT: return "timeout or busy";
    case SERVICE_ERR_TOO_LARGE: return "reply too large";
    default: return "error";
    }
}

/* "tagent: <suffix>: <kind>: <message>"; one line
 * (control characters become spaces) of at most SERVICE_ERROR_MESSAGE_MAX bytes, cut at a UTF-8 boundary. */
static char *error_text(const char *suffix, int code, const char *message)
{
    char *text = NULL;
    if (asprintf(&text, "tagent: %s: %s: %s", suffix, code_name(code), message) < 0)
        return NULL;
    size_t len = strlen(text);
    if (len > SERVICE_ERROR_MESSAGE_MAX) {
        len = SERVICE_ERROR_MESSAGE_MAX;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
        text[len] = '\0';
    }
    for (char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return text;
}

/* The message as a JSON string, escaped as Go's json.Marshal escapes it. */
static char *json_string_body(const char *text)
{
    char *json = service_json_string(text);
    char *go = json ? go_json_html_escape(json) : NULL;
    free(json);
    return go;
}

int service_error_reply(const struct service_handler *h, const char *suffix, int code, const char *message,
                        struct service_reply *ret)
{
    struct service_reply r = {0};
    enum service_error_form form = h ? h->error_form : SERVICE_ERROR_NO_RESPONDERS;
    r.message = error_text(h ? h->suffix : suffix ? suffix : "?", code, message ? message : "failed");
    if (!r.message)
        goto fail;
    snprintf(r.code_text, sizeof(r.code_text), "%d", code);
    if (form == SERVICE_ERROR_JSON_STRING) {
        if (!(r.body = json_string_body(r.message)))
            goto fail;
    } else {
        if (!(r.body = strdup("")))
            goto fail;
        /* exactly this key and value: nats.go v1.28 looks the header up case-sensitively */
        r.headers[r.n_headers++] = (struct nats_header){"Status", "503"};
    }
    r.len = strlen(r.body);
    *ret = r;
    /* the pointers into r's own storage must point into *ret */
    ret->headers[ret->n_headers++] = (struct nats_header){"Tagent-Error-Code", ret->code_text};
    ret->headers[ret->n_headers++] = (struct nats_header){"Tagent-Error", ret->message};
    return 0;
fail:
    service_reply_done(&r);
    *ret = (struct service_reply){0};
    return -ENOMEM;
}

void service_reply_done(struct service_reply *reply)
{
    if (!reply)
        return;
    free(reply->body);
    free(reply->message);
    *reply = (struct service_reply){0};
}
