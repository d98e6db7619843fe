/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent uninstall` (spec section 2, the Go agent's uninstall.go): stop and disable tagent.service, disable
 * tagent_init.service, run tbootxm's uninstaller when present, then remove /opt/trustagent, /usr/bin/tagent,
 * /var/log/trustagent and /etc/trustagent. TPM objects (AIK, EK, primary key, the asset-tag NV index) and the
 * TPM's ownership stay: the TPM is shared with other users, and HVS may still hold flavors for this AIK.
 * The unit files and sysusers/tmpfiles entries belong to the package manager, so they stay too.
 * With a root prefix only the files go: systemctl would act on this host, not on the prefix.
 * On a host where the Debian package installed tagent, nothing is removed: dpkg owns those files (deleting
 * them would leave its records wrong), so the command names the apt-get command that does the job.
 */
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TBOOTXM_UNINSTALL "/opt/tbootxm/bin/tboot-xm-uninstall.sh"

static const char *const removed[] = {TAGENT_INSTALL_DIR, "/usr/bin/tagent", "/var/log/trustagent",
                                      TAGENT_CONFIG_DIR};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) < 0) {
        log_error("uninstall: cannot remove %s: %m", path);
        return -1; /* stop: whatever is left is named */
    }
    return 0;
}

/* rm -rf root+abs: depth first, never following a link (FTW_PHYS), so a link inside removes only the link */
static int remove_tree(const char *root, const char *abs)
{
    char *path = config_path(root, abs);
    if (!path)
        return -ENOMEM;
    struct stat st;
    int r = 0;
    if (lstat(path, &st) < 0)
        printf("%s: not there\n", path);
    else if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        r = -EIO;
    else
        printf("%s: removed\n", path);
    free(path);
    return r;
}

/* systemctl verb unit; a failure only warns: the unit may be gone already */
static void systemctl(const char *verb, const char *unit)
{
    const char *const argv[] = {"systemctl", verb, unit, NULL};
    int status = 0;
    int r = cli_spawn_wait(argv, &status);
    if (r < 0)
        log_warning("uninstall: cannot run `systemctl %s %s`: %s", verb, unit, strerror(-r));
    else if (status != 0)
        log_warning("uninstall: `systemctl %s %s` exited with %d", verb, unit, status);
}

/* true when dpkg (under the root prefix) knows the package tagent: installed, or removed with its
 * configuration left. Asked through dpkg-query, dpkg's interface to its database; no dpkg-query (not a
 * Debian system), no package. */
static bool installed_by_dpkg(const char *root)
{
    _cleanup_free_ char *opt = NULL;
    if (asprintf(&opt, "--root=%s", *root ? root : "/") < 0)
        return false;
    const char *const argv[] = {"dpkg-query", opt, "--status", "tagent", NULL};
    int status = 1;
    return cli_spawn_wait_quiet(argv, &status) == 0 && status == 0;
}

int cmd_uninstall_run(struct tagent_cli *cli, int argc, char **argv)
{
    if (argc > 1) {
        log_error("uninstall: unexpected argument \"%s\"; usage: tagent uninstall", argv[1]);
        return TAGENT_EXIT_ERROR;
    }
    if (installed_by_dpkg(cli->root)) {
        log_error(
            "uninstall: tagent was installed from the Debian package tagent (`dpkg-query --status "
            "tagent` knows it), so nothing was removed here: dpkg owns those files; run `apt-get remove "
            "tagent` (keeps /etc/trustagent) or `apt-get purge tagent` (removes /etc/trustagent, "
            "/opt/trustagent and /var/log/trustagent too)");
        return TAGENT_EXIT_ERROR;
    }
    if (!*cli->root && geteuid() != 0) {
        log_error("uninstall: must run as root: it removes %s, %s and /var/log/trustagent; run `sudo tagent "
                  "uninstall`",
                  TAGENT_INSTALL_DIR, TAGENT_CONFIG_DIR);
        return TAGENT_EXIT_ERROR;
    }
    if (!*cli->root) {
        systemctl("stop", "tagent.service");
        systemctl("disable", "tagent.service");
        systemctl("disable", "tagent_init.service");
        if (access(TBOOTXM_UNINSTALL, X_OK) == 0) {
            const char *const tb[] = {TBOOTXM_UNINSTALL, NULL};
            int status = 0;
            if (cli_spawn_wait(tb, &status) < 0 || status != 0)
                log_warning("uninstall: %s failed; tbootxm may be left installed", TBOOTXM_UNINSTALL);
        }
    } else
        printf("Root prefix %s: not stopping or disabling units (systemctl acts on this host)\n", cli->root);
    int r = 0;
    for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) {
        int k = remove_tree(cli->root, removed[i]);
        r = r < 0 ? r : k;
    }
    if (r < 0)
        return TAGENT_EXIT_ERROR;
    printf("Trust agent uninstalled; the TPM's objects and ownership are unchanged (clear the TPM to remove "
           "them)\n");
    return fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}
