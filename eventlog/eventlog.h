/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eventlog/: the evidence HVS checks beside the quote (spec section 6).
 *   - TCG PC Client event logs, SHA1 (TCG_PCR_EVENT) and crypto-agile (TCG_PCR_EVENT2): parse, replay to
 *     PCR values per bank, and the HVS measure-log JSON;
 *   - IMA logs (ascii and binary runtime measurements): parse, recompute template hashes, replay PCR 10,
 *     and HVS's imaLogs JSON.
 * Depends on nothing else in the project but common/. Nothing here prints: errors come back as messages.
 * Every length field in a log is untrusted: it is checked against what is left and against the limits.
 */
#ifndef TAGENT_EVENTLOG_H
#define TAGENT_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcg_alg.h"

/* TPM2_ALG_ID of the digests a log may carry (common/tcg_alg.h holds their names and sizes). */
#define EVENTLOG_ALG_SHA1    TCG_ALG_SHA1
#define EVENTLOG_ALG_SHA256  TCG_ALG_SHA256
#define EVENTLOG_ALG_SHA384  TCG_ALG_SHA384
#define EVENTLOG_ALG_SHA512  TCG_ALG_SHA512
#define EVENTLOG_ALG_SM3_256 TCG_ALG_SM3_256

#define EVENTLOG_MAX_BANKS  8
#define EVENTLOG_PCRS       24
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
    size_t n_events;     /* events after the header (Spec ID) event; read them with eventlog_event() */
    size_t end;          /* offset where parsing stopped */
    bool trailing_bytes; /* padding after the last event (e.g. the ACPI region up to LAML): not an error */
    uint8_t *buf;        /* the log's bytes (owned) */
    size_t len;
    uint32_t *offsets; /* where each event starts: 4 bytes per event keeps memory near the log's size */
};

/* Parses a whole log. Stops cleanly at padding (all 0x00 or all 0xff up to the end, as in the ACPI log
 * area) or at a record naming a PCR index > 23; an event cut off by the end of the buffer is an error. On
 * error returns a negative errno and *ret_error (caller frees) says which event, at which offset, and why. */
int eventlog_parse(const uint8_t *buf, size_t len, const struct eventlog_limits *limits,
                   struct eventlog **ret_log, char **ret_error);
void eventlog_free(struct eventlog *log);

/* Event i (0-based, after the header) of a parsed log; its pointers point into log->buf. */
void eventlog_event(const struct eventlog *log, size_t i, struct eventlog_event *ret_event);

/* Reads a file (at most limits->max_log bytes) and parses it. */
int eventlog_load(const char *path, const struct eventlog_limits *limits, struct eventlog **ret_log,
                  char **ret_error);

/* The ACPI TPM2 table's log area (LASA, LAML), as the Go agent finds the log. */
int eventlog_acpi_region(const char *table_path, uint64_t *ret_lasa, uint32_t *ret_laml, char **ret_error);
/* Reads LAML bytes at LASA from mem_path (/dev/mem) and parses them; padding after the events is fine. */
int eventlog_load_acpi(const char *table_path, const char *mem_path, const struct eventlog_limits *limits,
                       struct eventlog **ret_log, char **ret_error);

/* "EV_EFI_VARIABLE_BOOT", the TXT "LCP_CONTROL_HASH", or NULL for unknown types. */
const char *eventlog_type_name(uint32_t type);
/* "SHA256", ... or NULL. Digest size 20/32/48/64, or 0. Both from common/tcg_alg.h's table. */
#define eventlog_alg_name tcg_alg_name
#define eventlog_alg_size tcg_alg_size

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

/* The measure-log JSON of a UEFI log (may be NULL) and, optionally, the text of tbootxm's application-event
 * file /opt/trustagent/var/ramfs/pcr_event_log (app_events may be NULL). pretty: indented, as
 * `tagent eventlog` prints it. Caller frees *ret_json. */
int eventlog_measure_log_json(const struct eventlog *log, const char *app_events, size_t app_events_len,
                              bool pretty, char **ret_json, char **ret_error);

/* ---- IMA ---- */

