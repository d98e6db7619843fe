/* SPDX-License-Identifier: BSD-3-Clause */
/* HVS's trust-agent NATS client and what its connector concludes (see hvs_ta_client.h). */
#include "hvs_ta_client.h"

#include "go_unmarshal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* What HVS decodes each subject's reply into (nats_client.go). */
enum target { TARGET_MSG, TARGET_BYTES, TARGET_STRUCT, TARGET_STRING };

static const struct subject {
    const char *suffix;
    enum target target;
    const struct go_type *type;
} subjects[] = {
    {"quote-request", TARGET_STRUCT, &go_type_tpm_quote_response},
    {"host-info-request", TARGET_STRUCT, &go_type_host_info},
    {"application-measurement-request", TARGET_STRUCT, &go_type_measurement},
    {"aik-request", TARGET_BYTES, NULL},
    {"get-binding-certificate", TARGET_BYTES, NULL},
    {"deploy-asset-tag", TARGET_MSG, NULL},
    {"deploy-manifest", TARGET_MSG, NULL},
    /* HVS never asks for the version; a *string target (nats.go strips the quotes) never fails either */
    {"version-request", TARGET_STRING, NULL},
};

static const struct subject unknown_subject = {"?", TARGET_MSG, NULL};

static const struct subject *subject_find(const char *suffix)
{
    for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++)
        if (strcmp(subjects[i].suffix, suffix) == 0)
            return &subjects[i];
    return &unknown_subject;
}

