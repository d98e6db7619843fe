/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer: trustagent.env parsing + applying. Properties: no crash, no leak, and no diagnostic ever
 * contains the value of a secret key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* How often needle occurs in the input: a secret's text that also stands in a non-secret line may rightly be
 * echoed as part of that line's value (the logger masks it there), so only secrets unique to their line
 * are checked. */
static size_t occurrences(const uint8_t *data, size_t size, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const uint8_t *p = data; (p = memmem(p, size - (size_t)(p - data), needle, len)); p++)
        n++;
    return n;
}

static void check_no_secret_in(const uint8_t *data, size_t size, const struct config_env *env,
                               const struct config_diags *d)
{
    for (size_t i = 0; i < env->n; i++) {
        const char *v = env->entries[i].value;
        /* Short values can coincide with the fixed text of a message (an example URL, a key name): only
         * values long enough not to are checked. */
        if (!config_env_key_is_secret(env->entries[i].key) || strlen(v) < 24 ||
            occurrences(data, size, v) != 1)
            continue;
        for (size_t j = 0; j < d->n; j++) {
            char *line = config_diag_format(&d->items[j]);
            if (line && strstr(line, v))
                abort();
            free(line);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config_env env = {0};
    struct config_diags d = {0};
    struct tagent_config cfg;

    int r = config_env_parse((const char *)data, size, "fuzz.env", &env, &d);
    if ((r == 0 || r == -22) && config_init_defaults(&cfg) == 0) {
        config_apply_env(&cfg, &env, NULL, &d);
        config_check(&cfg, &d);
        check_no_secret_in(data, size, &env, &d);
        config_free(&cfg);
    }
    config_env_free(&env);
    config_diags_free(&d);
    return 0;
}
