/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * provision-device (docs/tep-formats.md section 1): the TEP device keys from the owner's two files.
 *
 * Order of writes, chosen so that a crash at any point leaves nothing that fails in a harmful way:
 *   1. everything is read and checked (both files, the TPM's state) before the first change;
 *   2. the SRK is ensured and its Name recorded, before anything uses a session salted with it;
 *   3. the policy key goes into NV 0x018A0000 and is write-locked;
 *   4. with --force the old AES key is evicted, then the new authValue is recorded, then the key imported.
 *      The TPM never holds a key at 0x8100A000 whose authValue is not the recorded one: a crash between
 *      the two leaves no key at all (config-apply reports "not provisioned") rather than a key whose every
 *      use would be a failed authorization counted toward the dictionary-attack lockout, or one nobody can
 *      ever use;
 *   5. the sequence and LUKS version indexes are defined (kept when present);
 *   6. everything is read back from the TPM and the files, and one block is decrypted through the TPM with
 *      the recorded authValue and Name and compared with OpenSSL's AES-CTR.
 * A re-run after a crash finds some objects present and needs --force, which redoes every step.
 */
#include "provision.h"

#include "cleanup.h"
#include "cleanup_openssl.h"
#include "config.h"
#include "error.h"
#include "hex.h"
#include "tep_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#define PUBKEY_FILE_MAX (64 * 1024)

/* The owner's public key file, PEM or DER, as the DER SubjectPublicKeyInfo the contract stores; its curve
 * must be the profile's. */
static int policy_key_load(const char *path, const struct tepc_profile_params *p, uint8_t **ret_der,
                           size_t *ret_len, char **ret_error)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    int r = config_read_file(path, PUBKEY_FILE_MAX, &buf, &len);
    if (r < 0)
        return error_set(ret_error, r, "reading the policy public key %s: %s", path, strerror(-r));

    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    _cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(buf, (int)len);
    if (bio && memmem(buf, len, "-----BEGIN", 10))
        key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    else {
        const unsigned char *q = (const unsigned char *)buf;
        key = d2i_PUBKEY(NULL, &q, (long)len);
        if (key && q != (const unsigned char *)buf + len)
            EVP_PKEY_free(TAKE_PTR(key)); /* trailing bytes: not one DER key */
    }
    if (!key)
        return error_set(
            ret_error, -EBADMSG,
            "%s is not a public key in PEM (\"BEGIN PUBLIC KEY\") or DER SubjectPublicKeyInfo form "
            "(from a private key: `openssl pkey -in key.pem -pubout`)",
            path);

    char group[64] = "";
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
        !EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) || strcmp(group, p->curve_sn) != 0)
        return error_set(ret_error, -EINVAL, "%s is not an EC key on %s, which the %s profile takes", path,
                         p->curve_sn, p->name);

    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0)
        return error_set(ret_error, -ENOMEM, "encoding the policy key as DER failed");
    if ((size_t)n != p->spki_len) {
        OPENSSL_free(der);
        return error_set(ret_error, -EINVAL,
                         "the policy key's DER form has %d bytes instead of %zu (a compressed point?); give "
                         "the key with an uncompressed point",
                         n, p->spki_len);
    }
    uint8_t *copy = malloc((size_t)n);
    if (copy)
        memcpy(copy, der, (size_t)n);
    OPENSSL_free(der);
    if (!copy)
        return error_set(ret_error, -ENOMEM, "out of memory");
    *ret_der = copy;
    *ret_len = (size_t)n;
    return 0;
}

/* The raw AES key file, read with read(2) straight into key (no stdio buffer or heap copy); its size must
 * be the profile's. */
static int aes_key_load(const char *path, const struct tepc_profile_params *p, uint8_t key[32],
                        char **ret_error)
{
    const size_t want = p->enc_key_bits / 8;
    struct stat st;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return error_set(ret_error, -errno, "opening the AES key file %s: %m", path);
    if (fstat(fd, &st) < 0)
        return error_set(ret_error, -errno, "%s: %m", path);
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size != want)
        return error_set(
            ret_error, -EINVAL,
            "the AES key file %s must hold exactly %zu raw bytes for the %s profile (AES-%u); it "
            "has %lld",
            path, want, p->name, p->enc_key_bits, (long long)st.st_size);
    ssize_t n = read(fd, key, want);
    if (n != (ssize_t)want) {
        int r = n < 0 ? -errno : -EIO;
        OPENSSL_cleanse(key, 32);
        return error_set(ret_error, r, "reading %s: %s", path, n < 0 ? strerror(-r) : "short read");
    }
    return 0;
}

/* Refuses to replace anything without force: the existing keys may be the ones the owner's configurations
 * are made for. */
static int check_replace(const struct tpm_tep_state *s, bool force, char **ret_error)
{
    if (force || (!s->policy_key_defined && !s->enc_key_present))
        return 0;
    return error_set(
        ret_error, -EEXIST,
        "this TPM already holds TEP device keys (%s%s%s); nothing was changed. Run with --force to "
        "replace them with the ones given (configurations made for the old keys stop working)",
        s->policy_key_defined ? "the policy key in NV 0x018a0000" : "",
        s->policy_key_defined && s->enc_key_present ? ", " : "",
        s->enc_key_present ? "the AES key at 0x8100a000" : "");
}

