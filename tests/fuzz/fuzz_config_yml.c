/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer: config.yml reading. Properties: no crash, no leak, and whatever parses cleanly writes out and
 * reads back to the same configuration. */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config_diags d = {0};
    struct tagent_config cfg, back;
    if (config_init_defaults(&cfg) < 0)
        return 0;

    if (config_yml_parse((const char *)data, size, "fuzz.yml", &cfg, &d) == 0 && d.n == 0) {
        char *out = NULL;
        size_t len = 0;
        if (config_yml_format(&cfg, &out, &len) == 0 && config_init_defaults(&back) == 0) {
            struct config_diags d2 = {0};
            if (config_yml_parse(out, len, "again.yml", &back, &d2) != 0 || !config_equal(&cfg, &back))
                abort();
            config_free(&back);
            config_diags_free(&d2);
        }
        free(out);
    }
    config_free(&cfg);
    config_diags_free(&d);
    return 0;
}
