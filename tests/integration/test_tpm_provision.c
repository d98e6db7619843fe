/* The provisioning side of quote/ against a real swtpm, with tpm2-tools as the oracle: take-ownership with
 * each secret format, the asset tag NV index, provision-primary-key, and ActivateCredential of a credential
 * made by tpm2_makecredential. After every test no transient object or session is left on the TPM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/core_names.h>
#include <tss2/tss2_mu.h>

#include "cleanup.h"
#include "tpm_fixture.h"

/* The fixture's owner secret as tpm2-tools takes it (an array, not a macro: in an argv list a concatenated
 * literal looks like a missing comma to bugprone-suspicious-missing-comma). */
static const char OWNER_TOOL_AUTH[] = "hex:" FX_OWNER_SECRET;

static struct fx shared; /* provisioned: EK certificate, EK, AIK */
static struct fx *fresh; /* an unowned TPM, only while one test runs */

static int group_setup(void **state)
{
    static const struct swtpm_opts opts = {.ek_cert = true, .pcr_banks = "sha256"};

    return fx_start(&shared, &opts) < 0 || fx_provision(&shared) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    fx_free(&shared);
    return fx_no_children();
}

static int teardown(void **state)
{
    int r = fx_check_clean(&shared);

    shared.quiet_tools = false;
    if (fresh) {
        r |= fx_check_clean(fresh);
        fx_free(fresh);
        free(fresh);
        fresh = NULL;
    }
    return r;
}

static void auth(const char *secret, struct tpm_auth *ret)
{
    _cleanup_free_ char *error = NULL;

    if (tpm_auth_from_secret(secret, ret, &error) < 0)
        fail_msg("secret \"%s\": %s", secret, error);
}

static bool owned_with(tpm_t *tpm, const char *secret)
{
    struct tpm_auth a;
    _cleanup_free_ char *error = NULL;
    bool owned = false;

    auth(secret, &a);
    if (tpm_owned_with_auth(tpm, &a, &owned, &error) < 0)
        fail_msg("tpm_owned_with_auth(\"%s\"): %s", secret, error);
    tpm_auth_clear(&a);
    return owned;
}

/* ---- take-ownership ---- */

struct owner_case {
    const char *owner, *endorsement;           /* as typed in trustagent.env */
    const char *owner_tool, *endorsement_tool; /* the same bytes in tpm2-tools' syntax ("" = empty auth) */
};

static const struct owner_case owner_40_hex = {
    "0123456789abcdef0123456789ABCDEF01234567", "fedcba98765432100123456789abcdeffedcba98",
    "hex:0123456789abcdef0123456789abcdef01234567", "hex:fedcba98765432100123456789abcdeffedcba98"};
/* Trailing zero bytes: the TPM drops them from auth values; tagent must agree with tpm2-tools on the result.
 */
static const struct owner_case owner_hex_prefix = {"hex:c0ffee010200", "hex:a1b2c3", "hex:c0ffee010200",
                                                   "hex:a1b2c3"};
static const struct owner_case owner_raw_text = {"my owner secret", "endorse: me", "str:my owner secret",
                                                 "str:endorse: me"};
static const struct owner_case owner_empty_endorsement = {"hex:5a5a5a5a", "", "hex:5a5a5a5a", ""};

/* tpm2_changeauth -c <hierarchy> -p <auth> <auth>: succeeds exactly when <auth> is the hierarchy's auth. */
static int tool_auth_is(struct fx *f, const char *hierarchy, const char *tool_auth)
{
    const char *with[] = {"tpm2_changeauth", "-T", f->swtpm->tcti, "-c", hierarchy, "-p", tool_auth,
                          tool_auth,         NULL};
    const char *empty[] = {"tpm2_changeauth", "-T", f->swtpm->tcti, "-c", hierarchy, NULL};

    return fx_tool(f, *tool_auth ? with : empty);
}

static void expect_take_fails(tpm_t *tpm, const char *owner, const char *needle)
{
    struct tpm_auth o, e;
    _cleanup_free_ char *error = NULL;

    auth(owner, &o);
    auth("", &e);
    int r = tpm_take_ownership(tpm, &o, &e, &error);
    print_message("  take-ownership with \"%s\": %d %s\n", owner, r, error);
    assert_int_equal(r, -EACCES);
    assert_non_null(strstr(error, needle));
}

