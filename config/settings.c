/* SPDX-License-Identifier: BSD-3-Clause */
/* The settings table and the value checks: each message says what is expected. */
#include "settings.h"

#include "cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define F(field) offsetof(struct tagent_config, field)

const struct setting config_settings[] = {
    {"ta-service-mode", KIND_MODE, F(mode), false, 0, 0},
    {"log.max-length", KIND_LOG_LENGTH, F(log.max_length), false, 3000, INT_MAX},
    {"log.enable-stdout", KIND_BOOL, F(log.enable_stdout), false, 0, 0},
    {"log.level", KIND_LOG_LEVEL, F(log.level), false, 0, 0},
    {"server.port", KIND_INT, F(server.port), false, 1024, 65535},
    {"server.read-timeout", KIND_DURATION, F(server.read_timeout_ns), false, 1, INT64_MAX},
    {"server.read-header-timeout", KIND_DURATION, F(server.read_header_timeout_ns), false, 1, INT64_MAX},
    {"server.write-timeout", KIND_DURATION, F(server.write_timeout_ns), false, 1, INT64_MAX},
    {"server.idle-timeout", KIND_DURATION, F(server.idle_timeout_ns), false, 1, INT64_MAX},
    {"server.max-header-bytes", KIND_INT, F(server.max_header_bytes), false, 1, INT_MAX},
    {"hvs.url", KIND_HTTPS_URL, F(hvs_url), false, 0, 0},
    {"tpm.tag-secret-key", KIND_TAG_SECRET, F(tag_secret_key), true, 0, 0},
    {"aas.base-url", KIND_AAS_URL, F(aas_base_url), false, 0, 0},
    {"cms.base-url", KIND_HTTPS_URL, F(cms_base_url), false, 0, 0},
    {"cms.tls-cert-sha384", KIND_SHA384, F(cms_tls_cert_sha384), false, 0, 0},
    {"tls.common-name", KIND_TEXT, F(tls_common_name), false, 1, 64}, /* X.509 ub-common-name */
    {"tls.san-list", KIND_SAN_LIST, F(tls_san_list), false, 0, 0},
    {"nats.servers", KIND_NATS_SERVERS, F(nats_servers), false, 0, 0},
    {"nats.host-id", KIND_HOSTNAME, F(nats_host_id), false, 0, 0},
    {"api-token", KIND_TOKEN, F(api_token), true, 0, 0},
    {"ima-measure-enabled", KIND_BOOL, F(ima_measure_enabled), false, 0, 0},
    /* setup-time inputs: never persisted */
    {NULL, KIND_TOKEN, F(bearer_token), true, 0, 0},
    {NULL, KIND_OWNER_SECRET, F(owner_secret), true, 0, 0},
    {NULL, KIND_OWNER_SECRET, F(endorsement_secret), true, 0, 0},
    {NULL, KIND_IP, F(current_ip), false, 0, 0},
    {NULL, KIND_UUID_LIST, F(flavor_uuids), false, 0, 500},
    {NULL, KIND_LABEL_LIST, F(flavor_labels), false, 0, 500},
    {NULL, KIND_TEXT, F(tcti), false, 1, 1024},
    {NULL, KIND_IGNORED, 0, true, 0, 0},
};
const size_t config_n_settings = sizeof(config_settings) / sizeof(config_settings[0]);

const struct setting *setting_by_yml(const char *yml)
{
    for (size_t i = 0; i < config_n_settings; i++)
        if (config_settings[i].yml && strcmp(config_settings[i].yml, yml) == 0)
            return &config_settings[i];
    return NULL;
}

/* ---- messages ---- */

/* A non-secret value quoted for a message: printable ASCII, at most 80 characters. */
static void shown_value(const char *v, char out[static 100])
{
    size_t w = 0, n = strlen(v);
    out[w++] = '"';
    for (size_t i = 0; i < n && i < 80; i++)
        out[w++] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
    if (n > 80) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w++] = '"';
    out[w] = '\0';
}

static int bad_value(const struct setting *s, const char *value, const struct value_origin *o,
                     struct config_diags *d, const char *expected)
{
    char shown[100];
    if (s->secret)
        config_diag_add(d, CONFIG_ERROR, o->file, o->line, o->key,
                        "%s (the value is not shown: it is a secret)", expected);
    else {
        shown_value(value, shown);
        config_diag_add(d, CONFIG_ERROR, o->file, o->line, o->key, "%s; got %s", expected, shown);
    }
    return -EINVAL;
}

/* ---- parsers ---- */

static bool parse_ll(const char *v, long long *ret)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || (*v != '-' && (*v < '0' || *v > '9')))
        return false;
    *ret = x;
    return true;
}

