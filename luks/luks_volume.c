/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The LUKS2 volume through libcryptsetup, and libblkid for "is there anything on this device?". The rule
 * that matters most: never format a device that carries any signature libblkid or libcryptsetup knows
 * (spec 3.6); luks_volume_format() probes again itself rather than trusting its caller.
 *
 * libcryptsetup logs to stderr by default; every context here gets a callback that keeps the last error
 * line for our message instead (library code never prints).
 */
#include "cleanup.h"
#include "error.h"
#include "hex.h"
#include "luks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <blkid/blkid.h>
#include <libcryptsetup.h>

struct vol {
    struct crypt_device *cd;
    char log[256]; /* libcryptsetup's last error line */
};

static void vol_log(int level, const char *msg, void *usr)
{
    struct vol *v = usr;
    if (level != CRYPT_LOG_ERROR || !msg)
        return;
    snprintf(v->log, sizeof v->log, "%s", msg);
    size_t n = strlen(v->log);
    while (n && (v->log[n - 1] == '\n' || v->log[n - 1] == '.'))
        v->log[--n] = '\0';
}

static void vol_close(struct vol *v)
{
    if (v->cd)
        crypt_free(v->cd);
    v->cd = NULL;
}

/* ": <libcryptsetup's words>" or "" */
static const char *vol_why(const struct vol *v, char *buf, size_t size)
{
    if (!v->log[0])
        return "";
    snprintf(buf, size, " (%s)", v->log);
    return buf;
}

static void discard_log(int level, const char *msg, void *usr)
{
}

static int vol_open(const char *dev, bool load, struct vol *v, char **ret_error)
{
    /* crypt_init's own complaints go to the global callback: nowhere */
    crypt_set_log_callback(NULL, discard_log, NULL);
    int r = crypt_init(&v->cd, dev);
    if (r < 0)
        return error_set(ret_error, r, "%s: cannot open: %s", dev, strerror(-r));
    crypt_set_log_callback(v->cd, vol_log, v);
    if (load && (r = crypt_load(v->cd, CRYPT_LUKS, NULL)) < 0) {
        char why[300];
        error_set(ret_error, r, "%s: no LUKS header libcryptsetup can load%s", dev,
                  vol_why(v, why, sizeof why));
        vol_close(v);
        return r;
    }
    return 0;
}

int luks_volume_probe(const char *dev, enum luks_volume_kind *ret_kind, char **ret_what, char **ret_error)
{
    if (ret_what)
        *ret_what = NULL;
    blkid_probe pr = blkid_new_probe_from_filename(dev);
    if (!pr)
        return error_set(ret_error, errno ? -errno : -EIO, "%s: cannot probe: %s", dev,
                         strerror(errno ? errno : EIO));
    blkid_probe_enable_superblocks(pr, 1);
    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
    blkid_probe_enable_partitions(pr, 1);
    blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
    int rc = blkid_do_safeprobe(pr);
    const char *type = NULL;
    if (rc == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) < 0 &&
        blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) < 0)
        type = "an unnamed signature";
    char *what = rc == 0 ? strdup(type) : rc == -2 ? strdup("several signatures") : NULL;
    blkid_free_probe(pr);
    if (rc == -1)
        return error_set(ret_error, -EIO, "%s: libblkid cannot probe it", dev);
    if (rc != 1 && !what)
        return -ENOMEM;

    /* libcryptsetup decides what is LUKS: a header libblkid missed still counts */
    struct vol v = {0};
    int r = vol_open(dev, false, &v, ret_error);
    if (r < 0) {
        free(what);
        return r;
    }
    bool luks = crypt_load(v.cd, CRYPT_LUKS, NULL) == 0;
    vol_close(&v);
    if (luks && !what && !(what = strdup("crypto_LUKS")))
        return -ENOMEM;
    *ret_kind = luks ? LUKS_VOLUME_LUKS : what ? LUKS_VOLUME_OTHER : LUKS_VOLUME_BLANK;
    if (ret_what)
        *ret_what = what;
    else
        free(what);
    return 0;
}

/*
 * TAGENT_LUKS_TEST_PBKDF=argon2id|pbkdf2: cheap keyslot KDFs for tests (argon2id 4 iterations, 32 MiB, 1
 * thread; pbkdf2 1000 iterations) instead of libcryptsetup's benchmarked defaults (about 15 s and 900 MB
 * here, spec 4.3). Honoured only for a regular file (a test image), never for a block device, so a stray
 * environment variable cannot weaken a real volume's keyslots.
 */
