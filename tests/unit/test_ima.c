/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IMA logs: every IMA file of ../shared/corpora parses, every template hash recomputes, PCR 10 replays to
 * the manifest's SHA-1 value; other banks replay to values computed outside this code (Python hashlib and
 * the openssl CLI, see the comments at each constant). Bad input of every kind gives an error or a correct
 * partial result, never a crash (the sanitizer build runs this too). imaLogs JSON is compared as text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "eventlog.h"

static const char *corpora;

/* ---- helpers ---- */

static uint8_t *slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *ret_len = (size_t)n;
    return buf;
}

/* A missing corpus fails the test that needs it: skipping would let it pass while checking nothing. */
static void corpus_path(char *out, size_t cap, const char *rel)
{
    if (!corpora)
        fail_msg(
            "TAGENT_CORPORA is not set: run this test through ctest, which sets it to the shared corpora "
            "(../shared/corpora beside the source tree), or set it to where they are");
    snprintf(out, cap, "%s/%s", corpora, rel);
    if (access(out, R_OK) != 0)
        fail_msg(
            "%s: %s: this test needs the shared corpora (TAGENT_CORPORA=%s, from ../shared/corpora beside "
            "the source tree); restore them there, or point TAGENT_CORPORA at a copy",
            out, strerror(errno), corpora);
}

static char *hex(const uint8_t *p, size_t n)
{
    static char buf[2 * 64 + 1];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        sprintf(buf + 2 * i, "%02x", p[i]);
    buf[2 * n] = '\0';
    return buf;
}

static uint8_t *unhex(const char *s, size_t *ret_len)
{
    size_t n = strlen(s) / 2;
    uint8_t *out = malloc(n ? n : 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    *ret_len = n;
    return out;
}

static void assert_pcr10(const struct ima_log *log, uint16_t alg, const char *expected)
{
    uint8_t pcr[EVENTLOG_MAX_DIGEST];
    char *err = NULL;
    int r = ima_replay_pcr10(log, alg, pcr, &err);
    if (r < 0)
        fail_msg("replay %s: %s", eventlog_alg_name(alg), err);
    assert_string_equal(hex(pcr, eventlog_alg_size(alg)), expected);
}

static struct ima_log *load(const char *rel)
{
    char path[4096];
    corpus_path(path, sizeof(path), rel);
    struct ima_log *log = NULL;
    char *err = NULL;
    int r = ima_load(path, 0, &log, &err);
    if (r < 0)
        fail_msg("%s: %d %s", rel, r, err);
    assert_null(err);
    return log;
}

struct counts {
    size_t ok, violations, signatures;
};

static struct counts count(const struct ima_log *log)
{
    struct counts c = {0};
    for (size_t i = 0; i < log->n_entries; i++) {
        c.ok += log->entries[i].template_hash_ok;
        c.violations += log->entries[i].violation;
        c.signatures += log->entries[i].signature != NULL;
    }
    return c;
}

static const cJSON *ima_oracle(cJSON *expected, const char *file)
{
    const cJSON *f =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(expected, "files"), file);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(f, "ima_oracle");
    assert_non_null(o);
    return o;
}

static cJSON *load_expected(void)
{
    char path[4096];
    size_t len = 0;
    corpus_path(path, sizeof(path), "eventlog/EXPECTED_PCRS.json");
    char *text = (char *)slurp(path, &len);
    cJSON *json = cJSON_ParseWithLength(text, len);
    free(text);
    assert_non_null(json);
    return json;
}

static bool entries_equal(const struct ima_entry *a, const struct ima_entry *b)
{
    return a->pcr == b->pcr && a->template_hash_alg == b->template_hash_alg &&
           a->template_hash_size == b->template_hash_size &&
           memcmp(a->template_hash, b->template_hash, a->template_hash_size) == 0 &&
           a->template_kind == b->template_kind && strcmp(a->file_hash_alg, b->file_hash_alg) == 0 &&
           a->file_hash_len == b->file_hash_len &&
           memcmp(a->file_hash, b->file_hash, a->file_hash_len) == 0 && strcmp(a->path, b->path) == 0 &&
           a->signature_len == b->signature_len &&
           (a->signature_len == 0 || memcmp(a->signature, b->signature, a->signature_len) == 0) &&
           a->violation == b->violation && a->template_hash_ok == b->template_hash_ok;
}

/* Whatever parses must also replay in SHA1 and SHA256 and serialise. */
static void assert_usable(const struct ima_log *log)
{
    uint8_t pcr[EVENTLOG_MAX_DIGEST];
    char *json = NULL;
    assert_int_equal(ima_replay_pcr10(log, EVENTLOG_ALG_SHA1, pcr, NULL), 0);
    assert_int_equal(ima_replay_pcr10(log, EVENTLOG_ALG_SHA256, pcr, NULL), 0);
    assert_int_equal(ima_logs_json(log, EVENTLOG_ALG_SHA256, &json, NULL), 0);
    free(json);
}

/* ---- 1. corpus ---- */

/* SHA256 / SHA384 expectations below were computed independently of this code with Python's hashlib:
 * template data rebuilt from each line/record, violations (all-zero template hash) extended as all 0xff. */

static void test_corpus_rust_keylime(void **state)
{
    (void)state;
    cJSON *expected = load_expected();
    const cJSON *o = ima_oracle(expected, "ima/rust-keylime/ascii_runtime_measurements");
    struct ima_log *log = load("eventlog/ima/rust-keylime/ascii_runtime_measurements");
    struct counts c = count(log);
    assert_int_equal(log->n_entries, 826);
    assert_int_equal(log->n_entries, cJSON_GetObjectItem(o, "entries")->valueint);
    assert_int_equal(c.ok, 826);
    assert_int_equal(c.violations, 0);
    for (size_t i = 0; i < log->n_entries; i++) {
        assert_int_equal(log->entries[i].template_kind, IMA_TEMPLATE_IMA_NG);
        assert_string_equal(log->entries[i].file_hash_alg, "sha1");
        assert_int_equal(log->entries[i].pcr, 10);
    }
    assert_string_equal(log->entries[0].path, "boot_aggregate");
    assert_pcr10(log, EVENTLOG_ALG_SHA1,
                 cJSON_GetObjectItem(cJSON_GetObjectItem(o, "pcr"), "10")->valuestring);
    assert_pcr10(log, EVENTLOG_ALG_SHA1, "82231c67a69da98dc5b3aa10f6343d33109225fc");
    assert_pcr10(log, EVENTLOG_ALG_SHA256,
                 "c4a065637fc6a7c55f2811dd06cb45dd037133be2b3dc5c3e6fbe6bf061db724");
    assert_pcr10(log, EVENTLOG_ALG_SHA384,
                 "cd3b31be56970702d736d8faebcf9c0ad90961e38a4922975b3f4cce4fa106096c51bb"
                 "5ef1b8dc41519ed18bd61afae5");
    ima_log_free(log);
    cJSON_Delete(expected);
}

static void test_corpus_keylime_sha256(void **state)
{
    (void)state;
    cJSON *expected = load_expected();
    const cJSON *o = ima_oracle(expected, "ima/keylime/ima-log-sha256");
    struct ima_log *log = load("eventlog/ima/keylime/ima-log-sha256");
    struct counts c = count(log);
    assert_int_equal(log->n_entries, 2);
    assert_int_equal(log->n_entries, cJSON_GetObjectItem(o, "entries")->valueint);
    assert_int_equal(c.ok, 2);
    assert_int_equal(c.violations, 0);
    assert_string_equal(log->entries[1].path, "/data");
    assert_string_equal(log->entries[1].file_hash_alg, "sha256");
    assert_int_equal(log->entries[1].file_hash_len, 32);
    assert_string_equal(hex(log->entries[1].file_hash, 32),
                        "96d7fae8adb7286a419a88f78c13d35fb782d63df654b7db56f154765698b754");
    assert_pcr10(log, EVENTLOG_ALG_SHA1,
                 cJSON_GetObjectItem(cJSON_GetObjectItem(o, "pcr"), "10")->valuestring);
    assert_pcr10(log, EVENTLOG_ALG_SHA1, "8adcb4304b78ee782bbba3733b191591e75dc83d");
    assert_pcr10(log, EVENTLOG_ALG_SHA256,
                 "8dcd5e7eb63e363377ec19b0d358601ccc19f25a30486f35784c5288dbb91d9d");
    ima_log_free(log);
    cJSON_Delete(expected);
}

