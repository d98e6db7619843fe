/* SPDX-License-Identifier: BSD-3-Clause */
/* The TEPC v1 layout (docs/tep-formats.md 2): header encoding and the structural parse. */
#include "tepc.h"
#include "tepc_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* Field offsets of docs/tep-formats.md 2. */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_HEADER_LEN = 6,
    OFF_ENC_ALG = 8,
    OFF_ENC_MODE = 10,
    OFF_ENC_KEY_BITS = 12,
    OFF_SIG_ALG = 14,
    OFF_SIG_HASH = 16,
    OFF_SIG_CURVE = 18,
    OFF_FLAGS = 20,
    OFF_ENC_KEY_HANDLE = 24,
    OFF_SEQUENCE = 28,
    OFF_PAYLOAD_LEN = 32,
    OFF_CREATED = 40,
    OFF_IV = 48,
    OFF_SIGNER_KID = 64,
    OFF_RESERVED = 96,
};

/* The smallest file: a header, an empty ciphertext and the 2-byte sig_len. */
#define TEPC_MIN_FILE (TEPC_HEADER_LEN + 2)

void tepc_header_encode(const struct tepc_header *h, uint8_t out[TEPC_HEADER_LEN])
{
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): the 4 magic bytes, no string */
    memcpy(out + OFF_MAGIC, TEPC_MAGIC, 4);
    tepc_put16(out + OFF_VERSION, h->version);
    tepc_put16(out + OFF_HEADER_LEN, h->header_len);
    tepc_put16(out + OFF_ENC_ALG, h->enc_alg);
    tepc_put16(out + OFF_ENC_MODE, h->enc_mode);
    tepc_put16(out + OFF_ENC_KEY_BITS, h->enc_key_bits);
    tepc_put16(out + OFF_SIG_ALG, h->sig_alg);
    tepc_put16(out + OFF_SIG_HASH, h->sig_hash);
    tepc_put16(out + OFF_SIG_CURVE, h->sig_curve);
    tepc_put32(out + OFF_FLAGS, h->flags);
    tepc_put32(out + OFF_ENC_KEY_HANDLE, h->enc_key_handle);
    tepc_put32(out + OFF_SEQUENCE, h->sequence);
    tepc_put64(out + OFF_PAYLOAD_LEN, h->payload_len);
    tepc_put64(out + OFF_CREATED, h->created);
    memcpy(out + OFF_IV, h->iv, TEPC_IV_LEN);
    memcpy(out + OFF_SIGNER_KID, h->signer_kid, TEPC_KID_LEN);
    memcpy(out + OFF_RESERVED, h->reserved, sizeof(h->reserved));
}

static void header_decode(const uint8_t *in, struct tepc_header *h)
{
    h->version = tepc_be16(in + OFF_VERSION);
    h->header_len = tepc_be16(in + OFF_HEADER_LEN);
    h->enc_alg = tepc_be16(in + OFF_ENC_ALG);
    h->enc_mode = tepc_be16(in + OFF_ENC_MODE);
    h->enc_key_bits = tepc_be16(in + OFF_ENC_KEY_BITS);
    h->sig_alg = tepc_be16(in + OFF_SIG_ALG);
    h->sig_hash = tepc_be16(in + OFF_SIG_HASH);
    h->sig_curve = tepc_be16(in + OFF_SIG_CURVE);
    h->flags = tepc_be32(in + OFF_FLAGS);
    h->enc_key_handle = tepc_be32(in + OFF_ENC_KEY_HANDLE);
    h->sequence = tepc_be32(in + OFF_SEQUENCE);
    h->payload_len = tepc_be64(in + OFF_PAYLOAD_LEN);
    h->created = tepc_be64(in + OFF_CREATED);
    memcpy(h->iv, in + OFF_IV, TEPC_IV_LEN);
    memcpy(h->signer_kid, in + OFF_SIGNER_KID, TEPC_KID_LEN);
    memcpy(h->reserved, in + OFF_RESERVED, sizeof(h->reserved));
}

