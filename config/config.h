/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config/: trustagent.env and config.yml, their validation, and the paths the agent touches.
 *
 * Flow (what `tagent setup update-service-config` does):
 *   config_init_defaults()  -> the Go agent's defaults
 *   config_yml_load()       -> an existing /etc/trustagent/config.yml, ours or the Go agent's
 *   config_env_load()       -> trustagent.env, as KEY=VALUE entries with line numbers
 *   config_apply_env()      -> file entries + process environment, with the spec's name precedence
 *   config_check()          -> cross-field rules (outbound mode needs NATS servers, ...)
 *   config_yml_save()       -> atomically, mode 0640
 *
 * Nothing here prints. Problems are collected as diagnostics (file, line, key, message) so a person sees
 * all of them at once. No diagnostic ever contains the value of a secret.
 */
#ifndef TAGENT_CONFIG_H
#define TAGENT_CONFIG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- diagnostics ---------------------------------------------------------------------------------- */

enum config_severity { CONFIG_WARNING, CONFIG_ERROR };

struct config_diag {
    enum config_severity severity;
    char *file;    /* file name, or NULL for the process environment / a cross-field rule */
    unsigned line; /* 1-based; 0 when there is no line */
    char *key;     /* the key concerned, or NULL */
    char *message; /* what is wrong and what is expected; never a secret */
};

/* The one exception to library code's single way of reporting a failure (one message in a char **ret_error,
 * caller frees): validating a file finds many independent problems, each with its own file, line, key and
 * severity, and a person should see all of them at once, not fix one per run. */
struct config_diags {
    struct config_diag *items;
    size_t n, cap;
    size_t n_errors;
};