static void test_corpus_tpm2_tss_binary(void **state)
{
    (void)state;
    cJSON *expected = load_expected();
    const cJSON *o = ima_oracle(expected, "ima/tpm2-tss/sml-ima-ng-sha1.bin");
    const cJSON *digests = cJSON_GetObjectItem(o, "expected_template_digests");
    struct ima_log *log = load("eventlog/ima/tpm2-tss/sml-ima-ng-sha1.bin");
    struct counts c = count(log);
    assert_int_equal(log->n_entries, 6);
    assert_int_equal(log->n_entries, cJSON_GetObjectItem(o, "expected_entries")->valueint);
    assert_int_equal(cJSON_GetArraySize(digests), 6);
    assert_int_equal(log->trailing_bytes, 1); /* the stray newline the peer parser also tolerates */
    assert_int_equal(c.ok, 6);
    assert_int_equal(c.violations, 0);
    for (size_t i = 0; i < 6; i++) {
        const cJSON *d = cJSON_GetArrayItem(digests, (int)i);
        assert_string_equal(hex(log->entries[i].template_hash, 20),
                            cJSON_GetObjectItem(d, "template_hash_sha1")->valuestring);
        assert_string_equal(log->entries[i].path, cJSON_GetObjectItem(d, "name")->valuestring);
        assert_int_equal(log->entries[i].template_kind, IMA_TEMPLATE_IMA_NG);
    }
    assert_pcr10(log, EVENTLOG_ALG_SHA1, "ef2a20de2a84a4780f92ab11d5c4934c709dff00");
    assert_pcr10(log, EVENTLOG_ALG_SHA256,
                 "700a1bb47bc2bc005f2d8e23d80e2a1e301733c1d29023c52d1d7d149719eb64");
    ima_log_free(log);
    cJSON_Delete(expected);
}

/* ISecL's test log: ima-sig lines without signatures and without the kernel's trailing space, and two
 * violations (one of them with a 20-byte zero "sha512" digest, as kernels before 5.x wrote them). */
static void test_corpus_isecl(void **state)
{
    (void)state;
    struct ima_log *log = load("isecl/ima/ascii_runtime_measurements");
    struct counts c = count(log);
    assert_int_equal(log->n_entries, 101);
    assert_int_equal(c.ok, 101);
    assert_int_equal(c.violations, 2);
    assert_int_equal(c.signatures, 0);
    assert_int_equal(log->entries[0].template_kind, IMA_TEMPLATE_IMA_SIG);
    assert_true(log->entries[71].violation);
    assert_string_equal(log->entries[72].file_hash_alg, "sha512");
    assert_int_equal(log->entries[72].file_hash_len, 20);
    assert_string_equal(log->entries[72].path, "/tmp/sh-thd.UuOjlg");
    assert_pcr10(log, EVENTLOG_ALG_SHA1, "70d750b2dcfc7e0c17bdcc6fa01564f129fcd3af");
    assert_pcr10(log, EVENTLOG_ALG_SHA256,
                 "c08e235d3da8aa59e90993de2791fb31ab4320f17860e022ed3ea9aab52888bd");
    ima_log_free(log);
}

/* ---- hand-made logs (built with Python from the kernel's field layout, not with this code) ---- */

/* 1: ima-ng, sha256 of "hello\n", a name with a space; 2: a violation; 3: ima-sig with a 7-byte signature
 * and a name with a space; 4: the old "ima" template. */
static const char hand_ascii[] =
    "10 b93b2a274ef3cc281054b77eaf7528b85f07ca43 ima-ng "
    "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 /usr/bin/hello world\n"
    "10 0000000000000000000000000000000000000000 ima-ng "
    "sha256:0000000000000000000000000000000000000000000000000000000000000000 /tmp/viol\n"
    "10 db66c6a75f74bf512a0a780d296490f7fadad579 ima-sig sha1:11f6ad8ec52a2984abaafd7c3b516503785c2072 "
    "/etc/a b "
    "030204aabbccdd\n"
    "10 1d4f2fa369127a546b600aa915eb828e9bdb096a ima c00dbbc9dadfbe1e232e93a729dd4752fade0abf /boot/old\n";

static const char hand_bin_hex[] =
    "0a000000b93b2a274ef3cc281054b77eaf7528b85f07ca4306000000696d612d6e6745000000280000007368613235363a005891"
    "b5"
    "b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03150000002f7573722f62696e2f68656c6c6f20776f726c"
    "64"
    "000a000000000000000000000000000000000000000000000006000000696d612d6e673a000000280000007368613235363a0000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000a0000002f746d702f76696f6c000a000000db66c6a7"
    "5f"
    "74bf512a0a780d296490f7fadad57907000000696d612d736967360000001a000000736861313a0011f6ad8ec52a2984abaafd7c"
    "3b"
    "516503785c2072090000002f6574632f6120620007000000030204aabbccdd0a0000001d4f2fa369127a546b600aa915eb828e9b"
    "db"
    "096a03000000696d61c00dbbc9dadfbe1e232e93a729dd4752fade0abf090000002f626f6f742f6f6c64";

static struct ima_log *parse_ascii_ok(const char *text)
{
    struct ima_log *log = NULL;
    char *err = NULL;
    int r = ima_parse_ascii(text, strlen(text), EVENTLOG_ALG_SHA1, &log, &err);
    if (r < 0)
        fail_msg("%d %s", r, err);
    return log;
}

static void test_hand_log_both_formats(void **state)
{
    (void)state;
    size_t bin_len = 0;
    uint8_t *bin = unhex(hand_bin_hex, &bin_len);
    struct ima_log *a = parse_ascii_ok(hand_ascii), *b = NULL;
    char *err = NULL;
    assert_int_equal(ima_parse_binary(bin, bin_len, EVENTLOG_ALG_SHA1, &b, &err), 0);
    assert_int_equal(a->n_entries, 4);
    assert_int_equal(b->n_entries, 4);
    assert_int_equal(b->trailing_bytes, 0);
    for (size_t i = 0; i < 4; i++) {
        assert_true(entries_equal(&a->entries[i], &b->entries[i]));
        assert_true(a->entries[i].template_hash_ok);
    }
    const struct ima_entry *e = a->entries;
    assert_string_equal(e[0].path, "/usr/bin/hello world");
    assert_true(e[1].violation);
    assert_int_equal(e[2].template_kind, IMA_TEMPLATE_IMA_SIG);
    assert_string_equal(e[2].path, "/etc/a b");
    assert_int_equal(e[2].signature_len, 7);
    assert_memory_equal(e[2].signature, "\x03\x02\x04\xaa\xbb\xcc\xdd", 7);
    assert_int_equal(e[3].template_kind, IMA_TEMPLATE_IMA);
    assert_string_equal(e[3].file_hash_alg, "sha1");
    assert_string_equal(e[3].path, "/boot/old");
    /* Python hashlib over the template data; violation as all 0xff. */
    assert_pcr10(a, EVENTLOG_ALG_SHA1, "d53f2ddf9265fceeef5fe72e5ce45be9581ddff6");
    assert_pcr10(a, EVENTLOG_ALG_SHA256, "3a65a89034b6c8f7621fc4f296780905cb0b4881da38be99968b76b70738e7d7");
    assert_pcr10(b, EVENTLOG_ALG_SHA256, "3a65a89034b6c8f7621fc4f296780905cb0b4881da38be99968b76b70738e7d7");
    ima_log_free(a);
    ima_log_free(b);
    free(bin);
}

/* The first two lines alone, checked against the openssl CLI:
 *   t1 = template data of line 1; d1 = openssl dgst -sha256 t1
 *   p1 = sha256(32 zero bytes || d1); pcr = sha256(p1 || 32 bytes of 0xff)  -> 997d423e...
 * and the same in SHA-1 with the stated template hash (-> ccca2e1b...). */
static void test_two_entry_sha256_oracle(void **state)
{
    (void)state;
    char two[512];
    const char *second = strchr(strchr(hand_ascii, '\n') + 1, '\n');
    snprintf(two, sizeof(two), "%.*s", (int)(second + 1 - hand_ascii), hand_ascii);
    struct ima_log *log = parse_ascii_ok(two);
    assert_int_equal(log->n_entries, 2);
    assert_pcr10(log, EVENTLOG_ALG_SHA256,
                 "997d423efe0e3c8194ff0cf788f17f8697ec745abb7899bd18a0192a70b00bcb");
    assert_pcr10(log, EVENTLOG_ALG_SHA1, "ccca2e1b5403c91caa37c3070e11075def3c9075");
    ima_log_free(log);
}

/* ima-sig's tail can be read several ways; the template hash decides. Template hashes computed with Python
 * from the kernel's field layout for the reading named in each comment. */
