/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tep_config_apply() (docs/tep-formats.md section 3) with fake TPM ops: software AES-CTR, an in-memory
 * sequence, a counter of decrypt calls. The point of most tests: a container that fails a check before
 * decryption never reaches ops->decrypt, and a rejected or failed run changes nothing in the upload folder
 * but the container's name and the result file. Containers come from tepc_seal(); archives with hostile
 * entries from libarchive's writer; headers with chosen fields are re-signed here (reseal()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "provision.h"
#include "tep_apply_files.h"
#include "tepc.h"

#define UPLOAD     "/home/update/upload/mnt"
#define KEEP_TEXT  "an operator's file the configuration does not touch\n"
#define SECRET_CFG "config-marker-7c1e: ntp.example.internal\n"

/* ---- the device, faked ---- */

struct fake_tpm {
    enum tepc_profile profile;
    uint8_t *spki;
    size_t spki_len;
    const uint8_t *aes_key;
    uint64_t sequence;
    unsigned decrypt_calls, record_calls;
    int decrypt_error; /* returned by decrypt when set (-EIO) */
    int record_error;  /* returned by record_sequence when set (-EIO, -EACCES) */
};

static int fake_profile(void *userdata, enum tepc_profile *ret, char **ret_error)
{
    *ret = ((struct fake_tpm *)userdata)->profile;
    return 0;
}

static int fake_policy_key(void *userdata, uint8_t **ret_spki, size_t *ret_len, char **ret_error)
{
    struct fake_tpm *t = userdata;
    *ret_spki = malloc(t->spki_len);
    assert_non_null(*ret_spki);
    memcpy(*ret_spki, t->spki, t->spki_len);
    *ret_len = t->spki_len;
    return 0;
}

static int fake_last_sequence(void *userdata, uint64_t *ret, char **ret_error)
{
    *ret = ((struct fake_tpm *)userdata)->sequence;
    return 0;
}

/* AES-CTR as the TPM does it, with the key the fake holds. */
static int fake_decrypt(void *userdata, const uint8_t iv[16], const uint8_t *in, size_t len, uint8_t *out,
                        char **ret_error)
{
    struct fake_tpm *t = userdata;
    t->decrypt_calls++;
    if (t->decrypt_error) {
        *ret_error = strdup("the TPM is not reachable (fake)");
        return t->decrypt_error;
    }
    bool ptt = t->profile == TEPC_PROFILE_PTT;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    assert_true(EVP_DecryptInit_ex(ctx, ptt ? EVP_aes_256_ctr() : EVP_aes_128_ctr(), NULL, t->aes_key, iv));
    assert_true(EVP_DecryptUpdate(ctx, out, &n, in, (int)len));
    assert_true(EVP_DecryptFinal_ex(ctx, out + n, &fin));
    EVP_CIPHER_CTX_free(ctx);
    return 0;
}

static int fake_record(void *userdata, uint64_t sequence, char **ret_error)
{
    struct fake_tpm *t = userdata;
    t->record_calls++;
    if (t->record_error) {
        *ret_error = strdup(t->record_error == -EACCES ? "the owner secret is wrong (fake)"
                                                       : "the TPM is not reachable (fake)");
        return t->record_error;
    }
    t->sequence = sequence;
    return 0;
}

/* ---- keys, shared by all tests ---- */

static EVP_PKEY *key_p384, *key_p256, *key_other_p384;
static uint8_t aes256[32], aes128[16];

static EVP_PKEY *ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_EC_gen(curve);
    assert_non_null(k);
    return k;
}

static int group_setup(void **state)
{
    key_p384 = ec_key("P-384");
    key_p256 = ec_key("P-256");
    key_other_p384 = ec_key("P-384");
    return RAND_bytes(aes256, sizeof(aes256)) == 1 && RAND_bytes(aes128, sizeof(aes128)) == 1 ? 0 : -1;
}

static int group_teardown(void **state)
{
    EVP_PKEY_free(key_p384);
    EVP_PKEY_free(key_p256);
    EVP_PKEY_free(key_other_p384);
    return 0;
}

