/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /etc/trustagent/config.yml in the Go agent's v5 layout, read and written with libyaml. Both directions are
 * driven by the settings table, so the file has exactly the keys and order of the table (which follows the
 * spec). Reading accepts what the Go agent writes (yaml.v3: block style, Go duration strings).
 */
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <yaml.h>

/* ---- reading ---- */

struct yml_reader {
    yaml_document_t *doc;
    const char *name;
    struct tagent_config *cfg;
    struct config_diags *diags;
    bool failed;
    bool oom;
};

static bool scalar_is_null(const yaml_node_t *n)
{
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return n->data.scalar.length == 0;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* A sequence of scalars joined with commas, the form the list settings take from trustagent.env. */
static char *join_sequence(yaml_document_t *doc, const yaml_node_t *seq, bool *ret_bad)
{
    size_t len = 1;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(doc, *it);
        if (!item || item->type != YAML_SCALAR_NODE) {
            *ret_bad = true;
            return NULL;
        }
        len += item->data.scalar.length + 1;
    }
    char *out = malloc(len), *w = out;
    if (!out)
        return NULL;
    /* A comma before every item but the first (not "when out is non-empty": an empty first item must stay
     * visible to the list's validation); each item up to its first NUL, so at most its length. */
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        const char *v = (const char *)yaml_document_get_node(doc, *it)->data.scalar.value;
        size_t n = strlen(v);
        if (it != seq->data.sequence.items.start)
            *w++ = ',';
        memcpy(w, v, n);
        w += n;
    }
    *w = '\0';
    return out;
}

static void read_value(struct yml_reader *r, const char *path, yaml_node_t *value)
{
    const struct setting *s = setting_by_yml(path);
    unsigned line = (unsigned)value->start_mark.line + 1;
    struct value_origin origin = {r->name, line, path, true};

    if (!s) {
        config_diag_add(r->diags, CONFIG_WARNING, r->name, line, path, "unknown key, ignored");
        return;
    }
    char *joined = NULL;
    const char *text = NULL;
    bool bad = false;
    if (value->type == YAML_SCALAR_NODE && !scalar_is_null(value))
        text = (const char *)value->data.scalar.value;
    else if (value->type == YAML_SEQUENCE_NODE && s->kind == KIND_NATS_SERVERS) {
        joined = join_sequence(r->doc, value, &bad);
        if (!joined && !bad) {
            r->oom = true;
            return;
        }
        text = joined && *joined ? joined : NULL;
    } else if (value->type != YAML_SCALAR_NODE)
        bad = true;

    if (bad) {
        config_diag_add(r->diags, CONFIG_ERROR, r->name, line, path, "has the wrong shape: expected %s",
                        s->kind == KIND_NATS_SERVERS ? "a list of URLs" : "a single value");
        r->failed = true;
    } else if (text && value->type == YAML_SCALAR_NODE && strlen(text) != value->data.scalar.length) {
        config_diag_add(r->diags, CONFIG_ERROR, r->name, line, path, "contains a NUL character");
        r->failed = true;
    } else if (text) {
        int rc = setting_assign(r->cfg, s, text, &origin, r->diags);
        r->oom |= rc == -ENOMEM;
        r->failed |= rc < 0;
    }
    if (joined) {
        OPENSSL_cleanse(joined, strlen(joined));
        free(joined);
    }
}

/* Walks a mapping. Only the top level holds nested groups (log, server, ...), so depth stops at 1. */
static void read_mapping(struct yml_reader *r, yaml_node_t *map, const char *prefix, int depth)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top && !r->oom;
         p++) {
        yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(r->doc, p->value);
        if (!k || !v)
            continue;
        if (k->type != YAML_SCALAR_NODE) {
            config_diag_add(r->diags, CONFIG_WARNING, r->name, (unsigned)k->start_mark.line + 1, NULL,
                            "a key that is not a plain name, ignored");
            continue;
        }
        char *path = NULL;
        if (asprintf(&path, "%s%s%s", prefix, *prefix ? "." : "", (const char *)k->data.scalar.value) < 0) {
            r->oom = true;
            return;
        }
        if (v->type == YAML_MAPPING_NODE && depth == 0)
            read_mapping(r, v, path, depth + 1);
        else
            read_value(r, path, v);
        free(path);
    }
}

