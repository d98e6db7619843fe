/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CURRENT_IP as the Go agent names the host with it: create-host sends net.ParseIP(CURRENT_IP).String() as
 * the host name and in the connection string (pkg/tagent/util/connection_string.go), so HVS knows the host by
 * Go's canonical text of the address, not by what the operator typed.
 */
#ifndef TAGENT_HOST_IP_H
#define TAGENT_HOST_IP_H

#include <stdbool.h>
#include <stddef.h>

/* Go's net.IP.String() of the address text into out (at least 46 bytes): dotted decimal for IPv4 and for
 * IPv4-mapped IPv6 ("::ffff:127.0.0.1" -> "127.0.0.1"); otherwise lowercase hex groups without leading
 * zeros, the longest run of two or more zero groups (the first of equal runs) as "::" (RFC 5952; unlike
 * inet_ntop, "::127.0.0.1" stays hex: "::7f00:1"). *ret_v6 tells whether the result is an IPv6 address
 * (a URL needs it in brackets). -EINVAL when text is not an address inet_pton takes. */
int host_ip_go_string(const char *text, char *out, size_t size, bool *ret_v6);

#endif