static void expect_sig_reading(const char *line, const char *path, size_t sig_len)
{
    struct ima_log *log = parse_ascii_ok(line);
    assert_int_equal(log->n_entries, 1);
    assert_true(log->entries[0].template_hash_ok);
    assert_string_equal(log->entries[0].path, path);
    assert_int_equal(log->entries[0].signature_len, sig_len);
    assert_true((log->entries[0].signature != NULL) == (sig_len != 0));
    ima_log_free(log);
}

static void test_ima_sig_readings(void **state)
{
    (void)state;
    /* The kernel's form for an empty signature: a trailing space. Reading: name "/x", no signature. */
    expect_sig_reading("10 f950c8598880886ceffc8dc423c1fe152fa1140e ima-sig "
                       "sha1:0000000000000000000000000000000000000001 /x \n",
                       "/x", 0);
    /* A name whose last word looks like a signature, trailing space trimmed. Reading: name "/opt/x deadbeef".
     */
    expect_sig_reading("10 42246a884b01cdc4ffe10c06bb5ad5f0d4ec3808 ima-sig "
                       "sha1:1111111111111111111111111111111111111111 /opt/x deadbeef\n",
                       "/opt/x deadbeef", 0);
    /* The same with the kernel's trailing space. */
    expect_sig_reading("10 42246a884b01cdc4ffe10c06bb5ad5f0d4ec3808 ima-sig "
                       "sha1:1111111111111111111111111111111111111111 /opt/x deadbeef \n",
                       "/opt/x deadbeef", 0);
    /* A name that itself ends in a space, trimmed form. Reading: name "/y ". */
    expect_sig_reading("10 c51ddd108e8ca72b9652d758cc1528d03bf03c93 ima-sig "
                       "sha1:2222222222222222222222222222222222222222 /y \n",
                       "/y ", 0);
    /* A real signature after a name with a space (hand log line 3). Reading: name "/etc/a b", 7-byte sig. */
    expect_sig_reading("10 db66c6a75f74bf512a0a780d296490f7fadad579 ima-sig "
                       "sha1:11f6ad8ec52a2984abaafd7c3b516503785c2072 /etc/a b 030204aabbccdd\n",
                       "/etc/a b", 7);

    /* The trimmed form of a signature-less ima-sig line (ISecL data) and the kernel's form with a trailing
     * space give the same entry. */
    char line[512];
    const char *trimmed = "10 e4c2134f68ea0e00df8172c88b52f4838ece33e5 ima-sig "
                          "sha256:60fc177f90edce79358cf51457b7ee023eab92d4d39b4b89917d17aa3f8429e4 "
                          "/usr/lib/systemd/systemd";
    snprintf(line, sizeof(line), "%s \n", trimmed);
    struct ima_log *t = parse_ascii_ok(trimmed), *k = parse_ascii_ok(line);
    assert_true(t->entries[0].template_hash_ok);
    assert_true(entries_equal(&t->entries[0], &k->entries[0]));
    assert_null(k->entries[0].signature);
    ima_log_free(t);
    ima_log_free(k);

    /* No reading recomputes: the most likely one is kept and the mismatch reported. */
    struct ima_log *log = parse_ascii_ok("10 0123456789012345678901234567890123456789 ima-sig "
                                         "sha1:2222222222222222222222222222222222222222 /z 0304\n");
    assert_false(log->entries[0].template_hash_ok);
    assert_string_equal(log->entries[0].path, "/z");
    assert_int_equal(log->entries[0].signature_len, 2);
    ima_log_free(log);
}

static void test_template_hash_mismatch_is_reported_not_fatal(void **state)
{
    (void)state;
    char text[sizeof(hand_ascii)];
    memcpy(text, hand_ascii, sizeof(hand_ascii));
    char *w = strstr(text, "hello world");
    w[0] = 'j'; /* the file name no longer matches the template hash */
    struct ima_log *log = parse_ascii_ok(text);
    assert_int_equal(log->n_entries, 4);
    assert_false(log->entries[0].template_hash_ok);
    assert_true(log->entries[1].template_hash_ok);
    /* SHA1 replays what the log states; the mismatch is for the verifier to judge. */
    assert_pcr10(log, EVENTLOG_ALG_SHA1, "d53f2ddf9265fceeef5fe72e5ce45be9581ddff6");
    ima_log_free(log);
}

static void test_other_pcrs_are_not_replayed(void **state)
{
    (void)state;
    char text[sizeof(hand_ascii) + 8];
    struct ima_log *log = parse_ascii_ok(hand_ascii);
    uint8_t full[EVENTLOG_MAX_DIGEST], without_first[EVENTLOG_MAX_DIGEST];
    assert_int_equal(ima_replay_pcr10(log, EVENTLOG_ALG_SHA256, full, NULL), 0);
    ima_log_free(log);
    snprintf(text, sizeof(text), "11%s", hand_ascii + 2); /* first entry moved to PCR 11 */
    log = parse_ascii_ok(text);
    assert_int_equal(log->entries[0].pcr, 11);
    assert_int_equal(ima_replay_pcr10(log, EVENTLOG_ALG_SHA256, without_first, NULL), 0);
    assert_memory_not_equal(full, without_first, 32);
    ima_log_free(log);
    uint8_t pcr[EVENTLOG_MAX_DIGEST];
    char *err = NULL;
    log = parse_ascii_ok(hand_ascii);
    assert_int_equal(ima_replay_pcr10(log, 0x0001 /* RSA */, pcr, &err), -EOPNOTSUPP);
    assert_non_null(err);
    free(err);
    ima_log_free(log);
}

/* ---- 2. bad input ---- */

static void expect_ascii_error(const char *text, const char *fragment)
{
    struct ima_log *log = NULL;
    char *err = NULL;
    int r = ima_parse_ascii(text, strlen(text), EVENTLOG_ALG_SHA1, &log, &err);
    if (r >= 0)
        fail_msg("accepted: %s", text);
    assert_int_equal(r, -EINVAL);
    assert_null(log);
    assert_non_null(err);
    if (!strstr(err, fragment))
        fail_msg("error \"%s\" does not contain \"%s\"", err, fragment);
    free(err);
}

static void test_bad_ascii_lines(void **state)
{
    (void)state;
    const char *ok =
        "10 6309e2c83b7814367bb3912a55e5473454623535 ima-ng "
        "sha256:f4845392eca429a4c941a6a07fc32faf843a88c5c3dfa3b9329ab8f4171d9ce3 boot_aggregate\n";
    char text[1024];
    struct {
        const char *line, *fragment;
    } cases[] = {
        {"x 6309e2c83b7814367bb3912a55e5473454623535 ima-ng sha1:00 a", "line 2: PCR index \"x\""},
        {"24 6309e2c83b7814367bb3912a55e5473454623535 ima-ng sha1:00 a", "line 2: PCR index \"24\""},
        {"10 6309e2c83b7814367bb3912a55e5473454623535", "line 2: template hash"},
        {"10 6309e2c83b7814367bb3912a55e547345462353 ima-ng sha1:00 a", "line 2: template hash"},
        {"10 6309e2c83b7814367bb3912a55e547345462353g ima-ng sha1:00 a", "line 2: template hash"},
        {"10 6309e2c83b7814367bb3912a55e5473454623535 ima-buf sha1:00 a", "line 2: template \"ima-buf\""},
        {"10 6309e2c83b7814367bb3912a55e5473454623535 ima-ng", "line 2: no file hash"},
        {"10 6309e2c83b7814367bb3912a55e5473454623535 ima-ng 00112233 a", "no \"alg:\" prefix"},
        {"10 6309e2c83b7814367bb3912a55e5473454623535 ima-ng SHA1:00 a", "algorithm name \"SHA1\""},
        {"10 6309e2c83b7814367bb3912a55e5473454623535 ima-ng sha1:001 a", "not hex"},
        {"10 6309e2c83b7814367bb3912a55e5473454623535 ima-ng sha1:zz a", "not hex"},
        {"10 6309e2c83b7814367bb3912a55e5473454623535 ima-ng sha256:0011 a",
         "sha256 digest has 2 bytes, expected 32"},
        {"10 6309e2c83b7814367bb3912a55e5473454623535 ima-ng sha1: a", "sha1 digest is empty"},
        {"10 6309e2c83b7814367bb3912a55e5473454623535 ima-ng sha1:0000000000000000000000000000000000000000",
         "line 2: no file name"},
        {"10 6309e2c83b7814367bb3912a55e5473454623535 ima 0011 /a", "line 2: file hash is not 40 hex digits"},
        {"10  6309e2c83b7814367bb3912a55e5473454623535 ima-ng sha1:00 a", "template hash"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "%s%s\n%s", ok, cases[i].line, ok);
        expect_ascii_error(text, cases[i].fragment);
    }

    /* A NUL inside a line; an over-long line; an "ima" name longer than the template's 255 bytes. */
    char nul[256];
    size_t n = (size_t)snprintf(nul, sizeof(nul),
                                "%s10 6309e2c83b7814367bb3912a55e5473454623535 ima-ng sha1:00 a", ok);
    nul[n - 1] = '\0';
    struct ima_log *log = NULL;
    char *err = NULL;
    assert_int_equal(ima_parse_ascii(nul, n, EVENTLOG_ALG_SHA1, &log, &err), -EINVAL);
    assert_non_null(strstr(err, "line 2: contains a NUL"));
    free(err);
    err = NULL;

    size_t big = 100000;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, 'a', big);
    huge[big] = '\0';
    memcpy(huge, "10 ", 3);
    expect_ascii_error(huge, "line 1: longer than");
    free(huge);

    char old[600];
    n = (size_t)snprintf(old, sizeof(old),
                         "10 1d4f2fa369127a546b600aa915eb828e9bdb096a ima "
                         "c00dbbc9dadfbe1e232e93a729dd4752fade0abf /");
    memset(old + n, 'x', 300);
    old[n + 300] = '\0';
    expect_ascii_error(old, "line 1: file name is longer than 255");
}