int config_yml_parse(const char *buf, size_t len, const char *name, struct tagent_config *cfg,
                     struct config_diags *diags)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct yml_reader r = {.doc = &doc, .name = name ? name : "config.yml", .cfg = cfg, .diags = diags};

    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        config_diag_add(diags, CONFIG_ERROR, r.name, (unsigned)parser.problem_mark.line + 1, NULL,
                        "is not valid YAML: %s%s%s", parser.problem ? parser.problem : "parse error",
                        parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return -EINVAL;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_MAPPING_NODE)
        read_mapping(&r, root, "", 0);
    else if (root && !(root->type == YAML_SCALAR_NODE && scalar_is_null(root))) {
        config_diag_add(diags, CONFIG_ERROR, r.name, (unsigned)root->start_mark.line + 1, NULL,
                        "must be a mapping of settings (key: value)");
        r.failed = true;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return r.oom ? -ENOMEM : r.failed ? -EINVAL : 0;
}

int config_yml_load(const char *path, struct tagent_config *cfg, struct config_diags *diags)
{
    char *buf = NULL;
    size_t len = 0;
    int r = config_read_file(path, CONFIG_YML_MAX_FILE, &buf, &len);
    if (r == -ENOENT)
        return r;
    if (r < 0) {
        config_diag_add(diags, CONFIG_ERROR, path, 0, NULL, "cannot be read: %s",
                        r == -EFBIG ? "larger than 1 MiB, which no config.yml is" : strerror(-r));
        return r;
    }
    r = config_yml_parse(buf, len, path, cfg, diags);
    OPENSSL_cleanse(buf, len); /* it holds the tag secret and the API token */
    free(buf);
    return r;
}

/* ---- writing ---- */

struct out_buf {
    char *data;
    size_t len, cap;
    bool oom;
};

static int out_write(void *ctx, unsigned char *bytes, size_t size)
{
    struct out_buf *o = ctx;
    if (o->len + size + 1 > o->cap) {
        size_t cap = (o->len + size + 1) * 2;
        char *d = malloc(cap);
        if (!d) {
            o->oom = true;
            return 0;
        }
        /* Copy by hand instead of realloc so no stale copy of a secret is left behind in freed memory. */
        if (o->data) {
            memcpy(d, o->data, o->len);
            OPENSSL_cleanse(o->data, o->cap);
            free(o->data);
        }
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->len, bytes, size);
    o->len += size;
    o->data[o->len] = '\0';
    return 1;
}

static bool emit_scalar(yaml_emitter_t *e, const char *v, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    return yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)v, (int)strlen(v), 1, 1, style) &&
           yaml_emitter_emit(e, &ev);
}

static bool emit_simple(yaml_emitter_t *e, int type)
{
    yaml_event_t ev;
    int ok;
    switch (type) {
    case YAML_MAPPING_START_EVENT:
        ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        break;
    case YAML_SEQUENCE_START_EVENT:
        ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        break;
    case YAML_MAPPING_END_EVENT: ok = yaml_mapping_end_event_initialize(&ev); break;
    default: ok = yaml_sequence_end_event_initialize(&ev);
    }
    return ok && yaml_emitter_emit(e, &ev);
}

/* One setting's value, formatted per kind. Strings are double-quoted so that "1443" or "true" typed as a
 * string never reads back as a number or a bool. */