static bool parse_bool(const char *v, bool *ret)
{
    /* Go's strconv.ParseBool, which viper uses. */
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(v, yes[i]) == 0)
            return *ret = true, true;
        if (strcmp(v, no[i]) == 0)
            return *ret = false, true;
    }
    return false;
}

static const char *const log_level_names[] = {"panic", "fatal", "error", "warning", "info", "debug", "trace"};

const char *config_log_level_name(enum config_log_level level)
{
    return (unsigned)level < 7 ? log_level_names[level] : "info";
}

const char *config_mode_name(enum config_mode mode)
{
    return mode == CONFIG_MODE_OUTBOUND ? "outbound" : "http";
}

static bool parse_log_level(const char *v, enum config_log_level *ret)
{
    if (strcasecmp(v, "warn") == 0)
        return *ret = CONFIG_LOG_WARNING, true;
    for (int i = 0; i < 7; i++)
        if (strcasecmp(v, log_level_names[i]) == 0)
            return *ret = (enum config_log_level)i, true;
    return false;
}

static bool is_ip(const char *v)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

static bool is_printable(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return false;
    return true;
}

/* A JWT or similar bearer credential: it goes into an HTTP header, so no space or control character. */
static bool is_token(const char *v)
{
    if (!*v)
        return false;
    for (; *v; v++)
        if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
            return false;
    return true;
}

static bool is_uuid(const char *v, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = v[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return false;
    }
    return true;
}

/* Public (config.h) so that download-cert's CSR splits SAN_LIST into the very items validated here. */
int config_list_for_each(const char *v, int (*check)(const char *item, void *ctx), void *ctx)
{
    char *copy = strdup(v);
    if (!copy)
        return -ENOMEM;
    int r = 0;
    /* strtok_r would skip empty items ("a,,b"), which we want to report: split by hand. */
    for (char *p = copy;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        for (size_t n = strlen(p); n && (p[n - 1] == ' ' || p[n - 1] == '\t'); n--)
            p[n - 1] = '\0';
        r = check(p, ctx);
        if (r < 0 || !comma)
            break;
        p = comma + 1;
    }
    free(copy);
    return r;
}

struct item_ctx {
    const char *why;
    char *url_error; /* config_url_check()'s reason, which why then points to (assign_list frees it) */
    char bad[100];
    char **list; /* for NATS servers: collected items */
    size_t n;
};

static int check_san_item(const char *item, void *c)
{
    struct item_ctx *ctx = c;
    if (*item && (is_ip(item) || config_hostname_valid(item)))
        return 0;
    ctx->why = *item ? "is neither an IP address nor a valid host name" : "is empty";
    shown_value(item, ctx->bad);
    return -EINVAL;
}

static int collect_nats_item(const char *item, void *c)
{
    struct item_ctx *ctx = c;
    static const char *const schemes[] = {"nats", "tls", NULL};
    shown_value(item, ctx->bad);
    if (!*item) {
        ctx->why = "is empty";
        return -EINVAL;
    }
    int r = config_url_check(item, schemes, &ctx->url_error);
    if (r < 0) {
        ctx->why = ctx->url_error;
        return r;
    }
    char **list = realloc(ctx->list, (ctx->n + 2) * sizeof(*list));
    if (!list)
        return -ENOMEM;
    ctx->list = list;
    if (!(list[ctx->n] = strdup(item)))
        return -ENOMEM;
    list[++ctx->n] = NULL;
    return 0;
}

static int check_uuid_item(const char *item, void *c)
{
    struct item_ctx *ctx = c;
    if (is_uuid(item, strlen(item)))
        return 0;
    ctx->why = "is not a UUID (8-4-4-4-12 hex digits)";
    shown_value(item, ctx->bad);
    return -EINVAL;
}

static void free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

/* ---- assignment ---- */

static int store_string(struct tagent_config *cfg, const struct setting *s, const char *value)
{
    char **slot = (char **)((char *)cfg + s->offset);
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    if (s->secret)
        config_secret_free(*slot);
    else
        free(*slot);
    *slot = copy;
    return 0;
}

static const char *url_example(const struct setting *s)
{
    if (s->kind == KIND_AAS_URL)
        return "https://aas.example.com:8444/aas/v1";
    if (s->offset == offsetof(struct tagent_config, hvs_url))
        return "https://hvs.example.com:8443/hvs/v2";
    return "https://cms.example.com:8445/cms/v1";
}

