/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-admin pki init: a development PKI shaped like trust|me's (docs/dev-pki.md): a software-signing root
 * and sub CA; a general root with a GuestOS-signing and a Device sub CA. */
#include "admin.h"
#include "admin_pki.h"
#include "cleanup.h"
#include "cleanup_openssl.h"
#include "error.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define WARNING_TEXT                                                                                         \
    "DEVELOPMENT KEYS ON DISK: these private keys are unencrypted files; do not use them for\n"              \
    "production devices. Whoever can read this directory can sign software, GuestOS images and\n"            \
    "device certificates that every device trusting these roots accepts. For production, keep the\n"         \
    "CA keys offline or in an HSM and make the CAs with your own PKI tooling.\n"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_NAME *, X509_NAME_free)

#define BANNER "*****************************************************************************************\n"

/* X.520's upper bound for an organizationName. */
#define ORG_MAX 64

/* Every file of the layout; init refuses when any exists, and removes what it wrote when it fails. */
struct pki_files {
    char *paths[2 * PKI_CA_COUNT + 2];
    bool created[2 * PKI_CA_COUNT + 2];
    size_t n;
};

static void pki_files_done(struct pki_files *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->paths[i]);
}

static int files_plan(const char *dir, struct pki_files *f, char **ret_error)
{
    for (int ca = 0; ca < PKI_CA_COUNT; ca++) {
        f->paths[f->n++] = pki_path(dir, pki_cas[ca].stem, "key");
        f->paths[f->n++] = pki_path(dir, pki_cas[ca].stem, "pem");
    }
    f->paths[f->n++] = pki_path(dir, PKI_CHAIN_FILE, NULL);
    f->paths[f->n++] = pki_path(dir, PKI_README_FILE, NULL);
    for (size_t i = 0; i < f->n; i++)
        if (!f->paths[i])
            return error_set(ret_error, -ENOMEM, "out of memory");
    return 0;
}

/* DIR is created 0700; an existing one may hold other things, but none of our files: a key is never
 * replaced. */
static int dir_ready(const char *dir, const struct pki_files *f, char **ret_error)
{
    struct stat st;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return error_set(ret_error, -errno, "cannot create %s: %s", dir, strerror(errno));
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return error_set(ret_error, -ENOTDIR, "%s exists and is not a directory; choose another DIR", dir);
    for (size_t i = 0; i < f->n; i++)
        if (lstat(f->paths[i], &st) == 0)
            return error_set(ret_error, -EEXIST,
                             "%s exists; refusing to overwrite a PKI file (choose another DIR, or move the "
                             "old PKI away first)",
                             f->paths[i]);
    return 0;
}

/* i: the index in f of the file, which is marked created when written. */
static int file_write(struct pki_files *f, size_t i, const void *data, size_t len, int mode, char **ret_error)
{
    /* keys: created with their mode (O_EXCL); the rest: mode set explicitly, never replacing anything */
    int r = mode == 0600 ? admin_file_create(f->paths[i], data, len, mode, ret_error)
                         : admin_file_install_new(f->paths[i], data, len, mode, ret_error);
    if (r >= 0)
        f->created[i] = true;
    return r;
}

static int key_write(struct pki_files *f, size_t i, EVP_PKEY *key, char **ret_error)
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem()); /* BUF_MEM_free wipes the buffer */
    char *data = NULL;
    if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
        return error_set(ret_error, -ENOMEM, "cannot encode a private key as PEM (out of memory)");
    size_t len = (size_t)BIO_get_mem_data(bio, &data);
    return file_write(f, i, data, len, 0600, ret_error);
}

static int cert_write(struct pki_files *f, size_t i, X509 *const *certs, size_t n, char **ret_error)
{
    _cleanup_free_ char *pem = NULL;
    size_t len = 0;
    int r;
    for (size_t k = 0; k < n; k++)
        if ((r = pki_cert_pem_append(certs[k], &pem, &len, ret_error)) < 0)
            return r;
    return file_write(f, i, pem, len, 0644, ret_error);
}

