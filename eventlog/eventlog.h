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
    size_t end;          /* offset after the last record (the final record when there is one) */
    bool trailing_bytes; /* padding from end to len (e.g. the ACPI region up to LAML): not an error */
    bool has_final;      /* the log ends with an EV_NO_ACTION naming PCR 0xffffffff (Windows writes one) */
    size_t final_offset; /* where that record starts (when has_final); read it with eventlog_final_record() */
    uint8_t *buf;        /* the log's bytes (owned) */
    size_t len;
    uint32_t *offsets; /* where each event starts: 4 bytes per event keeps memory near the log's size */
};

/* Parses a whole log. After the first record (the Spec ID event, or the first event of a SHA1-format log) it
 * accepts exactly:
 *   - records naming PCR 0..23 (the events);
 *   - one final EV_NO_ACTION record naming PCR 0xffffffff (Windows writes one): parsed in full, it ends the
 *     log, is not an event (not replayed, not in the measure-log JSON) and sets has_final/final_offset;
 *   - padding from some record boundary to the end of the buffer, all 0x00 or all 0xff (the ACPI log area up
 *     to LAML); after the final record only padding or nothing may follow.
 * Anything else is an error: a record naming another PCR index (one corrupted byte must not silently drop
 * every later event), a record cut off by the end of the buffer, bytes after the final record that are not
 * padding, a Spec ID event whose vendorInfoSize runs past its data or that has bytes after its vendorInfo.
 * On error returns a negative errno and *ret_error (caller frees) names the event number (the Spec ID event
 * is event 0), its offset, and what was wrong. */
int eventlog_parse(const uint8_t *buf, size_t len, const struct eventlog_limits *limits,
                   struct eventlog **ret_log, char **ret_error);
void eventlog_free(struct eventlog *log);

/* Event i (0-based, after the header) of a parsed log; its pointers point into log->buf. Its pcr is < 24. */
void eventlog_event(const struct eventlog *log, size_t i, struct eventlog_event *ret_event);
/* The final PCR 0xffffffff EV_NO_ACTION record, when the log has one (false and a zeroed *ret when not). */
bool eventlog_final_record(const struct eventlog *log, struct eventlog_event *ret_event);

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
    bool hcrtm;               /* PCR 0 started at 00..04 for an EV_EFI_HCRTM_EVENT */
};

/* Replays every bank per the TCG PC Client Platform Firmware Profile: EV_NO_ACTION events are not
 * extended; PCR 0 starts at the startup locality (0, 3 or 4 in its last byte); every other event extends
 * its digest. H-CRTM: an EV_EFI_HCRTM_EVENT in PCR 0 before any other measurement into PCR 0 (of that bank)
 * first sets PCR 0 to 00..04 (whatever a StartupLocality event said), then extends its own digest, as the
 * TPM does at _TPM_Hash_End before TPM2_Startup (TPM 2.0 Library Part 1, "H-CRTM"; Part 3, _TPM_Hash_End).
 * One after a PCR 0 measurement is extended like any event: the TPM cannot reset PCR 0 then.
 * Banks the TPM does not have simply replay to what the log says. */
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

/*
 * Since the kernel's template-hash crypto agility (commit 9fa8e7625008, 2024) securityfs holds one list per
 * bank the kernel can hash: {ascii,binary}_runtime_measurements_<alg> with alg the kernel's hash_algo_name
 * (sha1, sha256, sha384, sha512, sm3), the classic names being symlinks to the _sha1 lists. The lists hold
 * the same entries; only the template hash differs: the template data hashed with the list's algorithm (all
 * zeros of that size for a violation). Older kernels have only the classic (SHA-1) lists.
 */

enum ima_template { IMA_TEMPLATE_IMA, IMA_TEMPLATE_IMA_NG, IMA_TEMPLATE_IMA_SIG };

struct ima_entry {
    uint32_t pcr;
    uint16_t template_hash_alg;                 /* EVENTLOG_ALG_* of the list the entry was read from */
    uint16_t template_hash_size;                /* its digest size */
    uint8_t template_hash[EVENTLOG_MAX_DIGEST]; /* as the list states it */
    enum ima_template template_kind;
    char file_hash_alg[16]; /* "sha1", "sha256", ... ("sha1" for the old "ima" template) */
    uint8_t file_hash[64];
    uint32_t file_hash_len;
    char *path;         /* the file name as the log states it */
    uint8_t *signature; /* ima-sig with a signature only, else NULL */
    uint32_t signature_len;
    bool violation;        /* all-zero template hash: the kernel extended all 0xff instead */
    bool template_hash_ok; /* the stated template hash equals the template data hashed with the list's
                            * algorithm (always true for a violation, whose stated hash is zero by design) */
};

struct ima_log {
    uint16_t template_hash_alg; /* EVENTLOG_ALG_* the list's template hashes use */
    struct ima_entry *entries;
    size_t n_entries;
    size_t trailing_bytes; /* binary: bytes after the last record, too few to start one (not an error) */
};

