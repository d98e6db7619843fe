/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tep_config_apply(): docs/tep-formats.md section 3, step by step. Every check that can reject a container
 * runs before the first ops->decrypt: the signature covers the header and the ciphertext, so nothing an
 * attacker wrote reaches the TPM or libarchive unverified. Whose fault a stop is decides what happens next:
 * the container's (REJECTED: renamed to .rejected, never tried again) or the device's (FAILED: left in
 * place for the next boot). The filesystem work is in tep_apply_files.c.
 */
#include "cleanup.h"
#include "hex.h"
#include "provision.h"
#include "tep_apply_files.h"
#include "tepc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

/* What one run found out so far; the result file is written from it. */
struct apply_run {
    const struct tep_apply_ops *ops;
    struct tep_upload up;
    uint8_t *file;
    size_t file_len;
    struct tepc_blob blob;
    bool parsed;                        /* blob is valid: the result file can name sequence and signer */
    bool set_aside_failed;              /* a refused authorization: .failed, not tried at the next boot */
    char kid_hex[2 * TEPC_KID_LEN + 1]; /* the header's signer_kid */
    char *applied;                      /* the entries installed */
    enum tep_apply_outcome outcome;
    char *message;
};

/* Ends the run with an outcome and a message ("rejected: ..." / "failed: ..."). Returns -1 so that a
 * check can `return reject(...)`. The first verdict stands. */
__attribute__((format(printf, 4, 0))) static int verdict(struct apply_run *run,
                                                         enum tep_apply_outcome outcome, const char *prefix,
                                                         const char *fmt, va_list ap)
{
    if (run->message)
        return -1;
    _cleanup_free_ char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    run->outcome = outcome;
    if (asprintf(&run->message, "%s%s", prefix, text ? text : "(out of memory formatting the message)") < 0)
        run->message = NULL;
    return -1;
}

