/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent's handler context in a bench process (bench_handler.h). */
#include "bench_handler.h"
#include "cleanup.h"
#include "eventlog.h"
#include "provision.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECURITYFS_LOG "/sys/kernel/security/tpm0/binary_bios_measurements"

/* What the agent builds at start (agent/service/measure_log.c measure_log_load): the measure-log JSON of the
 * root's securityfs log; the handler puts it into every quote reply. */
static int measure_log(struct bench_handler *h, const char *root, const char *who)
{
    char *path = config_path(root, SECURITYFS_LOG), *error = NULL;
    struct eventlog *log = NULL;
    int r = path ? eventlog_load(path, NULL, &log, &error) : -ENOMEM;
    if (r == 0)
        r = eventlog_measure_log_json(log, NULL, 0, false, &h->ctx.measure_log, &error);
    if (r < 0)
        fprintf(stderr, "%s: measure log: %s\n", who, error ? error : strerror(-r));
    eventlog_free(log);
    free(error);
    free(path);
    return r;
}

int bench_handler_open(struct bench_handler *h, const char *root, const char *tcti, const char *who)
{
    struct config_diags diags = {0};
    _cleanup_free_ char *error = NULL;
    bool exists = false;
    int r = provision_config_load(root, &h->cfg, &exists, &diags);
    config_diags_free(&diags);
    if (r == 0 && !exists)
        r = -ENOENT;
    if (r < 0) {
        fprintf(stderr, "%s: config.yml of the world: %s\n", who, strerror(-r));
        return r;
    }
    h->ctx = (struct service_ctx){.root = root, .cfg = &h->cfg};
    if (h->cfg.tag_secret_key && tpm_auth_from_secret(h->cfg.tag_secret_key, &h->ctx.tag_auth, &error) < 0) {
        fprintf(stderr, "%s: tag secret: %s\n", who, error ? error : "out of memory");
        return -EINVAL;
    }
    if (tpm_open(tcti, &h->ctx.tpm, &error) < 0) {
        fprintf(stderr, "%s: tpm_open: %s\n", who, error ? error : "out of memory");
        return -EIO;
    }
    return measure_log(h, root, who);
}

void bench_handler_close(struct bench_handler *h)
{
    tpm_close(h->ctx.tpm);
    tpm_auth_clear(&h->ctx.tag_auth);
    free(h->ctx.measure_log);
    config_free(&h->cfg);
}
