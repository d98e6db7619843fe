/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent init` (spec section 2; run as root by tagent_init.service before every start of tagent.service).
 * The service runs as the unprivileged user tagent and cannot read SMBIOS, /dev/mem or the root-only
 * securityfs logs, so init collects with root's access what it needs:
 *   - /opt/trustagent/var/system-info/platform-info (0600): the HostInfo JSON (section 7), indented as the Go
 *     agent writes it (json.MarshalIndent, two spaces);
 *   - /opt/trustagent/var/measure-log.json (0644): the measure-log JSON (section 6); failures only warn;
 * and then, unless in a container (/.container-env) or when no user tagent exists:
 *   - gives tagent's group read access (chgrp; the files are 0440) to the IMA log when IMA is enabled,
 *     and to the securityfs boot event log;
 *   - chowns /opt/trustagent/var, /var/log/trustagent and /etc/trustagent (what setup wrote as root) to
 *     tagent, and gives /opt/trustagent itself back to root (install_dir_to_root()).
 * Every path is under the root prefix, so tests run it as any user against a temp dir.
 */
#include "agent_config.h"
#include "agent_paths.h"
#include "boot_log.h"
#include "cli.h"
#include "config.h"
#include "eventlog.h"
#include "hostinfo.h"
#include "log.h"
#include "service_user.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAGENT_USER      TAGENT_SERVICE_USER
#define LOG_DIR          "/var/log/trustagent"
#define CONTAINER_MARKER "/.container-env"

/* The real system needs root; a test prefix belongs to whoever runs the test. */
static int require_root(const char *root)
{
    if (*root || geteuid() == 0)
        return 0;
    log_error("init: must run as root (tagent_init.service runs it so): it reads SMBIOS and the event log "
              "and chowns %s; run `sudo tagent init`, or give --root DIR to try it on a copy",
              TAGENT_INSTALL_DIR);
    return -EPERM;
}

/* Creates root+dir_abs (0755, with its parents) and writes path there atomically. */
static int write_under_root(const char *root, const char *dir_abs, const char *path, const char *text,
                            mode_t mode)
{
    char *dir = config_path(root, dir_abs);
    int r = dir ? config_mkdir_p(dir, 0755) : -ENOMEM;
    if (r == 0)
        r = config_write_file_atomic(path, text, strlen(text), mode);
    free(dir);
    return r;
}

static int write_platform_info(const char *root)
{
    char *json = NULL, *error = NULL, *path = config_path(root, PLATFORM_INFO_FILE);
    int r = path ? hostinfo_json(root, HOSTINFO_INDENTED, &json, &error) : -ENOMEM;
    if (r < 0)
        log_error("init: host info: %s; %s is not written", error ? error : strerror(-r), PLATFORM_INFO_FILE);
    else if ((r = write_under_root(root, SYSTEM_INFO_DIR, path, json, 0600)) < 0)
        log_error("init: cannot write %s: %s", path, strerror(-r));
    free(json);
    free(error);
    free(path);
    return r;
}

/* measure-log.json from the boot log and tbootxm's application events. Failures only warn (the spec), but a
 * file left from an earlier boot is removed: serving it would describe another boot than the one quoted. */
static void write_measure_log(const char *root)
{
    char *path = config_path(root, MEASURE_LOG_FILE), *json = NULL, *error = NULL;
    const char *what = NULL;
    if (!path) {
        log_warning("init: out of memory; %s is not written", MEASURE_LOG_FILE);
        return;
    }
    int r = boot_measure_log_build(root, &json, &what, &error);
    if (r == -ENODATA)
        log_warning("init: no event log (%s) and no application events: quotes will carry an empty event log",
                    error ? error : "?");
    else if (r < 0)
        log_warning("init: measure log: %s", error ? error : strerror(-r));
    if (r == 0 && (r = write_under_root(root, TAGENT_VAR_DIR, path, json, 0644)) == 0)
        log_info("init: %s: %zu bytes from %s", path, strlen(json), what);
    else if (json)
        log_warning("init: cannot write %s: %s", path, strerror(-r));
    if (r < 0 && unlink(path) < 0 && errno != ENOENT)
        log_warning("init: cannot remove the stale %s: %s", path, strerror(errno));
    free(path);
    free(json);
    free(error);
}

/* chgrp so that tagent's group may read a root-only (0440) log file; -ENOENT when the file is not there.
 * *ret_path: the full path, for messages. */
static int grant_group_read(const char *root, const char *abs, gid_t gid, char **ret_path)
{
    *ret_path = config_path(root, abs);
    if (!*ret_path)
        return -ENOMEM;
    int r = chown(*ret_path, (uid_t)-1, gid) < 0 ? -errno : 0;
    if (r == 0)
        log_info("init: %s: group set to %s's (gid %u)", *ret_path, TAGENT_USER, (unsigned)gid);
    return r;
}

/* One IMA file: a missing one is noted in *found only; any other failure is an error. */
static int grant_ima_file(const char *root, const char *abs, gid_t gid, bool *found)
{
    char *path = NULL;
    int k = grant_group_read(root, abs, gid, &path);
    *found |= k != -ENOENT;
    if (k < 0 && k != -ENOENT)
        log_error("init: cannot give group %s read access to %s: %s", TAGENT_USER, path ? path : abs,
                  strerror(-k));
    free(path);
    return k == -ENOENT ? 0 : k;
}

/* IMA (when config.yml enables it) must be readable, or every quote fails; the boot event log is a bonus
 * (measure-log.json already holds it), so trouble with it only warns. The kernel's per-bank lists are granted
 * too: the service reads every bank's list when they exist (the classic securityfs names are symlinks to the
 * _sha1 ones). */
static int grant_log_access(const char *root, gid_t gid, bool ima_enabled)
{
    char *path = NULL;
    int r = 0;
    bool ima_found = false;
    for (size_t i = 0; ima_enabled && i < IMA_SYSTEM_PATHS; i++) {
        int k = grant_ima_file(root, ima_system_paths[i], gid, &ima_found);
        r = r < 0 ? r : k;
    }
    for (size_t i = 0; ima_enabled && i < IMA_BANK_LIST_NAMES; i++) {
        char abs[128];
        snprintf(abs, sizeof(abs), "%s/%s", IMA_SECURITYFS_DIR, ima_bank_list_names[i]);
        int k = grant_ima_file(root, abs, gid, &ima_found);
        r = r < 0 ? r : k;
    }
    if (ima_enabled && !ima_found)
        log_warning(
            "init: IMA is enabled in config.yml but there is no IMA log (%s or %s): quotes will fail; "
            "enable IMA in the kernel, or set IMA_MEASURE_ENABLED=false and run "
            "`tagent setup update-service-config`",
            ima_system_paths[0], ima_system_paths[1]);
    int k = grant_group_read(root, SECURITYFS_LOG, gid, &path);
    if (k < 0 && k != -ENOENT)
        log_warning("init: cannot give group %s read access to %s: %s; the service has %s instead",
                    TAGENT_USER, path ? path : SECURITYFS_LOG, strerror(-k), MEASURE_LOG_FILE);
    free(path);
    return r;
}

/* /opt/trustagent itself is root's: were it tagent's, the service user could rename bin/ away and put a
 * binary of its own in its place, which tagent_init.service then runs as root. Only var/ (the one place the
 * service writes) is tagent's. A host that ran the Go agent (its installer gives tagent the whole tree) is
 * put right here; the directory only, never through a link. */
static int install_dir_to_root(const char *root)
{
    char *path = config_path(root, TAGENT_INSTALL_DIR);
    if (!path)
        return -ENOMEM;
    struct stat st;
    int r = 0;
    if (lstat(path, &st) < 0)
        r = errno == ENOENT ? 0 : -errno;
    else if (S_ISDIR(st.st_mode) && (st.st_uid != 0 || st.st_gid != 0)) {
        if (geteuid() != 0)
            log_warning("init: %s is owned by uid %u, not root; only root can change that (a test tree?)",
                        path, (unsigned)st.st_uid);
        else if (lchown(path, 0, 0) < 0)
            r = -errno;
        else
            log_notice("init: %s was owned by uid %u; it is root's now (the service user writes only var/)",
                       path, (unsigned)st.st_uid);
    }
    if (r < 0)
        log_error("init: cannot give %s back to root: %s; its owner could replace the binary init runs as "
                  "root: `chown root:root %s`",
                  path, strerror(-r), path);
    free(path);
    return r;
}

/* Hands the agent's files to tagent; on a host without that user (a development box) only notes it. */
static int hand_over_to_tagent(const char *root, const struct tagent_config *cfg)
{
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    int r = service_user_lookup(root, &uid, &gid);
    if (r == -ENOENT) {
        log_notice("init: there is no user %s (install dist/sysusers.d/tagent.conf, or run "
                   "`systemd-sysusers`); files stay owned by root and the log groups unchanged",
                   TAGENT_USER);
        return 0;
    }
    if (r < 0) {
        log_error("init: cannot look up user %s: %s", TAGENT_USER, strerror(-r));
        return r;
    }
    r = grant_log_access(root, gid, cfg->ima_measure_enabled);
    int k = install_dir_to_root(root);
    r = r < 0 ? r : k;
    k = service_user_chown_dir("init", root, TAGENT_VAR_DIR, uid, gid);
    r = r < 0 ? r : k;
    k = service_user_chown_dir("init", root, LOG_DIR, uid, gid);
    r = r < 0 ? r : k;
    /* what setup wrote as root (config.yml, aik.pem, cacerts/, credentials/): setup hands it over too, but
     * a file restored or edited by root since then would keep the service from starting */
    k = service_user_chown_dir("init", root, TAGENT_CONFIG_DIR, uid, gid);
    return r < 0 ? r : k;
}

static bool in_container(const char *root)
{
    char *marker = config_path(root, CONTAINER_MARKER);
    bool yes = marker && access(marker, F_OK) == 0;
    free(marker);
    return yes;
}

int cmd_init_run(struct tagent_cli *cli, int argc, char **argv)
{
    struct tagent_config cfg = {0};
    if (argc > 1) {
        log_error("init: unexpected argument \"%s\"; usage: %s", argv[1], cmd_init.usage);
        return TAGENT_EXIT_ERROR;
    }
    int r = require_root(cli->root);
    if (r == 0)
        r = agent_config_load(cli->root, "init", &cfg);
    if (r == 0)
        r = write_platform_info(cli->root);
    if (r == 0)
        write_measure_log(cli->root);
    /* a container runs the agent as root with the host's files mounted: nothing to hand over */
    if (r == 0 && !in_container(cli->root))
        r = hand_over_to_tagent(cli->root, &cfg);
    config_free(&cfg);
    if (r < 0)
        return TAGENT_EXIT_ERROR;
    puts("tagent 'init' completed successful");
    return fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}