/* ---- one test's world: a root with an upload folder holding the operator's files ---- */

struct world {
    char *root, *upload;
    struct fake_tpm tpm;
    struct tep_apply_ops ops;
    char *before; /* snapshot of the folder's other files */
};

static char *path_of(const struct world *w, const char *name)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s", w->upload, name) > 0);
    return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void world_file(const struct world *w, const char *name, const void *data, size_t len)
{
    char *p = path_of(w, name);
    write_file(p, data, len);
    free(p);
}

static uint8_t *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0, n;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc(buf, cap + 1);
            assert_non_null(grown);
            buf = grown;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = 0;
    *ret_len = len;
    return buf;
}

static char *world_text(const struct world *w, const char *name)
{
    char *p = path_of(w, name);
    size_t len;
    char *t = (char *)read_file(p, &len);
    free(p);
    return t;
}

static bool world_exists(const struct world *w, const char *name)
{
    char *p = path_of(w, name);
    struct stat st;
    bool ok = lstat(p, &st) == 0;
    free(p);
    return ok;
}

/* The snapshot: every entry below the folder but the container's own names, with type and content. */
static char *snap_buf;
static size_t snap_len, snap_root_len;

static int snap_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    const char *rel = path + snap_root_len;
    if (ftw->level == 1 && strncmp(rel, "/" TEP_BLOB_NAME, strlen(TEP_BLOB_NAME) + 1) == 0)
        return 0;
    size_t len = 0;
    uint8_t *data = S_ISREG(st->st_mode) ? read_file(path, &len) : NULL;
    char line[8192];
    int n = snprintf(line, sizeof(line), "%s %o %zu %.*s\n", rel, st->st_mode, len,
                     (int)(len < 4000 ? len : 4000), data ? (char *)data : "");
    free(data);
    char *grown = realloc(snap_buf, snap_len + (size_t)n + 1);
    assert_non_null(grown);
    snap_buf = grown;
    memcpy(snap_buf + snap_len, line, (size_t)n + 1);
    snap_len += (size_t)n;
    return 0;
}

static char *snapshot(const struct world *w)
{
    snap_buf = strdup("");
    snap_len = 0;
    snap_root_len = strlen(w->upload);
    assert_int_equal(nftw(w->upload, snap_one, 16, FTW_PHYS), 0);
    return snap_buf;
}

static void assert_unchanged(const struct world *w)
{
    char *now = snapshot(w);
    assert_string_equal(now, w->before);
    free(now);
}

