/* SPDX-License-Identifier: BSD-3-Clause */
/* The root-only TEP state files (docs/tep-formats.md section 4) under a root prefix: provision/'s, and the
 * directory helpers identity/ uses for /etc/tep/identity. */
#ifndef TAGENT_TEP_FILES_H
#define TAGENT_TEP_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "quote.h"

/* <root>/etc (0755 when created) and <root>/etc/tep, 0700 (an existing one is set to 0700; a symlink or
 * anything but a directory there is refused). */
int tep_state_dir_ensure(const char *root, char **ret_error);
/* <root><abs>, a directory directly in /etc/tep (e.g. /etc/tep/identity), 0755 like /etc/tep, which is
 * ensured first; a symlink or anything but a directory there is refused. */
int tep_subdir_ensure(const char *root, const char *abs, char **ret_error);

/* <root>/etc/tep/srk.name: the SRK's Name in lower-case hex and a newline, written atomically, 0600. */
int tep_srk_name_store(const char *root, const uint8_t *name, size_t len, char **ret_error);
int tep_srk_name_load(const char *root, uint8_t ret_name[TPM_NAME_MAX], size_t *ret_len, char **ret_error);

/* <root>/etc/tep/enc-key.auth: the AES key's 32-byte authValue, raw, written atomically, 0600. Loading reads
 * straight into ret_auth (no other copy); the caller wipes it with tpm_auth_clear(). */
#define TEP_ENC_AUTH_LEN 32
int tep_enc_auth_store(const char *root, const struct tpm_auth *auth, char **ret_error);
int tep_enc_auth_load(const char *root, struct tpm_auth *ret_auth, char **ret_error);

#endif
