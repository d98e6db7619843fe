/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * trustagent.env names -> settings. Several names can spell one setting; the spec's precedence is:
 *   explicit v5 aliases (AAS_API_URL, TA_HOST_ID, SAN_LIST, TA_SERVER_*)     highest
 *   the v5 names viper derives from the config keys (AAS_BASE_URL, ...)
 *   names only the TEP guide / help text use (TA_TLS_CERT_CN, TRUSTAGENT_PORT, ...)   lowest
 * so that a trustagent.env the Go agent accepts gives the same configuration here, and the TEP guide's names
 * (which the Go agent silently ignores) work too. For each name the process environment wins over the file.
 */
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tier { TIER_DOCS, TIER_V5, TIER_ALIAS };

struct env_name {
    const char *name;
    const char *setting; /* yml path, or a NULL-yml setting named by field below */
    size_t field;        /* offset, for settings without a yml path */
    enum tier tier;
};

#define YML(n, y, t)                                                                                         \
    {                                                                                                        \
        n, y, 0, t                                                                                           \
    }
#define FIELD(n, f, t)                                                                                       \
    {                                                                                                        \
        n, NULL, offsetof(struct tagent_config, f), t                                                        \
    }
#define IGNORED(n)                                                                                           \
    {                                                                                                        \
        n, NULL, (size_t)-1, TIER_V5                                                                         \
    }

static const struct env_name env_names[] = {
    YML("TA_SERVICE_MODE", "ta-service-mode", TIER_V5),
    YML("HVS_URL", "hvs.url", TIER_V5),
    YML("AAS_BASE_URL", "aas.base-url", TIER_V5),
    YML("AAS_API_URL", "aas.base-url", TIER_ALIAS),
    YML("CMS_BASE_URL", "cms.base-url", TIER_V5),
    YML("CMS_TLS_CERT_SHA384", "cms.tls-cert-sha384", TIER_V5),
    YML("NATS_SERVERS", "nats.servers", TIER_V5),
    YML("NATS_HOST_ID", "nats.host-id", TIER_V5),
    YML("TA_HOST_ID", "nats.host-id", TIER_ALIAS),
    YML("SERVER_PORT", "server.port", TIER_V5),
    YML("TRUSTAGENT_PORT", "server.port", TIER_DOCS),
    YML("SERVER_READ_TIMEOUT", "server.read-timeout", TIER_V5),
    YML("TA_SERVER_READ_TIMEOUT", "server.read-timeout", TIER_ALIAS),
    YML("SERVER_READ_HEADER_TIMEOUT", "server.read-header-timeout", TIER_V5),
    /* The Go agent keys this alias wrongly so it has no effect there; here it works as documented. */
    YML("TA_SERVER_READ_HEADER_TIMEOUT", "server.read-header-timeout", TIER_ALIAS),
    YML("SERVER_WRITE_TIMEOUT", "server.write-timeout", TIER_V5),
    YML("TA_SERVER_WRITE_TIMEOUT", "server.write-timeout", TIER_ALIAS),
    YML("SERVER_IDLE_TIMEOUT", "server.idle-timeout", TIER_V5),
    YML("TA_SERVER_IDLE_TIMEOUT", "server.idle-timeout", TIER_ALIAS),
    YML("SERVER_MAX_HEADER_BYTES", "server.max-header-bytes", TIER_V5),
    YML("TA_SERVER_MAX_HEADER_BYTES", "server.max-header-bytes", TIER_ALIAS),
    YML("LOG_LEVEL", "log.level", TIER_V5),
    YML("TRUSTAGENT_LOG_LEVEL", "log.level", TIER_DOCS),
    YML("LOG_ENABLE_STDOUT", "log.enable-stdout", TIER_V5),
    YML("TA_ENABLE_CONSOLE_LOG", "log.enable-stdout", TIER_DOCS),
    YML("LOG_MAX_LENGTH", "log.max-length", TIER_V5),
    YML("LOG_ENTRY_MAXLENGTH", "log.max-length", TIER_DOCS),
    YML("TLS_COMMON_NAME", "tls.common-name", TIER_V5),
    YML("TA_TLS_CERT_CN", "tls.common-name", TIER_DOCS),
    YML("TLS_SAN_LIST", "tls.san-list", TIER_V5),
    YML("SAN_LIST", "tls.san-list", TIER_ALIAS),
    YML("IMA_MEASURE_ENABLED", "ima-measure-enabled", TIER_V5),
    FIELD("BEARER_TOKEN", bearer_token, TIER_V5),
    FIELD("TPM_OWNER_SECRET", owner_secret, TIER_V5),
    FIELD("TPM_ENDORSEMENT_SECRET", endorsement_secret, TIER_V5),
    FIELD("CURRENT_IP", current_ip, TIER_V5),
    FIELD("FLAVOR_UUIDS", flavor_uuids, TIER_V5),
    FIELD("FLAVOR_LABELS", flavor_labels, TIER_V5),
    FIELD("TAGENT_TCTI", tcti, TIER_V5),
    /* Known names that configure the installer or nothing at all: accepted without a warning. */
    IGNORED("SERVICE_USERNAME"),
    IGNORED("SERVICE_PASSWORD"),
    IGNORED("PROVISION_ATTESTATION"),
    IGNORED("AUTOMATIC_REGISTRATION"),
    IGNORED("AUTOMATIC_PULL_MANIFEST"),
    IGNORED("TBOOTXM_INSTALL"),
    IGNORED("TRUSTAGENT_HOME"),
    IGNORED("TRUSTAGENT_USERNAME"),
    IGNORED("GRUB_FILE"),
    IGNORED("LOG_ROTATION_PERIOD"),
    IGNORED("LOG_COMPRESS"),
    IGNORED("LOG_DELAYCOMPRESS"),
    IGNORED("LOG_COPYTRUNCATE"),
    IGNORED("LOG_SIZE"),
    IGNORED("LOG_OLD"),
};
#define N_ENV_NAMES (sizeof(env_names) / sizeof(env_names[0]))

