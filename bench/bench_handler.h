/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent's handler context in a bench process (bench_handler.c): what `tagent startService` sets up
 * before it serves, on a world's provisioned root and TPM, so a bench can time the handlers in process. */
#ifndef TAGENT_BENCH_HANDLER_H
#define TAGENT_BENCH_HANDLER_H

#include "config.h"
#include "handler.h" /* agent/service/handler.h: struct service_ctx */

struct bench_handler {
    struct tagent_config cfg;
    struct service_ctx ctx;
};

/* The provisioned config.yml of root, a TPM context on tcti, the measure log of root's securityfs log.
 * 0, or a negative errno after printing what failed (prefixed with who). */
int bench_handler_open(struct bench_handler *h, const char *root, const char *tcti, const char *who);
void bench_handler_close(struct bench_handler *h);

#endif
