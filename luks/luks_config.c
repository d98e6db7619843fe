/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * luks_config_file.yaml (spec 3.5, docs/tep-formats.md section 6): a flat mapping read with libyaml's event
 * API, so that duplicate keys (which the document API silently merges away) and nesting are seen and refused.
 * Every error names the key and the line: the owner writes this file by hand, and a device that refuses to
 * unlock must say exactly what to fix.
 */
#include "cleanup.h"
#include "config.h"
#include "error.h"
#include "luks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

enum key_id {
    K_VERSION,
    K_DEV_PART,
    K_AUTH_POL,
    K_POL_FILE,
    K_POL_FILE_SIGN,
    K_PCR_BANK,
    K_PCRS,
    K_SEALED_HANDLE,
    K_PUBKEY_NV_INDEX,
    K_MAPPER_NAME,
    K_INTEGRITY,
    K_SIGNED_STATES,
    K_RECOVERY_KEY,
    K_CLOSING_PCR,
    K_COUNT,
};

static const char *const key_names[K_COUNT] = {
    [K_VERSION] = "version",
    [K_DEV_PART] = "dev_part",
    [K_AUTH_POL] = "auth_pol",
    [K_POL_FILE] = "pol_file",
    [K_POL_FILE_SIGN] = "pol_file_sign",
    [K_PCR_BANK] = "pcr_bank",
    [K_PCRS] = "pcrs",
    [K_SEALED_HANDLE] = "sealed_handle",
    [K_PUBKEY_NV_INDEX] = "pubkey_nv_index",
    [K_MAPPER_NAME] = "mapper_name",
    [K_INTEGRITY] = "integrity",
    [K_SIGNED_STATES] = "signed_states",
    [K_RECOVERY_KEY] = "recovery_key",
    [K_CLOSING_PCR] = "closing_pcr",
};

static const bool key_required[K_COUNT] = {
    [K_VERSION] = true,  [K_DEV_PART] = true,      [K_AUTH_POL] = true,
    [K_POL_FILE] = true, [K_POL_FILE_SIGN] = true, [K_PCR_BANK] = true,
};

struct reader {
    yaml_parser_t parser;
    yaml_event_t ev;
    bool have_ev;
    const char *root;
    struct luks_config *cfg;
    unsigned seen_line[K_COUNT]; /* 0: not seen */
};

static unsigned ev_line(const yaml_event_t *ev)
{
    return (unsigned)ev->start_mark.line + 1;
}

static int next_event(struct reader *r, char **ret_error)
{
    if (r->have_ev)
        yaml_event_delete(&r->ev);
    r->have_ev = false;
    if (!yaml_parser_parse(&r->parser, &r->ev))
        return error_set(ret_error, -EINVAL, "line %u: not valid YAML: %s",
                         (unsigned)r->parser.problem_mark.line + 1,
                         r->parser.problem ? r->parser.problem : "syntax error");
    r->have_ev = true;
    if (r->ev.type == YAML_ALIAS_EVENT)
        return error_set(ret_error, -EINVAL, "line %u: aliases are not allowed", ev_line(&r->ev));
    return 0;
}

static int expect(struct reader *r, yaml_event_type_t type, const char *what, char **ret_error)
{
    int ret = next_event(r, ret_error);
    if (ret < 0)
        return ret;
    if (r->ev.type != type)
        return error_set(ret_error, -EINVAL, "line %u: expected %s", ev_line(&r->ev), what);
    return 0;
}

static const char *scalar(const yaml_event_t *ev)
{
    return (const char *)ev->data.scalar.value;
}

/* A plain (unquoted) non-negative integer, decimal or 0x hex, at most max. */
static int parse_uint(const yaml_event_t *ev, const char *key, uint64_t max, uint64_t *ret, char **ret_error)
{
    const char *s = scalar(ev);
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !*s ||
        *s == '-' || *s == '+' || ev->data.scalar.length != strlen(s))
        return error_set(ret_error, -EINVAL, "%s (line %u): expected a number", key, ev_line(ev));
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
    if (errno || *end || v > max)
        return error_set(ret_error, -EINVAL, "%s (line %u): \"%s\" is not a number from 0 to %" PRIu64, key,
                         ev_line(ev), s, max);
    *ret = v;
    return 0;
}

