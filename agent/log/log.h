/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging for agent/ and tools/ (library code never logs). Messages go to journald when the process runs
 * under systemd (JOURNAL_STREAM matches stderr, or NOTIFY_SOCKET is set), to stderr otherwise.
 * TAGENT_LOG_TARGET=stderr|journal overrides the detection.
 *
 * Secrets: log_redact_add() registers a secret (bearer token, owner secret, tag secret, ...); from then on
 * every occurrence in any message or field is replaced by "****" before it leaves the process. This is a
 * safety net, not a licence: code must still never pass a secret to a log call.
 */
#ifndef TAGENT_LOG_H
#define TAGENT_LOG_H

#include <stddef.h>
#include <syslog.h>

/* Secrets shorter than this are not matched: redacting every "ab" would make logs unreadable. */
#define LOG_REDACT_MIN 3

void log_setup(void);
void log_set_max_level(int priority); /* syslog priority, e.g. LOG_INFO */
int log_get_max_level(void);
void log_set_max_length(size_t n); /* longer messages are cut and marked "..." */
/* Maps a config level name ("info", "warning", ...) to a syslog priority; -1 when unknown. */
int log_level_from_name(const char *name);

/* Applies config's log.level and log.max-length. floor: the least severe level that must still show
 * (a CLI keeps warnings visible even when the service is configured to log errors only). */
struct tagent_config;
void log_apply_config(const struct tagent_config *cfg, int floor);

void log_redact_add(const char *secret);
void log_redact_clear(void);
/* Returns a redacted copy of s (caller frees); NULL on out of memory. */
char *log_redact_string(const char *s);

/* fields: NULL or a NULL-terminated list of "KEY=value" journal fields (SUBJECT=..., TPM_RC=...). */
void log_emit(int priority, const char *const *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...)   log_emit(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning(...) log_emit(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...)  log_emit(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...)    log_emit(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...)   log_emit(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
