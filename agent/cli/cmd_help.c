/* SPDX-License-Identifier: BSD-3-Clause */
#include "cli.h"
#include "provision.h"

#include <stdio.h>

static void print_usage(FILE *f)
{
    command_print_usage(f);

    fprintf(f, "\nSetup tasks (tagent setup <task>... | all):\n");
    for (size_t i = 0; provision_tasks[i]; i++)
        fprintf(f, "  %-44s %s\n", provision_tasks[i]->name, provision_tasks[i]->summary);

    fprintf(
        f,
        "\nOptions:\n"
        "  --root DIR   treat DIR as / for every file the agent reads or writes (also TAGENT_ROOT)\n"
        "\ntrustagent.env keys (each may also come from the environment, which takes precedence):\n"
        "  TA_SERVICE_MODE          outbound (NATS) or http\n"
        "  HVS_URL                  https://<hvs>:8443/hvs/v2\n"
        "  AAS_API_URL              https://<aas>:8444/aas/v1 (also AAS_BASE_URL)\n"
        "  CMS_BASE_URL             https://<cms>:8445/cms/v1\n"
        "  CMS_TLS_CERT_SHA384      SHA-384 of the CMS TLS certificate (96 hex digits)\n"
        "  BEARER_TOKEN             installation token from AAS (never stored)\n"
        "  TPM_OWNER_SECRET         40 hex digits, hex:<digits> or up to 64 characters (never stored)\n"
        "  TPM_ENDORSEMENT_SECRET   same format as TPM_OWNER_SECRET\n"
        "  NATS_SERVERS             comma-separated nats:// or tls:// URLs (outbound mode)\n"
        "  TA_HOST_ID               this host's id in NATS subjects (also NATS_HOST_ID; default: host name)\n"
        "  TA_TLS_CERT_CN           TLS certificate common name (also TLS_COMMON_NAME)\n"
        "  SAN_LIST                 TLS certificate SANs (also TLS_SAN_LIST)\n"
        "  SERVER_PORT              http mode port, 1024-65535 (also TRUSTAGENT_PORT)\n"
        "  SERVER_*_TIMEOUT         Go durations such as 30s (READ, READ_HEADER, WRITE, IDLE; TA_ prefix "
        "too)\n"
        "  SERVER_MAX_HEADER_BYTES  http mode header limit (also TA_SERVER_MAX_HEADER_BYTES)\n"
        "  LOG_LEVEL                error, warning, info, debug or trace (also TRUSTAGENT_LOG_LEVEL)\n"
        "  LOG_MAX_LENGTH           longest log line, at least 3000 (also LOG_ENTRY_MAXLENGTH)\n"
        "  LOG_ENABLE_STDOUT        true or false (also TA_ENABLE_CONSOLE_LOG)\n"
        "  IMA_MEASURE_ENABLED      true or false\n"
        "  TAGENT_TCTI              TPM access, e.g. device:/dev/tpmrm0 (the default)\n"
        "\nEnvironment only:\n"
        "  TAGENT_ROOT              as --root DIR\n"
        "  TAGENT_LOG_TARGET        journal or stderr: where log lines go (default: the journal when stderr "
        "is\n"
        "                           the service's journal stream or NOTIFY_SOCKET is set, else stderr)\n");
}

int cmd_help_run(struct tagent_cli *cli, int argc, char **argv)
{
    print_usage(stdout);
    return TAGENT_EXIT_OK;
}
