/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer: TCG event-log parsing, replay and the measure-log JSON. Properties: no crash, no leak; a log
 * that parses accounts for every byte (the header, every event, the final PCR 0xffffffff record, then padding
 * that is all 0x00 or all 0xff, end to end with no gap or overlap); every event names PCR 0..23; whatever
 * parses replays and serialises without error; whatever fails says why. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "eventlog.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Where the record ev ends, checked to lie inside the buffer. */
static size_t record_end(const struct eventlog *log, const struct eventlog_event *ev)
{
    if (ev->data < log->buf || ev->data_len > log->len || ev->data + ev->data_len > log->buf + log->len)
        abort();
    return (size_t)(ev->data - log->buf) + ev->data_len;
}

/* Header + events + final record + padding == the buffer, each starting where the previous one ends. The
 * header's extent is computed here from its own size field (a crypto-agile log's Spec ID event is a 32-byte
 * TCG_PCR_EVENT header and its data); a SHA1-format log has none. */
static void check_every_byte(const struct eventlog *log)
{
    size_t pos = log->format == EVENTLOG_FORMAT_CRYPTO_AGILE ? 32 + (size_t)le32(log->buf + 28) : 0;
    for (size_t i = 0; i < log->n_events; i++) {
        struct eventlog_event ev;
        eventlog_event(log, i, &ev);
        if (ev.offset != pos || ev.pcr >= EVENTLOG_PCRS)
            abort();
        pos = record_end(log, &ev);
    }
    struct eventlog_event final;
    if (eventlog_final_record(log, &final) != log->has_final)
        abort();
    if (log->has_final) {
        if (final.offset != pos || log->final_offset != pos || final.pcr != UINT32_MAX || final.type != 3)
            abort();
        pos = record_end(log, &final);
    }
    if (pos != log->end || pos > log->len || log->trailing_bytes != (pos < log->len))
        abort();
    for (size_t i = pos; i < log->len; i++)
        if (log->buf[i] != log->buf[pos] || (log->buf[i] != 0x00 && log->buf[i] != 0xff))
            abort();
}

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
    check_every_byte(log);
    struct eventlog_pcrs pcrs;
    char *json = NULL;
    if (eventlog_replay(log, &pcrs, &error) < 0 ||
        eventlog_measure_log_json(log, NULL, 0, false, &json, &error) < 0)
        abort();
    free(json);
    eventlog_free(log);
    return 0;
}
