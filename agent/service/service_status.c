/* SPDX-License-Identifier: BSD-3-Clause */
/* The running service's state for `tagent status` (see service_status.h). */
#include "clock.h"
#include "log.h"
#include "service_status.h"
#include "version.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define STATUS_MAX_SUBJECTS  16
#define STATUS_TEXT_MAX      300
#define STATUS_LONG_TEXT_MAX 1000 /* a message whose fix must not be cut off */

struct subject_count {
    char name[48];
    uint64_t served, failed;
};

static struct {
    pthread_mutex_t mu;
    bool ready;
    char *host_id;
    time_t started;
    bool connected;
    char *server;
    time_t since;
    unsigned reconnects;
    char *refused;    /* the subscription's refusal, with the fix */
    char *nats_error; /* why the link is not up */
    char *listening;  /* HTTP mode: the listener's address; NULL in outbound mode */
    bool tpm_healthy, tpm_checked_once;
    time_t tpm_checked;
    int64_t tpm_ok_ms;
    char *tpm_error;
    bool da_lockout;
    char *da, *tag_error;
    struct subject_count subjects[STATUS_MAX_SUBJECTS];
    size_t n_subjects;
    time_t last_quote;
    time_t last_error_time;
    char last_error_subject[48];
    char *last_error;
} st = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* A copy of text cut to max bytes, with registered secrets masked. */
static char *status_text_max(const char *text, size_t max)
{
    char *masked = log_redact_string(text ? text : "");
    if (masked && strlen(masked) > max)
        memcpy(masked + max - 3, "...", 4);
    return masked;
}

static char *status_text(const char *text)
{
    return status_text_max(text, STATUS_TEXT_MAX);
}

int service_status_init(const char *host_id)
{
    pthread_mutex_lock(&st.mu);
    free(st.host_id);
    st.host_id = strdup(host_id);
    st.started = time(NULL);
    st.ready = st.host_id != NULL;
    pthread_mutex_unlock(&st.mu);
    return st.ready ? 0 : -ENOMEM;
}

void service_status_free(void)
{
    pthread_mutex_lock(&st.mu);
    free(st.host_id);
    free(st.server);
    free(st.tpm_error);
    free(st.last_error);
    free(st.refused);
    st.refused = NULL;
    free(st.nats_error);
    st.nats_error = NULL;
    free(st.listening);
    st.listening = NULL;
    free(st.da);
    free(st.tag_error);
    st.da = st.tag_error = NULL;
    st.host_id = st.server = st.tpm_error = st.last_error = NULL;
    st.ready = false;
    pthread_mutex_unlock(&st.mu);
}

void service_status_connected(const char *url, bool reconnect)
{
    char *copy = url ? strdup(url) : NULL;
    pthread_mutex_lock(&st.mu);
    free(st.server);
    st.server = copy;
    st.connected = true;
    st.since = time(NULL);
    st.reconnects += reconnect;
    pthread_mutex_unlock(&st.mu);
}

void service_status_disconnected(void)
{
    pthread_mutex_lock(&st.mu);
    st.connected = false;
    st.since = time(NULL);
    pthread_mutex_unlock(&st.mu);
}

bool service_status_is_connected(void)
{
    pthread_mutex_lock(&st.mu);
    bool connected = st.connected;
    pthread_mutex_unlock(&st.mu);
    return connected;
}

/* Replaces one of the record's texts with message (NULL clears it). */
static void text_set(char **slot, const char *message)
{
    char *text = message ? status_text(message) : NULL;
    pthread_mutex_lock(&st.mu);
    free(*slot);
    *slot = text;
    pthread_mutex_unlock(&st.mu);
}

void service_status_listening(const char *address)
{
    char *copy = address ? strdup(address) : NULL;
    pthread_mutex_lock(&st.mu);
    free(st.listening);
    st.listening = copy;
    pthread_mutex_unlock(&st.mu);
}

void service_status_refused(const char *message)
{
    text_set(&st.refused, message);
}

void service_status_nats_error(const char *message)
{
    text_set(&st.nats_error, message);
}

static struct subject_count *subject_slot(const char *subject)
{
    for (size_t i = 0; i < st.n_subjects; i++)
        if (strcmp(st.subjects[i].name, subject) == 0)
            return &st.subjects[i];
    if (st.n_subjects == STATUS_MAX_SUBJECTS)
        return NULL; /* only unknown subjects are refused before they get here: the table is big enough */
    struct subject_count *c = &st.subjects[st.n_subjects++];
    snprintf(c->name, sizeof(c->name), "%s", subject);
    return c;
}

