/* SPDX-License-Identifier: BSD-3-Clause */
/* The status socket (status_socket.c): serves the status document (service_status.h) to `tagent status`. */
#ifndef TAGENT_STATUS_SOCKET_H
#define TAGENT_STATUS_SOCKET_H

#define STATUS_SOCKET_PATH "/run/tagent/status.sock"

typedef struct status_socket status_socket_t;

/* Binds <root>/run/tagent/status.sock (creating run/tagent 0755 if needed) and serves it on a thread.
 * -EADDRINUSE when another tagent already answers on it; *ret_error says what failed (caller frees). */
int status_socket_start(const char *root, status_socket_t **ret_sock, char **ret_error);
/* Stops the thread, removes the socket file. NULL is fine. */
void status_socket_stop(status_socket_t *sock);

#endif