/* ascii_runtime_measurements(_<alg>) / binary_runtime_measurements(_<alg>) (little-endian records, as x86
 * kernels and ima_canonical_fmt write them) of the list whose template hashes use alg (EVENTLOG_ALG_SHA1 for
 * the classic lists). A line or record that does not parse is an error naming its line number / offset; an
 * empty input is an empty log. Templates ima, ima-ng and ima-sig are understood; any other template is an
 * error, and so is a file-hash algorithm the kernel does not name (see ima_file_hash_algs). Ascii: the PCR,
 * template hash (exactly 2 x alg's size hex digits), template name and file-hash fields are split at single
 * spaces; the file name is the rest of the line as the kernel prints it (spaces included). For ima-sig a last
 * space-separated hex word is the signature; when the text allows two readings (a name ending in a hex word,
 * a trailing space) the one whose template hash recomputes wins. Empty lines are skipped. Binary: bytes after
 * the last record that are fewer than a record's fixed header (PCR, template hash, name length: 8 + alg's
 * size) are counted in trailing_bytes; a record cut off after that is an error. A template-name length out
 * of range says which template-hash size was assumed (the usual cause: a list of another bank). */
int ima_parse_ascii(const char *text, size_t len, uint16_t alg, struct ima_log **ret_log, char **ret_error);
int ima_parse_binary(const uint8_t *buf, size_t len, uint16_t alg, struct ima_log **ret_log,
                     char **ret_error);
/* The bank a list's file name says: a final _sha1, _sha256, _sha384, _sha512, _sm3 (the kernel's name) or
 * _sm3_256; 0 when the name has none of these. */
uint16_t ima_alg_from_file_name(const char *path);
/* Reads at most max_len bytes (0: 64 MiB) and picks the format by content: NUL bytes among the first four
 * (a binary record's little-endian PCR index) mean binary. The template-hash algorithm is alg; with alg 0 it
 * comes from the file name's suffix (ima_alg_from_file_name), and without one from the content: ascii, the
 * width of the first entry's template hash (40/64/96/128 hex digits: SHA1/SHA256/SHA384/SHA512; SM3 lists
 * are known by name only); binary, SHA1 unless exactly one of the sizes 20/32/48/64 makes the first record
 * name the template ima, ima-ng or ima-sig. ima_load is ima_load_alg with alg 0. */
int ima_load_alg(const char *path, size_t max_len, uint16_t alg, struct ima_log **ret_log, char **ret_error);
int ima_load(const char *path, size_t max_len, struct ima_log **ret_log, char **ret_error);
/* Where the running system's classic IMA log is, in the order ima_load_system() tries them (absolute
 * paths). */
#define IMA_SYSTEM_PATHS 2
extern const char *const ima_system_paths[IMA_SYSTEM_PATHS];
/* The securityfs directory of the per-bank lists, and their file names (ascii and binary for each
 * algorithm the kernel names: sha1 sha256 sha384 sha512 sm3). */
#define IMA_SECURITYFS_DIR  "/sys/kernel/security/ima"
#define IMA_BANK_LIST_NAMES 10
extern const char *const ima_bank_list_names[IMA_BANK_LIST_NAMES];
/* The running system's classic IMA log under the root prefix: securityfs (bare metal) first, then
 * /opt/ima/ascii_runtime_measurements (where the Go agent's container deployment mounts it).
 * *ret_source (may be NULL) gets the path read; caller frees. -ENOENT when neither exists. */
int ima_load_system(const char *root, size_t max_len, struct ima_log **ret_log, char **ret_source,
                    char **ret_error);
void ima_log_free(struct ima_log *log);

/* PCR 10 replayed in a bank (EVENTLOG_ALG_*): the bank of the log's own template-hash algorithm extends the
 * stated template hashes; other banks extend the template data hashed with that bank's algorithm (what the
 * kernel extends into every bank it can hash). Violations extend all 0xff of the bank's size. Entries for
 * other PCRs are skipped. */
int ima_replay_pcr10(const struct ima_log *log, uint16_t alg, uint8_t ret_pcr[EVENTLOG_MAX_DIGEST],
                     char **ret_error);

/* The lists of one system, at most one per template-hash algorithm, all holding the same entries. */
struct ima_lists {
    size_t n;
    struct ima_log *logs[EVENTLOG_MAX_BANKS];
    char *sources[EVENTLOG_MAX_BANKS]; /* the file each was read from */
};
/* The per-bank lists under root + IMA_SECURITYFS_DIR when any exists (every bank's, the ascii file when
 * both are there), else the classic list (ima_load_system's order). -ENOENT when there is none. */
int ima_lists_load_system(const char *root, size_t max_len, struct ima_lists *ret, char **ret_error);
/* Adds one list file (ima_load's rules for its algorithm). A second list of the same algorithm, or a list
 * whose entries differ from the first list's (PCR, template, file hash, name, signature), is an error naming
 * both files and the entry; -EAGAIN when only the counts differ (the kernel appends between two reads:
 * ima_lists_load_system reads the lists again once). */
int ima_lists_add_file(struct ima_lists *l, const char *path, size_t max_len, char **ret_error);
/* The bank's own list, else the first list (whose template data a replay rehashes); NULL when empty. */
const struct ima_log *ima_lists_for_bank(const struct ima_lists *l, uint16_t alg);
/* PCR 10 of the bank from ima_lists_for_bank's list (ima_replay_pcr10). */
int ima_lists_replay_pcr10(const struct ima_lists *l, uint16_t alg, uint8_t ret_pcr[EVENTLOG_MAX_DIGEST],
                           char **ret_error);
void ima_lists_clear(struct ima_lists *l);

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
