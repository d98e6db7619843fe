/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The service user (spec 8: tagent, from dist/sysusers.d/tagent.conf). `tagent setup` and `tagent init` run
 * as root and write files the service, running as tagent, must read; these helpers hand them over.
 */
#ifndef TAGENT_SERVICE_USER_H
#define TAGENT_SERVICE_USER_H

#include <sys/types.h>

#define TAGENT_SERVICE_USER "tagent"

/* The tagent account: from NSS on the real system (root ""), from <root>/etc/passwd under a root prefix, so
 * a staging root or a test decides whether it exists. -ENOENT when there is none. */
int service_user_lookup(const char *root, uid_t *ret_uid, gid_t *ret_gid);

/* chown -R uid:gid of root+abs, never following a symbolic link below it (a link planted in a
 * tagent-writable directory must not make root chown its target); modes stay as written, so a 0600 secret
 * stays unreadable to others. A missing directory is only a note. who: the command, for messages. Logs
 * every failure. */
int service_user_chown_dir(const char *who, const char *root, const char *abs, uid_t uid, gid_t gid);

/* What setup writes (<root>/etc/trustagent: config.yml, aik.pem, cacerts/, jwt/, credentials/) handed to
 * tagent:tagent, the owner dist/tmpfiles.d gives those directories. Without a tagent user (a development
 * tree) it says so once and leaves everything as it is (0). */
int service_user_hand_over_config(const char *who, const char *root);

#endif
