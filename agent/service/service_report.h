/* SPDX-License-Identifier: BSD-3-Clause */
/* The start-up report request (spec 3.7), run as a child `tagent async-report` (service_report.c). */
#ifndef TAGENT_SERVICE_REPORT_H
#define TAGENT_SERVICE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct service_report {
    pid_t pid;       /* the running `tagent async-report`, or 0 */
    int64_t next_ms; /* monotonic time of the next attempt */
    bool done;
};
/* Starts the child when due, reaps it, schedules the retry; call about once a second once connected. */
void service_report_poll(struct service_report *rep, const char *root);
/* Ends a running child (SIGTERM) and reaps it. */
void service_report_stop(struct service_report *rep);

#endif
