/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * systemd's two wire protocols the service speaks, without libsystemd: libsystemd would map libgcrypt,
 * liblzma, libzstd, liblz4, libcap and libgpg-error into every agent for two datagrams. Both protocols are
 * documented as stable interfaces for exactly this use (sd_notify(3) "Notes", systemd's "Native Journal
 * Protocol" page).
 *
 *   notify:  one datagram of "KEY=VALUE\n..." to $NOTIFY_SOCKET (a path, or '@' for the abstract namespace).
 *   journal: one datagram of fields to /run/systemd/journal/socket; "KEY=value\n" when the value has no
 *            newline, else "KEY\n" + 64-bit little-endian length + value + "\n". A message too large for a
 *            datagram goes as a sealed memfd passed with SCM_RIGHTS.
 *
 * Everything here uses libc only and allocates only for the journal datagram.
 */
#ifndef TAGENT_SD_WIRE_H
#define TAGENT_SD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Sends state ("READY=1", "STATUS=...") to $NOTIFY_SOCKET. 1 sent, 0 when there is no NOTIFY_SOCKET (not run
 * by systemd: nothing to tell), -errno when it could not be sent. */
int notify_send(const char *state);
int notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* systemd's watchdog interval for this process: 1 with *ret_usec set when WATCHDOG_USEC is set (and
 * WATCHDOG_PID, if set, is this process), 0 when there is no watchdog, -EINVAL for a value that is not a
 * positive number. */
int notify_watchdog_usec(uint64_t *ret_usec);

/* Sends one journal entry: each iov one "KEY=value" field (KEY: A-Z, 0-9 and '_', not starting with '_').
 * 0 sent, -errno when it could not be (no journald: -ENOENT or -ECONNREFUSED), -EINVAL for a malformed field.
 */
int journal_sendv(const struct iovec *fields, size_t n);
/* The same to another socket (tests). */
int journal_sendv_to(const char *socket_path, const struct iovec *fields, size_t n);

#endif
