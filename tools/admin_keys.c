/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-admin keys gen: the owner's signing key pair and configuration AES key for one profile. */
#include "admin.h"
#include "cleanup_openssl.h"
#include "error.h"
#include "hex.h"
#include "tepc.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

static const char *const key_files[] = {"sign-key.pem", "sign-key.pub.pem", "enc-key.bin"};

/* The PEM text of key (private as PKCS#8 when private is set, else SPKI) in a memory BIO, which wipes its
 * buffer when freed (BUF_MEM_free). */
static BIO *pem_of(EVP_PKEY *key, int private, const char **ret_data, size_t *ret_len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    if (!bio || !(private ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_bio_PUBKEY(bio, key))) {
        BIO_free(bio);
        return NULL;
    }
    *ret_len = (size_t)BIO_get_mem_data(bio, &data);
    *ret_data = data;
    return bio;
}

static int pem_file_write(const char *dir, const char *name, EVP_PKEY *key, int private, char **ret_error)
{
    _cleanup_free_ char *path = NULL;
    const char *data = NULL;
    size_t len = 0;

    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return error_set(ret_error, -ENOMEM, "out of memory");
    _cleanup_(BIO_freep) BIO *bio = pem_of(key, private, &data, &len);
    if (!bio)
        return error_set(ret_error, -EIO, "cannot encode the %s key as PEM", private ? "private" : "public");
    return admin_file_create(path, data, len, 0600, ret_error);
}

static int aes_file_write(const char *dir, size_t len, char **ret_error)
{
    _cleanup_free_ char *path = NULL;
    uint8_t key[32];
    int r;

    if (asprintf(&path, "%s/enc-key.bin", dir) < 0)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if (RAND_priv_bytes(key, (int)len) != 1)
        return error_set(ret_error, -EIO, "cannot draw %zu random bytes", len);
    r = admin_file_create(path, key, len, 0600, ret_error);
    OPENSSL_cleanse(key, sizeof(key));
    return r;
}

/* None of the three files may exist: a second `keys gen` must not replace half of a key set. */
static int dir_ready(const char *dir, char **ret_error)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return error_set(ret_error, -errno, "cannot create %s: %s", dir, strerror(errno));
    for (size_t i = 0; i < sizeof(key_files) / sizeof(key_files[0]); i++) {
        _cleanup_free_ char *path = NULL;
        struct stat st;
        if (asprintf(&path, "%s/%s", dir, key_files[i]) < 0)
            return error_set(ret_error, -ENOMEM, "out of memory");
        if (lstat(path, &st) == 0)
            return error_set(ret_error, -EEXIST,
                             "%s exists; refusing to overwrite a key (move it away or choose "
                             "another -o)",
                             path);
    }
    return 0;
}

static void kid_print(EVP_PKEY *key)
{
    unsigned char *der = NULL;
    uint8_t kid[TEPC_KID_LEN];
    char hex[2 * TEPC_KID_LEN + 1];
    int n = i2d_PUBKEY(key, &der);
    if (n > 0 && tepc_key_id(der, (size_t)n, kid) == 0) {
        hex_encode(kid, sizeof(kid), hex);
        printf("signer key id (SHA-256 of the DER public key): %s\n", hex);
    }
    OPENSSL_free(der);
}

static int keys_generate(const char *dir, enum tepc_profile profile, char **ret_error)
{
    const struct tepc_profile_params *p = tepc_profile_params(profile);
    int r;

    if ((r = dir_ready(dir, ret_error)) < 0)
        return r;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_EC_gen(p->curve_sn);
    if (!key)
        return error_set(ret_error, -EIO, "cannot generate an EC key on %s", p->curve_sn);
    if ((r = pem_file_write(dir, key_files[0], key, 1, ret_error)) < 0 ||
        (r = pem_file_write(dir, key_files[1], key, 0, ret_error)) < 0 ||
        (r = aes_file_write(dir, p->enc_key_bits / 8, ret_error)) < 0) {
        /* no half key set left behind: remove what this run wrote (the files did not exist before) */
        for (size_t i = 0; i < sizeof(key_files) / sizeof(key_files[0]); i++) {
            _cleanup_free_ char *path = NULL;
            if (asprintf(&path, "%s/%s", dir, key_files[i]) >= 0)
                unlink(path);
        }
        return r;
    }
    printf("profile %s: %s signing key, AES-%u configuration key\n", p->name, p->curve_sn, p->enc_key_bits);
    printf("wrote %s/%s (private signing key, PKCS#8 PEM, 0600: keep it off the devices)\n", dir,
           key_files[0]);
    printf("wrote %s/%s (public key, SubjectPublicKeyInfo PEM: tagent provision-device writes it to NV)\n",
           dir, key_files[1]);
    printf("wrote %s/%s (%u raw random bytes, 0600: the device imports it; guard it like the signing key)\n",
           dir, key_files[2], (unsigned)p->enc_key_bits / 8);
    kid_print(key);
    return 0;
}

static int keys_gen_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *dir = NULL, *profile_name = "ptt";
    enum tepc_profile profile;
    _cleanup_free_ char *err = NULL;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'p')
            profile_name = optarg;
        else if (c == 'o')
            dir = optarg;
        else if (c == 'h') {
            admin_command_help(&admin_keys_gen);
            return ADMIN_EXIT_OK;
        } else
            return admin_usage_error(&admin_keys_gen, NULL);
    }
    if (optind != argc)
        return admin_usage_error(&admin_keys_gen, "unexpected argument");
    if (!dir)
        return admin_usage_error(&admin_keys_gen, "-o DIR is required");
    if (tepc_profile_from_name(profile_name, &profile, &err) < 0)
        return admin_usage_error(&admin_keys_gen, err);
    if (keys_generate(dir, profile, &err) < 0)
        return admin_error("keys gen: %s", err ? err : "out of memory");
    return ADMIN_EXIT_OK;
}

const struct admin_command admin_keys_gen = {
    .group = "keys",
    .name = "gen",
    .usage = "[--profile ptt|dtpm] -o DIR",
    .summary = "generate the owner's signing key pair and configuration AES key",
    .help = "  --profile ptt|dtpm  ptt (default): P-384 + SHA-384 and AES-256; dtpm: P-256 + SHA-256 and "
            "AES-128\n"
            "  -o, --output DIR    where to write (created 0700 when absent); existing key files are never\n"
            "                      replaced\n"
            "\n"
            "Writes DIR/sign-key.pem (EC private key, PKCS#8 PEM), DIR/sign-key.pub.pem (its public key,\n"
            "SubjectPublicKeyInfo PEM) and DIR/enc-key.bin (16 or 32 random bytes), each created 0600, and "
            "prints\n"
            "the signer key id (hex SHA-256 of the DER public key) that every sealed container carries.\n",
    .run = keys_gen_run,
};