static int pbkdf_for_tests(struct vol *v, const char *dev, char **ret_error)
{
    const char *want = getenv("TAGENT_LUKS_TEST_PBKDF");
    struct stat st;
    if (!want || !*want || stat(dev, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    struct crypt_pbkdf_type p = {.flags = CRYPT_PBKDF_NO_BENCHMARK, .hash = "sha256"};
    if (!strcmp(want, "argon2id"))
        p = (struct crypt_pbkdf_type){.type = CRYPT_KDF_ARGON2ID,
                                      .iterations = 4,
                                      .max_memory_kb = 32768,
                                      .parallel_threads = 1,
                                      .flags = CRYPT_PBKDF_NO_BENCHMARK};
    else if (!strcmp(want, "pbkdf2"))
        p = (struct crypt_pbkdf_type){.type = CRYPT_KDF_PBKDF2,
                                      .hash = "sha256",
                                      .iterations = 1000,
                                      .flags = CRYPT_PBKDF_NO_BENCHMARK};
    else
        return error_set(ret_error, -EINVAL, "TAGENT_LUKS_TEST_PBKDF=%s: argon2id or pbkdf2 expected", want);
    int r = crypt_set_pbkdf_type(v->cd, &p);
    return r < 0 ? error_set(ret_error, r, "cannot set the test PBKDF: %s", strerror(-r)) : 0;
}

static char *token_json(const struct luks_token *t, int keyslot)
{
    char pkfp[65], pcrs[24 * 4 + 1] = "";
    hex_encode(t->pkfp, sizeof t->pkfp, pkfp);
    for (unsigned i = 0; i < LUKS_POLICY_PCRS; i++)
        if (t->pcr_mask & (1u << i))
            snprintf(pcrs + strlen(pcrs), sizeof pcrs - strlen(pcrs), "%s%u", pcrs[0] ? "," : "", i);
    char *json = NULL;
    if (asprintf(&json,
                 "{\"type\":\"" LUKS_TOKEN_TYPE "\",\"keyslots\":[\"%d\"],\"tpm2-handle\":\"0x%08" PRIx32
                 "\",\"tpm2-pkfp\":\"%s\",\"tpm2-pcrs\":[%s],\"tpm2-pcr-bank\":\"%s\","
                 "\"tpm2-closing-pcr\":%" PRIu32 ",\"tpm2-policy\":\"PolicyAuthorize\"}",
                 keyslot, t->handle, pkfp, pcrs, t->bank == TPM_BANK_SHA384 ? "sha384" : "sha256",
                 t->closing_pcr) < 0)
        return NULL;
    return json;
}

int luks_volume_format(const char *dev, const uint8_t *pass, size_t pass_len, bool integrity,
                       const struct luks_token *token, int *ret_keyslot, char **ret_error)
{
    enum luks_volume_kind kind = LUKS_VOLUME_OTHER;
    _cleanup_free_ char *what = NULL;
    int r = luks_volume_probe(dev, &kind, &what, ret_error);
    if (r < 0)
        return r;
    if (kind != LUKS_VOLUME_BLANK)
        return error_set(ret_error, -EEXIST, "%s carries %s: never formatted", dev, what);

    struct vol v = {0};
    char why[300];
    _cleanup_free_ char *json = NULL;
    if ((r = vol_open(dev, false, &v, ret_error)) < 0)
        return r;
    if ((r = pbkdf_for_tests(&v, dev, ret_error)) < 0)
        goto out;
    /* hmac-sha256 integrity adds its own 256-bit key to the 512-bit XTS key (as cryptsetup does) */
    struct crypt_params_luks2 params = {.sector_size = 4096, .integrity = integrity ? "hmac(sha256)" : NULL};
    r = crypt_format(v.cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, integrity ? 96 : 64, &params);
    if (r < 0) {
        if (integrity)
            error_set(ret_error, r == -ENOTSUP ? -EOPNOTSUPP : r,
                      "%s: cannot format with integrity hmac-sha256: it needs dm-integrity in the kernel "
                      "(\"integrity: none\" formats without)%s",
                      dev, vol_why(&v, why, sizeof why));
        else
            error_set(ret_error, r, "%s: LUKS2 format failed: %s%s", dev, strerror(-r),
                      vol_why(&v, why, sizeof why));
        goto out;
    }
    int slot = crypt_keyslot_add_by_volume_key(v.cd, CRYPT_ANY_SLOT, NULL, 0, (const char *)pass, pass_len);
    if (slot < 0) {
        r = error_set(ret_error, slot, "%s: cannot add the keyslot: %s%s", dev, strerror(-slot),
                      vol_why(&v, why, sizeof why));
        goto out;
    }
    if (!(json = token_json(token, slot))) {
        r = -ENOMEM;
        goto out;
    }
    if ((r = crypt_token_json_set(v.cd, CRYPT_ANY_TOKEN, json)) < 0) {
        error_set(ret_error, r, "%s: cannot store the " LUKS_TOKEN_TYPE " token: %s%s", dev, strerror(-r),
                  vol_why(&v, why, sizeof why));
        goto out;
    }
    *ret_keyslot = slot;
    r = 0;
out:
    vol_close(&v);
    return r;
}

int luks_volume_add_recovery(const char *dev, const uint8_t *pass, size_t pass_len, const uint8_t *recovery,
                             size_t recovery_len, int *ret_keyslot, char **ret_error)
{
    struct vol v = {0};
    char why[300];
    int r = vol_open(dev, true, &v, ret_error);
    if (r < 0)
        return r;
    if ((r = pbkdf_for_tests(&v, dev, ret_error)) == 0) {
        r = crypt_keyslot_add_by_passphrase(v.cd, CRYPT_ANY_SLOT, (const char *)pass, pass_len,
                                            (const char *)recovery, recovery_len);
        if (r < 0)
            error_set(ret_error, r, "%s: cannot add the recovery keyslot: %s%s", dev, strerror(-r),
                      vol_why(&v, why, sizeof why));
        else
            *ret_keyslot = r;
    }
    vol_close(&v);
    return r < 0 ? r : 0;
}

/* crypt_activate_by_passphrase with any keyslot: with a NULL name it only verifies the passphrase against the
 * keyslots, no device-mapper needed (spec 4.3). Returns the keyslot that opened. */
static int activate(const char *dev, const char *name, const uint8_t *pass, size_t pass_len, char **ret_error)
{
    struct vol v = {0};
    char why[300];
    int r = vol_open(dev, true, &v, ret_error);
    if (r < 0)
        return r;
    r = crypt_activate_by_passphrase(v.cd, name, CRYPT_ANY_SLOT, (const char *)pass, pass_len, 0);
    if (r == -EPERM)
        error_set(ret_error, r, "%s: the passphrase opens no keyslot", dev);
    else if (name && r == -EOPNOTSUPP)
        error_set(ret_error, r,
                  "%s: cannot activate /dev/mapper/%s: this kernel has no device-mapper (dm-crypt)%s", dev,
                  name, vol_why(&v, why, sizeof why));
    else if (r < 0)
        error_set(ret_error, r, "%s: cannot %s: %s%s", dev,
                  name ? "activate the volume" : "check the passphrase", strerror(-r),
                  vol_why(&v, why, sizeof why));
    vol_close(&v);
    return r;
}

int luks_volume_check(const char *dev, const uint8_t *pass, size_t pass_len, int *ret_keyslot,
                      char **ret_error)
{
    int r = activate(dev, NULL, pass, pass_len, ret_error);
    if (r < 0)
        return r;
    *ret_keyslot = r;
    return 0;
}

int luks_volume_activate(const char *dev, const char *name, const uint8_t *pass, size_t pass_len,
                         int *ret_keyslot, char **ret_error)
{
    int r = activate(dev, name, pass, pass_len, ret_error);
    if (r < 0)
        return r;
    if (ret_keyslot)
        *ret_keyslot = r;
    return 0;
}

int luks_volume_token_json(const char *dev, char **ret_json, char **ret_error)
{
    struct vol v = {0};
    int r = vol_open(dev, true, &v, ret_error);
    if (r < 0)
        return r;
    r = error_set(ret_error, -ENOENT, "%s: no " LUKS_TOKEN_TYPE " token", dev);
    for (int t = 0; t < 32; t++) {
        const char *type = NULL, *json = NULL;
        if (crypt_token_status(v.cd, t, &type) == CRYPT_TOKEN_INACTIVE || !type ||
            strcmp(type, LUKS_TOKEN_TYPE) != 0)
            continue;
        if (crypt_token_json_get(v.cd, t, &json) < 0 || !json)
            continue;
        if (ret_error) {
            free(*ret_error);
            *ret_error = NULL;
        }
        r = (*ret_json = strdup(json)) ? 0 : -ENOMEM;
        break;
    }
    vol_close(&v);
    return r;
}
