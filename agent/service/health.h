/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TPM's health and systemd's watchdog (health.c): a thread asks the TPM whenever nothing proved it alive
 * for a probe period (a successful quote does: service_status_tpm), and sends WATCHDOG=1 every WatchdogSec/2
 * as long as it makes progress. The pings mean "alive and not wedged", not "healthy": NATS and TPM health
 * show in STATUS= and `tagent status`. Only a TPM call that never returns (the thread is stuck in it) ends
 * the pings, and systemd restarts the service after WatchdogSec.
 */
#ifndef TAGENT_HEALTH_H
#define TAGENT_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "quote.h"

#define HEALTH_PROBE_MS 5000 /* a TPM not heard from for this long is asked */

typedef struct health health_t;

/* link_up(link_data): whether the NATS link is connected now (called on the health thread; only logged). The
 * watchdog period comes from systemd's WATCHDOG_USEC (sd_watchdog_enabled); probes are made often enough that
 * a ping is never missed. 0, or -EAGAIN when the thread cannot start. */
int health_start(tpm_t *tpm, bool (*link_up)(void *link_data), void *link_data, health_t **ret_health);
/* Ends the thread; false when it is stuck in a TPM call (then health must not be freed). */
bool health_stop(health_t *health);
void health_free(health_t *health);

#endif
