/* SPDX-License-Identifier: BSD-3-Clause */
#include "log.h"
#include "config.h"
#include "sd_wire.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int max_level = LOG_INFO;
static size_t max_length = 3000;
static bool to_journal;
static char **secrets;
static size_t n_secrets;

/* systemd sets JOURNAL_STREAM=<dev>:<ino> for a service's stderr; it only counts if stderr still is it. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(void)
{
    const char *target = getenv("TAGENT_LOG_TARGET");
    if (target && strcmp(target, "stderr") == 0)
        to_journal = false;
    else if (target && strcmp(target, "journal") == 0)
        to_journal = true;
    else
        to_journal = stderr_is_journal() || getenv("NOTIFY_SOCKET");
}

void log_set_max_level(int priority)
{
    max_level = priority;
}

int log_get_max_level(void)
{
    return max_level;
}

void log_set_max_length(size_t n)
{
    max_length = n;
}

int log_level_from_name(const char *name)
{
    static const struct {
        const char *name;
        int prio;
    } map[] = {{"panic", LOG_CRIT},   {"fatal", LOG_CRIT}, {"error", LOG_ERR},   {"warning", LOG_WARNING},
               {"warn", LOG_WARNING}, {"info", LOG_INFO},  {"debug", LOG_DEBUG}, {"trace", LOG_DEBUG}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(name, map[i].name) == 0)
            return map[i].prio;
    return -1;
}

void log_apply_config(const struct tagent_config *cfg, int floor)
{
    int prio = log_level_from_name(config_log_level_name(cfg->log.level));
    log_set_max_level(prio < floor ? floor : prio);
    log_set_max_length((size_t)cfg->log.max_length);
}

void log_redact_add(const char *secret)
{
    if (!secret || strlen(secret) < LOG_REDACT_MIN)
        return;
    pthread_mutex_lock(&log_lock);
    char **grown = realloc(secrets, (n_secrets + 1) * sizeof(*secrets));
    char *copy = grown ? strdup(secret) : NULL;
    if (grown)
        secrets = grown;
    if (copy)
        secrets[n_secrets++] = copy;
    pthread_mutex_unlock(&log_lock);
}

void log_redact_clear(void)
{
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        explicit_bzero(secrets[i], strlen(secrets[i]));
        free(secrets[i]);
    }
    free(secrets);
    secrets = NULL;
    n_secrets = 0;
    pthread_mutex_unlock(&log_lock);
}

/* Copies s with every occurrence of secret replaced by "****"; scanning resumes after each replacement, so a
 * secret that looks like the mask cannot loop. */
static char *replace_all(const char *s, const char *secret)
{
    size_t slen = strlen(secret), hits = 0;
    for (const char *p = s; (p = strstr(p, secret)); p += slen)
        hits++;
    size_t len = strlen(s);
    char *out = malloc(len + hits * 4 + 1); /* "****" may be longer than a 3-byte secret */
    if (!out)
        return NULL;
    char *w = out;
    for (const char *p = s;;) {
        const char *hit = strstr(p, secret);
        size_t head = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(w, p, head);
        w += head;
        if (!hit)
            break;
        memcpy(w, "****", 4);
        w += 4;
        p = hit + slen;
    }
    *w = '\0';
    return out;
}

/* Replaces every registered secret in s by "****". Called with log_lock held. */
static char *redact_locked(const char *s)
{
    char *out = strdup(s);
    for (size_t i = 0; out && i < n_secrets; i++) {
        if (!strstr(out, secrets[i]))
            continue;
        char *next = replace_all(out, secrets[i]);
        explicit_bzero(out, strlen(out));
        free(out);
        out = next;
    }
    return out;
}

char *log_redact_string(const char *s)
{
    pthread_mutex_lock(&log_lock);
    char *out = redact_locked(s);
    pthread_mutex_unlock(&log_lock);
    return out;
}

static const char *level_name(int priority)
{
    switch (priority) {
    case LOG_EMERG:
    case LOG_ALERT:
    case LOG_CRIT:
    case LOG_ERR: return "error";
    case LOG_WARNING: return "warning";
    case LOG_NOTICE:
    case LOG_INFO: return "info";
    default: return "debug";
    }
}

/* One journal entry; false when journald did not take it (none running, a full queue), so the caller writes
 * the line to stderr instead of losing it. */
static bool emit_journal(int priority, const char *msg, char **fields, size_t n_fields)
{
    struct iovec iov[2 + 16];
    char prio[16];
    char *message = NULL;
    snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
    if (asprintf(&message, "MESSAGE=%s", msg) < 0)
        return false;
    size_t n = 0;
    iov[n++] = (struct iovec){prio, strlen(prio)};
    iov[n++] = (struct iovec){message, strlen(message)};
    for (size_t i = 0; i < n_fields && i < 16; i++)
        iov[n++] = (struct iovec){fields[i], strlen(fields[i])};
    int r = journal_sendv(iov, n);
    free(message);
    return r >= 0;
}

void log_emit(int priority, const char *const *fields, const char *fmt, ...)
{
    if (priority > max_level)
        return;

    va_list ap;
    va_start(ap, fmt);
    char *raw = NULL;
    int r = vasprintf(&raw, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;

    pthread_mutex_lock(&log_lock);
    char *msg = redact_locked(raw);
    explicit_bzero(raw, strlen(raw));
    free(raw);
    if (msg && max_length >= 4 && strlen(msg) > max_length)
        memcpy(msg + max_length - 3, "...", 4);

    char *redacted_fields[16];
    size_t n_fields = 0;
    for (size_t i = 0; fields && fields[i] && n_fields < 16; i++)
        if ((redacted_fields[n_fields] = redact_locked(fields[i])))
            n_fields++;

    if (msg && (!to_journal || !emit_journal(priority, msg, redacted_fields, n_fields))) {
        fprintf(stderr, "tagent: %s: %s", level_name(priority), msg);
        for (size_t i = 0; i < n_fields; i++)
            fprintf(stderr, " %s", redacted_fields[i]);
        fputc('\n', stderr);
    }
    for (size_t i = 0; i < n_fields; i++)
        free(redacted_fields[i]);
    free(msg);
    pthread_mutex_unlock(&log_lock);
}