static int assign_url(struct tagent_config *cfg, const struct setting *s, const char *v,
                      const struct value_origin *o, struct config_diags *d)
{
    static const char *const https[] = {"https", NULL};
    _cleanup_free_ char *why = NULL;
    int r = config_url_check(v, https, &why);
    if (r == -ENOMEM || (r < 0 && !why))
        return -ENOMEM;
    if (r < 0) {
        char expected[200];
        snprintf(expected, sizeof(expected), "must be an https:// URL such as %s (it %s)", url_example(s),
                 why);
        return bad_value(s, v, o, d, expected);
    }
    if (s->kind != KIND_AAS_URL || v[strlen(v) - 1] == '/')
        return store_string(cfg, s, v);
    /* The Go agent stores the AAS base URL with a trailing "/" and appends paths to it. */
    char *slashed = NULL;
    if (asprintf(&slashed, "%s/", v) < 0)
        return -ENOMEM;
    r = store_string(cfg, s, slashed);
    free(slashed);
    return r;
}

static int assign_sha384(struct tagent_config *cfg, const struct setting *s, const char *v,
                         const struct value_origin *o, struct config_diags *d)
{
    /* Accept "ab:cd:..." as openssl x509 -fingerprint prints it, and either case. */
    char hex[97];
    size_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p == ':' && (p - v) % 3 == 2)
            continue;
        char c = *p;
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!ok || n == 96) {
            char expected[200];
            snprintf(expected, sizeof(expected),
                     "must be the SHA-384 of the CMS TLS certificate, 96 hex digits (e.g. from `openssl x509 "
                     "-noout -fingerprint -sha384`); %s at position %zu",
                     ok ? "too long" : "not a hex digit", (size_t)(p - v) + 1);
            return bad_value(s, v, o, d, expected);
        }
        hex[n++] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    hex[n] = '\0';
    if (n != 96)
        return bad_value(s, v, o, d, "must be 96 hex digits (a SHA-384 digest)");
    return store_string(cfg, s, hex);
}

static int assign_duration(struct tagent_config *cfg, const struct setting *s, const char *v,
                           const struct value_origin *o, struct config_diags *d)
{
    int64_t ns;
    long long bare;
    if (parse_ll(v, &bare)) {
        /* Go (viper/cast) reads a bare integer as nanoseconds: "30" means 30ns, never what was meant. */
        if (!o->from_yml)
            return bad_value(
                s, v, o, d,
                "a duration needs a unit, e.g. 30s or 1m (the Go agent would read a bare number as "
                "nanoseconds)");
        config_diag_add(
            d, CONFIG_WARNING, o->file, o->line, o->key,
            "a bare number is a duration in nanoseconds, as the Go agent reads it; write e.g. 30s");
        ns = bare;
    } else if (config_duration_parse(v, &ns) < 0)
        return bad_value(s, v, o, d, "must be a duration such as 30s, 500ms or 1m30s");
    if (ns < s->min)
        return bad_value(s, v, o, d, "must be a positive duration");
    *(int64_t *)((char *)cfg + s->offset) = ns;
    return 0;
}

static int assign_int(struct tagent_config *cfg, const struct setting *s, const char *v,
                      const struct value_origin *o, struct config_diags *d)
{
    long long x;
    char expected[120];
    snprintf(expected, sizeof(expected), "must be a whole number from %lld to %lld", s->min, s->max);
    if (!parse_ll(v, &x))
        return bad_value(s, v, o, d, expected);
    if (s->kind == KIND_LOG_LENGTH && x < s->min && x >= 0) {
        config_diag_add(d, CONFIG_WARNING, o->file, o->line, o->key,
                        "%lld is below the minimum log line length; %lld is used", x, s->min);
        x = s->min;
    }
    if (x < s->min || x > s->max)
        return bad_value(s, v, o, d, expected);
    *(int *)((char *)cfg + s->offset) = (int)x;
    return 0;
}

static int assign_list(struct tagent_config *cfg, const struct setting *s, const char *v,
                       const struct value_origin *o, struct config_diags *d)
{
    struct item_ctx ctx = {0};
    char msg[300];
    int r;
    if ((s->kind == KIND_UUID_LIST || s->kind == KIND_LABEL_LIST) && strlen(v) > (size_t)s->max) {
        snprintf(msg, sizeof(msg), "is at most %lld characters long, as HVS accepts", s->max);
        return bad_value(s, v, o, d, msg);
    }
    switch (s->kind) {
    case KIND_SAN_LIST:
        r = config_list_for_each(v, check_san_item, &ctx);
        snprintf(msg, sizeof(msg),
                 "must be a comma-separated list of IP addresses and host names; item %s %s", ctx.bad,
                 ctx.why ? ctx.why : "");
        break;
    case KIND_UUID_LIST:
        r = config_list_for_each(v, check_uuid_item, &ctx);
        snprintf(msg, sizeof(msg), "must be a comma-separated list of flavor UUIDs; item %s %s", ctx.bad,
                 ctx.why ? ctx.why : "");
        break;
    case KIND_NATS_SERVERS:
        r = config_list_for_each(v, collect_nats_item, &ctx);
        snprintf(
            msg, sizeof(msg),
            "must be a comma-separated list of nats:// or tls:// URLs such as tls://nats.example.com:4222; "
            "item %s %s",
            ctx.bad, ctx.why ? ctx.why : "");
        break;
    default: r = 0;
    }
    free(ctx.url_error); /* msg holds its words */
    if (r == -ENOMEM || r < 0) {
        free_list(ctx.list);
        return r == -ENOMEM ? r : bad_value(s, v, o, d, msg);
    }
    if (s->kind != KIND_NATS_SERVERS)
        return store_string(cfg, s, v);
    free_list(cfg->nats_servers);
    cfg->nats_servers = ctx.list;
    cfg->n_nats_servers = ctx.n;
    return 0;
}

