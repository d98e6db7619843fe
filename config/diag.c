/* SPDX-License-Identifier: BSD-3-Clause */
/* Diagnostics: collected, never printed here (library code does not talk to the user). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct config_diag *diag_slot(struct config_diags *d)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct config_diag *items = realloc(d->items, cap * sizeof(*items));
        if (!items)
            return NULL;
        d->items = items;
        d->cap = cap;
    }
    return &d->items[d->n];
}

void config_diag_add(struct config_diags *d, enum config_severity sev, const char *file, unsigned line,
                     const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    config_diag_addv(d, sev, file, line, key, fmt, ap);
    va_end(ap);
}

void config_diag_addv(struct config_diags *d, enum config_severity sev, const char *file, unsigned line,
                      const char *key, const char *fmt, va_list ap)
{
    if (!d)
        return;
    if (sev == CONFIG_ERROR)
        d->n_errors++; /* counted even if the text cannot be stored */

    struct config_diag *slot = diag_slot(d);
    if (!slot)
        return;

    char *msg = NULL;
    int r = vasprintf(&msg, fmt, ap);
    if (r < 0)
        return;

    *slot = (struct config_diag){
        .severity = sev,
        .file = file ? strdup(file) : NULL,
        .line = line,
        .key = key ? strdup(key) : NULL,
        .message = msg,
    };
    d->n++;
}

char *config_diag_format(const struct config_diag *diag)
{
    char where[64] = "";
    if (diag->line)
        snprintf(where, sizeof(where), ":%u", diag->line);

    char *out = NULL;
    int r = asprintf(&out, "%s%s%s%s%s%s", diag->file ? diag->file : "", where, diag->file ? ": " : "",
                     diag->key ? diag->key : "", diag->key ? ": " : "",
                     diag->message ? diag->message : "(out of memory)");
    return r < 0 ? NULL : out;
}

void config_diags_free(struct config_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].key);
        free(d->items[i].message);
    }
    free(d->items);
    *d = (struct config_diags){0};
}
