/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The state machine of spec 3.6. First boot (dev_part blank): a new passphrase sealed under
 * authorized.policy, unsealed once through a signed state and compared, then the LUKS2 format. Later boots:
 * the signed state whose approved digest equals the TPM's policy digest now, unseal, check or activate. In
 * both, the closing PCR is extended as soon as the passphrase is in memory, so that nothing later in this
 * boot can unseal it again.
 */
#include "cleanup.h"
#include "error.h"
#include "hex.h"
#include "luks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#define PASS_RANDOM  32
#define PASS_LEN     (2 * PASS_RANDOM) /* hex: what is sealed and what the keyslot takes */
#define RECOVERY_MAX 512
/* each state costs a trial session on the TPM at every boot: an update window needs a few, not hundreds */
#define LUKS_MAX_STATES 64

/* One signed state to try, with what to say about it. */
struct candidate {
    struct tpm_signed_policy policy;
    const struct luks_signed_state *entry; /* NULL for pol_file */
    size_t index;                          /* 0 = pol_file, i = signed_states[i - 1] */
};

struct unlock {
    const struct luks_config *cfg;
    const struct luks_tpm_ops *ops;
    uint8_t pkfp[32];
    struct candidate cands[2 + LUKS_MAX_STATES]; /* pol_file twice, then the states */
    size_t n_cands;
};

static int fill_random(uint8_t *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = getrandom(buf + done, len - done, 0);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0)
            done += (size_t)n;
    }
    return 0;
}

/* 32 bytes of getrandom() XOR 32 of the TPM's RNG, hex-encoded into pass (PASS_LEN + 1 bytes, secret
 * memory): neither source alone decides the passphrase. */
static int passphrase_new(const struct luks_tpm_ops *ops, char *pass, char **ret_error)
{
    uint8_t *mix = luks_secret_alloc(2 * PASS_RANDOM);
    if (!mix)
        return -ENOMEM;
    int r = fill_random(mix, PASS_RANDOM);
    if (r < 0)
        error_set(ret_error, r, "getrandom: %s", strerror(-r));
    else
        r = ops->get_random(ops->userdata, mix + PASS_RANDOM, PASS_RANDOM, ret_error);
    if (r == 0) {
        for (size_t i = 0; i < PASS_RANDOM; i++)
            mix[i] ^= mix[PASS_RANDOM + i];
        hex_encode(mix, PASS_RANDOM, pass);
    }
    luks_secret_free(mix, 2 * PASS_RANDOM);
    return r;
}

/* The NV key's fingerprint, and auth_pol checked against PolicyAuthorize(Name(NV key)) (spec 3.1): a wrong
 * file is caught before anything is sealed under it. */
static int policy_key_check(struct unlock *u, char **ret_error)
{
    _cleanup_free_ uint8_t *spki = NULL;
    _cleanup_free_ char *error = NULL;
    size_t len = 0, name_len = 0;
    uint8_t name[LUKS_POLICY_MAX_NAME], authorized[LUKS_POLICY_DIGEST];
    int r = u->ops->policy_key(u->ops->userdata, &spki, &len, ret_error);
    if (r < 0)
        return r;
    SHA256(spki, len, u->pkfp);
    if ((r = luks_policy_key_name(spki, len, name, &name_len, &error)) < 0 ||
        (r = luks_policy_authorized(name, name_len, authorized, &error)) < 0)
        return error_set(ret_error, r, "the policy key in NV 0x%08" PRIX32 ": %s", TPM_NV_TEP_POLICY_KEY,
                         error ? error : "out of memory");
    if (CRYPTO_memcmp(authorized, u->cfg->auth_policy, LUKS_POLICY_DIGEST) != 0)
        return error_set(ret_error, -EKEYREJECTED,
                         "auth_pol (%s) is not PolicyAuthorize of the policy key in NV 0x%08" PRIX32
                         ": it belongs to another key",
                         u->cfg->auth_pol, TPM_NV_TEP_POLICY_KEY);
    return 0;
}

