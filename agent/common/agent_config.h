/* SPDX-License-Identifier: BSD-3-Clause */
/* What the command line and the service share: config.yml loaded with its diagnostics logged. */
#ifndef TAGENT_AGENT_CONFIG_H
#define TAGENT_AGENT_CONFIG_H

struct tagent_config;

/* config.yml under root, its diagnostics logged with who ("startService: ..."); -ENOENT (logged, with what to
 * do) when the host is not provisioned. Registers the secrets it holds with the log redaction. */
int agent_config_load(const char *root, const char *who, struct tagent_config *cfg);

#endif
