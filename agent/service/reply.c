/* SPDX-License-Identifier: BSD-3-Clause */
/* Sending replies: each request gets exactly one, and every failure to send is logged (reply.h). */
#include "cleanup.h"
#include "go_json.h"
#include "log.h"
#include "reply.h"
#include "service_error.h"

#include <errno.h>
#include <string.h>

static const char *label(const struct reply_to *to)
{
    return to->suffix ? to->suffix : to->handler ? to->handler->suffix : "?";
}

static int send_reply(const struct reply_to *to, const struct service_reply *reply, char **ret_error)
{
    return nats_link_publish(to->link, to->inbox, reply->body, reply->len, reply->headers, reply->n_headers,
                             ret_error);
}

/* Sends reply (consumed); one over the server's max payload is replaced by the too-large error. */
static void publish(const struct reply_to *to, struct service_reply *reply)
{
    _cleanup_free_ char *error = NULL;
    if (!to->inbox) {
        log_warning("NATS: %s request without a reply subject: nothing sent", label(to));
        service_reply_done(reply);
        return;
    }
    int r = send_reply(to, reply, &error);
    if (r == -EMSGSIZE) {
        log_error("NATS: %s: %s", label(to), error);
        service_reply_done(reply);
        r = service_error_reply(to->handler, to->suffix, SERVICE_ERR_TOO_LARGE, error, reply);
        free(TAKE_PTR(error));
        if (r == 0)
            r = send_reply(to, reply, &error);
    }
    if (r < 0)
        log_error("NATS: %s: reply not sent: %s", label(to), error ? error : strerror(-r));
    service_reply_done(reply);
}

void reply_error(const struct reply_to *to, int code, const char *message)
{
    struct service_reply reply;
    if (service_error_reply(to->handler, to->suffix, code, message, &reply) < 0) {
        log_error("NATS: %s: out of memory for the error reply (%s)", label(to), message);
        return;
    }
    publish(to, &reply);
}

void reply_json(const struct reply_to *to, char *json)
{
    if (!json) {
        reply_error(to, SERVICE_ERR_FAILED, "out of memory");
        return;
    }
    char *go = go_json_html_escape(json);
    if (go) {
        free(json);
        json = go;
    } /* else out of memory: the text as it is, still valid JSON */
    struct service_reply reply = {.body = json, .len = strlen(json)};
    publish(to, &reply);
}