static int name_make(const char *org, const char *cn, X509_NAME **ret_name, char **ret_error)
{
    _cleanup_(X509_NAME_freep) X509_NAME *name = X509_NAME_new();
    if (!name ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
        return error_set(ret_error, -EINVAL, "cannot make the subject O=%s, CN=%s", org, cn);
    *ret_name = TAKE_PTR(name);
    return 0;
}

/* One CA: its key, its certificate signed by its issuer (already made: pki_cas is in issuing order). */
static int ca_make(enum pki_ca ca, const char *org, X509 **certs, EVP_PKEY **keys, char **ret_error)
{
    const struct pki_ca_info *info = &pki_cas[ca];
    bool root = info->issuer == ca;
    _cleanup_(X509_NAME_freep) X509_NAME *name = NULL;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_EC_gen("P-384");
    _cleanup_(X509_freep) X509 *cert = NULL;
    int r;

    if (!key)
        return error_set(ret_error, -EIO, "cannot generate a P-384 key for the %s", info->cn);
    X509 *issuer = root ? NULL : certs[info->issuer];
    time_t not_after = time(NULL) + (time_t)info->days * 86400;
    if ((r = name_make(org, info->cn, &name, ret_error)) < 0 ||
        (r = pki_cert_new(name, key, issuer, not_after, &cert, ret_error)) < 0 ||
        (r = pki_ext_add(cert, issuer, NID_basic_constraints,
                         root ? "critical,CA:TRUE" : "critical,CA:TRUE,pathlen:0", ret_error)) < 0 ||
        (r = pki_ext_add(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign", ret_error)) < 0 ||
        (r = pki_ext_add(cert, issuer, NID_subject_key_identifier, "hash", ret_error)) < 0 ||
        (!root &&
         (r = pki_ext_add(cert, issuer, NID_authority_key_identifier, "keyid:always", ret_error)) < 0) ||
        (r = pki_cert_sign(cert, root ? key : keys[info->issuer], ret_error)) < 0)
        return r;
    certs[ca] = TAKE_PTR(cert);
    keys[ca] = TAKE_PTR(key);
    return 0;
}

static const char readme[] = PKI_README_MAGIC
    ", made by `tagent-admin pki init` (docs/dev-pki.md)\n\n" WARNING_TEXT
    "\nssig-root.key/.pem      Software Signing Root CA (self-signed)\n"
    "ssig-subca.key/.pem     Software Signing Sub CA (issued by the software signing root)\n"
    "gen-root.key/.pem       General Root CA (self-signed)\n"
    "guestos-subca.key/.pem  GuestOS Signing Sub CA (issued by the general root)\n"
    "device-subca.key/.pem   Device Sub CA (issued by the general root)\n"
    "device-ca-chain.pem     Device Sub CA + General Root CA: a device's trust anchor file\n"
    "\n*.key: PKCS#8 PEM, unencrypted, 0600. *.pem: certificates, 0644.\n"
    "Sign a device certificate: tagent-admin pki sign-csr --pki DIR --ca device CSR -o OUT\n";

static int pki_make(const char *org, struct pki_files *f, char **ret_error)
{
    X509 *certs[PKI_CA_COUNT] = {0};
    EVP_PKEY *keys[PKI_CA_COUNT] = {0};
    int r = 0;

    for (int ca = 0; r >= 0 && ca < PKI_CA_COUNT; ca++)
        if ((r = ca_make((enum pki_ca)ca, org, certs, keys, ret_error)) >= 0 &&
            (r = key_write(f, 2 * (size_t)ca, keys[ca], ret_error)) >= 0)
            r = cert_write(f, 2 * (size_t)ca + 1, &certs[ca], 1, ret_error);
    /* what a device gets for `tagent identity install --ca`: its issuer first, then the root */
    X509 *chain[] = {certs[PKI_DEVICE_SUBCA], certs[PKI_GEN_ROOT]};
    if (r >= 0)
        r = cert_write(f, 2 * PKI_CA_COUNT, chain, 2, ret_error);
    /* last: README.txt marks the directory as a complete PKI for the other commands (pki_dir_check) */
    if (r >= 0)
        r = file_write(f, 2 * PKI_CA_COUNT + 1, readme, strlen(readme), 0644, ret_error);
    for (int ca = 0; ca < PKI_CA_COUNT; ca++) {
        X509_free(certs[ca]);
        EVP_PKEY_free(keys[ca]);
    }
    return r;
}

static int pki_init(const char *dir, const char *org, char **ret_error)
{
    struct pki_files f = {0};
    int r;

    if ((r = files_plan(dir, &f, ret_error)) >= 0 && (r = dir_ready(dir, &f, ret_error)) >= 0 &&
        (r = pki_make(org, &f, ret_error)) < 0)
        /* no half PKI left behind: remove what this run wrote */
        for (size_t i = 0; i < f.n; i++)
            if (f.created[i])
                unlink(f.paths[i]);
    pki_files_done(&f);
    return r;
}

static int pki_init_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"org", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *org = PKI_DEFAULT_ORG;
    _cleanup_free_ char *err = NULL;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'O')
            org = optarg;
        else if (c == 'h') {
            admin_command_help(&admin_pki_init);
            return ADMIN_EXIT_OK;
        } else
            return admin_usage_error(&admin_pki_init, NULL);
    }
    if (optind == argc)
        return admin_usage_error(&admin_pki_init, "the directory DIR is required");
    if (optind + 1 != argc)
        return admin_usage_error(&admin_pki_init, "unexpected argument after DIR");
    if (!org[0] || strlen(org) > ORG_MAX)
        return admin_usage_error(&admin_pki_init, "--org takes 1 to 64 characters (X.520 organizationName)");
    const char *dir = argv[optind];
    if (pki_init(dir, org, &err) < 0)
        return admin_error("pki init: %s", err ? err : "out of memory");
    for (int ca = 0; ca < PKI_CA_COUNT; ca++)
        printf("wrote %s/%s.key (0600) and %s.pem: %s\n", dir, pki_cas[ca].stem, pki_cas[ca].stem,
               pki_cas[ca].cn);
    printf("wrote %s/%s (Device Sub CA + General Root CA: `tagent identity install --ca` on a device)\n", dir,
           PKI_CHAIN_FILE);
    printf("wrote %s/%s\n", dir, PKI_README_FILE);
    fflush(stdout); /* the warning comes last, where it is seen */
    fputs("\n" BANNER WARNING_TEXT BANNER, stderr);
    return ADMIN_EXIT_OK;
}

