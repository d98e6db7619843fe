/* SPDX-License-Identifier: BSD-3-Clause */
/* The identity's subject: by default the SMBIOS product UUID as CN and the system serial number as
 * serialNumber (project-machine's peers name devices by both); otherwise one given in OpenSSL's one-line
 * form. The product UUID also goes into a SAN URI, where its length is no problem. */
#include "identity.h"

#include "cleanup.h"
#include "error.h"
#include "provision.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>

/* X.520 ub-serial-number */
#define SERIAL_MAX 64

static int name_add(X509_NAME *name, int nid, const char *value, char **ret_error)
{
    if (nid == NID_serialNumber && strlen(value) > SERIAL_MAX)
        return error_set(ret_error, -EINVAL,
                         "serialNumber \"%s\" has %zu characters; X.520 allows %d: give a shorter one with "
                         "--subject (a long product id belongs in the SAN)",
                         value, strlen(value), SERIAL_MAX);
    if (!X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0)) {
        ERR_clear_error();
        return error_set(ret_error, -EINVAL,
                         "%s \"%s\" is not a valid value for that attribute (too long, or characters its "
                         "string type cannot hold: serialNumber and countryName take only A-Z a-z 0-9 space "
                         "and '()+,-./:=?); correct it in --subject",
                         OBJ_nid2sn(nid), value);
    }
    return 0;
}

int identity_subject_default(const char *root, struct identity_subject *ret, char **ret_error)
{
    _cleanup_free_ char *serial = NULL, *error = NULL;
    memset(ret, 0, sizeof(*ret));
    int r = provision_hardware_uuid(root, ret->uuid, &error);
    if (r < 0)
        return error_set(ret_error, r, "%s; give the subject with --subject \"/CN=.../serialNumber=...\"",
                         error ? error : "out of memory");
    r = provision_hardware_serial(root, &serial, &error);
    if (r < 0)
        return error_set(ret_error, r, "%s; give the subject with --subject \"/CN=.../serialNumber=...\"",
                         error ? error : "out of memory");
    if (!*serial)
        return error_set(ret_error, -ENODATA,
                         "the firmware reports no system serial number (SMBIOS type 1); give the subject "
                         "with --subject \"/CN=%s/serialNumber=...\"",
                         ret->uuid);
    if (!(ret->name = X509_NAME_new()))
        return error_set(ret_error, -ENOMEM, "out of memory");
    r = name_add(ret->name, NID_commonName, ret->uuid, ret_error);
    if (r == 0)
        r = name_add(ret->name, NID_serialNumber, serial, ret_error);
    if (r < 0)
        identity_subject_clear(ret);
    return r;
}

/* One "type=value" of the one-line form (already split at '/'). */
static int subject_field(X509_NAME *name, char *field, char **ret_error)
{
    char *eq = strchr(field, '=');
    if (!eq || eq == field)
        return error_set(ret_error, -EINVAL,
                         "--subject: \"%s\" is not type=value; write it as \"/CN=.../serialNumber=...\"",
                         field);
    *eq = '\0';
    const char *value = eq + 1;
    int nid = OBJ_txt2nid(field);
    if (nid == NID_undef)
        return error_set(ret_error, -EINVAL,
                         "--subject: unknown attribute type \"%s\"; use short names such as CN, O, OU, C or "
                         "serialNumber",
                         field);
    if (!*value)
        return error_set(ret_error, -EINVAL, "--subject: %s has an empty value", field);
    return name_add(name, nid, value, ret_error);
}

int identity_subject_parse(const char *root, const char *text, struct identity_subject *ret, char **ret_error)
{
    memset(ret, 0, sizeof(*ret));
    if (!text || text[0] != '/' || !text[1])
        return error_set(ret_error, -EINVAL,
                         "--subject \"%s\" is not in OpenSSL's one-line form \"/CN=.../serialNumber=...\"",
                         text ? text : "");
    _cleanup_free_ char *copy = strdup(text + 1);
    if (!copy || !(ret->name = X509_NAME_new()))
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_ frees copy; clang-tidy 14 misses it */
        return error_set(ret_error, -ENOMEM, "out of memory");
    int r = 0;
    char *save = NULL;
    for (char *f = strtok_r(copy, "/", &save); f && r == 0; f = strtok_r(NULL, "/", &save))
        r = subject_field(ret->name, f, ret_error);
    if (r < 0) {
        identity_subject_clear(ret);
        return r;
    }
    /* the product UUID still names the device in the SAN when the firmware has one */
    if (provision_hardware_uuid(root, ret->uuid, NULL) < 0)
        ret->uuid[0] = '\0';
    return 0;
}

void identity_subject_clear(struct identity_subject *s)
{
    X509_NAME_free(s->name);
    memset(s, 0, sizeof(*s));
}

char *identity_name_text(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
        identity_bio_text(bio, &out, NULL) < 0)
        out = NULL;
    BIO_free(bio);
    return out;
}