static void test_take_ownership(void **state)
{
    static const struct swtpm_opts opts = {.skip_setup = true};
    const struct owner_case *c = *state;
    const bool has_endorsement = *c->endorsement;
    struct tpm_auth owner, endorsement;
    _cleanup_free_ char *error = NULL;
    uint32_t perm = 0;

    assert_non_null(fresh = calloc(1, sizeof(*fresh)));
    assert_int_equal(fx_start(fresh, &opts), 0);
    auth(c->owner, &owner);
    auth(c->endorsement, &endorsement);

    assert_false(owned_with(fresh->tpm, c->owner));
    assert_true(owned_with(fresh->tpm, ""));
    if (tpm_take_ownership(fresh->tpm, &owner, &endorsement, &error) < 0)
        fail_msg("take-ownership: %s", error);

    assert_true(owned_with(fresh->tpm, c->owner));
    assert_false(owned_with(fresh->tpm, ""));
    assert_false(owned_with(fresh->tpm, "hex:0bad0bad"));
    assert_int_equal(fx_permanent(fresh->swtpm->tcti, &perm), 0);
    assert_true(perm & TPMA_PERMANENT_OWNERAUTHSET);
    assert_true(perm & TPMA_PERMANENT_LOCKOUTAUTHSET);
    assert_int_equal(!!(perm & TPMA_PERMANENT_ENDORSEMENTAUTHSET), has_endorsement);

    /* tpm2-tools agrees on the bytes: owner, endorsement, and lockout := owner (as the Go agent does). */
    assert_int_equal(tool_auth_is(fresh, "o", c->owner_tool), 0);
    assert_int_equal(tool_auth_is(fresh, "e", c->endorsement_tool), 0);
    const char *lockout[] = {
        "tpm2_dictionarylockout", "-T", fresh->swtpm->tcti, "-c", "-p", c->owner_tool, NULL};
    assert_int_equal(fx_tool(fresh, lockout), 0);
    fresh->quiet_tools = true;
    assert_true(tool_auth_is(fresh, "o", "str:not it") < 0); /* the oracle can say no */
    fresh->quiet_tools = false;

    /* Again with the same secret: nothing to do. With another one: refused, and says which setting is wrong.
     */
    assert_int_equal(tpm_take_ownership(fresh->tpm, &owner, &endorsement, &error), 0);
    expect_take_fails(fresh->tpm, "hex:0bad0bad", "not TPM_OWNER_SECRET");
    expect_take_fails(fresh->tpm, "another secret", "not TPM_OWNER_SECRET");
    expect_take_fails(fresh->tpm, "", "TPM_OWNER_SECRET is empty");
    assert_true(owned_with(fresh->tpm, c->owner));
    tpm_auth_clear(&owner);
    tpm_auth_clear(&endorsement);
}

/* ---- asset tag ---- */

static const uint8_t tag1[TPM_ASSET_TAG_SIZE] = {
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x5a, 0xa5, 0x5a, 0xa5, 0x77, 0x66, 0x55, 0x44,
    0x33, 0x22, 0x11, 0x00, 0x9e, 0x8d, 0x7c, 0x6b, 0x5a, 0x49, 0x38, 0x27, 0x16, 0x05, 0xf4, 0xe3,
};

static void tag_define(const char *tag_secret)
{
    struct tpm_auth t;
    _cleanup_free_ char *error = NULL;

    auth(tag_secret, &t);
    if (tpm_tag_index_define(shared.tpm, &shared.owner, &t, &error) < 0)
        fail_msg("define-tag-index: %s", error);
}

static void tag_write(const char *tag_secret, const uint8_t *tag)
{
    struct tpm_auth t;
    _cleanup_free_ char *error = NULL;

    auth(tag_secret, &t);
    if (tpm_tag_write(shared.tpm, &t, tag, &error) < 0)
        fail_msg("tpm_tag_write: %s", error);
}