static void add_candidate(struct unlock *u, const struct tpm_signed_policy *p,
                          const struct luks_signed_state *e, size_t index)
{
    if (u->n_cands < sizeof u->cands / sizeof u->cands[0])
        u->cands[u->n_cands++] = (struct candidate){.policy = *p, .entry = e, .index = index};
}

/* pol_file/pol_file_sign (its version is not written anywhere, so it is tried without one and with the
 * index's value now) and every signed_states entry made with the NV key. */
static int candidates_build(struct unlock *u, char **ret_error)
{
    const struct luks_config *c = u->cfg;
    bool defined = false;
    uint64_t version = 0;
    int r = u->ops->version(u->ops->userdata, &defined, &version, ret_error);
    if (r < 0)
        return r;
    struct tpm_signed_policy p = {.bank = c->pcr_bank,
                                  .pcr_mask = c->pcr_mask,
                                  .approved = c->pol,
                                  .signature = c->pol_sig,
                                  .signature_len = c->pol_sig_len};
    add_candidate(u, &p, NULL, 0);
    if (defined) {
        p.has_version = true;
        p.version = version;
        add_candidate(u, &p, NULL, 0);
    }
    if (c->states.n > LUKS_MAX_STATES)
        return error_set(ret_error, -E2BIG, "signed_states: %zu states, at most %d are tried", c->states.n,
                         LUKS_MAX_STATES);
    for (size_t i = 0; i < c->states.n; i++) {
        const struct luks_signed_state *s = &c->states.states[i];
        if (memcmp(s->pkfp, u->pkfp, sizeof u->pkfp) != 0)
            continue; /* signed by another key: VerifySignature would refuse it */
        p = (struct tpm_signed_policy){.bank = s->state.bank,
                                       .pcr_mask = s->state.pcr_mask,
                                       .has_version = s->state.has_version,
                                       .version = s->state.version,
                                       .approved = s->pol,
                                       .signature = s->sig,
                                       .signature_len = s->sig_len};
        add_candidate(u, &p, s, i + 1);
    }
    return 0;
}

static void describe(const struct candidate *c, char *buf, size_t size)
{
    if (!c->entry)
        snprintf(buf, size, "pol_file");
    else if (c->policy.has_version)
        snprintf(buf, size, "signed state %zu (version %" PRIu64 ")", c->index, c->policy.version);
    else
        snprintf(buf, size, "signed state %zu", c->index);
}

static size_t bank_size(uint16_t bank)
{
    return bank == TPM_BANK_SHA384 ? 48 : 32;
}

/* -EPERM saying, for each state that carries its expected PCR values, which PCRs differ from the TPM's now.
 * The values are only used for this message, never to decide anything. */
static int no_match(struct unlock *u, char **ret_error)
{
    char msg[2048];
    size_t len = (size_t)snprintf(msg, sizeof msg, "no signed state matches the PCRs now");
    for (size_t i = 0; i < u->n_cands && len < sizeof msg; i++) {
        const struct candidate *c = &u->cands[i];
        if (i > 0 && c->index == u->cands[i - 1].index)
            continue; /* pol_file tried twice */
        char what[64];
        describe(c, what, sizeof what);
        len += (size_t)snprintf(msg + len, sizeof msg - len, "; %s: ", what);
        if (len >= sizeof msg)
            break;
        uint8_t now[24][64];
        _cleanup_free_ char *error = NULL;
        if (!c->entry || !c->entry->has_values) {
            len += (size_t)snprintf(msg + len, sizeof msg - len, "no PCR values recorded to compare");
            continue;
        }
        if (u->ops->pcr_read(u->ops->userdata, c->policy.bank, c->policy.pcr_mask, now, &error) < 0) {
            len += (size_t)snprintf(msg + len, sizeof msg - len, "cannot read the PCRs (%s)",
                                    error ? error : "out of memory");
            continue;
        }
        unsigned n_diff = 0;
        for (unsigned pcr = 0; pcr < LUKS_POLICY_PCRS && len < sizeof msg; pcr++)
            if ((c->policy.pcr_mask & (1u << pcr)) &&
                memcmp(now[pcr], c->entry->state.values[pcr], bank_size(c->policy.bank)) != 0)
                len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%u", n_diff++ ? ", " : "PCR ", pcr);
        if (len < sizeof msg)
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s",
                                    n_diff > 1    ? " differ"
                                    : n_diff == 1 ? " differs"
                                                  : "the values agree (another bank or version differs)");
    }
    return error_set(ret_error, -EPERM, "%s", msg);
}