enum ima_template { IMA_TEMPLATE_IMA, IMA_TEMPLATE_IMA_NG, IMA_TEMPLATE_IMA_SIG };

struct ima_entry {
    uint32_t pcr;
    uint8_t template_hash[20]; /* as the log states it (SHA-1 over the template data) */
    enum ima_template template_kind;
    char file_hash_alg[16]; /* "sha1", "sha256", ... ("sha1" for the old "ima" template) */
    uint8_t file_hash[64];
    uint32_t file_hash_len;
    char *path;         /* the file name as the log states it */
    uint8_t *signature; /* ima-sig with a signature only, else NULL */
    uint32_t signature_len;
    bool violation;        /* all-zero template hash: the kernel extended all 0xff instead */
    bool template_hash_ok; /* the stated template hash equals the one recomputed from the data
                            * (always true for a violation, whose stated hash is zero by design) */
};

struct ima_log {
    struct ima_entry *entries;
    size_t n_entries;
    size_t trailing_bytes; /* binary: bytes after the last record, too few to start one (not an error) */
};

/* ascii_runtime_measurements / binary_runtime_measurements (little-endian records, as x86 kernels and
 * ima_canonical_fmt write them). A line or record that does not parse is an error naming its line number /
 * offset; an empty input is an empty log. Templates ima, ima-ng and ima-sig are understood; any other
 * template is an error. Ascii: the PCR, template hash, template name and file-hash fields are split at single
 * spaces; the file name is the rest of the line as the kernel prints it (spaces included). For ima-sig a last
 * space-separated hex word is the signature; when the text allows two readings (a name ending in a hex word,
 * a trailing space) the one whose template hash recomputes wins. Empty lines are skipped. Binary: bytes after
 * the last record that are fewer than a record's fixed header (PCR, template hash, name length: 28 bytes) are
 * counted in trailing_bytes; a record cut off after that is an error. */
int ima_parse_ascii(const char *text, size_t len, struct ima_log **ret_log, char **ret_error);
int ima_parse_binary(const uint8_t *buf, size_t len, struct ima_log **ret_log, char **ret_error);
/* Reads at most max_len bytes (0: 64 MiB) and picks the format by content: NUL bytes among the first four
 * (a binary record's little-endian PCR index) mean binary. */
int ima_load(const char *path, size_t max_len, struct ima_log **ret_log, char **ret_error);
/* Where the running system's IMA log is, in the order ima_load_system() tries them (absolute paths). */
#define IMA_SYSTEM_PATHS 2
extern const char *const ima_system_paths[IMA_SYSTEM_PATHS];
/* The running system's IMA log under the root prefix: securityfs (bare metal) first, then
 * /opt/ima/ascii_runtime_measurements (where the Go agent's container deployment mounts it).
 * *ret_source (may be NULL) gets the path read; caller frees. -ENOENT when neither exists. */
int ima_load_system(const char *root, size_t max_len, struct ima_log **ret_log, char **ret_source,
                    char **ret_error);
void ima_log_free(struct ima_log *log);

/* PCR 10 replayed in a bank (EVENTLOG_ALG_*): SHA1 extends the stated template hashes; other banks extend
 * the template data hashed with that bank's algorithm (the kernel's behaviour since 5.x when the bank
 * exists). Violations extend all 0xff of the bank's size. Entries for other PCRs are skipped. */
int ima_replay_pcr10(const struct ima_log *log, uint16_t alg, uint8_t ret_pcr[EVENTLOG_MAX_DIGEST],
                     char **ret_error);

/* HVS's imaLogs JSON, compact: {"pcr":{"index":10,"bank":"SHA256"},"ima_measurements":[{"file":..,
 * "measurement":..}],"ima_template":"ima-ng"}, one measurement per entry in log order (lower-case hex of the
 * file hash); ima_template is the first entry's template ("ima-ng" for an empty log). Caller frees. */
int ima_logs_json(const struct ima_log *log, uint16_t bank, char **ret_json, char **ret_error);

/* ---- checking against the TPM ---- */

/* The TPM's own PCR values, one entry per bank it allocates (the caller reads them; nothing here talks to a
 * TPM). Only the first digest-size bytes of each value count. */