/* Reads with tpm_tag_read; expect NULL = no tag. */
static void tag_expect(const char *tag_secret, const uint8_t *expect)
{
    uint8_t got[TPM_ASSET_TAG_SIZE];
    bool present = true;
    struct tpm_auth t;
    _cleanup_free_ char *error = NULL;

    auth(tag_secret, &t);
    if (tpm_tag_read(shared.tpm, &t, got, &present, &error) < 0)
        fail_msg("tpm_tag_read: %s", error);
    assert_int_equal(present, expect != NULL);
    if (expect)
        assert_memory_equal(got, expect, TPM_ASSET_TAG_SIZE);
}

/* What the owner reads (OWNERREAD), through tpm2_nvread. */
static void tag_expect_owner_read(const uint8_t *expect)
{
    char *out = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    char index[16];

    snprintf(index, sizeof(index), "0x%08x", TPM_NV_ASSET_TAG);
    assert_int_equal(asprintf(&out, "%s/nvread.bin", shared.dir) > 0, 1);
    const char *argv[] = {
        "tpm2_nvread", "-T", shared.swtpm->tcti, "-C", "o", "-P", OWNER_TOOL_AUTH, "-s", "48", "-o", out,
        index,         NULL};
    assert_int_equal(fx_tool(&shared, argv), 0);
    assert_int_equal(fx_file_read(out, &data, &len), 0);
    assert_int_equal(len, TPM_ASSET_TAG_SIZE);
    assert_memory_equal(data, expect, TPM_ASSET_TAG_SIZE);
    free(data);
    free(out);
}

static void tag_index_remove(void)
{
    char index[16];
    bool exists = true;

    snprintf(index, sizeof(index), "0x%08x", TPM_NV_ASSET_TAG);
    const char *argv[] = {
        "tpm2_nvundefine", "-T", shared.swtpm->tcti, "-C", "o", "-P", OWNER_TOOL_AUTH, index, NULL};
    assert_int_equal(fx_handle_exists(shared.swtpm->tcti, TPM_NV_ASSET_TAG, &exists), 0);
    if (exists)
        assert_int_equal(fx_tool(&shared, argv), 0);
}

static void test_asset_tag_round_trip(void **state)
{
    static const uint8_t zeros[TPM_ASSET_TAG_SIZE] = {0};
    char index[16], *text = NULL;

    tag_index_remove();
    tag_expect("hex:a0a1a2a3", NULL); /* no index: no tag, no error */

    tag_define("hex:a0a1a2a3");
    tag_expect("hex:a0a1a2a3", NULL); /* defined, all zeros */
    snprintf(index, sizeof(index), "0x%08x", TPM_NV_ASSET_TAG);
    const char *pub[] = {"tpm2_nvreadpublic", "-T", shared.swtpm->tcti, index, NULL};
    assert_int_equal(fx_tool_output(&shared, pub, &text), 0);
    assert_non_null(strstr(text, "size: 48"));
    assert_non_null(strstr(text, "ownerread"));
    assert_non_null(strstr(text, "authwrite"));
    assert_non_null(strstr(text, "authread"));
    assert_non_null(strstr(text, "sha256"));
    free(text);

    tag_write("hex:a0a1a2a3", tag1);
    tag_expect("hex:a0a1a2a3", tag1);
    tag_expect_owner_read(tag1);

    /* define-tag-index again keeps the tag, with the same secret and with a new one. */
    tag_define("hex:a0a1a2a3");
    tag_expect("hex:a0a1a2a3", tag1);
    tag_define("a new tag secret");
    tag_expect("a new tag secret", tag1);
    tag_expect_owner_read(tag1);

    tag_write("a new tag secret", zeros); /* all zeros = no tag */
    tag_expect("a new tag secret", NULL);
}

