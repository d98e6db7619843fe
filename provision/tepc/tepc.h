/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * provision/tepc/: the TEPC v1 configuration container (docs/tep-formats.md section 2) and its payload
 * archive, shared by tagent (device: parse, check, verify, extract) and tagent-admin (owner: build, seal,
 * inspect, open) so the two sides cannot drift. Pure: OpenSSL and libarchive, no TPM; nothing here prints.
 * Errors: a negative errno and *ret_error (heap, caller frees) naming the field or check that failed.
 */
#ifndef TAGENT_TEPC_H
#define TAGENT_TEPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define TEPC_MAGIC           "TEPC"
#define TEPC_VERSION         1
#define TEPC_HEADER_LEN      128
#define TEPC_MAX_PAYLOAD     ((uint64_t)64 << 20)
#define TEPC_MIN_SIG         8
#define TEPC_MAX_SIG         139
#define TEPC_MAX_FILE        (TEPC_HEADER_LEN + TEPC_MAX_PAYLOAD + 2 + TEPC_MAX_SIG)
#define TEPC_FLAG_TGZ        0x1u
#define TEPC_ENC_KEY_HANDLE  0x8100A000u
#define TEPC_IV_LEN          16
#define TEPC_IV_RANDOM_LEN   12
#define TEPC_KID_LEN         32
#define TEPC_ALG_AES         0x0006
#define TEPC_ALG_CTR         0x0040
#define TEPC_ALG_ECDSA       0x0018
#define TEPC_ALG_SHA256      0x000B
#define TEPC_ALG_SHA384      0x000C
#define TEPC_CURVE_NIST_P256 0x0003
#define TEPC_CURVE_NIST_P384 0x0004

/* ---- profiles (docs/tep-formats.md 1.1) ---- */

enum tepc_profile { TEPC_PROFILE_PTT, TEPC_PROFILE_DTPM };

struct tepc_profile_params {
    const char *name;      /* "ptt", "dtpm" */
    uint16_t enc_key_bits; /* 256, 128 */
    uint16_t sig_hash;     /* TEPC_ALG_SHA384, TEPC_ALG_SHA256 */
    uint16_t sig_curve;    /* TEPC_CURVE_NIST_P384, TEPC_CURVE_NIST_P256 */
    const char *curve_sn;  /* OpenSSL's group name: "secp384r1", "prime256v1" */
    const char *digest;    /* OpenSSL's digest name: "SHA384", "SHA256" */
    size_t spki_len;       /* DER SubjectPublicKeyInfo size: 120, 91 */
};

const struct tepc_profile_params *tepc_profile_params(enum tepc_profile profile);
/* "ptt" / "dtpm"; -EINVAL with a message listing both otherwise. */
int tepc_profile_from_name(const char *name, enum tepc_profile *ret_profile, char **ret_error);

/* ---- the container ---- */

struct tepc_header {
    uint16_t version, header_len;
    uint16_t enc_alg, enc_mode, enc_key_bits;
    uint16_t sig_alg, sig_hash, sig_curve;
    uint32_t flags, enc_key_handle, sequence;
    uint64_t payload_len, created;
    uint8_t iv[TEPC_IV_LEN];
    uint8_t signer_kid[TEPC_KID_LEN];
    uint8_t reserved[32];
};

/* A parsed container: views into the caller's buffer, which must outlive it. */
struct tepc_blob {
    struct tepc_header header;
    const uint8_t *signed_part; /* header || ciphertext: what the signature covers */
    size_t signed_len;
    const uint8_t *ciphertext;
    size_t ciphertext_len;
    const uint8_t *signature; /* DER ECDSA-Sig-Value */
    size_t signature_len;
};

/* The 128 header bytes of h (big-endian). */
void tepc_header_encode(const struct tepc_header *h, uint8_t out[TEPC_HEADER_LEN]);

