/* SPDX-License-Identifier: BSD-3-Clause */
/* Stub: the verifier is being written (issue 18); every request is refused until then. */
#include "token_auth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct token_auth {
    int unused;
};

int token_auth_new(const char *root, const struct tagent_config *cfg, struct token_auth **ret,
                   char **ret_error)
{
    (void)root;
    (void)cfg;
    struct token_auth *a = calloc(1, sizeof(*a));
    if (!a)
        return error_set(ret_error, -ENOMEM, "out of memory");
    *ret = a;
    return 0;
}

void token_auth_free(struct token_auth *a)
{
    free(a);
}

int token_auth_check(struct token_auth *a, const char *authorization, const char *permission,
                     char **ret_reason)
{
    (void)a;
    (void)authorization;
    (void)permission;
    *ret_reason = strdup("bearer token checking is not implemented");
    return 401;
}