static int world_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    const char *tmp = getenv("TMPDIR");
    assert_true(asprintf(&w->root, "%s/tep-apply-XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
    assert_non_null(mkdtemp(w->root));
    assert_true(asprintf(&w->upload, "%s" UPLOAD, w->root) > 0);
    char *cmd = NULL;
    assert_true(asprintf(&cmd, "mkdir -p '%s/keepdir' '%s/conf.d'", w->upload, w->upload) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    world_file(w, "keep.txt", KEEP_TEXT, strlen(KEEP_TEXT));
    world_file(w, "keepdir/inner.txt", KEEP_TEXT, strlen(KEEP_TEXT));
    world_file(w, "conf.d/old.conf", "old\n", 4);
    world_file(w, "app.conf", "version=old\n", 12);

    w->tpm = (struct fake_tpm){.profile = TEPC_PROFILE_PTT, .aes_key = aes256, .sequence = 6};
    w->tpm.spki_len = (size_t)i2d_PUBKEY(key_p384, &w->tpm.spki);
    w->ops = (struct tep_apply_ops){.userdata = &w->tpm,
                                    .profile = fake_profile,
                                    .policy_key = fake_policy_key,
                                    .last_sequence = fake_last_sequence,
                                    .decrypt = fake_decrypt,
                                    .record_sequence = fake_record};
    w->before = snapshot(w);
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    struct world *w = *state;
    assert_int_equal(tep_tree_remove(w->root), 0);
    OPENSSL_free(w->tpm.spki);
    free(w->before);
    free(w->upload);
    free(w->root);
    free(w);
    return 0;
}

/* Makes the device a dtpm one (P-256 policy key, AES-128). */
static void world_dtpm(struct world *w)
{
    OPENSSL_free(w->tpm.spki);
    w->tpm.spki = NULL;
    w->tpm.spki_len = (size_t)i2d_PUBKEY(key_p256, &w->tpm.spki);
    w->tpm.profile = TEPC_PROFILE_DTPM;
    w->tpm.aes_key = aes128;
}

/* ---- archives and containers ---- */

struct entry {
    const char *name;
    mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO */
    const char *data;
    const char *link; /* symlink target, or hard link target (with AE_IFREG) */
    uint64_t zeros;   /* a file of this many zero bytes instead of data */
};

struct membuf {
    uint8_t *data;
    size_t len;
};

static la_ssize_t mem_write(struct archive *a, void *userdata, const void *buf, size_t n)
{
    struct membuf *m = userdata;
    m->data = realloc(m->data, m->len + n);
    assert_non_null(m->data);
    memcpy(m->data + m->len, buf, n);
    m->len += n;
    return (la_ssize_t)n;
}

static void make_tgz(const struct entry *entries, size_t n, uint8_t **ret, size_t *ret_len)
{
    struct membuf m = {0};
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open(a, &m, NULL, mem_write, NULL), ARCHIVE_OK);
    static const uint8_t zeros[65536];
    for (size_t i = 0; i < n; i++) {
        const struct entry *e = &entries[i];
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e->name);
        archive_entry_set_filetype(ae, e->type);
        archive_entry_set_perm(ae, e->type == AE_IFDIR ? 0755 : 0644);
        uint64_t size = e->type != AE_IFREG || e->link ? 0
                        : e->zeros                     ? e->zeros
                                                       : strlen(e->data ? e->data : "");
        archive_entry_set_size(ae, (la_int64_t)size);
        if (e->type == AE_IFLNK)
            archive_entry_set_symlink(ae, e->link);
        else if (e->link)
            archive_entry_set_hardlink(ae, e->link);
        if (e->type == AE_IFCHR)
            archive_entry_set_rdev(ae, makedev(1, 3));
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (e->zeros)
            for (uint64_t done = 0; done < e->zeros;) {
                size_t chunk = e->zeros - done < sizeof(zeros) ? (size_t)(e->zeros - done) : sizeof(zeros);
                assert_int_equal(archive_write_data(a, zeros, chunk), (la_ssize_t)chunk);
                done += chunk;
            }
        else if (size)
            assert_int_equal(archive_write_data(a, e->data, size), (la_ssize_t)size);
        archive_entry_free(ae);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    *ret = m.data;
    *ret_len = m.len;
}

/* The configuration most tests deliver: a file replacing one, a new file, a directory replacing one. */
static const struct entry config_entries[] = {
    {.name = "app.conf", .type = AE_IFREG, .data = "version=new\n" SECRET_CFG},
    {.name = "conf.d", .type = AE_IFDIR},
    {.name = "conf.d/new.conf", .type = AE_IFREG, .data = "new\n"},
    {.name = "fresh.txt", .type = AE_IFREG, .data = "fresh\n"},
};

static void seal(const struct entry *entries, size_t n, enum tepc_profile profile, EVP_PKEY *key,
                 uint32_t sequence, uint8_t **ret, size_t *ret_len)
{
    uint8_t *tgz;
    size_t tgz_len;
    make_tgz(entries, n, &tgz, &tgz_len);
    bool ptt = profile == TEPC_PROFILE_PTT;
    struct tepc_seal_params params = {.profile = profile, .sequence = sequence, .created = 1767225600};
    char *error = NULL;
    int r = tepc_seal(tgz, tgz_len, key, ptt ? aes256 : aes128, ptt ? 32 : 16, &params, ret, ret_len, &error);
    if (r < 0)
        fail_msg("tepc_seal: %s", error);
    free(tgz);
}

static void seal_config(enum tepc_profile profile, uint32_t sequence, uint8_t **ret, size_t *ret_len)
{
    seal(config_entries, sizeof(config_entries) / sizeof(config_entries[0]), profile,
         profile == TEPC_PROFILE_PTT ? key_p384 : key_p256, sequence, ret, ret_len);
}

/* A container whose header was changed by edit and signed again with key (P-384, SHA-384): a container the
 * owner really made, with a field the device must refuse. */
static void reseal(uint8_t **blob, size_t *len, void (*edit)(struct tepc_header *h), EVP_PKEY *key)
{
    struct tepc_blob b;
    char *error = NULL;
    assert_int_equal(tepc_parse(*blob, *len, &b, &error), 0);
    struct tepc_header h = b.header;
    edit(&h);
    size_t signed_len = b.signed_len;
    uint8_t *out = malloc(signed_len + 2 + 256);
    tepc_header_encode(&h, out);
    memcpy(out + TEPC_HEADER_LEN, b.ciphertext, b.ciphertext_len);
    size_t sig_len = 256;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_true(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key));
    assert_true(EVP_DigestSign(md, out + signed_len + 2, &sig_len, out, signed_len));
    EVP_MD_CTX_free(md);
    out[signed_len] = (uint8_t)(sig_len >> 8);
    out[signed_len + 1] = (uint8_t)sig_len;
    free(*blob);
    *blob = out;
    *len = signed_len + 2 + sig_len;
}

