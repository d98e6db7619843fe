/* SPDX-License-Identifier: BSD-3-Clause */
/* Private: one extern per task file. */
#ifndef TAGENT_PROVISION_TASKS_H
#define TAGENT_PROVISION_TASKS_H

#include "provision.h"

extern const struct provision_task task_update_service_config;

#endif