static void test_asset_tag_wrong_secret(void **state)
{
    uint8_t got[TPM_ASSET_TAG_SIZE];
    bool present = false;
    struct tpm_auth wrong;
    _cleanup_free_ char *error = NULL;
    uint32_t failures = 0;

    tag_define("hex:b0b1b2b3");
    tag_write("hex:b0b1b2b3", tag1);

    auth("hex:b0b1b2b4", &wrong);
    int r = tpm_tag_read(shared.tpm, &wrong, got, &present, &error);
    print_message("  read with a wrong tag secret: %d %s\n", r, error);
    assert_int_equal(r, -EACCES);
    /* the read names the setting, says it will not be retried (DA lockout) and how to fix it */
    assert_non_null(strstr(error, "tpm.tag-secret-key"));
    assert_non_null(strstr(error, "will not try it again"));
    assert_non_null(strstr(error, "define-tag-index"));
    assert_false(present);
    free(error);
    error = NULL;
    r = tpm_tag_write(shared.tpm, &wrong, tag1, &error);
    print_message("  write with a wrong tag secret: %d %s\n", r, error);
    assert_int_equal(r, -EACCES);
    assert_non_null(strstr(error, "authorization"));
    assert_non_null(strstr(error, "(TPM_RC 0x")); /* the TSS2_RC travels in the text */

    /* Those counted against dictionary-attack protection (the index is not NODA): reset, as an admin would.
     */
    assert_int_equal(fx_lockout_counter(shared.swtpm->tcti, &failures), 0);
    print_message("  DA lockout counter: %u\n", failures);
    assert_true(failures >= 2);
    assert_int_equal(fx_da_reset(&shared), 0);
    tag_expect("hex:b0b1b2b3", tag1);
}

/* An index someone else defined (other attributes, never written, then written with its own auth):
 * unwritten reads as no tag; define-tag-index keeps the tag and makes the index the agent's. */
static void test_asset_tag_foreign_index(void **state)
{
    char index[16], *tag_file = fx_file_write(&shared, "tag1", tag1, sizeof(tag1)), *text = NULL;

    assert_non_null(tag_file);
    snprintf(index, sizeof(index), "0x%08x", TPM_NV_ASSET_TAG);
    tag_index_remove();
    const char *define[] = {"tpm2_nvdefine",
                            "-T",
                            shared.swtpm->tcti,
                            "-C",
                            "o",
                            "-P",
                            OWNER_TOOL_AUTH,
                            "-s",
                            "48",
                            "-a",
                            "authread|authwrite|ownerread|ownerwrite|no_da",
                            "-p",
                            "str:foreign",
                            index,
                            NULL};
    assert_int_equal(fx_tool(&shared, define), 0);
    tag_expect("foreign", NULL); /* defined, never written; tagent takes raw text as is */

    const char *write[] = {"tpm2_nvwrite", "-T", shared.swtpm->tcti, "-C",  index, "-P",
                           "str:foreign",  "-i", tag_file,           index, NULL};
    assert_int_equal(fx_tool(&shared, write), 0);
    tag_expect("foreign", tag1);

    tag_define("hex:c0c1c2c3");
    tag_expect("hex:c0c1c2c3", tag1);
    const char *pub[] = {"tpm2_nvreadpublic", "-T", shared.swtpm->tcti, index, NULL};
    assert_int_equal(fx_tool_output(&shared, pub, &text), 0);
    assert_null(strstr(text, "ownerwrite"));
    assert_null(strstr(text, "no_da"));
    free(text);
    free(tag_file);
}

/* ---- provision-primary-key ---- */

static void test_primary_key_idempotent(void **state)
{
    char handle[16], *text = NULL;
    bool exists = true;
    _cleanup_free_ char *error = NULL;

    snprintf(handle, sizeof(handle), "0x%08x", TPM_HANDLE_PRIMARY_KEY);
    assert_int_equal(fx_handle_exists(shared.swtpm->tcti, TPM_HANDLE_PRIMARY_KEY, &exists), 0);
    if (exists) {
        const char *evict[] = {"tpm2_evictcontrol",
                               "-T",
                               shared.swtpm->tcti,
                               "-C",
                               "o",
                               "-P",
                               OWNER_TOOL_AUTH,
                               "-c",
                               handle,
                               NULL};
        assert_int_equal(fx_tool(&shared, evict), 0);
    }

    for (int round = 0; round < 2; round++) {
        if (tpm_primary_key_provision(shared.tpm, &shared.owner, &error) < 0)
            fail_msg("provision-primary-key (round %d): %s", round, error);
        assert_int_equal(fx_handle_exists(shared.swtpm->tcti, TPM_HANDLE_PRIMARY_KEY, &exists), 0);
        assert_true(exists);
        const char *getcap[] = {"tpm2_getcap", "-T", shared.swtpm->tcti, "handles-persistent", NULL};
        assert_int_equal(fx_tool_output(&shared, getcap, &text), 0);
        assert_non_null(strstr(text, handle));
        free(text);
    }

    const char *readpublic[] = {"tpm2_readpublic", "-T", shared.swtpm->tcti, "-c", handle, NULL};
    assert_int_equal(fx_tool_output(&shared, readpublic, &text), 0);
    assert_non_null(strstr(text, "rsa"));
    assert_non_null(strstr(text, "bits: 2048"));
    assert_non_null(strstr(text, "restricted"));
    assert_non_null(strstr(text, "decrypt"));
    assert_non_null(strstr(text, "aes"));
    free(text);
}