const char *hvs_outcome_name(enum hvs_outcome o)
{
    return o == HVS_OK ? "ok" : o == HVS_ERROR ? "error" : "panic";
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conclude(struct hvs_ta_result *r, enum hvs_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conclude(struct hvs_ta_result *r, enum hvs_outcome o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->outcome = o;
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
}

/* GetTPMQuoteResponse after the decode: the verification nonce, then the AIK through base64 and PEM. */
static void judge_quote(const char *body, size_t len, struct hvs_ta_result *r)
{
    char why[160];
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *aik = NULL, *tag = NULL, *tagged = NULL, *it;
    cJSON_ArrayForEach(it, j) /* encoding/json matched the fields case-insensitively; so does this */
    {
        if (strcasecmp(it->string, "Aik") == 0)
            aik = it;
        else if (strcasecmp(it->string, "AssetTag") == 0)
            tag = it;
        else if (strcasecmp(it->string, "IsTagProvisioned") == 0)
            tagged = it;
    }
    const char *tag_text = cJSON_GetStringValue(tag), *aik_text = cJSON_GetStringValue(aik);
    tag_text = tag_text ? tag_text : ""; /* absent or null: Go's zero value */
    aik_text = aik_text ? aik_text : "";
    if (cJSON_IsTrue(tagged) && !tag_text[0])
        conclude(r, HVS_ERROR, "The quote is 'tag provisioned', but the tag was not provided");
    else if (cJSON_IsTrue(tagged) && !go_base64_std_valid(tag_text, strlen(tag_text), why, sizeof(why)))
        conclude(r, HVS_ERROR, "%s", why);
    else if (!go_base64_std_valid(aik_text, strlen(aik_text), why, sizeof(why)))
        conclude(r, HVS_ERROR, "Error decodingAIK certificate to bytes: %s", why);
    else {
        /* pem.Decode: nil when no PEM block is found, and HVS reads block.Bytes without a check */
        size_t n = strlen(aik_text);
        unsigned char *der = malloc(n / 4 * 3 + 3);
        int der_len = der ? EVP_DecodeBlock(der, (const unsigned char *)aik_text, (int)n) : -1;
        BIO *bio = der_len >= 0 ? BIO_new_mem_buf(der, der_len) : NULL;
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long data_len = 0;
        if (!bio || PEM_read_bio(bio, &name, &header, &data, &data_len) != 1)
            conclude(r, HVS_PANIC,
                     "runtime error: invalid memory address or nil pointer dereference (pem.Decode found no "
                     "PEM block in the Aik)");
        ERR_clear_error();
        BIO_free(bio);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        free(der);
    }
    cJSON_Delete(j);
}

void hvs_ta_judge(const char *suffix, const char *body, size_t len, const char *status,
                  struct hvs_ta_result *r)
{
    const struct subject *s = subject_find(suffix);
    char why[400];
    r->outcome = HVS_OK;
    r->error[0] = '\0';
    r->replied = body != NULL;
    if (!body) {
        conclude(r, HVS_ERROR, "nats: timeout");
        return;
    }
    if (len == 0 && status && strcmp(status, "503") == 0) {
        conclude(r, HVS_ERROR, "nats: no responders available for request");
        return;
    }
    switch (s->target) {
    case TARGET_MSG:
    case TARGET_STRING: return;
    case TARGET_BYTES:
        /* GetAIK's caller: "Empty AIK received"; an empty binding key is "no key" (a warning) */
        if (strcmp(suffix, "aik-request") == 0 && len == 0)
            conclude(r, HVS_ERROR, "Empty AIK received");
        return;
    case TARGET_STRUCT:
        if (go_unmarshal(body, len, s->type, why, sizeof(why)) < 0) {
            conclude(r, HVS_ERROR, "%s", why);
            return;
        }
        if (strcmp(suffix, "quote-request") == 0)
            judge_quote(body, len, r);
        return;
    }
}

/* The value of the header whose key is exactly key (nats.go v1.28's Header.Get), or NULL. */
static const char *header_exact(natsMsg *msg, const char *key)
{
    const char **keys = NULL, **values = NULL;
    int n = 0, nv = 0;
    const char *out = NULL;
    if (natsMsgHeader_Keys(msg, &keys, &n) != NATS_OK)
        return NULL;
    for (int i = 0; i < n && !out; i++)
        if (strcmp(keys[i], key) == 0 && natsMsgHeader_Values(msg, keys[i], &values, &nv) == NATS_OK) {
            out = nv > 0 ? values[0] : NULL;
            free((void *)values);
        }
    free((void *)keys);
    return out;
}

/* The reply's landing place. An asynchronous subscription, because cnats' synchronous NextMsg swallows a
 * "Status: 503" reply (it returns NATS_NO_RESPONDERS without the message and its headers). Two references:
 * the waiter's, and the subscription's, dropped when cnats says no callback will run any more. */
struct hvs_ta_box {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    natsMsg *msg;
    int refs;
};

static void box_unref(struct hvs_ta_box *box)
{
    pthread_mutex_lock(&box->mu);
    bool last = --box->refs == 0;
    pthread_mutex_unlock(&box->mu);
    if (last) {
        natsMsg_Destroy(box->msg);
        pthread_cond_destroy(&box->cv);
        pthread_mutex_destroy(&box->mu);
        free(box);
    }
}

static void on_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    struct hvs_ta_box *box = closure;
    pthread_mutex_lock(&box->mu);
    if (!box->msg) { /* the first reply is the one nats.go's Request returns */
        box->msg = msg;
        msg = NULL;
    }
    pthread_cond_signal(&box->cv);
    pthread_mutex_unlock(&box->mu);
    natsMsg_Destroy(msg);
}

static void on_complete(void *closure)
{
    box_unref(closure);
}

static struct hvs_ta_box *box_new(void)
{
    struct hvs_ta_box *box = calloc(1, sizeof(*box));
    pthread_condattr_t attr;
    if (!box)
        return NULL;
    pthread_mutex_init(&box->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&box->cv, &attr);
    pthread_condattr_destroy(&attr);
    box->refs = 1;
    return box;
}

int hvs_ta_send(natsConnection *nc, const char *host_id, const char *suffix, const void *payload, size_t len,
                struct hvs_ta_pending *ret)
{
    char subject[512];
    natsInbox *inbox = NULL;
    *ret = (struct hvs_ta_pending){0};
    snprintf(subject, sizeof(subject), "trust-agent.%s.%s", host_id, suffix);
    snprintf(ret->suffix, sizeof(ret->suffix), "%s", suffix);
    if (!(ret->box = box_new()))
        return -ENOMEM;
    natsStatus s = natsInbox_Create(&inbox);
    if (s == NATS_OK)
        s = natsConnection_Subscribe(&ret->sub, nc, inbox, on_reply, ret->box);
    if (s == NATS_OK) {
        ret->box->refs++; /* the subscription's, until on_complete */
        s = natsSubscription_SetOnCompleteCB(ret->sub, on_complete, ret->box);
        if (s != NATS_OK)
            ret->box->refs--;
    }
    if (s == NATS_OK)
        s = natsSubscription_AutoUnsubscribe(ret->sub, 1);
    ret->start_ms = now_ms();
    if (s == NATS_OK)
        s = natsConnection_PublishRequest(nc, subject, inbox, payload, (int)len);
    natsInbox_Destroy(inbox);
    if (s != NATS_OK) {
        natsSubscription_Unsubscribe(ret->sub);
        natsSubscription_Destroy(ret->sub);
        box_unref(ret->box);
        *ret = (struct hvs_ta_pending){0};
        return -EIO;
    }
    return 0;
}

/* The reply, or NULL after timeout_ms from the send. */
static natsMsg *box_take(struct hvs_ta_box *box, int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000};
    pthread_mutex_lock(&box->mu);
    while (!box->msg && pthread_cond_timedwait(&box->cv, &box->mu, &ts) == 0)
        ;
    natsMsg *msg = box->msg;
    box->msg = NULL;
    pthread_mutex_unlock(&box->mu);
    return msg;
}

