/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libmicrohttpd, loaded when HTTP mode starts (http_mhd_load): an agent in NATS mode, the default, never maps
 * it and GnuTLS, nettle, gmp, p11-kit, libidn2, libunistring and libtasn1 behind it. <microhttpd.h> gives the
 * types and constants; the functions the server calls come from this table.
 */
#ifndef TAGENT_HTTP_MHD_H
#define TAGENT_HTTP_MHD_H

#include <microhttpd.h>

struct http_mhd {
    struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                       void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...);
    void (*stop_daemon)(struct MHD_Daemon *daemon);
    MHD_socket (*quiesce_daemon)(struct MHD_Daemon *daemon);
    struct MHD_Response *(*create_response_from_buffer)(size_t size, void *buffer,
                                                        enum MHD_ResponseMemoryMode mode);
    enum MHD_Result (*add_response_header)(struct MHD_Response *response, const char *header,
                                           const char *content);
    enum MHD_Result (*queue_response)(struct MHD_Connection *connection, unsigned int status_code,
                                      struct MHD_Response *response);
    void (*destroy_response)(struct MHD_Response *response);
    int (*get_connection_values)(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                                 MHD_KeyValueIterator iterator, void *iterator_cls);
    const char *(*lookup_connection_value)(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                                           const char *key);
};

/* The table, loading the library on the first call. 0 and *ret_api, or -errno and *ret_error (a sentence
 * that names the library and the package to install; caller frees). Thread-safe. */
int http_mhd_load(const struct http_mhd **ret_api, char **ret_error);

#endif
