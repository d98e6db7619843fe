/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent status [--json]`: whether this host is provisioned (which files are in place) and, from the running
 * service's status socket, whether it is connected, to which NATS server since when, the TPM's health,
 * requests served per subject, the last quote and the last error. Exit status as systemctl's: 0 running,
 * 3 not running, 1 when the state cannot be read. Works without systemd: it only needs the socket.
 */
#include "cli.h"
#include "config.h"
#include "status_socket.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define EXIT_NOT_RUNNING 3
#define STATUS_MAX_BYTES (1u << 20)
#define READ_TIMEOUT_S   2

/* The files `tagent setup all` leaves behind, as {path, what to call it}. */
static const char *const provisioned_files[][2] = {
    {TAGENT_CONFIG_FILE, "config.yml"},
    {TAGENT_AIK_PEM, "aik.pem"},
    {TAGENT_PRIVACY_CA, "privacy-ca.cer"},
    {TAGENT_CREDS_FILE, "trust-agent.creds"},
};

static bool file_exists(const char *root, const char *path)
{
    char *p = config_path(root, path);
    struct stat st;
    bool ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

static int count_ca_certs(const char *root)
{
    char *dir = config_path(root, TAGENT_CACERTS_DIR);
    DIR *d = dir ? opendir(dir) : NULL;
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".pem") == 0;
    }
    if (d)
        closedir(d);
    free(dir);
    return n;
}

static cJSON *provisioned_json(const char *root)
{
    cJSON *o = cJSON_CreateObject(), *files = cJSON_AddObjectToObject(o, "files");
    bool all = true;
    for (size_t i = 0; i < sizeof(provisioned_files) / sizeof(provisioned_files[0]); i++) {
        bool ok = file_exists(root, provisioned_files[i][0]);
        cJSON_AddBoolToObject(files, provisioned_files[i][1], ok);
        all &= ok;
    }
    int cas = count_ca_certs(root);
    cJSON_AddNumberToObject(o, "ca_certificates", cas);
    cJSON_AddBoolToObject(o, "complete", all && cas > 0);
    return o;
}

/* The service's status JSON from its socket. -ENOENT/-ECONNREFUSED: not running. */
static int status_fetch(const char *root, cJSON **ret_status, char **ret_path)
{
    char *path = config_path(root, STATUS_SOCKET_PATH), *buf = NULL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = 0;
    int fd = -1, r = 0;
    *ret_path = path;
    if (!path)
        return -ENOMEM;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -errno;
        goto out;
    }
    struct timeval tv = {.tv_sec = READ_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (!(buf = malloc(STATUS_MAX_BYTES + 1))) {
        r = -ENOMEM;
        goto out;
    }
    for (ssize_t n; len < STATUS_MAX_BYTES && (n = read(fd, buf + len, STATUS_MAX_BYTES - len)) != 0;) {
        if (n < 0) {
            r = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
            goto out;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    cJSON *j = cJSON_ParseWithLength(buf, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        r = -EBADMSG;
        goto out;
    }
    *ret_status = j;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return r;
}

/* "2026-12-06 03:10:22 UTC (5 min ago)" */
static void format_when(double epoch, char *buf, size_t size)
{
    time_t t = (time_t)epoch, now = time(NULL);
    struct tm tm;
    char stamp[64];
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S %Z", localtime_r(&t, &tm));
    long ago = (long)(now - t);
    if (ago < 0)
        ago = 0;
    if (ago < 120)
        snprintf(buf, size, "%s (%ld s ago)", stamp, ago);
    else if (ago < 7200)
        snprintf(buf, size, "%s (%ld min ago)", stamp, ago / 60);
    else
        snprintf(buf, size, "%s (%ld h ago)", stamp, ago / 3600);
}

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A string member, or "?" (a service of another version may leave one out). */
static const char *text(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(get(o, key));
    return s ? s : "?";
}

static void print_provisioned(const cJSON *p)
{
    const cJSON *f;
    char present[256] = "", missing[256] = "";
    cJSON_ArrayForEach(f, get(p, "files"))
    {
        char *list = cJSON_IsTrue(f) ? present : missing;
        size_t n = strlen(list);
        snprintf(list + n, 256 - n, "%s%s", n ? ", " : "", f->string);
    }
    int cas = get(p, "ca_certificates")->valueint;
    if (cJSON_IsTrue(get(p, "complete")))
        printf("Provisioned: yes (%s, %d CA certificate%s)\n", present, cas, cas == 1 ? "" : "s");
    else
        printf("Provisioned: no: missing %s%s%s (run `tagent setup all -f trustagent.env`)\n", missing,
               missing[0] && cas == 0 ? ", " : "", cas == 0 ? "CA certificates" : "");
}

static void print_service(const cJSON *s)
{
    char when[128];
    const cJSON *nats = get(s, "nats"), *tpm = get(s, "tpm"), *err = get(s, "last_error");
    format_when(get(s, "started")->valuedouble, when, sizeof(when));
    printf("Service:     running (pid %d, %s, host id %s), started %s\n", get(s, "pid")->valueint,
           text(s, "version"), text(s, "host_id"), when);
    if (cJSON_IsString(get(get(s, "http"), "listening")))
        printf("Mode:        http, listening on %s (HTTPS)\n", text(get(s, "http"), "listening"));
    else if (cJSON_IsTrue(get(nats, "connected"))) {
        format_when(get(nats, "since")->valuedouble, when, sizeof(when));
        printf("NATS:        connected to %s since %s, %d reconnect%s\n", text(nats, "server"), when,
               get(nats, "reconnects")->valueint, get(nats, "reconnects")->valueint == 1 ? "" : "s");
    } else if (cJSON_IsNumber(get(nats, "since"))) {
        format_when(get(nats, "since")->valuedouble, when, sizeof(when));
        printf("NATS:        disconnected since %s; reconnecting\n", when);
    } else
        printf("NATS:        connecting\n");
    if (!cJSON_IsTrue(get(nats, "connected")) && cJSON_IsString(get(nats, "error")))
        printf("NATS:        %s\n", get(nats, "error")->valuestring);
    if (cJSON_IsString(get(nats, "refused")))
        printf("NATS:        NOT SERVING: %s\n", get(nats, "refused")->valuestring);
    if (!cJSON_IsNumber(get(tpm, "checked")))
        printf("TPM:         not checked yet\n");
    else {
        format_when(get(tpm, "checked")->valuedouble, when, sizeof(when));
        /* a locked-out TPM still answers (and quotes): "healthy" would hide that it refuses authorizations */
        if (cJSON_IsTrue(get(tpm, "da_lockout")) && cJSON_IsString(get(tpm, "da")))
            printf("TPM:         %s\n", get(tpm, "da")->valuestring);
        else if (cJSON_IsTrue(get(tpm, "healthy")))
            printf("TPM:         healthy (checked %s)\n", when);
        else
            printf("TPM:         FAILING (checked %s): %s\n", when, text(tpm, "error"));
    }
    if (cJSON_IsString(get(s, "asset_tag_error")))
        printf("Asset tag:   QUOTES FAIL: %s\n", get(s, "asset_tag_error")->valuestring);
    const cJSON *c;
    printf("Requests:   ");
    if (!get(s, "requests")->child)
        printf(" none yet");
    cJSON_ArrayForEach(c, get(s, "requests"))
    {
        int failed = get(c, "failed")->valueint;
        printf(" %s %d", c->string, get(c, "served")->valueint);
        if (failed)
            printf(" (%d failed)", failed);
        printf("%s", c->next ? "," : "");
    }
    printf("\n");
    if (cJSON_IsNumber(get(s, "last_quote"))) {
        format_when(get(s, "last_quote")->valuedouble, when, sizeof(when));
        printf("Last quote:  %s\n", when);
    } else
        printf("Last quote:  none since start\n");
    if (cJSON_IsObject(err)) {
        format_when(get(err, "time")->valuedouble, when, sizeof(when));
        printf("Last error:  %s: %s: %s\n", when, text(err, "subject"), text(err, "message"));
    }
}

/* The daemon's document must have the fields print_service() reads. */
static bool status_well_formed(const cJSON *s)
{
    const cJSON *nats = get(s, "nats"), *tpm = get(s, "tpm"), *err = get(s, "last_error");
    bool ok = cJSON_IsNumber(get(s, "pid")) && cJSON_IsNumber(get(s, "started")) && cJSON_IsObject(nats) &&
              cJSON_IsBool(get(nats, "connected")) && cJSON_IsNumber(get(nats, "reconnects")) &&
              cJSON_IsObject(tpm) && cJSON_IsObject(get(s, "requests"));
    if (ok && cJSON_IsTrue(get(nats, "connected")))
        ok = cJSON_IsNumber(get(nats, "since"));
    if (ok && cJSON_IsObject(err))
        ok = cJSON_IsNumber(get(err, "time"));
    const cJSON *c;
    cJSON_ArrayForEach(c, get(s, "requests")) ok =
        ok && cJSON_IsNumber(get(c, "served")) && cJSON_IsNumber(get(c, "failed"));
    return ok;
}

int cmd_status_run(struct tagent_cli *cli, int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else {
            fprintf(stderr, "tagent status: unknown argument %s (usage: tagent status [--json])\n", argv[i]);
            return TAGENT_EXIT_ERROR;
        }
    }
    cJSON *prov = provisioned_json(cli->root), *status = NULL;
    char *path = NULL;
    int r = status_fetch(cli->root, &status, &path);
    bool running = r == 0 && status_well_formed(status);
    int exit_code = running ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
    if (r == -ENOENT || r == -ECONNREFUSED)
        exit_code = EXIT_NOT_RUNNING;
    /* running but refused its subscription: HVS can never reach this host, which is a failure to report */
    if (running && cJSON_IsString(get(get(status, "nats"), "refused")))
        exit_code = TAGENT_EXIT_ERROR;

    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "provisioned", prov);
        prov = NULL;
        cJSON_AddBoolToObject(o, "running", running);
        if (running) {
            cJSON_AddItemToObject(o, "service", status);
            status = NULL;
        }
        char *text = cJSON_Print(o);
        printf("%s\n", text ? text : "{}");
        free(text);
        cJSON_Delete(o);
    } else {
        print_provisioned(prov);
        if (running)
            print_service(status);
        else if (exit_code == EXIT_NOT_RUNNING)
            printf(
                "Service:     not running (nothing answers on %s; start it with `systemctl start tagent` or "
                "`tagent startService`)\n",
                path ? path : STATUS_SOCKET_PATH);
    }
    if (!running && exit_code != EXIT_NOT_RUNNING)
        fprintf(stderr, "tagent status: cannot read the service's state from %s: %s\n",
                path ? path : STATUS_SOCKET_PATH,
                r == 0 ? "the reply is not a tagent status document" : strerror(-r));
    cJSON_Delete(prov);
    cJSON_Delete(status);
    free(path);
    return exit_code;
}
