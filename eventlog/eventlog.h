/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eventlog/: the evidence HVS checks beside the quote (spec section 6).
 *   - TCG PC Client event logs, SHA1 (TCG_PCR_EVENT) and crypto-agile (TCG_PCR_EVENT2): parse, replay to
 *     PCR values per bank, and the HVS measure-log JSON;
 *   - IMA logs (ascii and binary runtime measurements): parse, recompute template hashes, replay PCR 10,
 *     and HVS's imaLogs JSON.
 * Depends on nothing else in the project. Nothing here prints: errors come back as messages.
 * Every length field in a log is untrusted: it is checked against what is left and against the limits.
 */
#ifndef TAGENT_EVENTLOG_H
#define TAGENT_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TPM2_ALG_ID of the digests a log may carry. */
#define EVENTLOG_ALG_SHA1    0x0004
#define EVENTLOG_ALG_SHA256  0x000b
#define EVENTLOG_ALG_SHA384  0x000c
#define EVENTLOG_ALG_SHA512  0x000d
#define EVENTLOG_ALG_SM3_256 0x0012

#define EVENTLOG_MAX_BANKS 8
#define EVENTLOG_PCRS      24
#define EVENTLOG_MAX_DIGEST 64

struct eventlog_limits {
    size_t max_log;   /* bytes of log read at most (default 64 MiB) */
    size_t max_event; /* bytes of one event's data (default 16 MiB) */
};
#define EVENTLOG_LIMITS_DEFAULT ((struct eventlog_limits){.max_log = 64u << 20, .max_event = 16u << 20})

/* ---- TCG PC Client event log ---- */

enum eventlog_format { EVENTLOG_FORMAT_SHA1, EVENTLOG_FORMAT_CRYPTO_AGILE };

struct eventlog_digest {
    uint16_t alg;
    uint16_t size;
    const uint8_t *value; /* points into the log's buffer */
};

struct eventlog_event {
    uint32_t pcr;
    uint32_t type;
    uint32_t n_digests;
    struct eventlog_digest digests[EVENTLOG_MAX_BANKS];
    const uint8_t *data; /* points into the log's buffer */
    uint32_t data_len;
    size_t offset; /* of the event in the log */
};

struct eventlog {
    enum eventlog_format format;
    uint32_t n_algs; /* from the Spec ID event (crypto-agile), else 1 (SHA1) */
    struct {
        uint16_t alg;
        uint16_t size;
    } algs[EVENTLOG_MAX_BANKS];
    struct eventlog_event *events; /* every event after the header (Spec ID) event, in log order */
    size_t n_events;
    size_t end;          /* offset where parsing stopped */
    bool trailing_bytes; /* padding after the last event (e.g. the ACPI region up to LAML): not an error */
    uint8_t *buf;        /* the log's bytes (owned) */
    size_t len;
};

/* Parses a whole log. Stops cleanly at padding (an all-zero or all-0xff record, a PCR index > 23 or a
 * digest count that is not the Spec ID's); an event cut off by the end of the buffer is an error. On error
 * returns a negative errno and *ret_error (caller frees) says which event, at which offset, and why. */
int eventlog_parse(const uint8_t *buf, size_t len, const struct eventlog_limits *limits, struct eventlog **ret_log,
                   char **ret_error);
void eventlog_free(struct eventlog *log);

/* Reads a file (at most limits->max_log bytes) and parses it. */
int eventlog_load(const char *path, const struct eventlog_limits *limits, struct eventlog **ret_log,
                  char **ret_error);

/* "EV_EFI_VARIABLE_BOOT", the TXT "LCP_CONTROL_HASH", or NULL for unknown types. */
const char *eventlog_type_name(uint32_t type);
/* "SHA256", ... or NULL. Digest size 20/32/48/64, or 0. */
const char *eventlog_alg_name(uint16_t alg);
size_t eventlog_alg_size(uint16_t alg);

/* ---- replay ---- */