static bool emit_setting(yaml_emitter_t *e, const struct tagent_config *cfg, const struct setting *s)
{
    const void *field = (const char *)cfg + s->offset;
    char buf[CONFIG_DURATION_BUF];
    switch (s->kind) {
    case KIND_MODE: return emit_scalar(e, config_mode_name(cfg->mode), YAML_PLAIN_SCALAR_STYLE);
    case KIND_LOG_LEVEL:
        return emit_scalar(e, config_log_level_name(cfg->log.level), YAML_PLAIN_SCALAR_STYLE);
    case KIND_BOOL: return emit_scalar(e, *(const bool *)field ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
    case KIND_INT:
    case KIND_LOG_LENGTH:
        snprintf(buf, sizeof(buf), "%d", *(const int *)field);
        return emit_scalar(e, buf, YAML_PLAIN_SCALAR_STYLE);
    case KIND_DURATION:
        config_duration_format(*(const int64_t *)field, buf);
        return emit_scalar(e, buf, YAML_PLAIN_SCALAR_STYLE);
    case KIND_NATS_SERVERS:
        if (!emit_simple(e, YAML_SEQUENCE_START_EVENT))
            return false;
        for (size_t i = 0; i < cfg->n_nats_servers; i++)
            if (!emit_scalar(e, cfg->nats_servers[i], YAML_DOUBLE_QUOTED_SCALAR_STYLE))
                return false;
        return emit_simple(e, YAML_SEQUENCE_END_EVENT);
    default: {
        const char *v = *(char *const *)field;
        return emit_scalar(e, v ? v : "", YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    }
    }
}

/* The stream, the document and the top-level mapping: what comes before the first setting. */
static bool emit_document_start(yaml_emitter_t *e)
{
    yaml_event_t ev;
    return yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && yaml_emitter_emit(e, &ev) &&
           yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) && yaml_emitter_emit(e, &ev) &&
           emit_simple(e, YAML_MAPPING_START_EVENT);
}

/* Closes what emit_document_start opened and flushes the emitter. */
static bool emit_document_end(yaml_emitter_t *e)
{
    yaml_event_t ev;
    return emit_simple(e, YAML_MAPPING_END_EVENT) && yaml_document_end_event_initialize(&ev, 1) &&
           yaml_emitter_emit(e, &ev) && yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(e, &ev) &&
           yaml_emitter_flush(e);
}

#define YML_GROUP_MAX 32 /* "server", "nats", ...: the longest group name and its NUL fit */

/* Settings named "group.key" sit in a nested mapping "group:"; config_settings lists each group's settings
 * together. When the setting named yml is in another group than group (the one open, "" at top level), closes
 * that mapping and opens the new one, and updates group. */
static bool emit_group_switch(yaml_emitter_t *e, char group[static YML_GROUP_MAX], const char *yml)
{
    const char *dot = strchr(yml, '.');
    size_t glen = dot ? (size_t)(dot - yml) : 0;
    if (strlen(group) == glen && strncmp(group, yml, glen) == 0)
        return true;
    if (*group && !emit_simple(e, YAML_MAPPING_END_EVENT))
        return false;
    snprintf(group, YML_GROUP_MAX, "%.*s", (int)glen, yml);
    return !*group ||
           (emit_scalar(e, group, YAML_PLAIN_SCALAR_STYLE) && emit_simple(e, YAML_MAPPING_START_EVENT));
}

static bool emit_config(yaml_emitter_t *e, const struct tagent_config *cfg)
{
    if (!emit_document_start(e))
        return false;
    char group[YML_GROUP_MAX] = ""; /* the nested mapping we are in, "" at top level */
    for (size_t i = 0; i < config_n_settings; i++) {
        const struct setting *s = &config_settings[i];
        if (!s->yml)
            continue;
        const char *dot = strchr(s->yml, '.');
        if (!emit_group_switch(e, group, s->yml) ||
            !emit_scalar(e, dot ? dot + 1 : s->yml, YAML_PLAIN_SCALAR_STYLE) || !emit_setting(e, cfg, s))
            return false;
    }
    if (*group && !emit_simple(e, YAML_MAPPING_END_EVENT))
        return false;
    return emit_document_end(e);
}

int config_yml_format(const struct tagent_config *cfg, char **ret_buf, size_t *ret_len)
{
    yaml_emitter_t e;
    struct out_buf out = {0};
    if (!yaml_emitter_initialize(&e))
        return -ENOMEM;
    yaml_emitter_set_output(&e, out_write, &out);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1); /* never fold a long token over two lines */
    bool ok = emit_config(&e, cfg);
    yaml_emitter_delete(&e);
    if (!ok || out.oom) {
        if (out.data) {
            OPENSSL_cleanse(out.data, out.cap);
            free(out.data);
        }
        return out.oom ? -ENOMEM : -EINVAL;
    }
    *ret_buf = out.data;
    *ret_len = out.len;
    return 0;
}

int config_yml_save(const char *path, const struct tagent_config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    int r = config_yml_format(cfg, &buf, &len);
    if (r < 0)
        return r;
    r = config_write_file_atomic(path, buf, len, CONFIG_YML_MODE);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return r;
}
