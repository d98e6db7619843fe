/* SPDX-License-Identifier: BSD-3-Clause */
/* config.yml under the root prefix: the one place setup reads and writes it. */
#include "provision.h"

#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int provision_config_load(const char *root, struct tagent_config *cfg, bool *ret_exists,
                          struct config_diags *diags)
{
    _cleanup_free_ char *path = config_path(root, TAGENT_CONFIG_FILE);
    if (!path)
        return -ENOMEM;
    int r = config_init_defaults(cfg);
    if (r == 0) {
        r = config_yml_load(path, cfg, diags);
        *ret_exists = r != -ENOENT;
        if (r == -ENOENT)
            r = 0;
    }
    return r;
}

int provision_config_save(const char *root, const struct tagent_config *cfg, char **ret_error)
{
    _cleanup_free_ char *dir = config_path(root, TAGENT_CONFIG_DIR);
    _cleanup_free_ char *path = config_path(root, TAGENT_CONFIG_FILE);
    const char *why = NULL, *what = NULL;
    int r = dir && path ? 0 : -ENOMEM;
    if (r == 0 && (r = config_mkdir_p(dir, 0755)) < 0) {
        why = "cannot create";
        what = dir;
    }
    if (r == 0 && (r = config_yml_save(path, cfg)) < 0) {
        why = "cannot write";
        what = path;
    }
    /* the path: "Permission denied" or "No space left" alone does not say where */
    if (why && ret_error && asprintf(ret_error, "%s %s", why, what) < 0)
        *ret_error = NULL;
    return r;
}
