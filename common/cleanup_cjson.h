/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Typed cleanup for cJSON trees held in locals (cleanup.h explains the style):
 *
 *     _cleanup_(cJSON_Deletep) cJSON *root = cJSON_ParseWithLength(text, len);
 *
 * Header only; a module that uses it links libcjson itself.
 */
#ifndef TAGENT_CLEANUP_CJSON_H
#define TAGENT_CLEANUP_CJSON_H

#include <cjson/cJSON.h>

#include "cleanup.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete)

#endif