static const struct setting *setting_of(const struct env_name *n)
{
    if (n->setting)
        return setting_by_yml(n->setting);
    for (size_t i = 0; i < config_n_settings; i++)
        if (config_settings[i].kind == KIND_IGNORED
                ? n->field == (size_t)-1
                : !config_settings[i].yml && config_settings[i].offset == n->field)
            return &config_settings[i];
    return NULL;
}

struct found {
    const char *value;
    struct value_origin origin;
};

/* The value of one name: the process environment first, then the file; empty counts as unset. */
static bool lookup(const char *name, const struct config_env *env, char *const *envp, struct found *ret,
                   struct config_diags *d)
{
    size_t n = strlen(name);
    const struct config_env_entry *entry = config_env_find(env, name);
    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=' && (*e)[n + 1]) {
            *ret = (struct found){(*e) + n + 1, {"environment", 0, name, false}};
            if (entry && entry->value[0] && strcmp(entry->value, ret->value) != 0)
                config_diag_add(d, CONFIG_WARNING, env->name, entry->line, name,
                                "overridden by the process environment, which takes precedence");
            return true;
        }
    }
    if (entry && entry->value[0]) {
        *ret = (struct found){entry->value, {env->name, entry->line, name, false}};
        return true;
    }
    return false;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub = diag + (a[i - 1] != b[j - 1]);
            size_t best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[lb];
}

static const struct env_name *env_name_find(const char *key)
{
    for (size_t i = 0; i < N_ENV_NAMES; i++)
        if (strcmp(env_names[i].name, key) == 0)
            return &env_names[i];
    return NULL;
}

bool config_env_key_is_secret(const char *key)
{
    const struct env_name *n = env_name_find(key);
    const struct setting *s = n ? setting_of(n) : NULL;
    return s && s->secret;
}

bool config_env_entry_is_secret(const char *entry)
{
    const char *eq = strchr(entry, '=');
    if (!eq || eq == entry || (size_t)(eq - entry) > 64)
        return false;
    char key[65];
    memcpy(key, entry, (size_t)(eq - entry));
    key[eq - entry] = '\0';
    return config_env_key_is_secret(key) || strcmp(key, "SERVICE_PASSWORD") == 0;
}

extern char **environ;

/* The heap copies config_env_hide_secrets() put into environ; ours to wipe and free (glibc never frees an
 * entry it did not allocate). */
static char *hidden[16];
static size_t n_hidden;

int config_env_hide_secrets(void)
{
    for (char **e = environ; e && *e; e++) {
        if (!config_env_entry_is_secret(*e))
            continue;
        if (n_hidden == sizeof(hidden) / sizeof(hidden[0]))
            return -ENOMEM;
        char *copy = strdup(*e);
        if (!copy)
            return -ENOMEM;
        /* The original lies in the area the kernel serves as /proc/PID/environ (and that a core would hold):
         * overwrite the value there; the name stays so the area still parses. */
        char *value = strchr(*e, '=') + 1;
        explicit_bzero(value, strlen(value));
        hidden[n_hidden++] = copy;
        *e = copy;
    }
    return 0;
}

