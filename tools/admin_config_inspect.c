/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-admin config inspect: the header of a container, and its signature with --pub-key. Never decrypts.
 */
#include "admin.h"
#include "cleanup_openssl.h"
#include "error.h"
#include "hex.h"
#include "tepc.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

/* inspect's exit codes: parsed (and the signature valid, with --pub-key); signature invalid; unreadable */
#define INSPECT_EXIT_INVALID 1
#define INSPECT_EXIT_PARSE   2

static const char *profile_name(const struct tepc_header *h)
{
    for (int p = TEPC_PROFILE_PTT; p <= TEPC_PROFILE_DTPM; p++)
        if (tepc_check_profile(h, (enum tepc_profile)p, NULL) == 0)
            return tepc_profile_params((enum tepc_profile)p)->name;
    return "none (the fields match neither ptt nor dtpm: devices refuse it)";
}

static void header_print(const struct tepc_blob *b)
{
    const struct tepc_header *h = &b->header;
    char iv[2 * TEPC_IV_LEN + 1], kid[2 * TEPC_KID_LEN + 1], when[32] = "?";
    time_t t = (time_t)h->created;
    struct tm tm;

    hex_encode(h->iv, TEPC_IV_LEN, iv);
    hex_encode(h->signer_kid, TEPC_KID_LEN, kid);
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("format:         TEPC version %u, header %u bytes\n", h->version, h->header_len);
    printf("profile:        %s\n", profile_name(h));
    printf("encryption:     enc_alg 0x%04x, enc_mode 0x%04x, enc_key_bits %u, enc_key_handle 0x%08x\n",
           h->enc_alg, h->enc_mode, h->enc_key_bits, h->enc_key_handle);
    printf("signature alg:  sig_alg 0x%04x, sig_hash 0x%04x, sig_curve 0x%04x\n", h->sig_alg, h->sig_hash,
           h->sig_curve);
    printf("flags:          0x%08x (gzip'ed tar)\n", h->flags);
    printf("sequence:       %" PRIu32 "\n", h->sequence);
    printf("created:        %s (%" PRIu64 ")\n", when, h->created);
    printf("payload:        %" PRIu64 " bytes (encrypted)\n", h->payload_len);
    printf("iv:             %s\n", iv);
    printf("signer key id:  %s\n", kid);
    printf("sig_len:        %zu bytes (DER ECDSA)\n", b->signature_len);
}

static int inspect(const char *path, const char *pub)
{
    _cleanup_openssl_free_ uint8_t *buf = NULL, *spki = NULL;
    _cleanup_free_ char *err = NULL;
    size_t len = 0, spki_len = 0;
    struct tepc_blob b;

    if (admin_file_read(path, TEPC_MAX_FILE, &buf, &len, &err) < 0 || tepc_parse(buf, len, &b, &err) < 0) {
        admin_error("config inspect: %s: %s", path, err ? err : "out of memory");
        return INSPECT_EXIT_PARSE;
    }
    header_print(&b);
    if (!pub)
        return ADMIN_EXIT_OK;
    if (admin_public_key_load(pub, &spki, &spki_len, &err) < 0) {
        admin_error("config inspect: %s", err ? err : "out of memory");
        return ADMIN_EXIT_ERROR;
    }
    if (tepc_verify(&b, spki, spki_len, &err) < 0) {
        printf("signature:      INVALID: %s\n", err ? err : "out of memory");
        return INSPECT_EXIT_INVALID;
    }
    printf("signature:      valid (%s)\n", pub);
    return ADMIN_EXIT_OK;
}

static int config_inspect_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pub-key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *pub = NULL;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'k')
            pub = optarg;
        else if (c == 'h') {
            admin_command_help(&admin_config_inspect);
            return ADMIN_EXIT_OK;
        } else
            return admin_usage_error(&admin_config_inspect, NULL);
    }
    if (optind + 1 != argc)
        return admin_usage_error(&admin_config_inspect, "give exactly one FILE");
    return inspect(argv[optind], pub);
}

const struct admin_command admin_config_inspect = {
    .group = "config",
    .name = "inspect",
    .usage = "FILE [--pub-key PUB.pem]",
    .summary = "show a container's header and check its signature; never decrypts",
    .help =
        "  --pub-key PUB.pem   the owner's public key (keys gen: sign-key.pub.pem): check signer key id and\n"
        "                      ECDSA signature\n"
        "\n"
        "Exit status: 0 parsed (and, with --pub-key, the signature is valid); 1 the signature is invalid or\n"
        "for another key (or PUB.pem cannot be read); 2 FILE cannot be read or is not a TEPC v1 container,\n"
        "or the command line is wrong.\n",
    .run = config_inspect_run,
};