struct pcr_check_tpm {
    uint32_t n_banks;
    struct {
        uint16_t alg;
        uint8_t pcr[EVENTLOG_PCRS][EVENTLOG_MAX_DIGEST];
    } banks[EVENTLOG_MAX_BANKS];
};

/* PCR 10 as an IMA list replays it, per bank: when given, PCR 10 is checked against this instead of the TCG
 * log. A bank missing here falls back to the TCG log. */
struct pcr_check_ima {
    const char *source;    /* where the list came from, for messages (caller owns) */
    size_t n_entries;      /* entries for PCR 10 */
    size_t last_number;    /* the last of them: its place in the list, from 1 */
    const char *last_path; /* and its file name, or NULL (caller owns; must outlive the report) */
    uint32_t n_banks;
    struct {
        uint16_t alg;
        uint8_t pcr10[EVENTLOG_MAX_DIGEST];
    } banks[EVENTLOG_MAX_BANKS];
};

/* Why a PCR does not match, as a short stable key (JSON, tests) beside the sentence in why. */
#define PCR_CHECK_WHY_EXIT_BOOT_SERVICES "exit-boot-services" /* firmware measured EBS but did not log it */
#define PCR_CHECK_WHY_STARTUP_LOCALITY   "startup-locality"   /* PCR 0 started at another locality */
#define PCR_CHECK_WHY_NOT_EXTENDED       "tpm-not-extended"   /* log has events, TPM PCR still initial */
#define PCR_CHECK_WHY_NOT_LOGGED         "not-in-log"         /* log never touches it, TPM PCR extended */
#define PCR_CHECK_WHY_UNEXPLAINED        "unexplained"

struct pcr_check_result {
    uint16_t alg;
    uint16_t size; /* digest bytes of the bank */
    uint32_t pcr;
    bool match;
    bool from_ima;     /* the expected value is the IMA list's PCR 10 replay */
    uint32_t n_events; /* events (IMA: entries) extended into this PCR */
    /* The last of them (when n_events > 0): its number as tpm2_eventlog counts (the Spec ID header is #0;
     * IMA: the entry's line/record number, from 1), type and offset in the log (TCG only). */
    size_t last_number;
    uint32_t last_type;
    size_t last_offset;
    const char *last_path; /* IMA: the last entry's file name (points into pcr_check_ima), else NULL */
    uint8_t log_value[EVENTLOG_MAX_DIGEST]; /* what the log replays to */
    uint8_t tpm_value[EVENTLOG_MAX_DIGEST];
    const char *reason; /* mismatch: a PCR_CHECK_WHY_* key; match: NULL */
    char why[512];      /* mismatch: one or two sentences for a person; match: "" */
};

struct pcr_check_report {
    size_t n_results; /* per bank in the TPM's order, PCRs ascending */
    struct pcr_check_result results[EVENTLOG_MAX_BANKS * EVENTLOG_PCRS];
    size_t n_mismatches;
    size_t n_explained; /* mismatches with a known cause (reason not "unexplained") */
    uint32_t n_unchecked;
    uint16_t unchecked[EVENTLOG_MAX_BANKS]; /* TPM banks the log has no digests for */
};

/* Replays the log and compares it with the TPM's PCRs, in every bank both have: PCRs 0-7 always, 8-23 when
 * the log touches them or the TPM shows them extended (initial: all 0x00; PCRs 17-22 all 0xff, as the PC
 * Client PTP resets them until a dynamic launch), PCR 10 against the IMA list when ima is not NULL. A
 * mismatch gets the first explanation that fits (firmware that measures ExitBootServices without logging
 * it, an unrecorded startup locality, a TPM whose PCR was never extended, a PCR the log never touches),
 * else "unexplained" with a hint. Caller frees *ret_report with pcr_check_report_free(). */
int pcr_check(const struct eventlog *log, const struct pcr_check_tpm *tpm, const struct pcr_check_ima *ima,
              struct pcr_check_report **ret_report, char **ret_error);
void pcr_check_report_free(struct pcr_check_report *report);

#endif