__attribute__((format(printf, 2, 3))) static int reject(struct apply_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verdict(run, TEP_APPLY_REJECTED, "rejected: ", fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((format(printf, 2, 3))) static int failed(struct apply_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verdict(run, TEP_APPLY_FAILED, "failed: ", fmt, ap);
    va_end(ap);
    return -1;
}

/* An error text from a callee, or what to say when it had none (out of memory). */
static const char *why(const char *error)
{
    return error ? error : "out of memory";
}

/* ---- steps 1-5: everything before decryption ---- */

static int step_read(struct apply_run *run)
{
    _cleanup_free_ char *error = NULL;
    switch (tep_container_read(&run->up, &run->file, &run->file_len, &error)) {
    case TEP_READ_OK: return 0;
    case TEP_READ_ABSENT: run->outcome = TEP_APPLY_NOTHING; return -1;
    case TEP_READ_REJECT: return reject(run, "%s", why(error));
    case TEP_READ_TRANSIENT: break;
    }
    return failed(run, "%s", why(error));
}

static int step_parse(struct apply_run *run)
{
    _cleanup_free_ char *error = NULL;
    if (tepc_parse(run->file, run->file_len, &run->blob, &error) < 0)
        return reject(run, "not a valid TEPC v1 container: %s", why(error));
    run->parsed = true;
    hex_encode(run->blob.header.signer_kid, TEPC_KID_LEN, run->kid_hex);
    if (!(run->blob.header.flags & TEPC_FLAG_TGZ))
        return reject(run,
                      "flags 0x%08" PRIx32 " do not mark the payload as a gzip'ed tar (v1 payloads are tgz)",
                      run->blob.header.flags);
    return 0;
}

static int step_profile(struct apply_run *run)
{
    enum tepc_profile profile;
    _cleanup_free_ char *error = NULL;
    if (run->ops->profile(run->ops->userdata, &profile, &error) < 0)
        return failed(run, "cannot tell this device's profile from its TPM objects: %s", why(error));
    if (tepc_check_profile(&run->blob.header, profile, &error) < 0)
        return reject(run, "the container does not match this device's profile %s: %s",
                      tepc_profile_params(profile)->name, why(error));
    return 0;
}

/* Key id first, in our words (which key it should have been); then the signature, through tepc_verify
 * (which checks the key id again and the key's curve). */
static int step_signer(struct apply_run *run)
{
    _cleanup_free_ uint8_t *spki = NULL;
    size_t spki_len = 0;
    _cleanup_free_ char *error = NULL;
    if (run->ops->policy_key(run->ops->userdata, &spki, &spki_len, &error) < 0)
        return failed(run, "cannot read the policy key in NV 0x%08X: %s", TPM_NV_TEP_POLICY_KEY, why(error));

    uint8_t kid[TEPC_KID_LEN];
    char kid_hex[2 * TEPC_KID_LEN + 1];
    if (tepc_key_id(spki, spki_len, kid) < 0)
        return failed(run, "cannot hash the policy key in NV 0x%08X", TPM_NV_TEP_POLICY_KEY);
    hex_encode(kid, sizeof(kid), kid_hex);
    if (CRYPTO_memcmp(kid, run->blob.header.signer_kid, TEPC_KID_LEN) != 0)
        return reject(run, "signer kid %.16s… is not the key in NV 0x%08X (kid %.16s…)", run->kid_hex,
                      TPM_NV_TEP_POLICY_KEY, kid_hex);
    if (tepc_verify(&run->blob, spki, spki_len, &error) < 0)
        return reject(run, "signature does not verify with the key in NV 0x%08X (signer kid %.16s…): %s",
                      TPM_NV_TEP_POLICY_KEY, run->kid_hex, why(error));
    return 0;
}

static int step_sequence(struct apply_run *run)
{
    uint64_t last = 0;
    _cleanup_free_ char *error = NULL;
    if (run->ops->last_sequence(run->ops->userdata, &last, &error) < 0)
        return failed(run, "cannot read the last applied sequence from NV 0x%08X: %s", TPM_NV_TEP_CONFIG_SEQ,
                      why(error));
    if ((uint64_t)run->blob.header.sequence == last)
        return reject(run,
                      "sequence %" PRIu32 " is the last applied sequence (anti-rollback): this container was "
                      "applied before, or the device stopped after recording it and before installing its "
                      "files; to apply it, seal it again with a higher sequence",
                      run->blob.header.sequence);
    if ((uint64_t)run->blob.header.sequence < last)
        return reject(run,
                      "sequence %" PRIu32 " is not greater than the last applied sequence %" PRIu64
                      " (anti-rollback)",
                      run->blob.header.sequence, last);
    return 0;
}

/* ---- steps 6-9 ---- */

/* The TPM refused an authorization (quote/ maps that to -EACCES, an NV index's own refusal to -EPERM). Never
 * tried again: each refusal counts toward dictionary-attack lockout, so the container is set aside rather
 * than retried at every boot. */
static bool refused(int r)
{
    return r == -EACCES || r == -EPERM;
}

/* The plaintext archive: wiped before it is freed. */
struct plaintext {
    uint8_t *data;
    size_t len;
};

static void plaintext_wipe(struct plaintext *p)
{
    OPENSSL_clear_free(p->data, p->len);
    *p = (struct plaintext){0};
}

static int step_decrypt(struct apply_run *run, struct plaintext *plain)
{
    size_t len = run->blob.ciphertext_len;
    plain->data = OPENSSL_zalloc(len ? len : 1);
    if (!plain->data)
        return failed(run, "out of memory for a payload of %zu bytes", len);
    plain->len = len;
    _cleanup_free_ char *error = NULL;
    int r = run->ops->decrypt(run->ops->userdata, run->blob.header.iv, run->blob.ciphertext, len, plain->data,
                              &error);
    if (refused(r)) {
        run->set_aside_failed = true; /* the key is DA-protected: the same refusal must not come every boot */
        return failed(run,
                      "decryption with the key at 0x%08X was refused: %s; the container was set aside as "
                      "%s%s. Run `tagent provision-device --force` to record a new authValue, then rename it "
                      "back",
                      TPM_HANDLE_TEP_ENC_KEY, why(error), TEP_BLOB_NAME, TEP_FAILED_SUFFIX);
    }
    if (r < 0)
        return failed(run, "decryption with the key at 0x%08X failed: %s", TPM_HANDLE_TEP_ENC_KEY,
                      why(error));
    return 0;
}

/* Errors of the device (disk, memory, descriptors), as opposed to what the archive holds. */
static bool resource_error(int r)
{
    return r == -ENOSPC || r == -EDQUOT || r == -EIO || r == -ENOMEM || r == -EROFS || r == -EMFILE ||
           r == -ENFILE;
}

/* Extraction into the staging directory, and its names checked: everything the archive holds is judged
 * before anything is recorded or installed. */
static int step_extract(struct apply_run *run, const struct plaintext *plain, struct tep_staging *staging)
{
    _cleanup_free_ char *error = NULL;
    int r = tep_staging_create(&run->up, staging, &error);
    if (r < 0)
        return failed(run, "%s", why(error));

    const struct tepc_extract_limits limits = TEPC_EXTRACT_LIMITS_DEFAULT;
    r = tepc_archive_extract(plain->data, plain->len, staging->new_fd, &limits, &error);
    if (r < 0 && resource_error(r))
        return failed(run, "extracting the configuration: %s", why(error));
    if (r < 0)
        return reject(run, "the payload archive: %s", why(error));
    if ((r = tep_staging_check_names(staging, &error)) < 0) {
        if (r == -EPERM)
            return reject(run, "the payload archive: %s", why(error));
        return failed(run, "%s", why(error));
    }
    return 0;
}

/* The sequence goes into the TPM before the files are installed: a device that cannot record it (no owner
 * secret, a refused one) keeps its old configuration instead of running a new one whose rollback protection
 * is missing. The price: a stop between this write and the renames loses this update (the container is then
 * "not newer" at the next boot; the owner sends it again with a higher sequence). A refused authorization
 * is not tried again at the next boot (each try counts toward the TPM's dictionary-attack lockout): the
 * container is set aside as .failed. */
static int step_record(struct apply_run *run)
{
    _cleanup_free_ char *error = NULL;
    int r = run->ops->record_sequence(run->ops->userdata, run->blob.header.sequence, &error);
    if (refused(r)) {
        run->set_aside_failed = true;
        return failed(
            run,
            "sequence %" PRIu32 " could not be written to NV 0x%08X: %s; nothing was installed. The "
            "container was set aside as %s%s so that the refused authorization is not tried again at "
            "every boot: correct TPM_OWNER_SECRET (/etc/tep/config-apply.env), then rename it back",
            run->blob.header.sequence, TPM_NV_TEP_CONFIG_SEQ, why(error), TEP_BLOB_NAME, TEP_FAILED_SUFFIX);
    }
    if (r < 0)
        return failed(run,
                      "sequence %" PRIu32
                      " could not be written to NV 0x%08X: %s; nothing was installed, the "
                      "container stays for the next boot",
                      run->blob.header.sequence, TPM_NV_TEP_CONFIG_SEQ, why(error));
    return 0;
}

static int step_install(struct apply_run *run, struct tep_staging *staging)
{
    _cleanup_free_ char *error = NULL;
    if (tep_staging_install(&run->up, staging, &run->applied, &error) < 0)
        return failed(run,
                      "sequence %" PRIu32 " is recorded but installing the files failed: %s; send the "
                      "configuration again with a higher sequence",
                      run->blob.header.sequence, why(error));
    return 0;
}

/* ---- step 10: what happened, on disk ---- */

static const char *outcome_name(enum tep_apply_outcome o)
{
    switch (o) {
    case TEP_APPLY_NOTHING: return "nothing";
    case TEP_APPLY_APPLIED: return "applied";
    case TEP_APPLY_REJECTED: return "rejected";
    case TEP_APPLY_FAILED: break;
    }
    return "failed";
}

static void utc(time_t t, char buf[32])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 32, "@%lld", (long long)t);
}

