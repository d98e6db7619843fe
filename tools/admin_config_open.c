/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-admin config open: decrypt a container in software and extract it the way a device would (for
 * debugging what a device will apply). */
#include "admin.h"
#include "cleanup_openssl.h"
#include "error.h"
#include "tepc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct open_args {
    const char *file, *enc_key, *pub_key, *out;
};

/* DIR is created 0700, or must be empty: extraction never mixes with what was there. */
static int out_dir_open(const char *dir, char **ret_error)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return error_set(ret_error, -errno, "cannot create %s: %s", dir, strerror(errno));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return error_set(ret_error, -errno, "cannot open %s: %s", dir, strerror(errno));
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    size_t n = 0;
    for (struct dirent *de; d && (de = readdir(d));)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    if (d)
        closedir(d);
    else if (dup_fd >= 0)
        close(dup_fd);
    if (n > 0) {
        close(fd);
        return error_set(ret_error, -ENOTEMPTY, "%s is not empty; give a new or empty directory", dir);
    }
    return fd;
}

/* Adds what to do about a partial extraction to the extractor's message. */
static void error_append(char **error, const char *dir)
{
    char *longer = NULL;
    if (*error && asprintf(&longer, "%s (%s may hold part of the tree: remove it)", *error, dir) >= 0) {
        free(*error);
        *error = longer;
    }
}

static int verify(const struct tepc_blob *b, const char *pub, char **ret_error)
{
    _cleanup_openssl_free_ uint8_t *spki = NULL;
    size_t spki_len = 0;
    int r = admin_public_key_load(pub, &spki, &spki_len, ret_error);
    if (r < 0)
        return r;
    return tepc_verify(b, spki, spki_len, ret_error);
}

static int config_open(const struct open_args *a, char **ret_error)
{
    _cleanup_openssl_free_ uint8_t *buf = NULL;
    uint8_t *aes = NULL, *plain = NULL;
    size_t len = 0, aes_len = 0, plain_len = 0;
    struct tepc_blob b;
    int r;

    if ((r = admin_file_read(a->file, TEPC_MAX_FILE, &buf, &len, ret_error)) < 0 ||
        (r = tepc_parse(buf, len, &b, ret_error)) < 0)
        return r;
    if (a->pub_key && (r = verify(&b, a->pub_key, ret_error)) < 0)
        return r;
    if (!a->pub_key)
        fprintf(stderr, "tagent-admin: config open: the signature is not checked (no --pub-key)\n");
    if ((r = admin_aes_key_load(a->enc_key, &aes, &aes_len, ret_error)) < 0)
        return r;
    r = tepc_decrypt_soft(&b, aes, aes_len, &plain, &plain_len, ret_error);
    OPENSSL_clear_free(aes, aes_len);
    if (r < 0)
        return r;
    _cleanup_close_ int dfd = out_dir_open(a->out, ret_error);
    if (dfd >= 0) {
        const struct tepc_extract_limits limits = TEPC_EXTRACT_LIMITS_DEFAULT;
        r = tepc_archive_extract(plain, plain_len, dfd, &limits, ret_error);
        if (r < 0)
            error_append(ret_error, a->out);
    } else
        r = dfd;
    OPENSSL_clear_free(plain, plain_len);
    if (r < 0)
        return r;
    printf("%s: %s, decrypted %zu bytes, extracted into %s\n", a->file,
           a->pub_key ? "signature valid" : "signature NOT checked", plain_len, a->out);
    return 0;
}

static int config_open_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"enc-key", required_argument, NULL, 'e'},
        {"pub-key", required_argument, NULL, 'k'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct open_args a = {0};
    _cleanup_free_ char *err = NULL;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'e': a.enc_key = optarg; break;
        case 'k': a.pub_key = optarg; break;
        case 'o': a.out = optarg; break;
        case 'h': admin_command_help(&admin_config_open); return ADMIN_EXIT_OK;
        default: return admin_usage_error(&admin_config_open, NULL);
        }
    }
    if (optind + 1 != argc)
        return admin_usage_error(&admin_config_open, "give exactly one FILE");
    if (!a.enc_key || !a.out)
        return admin_usage_error(&admin_config_open, "--enc-key and -o are required");
    a.file = argv[optind];
    if (config_open(&a, &err) < 0)
        return admin_error("config open: %s", err ? err : "out of memory");
    return ADMIN_EXIT_OK;
}

const struct admin_command admin_config_open = {
    .group = "config",
    .name = "open",
    .usage = "FILE --enc-key KEY.bin [--pub-key PUB.pem] -o DIR",
    .summary = "verify, decrypt in software and extract a container (debugging)",
    .help =
        "  --enc-key KEY.bin   the configuration AES key\n"
        "  --pub-key PUB.pem   check the signature first (without it, a warning says it was not checked)\n"
        "  -o, --output DIR    a new or empty directory\n"
        "\n"
        "Extracts with the device's extractor and limits: only files and directories, no absolute or \"..\"\n"
        "names, no links or devices, at most 1024 entries, 64 MiB a file and 256 MiB in all.\n",
    .run = config_open_run,
};