/* A fresh authValue of 32 random bytes; the last one non-zero, because the TPM drops trailing zeros and the
 * file must hold exactly the value in use. */
static int auth_generate(struct tpm_auth *ret_auth, char **ret_error)
{
    memset(ret_auth, 0, sizeof(*ret_auth));
    do {
        if (RAND_bytes(ret_auth->bytes, TEP_ENC_AUTH_LEN) != 1)
            return error_set(ret_error, -EIO, "the random generator failed");
    } while (ret_auth->bytes[TEP_ENC_AUTH_LEN - 1] == 0);
    ret_auth->len = TEP_ENC_AUTH_LEN;
    return 0;
}

static int aes_ctr(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in, size_t len,
                   uint8_t *out)
{
    _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    const EVP_CIPHER *c = key_len == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
    return ctx && EVP_EncryptInit_ex(ctx, c, NULL, key, iv) &&
                   EVP_EncryptUpdate(ctx, out, &n1, in, (int)len) &&
                   EVP_EncryptFinal_ex(ctx, out + n1, &n2) && (size_t)n1 + (size_t)n2 == len
               ? 0
               : -EIO;
}

/* Decrypts a block OpenSSL encrypted with key through the TPM, with the authValue and the SRK Name as
 * config-apply will load them from the files: proves the files and the key belong together. */
static int decrypt_self_test(const char *root, tpm_t *tpm, const uint8_t *key, size_t key_len,
                             char **ret_error)
{
    uint8_t iv[16] = {0}, plain[48], ct[48], out[48], name[TPM_NAME_MAX];
    size_t name_len = 0;
    struct tpm_auth auth;
    int r = tep_srk_name_load(root, name, &name_len, ret_error);
    if (r < 0)
        return r;
    r = tep_enc_auth_load(root, &auth, ret_error);
    if (r < 0)
        return r;
    if (RAND_bytes(iv, 12) != 1 || RAND_bytes(plain, sizeof(plain)) != 1 ||
        aes_ctr(key, key_len, iv, plain, sizeof(plain), ct) < 0)
        r = error_set(ret_error, -EIO, "OpenSSL failed encrypting the test block");
    if (r == 0)
        r = tpm_tep_decrypt(tpm, &auth, name, name_len, iv, ct, sizeof(ct), out, ret_error);
    if (r == 0 && CRYPTO_memcmp(out, plain, sizeof(plain)) != 0)
        r = error_set(
            ret_error, -EBADMSG,
            "the TPM's decryption with 0x8100a000 differs from OpenSSL's AES-CTR with the key file");
    tpm_auth_clear(&auth);
    OPENSSL_cleanse(out, sizeof(out));
    OPENSSL_cleanse(plain, sizeof(plain));
    return r;
}

/* Everything as config-apply will see it, against what was meant to be written. */
static int read_back(const char *root, tpm_t *tpm, const struct tepc_profile_params *p, const uint8_t *der,
                     size_t der_len, const uint8_t *key, char **ret_error)
{
    struct tpm_tep_state s;
    _cleanup_free_ uint8_t *spki = NULL;
    size_t spki_len = 0;
    int r = tpm_tep_state(tpm, &s, ret_error);
    if (r < 0)
        return r;
    if (!s.policy_key_locked || s.policy_key_len != p->spki_len)
        return error_set(ret_error, -EPROTO, "read back: NV 0x018a0000 is %s with %u bytes (expected %zu)",
                         s.policy_key_locked ? "locked" : "not written and locked", s.policy_key_len,
                         p->spki_len);
    if (!s.enc_key_present || s.enc_key_bits != p->enc_key_bits)
        return error_set(ret_error, -EPROTO, "read back: 0x8100a000 is %s (AES-%u expected)",
                         s.enc_key_present ? "not the expected AES key" : "absent", p->enc_key_bits);
    if (!s.config_seq_defined || !s.luks_version_defined)
        return error_set(ret_error, -EPROTO, "read back: NV 0x018a0001 or 0x018a0002 is missing");
    r = tpm_tep_policy_key_read(tpm, &spki, &spki_len, ret_error);
    if (r < 0)
        return r;
    if (!spki || !der || spki_len != der_len || memcmp(spki, der, der_len) != 0)
        return error_set(ret_error, -EPROTO, "read back: NV 0x018a0000 differs from the policy key file");
    return decrypt_self_test(root, tpm, key, p->enc_key_bits / 8, ret_error);
}

/* Defines an 8-byte index (kept when present) and says which in the report. */
static int u64_index_ensure(tpm_t *tpm, const struct tpm_auth *owner, uint32_t index, const char *what,
                            FILE *report, char **ret_error)
{
    bool created = false;
    uint64_t value = 0;
    int r = tpm_nv_u64_define(tpm, owner, index, &created, ret_error);
    if (r == 0)
        r = tpm_nv_u64_read(tpm, index, &value, ret_error);
    if (r == 0)
        fprintf(report, "%s NV 0x%08x: %s, value %llu\n", what, index, created ? "defined" : "kept",
                (unsigned long long)value);
    return r;
}

