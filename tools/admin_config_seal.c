/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-admin config seal: a directory or .tgz into tep_user_config_data.bin (docs/tep-formats.md 2). */
#include "admin.h"
#include "cleanup_openssl.h"
#include "error.h"
#include "hex.h"
#include "tepc.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct seal_args {
    const char *in, *sign_key, *enc_key, *seq, *profile, *out;
};

/* A decimal 1..2^32-1: the device starts at 0 and applies only a greater sequence. */
static int seq_parse(const char *s, uint32_t *ret, char **ret_error)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = s && s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
    if (!end || *end || errno || v == 0 || v > UINT32_MAX)
        return error_set(ret_error, -EINVAL,
                         "--seq \"%s\": give a decimal number from 1 to 4294967295, greater "
                         "than the last sequence applied on the devices",
                         s ? s : "");
    *ret = (uint32_t)v;
    return 0;
}

/* The payload: a directory is archived deterministically, a file is taken as the .tgz it should be. Either
 * way in OpenSSL's allocator, so the caller wipes and frees it with OPENSSL_clear_free. */
static int payload_load(const char *in, uint64_t created, uint8_t **ret, size_t *ret_len, char **ret_error)
{
    struct stat st;
    if (stat(in, &st) < 0)
        return error_set(ret_error, -errno, "--in %s: %s", in, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return admin_file_read(in, TEPC_MAX_PAYLOAD, ret, ret_len, ret_error);
    _cleanup_free_ uint8_t *tgz = NULL;
    size_t len = 0;
    int r = tepc_archive_create(in, created, &tgz, &len, ret_error);
    if (r < 0)
        return r;
    uint8_t *copy = OPENSSL_memdup(tgz, len ? len : 1);
    OPENSSL_cleanse(tgz, len);
    if (!copy)
        return error_set(ret_error, -ENOMEM, "out of memory");
    *ret = copy;
    *ret_len = len;
    return 0;
}

/* SOURCE_DATE_EPOCH (reproducible builds' convention) when set, so the same inputs give the same container
 * apart from the IV; the clock otherwise. */
static uint64_t created_now(void)
{
    const char *s = getenv("SOURCE_DATE_EPOCH");
    char *end = NULL;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    return s && end && !*end && end != s ? (uint64_t)v : (uint64_t)time(NULL);
}

static int seal(const struct seal_args *a, char **ret_error)
{
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    uint8_t *aes = NULL, *payload = NULL;
    _cleanup_free_ uint8_t *blob = NULL;
    size_t aes_len = 0, payload_len = 0, len = 0;
    struct tepc_seal_params params = {.created = created_now()};
    int r, prof = 0;

    if ((r = seq_parse(a->seq, &params.sequence, ret_error)) < 0 ||
        (r = admin_private_key_load(a->sign_key, ADMIN_SIGN_KEY_HINT, &key, ret_error)) < 0 ||
        (r = admin_key_profile(key, &prof, ret_error)) < 0)
        return r;
    params.profile = (enum tepc_profile)prof;
    if (a->profile) {
        enum tepc_profile want;
        if ((r = tepc_profile_from_name(a->profile, &want, ret_error)) < 0)
            return r;
        if (want != params.profile)
            return error_set(ret_error, -EINVAL, "--profile %s, but %s is a %s key (the %s profile)",
                             a->profile, a->sign_key, tepc_profile_params(params.profile)->curve_sn,
                             tepc_profile_params(params.profile)->name);
    }
    if ((r = admin_aes_key_load(a->enc_key, &aes, &aes_len, ret_error)) < 0)
        return r;
    r = payload_load(a->in, params.created, &payload, &payload_len, ret_error);
    if (r >= 0)
        r = tepc_seal(payload, payload_len, key, aes, aes_len, &params, &blob, &len, ret_error);
    OPENSSL_clear_free(aes, aes_len);
    OPENSSL_clear_free(payload, payload_len); /* the plaintext configuration may hold the owner's secrets */
    if (r < 0 || (r = admin_file_replace(a->out, blob, len, 0644, ret_error)) < 0)
        return r;

    char kid[2 * TEPC_KID_LEN + 1];
    hex_encode(blob + 64, TEPC_KID_LEN, kid);
    printf("wrote %s: %zu bytes, profile %s, sequence %" PRIu32 ", payload %zu bytes\nsigner key id %s\n",
           a->out, len, tepc_profile_params(params.profile)->name, params.sequence, payload_len, kid);
    return 0;
}

static int config_seal_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"in", required_argument, NULL, 'i'},      {"sign-key", required_argument, NULL, 's'},
        {"enc-key", required_argument, NULL, 'e'}, {"seq", required_argument, NULL, 'n'},
        {"profile", required_argument, NULL, 'p'}, {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},          {0},
    };
    struct seal_args a = {0};
    _cleanup_free_ char *err = NULL;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': a.in = optarg; break;
        case 's': a.sign_key = optarg; break;
        case 'e': a.enc_key = optarg; break;
        case 'n': a.seq = optarg; break;
        case 'p': a.profile = optarg; break;
        case 'o': a.out = optarg; break;
        case 'h': admin_command_help(&admin_config_seal); return ADMIN_EXIT_OK;
        default: return admin_usage_error(&admin_config_seal, NULL);
        }
    }
    if (optind != argc)
        return admin_usage_error(&admin_config_seal, "unexpected argument");
    if (!a.in || !a.sign_key || !a.enc_key || !a.seq || !a.out)
        return admin_usage_error(&admin_config_seal,
                                 "--in, --sign-key, --enc-key, --seq and -o are required");
    if (seal(&a, &err) < 0)
        return admin_error("config seal: %s", err ? err : "out of memory");
    return ADMIN_EXIT_OK;
}

const struct admin_command admin_config_seal = {
    .group = "config",
    .name = "seal",
    .usage = "--in DIR|FILE.tgz --sign-key KEY.pem --enc-key KEY.bin --seq N [--profile ptt|dtpm] -o FILE",
    .summary = "encrypt and sign a configuration into tep_user_config_data.bin",
    .help =
        "  --in DIR|FILE.tgz   a directory (archived in name order, owner 0:0, modes 0644/0755, mtime = the\n"
        "                      container's created time) or a ready gzip'ed tar\n"
        "  --sign-key KEY.pem  the owner's private signing key (keys gen: sign-key.pem)\n"
        "  --enc-key KEY.bin   the configuration AES key (keys gen: enc-key.bin)\n"
        "  --seq N             1..4294967295; devices apply only a sequence greater than the last applied\n"
        "  --profile ptt|dtpm  default: the signing key's curve; the AES key's size must match the profile\n"
        "  -o, --output FILE   the container, replaced atomically (mode 0644: it is encrypted and signed)\n"
        "\n"
        "AES-CTR with a random IV, then ECDSA over header and ciphertext (docs/tep-formats.md 2). The "
        "created\n"
        "time is SOURCE_DATE_EPOCH when set, else now. Key material comes only from files.\n",
    .run = config_seal_run,
};