static int parse_path(struct reader *r, const char *key, char **ret_path, char **ret_error)
{
    const char *s = scalar(&r->ev);
    if (r->ev.data.scalar.length != strlen(s) || s[0] != '/')
        return error_set(ret_error, -EINVAL, "%s (line %u): \"%s\" is not an absolute path", key,
                         ev_line(&r->ev), s);
    if (strstr(s, "/../") || (strlen(s) >= 3 && !strcmp(s + strlen(s) - 3, "/..")))
        return error_set(ret_error, -EINVAL, "%s (line %u): \"..\" is not allowed in a path", key,
                         ev_line(&r->ev));
    *ret_path = config_path(r->root, s);
    return *ret_path ? 0 : -ENOMEM;
}

static int parse_pcrs(struct reader *r, const char *key, char **ret_error)
{
    unsigned line = ev_line(&r->ev);
    if (r->ev.type != YAML_SEQUENCE_START_EVENT)
        return error_set(ret_error, -EINVAL, "%s (line %u): expected a list of PCR numbers", key, line);
    uint32_t mask = 0;
    for (;;) {
        int ret = next_event(r, ret_error);
        if (ret < 0)
            return ret;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT)
            break;
        uint64_t pcr = 0;
        if ((ret = parse_uint(&r->ev, key, LUKS_POLICY_PCRS - 1, &pcr, ret_error)) < 0)
            return ret;
        if (mask & (1u << pcr))
            return error_set(ret_error, -EINVAL, "%s (line %u): PCR %" PRIu64 " is listed twice", key,
                             ev_line(&r->ev), pcr);
        mask |= 1u << pcr;
    }
    if (!mask)
        return error_set(ret_error, -EINVAL, "%s (line %u): the list is empty", key, line);
    r->cfg->pcr_mask = mask;
    return 0;
}