static void test_empty_and_blank_input(void **state)
{
    (void)state;
    struct ima_log *log = NULL;
    char *err = NULL, *json = NULL;
    assert_int_equal(ima_parse_ascii("", 0, EVENTLOG_ALG_SHA1, &log, &err), 0);
    assert_int_equal(log->n_entries, 0);
    assert_pcr10(log, EVENTLOG_ALG_SHA1, "0000000000000000000000000000000000000000");
    assert_int_equal(ima_logs_json(log, EVENTLOG_ALG_SHA256, &json, &err), 0);
    assert_string_equal(json, "{\"pcr\":{\"index\":10,\"bank\":\"SHA256\"},\"ima_measurements\":[],"
                              "\"ima_template\":\"ima-ng\"}");
    free(json);
    ima_log_free(log);
    log = NULL;
    assert_int_equal(ima_parse_binary((const uint8_t *)"", 0, EVENTLOG_ALG_SHA1, &log, &err), 0);
    assert_int_equal(log->n_entries, 0);
    assert_int_equal(log->trailing_bytes, 0);
    ima_log_free(log);
    log = parse_ascii_ok("\n\n");
    assert_int_equal(log->n_entries, 0);
    ima_log_free(log);
    assert_null(err);
}

/* Every prefix of a binary log: either an error naming an offset, or the records before the cut, exactly,
 * with fewer than a record header's 28 bytes left over. */
static void truncate_binary_everywhere(const uint8_t *buf, size_t len)
{
    struct ima_log *full = NULL;
    assert_int_equal(ima_parse_binary(buf, len, EVENTLOG_ALG_SHA1, &full, NULL), 0);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size, so ASan sees any over-read */
        assert_non_null(copy);
        memcpy(copy, buf, cut);
        struct ima_log *log = NULL;
        char *err = NULL;
        int r = ima_parse_binary(copy, cut, EVENTLOG_ALG_SHA1, &log, &err);
        if (r < 0) {
            assert_int_equal(r, -EINVAL);
            assert_non_null(err);
            if (!strstr(err, "offset"))
                fail_msg("cut at %zu: \"%s\" names no offset", cut, err);
            free(err);
        } else {
            assert_true(log->n_entries <= full->n_entries);
            assert_true(log->trailing_bytes < 28);
            for (size_t i = 0; i < log->n_entries; i++)
                assert_true(entries_equal(&log->entries[i], &full->entries[i]));
            assert_usable(log);
            ima_log_free(log);
        }
        free(copy);
    }
    ima_log_free(full);
}

static void test_truncated_binary(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *bin = unhex(hand_bin_hex, &len);
    truncate_binary_everywhere(bin, len);
    free(bin);

    char path[4096];
    corpus_path(path, sizeof(path), "eventlog/ima/tpm2-tss/sml-ima-ng-sha1.bin");
    bin = slurp(path, &len);
    truncate_binary_everywhere(bin, len);

    /* A cut inside the third record's file name is an error naming that record's offset. */
    struct ima_log *log = NULL;
    char *err = NULL;
    assert_int_equal(ima_parse_binary(bin, 0xf0, EVENTLOG_ALG_SHA1, &log, &err), -EINVAL);
    assert_non_null(strstr(err, "record 3 at offset 165: cut off at offset"));
    free(err);
    free(bin);
}

/* Every prefix of an ascii log: an error naming a line, or the lines before the cut exactly, and a last
 * cut line that either is whole, or does not recompute its template hash, or is a violation. */
static void truncate_ascii_everywhere(const char *text, size_t len)
{
    struct ima_log *full = NULL;
    assert_int_equal(ima_parse_ascii(text, len, EVENTLOG_ALG_SHA1, &full, NULL), 0);
    for (size_t cut = 0; cut < len; cut++) {
        char *copy = malloc(cut ? cut : 1);
        assert_non_null(copy);
        memcpy(copy, text, cut);
        struct ima_log *log = NULL;
        char *err = NULL;
        int r = ima_parse_ascii(copy, cut, EVENTLOG_ALG_SHA1, &log, &err);
        if (r < 0) {
            assert_int_equal(r, -EINVAL);
            if (!err || strncmp(err, "line ", 5) != 0)
                fail_msg("cut at %zu: \"%s\" names no line", cut, err);
            free(err);
        } else {
            assert_true(log->n_entries <= full->n_entries);
            for (size_t i = 0; i < log->n_entries; i++) {
                const struct ima_entry *e = &log->entries[i];
                /* A violation's name is not covered by its (zero) template hash: only the cut shows. */
                if (!entries_equal(e, &full->entries[i]) &&
                    !(i + 1 == log->n_entries && (!e->template_hash_ok || e->violation)))
                    fail_msg("cut at %zu: entry %zu (%s) differs and recomputes", cut, i + 1, e->path);
            }
            assert_usable(log);
            ima_log_free(log);
        }
        free(copy);
    }
    ima_log_free(full);
}

static void test_truncated_ascii(void **state)
{
    (void)state;
    truncate_ascii_everywhere(hand_ascii, strlen(hand_ascii));
    char path[4096];
    size_t len = 0;
    corpus_path(path, sizeof(path), "eventlog/ima/keylime/ima-log-sha256");
    char *text = (char *)slurp(path, &len);
    truncate_ascii_everywhere(text, len);
    free(text);
    corpus_path(path, sizeof(path), "isecl/ima/ascii_runtime_measurements");
    text = (char *)slurp(path, &len);
    /* Its first 3000 bytes or so, up to a whole line, keep the test quick under ASan. */
    char *end = memrchr(text, '\n', len < 3000 ? len : 3000);
    assert_non_null(end);
    truncate_ascii_everywhere(text, (size_t)(end + 1 - text));
    free(text);
}

/* Each 4 bytes of a binary log overwritten with a huge or odd length: an error or a consistent log. */
static void flip_lengths(const uint8_t *buf, size_t len)
{
    static const uint32_t values[] = {0xffffffffu, 0x80000000u, 0x7fffffffu, 0x00010000u, 0xfffffffcu, 0};
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    for (size_t off = 0; off + 4 <= len; off++) {
        for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
            memcpy(copy, buf, len);
            for (int k = 0; k < 4; k++)
                copy[off + (size_t)k] = (uint8_t)(values[v] >> (8 * k));
            struct ima_log *log = NULL;
            char *err = NULL;
            int r = ima_parse_binary(copy, len, EVENTLOG_ALG_SHA1, &log, &err);
            if (r < 0) {
                assert_non_null(err);
                assert_non_null(strstr(err, "offset"));
                free(err);
            } else {
                assert_usable(log);
                ima_log_free(log);
            }
        }
    }
    free(copy);
}

