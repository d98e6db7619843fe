/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to config/: one table of settings, shared by the trustagent.env and config.yml readers so that
 * a value means the same thing, and is checked the same way, whichever file it comes from. */
#ifndef TAGENT_CONFIG_SETTINGS_H
#define TAGENT_CONFIG_SETTINGS_H

#include "config.h"

enum setting_kind {
    KIND_MODE,
    KIND_LOG_LEVEL,
    KIND_LOG_LENGTH,
    KIND_BOOL,
    KIND_INT,
    KIND_DURATION,
    KIND_HTTPS_URL,
    KIND_AAS_URL,
    KIND_SHA384,
    KIND_TEXT,
    KIND_HOSTNAME,
    KIND_SAN_LIST,
    KIND_NATS_SERVERS,
    KIND_OWNER_SECRET,
    KIND_TAG_SECRET,
    KIND_TOKEN,
    KIND_IP,
    KIND_UUID_LIST,
    KIND_LABEL_LIST,
    KIND_IGNORED,
};

struct setting {
    const char *yml; /* dotted config.yml path, or NULL when never persisted */
    enum setting_kind kind;
    size_t offset; /* of the field in struct tagent_config */
    bool secret;   /* the value never appears in a message */
    long long min, max;
};

/* Where a value came from, for diagnostics. */
struct value_origin {
    const char *file; /* "environment" for the process environment */
    unsigned line;
    const char *key; /* the name the user wrote */
    bool from_yml;   /* config.yml: bare integer durations are nanoseconds, as Go reads them */
};

extern const struct setting config_settings[];
extern const size_t config_n_settings;

const struct setting *setting_by_yml(const char *yml);

/* Parses value per s->kind and stores it in cfg. Reports a diagnostic naming origin on failure. */
int setting_assign(struct tagent_config *cfg, const struct setting *s, const char *value,
                   const struct value_origin *origin, struct config_diags *diags);

#endif
