/* SPDX-License-Identifier: BSD-3-Clause */
/* Trusting AAS's JWT signing certificates: from /etc/trustagent/jwt, or fetched from AAS. Stricter than the
 * Go agent in one way: Go takes any CA certificate found in jwt/ without chain verification; here every
 * signer must chain to cacerts. */
#include "signing_certs.h"

#include "cleanup.h"
#include "cleanup_openssl.h"
#include "config.h"
#include "error.h"
#include "transport.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free)

static void certs_free(STACK_OF(X509) * certs)
{
    sk_X509_pop_free(certs, X509_free);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(STACK_OF(X509) *, certs_free)

int signing_keys_add(struct signing_keys *keys, struct signing_key *k)
{
    for (size_t i = 0; i < keys->n; i++)
        if (strcmp(keys->v[i].kid, k->kid) == 0) {
            EVP_PKEY_free(keys->v[i].key);
            keys->v[i] = *k;
            k->key = NULL;
            return 0;
        }
    struct signing_key *v = realloc(keys->v, (keys->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    keys->v = v;
    keys->v[keys->n++] = *k;
    k->key = NULL;
    return 0;
}

const struct signing_key *signing_keys_find(const struct signing_keys *keys, const char *kid)
{
    for (size_t i = 0; i < keys->n; i++)
        if (strcmp(keys->v[i].kid, kid) == 0)
            return &keys->v[i];
    return NULL;
}

void signing_keys_clear(struct signing_keys *keys)
{
    for (size_t i = 0; i < keys->n; i++)
        EVP_PKEY_free(keys->v[i].key);
    free(keys->v);
    *keys = (struct signing_keys){0};
}

static bool is_pem_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".pem") == 0;
}

/* Calls fn for each *.pem of dir with its path; stops at fn's first negative return. An absent dir is 0. */
static int pem_files_for_each(const char *dir, int (*fn)(const char *path, const char *name, void *ud),
                              void *ud)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOMEM ? -ENOMEM : 0;
    int r = 0;
    for (struct dirent *de; r >= 0 && (de = readdir(d));) {
        if (!is_pem_name(de->d_name))
            continue;
        _cleanup_free_ char *path = NULL;
        r = asprintf(&path, "%s/%s", dir, de->d_name) < 0 ? (path = NULL, -ENOMEM) : fn(path, de->d_name, ud);
    }
    closedir(d);
    return r;
}

static int anchor_file(const char *path, const char *name, void *ud)
{
    (void)name;
    X509_STORE *store = ud;
    /* a file without certificates adds none; X509_STORE_load_file fails on it, which is no error here */
    (void)X509_STORE_load_file(store, path);
    ERR_clear_error();
    return 0;
}

int signing_anchors_load(const char *ca_dir, X509_STORE **ret_store, size_t *ret_count)
{
    X509_STORE *store = X509_STORE_new();
    if (!store)
        return -ENOMEM;
    int r = pem_files_for_each(ca_dir, anchor_file, store);
    if (r < 0) {
        X509_STORE_free(store);
        return r;
    }
    /* every certificate of cacerts is an anchor, intermediates included, as in Go's x509.CertPool roots */
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    STACK_OF(X509) *objs = X509_STORE_get1_all_certs(store);
    *ret_count = objs ? (size_t)sk_X509_num(objs) : 0;
    certs_free(objs);
    *ret_store = store;
    return 0;
}

static int pem_certs(const void *pem, size_t len, STACK_OF(X509) * *ret_certs)
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(pem, (int)len);
    _cleanup_(certs_freep) STACK_OF(X509) *certs = sk_X509_new_null();
    if (!bio || !certs)
        return -ENOMEM;
    for (X509 *x; (x = PEM_read_bio_X509(bio, NULL, NULL, NULL));)
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            return -ENOMEM;
        }
    ERR_clear_error();
    if (sk_X509_num(certs) == 0)
        return -EBADMSG;
    *ret_certs = TAKE_PTR(certs);
    return 0;
}