/* ---- running it ---- */

struct run {
    enum tep_apply_outcome outcome;
    char *message;
};

static struct run apply(struct world *w)
{
    struct run r = {0};
    assert_int_equal(tep_config_apply(w->root, &w->ops, &r.outcome, &r.message), 0);
    assert_non_null(r.message);
    return r;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle))
        fail_msg("\"%s\" does not contain \"%s\"", haystack ? haystack : "(null)", needle);
}

/* A rejection before decryption: outcome, message, no decrypt, folder as before, sequence as before, the
 * container renamed, the result file naming the check. */
static void assert_rejected_early(struct world *w, const char *fragment)
{
    uint64_t seq = w->tpm.sequence;
    struct run r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_REJECTED);
    assert_contains(r.message, fragment);
    assert_int_equal(w->tpm.decrypt_calls, 0);
    assert_int_equal(w->tpm.record_calls, 0);
    assert_int_equal(w->tpm.sequence, seq);
    assert_false(world_exists(w, TEP_BLOB_NAME));
    assert_true(world_exists(w, TEP_BLOB_NAME ".rejected"));
    char *result = world_text(w, TEP_RESULT_NAME);
    assert_contains(result, "outcome: rejected\n");
    assert_contains(result, fragment);
    free(result);
    assert_unchanged(w);
    free(r.message);
}

/* Rejected after decryption (the archive): nothing applied, no staging left, sequence as before. */
static void assert_rejected_archive(struct world *w, const char *fragment)
{
    uint64_t seq = w->tpm.sequence;
    struct run r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_REJECTED);
    assert_contains(r.message, fragment);
    assert_int_equal(w->tpm.decrypt_calls, 1);
    assert_int_equal(w->tpm.record_calls, 0);
    assert_int_equal(w->tpm.sequence, seq);
    assert_true(world_exists(w, TEP_BLOB_NAME ".rejected"));
    assert_unchanged(w);
    free(r.message);
}

static void put_blob(struct world *w, const uint8_t *blob, size_t len)
{
    world_file(w, TEP_BLOB_NAME, blob, len);
}

/* ---- tests ---- */