static void test_huge_length_fields(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *bin = unhex(hand_bin_hex, &len);
    flip_lengths(bin, len);

    /* Specific fields of the first record (ima-ng): name length at 24, template data length at 34, the
     * file-hash field length at 38. */
    static const struct {
        size_t off;
        const char *fragment;
    } fields[] = {
        {0, "PCR index 4294967295 is not 0 to 23"},
        {24, "template name length 4294967295 at offset 24 is not 1 to 15"},
        {34, "template data length 4294967295 at offset 34"},
        {38, "file hash length 4294967295 at offset 38"},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        uint8_t *copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, bin, len);
        memset(copy + fields[i].off, 0xff, 4);
        struct ima_log *log = NULL;
        char *err = NULL;
        assert_int_equal(ima_parse_binary(copy, len, EVENTLOG_ALG_SHA1, &log, &err), -EINVAL);
        if (!strstr(err, fields[i].fragment) || !strstr(err, "record 1 at offset 0"))
            fail_msg("\"%s\" lacks \"%s\"", err, fields[i].fragment);
        free(err);
        free(copy);
    }
    free(bin);

    char path[4096];
    corpus_path(path, sizeof(path), "eventlog/ima/tpm2-tss/sml-ima-ng-sha1.bin");
    bin = slurp(path, &len);
    flip_lengths(bin, len);
    free(bin);
}

/* 28 or more bytes after the last record must be a record: garbage there is an error, not padding. */
static void test_trailing_garbage(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *bin = unhex(hand_bin_hex, &len);
    uint8_t *more = calloc(1, len + 40);
    assert_non_null(more);
    memcpy(more, bin, len);
    struct ima_log *log = NULL;
    char *err = NULL;
    assert_int_equal(ima_parse_binary(more, len + 27, EVENTLOG_ALG_SHA1, &log, &err), 0);
    assert_int_equal(log->n_entries, 4);
    assert_int_equal(log->trailing_bytes, 27);
    ima_log_free(log);
    log = NULL;
    assert_int_equal(ima_parse_binary(more, len + 40, EVENTLOG_ALG_SHA1, &log, &err), -EINVAL);
    assert_non_null(strstr(err, "record 5 at offset 360"));
    free(err);
    free(more);
    free(bin);
}

static uint64_t next_random(uint64_t *s)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void test_random_bytes(void **state)
{
    (void)state;
    uint64_t seed = 0x1234567887654321ull;
    size_t bin_len = 0;
    uint8_t *hand_bin = unhex(hand_bin_hex, &bin_len);
    for (int round = 0; round < 3000; round++) {
        size_t len = next_random(&seed) % 600;
        uint8_t *buf = malloc(len ? len : 1);
        assert_non_null(buf);
        /* A third pure noise; the rest a real log or line with a few bytes changed. */
        int kind = round % 3;
        for (size_t i = 0; i < len; i++) {
            if (kind == 0)
                buf[i] = (uint8_t)next_random(&seed);
            else if (kind == 1)
                buf[i] = i < bin_len ? hand_bin[i] : (uint8_t)next_random(&seed);
            else
                buf[i] = i < sizeof(hand_ascii) - 1 ? (uint8_t)hand_ascii[i] : (uint8_t)next_random(&seed);
        }
        for (int k = 0; kind && k < 3 && len; k++)
            buf[next_random(&seed) % len] = (uint8_t)next_random(&seed);
        struct ima_log *log = NULL;
        char *err = NULL;
        if (ima_parse_binary(buf, len, EVENTLOG_ALG_SHA1, &log, &err) == 0) {
            assert_usable(log);
            ima_log_free(log);
        } else {
            assert_non_null(err);
            free(err);
        }
        log = NULL;
        err = NULL;
        if (ima_parse_ascii((const char *)buf, len, EVENTLOG_ALG_SHA1, &log, &err) == 0) {
            assert_usable(log);
            ima_log_free(log);
        } else {
            assert_non_null(err);
            free(err);
        }
        free(buf);
    }
    free(hand_bin);
}

static void test_load_limits(void **state)
{
    (void)state;
    char path[4096];
    struct ima_log *log = NULL;
    char *err = NULL;
    corpus_path(path, sizeof(path), "eventlog/ima/keylime/ima-log-sha256");
    assert_int_equal(ima_load(path, 100, &log, &err), -EFBIG);
    assert_non_null(strstr(err, "larger than"));
    free(err);
    err = NULL;
    assert_int_equal(ima_load(path, 267, &log, &err), 0); /* exactly the file's size */
    assert_int_equal(log->n_entries, 2);
    ima_log_free(log);
    assert_int_equal(ima_load("/nonexistent/ima", 0, &log, &err), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/ima"));
    free(err);
    err = NULL;

    /* A bad binary file's message names the file and the offset. */
    char tmp[] = "/tmp/test_ima_XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    static const uint8_t bad[40] = {10, 0, 0, 0, 1};
    assert_int_equal(write(fd, bad, sizeof(bad)), (ssize_t)sizeof(bad));
    close(fd);
    assert_int_equal(ima_load(tmp, 0, &log, &err), -EINVAL);
    assert_non_null(strstr(err, tmp));
    assert_non_null(strstr(err, "record 1 at offset 0"));
    free(err);
    unlink(tmp);
}

/* ---- 3. imaLogs JSON ---- */

static void test_ima_logs_json_exact(void **state)
{
    (void)state;
    const char *text =
        "10 1d8d532d463c9f8c205d0df7787669a85f93e260 ima-ng sha1:0000000000000000000000000000000000000000 "
        "boot_aggregate\n"
        "10 b93b2a274ef3cc281054b77eaf7528b85f07ca43 ima-ng "
        "sha256:5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03 /usr/bin/hello world\n"
        "10 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ima-ng sha1:00000000000000000000000000000000000000ff "
        "/a \"quoted\\\" name\n";
    struct ima_log *log = parse_ascii_ok(text);
    char *json = NULL, *err = NULL;
    assert_int_equal(ima_logs_json(log, EVENTLOG_ALG_SHA256, &json, &err), 0);
    assert_string_equal(
        json, "{\"pcr\":{\"index\":10,\"bank\":\"SHA256\"},\"ima_measurements\":["
              "{\"file\":\"boot_aggregate\",\"measurement\":\"0000000000000000000000000000000000000000\"},"
              "{\"file\":\"/usr/bin/hello world\",\"measurement\":"
              "\"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\"},"
              "{\"file\":\"/a \\\"quoted\\\\\\\" name\",\"measurement\":"
              "\"00000000000000000000000000000000000000ff\"}],"
              "\"ima_template\":\"ima-ng\"}");
    free(json);
    assert_int_equal(ima_logs_json(log, EVENTLOG_ALG_SHA1, &json, &err), 0);
    assert_non_null(strstr(json, "{\"pcr\":{\"index\":10,\"bank\":\"SHA1\"},"));
    free(json);
    assert_int_equal(ima_logs_json(log, 0x0001, &json, &err), -EINVAL);
    assert_non_null(err);
    free(err);
    ima_log_free(log);

    log = load("isecl/ima/ascii_runtime_measurements");
    assert_int_equal(ima_logs_json(log, EVENTLOG_ALG_SHA256, &json, NULL), 0);
    assert_non_null(strstr(json, "\"ima_template\":\"ima-sig\"}"));
    assert_non_null(strstr(json, "{\"file\":\"boot_aggregate\",\"measurement\":"
                                 "\"3ed4fbd4bfb720b9069892edfa0cfc4700c1d9d265f971948973600a9276ee94\"}"));
    free(json);
    ima_log_free(log);
}

/* mkdir -p for a path below an existing directory. */
static void make_dirs(const char *root, const char *rel)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        *p = '/';
    }
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* The system log under a root prefix: securityfs first, the Go agent's container path second, a clear error
 * when there is neither. The files are links to the corpus, not copies. */
static void test_load_system(void **state)
{
    char keylime[4096], rust[4096], root[] = "/tmp/tagent-ima-root-XXXXXX", link1[8192], link2[8192];
    corpus_path(keylime, sizeof(keylime), "eventlog/ima/keylime/ima-log-sha256");
    corpus_path(rust, sizeof(rust), "eventlog/ima/rust-keylime/ascii_runtime_measurements");
    assert_non_null(mkdtemp(root));
    struct ima_log *log = NULL;
    char *error = NULL, *source = NULL;
    assert_int_equal(ima_load_system(root, 0, &log, &source, &error), -ENOENT);
    assert_non_null(strstr(error, "is IMA enabled"));
    free(error);
    error = NULL;

    make_dirs(root, "opt/ima");
    snprintf(link1, sizeof(link1), "%s/opt/ima/ascii_runtime_measurements", root);
    assert_int_equal(symlink(keylime, link1), 0);
    assert_int_equal(ima_load_system(root, 0, &log, &source, &error), 0);
    assert_non_null(strstr(source, "/opt/ima/"));
    assert_int_equal(log->n_entries, 2);
    ima_log_free(log);
    free(source);

    make_dirs(root, "sys/kernel/security/ima");
    snprintf(link2, sizeof(link2), "%s/sys/kernel/security/ima/ascii_runtime_measurements", root);
    assert_int_equal(symlink(rust, link2), 0);
    assert_int_equal(ima_load_system(root, 0, &log, &source, &error), 0);
    assert_non_null(strstr(source, "/sys/kernel/security/ima/"));
    assert_int_equal(log->n_entries, 826);
    ima_log_free(log);
    free(source);

    unlink(link2);
    unlink(link1);
    static const char *const dirs[] = {
        "sys/kernel/security/ima", "sys/kernel/security", "sys/kernel", "sys", "opt/ima", "opt", ""};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char d[8192];
        snprintf(d, sizeof(d), "%s/%s", root, dirs[i]);
        rmdir(d);
    }
}