/* "key: value" lines; sequence, signer and created once the header was parsed, files once installed. */
static char *result_text(const struct apply_run *run)
{
    char now[32], created[32] = "";
    utc(time(NULL), now);
    char *text = NULL, *fields = NULL;
    if (run->parsed) {
        const struct tepc_header *h = &run->blob.header;
        utc((time_t)h->created, created);
        if (asprintf(&fields, "sequence: %" PRIu32 "\nsigner_kid: %s\ncreated: %s\n", h->sequence,
                     run->kid_hex, created) < 0)
            return NULL;
    }
    int r = asprintf(&text, "outcome: %s\nmessage: %s\n%s%s%s%stime: %s\n", outcome_name(run->outcome),
                     run->message, fields ? fields : "", run->applied ? "files: " : "",
                     run->applied ? run->applied : "", run->applied ? "\n" : "", now);
    free(fields);
    return r < 0 ? NULL : text;
}

/* Writes the result, then renames the container (applied or rejected; a failure leaves it), then one sync
 * of the folder for both. The result goes first so that whoever watches the container disappear finds the
 * reason already there. */
static int record_outcome(struct apply_run *run)
{
    _cleanup_free_ char *text = result_text(run);
    _cleanup_free_ char *error = NULL;
    int r = text ? tep_result_write(&run->up, text, &error) : -ENOMEM;
    if (r == 0 && run->outcome == TEP_APPLY_APPLIED)
        r = tep_container_set_aside(&run->up, TEP_APPLIED_SUFFIX, &error);
    else if (r == 0 && run->outcome == TEP_APPLY_REJECTED)
        r = tep_container_set_aside(&run->up, TEP_REJECTED_SUFFIX, &error);
    else if (r == 0 && run->set_aside_failed)
        r = tep_container_set_aside(&run->up, TEP_FAILED_SUFFIX, &error);
    if (r == 0)
        r = tep_upload_sync(&run->up, &error);
    if (r < 0) {
        char *longer = NULL;
        if (asprintf(&longer, "%s; and the outcome could not be recorded: %s", run->message, why(error)) >=
            0) {
            free(run->message);
            run->message = longer;
        }
    }
    return r;
}