static void check_applied(struct world *w, uint32_t sequence)
{
    struct run r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_APPLIED);
    assert_contains(r.message, "applied sequence");
    assert_contains(r.message, "app.conf, conf.d/, fresh.txt");
    assert_int_equal(w->tpm.decrypt_calls, 1);
    assert_int_equal(w->tpm.sequence, sequence);

    char *app = world_text(w, "app.conf"), *fresh = world_text(w, "fresh.txt");
    char *newc = world_text(w, "conf.d/new.conf"), *keep = world_text(w, "keep.txt");
    assert_string_equal(app, "version=new\n" SECRET_CFG);
    assert_string_equal(fresh, "fresh\n");
    assert_string_equal(newc, "new\n");
    assert_string_equal(keep, KEEP_TEXT);
    assert_false(world_exists(w, "conf.d/old.conf")); /* the directory was exchanged, not merged */
    assert_true(world_exists(w, "keepdir/inner.txt"));
    assert_false(world_exists(w, TEP_BLOB_NAME));
    assert_true(world_exists(w, TEP_BLOB_NAME ".applied"));

    char *result = world_text(w, TEP_RESULT_NAME);
    char seq_line[64];
    snprintf(seq_line, sizeof(seq_line), "sequence: %u\n", sequence);
    assert_contains(result, "outcome: applied\n");
    assert_contains(result, seq_line);
    assert_contains(result, "signer_kid: ");
    assert_contains(result, "files: app.conf, conf.d/, fresh.txt\n");
    assert_contains(result, "time: ");
    char *p = path_of(w, TEP_RESULT_NAME);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    free(p);
    free(result);
    free(app), free(fresh), free(newc), free(keep);
    free(r.message);
}

static void test_applied_ptt(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_PTT, 7, &blob, &len);
    put_blob(w, blob, len);
    check_applied(w, 7);
    free(blob);

    /* the same container again (put back by whoever can write the disk): equal sequence, rejected */
    w->tpm.decrypt_calls = w->tpm.record_calls = 0;
    free(w->before);
    w->before = snapshot(w);
    seal_config(TEPC_PROFILE_PTT, 7, &blob, &len);
    put_blob(w, blob, len);
    assert_rejected_early(w, "rejected: sequence 7 is the last applied sequence (anti-rollback): this "
                             "container was applied before");
    free(blob);
}

static void test_applied_dtpm(void **state)
{
    struct world *w = *state;
    world_dtpm(w);
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_DTPM, 1000, &blob, &len);
    put_blob(w, blob, len);
    check_applied(w, 1000);
    free(blob);
}

/* Every byte of a sealed container flipped, one at a time, each in a fresh copy: all rejected before
 * decryption, and nothing changes. */
static void test_every_flipped_byte(void **state)
{
    struct world *w = *state;
    static const struct entry small[] = {{.name = "a", .type = AE_IFREG, .data = "x"}};
    uint8_t *blob;
    size_t len;
    seal(small, 1, TEPC_PROFILE_PTT, key_p384, 7, &blob, &len);
    char *rejected = path_of(w, TEP_BLOB_NAME ".rejected"), *result = path_of(w, TEP_RESULT_NAME);
    unsigned sig_rejections = 0;
    for (size_t i = 0; i < len; i++) {
        /* the lowest bit of every byte; in the header also the highest, where lengths and enums live */
        for (unsigned v = 0; v < (i < TEPC_HEADER_LEN ? 2u : 1u); v++) {
            blob[i] ^= v ? 0x80 : 0x01;
            put_blob(w, blob, len);
            struct run r = apply(w);
            if (r.outcome != TEP_APPLY_REJECTED || w->tpm.decrypt_calls != 0)
                fail_msg("byte %zu ^ 0x%02x: outcome %d, %u decrypt calls (%s)", i, v ? 0x80 : 0x01,
                         r.outcome, w->tpm.decrypt_calls, r.message);
            sig_rejections += strstr(r.message, "signature does not verify") != NULL;
            assert_int_equal(w->tpm.sequence, 6);
            assert_int_equal(unlink(rejected), 0);
            assert_int_equal(unlink(result), 0);
            blob[i] ^= v ? 0x80 : 0x01;
            free(r.message);
        }
    }
    assert_true(sig_rejections > 0);
    assert_unchanged(w);
    /* and the unflipped one applies: the loop did not test a broken container */
    put_blob(w, blob, len);
    struct run r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_APPLIED);
    free(r.message);
    free(rejected);
    free(result);
    free(blob);
}

