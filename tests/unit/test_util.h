/* SPDX-License-Identifier: BSD-3-Clause */
/* Small helpers shared by the config unit tests. */
#ifndef TAGENT_TEST_UTIL_H
#define TAGENT_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

/* All diagnostics formatted, one per line, prefixed "E " or "W " (caller frees). */
static inline char *diags_text(const struct config_diags *d)
{
    size_t cap = 1, len = 0;
    char *out = calloc(1, 1);
    for (size_t i = 0; i < d->n; i++) {
        char *line = config_diag_format(&d->items[i]);
        assert_non_null(line);
        cap += strlen(line) + 3;
        char *bigger = realloc(out, cap);
        assert_non_null(bigger);
        out = bigger;
        len += (size_t)sprintf(out + len, "%c %s\n", d->items[i].severity == CONFIG_ERROR ? 'E' : 'W', line);
        free(line);
    }
    return out;
}

/* Asserts that some diagnostic has this severity, line and message fragment. */
static inline void assert_diag(const struct config_diags *d, enum config_severity sev, unsigned line,
                               const char *fragment)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->items[i].severity == sev && d->items[i].line == line && strstr(d->items[i].message, fragment))
            return;
    char *all = diags_text(d);
    fail_msg("no %s on line %u containing \"%s\"; diagnostics were:\n%s",
             sev == CONFIG_ERROR ? "error" : "warning", line, fragment, all);
    free(all);
}

#endif