/* ---- 4. per-bank lists (template-hash crypto agility) ---- */

/* Four measurements laid out by hand from the kernel's template formats (ima_template_lib.c): an ima-ng
 * entry, a violation, an ima-sig entry with a signature, an old "ima" entry. Their template hashes in each
 * bank are computed here with OpenSSL EVP over these bytes, not by the code under test. */
struct hand_entry {
    const char *tmpl;
    const char *alg; /* file-hash algorithm */
    uint8_t digest[64];
    size_t digest_len;
    const char *name;
    uint8_t sig[8];
    size_t sig_len;
    bool violation;
};

static const struct hand_entry hand_entries[] = {
    {"ima-ng",
     "sha256",
     {0x58, 0x91, 0xb5, 0xb5, 0x22, 0xd5, 0xdf, 0x08, 0x6d, 0x0f, 0xf0, 0xb1, 0x10, 0xfb, 0xd9, 0xd2,
      0x1b, 0xb4, 0xfc, 0x71, 0x63, 0xaf, 0x34, 0xd0, 0x82, 0x86, 0xa2, 0xe8, 0x46, 0xf6, 0xbe, 0x03},
     32,
     "/usr/bin/hello world",
     {0},
     0,
     false},
    {"ima-ng", "sha256", {0}, 32, "/tmp/viol", {0}, 0, true},
    {"ima-sig",
     "sha1",
     {0x11, 0xf6, 0xad, 0x8e, 0xc5, 0x2a, 0x29, 0x84, 0xab, 0xaa,
      0xfd, 0x7c, 0x3b, 0x51, 0x65, 0x03, 0x78, 0x5c, 0x20, 0x72},
     20,
     "/etc/a b",
     {0x03, 0x02, 0x04, 0xaa, 0xbb, 0xcc, 0xdd},
     7,
     false},
    {"ima",
     "sha1",
     {0xc0, 0x0d, 0xbb, 0xc9, 0xda, 0xdf, 0xbe, 0x1e, 0x23, 0x2e,
      0x93, 0xa7, 0x29, 0xdd, 0x47, 0x52, 0xfa, 0xde, 0x0a, 0xbf},
     20,
     "/boot/old",
     {0},
     0,
     false},
};
#define N_HAND (sizeof(hand_entries) / sizeof(hand_entries[0]))

struct bytes {
    uint8_t b[4096];
    size_t n;
};

static void put(struct bytes *o, const void *p, size_t n)
{
    assert_true(o->n + n <= sizeof(o->b));
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put_le32(struct bytes *o, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(o, le, 4);
}

/* The template data the kernel hashes: ima-ng/ima-sig fields each behind a u32 length; "ima" the digest and
 * the name zero-padded to 256 bytes. */
static void hand_template_data(const struct hand_entry *e, struct bytes *o)
{
    o->n = 0;
    if (strcmp(e->tmpl, "ima") == 0) {
        uint8_t name[256] = {0};
        memcpy(name, e->name, strlen(e->name));
        put(o, e->digest, 20);
        put(o, name, sizeof(name));
        return;
    }
    put_le32(o, (uint32_t)(strlen(e->alg) + 2 + e->digest_len));
    put(o, e->alg, strlen(e->alg));
    put(o, ":", 2); /* the colon and a NUL */
    put(o, e->digest, e->digest_len);
    put_le32(o, (uint32_t)strlen(e->name) + 1);
    put(o, e->name, strlen(e->name) + 1);
    if (strcmp(e->tmpl, "ima-sig") == 0) {
        put_le32(o, (uint32_t)e->sig_len);
        put(o, e->sig, e->sig_len);
    }
}

static const char *ossl_name(uint16_t alg)
{
    switch (alg) {
    case EVENTLOG_ALG_SHA1: return "SHA1";
    case EVENTLOG_ALG_SHA256: return "SHA256";
    case EVENTLOG_ALG_SHA384: return "SHA384";
    case EVENTLOG_ALG_SHA512: return "SHA512";
    default: return "SM3";
    }
}

static size_t bank_size(uint16_t alg)
{
    return alg == EVENTLOG_ALG_SHA1     ? 20
           : alg == EVENTLOG_ALG_SHA384 ? 48
           : alg == EVENTLOG_ALG_SHA512 ? 64
                                        : 32;
}

/* Entry i's template hash in a bank's list: zeros for the violation. */
static void hand_template_hash(size_t i, uint16_t alg, uint8_t out[64])
{
    struct bytes data;
    unsigned n = 0;
    memset(out, 0, 64);
    if (hand_entries[i].violation)
        return;
    hand_template_data(&hand_entries[i], &data);
    assert_true(EVP_Digest(data.b, data.n, out, &n, EVP_get_digestbyname(ossl_name(alg)), NULL));
    assert_int_equal(n, bank_size(alg));
}

/* PCR 10 of a bank: each entry's template hash in that bank, 0xff..ff for the violation. */
static void hand_pcr10(uint16_t alg, uint8_t pcr[64])
{
    size_t size = bank_size(alg);
    const EVP_MD *md = EVP_get_digestbyname(ossl_name(alg));
    memset(pcr, 0, 64);
    for (size_t i = 0; i < N_HAND; i++) {
        uint8_t d[64], buf[128];
        unsigned n = 0;
        hand_template_hash(i, alg, d);
        if (hand_entries[i].violation)
            memset(d, 0xff, size);
        memcpy(buf, pcr, size);
        memcpy(buf + size, d, size);
        assert_true(EVP_Digest(buf, 2 * size, pcr, &n, md, NULL));
    }
}

static void put_hexs(struct bytes *o, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char h[3];
        snprintf(h, sizeof(h), "%02x", p[i]);
        put(o, h, 2);
    }
}

/* The bank's ascii list as ima_ascii_measurements_show prints it (NUL-terminated). */
static void hand_ascii_list(uint16_t alg, struct bytes *o)
{
    o->n = 0;
    for (size_t i = 0; i < N_HAND; i++) {
        const struct hand_entry *e = &hand_entries[i];
        uint8_t th[64];
        hand_template_hash(i, alg, th);
        put(o, "10 ", 3);
        put_hexs(o, th, bank_size(alg));
        put(o, " ", 1);
        put(o, e->tmpl, strlen(e->tmpl));
        put(o, " ", 1);
        if (strcmp(e->tmpl, "ima") != 0) {
            put(o, e->alg, strlen(e->alg));
            put(o, ":", 1);
        }
        put_hexs(o, e->digest, e->digest_len);
        put(o, " ", 1);
        put(o, e->name, strlen(e->name));
        if (strcmp(e->tmpl, "ima-sig") == 0) {
            put(o, " ", 1);
            put_hexs(o, e->sig, e->sig_len);
        }
        put(o, "\n", 1);
    }
    put(o, "", 1);
    o->n--;
}

/* The bank's binary list as ima_measurements_show writes it. */
static void hand_binary_list(uint16_t alg, struct bytes *o)
{
    o->n = 0;
    for (size_t i = 0; i < N_HAND; i++) {
        const struct hand_entry *e = &hand_entries[i];
        uint8_t th[64];
        struct bytes data;
        hand_template_hash(i, alg, th);
        put_le32(o, 10);
        put(o, th, bank_size(alg));
        put_le32(o, (uint32_t)strlen(e->tmpl));
        put(o, e->tmpl, strlen(e->tmpl));
        if (strcmp(e->tmpl, "ima") == 0) {
            put(o, e->digest, 20);
            put_le32(o, (uint32_t)strlen(e->name));
            put(o, e->name, strlen(e->name));
            continue;
        }
        hand_template_data(e, &data);
        put_le32(o, (uint32_t)data.n);
        put(o, data.b, data.n);
    }
}