/* Structure only, nothing cryptographic: magic, version, header_len, reserved zero, flags == TEPC_FLAG_TGZ,
 * payload_len within TEPC_MAX_PAYLOAD, and exactly 130 + payload_len + sig_len == len. The message names the
 * field and both values ("payload_len 4096 leaves 17 bytes for sig_len and a signature of 102"). */
int tepc_parse(const uint8_t *buf, size_t len, struct tepc_blob *ret_blob, char **ret_error);

/* Every algorithm field equals the profile's and enc_key_handle is TEPC_ENC_KEY_HANDLE. */
int tepc_check_profile(const struct tepc_header *h, enum tepc_profile profile, char **ret_error);

/* SHA-256 of a DER SubjectPublicKeyInfo: the signer key id. */
int tepc_key_id(const uint8_t *spki, size_t spki_len, uint8_t ret_kid[TEPC_KID_LEN]);

/* signer_kid == SHA-256(spki), the key is an EC key on the header's curve, then ECDSA verification of the
 * signature over signed_part with sig_hash. -EBADMSG (wrong key id, bad signature) with a message. */
int tepc_verify(const struct tepc_blob *blob, const uint8_t *spki, size_t spki_len, char **ret_error);

/* ---- owner side ---- */

struct tepc_seal_params {
    enum tepc_profile profile;
    uint32_t sequence;
    uint64_t created;         /* Unix seconds */
    const uint8_t *iv_random; /* TEPC_IV_RANDOM_LEN bytes, or NULL: from RAND_bytes */
};

/* The whole container of a payload (a .tgz): AES-CTR with aes_key (enc_key_bits/8 bytes), then ECDSA with
 * sign_key (the profile's curve). Caller frees *ret_blob. */
int tepc_seal(const uint8_t *payload, size_t payload_len, EVP_PKEY *sign_key, const uint8_t *aes_key,
              size_t aes_key_len, const struct tepc_seal_params *params, uint8_t **ret_blob, size_t *ret_len,
              char **ret_error);

/* Software AES-CTR decryption of a parsed container (tagent-admin config open; the device decrypts in the
 * TPM). Caller frees *ret_payload with OPENSSL_clear_free(p, len). */
int tepc_decrypt_soft(const struct tepc_blob *blob, const uint8_t *aes_key, size_t aes_key_len,
                      uint8_t **ret_payload, size_t *ret_len, char **ret_error);

/* ---- the payload archive (tepc_archive_extract.c, tepc_archive_create.c) ---- */

struct tepc_extract_limits {
    uint32_t max_entries; /* 1024 */
    uint64_t max_entry;   /* bytes of one file: 64 MiB */
    uint64_t max_total;   /* bytes of all files: 256 MiB */
};
#define TEPC_EXTRACT_LIMITS_DEFAULT                                                                          \
    ((struct tepc_extract_limits){                                                                           \
        .max_entries = 1024, .max_entry = (uint64_t)64 << 20, .max_total = (uint64_t)256 << 20})

/* Extracts a gzip'ed tar into the empty directory dirfd: regular files (0644, or 0755 when the archive says
 * executable) and directories (0755) only; a name that is absolute, has a ".." component or is empty, a
 * symlink, hard link, device, FIFO or socket, or any limit exceeded is -EPERM/-EFBIG with a message naming
 * the entry. Every file is fsynced. On failure dirfd may hold a partial tree: the caller removes it. */
int tepc_archive_extract(const uint8_t *tgz, size_t len, int dirfd, const struct tepc_extract_limits *limits,
                         char **ret_error);

/* A deterministic gzip'ed tar of a directory (name order, owner 0:0, mode 0644/0755, mtime = mtime): regular
 * files and directories only; anything else is an error naming it (-EPERM), as is a tree the device's default
 * limits would refuse (-EFBIG). The gzip header carries no timestamp. Caller frees *ret_tgz. */
int tepc_archive_create(const char *dir, uint64_t mtime, uint8_t **ret_tgz, size_t *ret_len,
                        char **ret_error);

#endif
