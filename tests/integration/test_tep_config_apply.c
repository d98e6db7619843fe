/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent config-apply` end to end on swtpm: the device provisioned with tep_provision_device() (keys made
 * here), containers sealed with tepc_seal(), the built binary run with TAGENT_TCTI through the pcap TCTI
 * (libtss2-tcti-pcap) so that every TPM command and response of the run is on record. Checked: applied for
 * both profiles (files, .applied, NV 0x018A0002); the capture holds no plaintext of the configuration (not
 * the configuration's text, not any 16 bytes of the decrypted archive) but does hold the ciphertext (the
 * capture works); a rejected container (flipped signature byte, old sequence) sends no
 * TPM2_CC_EncryptDecrypt2 at all (commands parsed out of the capture's TCP payloads); the exit codes 0/1/2;
 * and the real ops (tep_apply_tpm_ops) in process.
 * Usage: test_integration_tep_config_apply /path/to/tagent
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "cleanup.h"
#include "cleanup_openssl.h"
#include "provision.h"
#include "tep_apply_files.h"
#include "tpm_fixture.h"

#define TPM_CC_ENCRYPT_DECRYPT2 0x00000193u
#define PCAP_TPM_PORT           2321 /* the pcap TCTI's fake TCP port of the TPM side */
#define CONFIG_MARKER           "tep-config-plaintext-marker-5b3c9e: ntp=10.0.0.7"

static const char *tagent_bin;
static struct fx shared; /* owned (FX_OWNER_SECRET), no EK or AIK */
static char *root;       /* the device's root prefix: /etc/tep and the upload folder */
static unsigned runs;    /* makes capture file names unique */

static int group_setup(void **state)
{
    if (fx_start_owned(&shared) < 0)
        return -1;
    if (asprintf(&root, "%s/root", shared.dir) < 0)
        return -1;
    char *upload = NULL;
    int r = asprintf(&upload, "%s" TEP_UPLOAD_DIR, root) < 0 ? -1 : 0;
    if (r == 0) {
        char *cmd = NULL;
        r = asprintf(&cmd, "mkdir -p '%s'", upload) < 0 ? -1 : system(cmd);
        free(cmd);
    }
    free(upload);
    return r;
}

static int group_teardown(void **state)
{
    free(root);
    fx_free(&shared);
    return fx_no_children();
}

static int teardown(void **state)
{
    return fx_check_clean(&shared);
}

/* ---- the owner's side ---- */

struct owner {
    enum tepc_profile profile;
    EVP_PKEY *sign;
    uint8_t aes[32];
    size_t aes_len;
};

/* Fresh keys, and the device provisioned with them (replacing what an earlier test put there). */
static void owner_provision(struct owner *o, enum tepc_profile profile)
{
    const struct tepc_profile_params *p = tepc_profile_params(profile);
    o->profile = profile;
    o->sign = EVP_EC_gen(p->enc_key_bits == 256 ? "P-384" : "P-256");
    assert_non_null(o->sign);
    o->aes_len = p->enc_key_bits / 8;
    assert_int_equal(RAND_bytes(o->aes, (int)o->aes_len), 1);

    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    assert_int_equal(PEM_write_bio_PUBKEY(bio, o->sign), 1);
    long n = BIO_get_mem_data(bio, &pem);
    _cleanup_free_ char *pub = fx_file_write(&shared, "owner-pub.pem", pem, (size_t)n);
    _cleanup_free_ char *aes = fx_file_write(&shared, "owner-aes.bin", o->aes, o->aes_len);
    struct tep_provision_request req = {
        .pol_pub_key_path = pub, .enc_key_path = aes, .profile = profile, .force = true};
    _cleanup_free_ char *report = NULL, *error = NULL;
    if (tep_provision_device(root, shared.tpm, &shared.owner, &req, &report, &error) < 0)
        fail_msg("tep_provision_device(%s): %s", p->name, error);
    unlink(aes); /* the device keeps no copy */
}

static void owner_free(struct owner *o)
{
    EVP_PKEY_free(o->sign);
    OPENSSL_cleanse(o->aes, sizeof(o->aes));
}

/* The configuration directory: a file with the marker, a subdirectory; its tgz (the plaintext the TPM
 * returns) in *ret_tgz when asked. */
static void config_tgz(const char *tag, uint8_t **ret_tgz, size_t *ret_len)
{
    _cleanup_free_ char *dir = NULL, *cmd = NULL, *error = NULL;
    assert_true(asprintf(&dir, "%s/config-%s", shared.dir, tag) > 0);
    assert_true(
        asprintf(&cmd,
                 "rm -rf '%s' && mkdir -p '%s/net.d' && printf '%%s\\n' '" CONFIG_MARKER "' >'%s/site.conf' "
                 "&& head -c 3000 /dev/urandom | base64 >'%s/net.d/routes.conf' && echo '%s' >'%s/tag'",
                 dir, dir, dir, dir, tag, dir) > 0);
    assert_int_equal(system(cmd), 0);
    if (tepc_archive_create(dir, 1767225600, ret_tgz, ret_len, &error) < 0)
        fail_msg("tepc_archive_create: %s", error);
}

static void seal(const struct owner *o, const uint8_t *tgz, size_t tgz_len, uint32_t sequence, uint8_t **ret,
                 size_t *ret_len)
{
    struct tepc_seal_params params = {.profile = o->profile, .sequence = sequence, .created = 1767225600};
    _cleanup_free_ char *error = NULL;
    if (tepc_seal(tgz, tgz_len, o->sign, o->aes, o->aes_len, &params, ret, ret_len, &error) < 0)
        fail_msg("tepc_seal: %s", error);
}

static char *upload_path(const char *name)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s" TEP_UPLOAD_DIR "/%s", root, name) > 0);
    return p;
}

static void deliver(const uint8_t *blob, size_t len)
{
    _cleanup_free_ char *p = upload_path(TEP_BLOB_NAME);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, blob, len), (ssize_t)len);
    close(fd);
}

static bool upload_exists(const char *name)
{
    _cleanup_free_ char *p = upload_path(name);
    struct stat st;
    return lstat(p, &st) == 0;
}

static uint64_t nv_sequence(void)
{
    uint64_t v = 0;
    _cleanup_free_ char *error = NULL;
    if (tpm_nv_u64_read(shared.tpm, TPM_NV_TEP_CONFIG_SEQ, &v, &error) < 0)
        fail_msg("NV 0x018A0002: %s", error);
    return v;
}

/* ---- running the binary ---- */

struct cli_run {
    int status;   /* exit status, 128 + signal */
    char *output; /* stdout + stderr */
    char *pcap;   /* the capture of this run */
};

static void cli_run_free(struct cli_run *r)
{
    free(r->output);
    free(r->pcap);
}

/* `tagent --root ROOT config-apply` with the pcap TCTI in front of the swtpm; secret NULL: no
 * TPM_OWNER_SECRET at all. */
static struct cli_run cli(const char *secret)
{
    struct cli_run r = {0};
    _cleanup_free_ char *tcti = NULL, *pcap_env = NULL, *secret_env = NULL, *out = NULL;
    assert_true(asprintf(&r.pcap, "%s/run-%u.pcap", shared.dir, ++runs) > 0);
    assert_true(asprintf(&out, "%s/run-%u.out", shared.dir, runs) > 0);
    assert_true(asprintf(&tcti, "TAGENT_TCTI=pcap:%s", shared.swtpm->tcti) > 0);
    assert_true(asprintf(&pcap_env, "TCTI_PCAP_FILE=%s", r.pcap) > 0);
    assert_true(asprintf(&secret_env, "TPM_OWNER_SECRET=%s", secret ? secret : "") > 0);
    const char *asan = getenv("ASAN_OPTIONS"), *ubsan = getenv("UBSAN_OPTIONS");
    _cleanup_free_ char *asan_env = NULL, *ubsan_env = NULL;
    assert_true(asprintf(&asan_env, "ASAN_OPTIONS=%s", asan ? asan : "") > 0);
    assert_true(asprintf(&ubsan_env, "UBSAN_OPTIONS=%s", ubsan ? ubsan : "") > 0);
    char *env[] = {"PATH=/usr/bin:/bin",
                   "TAGENT_LOG_TARGET=stderr",
                   tcti,
                   pcap_env,
                   secret ? secret_env : "TAGENT_NO_SECRET=1",
                   asan_env,
                   ubsan_env,
                   NULL};
    const char *argv[] = {tagent_bin, "--root", root, "config-apply", NULL};

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, tagent_bin, &fa, NULL, (char *const *)argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.output = harness_file_slurp(out);
    assert_non_null(r.output);
    fprintf(stderr, "# config-apply exit %d: %s", r.status, r.output);
    return r;
}

/* ---- the capture ---- */

struct capture {
    uint8_t *data;
    size_t len;
    unsigned commands, encrypt_decrypt2;
};

/* The TCP payload of one captured packet and whether it went to the TPM. The pcap TCTI writes raw IP packets
 * (link type 228, LINKTYPE_IPV4); with Ethernet (link type 1) the IP header starts 14 bytes in. */
static bool packet_payload(const uint8_t *f, size_t len, bool ethernet, const uint8_t **ret, size_t *ret_len,
                           bool *ret_to_tpm)
{
    size_t ip = ethernet ? 14 : 0, tcp;
    if (len < ip + 20)
        return false;
    if (f[ip] >> 4 == 4 && f[ip + 9] == 6)
        tcp = ip + (size_t)(f[ip] & 0x0f) * 4;
    else if (f[ip] >> 4 == 6 && len >= ip + 40 && f[ip + 6] == 6)
        tcp = ip + 40;
    else
        return false;
    if (len < tcp + 20)
        return false;
    size_t data = tcp + (size_t)(f[tcp + 12] >> 4) * 4;
    if (data > len)
        return false;
    *ret_to_tpm = (f[tcp + 2] << 8 | f[tcp + 3]) == PCAP_TPM_PORT;
    *ret = f + data;
    *ret_len = len - data;
    return true;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* pcapng (little-endian here): the Interface Description Block's link type, then every Enhanced Packet
 * Block's packet; a TCP payload to the TPM is one command: tag(2) size(4) commandCode(4). */
static void capture_load(const char *path, struct capture *c)
{
    memset(c, 0, sizeof(*c));
    assert_int_equal(fx_file_read(path, &c->data, &c->len), 0);
    assert_true(c->len >= 12);
    assert_int_equal(le32(c->data), 0x0A0D0D0A);
    assert_int_equal(le32(c->data + 8), 0x1A2B3C4D); /* written on this (little-endian) host */
    bool ethernet = false;
    for (size_t off = 0; off + 12 <= c->len;) {
        uint32_t type = le32(c->data + off), block = le32(c->data + off + 4);
        assert_true(block >= 12 && block % 4 == 0 && off + block <= c->len);
        if (type == 1) /* IDB: link type (2), reserved (2), snap length (4) */
            ethernet = (le32(c->data + off + 8) & 0xffff) == 1;
        if (type == 6) { /* EPB: interface, ts hi, ts lo, captured length, original length, frame */
            uint32_t caplen = le32(c->data + off + 20);
            assert_true(28 + (size_t)caplen <= block);
            const uint8_t *payload;
            size_t payload_len;
            bool to_tpm;
            if (packet_payload(c->data + off + 28, caplen, ethernet, &payload, &payload_len, &to_tpm) &&
                to_tpm && payload_len >= 10) {
                c->commands++;
                c->encrypt_decrypt2 += be32(payload + 6) == TPM_CC_ENCRYPT_DECRYPT2;
            }
        }
        off += block;
    }
}

/* No 16 bytes of the plaintext archive, and not the configuration's text, anywhere in the capture. */
static void assert_no_plaintext(const struct capture *c, const uint8_t *tgz, size_t tgz_len)
{
    assert_null(memmem(c->data, c->len, CONFIG_MARKER, strlen(CONFIG_MARKER)));
    assert_null(memmem(c->data, c->len, "ntp=10.0.0.7", 12));
    for (size_t off = 0; off + 16 <= tgz_len; off += 8)
        if (memmem(c->data, c->len, tgz + off, 16))
            fail_msg("bytes %zu..%zu of the plaintext archive are in the capture", off, off + 15);
}

/* ---- tests ---- */

/* Applied through the binary; then the same device refuses a flipped signature byte and an old sequence
 * without one EncryptDecrypt2 on the bus. */
static void apply_then_reject(enum tepc_profile profile)
{
    struct owner o;
    owner_provision(&o, profile);
    uint64_t last = nv_sequence();
    uint32_t seq = (uint32_t)last + 3; /* the sequence may jump */
    _cleanup_free_ uint8_t *tgz = NULL, *blob = NULL;
    size_t tgz_len, len;
    config_tgz(tepc_profile_params(profile)->name, &tgz, &tgz_len);
    seal(&o, tgz, tgz_len, seq, &blob, &len);

    deliver(blob, len);
    struct cli_run r = cli(FX_OWNER_SECRET);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.output, "applied sequence"));
    assert_int_equal(nv_sequence(), seq);
    assert_true(upload_exists("site.conf") && upload_exists("net.d/routes.conf"));
    assert_true(upload_exists(TEP_BLOB_NAME ".applied"));
    assert_false(upload_exists(TEP_BLOB_NAME));
    struct capture c;
    capture_load(r.pcap, &c);
    assert_true(c.encrypt_decrypt2 >= 1); /* positive control: the parser sees the decryption */
    struct tepc_blob parsed;
    _cleanup_free_ char *error = NULL;
    assert_int_equal(tepc_parse(blob, len, &parsed, &error), 0);
    assert_non_null(memmem(c.data, c.len, parsed.ciphertext + 64, 32)); /* the capture holds the traffic */
    assert_no_plaintext(&c, tgz, tgz_len);
    fprintf(stderr, "# %s: %u TPM commands, %u EncryptDecrypt2 for %zu bytes\n",
            tepc_profile_params(profile)->name, c.commands, c.encrypt_decrypt2, parsed.ciphertext_len);
    free(c.data);
    cli_run_free(&r);

    /* a flipped byte in the signature (its last byte: inside s) */
    _cleanup_free_ uint8_t *next = NULL;
    size_t next_len;
    seal(&o, tgz, tgz_len, seq + 1, &next, &next_len);
    next[next_len - 1] ^= 0x01;
    deliver(next, next_len);
    r = cli(FX_OWNER_SECRET);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.output, "rejected: signature does not verify"));
    capture_load(r.pcap, &c);
    assert_true(c.commands > 0);
    assert_int_equal(c.encrypt_decrypt2, 0);
    assert_int_equal(nv_sequence(), seq);
    assert_true(upload_exists(TEP_BLOB_NAME ".rejected"));
    free(c.data);
    cli_run_free(&r);

    /* the applied container put back: the sequence is not greater */
    deliver(blob, len);
    r = cli(FX_OWNER_SECRET);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.output, "(anti-rollback)"));
    capture_load(r.pcap, &c);
    assert_int_equal(c.encrypt_decrypt2, 0);
    assert_int_equal(nv_sequence(), seq);
    free(c.data);
    cli_run_free(&r);
    owner_free(&o);
}

static void test_ptt(void **state)
{
    apply_then_reject(TEPC_PROFILE_PTT);
}

static void test_dtpm(void **state)
{
    apply_then_reject(TEPC_PROFILE_DTPM);
}

/* Whether an uploaded file holds exactly text (the configuration's "tag" file says which one is installed).
 */
static bool upload_holds(const char *name, const char *text)
{
    _cleanup_free_ char *p = upload_path(name);
    char buf[64] = "";
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strcmp(buf, text) == 0;
}

/* The operator puts a container that config-apply set aside back for the next run. */
static void upload_restore(void)
{
    _cleanup_free_ char *from = upload_path(TEP_BLOB_NAME ".failed"), *to = upload_path(TEP_BLOB_NAME);
    assert_int_equal(rename(from, to), 0);
}

/* Exit 2 and nothing installed without the owner secret and with a wrong one (decrypted, extracted, but the
 * sequence write is refused): the container is set aside as .failed, so that the next boot does not try the
 * refused secret again; put back, the right secret applies it. */
static void test_failed_then_applied(void **state)
{
    struct owner o;
    owner_provision(&o, TEPC_PROFILE_PTT);
    uint32_t seq = (uint32_t)nv_sequence() + 1;
    _cleanup_free_ uint8_t *tgz = NULL, *blob = NULL;
    size_t tgz_len, len;
    config_tgz("failed", &tgz, &tgz_len);
    seal(&o, tgz, tgz_len, seq, &blob, &len);
    deliver(blob, len);

    const char *refused[] = {NULL, "0000000000000000000000000000000000000000"};
    for (size_t i = 0; i < 2; i++) {
        struct cli_run r = cli(refused[i]);
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.output, "could not be written"));
        assert_non_null(strstr(r.output, "nothing was installed"));
        assert_false(upload_exists(TEP_BLOB_NAME));
        assert_true(upload_exists(TEP_BLOB_NAME ".failed"));
        assert_false(upload_holds("tag", "failed\n"));
        assert_int_equal(nv_sequence(), seq - 1);
        cli_run_free(&r);
        upload_restore();
    }

    struct cli_run r = cli(FX_OWNER_SECRET);
    assert_int_equal(r.status, 0);
    assert_int_equal(nv_sequence(), seq);
    assert_true(upload_holds("tag", "failed\n"));
    cli_run_free(&r);
    owner_free(&o);
}

/* The real ops in process, on the test's own TPM context. */
static void test_real_ops_in_process(void **state)
{
    struct owner o;
    owner_provision(&o, TEPC_PROFILE_DTPM);
    uint32_t seq = (uint32_t)nv_sequence() + 1;
    _cleanup_free_ uint8_t *tgz = NULL, *blob = NULL;
    size_t tgz_len, len;
    config_tgz("in-process", &tgz, &tgz_len);
    seal(&o, tgz, tgz_len, seq, &blob, &len);
    deliver(blob, len);

    struct tep_tpm_apply st;
    struct tep_apply_ops ops;
    _cleanup_free_ char *error = NULL, *message = NULL;
    if (tep_apply_tpm_ops(root, shared.tpm, &shared.owner, &st, &ops, &error) < 0)
        fail_msg("tep_apply_tpm_ops: %s", error);
    enum tep_apply_outcome outcome;
    assert_int_equal(tep_config_apply(root, &ops, &outcome, &message), 0);
    tep_tpm_apply_clear(&st);
    fprintf(stderr, "# %s\n", message);
    assert_int_equal(outcome, TEP_APPLY_APPLIED);
    assert_int_equal(nv_sequence(), seq);
    _cleanup_free_ char *tag_path = upload_path("tag");
    _cleanup_free_ char *tag = harness_file_slurp(tag_path);
    assert_string_equal(tag, "in-process\n");
    owner_free(&o);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s /path/to/tagent\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_ptt, teardown),
        cmocka_unit_test_teardown(test_dtpm, teardown),
        cmocka_unit_test_teardown(test_failed_then_applied, teardown),
        cmocka_unit_test_teardown(test_real_ops_in_process, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