void service_status_request(const char *subject, bool ok, const char *message)
{
    char *text = ok ? NULL : status_text(message);
    pthread_mutex_lock(&st.mu);
    struct subject_count *c = subject_slot(subject ? subject : "?");
    if (c) {
        c->served += ok;
        c->failed += !ok;
    }
    if (ok && subject && strcmp(subject, "quote-request") == 0)
        st.last_quote = time(NULL);
    if (!ok && text) {
        free(st.last_error);
        st.last_error = text;
        text = NULL;
        st.last_error_time = time(NULL);
        snprintf(st.last_error_subject, sizeof(st.last_error_subject), "%s", subject ? subject : "?");
    }
    pthread_mutex_unlock(&st.mu);
    free(text);
}

void service_status_tpm(bool healthy, const char *error)
{
    char *text = healthy ? NULL : status_text(error);
    pthread_mutex_lock(&st.mu);
    st.tpm_healthy = healthy;
    st.tpm_checked = time(NULL);
    st.tpm_checked_once = true;
    if (healthy)
        st.tpm_ok_ms = monotonic_ms();
    free(st.tpm_error);
    st.tpm_error = text;
    pthread_mutex_unlock(&st.mu);
}

void service_status_da(bool in_lockout, const char *text)
{
    char *copy = text ? status_text_max(text, STATUS_LONG_TEXT_MAX) : NULL;
    pthread_mutex_lock(&st.mu);
    st.da_lockout = in_lockout;
    free(st.da);
    st.da = copy;
    pthread_mutex_unlock(&st.mu);
}

void service_status_tag(const char *error)
{
    char *copy = error ? status_text_max(error, STATUS_LONG_TEXT_MAX) : NULL;
    pthread_mutex_lock(&st.mu);
    free(st.tag_error);
    st.tag_error = copy;
    pthread_mutex_unlock(&st.mu);
}

int64_t service_status_tpm_ok_ms(void)
{
    pthread_mutex_lock(&st.mu);
    int64_t ms = st.tpm_ok_ms;
    pthread_mutex_unlock(&st.mu);
    return ms;
}

/* A time as seconds since the epoch, or null when it never happened. */
static void add_time(cJSON *o, const char *key, bool set, time_t t)
{
    if (set)
        cJSON_AddNumberToObject(o, key, (double)t);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_text(cJSON *o, const char *key, const char *text)
{
    if (text)
        cJSON_AddStringToObject(o, key, text);
    else
        cJSON_AddNullToObject(o, key);
}

char *service_status_json(void)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    pthread_mutex_lock(&st.mu);
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddStringToObject(o, "version", tagent_version());
    add_text(o, "host_id", st.host_id);
    add_time(o, "started", true, st.started);
    cJSON_AddStringToObject(o, "mode", st.listening ? "http" : "outbound");
    if (st.listening) {
        cJSON *http = cJSON_AddObjectToObject(o, "http");
        if (http)
            cJSON_AddStringToObject(http, "listening", st.listening);
    }

    cJSON *nats = cJSON_AddObjectToObject(o, "nats");
    if (nats) {
        cJSON_AddBoolToObject(nats, "connected", st.connected);
        add_text(nats, "server", st.connected ? st.server : NULL);
        add_time(nats, "since", st.since != 0, st.since);
        cJSON_AddNumberToObject(nats, "reconnects", st.reconnects);
        add_text(nats, "refused", st.refused);
        add_text(nats, "error", st.connected ? NULL : st.nats_error);
    }
    cJSON *tpm = cJSON_AddObjectToObject(o, "tpm");
    if (tpm) {
        cJSON_AddBoolToObject(tpm, "healthy", st.tpm_healthy);
        add_time(tpm, "checked", st.tpm_checked_once, st.tpm_checked);
        add_text(tpm, "error", st.tpm_error);
        cJSON_AddBoolToObject(tpm, "da_lockout", st.da_lockout);
        add_text(tpm, "da", st.da);
    }
    add_text(o, "asset_tag_error", st.tag_error);
    cJSON *req = cJSON_AddObjectToObject(o, "requests");
    for (size_t i = 0; req && i < st.n_subjects; i++) {
        cJSON *c = cJSON_AddObjectToObject(req, st.subjects[i].name);
        if (c) {
            cJSON_AddNumberToObject(c, "served", (double)st.subjects[i].served);
            cJSON_AddNumberToObject(c, "failed", (double)st.subjects[i].failed);
        }
    }
    add_time(o, "last_quote", st.last_quote != 0, st.last_quote);
    if (st.last_error) {
        cJSON *e = cJSON_AddObjectToObject(o, "last_error");
        if (e) {
            add_time(e, "time", true, st.last_error_time);
            cJSON_AddStringToObject(e, "subject", st.last_error_subject);
            cJSON_AddStringToObject(e, "message", st.last_error);
        }
    } else
        cJSON_AddNullToObject(o, "last_error");
    pthread_mutex_unlock(&st.mu);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}