struct eventlog_bank {
    uint16_t alg;
    uint16_t size;
    uint8_t pcr[EVENTLOG_PCRS][EVENTLOG_MAX_DIGEST];
    uint32_t n_extends[EVENTLOG_PCRS]; /* events extended into each PCR (0: untouched) */
};

struct eventlog_pcrs {
    uint32_t n_banks;
    struct eventlog_bank banks[EVENTLOG_MAX_BANKS];
    uint8_t startup_locality; /* from the StartupLocality EV_NO_ACTION event, 0 when none */
};

/* Replays every bank per the TCG PC Client Platform Firmware Profile: EV_NO_ACTION events are not
 * extended; PCR 0 starts at the startup locality (0, 3 or 4 in its last byte); every other event extends
 * its digest. Banks the TPM does not have simply replay to what the log says. */
int eventlog_replay(const struct eventlog *log, struct eventlog_pcrs *ret_pcrs, char **ret_error);

/* { "SHA256": { "0": "hex", ... }, ... } for the PCRs the log touches, with event counts (caller frees). */
char *eventlog_pcrs_json(const struct eventlog_pcrs *pcrs);

/* ---- HVS measure-log JSON (spec section 6) ---- */

/* One source of events for the measure log, in the order the Go agent concatenates them. */
struct eventlog_app_event; /* a line of /opt/trustagent/var/ramfs/pcr_event_log */

/* The measure-log JSON of a UEFI log and, optionally, the tbootxm application-event file's text
 * (app_events may be NULL). Pretty is the `tagent eventlog` (indented) form. Caller frees. */
int eventlog_measure_log_json(const struct eventlog *log, const char *app_events, size_t app_events_len,
                              bool pretty, char **ret_json, char **ret_error);

/* ---- IMA ---- */

enum ima_template { IMA_TEMPLATE_IMA, IMA_TEMPLATE_IMA_NG, IMA_TEMPLATE_IMA_SIG };

struct ima_entry {
    uint32_t pcr;
    uint8_t template_hash[20];    /* as the log states it (SHA-1 over the template data) */
    enum ima_template template_kind;
    char file_hash_alg[16];       /* "sha1", "sha256", ... ("sha1" for the old "ima" template) */
    uint8_t file_hash[64];
    uint32_t file_hash_len;
    char *path;                   /* the file name as the log states it */
    uint8_t *signature;           /* ima-sig only, else NULL */
    uint32_t signature_len;
    bool template_hash_ok;        /* the stated template hash equals the one recomputed from the data */
};

struct ima_log {
    struct ima_entry *entries;
    size_t n_entries;
};

/* ascii_runtime_measurements / binary_runtime_measurements. A line or record that does not parse is an
 * error naming its line number / offset. */
int ima_parse_ascii(const char *text, size_t len, struct ima_log **ret_log, char **ret_error);
int ima_parse_binary(const uint8_t *buf, size_t len, struct ima_log **ret_log, char **ret_error);
/* Picks the format by content. */
int ima_load(const char *path, size_t max_len, struct ima_log **ret_log, char **ret_error);
void ima_log_free(struct ima_log *log);

/* PCR 10 replayed in a bank: SHA1 extends the template hashes; other banks extend the template data
 * hashed with that bank's algorithm (the kernel's behaviour since 5.x when the bank exists), or, for a log
 * that only carries SHA-1 template hashes, the SHA-1 hash zero-padded (the kernel's legacy behaviour). */
int ima_replay_pcr10(const struct ima_log *log, uint16_t alg, uint8_t ret_pcr[EVENTLOG_MAX_DIGEST], char **ret_error);

/* HVS's imaLogs JSON: {"pcr":{"index":10,"bank":"SHA256"},"ima_measurements":[{"file":..,"measurement":..}],
 * "ima_template":"ima-ng"}. Caller frees. */
int ima_logs_json(const struct ima_log *log, uint16_t bank, char **ret_json, char **ret_error);

#endif
