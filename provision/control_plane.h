/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to provision/: what the CMS/AAS/HVS tasks share — requests with the agent's trust and token,
 * files written where the Go agent writes them, and diagnostics. */
#ifndef TAGENT_PROVISION_CONTROL_PLANE_H
#define TAGENT_PROVISION_CONTROL_PLANE_H

#include <openssl/x509.h>

#include "provision.h"
#include "transport.h"

/* Adds an error diagnostic (the task's "why"). Returns r. */
__attribute__((format(printf, 3, 4))) int cp_error(struct provision_ctx *ctx, int r, const char *fmt, ...);

/* Checks a setting the task needs ("HVS_URL", ctx->cfg->hvs_url); reports and returns -EINVAL when unset. */
int cp_require(struct provision_ctx *ctx, const char *value, const char *key, const char *what);

/* The settings a request with the installation token needs: the service's URL (url_key, e.g. "HVS_URL";
 * service, e.g. "HVS") and BEARER_TOKEN. Reports what is unset as cp_require does; -EINVAL then. */
int cp_require_service(struct provision_ctx *ctx, const char *url, const char *url_key, const char *service);

/* One HTTPS request with the agent's trust (/etc/trustagent/cacerts + the system store) and bearer, retrying
 * connection errors and 5xx `retries` times; no status check. 0 with *ret_url (the full URL, for messages;
 * caller frees), or a negative errno with *ret_error (caller frees; may be NULL). */
int cp_https(const char *root, const char *bearer, const char *method, const char *base, const char *path,
             const char *const *headers, const char *body, unsigned retries, struct https_response *ret,
             char **ret_url, char **ret_error);

/* A request to the control plane: trust = /etc/trustagent/cacerts + the system store, the bearer token,
 * retries for connection errors and 5xx. expect: the only status accepted. Reports every failure. */
int cp_request(struct provision_ctx *ctx, const char *method, const char *base, const char *path,
               const char *const *headers, const char *body, long expect, struct https_response *ret);

/* cp_request() POSTing the body body_fmt makes (printf-style: the JSON documents the tasks send). */
__attribute__((format(printf, 7, 8))) int cp_post(struct provision_ctx *ctx, const char *base,
                                                  const char *path, const char *const *headers, long expect,
                                                  struct https_response *ret, const char *body_fmt, ...);

/* root + abs, its directory created (0755 unless dir_mode), written atomically with mode. */
int cp_write(struct provision_ctx *ctx, const char *abs, const void *data, size_t len, mode_t mode,
             mode_t dir_mode);

/* Reads root + abs (at most 1 MiB); -ENOENT when absent (not reported). */
int cp_read(struct provision_ctx *ctx, const char *abs, char **ret, size_t *ret_len);

/* The first certificate of a PEM text (a file read, a server's answer). -EBADMSG when there is none. */
int cp_cert_from_pem(const void *pem, size_t len, X509 **ret_cert);

/* x as PEM, written as cp_write() does (directory 0755) with mode; -ENOMEM when OpenSSL cannot encode it. */
int cp_write_cert_pem(struct provision_ctx *ctx, const char *abs, X509 *x, mode_t mode);

#endif