/* Tries every candidate whose approved digest is the TPM's digest now. On success *ret_secret (free with
 * ops->secret_free) and *ret_index. */
static int unseal_matching(struct unlock *u, uint8_t **ret_secret, size_t *ret_len, size_t *ret_index,
                           char **ret_error)
{
    int first_r = 0;
    _cleanup_free_ char *first_error = NULL;
    for (size_t i = 0; i < u->n_cands; i++) {
        const struct candidate *c = &u->cands[i];
        uint8_t digest[32];
        _cleanup_free_ char *error = NULL;
        int r = u->ops->digest_now(u->ops->userdata, &c->policy, digest, &error);
        if (r == -ENOENT && c->policy.has_version)
            continue; /* a versioned state on a TPM without the version index: it cannot match */
        if (r < 0)
            return error_set(ret_error, r, "the policy digest of the PCRs now: %s",
                             error ? error : "out of memory");
        if (CRYPTO_memcmp(digest, c->policy.approved, 32) != 0)
            continue;
        r = u->ops->unseal(u->ops->userdata, &c->policy, ret_secret, ret_len, &error);
        if (r == 0) {
            *ret_index = c->index;
            return 0;
        }
        if (first_r ==
            0) { /* another matching state (a newer version) may still work: keep the first error */
            char what[64];
            describe(c, what, sizeof what);
            const char *why = r == -EBADMSG ? "its signature does not verify with the key in NV 0x018A0000"
                              : r == -EKEYREVOKED
                                  ? "its version was revoked (the version index moved past it)"
                              : r == -EPERM ? "the TPM refused it: the PCRs are not the signed state"
                                            : "unseal failed";
            first_r = r;
            if (asprintf(&first_error, "%s: %s; %s", what, why, error ? error : "") < 0)
                first_error = NULL;
        }
    }
    if (first_r < 0)
        return error_set(ret_error, first_r, "%s", first_error ? first_error : "out of memory");
    return no_match(u, ret_error);
}

static int close_pcr(struct unlock *u, char **ret_error)
{
    _cleanup_free_ char *error = NULL;
    int r = u->ops->close_unseal(u->ops->userdata, u->cfg->closing_pcr, &error);
    if (r < 0)
        return error_set(ret_error, r, "cannot extend the closing PCR %" PRIu32 ": %s", u->cfg->closing_pcr,
                         error ? error : "out of memory");
    return 0;
}

/* The recovery passphrase file into secret memory (one trailing newline dropped). */
static int recovery_read(const char *path, uint8_t *buf, size_t *ret_len, char **ret_error)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return error_set(ret_error, -errno, "recovery_key: %s: %s", path, strerror(errno));
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf + n, RECOVERY_MAX - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return error_set(ret_error, -errno, "recovery_key: %s: %s", path, strerror(errno));
        if (k == 0)
            break;
        n += (size_t)k;
        if (n == RECOVERY_MAX)
            break;
    }
    if (n && buf[n - 1] == '\n')
        n--;
    if (!n)
        return error_set(ret_error, -EINVAL, "recovery_key: %s is empty", path);
    *ret_len = n;
    return 0;
}

/* The passphrase a blank partition gets. Nothing sealed yet: a new one, sealed now. Something already sealed
 * at the handle — a first boot that stopped after sealing, or the passphrase of a volume elsewhere (a
 * dev_part that points at the wrong, blank, disk): it is reused when it unseals in this state (both cases are
 * then safe), and never replaced: sealing over it would leave the volume that uses it openable only with its
 * recovery key. */
