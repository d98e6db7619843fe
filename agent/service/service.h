/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent startService`: the outbound NATS service (spec 4.2), the folder's entry point.
 *
 * Every request gets exactly one reply: the handler's, or an error reply when the handler fails, the
 * request is malformed, the subject is unknown, the reply would exceed the server's max payload, the work
 * queue is full, the per-request deadline passes, or the service shuts down. How a failure is answered so
 * that HVS's own client returns an error depends on the subject: service_error.h.
 */
#ifndef TAGENT_SERVICE_H
#define TAGENT_SERVICE_H

/* Runs until SIGTERM/SIGINT (SIGHUP re-reads the event log); returns the exit status (0 after a clean stop).
 */
int service_run(const char *root);

#endif