/* The fixed fields of version 1: magic, version, header_len, flags, reserved. */
static int header_check(const uint8_t *in, const struct tepc_header *h, char **ret_error)
{
    if (memcmp(in + OFF_MAGIC, TEPC_MAGIC, 4) != 0)
        return error_set(ret_error, -EBADMSG,
                         "magic is %02x %02x %02x %02x, a TEPC container starts with \"TEPC\" (54 45 50 43)",
                         in[0], in[1], in[2], in[3]);
    if (h->version != TEPC_VERSION)
        return error_set(ret_error, -EBADMSG, "version is %u, this build reads version %u", h->version,
                         TEPC_VERSION);
    if (h->header_len != TEPC_HEADER_LEN)
        return error_set(ret_error, -EBADMSG, "header_len is %u, version 1 has %u", h->header_len,
                         TEPC_HEADER_LEN);
    /* version 1's payload is always a gzip'ed tar (docs/tep-formats.md 2.1): the bit must be set, no other */
    if (h->flags != TEPC_FLAG_TGZ)
        return error_set(ret_error, -EBADMSG,
                         "flags is 0x%08x, version 1 needs 0x%08x (bit 0: gzip'ed tar; every other bit 0)",
                         h->flags, TEPC_FLAG_TGZ);
    for (size_t i = 0; i < sizeof(h->reserved); i++)
        if (h->reserved[i] != 0)
            return error_set(ret_error, -EBADMSG, "reserved byte %zu (offset %zu) is 0x%02x, must be 0", i,
                             OFF_RESERVED + i, h->reserved[i]);
    return 0;
}

/* payload_len and sig_len against the file's length: exactly 130 + payload_len + sig_len bytes. */
static int lengths_check(const uint8_t *buf, size_t len, const struct tepc_header *h, uint16_t *ret_sig_len,
                         char **ret_error)
{
    if (h->payload_len > TEPC_MAX_PAYLOAD)
        return error_set(ret_error, -EBADMSG, "payload_len is %" PRIu64 ", at most %" PRIu64 " is accepted",
                         h->payload_len, TEPC_MAX_PAYLOAD);
    if (h->payload_len > len - TEPC_MIN_FILE)
        return error_set(ret_error, -EBADMSG,
                         "payload_len %" PRIu64 " needs at least %" PRIu64 " bytes, the file has %zu",
                         h->payload_len, h->payload_len + TEPC_MIN_FILE, len);
    size_t rest = len - TEPC_MIN_FILE - (size_t)h->payload_len;
    uint16_t sig_len = tepc_be16(buf + TEPC_HEADER_LEN + h->payload_len);
    if (sig_len < TEPC_MIN_SIG || sig_len > TEPC_MAX_SIG)
        return error_set(ret_error, -EBADMSG, "sig_len is %u, a DER ECDSA signature has %d to %d bytes",
                         sig_len, TEPC_MIN_SIG, TEPC_MAX_SIG);
    if (sig_len != rest)
        return error_set(ret_error, -EBADMSG,
                         "payload_len %" PRIu64 " leaves %zu bytes for the signature, sig_len says %u",
                         h->payload_len, rest, sig_len);
    *ret_sig_len = sig_len;
    return 0;
}

int tepc_parse(const uint8_t *buf, size_t len, struct tepc_blob *ret_blob, char **ret_error)
{
    struct tepc_header h;
    uint16_t sig_len = 0;
    int r;

    if (!buf || len < TEPC_MIN_FILE)
        return error_set(ret_error, -EBADMSG,
                         "the file has %zu bytes, a container has at least %d (header and sig_len)", len,
                         TEPC_MIN_FILE);
    header_decode(buf, &h);
    if ((r = header_check(buf, &h, ret_error)) < 0 ||
        (r = lengths_check(buf, len, &h, &sig_len, ret_error)) < 0)
        return r;
    *ret_blob = (struct tepc_blob){
        .header = h,
        .signed_part = buf,
        .signed_len = TEPC_HEADER_LEN + (size_t)h.payload_len,
        .ciphertext = buf + TEPC_HEADER_LEN,
        .ciphertext_len = (size_t)h.payload_len,
        .signature = buf + TEPC_MIN_FILE + (size_t)h.payload_len,
        .signature_len = sig_len,
    };
    return 0;
}