static void test_wrong_key(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal(config_entries, 4, TEPC_PROFILE_PTT, key_other_p384, 7, &blob, &len);
    put_blob(w, blob, len);
    assert_rejected_early(w, "is not the key in NV 0x018A0000");
    free(blob);
}

static void test_wrong_profile(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_DTPM, 7, &blob, &len); /* the device is ptt */
    put_blob(w, blob, len);
    assert_rejected_early(w, "does not match this device's profile ptt");
    free(blob);
}

static void test_old_sequence(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_PTT, 5, &blob, &len);
    put_blob(w, blob, len);
    assert_rejected_early(
        w, "rejected: sequence 5 is not greater than the last applied sequence 6 (anti-rollback)");
    free(blob);
}

static void test_truncated(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_PTT, 7, &blob, &len);
    put_blob(w, blob, len - 1);
    assert_rejected_early(w, "not a valid TEPC v1 container");
    free(blob);
}

static void test_extended(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_PTT, 7, &blob, &len);
    uint8_t *longer = realloc(blob, len + 1);
    assert_non_null(longer);
    blob = longer;
    blob[len] = 0;
    put_blob(w, blob, len + 1);
    assert_rejected_early(w, "not a valid TEPC v1 container");
    free(blob);
}

static void test_empty_file(void **state)
{
    struct world *w = *state;
    put_blob(w, (const uint8_t *)"", 0);
    assert_rejected_early(w, "not a valid TEPC v1 container");
}

/* A symlink to a perfectly good container elsewhere: never followed. */
static void test_symlink(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_PTT, 7, &blob, &len);
    char *elsewhere = NULL, *link = path_of(w, TEP_BLOB_NAME);
    assert_true(asprintf(&elsewhere, "%s/elsewhere.bin", w->root) > 0);
    write_file(elsewhere, blob, len);
    assert_int_equal(symlink(elsewhere, link), 0);
    assert_rejected_early(w, "the container is a symbolic link");
    char *moved = path_of(w, TEP_BLOB_NAME ".rejected");
    struct stat st;
    assert_int_equal(lstat(moved, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* the link itself was renamed */
    free(moved);
    free(elsewhere);
    free(link);
    free(blob);
}

/* A FIFO is refused from lstat: opening it would block the boot. */
static void test_fifo(void **state)
{
    struct world *w = *state;
    char *fifo = path_of(w, TEP_BLOB_NAME);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    assert_rejected_early(w, "the container is a FIFO");
    free(fifo);
}

static void flags_zero(struct tepc_header *h)
{
    h->flags = 0;
}

static void test_not_tgz(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_PTT, 7, &blob, &len);
    reseal(&blob, &len, flags_zero, key_p384);
    put_blob(w, blob, len);
    assert_rejected_early(w, "flags");
    free(blob);
}

/* A hostile archive, properly sealed: it reaches decryption (the signature is good) but nothing lands. */
static void hostile(void **state, const struct entry *entries, size_t n, const char *fragment)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal(entries, n, TEPC_PROFILE_PTT, key_p384, 7, &blob, &len);
    put_blob(w, blob, len);
    assert_rejected_archive(w, fragment);
    free(blob);
}

#define FIRST_OK                                                                                             \
    {                                                                                                        \
        .name = "aaa-first.conf", .type = AE_IFREG, .data = "would be applied\n"                             \
    }

static void test_tar_dotdot(void **state)
{
    const struct entry e[] = {FIRST_OK, {.name = "conf.d/../../evil", .type = AE_IFREG, .data = "x"}};
    hostile(state, e, 2, "rejected: the payload archive");
}

static void test_tar_absolute(void **state)
{
    const struct entry e[] = {FIRST_OK, {.name = "/tmp/tep-evil-absolute", .type = AE_IFREG, .data = "x"}};
    hostile(state, e, 2, "rejected: the payload archive");
    assert_int_equal(access("/tmp/tep-evil-absolute", F_OK), -1);
}