static int first_passphrase(struct unlock *u, char *pass, bool *ret_sealed, char **ret_error)
{
    const struct luks_config *c = u->cfg;
    uint8_t policy[32], *old = NULL;
    size_t old_len = 0, index = 0;
    bool present = false;
    int r = u->ops->sealed_policy(u->ops->userdata, policy, &present, ret_error);
    if (r < 0)
        return r;
    if (!present) {
        if ((r = passphrase_new(u->ops, pass, ret_error)) < 0 ||
            (r = u->ops->seal(u->ops->userdata, c->auth_policy, (const uint8_t *)pass, PASS_LEN, false,
                              ret_error)) < 0)
            return r;
        *ret_sealed = true;
        return 0;
    }
    _cleanup_free_ char *error = NULL;
    r = unseal_matching(u, &old, &old_len, &index, &error);
    if (r == 0 && old_len == PASS_LEN) {
        memcpy(pass, old, PASS_LEN);
        u->ops->secret_free(u->ops->userdata, old, old_len);
        *ret_sealed = true;
        return 0;
    }
    if (old)
        u->ops->secret_free(u->ops->userdata, old, old_len);
    return error_set(ret_error, -EEXIST,
                     "%s is blank, but a passphrase is already sealed at 0x%08" PRIX32
                     " and does not unseal in this state (%s); it may belong to a volume elsewhere, so it "
                     "is not replaced. If %s really is the volume to create, remove the old object first "
                     "(tpm2_evictcontrol -C o -c 0x%08" PRIX32 ")",
                     c->dev_part, c->sealed_handle, r < 0 && error ? error : "not a passphrase of tagent's",
                     c->dev_part, c->sealed_handle);
}

static int first_boot(struct unlock *u, bool check_only, struct luks_result *res, char **ret_error)
{
    const struct luks_config *c = u->cfg;
    char *pass = luks_secret_alloc(PASS_LEN + 1);
    uint8_t *recovery = NULL, *unsealed = NULL;
    size_t unsealed_len = 0, index = 0;
    bool sealed = false;
    if (!pass)
        return -ENOMEM;
    int r = first_passphrase(u, pass, &sealed, ret_error);
    if (r < 0)
        goto out;
    if ((r = unseal_matching(u, &unsealed, &unsealed_len, &index, ret_error)) < 0)
        goto out;
    if (unsealed_len != PASS_LEN || CRYPTO_memcmp(unsealed, pass, PASS_LEN) != 0) {
        r = error_set(ret_error, -EIO,
                      "the TPM unsealed something other than what was sealed: not formatting");
        goto out;
    }
    struct luks_token token = {.handle = c->sealed_handle,
                               .pcr_mask = c->pcr_mask,
                               .bank = c->pcr_bank,
                               .closing_pcr = c->closing_pcr};
    memcpy(token.pkfp, u->pkfp, sizeof token.pkfp);
    if ((r = luks_volume_format(c->dev_part, (const uint8_t *)pass, PASS_LEN, c->integrity, &token,
                                &res->keyslot, ret_error)) < 0)
        goto out;
    if (c->recovery_key) {
        size_t rlen = 0;
        if (!(recovery = luks_secret_alloc(RECOVERY_MAX))) {
            r = -ENOMEM;
            goto out;
        }
        if ((r = recovery_read(c->recovery_key, recovery, &rlen, ret_error)) < 0 ||
            (r = luks_volume_add_recovery(c->dev_part, (const uint8_t *)pass, PASS_LEN, recovery, rlen,
                                          &res->recovery_keyslot, ret_error)) < 0)
            goto out;
    }
    res->outcome = LUKS_FORMATTED;
    res->state_index = index;
    if ((r = close_pcr(u, ret_error)) < 0)
        goto out;
    sealed = false;
    if (!check_only) {
        r = luks_volume_activate(c->dev_part, c->mapper_name, (const uint8_t *)pass, PASS_LEN, NULL,
                                 ret_error);
        res->activated = r == 0;
    }
out:
    if (sealed)
        (void)close_pcr(u, NULL); /* a secret was sealed this boot: close whatever happened after */
    if (unsealed)
        u->ops->secret_free(u->ops->userdata, unsealed, unsealed_len);
    luks_secret_free(recovery, RECOVERY_MAX);
    luks_secret_free(pass, PASS_LEN + 1);
    return r;
}