int setting_assign(struct tagent_config *cfg, const struct setting *s, const char *v,
                   const struct value_origin *o, struct config_diags *d)
{
    uint8_t secret[CONFIG_OWNER_SECRET_MAX];
    size_t secret_len;
    _cleanup_free_ char *why = NULL;
    int r;

    switch (s->kind) {
    case KIND_MODE:
        if (strcasecmp(v, "outbound") == 0)
            cfg->mode = CONFIG_MODE_OUTBOUND;
        else if (strcasecmp(v, "http") == 0)
            cfg->mode = CONFIG_MODE_HTTP;
        else
            return bad_value(s, v, o, d, "must be \"outbound\" (NATS) or \"http\"");
        return 0;
    case KIND_LOG_LEVEL:
        if (!parse_log_level(v, (enum config_log_level *)((char *)cfg + s->offset)))
            return bad_value(s, v, o, d, "must be one of error, warning, info, debug, trace");
        return 0;
    case KIND_BOOL:
        if (!parse_bool(v, (bool *)((char *)cfg + s->offset)))
            return bad_value(s, v, o, d, "must be true or false");
        return 0;
    case KIND_INT:
    case KIND_LOG_LENGTH: return assign_int(cfg, s, v, o, d);
    case KIND_DURATION: return assign_duration(cfg, s, v, o, d);
    case KIND_HTTPS_URL:
    case KIND_AAS_URL: return assign_url(cfg, s, v, o, d);
    case KIND_SHA384: return assign_sha384(cfg, s, v, o, d);
    case KIND_TEXT:
        if (!is_printable(v) || strlen(v) < (size_t)s->min || strlen(v) > (size_t)s->max) {
            char expected[100];
            snprintf(expected, sizeof(expected), "must be %lld to %lld printable characters", s->min, s->max);
            return bad_value(s, v, o, d, expected);
        }
        return store_string(cfg, s, v);
    case KIND_HOSTNAME:
        if (!config_hostname_valid(v))
            return bad_value(s, v, o, d,
                             "must be a valid host name (letters, digits, '-' and '.', labels of at most 63 "
                             "characters); AAS and the NATS subject trust-agent.<host-id> need one");
        return store_string(cfg, s, v);
    case KIND_SAN_LIST:
    case KIND_NATS_SERVERS:
    case KIND_UUID_LIST:
    case KIND_LABEL_LIST: return assign_list(cfg, s, v, o, d);
    case KIND_OWNER_SECRET:
        r = config_secret_decode(v, secret, &secret_len, &why);
        explicit_bzero(secret, sizeof(secret));
        if (r < 0 && !why)
            return -ENOMEM;
        if (r < 0) {
            char expected[300];
            snprintf(expected, sizeof(expected),
                     "%s; use 40 hex digits, \"hex:\" followed by hex digits, or up to 64 characters", why);
            return bad_value(s, v, o, d, expected);
        }
        return store_string(cfg, s, v);
    case KIND_TAG_SECRET:
        if (strncmp(v, "hex:", 4) != 0 || strlen(v) != 44 ||
            config_secret_decode(v, secret, &secret_len, NULL) < 0) {
            explicit_bzero(secret, sizeof(secret));
            return bad_value(s, v, o, d,
                             "must be \"hex:\" followed by 40 hex digits, as define-tag-index writes it");
        }
        explicit_bzero(secret, sizeof(secret));
        return store_string(cfg, s, v);
    case KIND_TOKEN:
        if (!is_token(v))
            return bad_value(s, v, o, d,
                             "must be a token without spaces or control characters (a JWT: three base64url "
                             "parts joined by dots)");
        return store_string(cfg, s, v);
    case KIND_IP:
        if (!is_ip(v))
            return bad_value(s, v, o, d, "must be an IPv4 or IPv6 address");
        return store_string(cfg, s, v);
    case KIND_IGNORED: return 0;
    }
    return 0;
}