static const uint16_t banks[] = {EVENTLOG_ALG_SHA1, EVENTLOG_ALG_SHA256, EVENTLOG_ALG_SHA384,
                                 EVENTLOG_ALG_SHA512, EVENTLOG_ALG_SM3_256};
#define N_BANKS (sizeof(banks) / sizeof(banks[0]))

static void check_hand_list(const struct ima_log *log, uint16_t alg)
{
    assert_int_equal(log->template_hash_alg, alg);
    assert_int_equal(log->n_entries, N_HAND);
    for (size_t i = 0; i < N_HAND; i++) {
        const struct ima_entry *e = &log->entries[i];
        uint8_t th[64];
        hand_template_hash(i, alg, th);
        assert_int_equal(e->template_hash_alg, alg);
        assert_int_equal(e->template_hash_size, bank_size(alg));
        assert_memory_equal(e->template_hash, th, bank_size(alg));
        assert_true(e->template_hash_ok);
        assert_int_equal(e->violation, hand_entries[i].violation);
        assert_string_equal(e->path, hand_entries[i].name);
    }
    /* Every bank replays from this list: its own from the stated hashes, the others from the data. */
    for (size_t b = 0; b < N_BANKS; b++) {
        uint8_t want[64], got[EVENTLOG_MAX_DIGEST];
        hand_pcr10(banks[b], want);
        assert_int_equal(ima_replay_pcr10(log, banks[b], got, NULL), 0);
        assert_memory_equal(got, want, bank_size(banks[b]));
    }
}

static void test_per_bank_lists_parse_and_replay(void **state)
{
    (void)state;
    for (size_t b = 0; b < N_BANKS; b++) {
        struct bytes text, bin;
        struct ima_log *log = NULL;
        char *err = NULL;
        hand_ascii_list(banks[b], &text);
        hand_binary_list(banks[b], &bin);
        if (ima_parse_ascii((const char *)text.b, text.n, banks[b], &log, &err) < 0)
            fail_msg("%s ascii: %s", eventlog_alg_name(banks[b]), err);
        check_hand_list(log, banks[b]);
        ima_log_free(log);
        if (ima_parse_binary(bin.b, bin.n, banks[b], &log, &err) < 0)
            fail_msg("%s binary: %s", eventlog_alg_name(banks[b]), err);
        check_hand_list(log, banks[b]);
        ima_log_free(log);
    }
    /* A stated template hash changed by one bit no longer recomputes, in a SHA-384 list too. */
    struct bytes text;
    struct ima_log *log = NULL;
    hand_ascii_list(EVENTLOG_ALG_SHA384, &text);
    text.b[3] = text.b[3] == '0' ? '1' : '0'; /* the first hex digit of the first template hash */
    assert_int_equal(ima_parse_ascii((const char *)text.b, text.n, EVENTLOG_ALG_SHA384, &log, NULL), 0);
    assert_false(log->entries[0].template_hash_ok);
    ima_log_free(log);
}

/* err is read after r is computed: the call that sets it is an argument of the same call. */
static void expect_error(int r, char **err, const char *fragment)
{
    assert_true(r < 0);
    assert_non_null(*err);
    if (!strstr(*err, fragment))
        fail_msg("error \"%s\" does not contain \"%s\"", *err, fragment);
    free(*err);
    *err = NULL;
}

static void test_list_of_another_bank(void **state)
{
    (void)state;
    struct bytes text, bin;
    struct ima_log *log = NULL;
    char *err = NULL;
    hand_ascii_list(EVENTLOG_ALG_SHA256, &text);
    expect_error(ima_parse_ascii((const char *)text.b, text.n, EVENTLOG_ALG_SHA1, &log, &err), &err,
                 "line 1: template hash is not 40 hex digits (64 found)");
    err = NULL;
    hand_ascii_list(EVENTLOG_ALG_SHA1, &text);
    expect_error(ima_parse_ascii((const char *)text.b, text.n, EVENTLOG_ALG_SHA512, &log, &err), &err,
                 "line 1: template hash is not 128 hex digits (40 found)");
    err = NULL;
    hand_binary_list(EVENTLOG_ALG_SHA256, &bin);
    expect_error(ima_parse_binary(bin.b, bin.n, EVENTLOG_ALG_SHA1, &log, &err), &err,
                 "record 1 at offset 0: template name length ");
    assert_int_equal(ima_parse_binary(bin.b, bin.n, EVENTLOG_ALG_SHA1, &log, &err), -EINVAL);
    assert_non_null(strstr(err,
                           "is not 1 to 15: is this a binary list of another bank (template hash size 20, "
                           "SHA1, assumed)?"));
    free(err);
    assert_null(log);
}

static void test_unknown_file_hash_alg(void **state)
{
    (void)state;
    struct ima_log *log = NULL;
    char *err = NULL;
    const char *text = "10 1111111111111111111111111111111111111111 ima-ng "
                       "sha1:0000000000000000000000000000000000000000 /a\n"
                       "10 1111111111111111111111111111111111111111 ima-ng md6:0011 /b\n";
    expect_error(ima_parse_ascii(text, strlen(text), EVENTLOG_ALG_SHA1, &log, &err), &err,
                 "line 2: file hash algorithm \"md6\" is not one the kernel names");
    err = NULL;
    /* The same in a binary record: template data "md6:" NUL 2 bytes, "/b" NUL. */
    struct bytes bin = {.n = 0};
    uint8_t th[20] = {1};
    put_le32(&bin, 10);
    put(&bin, th, sizeof(th));
    put_le32(&bin, 6);
    put(&bin, "ima-ng", 6);
    put_le32(&bin, 4 + 7 + 4 + 3);
    put_le32(&bin, 7);
    put(&bin, "md6:\0\x00\x11", 7);
    put_le32(&bin, 3);
    put(&bin, "/b", 3);
    expect_error(ima_parse_binary(bin.b, bin.n, EVENTLOG_ALG_SHA1, &log, &err), &err,
                 "record 1 at offset 0: file hash algorithm \"md6\" is not one the kernel names");
    assert_null(log);
}

