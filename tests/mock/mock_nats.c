/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NATS account AAS signs agent .creds with (tests/mock/natsjwt.h).
 *
 * --nats-account-seed FILE: sign with that account ("SA..." text), e.g. a natsjwt_deployment's account the
 *     test already configured nats-server with.
 * --nats-dir DIR: if DIR/account.seed exists, sign with it; otherwise make a deployment (operator, SYS
 *     account, application account) and write into DIR:
 *       operator.jwt sys.jwt account.jwt account.pub   the JWTs and the account's public key
 *       operator.seed sys.seed account.seed (0600)     the seeds
 *       nats-server-auth.conf                          natsjwt_server_conf(): operator mode, memory resolver
 *     and in both cases hvs.creds (0600, if missing): HVS's user (publish trust-agent.>, subscribe _INBOX.>).
 * Neither: an in-memory deployment, so /aas/v1/credentials still answers with well-formed .creds.
 */
#include "mock.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "natsjwt.h"

struct mock_nats {
    struct nkey account;
};

static int read_seed(const char *path, char type, struct nkey *ret, char *why, size_t why_len)
{
    char *text = NULL;
    size_t len = 0;
    int r = mock_file_read(path, &text, &len);

    if (r < 0) {
        snprintf(why, why_len, "%s: %s", path, strerror(-r));
        return r;
    }
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        text[--len] = '\0';
    r = nkey_from_seed(text, ret);
    if (r == 0 && ret->type != type)
        r = -EINVAL;
    if (r < 0)
        snprintf(why, why_len, "%s does not hold an nkey seed of type %c", path, type);
    OPENSSL_cleanse(text, len);
    free(text);
    return r;
}

static int write_text(const char *dir, const char *name, const char *text, int mode)
{
    char *path = NULL;
    int r = mock_path(dir, name, &path);

    if (r == 0)
        r = mock_file_write(path, text, strlen(text), mode);
    free(path);
    return r;
}

static int write_seed(const char *dir, const char *name, const struct nkey *key)
{
    char seed[59];
    int r;

    nkey_seed_string(key, seed);
    r = write_text(dir, name, seed, 0600);
    OPENSSL_cleanse(seed, sizeof(seed));
    return r;
}

static int deployment_write(const struct natsjwt_deployment *dep, const char *dir)
{
    int r;

    if ((r = write_text(dir, "operator.jwt", dep->operator_jwt, 0644)) < 0 ||
        (r = write_text(dir, "sys.jwt", dep->sys_jwt, 0644)) < 0 ||
        (r = write_text(dir, "account.jwt", dep->account_jwt, 0644)) < 0 ||
        (r = write_text(dir, "account.pub", dep->account_pub, 0644)) < 0 ||
        (r = write_text(dir, "nats-server-auth.conf", dep->server_conf, 0644)) < 0 ||
        (r = write_seed(dir, "operator.seed", &dep->op)) < 0 ||
        (r = write_seed(dir, "sys.seed", &dep->sys)) < 0)
        return r;
    /* The account seed last: its presence means the directory is complete. */
    return write_seed(dir, "account.seed", &dep->account);
}

static int user_creds(const struct nkey *account, const char *name, const struct natsjwt_user_perms *perms,
                      char **ret_text)
{
    struct nkey user;
    char *jwt = NULL;
    int r = nkey_create('U', &user);

    if (r == 0)
        r = natsjwt_user(account, &user, name, perms, &jwt);
    if (r == 0)
        r = natsjwt_creds(jwt, &user, ret_text);
    nkey_wipe(&user);
    free(jwt);
    return r;
}

static int hvs_creds_write(const struct nkey *account, const char *dir)
{
    static const char *const pub_allow[] = {"trust-agent.>", NULL};
    static const char *const sub_allow[] = {"_INBOX.>", NULL};
    const struct natsjwt_user_perms perms = {.pub_allow = pub_allow, .sub_allow = sub_allow};
    char *path = NULL, *text = NULL;
    int r = mock_path(dir, "hvs.creds", &path);

    if (r == 0 && access(path, F_OK) != 0) {
        r = user_creds(account, "HVS", &perms, &text);
        if (r == 0)
            r = mock_file_write(path, text, strlen(text), 0600);
    }
    if (text)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
    free(path);
    return r;
}

int mock_nats_setup(const char *dir, const char *account_seed_file, struct mock_nats **ret, char *why,
                    size_t why_len)
{
    struct mock_nats *nats = calloc(1, sizeof(*nats));
    struct natsjwt_deployment *dep = NULL;
    char *dir_seed = NULL;
    int r;

    if (!nats)
        return -ENOMEM;
    if (dir && mkdir(dir, 0700) < 0 && errno != EEXIST) {
        r = -errno;
        snprintf(why, why_len, "mkdir %s: %s", dir, strerror(errno));
        goto out;
    }
    if (dir && (r = mock_path(dir, "account.seed", &dir_seed)) < 0)
        goto out;
    if (account_seed_file) {
        r = read_seed(account_seed_file, 'A', &nats->account, why, why_len);
    } else if (dir_seed && access(dir_seed, F_OK) == 0) {
        r = read_seed(dir_seed, 'A', &nats->account, why, why_len);
    } else {
        r = natsjwt_deployment_create(NULL, &dep);
        if (r < 0)
            snprintf(why, why_len, "natsjwt_deployment_create: %s", strerror(-r));
        if (r == 0 && dir && (r = deployment_write(dep, dir)) < 0)
            snprintf(why, why_len, "cannot write the deployment into %s", dir);
        if (r == 0)
            nats->account = dep->account;
    }
    if (r == 0 && dir && (r = hvs_creds_write(&nats->account, dir)) < 0)
        snprintf(why, why_len, "cannot write %s/hvs.creds", dir);
out:
    natsjwt_deployment_free(dep);
    free(dir_seed);
    if (r < 0) {
        mock_nats_free(nats);
        return r;
    }
    *ret = nats;
    return 0;
}

void mock_nats_free(struct mock_nats *nats)
{
    if (!nats)
        return;
    nkey_wipe(&nats->account);
    free(nats);
}

int mock_nats_ta_creds(struct mock_nats *nats, const char *host_id, char **ret_text)
{
    const char *pub_deny[] = {">", NULL};
    const char *sub_allow[] = {NULL, NULL};
    char *subject = NULL;
    int r;

    if (!nats)
        return -EOPNOTSUPP;
    if (asprintf(&subject, "trust-agent.%s.>", host_id) < 0)
        return -ENOMEM;
    sub_allow[0] = subject;
    const struct natsjwt_user_perms perms = {.pub_deny = pub_deny, .sub_allow = sub_allow, .resp_max = 1};

    r = user_creds(&nats->account, host_id, &perms, ret_text);
    free(subject);
    return r;
}
