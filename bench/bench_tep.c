/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_tep.h: the provisioned device the TEP benchmarks share. */
#include "bench_tep.h"
#include "cleanup.h"
#include "error.h"
#include "provision.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#define ENDORSEMENT_SECRET "89abcdef0123456789abcdef0123456789abcdef"

static int write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, data, len);
    int r = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return r;
}

static int take_ownership(tpm_t *tpm, struct tpm_auth *owner, char **ret_error)
{
    struct tpm_auth endorsement = {0};
    _cleanup_free_ char *error = NULL;
    int r = tpm_auth_from_secret(BENCH_TEP_OWNER_SECRET, owner, &error);
    if (r == 0)
        r = tpm_auth_from_secret(ENDORSEMENT_SECRET, &endorsement, &error);
    if (r == 0)
        r = tpm_take_ownership(tpm, owner, &endorsement, &error);
    tpm_auth_clear(&endorsement);
    return r < 0 ? error_set(ret_error, r, "take ownership: %s", error ? error : strerror(-r)) : 0;
}

/* The public key (PEM) and the AES key as the files provision-device reads. */
static int key_files(const struct bench_tep_device *d, const char *pub_path, const char *aes_path)
{
    char *pem = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    long pem_len = bio && PEM_write_bio_PUBKEY(bio, d->sign) ? BIO_get_mem_data(bio, &pem) : 0;
    int r = pem_len > 0 ? write_file(pub_path, pem, (size_t)pem_len) : -ENOMEM;
    if (r == 0)
        r = write_file(aes_path, d->aes, d->aes_len);
    BIO_free(bio);
    return r;
}

int bench_tep_provision(tpm_t *tpm, const char *dir, const char *root, enum tepc_profile profile,
                        struct bench_tep_device *ret, char **ret_error)
{
    const struct tepc_profile_params *p = tepc_profile_params(profile);
    _cleanup_free_ char *pub_path = NULL, *aes_path = NULL, *report = NULL, *error = NULL;
    int r = take_ownership(tpm, &ret->owner, ret_error);
    if (r < 0)
        return r;
    ret->aes_len = p->enc_key_bits / 8;
    if (!(ret->sign = EVP_EC_gen(p->curve_sn)) || RAND_bytes(ret->aes, (int)ret->aes_len) != 1)
        return error_set(ret_error, -EIO, "making the %s keys failed (OpenSSL)", p->name);
    if (asprintf(&pub_path, "%s/pub.pem", dir) < 0 || asprintf(&aes_path, "%s/aes.bin", dir) < 0)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if ((r = key_files(ret, pub_path, aes_path)) < 0)
        return error_set(ret_error, r, "writing the key files: %s", strerror(-r));
    struct tep_provision_request req = {
        .pol_pub_key_path = pub_path, .enc_key_path = aes_path, .profile = profile, .force = true};
    r = tep_provision_device(root, tpm, &ret->owner, &req, &report, &error);
    unlink(aes_path);
    return r < 0 ? error_set(ret_error, r, "provision-device: %s", error ? error : strerror(-r)) : 0;
}

void bench_tep_device_clear(struct bench_tep_device *d)
{
    tpm_auth_clear(&d->owner);
    EVP_PKEY_free(d->sign);
    OPENSSL_cleanse(d, sizeof(*d));
}