static void test_tar_symlink(void **state)
{
    const struct entry e[] = {FIRST_OK, {.name = "link", .type = AE_IFLNK, .link = "/etc/passwd"}};
    hostile(state, e, 2, "rejected: the payload archive");
}

static void test_tar_hardlink(void **state)
{
    const struct entry e[] = {FIRST_OK, {.name = "hard", .type = AE_IFREG, .link = "aaa-first.conf"}};
    hostile(state, e, 2, "rejected: the payload archive");
}

static void test_tar_device(void **state)
{
    const struct entry e[] = {FIRST_OK, {.name = "null", .type = AE_IFCHR}};
    hostile(state, e, 2, "rejected: the payload archive");
}

static void test_tar_fifo(void **state)
{
    const struct entry e[] = {FIRST_OK, {.name = "pipe", .type = AE_IFIFO}};
    hostile(state, e, 2, "rejected: the payload archive");
}

/* 64 MiB + 1 of zeros in one entry: ~65 KiB of gzip; extraction stops at the per-entry limit. */
static void test_zip_bomb(void **state)
{
    const struct entry e[] = {FIRST_OK,
                              {.name = "bomb", .type = AE_IFREG, .zeros = ((uint64_t)64 << 20) + 1}};
    hostile(state, e, 2, "rejected: the payload archive");
}

/* The configuration may not overwrite the container's own names. */
static void test_tar_reserved_name(void **state)
{
    const struct entry e[] = {FIRST_OK,
                              {.name = TEP_RESULT_NAME, .type = AE_IFREG, .data = "outcome: forged\n"}};
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal(e, 2, TEPC_PROFILE_PTT, key_p384, 7, &blob, &len);
    put_blob(w, blob, len);
    assert_rejected_archive(w, "reserved");
    char *result = world_text(w, TEP_RESULT_NAME);
    assert_contains(result, "outcome: rejected\n");
    free(result);
    free(blob);
}

/* The TPM fails: not the container's fault, so it stays for the next boot. */
static void test_decrypt_fails(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_PTT, 7, &blob, &len);
    put_blob(w, blob, len);
    w->tpm.decrypt_error = -EIO;
    struct run r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_FAILED);
    assert_contains(r.message, "failed: decryption with the key at 0x8100A000 failed");
    assert_int_equal(w->tpm.decrypt_calls, 1);
    assert_int_equal(w->tpm.sequence, 6);
    assert_true(world_exists(w, TEP_BLOB_NAME));
    assert_false(world_exists(w, TEP_BLOB_NAME ".rejected"));
    char *result = world_text(w, TEP_RESULT_NAME);
    assert_contains(result, "outcome: failed\n");
    free(result);
    assert_unchanged(w);
    free(r.message);

    /* the next boot, with the TPM back, applies it */
    w->tpm.decrypt_error = 0;
    w->tpm.decrypt_calls = 0;
    check_applied(w, 7);
    free(blob);
}

/* The TPM refuses the AES key's authValue: set aside as .failed, so no boot tries the same refusal again. */
static void test_decrypt_refused(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_PTT, 7, &blob, &len);
    put_blob(w, blob, len);
    w->tpm.decrypt_error = -EACCES;
    struct run r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_FAILED);
    assert_contains(r.message, "was refused");
    assert_false(world_exists(w, TEP_BLOB_NAME));
    assert_true(world_exists(w, TEP_BLOB_NAME ".failed"));
    assert_int_equal(w->tpm.sequence, 6);
    assert_unchanged(w);
    free(r.message);
    w->tpm.decrypt_calls = 0;
    r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_NOTHING);
    assert_int_equal(w->tpm.decrypt_calls, 0);
    free(r.message);
    free(blob);
}

/* The sequence cannot be recorded: nothing is installed (a configuration without its rollback protection
 * never runs). A transient failure leaves the container for the next boot; a refused authorization sets it
 * aside, so that no boot tries the refused secret again. */
