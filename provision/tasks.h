/* SPDX-License-Identifier: BSD-3-Clause */
/* Private: one extern per task file. */
#ifndef TAGENT_PROVISION_TASKS_H
#define TAGENT_PROVISION_TASKS_H

#include "provision.h"

extern const struct provision_task task_update_service_config;
extern const struct provision_task task_take_ownership;
extern const struct provision_task task_define_tag_index;
extern const struct provision_task task_provision_primary_key;

#endif