/* chain: the certificates after the signer in its file, offered as intermediates (never as anchors). */
static int chain_verify(X509 *signer, STACK_OF(X509) * chain, X509_STORE *anchors, char **ret_error)
{
    _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx || !X509_STORE_CTX_init(ctx, anchors, signer, chain))
        return error_set(ret_error, -ENOMEM, "out of memory");
    int ok = X509_verify_cert(ctx);
    int err = X509_STORE_CTX_get_error(ctx);
    ERR_clear_error();
    if (ok == 1)
        return 0;
    return error_set(ret_error, -EPERM, "does not chain to a CA of %s: %s", TAGENT_CACERTS_DIR,
                     X509_verify_cert_error_string(err));
}

static int key_kind_check(EVP_PKEY *key, char **ret_error)
{
    if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "EC"))
        return 0;
    return error_set(ret_error, -EBADMSG, "has a %s key; AAS signs with RSA or EC keys",
                     EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown");
}

static int kid_of(X509 *x, char ret_kid[static JWT_KID_LEN + 1])
{
    unsigned char md[20];
    unsigned n = 0;
    if (X509_digest(x, EVP_sha1(), md, &n) != 1 || n != sizeof(md))
        return -ENOMEM;
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(ret_kid + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static time_t not_after_of(X509 *x)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
        return 0;
    return timegm(&tm);
}

static int validity_check(X509 *signer, char **ret_error)
{
    if (X509_cmp_current_time(X509_get0_notAfter(signer)) <= 0)
        return error_set(ret_error, -EPERM, "has expired (notAfter is past)");
    if (X509_cmp_current_time(X509_get0_notBefore(signer)) >= 0)
        return error_set(ret_error, -EPERM, "is not valid yet (notBefore is in the future)");
    return 0;
}

int signing_cert_trust(const void *pem, size_t len, X509_STORE *anchors, struct signing_key *ret,
                       STACK_OF(X509) * *ret_certs, char **ret_error)
{
    _cleanup_(certs_freep) STACK_OF(X509) *certs = NULL;
    int r = pem_certs(pem, len, &certs);
    if (r < 0)
        return r == -ENOMEM ? error_set(ret_error, r, "out of memory")
                            : error_set(ret_error, r, "holds no PEM certificate");
    X509 *signer = sk_X509_value(certs, 0);
    EVP_PKEY *key = X509_get_pubkey(signer);
    if (!key) {
        ERR_clear_error();
        return error_set(ret_error, -EBADMSG, "has a certificate whose public key cannot be read");
    }
    struct signing_key k = {.key = key, .not_after = not_after_of(signer)};
    if ((r = kid_of(signer, k.kid)) < 0) {
        EVP_PKEY_free(key);
        return error_set(ret_error, r, "out of memory");
    }
    r = key_kind_check(key, ret_error);
    if (r == 0)
        r = validity_check(signer, ret_error);
    if (r == 0) {
        STACK_OF(X509) *rest = sk_X509_dup(certs);
        if (rest)
            sk_X509_delete(rest, 0);
        r = rest ? chain_verify(signer, rest, anchors, ret_error)
                 : error_set(ret_error, -ENOMEM, "out of memory");
        sk_X509_free(rest);
    }
    if (r < 0) {
        EVP_PKEY_free(key);
        *ret = (struct signing_key){.not_after = k.not_after};
        memcpy(ret->kid, k.kid, sizeof(ret->kid)); /* which certificate was refused */
        return r;
    }
    *ret = k;
    if (ret_certs)
        *ret_certs = TAKE_PTR(certs);
    return 0;
}

int signing_skips_add(struct signing_skips *skips, const char *kid, const char *name, const char *why)
{
    struct signing_skip *v = realloc(skips->v, (skips->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    skips->v = v;
    struct signing_skip *s = &v[skips->n];
    memcpy(s->kid, kid, sizeof(s->kid));
    if (asprintf(&s->why, "%s %s", name, why) < 0)
        return -ENOMEM;
    skips->n++;
    return 0;
}

void signing_skips_clear(struct signing_skips *skips)
{
    for (size_t i = 0; i < skips->n; i++)
        free(skips->v[i].why);
    free(skips->v);
    *skips = (struct signing_skips){0};
}

struct dir_load {
    X509_STORE *anchors;
    struct signing_keys *keys;
    struct signing_skips *skips;
};

static int dir_file(const char *path, const char *name, void *ud)
{
    struct dir_load *dl = ud;
    _cleanup_free_ char *text = NULL, *why = NULL;
    size_t len = 0;
    int r = config_read_file(path, SIGNING_CERT_FILE_MAX, &text, &len);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        r = error_set(&why, r, "cannot be read: %s", strerror(-r));
    struct signing_key k = {0};
    if (r == 0)
        r = signing_cert_trust(text, len, dl->anchors, &k, NULL, &why);
    if (r == 0)
        r = signing_keys_add(dl->keys, &k);
    EVP_PKEY_free(k.key);
    if (r == -ENOMEM)
        return r;
    if (r < 0 && signing_skips_add(dl->skips, k.kid, name, why ? why : "cannot be read") < 0)
        return -ENOMEM;
    return 0;
}

int signing_keys_load_dir(const char *dir, X509_STORE *anchors, struct signing_keys *keys,
                          struct signing_skips *skips)
{
    struct dir_load dl = {.anchors = anchors, .keys = keys, .skips = skips};
    return pem_files_for_each(dir, dir_file, &dl);
}

#define FETCH_CONNECT_MS 10000
#define FETCH_TOTAL_MS   20000

int signing_cert_fetch(const char *aas_url, const char *ca_dir, char **ret_pem, size_t *ret_len,
                       char **ret_error)
{
    static const char *const headers[] = {"Accept: application/x-pem-file", NULL};
    _cleanup_free_ char *url = https_url_join(aas_url, "jwt-certificates");
    if (!url)
        return error_set(ret_error, -ENOMEM, "out of memory");
    struct https_options opts = {.ca_dir = ca_dir,
                                 .system_ca = true,
                                 .connect_timeout_ms = FETCH_CONNECT_MS,
                                 .timeout_ms = FETCH_TOTAL_MS,
                                 .max_body = SIGNING_CERT_FILE_MAX};
    struct https_response resp = {0};
    int r = https_request("GET", url, headers, NULL, 0, &opts, &resp, ret_error);
    if (r < 0)
        return r;
    if (resp.status != 200) {
        *ret_error = https_status_error("GET", url, &resp);
        https_response_free(&resp);
        return -EPROTO;
    }
    *ret_len = resp.body_len;
    *ret_pem = (char *)TAKE_PTR(resp.body);
    resp.body_len = 0;
    https_response_free(&resp);
    return 0;
}

int signing_cert_save(const char *dir, const char *kid, STACK_OF(X509) * certs, char **ret_error)
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    bool ok = bio != NULL;
    for (int i = 0; ok && i < sk_X509_num(certs); i++)
        ok = PEM_write_bio_X509(bio, sk_X509_value(certs, i)) == 1;
    char *pem = NULL; /* the BIO's memory */
    long len = ok ? BIO_get_mem_data(bio, &pem) : 0;
    _cleanup_free_ char *path = NULL;
    if (len <= 0 || asprintf(&path, "%s/%.9s.pem", dir, kid) < 0) {
        path = NULL;
        return error_set(ret_error, -ENOMEM, "out of memory");
    }
    int r = config_write_file_atomic(path, pem, (size_t)len, 0600);
    if (r < 0)
        return error_set(ret_error, r, "cannot write %s: %s", path, strerror(-r));
    return 0;
}