static void test_record_fails(void **state)
{
    struct world *w = *state;
    uint8_t *blob;
    size_t len;
    seal_config(TEPC_PROFILE_PTT, 7, &blob, &len);
    put_blob(w, blob, len);
    w->tpm.record_error = -EIO;
    struct run r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_FAILED);
    assert_contains(r.message, "nothing was installed, the container stays for the next boot");
    assert_int_equal(w->tpm.record_calls, 1);
    assert_int_equal(w->tpm.sequence, 6);
    assert_true(world_exists(w, TEP_BLOB_NAME));
    assert_unchanged(w);
    free(r.message);

    w->tpm.record_error = -EACCES;
    r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_FAILED);
    assert_contains(r.message, "correct TPM_OWNER_SECRET");
    assert_int_equal(w->tpm.sequence, 6);
    assert_false(world_exists(w, TEP_BLOB_NAME));
    assert_true(world_exists(w, TEP_BLOB_NAME ".failed"));
    char *result = world_text(w, TEP_RESULT_NAME);
    assert_contains(result, "outcome: failed\n");
    free(result);
    assert_unchanged(w);
    free(r.message);

    /* nothing to try at the next boot: the refused secret is not used again */
    w->tpm.record_calls = w->tpm.decrypt_calls = 0;
    r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_NOTHING);
    assert_int_equal(w->tpm.record_calls, 0);
    free(r.message);
    free(blob);
}

static void test_leftover_staging(void **state)
{
    struct world *w = *state;
    char *cmd = NULL;
    assert_true(asprintf(&cmd,
                         "mkdir -p '%s/" TEP_STAGING_PREFIX "Ab12Cd/new/deep/er' && "
                         "touch '%s/" TEP_STAGING_PREFIX "Ab12Cd/new/deep/er/f' && "
                         "ln -s /etc '%s/" TEP_STAGING_PREFIX "Ab12Cd/new/etc-link'",
                         w->upload, w->upload, w->upload) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    world_file(w, TEP_RESULT_TMP_PREFIX "Xy12Zw", "half", 4);
    struct run r = apply(w); /* no container: nothing to apply, but the crash's leftovers go */
    assert_int_equal(r.outcome, TEP_APPLY_NOTHING);
    assert_false(world_exists(w, TEP_STAGING_PREFIX "Ab12Cd"));
    assert_false(world_exists(w, TEP_RESULT_TMP_PREFIX "Xy12Zw"));
    assert_false(world_exists(w, TEP_RESULT_NAME));
    assert_int_equal(access("/etc/passwd", F_OK), 0);
    assert_unchanged(w);
    free(r.message);
}

static void test_nothing(void **state)
{
    struct world *w = *state;
    struct run r = apply(w);
    assert_int_equal(r.outcome, TEP_APPLY_NOTHING);
    assert_int_equal(w->tpm.decrypt_calls, 0);
    free(r.message);

    /* no upload folder at all */
    char *root = NULL;
    assert_true(asprintf(&root, "%s/nowhere", w->root) > 0);
    enum tep_apply_outcome o;
    char *message = NULL;
    assert_int_equal(tep_config_apply(root, &w->ops, &o, &message), 0);
    assert_int_equal(o, TEP_APPLY_NOTHING);
    free(message);
    free(root);
}

#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_applied_ptt),
        T(test_applied_dtpm),
        T(test_every_flipped_byte),
        T(test_wrong_key),
        T(test_wrong_profile),
        T(test_old_sequence),
        T(test_truncated),
        T(test_extended),
        T(test_empty_file),
        T(test_symlink),
        T(test_fifo),
        T(test_not_tgz),
        T(test_tar_dotdot),
        T(test_tar_absolute),
        T(test_tar_symlink),
        T(test_tar_hardlink),
        T(test_tar_device),
        T(test_tar_fifo),
        T(test_zip_bomb),
        T(test_tar_reserved_name),
        T(test_decrypt_fails),
        T(test_record_fails),
        T(test_decrypt_refused),
        T(test_leftover_staging),
        T(test_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
