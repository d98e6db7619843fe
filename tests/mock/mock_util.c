/* SPDX-License-Identifier: BSD-3-Clause */
/* Small helpers for the mock: base64 (OpenSSL), files, UUIDs, names, PEM. */
#include "mock.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

int mock_ssl_fail(const char *what)
{
    fprintf(stderr, "tagent-mock-cp: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    return -EIO;
}

char *mock_b64_encode(const uint8_t *data, size_t len)
{
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *out;

    if (len > (size_t)INT32_MAX / 2)
        return NULL;
    out = malloc(cap);
    if (out && EVP_EncodeBlock((unsigned char *)out, data, (int)len) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

char *mock_b64url_encode(const uint8_t *data, size_t len)
{
    char *out = mock_b64_encode(data, len);

    if (!out)
        return NULL;
    for (char *p = out; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=') {
            *p = '\0';
            break;
        }
    }
    return out;
}

int mock_b64_decode(const char *text, uint8_t **ret_data, size_t *ret_len)
{
    size_t len = strlen(text), pad = 0;
    uint8_t *out;
    int n;

    if (len % 4 != 0 || len > (size_t)INT32_MAX / 2)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c == '=') {
            if (i + 2 < len)
                return -EINVAL;
            pad++;
        } else if (pad || !(isalnum(c) || c == '+' || c == '/')) {
            return -EINVAL;
        }
    }
    out = malloc(len / 4 * 3 + 1);
    if (!out)
        return -ENOMEM;
    n = len ? EVP_DecodeBlock(out, (const unsigned char *)text, (int)len) : 0;
    if (n < 0 || (size_t)n < pad) {
        free(out);
        return -EINVAL;
    }
    *ret_data = out;
    *ret_len = (size_t)n - pad;
    return 0;
}

void mock_hex(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

int mock_file_read(const char *path, char **ret_data, size_t *ret_len)
{
    char *data = NULL;
    size_t len = 0, cap = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n;

        if (cap - len < 4096) {
            char *bigger = realloc(data, cap + 65536 + 1);

            if (!bigger) {
                r = -ENOMEM;
                break;
            }
            data = bigger;
            cap += 65536;
        }
        n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (r < 0) {
        free(data);
        return r;
    }
    if (!data && !(data = malloc(1)))
        return -ENOMEM;
    data[len] = '\0';
    *ret_data = data;
    if (ret_len)
        *ret_len = len;
    return 0;
}

int mock_file_write(const char *path, const void *data, size_t len, int mode)
{
    char *tmp = NULL;
    const char *p = data;
    int fd, r = 0;

    if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
        return -ENOMEM;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        unlink(tmp);
out:
    if (r < 0)
        fprintf(stderr, "tagent-mock-cp: writing %s: %s\n", path, strerror(-r));
    free(tmp);
    return r;
}

int mock_path(const char *dir, const char *name, char **ret)
{
    return asprintf(ret, "%s/%s", dir, name) < 0 ? -ENOMEM : 0;
}

void mock_uuid4(char out[37])
{
    uint8_t b[16];

    if (RAND_bytes(b, sizeof(b)) != 1)
        memset(b, 0x5a, sizeof(b)); /* test mock: a fixed id is still an id */
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

bool mock_uuid_valid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, at most 253 characters. */
bool mock_hostname_valid(const char *s)
{
    size_t len = strlen(s), label = 0;

    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i <= len; i++) {
        char c = s[i];

        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (isalnum((unsigned char)c) || (c == '-' && label > 0)) {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

char *mock_x509_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL, *data;
    long len;

    if (bio && PEM_write_bio_X509(bio, cert) == 1 && (len = BIO_get_mem_data(bio, &data)) > 0 &&
        (text = malloc((size_t)len + 1))) {
        memcpy(text, data, (size_t)len);
        text[len] = '\0';
    }
    BIO_free(bio);
    return text;
}

int mock_certs_parse(const uint8_t *data, size_t len, STACK_OF(X509) * *ret_certs)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    int r = -EBADMSG;

    if (!certs)
        return -ENOMEM;
    if (len > 0 && memmem(data, len, "-----BEGIN", 10)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        X509 *x;

        while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
            if (!sk_X509_push(certs, x)) {
                X509_free(x);
                break;
            }
        }
        ERR_clear_error();
        BIO_free(bio);
    } else {
        const unsigned char *p = data, *end = data + len;

        while (p < end) {
            X509 *x = d2i_X509(NULL, &p, end - p);

            if (!x || !sk_X509_push(certs, x)) {
                X509_free(x);
                sk_X509_pop_free(certs, X509_free);
                ERR_clear_error();
                return -EBADMSG;
            }
        }
    }
    if (sk_X509_num(certs) > 0) {
        *ret_certs = certs;
        return 0;
    }
    sk_X509_pop_free(certs, X509_free);
    return r;
}
