/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-admin: the owner's side of docs/tep-formats.md. One file per command group fills table entries. */
#ifndef TAGENT_ADMIN_H
#define TAGENT_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/evp.h>

/* Exit codes; `config inspect` documents its own (0 valid or parsed, 1 invalid signature, 2 parse error). */
#define ADMIN_EXIT_OK    0
#define ADMIN_EXIT_ERROR 1
#define ADMIN_EXIT_USAGE 2

struct admin_command {
    const char *group; /* "keys", "config", "luks", "pki" */
    const char *name;  /* "gen", "seal", ... */
    const char *usage; /* the arguments after "tagent-admin GROUP NAME" */
    const char *summary;
    const char *help;                  /* options and what the command does, printed by --help */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

extern const struct admin_command admin_keys_gen, admin_config_seal, admin_config_inspect, admin_config_open,
    admin_luks_policy, admin_luks_config, admin_pki_init, admin_pki_sign_csr, admin_pki_show;

/* Prints "tagent-admin: " and the message to stderr; returns ADMIN_EXIT_ERROR. */
int admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The usage line and "try --help" for cmd, to stderr; returns ADMIN_EXIT_USAGE. */
int admin_usage_error(const struct admin_command *cmd, const char *what);
/* --help of one command, to stdout. */
void admin_command_help(const struct admin_command *cmd);

/* ---- files (admin_files.c) ---- */

/* Reads a regular file of at most max bytes. Secrets: free with OPENSSL_clear_free(buf, len). */
int admin_file_read(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len, char **ret_error);
/* The file (at most max bytes) in a memory BIO whose buffer is wiped when freed (BIO_free). */
int admin_file_bio(const char *path, size_t max, BIO **ret_bio, char **ret_error);
/* Creates path with mode (O_EXCL: never replaces anything, never follows a link), writes, fsyncs. */
int admin_file_create(const char *path, const void *data, size_t len, int mode, char **ret_error);
/* Replaces path atomically: a temporary file beside it, fsync, rename, fsync of the directory. */
int admin_file_replace(const char *path, const void *data, size_t len, int mode, char **ret_error);
/* As admin_file_replace, with the mode set explicitly (no umask), but never replaces: EEXIST when path
 * exists. */
int admin_file_install_new(const char *path, const void *data, size_t len, int mode, char **ret_error);

/* ---- keys (admin_keys_load.c) ---- */

/* The reason of OpenSSL's last error, or fallback when its queue is empty. */
const char *admin_openssl_reason(const char *fallback);

/* A PEM private key (PKCS#8 or SEC1; an encrypted one asks for its pass phrase on the terminal). which ends
 * the hint of a key that cannot be read: "use WHICH" (the file that should have been given). */
int admin_private_key_load(const char *path, const char *which, EVP_PKEY **ret_key, char **ret_error);
#define ADMIN_SIGN_KEY_HINT "the sign-key.pem that `tagent-admin keys gen` wrote"
/* A PEM public key (SubjectPublicKeyInfo) as DER. Caller frees *ret_spki with OPENSSL_free. */
int admin_public_key_load(const char *path, uint8_t **ret_spki, size_t *ret_len, char **ret_error);
/* The raw AES key file: exactly 16 or 32 bytes. Caller frees with OPENSSL_clear_free(key, len). */
int admin_aes_key_load(const char *path, uint8_t **ret_key, size_t *ret_len, char **ret_error);
/* The profile whose curve the EC key is on. */
int admin_key_profile(EVP_PKEY *key, int *ret_profile, char **ret_error);

#endif
