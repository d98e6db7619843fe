/* SPDX-License-Identifier: BSD-3-Clause */
#include "http_mhd.h"

#include "dl_table.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MHD_SONAME "libmicrohttpd.so.12"

#define SYMBOLS(X)                                                                                           \
    X(start_daemon, "MHD_start_daemon")                                                                      \
    X(stop_daemon, "MHD_stop_daemon")                                                                        \
    X(quiesce_daemon, "MHD_quiesce_daemon")                                                                  \
    X(create_response_from_buffer, "MHD_create_response_from_buffer")                                        \
    X(add_response_header, "MHD_add_response_header")                                                        \
    X(queue_response, "MHD_queue_response")                                                                  \
    X(destroy_response, "MHD_destroy_response")                                                              \
    X(get_connection_values, "MHD_get_connection_values")                                                    \
    X(lookup_connection_value, "MHD_lookup_connection_value")

#define SYMBOL_ENTRY(member, name) {name, offsetof(struct http_mhd, member)},
static const struct dl_symbol symbols[] = {SYMBOLS(SYMBOL_ENTRY)};
#undef SYMBOL_ENTRY

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static struct http_mhd api;
static int load_rc;
static char load_why[512];

static void load(void)
{
    load_rc = dl_table_load(MHD_SONAME, "libmicrohttpd12", symbols, sizeof(symbols) / sizeof(symbols[0]),
                            &api, load_why, sizeof(load_why));
}

int http_mhd_load(const struct http_mhd **ret_api, char **ret_error)
{
    pthread_once(&load_once, load);
    if (load_rc < 0) {
        *ret_error = strdup(load_why);
        return load_rc;
    }
    *ret_api = &api;
    return 0;
}