/* ---- ActivateCredential ---- */

/* tpm2_makecredential's file: u32be 0xBADCC0DE, u32be version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET. */
struct credential {
    uint8_t *file;
    const uint8_t *blob, *secret; /* without their u16 size */
    size_t blob_len, secret_len;
};

static uint32_t be(const uint8_t *p, size_t n)
{
    uint32_t v = 0;

    while (n--)
        v = v << 8 | *p++;
    return v;
}

static void make_credential(const uint8_t *ek_pub, size_t ek_pub_len, const uint8_t *name, size_t name_len,
                            const uint8_t secret[32], struct credential *ret)
{
    char *pub = fx_file_write(&shared, "ek.pub", ek_pub, ek_pub_len);
    char *secret_file = fx_file_write(&shared, "secret", secret, 32);
    char *out = NULL, name_hex[128];
    size_t len = 0;

    /* -u takes the marshalled TPM2B_PUBLIC as is (PEM would need -G rsa); tpm2-tools 5.4 wants -n in hex. */
    assert_int_equal(asprintf(&out, "%s/%u-credential", shared.dir, shared.files++) > 0, 1);
    const char *argv[] = {"tpm2_makecredential",
                          "-T",
                          "none",
                          "-u",
                          pub,
                          "-s",
                          secret_file,
                          "-n",
                          fx_hex(name, name_len, name_hex, sizeof(name_hex)),
                          "-o",
                          out,
                          NULL};
    assert_int_equal(fx_tool(&shared, argv), 0);
    assert_int_equal(fx_file_read(out, &ret->file, &len), 0);

    assert_true(len > 12);
    assert_int_equal(be(ret->file, 4), 0xbadcc0de);
    assert_int_equal(be(ret->file + 4, 4), 1);
    ret->blob_len = be(ret->file + 8, 2);
    ret->blob = ret->file + 10;
    assert_true(10 + ret->blob_len + 2 <= len);
    ret->secret_len = be(ret->blob + ret->blob_len, 2);
    ret->secret = ret->blob + ret->blob_len + 2;
    assert_int_equal(10 + ret->blob_len + 2 + ret->secret_len, len);
    assert_int_equal(ret->secret_len, 256); /* RSA-2048 EK */
    free(pub);
    free(secret_file);
    free(out);
}

/* The EK tagent persisted is the one its certificate is for. */
static void assert_ek_matches_cert(const uint8_t *ek_pub, size_t ek_pub_len)
{
    TPM2B_PUBLIC pub = {0};
    struct tpm_ek_cert cert = {0};
    _cleanup_free_ char *error = NULL;
    size_t off = 0;
    BIGNUM *n = NULL;
    uint8_t modulus[256];

    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(ek_pub, ek_pub_len, &off, &pub), TSS2_RC_SUCCESS);
    assert_int_equal(off, ek_pub_len);
    assert_int_equal(pub.publicArea.type, TPM2_ALG_RSA);
    assert_int_equal(pub.publicArea.unique.rsa.size, 256);
    assert_int_equal(tpm_ek_cert_read(shared.tpm, &shared.owner, &cert, &error), 0);
    const unsigned char *p = cert.der;
    X509 *x = d2i_X509(NULL, &p, (long)cert.der_len);
    assert_non_null(x);
    assert_int_equal(EVP_PKEY_get_bn_param(X509_get0_pubkey(x), OSSL_PKEY_PARAM_RSA_N, &n), 1);
    assert_int_equal(BN_bn2binpad(n, modulus, sizeof(modulus)), 256);
    assert_memory_equal(modulus, pub.publicArea.unique.rsa.buffer, 256);
    BN_free(n);
    X509_free(x);
    tpm_ek_cert_free(&cert);
}