void hvs_ta_wait(struct hvs_ta_pending *p, int timeout_ms, struct hvs_ta_result *ret)
{
    *ret = (struct hvs_ta_result){0};
    natsMsg *msg = box_take(p->box, p->start_ms + timeout_ms);
    ret->ms = now_ms() - p->start_ms;
    if (msg) {
        const char *data = natsMsg_GetData(msg);
        ret->body_len = (size_t)natsMsg_GetDataLength(msg);
        ret->body = malloc(ret->body_len + 1);
        if (ret->body) {
            memcpy(ret->body, data ? data : "", ret->body_len);
            ret->body[ret->body_len] = '\0';
        }
        const char *code = header_exact(msg, "Tagent-Error-Code"), *text = header_exact(msg, "Tagent-Error");
        ret->tagent_code = code ? atoi(code) : 0;
        ret->tagent_error = text ? strdup(text) : NULL;
        hvs_ta_judge(p->suffix, ret->body ? ret->body : "", ret->body_len, header_exact(msg, "Status"), ret);
    } else
        hvs_ta_judge(p->suffix, NULL, 0, NULL, ret);
    natsMsg_Destroy(msg);
    natsSubscription_Unsubscribe(p->sub); /* no-op when the one reply already ended it */
    natsSubscription_Destroy(p->sub);
    box_unref(p->box);
    *p = (struct hvs_ta_pending){0};
}

int hvs_ta_request(natsConnection *nc, const char *host_id, const char *suffix, const void *payload,
                   size_t len, int timeout_ms, struct hvs_ta_result *ret)
{
    struct hvs_ta_pending p;
    *ret = (struct hvs_ta_result){0};
    int r = hvs_ta_send(nc, host_id, suffix, payload, len, &p);
    if (r == 0)
        hvs_ta_wait(&p, timeout_ms, ret);
    return r;
}

void hvs_ta_result_free(struct hvs_ta_result *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->tagent_error);
    free(r->json);
    *r = (struct hvs_ta_result){0};
}