/* Appends a diagnostic. file/key may be NULL. Out of memory is recorded as a bare error. */
void config_diag_add(struct config_diags *d, enum config_severity sev, const char *file, unsigned line,
                     const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void config_diag_addv(struct config_diags *d, enum config_severity sev, const char *file, unsigned line,
                      const char *key, const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
/* "trustagent.env:12: BEARER_TOKEN: message" (caller frees). */
char *config_diag_format(const struct config_diag *diag);
void config_diags_free(struct config_diags *d);

/* ---- trustagent.env ------------------------------------------------------------------------------- */

#define CONFIG_ENV_MAX_FILE  (4u << 20) /* a real trustagent.env is a few KiB */
#define CONFIG_ENV_MAX_VALUE (64u << 10)
#define CONFIG_ENV_MAX_KEYS  1024u /* a real one has about 20; bounds the duplicate-key check */

struct config_env_entry {
    char *key;
    char *value; /* quotes removed; wiped on free */
    unsigned line;
};

struct config_env {
    char *name; /* file name used in diagnostics */
    struct config_env_entry *entries;
    size_t n;
};

/* Parses buf (need not be NUL-terminated). Every malformed line gets its own diagnostic naming the line;
 * good lines are still returned. Returns 0, -EINVAL if any error was reported, -ENOMEM. */
int config_env_parse(const char *buf, size_t len, const char *name, struct config_env *ret_env,
                     struct config_diags *diags);
/* Reads and parses a file. -errno when it cannot be read (also reported as a diagnostic). */
int config_env_load(const char *path, struct config_env *ret_env, struct config_diags *diags);
/* True for names whose values are secrets (BEARER_TOKEN, TPM_OWNER_SECRET, ...). */
bool config_env_key_is_secret(const char *key);
/* True for a process-environment entry ("KEY=value") whose value is a secret: every secret trustagent.env key
 * and SERVICE_PASSWORD (the installer's, never read here, but a password all the same). */
bool config_env_entry_is_secret(const char *entry);
/* Moves the values of secret variables out of the memory /proc/PID/environ shows: each secret entry of
 * environ is copied to the heap and its original bytes are overwritten, so getenv() still answers for the
 * command that reads it. Call once, before any thread starts. 0 or -ENOMEM. */
int config_env_hide_secrets(void);
/* Wipes the heap copies made by config_env_hide_secrets() and removes the secret variables from environ, so
 * nothing later (a child, a core) can see them. Idempotent; call before any thread starts or after all end.
 */
void config_env_forget_secrets(void);
const struct config_env_entry *config_env_find(const struct config_env *env, const char *key);
void config_env_free(struct config_env *env);

/* ---- the configuration ---------------------------------------------------------------------------- */

enum config_mode { CONFIG_MODE_HTTP, CONFIG_MODE_OUTBOUND };

/* Log levels, most severe first; names as the Go agent (logrus) writes them. */
enum config_log_level {
    CONFIG_LOG_PANIC,
    CONFIG_LOG_FATAL,
    CONFIG_LOG_ERROR,
    CONFIG_LOG_WARNING,
    CONFIG_LOG_INFO,
    CONFIG_LOG_DEBUG,
    CONFIG_LOG_TRACE,
};

struct tagent_config {
    /* --- persisted in config.yml (v5 layout) --- */
    enum config_mode mode;
    struct {
        int max_length;
        bool enable_stdout;
        enum config_log_level level;
    } log;
    struct {
        int port;
        int64_t read_timeout_ns, read_header_timeout_ns, write_timeout_ns, idle_timeout_ns;
        int max_header_bytes;
    } server;
    char *hvs_url;
    char *tag_secret_key; /* secret: "hex:" + 40 hex */
    char *aas_base_url;   /* always ends in "/" */
    char *cms_base_url;
    char *cms_tls_cert_sha384; /* 96 lower-case hex */
    char *tls_common_name;
    char *tls_san_list;
    char **nats_servers; /* NULL-terminated */
    size_t n_nats_servers;
    char *nats_host_id;
    char *api_token; /* secret */
    bool ima_measure_enabled;

    /* --- setup-time inputs, never written to config.yml --- */
    char *bearer_token;       /* secret */
    char *owner_secret;       /* secret, as typed: 40 hex / "hex:..." / raw */
    char *endorsement_secret; /* secret */
    char *current_ip;
    char *flavor_uuids;
    char *flavor_labels;
    char *tcti; /* TAGENT_TCTI; NULL = device:/dev/tpmrm0 */
};

/* The Go agent's defaults (mode http, port 1443, timeouts, log info/3000, SAN, CN, host id = hostname). */
int config_init_defaults(struct tagent_config *cfg);
void config_free(struct tagent_config *cfg);

/* Applies trustagent.env entries (env may be NULL) and the process environment envp (may be NULL) to cfg.
 * A process-environment value wins over the file's value for the same name; empty values are ignored.
 * Among spellings of one setting: explicit v5 aliases (AAS_API_URL, TA_HOST_ID, SAN_LIST, TA_SERVER_*) win
 * over the v5 names, which win over names only the docs use (TA_TLS_CERT_CN, TRUSTAGENT_PORT, ...).
 * Unknown file keys are warnings. Returns 0, or -EINVAL after reporting every bad value. */
int config_apply_env(struct tagent_config *cfg, const struct config_env *env, char *const *envp,
                     struct config_diags *diags);

/* Cross-field rules of update-service-config: AAS URL set, http mode needs a port, outbound mode needs
 * NATS servers and a host id. Returns 0 or -EINVAL. */
int config_check(const struct tagent_config *cfg, struct config_diags *diags);

/* True when every persisted setting of a equals b's. */
bool config_equal(const struct tagent_config *a, const struct tagent_config *b);

const char *config_mode_name(enum config_mode mode);
const char *config_log_level_name(enum config_log_level level);

/* ---- config.yml ----------------------------------------------------------------------------------- */

#define CONFIG_YML_MAX_FILE (1u << 20)
#define CONFIG_YML_MODE     0640

/* Reads config.yml (ours or the Go agent's) over cfg. -ENOENT when absent (not reported). */
int config_yml_load(const char *path, struct tagent_config *cfg, struct config_diags *diags);
/* Same from memory; name is used in diagnostics. */
int config_yml_parse(const char *buf, size_t len, const char *name, struct tagent_config *cfg,
                     struct config_diags *diags);
/* Serialises the persisted settings (caller frees *ret_buf; it may hold secrets: wipe it). */
int config_yml_format(const struct tagent_config *cfg, char **ret_buf, size_t *ret_len);
/* Formats and writes atomically with mode CONFIG_YML_MODE. */
int config_yml_save(const char *path, const struct tagent_config *cfg);

/* ---- values --------------------------------------------------------------------------------------- */

/* Go time.ParseDuration syntax ("1m30s", "500ms"). Returns 0 or -EINVAL / -ERANGE. */
int config_duration_parse(const char *s, int64_t *ret_ns);
/* Go time.Duration.String() ("1m30s", "0s", "1.5ms"). */
#define CONFIG_DURATION_BUF 64
void config_duration_format(int64_t ns, char buf[static CONFIG_DURATION_BUF]);

#define CONFIG_OWNER_SECRET_MAX 64
/* The Go agent's owner-secret rule: exactly 40 hex chars -> 20 decoded bytes; "hex:" prefix -> decoded
 * rest; anything else -> the raw bytes. At most 64 bytes. On error *ret_error (caller frees; may be NULL)
 * says why, as a phrase about the secret ("is longer than 64 bytes, ..."), never the value. */
int config_secret_decode(const char *s, uint8_t ret_bytes[static CONFIG_OWNER_SECRET_MAX], size_t *ret_len,
                         char **ret_error);

/* scheme://host[:port][/path]: scheme one of schemes (NULL-terminated), host a DNS name or IP address, no
 * credentials, no whitespace. Returns 0 or -EINVAL with *ret_error (caller frees; may be NULL), a phrase
 * about the URL ("has no host", ...). */
int config_url_check(const char *url, const char *const *schemes, char **ret_error);

/* Host name as RFC 1123 (what AAS checks a NATS host id against). */
bool config_hostname_valid(const char *s);

/* Calls check for each item of a comma-separated list, spaces and tabs around it removed; an empty item
 * ("a,,b", "a,", "") is passed as "" so the caller can refuse it. Stops at check's first negative return and
 * returns it (or -ENOMEM); 0 when every item passed. */
int config_list_for_each(const char *list, int (*check)(const char *item, void *ctx), void *ctx);

/* ---- files and paths ------------------------------------------------------------------------------ */

/* The Go agent's file layout (spec 8), one place for every module; all of it under the root prefix. */
#define TAGENT_CONFIG_DIR  "/etc/trustagent"
#define TAGENT_CONFIG_FILE "/etc/trustagent/config.yml"
#define TAGENT_CACERTS_DIR "/etc/trustagent/cacerts"
#define TAGENT_JWT_DIR     "/etc/trustagent/jwt" /* AAS JWT signing certificates (HTTP mode) */
#define TAGENT_PRIVACY_CA  "/etc/trustagent/privacy-ca.cer"
#define TAGENT_AIK_PEM     "/etc/trustagent/aik.pem"
#define TAGENT_TLS_CERT    "/etc/trustagent/tls-cert.pem"
#define TAGENT_TLS_KEY     "/etc/trustagent/tls-key.pem"
#define TAGENT_CREDS_DIR   "/etc/trustagent/credentials"
#define TAGENT_CREDS_FILE  "/etc/trustagent/credentials/trust-agent.creds"
#define TAGENT_INSTALL_DIR "/opt/trustagent"
#define TAGENT_VAR_DIR     "/opt/trustagent/var"       /* manifests, measure-log.json, system-info/ */
#define TAGENT_RAMFS_DIR   "/opt/trustagent/var/ramfs" /* tbootxm's measurements and application events */

/* Resolves the root prefix: explicit (from --root) or TAGENT_ROOT or "/"; must be an existing directory.
 * *ret_root is absolute without a trailing slash ("" for "/"). Caller frees; on failure *ret_error (caller
 * frees; may be NULL) says why. */
int config_root_resolve(const char *explicit_root, char **ret_root, char **ret_error);
/* root + abs ("/etc/trustagent/config.yml"). Caller frees; NULL on out of memory. */
char *config_path(const char *root, const char *abs);
/* mkdir -p with mode for each created component. */
int config_mkdir_p(const char *path, mode_t mode);
/* temp file in the same directory + write + fchmod(mode) + fsync + rename + fsync(dir). Never leaves a
 * partial file at path: either the old content or the new one. */
int config_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Reads a whole regular file of at most max bytes (NUL-terminated for convenience). -EFBIG when larger. */
int config_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len);

/* Standard base64, one line, NUL-terminated (caller frees; NULL on out of memory or absurd length). */
char *config_base64_encode(const void *data, size_t len);
/* Strict decoding: length a multiple of 4, only the alphabet, '=' only as padding. -EINVAL / -ENOMEM. */
int config_base64_decode(const char *s, uint8_t **ret_data, size_t *ret_len);

/* Wipes and frees a secret string. Accepts NULL. */
void config_secret_free(char *s);

#endif