void config_env_forget_secrets(void)
{
    if (!environ)
        return;
    for (char **e = environ; *e;) {
        char *eq = strchr(*e, '=');
        if (!eq || !config_env_entry_is_secret(*e)) {
            e++;
            continue;
        }
        char *value = eq + 1;
        explicit_bzero(value, strlen(value));
        /* unsetenv cannot take a name with '=' in it: cut the entry at the '=' (it is wiped anyway) */
        value[-1] = '\0';
        char key[65];
        snprintf(key, sizeof(key), "%s", *e);
        value[-1] = '=';
        unsetenv(key); /* shifts the rest of environ down onto e */
    }
    for (size_t i = 0; i < n_hidden; i++) {
        explicit_bzero(hidden[i], strlen(hidden[i]));
        free(hidden[i]);
        hidden[i] = NULL;
    }
    n_hidden = 0;
}

#define MAX_UNKNOWN_WARNINGS 20

static void warn_unknown_keys(const struct config_env *env, struct config_diags *d)
{
    size_t unknown = 0;
    for (size_t i = 0; env && i < env->n; i++) {
        const char *key = env->entries[i].key;
        if (env_name_find(key) || ++unknown > MAX_UNKNOWN_WARNINGS)
            continue;
        const char *guess = NULL;
        for (size_t j = 0; j < N_ENV_NAMES && !guess; j++)
            if (edit_distance(key, env_names[j].name) <= 2)
                guess = env_names[j].name;
        if (guess)
            config_diag_add(d, CONFIG_WARNING, env->name, env->entries[i].line, key,
                            "unknown key, ignored; did you mean %s?", guess);
        else
            config_diag_add(d, CONFIG_WARNING, env->name, env->entries[i].line, key,
                            "unknown key, ignored (`tagent help` lists the keys tagent reads)");
    }
    if (unknown > MAX_UNKNOWN_WARNINGS)
        config_diag_add(d, CONFIG_WARNING, env->name, 0, NULL, "%zu more unknown keys, ignored",
                        unknown - MAX_UNKNOWN_WARNINGS);
}

static void where(const struct value_origin *o, char buf[static 300])
{
    if (o->line)
        snprintf(buf, 300, "%s (line %u)", o->key, o->line);
    else
        snprintf(buf, 300, "%s (from the %s)", o->key, o->file);
}

/* Keeps the higher-tier spelling of one setting and reports the one it overrides. */
static void consider(const struct env_name *name, const struct found *f, const struct env_name **winner,
                     struct found *best, struct config_diags *d)
{
    const struct env_name *loser = name;
    struct found lost = *f;
    if (!*winner || name->tier > (*winner)->tier) {
        loser = *winner;
        lost = *best;
        *winner = name;
        *best = *f;
    }
    if (loser && strcmp(lost.value, best->value) != 0) {
        char w[300], l[300];
        where(&best->origin, w);
        where(&lost.origin, l);
        config_diag_add(d, CONFIG_WARNING, lost.origin.line ? lost.origin.file : NULL, 0, NULL,
                        "%s is ignored: %s sets the same setting and takes precedence", l, w);
    }
}

int config_apply_env(struct tagent_config *cfg, const struct config_env *env, char *const *envp,
                     struct config_diags *d)
{
    enum { MAX_SETTINGS = 64 };
    const struct env_name *winner[MAX_SETTINGS] = {0};
    struct found best[MAX_SETTINGS];
    int failed = 0;

    if (config_n_settings > MAX_SETTINGS)
        return -E2BIG;
    warn_unknown_keys(env, d);

    for (size_t i = 0; i < N_ENV_NAMES; i++) {
        struct found f;
        if (!lookup(env_names[i].name, env, envp, &f, d))
            continue;
        const struct setting *s = setting_of(&env_names[i]);
        if (!s || s->kind == KIND_IGNORED)
            continue;
        size_t si = (size_t)(s - config_settings);
        consider(&env_names[i], &f, &winner[si], &best[si], d);
    }
    /* In table order, so the same file always gives the same diagnostics in the same order. */
    for (size_t si = 0; si < config_n_settings; si++) {
        if (!winner[si])
            continue;
        int r = setting_assign(cfg, &config_settings[si], best[si].value, &best[si].origin, d);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            failed = 1;
    }
    return failed ? -EINVAL : 0;
}
