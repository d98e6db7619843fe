/* SPDX-License-Identifier: BSD-3-Clause */
/* The identity key as an EVP_PKEY held by OpenSSL's tpm2 provider (Debian: tpm2-openssl), in a library
 * context of its own, so that nothing else of the process routes through the TPM. */
#include "identity.h"

#include "error.h"
#include "quote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

/* The provider reads its TCTI from this variable only (no parameter in tpm2-openssl 1.1). */
#define PROVIDER_TCTI_ENV "TPM2OPENSSL_TCTI"

/* The first line of OpenSSL's error queue, for a message's tail; the queue is cleared. */
static void openssl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, size);
    else
        snprintf(buf, size, "no OpenSSL error recorded");
    ERR_clear_error();
}

static int providers_load(const char *tcti, struct identity_key *k, char **ret_error)
{
    char why[256];
    if (setenv(PROVIDER_TCTI_ENV, tcti, 1) < 0)
        return error_set(ret_error, -errno, "setting %s: %m", PROVIDER_TCTI_ENV);
    if (!(k->libctx = OSSL_LIB_CTX_new()))
        return error_set(ret_error, -ENOMEM, "out of memory");
    k->tpm2 = OSSL_PROVIDER_load(k->libctx, "tpm2");
    if (!k->tpm2) {
        openssl_reason(why, sizeof(why));
        return error_set(ret_error, -ENOPKG,
                         "OpenSSL's tpm2 provider does not load (%s); install it (Debian: tpm2-openssl), "
                         "and check that the TPM answers at %s",
                         why, tcti);
    }
    if (!(k->dflt = OSSL_PROVIDER_load(k->libctx, "default"))) {
        openssl_reason(why, sizeof(why));
        return error_set(ret_error, -ENOPKG, "OpenSSL's default provider does not load: %s", why);
    }
    return 0;
}

static int key_load(uint32_t handle, struct identity_key *k, char **ret_error)
{
    char uri[32], why[256];
    snprintf(uri, sizeof(uri), "handle:0x%08x", handle);
    OSSL_STORE_CTX *store = OSSL_STORE_open_ex(uri, k->libctx, IDENTITY_PROPQ, NULL, NULL, NULL, NULL, NULL);
    while (store && !k->pkey && !OSSL_STORE_eof(store)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(store);
        if (info && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            k->pkey = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
        if (!info)
            break;
    }
    OSSL_STORE_close(store);
    if (!k->pkey) {
        openssl_reason(why, sizeof(why));
        return error_set(
            ret_error, -ENOENT,
            "the tpm2 provider cannot use the key at 0x%08x (%s); create it with `tagent identity "
            "csr` or `tagent identity self-provision`",
            handle, why);
    }
    int bits = EVP_PKEY_get_bits(k->pkey);
    if (!EVP_PKEY_is_a(k->pkey, "EC") || (bits != 256 && bits != 384))
        return error_set(ret_error, -EMEDIUMTYPE, "the key at 0x%08x is not ECC P-256 or P-384 for OpenSSL",
                         handle);
    k->digest = bits == 384 ? "SHA384" : "SHA256";
    return 0;
}

int identity_key_open(const char *tcti, uint32_t handle, struct identity_key *ret_key, char **ret_error)
{
    struct identity_key k = {0};
    if (!tcti && !(tcti = getenv("TAGENT_TCTI")))
        tcti = TPM_DEFAULT_TCTI;
    int r = providers_load(tcti, &k, ret_error);
    if (r == 0)
        r = key_load(handle, &k, ret_error);
    if (r < 0) {
        identity_key_close(&k);
        return r;
    }
    *ret_key = k;
    return 0;
}

void identity_key_close(struct identity_key *k)
{
    EVP_PKEY_free(k->pkey);
    /* the provider closes its TPM connection when unloaded */
    if (k->tpm2)
        OSSL_PROVIDER_unload(k->tpm2);
    if (k->dflt)
        OSSL_PROVIDER_unload(k->dflt);
    OSSL_LIB_CTX_free(k->libctx);
    memset(k, 0, sizeof(*k));
}
