/* SPDX-License-Identifier: BSD-3-Clause */
#include "tcg_alg.h"

#include <strings.h>

static const struct tcg_alg algs[] = {
    {TCG_ALG_SHA1, "SHA1", 20, "SHA1", true},
    {TCG_ALG_SHA256, "SHA256", 32, "SHA256", true},
    {TCG_ALG_SHA384, "SHA384", 48, "SHA384", true},
    /* in TCG logs and tpm2-tools, but HVS has no PCR bank of these */
    {TCG_ALG_SHA512, "SHA512", 64, "SHA512", false},
    {TCG_ALG_SM3_256, "SM3_256", 32, "SM3", false},
};

const struct tcg_alg *tcg_alg_from_id(uint16_t id)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (algs[i].id == id)
            return &algs[i];
    return NULL;
}

const char *tcg_alg_name(uint16_t id)
{
    const struct tcg_alg *a = tcg_alg_from_id(id);
    return a ? a->name : NULL;
}

size_t tcg_alg_size(uint16_t id)
{
    const struct tcg_alg *a = tcg_alg_from_id(id);
    return a ? a->size : 0;
}

const struct tcg_alg *tcg_alg_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (strcasecmp(algs[i].name, name) == 0)
            return &algs[i];
    return NULL;
}

const struct tcg_alg *tcg_algs(size_t *ret_n)
{
    *ret_n = sizeof(algs) / sizeof(algs[0]);
    return algs;
}