static void write_file(const char *dir, const char *name, const void *p, size_t n, char *ret_path)
{
    snprintf(ret_path, 8192, "%s/%s", dir, name);
    FILE *f = fopen(ret_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* dir/name holding o loads as a list of alg, with the hand entries; the file is removed after. */
static void expect_loaded_alg(const char *dir, const char *name, const struct bytes *o, uint16_t alg)
{
    char path[8192];
    struct ima_log *log = NULL;
    char *err = NULL;
    write_file(dir, name, o->b, o->n, path);
    if (ima_load(path, 0, &log, &err) < 0)
        fail_msg("%s: %s", name, err);
    check_hand_list(log, alg);
    ima_log_free(log);
    unlink(path);
}

static void test_alg_from_name_and_content(void **state)
{
    (void)state;
    assert_int_equal(ima_alg_from_file_name("/s/ascii_runtime_measurements_sha1"), EVENTLOG_ALG_SHA1);
    assert_int_equal(ima_alg_from_file_name("binary_runtime_measurements_sha256"), EVENTLOG_ALG_SHA256);
    assert_int_equal(ima_alg_from_file_name("x_sha384"), EVENTLOG_ALG_SHA384);
    assert_int_equal(ima_alg_from_file_name("x_sha512"), EVENTLOG_ALG_SHA512);
    assert_int_equal(ima_alg_from_file_name("ascii_runtime_measurements_sm3"), EVENTLOG_ALG_SM3_256);
    assert_int_equal(ima_alg_from_file_name("x_sm3_256"), EVENTLOG_ALG_SM3_256);
    assert_int_equal(ima_alg_from_file_name("ascii_runtime_measurements"), 0);
    assert_int_equal(ima_alg_from_file_name("ima-log-sha256"), 0);
    assert_int_equal(ima_alg_from_file_name("/d/_sha256"), 0);
    assert_int_equal(ima_alg_from_file_name("ascii_runtime_measurements_TPM_ALG_27"), 0);

    char dir[] = "/tmp/tagent-ima-alg-XXXXXX", path[8192];
    assert_non_null(mkdtemp(dir));
    struct bytes text, bin;
    struct ima_log *log = NULL;
    char *err = NULL;
    /* By name: the SM3 list is only known by name (its 32 bytes would read as SHA-256). */
    hand_ascii_list(EVENTLOG_ALG_SM3_256, &text);
    expect_loaded_alg(dir, "ascii_runtime_measurements_sm3", &text, EVENTLOG_ALG_SM3_256);
    hand_binary_list(EVENTLOG_ALG_SHA384, &bin);
    expect_loaded_alg(dir, "binary_runtime_measurements_sha384", &bin, EVENTLOG_ALG_SHA384);
    /* A name that contradicts the content is an error naming the file and line. */
    hand_ascii_list(EVENTLOG_ALG_SHA512, &text);
    write_file(dir, "ascii_runtime_measurements_sha256", text.b, text.n, path);
    expect_error(ima_load(path, 0, &log, &err), &err,
                 "_sha256: line 1: template hash is not 64 hex digits (128");
    err = NULL;
    /* The explicit algorithm wins over the name. */
    assert_int_equal(ima_load_alg(path, 0, EVENTLOG_ALG_SHA512, &log, &err), 0);
    assert_int_equal(log->template_hash_alg, EVENTLOG_ALG_SHA512);
    ima_log_free(log);
    unlink(path);
    /* No suffix: ascii by the width of the first template hash, binary by the one size that fits. */
    for (size_t b = 0; b < N_BANKS - 1; b++) {
        hand_ascii_list(banks[b], &text);
        expect_loaded_alg(dir, "list.txt", &text, banks[b]);
        hand_binary_list(banks[b], &bin);
        expect_loaded_alg(dir, "binary_runtime_measurements", &bin, banks[b]);
    }
    rmdir(dir);
}

/* Writes root/sys/kernel/security/ima/<name> holding the bank's list in the given form. */
static void put_system_list(const char *root, const char *name, uint16_t alg, bool binary)
{
    char dir[4096], path[8192];
    struct bytes o;
    make_dirs(root, "sys/kernel/security/ima");
    snprintf(dir, sizeof(dir), "%s/sys/kernel/security/ima", root);
    if (binary)
        hand_binary_list(alg, &o);
    else
        hand_ascii_list(alg, &o);
    write_file(dir, name, o.b, o.n, path);
}

static void remove_system_lists(const char *root)
{
    static const char *const names[] = {
        "ascii_runtime_measurements",        "ascii_runtime_measurements_sha1",
        "ascii_runtime_measurements_sha256", "binary_runtime_measurements_sha384",
        "ascii_runtime_measurements_sha384", "ascii_runtime_measurements_TPM_ALG_27"};
    char path[8192];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/sys/kernel/security/ima/%s", root, names[i]);
        unlink(path);
    }
}

static void expect_lists_pcr10(const struct ima_lists *l, uint16_t alg)
{
    uint8_t want[64], got[EVENTLOG_MAX_DIGEST];
    char *err = NULL;
    hand_pcr10(alg, want);
    if (ima_lists_replay_pcr10(l, alg, got, &err) < 0)
        fail_msg("%s: %s", eventlog_alg_name(alg), err);
    assert_memory_equal(got, want, bank_size(alg));
}

static void test_lists_load_system(void **state)
{
    (void)state;
    char root[] = "/tmp/tagent-ima-lists-XXXXXX";
    assert_non_null(mkdtemp(root));
    struct ima_lists l = {0};
    char *err = NULL;
    assert_int_equal(ima_lists_load_system(root, 0, &l, &err), -ENOENT);
    expect_error(-ENOENT, &err, "is IMA enabled");
    err = NULL;

    /* Only the classic list (an older kernel): one SHA-1 list; other banks recomputed from its data. */
    put_system_list(root, "ascii_runtime_measurements", EVENTLOG_ALG_SHA1, false);
    assert_int_equal(ima_lists_load_system(root, 0, &l, &err), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.logs[0]->template_hash_alg, EVENTLOG_ALG_SHA1);
    assert_non_null(strstr(l.sources[0], "/sys/kernel/security/ima/ascii_runtime_measurements"));
    expect_lists_pcr10(&l, EVENTLOG_ALG_SHA1);
    expect_lists_pcr10(&l, EVENTLOG_ALG_SHA256);
    ima_lists_clear(&l);

    /* Per-bank lists: SHA-1 and SHA-256 ascii, SHA-384 binary only, and a bank the kernel cannot name
     * (its template hash field is a lone "0") which is not read. The classic name is not read either. */
    put_system_list(root, "ascii_runtime_measurements_sha1", EVENTLOG_ALG_SHA1, false);
    put_system_list(root, "ascii_runtime_measurements_sha256", EVENTLOG_ALG_SHA256, false);
    put_system_list(root, "binary_runtime_measurements_sha384", EVENTLOG_ALG_SHA384, true);
    char path[8192], dir[4096];
    snprintf(dir, sizeof(dir), "%s/sys/kernel/security/ima", root);
    write_file(dir, "ascii_runtime_measurements_TPM_ALG_27", "10 0 ima-ng sha1:00 /x\n", 23, path);
    assert_int_equal(ima_lists_load_system(root, 0, &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(ima_lists_for_bank(&l, EVENTLOG_ALG_SHA256)->template_hash_alg, EVENTLOG_ALG_SHA256);
    assert_int_equal(ima_lists_for_bank(&l, EVENTLOG_ALG_SHA384)->template_hash_alg, EVENTLOG_ALG_SHA384);
    assert_ptr_equal(ima_lists_for_bank(&l, EVENTLOG_ALG_SHA512), l.logs[0]);
    assert_non_null(strstr(l.sources[2], "binary_runtime_measurements_sha384"));
    for (size_t b = 0; b < N_BANKS; b++)
        expect_lists_pcr10(&l, banks[b]);

    /* The HVS JSON is the same from any list. */
    char *a = NULL, *b = NULL;
    assert_int_equal(ima_logs_json(l.logs[0], EVENTLOG_ALG_SHA256, &a, NULL), 0);
    assert_int_equal(ima_logs_json(l.logs[2], EVENTLOG_ALG_SHA256, &b, NULL), 0);
    assert_string_equal(a, b);
    free(a);
    free(b);

    /* A second SHA-256 list is refused. */
    snprintf(path, sizeof(path), "%s/ascii_runtime_measurements_sha256", dir);
    expect_error(ima_lists_add_file(&l, path, 0, &err), &err, "are both SHA256 lists");
    err = NULL;
    ima_lists_clear(&l);

    /* An ascii SHA-384 list beside the binary one is preferred; one that disagrees is an error naming the
     * entry. */
    struct bytes text;
    hand_ascii_list(EVENTLOG_ALG_SHA384, &text);
    char *w = strstr((char *)text.b, "/etc/a b");
    w[5] = 'X';
    write_file(dir, "ascii_runtime_measurements_sha384", text.b, text.n, path);
    expect_error(ima_lists_load_system(root, 0, &l, &err), &err,
                 "ascii_runtime_measurements_sha384 disagree at entry 3 (/etc/a b): file name differs");
    assert_int_equal(l.n, 0);
    err = NULL;

    /* One entry fewer in a list: an error naming the counts (after one re-read). */
    hand_ascii_list(EVENTLOG_ALG_SHA384, &text);
    ((char *)memrchr(text.b, '\n', text.n - 1))[1] = '\0'; /* the last line dropped */
    write_file(dir, "ascii_runtime_measurements_sha384", text.b, strlen((char *)text.b), path);
    expect_error(ima_lists_load_system(root, 0, &l, &err), &err, "has 4 entries");

    remove_system_lists(root);
    static const char *const dirs[] = {"sys/kernel/security/ima", "sys/kernel/security", "sys/kernel", "sys",
                                       ""};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
        rmdir(path);
    }
}

int main(void)
{
    corpora = getenv("TAGENT_CORPORA");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_system),
        cmocka_unit_test(test_corpus_rust_keylime),
        cmocka_unit_test(test_corpus_keylime_sha256),
        cmocka_unit_test(test_corpus_tpm2_tss_binary),
        cmocka_unit_test(test_corpus_isecl),
        cmocka_unit_test(test_hand_log_both_formats),
        cmocka_unit_test(test_two_entry_sha256_oracle),
        cmocka_unit_test(test_ima_sig_readings),
        cmocka_unit_test(test_template_hash_mismatch_is_reported_not_fatal),
        cmocka_unit_test(test_other_pcrs_are_not_replayed),
        cmocka_unit_test(test_bad_ascii_lines),
        cmocka_unit_test(test_empty_and_blank_input),
        cmocka_unit_test(test_truncated_binary),
        cmocka_unit_test(test_truncated_ascii),
        cmocka_unit_test(test_huge_length_fields),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_load_limits),
        cmocka_unit_test(test_ima_logs_json_exact),
        cmocka_unit_test(test_per_bank_lists_parse_and_replay),
        cmocka_unit_test(test_list_of_another_bank),
        cmocka_unit_test(test_unknown_file_hash_alg),
        cmocka_unit_test(test_alg_from_name_and_content),
        cmocka_unit_test(test_lists_load_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