const struct admin_command admin_pki_init = {
    .group = "pki",
    .name = "init",
    .usage = "[--org ORG] DIR",
    .summary = "make a development PKI: software-signing, general, GuestOS and Device CAs",
    .help = "  --org ORG  the O= of every CA subject (default \"" PKI_DEFAULT_ORG "\")\n"
            "  DIR        where to write (created 0700 when absent); refuses when any file of the layout\n"
            "             exists there, so a key is never replaced\n"
            "\n"
            "Makes five CAs, each an ECDSA P-384 key and a certificate signed with ECDSA-SHA384:\n"
            "  ssig-root      Software Signing Root CA (10 years)\n"
            "  ssig-subca     Software Signing Sub CA, issued by ssig-root (5 years)\n"
            "  gen-root       General Root CA (10 years)\n"
            "  guestos-subca  GuestOS Signing Sub CA, issued by gen-root (5 years)\n"
            "  device-subca   Device Sub CA, issued by gen-root (5 years)\n"
            "as DIR/STEM.key (PKCS#8 PEM, unencrypted, 0600) and DIR/STEM.pem (0644), plus\n"
            "DIR/" PKI_CHAIN_FILE
            " (device-subca + gen-root: a device's trust anchors) and DIR/" PKI_README_FILE ".\n"
            "The keys are development keys on disk: not for production devices. docs/dev-pki.md has the\n"
            "details; the other pki commands take --pki DIR.\n",
    .run = pki_init_run,
};
