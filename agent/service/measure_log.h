/* SPDX-License-Identifier: BSD-3-Clause */
/* The measure log quotes carry (measure_log.c). */
#ifndef TAGENT_MEASURE_LOG_H
#define TAGENT_MEASURE_LOG_H

#include "handler.h"

/* The measure-log JSON: from the live logs when this process can read them, else the copy `tagent init`
 * wrote; "" when there is neither (logged). *ret_json is NULL only on out of memory. */
void measure_log_load(const char *root, char **ret_json);
/* SIGHUP: builds it again and swaps it into ctx for the quotes that follow. */
void measure_log_reload(struct service_ctx *ctx);
/* A copy of the current measure-log JSON (caller frees; NULL on out of memory). */
char *service_measure_log(struct service_ctx *ctx);

#endif
