/* SPDX-License-Identifier: BSD-3-Clause */
/* The task table: `setup all` runs it in this order (later issues add their tasks here). */
#include "provision.h"
#include "tasks.h"

#include <string.h>

const struct provision_task *const provision_tasks[] = {
    &task_update_service_config,
    /* download-ca-cert, download-privacy-ca: issue 5 */
    &task_take_ownership,
    &task_define_tag_index,
    /* provision-aik: issue 5 */
    &task_provision_primary_key,
    /* download-api-token, download-credential / download-cert: issue 5 */
    NULL,
};

const struct provision_task *provision_task_find(const char *name)
{
    for (size_t i = 0; provision_tasks[i]; i++)
        if (strcmp(provision_tasks[i]->name, name) == 0)
            return provision_tasks[i];
    return NULL;
}
