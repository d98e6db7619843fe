/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer: the Bearer JWT path of HTTP mode (agent/auth/) fed an Authorization header value. Properties:
 * no crash, no leak, every refusal is 401 with a reason, and no reason ever quotes the token (any 12-byte or
 * longer run of it between dots). A token that parses is also put through the signature check against fixed
 * RSA and P-384 keys, the time check and the permission rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "jwt.h"
#include "token_auth.h"

static struct token_auth *auth;
static EVP_PKEY *rsa, *ec;

static void init(void)
{
    /* an empty root: no signing certificate, no AAS to ask; every token ends refused, after full parsing */
    static char root[] = "/tmp/fuzz_jwt.XXXXXX";
    char *error = NULL;
    if (!mkdtemp(root) || token_auth_new(root, NULL, &auth, &error) < 0)
        abort();
    rsa = EVP_RSA_gen(2048);
    ec = EVP_EC_gen("P-384");
    if (!rsa || !ec)
        abort();
}

/* True when reason holds a run of 12 or more bytes of token lying between dots (or the ends). */
static int quotes(const char *reason, const char *token)
{
    for (const char *p = token; *p;) {
        size_t n = strcspn(p, ". \t");
        if (n >= 12 && memmem(reason, strlen(reason), p, n))
            return 1;
        p += n + (p[n] != '\0');
    }
    return 0;
}

static void parse_and_check(const char *token)
{
    struct jwt t;
    char *why = NULL;
    if (jwt_parse(token, &t, &why) < 0) {
        if (!why || quotes(why, token))
            abort();
        free(why);
        return;
    }
    EVP_PKEY *keys[] = {rsa, ec};
    for (size_t i = 0; i < 2; i++) {
        if (jwt_verify_signature(&t, keys[i], &why) == 0) /* nobody signed these with our keys */
            abort();
        if (!why || quotes(why, token))
            abort();
        free(why);
        why = NULL;
    }
    if (jwt_check_time(&t, time(NULL), &why) < 0 && (!why || quotes(why, token)))
        abort();
    free(why);
    (void)jwt_grants(t.claims, "TA", "quote:create");
    jwt_clear(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!auth)
        init();
    char *header = malloc(size + 1);
    if (!header)
        return 0;
    memcpy(header, data, size);
    header[size] = '\0';

    char *reason = NULL;
    int status = token_auth_check(auth, header, "quote:create", &reason);
    if (status != 401 || !reason || quotes(reason, header))
        abort();
    free(reason);

    const char *token = strncmp(header, "Bearer ", 7) == 0 ? header + 7 : header;
    parse_and_check(token);
    free(header);
    return 0;
}
