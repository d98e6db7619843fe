/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to eventlog/. */
#ifndef TAGENT_EVENTLOG_TCG_INTERNAL_H
#define TAGENT_EVENTLOG_TCG_INTERNAL_H

#include "eventlog.h"

/* The HVS tag of a UEFI-log event (spec section 6), or NULL when it has none. Caller frees. */
char *tcg_event_tag(const struct eventlog_event *e);

#endif
