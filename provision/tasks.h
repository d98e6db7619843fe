/* SPDX-License-Identifier: BSD-3-Clause */
/* Private: one extern per task file. */
#ifndef TAGENT_PROVISION_TASKS_H
#define TAGENT_PROVISION_TASKS_H

#include "provision.h"

extern const struct provision_task task_update_service_config, task_download_ca_cert,
    task_download_privacy_ca, task_take_ownership, task_define_tag_index, task_provision_aik,
    task_provision_primary_key, task_download_api_token, task_download_credential, task_download_cert,
    task_create_host, task_create_host_unique_flavor;

#endif