static void test_activate_credential(void **state)
{
    uint8_t *ek_pub = NULL, *cert_info = NULL, secret[32], other_name[34];
    size_t ek_pub_len = 0, cert_info_len = 0;
    struct credential cred = {0}, other = {0};
    struct tpm_auth wrong;
    _cleanup_free_ char *error = NULL;

    assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
    if (tpm_ek_public(shared.tpm, &ek_pub, &ek_pub_len, &error) < 0)
        fail_msg("tpm_ek_public: %s", error);
    assert_ek_matches_cert(ek_pub, ek_pub_len);
    assert_int_equal(shared.aik.name_len, 34);
    assert_int_equal(be(shared.aik.name, 2), TPM2_ALG_SHA256);

    make_credential(ek_pub, ek_pub_len, shared.aik.name, shared.aik.name_len, secret, &cred);
    if (tpm_activate_credential(shared.tpm, &shared.endorsement, cred.blob, cred.blob_len, cred.secret,
                                cred.secret_len, &cert_info, &cert_info_len, &error) < 0)
        fail_msg("tpm_activate_credential: %s", error);
    assert_int_equal(cert_info_len, sizeof(secret));
    assert_memory_equal(cert_info, secret, sizeof(secret));
    free(cert_info);
    cert_info = NULL;

    /* Made for another key's name: the TPM refuses (integrity check), and nothing stays loaded. */
    memcpy(other_name, shared.aik.name, sizeof(other_name));
    other_name[33] ^= 1;
    make_credential(ek_pub, ek_pub_len, other_name, sizeof(other_name), secret, &other);
    int r = tpm_activate_credential(shared.tpm, &shared.endorsement, other.blob, other.blob_len, other.secret,
                                    other.secret_len, &cert_info, &cert_info_len, &error);
    print_message("  credential for another name: %d %s\n", r, error);
    assert_true(r < 0);
    assert_null(cert_info);
    assert_non_null(strstr(error, "ActivateCredential"));
    assert_non_null(strstr(error, "(TPM_RC 0x"));
    free(error);
    error = NULL;

    /* Wrong endorsement secret: PolicySecret(ENDORSEMENT) fails and says which setting to check. */
    auth("hex:e0d0c0b0a091", &wrong);
    r = tpm_activate_credential(shared.tpm, &wrong, cred.blob, cred.blob_len, cred.secret, cred.secret_len,
                                &cert_info, &cert_info_len, &error);
    print_message("  wrong endorsement secret: %d %s\n", r, error);
    assert_int_equal(r, -EACCES);
    assert_null(cert_info);
    assert_non_null(strstr(error, "TPM_ENDORSEMENT_SECRET"));
    assert_non_null(strstr(error, "(TPM_RC 0x"));

    /* Sizes HVS could never send. */
    assert_int_equal(tpm_activate_credential(shared.tpm, &shared.endorsement, cred.blob, 0, cred.secret,
                                             cred.secret_len, &cert_info, &cert_info_len, NULL),
                     -EINVAL);
    free(cred.file);
    free(other.file);
    free(ek_pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        {"test_take_ownership_40_hex", test_take_ownership, NULL, teardown, (void *)&owner_40_hex},
        {"test_take_ownership_hex_prefix", test_take_ownership, NULL, teardown, (void *)&owner_hex_prefix},
        {"test_take_ownership_raw_text", test_take_ownership, NULL, teardown, (void *)&owner_raw_text},
        {"test_take_ownership_empty_endorsement", test_take_ownership, NULL, teardown,
         (void *)&owner_empty_endorsement},
        cmocka_unit_test_teardown(test_asset_tag_round_trip, teardown),
        cmocka_unit_test_teardown(test_asset_tag_wrong_secret, teardown),
        cmocka_unit_test_teardown(test_asset_tag_foreign_index, teardown),
        cmocka_unit_test_teardown(test_primary_key_idempotent, teardown),
        cmocka_unit_test_teardown(test_activate_credential, teardown),
    };

    return cmocka_run_group_tests_name("integration.tpm_provision", tests, group_setup, group_teardown);
}
