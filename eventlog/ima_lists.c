/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IMA lists of one system: one per template-hash algorithm (the kernel's per-bank lists), or the classic
 * SHA-1 list alone. The lists must describe the same measurements; each bank's PCR 10 replays from its own
 * list, and a bank without one from the template data of another.
 */
#include "ima_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ima_lists_clear(struct ima_lists *l)
{
    for (size_t i = 0; i < l->n; i++) {
        ima_log_free(l->logs[i]);
        free(l->sources[i]);
    }
    memset(l, 0, sizeof(*l));
}

/* What differs between two entries of the same measurement in two lists, or NULL. The template hash is
 * left out: it is the one field that differs by design. */
static const char *entry_difference(const struct ima_entry *a, const struct ima_entry *b)
{
    if (a->pcr != b->pcr)
        return "PCR index";
    if (a->template_kind != b->template_kind)
        return "template";
    if (strcmp(a->file_hash_alg, b->file_hash_alg) != 0 || a->file_hash_len != b->file_hash_len ||
        memcmp(a->file_hash, b->file_hash, a->file_hash_len) != 0)
        return "file hash";
    if (strcmp(a->path, b->path) != 0)
        return "file name";
    if (a->signature_len != b->signature_len ||
        (a->signature_len && memcmp(a->signature, b->signature, a->signature_len) != 0))
        return "signature";
    if (a->violation != b->violation)
        return "violation";
    return NULL;
}

/* -EAGAIN when only the count differs and the shorter list is a prefix of the longer: the kernel appended a
 * measurement between the two reads. */
static int lists_agree(const struct ima_log *a, const char *a_src, const struct ima_log *b, const char *b_src,
                       char **ret_error)
{
    size_t n = a->n_entries < b->n_entries ? a->n_entries : b->n_entries;
    for (size_t i = 0; i < n; i++) {
        const char *what = entry_difference(&a->entries[i], &b->entries[i]);
        if (what)
            return ima_fail(ret_error, -EINVAL, "%s and %s disagree at entry %zu (%s): %s differs", a_src,
                            b_src, i + 1, a->entries[i].path, what);
    }
    if (a->n_entries != b->n_entries)
        return ima_fail(ret_error, -EAGAIN, "%s has %zu entries, %s has %zu", a_src, a->n_entries, b_src,
                        b->n_entries);
    return 0;
}

/* Takes over log (freed on error). */
static int add_log(struct ima_lists *l, struct ima_log *log, const char *path, char **ret_error)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < l->n; i++)
        if (l->logs[i]->template_hash_alg == log->template_hash_alg)
            r = ima_fail(ret_error, -EINVAL, "%s and %s are both %s lists", l->sources[i], path,
                         eventlog_alg_name(log->template_hash_alg));
    if (r == 0 && l->n == EVENTLOG_MAX_BANKS)
        r = ima_fail(ret_error, -E2BIG, "%s: more than %d IMA lists", path, EVENTLOG_MAX_BANKS);
    if (r == 0 && l->n > 0)
        r = lists_agree(l->logs[0], l->sources[0], log, path, ret_error);
    char *source = r == 0 ? strdup(path) : NULL;
    if (r == 0 && !source)
        r = ima_fail(ret_error, -ENOMEM, "out of memory");
    if (r < 0) {
        ima_log_free(log);
        return r;
    }
    l->logs[l->n] = log;
    l->sources[l->n++] = source;
    return 0;
}

int ima_lists_add_file(struct ima_lists *l, const char *path, size_t max_len, char **ret_error)
{
    struct ima_log *log = NULL;
    int r = ima_load(path, max_len, &log, ret_error);
    return r < 0 ? r : add_log(l, log, path, ret_error);
}

static void clear_error(char **ret_error)
{
    if (ret_error) {
        free(*ret_error);
        *ret_error = NULL;
    }
}

/* Each bank's list under dir, the ascii one when both exist; -ENOENT when there is none. */
static int load_bank_lists(const char *dir, size_t max_len, struct ima_lists *l, char **ret_error)
{
    const size_t banks = IMA_BANK_LIST_NAMES / 2; /* ascii names first, then binary in the same order */
    for (size_t b = 0; b < banks; b++) {
        for (size_t k = 0; k < 2; k++) {
            char *path = NULL;
            if (asprintf(&path, "%s/%s", dir, ima_bank_list_names[b + k * banks]) < 0)
                return ima_fail(ret_error, -ENOMEM, "out of memory");
            int r = access(path, F_OK) == 0 ? ima_lists_add_file(l, path, max_len, ret_error) : -ENOENT;
            free(path);
            if (r == 0)
                break;
            if (r != -ENOENT)
                return r;
            clear_error(ret_error); /* gone since access(): as if it never was */
        }
    }
    return l->n ? 0 : -ENOENT;
}

static int load_classic(const char *root, size_t max_len, struct ima_lists *l, char **ret_error)
{
    struct ima_log *log = NULL;
    char *source = NULL;
    int r = ima_load_system(root, max_len, &log, &source, ret_error);
    if (r == 0)
        r = add_log(l, log, source, ret_error);
    free(source);
    return r;
}

int ima_lists_load_system(const char *root, size_t max_len, struct ima_lists *ret, char **ret_error)
{
    char *dir = NULL;
    if (asprintf(&dir, "%s%s", root ? root : "", IMA_SECURITYFS_DIR) < 0)
        return ima_fail(ret_error, -ENOMEM, "out of memory");
    struct ima_lists l = {0};
    int r = load_bank_lists(dir, max_len, &l, ret_error);
    /* The lists are read one after another while the kernel may append: read them again, once, when they
     * differ only by entries appended in between. */
    if (r == -EAGAIN) {
        ima_lists_clear(&l);
        clear_error(ret_error);
        r = load_bank_lists(dir, max_len, &l, ret_error);
    }
    free(dir);
    if (r == -ENOENT)
        r = load_classic(root, max_len, &l, ret_error);
    if (r < 0) {
        ima_lists_clear(&l);
        return r;
    }
    *ret = l;
    return 0;
}

const struct ima_log *ima_lists_for_bank(const struct ima_lists *l, uint16_t alg)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->logs[i]->template_hash_alg == alg)
            return l->logs[i];
    return l->n ? l->logs[0] : NULL;
}

int ima_lists_replay_pcr10(const struct ima_lists *l, uint16_t alg, uint8_t ret_pcr[EVENTLOG_MAX_DIGEST],
                           char **ret_error)
{
    const struct ima_log *log = ima_lists_for_bank(l, alg);
    if (!log)
        return ima_fail(ret_error, -ENOENT, "no IMA list");
    return ima_replay_pcr10(log, alg, ret_pcr, ret_error);
}