static int parse_value(struct reader *r, enum key_id k, char **ret_error)
{
    const char *key = key_names[k];
    struct luks_config *c = r->cfg;
    if (k == K_PCRS)
        return parse_pcrs(r, key, ret_error);
    if (r->ev.type != YAML_SCALAR_EVENT)
        return error_set(ret_error, -EINVAL, "%s (line %u): expected a single value", key, ev_line(&r->ev));
    const char *s = scalar(&r->ev);
    uint64_t v = 0;
    int ret = 0;
    switch (k) {
    case K_VERSION:
        if ((ret = parse_uint(&r->ev, key, UINT32_MAX, &v, ret_error)) < 0)
            return ret;
        if (v != 1)
            return error_set(ret_error, -EINVAL,
                             "%s (line %u): version %" PRIu64 " is not supported (only 1)", key,
                             ev_line(&r->ev), v);
        return 0;
    case K_DEV_PART: return parse_path(r, key, &c->dev_part, ret_error);
    case K_AUTH_POL: return parse_path(r, key, &c->auth_pol, ret_error);
    case K_POL_FILE: return parse_path(r, key, &c->pol_file, ret_error);
    case K_POL_FILE_SIGN: return parse_path(r, key, &c->pol_file_sign, ret_error);
    case K_SIGNED_STATES: return parse_path(r, key, &c->signed_states, ret_error);
    case K_RECOVERY_KEY: return parse_path(r, key, &c->recovery_key, ret_error);
    case K_PCR_BANK:
        if (!strcmp(s, "sha256"))
            c->pcr_bank = TPM_BANK_SHA256;
        else if (!strcmp(s, "sha384"))
            c->pcr_bank = TPM_BANK_SHA384;
        else
            return error_set(ret_error, -EINVAL, "%s (line %u): \"%s\" is not sha256 or sha384", key,
                             ev_line(&r->ev), s);
        return 0;
    case K_SEALED_HANDLE:
    case K_PUBKEY_NV_INDEX: {
        /* quote.h seals and reads at these handles only: another value would be silently ignored */
        uint32_t want = k == K_SEALED_HANDLE ? TPM_HANDLE_TEP_SEALED : TPM_NV_TEP_POLICY_KEY;
        if ((ret = parse_uint(&r->ev, key, UINT32_MAX, &v, ret_error)) < 0)
            return ret;
        if (v != want)
            return error_set(ret_error, -EINVAL, "%s (line %u): only 0x%08" PRIX32 " is supported", key,
                             ev_line(&r->ev), want);
        *(k == K_SEALED_HANDLE ? &c->sealed_handle : &c->pubkey_nv_index) = want;
        return 0;
    }
    case K_MAPPER_NAME: {
        size_t n = strlen(s);
        if (!n || n > 64 || n != r->ev.data.scalar.length ||
            strspn(s, "abcdefghijklmnopqrstuvwxyz"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
            return error_set(ret_error, -EINVAL, "%s (line %u): 1 to 64 letters, digits, _ and - expected",
                             key, ev_line(&r->ev));
        free(c->mapper_name);
        return (c->mapper_name = strdup(s)) ? 0 : -ENOMEM;
    }
    case K_INTEGRITY:
        if (!strcmp(s, "hmac-sha256"))
            c->integrity = true;
        else if (!strcmp(s, "none"))
            c->integrity = false;
        else
            return error_set(ret_error, -EINVAL, "%s (line %u): \"%s\" is not hmac-sha256 or none", key,
                             ev_line(&r->ev), s);
        return 0;
    case K_CLOSING_PCR:
        if ((ret = parse_uint(&r->ev, key, LUKS_POLICY_PCRS - 1, &v, ret_error)) < 0)
            return ret;
        c->closing_pcr = (uint32_t)v;
        return 0;
    default: return -EINVAL;
    }
}

static int parse_mapping(struct reader *r, char **ret_error)
{
    for (;;) {
        int ret = next_event(r, ret_error);
        if (ret < 0)
            return ret;
        if (r->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (r->ev.type != YAML_SCALAR_EVENT)
            return error_set(ret_error, -EINVAL, "line %u: expected a key", ev_line(&r->ev));
        const char *name = scalar(&r->ev);
        unsigned line = ev_line(&r->ev);
        enum key_id k = 0;
        while (k < K_COUNT && strcmp(key_names[k], name) != 0)
            k++;
        if (k == K_COUNT)
            return error_set(ret_error, -EINVAL, "%s (line %u): unknown key", name, line);
        if (r->seen_line[k])
            return error_set(ret_error, -EINVAL, "%s (line %u): duplicate key (first on line %u)", name, line,
                             r->seen_line[k]);
        r->seen_line[k] = line;
        if ((ret = next_event(r, ret_error)) < 0 || (ret = parse_value(r, k, ret_error)) < 0)
            return ret;
    }
}

static int parse_document(struct reader *r, char **ret_error)
{
    int ret;
    if ((ret = expect(r, YAML_STREAM_START_EVENT, "a YAML stream", ret_error)) < 0 ||
        (ret = expect(r, YAML_DOCUMENT_START_EVENT, "a document", ret_error)) < 0 ||
        (ret = expect(r, YAML_MAPPING_START_EVENT, "a mapping of keys to values", ret_error)) < 0 ||
        (ret = parse_mapping(r, ret_error)) < 0 ||
        (ret = expect(r, YAML_DOCUMENT_END_EVENT, "the end of the document", ret_error)) < 0 ||
        (ret = expect(r, YAML_STREAM_END_EVENT, "one document only", ret_error)) < 0)
        return ret;

    for (enum key_id k = 0; k < K_COUNT; k++)
        if (key_required[k] && !r->seen_line[k])
            return error_set(ret_error, -EINVAL, "%s: missing (a required key)", key_names[k]);
    struct luks_config *c = r->cfg;
    /* without closing_pcr: 10 when it is a policy PCR, else the highest one (tagent-admin luks config writes
     * no closing_pcr, and may write pcrs without 10) */
    if (!r->seen_line[K_CLOSING_PCR] && !(c->pcr_mask & (1u << c->closing_pcr)))
        for (uint32_t i = 0; i < LUKS_POLICY_PCRS; i++)
            if (c->pcr_mask & (1u << i))
                c->closing_pcr = i;
    if (!(c->pcr_mask & (1u << c->closing_pcr)))
        return error_set(ret_error, -EINVAL, "closing_pcr (line %u): PCR %" PRIu32 " is not one of pcrs",
                         r->seen_line[K_CLOSING_PCR], c->closing_pcr);
    if (!c->mapper_name && !(c->mapper_name = strdup("tep_luks")))
        return -ENOMEM;
    return 0;
}

int luks_config_parse(const char *yaml, size_t len, const char *root, struct luks_config *ret,
                      char **ret_error)
{
    *ret = (struct luks_config){
        .pcr_mask = LUKS_DEFAULT_PCRS,
        .closing_pcr = 10,
        .sealed_handle = TPM_HANDLE_TEP_SEALED,
        .pubkey_nv_index = TPM_NV_TEP_POLICY_KEY,
        .integrity = true,
    };
    struct reader r = {.root = root ? root : "", .cfg = ret};
    if (!yaml_parser_initialize(&r.parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)yaml, len);
    int r_ = parse_document(&r, ret_error);
    if (r.have_ev)
        yaml_event_delete(&r.ev);
    yaml_parser_delete(&r.parser);
    if (r_ < 0)
        luks_config_clear(ret);
    return r_;
}

/* A regular file (not a link) of min..max bytes, read whole. */
static int read_sized(const char *key, const char *path, size_t min, size_t max, uint8_t *out,
                      size_t *ret_len, char **ret_error)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return error_set(ret_error, -errno, "%s: %s: %s", key, path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return error_set(ret_error, -EINVAL, "%s: %s is not a regular file", key, path);
    if ((size_t)st.st_size < min || (size_t)st.st_size > max)
        return error_set(ret_error, -EINVAL, "%s: %s has %lld bytes, expected %zu%s%zu", key, path,
                         (long long)st.st_size, min, min == max ? "" : " to ", min == max ? (size_t)0 : max);
    _cleanup_free_ char *buf = NULL;
    size_t n = 0;
    int r = config_read_file(path, max, &buf, &n);
    if (r < 0)
        return error_set(ret_error, r, "%s: cannot read %s: %s", key, path, strerror(-r));
    if (n < min || n > max)
        return error_set(ret_error, -EINVAL, "%s: %s changed while read", key, path);
    if (out)
        memcpy(out, buf, n);
    if (ret_len)
        *ret_len = n;
    return 0;
}

static int load_files(struct luks_config *c, char **ret_error)
{
    int r;
    if ((r = read_sized("auth_pol", c->auth_pol, 32, 32, c->auth_policy, NULL, ret_error)) < 0 ||
        (r = read_sized("pol_file", c->pol_file, 32, 32, c->pol, NULL, ret_error)) < 0 ||
        (r = read_sized("pol_file_sign", c->pol_file_sign, 8, LUKS_POLICY_MAX_SIG, c->pol_sig,
                        &c->pol_sig_len, ret_error)) < 0)
        return r;
    /* the recovery passphrase is only sized here: it is read into locked memory when it is used */
    if (c->recovery_key) {
        struct stat st;
        if (lstat(c->recovery_key, &st) < 0)
            return error_set(ret_error, -errno, "recovery_key: %s: %s", c->recovery_key, strerror(errno));
        if (!S_ISREG(st.st_mode) || st.st_size < 1 || st.st_size > 512)
            return error_set(ret_error, -EINVAL, "recovery_key: %s is not a regular file of 1 to 512 bytes",
                             c->recovery_key);
    }
    if (c->signed_states) {
        _cleanup_free_ char *json = NULL, *error = NULL;
        size_t n = 0;
        if ((r = config_read_file(c->signed_states, 1 << 20, &json, &n)) < 0)
            return error_set(ret_error, r, "signed_states: cannot read %s: %s", c->signed_states,
                             strerror(-r));
        if ((r = luks_signed_states_parse(json, n, &c->states, &error)) < 0)
            return error_set(ret_error, r, "signed_states: %s: %s", c->signed_states,
                             error ? error : "out of memory");
    }
    return 0;
}

int luks_config_load(const char *root, const char *path, struct luks_config *ret, char **ret_error)
{
    _cleanup_free_ char *yaml = NULL, *error = NULL;
    size_t len = 0;
    int r = config_read_file(path, 64 * 1024, &yaml, &len);
    if (r < 0)
        return error_set(ret_error, r, "cannot read %s: %s", path, strerror(-r));
    if ((r = luks_config_parse(yaml, len, root, ret, &error)) < 0)
        return error_set(ret_error, r, "%s: %s", path, error ? error : "out of memory");
    if ((r = load_files(ret, &error)) < 0) {
        luks_config_clear(ret);
        return error_set(ret_error, r, "%s: %s", path, error ? error : "out of memory");
    }
    return 0;
}

void luks_config_clear(struct luks_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->dev_part);
    free(cfg->auth_pol);
    free(cfg->pol_file);
    free(cfg->pol_file_sign);
    free(cfg->signed_states);
    free(cfg->recovery_key);
    free(cfg->mapper_name);
    luks_signed_states_clear(&cfg->states);
    *cfg = (struct luks_config){0};
}
