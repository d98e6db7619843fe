/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer: IMA log parsing (ascii and binary, on the same input), replay and imaLogs JSON. The first
 * input byte picks the list's template-hash algorithm (SHA1, SHA256, SHA384, SHA512, SM3_256), the rest is
 * the list; the seeds start with 0x00 (SHA1) or 0x01 (SHA256). Properties:
 * no crash, no leak; every failure says why, naming a line or record; whatever parses replays in SHA1 and
 * SHA256 and serialises to JSON with one measurement per entry; and a binary log printed the way the
 * kernel prints ascii_runtime_measurements parses back to the very same entries (the two parsers agree).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eventlog.h"

static void check_entries(const struct ima_log *log)
{
    for (size_t i = 0; i < log->n_entries; i++) {
        const struct ima_entry *e = &log->entries[i];
        if (!e->path || e->pcr >= EVENTLOG_PCRS || e->file_hash_len > sizeof(e->file_hash) ||
            e->template_hash_alg != log->template_hash_alg ||
            e->template_hash_size != eventlog_alg_size(log->template_hash_alg) ||
            (e->signature == NULL) != (e->signature_len == 0) || (e->violation && !e->template_hash_ok))
            abort();
    }
}

static void check_usable(const struct ima_log *log)
{
    uint8_t pcr[EVENTLOG_MAX_DIGEST];
    char *json = NULL;
    if (ima_replay_pcr10(log, log->template_hash_alg, pcr, NULL) < 0 ||
        ima_replay_pcr10(log, EVENTLOG_ALG_SHA1, pcr, NULL) < 0 ||
        ima_replay_pcr10(log, EVENTLOG_ALG_SHA256, pcr, NULL) < 0 ||
        ima_logs_json(log, EVENTLOG_ALG_SHA256, &json, NULL) < 0)
        abort();
    cJSON *root = cJSON_Parse(json);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "ima_measurements");
    if (!cJSON_IsArray(list) || (size_t)cJSON_GetArraySize(list) != log->n_entries)
        abort();
    cJSON_Delete(root);
    free(json);
}

static void put_hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* ima_ascii_measurements_show: " "-separated fields, the name as-is, ima-sig's last field after a space
 * even when empty. NULL when an entry cannot be printed on one line. */
static char *to_ascii(const struct ima_log *log, size_t *ret_len)
{
    static const char *const names[] = {"ima", "ima-ng", "ima-sig"};
    char *text = NULL;
    FILE *f = open_memstream(&text, ret_len);
    if (!f)
        abort();
    bool printable = true;
    for (size_t i = 0; i < log->n_entries; i++) {
        const struct ima_entry *e = &log->entries[i];
        printable = printable && !strchr(e->path, '\n');
        fprintf(f, "%u ", e->pcr);
        put_hex(f, e->template_hash, e->template_hash_size);
        fprintf(f, " %s ", names[e->template_kind]);
        if (e->template_kind != IMA_TEMPLATE_IMA)
            fprintf(f, "%s:", e->file_hash_alg);
        put_hex(f, e->file_hash, e->file_hash_len);
        fprintf(f, " %s", e->path);
        if (e->template_kind == IMA_TEMPLATE_IMA_SIG) {
            fputc(' ', f);
            put_hex(f, e->signature, e->signature_len);
        }
        fputc('\n', f);
    }
    fclose(f);
    if (!printable) {
        free(text);
        return NULL;
    }
    return text;
}

static bool same_entry(const struct ima_entry *a, const struct ima_entry *b)
{
    return a->pcr == b->pcr && a->template_hash_size == b->template_hash_size &&
           memcmp(a->template_hash, b->template_hash, a->template_hash_size) == 0 &&
           a->template_kind == b->template_kind && strcmp(a->file_hash_alg, b->file_hash_alg) == 0 &&
           a->file_hash_len == b->file_hash_len &&
           memcmp(a->file_hash, b->file_hash, a->file_hash_len) == 0 && strcmp(a->path, b->path) == 0 &&
           a->signature_len == b->signature_len &&
           (a->signature_len == 0 || memcmp(a->signature, b->signature, a->signature_len) == 0) &&
           a->violation == b->violation && a->template_hash_ok == b->template_hash_ok;
}

static void check_round_trip(const struct ima_log *bin)
{
    size_t len = 0;
    char *text = to_ascii(bin, &len);
    if (!text)
        return;
    struct ima_log *log = NULL;
    char *error = NULL;
    if (ima_parse_ascii(text, len, bin->template_hash_alg, &log, &error) < 0) {
        fprintf(stderr, "ascii form of a parsed binary log does not parse: %s\n", error);
        abort();
    }
    if (log->n_entries != bin->n_entries)
        abort();
    for (size_t i = 0; i < log->n_entries; i++) {
        const struct ima_entry *a = &log->entries[i], *b = &bin->entries[i];
        /* An ima-sig line is ambiguous when the name ends in a hex word; the reading whose template hash
         * recomputes is kept, so a record whose own data does not recompute may be read another way that
         * does (the fuzzer finds these by copying a recomputed hash into the record). */
        if (b->template_kind == IMA_TEMPLATE_IMA_SIG && !b->template_hash_ok && a->template_hash_ok)
            continue;
        if (!same_entry(a, b))
            abort();
    }
    ima_log_free(log);
    free(text);
}

static void check_failure(int r, char *error, const char *prefix)
{
    if (r >= 0 || !error || strncmp(error, prefix, strlen(prefix)) != 0)
        abort();
    free(error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t algs[] = {EVENTLOG_ALG_SHA1, EVENTLOG_ALG_SHA256, EVENTLOG_ALG_SHA384,
                                    EVENTLOG_ALG_SHA512, EVENTLOG_ALG_SM3_256};
    if (size == 0)
        return 0;
    uint16_t alg = algs[data[0] % (sizeof(algs) / sizeof(algs[0]))];
    data++;
    size--;
    struct ima_log *log = NULL;
    char *error = NULL;
    int r = ima_parse_binary(data, size, alg, &log, &error);
    if (r == 0) {
        if (log->template_hash_alg != alg || log->trailing_bytes >= 8 + eventlog_alg_size(alg))
            abort();
        check_entries(log);
        check_usable(log);
        check_round_trip(log);
        ima_log_free(log);
    } else {
        check_failure(r, error, "record ");
    }

    log = NULL;
    error = NULL;
    r = ima_parse_ascii((const char *)data, size, alg, &log, &error);
    if (r == 0) {
        check_entries(log);
        check_usable(log);
        ima_log_free(log);
    } else {
        check_failure(r, error, "line ");
    }
    return 0;
}
