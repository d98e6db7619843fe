/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer: TCG event-log parsing, replay and the measure-log JSON. Properties: no crash, no leak, every
 * parsed event lies inside the buffer, and whatever parses replays and serialises without error. */
#include <stdint.h>
#include <stdlib.h>

#include "eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eventlog *log = NULL;
    char *error = NULL;
    struct eventlog_limits lim = {.max_log = 1 << 20, .max_event = 1 << 16};
    if (eventlog_parse(data, size, &lim, &log, &error) < 0) {
        if (!error)
            abort(); /* every failure must say why */
        free(error);
        return 0;
    }
    for (size_t i = 0; i < log->n_events; i++) {
        struct eventlog_event ev, *e = &ev;
        eventlog_event(log, i, &ev);
        if (e->data < log->buf || e->data + e->data_len > log->buf + log->len || e->pcr >= EVENTLOG_PCRS)
            abort();
    }
    struct eventlog_pcrs pcrs;
    char *json = NULL;
    if (eventlog_replay(log, &pcrs, &error) < 0 ||
        eventlog_measure_log_json(log, NULL, 0, false, &json, &error) < 0)
        abort();
    free(json);
    eventlog_free(log);
    return 0;
}
