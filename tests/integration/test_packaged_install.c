/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Issue 12 #1, the packaged install end to end: the world's provisioned root (setup all as root), then what a
 * package does to it (DESTDIR=<root> cmake --install, systemd-sysusers --root, systemd-tmpfiles --root
 * --create), setup and init again as root, and the installed binary's startService as the unprivileged uid
 * tagent (setpriv) answering a quote that HVS's checks accept. Needs root (chown, setpriv); skipped
 * otherwise.
 * With --installed instead of a build directory (tests/dist/test_deb.sh, issue 17), the Debian package is
 * what installed tagent on this host: its user is the host's (passwd and group copied into the staging
 * root, so setup and init hand files to the real uid), the staging root's layout comes from the package's
 * tmpfiles.d file, and the service runs the package's /usr/bin/tagent.
 */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "harness.h"
#include "hvs_verify.h"
#include "world.h"

static const char *tagent_bin, *corpora, *build_dir;
static world_t *w; /* freed by the teardown, so a failed assertion leaves no swtpm, mock or nats-server */

__attribute__((format(printf, 1, 2))) static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int status = system(cmd);
    if (status != 0)
        fail_msg("`%s` failed (status %d)", cmd, status);
}

/* tagent's uid and gid as sysusers wrote them into the staging root's /etc/passwd */
static void staged_user(const char *root, uid_t *uid, gid_t *gid)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/etc/passwd", root);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    struct passwd *pw;
    bool found = false;
    while (!found && (pw = fgetpwent(f)))
        if (strcmp(pw->pw_name, "tagent") == 0) {
            *uid = pw->pw_uid;
            *gid = pw->pw_gid;
            found = true;
        }
    fclose(f);
    if (!found)
        fail_msg("systemd-sysusers made no user tagent in %s", path);
}

static void assert_owned(const char *root, const char *abs, uid_t uid, mode_t mode)
{
    char path[700];
    struct stat st;
    snprintf(path, sizeof(path), "%s%s", root, abs);
    assert_int_equal(lstat(path, &st), 0);
    if (st.st_uid != uid)
        fail_msg("%s is owned by uid %u, not tagent's %u", path, (unsigned)st.st_uid, (unsigned)uid);
    if ((st.st_mode & 07777) != mode)
        fail_msg("%s has mode %04o, not %04o", path, (unsigned)(st.st_mode & 07777), (unsigned)mode);
}

static void run_as_root(const char *what, const char *const *args)
{
    char log[600];
    const char *argv[16] = {tagent_bin, "--root", w->root};
    size_t n = 3;
    for (; args[n - 3]; n++)
        argv[n] = args[n - 3];
    argv[n] = NULL;
    snprintf(log, sizeof(log), "%s/%s.log", w->dir, what);
    if (harness_run(argv, log, 120000) != 0) {
        harness_log_tail(log, 40);
        fail_msg("tagent %s failed as root", what);
    }
}

static void test_packaged_install(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .host_id = "edge-packaged"};
    assert_int_equal(world_start(&o, &w), 0);

    bool installed = strcmp(build_dir, "--installed") == 0;
    if (installed) {
        /* the host's package made the user; the staging root gets the package's layout */
        sh("mkdir -p %s/etc && cp /etc/passwd /etc/group %s/etc/", w->root, w->root);
        sh("systemd-tmpfiles --root=%s --create /usr/lib/tmpfiles.d/tagent.conf >/dev/null", w->root);
    } else {
        /* what a package and its postinst do */
        sh("DESTDIR=%s cmake --install %s >/dev/null", w->root, build_dir);
        sh("systemd-sysusers --root=%s >/dev/null", w->root);
        sh("systemd-tmpfiles --root=%s --create >/dev/null", w->root);
    }
    uid_t uid = 0;
    gid_t gid = 0;
    staged_user(w->root, &uid, &gid);

    /* the operator provisions as root (again: the world provisioned before the user existed) */
    char env[600];
    snprintf(env, sizeof(env), "%s/ta.env", w->dir);
    const char *setup[] = {"setup", "all", "-f", env, NULL};
    run_as_root("setup", setup);
    /* setup alone hands what it wrote to tagent; secrets stay closed to others */
    assert_owned(w->root, "/etc/trustagent/config.yml", uid, 0640);
    assert_owned(w->root, "/etc/trustagent/aik.pem", uid, 0640);
    const char *init[] = {"init", NULL};
    run_as_root("init", init);

    /* the temp dirs above the root are root's 0700: the service user must reach the root (/ is 0755) */
    sh("chmod 0755 %s %s", w->dir, w->root);
    char wrapper[700], text[1600];
    snprintf(wrapper, sizeof(wrapper), "%s/as-tagent.sh", w->dir);
    snprintf(text, sizeof(text),
             "#!/bin/sh\nexec /usr/bin/setpriv --reuid=%u --regid=%u --clear-groups %s%s \"$@\"\n",
             (unsigned)uid, (unsigned)gid, installed ? "" : w->root,
             installed ? tagent_bin : "/opt/trustagent/bin/tagent");
    assert_int_equal(harness_file_write(wrapper, text, 0755), 0);
    w->tagent_bin = wrapper;
    assert_int_equal(world_agent_start(w, NULL, 40000), 0);

    uint8_t nonce[32];
    char payload[1024], *reply = NULL;
    assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
    world_quote_payload(nonce, payload, sizeof(payload));
    assert_int_equal(world_request(w, "quote-request", payload, 20000, &reply, NULL), 0);
    cJSON *j = cJSON_Parse(reply);
    assert_non_null(j);
    struct hvs_quote q;
    if (!hvs_verify_quote(j, nonce, sizeof(nonce), &q))
        fail_msg("the quote from the service running as tagent does not verify: %.300s", reply);
    cJSON_Delete(j);
    free(reply);
    assert_int_equal(world_agent_stop(w), 0);
    assert_true(world_log_clean(w));
}

static int teardown(void **state)
{
    (void)state;
    world_free(w);
    w = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s TAGENT CORPORA BUILD_DIR|--installed\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    corpora = argv[2];
    build_dir = argv[3];
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_packaged_install, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