/* Steps 2 to 5 of the order above. */
static int provision_steps(const char *root, tpm_t *tpm, const struct tpm_auth *owner,
                           const struct tep_provision_request *req, const struct tepc_profile_params *p,
                           const struct tpm_tep_state *before, const uint8_t *der, size_t der_len,
                           const uint8_t *key, FILE *report, char **ret_error)
{
    uint8_t name[TPM_NAME_MAX], kid[TEPC_KID_LEN];
    char name_hex[2 * TPM_NAME_MAX + 1], kid_hex[2 * TEPC_KID_LEN + 1];
    size_t name_len = 0;
    bool srk_existed = false;
    struct tpm_auth auth = {0};

    int r = tep_state_dir_ensure(root, ret_error);
    if (r == 0)
        r = tpm_handle_exists(tpm, TPM_HANDLE_SRK_ECC, &srk_existed, ret_error);
    if (r == 0)
        r = tpm_srk_ensure(tpm, owner, name, &name_len, ret_error);
    if (r == 0)
        r = tep_srk_name_store(root, name, name_len, ret_error);
    if (r < 0)
        return r;
    hex_encode(name, name_len, name_hex);
    fprintf(report, "storage root key 0x81000002: %s, Name %s, recorded in %s\n",
            srk_existed ? "present" : "created", name_hex, TEP_SRK_NAME_FILE);

    r = tpm_tep_policy_key_write(tpm, owner, der, der_len, req->force, ret_error);
    if (r < 0)
        return r;
    if (tepc_key_id(der, der_len, kid) == 0) {
        hex_encode(kid, sizeof(kid), kid_hex);
        fprintf(report, "policy key (%s, %zu bytes DER, key id %s): NV 0x018a0000, write-locked\n",
                p->curve_sn, der_len, kid_hex);
    }

    if (before->enc_key_present)
        r = tpm_tep_enc_key_evict(tpm, owner, ret_error);
    if (r == 0)
        r = auth_generate(&auth, ret_error);
    if (r == 0)
        r = tep_enc_auth_store(root, &auth, ret_error);
    if (r == 0)
        r = tpm_tep_enc_key_import(tpm, owner, key, p->enc_key_bits / 8, &auth, name, name_len, false,
                                   ret_error);
    tpm_auth_clear(&auth);
    if (r < 0)
        return r;
    fprintf(report, "AES-%u key: imported at 0x8100a000%s, its authValue recorded in %s\n", p->enc_key_bits,
            before->enc_key_present ? " (replacing the old one)" : "", TEP_ENC_AUTH_FILE);

    r = u64_index_ensure(tpm, owner, TPM_NV_TEP_LUKS_VERSION, "LUKS policy version", report, ret_error);
    if (r == 0)
        r = u64_index_ensure(tpm, owner, TPM_NV_TEP_CONFIG_SEQ, "configuration sequence", report, ret_error);
    return r;
}

int tep_provision_device(const char *root, tpm_t *tpm, const struct tpm_auth *owner,
                         const struct tep_provision_request *req, char **ret_report, char **ret_error)
{
    const struct tepc_profile_params *p = tepc_profile_params(req->profile);
    _cleanup_free_ uint8_t *der = NULL;
    _cleanup_free_ char *text = NULL;
    size_t der_len = 0, text_len = 0;
    uint8_t key[32] = {0};
    struct tpm_tep_state before = {0};
    if (!p)
        return error_set(ret_error, -EINVAL, "unknown profile");

    int r = policy_key_load(req->pol_pub_key_path, p, &der, &der_len, ret_error);
    if (r == 0)
        r = aes_key_load(req->enc_key_path, p, key, ret_error);
    if (r == 0)
        r = tpm_tep_state(tpm, &before, ret_error);
    if (r == 0)
        r = check_replace(&before, req->force, ret_error);
    if (r < 0)
        goto out;

    FILE *report = open_memstream(&text, &text_len);
    if (!report) {
        r = error_set(ret_error, -ENOMEM, "out of memory");
        goto out;
    }
    fprintf(report, "profile %s\n", p->name);
    r = provision_steps(root, tpm, owner, req, p, &before, der, der_len, key, report, ret_error);
    if (r == 0)
        r = read_back(root, tpm, p, der, der_len, key, ret_error);
    if (r == 0)
        fprintf(report, "read back: attributes, sizes, the policy key and a test decryption through the TPM "
                        "with the recorded authValue are as expected\n");
    if (fclose(report) != 0 && r == 0)
        r = error_set(ret_error, -ENOMEM, "out of memory");
    if (r == 0)
        *ret_report = TAKE_PTR(text);
out:
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_ frees der; clang-tidy 14 misses it */
    OPENSSL_cleanse(key, sizeof(key));
    return r;
}