static int later_boot(struct unlock *u, bool check_only, struct luks_result *res, char **ret_error)
{
    const struct luks_config *c = u->cfg;
    uint8_t policy[32];
    bool present = false;
    int r = u->ops->sealed_policy(u->ops->userdata, policy, &present, ret_error);
    if (r < 0)
        return r;
    if (!present)
        return error_set(ret_error, -ENOENT,
                         "%s is a LUKS volume but nothing is sealed at 0x%08" PRIX32
                         ": only a recovery passphrase opens it",
                         c->dev_part, c->sealed_handle);
    if (CRYPTO_memcmp(policy, c->auth_policy, sizeof policy) != 0)
        return error_set(ret_error, -EKEYREJECTED,
                         "the object sealed at 0x%08" PRIX32 " has another policy than auth_pol (%s)",
                         c->sealed_handle, c->auth_pol);
    uint8_t *secret = NULL;
    size_t len = 0;
    if ((r = unseal_matching(u, &secret, &len, &res->state_index, ret_error)) < 0)
        return r;
    r = close_pcr(u, ret_error);
    /* activation verifies the passphrase itself: one keyslot KDF (seconds with libcryptsetup's defaults) at
     * boot, not two. Only where device-mapper is missing is the passphrase checked on its own, so that the
     * answer still says whether the TPM's passphrase opens the volume. */
    if (r == 0 && !check_only) {
        _cleanup_free_ char *error = NULL;
        r = luks_volume_activate(c->dev_part, c->mapper_name, secret, len, &res->keyslot, &error);
        res->activated = r == 0;
        /* without device-mapper, whether the passphrase opens a keyslot decides the answer */
        int k = r == -EOPNOTSUPP ? luks_volume_check(c->dev_part, secret, len, &res->keyslot, ret_error) : 0;
        if (k < 0)
            r = k;
        else if (r < 0 && ret_error) {
            free(*ret_error);
            *ret_error = TAKE_PTR(error);
        }
    } else if (r == 0)
        r = luks_volume_check(c->dev_part, secret, len, &res->keyslot, ret_error);
    /* the TPM gave a passphrase the volume does not take: not a policy refusal (exit 2), a failure */
    if (r == -EPERM)
        r = -ENOKEY;
    if (r == 0 || res->keyslot >= 0)
        res->outcome = check_only ? LUKS_CHECKED : LUKS_UNLOCKED;
    u->ops->secret_free(u->ops->userdata, secret, len);
    return r;
}

int luks_unlock(const struct luks_config *cfg, const struct luks_tpm_ops *ops, bool check_only,
                struct luks_result *ret_result, char **ret_error)
{
    *ret_result = (struct luks_result){.keyslot = -1, .recovery_keyslot = -1};
    struct unlock u = {.cfg = cfg, .ops = ops};
    enum luks_volume_kind kind;
    _cleanup_free_ char *what = NULL;
    int r = luks_volume_probe(cfg->dev_part, &kind, &what, ret_error);
    if (r < 0)
        return r;
    if (kind == LUKS_VOLUME_OTHER)
        return error_set(ret_error, -EEXIST, "%s carries %s: not LUKS, and never formatted", cfg->dev_part,
                         what);
    if ((r = policy_key_check(&u, ret_error)) < 0 || (r = candidates_build(&u, ret_error)) < 0)
        return r;
    return kind == LUKS_VOLUME_BLANK ? first_boot(&u, check_only, ret_result, ret_error)
                                     : later_boot(&u, check_only, ret_result, ret_error);
}