/* Steps 1-9; stops at the first verdict. */
static void run_steps(struct apply_run *run)
{
    if (step_read(run) < 0 || step_parse(run) < 0 || step_profile(run) < 0 || step_signer(run) < 0 ||
        step_sequence(run) < 0)
        return;
    _cleanup_(plaintext_wipe) struct plaintext plain = {0};
    if (step_decrypt(run, &plain) < 0)
        return;
    /* The container is not read again (its header was copied): freed before extraction, so that the peak is
     * one payload-sized buffer plus libarchive's, not two (128 MiB for the largest container). */
    free(run->file);
    run->file = NULL;
    run->blob.signed_part = run->blob.ciphertext = run->blob.signature = NULL;
    struct tep_staging staging = {.new_fd = -1};
    int r = step_extract(run, &plain, &staging);
    plaintext_wipe(&plain); /* extracted (or refused): not needed any longer, gone before the TPM write */
    if (r == 0)
        r = step_record(run);
    if (r == 0)
        r = step_install(run, &staging);
    /* Not checked: what is left of it (after a success, only displaced old entries) goes at the next start,
     * and it changes nothing about the outcome. */
    (void)tep_staging_remove(&run->up, &staging);
    if (r < 0)
        return;
    run->outcome = TEP_APPLY_APPLIED;
    if (asprintf(&run->message, "applied sequence %" PRIu32 " (signer kid %.16s…): %s",
                 run->blob.header.sequence, run->kid_hex,
                 run->applied && *run->applied ? run->applied : "no entries") < 0)
        run->message = NULL;
}

int tep_config_apply(const char *root, const struct tep_apply_ops *ops, enum tep_apply_outcome *ret_outcome,
                     char **ret_message)
{
    struct apply_run run = {.ops = ops, .up = {.dirfd = -1}, .outcome = TEP_APPLY_NOTHING};
    _cleanup_free_ char *error = NULL;
    int r = tep_upload_open(root, &run.up, &error);
    if (r == -ENOENT) {
        *ret_outcome = TEP_APPLY_NOTHING;
        *ret_message = strdup("no upload folder, nothing to apply");
        return 0;
    }
    if (r < 0) {
        /* nowhere to write a result file: the caller reports it */
        *ret_outcome = TEP_APPLY_FAILED;
        *ret_message = NULL;
        if (asprintf(ret_message, "failed: %s", why(error)) < 0)
            *ret_message = NULL;
        return r;
    }

    if (tep_staging_clean(&run.up, &error) < 0)
        failed(&run, "%s", why(error));
    else
        run_steps(&run);

    r = 0;
    if (run.outcome == TEP_APPLY_NOTHING && !run.message)
        run.message = strdup("no configuration container in the upload folder, nothing to apply");
    else if (!run.message)
        r = -ENOMEM;
    else if (run.outcome != TEP_APPLY_NOTHING)
        r = record_outcome(&run);

    *ret_outcome = run.outcome;
    *ret_message = TAKE_PTR(run.message);
    free(run.applied);
    free(run.file);
    tep_upload_close(&run.up);
    return r;
}
